/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What the procedure verbs (reset, reload) share: the state directory, progress lines, the
 * runner's effects with the test hook, the --root rule, the steps in the JSON report, and
 * --drain: the procedure inside the scheduler (reboot shares --reason, --scheduler, --node). */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>

#include "baseline/validate.h"
#include "procedure/engine.h"
#include "sched/sched-around.h"

#define DEFAULT_STATE_DIR "/var/lib/gpukeep"

struct procedure_cli {
	struct gk_engine_ops ops;
	bool json; /* progress goes to stderr, the report to stdout */
};

/* The runner's effects for a verb: progress to stdout (stderr with --json), and the test hook
 * GK_TEST_CRASH_AFTER=STEP (SIGKILL right after STEP is journaled, as a power cut would). */
void procedure_cli_init(struct procedure_cli *p, bool json);

/*
 * Opens the state directory, creating it and its parents (0755) unless @dry_run (a dry run
 * writes nothing; a missing directory has no journal, and "/" is opened in its place).
 * Returns the fd or GK_EXIT_PRECONDITION's negative after saying why.
 */
int procedure_cli_state_dir(const char *verb, const char *dir, bool dry_run);

/*
 * A verb's runner: procedure_cli_init(@cli, @json), and in @eo its effects, @state_dir and that
 * directory open (procedure_cli_state_dir() with eo->dry_run; the caller closes
 * eo->state_dirfd). Returns -1 to go on, or the exit code after saying why.
 */
int procedure_cli_engine(struct procedure_cli *cli, const char *verb, bool json,
			 const char *state_dir, struct gk_engine_opts *eo);

/* --root other than "/" acts on the host's kernel with paths read elsewhere: only a dry run
 * may. Returns -1 to go on, or GK_EXIT_USAGE after saying why. */
int procedure_cli_check_root(const char *verb, const char *root, bool dry_run);

/* The helper's program (NVML work, sysfs stores and probes with a deadline): this binary,
 * which hosts the hidden helper verb. */
#define PROCEDURE_HELPER "/proc/self/exe"

/* The steps of @p, numbered from its table, for --help. */
void procedure_cli_print_steps(const struct gk_procedure *p);

#define PROCEDURE_DRAIN_TIMEOUT_S     3600
#define PROCEDURE_DRAIN_TIMEOUT_MAX_S 86400

/* --nvpd-socket's getopt value (a long option only, out of the range of short option letters). */
#define PROCEDURE_OPT_NVPD_SOCKET 0x100

/* Where the path options reset and reload share go: -s/--state-dir, -S/--socket,
 * --nvpd-socket, -C/--systemctl, -r/--root. */
struct procedure_paths {
	const char **state_dir;
	const char **socket;
	const char **nvpd_socket;
	const char **systemctl;
	const char **root;
};

/* The paths of a verb's parsed arguments @a: its state_dir and its options' (a->o) socket,
 * nvpd_socket, systemctl and root. */
#define PROCEDURE_PATHS(a)                                                                         \
	{                                                                                          \
		.state_dir = &(a)->state_dir, .socket = &(a)->o.socket,                            \
		.nvpd_socket = &(a)->o.nvpd_socket, .systemctl = &(a)->o.systemctl,                \
		.root = &(a)->o.root                                                               \
	}

/* Takes the path option @c with @arg into @p: true when it is one, else false (not taken). */
bool procedure_cli_path_option(const struct procedure_paths *p, int c, const char *arg);

/* The scheduler options' getopt values (long options only). */
enum {
	PROCEDURE_OPT_DRAIN = 0x200,
	PROCEDURE_OPT_DRAIN_TIMEOUT,
	PROCEDURE_OPT_REQUEUE,
	PROCEDURE_OPT_REASON,
	PROCEDURE_OPT_SCHEDULER,
	PROCEDURE_OPT_NODE,
};

/* For a verb's getopt table: --reason, --scheduler, --node (reboot), and with --drain,
 * --drain-timeout and --requeue (reset, reload). */
#define PROCEDURE_SCHED_OPTIONS                                                                    \
	{"reason", required_argument, NULL, PROCEDURE_OPT_REASON},                                 \
		{"scheduler", required_argument, NULL, PROCEDURE_OPT_SCHEDULER},                   \
	{                                                                                          \
		"node", required_argument, NULL, PROCEDURE_OPT_NODE                                \
	}
