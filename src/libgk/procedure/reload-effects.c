// SPDX-License-Identifier: GPL-2.0-or-later
/* Reload effects. gpukeepd is asked, never killed: killing it would also lose its desired
 * persistence mode per GPU, which it re-applies when asked to re-acquire. */
#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "daemon/client.h"
#include "daemon/protocol.h"
#include "macro.h"
#include "procedure/reload-effects.h"
#include "root.h"
#include "spawn-util.h"

#define DAEMON_TIMEOUT_MS 30000 /* releasing is quick; re-acquiring opens every GPU */

pid_t daemon_pid_at(const char *socket_path)
{
	_cleanup_close_ int fd = -EBADF;
	struct ucred cred;
	socklen_t len = sizeof(cred);
	int r;

	r = client_connect(socket_path, &fd);
	if (r == -ENOENT || r == -ECONNREFUSED)
		return 0;
	if (r < 0)
		return r;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return -errno;
	return cred.pid;
}

/* One request: connect, call, check the envelope. Returns 0 and the reply (the caller puts
 * it), -EPERM when the daemon refused for lack of rights, -EPROTO, or -errno. */
static int daemon_request(const char *socket_path, enum gk_req_type type,
			  struct json_object **ret_reply)
{
	_cleanup_close_ int fd = -EBADF;
	struct json_object *req, *reply = NULL;
	const char *code = NULL, *message = NULL;
	int r;

	r = client_connect(socket_path, &fd);
	if (r < 0)
		return r;
	req = proto_request_new(type);
	if (!req)
		return -ENOMEM;
	r = client_call(fd, req, DAEMON_TIMEOUT_MS, &reply);
	json_object_put(req);
	if (r < 0)
		return r;
	/* code points into the reply: decide before letting go of it */
	r = proto_reply_check(reply, &code, &message);
	if (r > 0)
		r = streq_ptr(code, "permission-denied") ? -EPERM : -EPROTO;
	if (r < 0) {
		json_object_put(reply);
		return r;
	}
	*ret_reply = reply;
	return 0;
}

int daemon_release_all(const char *socket_path, bool acquire)
{
	struct json_object *reply = NULL;
	int r;

	r = daemon_request(socket_path, acquire ? GK_REQ_ACQUIRE_ALL : GK_REQ_RELEASE_ALL, &reply);
	json_object_put(reply);
	return r;
}

/* One LIST call: counts of GPUs wanted, held, and still being opened. */
static int daemon_count(const char *socket_path, unsigned *wanted, unsigned *held,
			unsigned *opening)
{
	struct json_object *reply = NULL, *gpus;
	int r;

	r = daemon_request(socket_path, GK_REQ_LIST, &reply);
	if (r < 0)
		return r;
	*wanted = *held = *opening = 0;
	if (!json_object_object_get_ex(reply, "gpus", &gpus) ||
	    !json_object_is_type(gpus, json_type_array)) {
		json_object_put(reply);
		return -EPROTO;
	}
	for (size_t i = 0; i < json_object_array_length(gpus); i++) {
		struct json_object *g = json_object_array_get_idx(gpus, i), *p, *st;
		const char *state;

		if (!json_object_object_get_ex(g, "persistence", &p) || !json_object_get_boolean(p))
			continue;
		(*wanted)++;
		state = json_object_object_get_ex(g, "state", &st) ? json_object_get_string(st)
								   : "";
		*held += streq_ptr(state, "held");
		*opening += streq_ptr(state, "opening") || streq_ptr(state, "released");
	}
	json_object_put(reply);
	return 0;
}

int daemon_wait_held(const char *socket_path, unsigned timeout_ms, unsigned *ret_held,
		     unsigned *ret_wanted)
{
	unsigned waited = 0, wanted = 0, held = 0, opening = 0;
	int r;

	for (;;) {
		r = daemon_count(socket_path, &wanted, &held, &opening);
		if (r < 0)
			return r;
		*ret_held = held;
		*ret_wanted = wanted;
		if (opening == 0)
			return 0;
		if (waited >= timeout_ms)
			return -ETIMEDOUT;
		/* the daemon opens GPUs in parallel; each first open takes the init time */
		usleep(50 * 1000);
		waited += 50;
	}
}

int unit_stop_start(const char *systemctl, const char *unit, bool start)
{
	char *argv[] = {(char *)systemctl, start ? "start" : "stop", (char *)unit, NULL};

	return spawn_wait(argv, 0);
}

int devnodes_create_missing(int rootfd, const struct gk_devnode_list *l)
{
	int created = 0;

	for (size_t i = 0; i < l->n; i++) {
		const struct gk_devnode *n = &l->nodes[i];

		if (n->status != GK_NODE_MISSING)
			continue;
		if (mknodat(rootfd, root_rel(n->path), S_IFCHR | 0666,
			    makedev(n->major, n->minor)) < 0 &&
		    errno != EEXIST)
			return -errno;
		/* mknod applies the umask; the NVIDIA tools make the nodes world-usable */
		if (fchmodat(rootfd, root_rel(n->path), 0666, 0) < 0)
			return -errno;
		created++;
	}
	return created;
}

int dcgm_diag_quick(void)
{
	char *argv[] = {"dcgmi", "diag", "-r", "1", NULL};

	return spawn_wait(argv, 0);
}
