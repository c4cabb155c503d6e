// SPDX-License-Identifier: GPL-2.0-or-later
/* The engine's events as JSON: the envelope, and a decision's faults. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ladder/watcher-json.h"
#include "ladder/watcher.h"

void json_add_str(struct json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, v ? json_object_new_string(v) : NULL);
}

void json_add_int(struct json_object *o, const char *k, int64_t v)
{
	json_object_object_add(o, k, json_object_new_int64(v));
}

struct json_object *watcher_event_new(const char *type)
{
	struct json_object *o = json_object_new_object();
	struct timespec ts;
	struct tm tm;
	char buf[64];

	if (!o)
		return NULL;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), ".%03ldZ", ts.tv_nsec / 1000000);
	json_object_object_add(o, "time", json_object_new_string(buf));
	json_object_object_add(o, "type", json_object_new_string(type));
	return o;
}

struct json_object *decision_faults_json(const struct gk_decision *d)
{
	struct json_object *l = json_object_new_array();

	for (size_t i = 0; l && i < d->n_faults; i++) {
		const struct gk_fault *f = &d->faults[i];
		struct json_object *o = json_object_new_object();

		if (!o)
			break;
		json_add_str(o, "gpu", f->gpu);
		json_add_int(o, "xid", f->code);
		json_object_object_add(o, "subcode",
				       f->subcode >= 0 ? json_object_new_int(f->subcode) : NULL);
		json_add_int(o, "lines", f->lines);
		json_add_str(o, "bucket", f->bucket[0] ? f->bucket : NULL);
		json_add_str(o, "action", action_to_string(f->action));
		json_add_str(o, "rung", ladder_rung_to_string(f->rung));
		json_add_str(o, "why", f->why);
		json_object_array_add(l, o);
	}
	return l;
}
