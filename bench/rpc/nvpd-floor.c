// SPDX-License-Identifier: GPL-2.0-or-later
/* The RPC floor for bench/rpc: a bare libtirpc server (its own stream transport, svc_run()) on a
 * UNIX socket, program 35006 v1, answering every get with "enabled" and doing nothing else.
 * usage: nvpd-floor SOCKET */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "nvpd/nvpd-xdr.h"

static void dispatch(struct svc_req *rq, SVCXPRT *xprt)
{
	nvpd_get_mode_args a;
	nvpd_get_mode_res res = {.status = NVPD_OK};

	if (rq->rq_proc == NULLPROC) {
		svc_sendreply(xprt, NVPD_XDR_VOID, NULL);
		return;
	}
	if (rq->rq_proc != NVPD_GET_MODE) {
		svcerr_noproc(xprt);
		return;
	}
	if (!svc_getargs(xprt, (xdrproc_t)xdr_nvpd_get_mode_args, (char *)&a)) {
		svcerr_decode(xprt);
		return;
	}
	res.nvpd_get_mode_res_u.mode = NVPD_MODE_ENABLED;
	svc_sendreply(xprt, (xdrproc_t)xdr_nvpd_get_mode_res, (char *)&res);
}

int main(int argc, char **argv)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	SVCXPRT *x;
	int fd;

	if (argc != 2)
		return 2;
	signal(SIGPIPE, SIG_IGN);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", argv[1]);
	unlink(argv[1]);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 128) < 0) {
		perror("nvpd-floor");
		return 1;
	}
	x = svc_vc_create(fd, 0, 0);
	if (!x || !svc_register(x, NVPD_PROG, NVPD_V1, dispatch, 0))
		return 1;
	svc_run();
	return 1;
}
