// SPDX-License-Identifier: GPL-2.0-or-later
/* Control-socket clients. Everything a client can make the daemon hold is capped: connections in
 * all and per uid, one request line, one reply in flight, and the time to finish a request. */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/param.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "handlers.h"
#include "log.h"
#include "loop.h"
#include "time-util.h"

int server_socket_open(const char *path, uid_t uid, gid_t gid, int *ret_fd)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	_cleanup_close_ int fd = -EBADF;
	mode_t old;
	int r;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	/* The caller holds the pid-file lock, so a socket left here is stale. */
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	/* Tight umask while binding, so there is no moment with a wider mode. */
	old = umask(0177);
	r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r < 0)
		return -errno;
	if (chown(path, uid, gid) < 0 || chmod(path, 0666) < 0)
		return -errno;
	if (listen(fd, 128) < 0)
		return -errno;
	*ret_fd = TAKE_FD(fd);
	return 0;
}

static bool in_group(int fd, const struct ucred *cred, gid_t gid)
{
	_cleanup_free_ gid_t *big = NULL;
	gid_t small[256], *groups = small;
	socklen_t len = sizeof(small);

	if (cred->gid == gid)
		return true;
	/* SO_PEERGROUPS: the supplementary groups at connect time, with no /proc race. A member
	 * of more groups than fit gets ERANGE and, in len, the size the kernel needs. */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0) {
		if (errno != ERANGE || len <= sizeof(small) || len > GKD_MAX_GROUPS * sizeof(gid_t))
			return false;
		big = malloc(len);
		if (!big)
			return false;
		groups = big;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0)
			return false;
	}
	for (size_t i = 0; i < len / sizeof(gid_t); i++)
		if (groups[i] == gid)
			return true;
	return false;
}

bool client_may_change(const struct gkd *d, int fd, const struct ucred *cred)
{
	return cred->uid == 0 || (d->auth_group && in_group(fd, cred, d->auth_gid));
}

static size_t clients_of_uid(const struct gkd *d, uid_t uid)
{
	size_t n = 0;

	for (const struct client *c = d->clients.head; c; c = c->next)
		n += c->cred.uid == uid && !c->draining;
	return n;
}

unsigned clients_held_back(unsigned max_clients)
{
	/* An eighth of the slots (32 of the default 256), at least one when there are two. */
	if (max_clients < 2)
		return 0;
	return max_clients / 8 ? max_clients / 8 : 1;
}

static void client_free(struct gkd *d, struct client *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		d->clients.head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	if (c->draining)
		d->clients.draining--;
	else
		d->clients.n--;
	safe_close(c->fd);
	free(c->out);
	free(c);
	/* After a crowd (thousands of 4 KiB buffers) has gone, give the pages back: free() alone
	 * returns only the top of the heap, and an idle daemon should look idle. */
	if (!d->clients.head && d->clients.peak >= GKD_TRIM_AFTER) {
		malloc_trim(0);
		d->clients.peak = 0;
	}
}

static int client_watch(struct gkd *d, struct client *c, uint32_t events, int op)
{
	struct epoll_event ev = {.events = events, .data.ptr = c};

	return epoll_ctl(d->epfd, op, c->fd, &ev) < 0 ? -errno : 0;
}

static struct client *client_new(struct gkd *d, int fd, const struct ucred *cred, bool may_change)
{
	struct client *c = calloc(1, sizeof(*c));

	if (!c) {
		close(fd);
		return NULL;
	}
	c->fd = fd;
	c->cred = *cred;
	c->may_change = may_change;
	c->deadline = now_us() + d->cfg->client_timeout_ms * 1000ULL;
	c->next = d->clients.head;
	if (c->next)
		c->next->prev = c;
	d->clients.head = c;
	d->clients.n++;
	if (d->clients.n + d->clients.draining > d->clients.peak)
		d->clients.peak = d->clients.n + d->clients.draining;
	if (client_watch(d, c, EPOLLIN, EPOLL_CTL_ADD) < 0) {
		client_free(d, c);
		return NULL;
	}
	return c;
}

/*
 * Refusal at accept. Closing at once, with the client's request still unread, resets the
 * connection: the client saw "connection reset" instead of the reason. So: the line (the socket
 * buffer is empty, so it fits and this never blocks), then our write side shut down, then the
 * client's input read and dropped until it closes or GKD_DRAIN_MS pass. Refusals draining at once
 * are capped; past that a refused connection is closed at once, as before.
 */
