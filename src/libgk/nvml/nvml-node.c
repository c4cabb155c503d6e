// SPDX-License-Identifier: GPL-2.0-or-later
/* Reading the node through NVML. Each value keeps its own status, because "not supported" on
 * one GPU model and "GPU is lost" mean different things to the person reading the report. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "nvml/nvml-node.h"
#include "string-util.h"

static void read_links(struct gk_nvml *n, struct gk_nvml_gpu *g)
{
	for (unsigned l = 0; l < NVML_NVLINK_MAX_LINKS; l++) {
		int r = nvml_link(n, g->index, l, &g->links[g->n_links]);

		/* links are numbered from 0; the first missing one ends the list */
		if (r == NVML_ERROR_NOT_SUPPORTED || r == NVML_ERROR_INVALID_ARGUMENT) {
			if (l == 0)
				g->links_status = r;
			return;
		}
		if (r != 0) {
			g->links_status = r;
			return;
		}
		g->n_links++;
	}
}

static void read_gpu(struct gk_nvml *n, unsigned index, struct gk_nvml_gpu *g)
{
	*g = (struct gk_nvml_gpu){.index = index};
	g->status = nvml_gpu_pci(n, index, g->pci, sizeof(g->pci));
	if (g->status != 0) {
		g->pci[0] = 0;
		for (size_t v = 0; v < _GK_NVML_VALUE_MAX; v++)
			g->values[v].status = g->status;
		g->links_status = g->status;
		g->fabric.read = g->status;
		return;
	}
	if (nvml_gpu_uuid(n, index, g->uuid, sizeof(g->uuid)) != 0)
		g->uuid[0] = 0;
	if (nvml_gpu_name(n, index, g->name, sizeof(g->name)) != 0)
		g->name[0] = 0;
	for (size_t v = 0; v < _GK_NVML_VALUE_MAX; v++)
		g->values[v].status = nvml_get(n, index, v, &g->values[v].value);
	read_links(n, g);
	snprintf(g->fabric.pci, sizeof(g->fabric.pci), "%s", g->pci);
	g->fabric.read = nvml_fabric(n, index, &g->fabric.fabric);
}

static int set_error(struct gk_nvml_node *node, const char *msg)
{
	if (node->error)
		return 0;
	node->error = strdup(msg);
	return node->error ? 0 : -ENOMEM;
}

int nvml_node_read(struct gk_nvml *n, struct gk_nvml_node *ret)
{
	struct gk_nvml_node node = {.available = true};
	unsigned count = 0;
	int r;

	if (nvml_driver_version(n, node.driver_version, sizeof(node.driver_version)) != 0)
		node.driver_version[0] = 0;
	r = nvml_gpu_count(n, &count);
	if (r != 0)
		count = 0;
	node.gpus = calloc(count + 1, sizeof(*node.gpus));
	if (!node.gpus)
		return -ENOMEM;
	for (unsigned i = 0; i < count; i++)
		read_gpu(n, i, &node.gpus[node.n_gpus++]);
	node.hung = nvml_is_hung(n);
	if (node.hung || r != 0)
		r = set_error(&node, node.hung ? nvml_hung_error(n) : nvml_last_error(n));
	else
		r = 0;
	if (r < 0) {
		nvml_node_done(&node);
		return r;
	}
	*ret = node;
	return 0;
}

int nvml_node_unavailable(const char *error, struct gk_nvml_node *ret)
{
	struct gk_nvml_node node = {};

	node.error = strdup(error ? error : "NVML not available");
	if (!node.error)
		return -ENOMEM;
	node.hung = error && strstr(error, GK_NVML_HUNG_MESSAGE);
	*ret = node;
	return 0;
}

int nvml_node_scan(const char *path, unsigned timeout_ms, struct gk_nvml_node *ret)
{
	_cleanup_nvml_ struct gk_nvml *n = NULL;
	_cleanup_free_ char *error = NULL;
	int r;

	r = nvml_open(path, timeout_ms, &n, &error);
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		return nvml_node_unavailable(error, ret);
	return nvml_node_read(n, ret);
}

