// SPDX-License-Identifier: GPL-2.0-or-later
/* The daemon protocol: every request form, every refusal, GPU selectors, the reply envelope. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/protocol.h"

static int parse(const char *line, struct gk_request *r, struct gk_proto_err *err)
{
	return proto_request_parse(line, strlen(line), r, err);
}

static void test_requests(void **state)
{
	struct gk_request r;
	struct gk_proto_err err;

	assert_int_equal(parse("{\"version\":1,\"request\":\"list\"}", &r, &err), 0);
	assert_int_equal(r.type, GK_REQ_LIST);
	assert_null(r.id);
	proto_request_done(&r);

	assert_int_equal(parse(" {\"request\":\"status\", \"version\":1, \"id\":7} ", &r, &err), 0);
	assert_int_equal(r.type, GK_REQ_STATUS);
	assert_int_equal(json_object_get_int(r.id), 7);
	proto_request_done(&r);

	assert_int_equal(parse("{\"version\":1,\"request\":\"set-persistence\",\"enabled\":false}",
			       &r, &err),
			 0);
	assert_int_equal(r.type, GK_REQ_SET_PERSISTENCE);
	assert_int_equal(r.gpu.kind, GK_GPUSEL_ALL);
	assert_false(r.enabled);
	proto_request_done(&r);

	assert_int_equal(parse("{\"version\":1,\"request\":\"set-persistence\",\"gpu\":"
			       "\"00000000:3B:00.0\",\"enabled\":true,\"id\":\"abc\"}",
			       &r, &err),
			 0);
	assert_int_equal(r.gpu.kind, GK_GPUSEL_PCI);
	assert_int_equal(r.gpu.pci.bus, 0x3b);
	assert_true(r.enabled);
	assert_string_equal(r.gpu_text, "00000000:3B:00.0");
	assert_string_equal(json_object_get_string(r.id), "abc");
	proto_request_done(&r);

	for (int t = 0; t < _GK_REQ_MAX; t++) {
		char line[128];

		snprintf(line, sizeof(line), "{\"version\":1,\"request\":\"%s\"%s}",
			 proto_request_name(t),
			 t == GK_REQ_SET_PERSISTENCE		      ? ",\"enabled\":true"
			 : t == GK_REQ_RELEASE || t == GK_REQ_ACQUIRE ? ",\"gpu\":\"2\""
								      : "");
		assert_int_equal(parse(line, &r, &err), 0);
		assert_int_equal(r.type, t);
		proto_request_done(&r);
	}

	/* the per-GPU release of a GPU reset */
	assert_int_equal(
		parse("{\"version\":1,\"request\":\"release\",\"gpu\":\"0000:3b:00.0\"}", &r, &err),
		0);
	assert_int_equal(r.type, GK_REQ_RELEASE);
	assert_int_equal(r.gpu.kind, GK_GPUSEL_PCI);
	assert_true(proto_request_mutates(GK_REQ_RELEASE));
	assert_true(proto_request_mutates(GK_REQ_ACQUIRE));
	proto_request_done(&r);
}

static void expect_refused(const char *line, size_t len, enum gk_proto_error code,
			   const char *in_message);

static void test_release_one(void **state)
{
	expect_refused("{\"version\":1,\"request\":\"release\"}", 33, GK_PERR_BAD_REQUEST,
		       "\"release\" needs \"gpu\"");
	expect_refused("{\"version\":1,\"request\":\"acquire\",\"gpu\":\"1\",\"enabled\":true}", 58,
		       GK_PERR_BAD_REQUEST, "unknown field \"enabled\" for \"acquire\"");
	expect_refused("{\"version\":1,\"request\":\"acquire\",\"gpu\":\"zz\"}", 44,
		       GK_PERR_BAD_REQUEST, "malformed GPU \"zz\"");
}

static void expect_refused(const char *line, size_t len, enum gk_proto_error code,
			   const char *in_message)
{
	struct gk_request r = {};
	struct gk_proto_err err = {};

	assert_int_equal(proto_request_parse(line, len, &r, &err), -EPROTO);
	if (err.code != code || !strstr(err.message, in_message))
		fail_msg("'%s': got %s '%s'", line, proto_error_name(err.code), err.message);
}

