// SPDX-License-Identifier: GPL-2.0-or-later
/* The NVML part of a baseline and its check. NVLinks are compared link by link, not as counts:
 * a link that trained to another NVSwitch port is as wrong as one that is down. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "baseline/nvml-baseline.h"
#include "macro.h"
#include "string-util.h"

struct gk_baseline_nvml *nvml_baseline_free(struct gk_baseline_nvml *b)
{
	if (!b)
		return NULL;
	free(b->error);
	free(b->links);
	strv_free(b->retired_pending);
	strv_free(b->remap_pending);
	free(b->fabric_gpus);
	free(b);
	return NULL;
}

static int strv_new_empty(char ***ret)
{
	*ret = calloc(1, sizeof(char *));
	return *ret ? 0 : -ENOMEM;
}

static struct gk_baseline_nvml *baseline_nvml_new(size_t max_links)
{
	struct gk_baseline_nvml *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	b->links = calloc(max_links + 1, sizeof(*b->links));
	if (!b->links || strv_new_empty(&b->retired_pending) < 0 ||
	    strv_new_empty(&b->remap_pending) < 0)
		return nvml_baseline_free(b);
	return b;
}

static bool pending(const struct gk_nvml_gpu *g, enum gk_nvml_value v)
{
	return g->values[v].status == 0 && g->values[v].value != 0;
}

/* Adds @g's active links and pending flags; false on -ENOMEM. */
static bool add_gpu(struct gk_baseline_nvml *b, const struct gk_nvml_gpu *g)
{
	for (size_t l = 0; l < g->n_links; l++) {
		const struct gk_nvml_link *k = &g->links[l];
		struct gk_baseline_nvlink *x = &b->links[b->n_links];

		if (!k->active || k->remote_status != 0)
			continue;
		snprintf(x->gpu, sizeof(x->gpu), "%s", g->pci);
		snprintf(x->remote, sizeof(x->remote), "%s", k->remote_pci);
		x->link = k->link;
		b->n_links++;
	}
	if (pending(g, GK_NVML_RETIRED_PENDING) && strv_extend(&b->retired_pending, g->pci) < 0)
		return false;
	if (pending(g, GK_NVML_REMAP_PENDING) && strv_extend(&b->remap_pending, g->pci) < 0)
		return false;
	return true;
}

struct gk_baseline_nvml *nvml_baseline_from_node(const struct gk_nvml_node *node)
{
	struct gk_baseline_nvml *b = baseline_nvml_new(node->n_gpus * NVML_NVLINK_MAX_LINKS);

	if (!b)
		return NULL;
	b->available = node->available && !node->hung;
	if (!b->available && !(b->error = strdup(node->error ? node->error : "NVML unavailable")))
		return nvml_baseline_free(b);
	for (size_t i = 0; b->available && i < node->n_gpus; i++)
		if (node->gpus[i].status == 0 && !add_gpu(b, &node->gpus[i]))
			return nvml_baseline_free(b);
	if (!b->available)
		return b;
	b->fabric_gpus = nvml_node_fabric(node, &b->n_fabric_gpus);
	if (!b->fabric_gpus)
		return nvml_baseline_free(b);
	b->fabric = fabric_verdict(b->fabric_gpus, b->n_fabric_gpus, NULL, NULL) != GK_FABRIC_NONE;
	return b;
}

int nvml_baseline_scan(const char *path, unsigned timeout_ms, struct gk_baseline_nvml **ret)
{
	struct gk_baseline_nvml *b;
	struct gk_nvml_node node;
	int r;

	r = nvml_node_scan(path, timeout_ms, &node);
	if (r < 0)
		return r;
	b = nvml_baseline_from_node(&node);
	nvml_node_done(&node);
	if (!b)
		return -ENOMEM;
	*ret = b;
	return 0;
}

static struct json_object *strv_json(char *const *l)
{
	struct json_object *a = json_object_new_array();

	for (; a && l && *l; l++)
		json_object_array_add(a, json_object_new_string(*l));
	return a;
}

struct json_object *nvml_baseline_to_json(const struct gk_baseline_nvml *b)
{
	struct json_object *o = json_object_new_object(), *links = json_object_new_array();

	if (!o || !links) {
		json_object_put(o);
		json_object_put(links);
		return NULL;
	}
	for (size_t i = 0; i < b->n_links; i++) {
		struct json_object *l = json_object_new_object();

		json_object_object_add(l, "gpu", json_object_new_string(b->links[i].gpu));
		json_object_object_add(l, "link", json_object_new_int((int)b->links[i].link));
		json_object_object_add(l, "remote", json_object_new_string(b->links[i].remote));
		json_object_array_add(links, l);
	}
	json_object_object_add(o, "nvlinks", links);
	json_object_object_add(o, "retired_pages_pending", strv_json(b->retired_pending));
	json_object_object_add(o, "remapped_rows_pending", strv_json(b->remap_pending));
	json_object_object_add(o, "fabric", json_object_new_boolean(b->fabric));
	return o;
}

