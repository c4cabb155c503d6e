// SPDX-License-Identifier: GPL-2.0-or-later
/* gpukeep: the command-line tool. Dispatches to one verb per file (cmd-*.c). */
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "core/gk-exit.h"
#include "log.h"
#include "macro.h"
#include "procedure/nvml-helper.h"
#include "verbs.h"

struct verb {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct verb verbs[] = {
	{"inventory", verb_inventory, "GPUs, NVSwitches, driver, module graph and device nodes"},
	{"status", verb_status, "persistence mode per GPU, as gpukeepd keeps it"},
	{"pm", verb_pm, "set persistence mode for one GPU or all (through gpukeepd)"},
	{"holders", verb_holders, "processes holding NVIDIA device files, and what to stop"},
	{"baseline", verb_baseline, "save the node's expected configuration"},
	{"validate", verb_validate, "check the node against its baseline"},
	{"reset", verb_reset, "reset GPUs one by one, the others untouched (ladder rung 1)"},
	{"reload", verb_reload, "reload the NVIDIA driver safely, without a reboot (rung 2)"},
	{"reboot", verb_reboot, "reboot through the scheduler (Slurm: when idle), rung 3"},
	{"settings", verb_settings, "save and restore per-GPU settings a reload loses (NVML)"},
	{"watch", verb_watch, "the remediation ladder: follow the kernel log, decide, act"},
	{"events", verb_events, "the event log of gpukeep watch"},
	{"health", verb_health, "a quick health check (text, JSON, Slurm, NPD)"},
};

static void help(void)
{
	printf("usage: gpukeep VERB [OPTIONS]\n\n"
	       "Keeps the NVIDIA driver on a GPU node in a known, healthy state.\n\nverbs:\n");
	for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
		printf("  %-12s %s\n", verbs[i].name, verbs[i].summary);
	printf("\n'gpukeep VERB --help' shows a verb's options; man gpukeep(1) has the details.\n"
	       "exit codes: 0 ok, 1 failed (rolled back), 2 usage, 3 precondition failed (nothing\n"
	       "changed), 4 failed and not rolled back (the node needs the next remediation "
	       "rung).\n");
}

int main(int argc, char **argv)
{
	log_set_program("gpukeep");
	if (argc < 2) {
		help();
		return GK_EXIT_USAGE;
	}
	if (streq(argv[1], "-h") || streq(argv[1], "--help") || streq(argv[1], "help")) {
		help();
		return GK_EXIT_OK;
	}
	if (streq(argv[1], "--version")) {
		printf("gpukeep %s\n", GK_VERSION);
		return GK_EXIT_OK;
	}
	/* the procedures' NVML helper process (nvml-helper.h): not a verb for people */
	if (streq(argv[1], GK_NVML_HELPER_VERB))
		return nvml_helper_main(argc - 1, argv + 1);
	for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
		if (streq(argv[1], verbs[i].name))
			return verbs[i].run(argc - 1, argv + 1);
	fprintf(stderr, "gpukeep: unknown verb '%s'; 'gpukeep --help' lists the verbs\n", argv[1]);
	return GK_EXIT_USAGE;
}
