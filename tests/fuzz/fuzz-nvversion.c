// SPDX-License-Identifier: GPL-2.0-or-later
/* /proc/driver/nvidia/version: the "NVRM version:" line. */
#include "fuzz-util.h"
#include "node/nvproc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_text(data, size), *version = NULL;

	if (nvversion_parse(text, &version) == 0) {
		if (!version || !version[0])
			abort();
		free(version);
	}
	free(text);
	return 0;
}
