// SPDX-License-Identifier: GPL-2.0-or-later
/* /proc/driver/nvidia/gpus/<bdf>/information, as the driver (or a broken one) writes it. */
#include "fuzz-util.h"
#include "node/nvproc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_text(data, size);
	const char *error = NULL;
	struct gk_nvinfo info = {};

	if (nvinfo_parse(text, &info, &error) == 0) {
		/* on success the minor is set and the strings are real */
		if (info.minor < 0)
			abort();
		nvinfo_done(&info);
	} else if (!error) {
		abort(); /* a refusal names the field */
	}
	free(text);
	return 0;
}
