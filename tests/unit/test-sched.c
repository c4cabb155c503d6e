// SPDX-License-Identifier: GPL-2.0-or-later
/* The scheduler adapter: gpukeep's reason, the NHC-style drain/resume decisions, and the Slurm
 * adapter driven against a fake Slurm (a runner that plays scontrol and squeue on a state). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fake-slurm.h"
#include "sched/sched.h"

static struct gk_slurm_node node(const char *state, const char *reason)
{
	struct gk_slurm_node n = {};

	snprintf(n.name, sizeof(n.name), "n1");
	snprintf(n.state, sizeof(n.state), "%s", state);
	snprintf(n.reason, sizeof(n.reason), "%s", reason);
	n.flags = slurm_state_flags(state);
	return n;
}

static void test_reason_ours(void **state)
{
	assert_true(sched_reason_is_ours("gpukeep: Xid 79"));
	assert_true(sched_reason_is_ours("gpukeep:"));
	assert_false(sched_reason_is_ours("Gpukeep: x"));
	assert_false(sched_reason_is_ours(" gpukeep: x"));
	assert_false(sched_reason_is_ours("NHC: gpukeep: x"));
	assert_false(sched_reason_is_ours(""));
	assert_false(sched_reason_is_ours(NULL));
}

static void test_reason_format(void **state)
{
	char buf[GK_SCHED_REASON_LEN + 1], tiny[11], big[400];

	assert_int_equal(sched_reason_format("Xid 79 on 0000:07:00.0, reload", buf, sizeof(buf)),
			 0);
	assert_string_equal(buf, "gpukeep: Xid 79 on 0000:07:00.0, reload");
	assert_int_equal(sched_reason_format("  two\nlines\t\tand  tabs  ", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "gpukeep: two lines and tabs");
	assert_int_equal(sched_reason_format(" \n ", buf, sizeof(buf)), -EINVAL);
	assert_int_equal(sched_reason_format("", buf, sizeof(buf)), -EINVAL);
	assert_int_equal(sched_reason_format(NULL, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(sched_reason_format("xyz", tiny, sizeof(tiny)), 0);
	assert_string_equal(tiny, "gpukeep: x");
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(sched_reason_format(big, buf, sizeof(buf)), 0);
	assert_int_equal(strlen(buf), GK_SCHED_REASON_LEN);
	assert_int_equal(sched_reason_format("x", tiny, 10), -EINVAL);
}

static void test_decide_drain(void **state)
{
	struct gk_slurm_node n;

	n = node("IDLE", "");
	assert_int_equal(sched_decide_drain(&n), GK_SCHED_ACT);
	n = node("MIXED", "");
	assert_int_equal(sched_decide_drain(&n), GK_SCHED_ACT);
	n = node("IDLE+DRAIN", "gpukeep: Xid 79");
	assert_int_equal(sched_decide_drain(&n), GK_SCHED_ALREADY);
	n = node("IDLE+DRAIN", "disk full");
	assert_int_equal(sched_decide_drain(&n), GK_SCHED_FOREIGN);
	n = node("IDLE+DRAIN", "");
	assert_int_equal(sched_decide_drain(&n), GK_SCHED_NO_REASON);
	n = node("IDLE+DRAIN+REBOOT_REQUESTED", "gpukeep: x");
	assert_int_equal(sched_decide_drain(&n), GK_SCHED_REBOOT_PENDING);
	n = node("MIXED+DRAIN", "Reboot ASAP");
	assert_int_equal(sched_decide_drain(&n), GK_SCHED_REBOOT_PENDING);
	n = node("DOWN*", "Not responding");
	assert_int_equal(sched_decide_drain(&n), GK_SCHED_DOWN);
}

static void test_decide_resume(void **state)
{
	struct gk_slurm_node n;

	n = node("IDLE+DRAIN", "gpukeep: Xid 79");
	assert_int_equal(sched_decide_resume(&n, NULL), GK_SCHED_ACT);
	assert_int_equal(sched_decide_resume(&n, "gpukeep: Xid 79"), GK_SCHED_ACT);
	assert_int_equal(sched_decide_resume(&n, "gpukeep: Xid 48"), GK_SCHED_EDITED);
	n = node("IDLE+DRAIN", "gpukeep: Xid 79 : reboot complete");
	assert_int_equal(sched_decide_resume(&n, "gpukeep: Xid 79"), GK_SCHED_EDITED);
	n = node("IDLE+DRAIN", "Xid 79 looked at by Ann");
	assert_int_equal(sched_decide_resume(&n, NULL), GK_SCHED_FOREIGN);
	n = node("IDLE+DRAIN", "");
	assert_int_equal(sched_decide_resume(&n, NULL), GK_SCHED_NO_REASON);
	n = node("IDLE", "");
	assert_int_equal(sched_decide_resume(&n, NULL), GK_SCHED_ALREADY);
	n = node("DOWN+DRAIN+REBOOT_ISSUED", "gpukeep: x : reboot issued");
	assert_int_equal(sched_decide_resume(&n, NULL), GK_SCHED_REBOOT_PENDING);
	n = node("DOWN+DRAIN", "gpukeep: x");
	assert_int_equal(sched_decide_resume(&n, NULL), GK_SCHED_DOWN);
	assert_string_equal(sched_verdict_to_string(GK_SCHED_FOREIGN),
			    "drained by someone else, left alone");
}

static void open_fake(struct gk_sched *s, struct fake *f)
{
	*s = (struct gk_sched){.run = fake_run, .run_userdata = f, .call_timeout_ms = 100};
	assert_int_equal(sched_open(s, GK_SCHED_KIND_SLURM, "n1"), 0);
	assert_string_equal(sched_node_name(s), "n1");
}

static void test_drain_resume(void **state)
{
	struct fake f = {.state = "IDLE"};
	enum gk_sched_verdict v;
	struct gk_sched s;

	open_fake(&s, &f);
	assert_int_equal(sched_drain(&s, "Xid 79 on 0000:07:00.0, reload", &v), 0);
	assert_int_equal(v, GK_SCHED_ACT);
	assert_string_equal(f.last_update, "update NodeName=n1 State=DRAIN "
					   "Reason=gpukeep: Xid 79 on 0000:07:00.0, reload");
	assert_string_equal(s.reason, "gpukeep: Xid 79 on 0000:07:00.0, reload");
	/* a second drain keeps the first reason */
	assert_int_equal(sched_drain(&s, "Xid 48", &v), 0);
	assert_int_equal(v, GK_SCHED_ALREADY);
	assert_int_equal(f.updates, 1);
	assert_int_equal(sched_resume_if_ours(&s, NULL, &v), 0);
	assert_int_equal(v, GK_SCHED_ACT);
	assert_string_equal(f.state, "IDLE");
	assert_int_equal(f.updates, 2);
	assert_int_equal(sched_resume_if_ours(&s, NULL, &v), 0);
	assert_int_equal(v, GK_SCHED_ALREADY);
	assert_int_equal(f.updates, 2);
}

