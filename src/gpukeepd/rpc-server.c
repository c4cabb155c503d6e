// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * nvidia-persistenced's RPC socket on the event loop. Connections are accepted here (peer
 * credentials, caps), read and written without ever blocking (rpc-xprt.c), and each whole record
 * goes to libtirpc, which decodes the call, authenticates it, matches program and version (its
 * standard errors for the rest) and calls dispatch() below. A set's reply may wait for the device
 * file to open or close; its connection is not read meanwhile, and every other one is served.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "clients.h"
#include "compat.h"
#include "log.h"
#include "loop.h"
#include "privs.h"
#include "rpc-procs.h"
#include "rpc-xprt.h"
#include "rpc.h"
#include "time-util.h"

struct rpc_conn {
	struct rpc_conn *prev, *next;
	bool used;
	struct ucred cred; /* from SO_PEERCRED at accept */
	bool may_change;   /* root, or in the daemon's --group */
	bool pending;	   /* a set waits for its hold: not read, not watched */
	bool eof;	   /* the client has sent all it will */
	uint32_t events;   /* epoll interest now; 0: not watched */
	uint64_t deadline; /* a record begun, or a reply unread, by then; UINT64_MAX: idle */
	struct rpc_wait wait;
	struct rpc_xprt x;
};

static struct {
	struct gkd *d;
	struct rpc_conn *pool; /* cfg->max_clients entries: epoll tags are their addresses */
	size_t pool_n;
	size_t *free_slots; /* a stack of unused pool indices */
	size_t n_free;
	struct rpc_conn *head;
	size_t n;
	struct rpc_conn *current; /* the connection whose record libtirpc is serving */
	bool bound, made_dir;	  /* the socket, and its directory, are ours to remove */
	bool given_up;		  /* the default socket could not be set up: not served */
	bool started;
} srv;
static char tag_listen;
/* svc_register() wants a transport but uses it only for rpcbind, which protocol 0 skips. */
static SVCXPRT register_xprt;

bool rpc_owns(const void *tag)
{
	uintptr_t p = (uintptr_t)tag, lo = (uintptr_t)srv.pool;

	if (tag == &tag_listen)
		return true;
	return srv.pool && p >= lo && p < lo + srv.pool_n * sizeof(*srv.pool);
}

size_t rpc_connections(void)
{
	return srv.n;
}

static void conn_close(struct gkd *d, struct rpc_conn *c, const char *why)
{
	log_debug("RPC client uid %u pid %d: %s; closed", (unsigned)c->cred.uid, (int)c->cred.pid,
		  why);
	rpc_xprt_done(&c->x); /* epoll forgets the fd as it is closed */
	if (c->prev)
		c->prev->next = c->next;
	else
		srv.head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	srv.n--;
	c->used = false;
	srv.free_slots[srv.n_free++] = (size_t)(c - srv.pool);
}

static int conn_watch(struct gkd *d, struct rpc_conn *c, uint32_t want)
{
	struct epoll_event ev = {.events = want, .data.ptr = c};
	int op = want == 0 ? EPOLL_CTL_DEL : c->events == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;

	if (want == c->events)
		return 0;
	if (epoll_ctl(d->epfd, op, c->x.xprt.xp_fd, &ev) < 0)
		return -errno;
	c->events = want;
	return 0;
}

static bool conn_busy(const struct rpc_conn *c)
{
	return rpc_xprt_has_output(&c->x) || c->x.in_len > 0 || c->x.rec.len > 0;
}

/* Serves one whole record. */
static void serve(struct rpc_conn *c)
{
	srv.current = c;
	rpc_xprt_serve(&c->x);
	srv.current = NULL;
	/* A record answered: the next one has its own time. */
	c->deadline = UINT64_MAX;
}

/* Serves the records that are whole, one at a time while their replies go out, then sets the
 * deadline and what to wait for. May close @c. */
