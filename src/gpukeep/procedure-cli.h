/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What the procedure verbs (reset, reload) share: the state directory, progress lines, the
 * runner's effects with the test hook, the --root rule and the steps in the JSON report. */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>

#include "procedure/engine.h"

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

/* --root other than "/" acts on the host's kernel with paths read elsewhere: only a dry run
 * may. Returns -1 to go on, or GK_EXIT_USAGE after saying why. */
int procedure_cli_check_root(const char *verb, const char *root, bool dry_run);

/* The helper's program (NVML work, sysfs stores and probes with a deadline): this binary,
 * which hosts the hidden helper verb. */
#define PROCEDURE_HELPER "/proc/self/exe"

/* The steps of @p, numbered from its table, for --help. */
void procedure_cli_print_steps(const struct gk_procedure *p);