static void refused(const char *line, enum gk_proto_error code, const char *in_message)
{
	expect_refused(line, strlen(line), code, in_message);
}

static void test_malformed(void **state)
{
	refused("", GK_PERR_BAD_REQUEST, "incomplete");
	refused("{", GK_PERR_BAD_REQUEST, "incomplete");
	refused("{\"version\":1,\"request\":\"list\"", GK_PERR_BAD_REQUEST, "incomplete");
	refused("hello", GK_PERR_BAD_REQUEST, "malformed JSON");
	refused("[1,2]", GK_PERR_BAD_REQUEST, "JSON object");
	refused("\"list\"", GK_PERR_BAD_REQUEST, "JSON object");
	refused("{\"version\":1,\"request\":\"list\"} {}", GK_PERR_BAD_REQUEST, "JSON");
	refused("{\"version\":1,\"request\":\"list\"}x", GK_PERR_BAD_REQUEST, "JSON");
	refused("{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":1}}}}}", GK_PERR_BAD_REQUEST, "malformed");
	expect_refused("{\"version\":1,\0\"request\":\"list\"}", 33, GK_PERR_BAD_REQUEST, "NUL");
}

static void test_invalid(void **state)
{
	refused("{\"request\":\"list\"}", GK_PERR_BAD_REQUEST, "missing \"version\"");
	refused("{\"version\":2,\"request\":\"list\"}", GK_PERR_UNSUPPORTED_VERSION, "version 2");
	refused("{\"version\":\"1\",\"request\":\"list\"}", GK_PERR_UNSUPPORTED_VERSION,
		"unsupported");
	refused("{\"version\":1}", GK_PERR_BAD_REQUEST, "missing \"request\"");
	refused("{\"version\":1,\"request\":3}", GK_PERR_BAD_REQUEST, "must be a string");
	refused("{\"version\":1,\"request\":\"reboot\"}", GK_PERR_UNKNOWN_REQUEST, "reboot");
	refused("{\"version\":1,\"request\":\"list\",\"gpu\":\"0\"}", GK_PERR_BAD_REQUEST,
		"unknown field \"gpu\"");
	refused("{\"version\":1,\"request\":\"set-persistence\"}", GK_PERR_BAD_REQUEST,
		"needs \"enabled\"");
	refused("{\"version\":1,\"request\":\"set-persistence\",\"enabled\":1}",
		GK_PERR_BAD_REQUEST, "true or false");
	refused("{\"version\":1,\"request\":\"set-persistence\",\"enabled\":true,\"mode\":1}",
		GK_PERR_BAD_REQUEST, "unknown field \"mode\"");
	refused("{\"version\":1,\"request\":\"set-persistence\",\"enabled\":true,\"gpu\":3}",
		GK_PERR_BAD_REQUEST, "must be a string");
	refused("{\"version\":1,\"request\":\"set-persistence\",\"enabled\":true,\"gpu\":"
		"\"0000:3b:00.9\"}",
		GK_PERR_BAD_REQUEST, "malformed GPU \"0000:3b:00.9\"");
	refused("{\"version\":1,\"request\":\"list\",\"id\":[1]}", GK_PERR_BAD_REQUEST, "\"id\"");
	refused("{\"version\":1,\"request\":\"list\",\"id\":\"0123456789012345678901234567890123"
		"456789012345678901234567890123456789\"}",
		GK_PERR_BAD_REQUEST, "\"id\"");
}

