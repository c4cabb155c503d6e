// SPDX-License-Identifier: GPL-2.0-or-later
/* A settings snapshot (gpukeep settings restore FILE, and the one a reload saves). */
#include <fcntl.h>

#include "baseline/baseline.h"
#include "fuzz-util.h"
#include "nvml/settings.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_object *o = NULL;
	struct gk_settings s = {};
	char *error = NULL;
	int r;

	r = json_parse_file_at(AT_FDCWD, fuzz_file(data, size), GK_SETTINGS_MAX_SIZE, &o, &error);
	if (r == 0) {
		r = settings_from_json(o, &s, &error);
		if (r == 0)
			settings_done(&s);
		json_object_put(o);
	}
	if (r == -EBADMSG && !error)
		abort();
	free(error);
	return 0;
}
