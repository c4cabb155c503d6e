// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * gpukeep health: a one-shot check of the node (baseline, new Xids, NVML, gpukeepd), for people
 * (text, --json), for node-problem-detector (--npd: one line, exit 0/1/2) and as Slurm's
 * HealthCheckProgram (--slurm: drain on a problem, resume only gpukeep health's own drain).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/gk-exit.h"
#include "daemon/protocol.h"
#include "health-checks.h"
#include "health-slurm.h"
#include "log.h"
#include "nvml-cli.h"
#include "output.h"
#include "parse-util.h"
#include "sched/sched.h"
#include "string-util.h"
#include "verbs.h"

#define DEFAULT_BASELINE   "/etc/gpukeep/baseline.json"
#define DEFAULT_STATE_DIR  "/var/lib/gpukeep"
#define DEFAULT_TIMEOUT_MS 1500
#define NPD_LINE_MAX	   80

enum mode {
	MODE_TEXT,
	MODE_JSON,
	MODE_NPD,
	MODE_SLURM,
};

static void health_help(void)
{
	printf("usage: gpukeep health [--json | --npd | --slurm [--node NAME]] [OPTIONS]\n\n"
	       "One quick check of the node: the baseline, new Xids in the kernel log since the\n"
	       "last check, NVML answering within a deadline, gpukeepd holding its GPUs.\n\n"
	       "  --json            print JSON (schema gpukeep.health, version 1)\n"
	       "  --npd             node-problem-detector custom plugin: one line of at most 80\n"
	       "                    characters; exit 0 healthy, 1 problem, 2 unknown\n"
	       "  --slurm           Slurm's HealthCheckProgram: on a problem drain the node with\n"
	       "                    the reason 'gpukeep: health: PROBLEM'; when healthy, resume "
	       "it\n"
	       "                    only if that drain is still there as set; other reasons and a\n"
	       "                    pending reboot are never touched\n"
	       "  --node NAME       the node's Slurm name (default: this host's, as slurmctld "
	       "knows)\n"
	       "  --check LIST      only these checks: baseline,xid,nvml,daemon (default all)\n"
	       "  --baseline FILE   the baseline (default " DEFAULT_BASELINE ")\n"
	       "  --root DIR        read /sys, /proc and /dev under DIR (default /)\n"
	       "  --kmsg PATH       the kernel log (default /dev/kmsg; a file of records works)\n"
	       "  --state-dir DIR   where the last kernel log position is kept (default\n"
	       "                    " DEFAULT_STATE_DIR ")\n"
	       "  --socket PATH     gpukeepd's socket (default " GK_SOCKET_PATH ")\n"
	       "  --nvml PATH       NVML library ('none' leaves NVML out)\n"
	       "  --timeout MS      deadline of each NVML call and of gpukeepd's reply (default "
	       "%d)\n"
	       "  -h, --help        show this help\n\n"
	       "exit codes: 0 healthy, 1 a problem, 2 usage, 3 no problem but a check could not\n"
	       "run. --npd: 0 healthy, 1 problem, 2 unknown. --slurm: 0 the node's state was\n"
	       "handled (drained, resumed or left alone), 1 Slurm could not be reached or "
	       "refused.\n",
	       DEFAULT_TIMEOUT_MS);
}

static int parse_checks(const char *list, bool run[_HEALTH_CHECK_MAX])
{
	_cleanup_free_ char *copy = strdup(list);
	char *save = NULL;

	if (!copy)
		return -ENOMEM;
	memset(run, 0, sizeof(bool) * _HEALTH_CHECK_MAX);
	for (char *w = strtok_r(copy, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
		enum health_check c;

		if (health_check_from_string(w, &c) < 0)
			return usage_error("health",
					   "unknown check '%s' (baseline, xid, nvml, daemon)", w);
		run[c] = true;
	}
	return 0;
}

static void print_text(const struct health_report *rep)
{
	if (rep->n[HEALTH_PROBLEM] > 0)
		printf("node has %u problem(s)\n", rep->n[HEALTH_PROBLEM]);
	else if (rep->n[HEALTH_UNKNOWN] > 0)
		printf("node: no problem found, but %u check(s) could not run\n",
		       rep->n[HEALTH_UNKNOWN]);
	else
		printf("node healthy: %u check(s) ok, %u skipped\n", rep->n[HEALTH_OK],
		       rep->n[HEALTH_SKIPPED]);
	for (int c = 0; c < _HEALTH_CHECK_MAX; c++)
		if (rep->run[c])
			printf("  %-9s %-8s %s\n", health_check_to_string((enum health_check)c),
			       health_status_to_string(rep->results[c].status),
			       rep->results[c].message);
}

static int print_json(const struct health_report *rep)
{
	struct json_object *o = json_object_new_object(), *checks = json_object_new_array();
	int r;

	if (!o || !checks) {
		json_object_put(o);
		json_object_put(checks);
		return -ENOMEM;
	}
	json_object_object_add(o, "schema", json_object_new_string("gpukeep.health"));
	json_object_object_add(o, "version", json_object_new_int(1));
	json_object_object_add(o, "healthy",
			       json_object_new_boolean(rep->n[HEALTH_PROBLEM] == 0 &&
						       rep->n[HEALTH_UNKNOWN] == 0));
	json_object_object_add(o, "problems", json_object_new_int((int)rep->n[HEALTH_PROBLEM]));
	for (int c = 0; c < _HEALTH_CHECK_MAX; c++) {
		struct json_object *e;

		if (!rep->run[c] || !(e = json_object_new_object()))
			continue;
		json_object_object_add(
			e, "check",
			json_object_new_string(health_check_to_string((enum health_check)c)));
		json_object_object_add(
			e, "status",
			json_object_new_string(health_status_to_string(rep->results[c].status)));
		json_object_object_add(e, "message",
				       json_object_new_string(rep->results[c].message));
		json_object_array_add(checks, e);
	}
	json_object_object_add(o, "checks", checks);
	r = output_json(o);
	json_object_put(o);
	return r;
}

/* node-problem-detector keeps the first 80 characters of stdout: one line that fits. */
static int report_npd(const struct health_report *rep)
{
	char line[256];
	int c = rep->first_problem >= 0 ? rep->first_problem : rep->first_unknown;

	if (c >= 0)
		snprintf(line, sizeof(line), "%s: %s", health_check_to_string((enum health_check)c),
			 rep->results[c].message);
	else
		snprintf(line, sizeof(line), "healthy: %u check(s) ok, %u skipped",
			 rep->n[HEALTH_OK], rep->n[HEALTH_SKIPPED]);
	if (strlen(line) > NPD_LINE_MAX)
		memcpy(line + NPD_LINE_MAX - 3, "...", 4);
	printf("%s\n", line);
	return rep->first_problem >= 0 ? 1 : rep->first_unknown >= 0 ? 2 : 0;
}

struct health_args {
	struct health_options o;
	struct health_report rep;
	const char *node;
	enum mode mode;
};

/* Returns -1 to go on, or an exit code (help shown, usage error said). */
static int parse_options(int argc, char **argv, struct health_args *a)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'},
		{"npd", no_argument, NULL, 'N'},
		{"slurm", no_argument, NULL, 'S'},
		{"node", required_argument, NULL, 'n'},
		{"check", required_argument, NULL, 'c'},
		{"baseline", required_argument, NULL, 'b'},
		{"root", required_argument, NULL, 'r'},
		{"kmsg", required_argument, NULL, 'k'},
		{"state-dir", required_argument, NULL, 'd'},
		{"socket", required_argument, NULL, 's'},
		{"timeout", required_argument, NULL, 't'},
		{"help", no_argument, NULL, 'h'},
		{},
	};
	struct health_options *o = &a->o;
	int c, r;

	optind = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) >= 0) {
		switch (c) {
		case 'j':
			a->mode = MODE_JSON;
			break;
		case 'N':
			a->mode = MODE_NPD;
			break;
		case 'S':
			a->mode = MODE_SLURM;
			break;
		case 'n':
			a->node = optarg;
			break;
		case 'c':
			r = parse_checks(optarg, a->rep.run);
			if (r != 0)
				return r < 0 ? GK_EXIT_FAILED : r;
			break;
		case 'b':
			o->baseline = optarg;
			break;
		case 'r':
			o->root = optarg;
			break;
		case 'k':
			o->kmsg = optarg;
			break;
		case 'd':
			o->state_dir = optarg;
			break;
		case 's':
			o->socket = optarg;
			break;
		case 't':
			if (safe_atou(optarg, &o->timeout_ms) < 0 || o->timeout_ms == 0 ||
			    o->timeout_ms > 60000)
				return usage_error("health",
						   "--timeout takes 1..60000 ms, not '%s'", optarg);
			break;
		case 'h':
			health_help();
			return GK_EXIT_OK;
		default:
			return usage_error("health", "invalid option");
		}
	}
	if (optind < argc)
		return usage_error("health", "unexpected argument '%s'", argv[optind]);
	if (a->node && a->mode != MODE_SLURM)
		return usage_error("health", "--node goes with --slurm");
	return -1;
}

