// SPDX-License-Identifier: GPL-2.0-or-later
/* /proc/<pid>/maps, line by line as the holder scan reads it (a path may hold anything). */
#include "fuzz-util.h"
#include "node/proc-util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		struct proc_maps_entry e;

		/* exactly the line's bytes, so that ASan sees any read past them */
		char *line = malloc(len ? len : 1);

		if (!line)
			abort();
		memcpy(line, p, len);
		if (proc_maps_parse_line(line, len, &e) == 0 && e.path &&
		    (e.path < line || e.path + e.path_len > line + len))
			abort();
		free(line);
		p += len + 1;
	}
	return 0;
}
