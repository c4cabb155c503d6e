// SPDX-License-Identifier: GPL-2.0-or-later
/* Settings snapshot and restore. A restore never trusts a setter's return code alone: the value
 * is read back, because a driver can accept a value and clamp it (power limits) or ignore it. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json-check.h"
#include "macro.h"
#include "nvml/nvml-api.h"
#include "nvml/settings.h"
#include "string-util.h"

/* Which NVML values make up each setting (the second only for application clocks). */
static const struct {
	const char *name;
	enum gk_nvml_value first;
	int second; /* enum gk_nvml_value, or -1 */
} settings[_GK_SETTING_MAX] = {
	[GK_SETTING_PERSISTENCE] = {"persistence_mode", GK_NVML_PERSISTENCE, -1},
	[GK_SETTING_COMPUTE_MODE] = {"compute_mode", GK_NVML_COMPUTE_MODE, -1},
	[GK_SETTING_APP_CLOCKS] = {"applications_clocks", GK_NVML_APP_CLOCK_GRAPHICS,
				   GK_NVML_APP_CLOCK_MEM},
	[GK_SETTING_POWER_LIMIT] = {"power_limit_mw", GK_NVML_POWER_LIMIT, -1},
	[GK_SETTING_ACCOUNTING] = {"accounting_mode", GK_NVML_ACCOUNTING, -1},
};

const char *setting_to_string(enum gk_setting s)
{
	return s < _GK_SETTING_MAX ? settings[s].name : "?";
}

const char *restore_outcome_to_string(enum gk_restore_outcome o)
{
	static const char *const names[] = {
		[GK_RESTORE_RESTORED] = "restored",
		[GK_RESTORE_ALREADY_RIGHT] = "already right",
		[GK_RESTORE_FAILED] = "failed",
		[GK_RESTORE_NOT_SUPPORTED] = "not supported",
		[GK_RESTORE_NOT_RECORDED] = "not recorded",
	};

	return o < ELEMENTSOF(names) ? names[o] : "?";
}

const char *compute_mode_to_string(unsigned mode)
{
	static const char *const names[] = {"default", "exclusive_thread", "prohibited",
					    "exclusive_process"};

	return mode < ELEMENTSOF(names) ? names[mode] : NULL;
}

/* Reads setting @s of GPU @gpu. Returns 0 or the NVML status. */
static int read_setting(struct gk_nvml *n, unsigned gpu, enum gk_setting s,
			struct gk_setting_value *ret)
{
	struct gk_setting_value v = {.known = true};
	int r;

	r = nvml_get(n, gpu, settings[s].first, &v.value);
	if (r == 0 && settings[s].second >= 0)
		r = nvml_get(n, gpu, settings[s].second, &v.value2);
	if (r != 0)
		return r;
	*ret = v;
	return 0;
}

static int write_setting(struct gk_nvml *n, unsigned gpu, enum gk_setting s,
			 const struct gk_setting_value *v)
{
	switch (s) {
	case GK_SETTING_PERSISTENCE:
		return nvml_set_persistence_mode(n, gpu, v->value != 0);
	case GK_SETTING_COMPUTE_MODE:
		return nvml_set_compute_mode(n, gpu, v->value);
	case GK_SETTING_APP_CLOCKS:
		return nvml_set_app_clocks(n, gpu, v->value2, v->value);
	case GK_SETTING_POWER_LIMIT:
		return nvml_set_power_limit(n, gpu, v->value);
	case GK_SETTING_ACCOUNTING:
		return nvml_set_accounting(n, gpu, v->value != 0);
	default:
		return NVML_ERROR_INVALID_ARGUMENT;
	}
}

static bool value_equal(const struct gk_setting_value *a, const struct gk_setting_value *b)
{
	return a->value == b->value && a->value2 == b->value2;
}

