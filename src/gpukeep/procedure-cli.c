// SPDX-License-Identifier: GPL-2.0-or-later
/* The procedure verbs' shared pieces. */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
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
#include "parse-util.h"
#include "procedure-cli.h"
#include "string-util.h"
#include "time-util.h"

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

int procedure_cli_engine(struct procedure_cli *cli, const char *verb, bool json,
			 const char *state_dir, struct gk_engine_opts *eo)
{
	int r;

	procedure_cli_init(cli, json);
	eo->ops = &cli->ops;
	eo->state_dir = state_dir;
	r = procedure_cli_state_dir(verb, state_dir, eo->dry_run);
	if (r < 0)
		return -r;
	eo->state_dirfd = r;
	return -1;
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

bool procedure_cli_path_option(const struct procedure_paths *p, int c, const char *arg)
{
	const char **to = c == 's'			   ? p->state_dir
			  : c == 'S'			   ? p->socket
			  : c == PROCEDURE_OPT_NVPD_SOCKET ? p->nvpd_socket
			  : c == 'C'			   ? p->systemctl
			  : c == 'r'			   ? p->root
							   : NULL;

	if (!to)
		return false;
	*to = arg;
	return true;
}

void procedure_sched_init(struct procedure_sched *o)
{
	*o = (struct procedure_sched){.drain_timeout_ms = PROCEDURE_DRAIN_TIMEOUT_S * 1000};
}

int procedure_sched_option(struct procedure_sched *o, const char *verb, int c, const char *arg)
{
	unsigned v;

	switch (c) {
	case PROCEDURE_OPT_DRAIN:
		o->drain = true;
		return -1;
	case PROCEDURE_OPT_REQUEUE:
		o->requeue = true;
		return -1;
	case PROCEDURE_OPT_DRAIN_TIMEOUT:
		if (safe_atou_base(arg, 10, &v) < 0 || v > PROCEDURE_DRAIN_TIMEOUT_MAX_S)
			return usage_error(verb, "--drain-timeout needs 0..%u seconds, not '%s'",
					   PROCEDURE_DRAIN_TIMEOUT_MAX_S, arg);
		o->drain_timeout_ms = v * 1000;
		o->timeout_given = true;
		return -1;
	case PROCEDURE_OPT_REASON:
		if (!arg[strspn(arg, " \t\n")])
			return usage_error(verb,
					   "--reason needs a text (the fault), not an empty one");
		o->reason = arg;
		return -1;
	case PROCEDURE_OPT_SCHEDULER:
		if (!streq(arg, "auto") && !streq(arg, "none") && !streq(arg, "slurm"))
			return usage_error(verb, "--scheduler takes auto, none or slurm, not '%s'",
					   arg);
		o->scheduler = streq(arg, "auto") ? NULL : arg;
		return -1;
	case PROCEDURE_OPT_NODE:
		o->node = arg;
		return -1;
	default:
		return usage_error(verb, "invalid option");
	}
}

int procedure_sched_check(const struct procedure_sched *o, const char *verb, bool need_drain)
{
	const char *opt = o->requeue	     ? "--requeue"
			  : o->timeout_given ? "--drain-timeout"
			  : o->reason	     ? "--reason"
			  : o->scheduler     ? "--scheduler"
			  : o->node	     ? "--node"
					     : NULL;

	if (!need_drain || o->drain || !opt)
		return -1;
	return usage_error(verb, "%s works with --drain (the %s inside the scheduler)", opt, verb);
}

const char *procedure_sched_fault(struct procedure_sched *o, const char *verb)
{
	const char *user = getenv("SUDO_USER");
	struct passwd *pw;

	if (o->reason)
		return o->reason;
	if (!user || !*user) {
		pw = getpwuid(getuid());
		user = pw ? pw->pw_name : NULL;
	}
	if (user)
		snprintf(o->fault, sizeof(o->fault), "%s requested by %s", verb, user);
	else
		snprintf(o->fault, sizeof(o->fault), "%s requested by uid %u", verb,
			 (unsigned)getuid());
	return o->fault;
}

int procedure_sched_open(struct procedure_sched *o, const char *verb)
{
	enum gk_sched_kind kind;
	int r;

	r = o->scheduler ? sched_kind_from_string(o->scheduler, &kind) : sched_detect(&kind);
	if (r < 0) {
		snprintf(o->res.error, sizeof(o->res.error),
			 "$%s is '%s': expected none, slurm or auto", GK_SCHED_ENV,
			 getenv(GK_SCHED_ENV));
		log_error("%s: %s", verb, o->res.error);
		return GK_EXIT_USAGE;
	}
	r = sched_open(&o->s, kind, o->node);
	if (r < 0) {
		snprintf(o->res.error, sizeof(o->res.error), "%s: %s; %s not run, nothing done",
			 sched_kind_to_string(kind), sched_last_error(&o->s), verb);
		return GK_EXIT_PRECONDITION;
	}
	return -1;
}

struct sched_say {
	struct procedure_cli *cli;
	const char *node;
	int64_t last_ms; /* the wait's last progress line, and its count */
	unsigned last_jobs;
};

static void sched_say_line(void *userdata, const char *line)
{
	struct sched_say *s = userdata;

	s->cli->ops.say(s->cli, line);
}

/* The wait on stderr: a line when the count changes, and every 10 s. */
static void sched_progress_line(void *userdata, unsigned jobs, unsigned left_ms)
{
	struct sched_say *s = userdata;
	int64_t now = now_ms();

	if (s->last_ms && jobs == s->last_jobs && now - s->last_ms < 10000)
		return;
	s->last_ms = now;
	s->last_jobs = jobs;
	fprintf(stderr, "slurm: node %s: %u job(s) left, %u s left\n", s->node, jobs,
		(left_ms + 999) / 1000);
}

static void print_refusal(struct procedure_sched *o, const char *verb, bool json)
{
	_cleanup_free_ char *schema = strdup_printf("gpukeep.%s", verb);
	struct json_object *j;

	if (!json) {
		printf("%s refused: %s\n", verb, o->res.error);
		return;
	}
	j = json_object_new_object();
	if (j && schema) {
		json_object_object_add(j, "schema", json_object_new_string(schema));
		json_object_object_add(j, "version", json_object_new_int(1));
		json_object_object_add(j, "exit", json_object_new_int(o->res.exit));
		json_object_object_add(j, "error", json_object_new_string(o->res.error));
		json_object_object_add(j, "next_rung", json_object_new_string("none"));
		json_object_object_add(j, "steps", json_object_new_array());
		json_object_object_add(j, "scheduler", procedure_sched_json(o));
	}
	if (!j || !schema || output_json(j) < 0)
		log_error("cannot write the report");
	json_object_put(j);
}

static int run_alone(struct procedure_sched *o, gk_around_proc_fn proc, void *userdata)
{
	int r = proc(userdata, &o->res.proc);

	o->res.ran = true;
	o->res.exit = r < 0 ? GK_EXIT_NEEDS_PERSON : o->res.proc.exit;
	return o->res.exit;
}

int procedure_sched_run(struct procedure_sched *o, struct procedure_cli *cli, const char *verb,
			bool dry_run, gk_around_proc_fn proc, void *userdata)
{
	struct sched_say say = {.cli = cli};
	struct gk_around_opts ao = {
		.verb = verb,
		.fault = procedure_sched_fault(o, verb),
		.drain_timeout_ms = o->drain_timeout_ms,
		.requeue = o->requeue,
		.dry_run = dry_run,
		.say = sched_say_line,
		.progress = sched_progress_line,
		.userdata = &say,
	};
	int r;

	if (!o->drain)
		return run_alone(o, proc, userdata);
	o->used = true;
	o->res.drain = o->res.resume = GK_AROUND_NOT_REACHED;
	r = procedure_sched_open(o, verb);
	if (r >= 0) {
		o->res.exit = r;
		if (r == GK_EXIT_PRECONDITION)
			print_refusal(o, verb, cli->json);
		return r;
	}
	say.node = o->s.node;
	r = sched_around_run(&o->s, &ao, proc, userdata, &o->res);
	if (r < 0) {
		log_error_errno(r, "%s: %m", verb);
		return GK_EXIT_NEEDS_PERSON;
	}
	if (!o->res.ran)
		print_refusal(o, verb, cli->json);
	else if (o->res.error[0])
		log_warning("%s: %s", verb, o->res.error);
	return o->res.exit;
}

static struct json_object *str_or_null(const char *s)
{
	return s && *s ? json_object_new_string(s) : NULL;
}

struct json_object *procedure_sched_json(const struct procedure_sched *o)
{
	struct json_object *j;

	if (!o->used)
		return NULL;
	j = json_object_new_object();
	if (!j)
		return NULL;
	json_object_object_add(j, "kind", o->s.ops ? json_object_new_string(o->s.ops->name) : NULL);
	json_object_object_add(j, "node", str_or_null(o->s.node));
	json_object_object_add(j, "drain", str_or_null(sched_around_drain_id(o->res.drain)));
	json_object_object_add(j, "jobs_waited", json_object_new_int((int)o->res.jobs_waited));
	json_object_object_add(j, "jobs_requeued", json_object_new_int((int)o->res.jobs_requeued));
	json_object_object_add(j, "resume", str_or_null(sched_around_resume_id(o->res.resume)));
	json_object_object_add(j, "reason", str_or_null(o->res.reason));
	json_object_object_add(j, "error", str_or_null(o->res.error));
	json_object_object_add(j, "calls", json_object_new_int((int)o->s.calls));
	return j;
}

void procedure_sched_help(bool drain)
{
	if (drain)
		printf("  --drain            inside the scheduler: take the node out of the pool\n"
		       "                     first, let its jobs end, run, and put it back only "
		       "when\n"
		       "                     it succeeded and validated and the drain is still\n"
		       "                     gpukeep's; a failure leaves it drained, the reason "
		       "saying\n"
		       "                     why (no scheduler: drain by hand)\n"
		       "  --drain-timeout S  how long the node's jobs may take to end (default "
		       "%u;\n"
		       "                     passed: exit 3, the node stays drained, nothing "
		       "done)\n"
		       "  --requeue          requeue the node's jobs instead of waiting for them\n",
		       PROCEDURE_DRAIN_TIMEOUT_S);
	printf("  --reason TEXT      the fault in gpukeep's reason ('gpukeep: TEXT'; default\n"
	       "                     'VERB requested by USER')\n"
	       "  --scheduler KIND   auto (default: $GPUKEEP_SCHED, else Slurm when scontrol\n"
	       "                     and slurm.conf are there), none or slurm\n"
	       "  --node NAME        the node's name in the scheduler (default: the host's)\n");
}

int procedure_cli_outcome(const char *verb, int r, const struct gk_engine_result *run,
			  const char *next_rung, struct gk_around_outcome *ret)
{
	if (r < 0) {
		snprintf(ret->error, sizeof(ret->error), "%s: %s", verb, strerror(-r));
		return r;
	}
	ret->exit = run->exit;
	snprintf(ret->error, sizeof(ret->error), "%s", run->error ? run->error : "");
	snprintf(ret->next_rung, sizeof(ret->next_rung), "%s", next_rung);
	return 0;
}

struct json_object *procedure_cli_report_new(const char *verb, const struct gk_engine_result *run,
					     const char *next_rung)
{
	struct json_object *o = json_object_new_object();
	char schema[64];

	if (!o)
		return NULL;
	snprintf(schema, sizeof(schema), "gpukeep.%s", verb);
	json_object_object_add(o, "schema", json_object_new_string(schema));
	json_object_object_add(o, "version", json_object_new_int(1));
	json_object_object_add(o, "exit", json_object_new_int(run->exit));
	json_object_object_add(o, "resumed", json_object_new_boolean(run->resumed));
	json_object_object_add(o, "error", run->error ? json_object_new_string(run->error) : NULL);
	json_object_object_add(o, "next_rung", json_object_new_string(next_rung));
	return o;
}

void procedure_cli_report_end(struct json_object *o, const char *daemon,
			      const struct gk_engine_result *run, const struct gk_differences *d,
			      const struct procedure_sched *sched)
{
	/* which persistence daemon released and re-acquired the GPUs (null: none ran) */
	json_object_object_add(o, "daemon", daemon ? json_object_new_string(daemon) : NULL);
	json_object_object_add(o, "steps", journal_steps_to_json(&run->journal));
	json_object_object_add(o, "differences", differences_to_json(d));
	json_object_object_add(o, "scheduler", procedure_sched_json(sched));
}

void procedure_cli_report(const char *verb, bool json, struct json_object *report,
			  const struct gk_engine_result *run, bool dry_run)
{
	if (json) {
		if (!report || output_json(report) < 0)
			log_error("cannot write the report");
		json_object_put(report);
	} else if (run->exit != GK_EXIT_OK)
		printf("%s %s: %s\n", verb,
		       run->exit == GK_EXIT_PRECONDITION ? "refused" : "failed",
		       run->error ? run->error : "unknown error");
	else if (!dry_run && run->resumed)
		printf("%s: done (finished an interrupted %s)\n", verb, verb);
	else if (!dry_run)
		printf("%s: done\n", verb);
}
