// SPDX-License-Identifier: GPL-2.0-or-later
/* The daemon client's typed decoder of GPU lists: every field's type checked, an older daemon's
 * reply (no "released") read, a malformed one refused; and connect to nothing. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/client.h"

static int decode(const char *text, struct gk_daemon_gpus *ret)
{
	struct json_object *o = json_tokener_parse(text);
	int r;

	assert_non_null(o);
	r = client_decode_gpus(o, ret);
	json_object_put(o);
	return r;
}

static void test_decode(void **state)
{
	struct gk_daemon_gpus g;

	assert_int_equal(
		decode("{\"released_all\": false, \"gpus\": [{\"index\": 0, \"pci\": "
		       "\"0000:18:00.0\", \"minor\": 0, \"uuid\": \"GPU-1\", "
		       "\"persistence\": true, \"released\": true, \"state\": "
		       "\"released\"}, {\"index\": 1, \"pci\": \"0000:2a:00.0\", \"minor\": "
		       "null, \"uuid\": null, \"persistence\": false, \"state\": "
		       "\"unavailable\"}]}",
		       &g),
		0);
	assert_int_equal(g.n, 2);
	assert_string_equal(g.gpus[0].pci, "0000:18:00.0");
	assert_true(g.gpus[0].persistence);
	assert_true(g.gpus[0].released);
	assert_string_equal(g.gpus[0].state, "released");
	assert_int_equal(g.gpus[1].minor, -1);
	assert_string_equal(g.gpus[1].uuid, "");
	assert_false(g.gpus[1].released); /* an older daemon sends no "released" */
	assert_non_null(daemon_gpus_find(&g, "0000:2a:00.0"));
	assert_null(daemon_gpus_find(&g, "0000:99:00.0"));
	daemon_gpus_done(&g);
}

static void test_refused(void **state)
{
	struct gk_daemon_gpus g;

	assert_int_equal(decode("{}", &g), -EPROTO);
	assert_int_equal(decode("{\"gpus\": {}}", &g), -EPROTO);
	assert_int_equal(decode("{\"gpus\": [1]}", &g), -EPROTO);
	assert_int_equal(decode("{\"gpus\": [{\"index\": 0, \"pci\": 7, \"minor\": 0, \"uuid\": "
				"null, \"persistence\": true, \"state\": \"held\"}]}",
				&g),
			 -EPROTO);
	assert_int_equal(decode("{\"gpus\": [{\"index\": 0, \"pci\": \"0000:18:00.0\", \"minor\": "
				"0, \"uuid\": null, \"persistence\": \"yes\", \"state\": "
				"\"held\"}]}",
				&g),
			 -EPROTO);
	assert_int_equal(decode("{\"gpus\": [{\"index\": 0, \"pci\": \"0000:18:00.0\", \"minor\": "
				"0, \"uuid\": null, \"persistence\": true, \"released\": 1, "
				"\"state\": \"held\"}]}",
				&g),
			 -EPROTO);
	assert_int_equal(decode("{\"gpus\": [{\"index\": 0, \"pci\": "
				"\"0000:18:00.0-and-far-too-long\", \"minor\": 0, \"uuid\": null, "
				"\"persistence\": true, \"state\": \"held\"}]}",
				&g),
			 -EPROTO);
}

static void test_no_daemon(void **state)
{
	struct json_object *reply = NULL;
	struct gk_client_error err = {};
	int fd = -1;

	assert_int_equal(client_connect("/nonexistent/gk.sock", 100, &fd), -ENOENT);
	assert_int_equal(client_daemon_pid("/nonexistent/gk.sock", 100), 0);
	assert_int_equal(
		client_request("/nonexistent/gk.sock", GK_REQ_LIST, NULL, -1, 100, &reply, &err),
		-ENOENT);
	assert_non_null(strstr(err.message, "cannot connect to gpukeepd at /nonexistent/gk.sock"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_no_daemon),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
