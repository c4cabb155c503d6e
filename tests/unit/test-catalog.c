// SPDX-License-Identifier: GPL-2.0-or-later
/* The shipped Xid catalog and the watcher's configuration: the data file loads and says what
 * the notes say for the ladder's Xids; bad catalogs and configurations are refused, naming the
 * problem, and change nothing. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ladder/catalog.h"
#include "ladder/config.h"
#include "macro.h"
#include "string-util.h"

static char *data_path(void)
{
	const char *f = getenv("GK_FIXTURES");
	char *p;

	assert_non_null(f);
	assert_true(asprintf(&p, "%s/../../data/xid-catalog.json", f) > 0);
	return p;
}

static void test_shipped(void **state)
{
	_cleanup_free_ char *path = data_path(), *err = NULL;
	struct gk_catalog c;
	static const struct {
		unsigned code;
		enum gk_action action;
	} want[] = {
		{13, GK_ACTION_OBSERVE}, {31, GK_ACTION_OBSERVE}, {43, GK_ACTION_OBSERVE},
		{94, GK_ACTION_OBSERVE}, {48, GK_ACTION_RESET},	  {119, GK_ACTION_RESET},
		{95, GK_ACTION_RESET},	 {79, GK_ACTION_REBOOT},  {160, GK_ACTION_REBOOT},
		{54, GK_ACTION_PERSON},	 {154, GK_ACTION_QUERY},  {149, GK_ACTION_PERSON},
	};

	assert_int_equal(catalog_load(path, &c, &err), 0);
	assert_int_equal(c.version, 1);
	assert_non_null(strstr(c.source, "docs.nvidia.com"));
	assert_true(strlen(c.date) == 10);
	for (size_t i = 0; i < ELEMENTSOF(want); i++) {
		const struct gk_xid_entry *e = catalog_lookup(&c, want[i].code);

		assert_non_null(e);
		assert_int_equal(bucket_to_action(e->bucket), want[i].action);
	}
	assert_string_equal(catalog_lookup(&c, 79)->mnemonic, "GPU_HAS_FALLEN_OFF_THE_BUS");
	assert_null(catalog_lookup(&c, 1));
	assert_null(catalog_lookup(&c, 9999));
	catalog_done(&c);
}

static int from_text(const char *text, struct gk_catalog *c, char **err)
{
	struct json_object *o = json_tokener_parse(text);
	int r;

	assert_non_null(o);
	r = catalog_from_json(o, c, err);
	json_object_put(o);
	return r;
}

static void test_bad_catalogs(void **state)
{
	static const struct {
		const char *text, *error;
	} bad[] = {
		{"{\"schema\":\"x\",\"version\":1,\"source\":\"s\",\"date\":\"d\",\"xids\":[]}",
		 "schema is 'x'"},
		{"{\"schema\":\"gpukeep.xid-catalog\",\"version\":2,\"source\":\"s\",\"date\":"
		 "\"d\","
		 "\"xids\":[]}",
		 "version"},
		{"{\"schema\":\"gpukeep.xid-catalog\",\"version\":1,\"source\":\"s\",\"date\":"
		 "\"d\"}",
		 "xids"},
		{"{\"schema\":\"gpukeep.xid-catalog\",\"version\":1,\"source\":\"s\",\"date\":"
		 "\"d\","
		 "\"xids\":[{\"code\":1,\"mnemonic\":\"\",\"immediate\":\"A\"},{\"code\":1,"
		 "\"mnemonic\":\"\",\"immediate\":\"B\"}]}",
		 "listed twice"},
		{"{\"schema\":\"gpukeep.xid-catalog\",\"version\":1,\"source\":\"s\",\"date\":"
		 "\"d\","
		 "\"xids\":[{\"code\":1,\"mnemonic\":\"\"}]}",
		 "immediate"},
	};

	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		struct gk_catalog c;
		_cleanup_free_ char *err = NULL;

		assert_int_equal(from_text(bad[i].text, &c, &err), -EBADMSG);
		assert_non_null(err);
		if (!strstr(err, bad[i].error))
			fail_msg("case %zu: '%s' does not name '%s'", i, err, bad[i].error);
	}
}

static void test_buckets(void **state)
{
	assert_int_equal(bucket_to_action("RESTART_APP"), GK_ACTION_OBSERVE);
	assert_int_equal(bucket_to_action("RESET_GPU"), GK_ACTION_RESET);
	assert_int_equal(bucket_to_action("RESTART_BM"), GK_ACTION_REBOOT);
	assert_int_equal(bucket_to_action("reload"), GK_ACTION_RELOAD);
	assert_int_equal(bucket_to_action("CONTACT_SUPPORT"), GK_ACTION_PERSON);
	assert_int_equal(bucket_to_action("SOMETHING_NEW"), GK_ACTION_UNKNOWN);
	assert_string_equal(action_to_string(GK_ACTION_REBOOT), "reboot");
}

static int apply(struct gk_watch_config *c, const char *text, char **err)
{
	struct json_object *o = json_tokener_parse(text);
	int r;

	assert_non_null(o);
	r = watch_config_apply_json(c, o, err);
	json_object_put(o);
	return r;
}

static void test_config_defaults_and_apply(void **state)
{
	struct gk_watch_config c;
	_cleanup_free_ char *err = NULL;

	assert_int_equal(watch_config_init(&c, "/usr/share/gpukeep"), 0);
	assert_string_equal(c.catalog, "/usr/share/gpukeep/xid-catalog.json");
	assert_string_equal(c.rungs[GK_LADDER_RESET].command[0], "gpukeep");
	assert_string_equal(c.rungs[GK_LADDER_RESET].command[3], "{gpu}");
	/* every disruptive rung inside the scheduler, with the fault as gpukeep's reason */
	assert_true(strv_contains(c.rungs[GK_LADDER_RESET].command, "--drain"));
	assert_true(strv_contains(c.rungs[GK_LADDER_RESET].command, "{reason}"));
	assert_true(strv_contains(c.rungs[GK_LADDER_RELOAD].command, "--drain"));
	assert_true(strv_contains(c.rungs[GK_LADDER_RELOAD].command, "{drain_timeout}"));
	assert_true(strv_contains(c.rungs[GK_LADDER_RELOAD].command, "{requeue}"));
	assert_string_equal(c.rungs[GK_LADDER_REBOOT].command[0], "gpukeep");
	assert_string_equal(c.rungs[GK_LADDER_REBOOT].command[1], "reboot");
	assert_true(strv_contains(c.rungs[GK_LADDER_REBOOT].command, "{reason}"));
	assert_int_equal(c.drain_timeout_s, 3600);
	assert_false(c.requeue);
	assert_int_equal(c.debounce_ms, 2000);
	assert_int_equal(apply(&c,
			       "{\"debounce_ms\": 500, \"pattern\": {\"min_gpus\": 4, \"buckets\": "
			       "[\"RESTART_APP\"]}, \"breaker\": {\"max_actions\": 2}, "
			       "\"overrides\": {\"79\": \"RESET_GPU\", \"149.4\": \"reset\"}, "
			       "\"rungs\": {\"reboot\": {\"command\": [\"/bin/true\"], "
			       "\"timeout_s\": 5}}, \"baseline\": \"/etc/b.json\", "
			       "\"scheduler\": {\"drain_timeout_s\": 60, \"requeue\": true}}",
			       &err),
			 0);
	assert_int_equal(c.debounce_ms, 500);
	assert_int_equal(c.pattern_min_gpus, 4);
	assert_int_equal(c.n_pattern_buckets, 1);
	assert_int_equal(c.breaker_max_actions, 2);
	assert_string_equal(c.rungs[GK_LADDER_REBOOT].command[0], "/bin/true");
	assert_int_equal(c.rungs[GK_LADDER_REBOOT].timeout_s, 5);
	assert_string_equal(c.baseline, "/etc/b.json");
	assert_int_equal(c.drain_timeout_s, 60);
	assert_true(c.requeue);
	assert_string_equal(watch_config_override(&c, 79, -1), "RESET_GPU");
	assert_string_equal(watch_config_override(&c, 149, 4), "reset");
	assert_null(watch_config_override(&c, 149, 5));
	assert_null(watch_config_override(&c, 13, -1));
	watch_config_done(&c);
}

