/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A fake node for the procedure tests: every effect of gk_node_ops and of the runner recorded in
 * an event log, every failure switchable. Header-only, one per test binary. */
#pragma once

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "baseline/baseline.h"
#include "expect.h"
#include "fileio.h"
#include "node/nvswitch.h"
#include "node/pci.h"
#include "nvml/nvml-api.h"
#include "procedure/engine.h"
#include "procedure/fabric.h"
#include "procedure/node-ops.h"
#include "string-util.h"

#define FAKE_MODULES                                                                               \
	"nvidia_drm 73728 0 - Live 0x0 (OE)\n"                                                     \
	"nvidia_uvm 1527808 0 - Live 0x0 (OE)\n"                                                   \
	"nvidia_modeset 1511424 1 nvidia_drm, Live 0x0 (OE)\n"                                     \
	"nvidia 54935552 2 nvidia_uvm,nvidia_modeset, Live 0x0 (OE)\n"

struct fake {
	struct gk_node_ops ops;
	struct gk_modops mods;
	struct gk_engine_ops eops;
	char dir[64]; /* the state directory and the node root */
	int dirfd;
	char log[8192]; /* "event;event;..." */
	char said[16384];
	/* the node */
	const char *modules;   /* /proc/modules text; NULL: the driver is not loaded */
	unsigned holder_scans; /* holders are there for this many scans (~0u: always): by
				  default they are gone once stopped */
	unsigned scans;
	unsigned inventories;  /* inventory scans */
	bool holder_unit;      /* the holder is a system service */
	unsigned settle_short; /* gpukeepd settles holding this many GPUs fewer than it should */
	bool holder_d;	       /* the holder is in D state */
	pid_t daemon;	       /* gpukeepd's pid, 0: not running */
	int release_r, acquire_r;
	bool released;	     /* gpukeepd released its devices: it holds none */
	int stop_r, start_r; /* the service manager's result */
	const char *busy;    /* this module stays in use */
	const char *no_load; /* this module does not load */
	int terminate_r;
	int nvml_r;	   /* the NVML helper's exit */
	int write_fail_at; /* the Nth journal write fails (1-based), 0: none */
	int writes;
	int sysfs_r;
	const char *sysfs_fail; /* a path whose write fails with sysfs_r ... */
	int sysfs_fails;	/* ... this many times (0: always) */
	int spawn_r;		/* other programs (nvidia-smi, dcgmi) */
	unsigned n_gpus;	/* GPUs 0000:0N:00.0, minor N-1, device id gpu_device */
	unsigned gpu_device;
	int holder_gpu; /* the holder's GPU (its /dev/nvidiaN), -1: nvidiactl only */
	int probe_r;
	/* nvidia-persistenced behind its RPC (the JSON socket's daemon then 0) */
	pid_t nvpd;		   /* its pid, 0: not running */
	bool nvpd_on[8];	   /* its mode per GPU (GPU i is 0000:0<i+1>:00.0) */
	int nvpd_get_r;		   /* a get fails with this */
	int nvpd_off_r, nvpd_on_r; /* a set disabled / enabled fails with this ... */
	int nvpd_fail_gpu;	   /* ... for this GPU only (-1: every GPU) */
	bool nvpd_keeps_ctl;	   /* it holds /dev/nvidiactl with every GPU disabled */
	bool nvpd_down;		   /* stopped through its unit, nvidia-persistenced.service */
	/* An NVSwitch node (fake_nvswitch()): NVSwitches 0000:0N:00.0 from N = n_gpus + 1 ... */
	unsigned n_switches;
	/* ... its fabric manager (FAKE_FM_PID, a holder of nvidia-nvswitchctl) while it runs ... */
	bool fm_running, fm_unit, fm_will_not_start;
	bool fm_holds_gpus; /* ... holding every /dev/nvidiaN too, as a real one may ... */
	/* ... and the fabric of 8 GPUs 0000:<fabric_base + i>:00.0 read through @fabric: with
	 * @fabric_late NULL the last 5 are in progress, else only that GPU is; completed (with
	 * @fabric_status) after @fabric_ready_after reads (~0u: never); @fabric_read_r fails
	 * every read */
	struct gk_fabric_ops fabric;
	unsigned fabric_base, fabric_polls, fabric_ready_after;
	const char *fabric_late;
	int fabric_status, fabric_read_r;
	uint64_t clock_ms; /* fake_clock_*(): sleeping moves it */
};

#define FAKE_FM_PID   777
#define FAKE_NVPD_PID 77

