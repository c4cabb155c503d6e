// SPDX-License-Identifier: GPL-2.0-or-later
/* gpukeepd's state file: round trip, atomic save, and every kind of corruption refused. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon/pmstate.h"

static void test_set_get(void **state)
{
	struct gk_pmstate s = {};
	bool on;

	assert_int_equal(pmstate_set(&s, "0000:db:00.0", true), 0);
	assert_int_equal(pmstate_set(&s, "18:00.0", false), 0);
	assert_int_equal(pmstate_set(&s, "00000000:DB:00.0", false), 0); /* same GPU */
	assert_int_equal(s.n, 2);
	assert_string_equal(s.entries[0].pci, "0000:18:00.0"); /* sorted, canonical */
	assert_int_equal(pmstate_get(&s, "0000:db:00.0", &on), 0);
	assert_false(on);
	assert_int_equal(pmstate_get(&s, "0000:01:00.0", &on), -ENOENT);
	assert_int_equal(pmstate_set(&s, "not-a-gpu", true), -EINVAL);
	pmstate_done(&s);
}

static void test_round_trip(void **state)
{
	struct gk_pmstate s = {}, t = {};
	char err[128];
	char *text;
	bool on;

	pmstate_set(&s, "0000:3a:00.0", false);
	pmstate_set(&s, "0000:2a:00.0", true);
	text = pmstate_format(&s);
	assert_non_null(text);
	assert_int_equal(pmstate_parse(text, &t, err, sizeof(err)), 0);
	assert_int_equal(t.n, 2);
	assert_int_equal(pmstate_get(&t, "0000:3a:00.0", &on), 0);
	assert_false(on);
	assert_int_equal(pmstate_get(&t, "0000:2a:00.0", &on), 0);
	assert_true(on);
	free(text);
	pmstate_done(&s);
	pmstate_done(&t);
}

static void corrupt(const char *text, const char *in_err)
{
	struct gk_pmstate s = {};
	char err[128] = "";

	assert_int_equal(pmstate_parse(text, &s, err, sizeof(err)), -EBADMSG);
	if (!strstr(err, in_err))
		fail_msg("'%s': error '%s' does not mention '%s'", text, err, in_err);
	assert_null(s.entries);
}

static void test_corrupt(void **state)
{
	corrupt("", "truncated");
	corrupt("{\"schema\":\"gpukeepd.state\",\"version\":1,\"gpus\":[", "truncated");
	corrupt("\x01\x02garbage", "malformed JSON");
	corrupt("[]", "not a JSON object");
	corrupt("{\"schema\":\"other\",\"version\":1,\"gpus\":[]}", "schema");
	corrupt("{\"schema\":\"gpukeepd.state\",\"version\":2,\"gpus\":[]}", "version");
	corrupt("{\"schema\":\"gpukeepd.state\",\"version\":1}", "\"gpus\"");
	corrupt("{\"schema\":\"gpukeepd.state\",\"version\":1,\"gpus\":[{\"pci\":\"x\","
		"\"persistence\":true}]}",
		"malformed PCI address");
	corrupt("{\"schema\":\"gpukeepd.state\",\"version\":1,\"gpus\":[{\"pci\":\"0000:01:00.0\","
		"\"persistence\":1}]}",
		"gpus[0]");
	corrupt("{\"schema\":\"gpukeepd.state\",\"version\":1,\"gpus\":[{\"pci\":\"0000:01:00.0\","
		"\"persistence\":true},{\"pci\":\"01:00.0\",\"persistence\":false}]}",
		"twice");
	/* issue 15, defect 1: types are checked before values are used */
	corrupt("{\"schema\":null}", "schema");
	corrupt("{\"schema\":7,\"version\":1,\"gpus\":[]}", "schema");
	corrupt("{\"schema\":{},\"version\":1,\"gpus\":[]}", "schema");
	corrupt("{\"schema\":\"gpukeepd.state\",\"version\":null,\"gpus\":[]}", "version");
	corrupt("{\"schema\":\"gpukeepd.state\",\"version\":\"1\",\"gpus\":[]}", "version");
	corrupt("{\"schema\":\"gpukeepd.state\",\"version\":1,\"gpus\":null}", "\"gpus\"");
	corrupt("{\"schema\":\"gpukeepd.state\",\"version\":1,\"gpus\":[null]}", "gpus[0]");
	corrupt("{\"schema\":\"gpukeepd.state\",\"version\":1,\"gpus\":[{\"pci\":null,"
		"\"persistence\":true}]}",
		"gpus[0]");
}

