// SPDX-License-Identifier: GPL-2.0-or-later
/* gpukeep health --slurm: drain on a problem, resume only health's own drain. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/gk-exit.h"
#include "fileio.h"
#include "health-slurm.h"
#include "log.h"
#include "sched/sched.h"
#include "string-util.h"

/* The reason health set last, remembered so that a person's edit is seen even when the edit
 * keeps the prefix. */
static int reason_path(const struct health_options *o, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%s/health-slurm.reason", o->state_dir);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

static void reason_load(const struct health_options *o, char *buf, size_t size)
{
	char path[4096];

	if (reason_path(o, path, sizeof(path)) < 0 || read_attr_at(AT_FDCWD, path, buf, size) < 0)
		buf[0] = '\0';
}

static void reason_save(const struct health_options *o, const char *reason)
{
	char path[4096];
	int r;

	r = reason_path(o, path, sizeof(path));
	if (r >= 0 && !reason) {
		if (unlink(path) < 0 && errno != ENOENT)
			r = -errno;
	} else if (r >= 0) {
		if (mkdir(o->state_dir, 0755) < 0 && errno != EEXIST)
			r = -errno;
		else
			r = write_file_atomic_at(AT_FDCWD, path, reason, strlen(reason), 0644);
	}
	if (r < 0)
		log_warning_errno(r, "cannot keep gpukeep health's drain reason in %s: %m",
				  o->state_dir);
}

static int failed(const struct gk_sched *s)
{
	log_error("slurm: %s", sched_last_error(s));
	return GK_EXIT_FAILED;
}

static int drain(const struct health_options *o, struct gk_sched *s,
		 const struct health_report *rep)
{
	int c = rep->first_problem;
	char fault[512];
	enum gk_sched_verdict v;

	snprintf(fault, sizeof(fault), "health: %s: %s",
		 health_check_to_string((enum health_check)c), rep->results[c].message);
	if (sched_drain(s, fault, &v) < 0)
		return failed(s);
	if (v == GK_SCHED_ACT) {
		reason_save(o, s->reason);
		printf("slurm: node %s drained: %s\n", s->node, s->reason);
	} else if (v == GK_SCHED_ALREADY)
		printf("slurm: node %s already drained by gpukeep: %s\n", s->node, s->reason);
	else
		printf("slurm: node %s not drained: %s\n", s->node, sched_verdict_to_string(v));
	return GK_EXIT_OK;
}

static int resume(const struct health_options *o, struct gk_sched *s)
{
	char ours[GK_SLURM_REASON_MAX];
	struct gk_slurm_node n;
	enum gk_sched_verdict v;

	reason_load(o, ours, sizeof(ours));
	if (sched_query(s, &n) < 0)
		return failed(s);
	if (!ours[0] && startswith(n.reason, HEALTH_REASON_PREFIX))
		snprintf(ours, sizeof(ours), "%s", n.reason);
	if (!ours[0] && (n.flags & GK_SLURM_DRAIN) && sched_reason_is_ours(n.reason)) {
		printf("slurm: node %s left drained: gpukeep drained it for something else (%s)\n",
		       s->node, n.reason);
		return GK_EXIT_OK;
	}
	if (!ours[0])
		v = sched_decide_resume(&n, NULL);
	else if (sched_resume_if_ours(s, ours, &v) < 0)
		return failed(s);
	if (v == GK_SCHED_ACT)
		printf("slurm: node %s resumed (its drain was gpukeep health's: %s)\n", s->node,
		       ours);
	else if (v == GK_SCHED_ALREADY)
		printf("slurm: node %s in service\n", s->node);
	else
		printf("slurm: node %s left as it is: %s\n", s->node, sched_verdict_to_string(v));
	/* a drain a person edited stays remembered: its prefix alone must not make it ours */
	if (v == GK_SCHED_ACT || v == GK_SCHED_ALREADY || v == GK_SCHED_FOREIGN ||
	    v == GK_SCHED_NO_REASON)
		reason_save(o, NULL);
	return GK_EXIT_OK;
}

int health_slurm(const struct health_options *o, const char *node, const struct health_report *rep)
{
	struct gk_sched s = {};

	if (sched_open(&s, GK_SCHED_KIND_SLURM, node) < 0)
		return failed(&s);
	if (rep->first_problem >= 0)
		return drain(o, &s, rep);
	if (rep->first_unknown >= 0) {
		printf("slurm: node %s left as it is: a check could not run\n", s.node);
		return GK_EXIT_OK;
	}
	return resume(o, &s);
}
