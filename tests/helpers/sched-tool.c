// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * sched-tool: the scheduler adapter's calls one by one, for the real-Slurm tests and bench/sched
 * (no verb uses wait and requeue yet). sched-tool [--node NAME] [--timeout MS] COMMAND [ARG]:
 * node | query | drain FAULT | jobs | wait SECONDS | requeue | resume [REASON] | reboot FAULT |
 * cycle FAULT (drain, wait up to 60 s, resume in one process, as a verb would; prints the
 * milliseconds of each phase) | around FAULT (sched_around_run() around a procedure that is
 * the shell command $GK_AROUND_PROC, default "true": its exit status is the procedure's, its
 * error $GK_AROUND_ERROR, its next rung $GK_AROUND_NEXT; $GK_AROUND_REQUEUE=1 requeues,
 * $GK_AROUND_TIMEOUT_S the drain timeout, default 30; prints what was said and decided, and
 * exits with the verb's exit code).
 * Prints what the adapter decided; exit 0, 1 when a call failed (the error on stderr), 2 usage.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/gk-exit.h"
#include "sched/sched-around.h"
#include "sched/sched.h"
#include "spawn-util.h"
#include "time-util.h"

static void progress(void *userdata, unsigned jobs, unsigned left_ms)
{
	printf("waiting: %u job(s) left, %u.%u s left\n", jobs, left_ms / 1000,
	       left_ms % 1000 / 100);
}

/* @v is read only after the call has set it (an argument's order of evaluation is not). */
static int verdict(int r, const enum gk_sched_verdict *v)
{
	if (r == 0)
		printf("verdict: %s\n", *v == GK_SCHED_ACT ? "done" : sched_verdict_to_string(*v));
	return r;
}

/* drain, wait, resume, timed: bench/sched's "gpukeep" side. */
static int cycle(struct gk_sched *s, const char *fault)
{
	int64_t t0 = now_ms(), t1, t2;
	enum gk_sched_verdict v;
	int r;

	r = sched_drain(s, fault, &v);
	if (r < 0 || v != GK_SCHED_ACT)
		return r < 0 ? r : -EBUSY;
	t1 = now_ms();
	r = sched_wait_jobs(s, 60000, NULL, NULL);
	if (r < 0)
		return r;
	t2 = now_ms();
	r = sched_resume_if_ours(s, NULL, &v);
	if (r < 0 || v != GK_SCHED_ACT)
		return r < 0 ? r : -EBUSY;
	printf("drain %lld ms, wait %lld ms, resume %lld ms, total %lld ms, calls %u\n",
	       (long long)(t1 - t0), (long long)(t2 - t1), (long long)(now_ms() - t2),
	       (long long)(now_ms() - t0), s->calls);
	return 0;
}

static const char *env_or(const char *name, const char *def)
{
	const char *v = getenv(name);

	return v && *v ? v : def;
}

static int around_proc(void *userdata, struct gk_around_outcome *ret)
{
	char *argv[] = {"/bin/sh", "-c", (char *)env_or("GK_AROUND_PROC", "true"), NULL};
	int r = spawn_wait_timeout(argv, SPAWN_STDOUT_TO_STDERR, 120000);

	*ret = (struct gk_around_outcome){.exit = r < 0 ? GK_EXIT_NEEDS_PERSON : r};
	snprintf(ret->error, sizeof(ret->error), "%s", env_or("GK_AROUND_ERROR", ""));
	snprintf(ret->next_rung, sizeof(ret->next_rung), "%s", env_or("GK_AROUND_NEXT", ""));
	return 0;
}

static void say(void *userdata, const char *line)
{
	printf("%s\n", line);
	fflush(stdout);
}

static int around(struct gk_sched *s, const char *fault)
{
	struct gk_around_opts o = {
		.verb = "reload",
		.fault = fault,
		.drain_timeout_ms = (unsigned)atoi(env_or("GK_AROUND_TIMEOUT_S", "30")) * 1000,
		.requeue = atoi(env_or("GK_AROUND_REQUEUE", "0")) == 1,
		.say = say,
		.progress = progress,
	};
	struct gk_around_result res;
	int r;

	r = sched_around_run(s, &o, around_proc, NULL, &res);
	if (r < 0)
		return r;
	printf("exit: %d\ndrain: %s\nresume: %s\nwaited: %u\nrequeued: %u\nreason: %s\n", res.exit,
	       sched_around_drain_id(res.drain) ?: "-", sched_around_resume_id(res.resume) ?: "-",
	       res.jobs_waited, res.jobs_requeued, res.reason);
	if (res.error[0])
		fprintf(stderr, "sched-tool: around: %s\n", res.error);
	return res.exit;
}

static int run(struct gk_sched *s, const char *cmd, const char *arg)
{
	enum gk_sched_verdict v;
	struct gk_slurm_node n;
	char *ids = NULL;
	int r;

	if (strcmp(cmd, "node") == 0) {
		printf("%s\n", sched_node_name(s));
		return 0;
	}
	if (strcmp(cmd, "query") == 0) {
		r = sched_query(s, &n);
		if (r == 0)
			printf("state %s flags 0x%x reason '%s'\n", n.state, n.flags, n.reason);
		return r;
	}
	if (strcmp(cmd, "drain") == 0 && arg)
		return verdict(sched_drain(s, arg, &v), &v);
	if (strcmp(cmd, "resume") == 0)
		return verdict(sched_resume_if_ours(s, arg, &v), &v);
	if (strcmp(cmd, "reboot") == 0 && arg)
		return verdict(sched_reboot_asap(s, arg, &v), &v);
	if (strcmp(cmd, "jobs") == 0) {
		r = sched_jobs(s, &ids);
		if (r >= 0)
			printf("%d job(s): %s\n", r, ids ? ids : "-");
		free(ids);
		return r < 0 ? r : 0;
	}
	if (strcmp(cmd, "cycle") == 0 && arg)
		return cycle(s, arg);
	if (strcmp(cmd, "around") == 0 && arg)
		return around(s, arg);
	if (strcmp(cmd, "wait") == 0 && arg)
		return sched_wait_jobs(s, (unsigned)atoi(arg) * 1000, progress, NULL);
	if (strcmp(cmd, "requeue") == 0) {
		r = sched_requeue(s);
		if (r >= 0)
			printf("requeued %d job(s)\n", r);
		return r < 0 ? r : 0;
	}
	return -EINVAL;
}

int main(int argc, char **argv)
{
	struct gk_sched s = {};
	enum gk_sched_kind kind;
	const char *node = NULL;
	int i = 1, r;

	for (; i + 1 < argc && argv[i][0] == '-'; i += 2) {
		if (strcmp(argv[i], "--node") == 0)
			node = argv[i + 1];
		else if (strcmp(argv[i], "--timeout") == 0)
			s.call_timeout_ms = (unsigned)atoi(argv[i + 1]);
		else
			break;
	}
	if (i >= argc || sched_detect(&kind) < 0) {
		fprintf(stderr, "usage: sched-tool [--node NAME] [--timeout MS] COMMAND [ARG]\n");
		return 2;
	}
	r = sched_open(&s, kind, node);
	if (r == 0)
		r = run(&s, argv[i], i + 1 < argc ? argv[i + 1] : NULL);
	if (r == -EINVAL && !s.error[0]) {
		fprintf(stderr, "sched-tool: unknown command or missing argument\n");
		return 2;
	}
	if (r < 0) {
		fprintf(stderr, "sched-tool: %s: %s\n", argv[i],
			s.error[0] ? s.error : strerror(-r));
		return 1;
	}
	return r; /* 0, or around's exit code */
}
