// SPDX-License-Identifier: GPL-2.0-or-later
/* A procedure inside the scheduler, against the fake Slurm: drain, foreign drain, pending
 * reboot, down, unreachable, the wait and its deadline, requeue and its refusal, success and
 * resume, failure and the reason that says why, the dry run, no scheduler. */
#include "core/gk-exit.h"
#include "expect.h"
#include "fake-slurm.h"
#include "macro.h"
#include "sched/sched-around.h"

/* The procedure: records the node as it saw it, and comes back with what the test says. */
struct proc {
	struct fake *f;
	unsigned calls;
	char state_seen[64];
	int r;
	struct gk_around_outcome out;
	const char *edit_reason; /* a person edits the reason while it runs */
};

static int proc_run(void *userdata, struct gk_around_outcome *ret)
{
	struct proc *p = userdata;

	p->calls++;
	snprintf(p->state_seen, sizeof(p->state_seen), "%s", p->f->state);
	if (p->edit_reason)
		snprintf(p->f->reason, sizeof(p->f->reason), "%s", p->edit_reason);
	*ret = p->out;
	return p->r;
}

struct said {
	char lines[4096];
	unsigned progress;
};

static void on_say(void *userdata, const char *line)
{
	struct said *s = userdata;

	snprintf(s->lines + strlen(s->lines), sizeof(s->lines) - strlen(s->lines), "%s\n", line);
}

static void on_progress(void *userdata, unsigned jobs, unsigned left_ms)
{
	struct said *s = userdata;

	s->progress++;
}

struct run {
	struct fake f;
	struct proc p;
	struct said said;
	struct gk_around_opts o;
	struct gk_around_result res;
	struct gk_sched s;
};

static void setup(struct run *t, const char *state, const char *reason)
{
	*t = (struct run){};
	snprintf(t->f.state, sizeof(t->f.state), "%s", state);
	snprintf(t->f.reason, sizeof(t->f.reason), "%s", reason);
	t->p.f = &t->f;
	t->o = (struct gk_around_opts){.verb = "reload",
				       .fault = "Xid 79 on 0000:07:00.0, reload",
				       .drain_timeout_ms = 2000,
				       .say = on_say,
				       .progress = on_progress,
				       .userdata = &t->said};
	t->s = (struct gk_sched){.run = fake_run, .run_userdata = &t->f, .call_timeout_ms = 100};
	assert_int_equal(sched_open(&t->s, GK_SCHED_KIND_SLURM, "n1"), 0);
}

static void go(struct run *t)
{
	assert_int_equal(sched_around_run(&t->s, &t->o, proc_run, &t->p, &t->res), 0);
}

static void test_success_resumes(void **state)
{
	struct run t;

	setup(&t, "IDLE", "");
	go(&t);
	assert_int_equal(t.res.exit, GK_EXIT_OK);
	assert_int_equal(t.p.calls, 1);
	assert_string_equal(t.p.state_seen, "IDLE+DRAIN"); /* drained before the procedure */
	assert_int_equal(t.res.drain, GK_SCHED_ACT);
	assert_int_equal(t.res.resume, GK_SCHED_ACT);
	assert_string_equal(t.f.state, "IDLE");
	assert_int_equal(t.f.updates, 2); /* drain, resume */
	assert_string_equal(t.res.error, "");
	expect_in(t.said.lines, "slurm: drained node n1: gpukeep: Xid 79 on 0000:07:00.0, reload");
	expect_in(t.said.lines, "slurm: node n1 resumed");
	assert_string_equal(sched_around_drain_id(t.res.drain), "drained");
	assert_string_equal(sched_around_resume_id(t.res.resume), "resumed");
}

static void test_already_ours(void **state)
{
	struct run t;

	/* a reload interrupted earlier left gpukeep's drain: adopted, resumed at the end */
	setup(&t, "IDLE+DRAIN", "gpukeep: Xid 48 on 0000:07:00.0, reload");
	go(&t);
	assert_int_equal(t.res.exit, GK_EXIT_OK);
	assert_int_equal(t.res.drain, GK_SCHED_ALREADY);
	assert_int_equal(t.res.resume, GK_SCHED_ACT);
	assert_string_equal(t.f.state, "IDLE");
}

