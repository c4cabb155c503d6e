// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * nvpd-probe: the tests' client of nvidia-persistenced's RPC, built from the project's nvpd.x.
 * Well-formed calls go through libtirpc's client and the rpcgen stubs; hostile ones (fragments,
 * wrong program/version/procedure, truncated arguments, half records, slow and never-reading
 * clients, hang-ups) are records built with libtirpc's XDR and framed here, byte by byte.
 *
 *   nvpd-probe SOCKET null VERS             ->  "ok"
 *   nvpd-probe SOCKET get ADDR              ->  "status N mode M" (mode only on success)
 *   nvpd-probe SOCKET set VERS ADDR MODE    ->  "status N"  (v1 set, or v2 set-mode-only)
 *   nvpd-probe SOCKET numa ADDR VALUE       ->  "status N"  (v2)
 *   nvpd-probe SOCKET raw KIND [ADDR]       ->  "reply R accept A [status N mode M]"
 *       KIND: fragments badprog badvers badproc truncated badcred
 *   nvpd-probe SOCKET concurrent N ADDR     ->  "ok K failed F"
 *   nvpd-probe SOCKET stall KIND ADDR       ->  "served in MS ms" while a hostile client
 *       (KIND: half slow noread) holds its connection; exit 1 when not served within 2 s
 *   nvpd-probe SOCKET hangup ADDR MODE      ->  sends a v1 set and closes before the reply
 *   nvpd-probe SOCKET setall MODE ADDR...   ->  libgk's nvpd_set_gpus() (the reload's release
 *       and re-acquire): "rc R" and one errno per GPU
 * Options before SOCKET: --auth-sys-root (an AUTH_SYS credential claiming uid 0).
 * ADDR is DOMAIN:BUS:SLOT.FUNCTION in hex. Exit 0, or 1 on a transport error (printed).
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "nvpd/nvpd-client.h"
#include "nvpd/nvpd-xdr.h"

static const char *sock_path;
static bool auth_root;

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int connect_raw(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static CLIENT *client(unsigned vers)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct netbuf nb = {.buf = &sa, .len = sizeof(sa), .maxlen = sizeof(sa)};
	struct timeval tv = {.tv_sec = 5};
	int fd = connect_raw();
	CLIENT *c;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
	if (fd < 0)
		return NULL;
	c = clnt_vc_create(fd, &nb, NVPD_PROG, vers, 0, 0);
	if (!c) {
		close(fd);
		return NULL;
	}
	clnt_control(c, CLSET_FD_CLOSE, NULL);
	clnt_control(c, CLSET_TIMEOUT, (char *)&tv);
	if (auth_root) {
		gid_t none[1] = {0};

		auth_destroy(c->cl_auth);
		c->cl_auth = authunix_create("probe", 0, 0, 0, none);
	}
	return c;
}

/* clnt_destroy() leaves the credential: ours (AUTH_SYS) is freed here; AUTH_NONE's is static. */
static void client_done(CLIENT *c)
{
	if (!c)
		return;
	auth_destroy(c->cl_auth);
	clnt_destroy(c);
}

static int parse_addr(const char *s, nvpd_device *d)
{
	if (sscanf(s, "%x:%x:%x.%x", (unsigned *)&d->domain, (unsigned *)&d->bus,
		   (unsigned *)&d->slot, (unsigned *)&d->function) != 4) {
		fprintf(stderr, "nvpd-probe: bad address '%s' (want DOMAIN:BUS:SLOT.FN)\n", s);
		return -1;
	}
	return 0;
}

static int fail(CLIENT *c, const char *what)
{
	fprintf(stderr, "nvpd-probe: %s: %s\n", what,
		c ? clnt_sperror(c, "call") : "no connection");
	return 1;
}

static int cmd_null(unsigned vers)
{
	CLIENT *c = client(vers);
	struct timeval tv = {.tv_sec = 5};

	if (!c ||
	    clnt_call(c, NULLPROC, NVPD_XDR_VOID, NULL, NVPD_XDR_VOID, NULL, tv) != RPC_SUCCESS)
		return fail(c, "null");
	printf("ok\n");
	client_done(c);
	return 0;
}

static int do_get(const nvpd_device *dev, nvpd_get_mode_res *res)
{
	nvpd_get_mode_args a = {.device = *dev};
	CLIENT *c = client(NVPD_V1);
	int r = 0;

	if (!c || nvpd_get_mode_1(&a, res, c) != RPC_SUCCESS)
		r = fail(c, "get");
	client_done(c);
	return r;
}

static int cmd_get(const char *addr)
{
	nvpd_get_mode_res res = {};
	nvpd_device dev;

	if (parse_addr(addr, &dev) < 0 || do_get(&dev, &res))
		return 1;
	if (res.status == NVPD_OK)
		printf("status %d mode %d\n", res.status, res.nvpd_get_mode_res_u.mode);
	else
		printf("status %d\n", res.status);
	return 0;
}

