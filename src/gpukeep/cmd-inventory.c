// SPDX-License-Identifier: GPL-2.0-or-later
/* gpukeep inventory: what the node has, as people and machines read it. */
#include <stdio.h>
#include <string.h>

#include "core/gk-exit.h"
#include "log.h"
#include "node.h"
#include "node/inventory-json.h"
#include "node/inventory.h"
#include "nvml-cli.h"
#include "output.h"
#include "verbs.h"

static void inventory_help(void)
{
	printf("usage: gpukeep inventory [--root DIR] [--nvml PATH] [--json]\n\n"
	       "Reads the node: NVIDIA GPUs and NVSwitches on the PCI bus, which are bound to the\n"
	       "nvidia driver, each GPU's model, UUID, device minor, PCIe link and NUMA node, the\n"
	       "driver version, every module that depends on nvidia, and the device nodes.\n"
	       "Problems found are listed at the end; they do not change the exit code.\n\n"
	       "  --root DIR  read /sys, /proc and /dev under DIR (default /)\n"
	       "  --nvml PATH NVML library (default libnvidia-ml.so.1; 'none': skip NVML)\n"
	       "  --json      print JSON (schema gpukeep.inventory, version 1)\n"
	       "  -h, --help  show this help\n\n"
	       "exit codes: 0 read, 1 the node could not be read, 2 usage\n");
}

static void print_link(const struct gk_pcilink *l)
{
	char cur[32] = "?", max[32] = "?";

	if (l->cur_speed)
		snprintf(cur, sizeof(cur), "%.1fGT/s", l->cur_gts);
	if (l->max_speed)
		snprintf(max, sizeof(max), "%.1fGT/s", l->max_gts);
	if (l->cur_width < 0 && l->max_width < 0) {
		printf("-");
		return;
	}
	printf("x%-2d %-8s (max x%d %s)%s", l->cur_width, cur, l->max_width, max,
	       l->cur_width < l->max_width ? " !" : "");
}

static void print_gpus(const struct gk_inventory *inv)
{
	printf("GPUs: %zu on the PCI bus, %zu bound to nvidia\n", inv->n_gpus,
	       inventory_bound_gpus(inv));
	if (inv->n_gpus == 0)
		return;
	printf("  %-3s %-12s %-5s %-7s %-28s %-40s %-4s %s\n", "IDX", "PCI", "MINOR", "DRIVER",
	       "MODEL", "UUID", "NUMA", "LINK");
	for (size_t i = 0; i < inv->n_gpus; i++) {
		const struct gk_gpu *g = &inv->gpus[i];
		char minor[16] = "-", numa[16] = "-";

		if (g->has_info)
			snprintf(minor, sizeof(minor), "%d", g->info.minor);
		if (g->pci.numa_node >= 0)
			snprintf(numa, sizeof(numa), "%d", g->pci.numa_node);
		printf("  %-3zu %-12s %-5s %-7s %-28.28s %-40s %-4s ", i, g->pci.name, minor,
		       g->pci.driver ? g->pci.driver : "-",
		       g->has_info && g->info.model ? g->info.model : "-",
		       g->has_info && g->info.uuid ? g->info.uuid : "-", numa);
		print_link(&g->pci.link);
		printf("\n");
	}
}

static void print_switches(const struct gk_inventory *inv)
{
	if (inv->n_switches == 0)
		return;
	printf("NVSwitches: %zu\n", inv->n_switches);
	for (size_t i = 0; i < inv->n_switches; i++) {
		const struct gk_pcidev *d = &inv->switches[i];

		printf("  %-12s device 0x%04x  driver %s\n", d->name, d->device,
		       d->driver ? d->driver : "-");
	}
}

static void print_modules(const struct gk_inventory *inv)
{
	if (!inv->modules_known) {
		printf("modules: unknown (no /proc/modules: kernel without loadable modules?)\n");
		return;
	}
	if (!inv->nvidia_modules) {
		printf("modules: nvidia not loaded\n");
		return;
	}
	printf("modules (nvidia and everything that depends on it):\n");
	for (char **n = inv->nvidia_modules; *n; n++) {
		const struct gk_module *m = modlist_find(&inv->modules, *n);

		printf("  %-16s %-6s refcnt %-3d held by ", m->name, m->state, m->refcnt);
		if (!m->holders || !m->holders[0])
			printf("-");
		for (char **h = m->holders; h && *h; h++)
			printf("%s%s", *h, h[1] ? ", " : "");
		printf("\n");
	}
}

static void print_text(const struct gk_inventory *inv)
{
	if (inv->driver_loaded)
		printf("driver: nvidia %s\n",
		       inv->driver_version ? inv->driver_version : "(version unknown)");
	else
		printf("driver: not loaded\n");
	print_gpus(inv);
	print_switches(inv);
	print_modules(inv);
	if (inv->nodes.n > 0) {
		printf("device nodes:\n");
		for (size_t i = 0; i < inv->nodes.n; i++)
			printf("  %-24s %3u:%-3u %s\n", inv->nodes.nodes[i].path,
			       inv->nodes.nodes[i].major, inv->nodes.nodes[i].minor,
			       devnode_status_to_string(inv->nodes.nodes[i].status));
	}
	if (inv->n_problems == 0) {
		printf("problems: none\n");
		return;
	}
	printf("problems: %zu\n", inv->n_problems);
	for (size_t i = 0; i < inv->n_problems; i++)
		printf("  %s: %s\n", inv->problems[i].object, inv->problems[i].message);
}

int verb_inventory(int argc, char **argv)
{
	struct gk_inventory inv;
	const char *root = "/", *nvml = NULL;
	bool json = false;
	int r;

	r = nvml_cli_take_option("inventory", &argc, argv, &nvml);
	if (r < 0)
		r = parse_root_json_options("inventory", argc, argv, inventory_help, &root, &json);
	if (r >= 0)
		return r;
	r = node_scan(root, &inv);
	if (r != 0)
		return r;
	if (json) {
		struct json_object *o = inventory_to_json(&inv);

		r = o ? nvml_cli_inventory(root, nvml, o) : -ENOMEM;
		r = r < 0 ? r : output_json(o);
		json_object_put(o);
	} else {
		print_text(&inv);
		r = nvml_cli_inventory(root, nvml, NULL);
	}
	inventory_done(&inv);
	if (r < 0) {
		log_error_errno(r, "cannot write the inventory: %m");
		return GK_EXIT_FAILED;
	}
	return GK_EXIT_OK;
}