static void test_foreign_not_resumed(void **state)
{
	struct run t;

	setup(&t, "IDLE+DRAIN", "disk full, Ann");
	go(&t);
	assert_int_equal(t.res.exit, GK_EXIT_OK);
	assert_int_equal(t.p.calls, 1);
	assert_int_equal(t.res.drain, GK_SCHED_FOREIGN);
	assert_int_equal(t.res.resume, GK_SCHED_FOREIGN);
	assert_int_equal(t.f.updates, 0);
	assert_string_equal(t.f.reason, "disk full, Ann");
	assert_string_equal(t.res.reason, "");
	expect_in(t.said.lines, "it will not be resumed");
	/* a failure does not touch their reason either */
	setup(&t, "IDLE+DRAIN", "");
	t.p.out = (struct gk_around_outcome){.exit = GK_EXIT_NEEDS_PERSON, .error = "x"};
	go(&t);
	assert_int_equal(t.res.exit, GK_EXIT_NEEDS_PERSON);
	assert_int_equal(t.res.drain, GK_SCHED_NO_REASON);
	assert_int_equal(t.res.resume, GK_SCHED_NO_REASON);
	assert_int_equal(t.f.updates, 0);
}

static void test_refused(void **state)
{
	static const struct {
		const char *state, *reason, *words;
		enum gk_sched_verdict v;
	} cases[] = {
		{"IDLE+DRAIN+REBOOT_REQUESTED", "gpukeep: x", "a reboot is pending",
		 GK_SCHED_REBOOT_PENDING},
		{"MIXED+DRAIN", "Reboot ASAP", "a reboot is pending", GK_SCHED_REBOOT_PENDING},
		{"DOWN*", "Not responding", "down, left to Slurm", GK_SCHED_DOWN},
	};
	struct run t;

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		setup(&t, cases[i].state, cases[i].reason);
		go(&t);
		assert_int_equal(t.res.exit, GK_EXIT_PRECONDITION);
		assert_int_equal(t.p.calls, 0);
		assert_false(t.res.ran);
		assert_int_equal(t.res.drain, cases[i].v);
		assert_int_equal(t.res.resume, GK_AROUND_NOT_REACHED);
		assert_int_equal(t.f.updates, 0);
		expect_in(t.res.error, "node n1");
		expect_in(t.res.error, cases[i].words);
		expect_in(t.res.error, "reload refused, nothing done");
	}
}

static void test_unreachable(void **state)
{
	struct run t;

	setup(&t, "IDLE", "");
	t.f.unreachable = true;
	go(&t);
	assert_int_equal(t.res.exit, GK_EXIT_PRECONDITION);
	assert_int_equal(t.p.calls, 0);
	assert_int_equal(t.res.drain, GK_AROUND_NOT_REACHED);
	expect_in(t.res.error, "slurmctld unreachable");
	expect_in(t.res.error, "no disruptive action");
	setup(&t, "IDLE", "");
	t.f.hang = true;
	go(&t);
	assert_int_equal(t.res.exit, GK_EXIT_PRECONDITION);
	assert_int_equal(t.p.calls, 0);
	expect_in(t.res.error, "did not answer within 100 ms");
}

static void test_wait(void **state)
{
	struct run t;

	setup(&t, "MIXED", "");
	t.f.jobs = 3;
	t.f.drop_jobs = 1;
	go(&t);
	assert_int_equal(t.res.exit, GK_EXIT_OK);
	assert_int_equal(t.res.jobs_waited, 3);
	assert_int_equal(t.res.jobs_requeued, 0);
	assert_int_equal(t.f.jobs, 0);
	assert_int_equal(t.p.calls, 1);
	assert_true(t.said.progress >= 3);
	expect_in(t.said.lines, "waiting up to 2 s for 3 job(s) on node n1 to end");
}

static void test_wait_timeout(void **state)
{
	struct run t;

	setup(&t, "MIXED", "");
	t.f.jobs = 2;
	t.o.drain_timeout_ms = 200;
	go(&t);
	assert_int_equal(t.res.exit, GK_EXIT_PRECONDITION);
	assert_int_equal(t.p.calls, 0);
	assert_int_equal(t.res.jobs_waited, 2);
	expect_in(t.res.error, "2 job(s) still on the node after 0 s");
	expect_in(t.res.error, "reload not run, nothing disruptive done");
	/* drained by gpukeep, the reason saying why */
	assert_string_equal(t.f.state, "IDLE+DRAIN");
	assert_string_equal(t.f.reason,
			    "gpukeep: reload not run: 2 job(s) still on the node after 0 s");
	assert_string_equal(t.res.reason, t.f.reason);
}

static void test_requeue(void **state)
{
	struct run t;

	setup(&t, "MIXED", "");
	t.f.jobs = 2;
	t.f.requeue_empties = true;
	t.o.requeue = true;
	go(&t);
	assert_int_equal(t.res.exit, GK_EXIT_OK);
	assert_int_equal(t.res.jobs_requeued, 2);
	assert_int_equal(t.p.calls, 1);
	expect_in(t.said.lines, "requeued 2 job(s) on node n1");
	assert_string_equal(t.f.state, "IDLE");
}