/* "enabled", "exclusive_process", "1410 MHz graphics, 1215 MHz memory", "250000 mW" */
static char *format_value(enum gk_setting s, const struct gk_setting_value *v)
{
	switch (s) {
	case GK_SETTING_PERSISTENCE:
	case GK_SETTING_ACCOUNTING:
		return strdup(v->value ? "enabled" : "disabled");
	case GK_SETTING_COMPUTE_MODE:
		return compute_mode_to_string(v->value) ? strdup(compute_mode_to_string(v->value))
							: strdup_printf("mode %u", v->value);
	case GK_SETTING_APP_CLOCKS:
		return strdup_printf("%u MHz graphics, %u MHz memory", v->value, v->value2);
	default:
		return strdup_printf("%u mW", v->value);
	}
}

static int snapshot_gpu(struct gk_nvml *n, unsigned gpu, struct gk_gpu_settings *g)
{
	char uuid[NVML_DEVICE_UUID_BUFFER_SIZE];
	int r;

	r = nvml_gpu_pci(n, gpu, g->pci, sizeof(g->pci));
	if (r != 0)
		return r;
	if (nvml_gpu_uuid(n, gpu, uuid, sizeof(uuid)) == 0 && !(g->uuid = strdup(uuid)))
		return NVML_ERROR_MEMORY;
	for (enum gk_setting s = 0; s < _GK_SETTING_MAX; s++) {
		g->values[s] = (struct gk_setting_value){};
		g->values[s].status = read_setting(n, gpu, s, &g->values[s]);
	}
	return 0;
}

void settings_done(struct gk_settings *s)
{
	for (size_t i = 0; i < s->n_gpus; i++)
		free(s->gpus[i].uuid);
	free(s->gpus);
	free(s->driver_version);
	free(s->error);
	*s = (struct gk_settings){};
}

int settings_snapshot(struct gk_nvml *n, struct gk_settings *ret)
{
	_cleanup_(settings_done) struct gk_settings snap = {};
	char version[NVML_DRIVER_VERSION_BUFFER_SIZE];
	unsigned count;
	int r;

	r = nvml_gpu_count(n, &count);
	if (r != 0)
		return nvml_status_to_errno(r);
	if (nvml_driver_version(n, version, sizeof(version)) == 0 &&
	    !(snap.driver_version = strdup(version)))
		return -ENOMEM;
	snap.gpus = calloc(count + 1, sizeof(*snap.gpus));
	if (!snap.gpus)
		return -ENOMEM;
	for (unsigned i = 0; i < count; i++) {
		struct gk_gpu_settings *g = &snap.gpus[snap.n_gpus];

		r = snapshot_gpu(n, i, g);
		if (r == NVML_ERROR_MEMORY)
			return -ENOMEM;
		if (r == 0) {
			snap.n_gpus++;
			continue;
		}
		free(g->uuid);
		g->uuid = NULL;
		if (!snap.error)
			snap.error =
				strdup_printf("GPU %u not recorded: %s", i, nvml_last_error(n));
	}
	if (nvml_is_hung(n) && !snap.error)
		snap.error = strdup(nvml_hung_error(n));
	*ret = snap;
	snap = (struct gk_settings){};
	return 0;
}

/* Report building: one item per GPU and setting. */
struct reporter {
	struct gk_restore_report r;
	bool oom;
};

static void report(struct reporter *rep, const char *pci, enum gk_setting s,
		   enum gk_restore_outcome o, const char *fmt, ...) _printf_(5, 6);
static void report(struct reporter *rep, const char *pci, enum gk_setting s,
		   enum gk_restore_outcome o, const char *fmt, ...)
{
	struct gk_restore_item *items;
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	items = msg ? realloc(rep->r.items, (rep->r.n + 1) * sizeof(*items)) : NULL;
	if (!items) {
		free(msg);
		rep->oom = true;
		return;
	}
	rep->r.items = items;
	items[rep->r.n] = (struct gk_restore_item){.setting = s, .outcome = o, .message = msg};
	snprintf(items[rep->r.n].pci, sizeof(items[rep->r.n].pci), "%s", pci);
	rep->r.n++;
	rep->r.n_failed += o == GK_RESTORE_FAILED;
}

