// SPDX-License-Identifier: GPL-2.0-or-later
/* The reload journal: what a run writes, the next reads back whole; anything else is refused. */
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

#include "procedure/journal.h"
#include "string-util.h"

static char dir[] = "/tmp/gk-journal-XXXXXX";
static int dirfd_;

static int setup(void **state)
{
	if (!mkdtemp(dir))
		return -1;
	dirfd_ = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return dirfd_ < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	unlinkat(dirfd_, GK_JOURNAL_FILE, 0);
	close(dirfd_);
	rmdir(dir);
	return 0;
}

static void make(struct gk_journal *j)
{
	*j = (struct gk_journal){.pid = 4242, .started = 1795449232, .runs = 1};
	j->before.gpus = calloc(1, sizeof(*j->before.gpus));
	j->before.n_gpus = 1;
	j->before.gpus[0] = (struct gk_baseline_gpu){
		.bound = true, .minor = 0, .cur_width = 16, .max_width = 16, .max_gts = 32.0};
	snprintf(j->before.gpus[0].pci, sizeof(j->before.gpus[0].pci), "0000:18:00.0");
	j->before.nvswitches = calloc(1, sizeof(char *));
	j->before.modules = calloc(1, sizeof(char *));
	j->before.device_nodes = calloc(1, sizeof(char *));
	j->units = calloc(1, sizeof(char *));
	j->unload_order = calloc(1, sizeof(char *));
	strv_extend(&j->unload_order, "nvidia_uvm");
	strv_extend(&j->unload_order, "nvidia");
	strv_extend(&j->units, "nvidia-dcgm.service");
	j->module_params = calloc(1, sizeof(char *));
	strv_extend(&j->module_params, "nvidia_drm.modeset=Y");
	j->daemon_released = true;
	j->daemon_socket = strdup("/run/gpukeep/socket");
	j->settings_file = strdup("reload.settings.json");
	j->n_steps = 3;
	snprintf(j->steps[0].name, sizeof(j->steps[0].name), "lock");
	j->steps[0].status = GK_STEP_DONE;
	j->steps[0].ms = 12;
	j->steps[0].detail = strdup("journal written");
	snprintf(j->steps[1].name, sizeof(j->steps[1].name), "stop");
	j->steps[1].status = GK_STEP_RUNNING;
	snprintf(j->steps[2].name, sizeof(j->steps[2].name), "unload");
}

static void test_roundtrip(void **state)
{
	struct gk_journal j, k;

	make(&j);
	assert_int_equal(journal_save(dirfd_, GK_JOURNAL_FILE, &j), 0);
	assert_int_equal(journal_load(dirfd_, GK_JOURNAL_FILE, &k, NULL), 0);
	assert_int_equal(k.pid, 4242);
	assert_int_equal(k.started, 1795449232);
	assert_int_equal(k.before.n_gpus, 1);
	assert_string_equal(k.before.gpus[0].pci, "0000:18:00.0");
	assert_int_equal(strv_length(k.unload_order), 2);
	assert_string_equal(k.unload_order[1], "nvidia");
	assert_string_equal(k.units[0], "nvidia-dcgm.service");
	assert_string_equal(k.module_params[0], "nvidia_drm.modeset=Y");
	assert_true(k.daemon_released);
	assert_string_equal(k.daemon_socket, "/run/gpukeep/socket");
	assert_string_equal(k.settings_file, "reload.settings.json");
	assert_int_equal(k.n_steps, 3);
	assert_int_equal(k.steps[0].status, GK_STEP_DONE);
	assert_string_equal(k.steps[0].detail, "journal written");
	assert_int_equal(k.steps[1].status, GK_STEP_RUNNING);
	assert_null(k.steps[2].detail);
	assert_int_equal(journal_find_step(&k, "unload"), 2);
	assert_int_equal(journal_find_step(&k, "nope"), -1);
	assert_false(k.finished);
	journal_done(&j);
	journal_done(&k);
}

static void put(const char *text)
{
	int fd = openat(dirfd_, GK_JOURNAL_FILE, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static void test_corrupt(void **state)
{
	struct gk_journal j, k;
	struct json_object *o = NULL;
	const char *full;
	char *error = NULL, *cut;

	/* a journal cut short by a crash in the middle of a write (not atomic) */
	make(&j);
	assert_int_equal(journal_save(dirfd_, GK_JOURNAL_FILE, &j), 0);
	assert_int_equal(json_parse_file_at(dirfd_, GK_JOURNAL_FILE, 1 << 20, &o, NULL), 0);
	full = json_object_to_json_string(o);
	cut = strndup(full, strlen(full) / 2);
	put(cut);
	assert_int_equal(journal_load(dirfd_, GK_JOURNAL_FILE, &k, &error), -EBADMSG);
	assert_non_null(strstr(error, "not valid JSON"));
	free(error);
	free(cut);
	json_object_put(o);
	journal_done(&j);

	put("{\"schema\": \"gpukeep.baseline\", \"version\": 1}");
	assert_int_equal(journal_load(dirfd_, GK_JOURNAL_FILE, &k, &error), -EBADMSG);
	assert_non_null(strstr(error, "not a gpukeep reload journal"));
	free(error);

	put("{\"schema\": \"gpukeep.reload-journal\", \"version\": 1, \"pid\": 1, \"started\": 1, "
	    "\"runs\": 1, \"before\": {\"schema\": \"gpukeep.baseline\", \"version\": 1, "
	    "\"driver_version\": null, \"gpus\": [], \"nvswitches\": [], \"modules\": [], "
	    "\"device_nodes\": []}, \"unload_order\": [\"nvidia\"], \"module_parameters\": [], "
	    "\"units\": [], \"settings_file\": null, "
	    "\"daemon_released\": false, \"daemon_socket\": null, \"steps\": [{\"name\": \"lock\", "
	    "\"status\": \"exploded\", \"ms\": 1, \"detail\": null}], \"finished\": false}");
	assert_int_equal(journal_load(dirfd_, GK_JOURNAL_FILE, &k, &error), -EBADMSG);
	assert_non_null(strstr(error, "unknown status 'exploded'"));
	free(error);

	put("{\"schema\": \"gpukeep.reload-journal\", \"version\": 1, \"pid\": 1, \"started\": 1, "
	    "\"runs\": 1, \"before\": {\"schema\": \"gpukeep.baseline\", \"version\": 1, "
	    "\"driver_version\": null, \"gpus\": [{\"pci\": \"xx\"}]}}");
	assert_int_equal(journal_load(dirfd_, GK_JOURNAL_FILE, &k, &error), -EBADMSG);
	assert_non_null(strstr(error, "before: gpus[0]: 'xx' is not a PCI address"));
	free(error);

	unlinkat(dirfd_, GK_JOURNAL_FILE, 0);
	assert_int_equal(journal_load(dirfd_, GK_JOURNAL_FILE, &k, &error), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_corrupt),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
