// SPDX-License-Identifier: GPL-2.0-or-later
/* Baselines: saved from an inventory, loaded with every field checked (a corrupt baseline must
 * never validate a node), and compared. Current link speed is not kept: GPUs lower it at idle. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "baseline/baseline.h"
#include "baseline/nvml-baseline.h"
#include "core/json-check.h"
#include "core/json-util.h"
#include "fileio.h"
#include "macro.h"
#include "string-util.h"

void baseline_done(struct gk_baseline *b)
{
	for (size_t i = 0; i < b->n_gpus; i++) {
		free(b->gpus[i].uuid);
		free(b->gpus[i].model);
	}
	free(b->gpus);
	free(b->driver_version);
	strv_free(b->nvswitches);
	strv_free(b->modules);
	strv_free(b->device_nodes);
	nvml_baseline_free(b->nvml);
	*b = (struct gk_baseline){};
}

static char *strdup_or_null(const char *s, bool *oom)
{
	char *c;

	if (!s)
		return NULL;
	c = strdup(s);
	if (!c)
		*oom = true;
	return c;
}

static struct gk_baseline_gpu gpu_from_inventory(const struct gk_gpu *g, bool *oom)
{
	struct gk_baseline_gpu b = {
		.bound = streq_ptr(g->pci.driver, "nvidia"),
		.minor = g->has_info ? g->info.minor : -1,
		.cur_width = g->pci.link.cur_width,
		.max_width = g->pci.link.max_width,
		.max_gts = g->pci.link.max_gts,
	};

	snprintf(b.pci, sizeof(b.pci), "%s", g->pci.name);
	b.uuid = strdup_or_null(g->has_info ? g->info.uuid : NULL, oom);
	b.model = strdup_or_null(g->has_info ? g->info.model : NULL, oom);
	return b;
}

/* strv of an empty list is an allocated NULL-terminated array, never NULL */
static int strv_new_empty(char ***ret)
{
	*ret = calloc(1, sizeof(char *));
	return *ret ? 0 : -ENOMEM;
}

int baseline_from_inventory(const struct gk_inventory *inv, struct gk_baseline *ret)
{
	struct gk_baseline b = {};
	bool oom = false;

	b.gpus = calloc(inv->n_gpus + 1, sizeof(*b.gpus));
	if (!b.gpus || strv_new_empty(&b.nvswitches) < 0 || strv_new_empty(&b.modules) < 0 ||
	    strv_new_empty(&b.device_nodes) < 0)
		oom = true;
	for (size_t i = 0; !oom && i < inv->n_gpus; i++)
		b.gpus[b.n_gpus++] = gpu_from_inventory(&inv->gpus[i], &oom);
	for (size_t i = 0; !oom && i < inv->n_switches; i++)
		oom = strv_extend(&b.nvswitches, inv->switches[i].name) < 0;
	for (char **m = inv->nvidia_modules; !oom && m && *m; m++)
		oom = strv_extend(&b.modules, *m) < 0;
	for (size_t i = 0; !oom && i < inv->nodes.n; i++)
		if (inv->nodes.nodes[i].status == GK_NODE_OK)
			oom = strv_extend(&b.device_nodes, inv->nodes.nodes[i].path) < 0;
	b.driver_version = strdup_or_null(inv->driver_version, &oom);
	if (oom) {
		baseline_done(&b);
		return -ENOMEM;
	}
	*ret = b;
	return 0;
}

static struct json_object *gpu_json(const struct gk_baseline_gpu *g)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "pci", json_object_new_string(g->pci));
	json_object_object_add(o, "bound", json_object_new_boolean(g->bound));
	json_object_object_add(o, "uuid", g->uuid ? json_object_new_string(g->uuid) : NULL);
	json_object_object_add(o, "model", g->model ? json_object_new_string(g->model) : NULL);
	json_object_object_add(o, "minor", json_int_or_null(g->minor));
	json_object_object_add(o, "current_width", json_int_or_null(g->cur_width));
	json_object_object_add(o, "max_width", json_int_or_null(g->max_width));
	json_object_object_add(o, "max_gts",
			       g->max_gts > 0 ? json_object_new_double(g->max_gts) : NULL);
	return o;
}

struct json_object *baseline_to_json(const struct gk_baseline *b)
{
	struct json_object *o = json_object_new_object(), *gpus = json_object_new_array();

