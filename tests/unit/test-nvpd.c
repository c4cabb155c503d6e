// SPDX-License-Identifier: GPL-2.0-or-later
/* nvidia-persistenced's RPC in libgk: record framing (fragments, caps, refusals), the rules of
 * its procedures (which GPU, order of checks, when a set is done), status names and errnos, and
 * the client's errors when nothing listens. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "nvpd/nvpd-client.h"
#include "nvpd/nvpd-frame.h"
#include "nvpd/nvpd-rules.h"

static size_t frag(uint8_t *out, const char *data, size_t len, bool last)
{
	uint32_t h = (uint32_t)len | (last ? NVPD_FRAG_LAST : 0);

	out[0] = (uint8_t)(h >> 24);
	out[1] = (uint8_t)(h >> 16);
	out[2] = (uint8_t)(h >> 8);
	out[3] = (uint8_t)h;
	memcpy(out + 4, data, len);
	return 4 + len;
}

static void test_frame_single(void **state)
{
	uint8_t in[64], buf[32];
	struct nvpd_record rec = {.buf = buf, .cap = sizeof(buf)};
	size_t n = frag(in, "hello", 5, true), used = 99;

	/* a byte at a time: nothing is taken until the fragment is whole */
	for (size_t k = 0; k < n; k++) {
		assert_int_equal(nvpd_frame(&rec, in, k, &used), 0);
		assert_int_equal(used, 0);
	}
	assert_int_equal(nvpd_frame(&rec, in, n, &used), 1);
	assert_int_equal(used, n);
	assert_int_equal(rec.len, 5);
	assert_memory_equal(buf, "hello", 5);
}

static void test_frame_fragments(void **state)
{
	uint8_t in[64], buf[32];
	struct nvpd_record rec = {.buf = buf, .cap = sizeof(buf)};
	size_t n = 0, used;

	n += frag(in + n, "ab", 2, false);
	n += frag(in + n, "cd", 2, false);
	n += frag(in + n, "e", 1, true);
	n += frag(in + n, "NEXT", 4, true); /* the next record stays in the input */
	assert_int_equal(nvpd_frame(&rec, in, n, &used), 1);
	assert_int_equal(used, 6 + 6 + 5);
	assert_int_equal(rec.len, 5);
	assert_memory_equal(buf, "abcde", 5);
	/* a done record takes nothing more */
	assert_int_equal(nvpd_frame(&rec, in + used, n - used, &used), 1);
	assert_int_equal(used, 0);
	/* an empty last fragment ends a record */
	rec = (struct nvpd_record){.buf = buf, .cap = sizeof(buf)};
	n = frag(in, "x", 1, false);
	n += frag(in + n, "", 0, true);
	assert_int_equal(nvpd_frame(&rec, in, n, &used), 1);
	assert_int_equal(rec.len, 1);
}

static void test_frame_refusals(void **state)
{
	uint8_t in[64], buf[8];
	struct nvpd_record rec = {.buf = buf, .cap = sizeof(buf)};
	size_t n, used;

	/* over the cap: refused on the header alone */
	n = frag(in, "0123456789", 10, true);
	assert_int_equal(nvpd_frame(&rec, in, 4, &used), -EMSGSIZE);
	/* over the cap in sum */
	n = frag(in, "01234", 5, false);
	n += frag(in + n, "56789", 5, true);
	assert_int_equal(nvpd_frame(&rec, in, n, &used), -EMSGSIZE);
	assert_int_equal(used, 9);
	/* an empty fragment that is not the last: a stream that could loop forever */
	rec = (struct nvpd_record){.buf = buf, .cap = sizeof(buf)};
	n = frag(in, "", 0, false);
	assert_int_equal(nvpd_frame(&rec, in, n, &used), -EPROTO);
	assert_int_equal(used, 0);
}

static void test_frame_header(void **state)
{
	uint8_t h[4];

	nvpd_frame_header(h, 28);
	assert_memory_equal(h, "\x80\x00\x00\x1c", 4);
}

static void test_device_match(void **state)
{
	struct gk_pci_addr a = {.domain = 0, .bus = 0x18, .dev = 0, .fn = 0};
	struct nvpd_device d = {.domain = 0, .bus = 0x18, .slot = 0, .function = 5};

	assert_true(nvpd_device_match(&d, &a)); /* the function is not compared */
	d.slot = 1;
	assert_false(nvpd_device_match(&d, &a));
	d = (struct nvpd_device){.domain = -1, .bus = 0x18};
	assert_false(nvpd_device_match(&d, &a));
	a.domain = 0x10000;
	d = (struct nvpd_device){.domain = 0x10000, .bus = 0x18};
	assert_true(nvpd_device_match(&d, &a));
}

