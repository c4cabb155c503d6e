// SPDX-License-Identifier: GPL-2.0-or-later
/* The NVML helper process: settings save/restore and the NVLink record, for the procedures. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "baseline/baseline.h"
#include "baseline/nvml-baseline.h"
#include "core/gk-exit.h"
#include "fileio.h"
#include "macro.h"
#include "nvml/nvml.h"
#include "nvml/settings.h"
#include "procedure/nvml-helper.h"
#include "string-util.h"

static const char *const job_names[_GK_NVML_JOB_MAX] = {
	[GK_NVML_NVLINKS] = "nvlinks",
	[GK_NVML_SAVE] = "save",
	[GK_NVML_RESTORE] = "restore",
};

int nvml_helper_argv(const char *exe, enum gk_nvml_job job, const char *file, const char *gpu,
		     char ***ret)
{
	char **argv;

	if ((size_t)job >= ELEMENTSOF(job_names) || !exe || !file)
		return -EINVAL;
	argv = calloc(6, sizeof(char *));
	if (!argv)
		return -ENOMEM;
	argv[0] = (char *)exe;
	argv[1] = (char *)GK_NVML_HELPER_VERB;
	argv[2] = (char *)job_names[job];
	argv[3] = (char *)file;
	argv[4] = (char *)gpu;
	*ret = argv;
	return 0;
}

int helper_sys_argv(const char *exe, const char *path, const char *value, char ***ret)
{
	char **argv = calloc(6, sizeof(char *));

	if (!argv)
		return -ENOMEM;
	argv[0] = (char *)exe;
	argv[1] = (char *)GK_NVML_HELPER_VERB;
	argv[2] = value ? "write" : "probe";
	argv[3] = (char *)path;
	argv[4] = (char *)value;
	*ret = argv;
	return 0;
}

static int write_json(const char *file, struct json_object *o)
{
	const char *text = o ? json_object_to_json_string_ext(
				       o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE)
			     : NULL;
	int r = text ? write_file_atomic_at(AT_FDCWD, file, text, strlen(text), 0600) : -ENOMEM;

	if (r < 0)
		fprintf(stderr, "nvml helper: cannot write %s: %s\n", file, strerror(-r));
	return r < 0 ? GK_EXIT_FAILED : GK_EXIT_OK;
}

static int do_nvlinks(const char *file)
{
	struct gk_baseline_nvml *b = NULL;
	struct json_object *o;
	int r;

	r = nvml_baseline_scan(NULL, 0, &b);
	if (r < 0 || !b || !b->available) {
		/* no record beats a record of "NVML was not there": validation compares it */
		nvml_baseline_free(b);
		return r == -ENOMEM ? GK_EXIT_FAILED : GK_EXIT_PRECONDITION;
	}
	o = nvml_baseline_to_json(b);
	r = write_json(file, o);
	json_object_put(o);
	nvml_baseline_free(b);
	return r;
}

static int open_nvml(struct gk_nvml **ret)
{
	_cleanup_free_ char *error = NULL;
	int r = nvml_open(NULL, 0, ret, &error);

	if (r < 0)
		fprintf(stderr, "nvml helper: cannot use NVML: %s\n", error ? error : strerror(-r));
	return r;
}

static int do_save(const char *file)
{
	_cleanup_nvml_ struct gk_nvml *n = NULL;
	_cleanup_(settings_done) struct gk_settings snap = {};
	struct json_object *o;
	int r;

	if (open_nvml(&n) < 0)
		return GK_EXIT_PRECONDITION;
	r = settings_snapshot(n, &snap);
	/* a snapshot cut short by a hung driver is not one to restore from later */
	if (r < 0 || nvml_hung_error(n)) {
		fprintf(stderr, "nvml helper: cannot read the GPU settings: %s\n",
			nvml_hung_error(n) ? nvml_hung_error(n) : nvml_last_error(n));
		return GK_EXIT_FAILED;
	}
	o = settings_to_json(&snap);
	r = write_json(file, o);
	json_object_put(o);
	return r;
}