static void test_config_refused(void **state)
{
	static const struct {
		const char *text, *error;
	} bad[] = {
		{"{\"debounce\": 5}", "unknown key 'debounce'"},
		{"{\"debounce_ms\": -1}", "'debounce_ms' takes a whole number"},
		{"{\"debounce_ms\": \"2\"}", "'debounce_ms'"},
		{"{\"pattern\": {\"min_gpus\": 1}}", "'pattern.min_gpus'"},
		{"{\"pattern\": {\"buckets\": [\"NOPE\"]}}", "pattern.buckets[0]"},
		{"{\"overrides\": {\"x\": \"reset\"}}", "key 'x' is not an Xid"},
		{"{\"overrides\": {\"79\": \"maybe\"}}", "'overrides.79' is not a known bucket"},
		{"{\"rungs\": {\"reset\": {\"command\": []}}}", "'rungs.reset.command'"},
		{"{\"rungs\": {\"fix\": {}}}", "unknown rung 'rungs.fix'"},
		{"{\"scheduler\": {\"requeue\": 1}}", "'scheduler.requeue' takes true or false"},
		{"{\"scheduler\": {\"drain_timeout_s\": 90000}}", "'scheduler.drain_timeout_s'"},
		{"{\"scheduler\": {\"wait\": 1}}", "unknown key 'scheduler.wait'"},
		{"{\"rungs\": {\"reload\": {\"timeout_s\": 0}}}", "'rungs.reload.timeout_s'"},
		{"{\"breaker\": {\"window\": 1}}", "unknown key 'breaker.window'"},
		{"[]", "not a JSON object"},
	};

	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		struct gk_watch_config c;
		_cleanup_free_ char *err = NULL;

		assert_int_equal(watch_config_init(&c, "/d"), 0);
		/* a valid key before the bad one must not be applied either */
		assert_int_equal(apply(&c, bad[i].text, &err), -EBADMSG);
		assert_non_null(err);
		if (!strstr(err, bad[i].error))
			fail_msg("case %zu: '%s' does not name '%s'", i, err, bad[i].error);
		watch_config_done(&c);
	}
}

static void test_config_unchanged_on_error(void **state)
{
	struct gk_watch_config c;
	_cleanup_free_ char *err = NULL;

	assert_int_equal(watch_config_init(&c, "/d"), 0);
	assert_int_equal(apply(&c, "{\"debounce_ms\": 7, \"nope\": 1}", &err), -EBADMSG);
	assert_int_equal(c.debounce_ms, 2000);
	watch_config_done(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shipped),
		cmocka_unit_test(test_bad_catalogs),
		cmocka_unit_test(test_buckets),
		cmocka_unit_test(test_config_defaults_and_apply),
		cmocka_unit_test(test_config_refused),
		cmocka_unit_test(test_config_unchanged_on_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