static void refuse_connection(struct gkd *d, int fd, const struct ucred *cred, const char *message)
{
	struct json_object *o = proto_reply_error(NULL, GK_PERR_TOO_MANY_CLIENTS, message);
	_cleanup_free_ char *line = NULL;
	struct client *c;
	size_t len;

	d->dropped++;
	line = o ? proto_serialize(o, &len) : NULL;
	json_object_put(o);
	if (line)
		(void)!send(fd, line, len, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (d->clients.draining >= GKD_MAX_DRAINING || shutdown(fd, SHUT_WR) < 0) {
		close(fd);
		return;
	}
	c = client_new(d, fd, cred, false);
	if (!c)
		return;
	d->clients.n--;
	d->clients.draining++;
	c->draining = true;
	c->deadline = now_us() + MIN(d->cfg->client_timeout_ms, GKD_DRAIN_MS) * 1000ULL;
}

/* Why @cred may not have one more connection, or NULL. Root and the daemon's group have slots
 * held back that nobody else can take, so that a crowd of ordinary users never locks them out. */
static const char *over_cap(const struct gkd *d, const struct ucred *cred, bool privileged)
{
	unsigned max = d->cfg->max_clients;

	if (!privileged && d->clients.n + clients_held_back(max) >= max)
		return "too many clients; try again later";
	if (d->clients.n >= max)
		return "too many clients; try again later";
	/* Root is exempt from the per-uid cap: it may always reach its own daemon. */
	if (cred->uid != 0 && clients_of_uid(d, cred->uid) >= d->cfg->max_clients_per_uid)
		return "too many connections from this uid; try again later";
	return NULL;
}

void clients_accept(struct gkd *d)
{
	for (;;) {
		struct ucred cred;
		socklen_t len = sizeof(cred);
		int fd = accept4(d->listenfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		const char *why;
		bool privileged;

		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				log_warning_errno(errno, "accept: %m");
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
			close(fd);
			continue;
		}
		privileged = client_may_change(d, fd, &cred);
		why = over_cap(d, &cred, privileged);
		if (why)
			refuse_connection(d, fd, &cred, why);
		else
			client_new(d, fd, &cred, privileged);
	}
}

/* Sends what is pending. Returns 1 when all is sent, 0 when the socket is full, -errno. */
static int client_flush(struct client *c)
{
	while (c->out_off < c->out_len) {
		ssize_t k = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return errno == EAGAIN ? 0 : -errno;
		c->out_off += (size_t)k;
	}
	free(c->out);
	c->out = NULL;
	c->out_len = c->out_off = 0;
	return 1;
}

/* Takes @line (malloc()ed, @len bytes) as the reply to send. */
static int client_reply(struct gkd *d, struct client *c, char *line, size_t len)
{
	int r;

	if (!line)
		return -ENOMEM;
	c->out = line;
	c->out_len = len;
	c->out_off = 0;
	r = client_flush(c);
	if (r < 0)
		return r;
	if (r == 0) /* wait for room; read nothing more until this reply is out */
		return client_watch(d, c, EPOLLOUT, EPOLL_CTL_MOD);
	c->deadline = now_us() + d->cfg->client_timeout_ms * 1000ULL;
	return 0;
}

static int client_error(struct gkd *d, struct client *c, enum gk_proto_error code,
			const char *message)
{
	struct json_object *o = proto_reply_error(NULL, code, message);
	size_t len = 0;
	char *line = o ? proto_serialize(o, &len) : NULL;

	json_object_put(o);
	c->closing = true;
	return client_reply(d, c, line, len);
}

/* Handles the complete lines in the input buffer, one at a time while replies go out. */
static int client_process(struct gkd *d, struct client *c)
{
	while (!c->out && !c->closing) {
		char *nl = memchr(c->in, '\n', c->in_len);
		size_t used, len = 0;
		char *reply;
		int r;

		if (!nl) {
			if (c->in_len < sizeof(c->in))
				return 0;
			return client_error(d, c, GK_PERR_LINE_TOO_LONG,
					    "request line longer than 4096 bytes; closing");
		}
		used = (size_t)(nl - c->in) + 1;
		reply = handle_request(d, c, c->in, used - 1, &len);
		r = client_reply(d, c, reply, len);
		memmove(c->in, c->in + used, c->in_len - used);
		c->in_len -= used;
		if (r < 0)
			return r;
	}
	return 0;
}

static int client_read(struct gkd *d, struct client *c)
{
	for (;;) {
		ssize_t k = recv(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len, 0);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return errno == EAGAIN ? client_process(d, c) : -errno;
		if (k == 0) /* a partial line at EOF is dropped: it never ran */
			return -ECONNRESET;
		c->in_len += (size_t)k;
		if (c->in_len == sizeof(c->in) || memchr(c->in + c->in_len - k, '\n', (size_t)k))
			return client_process(d, c);
	}
}

/* A refused client's input, read and dropped. Returns -ECONNRESET at its EOF. */
static int client_drain(struct client *c)
{
	char buf[4096];

	for (;;) {
		ssize_t k = recv(c->fd, buf, sizeof(buf), 0);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return errno == EAGAIN ? 0 : -errno;
		if (k == 0)
			return -ECONNRESET;
	}
}

void client_event(struct gkd *d, struct client *c, uint32_t events)
{
	int r = 0;

	if (c->draining)
		r = client_drain(c);
	else if (c->out && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
		r = client_flush(c);
		if (r > 0 && !c->closing) {
			c->deadline = now_us() + d->cfg->client_timeout_ms * 1000ULL;
			r = client_watch(d, c, EPOLLIN, EPOLL_CTL_MOD);
			if (r >= 0) /* lines that arrived meanwhile */
				r = client_process(d, c);
		}
	} else if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
		r = client_read(d, c);
	if (r < 0 || (c->closing && !c->out))
		client_free(d, c);
}

void clients_tick(struct gkd *d, uint64_t now)
{
	struct client *next;

	for (struct client *c = d->clients.head; c; c = next) {
		next = c->next;
		if (now < c->deadline)
			continue;
		if (!c->draining) {
			log_debug("client uid %u pid %d: no complete request in %u ms; dropped",
				  (unsigned)c->cred.uid, (int)c->cred.pid,
				  d->cfg->client_timeout_ms);
			d->dropped++;
		}
		client_free(d, c);
	}
}

uint64_t clients_next_deadline(const struct gkd *d)
{
	uint64_t next = UINT64_MAX;

	for (const struct client *c = d->clients.head; c; c = c->next)
		if (c->deadline < next)
			next = c->deadline;
	return next;
}

void clients_close_all(struct gkd *d)
{
	while (d->clients.head) {
		if (d->clients.head->out)
			client_flush(d->clients.head);
		client_free(d, d->clients.head);
	}
}
