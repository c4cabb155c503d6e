// SPDX-License-Identifier: GPL-2.0-or-later
/* The ladder's policy, driven line by line with the log's own clock: buckets, debounce,
 * escalation after a rung, cross-GPU patterns, the climb after a failed rung. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ladder/policy.h"
#include "macro.h"

#define S 1000000ULL /* one second in the log's microseconds */

static const char catalog_json[] =
	"{\"schema\":\"gpukeep.xid-catalog\",\"version\":1,\"source\":\"test\",\"date\":\"2026-12-"
	"01\","
	"\"xids\":[{\"code\":13,\"mnemonic\":\"GR_EXCEPTION\",\"immediate\":\"RESTART_APP\"},"
	"{\"code\":43,\"mnemonic\":\"\",\"immediate\":\"IGNORE\"},"
	"{\"code\":54,\"mnemonic\":\"\",\"immediate\":\"CHECK_MECHANICALS\"},"
	"{\"code\":79,\"mnemonic\":\"GPU_HAS_FALLEN_OFF_THE_BUS\",\"immediate\":\"RESTART_BM\"},"
	"{\"code\":119,\"mnemonic\":\"GSP_RPC_TIMEOUT\",\"immediate\":\"RESET_GPU\"}]}";

struct fx {
	struct gk_watch_config cfg;
	struct gk_catalog cat;
	struct gk_policy p;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct json_object *o = json_tokener_parse(catalog_json);

	if (!f || !o || watch_config_init(&f->cfg, "/d") < 0 ||
	    catalog_from_json(o, &f->cat, NULL) < 0)
		return -1;
	json_object_put(o);
	policy_init(&f->p, &f->cfg, &f->cat);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	watch_config_done(&f->cfg);
	catalog_done(&f->cat);
	free(f);
	return 0;
}

static int add(struct fx *f, const char *line, uint64_t t)
{
	struct gk_nv_event e;

	assert_int_equal(nvline_parse(line, strlen(line), &e), 1);
	return policy_add(&f->p, &e, t);
}

static void xid(struct fx *f, const char *gpu, unsigned code, uint64_t t)
{
	char line[128];

	snprintf(line, sizeof(line), "NVRM: Xid (PCI:%s): %u, pid='<unknown>', name=<unknown>, x",
		 gpu, code);
	add(f, line, t);
}

/* Closes the burst at @t and returns its decision. */
static struct gk_decision decide(struct fx *f, uint64_t t)
{
	struct gk_decision d;

	assert_int_equal(policy_decide(&f->p, t, &d), 1);
	return d;
}

static void test_observe_bucket(void **state)
{
	struct fx *f = *state;
	struct gk_decision d;

	xid(f, "0000:07:00", 13, 10 * S);
	d = decide(f, UINT64_MAX);
	assert_int_equal(d.rung, GK_LADDER_NONE);
	assert_false(d.needs_person);
	assert_non_null(strstr(d.reason, "RESTART_APP"));
	assert_non_null(strstr(d.reason, "GR_EXCEPTION"));
}

static void test_bus_restart_is_reboot(void **state)
{
	struct fx *f = *state;
	struct gk_decision d;

	add(f,
	    "NVRM: Xid (PCI:0000:07:00): 79, pid='<unknown>', name=<unknown>, GPU has fallen "
	    "off the bus.",
	    1 * S);
	/* the line the driver prints next is the same fault */
	assert_int_equal(add(f, "NVRM: GPU 0000:07:00.0: GPU has fallen off the bus.", 1 * S + 10),
			 0);
	d = decide(f, UINT64_MAX);
	assert_int_equal(d.rung, GK_LADDER_REBOOT);
	assert_int_equal(d.n_faults, 1);
	assert_int_equal(d.faults[0].lines, 2);
	assert_int_equal(d.code, 79);
}

static void test_site_override(void **state)
{
	struct fx *f = *state;
	struct gk_decision d;

	f->cfg.n_overrides = 1;
	f->cfg.overrides[0] =
		(struct gk_override){.code = 79, .subcode = -1, .bucket = "RESET_GPU"};
	add(f, "NVRM: GPU 0000:07:00.0: GPU has fallen off the bus.", 1 * S);
	d = decide(f, UINT64_MAX);
	assert_int_equal(d.rung, GK_LADDER_RESET);
	assert_int_equal(d.n_gpus, 1);
	assert_string_equal(d.gpus[0], "0000:07:00");
	assert_non_null(strstr(d.reason, "site bucket RESET_GPU"));
}