/* The record sched_open() read decides the first drain when it is fresh; an update or its age
 * makes the next decision ask again. */
static void test_open_record_reused(void **state)
{
	struct fake f = {.state = "IDLE"};
	enum gk_sched_verdict v;
	struct gk_sched s;

	open_fake(&s, &f);
	assert_int_equal(f.shows, 1);
	assert_int_equal(sched_drain(&s, "Xid 79", &v), 0);
	assert_int_equal(v, GK_SCHED_ACT);
	assert_int_equal(f.shows, 2); /* the check after the update only */
	/* used once: the next decision asks */
	assert_int_equal(sched_drain(&s, "Xid 79", &v), 0);
	assert_int_equal(v, GK_SCHED_ALREADY);
	assert_int_equal(f.shows, 3);
	assert_int_equal(s.calls, f.shows + f.updates + f.squeues); /* what the report says */

	/* too old: someone drained the node since the open, and the decision sees it */
	open_fake(&s, &f);
	snprintf(f.reason, sizeof(f.reason), "disk full");
	s.seen_ms -= GK_SCHED_REUSE_MS + 1;
	assert_int_equal(sched_drain(&s, "Xid 79", &v), 0);
	assert_int_equal(v, GK_SCHED_FOREIGN);

	/* outdated by an update in between (a resume): asked again */
	f = (struct fake){.state = "IDLE+DRAIN", .reason = "gpukeep: Xid 48"};
	open_fake(&s, &f);
	assert_int_equal(sched_resume_if_ours(&s, NULL, &v), 0);
	assert_int_equal(v, GK_SCHED_ACT);
	f.shows = 0;
	assert_int_equal(sched_reboot_asap(&s, "Xid 79", &v), 0);
	assert_int_equal(v, GK_SCHED_ACT);
	assert_int_equal(f.shows, 1);
	assert_string_equal(f.last_update,
			    "reboot ASAP nextstate=RESUME reason=gpukeep: Xid 79 n1");
}

