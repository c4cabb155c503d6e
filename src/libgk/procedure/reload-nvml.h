/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What the reload asks of NVML: the settings and NVLinks before the unload, the settings back
 * after the load. Before the unload NVML runs in a helper process (gpukeep itself): a call
 * that hangs in the driver leaves device files open in the process that made it, and that
 * process must not be the one that unloads the driver. */
#pragma once

#include "procedure/reload-steps.h"

/*
 * Before any change: records the NVLinks (into the journal's "before") and the settings (a file
 * in the state directory, named in the journal). Never fails the reload: without NVML, or with
 * NVML hung, it says so in *ret_note (malloc()ed) and the reload goes on by the module path.
 * Returns 0 or -ENOMEM.
 */
int reload_nvml_snapshot(struct reload_ctx *c, char **ret_note);

/* After the load: restores the recorded settings and checks each. Returns 0 (nothing recorded
 * counts), or the run's exit code with the reason. *ret_note says what was done. */
int reload_nvml_restore(struct reload_ctx *c, char **ret_note);
