// SPDX-License-Identifier: GPL-2.0-or-later
/* A baseline file (validate --baseline FILE, reload --baseline FILE): the file reader and every
 * field check. A baseline that loads is written out again and must load again. */
#include <fcntl.h>

#include "baseline/baseline.h"
#include "fuzz-util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gk_baseline b = {}, c = {};
	struct json_object *o;
	char *error = NULL;
	const char *text;
	int r;

	r = baseline_load(AT_FDCWD, fuzz_file(data, size), &b, &error);
	if (r == -EBADMSG && !error)
		abort();
	free(error);
	if (r < 0)
		return 0;
	o = baseline_to_json(&b);
	text = o ? json_object_to_json_string(o) : NULL;
	if (!text)
		abort();
	error = NULL;
	if (baseline_load(AT_FDCWD, fuzz_file((const uint8_t *)text, strlen(text)), &c, &error) <
		    0 ||
	    c.n_gpus != b.n_gpus) {
		fprintf(stderr, "reloading a saved baseline failed: %s\n", error ? error : "?");
		abort();
	}
	json_object_put(o);
	baseline_done(&b);
	baseline_done(&c);
	return 0;
}