/* The dry run's decision: what sched_drain() or sched_reboot_asap() would do, nothing changed. */
static void test_drain_would(void **state)
{
	struct fake f = {.state = "IDLE"};
	enum gk_sched_verdict v;
	struct gk_sched s;

	open_fake(&s, &f);
	assert_int_equal(sched_drain_would(&s, "Xid 79", false, &v), 0);
	assert_int_equal(v, GK_SCHED_ACT);
	f = (struct fake){.state = "IDLE+DRAIN", .reason = "gpukeep: Xid 48"};
	open_fake(&s, &f);
	assert_int_equal(sched_drain_would(&s, "Xid 79", false, &v), 0);
	assert_int_equal(v, GK_SCHED_ALREADY);
	assert_string_equal(s.reason, "gpukeep: Xid 48"); /* adopted, as sched_drain() does */
	assert_int_equal(sched_drain_would(&s, "Xid 79", true, &v), 0);
	assert_int_equal(v, GK_SCHED_ACT); /* gpukeep's own drain turns into the reboot */
	snprintf(f.reason, sizeof(f.reason), "disk full");
	assert_int_equal(sched_drain_would(&s, "Xid 79", true, &v), 0);
	assert_int_equal(v, GK_SCHED_FOREIGN);
	assert_int_equal(f.updates, 0);
	f.unreachable = true;
	assert_int_equal(sched_drain_would(&s, "Xid 79", false, &v), -EHOSTUNREACH);
}

static void test_foreign_left_alone(void **state)
{
	struct fake f = {.state = "IDLE+DRAIN", .reason = "disk full"};
	enum gk_sched_verdict v;
	struct gk_sched s;

	open_fake(&s, &f);
	assert_int_equal(sched_drain(&s, "Xid 79", &v), 0);
	assert_int_equal(v, GK_SCHED_FOREIGN);
	assert_int_equal(sched_resume_if_ours(&s, NULL, &v), 0);
	assert_int_equal(v, GK_SCHED_FOREIGN);
	assert_int_equal(sched_reboot_asap(&s, "Xid 79", &v), 0);
	assert_int_equal(v, GK_SCHED_FOREIGN);
	assert_int_equal(f.updates, 0);
	assert_string_equal(f.reason, "disk full");
}

static void test_edited_left_alone(void **state)
{
	struct fake f = {.state = "IDLE"};
	enum gk_sched_verdict v;
	struct gk_sched s;

	open_fake(&s, &f);
	assert_int_equal(sched_drain(&s, "Xid 79", &v), 0);
	snprintf(f.reason, sizeof(f.reason), "gpukeep: Xid 79 (Ann: keep it out, RMA)");
	assert_int_equal(sched_resume_if_ours(&s, NULL, &v), 0);
	assert_int_equal(v, GK_SCHED_EDITED);
	assert_string_equal(f.state, "IDLE+DRAIN");
}

static void test_drain_did_not_take(void **state)
{
	struct fake f = {.state = "IDLE", .ignore_updates = true};
	enum gk_sched_verdict v = GK_SCHED_ALREADY;
	struct gk_sched s;

	open_fake(&s, &f);
	assert_int_equal(sched_drain(&s, "Xid 79", &v), -EIO);
	assert_non_null(strstr(sched_last_error(&s), "drain did not take"));
	assert_string_equal(s.reason, "");
}

