// SPDX-License-Identifier: GPL-2.0-or-later
/* The verbs' side of nvidia-persistenced's RPC. Its interface has no GPU list: the GPUs come from
 * the node (as gpukeep inventory reads them) and are asked about one by one, by PCI address. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/gk-exit.h"
#include "daemon/client.h"
#include "macro.h"
#include "node.h"
#include "nvpd-cli.h"
#include "nvpd/nvpd-client.h"
#include "output.h"

#define NVPD_CLI_TIMEOUT_MS	10000
/* A set waits for the device file to open: the driver may take seconds per GPU. */
#define NVPD_CLI_SET_TIMEOUT_MS 60000

static const char *rpc_path(void)
{
	const char *p = getenv(NVPD_CLI_SOCKET_ENV);

	return p && *p ? p : NVPD_SOCKET_PATH;
}

static const char *root_path(void)
{
	const char *p = getenv(NVPD_CLI_ROOT_ENV);

	return p && *p ? p : "/";
}

bool nvpd_cli_wanted(const char *gk_socket)
{
	_cleanup_close_ int fd = -EBADF;
	struct nvpd_conn *c = NULL;
	int r = client_connect(gk_socket, NVPD_CLI_TIMEOUT_MS, &fd);
	bool answers;

	if (r != -ENOENT && r != -ECONNREFUSED && r != -ENOTDIR)
		return false; /* gpukeepd is there (or something else is wrong with its socket) */
	if (nvpd_open(rpc_path(), 1, NVPD_CLI_TIMEOUT_MS, &c) < 0)
		return false;
	answers = nvpd_ping(c) >= 0;
	nvpd_close(c);
	return answers;
}

/* The name of the process serving the socket: nvidia-persistenced, or gpukeepd with only its RPC
 * socket reachable. */
static void peer_name(const struct nvpd_conn *c, char *buf, size_t n, int *ret_pid)
{
	char path[64];
	_cleanup_fclose_ FILE *f = NULL;
	pid_t pid = nvpd_peer_pid(c);

	snprintf(buf, n, "the daemon");
	*ret_pid = pid > 0 ? (int)pid : 0;
	if (pid <= 0)
		return;
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	f = fopen(path, "re");
	if (f && fgets(buf, (int)n, f))
		buf[strcspn(buf, "\n")] = 0;
}

struct session {
	struct gk_inventory inv;
	struct nvpd_conn *conn;
	char name[64];
	int pid;
};

static int session_open(const char *verb, int timeout_ms, struct session *s)
{
	int r;

	*s = (struct session){};
	r = node_scan(root_path(), &s->inv);
	if (r != 0)
		return GK_EXIT_FAILED;
	r = nvpd_open(rpc_path(), 1, timeout_ms, &s->conn);
	if (r < 0) {
		fprintf(stderr, "gpukeep %s: cannot reach nvidia-persistenced's socket %s: %s\n",
			verb, rpc_path(), strerror(-r));
		inventory_done(&s->inv);
		return GK_EXIT_FAILED;
	}
	peer_name(s->conn, s->name, sizeof(s->name), &s->pid);
	return GK_EXIT_OK;
}

static void session_close(struct session *s)
{
	nvpd_close(s->conn);
	inventory_done(&s->inv);
}

static struct json_object *gpu_json(const struct gk_gpu *g, size_t i, int r, bool on, int status)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "index", json_object_new_int((int)i));
	json_object_object_add(o, "pci", json_object_new_string(g->pci.name));
	json_object_object_add(o, "persistence", r < 0 ? NULL : json_object_new_boolean(on));
	json_object_object_add(o, "kept_by",
			       r >= 0 && on ? json_object_new_string("daemon") : NULL);
	json_object_object_add(
		o, "error",
		r < 0 ? json_object_new_string(status >= 0 ? nvpd_status_to_string(status)
							   : strerror(-r))
		      : NULL);
	return o;
}

static struct json_object *daemon_json(const struct session *s)
{
	struct json_object *d = json_object_new_object();

	json_object_object_add(d, "name", json_object_new_string(s->name));
	json_object_object_add(d, "pid", s->pid > 0 ? json_object_new_int(s->pid) : NULL);
	json_object_object_add(d, "socket", json_object_new_string(rpc_path()));
	json_object_object_add(d, "protocol", json_object_new_string("nvidia-persistenced RPC"));
	return d;
}

