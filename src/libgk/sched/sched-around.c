// SPDX-License-Identifier: GPL-2.0-or-later
/* A procedure inside the scheduler: drain, the node's jobs, the procedure, resume or keep. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/gk-exit.h"
#include "macro.h"
#include "sched/sched-around.h"
#include "sched/sched-slurm.h"
#include "string-util.h"

/* How much of a procedure's error goes into a reason: the rest of it is the next rung. */
#define ERROR_IN_REASON 120

bool sched_around_may_proceed(enum gk_sched_verdict drain)
{
	switch (drain) {
	case GK_SCHED_ACT:
	case GK_SCHED_ALREADY:
	case GK_SCHED_FOREIGN:
	case GK_SCHED_NO_REASON:
	case GK_SCHED_UNMANAGED:
		return true;
	default:
		return false;
	}
}

void sched_around_failure_fault(const char *verb, const struct gk_around_outcome *o, char *buf,
				size_t size)
{
	const char *how = o->exit == GK_EXIT_FAILED	    ? "failed, rolled back"
			  : o->exit == GK_EXIT_PRECONDITION ? "refused"
							    : "failed";
	bool rung = o->next_rung[0] && !streq(o->next_rung, "none");
	char code[32] = "";

	if (o->exit != GK_EXIT_FAILED && o->exit != GK_EXIT_PRECONDITION &&
	    o->exit != GK_EXIT_NEEDS_PERSON)
		snprintf(code, sizeof(code), " (exit %d)", o->exit);
	snprintf(buf, size, "%s %s%s: %.*s%s%s", verb, how, code, ERROR_IN_REASON,
		 o->error[0] ? o->error : "no error given", rung ? "; next rung " : "",
		 rung ? o->next_rung : "");
}

static const char *const drain_ids[_GK_SCHED_VERDICT_MAX] = {
	[GK_SCHED_ACT] = "drained",	    [GK_SCHED_ALREADY] = "already-drained",
	[GK_SCHED_FOREIGN] = "foreign",	    [GK_SCHED_EDITED] = "edited",
	[GK_SCHED_NO_REASON] = "no-reason", [GK_SCHED_REBOOT_PENDING] = "reboot-pending",
	[GK_SCHED_DOWN] = "down",	    [GK_SCHED_UNMANAGED] = "unmanaged",
};

const char *sched_around_drain_id(int v)
{
	return v >= 0 && v < _GK_SCHED_VERDICT_MAX ? drain_ids[v] : NULL;
}

const char *sched_around_resume_id(int v)
{
	if (v == GK_SCHED_ACT)
		return "resumed";
	if (v == GK_SCHED_ALREADY)
		return "not-drained";
	if (v == GK_AROUND_KEPT)
		return "kept-drained";
	return sched_around_drain_id(v);
}

struct around {
	struct gk_sched *s;
	const struct gk_around_opts *o;
	struct gk_around_result *res;
	unsigned jobs_left; /* at the last poll of the wait */
};

_printf_(2, 3) static void say(struct around *a, const char *fmt, ...)
{
	char line[768];
	va_list ap;

	if (!a->o->say)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	a->o->say(a->o->userdata, line);
}

/* Refused before anything disruptive: exit 3, with the reason in the result. */
_printf_(2, 3) static int refuse(struct around *a, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(a->res->error, sizeof(a->res->error), fmt, ap);
	va_end(ap);
	a->res->exit = GK_EXIT_PRECONDITION;
	return 1;
}

/* Refused after gpukeep drained the node: it stays drained, its reason says why. */
static int refuse_drained(struct around *a, const char *why)
{
	enum gk_sched_verdict v;
	char fault[256];

	snprintf(fault, sizeof(fault), "%s not run: %s", a->o->verb, why);
	if (sched_mark_if_ours(a->s, fault, &v) == 0 && v == GK_SCHED_ACT)
		say(a, "%s: node %s stays drained: %s", a->s->ops->name, a->s->node, a->s->reason);
	snprintf(a->res->reason, sizeof(a->res->reason), "%s", a->s->reason);
	return refuse(a, "%s: node %s: %s; %s not run, nothing disruptive done", a->s->ops->name,
		      a->s->node, why, a->o->verb);
}