static inline void fake_log(struct fake *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static inline void fake_log(struct fake *f, const char *fmt, ...)
{
	size_t n = strlen(f->log);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(f->log + n, sizeof(f->log) - n, fmt, ap);
	va_end(ap);
	n = strlen(f->log);
	snprintf(f->log + n, sizeof(f->log) - n, ";");
}

static inline int fake_inventory(void *u, int rootfd, struct gk_inventory *ret)
{
	struct fake *f = u;

	f->inventories++;
	*ret = (struct gk_inventory){};
	if (f->modules && modlist_parse_proc(f->modules, &ret->modules, NULL) < 0)
		return -EBADMSG;
	if (!f->modules)
		ret->modules.mods = calloc(1, sizeof(*ret->modules.mods));
	ret->driver_loaded = f->modules != NULL;
	ret->modules_known = true;
	ret->gpus = calloc(f->n_gpus + 1, sizeof(*ret->gpus));
	for (unsigned i = 0; i < f->n_gpus; i++) {
		struct gk_gpu *g = &ret->gpus[ret->n_gpus++];

		snprintf(g->pci.name, sizeof(g->pci.name), "0000:%02x:00.0", i + 1);
		(void)pci_addr_parse(g->pci.name, false, &g->pci.addr);
		g->pci.vendor = 0x10de;
		g->pci.device = f->gpu_device;
		g->pci.driver = strdup("nvidia");
		g->pci.link = (struct gk_pcilink){
			.cur_gts = 32, .max_gts = 32, .cur_width = 16, .max_width = 16};
		g->has_info = true;
		g->info.minor = (int)i;
		g->info.uuid = strdup_printf("GPU-%08x-0000-4000-8000-000000000000", i);
	}
	ret->switches = calloc(f->n_switches + 1, sizeof(*ret->switches));
	for (unsigned i = 0; i < f->n_switches; i++) {
		struct gk_pcidev *d = &ret->switches[ret->n_switches++];

		d->kind = GK_PCI_NVSWITCH;
		snprintf(d->name, sizeof(d->name), "0000:%02x:00.0", f->n_gpus + 1 + i);
		d->driver = strdup(GK_NVSWITCH_DRIVER);
	}
	return 0;
}

static inline int fake_holders(void *u, int rootfd, struct gk_holders **ret)
{
	struct fake *f = u;
	struct gk_holders *h = calloc(1, sizeof(*h));
	bool there = ++f->scans <= f->holder_scans;

	h->holders = calloc(3, sizeof(*h->holders));
	if (there) {
		struct gk_holder *x = &h->holders[h->n++];

		x->pid = 4242;
		x->comm = strdup("python3");
		if (f->holder_gpu >= 0) {
			x->devices = calloc(1, sizeof(*x->devices));
			x->devices[0].path = strdup_printf("/dev/nvidia%d", f->holder_gpu);
			x->n_devices = 1;
		}
		x->state = f->holder_d ? 'D' : 'S';
		x->unkillable = f->holder_d;
		if (f->holder_unit) {
			x->cgroup = strdup("/system.slice/dcgm.service");
			x->unit = strdup("dcgm.service");
		}
	}
	if (f->fm_running) {
		struct gk_holder *x = &h->holders[h->n++];

		*x = (struct gk_holder){
			.pid = FAKE_FM_PID, .comm = strdup("nv-fabricmanage"), .state = 'S'};
		x->devices = calloc(f->n_gpus + 2, sizeof(*x->devices));
		x->devices[x->n_devices++].path = strdup("/dev/nvidia-nvswitchctl");
		for (unsigned i = 0; f->fm_holds_gpus && i < f->n_gpus; i++)
			x->devices[x->n_devices++].path = strdup_printf("/dev/nvidia%u", i);
		if (f->fm_unit) {
			x->cgroup = strdup("/system.slice/nvidia-fabricmanager.service");
			x->unit = strdup("nvidia-fabricmanager.service");
		}
	}
	if (f->daemon && !f->released) {
		struct gk_holder *x = &h->holders[h->n++];

		x->pid = f->daemon;
		x->comm = strdup("gpukeepd");
		x->devices = calloc(f->n_gpus + 1, sizeof(*x->devices));
		for (unsigned i = 0; i < f->n_gpus; i++)
			x->devices[x->n_devices++].path = strdup_printf("/dev/nvidia%u", i);
		x->state = 'S';
	}
	if (f->nvpd && !f->nvpd_down) {
		struct gk_holder *x = &h->holders[h->n];
		bool any = f->nvpd_keeps_ctl;

		x->pid = f->nvpd;
		x->comm = strdup("nvidia-persiste");
		x->devices = calloc(f->n_gpus + 2, sizeof(*x->devices));
		for (unsigned i = 0; i < f->n_gpus && i < 8; i++)
			if (f->nvpd_on[i]) {
				x->devices[x->n_devices++].path = strdup_printf("/dev/nvidia%u", i);
				any = true;
			}
		if (any)
			x->devices[x->n_devices++].path = strdup("/dev/nvidiactl");
		x->state = 'S';
		x->cgroup = strdup("/system.slice/nvidia-persistenced.service");
		x->unit = strdup("nvidia-persistenced.service");
		h->n += any;
		if (!any)
			holders_entry_clear(x);
	}
	*ret = h;
	return 0;
}

static inline int fake_terminate(void *u, const pid_t *pids, size_t n, unsigned grace_ms,
				 gk_countdown_fn countdown, void *cu)
{
	struct fake *f = u;

	for (size_t i = 0; i < n; i++) {
		fake_log(f, "kill %d", (int)pids[i]);
		if (pids[i] == FAKE_FM_PID)
			f->fm_running = false;
	}
	return f->terminate_r;
}

static inline int fake_spawn(void *u, char *const argv[], unsigned flags, unsigned timeout_ms)
{
	struct fake *f = u;
	_cleanup_free_ char *cmd = strv_join(argv, " ");
	bool fm = strstr(argv[0], "nv-fabricmanager") ||
		  (argv[1] && argv[2] && streq(argv[2], "nvidia-fabricmanager.service"));

	fake_log(f, "%s", cmd);
	/* its unit: stopped, or started again with every GPU enabled (--persistence-mode) */
	if (argv[1] && argv[2] && streq(argv[2], "nvidia-persistenced.service")) {
		f->nvpd_down = streq(argv[1], "stop");
		for (unsigned i = 0; !f->nvpd_down && i < 8; i++)
			f->nvpd_on[i] = i < f->n_gpus;
	}
	if (fm && argv[1] && streq(argv[1], "stop")) {
		f->fm_running = f->fm_running && f->stop_r != 0;
		return f->stop_r;
	}
	if (fm) {
		int r = f->fm_will_not_start		      ? 1
			: strstr(argv[0], "nv-fabricmanager") ? 0
							      : f->start_r;

		f->fm_running = f->fm_running || r == 0;
		return r;
	}
	if (argv[1] && streq(argv[1], "stop"))
		return f->stop_r;
	if (argv[1] && streq(argv[1], "start"))
		return f->start_r;
	return f->spawn_r;
}

static inline bool fake_installed(void *u, const char *cmd)
{
	return ((struct fake *)u)->spawn_r != -ENOENT;
}

static inline pid_t fake_daemon_pid(void *u, const char *socket, unsigned timeout_ms)
{
	return ((struct fake *)u)->daemon;
}

static inline int fake_daemon_release(void *u, const char *socket, const char *gpu, bool acquire,
				      unsigned timeout_ms)
{
	struct fake *f = u;

	fake_log(f, "%s %s", acquire ? "acquire" : "release", gpu ? gpu : "all");
	if ((acquire ? f->acquire_r : f->release_r) < 0)
		return acquire ? f->acquire_r : f->release_r;
	f->released = !acquire;
	return 0;
}

static inline int fake_daemon_reenumerate(void *u, const char *socket, unsigned timeout_ms)
{
	fake_log(u, "reenumerate");
	return 0;
}

static inline int fake_daemon_settled(void *u, const char *socket, const char *gpu,
				      unsigned timeout_ms, unsigned *held, unsigned *wanted,
				      char *missing, size_t missing_size)
{
	struct fake *f = u;

	*wanted = gpu ? 1 : 8;
	*held = *wanted - (f->settle_short < *wanted ? f->settle_short : *wanted);
	if (missing_size)
		snprintf(missing, missing_size, "%s",
			 *held < *wanted ? "0000:02:00.0 (retrying)" : "");
	return 0;
}

static inline pid_t fake_nvpd_pid(void *u, const char *socket, unsigned timeout_ms)
{
	struct fake *f = u;

	return f->nvpd_down ? 0 : f->nvpd;
}

/* The fake GPU index of PCI address @gpu, or -1. */
static inline int fake_gpu_index(struct fake *f, const char *gpu)
{
	unsigned bus;

	if (sscanf(gpu, "0000:%02x:00.0", &bus) != 1 || bus < 1 || bus > f->n_gpus || bus > 8)
		return -1;
	return (int)bus - 1;
}

static inline int fake_nvpd_get(void *u, const char *socket, const char *gpu, unsigned timeout_ms)
{
	struct fake *f = u;
	int i = fake_gpu_index(f, gpu);

	fake_log(f, "nvpd get %s", gpu);
	if (!f->nvpd || f->nvpd_down)
		return -ENOENT;
	if (f->nvpd_get_r < 0)
		return f->nvpd_get_r;
	return i < 0 ? -ENODEV : f->nvpd_on[i];
}

static inline int fake_nvpd_set(void *u, const char *socket, const char *gpu, bool enabled,
				unsigned timeout_ms)
{
	struct fake *f = u;
	int i = fake_gpu_index(f, gpu), r = enabled ? f->nvpd_on_r : f->nvpd_off_r;

	fake_log(f, "nvpd set %s %d", gpu, enabled);
	if (!f->nvpd || f->nvpd_down)
		return -ENOENT;
	if (i < 0)
		return -ENODEV;
	if (r < 0 && (f->nvpd_fail_gpu < 0 || f->nvpd_fail_gpu == i))
		return r;
	f->nvpd_on[i] = enabled;
	return 0;
}

static inline int fake_sysfs_write(void *u, int rootfd, const char *path, const char *value)
{
	struct fake *f = u;

	fake_log(f, "write %s %s", path, value);
	if (!f->sysfs_fail || !strstr(path, f->sysfs_fail))
		return 0;
	if (f->sysfs_fails > 0 && --f->sysfs_fails == 0)
		f->sysfs_fail = NULL;
	return f->sysfs_r;
}

static inline int fake_probe(void *u, int rootfd, const char *path)
{
	struct fake *f = u;

	fake_log(f, "probe %s", path);
	return f->probe_r;
}

static inline int fake_mknod(void *u, int rootfd, const struct gk_devnode_list *l)
{
	return 0;
}

static inline int fake_nvml(void *u, enum gk_nvml_job job, const char *file, const char *gpu)
{
	struct fake *f = u;

	fake_log(f, "nvml %d %s", (int)job, file);
	return f->nvml_r;
}

static inline void fake_sleep(void *u, unsigned ms)
{
}

static inline int fake_remove(void *u, const char *name)
{
	struct fake *f = u;

	fake_log(f, "remove %s", name);
	return f->busy && streq(f->busy, name) ? -EBUSY : 0;
}

static inline int fake_load(void *u, const char *name)
{
	struct fake *f = u;

	fake_log(f, "load %s", name);
	return f->no_load && streq(f->no_load, name) ? -ENOEXEC : 0;
}

static inline uint64_t fake_now(void *u)
{
	return 1000;
}

static inline int fake_write(void *u, int dirfd, const char *name, const char *text, size_t len)
{
	struct fake *f = u;

	if (++f->writes == f->write_fail_at)
		return -ENOSPC;
	return write_file_atomic_at(dirfd, name, text, len, 0600);
}

static inline void fake_say(void *u, const char *line)
{
	struct fake *f = u;
	size_t n = strlen(f->said);

	snprintf(f->said + n, sizeof(f->said) - n, "%s\n", line);
}

static inline uint64_t fake_clock_now(void *u)
{
	return ((struct fake *)u)->clock_ms;
}

static inline void fake_clock_sleep(void *u, unsigned ms)
{
	((struct fake *)u)->clock_ms += ms;
}

/* The fabric as the fields of struct fake say; each read logged ("fabric in-progress"). */
static inline int fake_fabric_read(void *u, struct gk_fabric_gpu **ret, size_t *ret_n,
				   char **ret_error)
{
	struct fake *f = u;
	struct gk_fabric_gpu *g;
	bool done = f->fabric_polls++ >= f->fabric_ready_after;

	if (f->fabric_read_r < 0) {
		fake_log(f, "fabric unreadable");
		*ret_error = strdup("NVML Shared Library Not Found");
		return f->fabric_read_r;
	}
	g = calloc(8, sizeof(*g));
	for (size_t i = 0; i < 8; i++) {
		bool late;

		snprintf(g[i].pci, sizeof(g[i].pci), "0000:%02zx:00.0", f->fabric_base + i);
		late = f->fabric_late ? streq(g[i].pci, f->fabric_late) : i >= 3;
		g[i].fabric.state = done || !late ? NVML_GPU_FABRIC_STATE_COMPLETED
						  : NVML_GPU_FABRIC_STATE_IN_PROGRESS;
		g[i].fabric.status = done && (late || !f->fabric_late) ? f->fabric_status : 0;
	}
	fake_log(f, "fabric %s", done ? "completed" : "in-progress");
	*ret = g;
	*ret_n = 8;
	return 0;
}

/* Makes @f an NVSwitch node with 4 NVSwitches, its fabric manager running (a plain process
 * unless @unit) and a fake clock; the fabric is complete after 3 reads. */
static inline void fake_nvswitch(struct fake *f, bool unit)
{
	f->n_switches = 4;
	f->fm_running = true;
	f->fm_unit = unit;
	f->fabric = (struct gk_fabric_ops){.userdata = f, .read = fake_fabric_read};
	f->fabric_base = 0x18;
	f->fabric_ready_after = 3;
	f->clock_ms = 1000;
	f->ops.sleep_ms = fake_clock_sleep;
	f->eops.now_ms = fake_clock_now;
}

/* Makes @f a node whose GPUs nvidia-persistenced keeps, not gpukeepd: its pid FAKE_NVPD_PID,
 * persistence enabled on the first @n_on GPUs. */
static inline void fake_nvpd(struct fake *f, unsigned n_on)
{
	f->daemon = 0;
	f->nvpd = FAKE_NVPD_PID;
	for (unsigned i = 0; i < n_on && i < 8; i++)
		f->nvpd_on[i] = true;
}

static inline void fake_init(struct fake *f)
{
	*f = (struct fake){.modules = FAKE_MODULES,
			   .holder_scans = 1,
			   .daemon = 100,
			   .nvml_r = 3,
			   .gpu_device = 0x2330,
			   .holder_gpu = -1,
			   .nvpd_fail_gpu = -1};
	snprintf(f->dir, sizeof(f->dir), "/tmp/gk-fake-XXXXXX");
	if (!mkdtemp(f->dir))
		abort();
	f->dirfd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	f->mods = (struct gk_modops){
		.userdata = f, .remove = fake_remove, .load = fake_load, .sleep_ms = fake_sleep};
	f->ops = (struct gk_node_ops){
		.userdata = f,
		.modops = &f->mods,
		.inventory = fake_inventory,
		.holders = fake_holders,
		.terminate = fake_terminate,
		.spawn = fake_spawn,
		.installed = fake_installed,
		.daemon_pid = fake_daemon_pid,
		.daemon_release = fake_daemon_release,
		.daemon_reenumerate = fake_daemon_reenumerate,
		.daemon_settled = fake_daemon_settled,
		.nvpd_pid = fake_nvpd_pid,
		.nvpd_get = fake_nvpd_get,
		.nvpd_set = fake_nvpd_set,
		.sysfs_write = fake_sysfs_write,
		.probe = fake_probe,
		.mknod_missing = fake_mknod,
		.nvml = fake_nvml,
		.sleep_ms = fake_sleep,
	};
	f->eops = (struct gk_engine_ops){
		.userdata = f, .now_ms = fake_now, .journal_write = fake_write, .say = fake_say};
}

/* Fails the test unless the event @a comes before the event @b in @f's log. */
static inline void fake_expect_order(const struct fake *f, const char *a, const char *b)
{
	const char *x = strstr(f->log, a), *y = strstr(f->log, b);

	if (!x || !y || x > y)
		fail_msg("'%s' not before '%s' in '%s'", a, b, f->log);
}

/* sys/bus/pci/devices/<pci>/{driver,remove} for @n GPUs under the fake root. */
static inline void fake_gpus(struct fake *f, unsigned n)
{
	char cmd[256];

	f->n_gpus = n;
	for (unsigned i = 0; i < n; i++) {
		snprintf(cmd, sizeof(cmd),
			 "mkdir -p '%s/sys/bus/pci/devices/0000:%02x:00.0/driver' && touch "
			 "'%s/sys/bus/pci/devices/0000:%02x:00.0/remove'",
			 f->dir, i + 1, f->dir, i + 1);
		if (system(cmd) != 0)
			abort();
	}
}

static inline bool fake_has_file(struct fake *f, const char *name)
{
	return faccessat(f->dirfd, name, F_OK, 0) == 0;
}

static inline void fake_done(struct fake *f)
{
	char cmd[128];

	close(f->dirfd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		abort();
}
