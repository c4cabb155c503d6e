// SPDX-License-Identifier: GPL-2.0-or-later
/* The procedure journal: what a run writes, the next reads back whole; a journal of another kind,
 * of an unknown step or of a newer format is refused; a 0.x reload journal is read. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "procedure/journal.h"
#include "string-util.h"

static const char *const names[] = {"lock", "stop", "unload", NULL};

static void make(struct gk_journal *j)
{
	*j = (struct gk_journal){.pid = 42, .started = 1700000000, .runs = 2, .n_steps = 3};
	snprintf(j->kind, sizeof(j->kind), "reload");
	for (size_t i = 0; i < 3; i++)
		snprintf(j->steps[i].name, sizeof(j->steps[i].name), "%s", names[i]);
	j->steps[0].status = GK_STEP_DONE;
	j->steps[0].ms = 12;
	j->steps[0].detail = strdup("journal written");
	j->steps[1].status = GK_STEP_UNDONE;
	j->steps[2].status = GK_STEP_RUNNING;
	j->record = json_tokener_parse("{\"units\": [\"a.service\"]}");
}

static int decode_text(const char *text, const char *kind, struct gk_journal *ret, char **error)
{
	struct json_object *o = json_tokener_parse(text);
	int r;

	assert_non_null(o);
	r = journal_from_json(o, kind, names, ret, error);
	json_object_put(o);
	return r;
}

static void test_roundtrip(void **state)
{
	struct gk_journal j, k;
	struct json_object *o;
	char *error = NULL;

	make(&j);
	o = journal_to_json(&j);
	assert_non_null(o);
	assert_int_equal(journal_from_json(o, "reload", names, &k, &error), 0);
	json_object_put(o);
	assert_string_equal(k.kind, "reload");
	assert_int_equal(k.version, GK_JOURNAL_VERSION);
	assert_int_equal(k.pid, 42);
	assert_int_equal(k.runs, 2);
	assert_int_equal(k.n_steps, 3);
	assert_int_equal(journal_find_step(&k, "unload"), 2);
	assert_int_equal(journal_find_step(&k, "load"), -1);
	assert_int_equal(k.steps[0].status, GK_STEP_DONE);
	assert_int_equal(k.steps[0].ms, 12);
	assert_string_equal(k.steps[0].detail, "journal written");
	assert_int_equal(k.steps[1].status, GK_STEP_UNDONE);
	assert_int_equal(k.steps[2].status, GK_STEP_RUNNING);
	assert_null(k.steps[2].detail);
	assert_string_equal(json_object_to_json_string(k.record),
			    "{ \"units\": [ \"a.service\" ] }");
	journal_done(&j);
	journal_done(&k);
}

#define HEAD(kind, version)                                                                        \
	"{\"schema\": \"gpukeep.journal\", \"version\": " version ", \"kind\": \"" kind "\", "     \
	"\"pid\": 1, \"started\": 1, \"runs\": 1, \"finished\": false, \"record\": {}, "

static void refused(const char *text, const char *want)
{
	struct gk_journal k;
	char *error = NULL;

	assert_int_equal(decode_text(text, "reload", &k, &error), -EBADMSG);
	if (!strstr(error, want))
		fail_msg("error '%s' does not contain '%s'", error, want);
	free(error);
}

static void test_refused(void **state)
{
	refused("{\"schema\": \"gpukeep.baseline\", \"version\": 1}",
		"not a gpukeep journal (schema 'gpukeep.baseline')");
	refused(HEAD("reset", "2") "\"steps\": []}", "a journal of a reset, not of a reload");
	refused(HEAD("reload", "3") "\"steps\": []}",
		"written by a newer gpukeep (journal format 3; this one reads up to 2)");
	refused(HEAD("reload", "2") "\"steps\": [{\"name\": \"warp\", \"status\": \"done\", "
				    "\"ms\": 1, \"detail\": null}]}",
		"unknown step 'warp'");
	refused(HEAD("reload", "2") "\"steps\": [{\"name\": \"lock\", \"status\": \"exploded\", "
				    "\"ms\": 1, \"detail\": null}]}",
		"unknown status 'exploded'");
	refused(HEAD("reload", "2") "\"steps\": [{\"name\": \"lock\", \"status\": \"done\", "
				    "\"ms\": \"x\", \"detail\": null}]}",
		"field 'ms' has the wrong type");
	refused(HEAD("reload",
		     "2") "\"steps\": [{\"name\": \"lock\", \"status\": \"done\", "
			  "\"ms\": 1, \"detail\": null}, {\"name\": \"lock\", \"status\": "
			  "\"done\", \"ms\": 1, \"detail\": null}]}",
		"step 'lock' appears twice");
	refused(HEAD("reload", "2") "\"steps\": [], \"finished\": 1}",
		"field 'finished' has the wrong type");
	refused("{\"schema\": \"gpukeep.journal\", \"version\": 2, \"kind\": \"reload\", \"pid\": "
		"1, "
		"\"started\": 1, \"runs\": 1, \"finished\": false, \"record\": [], \"steps\": []}",
		"field 'record' has the wrong type");
}

/* gpukeep 0.x wrote reload journals with the record at top level: resumed, not refused */
static void test_v1(void **state)
{
	struct gk_journal k;
	char *error = NULL;

	assert_int_equal(decode_text("{\"schema\": \"gpukeep.reload-journal\", \"version\": 1, "
				     "\"pid\": 7, \"started\": 1, \"runs\": 1, \"units\": [], "
				     "\"steps\": [{\"name\": \"lock\", \"status\": \"done\", "
				     "\"ms\": 3, \"detail\": \"ok\"}], \"finished\": false}",
				     "reload", &k, &error),
			 0);
	assert_int_equal(k.version, 1);
	assert_string_equal(k.kind, "reload");
	assert_int_equal(k.pid, 7);
	assert_non_null(k.record);
	assert_true(json_object_object_get_ex(k.record, "units", NULL));
	journal_done(&k);
	/* a 0.x journal is a reload's, never a reset's */
	assert_int_equal(decode_text("{\"schema\": \"gpukeep.reload-journal\", \"version\": 1, "
				     "\"pid\": 7, \"started\": 1, \"runs\": 1, \"steps\": [], "
				     "\"finished\": false}",
				     "reset", &k, &error),
			 -EBADMSG);
	assert_non_null(strstr(error, "a journal of a reload, not of a reset"));
	free(error);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_v1),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
