// SPDX-License-Identifier: GPL-2.0-or-later
/* The NVML section of 'gpukeep inventory', and the --nvml option the verbs share. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "baseline/nvml-baseline.h"
#include "core/gk-exit.h"
#include "nvml-cli.h"
#include "output.h"
#include "string-util.h"

int nvml_cli_take_option(const char *verb, int *argc, char **argv, const char **ret_path)
{
	int out = 0;

	for (int i = 0; i < *argc; i++) {
		const char *v = startswith(argv[i], "--nvml=");

		if (streq(argv[i], "--")) {
			while (i < *argc)
				argv[out++] = argv[i++];
			break;
		}
		if (streq(argv[i], "--nvml")) {
			if (i + 1 >= *argc)
				return usage_error(verb, "--nvml needs a library path (or 'none')");
			v = argv[++i];
		}
		if (v && !*v)
			return usage_error(verb, "--nvml needs a library path (or 'none')");
		if (v)
			*ret_path = v;
		else
			argv[out++] = argv[i];
	}
	argv[out] = NULL;
	*argc = out;
	return -1;
}

int nvml_cli_take_option_env(const char *verb, int *argc, char **argv)
{
	const char *path = NULL;
	int r;

	r = nvml_cli_take_option(verb, argc, argv, &path);
	if (r >= 0)
		return r;
	if (path && setenv("GPUKEEP_NVML", path, 1) < 0)
		return usage_error(verb, "cannot use --nvml %s: %m", path);
	return -1;
}

bool nvml_cli_wanted(const char *root, const char *path)
{
	const char *env = getenv(GK_NVML_ENV);

	return path || (env && *env) || streq(root, "/");
}

int nvml_cli_scan(const char *root, const char *path, struct gk_nvml_node *ret)
{
	int r;

	if (!nvml_cli_wanted(root, path))
		return 0;
	r = nvml_node_scan(path, 0, ret);
	return r < 0 ? r : 1;
}

static void print_value(const struct gk_nvml_gpu *g, enum gk_nvml_value v, int width)
{
	char buf[32];

	if (g->values[v].status != 0)
		snprintf(buf, sizeof(buf), "-");
	else
		snprintf(buf, sizeof(buf), "%u", g->values[v].value);
	printf(" %-*s", width, buf);
}

static const char *onoff(const struct gk_nvml_gpu *g, enum gk_nvml_value v)
{
	if (g->values[v].status != 0)
		return "-";
	return g->values[v].value ? "on" : "off";
}

static void print_gpu(const struct gk_nvml_gpu *g)
{
	static const char *const modes[] = {"default", "excl-thread", "prohibited", "excl-proc"};
	const struct gk_nvml_reading *cm = &g->values[GK_NVML_COMPUTE_MODE];

	printf("  %-3u %-12s", g->index, g->pci[0] ? g->pci : "?");
	if (g->status != 0) {
		printf(" %s\n", nvml_status_to_string(g->status));
		return;
	}
	printf(" %-4s %-11s", onoff(g, GK_NVML_PERSISTENCE),
	       cm->status		       ? "-"
	       : cm->value < ELEMENTSOF(modes) ? modes[cm->value]
					       : "?");
	print_value(g, GK_NVML_APP_CLOCK_GRAPHICS, 5);
	print_value(g, GK_NVML_APP_CLOCK_MEM, 5);
	print_value(g, GK_NVML_POWER_LIMIT, 7);
	print_value(g, GK_NVML_POWER_DEFAULT, 7);
	print_value(g, GK_NVML_POWER_MIN, 7);
	print_value(g, GK_NVML_POWER_MAX, 7);
	printf(" %-4s %-3s/%-3s %-7s %s\n", onoff(g, GK_NVML_ACCOUNTING),
	       onoff(g, GK_NVML_ECC_CURRENT), onoff(g, GK_NVML_ECC_PENDING),
	       g->values[GK_NVML_RETIRED_PENDING].status  ? "-"
	       : g->values[GK_NVML_RETIRED_PENDING].value ? "PENDING"
							  : "no",
	       g->values[GK_NVML_REMAP_PENDING].status	? "-"
	       : g->values[GK_NVML_REMAP_PENDING].value ? "PENDING"
							: "no");
}

/* Whether an active link before @i goes to the same remote end. */
static bool seen_before(const struct gk_nvml_gpu *g, size_t i)
{
	for (size_t j = 0; j < i; j++)
		if (g->links[j].active && g->links[j].remote_status == 0 &&
		    streq(g->links[j].remote_pci, g->links[i].remote_pci))
			return true;
	return false;
}