static void test_unreachable(void **state)
{
	struct fake f = {.state = "IDLE"};
	enum gk_sched_verdict v;
	struct gk_sched s;

	open_fake(&s, &f);
	f.unreachable = true;
	assert_int_equal(sched_drain(&s, "Xid 79", &v), -EHOSTUNREACH);
	assert_non_null(strstr(sched_last_error(&s), "slurmctld unreachable"));
	assert_non_null(strstr(sched_last_error(&s), "no disruptive action"));
	assert_int_equal(sched_wait_jobs(&s, 1000, NULL, NULL), -EHOSTUNREACH);
	f.unreachable = false;
	f.hang = true;
	assert_int_equal(sched_resume_if_ours(&s, NULL, &v), -ETIMEDOUT);
	assert_non_null(strstr(sched_last_error(&s), "did not answer within 100 ms"));
	assert_int_equal(f.updates, 0);
}

static void test_unknown_node(void **state)
{
	struct fake f = {.state = "IDLE"};
	struct gk_sched s = {.run = fake_run, .run_userdata = &f};

	assert_int_equal(sched_open(&s, GK_SCHED_KIND_SLURM, "nosuch"), -ENOENT);
	assert_string_equal(sched_last_error(&s), "slurmctld knows no node nosuch");
}

struct progress {
	unsigned calls, last_jobs;
};

static void on_progress(void *userdata, unsigned jobs, unsigned left_ms)
{
	struct progress *p = userdata;

	p->calls++;
	p->last_jobs = jobs;
}

static void test_wait(void **state)
{
	struct fake f = {.state = "MIXED+DRAIN", .reason = "gpukeep: x", .jobs = 3, .drop_jobs = 1};
	struct progress p = {};
	struct gk_sched s;

	open_fake(&s, &f);
	assert_int_equal(sched_wait_jobs(&s, 5000, on_progress, &p), 0);
	assert_int_equal(p.calls, 4); /* 3, 2, 1, 0 */
	assert_int_equal(p.last_jobs, 0);
	f.jobs = 2;
	f.drop_jobs = 0;
	p = (struct progress){};
	assert_int_equal(sched_wait_jobs(&s, 250, on_progress, &p), -ETIMEDOUT);
	assert_int_equal(p.last_jobs, 2);
	assert_non_null(strstr(sched_last_error(&s), "2 job(s) still running"));
}

static void test_requeue(void **state)
{
	struct fake f = {.state = "MIXED+DRAIN", .reason = "gpukeep: x", .jobs = 2};
	struct gk_sched s;

	open_fake(&s, &f);
	assert_int_equal(sched_requeue(&s), 2);
	assert_string_equal(f.last_update, "requeue 100,101");
	f.requeue_refused = true;
	assert_int_equal(sched_requeue(&s), -EPERM);
	assert_non_null(strstr(sched_last_error(&s), "not supported on this job"));
	f.jobs = 0;
	f.updates = 0;
	assert_int_equal(sched_requeue(&s), 0);
	assert_int_equal(f.updates, 0);
}

static void test_reboot(void **state)
{
	struct fake f = {.state = "MIXED"};
	enum gk_sched_verdict v;
	struct gk_sched s;

	open_fake(&s, &f);
	assert_int_equal(sched_reboot_asap(&s, "Xid 79, reload failed", &v), 0);
	assert_int_equal(v, GK_SCHED_ACT);
	assert_string_equal(f.last_update, "reboot ASAP nextstate=RESUME "
					   "reason=gpukeep: Xid 79, reload failed n1");
	snprintf(f.state, sizeof(f.state), "MIXED+DRAIN+REBOOT_REQUESTED");
	assert_int_equal(sched_reboot_asap(&s, "again", &v), 0);
	assert_int_equal(v, GK_SCHED_REBOOT_PENDING);
	assert_int_equal(sched_resume_if_ours(&s, NULL, &v), 0);
	assert_int_equal(v, GK_SCHED_REBOOT_PENDING);
	assert_int_equal(f.updates, 1);
}

