// SPDX-License-Identifier: GPL-2.0-or-later
/* The procedure verbs' shared pieces. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/gk-exit.h"
#include "log.h"
#include "macro.h"
#include "output.h"
#include "procedure-cli.h"
#include "string-util.h"

static void say_line(void *userdata, const char *line)
{
	struct procedure_cli *p = userdata;
	FILE *f = p->json ? stderr : stdout;

	fprintf(f, "%s\n", line);
	fflush(f);
}

/* The crash-safety tests' power cut: the hook is the runner's, the variable is read here. */
static void crash_point(void *userdata, const char *kind, const char *step)
{
	const char *at = getenv("GK_TEST_CRASH_AFTER");

	(void)userdata;
	(void)kind;
	if (at && streq(at, step))
		raise(SIGKILL);
}

void procedure_cli_init(struct procedure_cli *p, bool json)
{
	p->ops = engine_ops_default;
	p->ops.userdata = p;
	p->ops.say = say_line;
	p->ops.after_step = crash_point;
	p->json = json;
}

static int mkdir_parents(const char *dir)
{
	_cleanup_free_ char *copy = strdup(dir);

	if (!copy)
		return -ENOMEM;
	for (char *p = copy + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(copy, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(copy, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int procedure_cli_state_dir(const char *verb, const char *dir, bool dry_run)
{
	int fd, r;

	r = dry_run ? 0 : mkdir_parents(dir);
	fd = r < 0 ? r : open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 && dry_run && errno == ENOENT)
		/* nothing was ever run here: no journal to show, and "/" holds none */
		fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		r = r < 0 ? r : -errno;
		log_error_errno(r, "%s: cannot open state directory %s: %m", verb, dir);
		return -GK_EXIT_PRECONDITION;
	}
	return fd;
}

int procedure_cli_check_root(const char *verb, const char *root, bool dry_run)
{
	if (dry_run || streq(root, "/"))
		return -1;
	return usage_error(verb,
			   "--root %s without --dry-run: the %s would read the node under %s but "
			   "act on this machine's kernel, processes and devices; use --root only "
			   "with --dry-run",
			   root, verb, root);
}

struct json_object *procedure_cli_steps_json(const struct gk_journal *j)
{
	struct json_object *steps = json_object_new_array();

	for (size_t i = 0; steps && i < j->n_steps; i++) {
		const struct gk_journal_step *s = &j->steps[i];
		struct json_object *o = json_object_new_object();

		if (!o || json_object_array_add(steps, o) < 0) {
			json_object_put(o);
			json_object_put(steps);
			return NULL;
		}
		json_object_object_add(o, "name", json_object_new_string(s->name));
		json_object_object_add(o, "status",
				       json_object_new_string(step_status_to_string(s->status)));
		json_object_object_add(o, "ms", json_object_new_int((int)s->ms));
		json_object_object_add(o, "detail",
				       s->detail ? json_object_new_string(s->detail) : NULL);
	}
	return steps;
}
