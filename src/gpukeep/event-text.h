/* SPDX-License-Identifier: GPL-2.0-or-later */
/* One line of text for an event of the watcher's log, for people (gpukeep watch, events). */
#pragma once

#include <json-c/json.h>
#include <stdio.h>

/* Writes "TIME TYPE details" and a newline for @ev to @f. */
void event_print_text(FILE *f, struct json_object *ev);
