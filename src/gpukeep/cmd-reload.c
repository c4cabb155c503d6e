// SPDX-License-Identifier: GPL-2.0-or-later
/* gpukeep reload: the safe NVIDIA driver reload (see reload.c for the steps). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/gk-exit.h"
#include "daemon/protocol.h"
#include "fileio.h"
#include "log.h"
#include "node/modops.h"
#include "nvml-cli.h"
#include "nvpd/nvpd-client.h"
#include "output.h"
#include "parse-util.h"
#include "procedure-cli.h"
#include "procedure/reload.h"
#include "string-util.h"
#include "verbs.h"

static void reload_help(void)
{
	printf("usage: gpukeep reload [--kill] [--dry-run] [--baseline FILE] [--grace SECONDS]\n"
	       "                      [--unload-timeout SECONDS] [--fabric-timeout SECONDS] "
	       "[--diag]\n"
	       "                      [--json] [--state-dir DIR]\n"
	       "                      [--socket PATH] [--nvpd-socket PATH] [--systemctl CMD]\n"
	       "                      [--root DIR]\n"
	       "                      [--drain [--drain-timeout S] [--requeue] [--reason TEXT]\n"
	       "                       [--scheduler KIND] [--node NAME]]\n\n"
	       "Reloads the NVIDIA driver without a reboot, in numbered, timed steps:\n");
	procedure_cli_print_steps(&reload_procedure);
	printf("A reload killed at any step is finished by the next 'gpukeep reload', which\n"
	       "reads the journal in the state directory; --dry-run then shows that resume. A\n"
	       "reload is refused while an interrupted 'gpukeep reset' is unfinished.\n\n"
	       "  --kill                 stop the processes and services that hold the GPUs\n"
	       "  --dry-run              print the plan (or the pending resume), change nothing\n"
	       "  --baseline FILE        validate against FILE (see 'gpukeep baseline save')\n"
	       "  --grace SECONDS        between SIGTERM and SIGKILL (default 30)\n"
	       "  --unload-timeout SECONDS  how long a module may stay in use (default 10)\n"
	       "  --fabric-timeout SECONDS  NVSwitch nodes: how long the NVLink fabric may take "
	       "to\n"
	       "                         train after the fabric manager starts (default 180)\n"
	       "  --diag                 run 'dcgmi diag -r 1' after validation, when installed\n"
	       "  --json                 print the report as JSON (progress goes to stderr)\n"
	       "  --state-dir DIR        journal and lock (default " DEFAULT_STATE_DIR ")\n"
	       "  --socket PATH          gpukeepd's socket (default " GK_SOCKET_PATH ")\n"
	       "  --nvpd-socket PATH     nvidia-persistenced's RPC socket, used when gpukeepd\n"
	       "                         does not answer (default $GPUKEEP_NVPD_SOCKET, then\n"
	       "                         " NVPD_SOCKET_PATH ")\n"
	       "  --systemctl CMD        the service manager command (default systemctl)\n"
	       "  --root DIR             read /sys, /proc and /dev under DIR (default /); only\n"
	       "                         with --dry-run: a reload acts on this machine's kernel\n"
	       "  --nvml PATH            NVML library for settings and NVLinks (default\n"
	       "                         $GPUKEEP_NVML, then libnvidia-ml.so.1; 'none': no "
	       "NVML)\n");
	procedure_sched_help(true);
	printf("\nEvery command (systemctl, container runtimes, dcgmi, the NVML helper) and every\n"
	       "call to the persistence daemon has a deadline; one passed is named in the report.\n"
	       "exit codes: 0 reloaded and valid; 1 failed and rolled back (the driver as it "
	       "was);\n"
	       "2 usage; 3 refused, nothing changed; 4 failed and not rolled back: the report\n"
	       "names the next rung (GPU reset, or drain and reboot). With --drain, 3 also when\n"
	       "the scheduler refuses (a reboot pending, the node down, slurmctld unreachable,\n"
	       "jobs left at the deadline): the reload is then not run.\n");
}

struct reload_args {
	struct gk_reload_opts o;
	const char *state_dir;
	bool json;
	struct procedure_sched sched;
	struct gk_reload_result res;
	int run_r;     /* reload_run()'s return */
	bool reloaded; /* reload_run() ran and filled res */
};

static int parse_seconds(const char *s, unsigned *ret_ms)
{
	unsigned v;

	if (safe_atou_base(s, 10, &v) < 0 || v > 3600)
		return -EINVAL;
	*ret_ms = v * 1000;
	return 0;
}

