// SPDX-License-Identifier: GPL-2.0-or-later
/* Inventory assembly. The three views of the GPUs (PCI functions, the nvidia driver's bound
 * devices, /proc/driver/nvidia/gpus) can disagree after a failed probe; every disagreement is a
 * problem that names the GPU. modprobe returns 0 even when a probe failed. */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "log.h"
#include "macro.h"
#include "node/inventory.h"
#include "node/nvswitch.h"
#include "string-util.h"

#define PROC_NVIDIA   "proc/driver/nvidia"
#define MAX_PROC_FILE (1024 * 1024)

static int add_problem(struct gk_inventory *inv, const char *object, const char *fmt, ...)
	_printf_(3, 4);

static int add_problem(struct gk_inventory *inv, const char *object, const char *fmt, ...)
{
	struct gk_problem *n;
	va_list ap;
	char *msg;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (r < 0)
		return -ENOMEM;
	n = realloc(inv->problems, sizeof(*n) * (inv->n_problems + 1));
	if (!n) {
		free(msg);
		return -ENOMEM;
	}
	inv->problems = n;
	n[inv->n_problems].object = strdup(object);
	n[inv->n_problems].message = msg;
	if (!n[inv->n_problems].object) {
		free(msg);
		return -ENOMEM;
	}
	inv->n_problems++;
	log_debug("inventory: %s: %s", object, msg);
	return 0;
}

void inventory_done(struct gk_inventory *inv)
{
	for (size_t i = 0; i < inv->n_gpus; i++) {
		pcidev_done(&inv->gpus[i].pci);
		nvinfo_done(&inv->gpus[i].info);
	}
	free(inv->gpus);
	for (size_t i = 0; i < inv->n_switches; i++)
		pcidev_done(&inv->switches[i]);
	free(inv->switches);
	modlist_done(&inv->modules);
	strv_free(inv->nvidia_modules);
	devnode_list_done(&inv->nodes);
	for (size_t i = 0; i < inv->n_problems; i++) {
		free(inv->problems[i].object);
		free(inv->problems[i].message);
	}
	free(inv->problems);
	free(inv->driver_version);
	*inv = (struct gk_inventory){};
}

size_t inventory_bound_gpus(const struct gk_inventory *inv)
{
	size_t n = 0;

	for (size_t i = 0; i < inv->n_gpus; i++)
		n += streq_ptr(inv->gpus[i].pci.driver, "nvidia");
	return n;
}

static int add_pcidev(struct gk_inventory *inv, struct gk_pcidev *d)
{
	if (d->kind == GK_PCI_GPU) {
		struct gk_gpu *n = realloc(inv->gpus, sizeof(*n) * (inv->n_gpus + 1));

		if (!n)
			return -ENOMEM;
		inv->gpus = n;
		inv->gpus[inv->n_gpus++] = (struct gk_gpu){.pci = *d};
	} else {
		struct gk_pcidev *n = realloc(inv->switches, sizeof(*n) * (inv->n_switches + 1));

		if (!n)
			return -ENOMEM;
		inv->switches = n;
		inv->switches[inv->n_switches++] = *d;
	}
	*d = (struct gk_pcidev){};
	return 0;
}

static int scan_pci(int rootfd, struct gk_inventory *inv)
{
	_cleanup_closedir_ DIR *dir = NULL;
	struct dirent *de;
	int r;

	r = opendir_at(rootfd, "sys/bus/pci/devices", (void **)&dir);
	if (r < 0)
		return r;
	while ((de = readdir(dir))) {
		struct gk_pcidev d = {};
		const char *attr = NULL;

		if (de->d_name[0] == '.')
			continue;
		r = pcidev_read(rootfd, de->d_name, &d, &attr);
		if (r == -ENOENT) /* hot-removed while we read */
			continue;
		if (r < 0) {
			r = add_problem(inv, de->d_name,
					"unreadable PCI function: /sys/bus/pci/devices/%s/%s: %s",
					de->d_name, strna(attr), strerror(-r));
			if (r < 0)
				return r;
			continue;
		}
		r = d.kind == GK_PCI_OTHER ? 0 : add_pcidev(inv, &d);
		pcidev_done(&d);
		if (r < 0)
			return r;
	}
	return 0;
}

