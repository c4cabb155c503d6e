/* SPDX-License-Identifier: GPL-2.0-or-later */
/* One request to gpukeepd on behalf of a verb, with the verb's error messages and exit codes. */
#pragma once

#include <json-c/json.h>

#include "daemon/protocol.h"

#define DAEMON_CALL_TIMEOUT_MS 10000

/*
 * Sends a request of @type (with "gpu": @gpu when not NULL, "enabled" when @enabled >= 0) to the
 * daemon at @socket_path through client_request(), connect included, within
 * DAEMON_CALL_TIMEOUT_MS. Returns GK_EXIT_OK and the reply in *ret (the caller puts it), or a
 * gk_exit code after printing why to stderr, prefixed with "gpukeep @verb: ": 1 when the daemon
 * is not running, did not answer in time or failed, 2 when it refused bad input, 3 when it
 * refused for lack of permission.
 */
int daemon_call(const char *verb, const char *socket_path, enum gk_req_type type, const char *gpu,
		int enabled, struct json_object **ret);
