// SPDX-License-Identifier: GPL-2.0-or-later
/* /proc/modules, and the unload order computed from it (the decision a reload acts on). */
#include "fuzz-util.h"
#include "node/modgraph.h"
#include "string-util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_text(data, size);
	struct gk_modlist l = {};
	unsigned line = 0;

	if (modlist_parse_proc(text, &l, &line) == 0) {
		char **order = NULL, **closure = NULL;

		if (modgraph_unload_order(&l, "nvidia", &order) > 0)
			strv_free(order);
		if (modgraph_closure(&l, "nvidia", &closure) > 0)
			strv_free(closure);
		modlist_done(&l);
	} else if (line == 0) {
		abort(); /* a malformed line is named */
	}
	free(text);
	return 0;
}