static void test_requeue_refused(void **state)
{
	struct run t;

	setup(&t, "MIXED", "");
	t.f.jobs = 1;
	t.f.requeue_refused = true;
	t.o.requeue = true;
	go(&t);
	assert_int_equal(t.res.exit, GK_EXIT_PRECONDITION);
	assert_int_equal(t.p.calls, 0);
	expect_in(t.res.error, "Slurm would not requeue the node's jobs");
	assert_string_equal(t.f.state, "IDLE+DRAIN");
	assert_string_equal(t.f.reason,
			    "gpukeep: reload not run: Slurm would not requeue the node's jobs");
}

static void test_failure_stays_drained(void **state)
{
	struct run t;

	setup(&t, "IDLE", "");
	t.p.out = (struct gk_around_outcome){.exit = GK_EXIT_NEEDS_PERSON,
					     .error = "validation: 0000:07:00.0 missing",
					     .next_rung = "reboot"};
	go(&t);
	assert_int_equal(t.res.exit, GK_EXIT_NEEDS_PERSON);
	assert_int_equal(t.res.resume, GK_AROUND_KEPT);
	assert_string_equal(sched_around_resume_id(t.res.resume), "kept-drained");
	assert_string_equal(t.f.state, "IDLE+DRAIN");
	assert_string_equal(t.f.reason, "gpukeep: reload failed: validation: 0000:07:00.0 "
					"missing; next rung reboot");
	assert_string_equal(t.res.reason, t.f.reason);
	expect_in(t.said.lines, "node n1 stays drained: gpukeep: reload failed");
	/* the procedure could not run at all: the same */
	setup(&t, "IDLE", "");
	t.p.r = -EIO;
	snprintf(t.p.out.error, sizeof(t.p.out.error), "cannot read the journal");
	go(&t);
	assert_int_equal(t.res.exit, GK_EXIT_NEEDS_PERSON);
	assert_string_equal(t.f.reason, "gpukeep: reload failed: cannot read the journal");
}

static void test_failure_edited_left_alone(void **state)
{
	struct run t;

	setup(&t, "IDLE", "");
	t.p.out = (struct gk_around_outcome){.exit = GK_EXIT_FAILED, .error = "busy"};
	t.p.edit_reason = "gpukeep: Xid 79 (Ann: RMA)";
	go(&t);
	assert_int_equal(t.res.exit, GK_EXIT_FAILED);
	assert_int_equal(t.res.resume, GK_SCHED_EDITED);
	assert_string_equal(t.f.reason, "gpukeep: Xid 79 (Ann: RMA)");
	assert_int_equal(t.f.updates, 1); /* the drain only */
	/* and a success does not resume it */
	setup(&t, "IDLE", "");
	t.p.edit_reason = "gpukeep: Xid 79 (Ann: RMA)";
	go(&t);
	assert_int_equal(t.res.exit, GK_EXIT_OK);
	assert_int_equal(t.res.resume, GK_SCHED_EDITED);
	assert_string_equal(t.f.state, "IDLE+DRAIN");
}

/* A procedure during which slurmctld goes away: done, exit 0, but not resumed: said. */
static int proc_then_unreachable(void *userdata, struct gk_around_outcome *ret)
{
	struct proc *p = userdata;

	p->calls++;
	p->f->unreachable = true;
	*ret = (struct gk_around_outcome){};
	return 0;
}

static void test_resume_unreachable(void **state)
{
	struct run t;

	setup(&t, "IDLE", "");
	assert_int_equal(sched_around_run(&t.s, &t.o, proc_then_unreachable, &t.p, &t.res), 0);
	assert_int_equal(t.res.exit, GK_EXIT_OK);
	assert_int_equal(t.res.resume, GK_AROUND_NOT_REACHED);
	expect_in(t.res.error, "not resumed (resume it by hand)");
	expect_in(t.res.error, "slurmctld unreachable");
	assert_string_equal(t.f.state, "IDLE+DRAIN");
}

