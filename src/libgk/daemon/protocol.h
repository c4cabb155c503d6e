/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The gpukeepd control protocol: one JSON object per line each way (docs/protocol.md).
 * Decoding and validation of requests, GPU selectors, and the reply envelope. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "node/pci.h"

#define GK_PROTO_VERSION     1
#define GK_PROTO_MAX_REQUEST 4096	   /* bytes in one request line, newline included */
#define GK_PROTO_MAX_REPLY   (1024 * 1024) /* bytes in one reply line a client accepts */
#define GK_PROTO_MAX_ID	     64		   /* characters in a string "id" */
#define GK_SOCKET_PATH	     "/var/run/gpukeep/socket"

enum gk_req_type {
	GK_REQ_LIST,		/* GPUs and their persistence state */
	GK_REQ_STATUS,		/* the daemon itself */
	GK_REQ_SET_PERSISTENCE, /* "gpu" (optional: all) and "enabled" */
	GK_REQ_RELEASE_ALL,	/* close every device file, whatever the desired mode */
	GK_REQ_ACQUIRE_ALL,	/* undo release-all */
	GK_REQ_REENUMERATE,	/* read the GPU list again (hot-plug) */
	GK_REQ_RELEASE,		/* "gpu" (required): close that GPU's device file (a GPU reset) */
	GK_REQ_ACQUIRE,		/* "gpu" (required): undo release of that GPU */
	_GK_REQ_MAX,
};

enum gk_proto_error {
	GK_PERR_BAD_REQUEST,
	GK_PERR_UNSUPPORTED_VERSION,
	GK_PERR_UNKNOWN_REQUEST,
	GK_PERR_UNKNOWN_GPU,
	GK_PERR_PERMISSION_DENIED,
	GK_PERR_LINE_TOO_LONG,
	GK_PERR_TOO_MANY_CLIENTS,
	GK_PERR_INTERNAL,
	_GK_PERR_MAX,
};

enum gk_gpusel_kind {
	GK_GPUSEL_ALL,
	GK_GPUSEL_INDEX, /* "3": position in PCI address order, as nvidia-smi counts */
	GK_GPUSEL_MINOR, /* "minor:3" or "/dev/nvidia3" */
	GK_GPUSEL_PCI,	 /* any spelling pci_addr_parse() accepts */
	GK_GPUSEL_UUID,	 /* "GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", any case */
};

#define GK_UUID_STRLEN 41 /* "GPU-" + 36 + NUL */

struct gk_gpusel {
	enum gk_gpusel_kind kind;
	unsigned number; /* INDEX, MINOR */
	struct gk_pci_addr pci;
	char uuid[GK_UUID_STRLEN]; /* lower case */
};

struct gk_request {
	enum gk_req_type type;
	struct gk_gpusel gpu;	/* SET_PERSISTENCE, RELEASE, ACQUIRE; kind ALL when absent */
	char gpu_text[64];	/* "gpu" as sent, for messages; "" when absent */
	bool enabled;		/* SET_PERSISTENCE */
	struct json_object *id; /* the client's "id", a reference the request owns; or NULL */
};

struct gk_proto_err {
	enum gk_proto_error code;
	char message[256];
};

/* Parses a GPU selector. Returns 0, or -EINVAL when @s is none of the accepted forms. */
int gpusel_parse(const char *s, struct gk_gpusel *ret);

/* Whether @sel names the GPU at @index with @minor (-1: unknown), @pci and @uuid (may be NULL). */
bool gpusel_match(const struct gk_gpusel *sel, unsigned index, int minor,
		  const struct gk_pci_addr *pci, const char *uuid);

const char *proto_request_name(enum gk_req_type t);
/* Whether a request type changes anything (and so needs authorisation). */
bool proto_request_mutates(enum gk_req_type t);
const char *proto_error_name(enum gk_proto_error e);

/*
 * Decodes and validates one request line of @len bytes (without the newline). Returns 0 and fills
 * *ret (release with proto_request_done()), or -EPROTO and fills *err with a code and a message
 * that names what is wrong. Unknown fields, wrong types, a missing or other version, NUL bytes,
 * trailing data and malformed GPU selectors are refused.
 */
int proto_request_parse(const char *line, size_t len, struct gk_request *ret,
			struct gk_proto_err *err);
void proto_request_done(struct gk_request *r);

/* A new request object {"version":1,"request":NAME}; NULL on -ENOMEM. The caller puts it. */
struct json_object *proto_request_new(enum gk_req_type t);

/* Reply envelopes. @id may be NULL. Return a new object the caller puts, or NULL (-ENOMEM). */
struct json_object *proto_reply_ok(struct json_object *id);
struct json_object *proto_reply_error(struct json_object *id, enum gk_proto_error code,
				      const char *message);

/* Compact JSON plus "\n", malloc()ed; *ret_len is its length. NULL on -ENOMEM. */
char *proto_serialize(struct json_object *o, size_t *ret_len);

/*
 * Client side: checks a reply's envelope. Returns 0 when "ok" is true, -EPROTO when the reply is
 * not a version 1 reply (*ret_message says why), and 1 when the daemon refused the request
 * (*ret_code and *ret_message point into @reply).
 */
int proto_reply_check(struct json_object *reply, const char **ret_code, const char **ret_message);
