/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The scheduler adapter: takes the node out of the scheduling pool before a disruptive rung, lets
 * its jobs end (or requeues them), and puts it back only when gpukeep took it out. Slurm through
 * scontrol and squeue, every call with a deadline; None keeps the operator's manual drain.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "sched/sched-policy.h"
#include "sched/slurm-parse.h"
#include "spawn-util.h"

#define GK_SCHED_ENV			 "GPUKEEP_SCHED"    /* none | slurm | auto (default) */
#define GK_SCHED_SCONTROL_ENV		 "GPUKEEP_SCONTROL" /* scontrol to run (default: PATH) */
#define GK_SCHED_SQUEUE_ENV		 "GPUKEEP_SQUEUE"
#define GK_SCHED_DEFAULT_CALL_TIMEOUT_MS 10000
#define GK_SCHED_OUTPUT_MAX		 (256 * 1024) /* bytes of one command's stdout we read */
/* How old the record sched_open() read may be for the first drain decision to use it instead of
 * asking again: one scontrol call saved, a window no wider than Slurm's own (no compare-and-set) */
#define GK_SCHED_REUSE_MS		 1000

enum gk_sched_kind {
	GK_SCHED_KIND_NONE,
	GK_SCHED_KIND_SLURM,
};

struct gk_sched;

/* Runs @argv within @timeout_ms, collecting its output (spawn_capture()'s contract). Tests put a
 * fake here to drive failures; NULL means spawn_capture(). */
typedef int (*gk_sched_run_fn)(void *userdata, char *const argv[], unsigned timeout_ms,
			       struct spawn_output *ret);

/* A scheduler's effects; NULL members are things it does not do (None has none at all). */
struct gk_sched_ops {
	const char *name;
	int (*resolve_node)(struct gk_sched *s, const char *want);
	int (*query)(struct gk_sched *s, struct gk_slurm_node *ret);
	int (*drain)(struct gk_sched *s, const char *reason);
	int (*resume)(struct gk_sched *s);
	int (*jobs)(struct gk_sched *s, char **ret_ids); /* count, or -errno */
	int (*requeue)(struct gk_sched *s, const char *ids);
	int (*reboot_asap)(struct gk_sched *s, const char *reason);
};

struct gk_sched {
	enum gk_sched_kind kind;
	const struct gk_sched_ops *ops;
	unsigned call_timeout_ms; /* per command; 0 means GK_SCHED_DEFAULT_CALL_TIMEOUT_MS */
	gk_sched_run_fn run;
	void *run_userdata;
	char node[GK_SLURM_NAME_MAX];	  /* the node's name as the scheduler knows it */
	char reason[GK_SLURM_REASON_MAX]; /* the reason this handle drained with, or "" */
	char error[512];		  /* the last failure in words, or "" */
	unsigned calls;			  /* scheduler commands run since sched_open() */
	/* the node as sched_open() read it to find its name, and when (now_ms(); 0: none, or used
	 * or outdated by an update): the first drain or reboot decision within GK_SCHED_REUSE_MS
	 * takes it instead of one more `scontrol show node` */
	struct gk_slurm_node seen;
	int64_t seen_ms;
};

/*
 * Which scheduler runs this node: $GPUKEEP_SCHED when set ("none", "slurm"; "auto" or unset
 * detects), else Slurm when scontrol is in PATH and a slurm.conf exists ($SLURM_CONF, or
 * /etc/slurm/slurm.conf), else None. Returns 0 and *ret, or -EINVAL for another
 * $GPUKEEP_SCHED value.
 */
int sched_detect(enum gk_sched_kind *ret);

/* "none", "slurm"; parses the same words (-EINVAL otherwise). */
const char *sched_kind_to_string(enum gk_sched_kind k);
int sched_kind_from_string(const char *s, enum gk_sched_kind *ret);

/*
 * Sets up @s for @kind and finds the node's name: @node when given, else (Slurm) the short host
 * name, then the full one, as slurmctld knows them. @s may have run/call_timeout_ms set before
 * (other fields are reset). Returns 0, or -ENOENT when slurmctld knows no such node,
 * -EHOSTUNREACH when it cannot be reached, -ETIMEDOUT, -errno; sched_last_error() says why.
 */
int sched_open(struct gk_sched *s, enum gk_sched_kind kind, const char *node);

/* The node's name (sched_open() found it); the host name under None. */
const char *sched_node_name(const struct gk_sched *s);

/* The last failure in words ("slurmctld unreachable: scontrol: Unable to contact ..."). */
const char *sched_last_error(const struct gk_sched *s);