static void conn_run(struct gkd *d, struct rpc_conn *c)
{
	uint32_t want;
	unsigned i;
	int r;

	/* A few records per wake-up, so that one pipelining client cannot hog the loop. */
	for (i = 0; i < 8 && !c->pending && !rpc_xprt_has_output(&c->x); i++) {
		r = rpc_xprt_frame(&c->x);
		if (r < 0)
			return conn_close(d, c,
					  r == -EMSGSIZE ? "a record over the size cap"
							 : "an empty fragment");
		if (r == 0)
			break;
		serve(c);
		if (c->x.broken)
			return conn_close(d, c, "undecodable call, or the reply could not be sent");
	}
	if (c->eof && !c->pending && !rpc_xprt_has_output(&c->x) && rpc_xprt_frame(&c->x) == 0)
		return conn_close(d, c, "end of input");
	if (c->pending || !conn_busy(c))
		c->deadline = UINT64_MAX;
	else if (c->deadline == UINT64_MAX)
		c->deadline = now_us() + d->cfg->client_timeout_ms * 1000ULL;
	/* Records left after a burst: a writable socket wakes the loop again at once. */
	if (c->pending)
		want = 0;
	else if (rpc_xprt_has_output(&c->x) || i == 8)
		want = EPOLLOUT;
	else
		want = c->eof ? 0 : EPOLLIN;
	if (conn_watch(d, c, want) < 0)
		conn_close(d, c, "cannot watch it");
}

static size_t conns_of_uid(uid_t uid)
{
	size_t n = 0;

	for (const struct rpc_conn *c = srv.head; c; c = c->next)
		n += c->cred.uid == uid;
	return n;
}

static void conn_add(struct gkd *d, int fd, const struct ucred *cred)
{
	struct rpc_conn *c;

	/* Root is exempt from the per-uid cap, as on the JSON socket. */
	if (srv.n_free == 0 ||
	    (cred->uid != 0 && conns_of_uid(cred->uid) >= d->cfg->max_clients_per_uid)) {
		d->dropped++;
		log_debug("RPC: connection from uid %u over the caps; closed", (unsigned)cred->uid);
		close(fd);
		return;
	}
	c = &srv.pool[srv.free_slots[srv.n_free - 1]];
	if (rpc_xprt_init(&c->x, fd) < 0) {
		close(fd);
		return;
	}
	srv.n_free--;
	c->used = true;
	c->cred = *cred;
	c->may_change = client_may_change(d, fd, cred);
	c->pending = c->eof = false;
	c->events = 0;
	c->deadline = UINT64_MAX;
	c->prev = NULL;
	c->next = srv.head;
	if (c->next)
		c->next->prev = c;
	srv.head = c;
	srv.n++;
	if (conn_watch(d, c, EPOLLIN) < 0)
		conn_close(d, c, "cannot watch it");
}

static void listener_event(struct gkd *d)
{
	/* A burst of connects is taken a bounded number at a time, so that clients already in
	 * are served between. */
	for (int i = 0; i < 64; i++) {
		struct ucred cred;
		socklen_t len = sizeof(cred);
		int fd = accept4(d->rpcfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN)
				log_warning_errno(errno, "RPC: accept: %m");
			return;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
			close(fd);
			continue;
		}
		conn_add(d, fd, &cred);
	}
}

void rpc_event(struct gkd *d, void *tag, uint32_t events)
{
	struct rpc_conn *c = tag;
	int r;

	if (tag == &tag_listen)
		return listener_event(d);
	if (!c->used || c->pending) /* closed earlier in this batch, or not watched */
		return;
	if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) {
		r = rpc_xprt_flush(&c->x);
		if (r < 0)
			return conn_close(d, c, "the reply could not be sent");
	}
	if ((events & (EPOLLIN | EPOLLERR | EPOLLHUP)) && !c->eof) {
		r = rpc_xprt_fill(&c->x);
		if (r < 0)
			return conn_close(d, c, "read error");
		c->eof = r > 0;
	}
	conn_run(d, c);
}

/* Sends the answer to @c's set, and goes on with what the client sent meanwhile. */
static void answer_pending(struct gkd *d, struct rpc_conn *c, nvpd_status status)
{
	c->pending = false;
	if (!svc_sendreply(&c->x.xprt, (xdrproc_t)xdr_nvpd_status, (char *)&status))
		return conn_close(d, c, "gone before its reply");
	conn_run(d, c);
}

