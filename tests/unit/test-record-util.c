// SPDX-License-Identifier: GPL-2.0-or-later
/* The journal records' shared fields (record-util.c): written in the order the reload's and the
 * reset's records always had, read back whole, and a bad field refused with the first problem. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "procedure/record-util.h"
#include "string-util.h"

static char *units[] = {"a.service", "b.service", NULL};
static char *containers[] = {"docker 1234", NULL};
static char *gpus[] = {"0000:17:00.0", NULL};

static void assert_strv(char **l, char **want)
{
	_cleanup_free_ char *a = strv_join(l, "|"), *b = strv_join(want, "|");

	assert_non_null(a);
	assert_non_null(b);
	assert_string_equal(a, b);
}

/* The keys of @o, in order, joined by ' '. */
static char *keys(struct json_object *o)
{
	_cleanup_strv_free_ char **l = calloc(1, sizeof(char *));

	assert_non_null(l);
	json_object_object_foreach(o, k, v)
	{
		(void)v;
		assert_int_equal(strv_extend(&l, k), 0);
	}
	return strv_join(l, " ");
}

static void test_write_order(void **state)
{
	struct json_object *o = json_object_new_object();
	_cleanup_free_ char *k = NULL;

	(void)state;
	assert_true(record_put_stopped(o, units, containers, true));
	assert_true(record_put_daemon(o, "/run/nvpd/socket", GK_KEEPER_NVPD, gpus));
	assert_true(record_put_string(o, "settings_file", NULL));
	k = keys(o);
	assert_string_equal(k, "units containers daemon_released daemon_socket daemon_kind "
			       "daemon_gpus settings_file");
	assert_string_equal(json_object_to_json_string_ext(
				    o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
			    "{\"units\":[\"a.service\",\"b.service\"],\"containers\":[\"docker "
			    "1234\"],\"daemon_released\":true,\"daemon_socket\":\"/run/nvpd/"
			    "socket\",\"daemon_kind\":\"nvidia-persistenced\",\"daemon_gpus\":["
			    "\"0000:17:00.0\"],\"settings_file\":null}");
	/* no GPUs: the kind only, as the reset writes it; a null socket is JSON null */
	json_object_put(o);
	o = json_object_new_object();
	assert_true(record_put_daemon(o, NULL, GK_KEEPER_GPUKEEPD, NULL));
	assert_string_equal(json_object_to_json_string_ext(
				    o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
			    "{\"daemon_socket\":null,\"daemon_kind\":\"gpukeepd\"}");
	/* a NULL value (out of memory) is refused, and nothing is added */
	assert_false(record_put(o, "fabric", NULL));
	assert_false(json_object_object_get_ex(o, "fabric", NULL));
	json_object_put(o);
}

static void test_roundtrip(void **state)
{
	struct json_object *o = json_object_new_object();
	_cleanup_strv_free_ char **u = NULL, **x = NULL, **g = NULL;
	_cleanup_free_ char *socket = NULL, *error = NULL;
	struct gk_jcheck c = {};
	enum gk_keeper_kind kind = GK_KEEPER_GPUKEEPD;
	bool released = false;

	(void)state;
	assert_true(record_put_stopped(o, units, containers, true));
	assert_true(record_put_daemon(o, "/run/nvpd/socket", GK_KEEPER_NVPD, gpus));
	record_read_stopped(&c, o, false, &u, &x, &released);
	record_read_daemon(&c, o, &socket, &kind, &g);
	record_check_files(&c, socket, "nvml-settings.json");
	assert_int_equal(jcheck_finish(&c, &error), 0);
	assert_strv(u, units);
	assert_strv(x, containers);
	assert_true(released);
	assert_string_equal(socket, "/run/nvpd/socket");
	assert_int_equal(kind, GK_KEEPER_NVPD);
	assert_strv(g, gpus);
	json_object_put(o);
}

/* Reads @text's stopped and daemon fields (containers optional or not) and checks the files:
 * the error, or NULL. */
static char *read_error(const char *text, bool containers_optional, const char *settings)
{
	struct json_object *o = json_tokener_parse(text);
	_cleanup_strv_free_ char **u = NULL, **x = NULL;
	_cleanup_free_ char *socket = NULL;
	struct gk_jcheck c = {};
	enum gk_keeper_kind kind;
	char *error = NULL;
	bool released;

	assert_non_null(o);
	record_read_stopped(&c, o, containers_optional, &u, &x, &released);
	assert_non_null(x); /* an empty strv even when missing */
	record_read_daemon(&c, o, &socket, &kind, NULL);
	record_check_files(&c, socket, settings);
	if (jcheck_finish(&c, &error) == 0)
		assert_null(error);
	json_object_put(o);
	return error;
}

static void test_refused(void **state)
{
	static const char *ok = "{\"units\": [], \"containers\": [], \"daemon_released\": false, "
				"\"daemon_socket\": \"/run/gpukeep.sock\"}";
	static const char *old = "{\"units\": [], \"daemon_released\": false, "
				 "\"daemon_socket\": \"/run/gpukeep.sock\"}";
	char *e;

	(void)state;
	assert_null(read_error(ok, false, NULL));
	/* a 0.x reload journal has no containers: read where optional, refused where not */
	assert_null(read_error(old, true, NULL));
	e = read_error(old, false, NULL);
	assert_string_equal(e, "record: missing field 'containers'");
	free(e);
	e = read_error("{\"units\": [], \"containers\": [], \"daemon_released\": false, "
		       "\"daemon_socket\": null}",
		       false, NULL);
	assert_string_equal(e, "record: daemon_socket is null");
	free(e);
	e = read_error(ok, false, "../etc/passwd");
	assert_string_equal(e, "record: settings_file must name a file of the state directory");
	free(e);
	/* the first problem is the one named */
	e = read_error("{\"units\": 1, \"containers\": [], \"daemon_released\": false, "
		       "\"daemon_socket\": null, \"daemon_kind\": \"other\"}",
		       false, NULL);
	assert_string_equal(e, "record: field 'units' has the wrong type");
	free(e);
	e = read_error("{\"units\": [], \"containers\": [], \"daemon_released\": false, "
		       "\"daemon_socket\": \"/s\", \"daemon_kind\": \"other\"}",
		       false, NULL);
	assert_non_null(strstr(e, "record: daemon_kind: unknown daemon 'other'"));
	free(e);
}

static void test_before(void **state)
{
	struct json_object *o = json_tokener_parse("{\"before\": {\"version\": \"x\"}}");
	_cleanup_free_ char *error = NULL;
	struct gk_baseline b = {};
	struct gk_jcheck c = {};

	(void)state;
	assert_non_null(o);
	record_read_before(&c, o, &b);
	assert_int_equal(jcheck_finish(&c, &error), -EBADMSG);
	assert_non_null(error);
	assert_true(startswith(error, "before: "));
	baseline_done(&b);
	json_object_put(o);
	o = json_tokener_parse("{}");
	free(error);
	error = NULL;
	c = (struct gk_jcheck){};
	record_read_before(&c, o, &b);
	assert_int_equal(jcheck_finish(&c, &error), -EBADMSG);
	assert_string_equal(error, "record: missing field 'before'");
	json_object_put(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_write_order),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_before),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