	if (!o || !gpus) {
		json_object_put(o);
		json_object_put(gpus);
		return NULL;
	}
	json_object_object_add(o, "schema", json_object_new_string(GK_BASELINE_SCHEMA));
	json_object_object_add(o, "version", json_object_new_int(GK_BASELINE_VERSION));
	json_object_object_add(o, "driver_version",
			       b->driver_version ? json_object_new_string(b->driver_version)
						 : NULL);
	for (size_t i = 0; i < b->n_gpus; i++)
		json_object_array_add(gpus, gpu_json(&b->gpus[i]));
	json_object_object_add(o, "gpus", gpus);
	json_object_object_add(o, "nvswitches", json_strv_new(b->nvswitches));
	json_object_object_add(o, "modules", json_strv_new(b->modules));
	json_object_object_add(o, "device_nodes", json_strv_new(b->device_nodes));
	if (b->nvml && b->nvml->available)
		json_object_object_add(o, "nvml", nvml_baseline_to_json(b->nvml));
	return o;
}

static void load_gts(struct gk_jcheck *l, struct json_object *o, const char *where,
		     struct gk_baseline_gpu *g);

static void load_gpu(struct gk_jcheck *l, struct json_object *o, size_t i,
		     struct gk_baseline_gpu *g)
{
	struct json_object *v;
	char where[32];
	char *pci;

	snprintf(where, sizeof(where), "gpus[%zu]", i);
	if (!json_object_is_type(o, json_type_object)) {
		jcheck_fail(l, "%s is not an object", where);
		return;
	}
	pci = jcheck_string(l, o, where, "pci", false);
	if (pci && pci_addr_normalize(pci, g->pci, sizeof(g->pci)) < 0)
		jcheck_fail(l, "%s: '%s' is not a PCI address", where, pci);
	free(pci);
	v = jcheck_field(l, o, where, "bound", json_type_boolean, false);
	g->bound = v && json_object_get_boolean(v);
	g->uuid = jcheck_string(l, o, where, "uuid", true);
	g->model = jcheck_string(l, o, where, "model", true);
	g->minor = jcheck_int(l, o, where, "minor", 0, 253);
	g->cur_width = jcheck_int(l, o, where, "current_width", 1, 32);
	g->max_width = jcheck_int(l, o, where, "max_width", 1, 32);
	load_gts(l, o, where, g);
}

/* The link speed in GT/s: null (unknown) or a real PCIe rate. A negative, zero or absurd speed
 * is a hand edit or a corruption, and validating against it would pass or fail anything. */
static void load_gts(struct gk_jcheck *l, struct json_object *o, const char *where,
		     struct gk_baseline_gpu *g)
{
	struct json_object *v;
	double x;

	/* optional: null or absent when the speed was unknown */
	if (!json_object_object_get_ex(o, "max_gts", &v) || !v)
		return;
	if (!json_object_is_type(v, json_type_double) && !json_object_is_type(v, json_type_int)) {
		jcheck_fail(l, "%s: field 'max_gts' has the wrong type", where);
		return;
	}
	x = json_object_get_double(v);
	if (!(x > 0 && x <= GK_BASELINE_MAX_GTS)) {
		jcheck_fail(l,
			    "%s: max_gts %g is not a link speed (expected 0 < GT/s <= %d, or null)",
			    where, x, GK_BASELINE_MAX_GTS);
		return;
	}
	g->max_gts = x;
}

/* Two GPUs at one PCI address (or with one UUID) cannot both exist: the file was edited. */
static void check_unique(struct gk_jcheck *l, const struct gk_baseline *b)
{
	for (size_t i = 0; i < b->n_gpus && !l->error; i++)
		for (size_t j = i + 1; j < b->n_gpus; j++) {
			if (b->gpus[i].pci[0] && streq(b->gpus[i].pci, b->gpus[j].pci)) {
				jcheck_fail(l,
					    "gpus[%zu] and gpus[%zu] have the same PCI address %s",
					    i, j, b->gpus[i].pci);
				break;
			}
			if (b->gpus[i].uuid && streq_ptr(b->gpus[i].uuid, b->gpus[j].uuid)) {
				jcheck_fail(l, "gpus[%zu] and gpus[%zu] have the same UUID %s", i,
					    j, b->gpus[i].uuid);
				break;
			}
		}
}