/* The node as the scheduler sees it now. Under None: in the pool, no flags. 0 or -errno. */
int sched_query(struct gk_sched *s, struct gk_slurm_node *ret);

/*
 * Takes the node out of the pool with the reason "gpukeep: @fault" (sched_reason_format()),
 * when sched_decide_drain() says ACT, and checks that Slurm now shows it drained with that
 * reason. *ret_verdict says what was decided: ACT (drained now), ALREADY (gpukeep's drain was
 * there; its reason is kept), FOREIGN / NO_REASON (someone else's drain, untouched: the node is
 * out of the pool all the same), REBOOT_PENDING or DOWN (untouched; a disruptive rung should not
 * run), UNMANAGED (None). Returns 0, or -errno with nothing known to have changed: -EHOSTUNREACH
 * / -ETIMEDOUT (slurmctld unreachable: take no disruptive action), -EINVAL (empty fault), -EIO.
 */
int sched_drain(struct gk_sched *s, const char *fault, enum gk_sched_verdict *ret_verdict);

/*
 * What sched_drain() (@reboot false) or sched_reboot_asap() (@reboot true) would decide now,
 * changing nothing (a dry run): *ret_verdict as there, ACT when it would act (for a reboot,
 * also on gpukeep's own drain, which turns into the reboot). A drain of gpukeep's already in
 * place is adopted as there. 0, or -errno as there.
 */
int sched_drain_would(struct gk_sched *s, const char *fault, bool reboot,
		      enum gk_sched_verdict *ret_verdict);

/* Jobs running (or completing, suspended, configuring) on the node: the count, and their ids
 * joined by ',' in *ret_ids when given (malloc()ed, NULL when none). Returns >= 0 or -errno. */
int sched_jobs(struct gk_sched *s, char **ret_ids);

/* Called while waiting: @jobs still on the node, @left_ms until the deadline. */
typedef void (*gk_sched_progress_fn)(void *userdata, unsigned jobs, unsigned left_ms);

/*
 * Waits until no job is left on the node, polling with backoff (100 ms up to 2 s), at most
 * @timeout_ms; @progress (optional) is called after each poll. Returns 0 when the node is empty,
 * -ETIMEDOUT with jobs left, or the -errno of a failed query (slurmctld unreachable: do not act).
 */
int sched_wait_jobs(struct gk_sched *s, unsigned timeout_ms, gk_sched_progress_fn progress,
		    void *userdata);

/*
 * Requeues every job on the node (scontrol requeue): they go back to pending and run elsewhere,
 * or here once the node is resumed. Returns the number of jobs requeued (0: none ran), -EPERM
 * when Slurm refused some (not requeueable: srun jobs, --no-requeue, JobRequeue=0; words in
 * sched_last_error()), or -errno. Follow with sched_wait_jobs(): requeued jobs take a moment to
 * leave the node.
 */
int sched_requeue(struct gk_sched *s);

/*
 * Puts the node back in the pool (scontrol update state=resume) only when
 * sched_decide_resume(@ours) says ACT; @ours is the reason gpukeep set (NULL: the one this
 * handle set with sched_drain(), or adopted there when a gpukeep drain was already in place;
 * when there is none, any "gpukeep:" reason). *ret_verdict as there. Returns 0, or -errno
 * (nothing resumed). Slurm has no compare-and-set: a reason changed between the check and the
 * update (a window of one scontrol call) is not seen.
 */
int sched_resume_if_ours(struct gk_sched *s, const char *ours, enum gk_sched_verdict *ret_verdict);

/*
 * Replaces the reason of a node gpukeep drained with "gpukeep: @fault" (a rung failed: the node
 * stays out of the pool and the reason says why), only when sched_decide_resume() would resume
 * it: drained, no reboot pending, and the reason still the one this handle set (or adopted), or
 * any "gpukeep:" reason when it has none. *ret_verdict: ACT (replaced) or why it was left as it
 * is. Returns 0, or -errno (nothing known to have changed).
 */
int sched_mark_if_ours(struct gk_sched *s, const char *fault, enum gk_sched_verdict *ret_verdict);

/*
 * Rung 3: asks Slurm to reboot the node once its jobs end (scontrol reboot ASAP
 * nextstate=RESUME reason="gpukeep: @fault"), instead of rebooting the machine. Refused
 * (verdict, nothing done) when a reboot is pending already, the node is down, or someone else
 * drained it (nextstate=RESUME would clear their drain). Returns 0 or -errno.
 */
int sched_reboot_asap(struct gk_sched *s, const char *fault, enum gk_sched_verdict *ret_verdict);