/* issue 15, defect 3: what json-c does not refuse by itself */
static void test_hostile(void **state)
{
	struct gk_request r;
	struct gk_proto_err err;

	/* the last key won: this released every GPU */
	refused("{\"version\":1,\"request\":\"list\",\"request\":\"release-all\"}",
		GK_PERR_BAD_REQUEST, "duplicate key \"request\"");
	refused("{\"version\":1,\"version\":1,\"request\":\"list\"}", GK_PERR_BAD_REQUEST,
		"duplicate key \"version\"");
	refused("{ \"version\" : 1 , \"request\" : \"list\" , \"id\":1, \"id\":2 }",
		GK_PERR_BAD_REQUEST, "duplicate key \"id\"");
	/* the same key spelled with an escape is still the same key */
	refused("{\"version\":1,\"request\":\"list\",\"requ\\u0065st\":\"release-all\"}",
		GK_PERR_BAD_REQUEST, "twice");
	/* a duplicate inside a nested value is not a top-level key: refused as a wrong type */
	refused("{\"version\":1,\"request\":\"list\",\"id\":{\"a\":1,\"a\":2}}",
		GK_PERR_BAD_REQUEST, "\"id\"");
	/* invalid UTF-8 was echoed raw into the reply, which was then not JSON */
	refused("{\"version\":1,\"request\":\"li\xffst\"}", GK_PERR_BAD_REQUEST, "invalid UTF-8");
	refused("{\"version\":1,\"request\":\"\xc3\"}", GK_PERR_BAD_REQUEST, "invalid UTF-8");
	refused("{\"version\":1,\"request\":\"\xed\xa0\x80\"}", GK_PERR_BAD_REQUEST, "UTF-8");
	/* "list\u0000" ran "list" */
	refused("{\"version\":1,\"request\":\"list\\u0000\"}", GK_PERR_BAD_REQUEST, "\\u0000");
	refused("{\"version\":1,\"request\":\"list\",\"id\":\"a\\u0000b\"}", GK_PERR_BAD_REQUEST,
		"NUL");
	refused("{\"version\\u0000x\":1,\"request\":\"list\"}", GK_PERR_BAD_REQUEST, "NUL");
	/* a 28-digit id came back as 18446744073709551615 */
	refused("{\"version\":1,\"request\":\"list\",\"id\":1234567890123456789012345678}",
		GK_PERR_BAD_REQUEST, "out of range");
	refused("{\"version\":1,\"request\":\"list\",\"id\":9223372036854775808}",
		GK_PERR_BAD_REQUEST, "out of range");
	refused("{\"version\":99999999999999999999,\"request\":\"list\"}", GK_PERR_BAD_REQUEST,
		"out of range");
	/* found by fuzz-protocol: the message quoted 24 bytes of a shorter number at the end of a
	 * line that is not NUL-terminated, reading past it */
	{
		static const char line[] = "{\"$\": 777777777777777777777}";
		char *exact = malloc(sizeof(line) - 1);

		assert_non_null(exact);
		memcpy(exact, line, sizeof(line) - 1);
		expect_refused(exact, sizeof(line) - 1, GK_PERR_BAD_REQUEST,
			       "out of range: 777777777777777777777 (");
		free(exact);
	}
	/* the edges still pass, and "\\u0000" spelled as text (an escaped backslash) is no NUL */
	assert_int_equal(
		parse("{\"version\":1,\"request\":\"list\",\"id\":-9223372036854775808}", &r, &err),
		0);
	assert_int_equal(json_object_get_int64(r.id), INT64_MIN);
	proto_request_done(&r);
	assert_int_equal(
		parse("{\"version\":1,\"request\":\"list\",\"id\":\"\\\\u0000\"}", &r, &err), 0);
	assert_string_equal(json_object_get_string(r.id), "\\u0000");
	proto_request_done(&r);
	assert_int_equal(
		parse("{\"version\":1,\"request\":\"list\",\"id\":\"caf\xc3\xa9\"}", &r, &err), 0);
	proto_request_done(&r);
}

/* A message that quotes a client's string stays valid UTF-8 even when it is cut short. */
static void test_clipped_utf8(void **state)
{
	struct gk_request r = {};
	struct gk_proto_err err = {};
	char line[512], *p;

	p = line + snprintf(line, sizeof(line), "{\"version\":1,\"request\":\"x");
	for (int i = 0; i < 40; i++)
		p += snprintf(p, 4, "\xc3\xa9"); /* 80 bytes of two-byte characters */
	snprintf(p, 8, "\"}");
	assert_int_equal(proto_request_parse(line, strlen(line), &r, &err), -EPROTO);
	assert_int_equal(err.code, GK_PERR_UNKNOWN_REQUEST);
	p = strchr(err.message, '"') + 1;
	/* 64 bytes allowed; the 64th is the first half of a character: cut before it */
	assert_int_equal(strchr(p, '"') - p, 63);
}

