// SPDX-License-Identifier: GPL-2.0-or-later
/* The real effects of the procedures. The persistence daemon is asked, never killed: killing it
 * would also lose its desired persistence mode per GPU, which it re-applies when asked to
 * re-acquire (gpukeepd through its socket, nvidia-persistenced through its RPC). */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "daemon/client.h"
#include "macro.h"
#include "node/nodeset.h"
#include "nvml/nvml.h"
#include "nvpd/nvpd-client.h"
#include "nvpd/nvpd.h"
#include "procedure/node-ops.h"
#include "procedure/nvml-helper.h"
#include "root.h"
#include "spawn-util.h"
#include "string-util.h"

#define NVML_HELPER_TIMEOUT_MS 60000

static int real_inventory(void *userdata, int rootfd, struct gk_inventory *ret)
{
	(void)userdata;
	return inventory_scan(rootfd, ret);
}

static int real_holders(void *userdata, int rootfd, struct gk_holders **ret)
{
	_cleanup_nodeset_free_ struct gk_nodeset *nodes = NULL;
	int r;

	(void)userdata;
	r = nodeset_scan(rootfd, &nodes);
	if (r < 0)
		return r;
	return holders_scan(rootfd, nodes, getpid(), ret);
}

#define KILL_WAIT_MS 5000

static int real_terminate(void *userdata, const pid_t *pids, size_t n, unsigned grace_ms,
			  gk_countdown_fn countdown, void *countdown_userdata)
{
	struct gk_victims v;
	int r;

	(void)userdata;
	r = victims_open(pids, n, &v);
	if (r < 0)
		return r;
	r = victims_terminate(&v, grace_ms, KILL_WAIT_MS, countdown, countdown_userdata);
	victims_done(&v);
	return r;
}

static int real_spawn(void *userdata, char *const argv[], unsigned flags, unsigned timeout_ms)
{
	struct gk_node_ops_real *x = userdata;

	if (x->quiet_stdout && !(flags & SPAWN_QUIET))
		flags |= SPAWN_STDOUT_TO_STDERR;
	return spawn_wait_timeout(argv, flags, timeout_ms);
}

static bool real_installed(void *userdata, const char *cmd)
{
	const char *path = getenv("PATH");

	(void)userdata;
	if (strchr(cmd, '/'))
		return access(cmd, X_OK) == 0;
	for (const char *p = path ? path : "/usr/bin:/bin"; *p;) {
		size_t n = strcspn(p, ":");
		_cleanup_free_ char *full = strdup_printf("%.*s/%s", (int)n, p, cmd);

		if (full && access(full, X_OK) == 0)
			return true;
		p += n + (p[n] == ':');
	}
	return false;
}

static pid_t real_daemon_pid(void *userdata, const char *socket, unsigned timeout_ms)
{
	(void)userdata;
	return client_daemon_pid(socket, (int)timeout_ms);
}

static int real_daemon_release(void *userdata, const char *socket, const char *gpu, bool acquire,
			       unsigned timeout_ms)
{
	struct json_object *reply = NULL;
	enum gk_req_type t;
	int r;

	(void)userdata;
	if (gpu)
		t = acquire ? GK_REQ_ACQUIRE : GK_REQ_RELEASE;
	else
		t = acquire ? GK_REQ_ACQUIRE_ALL : GK_REQ_RELEASE_ALL;
	r = client_request(socket, t, gpu, -1, (int)timeout_ms, &reply, NULL);
	json_object_put(reply);
	return r;
}

static int real_daemon_reenumerate(void *userdata, const char *socket, unsigned timeout_ms)
{
	struct json_object *reply = NULL;
	int r;

	(void)userdata;
	r = client_request(socket, GK_REQ_REENUMERATE, NULL, -1, (int)timeout_ms, &reply, NULL);
	json_object_put(reply);
	return r;
}

static int real_daemon_settled(void *userdata, const char *socket, const char *gpu,
			       unsigned timeout_ms, unsigned *ret_held, unsigned *ret_wanted,
			       char *ret_missing, size_t missing_size)
{
	(void)userdata;
	return client_wait_settled(socket, gpu, (int)timeout_ms, ret_held, ret_wanted, ret_missing,
				   missing_size);
}

static pid_t real_nvpd_pid(void *userdata, const char *socket, unsigned timeout_ms)
{
	struct nvpd_conn *c = NULL;
	pid_t pid;
	int r;

	(void)userdata;
	r = nvpd_open(socket, NVPD_V1, (int)timeout_ms, &c);
	if (r == -ENOENT || r == -ECONNREFUSED)
		return 0;
	if (r < 0)
		return r;
	/* a socket file that accepts but does not speak the RPC is no daemon of ours */
	r = nvpd_ping(c);
	pid = r < 0 ? r : nvpd_peer_pid(c);
	nvpd_close(c);
	return pid;
}