/* Keeps only GPU @pci of @s (a reset restores the GPU it reset). */
static void keep_gpu(struct gk_settings *s, const char *pci)
{
	size_t k = 0;

	for (size_t i = 0; i < s->n_gpus; i++) {
		if (streq(s->gpus[i].pci, pci)) {
			struct gk_gpu_settings t = s->gpus[k];

			s->gpus[k++] = s->gpus[i];
			s->gpus[i] = t;
		}
	}
	for (size_t i = k; i < s->n_gpus; i++)
		free(s->gpus[i].uuid);
	s->n_gpus = k;
}

static int do_restore(const char *file, const char *gpu)
{
	_cleanup_nvml_ struct gk_nvml *n = NULL;
	_cleanup_(settings_done) struct gk_settings snap = {};
	_cleanup_(restore_report_done) struct gk_restore_report rep = {};
	_cleanup_free_ char *error = NULL;
	struct json_object *o = NULL;
	int r;

	r = json_parse_file_at(AT_FDCWD, file, GK_SETTINGS_MAX_SIZE, &o, &error);
	if (r >= 0)
		r = settings_from_json(o, &snap, &error);
	json_object_put(o);
	if (r < 0) {
		fprintf(stderr, "nvml helper: cannot read settings file %s: %s\n", file,
			error ? error : strerror(-r));
		return GK_EXIT_USAGE;
	}
	if (gpu)
		keep_gpu(&snap, gpu);
	if (open_nvml(&n) < 0)
		return GK_EXIT_PRECONDITION;
	r = settings_restore(n, &snap, &rep);
	if (r < 0)
		return GK_EXIT_FAILED;
	for (size_t i = 0; i < rep.n; i++)
		if (rep.items[i].outcome == GK_RESTORE_FAILED)
			printf("  %s %s: not restored: %s\n", rep.items[i].pci,
			       setting_to_string(rep.items[i].setting), rep.items[i].message);
	fflush(stdout);
	return rep.n_failed > 0 ? GK_EXIT_FAILED : GK_EXIT_OK;
}

/* A sysfs store can block in the kernel (a driver's remove waiting on its users): it runs here,
 * in a process the caller kills at its deadline. */
static int do_write(const char *path, const char *value)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
	ssize_t k;

	if (fd < 0)
		return HELPER_ERRNO_BASE + errno;
	k = write(fd, value, strlen(value));
	if (k < 0)
		return HELPER_ERRNO_BASE + errno;
	return (size_t)k == strlen(value) ? 0 : HELPER_ERRNO_BASE + EIO;
}

/* Opens a device node and closes it: a GPU that fell off the bus fails with EIO; an open that
 * hangs is killed at the caller's deadline. */
static int do_probe(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0)
		return HELPER_ERRNO_BASE + errno;
	close(fd);
	return 0;
}

int nvml_helper_main(int argc, char **argv)
{
	if (argc == 4 && streq(argv[1], "write"))
		return do_write(argv[2], argv[3]);
	if (argc == 3 && streq(argv[1], "probe"))
		return do_probe(argv[2]);
	if (argc < 3 || argc > 4) {
		fprintf(stderr,
			"usage: %s nvlinks|save|restore FILE [GPU] | write PATH VALUE | "
			"probe DEVICE\n",
			argv[0]);
		return GK_EXIT_USAGE;
	}
	if (streq(argv[1], job_names[GK_NVML_NVLINKS]))
		return do_nvlinks(argv[2]);
	if (streq(argv[1], job_names[GK_NVML_SAVE]))
		return do_save(argv[2]);
	if (streq(argv[1], job_names[GK_NVML_RESTORE]))
		return do_restore(argv[2], argc == 4 ? argv[3] : NULL);
	fprintf(stderr, "%s: unknown job '%s'\n", argv[0], argv[1]);
	return GK_EXIT_USAGE;
}