static enum gk_restore_outcome outcome_of(int status)
{
	return status == NVML_ERROR_NOT_SUPPORTED || status == NVML_ERROR_FUNCTION_NOT_FOUND
		       ? GK_RESTORE_NOT_SUPPORTED
		       : GK_RESTORE_FAILED;
}

static void restore_one(struct reporter *rep, struct gk_nvml *n, unsigned gpu,
			const struct gk_gpu_settings *g, enum gk_setting s)
{
	const struct gk_setting_value *want = &g->values[s];
	_cleanup_free_ char *text = format_value(s, want);
	struct gk_setting_value now;
	int r;

	if (!want->known) {
		report(rep, g->pci, s,
		       want->status == NVML_ERROR_NOT_SUPPORTED ? GK_RESTORE_NOT_SUPPORTED
								: GK_RESTORE_NOT_RECORDED,
		       "not in the snapshot: %s", nvml_status_to_string(want->status));
		return;
	}
	r = read_setting(n, gpu, s, &now);
	if (r == 0 && value_equal(&now, want)) {
		report(rep, g->pci, s, GK_RESTORE_ALREADY_RIGHT, "%s", strna(text));
		return;
	}
	if (r == 0)
		r = write_setting(n, gpu, s, want);
	if (r != 0) {
		report(rep, g->pci, s, outcome_of(r), "cannot set %s: %s", strna(text),
		       nvml_last_error(n));
		return;
	}
	r = read_setting(n, gpu, s, &now);
	if (r != 0)
		report(rep, g->pci, s, GK_RESTORE_FAILED, "set %s, cannot read it back: %s",
		       strna(text), nvml_last_error(n));
	else if (!value_equal(&now, want))
		report(rep, g->pci, s, GK_RESTORE_FAILED, "set %s, reads back %u/%u", strna(text),
		       now.value, now.value2);
	else
		report(rep, g->pci, s, GK_RESTORE_RESTORED, "%s", strna(text));
}

int settings_restore(struct gk_nvml *n, const struct gk_settings *snap,
		     struct gk_restore_report *ret)
{
	struct reporter rep = {};

	for (size_t i = 0; i < snap->n_gpus && !rep.oom; i++) {
		const struct gk_gpu_settings *g = &snap->gpus[i];
		unsigned gpu;
		int r = nvml_find_gpu(n, g->pci, &gpu);

		for (enum gk_setting s = 0; s < _GK_SETTING_MAX && !rep.oom; s++) {
			if (r < 0)
				report(&rep, g->pci, s, GK_RESTORE_FAILED, "%s",
				       r == -ENODEV ? "GPU not found by NVML (not bound, or lost)"
						    : nvml_last_error(n));
			else
				restore_one(&rep, n, gpu, g, s);
		}
	}
	if (rep.oom) {
		restore_report_done(&rep.r);
		return -ENOMEM;
	}
	*ret = rep.r;
	return 0;
}

void restore_report_done(struct gk_restore_report *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->items[i].message);
	free(r->items);
	*r = (struct gk_restore_report){};
}

struct json_object *restore_report_to_json(const struct gk_restore_report *r)
{
	struct json_object *a = json_object_new_array();

	for (size_t i = 0; a && i < r->n; i++) {
		const struct gk_restore_item *it = &r->items[i];
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "pci", json_object_new_string(it->pci));
		json_object_object_add(o, "setting",
				       json_object_new_string(setting_to_string(it->setting)));
		json_object_object_add(
			o, "outcome",
			json_object_new_string(restore_outcome_to_string(it->outcome)));
		json_object_object_add(o, "message", json_object_new_string(it->message));
		json_object_array_add(a, o);
	}
	return a;
}

