/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A fake Slurm for the scheduler tests: one node's state (n1), played through the adapter's
 * runner as scontrol and squeue would answer; every failure switchable. Header-only. */
#pragma once

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sched/sched.h"

/* A fake Slurm: one node's state, played through the runner. */
struct fake {
	char state[64];
	char reason[256];
	unsigned jobs;	       /* jobs on the node */
	unsigned drop_jobs;    /* each squeue call after the first ends this many */
	bool unreachable;      /* every call: "Unable to contact slurm controller" */
	bool hang;	       /* every call passes its deadline */
	bool ignore_updates;   /* scontrol update succeeds but changes nothing */
	bool requeue_refused;  /* scontrol requeue fails */
	bool requeue_empties;  /* a requeue takes every job off the node */
	unsigned updates;      /* scontrol update/requeue/reboot calls seen */
	unsigned shows;	       /* scontrol show node calls seen */
	unsigned squeues;      /* squeue calls seen */
	char last_update[512]; /* their arguments, joined */
};

static inline char *fake_dup(const char *s)
{
	char *p = strdup(s);

	assert_non_null(p);
	return p;
}

static inline int fake_run(void *userdata, char *const argv[], unsigned timeout_ms,
			   struct spawn_output *ret)
{
	struct fake *f = userdata;
	char out[1024] = "";

	if (f->hang)
		return -ETIMEDOUT;
	if (f->unreachable) {
		*ret = (struct spawn_output){
			.status = 1,
			.out = fake_dup(""),
			.err = fake_dup("slurm_load_node error: Unable to contact "
					"slurm controller (connect failure)\n")};
		return 0;
	}
	if (strcmp(argv[0], "squeue") == 0) {
		f->squeues++;
		for (unsigned i = 0; i < f->jobs; i++)
			snprintf(out + strlen(out), sizeof(out) - strlen(out), "%u\n", 100 + i);
		f->jobs -= f->jobs < f->drop_jobs ? f->jobs : f->drop_jobs;
	} else if (strcmp(argv[1], "show") == 0) {
		f->shows++;
		if (strcmp(argv[4], "n1") != 0) {
			*ret = (struct spawn_output){.status = 1,
						     .out = fake_dup(""),
						     .err = fake_dup("Node x not found\n")};
			return 0;
		}
		snprintf(out, sizeof(out), "NodeName=n1 Arch=x86_64 State=%s Weight=1%s%s%s\n",
			 f->state, f->reason[0] ? " Reason=" : "", f->reason,
			 f->reason[0] ? " [root@2026-12-01T09:55:18]" : "");
	} else {
		f->updates++;
		f->last_update[0] = '\0';
		for (size_t i = 1; argv[i]; i++)
			snprintf(f->last_update + strlen(f->last_update),
				 sizeof(f->last_update) - strlen(f->last_update), "%s%s",
				 i > 1 ? " " : "", argv[i]);
		if (f->requeue_refused && strcmp(argv[1], "requeue") == 0) {
			*ret = (struct spawn_output){
				.status = 1,
				.out = fake_dup(""),
				.err = fake_dup("Requested operation not supported on this job\n")};
			return 0;
		}
		if (f->requeue_empties && strcmp(argv[1], "requeue") == 0)
			f->jobs = 0;
		if (!f->ignore_updates && strcmp(argv[1], "update") == 0 &&
		    strcmp(argv[3], "State=DRAIN") == 0) {
			snprintf(f->state, sizeof(f->state), "IDLE+DRAIN");
			snprintf(f->reason, sizeof(f->reason), "%s", argv[4] + strlen("Reason="));
		} else if (!f->ignore_updates && strcmp(argv[1], "update") == 0) {
			snprintf(f->state, sizeof(f->state), "IDLE");
			f->reason[0] = '\0';
		}
	}
	*ret = (struct spawn_output){.status = 0, .out = fake_dup(out), .err = fake_dup("")};
	return 0;
}