void nvml_node_done(struct gk_nvml_node *node)
{
	free(node->error);
	free(node->gpus);
	*node = (struct gk_nvml_node){};
}

struct gk_fabric_gpu *nvml_node_fabric(const struct gk_nvml_node *node, size_t *ret_n)
{
	struct gk_fabric_gpu *f = calloc(node->n_gpus + 1, sizeof(*f));

	*ret_n = 0;
	if (!f)
		return NULL;
	for (size_t i = 0; i < node->n_gpus; i++)
		f[i] = node->gpus[i].fabric;
	*ret_n = node->n_gpus;
	return f;
}

const struct gk_nvml_gpu *nvml_node_find_gpu(const struct gk_nvml_node *node, const char *pci)
{
	for (size_t i = 0; i < node->n_gpus; i++)
		if (node->gpus[i].status == 0 && streq(node->gpus[i].pci, pci))
			return &node->gpus[i];
	return NULL;
}

enum gk_nvml_peer nvml_node_peer(const struct gk_nvml_node *node, const struct gk_nvml_link *l)
{
	if (l->remote_status == 0 && nvml_node_find_gpu(node, l->remote_pci))
		return GK_NVML_PEER_GPU;
	return l->peer;
}

void nvml_node_link_counts(const struct gk_nvml_node *node, size_t *ret_gpu, size_t *ret_other)
{
	size_t gpu = 0, other = 0;

	for (size_t i = 0; i < node->n_gpus; i++)
		for (size_t l = 0; l < node->gpus[i].n_links; l++) {
			const struct gk_nvml_link *k = &node->gpus[i].links[l];

			if (!k->active)
				continue;
			if (nvml_node_peer(node, k) == GK_NVML_PEER_GPU)
				gpu++;
			else
				other++;
		}
	*ret_gpu = gpu;
	*ret_other = other;
}

static struct json_object *reading_json(const struct gk_nvml_reading *v, enum gk_nvml_value what)
{
	static const char *const compute_modes[] = {"default", "exclusive_thread", "prohibited",
						    "exclusive_process"};

	if (v->status != 0)
		return NULL;
	switch (what) {
	case GK_NVML_COMPUTE_MODE:
		return v->value < ELEMENTSOF(compute_modes)
			       ? json_object_new_string(compute_modes[v->value])
			       : json_object_new_int64(v->value);
	case GK_NVML_PERSISTENCE:
	case GK_NVML_ACCOUNTING:
	case GK_NVML_ECC_CURRENT:
	case GK_NVML_ECC_PENDING:
	case GK_NVML_RETIRED_PENDING:
	case GK_NVML_REMAP_PENDING:
	case GK_NVML_REMAP_FAILED:
		return json_object_new_boolean(v->value != 0);
	default:
		return json_object_new_int64(v->value);
	}
}

static struct json_object *links_json(const struct gk_nvml_node *node, const struct gk_nvml_gpu *g)
{
	struct json_object *a = json_object_new_array();

	for (size_t i = 0; a && i < g->n_links; i++) {
		const struct gk_nvml_link *l = &g->links[i];
		struct json_object *o = json_object_new_object();
		bool remote = l->active && l->remote_status == 0;

		json_object_object_add(o, "link", json_object_new_int((int)l->link));
		json_object_object_add(o, "active", json_object_new_boolean(l->active));
		json_object_object_add(o, "remote_pci",
				       remote ? json_object_new_string(l->remote_pci) : NULL);
		json_object_object_add(o, "remote_type",
				       l->active ? json_object_new_string(nvml_peer_to_string(
							   nvml_node_peer(node, l)))
						 : NULL);
		json_object_object_add(
			o, "error",
			l->active && l->remote_status != 0
				? json_object_new_string(nvml_status_to_string(l->remote_status))
				: NULL);
		json_object_array_add(a, o);
	}
	return a;
}