static struct json_object *value_json(enum gk_setting s, const struct gk_setting_value *v)
{
	struct json_object *o;

	if (!v->known)
		return NULL;
	switch (s) {
	case GK_SETTING_PERSISTENCE:
	case GK_SETTING_ACCOUNTING:
		return json_object_new_boolean(v->value != 0);
	case GK_SETTING_COMPUTE_MODE:
		return compute_mode_to_string(v->value)
			       ? json_object_new_string(compute_mode_to_string(v->value))
			       : json_object_new_int64(v->value);
	case GK_SETTING_APP_CLOCKS:
		o = json_object_new_object();
		json_object_object_add(o, "graphics_mhz", json_object_new_int64(v->value));
		json_object_object_add(o, "memory_mhz", json_object_new_int64(v->value2));
		return o;
	default:
		return json_object_new_int64(v->value);
	}
}

static struct json_object *gpu_json(const struct gk_gpu_settings *g)
{
	struct json_object *o = json_object_new_object(), *why = json_object_new_object();

	json_object_object_add(o, "pci", json_object_new_string(g->pci));
	json_object_object_add(o, "uuid", g->uuid ? json_object_new_string(g->uuid) : NULL);
	for (enum gk_setting s = 0; s < _GK_SETTING_MAX; s++) {
		json_object_object_add(o, settings[s].name, value_json(s, &g->values[s]));
		if (!g->values[s].known)
			json_object_object_add(
				why, settings[s].name,
				json_object_new_string(nvml_status_to_string(g->values[s].status)));
	}
	json_object_object_add(o, "unavailable", why);
	return o;
}

struct json_object *settings_to_json(const struct gk_settings *s)
{
	struct json_object *o = json_object_new_object(), *gpus = json_object_new_array();

	if (!o || !gpus) {
		json_object_put(o);
		json_object_put(gpus);
		return NULL;
	}
	json_object_object_add(o, "schema", json_object_new_string(GK_SETTINGS_SCHEMA));
	json_object_object_add(o, "version", json_object_new_int(GK_SETTINGS_VERSION));
	json_object_object_add(o, "driver_version",
			       s->driver_version ? json_object_new_string(s->driver_version)
						 : NULL);
	json_object_object_add(o, "error", s->error ? json_object_new_string(s->error) : NULL);
	for (size_t i = 0; i < s->n_gpus; i++)
		json_object_array_add(gpus, gpu_json(&s->gpus[i]));
	json_object_object_add(o, "gpus", gpus);
	return o;
}

/* Loading: the first problem found is kept and named; nothing half-read is returned. */
static struct json_object *member(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	json_object_object_get_ex(o, key, &v);
	return v;
}

static bool load_uint(struct json_object *v, unsigned *ret)
{
	int64_t x;

	if (!json_object_is_type(v, json_type_int))
		return false;
	x = json_object_get_int64(v);
	if (x < 0 || x > 0xffffffffLL)
		return false;
	*ret = (unsigned)x;
	return true;
}

static bool load_compute_mode(struct json_object *v, unsigned *ret)
{
	for (unsigned m = 0; json_object_is_type(v, json_type_string) && m < NVML_COMPUTEMODE_COUNT;
	     m++)
		if (streq(json_object_get_string(v), compute_mode_to_string(m))) {
			*ret = m;
			return true;
		}
	return load_uint(v, ret);
}

static bool load_value(enum gk_setting s, struct json_object *v, struct gk_setting_value *ret)
{
	switch (s) {
	case GK_SETTING_PERSISTENCE:
	case GK_SETTING_ACCOUNTING:
		ret->value = json_object_get_boolean(v);
		return json_object_is_type(v, json_type_boolean);
	case GK_SETTING_COMPUTE_MODE:
		return load_compute_mode(v, &ret->value);
	case GK_SETTING_APP_CLOCKS:
		return load_uint(member(v, "graphics_mhz"), &ret->value) &&
		       load_uint(member(v, "memory_mhz"), &ret->value2);
	default:
		return load_uint(v, &ret->value);
	}
}

