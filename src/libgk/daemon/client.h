/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The client side of the gpukeepd protocol: connect, one request, one reply, with a deadline. */
#pragma once

#include <json-c/json.h>

/*
 * Connects to the daemon's socket at @path. Returns 0 and a SOCK_CLOEXEC fd the caller closes, or
 * -errno: -ENOENT or -ECONNREFUSED when no daemon listens there, -EACCES when not permitted.
 */
int client_connect(const char *path, int *ret_fd);

/*
 * Sends @req (one line) and reads one reply line within @timeout_ms in all. Returns 0 and the
 * parsed reply (the caller puts it), or -ETIMEDOUT, -ECONNRESET (the daemon closed the
 * connection), -EMSGSIZE (a reply over GK_PROTO_MAX_REPLY), -EPROTO (not JSON), -ENOMEM, -errno.
 * The envelope is not checked: see proto_reply_check().
 */
int client_call(int fd, struct json_object *req, int timeout_ms, struct json_object **ret_reply);