static struct json_object *member(struct json_object *o, const char *key, enum json_type type)
{
	struct json_object *v = NULL;

	json_object_object_get_ex(o, key, &v);
	return json_object_is_type(v, type) ? v : NULL;
}

/* A PCI address member, normalised into @buf; false when missing or malformed. */
static bool pci_member(struct json_object *o, const char *key, char *buf, size_t size)
{
	struct json_object *v = member(o, key, json_type_string);

	return v && pci_addr_normalize(json_object_get_string(v), buf, size) >= 0;
}

static int load_pci_list(struct json_object *o, const char *key, char ***list, char **ret_error)
{
	struct json_object *a = member(o, key, json_type_array);
	char buf[GK_PCI_ADDR_STRLEN];

	if (!a) {
		*ret_error = strdup_printf("nvml: missing field '%s'", key);
		return -EBADMSG;
	}
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		struct json_object *v = json_object_array_get_idx(a, i);

		if (!json_object_is_type(v, json_type_string) ||
		    pci_addr_normalize(json_object_get_string(v), buf, sizeof(buf)) < 0) {
			*ret_error = strdup_printf("nvml: %s[%zu] is not a PCI address", key, i);
			return -EBADMSG;
		}
		if (strv_extend(list, buf) < 0)
			return -ENOMEM;
	}
	return 0;
}

static int load_links(struct json_object *a, struct gk_baseline_nvml *b, char **ret_error)
{
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		struct json_object *l = json_object_array_get_idx(a, i);
		struct json_object *n = member(l, "link", json_type_int);
		struct gk_baseline_nvlink *x = &b->links[b->n_links];

		if (!pci_member(l, "gpu", x->gpu, sizeof(x->gpu)) ||
		    !pci_member(l, "remote", x->remote, sizeof(x->remote)) || !n ||
		    json_object_get_int(n) < 0 || json_object_get_int(n) >= NVML_NVLINK_MAX_LINKS) {
			*ret_error =
				strdup_printf("nvml: nvlinks[%zu] needs 'gpu' and 'remote' (PCI "
					      "addresses) and 'link' (0..%d)",
					      i, NVML_NVLINK_MAX_LINKS - 1);
			return -EBADMSG;
		}
		x->link = (unsigned)json_object_get_int(n);
		b->n_links++;
	}
	return 0;
}

int nvml_baseline_from_json(struct json_object *o, struct gk_baseline_nvml **ret, char **ret_error)
{
	struct json_object *links = member(o, "nvlinks", json_type_array);
	struct gk_baseline_nvml *b;
	char *error = NULL;
	int r;

	if (!links) {
		if (ret_error)
			*ret_error = strdup("nvml: missing field 'nvlinks'");
		return -EBADMSG;
	}
	b = baseline_nvml_new(json_object_array_length(links));
	if (!b)
		return -ENOMEM;
	b->available = true;
	r = load_links(links, b, &error);
	if (r >= 0)
		r = load_pci_list(o, "retired_pages_pending", &b->retired_pending, &error);
	if (r >= 0)
		r = load_pci_list(o, "remapped_rows_pending", &b->remap_pending, &error);
	/* optional: baselines saved before fabric support have none */
	if (r >= 0 && json_object_object_get_ex(o, "fabric", NULL)) {
		struct json_object *f = member(o, "fabric", json_type_boolean);

		if (!f) {
			error = strdup("nvml: 'fabric' must be true or false");
			r = -EBADMSG;
		} else
			b->fabric = json_object_get_boolean(f);
	}
	if (r < 0) {
		nvml_baseline_free(b);
		if (ret_error)
			*ret_error = error;
		else
			free(error);
		return r == -EBADMSG && !error ? -ENOMEM : r;
	}
	*ret = b;
	return 0;
}

static int add(struct gk_differences *d, enum gk_diff_kind kind, const char *object,
	       const char *fmt, ...) _printf_(4, 5);
static int add(struct gk_differences *d, enum gk_diff_kind kind, const char *object,
	       const char *fmt, ...)
{
	struct gk_difference *items;
	_cleanup_free_ char *msg = NULL;
	char *obj;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	obj = msg ? strdup(object) : NULL;
	items = obj ? realloc(d->items, (d->n + 1) * sizeof(*items)) : NULL;
	if (!items) {
		free(obj);
		return -ENOMEM;
	}
	d->items = items;
	items[d->n++] = (struct gk_difference){kind, obj, TAKE_PTR(msg)};
	return 0;
}