static void test_debounce(void **state)
{
	struct fx *f = *state;
	struct gk_decision d;

	for (unsigned i = 0; i < 50; i++)
		xid(f, "0000:07:00", 119, 100 * S + i * 10000);
	assert_int_equal(policy_deadline(&f->p), 100 * S + 2 * S);
	assert_int_equal(policy_decide(&f->p, 100 * S + 2 * S - 1, &d), 0);
	d = decide(f, 102 * S);
	assert_int_equal(d.rung, GK_LADDER_RESET);
	assert_int_equal(d.n_faults, 1);
	assert_int_equal(d.faults[0].lines, 50);
	assert_int_equal(policy_deadline(&f->p), UINT64_MAX);
	assert_int_equal(policy_decide(&f->p, UINT64_MAX, &d), 0);
}

static void test_escalation(void **state)
{
	struct fx *f = *state;
	struct gk_decision d;

	xid(f, "0000:07:00", 119, 10 * S);
	d = decide(f, UINT64_MAX);
	assert_int_equal(d.rung, GK_LADDER_RESET);
	policy_record(&f->p, GK_LADDER_RESET, "0000:07:00", 119, 13 * S, true);
	/* the same Xid on the same GPU after the successful reset climbs */
	xid(f, "0000:07:00", 119, 30 * S);
	d = decide(f, UINT64_MAX);
	assert_int_equal(d.rung, GK_LADDER_RELOAD);
	assert_non_null(strstr(d.reason, "after a successful reset"));
	policy_record(&f->p, GK_LADDER_RELOAD, NULL, 119, 40 * S, true);
	xid(f, "0000:07:00", 119, 50 * S);
	assert_int_equal(decide(f, UINT64_MAX).rung, GK_LADDER_REBOOT);
	/* another GPU's reset does not escalate this one */
	xid(f, "0000:08:00", 119, 50 * S + 700 * S);
	assert_int_equal(decide(f, UINT64_MAX).rung, GK_LADDER_RESET);
}

static void test_escalation_window(void **state)
{
	struct fx *f = *state;

	policy_record(&f->p, GK_LADDER_RESET, "0000:07:00", 119, 10 * S, true);
	xid(f, "0000:07:00", 119, 10 * S + 601 * S);
	assert_int_equal(decide(f, UINT64_MAX).rung, GK_LADDER_RESET);
	/* a failed reset is not "successful": the climb after it is policy_climb()'s */
	policy_record(&f->p, GK_LADDER_RESET, "0000:09:00", 119, 700 * S, false);
	xid(f, "0000:09:00", 119, 710 * S);
	assert_int_equal(decide(f, UINT64_MAX).rung, GK_LADDER_RESET);
}

static void test_pattern_across_gpus(void **state)
{
	struct fx *f = *state;
	struct gk_decision d;

	xid(f, "0000:07:00", 13, 10 * S);
	assert_int_equal(decide(f, UINT64_MAX).rung, GK_LADDER_NONE);
	xid(f, "0000:08:00", 13, 20 * S);
	assert_int_equal(decide(f, UINT64_MAX).rung, GK_LADDER_NONE);
	xid(f, "0000:09:00", 13, 30 * S);
	d = decide(f, UINT64_MAX);
	assert_int_equal(d.rung, GK_LADDER_RELOAD);
	assert_non_null(strstr(d.reason, "on 3 GPUs within 60 s"));
	policy_record(&f->p, GK_LADDER_RELOAD, NULL, 13, 31 * S, true);
	/* after the reload, the old faults no longer count */
	xid(f, "0000:0a:00", 13, 40 * S);
	assert_int_equal(decide(f, UINT64_MAX).rung, GK_LADDER_NONE);
}

static void test_pattern_window_and_bucket(void **state)
{
	struct fx *f = *state;

	xid(f, "0000:07:00", 13, 10 * S);
	decide(f, UINT64_MAX);
	xid(f, "0000:08:00", 13, 20 * S);
	decide(f, UINT64_MAX);
	/* the first is more than 60 s old */
	xid(f, "0000:09:00", 13, 75 * S);
	assert_int_equal(decide(f, UINT64_MAX).rung, GK_LADDER_NONE);
	/* IGNORE is not a pattern bucket: a job that stops on every GPU is no driver fault */
	for (unsigned i = 0; i < 4; i++) {
		char gpu[16];

		snprintf(gpu, sizeof(gpu), "0000:1%u:00", i);
		xid(f, gpu, 43, 200 * S + i);
	}
	assert_int_equal(decide(f, UINT64_MAX).rung, GK_LADDER_NONE);
}

