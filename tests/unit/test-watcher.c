// SPDX-License-Identifier: GPL-2.0-or-later
/* The watcher's engine with fake effects: records in, guarded rungs out. Drives the failure
 * paths the real commands rarely show: a state that cannot be saved before acting, a rung that
 * cannot start, a pending action resumed or resolved, observe mode as a shadow run. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ladder/watcher.h"
#include "macro.h"

#define S 1000000ULL

static const char catalog_json[] =
	"{\"schema\":\"gpukeep.xid-catalog\",\"version\":1,\"source\":\"t\",\"date\":\"2026-12-"
	"01\","
	"\"xids\":[{\"code\":13,\"mnemonic\":\"\",\"immediate\":\"RESTART_APP\"},"
	"{\"code\":79,\"mnemonic\":\"\",\"immediate\":\"RESTART_BM\"},"
	"{\"code\":119,\"mnemonic\":\"\",\"immediate\":\"RESET_GPU\"}]}";

struct fake {
	struct gk_watch_config cfg;
	struct gk_catalog cat;
	struct gk_watcher e;
	char calls[512];
	char faults[512]; /* each call's fault in words (watcher_fault_text), ';'-separated */
	int exits[8];	  /* exit codes of the next calls */
	const char *next[8];
	size_t n_calls;
	int save_result;
	unsigned saves;
	bool journal;
	char types[2048];    /* event types, ';'-separated */
	bool pending_at_run; /* the state was saved with the action pending before it ran */
	int64_t now;
};

static struct fake *F;

static int run_rung(void *ud, enum gk_ladder_rung rung, const char *gpu, const char *uuid,
		    const char *fault, struct gk_rung_outcome *ret)
{
	struct fake *f = ud;
	size_t i = f->n_calls++;
	char text[128];

	*ret = (struct gk_rung_outcome){};
	f->pending_at_run = f->e.state.pending;
	snprintf(f->calls + strlen(f->calls), sizeof(f->calls) - strlen(f->calls), "%s %s;",
		 ladder_rung_to_string(rung), gpu);
	watcher_fault_text(fault, rung, text, sizeof(text));
	snprintf(f->faults + strlen(f->faults), sizeof(f->faults) - strlen(f->faults), "%s;", text);
	if (i < 8 && f->exits[i] == -ENOENT)
		return -ENOENT;
	ret->exit = i < 8 ? f->exits[i] : 0;
	if (i < 8 && f->next[i])
		snprintf(ret->next_rung, sizeof(ret->next_rung), "%s", f->next[i]);
	return 0;
}

static bool journal_present(void *ud, enum gk_ladder_rung rung)
{
	return ((struct fake *)ud)->journal;
}

static int save(void *ud, const struct gk_guard_state *s)
{
	struct fake *f = ud;

	f->saves++;
	return f->save_result;
}

static void event(void *ud, struct json_object *ev)
{
	struct fake *f = ud;
	struct json_object *t;

	assert_true(json_object_object_get_ex(ev, "type", &t));
	snprintf(f->types + strlen(f->types), sizeof(f->types) - strlen(f->types), "%s;",
		 json_object_get_string(t));
}

static int64_t now(void *ud)
{
	return ((struct fake *)ud)->now;
}

static const struct gk_watcher_ops ops = {run_rung, journal_present, save, event, now};

static void start(struct fake *f, const struct gk_guard_state *s, bool act)
{
	watcher_init(&f->e, &f->cfg, &f->cat, s, "boot-1", "/dev/kmsg", act, &ops, f);
}

static int setup(void **state)
{
	struct fake *f = calloc(1, sizeof(*f));
	struct json_object *o = json_tokener_parse(catalog_json);
	struct gk_guard_state s = {};

	if (!f || !o || watch_config_init(&f->cfg, "/d") < 0 ||
	    catalog_from_json(o, &f->cat, NULL) < 0)
		return -1;
	json_object_put(o);
	f->now = 1796000000;
	start(f, &s, true);
	F = f;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fake *f = *state;

	watch_config_done(&f->cfg);
	catalog_done(&f->cat);
	free(f);
	return 0;
}

static void feed(struct fake *f, uint64_t seq, uint64_t t, const char *gpu, unsigned xid)
{
	char rec[256];

	snprintf(rec, sizeof(rec), "3,%llu,%llu,-;NVRM: Xid (PCI:%s): %u, pid=1, name=x, y\n",
		 (unsigned long long)seq, (unsigned long long)t, gpu, xid);
	assert_int_equal(watcher_feed(&f->e, rec, strlen(rec), GK_ENGINE_RECORD_TIME), 0);
}

