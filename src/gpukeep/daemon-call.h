/* SPDX-License-Identifier: GPL-2.0-or-later */
/* One request to gpukeepd on behalf of a verb, with the verb's error messages and exit codes. */
#pragma once

#include <json-c/json.h>

#define DAEMON_CALL_TIMEOUT_MS 10000

/*
 * Sends @req to the daemon at @socket_path and checks the reply. Returns GK_EXIT_OK and the reply
 * in *ret (the caller puts it), or a gk_exit code after printing why to stderr, prefixed with
 * "gpukeep @verb: ": 1 when the daemon is not running or failed, 2 when it refused bad input,
 * 3 when it refused for lack of permission.
 */
int daemon_call(const char *verb, const char *socket_path, struct json_object *req,
		struct json_object **ret);
