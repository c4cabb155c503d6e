/* SPDX-License-Identifier: GPL-2.0-or-later */
/* `gpukeep health --slurm`: the report turned into Slurm's node state, with LBNL NHC's rules. */
#pragma once

#include "health-checks.h"

/* gpukeep health's drains read "gpukeep: health: CHECK: PROBLEM": other gpukeep drains (a
 * reload in progress, the watcher's) are never resumed by a health check. */
#define HEALTH_REASON_PREFIX "gpukeep: health: "

/*
 * On a problem, drains the node (@node, or this host's Slurm name) with gpukeep health's reason,
 * unless someone else drained it or a reboot is pending; when every check passed, resumes it
 * only if it is still drained with the reason health set (remembered in the state dir). Prints
 * one "slurm: ..." line. Returns GK_EXIT_OK when the node's state was handled, GK_EXIT_FAILED
 * when Slurm could not be reached or refused (said on stderr; nothing changed).
 */
int health_slurm(const struct health_options *o, const char *node, const struct health_report *rep);