static void test_reset_then_done(void **state)
{
	struct fake *f = *state;

	feed(f, 1, 5 * S, "0000:07:00", 119);
	assert_int_equal(watcher_deadline(&f->e), 7 * S);
	watcher_tick(&f->e, 6 * S);
	assert_int_equal(f->n_calls, 0);
	watcher_tick(&f->e, 7 * S);
	assert_string_equal(f->calls, "reset 0000:07:00;");
	/* the budget was on disk before the rung ran */
	assert_true(f->pending_at_run);
	assert_false(f->e.state.pending);
	assert_string_equal(f->e.state.actions[0].outcome, "ok");
	assert_non_null(strstr(f->types, "fault;decision;action-started;action-ended;"));
	assert_int_equal(f->e.metrics.actions[GK_LADDER_RESET][GK_RESULT_OK], 1);
}

static void test_save_fails_no_action(void **state)
{
	struct fake *f = *state;

	f->save_result = -ENOSPC;
	feed(f, 1, 5 * S, "0000:07:00", 119);
	watcher_tick(&f->e, UINT64_MAX);
	assert_int_equal(f->n_calls, 0);
	assert_non_null(strstr(f->types, "error;"));
	assert_false(f->e.metrics.healthy);
	assert_false(f->e.state.pending);
}

static void test_command_missing(void **state)
{
	struct fake *f = *state;

	f->exits[0] = -ENOENT;
	feed(f, 1, 5 * S, "0000:07:00", 119);
	watcher_tick(&f->e, UINT64_MAX);
	/* a rung that cannot run is no reason to climb: a person looks */
	assert_string_equal(f->calls, "reset 0000:07:00;");
	assert_false(f->e.metrics.healthy);
	assert_int_equal(f->e.metrics.actions[GK_LADDER_RESET][GK_RESULT_FAILED], 1);
}

static void test_climb_to_reboot_once_per_boot(void **state)
{
	struct fake *f = *state;

	f->exits[0] = 4;
	f->next[0] = "reload";
	f->exits[1] = 4;
	f->next[1] = "reboot";
	feed(f, 1, 5 * S, "0000:07:00", 119);
	watcher_tick(&f->e, UINT64_MAX);
	assert_string_equal(f->calls, "reset 0000:07:00;reload ;reboot ;");
	/* each rung is told the fault that started the climb, for the scheduler's reason */
	assert_string_equal(f->faults, "Xid 119 on 0000:07:00.0, reset;Xid 119 on 0000:07:00.0, "
				       "reload;Xid 119 on 0000:07:00.0, reboot;");
	/* the reboot did not happen (the fake returns): a second fault in this boot is refused */
	feed(f, 2, 100 * S, "0000:08:00", 79);
	watcher_tick(&f->e, UINT64_MAX);
	assert_int_equal(f->n_calls, 3);
	assert_non_null(strstr(f->types, "guard;"));
}

static void test_observe_shadow(void **state)
{
	struct fake *f = *state;
	struct gk_guard_state s = {};

	f->cfg.breaker_max_actions = 1;
	f->cfg.reset_pattern_gpus = 9;
	start(f, &s, false);
	feed(f, 1, 5 * S, "0000:07:00", 119);
	feed(f, 2, 50 * S, "0000:08:00", 119);
	watcher_tick(&f->e, UINT64_MAX);
	assert_int_equal(f->n_calls, 0);
	/* the shadow run shows what acting would do: one reset, then the breaker */
	assert_non_null(strstr(f->types, "action-observed;"));
	assert_non_null(strstr(f->types, "guard;"));
	assert_int_equal(f->e.metrics.actions[GK_LADDER_RESET][GK_RESULT_OBSERVED], 1);
	assert_int_equal(f->e.metrics.actions[GK_LADDER_RESET][GK_RESULT_BLOCKED], 1);
	/* ... and the persisted state knows nothing of it */
	assert_int_equal(f->e.state.n_actions, 0);
	assert_int_equal(f->e.state.breaker_tripped_at, 0);
	assert_int_equal(f->e.state.last_seq, 2);
}

static void pending_state(struct gk_guard_state *s, enum gk_ladder_rung rung, const char *boot)
{
	*s = (struct gk_guard_state){.have_seq = true, .last_seq = 9};
	snprintf(s->boot_id, sizeof(s->boot_id), "boot-1");
	snprintf(s->kmsg_source, sizeof(s->kmsg_source), "/dev/kmsg");
	guard_reserve(s, 1796000000 - 30, rung, "", "xid-13@0000:07:00", boot);
}

static void test_resume_with_journal(void **state)
{
	struct fake *f = *state;
	struct gk_guard_state s;

	pending_state(&s, GK_LADDER_RELOAD, "boot-1");
	f->journal = true;
	start(f, &s, true);
	watcher_resume_pending(&f->e, 100 * S);
	assert_string_equal(f->calls, "reload ;");
	assert_non_null(strstr(f->types, "action-resumed;action-started;action-ended;"));
	/* resumed: the same action, no second budget */
	assert_int_equal(f->e.state.n_actions, 1);
	assert_string_equal(f->e.state.actions[0].outcome, "ok");
	assert_int_equal(watcher_resume_position(&f->e, &(uint64_t){0}), 1);
}

