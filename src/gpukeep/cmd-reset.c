// SPDX-License-Identifier: GPL-2.0-or-later
/* gpukeep reset: the per-GPU reset, rung 1 of the remediation ladder (see reset.c for the
 * steps). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/gk-exit.h"
#include "daemon/protocol.h"
#include "log.h"
#include "nvml-cli.h"
#include "nvpd/nvpd-client.h"
#include "output.h"
#include "parse-util.h"
#include "procedure-cli.h"
#include "procedure/reset.h"
#include "string-util.h"
#include "verbs.h"

#define MAX_GPUS 64

static void reset_help(void)
{
	printf("usage: gpukeep reset [-i GPU]... [--kill] [--dry-run] [--json] [--baseline FILE]\n"
	       "                     [--grace SECONDS] [--fabric-timeout SECONDS]\n"
	       "                     [--state-dir DIR] [--socket PATH] [--nvpd-socket PATH]\n"
	       "                     [--systemctl CMD] [--nvidia-smi CMD] [--root DIR]\n"
	       "                     [--drain [--drain-timeout S] [--requeue] [--reason TEXT]\n"
	       "                      [--scheduler KIND] [--node NAME]]\n\n"
	       "Resets GPUs one by one without touching the others (rung 1 of the remediation\n"
	       "ladder; rung 2 is 'gpukeep reload'), in numbered, timed steps:\n");
	procedure_cli_print_steps(&reset_procedure);
	printf("Processes on other GPUs keep running. A reset and a reload never overlap (one\n"
	       "node lock); a reset killed at any step is finished by the next 'gpukeep reset'\n"
	       "(the GPUs given are then those of the journal), and a reload refuses to start\n"
	       "until it is.\n\n"
	       "  -i, --id GPU       a GPU to reset: index, minor:N, PCI address or UUID (as\n"
	       "                     'pm -i'); repeatable (default: every GPU)\n"
	       "  --kill             stop the processes and services that hold those GPUs\n"
	       "  --dry-run          print the plan (or the pending resume), change nothing\n"
	       "  --json             print the report as JSON (progress goes to stderr)\n"
	       "  --baseline FILE    validate those GPUs against FILE, not their state before\n"
	       "  --grace SECONDS    between SIGTERM and SIGKILL (default 30)\n"
	       "  --fabric-timeout SECONDS  NVSwitch nodes: how long the reset GPUs' NVLink\n"
	       "                     fabric may take to complete again (default 180); the\n"
	       "                     fabric manager keeps running through the reset\n"
	       "  --state-dir DIR    journal and lock (default " DEFAULT_STATE_DIR ")\n"
	       "  --socket PATH      gpukeepd's socket (default " GK_SOCKET_PATH ")\n"
	       "  --nvpd-socket PATH nvidia-persistenced's RPC socket, used when gpukeepd does\n"
	       "                     not answer (default $GPUKEEP_NVPD_SOCKET, then\n"
	       "                     " NVPD_SOCKET_PATH ")\n"
	       "  --systemctl CMD    the service manager command (default systemctl)\n"
	       "  --nvidia-smi CMD   resets with 'CMD -r -i BDF' (default nvidia-smi; when it is\n"
	       "                     not installed, the kernel's function reset)\n"
	       "  --root DIR         read /sys, /proc and /dev under DIR (default /); only with\n"
	       "                     --dry-run: a reset acts on this machine's devices\n"
	       "  --nvml PATH        NVML library for settings and NVLinks (default\n"
	       "                     $GPUKEEP_NVML, then libnvidia-ml.so.1; 'none': no NVML)\n");
	procedure_sched_help(true);
	printf("\nEvery command and every call to gpukeepd has a deadline; one passed is named.\n"
	       "exit codes: 0 reset and valid; 1 failed before the reset, rolled back; 2 usage;\n"
	       "3 refused, nothing changed (a D-state holder: next rung reboot); 4 a GPU did not\n"
	       "come back, or its NVLink fabric did not complete in time: next_rung \"reload\".\n"
	       "With --drain, 3 also when the scheduler refuses (a reboot pending, the node down,\n"
	       "slurmctld unreachable, jobs left at the deadline): the reset is then not run.\n");
}

struct reset_args {
	struct gk_reset_opts o;
	struct gk_gpusel sels[MAX_GPUS];
	const char *texts[MAX_GPUS + 1];
	const char *state_dir;
	bool json;
	struct procedure_sched sched;
	struct gk_reset_result res;
	int run_r;	/* reset_run()'s return */
	bool did_reset; /* reset_run() ran and filled res */
};

static int parse_gpu(struct reset_args *a, const char *s)
{
	if (a->o.n_gpus >= MAX_GPUS)
		return usage_error("reset", "at most %d -i options", MAX_GPUS);
	if (gpusel_parse(s, &a->sels[a->o.n_gpus]) < 0)
		return usage_error("reset",
				   "-i needs an index, minor:N, a PCI address or a UUID, not '%s'",
				   s);
	a->texts[a->o.n_gpus++] = s;
	return -1;
}

