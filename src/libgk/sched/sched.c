// SPDX-License-Identifier: GPL-2.0-or-later
/* The scheduler adapter's decisions around its ops: query, decide, act, check what Slurm shows. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "macro.h"
#include "sched/sched-slurm.h"
#include "sched/sched.h"
#include "string-util.h"
#include "time-util.h"

static const struct gk_sched_ops none_ops = {.name = "none"};

const char *sched_kind_to_string(enum gk_sched_kind k)
{
	return k == GK_SCHED_KIND_SLURM ? "slurm" : "none";
}

int sched_kind_from_string(const char *s, enum gk_sched_kind *ret)
{
	if (streq(s, "none"))
		*ret = GK_SCHED_KIND_NONE;
	else if (streq(s, "slurm"))
		*ret = GK_SCHED_KIND_SLURM;
	else
		return -EINVAL;
	return 0;
}

static bool in_path(const char *prog)
{
	const char *path = getenv("PATH");
	_cleanup_free_ char *copy = NULL;
	char *save = NULL;

	if (strchr(prog, '/'))
		return access(prog, X_OK) == 0;
	copy = strdup(path ? path : "/usr/bin:/bin");
	if (!copy)
		return false;
	for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		_cleanup_free_ char *p = strdup_printf("%s/%s", d, prog);

		if (p && access(p, X_OK) == 0)
			return true;
	}
	return false;
}

int sched_detect(enum gk_sched_kind *ret)
{
	const char *env = getenv(GK_SCHED_ENV), *conf = getenv("SLURM_CONF");
	const char *scontrol = getenv(GK_SCHED_SCONTROL_ENV);

	if (env && *env && !streq(env, "auto"))
		return sched_kind_from_string(env, ret);
	if (in_path(scontrol && *scontrol ? scontrol : "scontrol") &&
	    access(conf && *conf ? conf : "/etc/slurm/slurm.conf", R_OK) == 0)
		*ret = GK_SCHED_KIND_SLURM;
	else
		*ret = GK_SCHED_KIND_NONE;
	return 0;
}

int sched_error(struct gk_sched *s, int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->error, sizeof(s->error), fmt, ap);
	va_end(ap);
	return r;
}

int sched_open(struct gk_sched *s, enum gk_sched_kind kind, const char *node)
{
	char host[GK_SLURM_NAME_MAX] = "";

	s->kind = kind;
	s->ops = kind == GK_SCHED_KIND_SLURM ? &slurm_ops : &none_ops;
	s->node[0] = s->reason[0] = s->error[0] = '\0';
	s->seen_ms = 0;
	s->calls = 0;
	if (s->call_timeout_ms == 0)
		s->call_timeout_ms = GK_SCHED_DEFAULT_CALL_TIMEOUT_MS;
	if (s->ops->resolve_node)
		return s->ops->resolve_node(s, node);
	if (!node) {
		gethostname(host, sizeof(host) - 1);
		node = host;
	}
	snprintf(s->node, sizeof(s->node), "%s", node);
	return 0;
}

const char *sched_node_name(const struct gk_sched *s)
{
	return s->node;
}

const char *sched_last_error(const struct gk_sched *s)
{
	return s->error;
}

int sched_query(struct gk_sched *s, struct gk_slurm_node *ret)
{
	if (!s->ops->query) {
		*ret = (struct gk_slurm_node){};
		snprintf(ret->name, sizeof(ret->name), "%s", s->node);
		return 0;
	}
	return s->ops->query(s, ret);
}

/*
 * The start of a drain or a reboot: the reason for @fault, and sched_decide_drain() on the node
 * as it is now. Returns 1 with *ret_verdict when the caller should go on (@op exists), 0 when it
 * is done (None: UNMANAGED), or -errno.
 */
static int drain_prepare(struct gk_sched *s, const char *fault, bool has_op, char *reason,
			 size_t size, enum gk_sched_verdict *ret_verdict)
{
	struct gk_slurm_node n;
	int r;

	r = sched_reason_format(fault, reason, size);
	if (r < 0)
		return sched_error(s, r, "no fault given for gpukeep's reason");
	if (!has_op) {
		*ret_verdict = GK_SCHED_UNMANAGED;
		return 0;
	}
	if (s->seen_ms && now_ms() - s->seen_ms <= GK_SCHED_REUSE_MS) {
		n = s->seen; /* just read by sched_open(): asking again would say the same */
	} else {
		r = sched_query(s, &n);
		if (r < 0)
			return r;
	}
	s->seen_ms = 0;
	*ret_verdict = sched_decide_drain(&n);
	if (*ret_verdict == GK_SCHED_ALREADY)
		snprintf(s->reason, sizeof(s->reason), "%s", n.reason);
	return 1;
}

/* State=DRAIN with @reason (on a drained node it replaces the reason), then a check that Slurm
 * shows the node drained with it; the handle then owns @reason. @what names the change in the
 * error ("drain", "new reason"). 0 or -errno. */
static int drain_checked(struct gk_sched *s, const char *reason, const char *what)
{
	struct gk_slurm_node n;
	int r;

	r = s->ops->drain(s, reason);
	if (r < 0)
		return r;
	r = sched_query(s, &n);
	if (r < 0)
		return r;
	if (!(n.flags & GK_SLURM_DRAIN) || !streq(n.reason, reason))
		return sched_error(s, -EIO, "node %s: %s did not take: state %s, reason '%s'",
				   s->node, what, n.state, n.reason);
	snprintf(s->reason, sizeof(s->reason), "%s", reason);
	return 0;
}