static int cmd_set(unsigned vers, const char *addr, int mode)
{
	nvpd_set_mode_args a = {.mode = (nvpd_mode)mode};
	nvpd_status st = NVPD_ERR_UNKNOWN;
	CLIENT *c;
	enum clnt_stat s;

	if (parse_addr(addr, &a.device) < 0)
		return 1;
	c = client(vers);
	if (!c)
		return fail(c, "set");
	s = vers == 1 ? nvpd_set_mode_1(&a, &st, c) : nvpd_set_mode_only_2(&a, &st, c);
	if (s != RPC_SUCCESS)
		return fail(c, "set");
	printf("status %d\n", st);
	client_done(c);
	return 0;
}

static int cmd_numa(const char *addr, int value)
{
	nvpd_set_numa_args a = {.numa = (nvpd_numa)value};
	nvpd_status st = NVPD_ERR_UNKNOWN;
	CLIENT *c;

	if (parse_addr(addr, &a.device) < 0)
		return 1;
	c = client(NVPD_V2);
	if (!c || nvpd_set_numa_2(&a, &st, c) != RPC_SUCCESS)
		return fail(c, "numa");
	printf("status %d\n", st);
	client_done(c);
	return 0;
}

/* --- raw records ---------------------------------------------------------------------------- */

/* Encodes a call into @buf; returns its length. @trunc drops that many bytes from the end. */
static size_t encode_call(char *buf, size_t size, unsigned prog, unsigned vers, unsigned proc,
			  const nvpd_device *dev, int mode, bool badcred)
{
	struct rpc_msg m = {.rm_xid = 0x1234, .rm_direction = CALL};
	nvpd_set_mode_args sa = {.device = *dev, .mode = (nvpd_mode)mode};
	static char junk[8] = "junk!!!";
	XDR x;
	bool ok;

	m.rm_call.cb_rpcvers = RPC_MSG_VERSION;
	m.rm_call.cb_prog = prog;
	m.rm_call.cb_vers = vers;
	m.rm_call.cb_proc = proc;
	m.rm_call.cb_cred = _null_auth;
	m.rm_call.cb_verf = _null_auth;
	if (badcred) /* AUTH_SYS with a body that is not an authsys_parms */
		m.rm_call.cb_cred = (struct opaque_auth){AUTH_SYS, junk, sizeof(junk)};
	xdrmem_create(&x, buf, (u_int)size, XDR_ENCODE);
	ok = xdr_callmsg(&x, &m);
	if (ok && proc == NVPD_SET_MODE)
		ok = xdr_nvpd_set_mode_args(&x, &sa);
	else if (ok && proc == NVPD_GET_MODE)
		ok = xdr_nvpd_device(&x, &sa.device);
	return ok ? xdr_getpos(&x) : 0;
}

static int write_all(int fd, const void *p, size_t n)
{
	return send(fd, p, n, MSG_NOSIGNAL) == (ssize_t)n ? 0 : -1;
}

/* Sends @body as @nfrag fragments, @gap_ms apart. */
static int send_record(int fd, const char *body, size_t len, unsigned nfrag, unsigned gap_ms)
{
	size_t off = 0;

	for (unsigned i = 0; i < nfrag; i++) {
		size_t n = i + 1 == nfrag ? len - off : len / nfrag;
		uint32_t h = htonl((uint32_t)n | (i + 1 == nfrag ? 0x80000000u : 0));

		if (write_all(fd, &h, 4) < 0 || write_all(fd, body + off, n) < 0)
			return -1;
		off += n;
		if (gap_ms && i + 1 < nfrag)
			usleep(gap_ms * 1000);
	}
	return 0;
}

static int read_full(int fd, void *p, size_t n, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	size_t got = 0;

	while (got < n) {
		struct pollfd pf = {.fd = fd, .events = POLLIN};
		ssize_t k;

		if (poll(&pf, 1, (int)(deadline - now_ms())) <= 0)
			return -1;
		k = recv(fd, (char *)p + got, n - got, 0);
		if (k <= 0)
			return -1;
		got += (size_t)k;
	}
	return 0;
}