/* The baseline's NVML part reads NVML too: the same library, with the same deadline. */
static void nvml_env(const struct health_options *o)
{
	char ms[16];

	if (o->nvml)
		setenv(GK_NVML_ENV, o->nvml, 1);
	if (getenv(GK_NVML_TIMEOUT_ENV))
		return;
	snprintf(ms, sizeof(ms), "%u", o->timeout_ms);
	setenv(GK_NVML_TIMEOUT_ENV, ms, 1);
}

static bool wants_npd(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (streq(argv[i], "--npd"))
			return true;
	return false;
}

int verb_health(int argc, char **argv)
{
	struct health_args a = {
		.o = {.root = "/",
		      .baseline = DEFAULT_BASELINE,
		      .kmsg = "/dev/kmsg",
		      .state_dir = DEFAULT_STATE_DIR,
		      .socket = GK_SOCKET_PATH,
		      .timeout_ms = DEFAULT_TIMEOUT_MS},
		.rep = {.run = {true, true, true, true}},
	};
	int r;

	r = nvml_cli_take_option("health", &argc, argv, &a.o.nvml);
	if (r < 0)
		r = parse_options(argc, argv, &a);
	if (r >= 0) {
		/* node-problem-detector shows stdout: say there why the result is unknown */
		if (r == GK_EXIT_USAGE && wants_npd(argc, argv))
			printf("unknown: bad arguments, see gpukeep health --help\n");
		return r;
	}
	a.o.consumer = a.mode == MODE_NPD ? "npd" : a.mode == MODE_SLURM ? "slurm" : "plain";
	nvml_env(&a.o);
	health_run_all(&a.o, &a.rep);
	if (a.mode == MODE_NPD)
		return report_npd(&a.rep);
	if (a.mode == MODE_SLURM) {
		print_text(&a.rep);
		return health_slurm(&a.o, a.node, &a.rep);
	}
	if (a.mode == MODE_JSON) {
		r = print_json(&a.rep);
		if (r < 0)
			return log_error_errno(r, "cannot print the report: %m"), GK_EXIT_FAILED;
	} else
		print_text(&a.rep);
	return a.rep.n[HEALTH_PROBLEM] > 0   ? GK_EXIT_FAILED
	       : a.rep.n[HEALTH_UNKNOWN] > 0 ? GK_EXIT_PRECONDITION
					     : GK_EXIT_OK;
}