#define PROCEDURE_DRAIN_OPTIONS                                                                    \
	PROCEDURE_SCHED_OPTIONS, {"drain", no_argument, NULL, PROCEDURE_OPT_DRAIN},                \
		{"drain-timeout", required_argument, NULL, PROCEDURE_OPT_DRAIN_TIMEOUT},           \
	{                                                                                          \
		"requeue", no_argument, NULL, PROCEDURE_OPT_REQUEUE                                \
	}

struct procedure_sched {
	/* options */
	bool drain, requeue, timeout_given;
	unsigned drain_timeout_ms;
	const char *reason;    /* --reason: the fault part of gpukeep's reason; NULL: default */
	const char *scheduler; /* --scheduler: "auto" (NULL), "none", "slurm" */
	const char *node;      /* --node: the node's scheduler name; NULL: the host's */
	/* what happened */
	bool used; /* --drain was given: the scheduler ran around the procedure */
	struct gk_sched s;
	struct gk_around_result res;
	char fault[256];
};

void procedure_sched_init(struct procedure_sched *o);

/* Takes the scheduler option @c (a PROCEDURE_OPT_*) for @verb. Returns -1 when taken, else the
 * exit code (a bad value, or an option that is not one: usage). */
int procedure_sched_option(struct procedure_sched *o, const char *verb, int c, const char *arg);

/* After the options: --requeue, --drain-timeout, --reason, --scheduler and --node need
 * --drain (@need_drain). Returns -1 to go on, or GK_EXIT_USAGE after saying why. */
int procedure_sched_check(const struct procedure_sched *o, const char *verb, bool need_drain);

/* The fault for gpukeep's reason: --reason, else "@verb requested by USER". Static buffer in
 * @o. */
const char *procedure_sched_fault(struct procedure_sched *o, const char *verb);

/*
 * Finds the scheduler (--scheduler, else sched_detect(): $GPUKEEP_SCHED) and opens it for the
 * node. Returns -1 when open, else the exit code after saying why (2: a bad $GPUKEEP_SCHED;
 * 3: slurmctld unreachable, no such node: not said here), with o->res.error set.
 */
int procedure_sched_open(struct procedure_sched *o, const char *verb);

/*
 * Runs @proc: alone without --drain, else inside the scheduler (sched_around_run()), its steps
 * said through @cli (stdout, or stderr with --json) and the wait's progress on stderr. When the
 * scheduler refused and @proc did not run (o->res.ran false), the refusal is printed here:
 * "VERB refused: ..." or, with @json, a report {"schema": "gpukeep.VERB", "exit": 3, "error",
 * "next_rung": "none", "steps": [], "scheduler"}. Returns the exit code.
 */
int procedure_sched_run(struct procedure_sched *o, struct procedure_cli *cli, const char *verb,
			bool dry_run, gk_around_proc_fn proc, void *userdata);

/* The report's "scheduler" object (NULL without --drain): kind, node, drain, jobs_waited,
 * jobs_requeued, resume, reason, error. */
struct json_object *procedure_sched_json(const struct procedure_sched *o);

/* The help lines of the scheduler options (@drain: with --drain and its own). */
void procedure_sched_help(bool drain);

/*
 * The scheduler's outcome @ret of a procedure that ran with the return @r (<0: it could not
 * run, ret->error "VERB: reason"), its result @run and its next rung. Returns @r when < 0, else
 * 0.
 */
int procedure_cli_outcome(const char *verb, int r, const struct gk_engine_result *run,
			  const char *next_rung, struct gk_around_outcome *ret);

/* A procedure's JSON report, begun: "schema" ("gpukeep.VERB"), "version", "exit", "resumed",
 * "error", "next_rung". The caller adds its own members, then procedure_cli_report_end().
 * NULL when out of memory. */
struct json_object *procedure_cli_report_new(const char *verb, const struct gk_engine_result *run,
					     const char *next_rung);
/* Ends it: "daemon" (@daemon, null when none ran), "steps", "differences", "scheduler". */
void procedure_cli_report_end(struct json_object *o, const char *daemon,
			      const struct gk_engine_result *run, const struct gk_differences *d,
			      const struct procedure_sched *sched);

/*
 * Reports a procedure that ran: with @json its @report (taken; NULL: out of memory) on stdout;
 * else "VERB refused|failed: ERROR" when it did not succeed, or "VERB: done" (with "(finished
 * an interrupted VERB)" when it resumed) unless @dry_run.
 */
void procedure_cli_report(const char *verb, bool json, struct json_object *report,
			  const struct gk_engine_result *run, bool dry_run);
