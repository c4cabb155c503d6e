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
#include "fileio.h"
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

int procedure_cli_state_dir(const char *verb, const char *dir, bool dry_run)
{
	int fd, r;

	r = dry_run ? 0 : mkdir_p(dir);
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

#define HELP_WIDTH 80

/* @text folded at spaces to HELP_WIDTH columns; continuation lines start at @indent. */
static void print_folded(const char *text, size_t indent)
{
	size_t col = indent;

	while (*text) {
		size_t word = strcspn(text, " ");

		if (col > indent && col + 1 + word > HELP_WIDTH) {
			printf("\n%*s", (int)indent, "");
			col = indent;
		} else if (col > indent) {
			putchar(' ');
			col++;
		}
		printf("%.*s", (int)word, text);
		col += word;
		text += word;
		text += strspn(text, " ");
	}
	putchar('\n');
}

void procedure_cli_print_steps(const struct gk_procedure *p)
{
	for (size_t i = 0; i < p->n_steps; i++) {
		printf("  %zu ", i + 1);
		print_folded(p->steps[i].help, 4);
	}
}
