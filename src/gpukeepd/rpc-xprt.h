/* SPDX-License-Identifier: GPL-2.0-or-later */
/* One RPC connection as a libtirpc server transport of our own: the socket is read and written
 * here, never blocking, with fixed buffers (one record in, one reply out); libtirpc decodes the
 * call, authenticates it, finds the program and version, and encodes the reply. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nvpd/nvpd-frame.h"
#include "nvpd/nvpd-xdr.h"
#include <rpc/svc_mt.h>

/* A call is 24 bytes of header, a credential and a verifier (at most 408 each) and 20 bytes of
 * arguments: at most 860 bytes. Anything bigger is not nvidia-persistenced's protocol. */
#define RPC_MAX_RECORD 1024

struct rpc_xprt {
	SVCXPRT xprt; /* libtirpc's handle; xp_p1 points back here */
	SVCXPRT_EXT ext;
	char verf[MAX_AUTH_BYTES];
	uint32_t xid;	/* of the call being answered */
	bool have_call; /* a whole record is in rec, for libtirpc to take */
	bool broken;	/* a call header that does not decode: close */
	XDR xin;
	uint8_t in[RPC_MAX_RECORD + 8]; /* raw bytes, not yet framed */
	size_t in_len;
	uint8_t rec_buf[RPC_MAX_RECORD];
	struct nvpd_record rec;
	uint8_t out[256]; /* one reply record, header included */
	size_t out_len, out_off;
};

/* Sets @x up on the connected, non-blocking @fd and registers it with libtirpc. Returns 0 or
 * -errno (the fd is then still the caller's). */
int rpc_xprt_init(struct rpc_xprt *x, int fd);
/* Unregisters @x and closes its fd. */
void rpc_xprt_done(struct rpc_xprt *x);

/* Reads what the socket holds, as far as there is room. Returns 1 at EOF, 0, or -errno. */
int rpc_xprt_fill(struct rpc_xprt *x);

/* Takes the next whole record out of the input. Returns 1 when one is ready (x->have_call), 0
 * when more input is needed, -EMSGSIZE or -EPROTO for a stream to close. */
int rpc_xprt_frame(struct rpc_xprt *x);

/* Hands the ready record to libtirpc, which calls the registered dispatch at most once. */
void rpc_xprt_serve(struct rpc_xprt *x);

/* Sends pending reply bytes. Returns 1 when none is left, 0 when the socket is full, -errno. */
int rpc_xprt_flush(struct rpc_xprt *x);

static inline bool rpc_xprt_has_output(const struct rpc_xprt *x)
{
	return x->out_off < x->out_len;
}