void rpc_tick(struct gkd *d, uint64_t now)
{
	struct rpc_conn *next;

	for (struct rpc_conn *c = srv.head; c; c = next) {
		next = c->next;
		if (c->pending) {
			int s = rpc_proc_settled(d, &c->wait);

			if (s >= 0)
				answer_pending(d, c, (nvpd_status)s);
		} else if (now >= c->deadline) {
			d->dropped++;
			conn_close(d, c,
				   rpc_xprt_has_output(&c->x) ? "its reply not read in time"
							      : "a record not finished in time");
		}
	}
}

uint64_t rpc_next_deadline(const struct gkd *d)
{
	uint64_t next = UINT64_MAX;

	for (const struct rpc_conn *c = srv.head; c; c = c->next)
		if (c->deadline < next)
			next = c->deadline;
	return next;
}

/* --- procedures ---------------------------------------------------------------------------- */

static void reply_status(SVCXPRT *xprt, nvpd_status s)
{
	svc_sendreply(xprt, (xdrproc_t)xdr_nvpd_status, (char *)&s);
}

static void serve_set_mode(struct rpc_conn *c, SVCXPRT *xprt, unsigned vers)
{
	nvpd_set_mode_args a;
	int r;

	memset(&a, 0, sizeof(a));
	if (!svc_getargs(xprt, (xdrproc_t)xdr_nvpd_set_mode_args, (char *)&a)) {
		svcerr_decode(xprt);
		return;
	}
	if (!c->may_change) {
		srv.d->refused++;
		log_notice("RPC: refused v%u set for %04x:%02x:%02x from uid %u pid %d", vers,
			   (unsigned)a.device.domain, (unsigned)a.device.bus,
			   (unsigned)a.device.slot, (unsigned)c->cred.uid, (int)c->cred.pid);
	}
	r = rpc_proc_set_mode(srv.d, c->may_change, c->cred.uid, &a, &c->wait);
	if (r < 0) {
		c->pending = true; /* answered by rpc_tick() once the hold settles */
		return;
	}
	reply_status(xprt, (nvpd_status)r);
}

static void serve_get(SVCXPRT *xprt)
{
	nvpd_get_mode_args a;
	nvpd_get_mode_res res = {};

	memset(&a, 0, sizeof(a));
	if (!svc_getargs(xprt, (xdrproc_t)xdr_nvpd_get_mode_args, (char *)&a)) {
		svcerr_decode(xprt);
		return;
	}
	rpc_proc_get(srv.d, &a, &res);
	svc_sendreply(xprt, (xdrproc_t)xdr_nvpd_get_mode_res, (char *)&res);
}

static void serve_set_numa(struct rpc_conn *c, SVCXPRT *xprt)
{
	nvpd_set_numa_args a;

	memset(&a, 0, sizeof(a));
	if (!svc_getargs(xprt, (xdrproc_t)xdr_nvpd_set_numa_args, (char *)&a)) {
		svcerr_decode(xprt);
		return;
	}
	if (!c->may_change)
		srv.d->refused++;
	reply_status(xprt, rpc_proc_set_numa(srv.d, c->may_change, &a));
}

/* Both versions' dispatch: libtirpc has matched program and version, and checked the credential's
 * form. What the credential claims decides nothing: SO_PEERCRED does. */
static void dispatch(struct svc_req *rq, SVCXPRT *xprt)
{
	struct rpc_conn *c = srv.current;

	if (!c)
		return;
	srv.d->requests++;
	log_debug("RPC call v%u proc %u, credential flavor %d, uid %u pid %d",
		  (unsigned)rq->rq_vers, (unsigned)rq->rq_proc, (int)rq->rq_cred.oa_flavor,
		  (unsigned)c->cred.uid, (int)c->cred.pid);
	switch (rq->rq_proc) {
	case NULLPROC:
		svc_sendreply(xprt, NVPD_XDR_VOID, NULL);
		break;
	case 1: /* NVPD_SET_MODE (v1), NVPD_SET_MODE_ONLY (v2) */
		serve_set_mode(c, xprt, rq->rq_vers);
		break;
	case 2: /* NVPD_GET_MODE (v1), NVPD_SET_NUMA (v2) */
		if (rq->rq_vers == NVPD_V1)
			serve_get(xprt);
		else
			serve_set_numa(c, xprt);
		break;
	default:
		svcerr_noproc(xprt);
		break;
	}
}

