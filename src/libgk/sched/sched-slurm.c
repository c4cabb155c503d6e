// SPDX-License-Identifier: GPL-2.0-or-later
/* Slurm through its commands: `scontrol show node -o`, `scontrol update`, `scontrol requeue`,
 * `scontrol reboot`, `squeue`. No library: the commands are Slurm's stable interface, and each
 * one runs with a deadline, so a hung slurmctld never hangs gpukeep. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "macro.h"
#include "sched/sched-slurm.h"
#include "string-util.h"
#include "time-util.h"

static const char *prog(const char *env, const char *def)
{
	const char *p = getenv(env);

	return p && *p ? p : def;
}

/* First line of @s, for messages (at most 200 characters). */
static void first_line(const char *s, char *buf, size_t size)
{
	size_t len = strcspn(s, "\n");

	if (len >= size)
		len = size - 1;
	memcpy(buf, s, len);
	buf[len] = '\0';
}

/* Runs one Slurm command; returns 0 and its output, or -errno with the words in s->error. */
static int run(struct gk_sched *s, char *const argv[], struct spawn_output *ret)
{
	struct spawn_output o;
	char line[256];
	int r;

	s->calls++;
	if (s->run)
		r = s->run(s->run_userdata, argv, s->call_timeout_ms, &o);
	else
		r = spawn_capture(argv, s->call_timeout_ms, GK_SCHED_OUTPUT_MAX, &o);
	if (r == -ETIMEDOUT)
		return sched_error(s, r,
				   "slurmctld unreachable: %s did not answer within %u ms; no "
				   "disruptive action",
				   argv[0], s->call_timeout_ms);
	if (r == -ENOENT)
		return sched_error(s, r, "%s not found (install slurm-client, or set %s)", argv[0],
				   GK_SCHED_SCONTROL_ENV);
	if (r < 0)
		return sched_error(s, r, "cannot run %s: %s", argv[0], strerror(-r));
	log_debug("%s %s: exit %d", argv[0], argv[1] ? argv[1] : "", o.status);
	r = slurm_classify_failure(o.status, o.err);
	if (r < 0) {
		first_line(o.err[0] ? o.err : o.out, line, sizeof(line));
		if (r == -EHOSTUNREACH)
			sched_error(s, r, "slurmctld unreachable: %s: %s; no disruptive action",
				    argv[0], line);
		else
			sched_error(s, r, "%s %s failed (exit %d): %s", argv[0],
				    argv[1] ? argv[1] : "", o.status, line);
		spawn_output_done(&o);
		return r;
	}
	*ret = o;
	return 0;
}

static int query_name(struct gk_sched *s, const char *name, struct gk_slurm_node *ret)
{
	char *argv[] = {(char *)prog(GK_SCHED_SCONTROL_ENV, "scontrol"),
			"show",
			"node",
			"-o",
			(char *)name,
			NULL};
	struct spawn_output o;
	int r;

	r = run(s, argv, &o);
	if (r < 0)
		return r;
	r = slurm_parse_node(o.out, ret);
	spawn_output_done(&o);
	if (r < 0)
		return sched_error(s, r, "node %s: cannot read scontrol's answer (%s)", name,
				   r == -EPROTO ? "no NodeName= or State=" : "a field too long");
	return 0;
}

static int slurm_query(struct gk_sched *s, struct gk_slurm_node *ret)
{
	return query_name(s, s->node, ret);
}

/* The node found: its name as slurmctld spells it, and the record, for the first decision. */
static int resolved(struct gk_sched *s, const struct gk_slurm_node *n)
{
	snprintf(s->node, sizeof(s->node), "%s", n->name);
	s->seen = *n;
	s->seen_ms = now_ms();
	return 0;
}

