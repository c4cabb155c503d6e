// SPDX-License-Identifier: GPL-2.0-or-later
/* Events as text: the fields people read first, in a fixed order, then the reason. */
#include <string.h>

#include "event-text.h"
#include "macro.h"

static const char *get(struct json_object *ev, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(ev, key, &v) || !v)
		return NULL;
	return json_object_get_string(v);
}

void event_print_text(FILE *f, struct json_object *ev)
{
	static const char *const keys[] = {"rung", "gpu",     "nvswitch", "xid",
					   "sxid", "subcode", "action",	  "result",
					   "exit", "guard",   "from",	  "to"};
	static const char *const texts[] = {"reason", "why", "error", "line"};
	const char *s;

	fprintf(f, "%s %s", strna(get(ev, "time")), strna(get(ev, "type")));
	for (size_t i = 0; i < ELEMENTSOF(keys); i++)
		if ((s = get(ev, keys[i])))
			fprintf(f, " %s=%s", keys[i], s);
	if ((s = get(ev, "mode")) && streq(s, "observe"))
		fputs(" (observe)", f);
	for (size_t i = 0; i < ELEMENTSOF(texts); i++)
		if ((s = get(ev, texts[i]))) {
			fprintf(f, ": %s", s);
			break;
		}
	fputc('\n', f);
}