int nvpd_cli_status(bool json)
{
	struct json_object *o = NULL, *gpus = NULL;
	struct session s;
	int r, worst = GK_EXIT_OK;

	r = session_open("status", NVPD_CLI_TIMEOUT_MS, &s);
	if (r != GK_EXIT_OK)
		return r;
	if (json) {
		o = json_object_new_object();
		gpus = json_object_new_array();
	} else {
		printf("%s (pid %d) answered on %s (nvidia-persistenced's RPC; nothing answers on "
		       "gpukeepd's socket): %zu GPUs\n",
		       s.name, s.pid, rpc_path(), s.inv.n_gpus);
		if (s.inv.n_gpus > 0)
			printf("  %-3s %-12s %s\n", "IDX", "PCI", "PERSISTENCE");
	}
	for (size_t i = 0; i < s.inv.n_gpus; i++) {
		const struct gk_gpu *g = &s.inv.gpus[i];
		int status = -1;
		bool on = false;

		r = nvpd_get_mode(s.conn, &g->pci.addr, &on, &status);
		if (r < 0)
			worst = GK_EXIT_FAILED;
		if (json)
			json_object_array_add(gpus, gpu_json(g, i, r, on, status));
		else
			printf("  %-3zu %-12s %s\n", i, g->pci.name,
			       r < 0 ? (status >= 0 ? nvpd_status_to_string(status) : strerror(-r))
			       : on  ? "on"
				     : "off");
	}
	if (json) {
		json_object_object_add(o, "schema", json_object_new_string("gpukeep.status"));
		json_object_object_add(o, "version", json_object_new_int(1));
		json_object_object_add(o, "daemon", daemon_json(&s));
		json_object_object_add(o, "gpus", gpus);
		if (output_json(o) < 0)
			worst = GK_EXIT_FAILED;
		json_object_put(o);
	}
	session_close(&s);
	return worst;
}

static int pm_exit(int r)
{
	if (r == -EPERM)
		return GK_EXIT_PRECONDITION;
	if (r == -ENODEV)
		return GK_EXIT_USAGE;
	return r < 0 ? GK_EXIT_FAILED : GK_EXIT_OK;
}

int nvpd_cli_pm(const char *gpu, const struct gk_gpusel *sel, bool enabled, bool json)
{
	struct json_object *gpus = json ? json_object_new_array() : NULL;
	size_t matched = 0;
	struct session s;
	int r, worst = GK_EXIT_OK;

	r = session_open("pm", NVPD_CLI_SET_TIMEOUT_MS, &s);
	if (r != GK_EXIT_OK)
		return r;
	for (size_t i = 0; i < s.inv.n_gpus; i++) {
		const struct gk_gpu *g = &s.inv.gpus[i];
		int status = -1, e;

		if (sel && !gpusel_match(sel, (unsigned)i, g->has_info ? g->info.minor : -1,
					 &g->pci.addr, g->has_info ? g->info.uuid : NULL))
			continue;
		matched++;
		r = nvpd_set_mode(s.conn, &g->pci.addr, enabled, &status);
		e = pm_exit(r);
		worst = e > worst ? e : worst;
		if (json)
			json_object_array_add(gpus, gpu_json(g, i, r, enabled, status));
		else if (r >= 0)
			printf("%s persistence mode for GPU %s (%s, pid %d).\n",
			       enabled ? "Enabled" : "Disabled", g->pci.name, s.name, s.pid);
		else
			fprintf(stderr, "gpukeep pm: GPU %s: %s refused: %s%s\n", g->pci.name,
				s.name, status >= 0 ? nvpd_status_to_string(status) : strerror(-r),
				r == -EPERM ? " (changes need root)" : "");
	}
	if (json && output_json(gpus) < 0)
		worst = GK_EXIT_FAILED;
	json_object_put(gpus);
	session_close(&s);
	if (matched == 0 && gpu) {
		fprintf(stderr, "gpukeep pm: no GPU on this node matches \"%s\"\n", gpu);
		return GK_EXIT_USAGE;
	}
	if (!json && worst == GK_EXIT_OK)
		printf("All done.\n");
	return worst;
}