static int cmp_gpu(const void *a, const void *b)
{
	return pci_addr_compare(&((const struct gk_gpu *)a)->pci.addr,
				&((const struct gk_gpu *)b)->pci.addr);
}

static int cmp_pcidev(const void *a, const void *b)
{
	return pci_addr_compare(&((const struct gk_pcidev *)a)->addr,
				&((const struct gk_pcidev *)b)->addr);
}

static int read_gpu_info(int rootfd, struct gk_inventory *inv, struct gk_gpu *g)
{
	_cleanup_free_ char *path = strdup_printf(PROC_NVIDIA "/gpus/%s/information", g->pci.name);
	_cleanup_free_ char *text = NULL;
	const char *field = NULL;
	int r;

	if (!path)
		return -ENOMEM;
	r = read_full_file_at(rootfd, path, MAX_PROC_FILE, &text, NULL);
	if (r == -ENOENT) {
		if (streq_ptr(g->pci.driver, "nvidia"))
			return add_problem(inv, g->pci.name,
					   "bound to nvidia but /%s is missing; the driver did not "
					   "finish initializing this GPU (see 'dmesg | grep NVRM')",
					   path);
		return 0;
	}
	if (r < 0)
		return add_problem(inv, g->pci.name, "cannot read /%s: %s", path, strerror(-r));
	r = nvinfo_parse(text, &g->info, &field);
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		return add_problem(inv, g->pci.name, "malformed /%s: bad or missing '%s' field",
				   path, field);
	g->has_info = true;
	if (g->info.has_bus_location && !pci_addr_equal(&g->info.bus_location, &g->pci.addr))
		return add_problem(inv, g->pci.name, "/%s names another Bus Location", path);
	return 0;
}

static int check_gpu(struct gk_inventory *inv, const struct gk_gpu *g)
{
	const struct gk_pcilink *l = &g->pci.link;
	int r = 0;

	if (!inv->driver_loaded)
		return 0;
	if (!g->pci.driver)
		r = add_problem(
			inv, g->pci.name,
			"GPU not bound to any driver: the nvidia probe failed or the GPU is "
			"excluded; check 'dmesg | grep -i nvrm', then reset the GPU or reload "
			"the driver");
	else if (!streq(g->pci.driver, "nvidia"))
		r = add_problem(inv, g->pci.name, "GPU bound to driver '%s', not nvidia",
				g->pci.driver);
	if (r >= 0 && g->has_info && g->info.excluded == 1)
		r = add_problem(inv, g->pci.name,
				"GPU excluded by the driver (NVreg_ExcludedGpus)");
	if (r >= 0 && l->cur_width > 0 && l->max_width > 0 && l->cur_width < l->max_width)
		r = add_problem(inv, g->pci.name,
				"PCIe link degraded: running x%d, capable of x%d; check the slot, "
				"riser or cable, then reset the GPU",
				l->cur_width, l->max_width);
	return r;
}

/* /proc/driver/nvidia/gpus entries that match no PCI GPU: a GPU that fell off the bus. */
static int check_orphan_infos(int rootfd, struct gk_inventory *inv)
{
	_cleanup_closedir_ DIR *dir = NULL;
	struct dirent *de;
	int r;

	if (opendir_at(rootfd, PROC_NVIDIA "/gpus", (void **)&dir) < 0)
		return 0;
	while ((de = readdir(dir))) {
		struct gk_pci_addr a;
		bool found = false;

		if (de->d_name[0] == '.')
			continue;
		if (pci_addr_parse(de->d_name, false, &a) < 0)
			continue;
		for (size_t i = 0; i < inv->n_gpus && !found; i++)
			found = pci_addr_equal(&a, &inv->gpus[i].pci.addr);
		if (found)
			continue;
		r = add_problem(inv, de->d_name,
				"the driver lists this GPU in /" PROC_NVIDIA
				"/gpus but it is not on "
				"the PCI bus (fallen off the bus?); the node needs a reboot");
		if (r < 0)
			return r;
	}
	return 0;
}

