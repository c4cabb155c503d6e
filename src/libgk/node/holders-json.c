// SPDX-License-Identifier: GPL-2.0-or-later
/* Holders to JSON, in the scan's order (holders by pid, devices by path): the output is stable. */
#include <stdbool.h>

#include "node/holders-json.h"
#include "node/nvswitch.h"

static struct json_object *str_or_null(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

/*
 * Adds @v under the string literal @key; false when @v could not be made (out of memory) or added.
 * Keys are new and constant, so json-c neither looks them up nor copies them: a scan with
 * thousands of holders builds tens of thousands of objects.
 */
static bool add(struct json_object *o, const char *key, struct json_object *v, bool may_be_null)
{
	if (!v && !may_be_null)
		return false;
	if (json_object_object_add_ex(
		    o, key, v, JSON_C_OBJECT_ADD_KEY_IS_NEW | JSON_C_OBJECT_ADD_CONSTANT_KEY) < 0) {
		json_object_put(v);
		return false;
	}
	return true;
}

static struct json_object *device_to_json(const struct gk_held_device *d)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	if (!add(o, "path", json_object_new_string(d->path), false) ||
	    !add(o, "fd", json_object_new_boolean(!!(d->how & GK_HELD_FD)), false) ||
	    !add(o, "mmap", json_object_new_boolean(!!(d->how & GK_HELD_MMAP)), false)) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static struct json_object *container_to_json(const struct gk_holder *h)
{
	struct json_object *o;

	if (!h->container_id)
		return NULL;
	o = json_object_new_object();
	if (!o)
		return NULL;
	if (!add(o, "runtime", json_object_new_string(h->container_runtime), false) ||
	    !add(o, "id", json_object_new_string(h->container_id), false)) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static struct json_object *devices_to_json(const struct gk_holder *h)
{
	struct json_object *a = json_object_new_array();

	for (size_t i = 0; a && i < h->n_devices; i++) {
		struct json_object *d = device_to_json(&h->devices[i]);

		if (!d || json_object_array_add(a, d) < 0) {
			json_object_put(d);
			json_object_put(a);
			return NULL;
		}
	}
	return a;
}

static struct json_object *holder_to_json(const struct gk_holder *h)
{
	struct json_object *o = json_object_new_object();
	char state[2] = {h->state, '\0'};
	bool ok;

	if (!o)
		return NULL;
	ok = add(o, "pid", json_object_new_int(h->pid), false) &&
	     add(o, "comm", json_object_new_string(h->comm), false) &&
	     add(o, "cmdline", json_object_new_string(h->cmdline), false) &&
	     add(o, "uid", json_object_new_int64(h->uid), false) &&
	     add(o, "user", str_or_null(h->user), !h->user) &&
	     add(o, "state", json_object_new_string(state), false) &&
	     add(o, "unkillable", json_object_new_boolean(h->unkillable), false) &&
	     add(o, "cgroup", str_or_null(h->cgroup), !h->cgroup) &&
	     add(o, "unit", str_or_null(h->unit), !h->unit) &&
	     add(o, "container", container_to_json(h), !h->container_id) &&
	     add(o, "fabric_manager", json_object_new_boolean(holder_is_fabric_manager(h)),
		 false) &&
	     add(o, "devices", devices_to_json(h), false);
	if (!ok) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

struct json_object *holders_to_json(const struct gk_holders *h)
{
	struct json_object *o = json_object_new_object(), *a = json_object_new_array();
	bool ok = o && a;

	for (size_t i = 0; ok && i < h->n; i++) {
		struct json_object *x = holder_to_json(&h->holders[i]);

		ok = x && json_object_array_add(a, x) == 0;
		if (!ok)
			json_object_put(x);
	}
	if (ok)
		ok = add(o, "schema", json_object_new_string(GK_HOLDERS_SCHEMA), false) &&
		     add(o, "version", json_object_new_int(GK_HOLDERS_VERSION), false) &&
		     add(o, "holders", json_object_get(a), false) &&
		     add(o, "inaccessible", json_object_new_int64(h->inaccessible), false);
	json_object_put(a);
	if (!ok) {
		json_object_put(o);
		return NULL;
	}
	return o;
}