/* Reads one reply record and prints its verdict. */
static int read_reply(int fd, unsigned proc)
{
	char body[1024];
	uint32_t h;
	size_t len;
	struct rpc_msg m = {};
	nvpd_get_mode_res res = {};
	XDR x;

	if (read_full(fd, &h, 4, 5000) < 0)
		return -1;
	len = ntohl(h) & 0x7fffffff;
	if (len > sizeof(body) || read_full(fd, body, len, 5000) < 0)
		return -1;
	m.acpted_rply.ar_results.where = (char *)&res;
	m.acpted_rply.ar_results.proc = proc == NVPD_GET_MODE ? (xdrproc_t)xdr_nvpd_get_mode_res
							      : (xdrproc_t)xdr_nvpd_status;
	xdrmem_create(&x, body, (u_int)len, XDR_DECODE);
	if (!xdr_replymsg(&x, &m) && m.rm_reply.rp_stat == MSG_ACCEPTED &&
	    m.acpted_rply.ar_stat == SUCCESS)
		return -1;
	printf("reply %d", m.rm_reply.rp_stat);
	if (m.rm_reply.rp_stat == MSG_ACCEPTED) {
		printf(" accept %d", m.acpted_rply.ar_stat);
		if (m.acpted_rply.ar_stat == SUCCESS && proc == NVPD_GET_MODE)
			printf(" status %d mode %d", res.status, res.nvpd_get_mode_res_u.mode);
		else if (m.acpted_rply.ar_stat == SUCCESS)
			printf(" status %d", res.status);
	}
	printf("\n");
	return 0;
}

static int cmd_raw(const char *kind, const char *addr)
{
	nvpd_device dev = {};
	unsigned prog = NVPD_PROG, vers = NVPD_V1, proc = NVPD_GET_MODE, nfrag = 1;
	bool badcred = false;
	size_t len, cut = 0;
	char body[512];
	int fd, r;

	if (addr && parse_addr(addr, &dev) < 0)
		return 1;
	if (!strcmp(kind, "fragments"))
		nfrag = 3;
	else if (!strcmp(kind, "badprog"))
		prog = NVPD_PROG + 1;
	else if (!strcmp(kind, "badvers"))
		vers = 3;
	else if (!strcmp(kind, "badproc"))
		proc = 9;
	else if (!strcmp(kind, "truncated"))
		cut = 8; /* the device's last two words */
	else if (!strcmp(kind, "badcred"))
		badcred = true;
	else {
		fprintf(stderr, "nvpd-probe: unknown raw kind '%s'\n", kind);
		return 2;
	}
	len = encode_call(body, sizeof(body), prog, vers, proc, &dev, 0, badcred) - cut;
	fd = connect_raw();
	if (fd < 0 || send_record(fd, body, len, nfrag, 100) < 0) {
		perror("nvpd-probe: raw");
		return 1;
	}
	r = read_reply(fd, proc);
	close(fd);
	if (r < 0)
		fprintf(stderr, "nvpd-probe: raw %s: no reply\n", kind);
	return r < 0;
}

/* --- many clients, hostile clients ---------------------------------------------------------- */

static nvpd_device conc_dev;
static int conc_ok, conc_failed;
static pthread_mutex_t conc_lock = PTHREAD_MUTEX_INITIALIZER;

static void *conc_worker(void *arg)
{
	nvpd_get_mode_res res = {};
	bool ok;

	ok = do_get(&conc_dev, &res) == 0 && res.status == NVPD_OK;
	pthread_mutex_lock(&conc_lock);
	if (ok)
		conc_ok++;
	else
		conc_failed++;
	pthread_mutex_unlock(&conc_lock);
	return arg;
}

static int cmd_concurrent(int n, const char *addr)
{
	pthread_t *t = calloc((size_t)n, sizeof(*t));
	pthread_attr_t attr;
	int started = 0;

	if (!t || parse_addr(addr, &conc_dev) < 0)
		return 1;
	/* libtirpc's authnone_create() reads its singleton before taking its lock: two threads
	 * creating their first clients at once may both allocate it, and one is leaked (LSan saw
	 * it in CI). Made once here, before the threads, each of them finds it. */
	(void)authnone_create();
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 128 * 1024);
	for (int i = 0; i < n; i++)
		if (pthread_create(&t[started], &attr, conc_worker, NULL) == 0)
			started++;
	for (int i = 0; i < started; i++)
		pthread_join(t[i], NULL);
	printf("ok %d failed %d\n", conc_ok, conc_failed + n - started);
	free(t);
	return 0;
}

static volatile int slow_stop;

static void *slow_writer(void *arg)
{
	int fd = *(int *)arg;
	char body[256];
	nvpd_device dev = {};
	size_t len = encode_call(body, sizeof(body), NVPD_PROG, 1, NULLPROC, &dev, 0, false);
	uint32_t h = htonl((uint32_t)len | 0x80000000u);
	char rec[260];

	memcpy(rec, &h, 4);
	memcpy(rec + 4, body, len);
	for (size_t i = 0; i < len + 4 && !slow_stop; i++) {
		if (write_all(fd, rec + i, 1) < 0)
			break;
		usleep(200 * 1000);
	}
	return NULL;
}