static void test_dry_run(void **state)
{
	struct run t;

	setup(&t, "MIXED", "");
	t.f.jobs = 2;
	t.o.dry_run = true;
	go(&t);
	assert_int_equal(t.res.exit, GK_EXIT_OK);
	assert_int_equal(t.p.calls, 1);
	assert_int_equal(t.f.updates, 0);
	assert_string_equal(t.f.state, "MIXED");
	assert_int_equal(t.f.jobs, 2);
	assert_int_equal(t.res.drain, GK_SCHED_ACT);
	assert_int_equal(t.res.jobs_waited, 2);
	assert_string_equal(t.res.reason, "gpukeep: Xid 79 on 0000:07:00.0, reload");
	expect_in(t.said.lines, "would drain node n1: gpukeep: Xid 79");
	expect_in(t.said.lines, "would wait up to the deadline for 2 job(s) on node n1 (100,101)");
	expect_in(t.said.lines, "would resume node n1 if the reload succeeds and validates");
	/* a refusal shows as the real run's */
	setup(&t, "IDLE+DRAIN+REBOOT_REQUESTED", "");
	t.o.dry_run = true;
	go(&t);
	assert_int_equal(t.res.exit, GK_EXIT_PRECONDITION);
	assert_int_equal(t.p.calls, 0);
	assert_int_equal(t.f.updates, 0);
}

static void test_none(void **state)
{
	struct run t;

	setup(&t, "IDLE", "");
	assert_int_equal(sched_open(&t.s, GK_SCHED_KIND_NONE, "host1"), 0);
	go(&t);
	assert_int_equal(t.res.exit, GK_EXIT_OK);
	assert_int_equal(t.p.calls, 1);
	assert_int_equal(t.res.drain, GK_SCHED_UNMANAGED);
	assert_int_equal(t.res.resume, GK_SCHED_UNMANAGED);
	assert_int_equal(t.f.updates, 0);
	expect_in(t.said.lines, "no scheduler detected: drain the node by hand");
	expect_in(t.said.lines, "put the node back in the pool by hand");
}

static void test_decisions(void **state)
{
	struct gk_around_outcome o = {.exit = GK_EXIT_FAILED, .error = "unload: nvidia in use"};
	char buf[256], big[300];

	assert_true(sched_around_may_proceed(GK_SCHED_ACT));
	assert_true(sched_around_may_proceed(GK_SCHED_ALREADY));
	assert_true(sched_around_may_proceed(GK_SCHED_FOREIGN));
	assert_true(sched_around_may_proceed(GK_SCHED_NO_REASON));
	assert_true(sched_around_may_proceed(GK_SCHED_UNMANAGED));
	assert_false(sched_around_may_proceed(GK_SCHED_REBOOT_PENDING));
	assert_false(sched_around_may_proceed(GK_SCHED_DOWN));
	assert_false(sched_around_may_proceed(GK_SCHED_EDITED));
	sched_around_failure_fault("reload", &o, buf, sizeof(buf));
	assert_string_equal(buf, "reload failed, rolled back: unload: nvidia in use");
	o = (struct gk_around_outcome){
		.exit = GK_EXIT_PRECONDITION, .error = "holders", .next_rung = "none"};
	sched_around_failure_fault("reset", &o, buf, sizeof(buf));
	assert_string_equal(buf, "reset refused: holders");
	o = (struct gk_around_outcome){.exit = 137, .next_rung = "reload"};
	sched_around_failure_fault("reset", &o, buf, sizeof(buf));
	assert_string_equal(buf, "reset failed (exit 137): no error given; next rung reload");
	/* a long error leaves room for the next rung */
	memset(big, 'e', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	o = (struct gk_around_outcome){.exit = GK_EXIT_NEEDS_PERSON, .next_rung = "reboot"};
	memcpy(o.error, big, sizeof(o.error) - 1);
	sched_around_failure_fault("reload", &o, buf, sizeof(buf));
	assert_true(strlen(buf) < GK_SCHED_REASON_LEN - strlen("gpukeep: "));
	expect_in(buf, "; next rung reboot");
	assert_null(sched_around_drain_id(GK_AROUND_NOT_REACHED));
	assert_null(sched_around_resume_id(GK_AROUND_NOT_REACHED));
	assert_string_equal(sched_around_drain_id(GK_SCHED_FOREIGN), "foreign");
	assert_string_equal(sched_around_resume_id(GK_SCHED_ALREADY), "not-drained");
	assert_string_equal(sched_around_drain_id(GK_SCHED_REBOOT_PENDING), "reboot-pending");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_success_resumes),
		cmocka_unit_test(test_already_ours),
		cmocka_unit_test(test_foreign_not_resumed),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_unreachable),
		cmocka_unit_test(test_wait),
		cmocka_unit_test(test_wait_timeout),
		cmocka_unit_test(test_requeue),
		cmocka_unit_test(test_requeue_refused),
		cmocka_unit_test(test_failure_stays_drained),
		cmocka_unit_test(test_failure_edited_left_alone),
		cmocka_unit_test(test_resume_unreachable),
		cmocka_unit_test(test_dry_run),
		cmocka_unit_test(test_none),
		cmocka_unit_test(test_decisions),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
