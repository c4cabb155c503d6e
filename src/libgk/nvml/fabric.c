// SPDX-License-Identifier: GPL-2.0-or-later
/* Fabric decisions. A GPU's status is NVML's word only once its state is COMPLETED; before that
 * it is whatever the library left there. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "nvml/fabric.h"
#include "nvml/nvml-api.h"
#include "string-util.h"

static bool not_supported(int status)
{
	return status == NVML_ERROR_NOT_SUPPORTED || status == NVML_ERROR_FUNCTION_NOT_FOUND;
}

bool fabric_gpu_participates(const struct gk_fabric_gpu *g)
{
	if (g->read != 0)
		return !not_supported(g->read);
	return g->fabric.state != NVML_GPU_FABRIC_STATE_NOT_SUPPORTED;
}

bool fabric_gpu_ready(const struct gk_fabric_gpu *g)
{
	return g->read == 0 && g->fabric.state == NVML_GPU_FABRIC_STATE_COMPLETED &&
	       g->fabric.status == NVML_SUCCESS;
}

static bool gpu_failed(const struct gk_fabric_gpu *g)
{
	return g->read == 0 && g->fabric.state == NVML_GPU_FABRIC_STATE_COMPLETED &&
	       g->fabric.status != NVML_SUCCESS;
}

enum gk_fabric_verdict fabric_verdict(const struct gk_fabric_gpu *g, size_t n, size_t *ret_ready,
				      size_t *ret_total)
{
	size_t ready = 0, total = 0;
	bool failed = false, unknown = false;

	for (size_t i = 0; i < n; i++) {
		if (!fabric_gpu_participates(&g[i]))
			continue;
		total++;
		ready += fabric_gpu_ready(&g[i]);
		failed |= gpu_failed(&g[i]);
		unknown |= g[i].read != 0;
	}
	if (ret_ready)
		*ret_ready = ready;
	if (ret_total)
		*ret_total = total;
	if (total == 0)
		return GK_FABRIC_NONE;
	if (failed)
		return GK_FABRIC_FAILED;
	if (unknown)
		return GK_FABRIC_UNKNOWN;
	return ready == total ? GK_FABRIC_READY : GK_FABRIC_TRAINING;
}

int fabric_select(const struct gk_fabric_gpu *g, size_t n, char *const *pcis,
		  struct gk_fabric_gpu **ret, size_t *ret_n)
{
	size_t want = 0;
	struct gk_fabric_gpu *l;

	while (pcis && pcis[want])
		want++;
	l = calloc(want + 1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	for (size_t k = 0; k < want; k++) {
		size_t i = 0;

		while (i < n && !streq(g[i].pci, pcis[k]))
			i++;
		if (i < n)
			l[k] = g[i];
		else {
			snprintf(l[k].pci, sizeof(l[k].pci), "%s", pcis[k]);
			l[k].read = NVML_ERROR_NOT_FOUND;
		}
	}
	*ret = l;
	*ret_n = want;
	return 0;
}

const char *fabric_state_to_string(unsigned state)
{
	static const char *const names[] = {
		[NVML_GPU_FABRIC_STATE_NOT_SUPPORTED] = "not-supported",
		[NVML_GPU_FABRIC_STATE_NOT_STARTED] = "not-started",
		[NVML_GPU_FABRIC_STATE_IN_PROGRESS] = "in-progress",
		[NVML_GPU_FABRIC_STATE_COMPLETED] = "completed",
	};

	return state < ELEMENTSOF(names) ? names[state] : "unknown";
}

static char *describe_one(const struct gk_fabric_gpu *g)
{
	if (g->read != 0)
		return strdup_printf("%s (unreadable: %s)", g->pci, nvml_status_to_string(g->read));
	if (gpu_failed(g))
		return strdup_printf("%s (completed with error: %s)", g->pci,
				     nvml_status_to_string(g->fabric.status));
	return strdup_printf("%s (%s)", g->pci, fabric_state_to_string(g->fabric.state));
}

char *fabric_describe_pending(const struct gk_fabric_gpu *g, size_t n, size_t max)
{
	_cleanup_strv_free_ char **l = calloc(1, sizeof(char *));
	_cleanup_free_ char *s = NULL;
	size_t pending = 0;

	if (!l)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *one = NULL;

		if (!fabric_gpu_participates(&g[i]) || fabric_gpu_ready(&g[i]))
			continue;
		if (pending++ >= max)
			continue;
		one = describe_one(&g[i]);
		if (!one || strv_extend(&l, one) < 0)
			return NULL;
	}
	s = strv_join(l, ", ");
	if (!s || pending <= max)
		return TAKE_PTR(s);
	return strdup_printf("%s and %zu more", s, pending - max);
}

struct json_object *fabric_gpu_to_json(const struct gk_fabric_gpu *g, bool with_pci)
{
	struct json_object *o;

	if (g->read != 0)
		return NULL;
	o = json_object_new_object();
	if (!o)
		return NULL;
	if (with_pci)
		json_object_object_add(o, "gpu", json_object_new_string(g->pci));
	json_object_object_add(o, "state",
			       json_object_new_string(fabric_state_to_string(g->fabric.state)));
	json_object_object_add(
		o, "status",
		g->fabric.state == NVML_GPU_FABRIC_STATE_COMPLETED
			? json_object_new_string(nvml_status_to_string(g->fabric.status))
			: NULL);
	json_object_object_add(o, "ready", json_object_new_boolean(fabric_gpu_ready(g)));
	return o;
}

struct json_object *fabric_to_json(const struct gk_fabric_gpu *g, size_t n)
{
	struct json_object *a;

	if (fabric_verdict(g, n, NULL, NULL) == GK_FABRIC_NONE)
		return NULL;
	a = json_object_new_array();
	for (size_t i = 0; a && i < n; i++) {
		struct json_object *o;

		if (!fabric_gpu_participates(&g[i]))
			continue;
		o = fabric_gpu_to_json(&g[i], true);
		if (!o && (o = json_object_new_object())) {
			json_object_object_add(o, "gpu", json_object_new_string(g[i].pci));
			json_object_object_add(
				o, "error",
				json_object_new_string(nvml_status_to_string(g[i].read)));
			json_object_object_add(o, "ready", json_object_new_boolean(false));
		}
		json_object_array_add(a, o);
	}
	return a;
}