static int scan_driver(int rootfd, struct gk_inventory *inv)
{
	_cleanup_free_ char *text = NULL;
	int r;

	r = read_full_file_at(rootfd, PROC_NVIDIA "/version", MAX_PROC_FILE, &text, NULL);
	if (r == -ENOENT)
		return 0;
	inv->driver_loaded = true;
	if (r < 0)
		return add_problem(inv, "/" PROC_NVIDIA "/version", "cannot read: %s",
				   strerror(-r));
	r = nvversion_parse(text, &inv->driver_version);
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		return add_problem(inv, "/" PROC_NVIDIA "/version",
				   "malformed: no 'NVRM version:' line with a version number");
	return 0;
}

static int check_module_state(struct gk_inventory *inv, const struct gk_module *m)
{
	if (streq(m->state, "live"))
		return 0;
	return add_problem(inv, m->name,
			   "module is '%s', not live: a load or unload is in progress "
			   "or stuck (see 'dmesg')",
			   m->state);
}

static int scan_modules(int rootfd, struct gk_inventory *inv)
{
	_cleanup_free_ char *text = NULL;
	unsigned line = 0;
	int r;

	r = read_full_file_at(rootfd, "proc/modules", 16 * MAX_PROC_FILE, &text, NULL);
	if (r == -ENOENT) /* kernel without loadable modules: nothing can be loaded or unloaded */
		return 0;
	if (r < 0)
		return add_problem(inv, "/proc/modules", "cannot read: %s", strerror(-r));
	r = modlist_parse_proc(text, &inv->modules, &line);
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		return add_problem(inv, "/proc/modules", "malformed at line %u", line);
	inv->modules_known = true;
	r = modgraph_closure(&inv->modules, "nvidia", &inv->nvidia_modules);
	if (r == -ENOMEM)
		return r;
	if (r == -ELOOP)
		return add_problem(inv, "/proc/modules",
				   "module holders form a cycle through nvidia");
	if (r == 0)
		return 0;
	inv->driver_loaded = true;
	for (char **n = inv->nvidia_modules; *n; n++) {
		struct gk_module *m = modlist_find(&inv->modules, *n);

		r = module_read_sysfs(rootfd, m);
		if (r == -ENOMEM)
			return r;
		if (r == -ENOENT)
			r = add_problem(inv, m->name,
					"in /proc/modules but /sys/module/%s is missing", m->name);
		else
			r = check_module_state(inv, m);
		if (r < 0)
			return r;
	}
	return 0;
}

/* An NVSwitch the driver did not bind cannot join the fabric: every GPU stays untrained. */
static int check_switches(struct gk_inventory *inv)
{
	int r = 0;

	if (!inv->driver_loaded)
		return 0;
	for (size_t i = 0; i < inv->n_switches && r >= 0; i++)
		if (!nvswitch_bound(&inv->switches[i]))
			r = add_problem(inv, inv->switches[i].name,
					"NVSwitch not bound to " GK_NVSWITCH_DRIVER
					" (bound to %s): the NVLink fabric cannot train; see "
					"'dmesg | grep -i nvswitch', then reload the driver",
					inv->switches[i].driver ? inv->switches[i].driver
								: "nothing");
	return r;
}

/* /dev/nvidia-nvswitch*: one per bound NVSwitch and the control node, under the dynamic major. */
static int expect_nvswitch_nodes(const char *proc_devices, struct gk_inventory *inv)
{
	size_t bound = 0;
	unsigned major;
	int r;

	for (size_t i = 0; i < inv->n_switches; i++)
		bound += nvswitch_bound(&inv->switches[i]);
	if (bound == 0)
		return 0;
	r = procdevices_char_major(proc_devices, GK_NVSWITCH_DRIVER, &major);
	if (r == -EBADMSG)
		return add_problem(inv, "/proc/devices", "malformed character device line");
	if (r < 0)
		return add_problem(inv, "/proc/devices",
				   "%zu NVSwitch(es) bound but no '" GK_NVSWITCH_DRIVER
				   "' character device registered; reload the driver",
				   bound);
	return nvswitch_expect_nodes(&inv->nodes, major, bound);
}

