// SPDX-License-Identifier: GPL-2.0-or-later
/* gpukeep reboot: rung 3 of the ladder. With Slurm, the scheduler reboots the node once its
 * jobs end (scontrol reboot ASAP nextstate=RESUME); without one, the machine is rebooted. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/gk-exit.h"
#include "log.h"
#include "macro.h"
#include "output.h"
#include "parse-util.h"
#include "procedure-cli.h"
#include "spawn-util.h"
#include "string-util.h"
#include "verbs.h"

#define DEFAULT_COMMAND	  "systemctl reboot"
#define DEFAULT_TIMEOUT_S 60

static void reboot_help(void)
{
	printf("usage: gpukeep reboot [--dry-run] [--json] [--reason TEXT] [--scheduler KIND]\n"
	       "                      [--node NAME] [--command CMD] [--timeout SECONDS]\n\n"
	       "Rung 3 of the remediation ladder. With Slurm, asks the scheduler to reboot the\n"
	       "node once its jobs end: 'scontrol reboot ASAP nextstate=RESUME\n"
	       "reason=\"gpukeep: TEXT\" NODE' (Slurm drains it now, runs its RebootProgram when\n"
	       "the node is idle, and resumes it when it registers again). Refused, nothing done,\n"
	       "when a reboot is pending already, the node is down, or someone else drained it\n"
	       "(nextstate=RESUME would clear their drain). Without a scheduler, runs the reboot\n"
	       "command.\n\n"
	       "  --dry-run          say what would be done, change nothing\n"
	       "  --json             print the report as JSON\n"
	       "  --command CMD      without a scheduler: the reboot command, split at spaces, no\n"
	       "                     shell (default '" DEFAULT_COMMAND "')\n"
	       "  --timeout SECONDS  the command's deadline (default %d)\n",
	       DEFAULT_TIMEOUT_S);
	procedure_sched_help(false);
	printf("\nexit codes: 0 reboot requested (Slurm) or the command ran; 1 the request or the\n"
	       "command failed (nothing changed); 2 usage; 3 refused, nothing done (a reboot\n"
	       "pending, the node down or drained by someone else, slurmctld unreachable, the\n"
	       "command missing); 4 the command passed its deadline (outcome unknown)\n");
}

struct reboot_args {
	struct procedure_sched sched;
	const char *command;
	unsigned timeout_ms;
	bool dry_run, json;
	/* what happened */
	char **argv;	 /* the command's, without a scheduler */
	int verdict;	 /* enum gk_sched_verdict, or GK_AROUND_NOT_REACHED */
	char error[512]; /* "" when none */
	int exit;
};

static int parse_args(int argc, char **argv, struct reboot_args *a)
{
	static const struct option opts[] = {
		{"dry-run", no_argument, NULL, 'n'},
		{"json", no_argument, NULL, 'j'},
		{"command", required_argument, NULL, 'c'},
		{"timeout", required_argument, NULL, 't'},
		{"help", no_argument, NULL, 'h'},
		PROCEDURE_SCHED_OPTIONS,
		{},
	};
	unsigned v;
	int c, r;

	optind = 0;
	while ((c = getopt_long(argc, argv, "hnjc:t:", opts, NULL)) >= 0) {
		switch (c) {
		case 'n':
			a->dry_run = true;
			break;
		case 'j':
			a->json = true;
			break;
		case 'c':
			a->command = optarg;
			break;
		case 't':
			if (safe_atou_base(optarg, 10, &v) < 0 || v == 0 || v > 3600)
				return usage_error("reboot",
						   "--timeout needs 1..3600 seconds, not '%s'",
						   optarg);
			a->timeout_ms = v * 1000;
			break;
		case 'h':
			reboot_help();
			return GK_EXIT_OK;
		default:
			r = procedure_sched_option(&a->sched, "reboot", c, optarg);
			if (r >= 0)
				return r;
		}
	}
	if (optind < argc)
		return usage_error("reboot", "unexpected argument '%s'", argv[optind]);
	return -1;
}

_printf_(3, 4) static void fail(struct reboot_args *a, int exit_code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(a->error, sizeof(a->error), fmt, ap);
	va_end(ap);
	a->exit = exit_code;
}

static void with_slurm(struct reboot_args *a, const char *fault)
{
	struct gk_sched *s = &a->sched.s;
	char reason[GK_SCHED_REASON_LEN + 1];
	enum gk_sched_verdict v;
	int r;

	if (sched_reason_format(fault, reason, sizeof(reason)) < 0)
		return fail(a, GK_EXIT_USAGE, "no fault given for gpukeep's reason (--reason)");
	r = a->dry_run ? sched_drain_would(s, fault, true, &v) : sched_reboot_asap(s, fault, &v);
	if (r < 0)
		return fail(a,
			    r == -EHOSTUNREACH || r == -ETIMEDOUT ? GK_EXIT_PRECONDITION
								  : GK_EXIT_FAILED,
			    "slurm: %s", sched_last_error(s));
	a->verdict = v;
	snprintf(a->sched.res.reason, sizeof(a->sched.res.reason), "%s", reason);
	if (v != GK_SCHED_ACT)
		return fail(a, GK_EXIT_PRECONDITION, "slurm: node %s: %s; nothing done", s->node,
			    sched_verdict_to_string(v));
	if (a->json)
		return;
	if (a->dry_run)
		printf("reboot (dry run): would run: scontrol reboot ASAP nextstate=RESUME "
		       "reason='%s' %s\n",
		       reason, s->node);
	else
		printf("reboot: slurm: node %s: reboot requested once its jobs end (scontrol "
		       "reboot "
		       "ASAP nextstate=RESUME), reason '%s'\n",
		       s->node, reason);
}