static void test_check_order(void **state)
{
	/* permission first, then the device, then the value */
	assert_int_equal(nvpd_rule_set_check(false, false, false), NVPD_ERR_PERMISSIONS);
	assert_int_equal(nvpd_rule_set_check(false, true, true), NVPD_ERR_PERMISSIONS);
	assert_int_equal(nvpd_rule_set_check(true, false, false), NVPD_ERR_DEVICE_NOT_FOUND);
	assert_int_equal(nvpd_rule_set_check(true, true, false), NVPD_ERR_INVALID_ARGUMENT);
	assert_int_equal(nvpd_rule_set_check(true, true, true), NVPD_OK);
}

static void test_noop_settled_mode(void **state)
{
	assert_true(nvpd_rule_noop(true, true, NVPD_HOLD_OPEN));
	assert_false(nvpd_rule_noop(true, true, NVPD_HOLD_FAILED)); /* retried */
	assert_false(nvpd_rule_noop(false, true, NVPD_HOLD_CLOSED));
	assert_true(nvpd_rule_noop(false, false, NVPD_HOLD_CLOSED));
	assert_true(nvpd_rule_noop(false, false, NVPD_HOLD_FAILED));
	assert_false(nvpd_rule_noop(false, false, NVPD_HOLD_OPENING));

	assert_int_equal(nvpd_rule_settled(true, NVPD_HOLD_OPENING), -1);
	assert_int_equal(nvpd_rule_settled(false, NVPD_HOLD_OPENING), -1);
	assert_int_equal(nvpd_rule_settled(true, NVPD_HOLD_OPEN), NVPD_OK);
	assert_int_equal(nvpd_rule_settled(true, NVPD_HOLD_FAILED), NVPD_ERR_DRIVER);
	assert_int_equal(nvpd_rule_settled(true, NVPD_HOLD_CLOSED), NVPD_ERR_DRIVER);
	assert_int_equal(nvpd_rule_settled(false, NVPD_HOLD_CLOSED), NVPD_OK);
	assert_int_equal(nvpd_rule_settled(false, NVPD_HOLD_FAILED), NVPD_OK);

	assert_int_equal(nvpd_rule_mode(NVPD_HOLD_OPEN), NVPD_MODE_ENABLED);
	assert_int_equal(nvpd_rule_mode(NVPD_HOLD_OPENING), NVPD_MODE_DISABLED);
	assert_int_equal(nvpd_rule_mode(NVPD_HOLD_FAILED), NVPD_MODE_DISABLED);
}

static void test_status(void **state)
{
	assert_int_equal(nvpd_status_errno(NVPD_OK), 0);
	assert_int_equal(nvpd_status_errno(NVPD_ERR_DEVICE_NOT_FOUND), -ENODEV);
	assert_int_equal(nvpd_status_errno(NVPD_ERR_PERMISSIONS), -EPERM);
	assert_int_equal(nvpd_status_errno(NVPD_ERR_INVALID_ARGUMENT), -EINVAL);
	assert_int_equal(nvpd_status_errno(NVPD_ERR_DRIVER), -EIO);
	assert_int_equal(nvpd_status_errno(42), -EPROTO);
	assert_string_equal(nvpd_status_to_string(NVPD_ERR_PERMISSIONS), "permission denied");
	assert_string_equal(nvpd_status_to_string(-3), "unknown status");
	assert_string_equal(nvpd_status_to_string(12), "unknown status");
}

static void test_client_no_daemon(void **state)
{
	struct gk_pci_addr gpus[2] = {{.bus = 0x18}, {.bus = 0x2a}};
	struct nvpd_conn *c = NULL;
	int errs[2] = {1, 1};

	assert_int_equal(nvpd_open("/nonexistent/socket", 1, 100, &c), -ENOENT);
	assert_null(c);
	assert_int_equal(nvpd_open("/nonexistent/socket", 3, 100, &c), -EINVAL);
	assert_int_equal(nvpd_set_gpus("/nonexistent/socket", gpus, 2, false, 100, errs), -ENOENT);
	assert_int_equal(errs[0], -ENOENT);
	assert_int_equal(errs[1], -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frame_single),	  cmocka_unit_test(test_frame_fragments),
		cmocka_unit_test(test_frame_refusals),	  cmocka_unit_test(test_frame_header),
		cmocka_unit_test(test_device_match),	  cmocka_unit_test(test_check_order),
		cmocka_unit_test(test_noop_settled_mode), cmocka_unit_test(test_status),
		cmocka_unit_test(test_client_no_daemon),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
