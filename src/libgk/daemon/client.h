/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The one client of the gpukeepd protocol: connect, one request, one reply, each with a deadline,
 * and typed decoders for the replies. Used by `pm`, `status` and the procedures. */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "daemon/protocol.h"

/*
 * Connects to the daemon's socket at @path within @timeout_ms (a full backlog makes a connect
 * wait). Returns 0 and a SOCK_CLOEXEC fd the caller closes, or -errno: -ENOENT or -ECONNREFUSED
 * when no daemon listens there, -EACCES when not permitted, -ETIMEDOUT.
 */
int client_connect(const char *path, int timeout_ms, int *ret_fd);

/*
 * Sends @req (one line) and reads one reply line within @timeout_ms in all. Returns 0 and the
 * parsed reply (the caller puts it), or -ETIMEDOUT, -ECONNRESET (the daemon closed the
 * connection), -EMSGSIZE (a reply over GK_PROTO_MAX_REPLY), -EPROTO (not JSON), -ENOMEM, -errno.
 * The envelope is not checked: see proto_reply_check().
 */
int client_call(int fd, struct json_object *req, int timeout_ms, struct json_object **ret_reply);

/* Why a request failed, for messages: the daemon's refusal or what went wrong on the way. */
struct gk_client_error {
	char code[32];	   /* the daemon's error code ("unknown-gpu"), "" when it did not refuse */
	char message[256]; /* for people */
};

/*
 * One request of @type (with "gpu": @gpu when not NULL, "enabled": @enabled for
 * set-persistence) to the daemon at @path: connect, call and envelope check, all within
 * @timeout_ms. Returns 0 and the reply (the caller puts it), or: -ENOENT/-ECONNREFUSED no daemon,
 * -ETIMEDOUT, -EPERM (permission-denied), -ENODEV (unknown-gpu), -EINVAL (bad-request),
 * -EREMOTEIO (any other refusal), -EPROTO, -ENOMEM, -errno; *err (when given) says why.
 */
int client_request(const char *path, enum gk_req_type type, const char *gpu, int enabled,
		   int timeout_ms, struct json_object **ret_reply, struct gk_client_error *err);

/* gpukeepd's pid at @path (SO_PEERCRED): 0 when no daemon listens there, or -errno. */
pid_t client_daemon_pid(const char *path, int timeout_ms);

/* A GPU as the daemon reports it (docs/protocol.md, "A GPU object"). */
struct gk_daemon_gpu {
	int index;
	char pci[16];	  /* "0000:18:00.0" */
	int minor;	  /* -1: unknown */
	char uuid[48];	  /* "" when unknown */
	bool persistence; /* desired mode */
	char state[16];	  /* held | released | opening | retrying | stuck | unavailable */
	bool released;	  /* this GPU released on request (release), whatever the mode */
};

struct gk_daemon_gpus {
	struct gk_daemon_gpu *gpus;
	size_t n;
	bool released_all;
};

/* Decodes the "gpus" of a reply (list, set-persistence, release...). Every field's type is
 * checked. Returns 0 (free with daemon_gpus_done()), -EPROTO, -ENOMEM. */
int client_decode_gpus(struct json_object *reply, struct gk_daemon_gpus *ret);
void daemon_gpus_done(struct gk_daemon_gpus *g);

/* The GPU of @g whose PCI address is @pci, or NULL. */
const struct gk_daemon_gpu *daemon_gpus_find(const struct gk_daemon_gpus *g, const char *pci);

/*
 * Lists until no GPU (of those that should be kept; only @pci when not NULL) is still being
 * opened, for at most @timeout_ms. *ret_held of *ret_wanted are held; @ret_missing (of
 * @missing_size bytes, 0: not wanted) gets the first one not held, "PCI (state)", or "".
 * Returns 0 when settled, -ETIMEDOUT, or client_request()'s errors.
 */
int client_wait_settled(const char *path, const char *pci, int timeout_ms, unsigned *ret_held,
			unsigned *ret_wanted, char *ret_missing, size_t missing_size);
