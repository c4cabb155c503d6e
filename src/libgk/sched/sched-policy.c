// SPDX-License-Identifier: GPL-2.0-or-later
/* gpukeep's reason and the drain/resume decisions, after LBNL NHC's ownership rules. */
#include <ctype.h>
#include <errno.h>
#include <string.h>

#include "macro.h"
#include "sched/sched-policy.h"
#include "string-util.h"

bool sched_reason_is_ours(const char *reason)
{
	return reason && startswith(reason, GK_SCHED_REASON_PREFIX);
}

int sched_reason_format(const char *fault, char *buf, size_t size)
{
	size_t plen = strlen(GK_SCHED_REASON_PREFIX), len, limit;
	bool space = true; /* after the prefix comes one space */

	if (!fault || size < plen + 3)
		return -EINVAL;
	limit = size - 1 < GK_SCHED_REASON_LEN ? size - 1 : GK_SCHED_REASON_LEN;
	memcpy(buf, GK_SCHED_REASON_PREFIX " ", plen + 1);
	len = plen + 1;
	for (const char *p = fault; *p && len < limit; p++) {
		bool is_space = isspace((unsigned char)*p) || iscntrl((unsigned char)*p);

		if (is_space && space)
			continue;
		buf[len++] = is_space ? ' ' : *p;
		space = is_space;
	}
	while (len > plen + 1 && buf[len - 1] == ' ')
		len--;
	if (len == plen + 1)
		return -EINVAL;
	buf[len] = '\0';
	return 0;
}

const char *sched_verdict_to_string(enum gk_sched_verdict v)
{
	static const char *const words[_GK_SCHED_VERDICT_MAX] = {
		[GK_SCHED_ACT] = "go ahead",
		[GK_SCHED_ALREADY] = "nothing to do",
		[GK_SCHED_FOREIGN] = "drained by someone else, left alone",
		[GK_SCHED_EDITED] = "gpukeep's reason was changed by someone, left alone",
		[GK_SCHED_NO_REASON] = "drained with no reason (by a person), left alone",
		[GK_SCHED_REBOOT_PENDING] = "a reboot is pending, left alone",
		[GK_SCHED_DOWN] = "down, left to Slurm",
		[GK_SCHED_UNMANAGED] = "no scheduler: drain and resume the node by hand",
	};

	return v < _GK_SCHED_VERDICT_MAX ? words[v] : "?";
}

static bool reboot_pending(const struct gk_slurm_node *n)
{
	/* "Reboot ASAP" is the reason scontrol reboot ASAP sets when none is given */
	return (n->flags & (GK_SLURM_REBOOT_REQUESTED | GK_SLURM_REBOOT_ISSUED)) ||
	       startswith(n->reason, "Reboot ASAP");
}

/* The owner of a node taken out of the pool: ours, foreign, none. */
static enum gk_sched_verdict owner(const struct gk_slurm_node *n)
{
	if (n->reason[0] == '\0')
		return GK_SCHED_NO_REASON;
	return sched_reason_is_ours(n->reason) ? GK_SCHED_ALREADY : GK_SCHED_FOREIGN;
}

enum gk_sched_verdict sched_decide_drain(const struct gk_slurm_node *n)
{
	if (reboot_pending(n))
		return GK_SCHED_REBOOT_PENDING;
	if (n->flags & GK_SLURM_DRAIN)
		return owner(n);
	if (n->flags & GK_SLURM_DOWN)
		return GK_SCHED_DOWN;
	return GK_SCHED_ACT;
}

enum gk_sched_verdict sched_decide_resume(const struct gk_slurm_node *n, const char *ours)
{
	enum gk_sched_verdict v;

	if (reboot_pending(n))
		return GK_SCHED_REBOOT_PENDING;
	if (n->flags & GK_SLURM_DOWN)
		return GK_SCHED_DOWN;
	if (!(n->flags & GK_SLURM_DRAIN))
		return GK_SCHED_ALREADY;
	v = owner(n);
	if (v != GK_SCHED_ALREADY)
		return v;
	if (ours && !streq(n->reason, ours))
		return GK_SCHED_EDITED;
	return GK_SCHED_ACT;
}
