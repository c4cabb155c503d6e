// SPDX-License-Identifier: GPL-2.0-or-later
/* Talking to gpukeepd: every wait is bounded by one deadline for the whole call. */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

#include "daemon/client.h"
#include "daemon/protocol.h"
#include "macro.h"

int client_connect(const char *path, int *ret_fd)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	_cleanup_close_ int fd = -EBADF;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* A local stream connect does not block unless the backlog is full; then it waits, and
	 * the daemon's accept loop drains the backlog. */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	*ret_fd = TAKE_FD(fd);
	return 0;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int wait_for(int fd, short events, int64_t deadline)
{
	struct pollfd p = {.fd = fd, .events = events};
	int64_t left = deadline - now_ms();
	int r;

	if (left <= 0)
		return -ETIMEDOUT;
	r = poll(&p, 1, (int)left);
	if (r < 0)
		return errno == EINTR ? 0 : -errno;
	return r == 0 ? -ETIMEDOUT : 0;
}

static int send_all(int fd, const char *buf, size_t n, int64_t deadline)
{
	while (n > 0) {
		ssize_t k = send(fd, buf, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		int r;

		if (k < 0 && (errno == EAGAIN || errno == EINTR)) {
			r = wait_for(fd, POLLOUT, deadline);
			if (r < 0)
				return r;
			continue;
		}
		if (k < 0)
			return errno == EPIPE ? -ECONNRESET : -errno;
		buf += k;
		n -= (size_t)k;
	}
	return 0;
}

/* Reads up to the first newline; the reply is at most GK_PROTO_MAX_REPLY bytes. */
static int read_line(int fd, int64_t deadline, char **ret, size_t *ret_len)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0, size = 0;

	for (;;) {
		ssize_t k;
		char *nl;
		int r;

		if (size - len < 4096) {
			char *b;

			if (size >= GK_PROTO_MAX_REPLY)
				return -EMSGSIZE;
			size = size ? size * 2 : 8192;
			b = realloc(buf, size + 1);
			if (!b)
				return -ENOMEM;
			buf = b;
		}
		k = recv(fd, buf + len, size - len, MSG_DONTWAIT);
		if (k < 0 && (errno == EAGAIN || errno == EINTR)) {
			r = wait_for(fd, POLLIN, deadline);
			if (r < 0)
				return r;
			continue;
		}
		if (k < 0)
			return -errno;
		if (k == 0)
			return -ECONNRESET;
		nl = memchr(buf + len, '\n', (size_t)k);
		len += (size_t)k;
		if (nl) {
			*nl = '\0';
			*ret_len = (size_t)(nl - buf);
			*ret = TAKE_PTR(buf);
			return 0;
		}
	}
}

int client_call(int fd, struct json_object *req, int timeout_ms, struct json_object **ret_reply)
{
	int64_t deadline = now_ms() + timeout_ms;
	_cleanup_free_ char *line = NULL, *reply = NULL;
	struct json_tokener *tok;
	struct json_object *o;
	size_t len, reply_len = 0;
	int r;

	line = proto_serialize(req, &len);
	if (!line)
		return -ENOMEM;
	r = send_all(fd, line, len, deadline);
	if (r < 0)
		return r;
	r = read_line(fd, deadline, &reply, &reply_len);
	if (r < 0)
		return r;
	tok = json_tokener_new();
	if (!tok)
		return -ENOMEM;
	o = json_tokener_parse_ex(tok, reply, (int)reply_len);
	r = json_tokener_get_error(tok) == json_tokener_success ? 0 : -EPROTO;
	json_tokener_free(tok);
	if (r < 0) {
		json_object_put(o);
		return r;
	}
	*ret_reply = o;
	return 0;
}
