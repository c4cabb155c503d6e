/* SPDX-License-Identifier: GPL-2.0-or-later */
/* JSON helpers of the watcher's engine (watcher_event_new() is in watcher.h). */
#pragma once

#include <json-c/json.h>
#include <stdint.h>

#include "ladder/policy.h"

/* Adds @k: @v (a string, JSON null when @v is NULL; an integer). */
void json_add_str(struct json_object *o, const char *k, const char *v);
void json_add_int(struct json_object *o, const char *k, int64_t v);

/* [{"gpu", "xid", "subcode", "lines", "bucket", "action", "rung", "why"}, ...] of @d; NULL on
 * -ENOMEM. */
struct json_object *decision_faults_json(const struct gk_decision *d);
