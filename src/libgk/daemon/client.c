// SPDX-License-Identifier: GPL-2.0-or-later
/* Talking to gpukeepd: every wait is bounded by one deadline for the whole call. */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "core/json-check.h"
#include "daemon/client.h"
#include "daemon/protocol.h"
#include "macro.h"
#include "string-util.h"
#include "time-util.h"

int client_connect(const char *path, int timeout_ms, int *ret_fd)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	uint64_t deadline = now_ms() + (uint64_t)MAX(timeout_ms, 0);
	_cleanup_close_ int fd = -EBADF;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	/* A non-blocking local connect fails with EAGAIN while the listener's backlog is full
	 * (a daemon that stopped accepting): retry until the deadline, never wait unbounded. */
	while (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (errno != EAGAIN && errno != EINTR)
			return -errno;
		if (deadline_left_ms(deadline) == 0)
			return -ETIMEDOUT;
		(void)poll(NULL, 0, MIN(10, deadline_left_ms(deadline)));
	}
	*ret_fd = TAKE_FD(fd);
	return 0;
}

static int wait_for(int fd, short events, uint64_t deadline)
{
	struct pollfd p = {.fd = fd, .events = events};
	int left = deadline_left_ms(deadline);
	int r;

	if (left == 0)
		return -ETIMEDOUT;
	r = poll(&p, 1, left);
	if (r < 0)
		return errno == EINTR ? 0 : -errno;
	return r == 0 ? -ETIMEDOUT : 0;
}

static int send_all(int fd, const char *buf, size_t n, uint64_t deadline)
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
	uint64_t deadline = now_ms() + (uint64_t)MAX(timeout_ms, 0);
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

static int refusal_errno(const char *code)
{
	if (streq(code, "permission-denied"))
		return -EPERM;
	if (streq(code, "unknown-gpu"))
		return -ENODEV;
	if (streq(code, "bad-request"))
		return -EINVAL;
	return -EREMOTEIO;
}

