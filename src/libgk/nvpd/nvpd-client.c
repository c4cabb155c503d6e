// SPDX-License-Identifier: GPL-2.0-or-later
/* nvidia-persistenced's RPC, client side, on libtirpc's stream client. The connect and each call
 * have a deadline; SIGPIPE from a daemon that closed early is blocked and discarded, so that a
 * caller that did not ignore it is not killed by libtirpc's plain write(). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

#include "macro.h"
#include "nvpd/nvpd-client.h"
#include "nvpd/nvpd-xdr.h"
#include "time-util.h"

struct nvpd_conn {
	CLIENT *clnt;
	int fd; /* closed by clnt_destroy() */
	unsigned version;
	struct timeval timeout;
};

static const char *const status_names[] = {
	[NVPD_OK] = "success",
	[NVPD_ERR_DAEMON_NOT_PRESENT] = "daemon not present",
	[NVPD_ERR_DEVICE_NOT_FOUND] = "device not found",
	[NVPD_ERR_DRIVER] = "driver error",
	[NVPD_ERR_INSUFFICIENT_RESOURCES] = "insufficient resources",
	[NVPD_ERR_INVALID_ARGUMENT] = "invalid argument",
	[NVPD_ERR_IO] = "I/O error",
	[NVPD_ERR_PERMISSIONS] = "permission denied",
	[NVPD_ERR_RPC] = "RPC error",
	[NVPD_ERR_USER_NOT_FOUND] = "user not found",
	[NVPD_ERR_NUMA_FAILURE] = "NUMA memory onlining failed",
	[NVPD_ERR_UNKNOWN] = "unknown error",
};

const char *nvpd_status_to_string(int status)
{
	if (status < 0 || (size_t)status >= ELEMENTSOF(status_names))
		return "unknown status";
	return status_names[status];
}

int nvpd_status_errno(int status)
{
	switch (status) {
	case NVPD_OK:
		return 0;
	case NVPD_ERR_DEVICE_NOT_FOUND:
		return -ENODEV;
	case NVPD_ERR_PERMISSIONS:
		return -EPERM;
	case NVPD_ERR_INVALID_ARGUMENT:
		return -EINVAL;
	case NVPD_ERR_DRIVER:
	case NVPD_ERR_IO:
		return -EIO;
	case NVPD_ERR_NUMA_FAILURE:
		return -EREMOTEIO;
	case NVPD_ERR_INSUFFICIENT_RESOURCES:
		return -ENOMEM;
	default:
		return -EPROTO;
	}
}

/* A local connect fails with EAGAIN while the listener's backlog is full: retry until the
 * deadline, 10 ms apart. */
static int connect_until(int fd, const struct sockaddr_un *sa, uint64_t deadline)
{
	for (;;) {
		if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) >= 0)
			return 0;
		if (errno != EAGAIN && errno != EINTR)
			return -errno;
		if (deadline_left_ms(deadline) == 0)
			return -ETIMEDOUT;
		sleep_until_ms(deadline, 10);
	}
}

int nvpd_open(const char *path, unsigned version, int timeout_ms, struct nvpd_conn **ret)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct netbuf addr = {.buf = &sa, .len = sizeof(sa), .maxlen = sizeof(sa)};
	_cleanup_close_ int fd = -EBADF;
	struct nvpd_conn *c;
	int r;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	if (version < NVPD_V1 || version > NVPD_V2 || timeout_ms <= 0)
		return -EINVAL;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	r = connect_until(fd, &sa, now_ms() + (uint64_t)timeout_ms);
	if (r < 0)
		return r;
	/* libtirpc's stream client waits in poll() with its own timeout and writes whole records:
	 * it wants a blocking socket. */
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0)
		return -errno;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->clnt = clnt_vc_create(fd, &addr, NVPD_PROG, version, 0, 0);
	if (!c->clnt) {
		free(c);
		return -ENOMEM;
	}
	c->fd = TAKE_FD(fd);
	c->version = version;
	c->timeout = (struct timeval){.tv_sec = timeout_ms / 1000,
				      .tv_usec = (timeout_ms % 1000) * 1000};
	clnt_control(c->clnt, CLSET_FD_CLOSE, NULL);
	clnt_control(c->clnt, CLSET_TIMEOUT, (char *)&c->timeout);
	*ret = c;
	return 0;
}

struct nvpd_conn *nvpd_close(struct nvpd_conn *c)
{
	if (!c)
		return NULL;
	clnt_destroy(c->clnt);
	free(c);
	return NULL;
}

pid_t nvpd_peer_pid(const struct nvpd_conn *c)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(c->fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return -errno;
	return cred.pid;
}

static int clnt_errno(enum clnt_stat s)
{
	switch (s) {
	case RPC_SUCCESS:
		return 0;
	case RPC_TIMEDOUT:
		return -ETIMEDOUT;
	case RPC_CANTSEND:
	case RPC_CANTRECV:
		return -ECONNRESET;
	case RPC_PROGUNAVAIL:
	case RPC_PROGVERSMISMATCH:
	case RPC_PROCUNAVAIL:
		return -EPROTONOSUPPORT;
	case RPC_AUTHERROR:
		return -EACCES;
	case RPC_CANTDECODEARGS:
		return -EINVAL;
	default:
		return -EPROTO;
	}
}

