// SPDX-License-Identifier: GPL-2.0-or-later
/* The verbs' side of the daemon protocol: libgk's client, with the verbs' messages and exit
 * codes. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/gk-exit.h"
#include "daemon-call.h"
#include "daemon/client.h"
#include "macro.h"
#include "string-util.h"

int daemon_call(const char *verb, const char *socket_path, enum gk_req_type type, const char *gpu,
		int enabled, struct json_object **ret)
{
	struct gk_client_error err = {};
	int r;

	r = client_request(socket_path, type, gpu, enabled, DAEMON_CALL_TIMEOUT_MS, ret, &err);
	switch (r) {
	case 0:
		return GK_EXIT_OK;
	case -ENOENT:
	case -ECONNREFUSED:
	case -ENOTDIR:
		fprintf(stderr,
			"gpukeep %s: gpukeepd is not running (no daemon at %s: %s); start it: "
			"systemctl start gpukeepd\n",
			verb, socket_path, strerror(-r));
		return GK_EXIT_FAILED;
	case -ETIMEDOUT:
		fprintf(stderr,
			"gpukeep %s: gpukeepd at %s did not answer within %d s; see its log "
			"(journalctl -u gpukeepd)\n",
			verb, socket_path, DAEMON_CALL_TIMEOUT_MS / 1000);
		return GK_EXIT_FAILED;
	case -ENODEV:
	case -EINVAL:
		fprintf(stderr, "gpukeep %s: gpukeepd refused: %s (%s)\n", verb, err.message,
			err.code);
		return GK_EXIT_USAGE;
	case -EPERM:
		fprintf(stderr, "gpukeep %s: gpukeepd refused: %s (%s)\n", verb, err.message,
			err.code);
		return GK_EXIT_PRECONDITION;
	case -EREMOTEIO:
		if (streq(err.code, "too-many-clients"))
			fprintf(stderr,
				"gpukeep %s: gpukeepd is busy (%s); try again in a moment\n", verb,
				err.message);
		else
			fprintf(stderr, "gpukeep %s: gpukeepd refused: %s (%s)\n", verb,
				err.message, err.code);
		return GK_EXIT_FAILED;
	default:
		fprintf(stderr, "gpukeep %s: %s\n", verb,
			err.message[0] ? err.message : strerror(-r));
		return GK_EXIT_FAILED;
	}
}