static int real_nvpd_get(void *userdata, const char *socket, const char *gpu, unsigned timeout_ms)
{
	struct nvpd_conn *c = NULL;
	struct gk_pci_addr a;
	bool enabled = false;
	int r;

	(void)userdata;
	r = pci_addr_parse(gpu, false, &a);
	if (r < 0)
		return r;
	r = nvpd_open(socket, NVPD_V1, (int)timeout_ms, &c);
	if (r < 0)
		return r;
	r = nvpd_get_mode(c, &a, &enabled, NULL);
	nvpd_close(c);
	return r < 0 ? r : enabled;
}

static int real_nvpd_set(void *userdata, const char *socket, const char *gpu, bool enabled,
			 unsigned timeout_ms)
{
	struct gk_pci_addr a;
	int r;

	(void)userdata;
	r = pci_addr_parse(gpu, false, &a);
	if (r < 0)
		return r;
	return nvpd_set_gpus(socket, &a, 1, enabled, (int)timeout_ms, NULL);
}

#define SYSFS_TIMEOUT_MS 30000 /* an unbind waits for the driver's remove */

/* A path under the root for the helper, which runs in our root: "/" outside a dry run. */
static int helper_sys(struct gk_node_ops_real *x, const char *path, const char *value)
{
	_cleanup_free_ char **argv = NULL;
	int r;

	r = helper_sys_argv(x->helper, path, value, &argv);
	if (r < 0)
		return r;
	r = spawn_wait_timeout(argv, SPAWN_QUIET, SYSFS_TIMEOUT_MS);
	if (r >= HELPER_ERRNO_BASE && r < 128)
		return -(r - HELPER_ERRNO_BASE);
	return r > 0 ? -EIO : r;
}

static int real_sysfs_write(void *userdata, int rootfd, const char *path, const char *value)
{
	(void)rootfd;
	return helper_sys(userdata, path, value);
}

static int real_probe(void *userdata, int rootfd, const char *path)
{
	(void)rootfd;
	return helper_sys(userdata, path, NULL);
}

static int real_mknod_missing(void *userdata, int rootfd, const struct gk_devnode_list *l)
{
	int created = 0;

	(void)userdata;
	for (size_t i = 0; i < l->n; i++) {
		const struct gk_devnode *d = &l->nodes[i];

		if (d->status != GK_NODE_MISSING)
			continue;
		if (mknodat(rootfd, root_rel(d->path), S_IFCHR | 0666,
			    makedev(d->major, d->minor)) < 0 &&
		    errno != EEXIST)
			return -errno;
		/* mknod applies the umask; the NVIDIA tools make the nodes world-usable */
		if (fchmodat(rootfd, root_rel(d->path), 0666, 0) < 0)
			return -errno;
		created++;
	}
	return created;
}

static int real_nvml(void *userdata, enum gk_nvml_job job, const char *file, const char *gpu)
{
	struct gk_node_ops_real *x = userdata;
	_cleanup_free_ char *path = NULL;
	_cleanup_free_ char **argv = NULL;
	int r;

	/* as the helper says when NVML is not available, without paying for its start */
	if (!x->nvml || !nvml_library_present(NULL))
		return 3;
	path = strdup_printf("%s/%s", x->state_dir, file);
	if (!path)
		return -ENOMEM;
	r = nvml_helper_argv(x->helper, job, path, gpu, &argv);
	if (r < 0)
		return r;
	/* only the restore's report is for people */
	return spawn_wait_timeout(argv,
				  job != GK_NVML_RESTORE ? SPAWN_QUIET
				  : x->quiet_stdout	 ? SPAWN_STDOUT_TO_STDERR
							 : 0,
				  NVML_HELPER_TIMEOUT_MS);
}

static void real_sleep(void *userdata, unsigned ms)
{
	(void)userdata;
	(void)poll(NULL, 0, (int)ms);
}

void node_ops_real_init(struct gk_node_ops_real *r, const struct gk_modops *modops,
			const char *helper, bool nvml, const char *state_dir, bool quiet_stdout)
{
	*r = (struct gk_node_ops_real){
		.ops =
			{
				.userdata = r,
				.modops = modops,
				.inventory = real_inventory,
				.holders = real_holders,
				.terminate = real_terminate,
				.spawn = real_spawn,
				.installed = real_installed,
				.daemon_pid = real_daemon_pid,
				.daemon_release = real_daemon_release,
				.daemon_reenumerate = real_daemon_reenumerate,
				.daemon_settled = real_daemon_settled,
				.nvpd_pid = real_nvpd_pid,
				.nvpd_get = real_nvpd_get,
				.nvpd_set = real_nvpd_set,
				.sysfs_write = real_sysfs_write,
				.probe = real_probe,
				.mknod_missing = real_mknod_missing,
				.nvml = real_nvml,
				.sleep_ms = real_sleep,
			},
		.helper = helper,
		.nvml = nvml,
		.state_dir = state_dir,
		.quiet_stdout = quiet_stdout,
	};
}
