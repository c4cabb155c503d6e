/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The NVML helper: NVML work of a procedure runs in a process of its own, so that a hung NVML
 * call (which keeps device files open) can be killed at its deadline instead of blocking the
 * unload. Both sides of its interface live here: the argv a procedure builds and the main()
 * that parses it, hosted by the gpukeep binary as the hidden verb GK_NVML_HELPER_VERB.
 */
#pragma once

#include "procedure/node-ops.h"

#define GK_NVML_HELPER_VERB "__nvml-helper"

/* Exit codes of the helper: those of gpukeep (0 done, 1 partly failed, 2 usage, 3 NVML not
 * available, nothing done). */

/*
 * The command line that runs @job on @file (and only on GPU @gpu, a PCI address, when not
 * NULL) through @exe: {exe, GK_NVML_HELPER_VERB, job, file, [gpu], NULL}. Returns 0 and a
 * malloc()ed array whose strings are borrowed (free only the array), -EINVAL, -ENOMEM.
 */
int nvml_helper_argv(const char *exe, enum gk_nvml_job job, const char *file, const char *gpu,
		     char ***ret);

/* The other jobs: "write PATH VALUE" (a sysfs store) and "probe DEVICE" (open and close); their
 * exit is 0, or HELPER_ERRNO_BASE + errno. */
#define HELPER_ERRNO_BASE 10

/* {exe, GK_NVML_HELPER_VERB, "write", path, value, NULL} or {..., "probe", path, NULL} (@value
 * NULL). Returns 0 and a malloc()ed array of borrowed strings, or -ENOMEM. */
int helper_sys_argv(const char *exe, const char *path, const char *value, char ***ret);

/* The helper's main(): argv[0] is GK_NVML_HELPER_VERB. NVML comes from $GPUKEEP_NVML. */
int nvml_helper_main(int argc, char **argv);