static int slurm_resolve(struct gk_sched *s, const char *want)
{
	char host[GK_SLURM_NAME_MAX] = "", shorthost[GK_SLURM_NAME_MAX];
	struct gk_slurm_node n;
	int r;

	if (want) {
		r = query_name(s, want, &n);
		if (r == -ENOENT)
			return sched_error(s, r, "slurmctld knows no node %s", want);
		if (r < 0)
			return r;
		return resolved(s, &n);
	}
	if (gethostname(host, sizeof(host) - 1) < 0)
		return sched_error(s, -errno, "cannot read the host name: %m");
	snprintf(shorthost, sizeof(shorthost), "%.*s", (int)strcspn(host, "."), host);
	r = query_name(s, shorthost, &n);
	if (r == -ENOENT && !streq(host, shorthost))
		r = query_name(s, host, &n);
	if (r == -ENOENT)
		return sched_error(s, r,
				   "slurmctld knows no node named %s: give the node's Slurm name "
				   "(--node NAME)",
				   shorthost);
	if (r < 0)
		return r;
	return resolved(s, &n);
}

/* scontrol with @args after the program name; the output is dropped. */
static int scontrol(struct gk_sched *s, char *const args[])
{
	char *argv[8] = {(char *)prog(GK_SCHED_SCONTROL_ENV, "scontrol")};
	struct spawn_output o;
	int r;

	for (size_t i = 0; args[i] && i + 2 < ELEMENTSOF(argv); i++)
		argv[i + 1] = args[i];
	s->seen_ms = 0; /* whatever it does, the record sched_open() read is outdated */
	r = run(s, argv, &o);
	if (r < 0)
		return r;
	spawn_output_done(&o);
	return 0;
}

static int slurm_drain(struct gk_sched *s, const char *reason)
{
	_cleanup_free_ char *node = strdup_printf("NodeName=%s", s->node);
	_cleanup_free_ char *why = strdup_printf("Reason=%s", reason);

	if (!node || !why)
		return -ENOMEM;
	return scontrol(s, (char *[]){"update", node, "State=DRAIN", why, NULL});
}

static int slurm_resume(struct gk_sched *s)
{
	_cleanup_free_ char *node = strdup_printf("NodeName=%s", s->node);

	if (!node)
		return -ENOMEM;
	return scontrol(s, (char *[]){"update", node, "State=RESUME", NULL});
}

static int slurm_jobs(struct gk_sched *s, char **ret_ids)
{
	/* the states in which a job still uses the node */
	char *argv[] = {
		(char *)prog(GK_SCHED_SQUEUE_ENV, "squeue"),	      "-h", "-w", s->node, "-t",
		"CONFIGURING,RUNNING,SUSPENDED,COMPLETING,STAGE_OUT", "-o", "%A", NULL};
	struct spawn_output o;
	int r;

	r = run(s, argv, &o);
	if (r < 0)
		return r;
	r = slurm_parse_jobs(o.out, ret_ids);
	spawn_output_done(&o);
	if (r == -EPROTO)
		return sched_error(s, r, "node %s: cannot read squeue's job list", s->node);
	return r;
}

static int slurm_requeue(struct gk_sched *s, const char *ids)
{
	int r = scontrol(s, (char *[]){"requeue", (char *)ids, NULL});

	/* scontrol names each job it could not requeue; the message is in s->error */
	return r == -EIO ? -EPERM : r;
}

static int slurm_reboot_asap(struct gk_sched *s, const char *reason)
{
	_cleanup_free_ char *why = strdup_printf("reason=%s", reason);

	if (!why)
		return -ENOMEM;
	return scontrol(s, (char *[]){"reboot", "ASAP", "nextstate=RESUME", why, s->node, NULL});
}

const struct gk_sched_ops slurm_ops = {
	.name = "slurm",
	.resolve_node = slurm_resolve,
	.query = slurm_query,
	.drain = slurm_drain,
	.resume = slurm_resume,
	.jobs = slurm_jobs,
	.requeue = slurm_requeue,
	.reboot_asap = slurm_reboot_asap,
};