static int expect_nodes(int rootfd, struct gk_inventory *inv)
{
	_cleanup_free_ char *text = NULL;
	unsigned major;
	char path[64];
	int r = 0;

	for (size_t i = 0; i < inv->n_gpus && r >= 0; i++) {
		const struct gk_gpu *g = &inv->gpus[i];

		if (!g->has_info)
			continue;
		snprintf(path, sizeof(path), "/dev/nvidia%d", g->info.minor);
		r = devnode_list_add(&inv->nodes, path, GK_NVIDIA_MAJOR, (unsigned)g->info.minor);
	}
	if (r >= 0)
		r = devnode_list_add(&inv->nodes, "/dev/nvidiactl", GK_NVIDIA_MAJOR,
				     GK_NVIDIACTL_MINOR);
	if (r >= 0 && modlist_find(&inv->modules, "nvidia_modeset"))
		r = devnode_list_add(&inv->nodes, "/dev/nvidia-modeset", GK_NVIDIA_MAJOR,
				     GK_NVIDIA_MODESET_MINOR);
	if (r < 0)
		return r;
	r = read_full_file_at(rootfd, "proc/devices", MAX_PROC_FILE, &text, NULL);
	if (r < 0)
		return add_problem(inv, "/proc/devices", "cannot read: %s", strerror(-r));
	r = expect_nvswitch_nodes(text, inv);
	if (r < 0)
		return r;
	r = procdevices_char_major(text, "nvidia-uvm", &major);
	if (r == -EBADMSG)
		return add_problem(inv, "/proc/devices", "malformed character device line");
	if (r < 0) /* nvidia_uvm not loaded: no node expected */
		return 0;
	r = devnode_list_add(&inv->nodes, "/dev/nvidia-uvm", major, 0);
	if (r >= 0)
		r = devnode_list_add(&inv->nodes, "/dev/nvidia-uvm-tools", major, 1);
	return r;
}

static int scan_nodes(int rootfd, struct gk_inventory *inv)
{
	int r;

	if (!inv->driver_loaded)
		return 0;
	r = expect_nodes(rootfd, inv);
	if (r < 0)
		return r;
	devnode_list_check(rootfd, &inv->nodes);
	for (size_t i = 0; i < inv->nodes.n && r >= 0; i++) {
		const struct gk_devnode *n = &inv->nodes.nodes[i];

		switch (n->status) {
		case GK_NODE_OK:
			break;
		case GK_NODE_MISSING:
			r = add_problem(inv, n->path,
					"device node missing; create it with 'mknod -m 666 "
					"%s c %u %u' (or nvidia-modprobe)",
					n->path, n->major, n->minor);
			break;
		case GK_NODE_WRONG_NUMBERS:
			r = add_problem(inv, n->path,
					"device node is %u:%u, expected %u:%u; recreate it",
					n->found_major, n->found_minor, n->major, n->minor);
			break;
		default:
			r = add_problem(inv, n->path,
					"device node is %s; expected a character device "
					"%u:%u",
					devnode_status_to_string(n->status), n->major, n->minor);
		}
	}
	return r;
}

int inventory_scan(int rootfd, struct gk_inventory *ret)
{
	struct gk_inventory inv = {};
	int r;

	r = scan_pci(rootfd, &inv);
	if (r < 0)
		goto fail;
	qsort_safe(inv.gpus, inv.n_gpus, sizeof(*inv.gpus), cmp_gpu);
	qsort_safe(inv.switches, inv.n_switches, sizeof(*inv.switches), cmp_pcidev);
	r = scan_driver(rootfd, &inv);
	if (r < 0)
		goto fail;
	r = scan_modules(rootfd, &inv);
	if (r >= 0 && !inv.driver_loaded && inv.n_gpus > 0)
		r = add_problem(&inv, "nvidia",
				"driver not loaded: %zu GPU(s) have no driver; load "
				"it with 'modprobe nvidia'",
				inv.n_gpus);
	if (r < 0)
		goto fail;
	for (size_t i = 0; i < inv.n_gpus && r >= 0; i++) {
		r = read_gpu_info(rootfd, &inv, &inv.gpus[i]);
		if (r >= 0)
			r = check_gpu(&inv, &inv.gpus[i]);
	}
	if (r >= 0)
		r = check_orphan_infos(rootfd, &inv);
	if (r >= 0)
		r = check_switches(&inv);
	if (r >= 0)
		r = scan_nodes(rootfd, &inv);
	if (r < 0)
		goto fail;
	*ret = inv;
	return 0;
fail:
	inventory_done(&inv);
	return r;
}