int sched_drain(struct gk_sched *s, const char *fault, enum gk_sched_verdict *ret_verdict)
{
	char reason[GK_SCHED_REASON_LEN + 1];
	enum gk_sched_verdict v;
	int r;

	r = drain_prepare(s, fault, s->ops->drain, reason, sizeof(reason), &v);
	if (r <= 0 || v != GK_SCHED_ACT) {
		if (r >= 0)
			*ret_verdict = v;
		return r < 0 ? r : 0;
	}
	r = drain_checked(s, reason, "drain");
	if (r < 0)
		return r;
	*ret_verdict = GK_SCHED_ACT;
	return 0;
}

int sched_drain_would(struct gk_sched *s, const char *fault, bool reboot,
		      enum gk_sched_verdict *ret_verdict)
{
	char reason[GK_SCHED_REASON_LEN + 1];
	enum gk_sched_verdict v;
	int r;

	r = drain_prepare(s, fault, reboot ? s->ops->reboot_asap : s->ops->drain, reason,
			  sizeof(reason), &v);
	if (r < 0)
		return r;
	*ret_verdict = reboot && v == GK_SCHED_ALREADY ? GK_SCHED_ACT : v;
	return 0;
}

int sched_jobs(struct gk_sched *s, char **ret_ids)
{
	if (!s->ops->jobs) {
		if (ret_ids)
			*ret_ids = NULL;
		return 0;
	}
	return s->ops->jobs(s, ret_ids);
}

int sched_wait_jobs(struct gk_sched *s, unsigned timeout_ms, gk_sched_progress_fn progress,
		    void *userdata)
{
	int64_t deadline = now_ms() + timeout_ms;
	unsigned backoff = 100;

	for (;;) {
		int64_t left;
		int n = sched_jobs(s, NULL);

		if (n < 0)
			return n;
		left = deadline - now_ms();
		if (progress)
			progress(userdata, (unsigned)n, left > 0 ? (unsigned)left : 0);
		if (n == 0)
			return 0;
		if (left <= 0)
			return sched_error(s, -ETIMEDOUT,
					   "node %s: %d job(s) still running after %u s", s->node,
					   n, timeout_ms / 1000);
		sleep_until_ms(deadline, backoff);
		backoff = backoff * 2 > 2000 ? 2000 : backoff * 2;
	}
}

int sched_requeue(struct gk_sched *s)
{
	_cleanup_free_ char *ids = NULL;
	int n, r;

	if (!s->ops->requeue)
		return 0;
	n = sched_jobs(s, &ids);
	if (n <= 0)
		return n;
	r = s->ops->requeue(s, ids);
	return r < 0 ? r : n;
}

int sched_resume_if_ours(struct gk_sched *s, const char *ours, enum gk_sched_verdict *ret_verdict)
{
	struct gk_slurm_node n;
	enum gk_sched_verdict v;
	int r;

	if (!s->ops->resume) {
		*ret_verdict = GK_SCHED_UNMANAGED;
		return 0;
	}
	if (!ours && s->reason[0])
		ours = s->reason;
	r = sched_query(s, &n);
	if (r < 0)
		return r;
	v = sched_decide_resume(&n, ours);
	if (v != GK_SCHED_ACT) {
		*ret_verdict = v;
		return 0;
	}
	r = s->ops->resume(s);
	if (r < 0)
		return r;
	r = sched_query(s, &n);
	if (r < 0)
		return r;
	if (n.flags & GK_SLURM_DRAIN)
		return sched_error(s, -EIO, "node %s: resume did not take: state %s", s->node,
				   n.state);
	s->reason[0] = '\0';
	*ret_verdict = GK_SCHED_ACT;
	return 0;
}

int sched_reboot_asap(struct gk_sched *s, const char *fault, enum gk_sched_verdict *ret_verdict)
{
	char reason[GK_SCHED_REASON_LEN + 1];
	enum gk_sched_verdict v;
	int r;

	r = drain_prepare(s, fault, s->ops->reboot_asap, reason, sizeof(reason), &v);
	/* our own drain may turn into the reboot; anything else is left as it is */
	if (r <= 0 || (v != GK_SCHED_ACT && v != GK_SCHED_ALREADY)) {
		if (r >= 0)
			*ret_verdict = v;
		return r < 0 ? r : 0;
	}
	r = s->ops->reboot_asap(s, reason);
	if (r < 0)
		return r;
	snprintf(s->reason, sizeof(s->reason), "%s", reason);
	*ret_verdict = GK_SCHED_ACT;
	return 0;
}

int sched_mark_if_ours(struct gk_sched *s, const char *fault, enum gk_sched_verdict *ret_verdict)
{
	char reason[GK_SCHED_REASON_LEN + 1];
	struct gk_slurm_node n;
	enum gk_sched_verdict v;
	int r;

	r = sched_reason_format(fault, reason, sizeof(reason));
	if (r < 0)
		return sched_error(s, r, "no fault given for gpukeep's reason");
	if (!s->ops->drain) {
		*ret_verdict = GK_SCHED_UNMANAGED;
		return 0;
	}
	r = sched_query(s, &n);
	if (r < 0)
		return r;
	/* the same ownership test as a resume: only a drain that is still gpukeep's, unedited */
	v = sched_decide_resume(&n, s->reason[0] ? s->reason : NULL);
	if (v != GK_SCHED_ACT) {
		*ret_verdict = v;
		return 0;
	}
	/* State=DRAIN on a drained node replaces its reason and keeps it drained */
	r = drain_checked(s, reason, "new reason");
	if (r < 0)
		return r;
	*ret_verdict = GK_SCHED_ACT;
	return 0;
}