/* The state directory belongs to the daemon user; the file is read as root at start. */
static void test_load_not_regular(void **state)
{
	char dir[] = "/tmp/test-pmstate.XXXXXX", err[128] = "";
	struct gk_pmstate t = {};
	int dirfd;

	assert_non_null(mkdtemp(dir));
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(dirfd >= 0);
	assert_int_equal(mkfifoat(dirfd, GK_PMSTATE_FILE, 0600), 0);
	/* would block forever in open() without O_NONBLOCK */
	assert_int_equal(pmstate_load(dirfd, GK_PMSTATE_FILE, &t, err, sizeof(err)), -EBADMSG);
	assert_non_null(strstr(err, "not a regular file"));
	assert_int_equal(unlinkat(dirfd, GK_PMSTATE_FILE, 0), 0);
	assert_int_equal(symlinkat("/etc/passwd", dirfd, GK_PMSTATE_FILE), 0);
	assert_int_equal(pmstate_load(dirfd, GK_PMSTATE_FILE, &t, err, sizeof(err)), -EBADMSG);
	assert_int_equal(unlinkat(dirfd, GK_PMSTATE_FILE, 0), 0);
	assert_int_equal(mkdirat(dirfd, GK_PMSTATE_FILE, 0700), 0);
	assert_int_equal(pmstate_load(dirfd, GK_PMSTATE_FILE, &t, err, sizeof(err)), -EBADMSG);
	assert_int_equal(unlinkat(dirfd, GK_PMSTATE_FILE, AT_REMOVEDIR), 0);
	close(dirfd);
	rmdir(dir);
}

static void test_save_load(void **state)
{
	char dir[] = "/tmp/test-pmstate.XXXXXX", err[128], path[64];
	struct gk_pmstate s = {}, t = {};
	struct stat st;
	int dirfd, fd;

	assert_non_null(mkdtemp(dir));
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(dirfd >= 0);
	assert_int_equal(pmstate_load(dirfd, GK_PMSTATE_FILE, &t, err, sizeof(err)), -ENOENT);

	pmstate_set(&s, "0000:18:00.0", false);
	assert_int_equal(pmstate_save(dirfd, GK_PMSTATE_FILE, &s), 0);
	assert_int_equal(pmstate_load(dirfd, GK_PMSTATE_FILE, &t, err, sizeof(err)), 0);
	assert_int_equal(t.n, 1);
	pmstate_done(&t);
	/* no temporary file left behind */
	snprintf(path, sizeof(path), ".%s.tmp", GK_PMSTATE_FILE);
	assert_int_equal(fstatat(dirfd, path, &st, 0), -1);

	/* a corrupt file is reported, not fatal to the caller */
	fd = openat(dirfd, GK_PMSTATE_FILE, O_WRONLY | O_TRUNC | O_CLOEXEC);
	assert_int_equal(write(fd, "{\"sch", 5), 5);
	close(fd);
	assert_int_equal(pmstate_load(dirfd, GK_PMSTATE_FILE, &t, err, sizeof(err)), -EBADMSG);

	/* saving over a corrupt file replaces it */
	assert_int_equal(pmstate_save(dirfd, GK_PMSTATE_FILE, &s), 0);
	assert_int_equal(pmstate_load(dirfd, GK_PMSTATE_FILE, &t, err, sizeof(err)), 0);
	pmstate_done(&t);
	pmstate_done(&s);
	unlinkat(dirfd, GK_PMSTATE_FILE, 0);
	close(dirfd);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_set_get),		 cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_corrupt),		 cmocka_unit_test(test_save_load),
		cmocka_unit_test(test_load_not_regular),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
