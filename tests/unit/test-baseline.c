// SPDX-License-Identifier: GPL-2.0-or-later
/* Baselines: a saved one loads back identical; a corrupt one is refused with the field named. */
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

#include "baseline/baseline.h"
#include "string-util.h"

static char path[] = "/tmp/gk-baseline-XXXXXX";

static int setup(void **state)
{
	int fd = mkstemp(path);

	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

static int teardown(void **state)
{
	unlink(path);
	return 0;
}

static void put(const char *text)
{
	FILE *f = fopen(path, "we");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static struct gk_baseline sample(void)
{
	struct gk_baseline b = {};

	b.driver_version = strdup("535.261.03");
	b.gpus = calloc(2, sizeof(*b.gpus));
	b.n_gpus = 2;
	snprintf(b.gpus[0].pci, sizeof(b.gpus[0].pci), "0000:18:00.0");
	b.gpus[0] = (struct gk_baseline_gpu){
		.bound = true, .minor = 0, .cur_width = 16, .max_width = 16, .max_gts = 32.0};
	snprintf(b.gpus[0].pci, sizeof(b.gpus[0].pci), "0000:18:00.0");
	b.gpus[0].uuid = strdup("GPU-00001800-0000-0180-0000-001800000001");
	b.gpus[1] = (struct gk_baseline_gpu){
		.bound = false, .minor = -1, .cur_width = -1, .max_width = -1};
	snprintf(b.gpus[1].pci, sizeof(b.gpus[1].pci), "0000:2a:00.0");
	b.nvswitches = calloc(1, sizeof(char *));
	b.modules = calloc(1, sizeof(char *));
	b.device_nodes = calloc(1, sizeof(char *));
	assert_int_equal(strv_extend(&b.modules, "nvidia"), 0);
	assert_int_equal(strv_extend(&b.device_nodes, "/dev/nvidia0"), 0);
	return b;
}

static void test_roundtrip(void **state)
{
	struct gk_baseline b = sample(), c;
	struct json_object *o = baseline_to_json(&b);

	put(json_object_to_json_string(o));
	json_object_put(o);
	assert_int_equal(baseline_load(AT_FDCWD, path, &c, NULL), 0);
	assert_string_equal(c.driver_version, "535.261.03");
	assert_int_equal(c.n_gpus, 2);
	assert_string_equal(c.gpus[0].pci, "0000:18:00.0");
	assert_true(c.gpus[0].bound);
	assert_string_equal(c.gpus[0].uuid, b.gpus[0].uuid);
	assert_int_equal(c.gpus[0].cur_width, 16);
	assert_true(c.gpus[0].max_gts == 32.0);
	assert_false(c.gpus[1].bound);
	assert_null(c.gpus[1].uuid);
	assert_int_equal(c.gpus[1].minor, -1);
	assert_int_equal(strv_length(c.modules), 1);
	assert_int_equal(strv_length(c.nvswitches), 0);
	baseline_done(&b);
	baseline_done(&c);
}

#define GPU(pci, gts)                                                                              \
	"{\"pci\": \"" pci "\", \"bound\": true, \"uuid\": null, \"model\": null, \"minor\": 0, "  \
	"\"current_width\": 16, \"max_width\": 16, \"max_gts\": " gts "}"

static void test_corrupt(void **state)
{
	static const struct {
		const char *text, *error;
	} cases[] = {
		{"", "truncated at byte 0"},
		/* issue 15, defect 7: said "not valid JSON: continue" */
		{"{\"schema\": \"gpukeep.baseline\", \"version\": 1",
		 "truncated at byte 43 (line 1)"},
		{"{\n\"schema\": \"gpukeep.baseline\",\n\"version\": x}",
		 "not valid JSON at byte 43 (line 3)"},
		{"{\"schema\": \"gpukeep.b\xff"
		 "aseline\"}",
		 "not valid JSON"},
		{"[1, 2]", "not a JSON object"},
		{"{} {}", "trailing data"},
		{"{\"schema\": \"gpukeep.inventory\", \"version\": 1}", "not a gpukeep baseline"},
		{"{\"schema\": \"gpukeep.baseline\", \"version\": 9}",
		 "version 9 is not supported"},
		{"{\"schema\": \"gpukeep.baseline\", \"version\": 1, \"driver_version\": null}",
		 "missing field 'gpus'"},
		{"{\"schema\": \"gpukeep.baseline\", \"version\": 1, \"driver_version\": null, "
		 "\"gpus\": [{\"pci\": \"0000:zz:00.0\"}]}",
		 "gpus[0]: '0000:zz:00.0' is not a PCI address"},
		{"{\"schema\": \"gpukeep.baseline\", \"version\": 1, \"driver_version\": null, "
		 "\"gpus\": [{\"pci\": \"0000:18:00.0\", \"bound\": \"yes\"}]}",
		 "gpus[0]: field 'bound' has the wrong type"},
		{"{\"schema\": \"gpukeep.baseline\", \"version\": 1, \"driver_version\": null, "
		 "\"gpus\": [{\"pci\": \"0000:18:00.0\", \"bound\": true, \"uuid\": null, "
		 "\"model\": null, \"minor\": 999, \"current_width\": 16, \"max_width\": 16}]}",
		 "gpus[0]: field 'minor' out of range"},
		{"{\"schema\": \"gpukeep.baseline\", \"version\": 1, \"driver_version\": null, "
		 "\"gpus\": [], \"nvswitches\": [], \"modules\": [3], \"device_nodes\": []}",
		 "modules[0] is not a string"},
		/* issue 15, defect 7: the meaning, not only the types */
		{"{\"schema\": \"gpukeep.baseline\", \"version\": 1, \"driver_version\": null, "
		 "\"gpus\": [" GPU("0000:18:00.0", "-16.0") "]}",
		 "gpus[0]: max_gts -16 is not a link speed"},
		{"{\"schema\": \"gpukeep.baseline\", \"version\": 1, \"driver_version\": null, "
		 "\"gpus\": [" GPU("0000:18:00.0", "0") "]}",
		 "max_gts 0 is not a link speed"},
		{"{\"schema\": \"gpukeep.baseline\", \"version\": 1, \"driver_version\": null, "
		 "\"gpus\": [" GPU("0000:18:00.0", "\"16\"") "]}",
		 "field 'max_gts' has the wrong type"},
		{"{\"schema\": \"gpukeep.baseline\", \"version\": 1, \"driver_version\": null, "
		 "\"gpus\": [" GPU("0000:18:00.0", "16.0") ", " GPU("18:00.0", "16.0") "]}",
		 "gpus[0] and gpus[1] have the same PCI address 0000:18:00.0"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct gk_baseline b = {.n_gpus = 42};
		char *error = NULL;

		put(cases[i].text);
		assert_int_equal(baseline_load(AT_FDCWD, path, &b, &error), -EBADMSG);
		assert_non_null(error);
		if (!strstr(error, cases[i].error))
			fail_msg("case %zu: '%s' does not say '%s'", i, error, cases[i].error);
		assert_int_equal(b.n_gpus, 42); /* untouched */
		free(error);
	}
	assert_int_equal(baseline_load(AT_FDCWD, "/nonexistent/baseline.json", NULL, NULL),
			 -ENOENT);
}

/* validate --baseline FIFO blocked for ever in open() */
static void test_not_regular(void **state)
{
	char dir[] = "/tmp/gk-baseline-fifo-XXXXXX", fifo[64];
	struct gk_baseline b = {};
	char *error = NULL;

	assert_non_null(mkdtemp(dir));
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(baseline_load(AT_FDCWD, fifo, &b, &error), -EBADMSG);
	assert_non_null(strstr(error, "not a regular file"));
	free(error);
	unlink(fifo);
	assert_int_equal(baseline_load(AT_FDCWD, dir, &b, NULL), -EISDIR);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_corrupt),
		cmocka_unit_test(test_not_regular),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