static void load_object(struct gk_jcheck *l, struct json_object *o, struct gk_baseline *b)
{
	struct json_object *v, *gpus;

	v = jcheck_field(l, o, "baseline", "schema", json_type_string, false);
	if (v && !streq(json_object_get_string(v), GK_BASELINE_SCHEMA))
		jcheck_fail(l, "not a gpukeep baseline (schema '%s')", json_object_get_string(v));
	v = jcheck_field(l, o, "baseline", "version", json_type_int, false);
	if (v && json_object_get_int(v) != GK_BASELINE_VERSION)
		jcheck_fail(l,
			    "baseline version %d is not supported (this gpukeep reads version %d)",
			    json_object_get_int(v), GK_BASELINE_VERSION);
	if (l->error)
		return;
	b->driver_version = jcheck_string(l, o, "baseline", "driver_version", true);
	gpus = jcheck_field(l, o, "baseline", "gpus", json_type_array, false);
	b->gpus = calloc(gpus ? json_object_array_length(gpus) + 1 : 1, sizeof(*b->gpus));
	if (!b->gpus) {
		l->oom = true;
		return;
	}
	for (size_t i = 0; gpus && i < json_object_array_length(gpus) && !l->error; i++) {
		load_gpu(l, json_object_array_get_idx(gpus, i), i, &b->gpus[i]);
		b->n_gpus++;
	}
	check_unique(l, b);
	b->nvswitches = jcheck_strv(l, o, "baseline", "nvswitches");
	b->modules = jcheck_strv(l, o, "baseline", "modules");
	b->device_nodes = jcheck_strv(l, o, "baseline", "device_nodes");
	/* optional: baselines saved without NVML have no "nvml" */
	if (json_object_object_get_ex(o, "nvml", &v) && v && !l->error && !l->oom &&
	    nvml_baseline_from_json(v, &b->nvml, &l->error) == -ENOMEM)
		l->oom = true;
}

int baseline_from_json(struct json_object *o, struct gk_baseline *ret, char **ret_error)
{
	struct gk_jcheck l = {};
	struct gk_baseline b = {};
	int r;

	if (!json_object_is_type(o, json_type_object))
		jcheck_fail(&l, "not a JSON object");
	else
		load_object(&l, o, &b);
	r = jcheck_finish(&l, ret_error);
	if (r < 0) {
		baseline_done(&b);
		return r;
	}
	*ret = b;
	return 0;
}

/* Line of byte @off in @text, for messages about a file a person may open in an editor. */
static unsigned line_of(const char *text, size_t off)
{
	unsigned line = 1;

	for (size_t i = 0; i < off && text[i]; i++)
		line += text[i] == '\n';
	return line;
}

int json_parse_file_at(int dirfd, const char *path, size_t max, struct json_object **ret,
		       char **ret_error)
{
	_cleanup_free_ char *text = NULL, *why = NULL;
	struct json_tokener *tok;
	struct json_object *o;
	enum json_tokener_error e;
	size_t size, end;
	int r;

	/* A FIFO named on the command line blocked validate for ever: refuse all but files. */
	r = read_regular_file_at(dirfd, path, max, 0, &text, &size);
	if (r == -EBADFD) {
		if (ret_error)
			*ret_error = strdup("not a regular file (a FIFO, socket or device?)");
		return -EBADMSG;
	}
	if (r < 0)
		return r;
	tok = json_tokener_new();
	if (!tok)
		return -ENOMEM;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8 |
					    JSON_TOKENER_ALLOW_TRAILING_CHARS);
	o = json_tokener_parse_ex(tok, text, (int)size);
	e = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (e == json_tokener_continue || (e == json_tokener_success && !o && size == 0))
		why = strdup_printf("not valid JSON: truncated at byte %zu (line %u), inside the "
				    "value",
				    size, line_of(text, size));
	else if (e != json_tokener_success)
		why = strdup_printf("not valid JSON at byte %zu (line %u): %s", end,
				    line_of(text, end), json_tokener_error_desc(e));
	else if (end < size && *strstrip(text + end))
		why = strdup_printf("trailing data after the JSON value at byte %zu (line %u)", end,
				    line_of(text, end));
	if (e != json_tokener_success || why) {
		json_object_put(o);
		if (!why)
			return -ENOMEM;
		if (ret_error)
			*ret_error = TAKE_PTR(why);
		return -EBADMSG;
	}
	*ret = o;
	return 0;
}

int baseline_load(int dirfd, const char *path, struct gk_baseline *ret, char **ret_error)
{
	struct json_object *o = NULL;
	int r;

	r = json_parse_file_at(dirfd, path, GK_BASELINE_MAX_SIZE, &o, ret_error);
	if (r < 0)
		return r;
	r = baseline_from_json(o, ret, ret_error);
	json_object_put(o);
	return r;
}