static void with_command(struct reboot_args *a)
{
	_cleanup_free_ char *words = strdup(a->command ? a->command : DEFAULT_COMMAND);
	_cleanup_free_ char *shown = NULL;
	char *save = NULL;
	int r;

	a->verdict = GK_SCHED_UNMANAGED;
	for (char *w = words ? strtok_r(words, " \t", &save) : NULL; w;
	     w = strtok_r(NULL, " \t", &save))
		if (strv_extend(&a->argv, w) < 0)
			return fail(a, GK_EXIT_FAILED, "out of memory");
	if (!a->argv)
		return fail(a, GK_EXIT_USAGE, "--command needs a command, not an empty one");
	shown = strv_join(a->argv, " ");
	if (a->dry_run) {
		if (!a->json)
			printf("reboot (dry run): no scheduler: would run: %s\n", shown);
		return;
	}
	if (!a->json)
		printf("reboot: no scheduler: running %s\n", shown);
	fflush(stdout);
	r = spawn_wait_timeout(a->argv, a->json ? SPAWN_STDOUT_TO_STDERR : 0, a->timeout_ms);
	if (r == -ENOENT)
		return fail(a, GK_EXIT_PRECONDITION, "%s not found; nothing done", a->argv[0]);
	if (r == -ETIMEDOUT)
		return fail(a, GK_EXIT_NEEDS_PERSON,
			    "%s did not finish within %u s: killed, outcome unknown", shown,
			    a->timeout_ms / 1000);
	if (r < 0)
		return fail(a, GK_EXIT_FAILED, "cannot run %s: %s", a->argv[0], strerror(-r));
	if (r != 0)
		return fail(a, GK_EXIT_FAILED, "%s failed (exit %d)", shown, r);
}

static struct json_object *report_json(const struct reboot_args *a)
{
	const struct gk_sched *s = &a->sched.s;
	struct json_object *o = json_object_new_object(), *j = json_object_new_object();
	struct json_object *cmd = a->argv ? json_object_new_array() : NULL;

	if (!o || !j) {
		json_object_put(o);
		json_object_put(j);
		return NULL;
	}
	for (size_t i = 0; cmd && a->argv[i]; i++)
		json_object_array_add(cmd, json_object_new_string(a->argv[i]));
	json_object_object_add(j, "kind", s->ops ? json_object_new_string(s->ops->name) : NULL);
	json_object_object_add(j, "node", s->node[0] ? json_object_new_string(s->node) : NULL);
	json_object_object_add(
		j, "verdict",
		a->verdict == GK_SCHED_ACT
			? json_object_new_string(a->dry_run ? "would-request" : "requested")
		: sched_around_drain_id(a->verdict)
			? json_object_new_string(sched_around_drain_id(a->verdict))
			: NULL);
	json_object_object_add(j, "reason",
			       a->sched.res.reason[0] && a->verdict != GK_SCHED_UNMANAGED
				       ? json_object_new_string(a->sched.res.reason)
				       : NULL);
	json_object_object_add(o, "schema", json_object_new_string("gpukeep.reboot"));
	json_object_object_add(o, "version", json_object_new_int(1));
	json_object_object_add(o, "exit", json_object_new_int(a->exit));
	json_object_object_add(o, "dry_run", json_object_new_boolean(a->dry_run));
	json_object_object_add(o, "error", a->error[0] ? json_object_new_string(a->error) : NULL);
	json_object_object_add(o, "next_rung", json_object_new_string("none"));
	json_object_object_add(o, "scheduler", j);
	json_object_object_add(o, "command", cmd);
	return o;
}

int verb_reboot(int argc, char **argv)
{
	struct reboot_args a = {.timeout_ms = DEFAULT_TIMEOUT_S * 1000,
				.verdict = GK_AROUND_NOT_REACHED};
	struct json_object *o;
	int r;

	procedure_sched_init(&a.sched);
	r = parse_args(argc, argv, &a);
	if (r >= 0)
		return r;
	if (a.command && a.sched.scheduler && streq(a.sched.scheduler, "slurm"))
		return usage_error("reboot", "--command is the reboot without a scheduler, not "
					     "with --scheduler slurm");
	a.sched.used = true;
	r = procedure_sched_open(&a.sched, "reboot");
	if (r == GK_EXIT_USAGE)
		return r;
	if (r >= 0)
		fail(&a, r, "%s", a.sched.res.error);
	else if (a.sched.s.kind == GK_SCHED_KIND_SLURM) {
		if (a.command)
			log_warning("reboot: --command not used: Slurm reboots node %s",
				    a.sched.s.node);
		with_slurm(&a, procedure_sched_fault(&a.sched, "reboot"));
	} else
		with_command(&a);
	if (a.json) {
		o = report_json(&a);
		if (!o || output_json(o) < 0)
			log_error("cannot write the report");
		json_object_put(o);
	} else if (a.exit != GK_EXIT_OK)
		printf("reboot %s: %s\n", a.exit == GK_EXIT_PRECONDITION ? "refused" : "failed",
		       a.error);
	strv_free(a.argv);
	return a.exit;
}
