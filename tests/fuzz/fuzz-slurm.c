// SPDX-License-Identifier: GPL-2.0-or-later
/* Slurm's command output (scontrol show node -o, squeue) and kernel log records with Xid lines,
 * as the scheduler adapter and gpukeep health read them. What parses must be self-consistent. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ladder/kmsg-scan.h"
#include "sched/sched-policy.h"
#include "sched/slurm-parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void slurm(const char *text)
{
	struct gk_slurm_node n;
	char *ids = NULL, reason[GK_SCHED_REASON_LEN + 1];
	int count;

	if (slurm_parse_node(text, &n) == 0) {
		if (strlen(n.name) == 0 || strchr(n.name, ' ') || strchr(n.state, ' '))
			abort();
		if (n.flags != slurm_state_flags(n.state))
			abort();
		(void)sched_decide_drain(&n);
		(void)sched_decide_resume(&n, NULL);
		(void)sched_decide_resume(&n, n.reason);
		if (sched_reason_format(n.reason, reason, sizeof(reason)) == 0 &&
		    (!sched_reason_is_ours(reason) || strlen(reason) > GK_SCHED_REASON_LEN))
			abort();
	}
	count = slurm_parse_jobs(text, &ids);
	if (count > 0 && (!ids || strchr(ids, '\n')))
		abort();
	if (count == 0 && ids)
		abort();
	free(ids);
	(void)slurm_classify_failure(1, text);
}

static void kmsg(const char *text, size_t size)
{
	struct gk_kmsg_record rec;
	struct gk_xid x;

	if (kmsg_parse_record(text, size, &rec) < 0)
		return;
	if (rec.msg < text || rec.msg + rec.msg_len > text + size)
		abort();
	if (xid_match(rec.msg, rec.msg_len, &x) && strlen(x.pci) >= sizeof(x.pci))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);

	if (!text)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	slurm(text);
	kmsg(text, size);
	free(text);
	return 0;
}
