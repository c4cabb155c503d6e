// SPDX-License-Identifier: GPL-2.0-or-later
/* gpukeepd's state file, read as root at start from a directory the daemon user owns. A file
 * that parses is written back and must parse to the same entries. */
#include "daemon/pmstate.h"
#include "fuzz-util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_text(data, size), err[200] = "", *again;
	struct gk_pmstate s = {}, t = {};

	if (pmstate_parse(text, &s, err, sizeof(err)) < 0) {
		if (!err[0] || s.entries)
			abort();
		free(text);
		return 0;
	}
	again = pmstate_format(&s);
	if (!again || pmstate_parse(again, &t, err, sizeof(err)) < 0 || t.n != s.n)
		abort();
	for (size_t i = 0; i < s.n; i++)
		if (strcmp(s.entries[i].pci, t.entries[i].pci) ||
		    s.entries[i].enabled != t.entries[i].enabled)
			abort();
	free(again);
	pmstate_done(&s);
	pmstate_done(&t);
	free(text);
	return 0;
}
