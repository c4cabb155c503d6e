// SPDX-License-Identifier: GPL-2.0-or-later
/* The procedure engine with a toy procedure: numbering from the table, the journal before and
 * after each step, undo in reverse order, the exit codes, resume and dry run. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/gk-exit.h"
#include "fake-node.h"
#include "procedure/engine.h"

static struct fake f;
static int fail_step = -1, fail_code, undo_fail = -1;

static int apply(struct gk_engine *e, int i, char **ret_detail)
{
	fake_log(&f, "apply %d", i);
	if (i == fail_step)
		return engine_verdict(e, fail_code, "step %d broke", i);
	*ret_detail = strdup_printf("did %d", i);
	return 0;
}

static int undo(struct gk_engine *e, int i, char **ret_failed)
{
	fake_log(&f, "undo %d", i);
	if (i == undo_fail) {
		*ret_failed = strdup_printf("thing %d", i);
		return -EIO;
	}
	return 0;
}

static int a0(struct gk_engine *e, char **d)
{
	return apply(e, 0, d);
}
static int a1(struct gk_engine *e, char **d)
{
	return apply(e, 1, d);
}
static int a2(struct gk_engine *e, char **d)
{
	return apply(e, 2, d);
}
static int a3(struct gk_engine *e, char **d)
{
	return apply(e, 3, d);
}
static int u1(struct gk_engine *e, char **d)
{
	return undo(e, 1, d);
}
static int u2(struct gk_engine *e, char **d)
{
	return undo(e, 2, d);
}

static int c1(struct gk_engine *e, char **plan)
{
	*plan = strdup("one: would do one");
	return 0;
}

static const struct gk_step steps[] = {
	{.name = "zero", .help = "zero: reads", .apply = a0},
	{.name = "one",
	 .help = "one: changes",
	 .changes_node = true,
	 .check = c1,
	 .apply = a1,
	 .undo = u1},
	{.name = "two", .help = "two: changes", .changes_node = true, .apply = a2, .undo = u2},
	{.name = "three", .help = "three: checks", .final = true, .apply = a3},
};

static const struct gk_procedure toy = {
	.kind = "toy",
	.journal = "toy.journal",
	.journal_last = "toy.journal.last",
	.steps = steps,
	.n_steps = ELEMENTSOF(steps),
	.rolled_back = "as it was",
};

static int setup(void **state)
{
	fake_init(&f);
	fail_step = undo_fail = -1;
	return 0;
}

static int teardown(void **state)
{
	fake_done(&f);
	return 0;
}

static int run(bool dry_run, struct gk_engine_result *ret)
{
	struct gk_engine_opts o = {
		.state_dirfd = f.dirfd, .state_dir = f.dir, .dry_run = dry_run, .ops = &f.eops};
	struct gk_engine_result r;
	int exit;

	assert_int_equal(engine_run(&toy, &o, NULL, &r), 0);
	exit = r.exit;
	if (ret)
		*ret = r;
	else
		engine_result_done(&r);
	return exit;
}

static void test_ok(void **state)
{
	assert_int_equal(run(false, NULL), GK_EXIT_OK);
	assert_string_equal(f.log, "apply 0;apply 1;apply 2;apply 3;");
	expect_in(f.said, "step 1/4: zero: did 0 (0 ms)\nstep 2/4: one: did 1 (0 ms)\n");
	expect_in(f.said, "step 4/4: three: did 3 (0 ms)\n");
	/* before and after each step, and once more to retire it */
	assert_int_equal(f.writes, 9);
	assert_true(fake_has_file(&f, "toy.journal.last"));
	assert_false(fake_has_file(&f, "toy.journal"));
}

static void test_rolled_back(void **state)
{
	struct gk_engine_result r;

	fail_step = 2;
	fail_code = GK_EXIT_FAILED;
	assert_int_equal(run(false, &r), GK_EXIT_FAILED);
	/* the failed step undoes its part too, then the others in reverse */
	assert_string_equal(f.log, "apply 0;apply 1;apply 2;undo 2;undo 1;");
	assert_string_equal(r.error, "step 2 broke; rolled back: as it was");
	assert_int_equal(r.journal.steps[1].status, GK_STEP_UNDONE);
	assert_int_equal(r.journal.steps[3].status, GK_STEP_PENDING);
	assert_true(fake_has_file(&f, "toy.journal.last"));
	engine_result_done(&r);
}

static void test_undo_fails(void **state)
{
	struct gk_engine_result r;

	fail_step = 2;
	fail_code = GK_EXIT_FAILED;
	undo_fail = 1;
	assert_int_equal(run(false, &r), GK_EXIT_NEEDS_PERSON);
	expect_in(r.error, "the roll back failed too (thing 1)");
	assert_true(fake_has_file(&f, "toy.journal")); /* resumable */
	engine_result_done(&r);
}

static void test_needs_person(void **state)
{
	/* exit 4 from a step: no roll back; a final step retires the journal */
	fail_step = 3;
	fail_code = GK_EXIT_NEEDS_PERSON;
	assert_int_equal(run(false, NULL), GK_EXIT_NEEDS_PERSON);
	assert_null(strstr(f.log, "undo"));
	assert_false(fake_has_file(&f, "toy.journal"));
	assert_true(fake_has_file(&f, "toy.journal.last"));

	/* a step that is not final stays resumable, and the next run finishes it */
	f.log[0] = 0;
	fail_step = 2;
	assert_int_equal(run(false, NULL), GK_EXIT_NEEDS_PERSON);
	assert_true(fake_has_file(&f, "toy.journal"));
	fail_step = -1;
	f.log[0] = f.said[0] = 0;
	assert_int_equal(run(false, NULL), GK_EXIT_OK);
	assert_string_equal(f.log, "apply 2;apply 3;");
	expect_in(f.said, "resuming the toy last run by pid");
	expect_in(f.said, "step 2/4: one: done by an earlier run");
}

static void test_refused_first(void **state)
{
	/* refused before a change: the journal goes */
	fail_step = 0;
	fail_code = GK_EXIT_PRECONDITION;
	assert_int_equal(run(false, NULL), GK_EXIT_PRECONDITION);
	assert_false(fake_has_file(&f, "toy.journal"));
	assert_false(fake_has_file(&f, "toy.journal.last"));
}

static void test_first_write_fails(void **state)
{
	f.write_fail_at = 1;
	assert_int_equal(run(false, NULL), GK_EXIT_FAILED);
	assert_string_equal(f.log, ""); /* nothing ran */
}

static void test_dry_run(void **state)
{
	assert_int_equal(run(true, NULL), GK_EXIT_OK);
	assert_string_equal(f.log, "");
	assert_int_equal(f.writes, 0);
	expect_in(f.said, "plan (dry run, nothing is changed):\n  step 1/4: zero: reads\n  step "
			  "2/4: one: would do one\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ok, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rolled_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_undo_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_needs_person, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused_first, setup, teardown),
		cmocka_unit_test_setup_teardown(test_first_write_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dry_run, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
