/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What gpukeep may do to a node in the scheduler: its own reason (the "gpukeep:" prefix, as
 * LBNL NHC owns "NHC:"), when it may drain, when it may resume. Pure decisions. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "sched/slurm-parse.h"

#define GK_SCHED_REASON_PREFIX "gpukeep:"
/* Longest reason gpukeep writes (characters): room for a fault, and short in sinfo listings. */
#define GK_SCHED_REASON_LEN    200

/* Whether @reason is gpukeep's: starts with GK_SCHED_REASON_PREFIX, exactly (case matters,
 * "gpukeep: ..." but not "Gpukeep:" or "not gpukeep:"). */
bool sched_reason_is_ours(const char *reason);

/*
 * Writes "gpukeep: @fault" into @buf (@size bytes): control characters become spaces, runs of
 * spaces fold to one, and the text is cut at GK_SCHED_REASON_LEN characters (or @size - 1).
 * Returns 0, or -EINVAL for an empty @fault or a @size too small for the prefix and one
 * character.
 */
int sched_reason_format(const char *fault, char *buf, size_t size);

enum gk_sched_verdict {
	GK_SCHED_ACT,		 /* go ahead: drain (or resume) now */
	GK_SCHED_ALREADY,	 /* nothing to do: already drained by us (or not drained) */
	GK_SCHED_FOREIGN,	 /* drained (or down) for someone else's reason: leave it */
	GK_SCHED_EDITED,	 /* our prefix, but not the reason we set: a person changed it */
	GK_SCHED_NO_REASON,	 /* drained with no reason: a person's drain, leave it */
	GK_SCHED_REBOOT_PENDING, /* a reboot is requested or issued: any change would cancel it */
	GK_SCHED_DOWN,		 /* down, not drained: Slurm handles it, leave it */
	GK_SCHED_UNMANAGED,	 /* no scheduler: the operator drains and resumes by hand */
	_GK_SCHED_VERDICT_MAX,
};

/* Words for a verdict ("drained by someone else, left alone"). Static. */
const char *sched_verdict_to_string(enum gk_sched_verdict v);

/*
 * May gpukeep drain @n? ACT when it is in the pool (not drained, not down, no reboot pending);
 * ALREADY when drained for a gpukeep reason; FOREIGN or NO_REASON when someone else drained it
 * (it is out of the pool all the same: a caller that only needs the node empty may go on);
 * REBOOT_PENDING; DOWN.
 */
enum gk_sched_verdict sched_decide_drain(const struct gk_slurm_node *n);

/*
 * May gpukeep resume @n? ACT only when it is drained, no reboot is pending, and its reason is
 * ours: equal to @ours (the reason gpukeep set, remembered by the caller; Slurm's own suffixes
 * such as " : reboot complete" are not accepted) or, when @ours is NULL, any reason with the
 * gpukeep prefix. ALREADY when not drained; EDITED when the prefix is there but the text is not
 * @ours; FOREIGN, NO_REASON, REBOOT_PENDING, DOWN (down and not drained) otherwise.
 */
enum gk_sched_verdict sched_decide_resume(const struct gk_slurm_node *n, const char *ours);