static int cmd_stall(const char *kind, const char *addr)
{
	nvpd_get_mode_res res = {};
	nvpd_device dev;
	pthread_t t;
	int fd = connect_raw(), r;
	int64_t t0;

	if (fd < 0 || parse_addr(addr, &dev) < 0)
		return 1;
	if (!strcmp(kind, "half")) {
		/* a header promising 100 bytes, and 6 of them */
		uint32_t h = htonl(100u | 0x80000000u);

		write_all(fd, &h, 4);
		write_all(fd, "abcdef", 6);
	} else if (!strcmp(kind, "slow"))
		pthread_create(&t, NULL, slow_writer, &fd);
	else if (!strcmp(kind, "noread")) {
		char body[256];
		size_t len =
			encode_call(body, sizeof(body), NVPD_PROG, 1, NULLPROC, &dev, 0, false);
		struct pollfd pf = {.fd = fd, .events = POLLOUT};

		/* pipelined NULL calls until the daemon stops reading (its replies pile up) */
		for (int i = 0; i < 200000 && poll(&pf, 1, 200) == 1; i++)
			if (send_record(fd, body, len, 1, 0) < 0)
				break;
	} else {
		fprintf(stderr, "nvpd-probe: unknown stall kind '%s'\n", kind);
		return 2;
	}
	t0 = now_ms();
	r = do_get(&dev, &res);
	printf("served in %lld ms\n", (long long)(now_ms() - t0));
	if (!strcmp(kind, "slow")) {
		slow_stop = 1;
		pthread_join(t, NULL);
	}
	close(fd);
	return r || now_ms() - t0 > 2000;
}

static int cmd_hangup(const char *addr, int mode)
{
	nvpd_device dev;
	char body[256];
	size_t len;
	int fd = connect_raw();

	if (fd < 0 || parse_addr(addr, &dev) < 0)
		return 1;
	len = encode_call(body, sizeof(body), NVPD_PROG, 1, NVPD_SET_MODE, &dev, mode, false);
	if (send_record(fd, body, len, 1, 0) < 0)
		return 1;
	close(fd);
	printf("closed\n");
	return 0;
}

static int cmd_setall(int mode, int n, char **addrs)
{
	struct gk_pci_addr *a = calloc((size_t)n + 1, sizeof(*a));
	int *errs = calloc((size_t)n + 1, sizeof(*errs)), r;

	if (!a || !errs)
		return 1;
	for (int i = 0; i < n; i++)
		if (pci_addr_parse(addrs[i], false, &a[i]) < 0) {
			fprintf(stderr, "nvpd-probe: bad address '%s'\n", addrs[i]);
			return 2;
		}
	r = nvpd_set_gpus(sock_path, a, (size_t)n, mode == 1, 5000, errs);
	printf("rc %d", r);
	for (int i = 0; i < n; i++)
		printf(" %d", errs[i]);
	printf("\n");
	free(a);
	free(errs);
	return 0;
}

int main(int argc, char **argv)
{
	int i = 1;

	signal(SIGPIPE, SIG_IGN);
	if (i < argc && !strcmp(argv[i], "--auth-sys-root")) {
		auth_root = true;
		i++;
	}
	if (argc - i < 2)
		goto usage;
	sock_path = argv[i];
	argv += i + 1;
	argc -= i + 1;
	if (!strcmp(argv[0], "null") && argc == 2)
		return cmd_null((unsigned)atoi(argv[1]));
	if (!strcmp(argv[0], "get") && argc == 2)
		return cmd_get(argv[1]);
	if (!strcmp(argv[0], "set") && argc == 4)
		return cmd_set((unsigned)atoi(argv[1]), argv[2], atoi(argv[3]));
	if (!strcmp(argv[0], "numa") && argc == 3)
		return cmd_numa(argv[1], atoi(argv[2]));
	if (!strcmp(argv[0], "raw") && (argc == 2 || argc == 3))
		return cmd_raw(argv[1], argc == 3 ? argv[2] : NULL);
	if (!strcmp(argv[0], "concurrent") && argc == 3)
		return cmd_concurrent(atoi(argv[1]), argv[2]);
	if (!strcmp(argv[0], "stall") && argc == 3)
		return cmd_stall(argv[1], argv[2]);
	if (!strcmp(argv[0], "hangup") && argc == 3)
		return cmd_hangup(argv[1], atoi(argv[2]));
	if (!strcmp(argv[0], "setall") && argc >= 3)
		return cmd_setall(atoi(argv[1]), argc - 2, argv + 2);
usage:
	fprintf(stderr, "usage: nvpd-probe [--auth-sys-root] SOCKET "
			"null|get|set|numa|raw|concurrent|stall|hangup|setall ...\n");
	return 2;
}
