/* SPDX-License-Identifier: GPL-2.0-or-later */
/* For the unit tests that load the NVML test double: where it is, and a scratch copy of one of
 * its state files, edited by the test, that $FAKENVML_STATE names. */
#pragma once

#include <json-c/json.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The fake library, built next to the test: <build>/tests/fakenvml/libfakenvml.so. */
static inline const char *fake_library(void)
{
	static char path[PATH_MAX + 64];
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	if (n < 0)
		return "libfakenvml.so";
	exe[n] = 0;
	slash = strrchr(exe, '/');
	if (slash)
		*slash = 0;
	snprintf(path, sizeof(path), "%s/../fakenvml/libfakenvml.so", exe);
	return path;
}

static char fake_state_path[] = "/tmp/gk-fakenvml-XXXXXX";
static bool fake_state_made;

/* Loads tests/fakenvml/states/@name; the caller edits it and calls fake_state_write(). */
static inline struct json_object *fake_state_load(const char *name)
{
	char path[PATH_MAX + 64];
	const char *fixtures = getenv("GK_FIXTURES");

	snprintf(path, sizeof(path), "%s/../fakenvml/states/%s",
		 fixtures ? fixtures : "tests/fixtures", name);
	return json_object_from_file(path);
}

/* Writes @state to the scratch file, points $FAKENVML_STATE at it, and puts @state. */
static inline int fake_state_write(struct json_object *state)
{
	int r;

	/* Made once per test binary. Not told by the name: mkstemp's random suffix may itself
	 * end in 'X' (1 in 62), and a finished name handed to mkstemp again fails. */
	if (!fake_state_made) {
		int fd = mkstemp(fake_state_path);

		if (fd < 0)
			return -1;
		close(fd);
		fake_state_made = true;
	}
	r = json_object_to_file(fake_state_path, state);
	json_object_put(state);
	setenv("FAKENVML_STATE", fake_state_path, 1);
	return r;
}

static inline struct json_object *fake_gpu(struct json_object *state, size_t i)
{
	struct json_object *gpus = NULL;

	json_object_object_get_ex(state, "gpus", &gpus);
	return json_object_array_get_idx(gpus, i);
}

/* The scratch state as it is now (after setters wrote it). */
static inline struct json_object *fake_state_now(void)
{
	return json_object_from_file(fake_state_path);
}

static inline int fake_gpu_int(size_t gpu, const char *key)
{
	struct json_object *s = fake_state_now(), *v = NULL;
	int r;

	json_object_object_get_ex(fake_gpu(s, gpu), key, &v);
	r = v ? json_object_get_int(v) : -1;
	json_object_put(s);
	return r;
}
