// SPDX-License-Identifier: GPL-2.0-or-later
/* The verbs' side of the daemon protocol: connect, call, map refusals to exit codes. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/gk-exit.h"
#include "daemon-call.h"
#include "daemon/client.h"
#include "daemon/protocol.h"
#include "macro.h"

static int not_running(const char *verb, const char *socket_path, int r)
{
	fprintf(stderr,
		"gpukeep %s: gpukeepd is not running (no daemon at %s: %s); start it: "
		"systemctl start gpukeepd\n",
		verb, socket_path, strerror(-r));
	return GK_EXIT_FAILED;
}

int daemon_call(const char *verb, const char *socket_path, struct json_object *req,
		struct json_object **ret)
{
	_cleanup_close_ int fd = -EBADF;
	struct json_object *reply = NULL;
	const char *code = NULL, *msg = NULL;
	int r;

	r = client_connect(socket_path, &fd);
	if (r == -ENOENT || r == -ECONNREFUSED || r == -ENOTDIR)
		return not_running(verb, socket_path, r);
	if (r < 0) {
		fprintf(stderr, "gpukeep %s: cannot connect to gpukeepd at %s: %s\n", verb,
			socket_path, strerror(-r));
		return GK_EXIT_FAILED;
	}
	r = client_call(fd, req, DAEMON_CALL_TIMEOUT_MS, &reply);
	if (r < 0) {
		fprintf(stderr, "gpukeep %s: no valid reply from gpukeepd at %s: %s\n", verb,
			socket_path, strerror(-r));
		return GK_EXIT_FAILED;
	}
	r = proto_reply_check(reply, &code, &msg);
	if (r == 0) {
		*ret = reply;
		return GK_EXIT_OK;
	}
	if (r < 0)
		fprintf(stderr, "gpukeep %s: %s\n", verb, msg);
	else if (streq(code, "too-many-clients"))
		fprintf(stderr, "gpukeep %s: gpukeepd is busy (%s); try again in a moment\n", verb,
			msg);
	else
		fprintf(stderr, "gpukeep %s: gpukeepd refused: %s (%s)\n", verb, msg, code);
	if (r > 0 && (streq(code, "unknown-gpu") || streq(code, "bad-request")))
		r = GK_EXIT_USAGE;
	else if (r > 0 && streq(code, "permission-denied"))
		r = GK_EXIT_PRECONDITION;
	else
		r = GK_EXIT_FAILED;
	json_object_put(reply);
	return r;
}
