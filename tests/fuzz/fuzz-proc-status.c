// SPDX-License-Identifier: GPL-2.0-or-later
/* /proc/<pid>/status: the effective uid from the "Uid:" line. */
#include "fuzz-util.h"
#include "node/proc-util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_text(data, size);
	uid_t uid;

	(void)proc_status_euid(text, &uid);
	free(text);
	return 0;
}