static const struct gk_baseline_nvlink *find_link(const struct gk_baseline_nvml *b, const char *gpu,
						  unsigned link)
{
	for (size_t i = 0; i < b->n_links; i++)
		if (b->links[i].link == link && streq(b->links[i].gpu, gpu))
			return &b->links[i];
	return NULL;
}

static int compare_links(const struct gk_baseline_nvml *want, const struct gk_baseline_nvml *got,
			 struct gk_differences *d)
{
	int r = 0;

	for (size_t i = 0; r >= 0 && i < want->n_links; i++) {
		const struct gk_baseline_nvlink *w = &want->links[i];
		const struct gk_baseline_nvlink *g = find_link(got, w->gpu, w->link);

		if (!g)
			r = add(d, GK_DIFF_NVLINK, w->gpu, "NVLink %u is down, baseline up to %s",
				w->link, w->remote);
		else if (!streq(g->remote, w->remote))
			r = add(d, GK_DIFF_NVLINK, w->gpu, "NVLink %u goes to %s, baseline %s",
				w->link, g->remote, w->remote);
	}
	for (size_t i = 0; r >= 0 && i < got->n_links; i++)
		if (!find_link(want, got->links[i].gpu, got->links[i].link))
			r = add(d, GK_DIFF_NVLINK, got->links[i].gpu,
				"NVLink %u is up to %s, not in the baseline", got->links[i].link,
				got->links[i].remote);
	return r;
}

static int compare_pending(const struct gk_baseline_nvml *got, struct gk_differences *d)
{
	int r = 0;

	for (char **p = got->retired_pending; r >= 0 && p && *p; p++)
		r = add(d, GK_DIFF_PAGES_PENDING, *p,
			"pages pending retirement: not cleared (a reload or GPU reset retires "
			"them)");
	for (char **p = got->remap_pending; r >= 0 && p && *p; p++)
		r = add(d, GK_DIFF_PAGES_PENDING, *p,
			"rows pending remapping: not cleared (a reload or GPU reset remaps them)");
	return r;
}

static int compare_fabric(const struct gk_baseline_nvml *want, const struct gk_baseline_nvml *got,
			  struct gk_differences *d)
{
	const struct gk_fabric_gpu *f = got->fabric_gpus;
	int r = 0;

	if (want && want->fabric &&
	    fabric_verdict(f, got->n_fabric_gpus, NULL, NULL) == GK_FABRIC_NONE)
		return add(d, GK_DIFF_FABRIC, "fabric",
			   "no GPU reports an NVLink fabric, baseline has one (is the "
			   "NVSwitch side of the driver loaded?)");
	for (size_t i = 0; r >= 0 && i < got->n_fabric_gpus; i++) {
		if (!fabric_gpu_participates(&f[i]) || fabric_gpu_ready(&f[i]))
			continue;
		if (f[i].read != 0)
			r = add(d, GK_DIFF_FABRIC, f[i].pci, "fabric state unreadable: %s",
				nvml_status_to_string(f[i].read));
		else if (f[i].fabric.state == NVML_GPU_FABRIC_STATE_COMPLETED)
			r = add(d, GK_DIFF_FABRIC, f[i].pci,
				"NVLink fabric registration failed: %s; check the fabric "
				"manager's log",
				nvml_status_to_string(f[i].fabric.status));
		else
			r = add(d, GK_DIFF_FABRIC, f[i].pci,
				"NVLink fabric %s, not completed: is the fabric manager running? "
				"(CUDA fails until it completes)",
				fabric_state_to_string(f[i].fabric.state));
	}
	return r;
}

int nvml_baseline_compare(const struct gk_baseline_nvml *want, const struct gk_baseline_nvml *got,
			  struct gk_differences *d)
{
	int r;

	if (want && (!got || !got->available))
		return add(d, GK_DIFF_NVML, "nvml", "NVLink topology not checked: %s",
			   got ? got->error : "NVML not consulted");
	if (got && !got->available && got->error && strstr(got->error, GK_NVML_HUNG_MESSAGE))
		return add(d, GK_DIFF_NVML, "nvml", "%s", got->error);
	if (!got || !got->available)
		return 0;
	r = compare_fabric(want, got, d);
	if (r >= 0 && want)
		r = compare_links(want, got, d);
	return r < 0 ? r : compare_pending(got, d);
}