/* The drain as it would be or is: 0 to go on, 1 refused (ret->exit set). */
static int step_drain(struct around *a)
{
	const char *name = a->s->ops->name, *node = a->s->node;
	char reason[GK_SCHED_REASON_LEN + 1];
	enum gk_sched_verdict v;
	int r;

	if (sched_reason_format(a->o->fault, reason, sizeof(reason)) < 0)
		return refuse(a, "no fault given for gpukeep's reason (--reason)");
	r = a->o->dry_run ? sched_drain_would(a->s, a->o->fault, false, &v)
			  : sched_drain(a->s, a->o->fault, &v);
	if (r == 0 && a->o->dry_run && v == GK_SCHED_ACT)
		snprintf(a->res->reason, sizeof(a->res->reason), "%s", reason);
	if (r < 0)
		return refuse(a, "%s: %s", name, sched_last_error(a->s));
	a->res->drain = v;
	if (v == GK_SCHED_UNMANAGED)
		say(a,
		    "no scheduler detected: drain the node by hand before the %s, and put it "
		    "back in the pool after; going on",
		    a->o->verb);
	else if (v == GK_SCHED_ACT)
		say(a, "%s: %s node %s: %s", name, a->o->dry_run ? "would drain" : "drained", node,
		    a->o->dry_run ? reason : a->s->reason);
	else if (v == GK_SCHED_ALREADY)
		say(a, "%s: node %s already drained by gpukeep: %s", name, node, a->s->reason);
	else if (sched_around_may_proceed(v))
		say(a,
		    "%s: node %s: %s; out of the pool all the same: going on, and it will not be "
		    "resumed",
		    name, node, sched_verdict_to_string(v));
	if (!sched_around_may_proceed(v))
		return refuse(a, "%s: node %s: %s: %s refused, nothing done", name, node,
			      sched_verdict_to_string(v), a->o->verb);
	if (!a->o->dry_run)
		snprintf(a->res->reason, sizeof(a->res->reason), "%s", a->s->reason);
	return 0;
}

static void on_progress(void *userdata, unsigned jobs, unsigned left_ms)
{
	struct around *a = userdata;

	a->jobs_left = jobs;
	if (a->o->progress)
		a->o->progress(a->o->userdata, jobs, left_ms);
}

static int step_jobs_dry(struct around *a)
{
	_cleanup_free_ char *ids = NULL;
	int n = sched_jobs(a->s, &ids);

	if (n < 0)
		return refuse(a, "%s: %s", a->s->ops->name, sched_last_error(a->s));
	a->res->jobs_waited = (unsigned)n;
	if (n > 0)
		say(a, "%s: would %s %d job(s) on node %s (%s)%s", a->s->ops->name,
		    a->o->requeue ? "requeue" : "wait up to the deadline for", n, a->s->node, ids,
		    a->o->requeue ? ", then wait for them to leave" : " to end");
	return 0;
}