/* --- start and stop ------------------------------------------------------------------------ */

static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash || slash == path)
		return NULL;
	return strndup(path, (size_t)(slash - path));
}

/* A socket the command line did not ask for is not worth failing the daemon: it keeps the GPUs
 * initialized without it (a node without /var/run, nvidia-persistenced still running). */
static int give_up(const struct gkd_config *cfg, int r)
{
	if (cfg->nvpd_socket_required)
		return r;
	log_warning("not serving nvidia-persistenced's RPC socket %s (see above); NVIDIA's tools "
		    "will not see gpukeepd. --nvpd-socket makes this fatal, --no-nvpd-socket "
		    "silences it",
		    cfg->nvpd_socket_path);
	srv.given_up = true;
	return 0;
}

int rpc_prepare_dir(const struct gkd_config *cfg, uid_t uid, gid_t gid)
{
	_cleanup_free_ char *dir = NULL;

	if (!cfg->nvpd_socket_path)
		return 0;
	dir = dir_of(cfg->nvpd_socket_path);
	if (!dir)
		return log_error_errno(EINVAL, "--nvpd-socket %s: expected a path in a directory",
				       cfg->nvpd_socket_path);
	/* Only made here: its owner is set once the pid-file lock says no other instance runs
	 * (in nvidia-persistenced's mode the pid file is in it). */
	srv.made_dir = mkdir(dir, 0755) == 0;
	if (!srv.made_dir && errno != EEXIST)
		return give_up(cfg,
			       log_error_errno(errno,
					       "cannot create the RPC socket's directory %s: %m",
					       dir));
	return 0;
}

/* Whether something answers a connect at @path: nvidia-persistenced, or another gpukeepd. */
static bool someone_listens(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (fd < 0 || strlen(path) >= sizeof(sa.sun_path))
		return false;
	strcpy(sa.sun_path, path);
	return connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 || errno == EAGAIN;
}

int rpc_socket_open(const struct gkd_config *cfg, uid_t uid, gid_t gid, int *ret_fd)
{
	_cleanup_free_ char *dir = NULL;
	char why[256] = "";
	int r;

	*ret_fd = -EBADF;
	if (!cfg->nvpd_socket_path || srv.given_up)
		return 0;
	dir = dir_of(cfg->nvpd_socket_path);
	/* the directory rpc_prepare_dir() made is ours: hand it to the daemon's user first, so
	 * that dir_prepare() (which refuses other people's directories) sees it as the daemon's */
	if (dir && srv.made_dir && chown(dir, uid, gid) < 0)
		log_warning_errno(errno, "cannot chown %s: %m", dir);
	r = dir ? dir_prepare(dir, uid, gid, NULL, why, sizeof(why)) : -ENOMEM;
	if (r < 0 && why[0])
		log_error("cannot prepare the RPC socket's directory %s: %s", strna(dir), why);
	else if (r < 0)
		log_error_errno(r, "cannot prepare the RPC socket's directory %s: %m", strna(dir));
	if (r < 0)
		return give_up(cfg, r);
	if (someone_listens(cfg->nvpd_socket_path)) {
		log_error("another daemon serves %s (nvidia-persistenced?): stop it first, or run "
			  "with --no-nvpd-socket",
			  cfg->nvpd_socket_path);
		return give_up(cfg, -EADDRINUSE);
	}
	r = server_socket_open(cfg->nvpd_socket_path, uid, gid, ret_fd);
	if (r < 0)
		return give_up(
			cfg, log_error_errno(r, "cannot listen on %s: %m", cfg->nvpd_socket_path));
	srv.bound = true;
	return 0;
}

