// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * A libtirpc server transport over our own buffers. libtirpc's stream transport either blocks (up
 * to 35 s inside read, 2 s spinning on a full socket) or, in its non-blocking mode, drops records
 * sent in more than one fragment; this one reads and writes only when the event loop says so.
 * The ops are libtirpc's contract: recv decodes the call header, getargs and reply go through the
 * credential's wrap/unwrap, stat never reports DIED (the server closes connections itself).
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "macro.h"
#include "rpc-xprt.h"

static struct rpc_xprt *of(SVCXPRT *xprt)
{
	return xprt->xp_p1;
}

static bool_t x_recv(SVCXPRT *xprt, struct rpc_msg *msg)
{
	struct rpc_xprt *x = of(xprt);

	if (!x->have_call)
		return FALSE;
	x->have_call = false;
	xdrmem_create(&x->xin, (char *)x->rec.buf, (u_int)x->rec.len, XDR_DECODE);
	if (!xdr_callmsg(&x->xin, msg)) {
		x->broken = true;
		return FALSE;
	}
	x->xid = msg->rm_xid;
	return TRUE;
}

static enum xprt_stat x_stat(SVCXPRT *xprt)
{
	/* One record per serve: the server asks again when it wants the next one. */
	return XPRT_IDLE;
}

static bool_t x_getargs(SVCXPRT *xprt, xdrproc_t xargs, void *args)
{
	struct rpc_xprt *x = of(xprt);

	return SVCAUTH_UNWRAP(&SVC_XP_AUTH(xprt), &x->xin, xargs, args);
}

static bool_t x_freeargs(SVCXPRT *xprt, xdrproc_t xargs, void *args)
{
	struct rpc_xprt *x = of(xprt);

	x->xin.x_op = XDR_FREE;
	return xargs(&x->xin, args);
}

static bool_t x_reply(SVCXPRT *xprt, struct rpc_msg *msg)
{
	struct rpc_xprt *x = of(xprt);
	xdrproc_t xres = NULL;
	void *where = NULL;
	bool_t ok;
	XDR xo;

	if (rpc_xprt_has_output(x))
		return FALSE; /* one reply in flight: the server never asks for a second */
	if (msg->rm_reply.rp_stat == MSG_ACCEPTED && msg->acpted_rply.ar_stat == SUCCESS) {
		/* The results go through the credential's wrap, as libtirpc's own transports do. */
		xres = msg->acpted_rply.ar_results.proc;
		where = msg->acpted_rply.ar_results.where;
		msg->acpted_rply.ar_results.proc = NVPD_XDR_VOID;
		msg->acpted_rply.ar_results.where = NULL;
	}
	msg->rm_xid = x->xid;
	xdrmem_create(&xo, (char *)x->out + 4, sizeof(x->out) - 4, XDR_ENCODE);
	ok = xdr_replymsg(&xo, msg) &&
	     (!xres || SVCAUTH_WRAP(&SVC_XP_AUTH(xprt), &xo, xres, where));
	if (!ok)
		return FALSE;
	nvpd_frame_header(x->out, xdr_getpos(&xo));
	x->out_len = 4 + xdr_getpos(&xo);
	x->out_off = 0;
	/* Sent at once when there is room; the rest when the socket polls writable. A client
	 * gone meanwhile costs an EPIPE (never SIGPIPE), and the connection. */
	if (rpc_xprt_flush(x) < 0) {
		x->broken = true;
		return FALSE;
	}
	return TRUE;
}

static void x_destroy(SVCXPRT *xprt)
{
	/* Connections end in rpc_xprt_done(), called by the server; libtirpc never gets here
	 * because x_stat() never reports XPRT_DIED. */
}

static bool_t x_control(SVCXPRT *xprt, const u_int rq, void *in)
{
	return FALSE;
}

static const struct xp_ops ops = {
	.xp_recv = x_recv,
	.xp_stat = x_stat,
	.xp_getargs = x_getargs,
	.xp_reply = x_reply,
	.xp_freeargs = x_freeargs,
	.xp_destroy = x_destroy,
};
static const struct xp_ops2 ops2 = {.xp_control = x_control};

int rpc_xprt_init(struct rpc_xprt *x, int fd)
{
	static long table;

	/* libtirpc finds a transport by fd (svc_getreq_common()) in a table sized by the fd limit
	 * when it was first used: an fd beyond it would not be found. */
	if (!table)
		table = sysconf(_SC_OPEN_MAX);
	if (fd >= table)
		return -EMFILE;
	memset(x, 0, offsetof(struct rpc_xprt, in));
	x->in_len = x->out_len = x->out_off = 0;
	x->rec = (struct nvpd_record){.buf = x->rec_buf, .cap = sizeof(x->rec_buf)};
	x->xprt.xp_fd = fd;
	x->xprt.xp_ops = &ops;
	x->xprt.xp_ops2 = &ops2;
	x->xprt.xp_p1 = x;
	x->xprt.xp_p3 = &x->ext;
	x->xprt.xp_verf.oa_base = x->verf;
	xprt_register(&x->xprt);
	return 0;
}

void rpc_xprt_done(struct rpc_xprt *x)
{
	xprt_unregister(&x->xprt);
	x->xprt.xp_fd = safe_close(x->xprt.xp_fd);
}

int rpc_xprt_fill(struct rpc_xprt *x)
{
	while (x->in_len < sizeof(x->in)) {
		ssize_t k = recv(x->xprt.xp_fd, x->in + x->in_len, sizeof(x->in) - x->in_len,
				 MSG_DONTWAIT);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return errno == EAGAIN ? 0 : -errno;
		if (k == 0)
			return 1;
		x->in_len += (size_t)k;
	}
	return 0;
}

int rpc_xprt_frame(struct rpc_xprt *x)
{
	size_t used = 0;
	int r;

	if (x->have_call)
		return 1;
	r = nvpd_frame(&x->rec, x->in, x->in_len, &used);
	memmove(x->in, x->in + used, x->in_len - used);
	x->in_len -= used;
	if (r <= 0)
		return r;
	x->have_call = true;
	return 1;
}

void rpc_xprt_serve(struct rpc_xprt *x)
{
	svc_getreq_common(x->xprt.xp_fd);
	/* Whatever happened, the record is used up. */
	x->have_call = false;
	x->rec.len = 0;
	x->rec.done = false;
}

int rpc_xprt_flush(struct rpc_xprt *x)
{
	while (rpc_xprt_has_output(x)) {
		ssize_t k = send(x->xprt.xp_fd, x->out + x->out_off, x->out_len - x->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return errno == EAGAIN ? 0 : -errno;
		x->out_off += (size_t)k;
	}
	x->out_len = x->out_off = 0;
	return 1;
}
