// SPDX-License-Identifier: GPL-2.0-or-later
/* /proc/<pid>/stat: comm may contain spaces and parentheses. */
#include "fuzz-util.h"
#include "node/proc-util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_text(data, size);
	struct proc_stat st;

	if (proc_stat_parse(text, &st) == 0 && strnlen(st.comm, sizeof(st.comm)) == sizeof(st.comm))
		abort(); /* comm is always terminated */
	free(text);
	return 0;
}