/* "12 link(s), 12 active: 0000:05:00.0 x2 (nvswitch), ...; link 5 down" */
static void print_links(const struct gk_nvml_node *node, const struct gk_nvml_gpu *g)
{
	size_t active = 0, printed = 0;

	for (size_t i = 0; i < g->n_links; i++)
		active += g->links[i].active;
	printf("  %s: %zu link(s), %zu active", g->pci, g->n_links, active);
	for (size_t i = 0; i < g->n_links; i++) {
		const struct gk_nvml_link *l = &g->links[i];
		size_t n = 0;

		if (!l->active || l->remote_status != 0 || seen_before(g, i))
			continue;
		for (size_t j = i; j < g->n_links; j++)
			n += g->links[j].active && g->links[j].remote_status == 0 &&
			     streq(g->links[j].remote_pci, l->remote_pci);
		printf("%s%s x%zu (%s)", printed++ ? ", " : ": ", l->remote_pci, n,
		       nvml_peer_to_string(nvml_node_peer(node, l)));
	}
	for (size_t i = 0; i < g->n_links; i++)
		if (!g->links[i].active)
			printf("; link %u down", g->links[i].link);
		else if (g->links[i].remote_status != 0)
			printf("; link %u remote unknown (%s)", g->links[i].link,
			       nvml_status_to_string(g->links[i].remote_status));
	printf("\n");
}

static void print_topology(const struct gk_nvml_node *node)
{
	size_t gpu, other;

	nvml_node_link_counts(node, &gpu, &other);
	printf("NVLink: %zu active link(s): %zu GPU-GPU, %zu GPU-NVSwitch or other\n", gpu + other,
	       gpu, other);
	for (size_t i = 0; i < node->n_gpus; i++) {
		const struct gk_nvml_gpu *g = &node->gpus[i];

		if (g->status != 0)
			continue;
		if (g->links_status != 0)
			printf("  %s: %s\n", g->pci,
			       g->links_status == NVML_ERROR_NOT_SUPPORTED
				       ? "no NVLink"
				       : nvml_status_to_string(g->links_status));
		else
			print_links(node, g);
	}
}

/* "NVLink fabric: 8/8 GPU(s) completed" and the GPUs that are not; nothing without a fabric. */
static void print_fabric(const struct gk_nvml_node *node)
{
	_cleanup_free_ struct gk_fabric_gpu *f = NULL;
	_cleanup_free_ char *pending = NULL;
	size_t n, ready, total;
	enum gk_fabric_verdict v;

	f = nvml_node_fabric(node, &n);
	if (!f)
		return;
	v = fabric_verdict(f, n, &ready, &total);
	if (v == GK_FABRIC_NONE)
		return;
	pending = fabric_describe_pending(f, n, SIZE_MAX);
	printf("NVLink fabric: %zu/%zu GPU(s) completed%s%s\n", ready, total,
	       pending && *pending ? "; not ready: " : "", pending ? pending : "");
}

static void print_text(const struct gk_nvml_node *node)
{
	if (!node->available) {
		printf("NVML: not available: %s\n"
		       "  not checked: persistence mode, compute mode, application clocks, power "
		       "limit,\n  accounting, ECC, retired pages, row remapping, NVLink\n",
		       node->error);
		return;
	}
	printf("NVML: driver %s, %zu GPU(s)%s%s\n",
	       node->driver_version[0] ? node->driver_version : "(version unknown)", node->n_gpus,
	       node->error ? "; " : "", strempty(node->error));
	if (node->n_gpus == 0)
		return;
	printf("  %-3s %-12s %-4s %-11s %-5s %-5s %-7s %-7s %-7s %-7s %-4s %-7s %-7s %s\n", "IDX",
	       "PCI", "PM", "COMPUTE", "APPGR", "APPMEM", "PWR_MW", "DEF_MW", "MIN_MW", "MAX_MW",
	       "ACCT", "ECC/PND", "RETIRE", "REMAP");
	for (size_t i = 0; i < node->n_gpus; i++)
		print_gpu(&node->gpus[i]);
	print_fabric(node);
	print_topology(node);
}

int nvml_cli_inventory(const char *root, const char *path, struct json_object *json)
{
	struct gk_nvml_node node;
	struct json_object *o;
	int r;

	r = nvml_cli_scan(root, path, &node);
	if (r <= 0)
		return r;
	if (json) {
		o = nvml_node_to_json(&node);
		r = o ? json_object_object_add(json, "nvml", o) : -ENOMEM;
	} else
		print_text(&node);
	nvml_node_done(&node);
	return r < 0 ? -ENOMEM : 0;
}

int nvml_cli_baseline(const char *root, struct gk_baseline *b)
{
	if (!nvml_cli_wanted(root, NULL))
		return 0;
	return nvml_baseline_scan(NULL, 0, &b->nvml);
}
