// SPDX-License-Identifier: GPL-2.0-or-later
/* The Prometheus text and the event log: escaping, one HELP/TYPE per name, a newline at the
 * end; the log appends whole lines, rotates by size and reads back oldest first. */
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

#include "ladder/eventlog.h"
#include "ladder/metrics.h"
#include "macro.h"

static const char *uuid(const char *gpu, void *ud)
{
	return streq(gpu, "0000:07:00") ? "GPU-a\"b\\c" : "";
}

static size_t count(const char *s, const char *needle)
{
	size_t n = 0;

	for (const char *p = s; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static void test_render(void **state)
{
	struct gk_metrics m = {.gpus_held = 3, .healthy = true, .act = true, .started = 17};
	_cleanup_free_ char *text = NULL;

	metrics_count_xid(&m, "0000:07:00", 13, false, 100);
	metrics_count_xid(&m, "0000:07:00", 13, false, 200);
	metrics_count_xid(&m, "0000:07:00", 79, false, 150);
	metrics_count_xid(&m, "0000:c3:00", 12028, true, 150);
	m.actions[GK_LADDER_RESET][GK_RESULT_OK] = 2;
	assert_int_equal(metrics_render(&m, uuid, NULL, &text), 0);
	assert_non_null(
		strstr(text, "gpukeep_xid_errors_total{gpu=\"0000:07:00\",uuid=\"GPU-a\\\"b\\\\c\","
			     "xid=\"13\"} 2\n"));
	assert_non_null(strstr(text, "gpukeep_xid_last_seen_timestamp_seconds{gpu=\"0000:07:00\","
				     "uuid=\"GPU-a\\\"b\\\\c\",xid=\"13\"} 200\n"));
	assert_non_null(strstr(
		text, "gpukeep_sxid_errors_total{nvswitch=\"0000:c3:00\",sxid=\"12028\"} 1\n"));
	assert_non_null(
		strstr(text, "gpukeep_ladder_actions_total{rung=\"reset\",result=\"ok\"} 2\n"));
	assert_non_null(strstr(text, "gpukeep_gpus_held 3\n"));
	assert_int_equal(count(text, "# TYPE gpukeep_xid_errors_total counter\n"), 1);
	assert_int_equal(text[strlen(text) - 1], '\n');
	/* an unknown count of GPUs held is no sample, not a 0 */
	m.gpus_held = -1;
	free(text);
	text = NULL;
	assert_int_equal(metrics_render(&m, uuid, NULL, &text), 0);
	assert_null(strstr(text, "gpukeep_gpus_held"));
}

static int collect(const char *line, void *ud)
{
	char *buf = ud;

	strcat(buf, line);
	strcat(buf, "|");
	return 0;
}

static void test_eventlog_rotation(void **state)
{
	char dir[] = "/tmp/gk-eventlog-XXXXXX", got[16384] = "", line[64];
	struct gk_eventlog l;
	int fd;

	assert_non_null(mkdtemp(dir));
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_int_equal(eventlog_read(fd, 3, collect, got), -ENOENT);
	assert_int_equal(eventlog_open(fd, 4096, 2, &l), 0);
	/* 400 lines of 40 bytes: 16000 bytes through a 4 KiB log with 2 old files kept */
	for (int i = 0; i < 400; i++) {
		snprintf(line, sizeof(line), "{\"n\":%03d,\"pad\":\"xxxxxxxxxxxxxxxxxxxxx\"}", i);
		assert_int_equal(eventlog_append(&l, line), 0);
	}
	eventlog_close(&l);
	assert_int_equal(faccessat(fd, "events.log.1", F_OK, 0), 0);
	assert_int_equal(faccessat(fd, "events.log.2", F_OK, 0), 0);
	assert_int_equal(faccessat(fd, "events.log.3", F_OK, 0), -1);
	assert_int_equal(eventlog_read(fd, 2, collect, got), 0);
	/* the newest is last, whole lines only, the oldest rotated away */
	assert_non_null(strstr(got, "{\"n\":399,"));
	assert_null(strstr(got, "{\"n\":000,"));
	assert_true(strlen(got) < 3 * 4096);
	assert_int_equal(count(got, "|"), count(got, "{\"n\":"));
	assert_int_equal(count(got, "|"), strlen(got) / 40);
	unlinkat(fd, "events.log", 0);
	unlinkat(fd, "events.log.1", 0);
	unlinkat(fd, "events.log.2", 0);
	close(fd);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_render),
		cmocka_unit_test(test_eventlog_rotation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