static void test_resets_on_several_gpus(void **state)
{
	struct fx *f = *state;
	struct gk_decision d;

	xid(f, "0000:07:00", 119, 10 * S);
	xid(f, "0000:08:00", 119, 10 * S + 5);
	d = decide(f, UINT64_MAX);
	assert_int_equal(d.rung, GK_LADDER_RELOAD);
	assert_non_null(strstr(d.reason, "resets needed on 2 GPUs"));
	/* with a higher threshold, two resets */
	f->cfg.reset_pattern_gpus = 3;
	policy_init(&f->p, &f->cfg, &f->cat);
	xid(f, "0000:07:00", 119, 10 * S);
	xid(f, "0000:08:00", 119, 10 * S + 5);
	d = decide(f, UINT64_MAX);
	assert_int_equal(d.rung, GK_LADDER_RESET);
	assert_int_equal(d.n_gpus, 2);
}

static void test_unknown_and_person(void **state)
{
	struct fx *f = *state;
	struct gk_decision d;

	xid(f, "0000:07:00", 200, 10 * S);
	d = decide(f, UINT64_MAX);
	assert_int_equal(d.rung, GK_LADDER_NONE);
	assert_false(d.needs_person);
	assert_non_null(strstr(d.reason, "not in the catalog"));
	xid(f, "0000:07:00", 54, 20 * S);
	d = decide(f, UINT64_MAX);
	assert_int_equal(d.rung, GK_LADDER_NONE);
	assert_true(d.needs_person);
}

static void test_highest_rung_wins(void **state)
{
	struct fx *f = *state;
	struct gk_decision d;

	xid(f, "0000:07:00", 13, 10 * S);
	xid(f, "0000:08:00", 79, 10 * S + 1);
	xid(f, "0000:09:00", 119, 10 * S + 2);
	d = decide(f, UINT64_MAX);
	assert_int_equal(d.rung, GK_LADDER_REBOOT);
	assert_string_equal(d.fault_gpu, "0000:08:00");
	assert_int_equal(d.n_faults, 3);
}

static void test_not_a_fault(void **state)
{
	struct fx *f = *state;
	struct gk_nv_event e = {.kind = GK_NV_GPU_UUID};

	assert_int_equal(policy_add(&f->p, &e, 1), -EINVAL);
	assert_int_equal(policy_deadline(&f->p), UINT64_MAX);
}

static void test_climb(void **state)
{
	bool person;

	assert_int_equal(policy_climb(GK_LADDER_RESET, 0, "none", &person), GK_LADDER_NONE);
	assert_false(person);
	assert_int_equal(policy_climb(GK_LADDER_RESET, 4, "reload", &person), GK_LADDER_RELOAD);
	assert_int_equal(policy_climb(GK_LADDER_RESET, 1, NULL, &person), GK_LADDER_RELOAD);
	assert_int_equal(policy_climb(GK_LADDER_RESET, 3, "reboot", &person), GK_LADDER_REBOOT);
	assert_int_equal(policy_climb(GK_LADDER_RELOAD, 4, "reboot", &person), GK_LADDER_REBOOT);
	/* the reload names a reset: the ladder never climbs down */
	assert_int_equal(policy_climb(GK_LADDER_RELOAD, 4, "gpu-reset", &person), GK_LADDER_REBOOT);
	assert_int_equal(policy_climb(GK_LADDER_RELOAD, 3, NULL, &person), GK_LADDER_NONE);
	assert_true(person);
	assert_int_equal(policy_climb(GK_LADDER_RELOAD, -ETIMEDOUT, NULL, &person), GK_LADDER_NONE);
	assert_true(person);
	assert_int_equal(policy_climb(GK_LADDER_REBOOT, 1, NULL, &person), GK_LADDER_NONE);
	assert_true(person);
	assert_int_equal(policy_climb(GK_LADDER_RESET, 2, NULL, &person), GK_LADDER_NONE);
	assert_true(person);
}

static void test_recovery_action(void **state)
{
	assert_int_equal(policy_recovery_action_rung(0), GK_LADDER_NONE);
	assert_int_equal(policy_recovery_action_rung(1), GK_LADDER_RESET);
	assert_int_equal(policy_recovery_action_rung(2), GK_LADDER_REBOOT);
	assert_int_equal(policy_recovery_action_rung(3), GK_LADDER_NONE);
	assert_int_equal(policy_recovery_action_rung(4), GK_LADDER_RESET);
	assert_int_equal(policy_recovery_action_rung(7), GK_LADDER_REBOOT);
	assert_int_equal(policy_recovery_action_rung(99), GK_LADDER_NONE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(x) cmocka_unit_test_setup_teardown(x, setup, teardown)
		T(test_observe_bucket),
		T(test_bus_restart_is_reboot),
		T(test_site_override),
		T(test_debounce),
		T(test_escalation),
		T(test_escalation_window),
		T(test_pattern_across_gpus),
		T(test_pattern_window_and_bucket),
		T(test_resets_on_several_gpus),
		T(test_unknown_and_person),
		T(test_highest_rung_wins),
		T(test_not_a_fault),
		T(test_climb),
		T(test_recovery_action),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
