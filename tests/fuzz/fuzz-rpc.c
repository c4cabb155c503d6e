// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libFuzzer target for gpukeepd's RPC request path: the bytes a client sends, framed into records
 * (nvpd-frame.c), each handed through gpukeepd's own libtirpc transport (rpc-xprt.c) to libtirpc's
 * call decoding, credential parsing and program/version dispatch, then to a dispatch that decodes
 * every procedure's arguments with the rpcgen routines from nvpd.x and replies, as the server does.
 * Replies go to a socketpair and are drained. Build and run: see tests/fuzz/README-rpc.md.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "rpc-xprt.h"

static struct rpc_xprt conn;
static SVCXPRT register_xprt;

static void dispatch(struct svc_req *rq, SVCXPRT *xprt)
{
	union {
		nvpd_set_mode_args set;
		nvpd_get_mode_args get;
		nvpd_set_numa_args numa;
	} a;
	nvpd_get_mode_res res = {.status = NVPD_OK};
	nvpd_status st = NVPD_ERR_PERMISSIONS;
	xdrproc_t x;

	memset(&a, 0, sizeof(a));
	switch (rq->rq_proc) {
	case NULLPROC:
		svc_sendreply(xprt, NVPD_XDR_VOID, NULL);
		return;
	case 1:
		x = (xdrproc_t)xdr_nvpd_set_mode_args;
		break;
	case 2:
		x = rq->rq_vers == NVPD_V1 ? (xdrproc_t)xdr_nvpd_get_mode_args
					   : (xdrproc_t)xdr_nvpd_set_numa_args;
		break;
	default:
		svcerr_noproc(xprt);
		return;
	}
	if (!svc_getargs(xprt, x, (char *)&a)) {
		svcerr_decode(xprt);
		return;
	}
	if (rq->rq_proc == 2 && rq->rq_vers == NVPD_V1)
		svc_sendreply(xprt, (xdrproc_t)xdr_nvpd_get_mode_res, (char *)&res);
	else
		svc_sendreply(xprt, (xdrproc_t)xdr_nvpd_status, (char *)&st);
	svc_freeargs(xprt, x, (char *)&a);
}

static void drain(int fd)
{
	char buf[4096];

	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool registered;
	int sv[2];

	if (!registered) {
		svc_register(&register_xprt, NVPD_PROG, NVPD_V1, dispatch, 0);
		svc_register(&register_xprt, NVPD_PROG, NVPD_V2, dispatch, 0);
		registered = true;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
		return 0;
	if (rpc_xprt_init(&conn, sv[0]) < 0) {
		close(sv[0]);
		close(sv[1]);
		return 0;
	}
	/* The input arrives in reads of whatever fits, as from the socket. */
	while (!conn.broken) {
		size_t room = sizeof(conn.in) - conn.in_len, n = size < room ? size : room;
		int r;

		memcpy(conn.in + conn.in_len, data, n);
		conn.in_len += n;
		data += n;
		size -= n;
		r = rpc_xprt_frame(&conn);
		if (r < 0 || (r == 0 && size == 0))
			break;
		if (r == 1)
			rpc_xprt_serve(&conn);
		drain(sv[1]);
		if (rpc_xprt_flush(&conn) < 0)
			break;
		drain(sv[1]);
	}
	rpc_xprt_done(&conn); /* closes sv[0] */
	close(sv[1]);
	return 0;
}