static void set_error(struct gk_client_error *err, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_error(struct gk_client_error *err, const char *code, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return;
	snprintf(err->code, sizeof(err->code), "%s", strempty(code));
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
}

static struct json_object *request_new(enum gk_req_type type, const char *gpu, int enabled)
{
	struct json_object *req = proto_request_new(type), *v;

	if (!req)
		return NULL;
	if (gpu) {
		v = json_object_new_string(gpu);
		if (!v || json_object_object_add(req, "gpu", v) < 0) {
			json_object_put(v);
			return json_object_put(req), NULL;
		}
	}
	if (enabled >= 0) {
		v = json_object_new_boolean(enabled);
		if (!v || json_object_object_add(req, "enabled", v) < 0) {
			json_object_put(v);
			return json_object_put(req), NULL;
		}
	}
	return req;
}

int client_request(const char *path, enum gk_req_type type, const char *gpu, int enabled,
		   int timeout_ms, struct json_object **ret_reply, struct gk_client_error *err)
{
	uint64_t deadline = now_ms() + (uint64_t)MAX(timeout_ms, 0);
	_cleanup_close_ int fd = -EBADF;
	struct json_object *req, *reply = NULL;
	const char *code = NULL, *message = NULL;
	int r;

	r = client_connect(path, timeout_ms, &fd);
	if (r < 0) {
		set_error(err, NULL, "cannot connect to gpukeepd at %s: %s", path, strerror(-r));
		return r;
	}
	req = request_new(type, gpu, enabled);
	if (!req)
		return -ENOMEM;
	r = client_call(fd, req, deadline_left_ms(deadline), &reply);
	json_object_put(req);
	if (r < 0) {
		set_error(err, NULL, "no valid reply from gpukeepd at %s%s: %s", path,
			  r == -ETIMEDOUT ? " within its deadline" : "", strerror(-r));
		return r;
	}
	/* code points into the reply: decide before letting go of it */
	r = proto_reply_check(reply, &code, &message);
	if (r != 0) {
		set_error(err, r > 0 ? code : NULL, "%s", strna(message));
		r = r > 0 ? refusal_errno(code) : -EPROTO;
		json_object_put(reply);
		return r;
	}
	*ret_reply = reply;
	return 0;
}

pid_t client_daemon_pid(const char *path, int timeout_ms)
{
	_cleanup_close_ int fd = -EBADF;
	struct ucred cred;
	socklen_t len = sizeof(cred);
	int r;

	r = client_connect(path, timeout_ms, &fd);
	if (r == -ENOENT || r == -ECONNREFUSED || r == -ENOTDIR)
		return 0;
	if (r < 0)
		return r;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return -errno;
	return cred.pid;
}

void daemon_gpus_done(struct gk_daemon_gpus *g)
{
	free(g->gpus);
	*g = (struct gk_daemon_gpus){};
}

static void copy_string(struct gk_jcheck *c, struct json_object *o, const char *where,
			const char *key, char *buf, size_t size)
{
	struct json_object *v = jcheck_field(c, o, where, key, json_type_string, true);

	if (v && strlen(json_object_get_string(v)) >= size)
		jcheck_fail(c, "%s: field '%s' too long", where, key);
	else if (v)
		snprintf(buf, size, "%s", json_object_get_string(v));
}

static void decode_gpu(struct gk_jcheck *c, struct json_object *o, size_t i,
		       struct gk_daemon_gpu *g)
{
	char where[32];
	struct json_object *v;

	snprintf(where, sizeof(where), "gpus[%zu]", i);
	if (!json_object_is_type(o, json_type_object)) {
		jcheck_fail(c, "%s is not an object", where);
		return;
	}
	g->index = jcheck_int(c, o, where, "index", 0, 4096);
	g->minor = jcheck_int(c, o, where, "minor", 0, 1 << 20);
	copy_string(c, o, where, "pci", g->pci, sizeof(g->pci));
	copy_string(c, o, where, "uuid", g->uuid, sizeof(g->uuid));
	copy_string(c, o, where, "state", g->state, sizeof(g->state));
	v = jcheck_field(c, o, where, "persistence", json_type_boolean, false);
	g->persistence = v && json_object_get_boolean(v);
	/* "released" is new in the per-GPU release; an older daemon does not send it */
	if (json_object_object_get_ex(o, "released", &v)) {
		if (!json_object_is_type(v, json_type_boolean))
			jcheck_fail(c, "%s: field 'released' has the wrong type", where);
		g->released = json_object_get_boolean(v);
	}
}

int client_decode_gpus(struct json_object *reply, struct gk_daemon_gpus *ret)
{
	struct gk_daemon_gpus g = {};
	struct gk_jcheck c = {};
	struct json_object *gpus, *v;
	size_t n;

	gpus = jcheck_field(&c, reply, NULL, "gpus", json_type_array, false);
	n = gpus ? json_object_array_length(gpus) : 0;
	if (n > 4096)
		jcheck_fail(&c, "too many GPUs");
	g.gpus = calloc(MAX(n, 1), sizeof(*g.gpus));
	if (!g.gpus)
		c.oom = true;
	for (size_t i = 0; g.gpus && !c.error && i < n; i++) {
		decode_gpu(&c, json_object_array_get_idx(gpus, i), i, &g.gpus[i]);
		g.n++;
	}
	if (json_object_object_get_ex(reply, "released_all", &v))
		g.released_all =
			json_object_is_type(v, json_type_boolean) && json_object_get_boolean(v);
	if (c.oom || c.error) {
		int r = c.oom ? -ENOMEM : -EPROTO;

		free(c.error);
		daemon_gpus_done(&g);
		return r;
	}
	*ret = g;
	return 0;
}

const struct gk_daemon_gpu *daemon_gpus_find(const struct gk_daemon_gpus *g, const char *pci)
{
	for (size_t i = 0; i < g->n; i++)
		if (streq(g->gpus[i].pci, pci))
			return &g->gpus[i];
	return NULL;
}

#define SETTLE_POLL_MS 50
#define SETTLE_CALL_MS 10000

/* One list: how many GPUs should be kept, are held, are still on their way. */
static int count(const char *path, const char *pci, unsigned *wanted, unsigned *held,
		 unsigned *opening, char *missing, size_t missing_size)
{
	struct json_object *reply = NULL;
	struct gk_daemon_gpus g = {};
	int r;

	r = client_request(path, GK_REQ_LIST, NULL, -1, SETTLE_CALL_MS, &reply, NULL);
	if (r >= 0)
		r = client_decode_gpus(reply, &g);
	json_object_put(reply);
	if (r < 0)
		return r;
	*wanted = *held = *opening = 0;
	if (missing_size)
		missing[0] = '\0';
	for (size_t i = 0; i < g.n; i++) {
		const struct gk_daemon_gpu *x = &g.gpus[i];

		if (!x->persistence || (pci && !streq(x->pci, pci)))
			continue;
		(*wanted)++;
		*held += streq(x->state, "held");
		if (!streq(x->state, "held") && missing_size && !missing[0])
			snprintf(missing, missing_size, "%s (%s)", x->pci, x->state);
		*opening += streq(x->state, "opening") || streq(x->state, "released");
	}
	daemon_gpus_done(&g);
	return 0;
}

int client_wait_settled(const char *path, const char *pci, int timeout_ms, unsigned *ret_held,
			unsigned *ret_wanted, char *ret_missing, size_t missing_size)
{
	uint64_t deadline = now_ms() + (uint64_t)MAX(timeout_ms, 0);
	unsigned wanted = 0, held = 0, opening = 0;
	int r;

	for (;;) {
		r = count(path, pci, &wanted, &held, &opening, ret_missing, missing_size);
		if (r < 0)
			return r;
		*ret_held = held;
		*ret_wanted = wanted;
		if (opening == 0)
			return 0;
		if (deadline_left_ms(deadline) == 0)
			return -ETIMEDOUT;
		/* the daemon opens GPUs in parallel; each first open takes the init time */
		(void)poll(NULL, 0, MIN(SETTLE_POLL_MS, deadline_left_ms(deadline)));
	}
}
