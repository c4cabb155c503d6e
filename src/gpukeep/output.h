/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Shared output helpers for the verbs: JSON to stdout, the common option parsing errors. */
#pragma once

#include <json-c/json.h>

/* Prints @o pretty-printed with a trailing newline to stdout. Returns 0 or -EIO. */
int output_json(struct json_object *o);

/* Prints "gpukeep VERB: MSG, try 'gpukeep VERB --help'" and returns GK_EXIT_USAGE. */
int usage_error(const char *verb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