static void test_none(void **state)
{
	struct gk_sched s = {};
	enum gk_sched_verdict v;
	struct gk_slurm_node n;

	assert_int_equal(sched_open(&s, GK_SCHED_KIND_NONE, "host1"), 0);
	assert_string_equal(sched_node_name(&s), "host1");
	assert_int_equal(sched_drain(&s, "Xid 79", &v), 0);
	assert_int_equal(v, GK_SCHED_UNMANAGED);
	assert_int_equal(sched_resume_if_ours(&s, NULL, &v), 0);
	assert_int_equal(v, GK_SCHED_UNMANAGED);
	assert_int_equal(sched_wait_jobs(&s, 10, NULL, NULL), 0);
	assert_int_equal(sched_requeue(&s), 0);
	assert_int_equal(sched_query(&s, &n), 0);
	assert_string_equal(n.name, "host1");
}

static void test_detect(void **state)
{
	enum gk_sched_kind k;

	setenv(GK_SCHED_ENV, "none", 1);
	assert_int_equal(sched_detect(&k), 0);
	assert_int_equal(k, GK_SCHED_KIND_NONE);
	setenv(GK_SCHED_ENV, "slurm", 1);
	assert_int_equal(sched_detect(&k), 0);
	assert_int_equal(k, GK_SCHED_KIND_SLURM);
	setenv(GK_SCHED_ENV, "pbs", 1);
	assert_int_equal(sched_detect(&k), -EINVAL);
	setenv(GK_SCHED_ENV, "auto", 1);
	setenv("SLURM_CONF", "/nonexistent/slurm.conf", 1);
	assert_int_equal(sched_detect(&k), 0);
	assert_int_equal(k, GK_SCHED_KIND_NONE);
	setenv(GK_SCHED_SCONTROL_ENV, "/bin/true", 1);
	setenv("SLURM_CONF", "/dev/null", 1);
	assert_int_equal(sched_detect(&k), 0);
	assert_int_equal(k, GK_SCHED_KIND_SLURM);
	unsetenv(GK_SCHED_ENV);
	unsetenv(GK_SCHED_SCONTROL_ENV);
	unsetenv("SLURM_CONF");
}

/* The production runner: output, exit status, the deadline, a missing program. */
static void test_spawn_capture(void **state)
{
	struct spawn_output o;

	assert_int_equal(
		spawn_capture((char *[]){"sh", "-c", "echo out; echo err >&2; exit 3", NULL}, 5000,
			      64, &o),
		0);
	assert_int_equal(o.status, 3);
	assert_string_equal(o.out, "out\n");
	assert_string_equal(o.err, "err\n");
	assert_false(o.truncated);
	spawn_output_done(&o);
	assert_int_equal(spawn_capture((char *[]){"sh", "-c", "seq 1 10000", NULL}, 5000, 10, &o),
			 0);
	assert_true(o.truncated);
	assert_string_equal(o.out, "1\n2\n3\n4\n5\n");
	spawn_output_done(&o);
	assert_int_equal(spawn_capture((char *[]){"sleep", "5", NULL}, 100, 64, &o), -ETIMEDOUT);
	assert_int_equal(spawn_capture((char *[]){"/nonexistent/scontrol", NULL}, 100, 64, &o),
			 -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reason_ours),
		cmocka_unit_test(test_reason_format),
		cmocka_unit_test(test_decide_drain),
		cmocka_unit_test(test_decide_resume),
		cmocka_unit_test(test_drain_resume),
		cmocka_unit_test(test_open_record_reused),
		cmocka_unit_test(test_drain_would),
		cmocka_unit_test(test_foreign_left_alone),
		cmocka_unit_test(test_edited_left_alone),
		cmocka_unit_test(test_drain_did_not_take),
		cmocka_unit_test(test_unreachable),
		cmocka_unit_test(test_unknown_node),
		cmocka_unit_test(test_wait),
		cmocka_unit_test(test_requeue),
		cmocka_unit_test(test_reboot),
		cmocka_unit_test(test_none),
		cmocka_unit_test(test_detect),
		cmocka_unit_test(test_spawn_capture),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