static void test_gpusel(void **state)
{
	struct gk_pci_addr a = {.domain = 0, .bus = 0x3b, .dev = 0, .fn = 0};
	const char *uuid = "GPU-00003b00-0000-03b0-0000-003b00000003";
	struct gk_gpusel s;

	assert_int_equal(gpusel_parse("2", &s), 0);
	assert_int_equal(s.kind, GK_GPUSEL_INDEX);
	assert_true(gpusel_match(&s, 2, 7, &a, uuid));
	assert_false(gpusel_match(&s, 7, 2, &a, uuid));

	assert_int_equal(gpusel_parse("minor:7", &s), 0);
	assert_int_equal(s.kind, GK_GPUSEL_MINOR);
	assert_true(gpusel_match(&s, 2, 7, &a, uuid));
	assert_false(gpusel_match(&s, 7, -1, &a, uuid));
	assert_int_equal(gpusel_parse("/dev/nvidia7", &s), 0);
	assert_true(gpusel_match(&s, 2, 7, &a, uuid));

	assert_int_equal(gpusel_parse("3b:00.0", &s), 0);
	assert_int_equal(s.kind, GK_GPUSEL_PCI);
	assert_true(gpusel_match(&s, 0, 0, &a, NULL));
	assert_int_equal(gpusel_parse("00000000:3B:00.0", &s), 0);
	assert_true(gpusel_match(&s, 0, 0, &a, NULL));
	assert_int_equal(gpusel_parse("0000:3b:00", &s), 0);
	assert_true(gpusel_match(&s, 0, 0, &a, NULL));

	assert_int_equal(gpusel_parse("gpu-00003B00-0000-03B0-0000-003B00000003", &s), 0);
	assert_int_equal(s.kind, GK_GPUSEL_UUID);
	assert_true(gpusel_match(&s, 0, 0, &a, uuid));
	assert_false(gpusel_match(&s, 0, 0, &a, NULL));

	static const char *const bad[] = {
		"",	     "-1",
		" 1",	     "1 ",
		"0x1",	     "minor:",
		"minor:254", "minor:x",
		"nvidia",    "3b:00.8",
		"GPU-1234",  "GPU-00003b00-0000-03b0-0000-003b0000000g",
		"9999999",   "/dev/nvidiactl",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (gpusel_parse(bad[i], &s) != -EINVAL)
			fail_msg("selector '%s' was accepted", bad[i]);
}

static void test_replies(void **state)
{
	struct json_object *id = json_object_new_int(5), *o;
	const char *code = NULL, *msg = NULL;
	char *line;
	size_t len;

	o = proto_reply_ok(id);
	line = proto_serialize(o, &len);
	assert_string_equal(line, "{\"version\":1,\"ok\":true,\"id\":5}\n");
	assert_int_equal(len, strlen(line));
	assert_int_equal(proto_reply_check(o, &code, &msg), 0);
	free(line);
	json_object_put(o);

	o = proto_reply_error(NULL, GK_PERR_UNKNOWN_GPU, "no GPU matches \"9\"");
	assert_int_equal(proto_reply_check(o, &code, &msg), 1);
	assert_string_equal(code, "unknown-gpu");
	assert_string_equal(msg, "no GPU matches \"9\"");
	json_object_put(o);

	o = json_tokener_parse("{\"version\":2,\"ok\":true}");
	assert_int_equal(proto_reply_check(o, &code, &msg), -EPROTO);
	json_object_put(o);
	json_object_put(id);

	assert_true(proto_request_mutates(GK_REQ_SET_PERSISTENCE));
	assert_true(proto_request_mutates(GK_REQ_RELEASE_ALL));
	assert_true(proto_request_mutates(GK_REQ_ACQUIRE_ALL));
	assert_true(proto_request_mutates(GK_REQ_REENUMERATE));
	assert_false(proto_request_mutates(GK_REQ_LIST));
	assert_false(proto_request_mutates(GK_REQ_STATUS));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_requests),  cmocka_unit_test(test_release_one),
		cmocka_unit_test(test_malformed), cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_gpusel),	  cmocka_unit_test(test_replies),
		cmocka_unit_test(test_hostile),	  cmocka_unit_test(test_clipped_utf8),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