static void load_gpu(struct gk_jcheck *l, struct json_object *o, size_t i,
		     struct gk_gpu_settings *g)
{
	struct json_object *v, *why = member(o, "unavailable");

	if (!json_object_is_type(o, json_type_object)) {
		jcheck_fail(l, "gpus[%zu] is not an object", i);
		return;
	}
	v = member(o, "pci");
	if (!json_object_is_type(v, json_type_string) ||
	    pci_addr_normalize(json_object_get_string(v), g->pci, sizeof(g->pci)) < 0) {
		jcheck_fail(l, "gpus[%zu]: 'pci' is missing or not a PCI address", i);
		return;
	}
	v = member(o, "uuid");
	if (json_object_is_type(v, json_type_string) &&
	    !(g->uuid = strdup(json_object_get_string(v))))
		l->oom = true;
	for (enum gk_setting s = 0; s < _GK_SETTING_MAX; s++) {
		struct gk_setting_value *sv = &g->values[s];
		const char *reason = json_object_get_string(member(why, settings[s].name));

		if (!json_object_object_get_ex(o, settings[s].name, &v)) {
			jcheck_fail(l, "gpus[%zu]: missing field '%s'", i, settings[s].name);
			return;
		}
		sv->known = v != NULL;
		if (v && !load_value(s, v, sv)) {
			jcheck_fail(l, "gpus[%zu]: field '%s' has the wrong type or range", i,
				    settings[s].name);
			return;
		}
		if (!v)
			sv->status =
				streq_ptr(reason, nvml_status_to_string(NVML_ERROR_NOT_SUPPORTED))
					? NVML_ERROR_NOT_SUPPORTED
					: NVML_ERROR_UNKNOWN;
	}
}

static void load_object(struct gk_jcheck *l, struct json_object *o, struct gk_settings *s)
{
	struct json_object *v = member(o, "schema"), *gpus;

	if (!json_object_is_type(v, json_type_string) ||
	    !streq(json_object_get_string(v), GK_SETTINGS_SCHEMA)) {
		jcheck_fail(l, "not a gpukeep settings snapshot (schema is not '%s')",
			    GK_SETTINGS_SCHEMA);
		return;
	}
	v = member(o, "version");
	if (!json_object_is_type(v, json_type_int) ||
	    json_object_get_int(v) != GK_SETTINGS_VERSION) {
		jcheck_fail(l, "settings version is not %d", GK_SETTINGS_VERSION);
		return;
	}
	v = member(o, "driver_version");
	if (json_object_is_type(v, json_type_string) &&
	    !(s->driver_version = strdup(json_object_get_string(v))))
		l->oom = true;
	gpus = member(o, "gpus");
	if (!json_object_is_type(gpus, json_type_array)) {
		jcheck_fail(l, "missing field 'gpus'");
		return;
	}
	s->gpus = calloc(json_object_array_length(gpus) + 1, sizeof(*s->gpus));
	if (!s->gpus) {
		l->oom = true;
		return;
	}
	for (size_t i = 0; i < json_object_array_length(gpus) && !l->error && !l->oom; i++) {
		load_gpu(l, json_object_array_get_idx(gpus, i), i, &s->gpus[i]);
		s->n_gpus++;
	}
}

int settings_from_json(struct json_object *o, struct gk_settings *ret, char **ret_error)
{
	struct gk_settings s = {};
	struct gk_jcheck l = {};
	int r;

	if (!json_object_is_type(o, json_type_object))
		jcheck_fail(&l, "not a JSON object");
	else
		load_object(&l, o, &s);
	r = jcheck_finish(&l, ret_error);
	if (r < 0) {
		settings_done(&s);
		return r;
	}
	*ret = s;
	return 0;
}