/* SIGPIPE is blocked around a call and a pending one discarded afterwards. */
static void pipe_block(sigset_t *old)
{
	sigset_t pipe_only;

	sigemptyset(&pipe_only);
	sigaddset(&pipe_only, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_only, old);
}

static int pipe_unblock(const sigset_t *old, enum clnt_stat s)
{
	struct timespec zero = {};
	sigset_t pipe_only;

	if (!sigismember(old, SIGPIPE)) {
		sigemptyset(&pipe_only);
		sigaddset(&pipe_only, SIGPIPE);
		while (sigtimedwait(&pipe_only, NULL, &zero) == SIGPIPE)
			;
		pthread_sigmask(SIG_SETMASK, old, NULL);
	}
	return clnt_errno(s);
}

int nvpd_ping(struct nvpd_conn *c)
{
	sigset_t old;
	enum clnt_stat s;

	pipe_block(&old);
	s = clnt_call(c->clnt, NULLPROC, NVPD_XDR_VOID, NULL, NVPD_XDR_VOID, NULL, c->timeout);
	return pipe_unblock(&old, s);
}

static struct nvpd_device to_device(const struct gk_pci_addr *a)
{
	return (struct nvpd_device){.domain = (int)a->domain,
				    .bus = (int)a->bus,
				    .slot = (int)a->dev,
				    .function = (int)a->fn};
}

static int status_result(int r, nvpd_status status, int *ret_status)
{
	if (ret_status)
		*ret_status = r < 0 ? -1 : (int)status;
	return r < 0 ? r : nvpd_status_errno((int)status);
}

int nvpd_get_mode(struct nvpd_conn *c, const struct gk_pci_addr *gpu, bool *ret_enabled,
		  int *ret_status)
{
	nvpd_get_mode_args args = {.device = to_device(gpu)};
	nvpd_get_mode_res res = {};
	sigset_t old;
	int r;

	if (c->version != NVPD_V1)
		return -EPROTONOSUPPORT;
	pipe_block(&old);
	r = pipe_unblock(&old, nvpd_get_mode_1(&args, &res, c->clnt));
	r = status_result(r, res.status, ret_status);
	if (r < 0)
		return r;
	*ret_enabled = res.nvpd_get_mode_res_u.mode == NVPD_MODE_ENABLED;
	return 0;
}

int nvpd_set_mode(struct nvpd_conn *c, const struct gk_pci_addr *gpu, bool enabled, int *ret_status)
{
	nvpd_set_mode_args args = {.device = to_device(gpu),
				   .mode = enabled ? NVPD_MODE_ENABLED : NVPD_MODE_DISABLED};
	nvpd_status status = NVPD_ERR_UNKNOWN;
	sigset_t old;
	int r;

	pipe_block(&old);
	/* v1 sets the mode and onlines or offlines coherent memory; v2's call only the mode. */
	if (c->version == NVPD_V1)
		r = pipe_unblock(&old, nvpd_set_mode_1(&args, &status, c->clnt));
	else
		r = pipe_unblock(&old, nvpd_set_mode_only_2(&args, &status, c->clnt));
	return status_result(r, status, ret_status);
}

int nvpd_set_numa(struct nvpd_conn *c, const struct gk_pci_addr *gpu, bool online, int *ret_status)
{
	nvpd_set_numa_args args = {.device = to_device(gpu),
				   .numa = online ? NVPD_NUMA_ONLINE : NVPD_NUMA_OFFLINE};
	nvpd_status status = NVPD_ERR_UNKNOWN;
	sigset_t old;
	int r;

	if (c->version != NVPD_V2)
		return -EPROTONOSUPPORT;
	pipe_block(&old);
	r = pipe_unblock(&old, nvpd_set_numa_2(&args, &status, c->clnt));
	return status_result(r, status, ret_status);
}

int nvpd_set_gpus(const char *path, const struct gk_pci_addr *gpus, size_t n, bool enabled,
		  int timeout_ms, int *ret_errors)
{
	struct nvpd_conn *c = NULL;
	int first = 0;

	for (size_t i = 0; i < n; i++) {
		int r = c ? 0 : nvpd_open(path, NVPD_V1, timeout_ms, &c);

		if (r >= 0)
			r = nvpd_set_mode(c, &gpus[i], enabled, NULL);
		/* A timeout or a reset leaves the connection unusable: the next GPU gets a new one.
		 */
		if (r == -ETIMEDOUT || r == -ECONNRESET)
			c = nvpd_close(c);
		if (ret_errors)
			ret_errors[i] = r;
		if (r < 0 && first == 0)
			first = r;
	}
	nvpd_close(c);
	return first;
}