/* The node's jobs: requeued or waited for. 0 to go on, 1 refused. */
static int step_jobs(struct around *a)
{
	unsigned secs = a->o->drain_timeout_ms / 1000;
	char why[160];
	int n, r;

	if (!a->s->ops->jobs)
		return 0;
	if (a->o->dry_run)
		return step_jobs_dry(a);
	if (a->o->requeue) {
		n = sched_requeue(a->s);
		if (n == -EPERM)
			return refuse_drained(a, "Slurm would not requeue the node's jobs");
		if (n < 0)
			return refuse(a, "%s: %s", a->s->ops->name, sched_last_error(a->s));
		a->res->jobs_requeued = (unsigned)n;
		if (n > 0)
			say(a, "%s: requeued %d job(s) on node %s", a->s->ops->name, n, a->s->node);
	}
	n = sched_jobs(a->s, NULL);
	if (n < 0)
		return refuse(a, "%s: %s", a->s->ops->name, sched_last_error(a->s));
	if (!a->o->requeue)
		a->res->jobs_waited = (unsigned)n;
	if (n == 0)
		return 0;
	say(a, "%s: waiting up to %u s for %d job(s) on node %s to %s", a->s->ops->name, secs, n,
	    a->s->node, a->o->requeue ? "leave" : "end");
	r = sched_wait_jobs(a->s, a->o->drain_timeout_ms, on_progress, a);
	if (r == -ETIMEDOUT) {
		snprintf(why, sizeof(why), "%u job(s) still on the node after %u s", a->jobs_left,
			 secs);
		return refuse_drained(a, why);
	}
	if (r < 0)
		return refuse(a, "%s: %s", a->s->ops->name, sched_last_error(a->s));
	return 0;
}

static void step_after_dry(struct around *a)
{
	if (a->res->drain == GK_SCHED_ACT || a->res->drain == GK_SCHED_ALREADY)
		say(a,
		    "%s: would resume node %s if the %s succeeds and validates, else leave it "
		    "drained with a reason saying why",
		    a->s->ops->name, a->s->node, a->o->verb);
}

/* After the procedure: resume on success, keep drained (reason updated) on failure. */
static void step_after(struct around *a)
{
	const char *name = a->s->ops->name, *node = a->s->node;
	enum gk_sched_verdict v;
	char fault[256];
	int r;

	if (a->res->drain == GK_SCHED_UNMANAGED) {
		a->res->resume = GK_SCHED_UNMANAGED;
		if (a->res->exit == GK_EXIT_OK && !a->o->dry_run)
			say(a, "no scheduler detected: put the node back in the pool by hand");
		return;
	}
	if (a->o->dry_run)
		return step_after_dry(a);
	if (a->res->exit == GK_EXIT_OK) {
		r = sched_resume_if_ours(a->s, NULL, &v);
	} else {
		sched_around_failure_fault(a->o->verb, &a->res->proc, fault, sizeof(fault));
		r = sched_mark_if_ours(a->s, fault, &v);
	}
	if (r < 0) {
		snprintf(a->res->error, sizeof(a->res->error), "%s: node %s %s: %s", name, node,
			 a->res->exit == GK_EXIT_OK ? "not resumed (resume it by hand)"
						    : "reason not updated",
			 sched_last_error(a->s));
		snprintf(a->res->reason, sizeof(a->res->reason), "%s", a->s->reason);
		return;
	}
	a->res->resume = v == GK_SCHED_ACT && a->res->exit != GK_EXIT_OK ? GK_AROUND_KEPT : (int)v;
	snprintf(a->res->reason, sizeof(a->res->reason), "%s", a->s->reason);
	if (a->res->resume == GK_SCHED_ACT)
		say(a, "%s: node %s resumed", name, node);
	else if (a->res->resume == GK_AROUND_KEPT)
		say(a, "%s: node %s stays drained: %s", name, node, a->s->reason);
	else
		say(a, "%s: node %s left as it is: %s", name, node, sched_verdict_to_string(v));
}

int sched_around_run(struct gk_sched *s, const struct gk_around_opts *o, gk_around_proc_fn proc,
		     void *proc_userdata, struct gk_around_result *ret)
{
	struct around a = {.s = s, .o = o, .res = ret};
	int r;

	*ret = (struct gk_around_result){.drain = GK_AROUND_NOT_REACHED,
					 .resume = GK_AROUND_NOT_REACHED};
	if (step_drain(&a) || step_jobs(&a))
		return 0;
	ret->ran = true;
	r = proc(proc_userdata, &ret->proc);
	if (r == -ENOMEM)
		return r;
	ret->exit = r < 0 ? GK_EXIT_NEEDS_PERSON : ret->proc.exit;
	if (r < 0)
		ret->proc.exit = ret->exit;
	step_after(&a);
	return 0;
}