static int parse_args(int argc, char **argv, struct reset_args *a)
{
	static const struct option opts[] = {
		{"id", required_argument, NULL, 'i'},
		{"kill", no_argument, NULL, 'k'},
		{"dry-run", no_argument, NULL, 'n'},
		{"json", no_argument, NULL, 'j'},
		{"baseline", required_argument, NULL, 'b'},
		{"grace", required_argument, NULL, 'g'},
		{"fabric-timeout", required_argument, NULL, 'F'},
		{"state-dir", required_argument, NULL, 's'},
		{"socket", required_argument, NULL, 'S'},
		{"nvpd-socket", required_argument, NULL, PROCEDURE_OPT_NVPD_SOCKET},
		{"systemctl", required_argument, NULL, 'C'},
		{"nvidia-smi", required_argument, NULL, 'N'},
		{"root", required_argument, NULL, 'r'},
		{"help", no_argument, NULL, 'h'},
		PROCEDURE_DRAIN_OPTIONS,
		{},
	};
	unsigned v;
	const struct procedure_paths paths = PROCEDURE_PATHS(a);
	int c, r;

	optind = 0;
	while ((c = getopt_long(argc, argv, "hi:knjb:g:F:s:S:C:N:r:", opts, NULL)) >= 0) {
		switch (c) {
		case 'i':
			r = parse_gpu(a, optarg);
			if (r >= 0)
				return r;
			break;
		case 'k':
			a->o.kill = true;
			break;
		case 'n':
			a->o.engine.dry_run = true;
			break;
		case 'j':
			a->json = true;
			break;
		case 'b':
			a->o.baseline_path = optarg;
			break;
		case 'g':
			if (safe_atou_base(optarg, 10, &v) < 0 || v > 3600)
				return usage_error(
					"reset", "--grace needs 0..3600 seconds, not '%s'", optarg);
			a->o.grace_ms = v * 1000;
			break;
		case 'F':
			if (safe_atou_base(optarg, 10, &v) < 0 || v == 0 || v > 3600)
				return usage_error(
					"reset", "--fabric-timeout needs 1..3600 seconds, not '%s'",
					optarg);
			a->o.fabric_timeout_ms = v * 1000;
			break;
		case 'N':
			a->o.nvidia_smi = optarg;
			break;
		case 'h':
			reset_help();
			return GK_EXIT_OK;
		default:
			if (procedure_cli_path_option(&paths, c, optarg))
				break;
			r = procedure_sched_option(&a->sched, "reset", c, optarg);
			if (r >= 0)
				return r;
		}
	}
	if (optind < argc)
		return usage_error("reset", "unexpected argument '%s'", argv[optind]);
	return procedure_sched_check(&a->sched, "reset", true);
}

static struct json_object *gpus_json(const struct gk_reset_result *r)
{
	struct json_object *a = json_object_new_array();

	for (size_t i = 0; a && i < r->n_gpus; i++) {
		struct json_object *g = json_object_new_object();

		if (!g || json_object_array_add(a, g) < 0) {
			json_object_put(g);
			json_object_put(a);
			return NULL;
		}
		json_object_object_add(g, "pci", json_object_new_string(r->gpus[i].pci));
		json_object_object_add(
			g, "method",
			r->gpus[i].method[0] ? json_object_new_string(r->gpus[i].method) : NULL);
		json_object_object_add(g, "back", json_object_new_boolean(r->gpus[i].back));
	}
	return a;
}

static struct json_object *report_json(const struct gk_reset_result *r,
				       const struct procedure_sched *sched)
{
	struct json_object *o =
		procedure_cli_report_new("reset", &r->run, reset_rung_to_string(r->next_rung));

	if (!o)
		return NULL;
	json_object_object_add(o, "gpus", gpus_json(r));
	procedure_cli_report_end(o, r->daemon, &r->run, &r->differences, sched);
	return o;
}

/* The reset itself: inside the scheduler with --drain (procedure_sched_run()). */
static int reset_proc(void *userdata, struct gk_around_outcome *ret)
{
	struct reset_args *a = userdata;
	struct gk_node_ops_real real;

	*ret = (struct gk_around_outcome){};
	node_ops_real_init(&real, NULL, PROCEDURE_HELPER, a->o.nvml, a->state_dir, a->json);
	a->o.ops = &real.ops;
	a->run_r = reset_run(&a->o, &a->res);
	a->did_reset = a->run_r >= 0;
	return procedure_cli_outcome("reset", a->run_r, &a->res.run,
				     reset_rung_to_string(a->res.next_rung), ret);
}

static int run(struct reset_args *a, struct procedure_cli *cli)
{
	int r;

	r = procedure_sched_run(&a->sched, cli, "reset", a->o.engine.dry_run, reset_proc, a);
	if (a->run_r < 0)
		log_error_errno(a->run_r, "reset: %m");
	if (!a->did_reset)
		return r; /* refused by the scheduler, or said above */
	procedure_cli_report("reset", a->json, a->json ? report_json(&a->res, &a->sched) : NULL,
			     &a->res.run, a->o.engine.dry_run);
	reset_result_done(&a->res);
	return r;
}

int verb_reset(int argc, char **argv)
{
	struct procedure_cli cli;
	struct reset_args a = {
		.o = {.root = "/",
		      .socket = GK_SOCKET_PATH,
		      .nvpd_socket = getenv("GPUKEEP_NVPD_SOCKET"),
		      .systemctl = "systemctl",
		      .nvidia_smi = "nvidia-smi",
		      .grace_ms = 30000},
		.state_dir = DEFAULT_STATE_DIR,
	};
	int r;

	procedure_sched_init(&a.sched);
	r = nvml_cli_take_option_env("reset", &argc, argv);
	if (r >= 0)
		return r;
	r = parse_args(argc, argv, &a);
	if (r >= 0)
		return r;
	r = procedure_cli_check_root("reset", a.o.root, a.o.engine.dry_run);
	if (r >= 0)
		return r;
	a.o.gpus = a.sels;
	a.o.gpu_texts = a.texts;
	a.o.nvml = nvml_cli_wanted(a.o.root, NULL);
	r = procedure_cli_engine(&cli, "reset", a.json, a.state_dir, &a.o.engine);
	if (r >= 0)
		return r;
	r = run(&a, &cli);
	close(a.o.engine.state_dirfd);
	return r;
}
