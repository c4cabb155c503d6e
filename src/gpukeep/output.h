/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Shared helpers for the verbs: JSON to stdout, usage errors, the common options. */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>

/* Prints @o pretty-printed with a trailing newline to stdout. Returns 0 or -EIO. */
int output_json(struct json_object *o);

/* Prints "gpukeep VERB: MSG, try 'gpukeep VERB --help'" and returns GK_EXIT_USAGE. */
int usage_error(const char *verb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Parses the options of a verb that takes only --root DIR, --json and --help. Returns -1 when the
 * verb should go on (with *root and *json set), otherwise the exit code (help shown, or a usage
 * error reported).
 */
int parse_root_json_options(const char *verb, int argc, char **argv, void (*help)(void),
			    const char **root, bool *json);