void rpc_socket_remove(const struct gkd_config *cfg)
{
	_cleanup_free_ char *dir = NULL;

	if (srv.bound && unlink(cfg->nvpd_socket_path) < 0 && errno != ENOENT)
		log_warning_errno(errno, "cannot remove %s: %m", cfg->nvpd_socket_path);
	srv.bound = false;
	/* As nvidia-persistenced: the directory goes if we made it and may remove it (after the
	 * privilege drop /var/run is not ours: the init files remove it, as NVIDIA's do). */
	dir = srv.made_dir ? dir_of(cfg->nvpd_socket_path) : NULL;
	if (dir && rmdir(dir) < 0)
		log_debug_errno(errno, "cannot remove %s: %m", dir);
}

static void quiet_stdout(void)
{
	_cleanup_close_ int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);

	if (fd >= 0) {
		fflush(stdout);
		dup2(fd, STDOUT_FILENO);
	}
}

/* libtirpc sizes its fd-to-transport table by the fd limit at its first registration and
 * touches all of it: under a limit of a million (containers) that is 8 MiB of RSS. Far fewer fds
 * can ever be in use (clamp_clients() keeps the caps under the limit), so a huge soft limit is
 * lowered first. */
static void limit_fds(const struct gkd_config *cfg)
{
	rlim_t want = 4 * (rlim_t)cfg->max_clients + 1024;
	struct rlimit rl;

	if (want < 65536)
		want = 65536;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur <= want)
		return;
	rl.rlim_cur = want;
	if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
		log_debug("RPC: fd limit lowered to %llu", (unsigned long long)want);
}

static int start(struct gkd *d)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &tag_listen};

	srv.d = d;
	limit_fds(d->cfg);
	srv.pool_n = d->cfg->max_clients;
	srv.pool = calloc(srv.pool_n, sizeof(*srv.pool));
	srv.free_slots = calloc(srv.pool_n, sizeof(*srv.free_slots));
	if (!srv.pool || !srv.free_slots)
		return log_error_errno(ENOMEM, "RPC: %m");
	/* Lowest slot on top, so that a quiet daemon keeps touching the same few pages. */
	for (size_t i = 0; i < srv.pool_n; i++)
		srv.free_slots[i] = srv.pool_n - 1 - i;
	srv.n_free = srv.pool_n;
	/* Protocol 0: nothing is registered with rpcbind, as nvidia-persistenced does. */
	if (!svc_register(&register_xprt, NVPD_PROG, NVPD_V1, dispatch, 0) ||
	    !svc_register(&register_xprt, NVPD_PROG, NVPD_V2, dispatch, 0))
		return log_error_errno(ENOMEM, "RPC: cannot register program %d", NVPD_PROG);
	if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, d->rpcfd, &ev) < 0)
		return log_error_errno(errno, "epoll_ctl: %m");
	/* libtirpc prints every malformed AUTH_SYS credential on stdout ("bad auth_len ..."): any
	 * local user could fill the journal. The daemon writes nothing to stdout once it runs. */
	quiet_stdout();
	srv.started = true;
	log_info("RPC: serving nvidia-persistenced's program %d, versions 1 and 2, on %s",
		 NVPD_PROG, d->cfg->nvpd_socket_path);
	return 0;
}

int rpc_start(struct gkd *d)
{
	int r = d->rpcfd >= 0 ? start(d) : 0;

	if (r < 0) {
		rpc_stop(d);
		return r;
	}
	/* Serving: a parent waiting in nvidia-persistenced's mode may return. */
	compat_ready();
	return 0;
}

void rpc_stop(struct gkd *d)
{
	/* Sets still pending are not answered: their clients see the connection close. */
	while (srv.head)
		conn_close(d, srv.head, "shutting down");
	if (srv.started && d->epfd >= 0)
		epoll_ctl(d->epfd, EPOLL_CTL_DEL, d->rpcfd, NULL);
	srv.started = false;
	d->rpcfd = safe_close(d->rpcfd);
	free(srv.pool);
	free(srv.free_slots);
	srv.pool = NULL;
	srv.free_slots = NULL;
	srv.pool_n = srv.n_free = 0;
}