/* {"field": "why it is null"} for every value that could not be read. */
static struct json_object *errors_json(const struct gk_nvml_gpu *g)
{
	struct json_object *o = json_object_new_object();

	if (g->status != 0) {
		json_object_object_add(o, "gpu",
				       json_object_new_string(nvml_status_to_string(g->status)));
		return o;
	}
	for (size_t v = 0; o && v < _GK_NVML_VALUE_MAX; v++)
		if (g->values[v].status != 0)
			json_object_object_add(
				o, nvml_value_name(v),
				json_object_new_string(nvml_status_to_string(g->values[v].status)));
	if (g->links_status != 0)
		json_object_object_add(
			o, "nvlinks",
			json_object_new_string(nvml_status_to_string(g->links_status)));
	if (g->fabric.read != 0)
		json_object_object_add(
			o, "fabric", json_object_new_string(nvml_status_to_string(g->fabric.read)));
	return o;
}

static struct json_object *gpu_json(const struct gk_nvml_node *node, const struct gk_nvml_gpu *g)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "index", json_object_new_int((int)g->index));
	json_object_object_add(o, "pci", g->pci[0] ? json_object_new_string(g->pci) : NULL);
	json_object_object_add(o, "uuid", g->uuid[0] ? json_object_new_string(g->uuid) : NULL);
	json_object_object_add(o, "name", g->name[0] ? json_object_new_string(g->name) : NULL);
	for (size_t v = 0; v < _GK_NVML_VALUE_MAX; v++)
		json_object_object_add(o, nvml_value_name(v), reading_json(&g->values[v], v));
	json_object_object_add(o, "nvlinks", links_json(node, g));
	json_object_object_add(o, "fabric", fabric_gpu_to_json(&g->fabric, false));
	json_object_object_add(o, "errors", errors_json(g));
	return o;
}

/* One entry per (GPU, remote) pair with its active links: the node's NVLink graph. */
static struct json_object *topology_json(const struct gk_nvml_node *node)
{
	struct json_object *a = json_object_new_array();

	for (size_t i = 0; a && i < node->n_gpus; i++) {
		const struct gk_nvml_gpu *g = &node->gpus[i];

		for (size_t l = 0; l < g->n_links; l++) {
			const struct gk_nvml_link *k = &g->links[l];
			struct json_object *o;

			if (!k->active || k->remote_status != 0)
				continue;
			o = json_object_new_object();
			json_object_object_add(o, "gpu", json_object_new_string(g->pci));
			json_object_object_add(o, "link", json_object_new_int((int)k->link));
			json_object_object_add(o, "remote", json_object_new_string(k->remote_pci));
			json_object_object_add(o, "remote_type",
					       json_object_new_string(nvml_peer_to_string(
						       nvml_node_peer(node, k))));
			json_object_array_add(a, o);
		}
	}
	return a;
}

struct json_object *nvml_node_to_json(const struct gk_nvml_node *node)
{
	struct json_object *o = json_object_new_object(), *gpus = json_object_new_array();

	if (!o || !gpus) {
		json_object_put(o);
		json_object_put(gpus);
		return NULL;
	}
	json_object_object_add(o, "available", json_object_new_boolean(node->available));
	json_object_object_add(o, "error",
			       node->error ? json_object_new_string(node->error) : NULL);
	json_object_object_add(o, "hung", json_object_new_boolean(node->hung));
	json_object_object_add(
		o, "driver_version",
		node->driver_version[0] ? json_object_new_string(node->driver_version) : NULL);
	for (size_t i = 0; i < node->n_gpus; i++)
		json_object_array_add(gpus, gpu_json(node, &node->gpus[i]));
	json_object_object_add(o, "gpus", gpus);
	json_object_object_add(o, "topology", topology_json(node));
	return o;
}
