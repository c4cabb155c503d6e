/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A disruptive procedure (reset, reload) inside the scheduler: drain the node, let its jobs end
 * or requeue them, run the procedure, then resume the node only when the procedure succeeded
 * and only when the drain is still gpukeep's; a failure leaves it drained with a reason that
 * says why. The decisions are pure; the effects go through the gk_sched handle's ops.
 */
#pragma once

#include <stdbool.h>

#include "sched/sched.h"

#define GK_AROUND_ERROR_LEN   512
#define GK_AROUND_NOT_REACHED (-1)		    /* drain / resume: that step was not reached */
#define GK_AROUND_KEPT	      _GK_SCHED_VERDICT_MAX /* resume: failed, kept drained */

/* What the procedure came back with. */
struct gk_around_outcome {
	int exit;	    /* gk_exit */
	char error[256];    /* "" when none */
	char next_rung[16]; /* its report's next rung ("reboot", "reload", "none"), or "" */
};

/* Runs the procedure (it knows by itself whether this is a dry run). Returns 0 with *ret, or
 * -errno when it could not run at all (*ret->error then says why). */
typedef int (*gk_around_proc_fn)(void *userdata, struct gk_around_outcome *ret);

struct gk_around_opts {
	const char *verb;  /* "reload", "reset": in messages and in the reasons */
	const char *fault; /* the fault part of gpukeep's reason ("Xid 79 on ..., reload") */
	unsigned drain_timeout_ms; /* how long the node's jobs may take to end (or leave) */
	bool requeue;		   /* requeue the node's jobs instead of waiting for them to end */
	bool dry_run;		   /* query and say; change nothing in the scheduler */
	/* One line of what is done ("slurm: node n1 drained: gpukeep: ..."); NULL: silent. */
	void (*say)(void *userdata, const char *line);
	gk_sched_progress_fn progress; /* during the wait; NULL: none */
	void *userdata;
};

struct gk_around_result {
	int drain;		/* enum gk_sched_verdict, or GK_AROUND_NOT_REACHED */
	int resume;		/* enum gk_sched_verdict, GK_AROUND_KEPT or GK_AROUND_NOT_REACHED */
	unsigned jobs_waited;	/* jobs on the node when the wait began */
	unsigned jobs_requeued; /* jobs requeued */
	bool ran;		/* the procedure ran */
	int exit;		/* the verb's exit code */
	struct gk_around_outcome proc;	  /* the procedure's outcome, when it ran */
	char reason[GK_SLURM_REASON_MAX]; /* gpukeep's reason on the node at the end, or "" */
	char error[GK_AROUND_ERROR_LEN];  /* what went wrong with the scheduler, or "" */
};

/*
 * Whether a procedure may run after sched_drain() said @drain: yes when the node is out of the
 * pool (drained now, drained by gpukeep before, drained by someone else: their drain is left as
 * it is) or unmanaged (no scheduler); no when a reboot is pending or the node is down.
 */
bool sched_around_may_proceed(enum gk_sched_verdict drain);

/*
 * The fault part of the reason a node keeps after the procedure failed with @o: "reload failed:
 * <error>; next rung reboot" (exit 4), "... failed, rolled back: ..." (1), "... refused: ..."
 * (3), the error cut to leave room for the next rung. Written into @buf (@size bytes).
 */
void sched_around_failure_fault(const char *verb, const struct gk_around_outcome *o, char *buf,
				size_t size);

/* Short words for the report: the drain verdict ("drained", "already-drained", "foreign",
 * "no-reason", "reboot-pending", "down", "unmanaged") and the resume verdict ("resumed",
 * "not-drained", "foreign", "edited", "no-reason", "reboot-pending", "down", "unmanaged",
 * "kept-drained"); NULL for GK_AROUND_NOT_REACHED. Static. */
const char *sched_around_drain_id(int v);
const char *sched_around_resume_id(int v);

/*
 * Runs @proc inside the scheduler @s (opened by sched_open()): sched_drain() with @o->fault, then
 * sched_requeue() or nothing, then sched_wait_jobs() up to @o->drain_timeout_ms, then @proc,
 * then sched_resume_if_ours() when it exited 0, else sched_mark_if_ours() with
 * sched_around_failure_fault(). Refused, with @proc not run and *ret->exit GK_EXIT_PRECONDITION:
 * a reboot pending, the node down, slurmctld unreachable, jobs still there at the deadline,
 * jobs Slurm would not requeue (in the last two the node stays drained by gpukeep, its reason
 * saying why). *ret->exit is otherwise the procedure's. A resume that fails after a successful
 * procedure leaves the exit 0 and says so in ret->error. Returns 0, or -ENOMEM.
 */
int sched_around_run(struct gk_sched *s, const struct gk_around_opts *o, gk_around_proc_fn proc,
		     void *proc_userdata, struct gk_around_result *ret);