static void test_resume_without_journal(void **state)
{
	struct fake *f = *state;
	struct gk_guard_state s;

	pending_state(&s, GK_LADDER_RELOAD, "boot-1");
	start(f, &s, true);
	watcher_resume_pending(&f->e, 100 * S);
	assert_int_equal(f->n_calls, 0);
	assert_string_equal(f->e.state.actions[0].outcome, "unknown");
	assert_false(f->e.metrics.healthy);
}

static void test_pending_reboot_after_reboot(void **state)
{
	struct fake *f = *state;
	struct gk_guard_state s;

	pending_state(&s, GK_LADDER_REBOOT, "boot-0");
	start(f, &s, true);
	watcher_resume_pending(&f->e, 100 * S);
	assert_int_equal(f->n_calls, 0);
	assert_string_equal(f->e.state.actions[0].outcome, "rebooted");
	assert_true(f->e.metrics.healthy);
}

static void test_position_per_boot_and_source(void **state)
{
	struct fake *f = *state;
	struct gk_guard_state s = {.have_seq = true, .last_seq = 42};
	uint64_t seq = 0;

	snprintf(s.boot_id, sizeof(s.boot_id), "boot-1");
	snprintf(s.kmsg_source, sizeof(s.kmsg_source), "/dev/kmsg");
	start(f, &s, true);
	assert_int_equal(watcher_resume_position(&f->e, &seq), 1);
	assert_int_equal(seq, 42);
	/* handled before the restart: skipped */
	feed(f, 42, 5 * S, "0000:07:00", 119);
	assert_int_equal(watcher_deadline(&f->e), UINT64_MAX);
	snprintf(s.boot_id, sizeof(s.boot_id), "boot-0");
	start(f, &s, true);
	assert_int_equal(watcher_resume_position(&f->e, &seq), 0);
	snprintf(s.boot_id, sizeof(s.boot_id), "boot-1");
	watcher_init(&f->e, &f->cfg, &f->cat, &s, "boot-1", "/tmp/saved.log", true, &ops, f);
	assert_int_equal(watcher_resume_position(&f->e, &seq), 0);
}

static void test_seed_history_escalates(void **state)
{
	struct fake *f = *state;
	struct gk_guard_state s = {};

	snprintf(s.boot_id, sizeof(s.boot_id), "boot-1");
	guard_reserve(&s, f->now - 60, GK_LADDER_RESET, "0000:07:00", "xid-119@0000:07:00",
		      "boot-1");
	guard_finish(&s, "ok");
	start(f, &s, true);
	/* a --once run after the one that reset the GPU: the history is the saved actions */
	watcher_seed_history(&f->e, 1000 * S);
	feed(f, 1, 1000 * S, "0000:07:00", 119);
	watcher_tick(&f->e, UINT64_MAX);
	assert_string_equal(f->calls, "reload ;");
}

static void test_not_a_record(void **state)
{
	struct fake *f = *state;

	assert_int_equal(watcher_feed(&f->e, "garbage", 7, 1), -EPROTO);
	assert_int_equal(f->e.metrics.records, 0);
}

static void test_fault_text(void **state)
{
	char buf[128], tiny[12];

	watcher_fault_text("xid-79@0000:07:00", GK_LADDER_RELOAD, buf, sizeof(buf));
	assert_string_equal(buf, "Xid 79 on 0000:07:00.0, reload");
	watcher_fault_text("xid-48@", GK_LADDER_RESET, buf, sizeof(buf));
	assert_string_equal(buf, "Xid 48, reset");
	watcher_fault_text("nvml-hung@node", GK_LADDER_RELOAD, buf, sizeof(buf));
	assert_string_equal(buf, "nvml-hung, reload");
	watcher_fault_text("recovery-action@0000:3b:00", GK_LADDER_RESET, buf, sizeof(buf));
	assert_string_equal(buf, "recovery-action on 0000:3b:00.0, reset");
	watcher_fault_text("validation", GK_LADDER_REBOOT, buf, sizeof(buf));
	assert_string_equal(buf, "validation, reboot");
	watcher_fault_text("xid-79@0000:07:00", GK_LADDER_RELOAD, tiny, sizeof(tiny));
	assert_string_equal(tiny, "Xid 79 on 0");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(x) cmocka_unit_test_setup_teardown(x, setup, teardown)
		T(test_reset_then_done),
		T(test_save_fails_no_action),
		T(test_command_missing),
		T(test_climb_to_reboot_once_per_boot),
		T(test_observe_shadow),
		T(test_resume_with_journal),
		T(test_resume_without_journal),
		T(test_pending_reboot_after_reboot),
		T(test_position_per_boot_and_source),
		T(test_seed_history_escalates),
		T(test_not_a_record),
#undef T
		cmocka_unit_test(test_fault_text),
	};
	(void)F;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