static int parse_args(int argc, char **argv, struct reload_args *a)
{
	static const struct option opts[] = {
		{"kill", no_argument, NULL, 'k'},
		{"dry-run", no_argument, NULL, 'n'},
		{"baseline", required_argument, NULL, 'b'},
		{"grace", required_argument, NULL, 'g'},
		{"unload-timeout", required_argument, NULL, 'u'},
		{"fabric-timeout", required_argument, NULL, 'F'},
		{"diag", no_argument, NULL, 'd'},
		{"json", no_argument, NULL, 'j'},
		{"state-dir", required_argument, NULL, 's'},
		{"socket", required_argument, NULL, 'S'},
		{"nvpd-socket", required_argument, NULL, PROCEDURE_OPT_NVPD_SOCKET},
		{"systemctl", required_argument, NULL, 'C'},
		{"root", required_argument, NULL, 'r'},
		{"help", no_argument, NULL, 'h'},
		PROCEDURE_DRAIN_OPTIONS,
		{},
	};
	const struct procedure_paths paths = PROCEDURE_PATHS(a);
	int c, r;

	optind = 0;
	while ((c = getopt_long(argc, argv, "hknb:g:u:F:djs:S:C:r:", opts, NULL)) >= 0) {
		switch (c) {
		case 'k':
			a->o.kill = true;
			break;
		case 'n':
			a->o.engine.dry_run = true;
			break;
		case 'b':
			a->o.baseline_path = optarg;
			break;
		case 'g':
			if (parse_seconds(optarg, &a->o.grace_ms) < 0)
				return usage_error("reload",
						   "--grace needs 0..3600 seconds, not '%s'",
						   optarg);
			break;
		case 'u':
			if (parse_seconds(optarg, &a->o.unload_budget_ms) < 0)
				return usage_error(
					"reload",
					"--unload-timeout needs 0..3600 seconds, not '%s'", optarg);
			break;
		case 'F':
			if (parse_seconds(optarg, &a->o.fabric_timeout_ms) < 0 ||
			    a->o.fabric_timeout_ms == 0)
				return usage_error(
					"reload",
					"--fabric-timeout needs 1..3600 seconds, not '%s'", optarg);
			break;
		case 'd':
			a->o.diag = true;
			break;
		case 'j':
			a->json = true;
			break;
		case 'h':
			reload_help();
			return GK_EXIT_OK;
		default:
			if (procedure_cli_path_option(&paths, c, optarg))
				break;
			r = procedure_sched_option(&a->sched, "reload", c, optarg);
			if (r >= 0)
				return r;
		}
	}
	if (optind < argc)
		return usage_error("reload", "unexpected argument '%s'", argv[optind]);
	return procedure_sched_check(&a->sched, "reload", true);
}

static struct json_object *report_json(const struct gk_reload_result *r,
				       const struct procedure_sched *sched)
{
	struct json_object *o =
		procedure_cli_report_new("reload", &r->run, rung_to_string(r->next_rung));

	if (!o)
		return NULL;
	procedure_cli_report_end(o, r->daemon, &r->run, &r->differences, sched);
	json_object_object_add(
		o, "diag",
		r->diag == -1	? json_object_new_string("not run")
		: r->diag == -2 ? json_object_new_string("not installed")
				: json_object_new_string(r->diag == 0 ? "passed" : "failed"));
	return o;
}

/* The reload itself: inside the scheduler with --drain (procedure_sched_run()). */
static int reload_proc(void *userdata, struct gk_around_outcome *ret)
{
	struct reload_args *a = userdata;
	struct gk_node_ops_real real;
	struct gk_modops *mods = NULL;
	int r;

	*ret = (struct gk_around_outcome){.exit = GK_EXIT_PRECONDITION};
	/* a dry run plans from /proc/modules alone: it needs no module indexes */
	r = a->o.engine.dry_run ? 0 : modops_kmod_new(&mods);
	if (r < 0) {
		snprintf(ret->error, sizeof(ret->error),
			 "cannot read the kernel's module indexes (libkmod, /lib/modules/$(uname "
			 "-r)): %s",
			 strerror(-r));
		log_error("%s", ret->error);
		return 0;
	}
	node_ops_real_init(&real, mods, PROCEDURE_HELPER, a->o.nvml, a->state_dir, a->json);
	a->o.ops = &real.ops;
	a->run_r = reload_run(&a->o, &a->res);
	modops_kmod_free(mods);
	a->reloaded = a->run_r >= 0;
	return procedure_cli_outcome("reload", a->run_r, &a->res.run,
				     rung_to_string(a->res.next_rung), ret);
}

static int run(struct reload_args *a, struct procedure_cli *cli)
{
	int r;

	r = procedure_sched_run(&a->sched, cli, "reload", a->o.engine.dry_run, reload_proc, a);
	if (a->run_r < 0)
		log_error_errno(a->run_r, "reload: %m");
	if (!a->reloaded)
		return r; /* refused by the scheduler, or said above */
	procedure_cli_report("reload", a->json, a->json ? report_json(&a->res, &a->sched) : NULL,
			     &a->res.run, a->o.engine.dry_run);
	reload_result_done(&a->res);
	return r;
}

int verb_reload(int argc, char **argv)
{
	struct procedure_cli cli;
	struct reload_args a = {
		.o = {.root = "/",
		      .socket = GK_SOCKET_PATH,
		      .nvpd_socket = getenv("GPUKEEP_NVPD_SOCKET"),
		      .systemctl = "systemctl",
		      .grace_ms = 30000,
		      .unload_budget_ms = 10000},
		.state_dir = DEFAULT_STATE_DIR,
	};
	int r;

	procedure_sched_init(&a.sched);
	/* NVML is read by the helper this verb runs: --nvml reaches it through the environment */
	r = nvml_cli_take_option_env("reload", &argc, argv);
	if (r >= 0)
		return r;
	r = parse_args(argc, argv, &a);
	if (r >= 0)
		return r;
	r = procedure_cli_check_root("reload", a.o.root, a.o.engine.dry_run);
	if (r >= 0)
		return r;
	/* the helper reads the running driver: on a fixture root only with $GPUKEEP_NVML */
	a.o.nvml = nvml_cli_wanted(a.o.root, NULL);
	r = procedure_cli_engine(&cli, "reload", a.json, a.state_dir, &a.o.engine);
	if (r >= 0)
		return r;
	r = run(&a, &cli);
	close(a.o.engine.state_dirfd);
	return r;
}
