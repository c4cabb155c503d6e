// SPDX-License-Identifier: GPL-2.0-or-later
/* Inventory to JSON. Unknown values are null, never 0 or "", so a consumer can tell them apart. */
#include <stdio.h>

#include "core/json-util.h"
#include "macro.h"
#include "node/inventory-json.h"
#include "node/nvswitch.h"

static struct json_object *hex_id(unsigned v, int digits)
{
	char buf[16];

	snprintf(buf, sizeof(buf), "0x%0*x", digits, v);
	return json_object_new_string(buf);
}

static struct json_object *link_to_json(const struct gk_pcilink *l)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "current_speed", json_string_or_null(l->cur_speed));
	json_object_object_add(o, "current_width", json_int_or_null(l->cur_width));
	json_object_object_add(o, "max_speed", json_string_or_null(l->max_speed));
	json_object_object_add(o, "max_width", json_int_or_null(l->max_width));
	json_object_object_add(o, "current_gts",
			       l->cur_speed ? json_object_new_double(l->cur_gts) : NULL);
	json_object_object_add(o, "max_gts",
			       l->max_speed ? json_object_new_double(l->max_gts) : NULL);
	return o;
}

static struct json_object *pcidev_to_json(const struct gk_pcidev *d)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "pci", json_object_new_string(d->name));
	json_object_object_add(o, "vendor_id", hex_id(d->vendor, 4));
	json_object_object_add(o, "device_id", hex_id(d->device, 4));
	json_object_object_add(o, "class", hex_id(d->class, 6));
	json_object_object_add(o, "subsystem_vendor_id", hex_id(d->subsys_vendor, 4));
	json_object_object_add(o, "subsystem_device_id", hex_id(d->subsys_device, 4));
	json_object_object_add(o, "driver", json_string_or_null(d->driver));
	json_object_object_add(o, "bound",
			       json_object_new_boolean(d->kind == GK_PCI_NVSWITCH
							       ? nvswitch_bound(d)
							       : streq_ptr(d->driver, "nvidia")));
	json_object_object_add(o, "numa_node", json_int_or_null(d->numa_node));
	json_object_object_add(o, "link", link_to_json(&d->link));
	return o;
}

static struct json_object *gpu_to_json(const struct gk_gpu *g, size_t index)
{
	struct json_object *o = pcidev_to_json(&g->pci);
	const struct gk_nvinfo *i = g->has_info ? &g->info : NULL;

	json_object_object_add(o, "index", json_object_new_int((int)index));
	json_object_object_add(o, "model", json_string_or_null(i ? i->model : NULL));
	json_object_object_add(o, "uuid", json_string_or_null(i ? i->uuid : NULL));
	json_object_object_add(o, "minor", json_int_or_null(i ? i->minor : -1));
	json_object_object_add(o, "excluded",
			       i && i->excluded >= 0 ? json_object_new_boolean(i->excluded) : NULL);
	json_object_object_add(o, "vbios", json_string_or_null(i ? i->vbios : NULL));
	json_object_object_add(o, "firmware", json_string_or_null(i ? i->firmware : NULL));
	return o;
}

static struct json_object *modules_to_json(const struct gk_inventory *inv)
{
	struct json_object *a = json_object_new_array();

	for (char **n = inv->nvidia_modules; a && n && *n; n++) {
		const struct gk_module *m = modlist_find(&inv->modules, *n);
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "name", json_object_new_string(m->name));
		json_object_object_add(o, "state", json_object_new_string(m->state));
		json_object_object_add(o, "refcnt", json_int_or_null(m->refcnt));
		json_object_object_add(o, "size", json_object_new_int64((int64_t)m->size));
		json_object_object_add(o, "holders", json_strv_new(m->holders));
		json_object_object_add(o, "taint", json_string_or_null(m->taint));
		json_object_array_add(a, o);
	}
	return a;
}

static struct json_object *nodes_to_json(const struct gk_devnode_list *l)
{
	struct json_object *a = json_object_new_array();

	for (size_t i = 0; a && i < l->n; i++) {
		const struct gk_devnode *n = &l->nodes[i];
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "path", json_object_new_string(n->path));
		json_object_object_add(o, "major", json_object_new_int((int)n->major));
		json_object_object_add(o, "minor", json_object_new_int((int)n->minor));
		json_object_object_add(o, "status",
				       json_object_new_string(devnode_status_to_string(n->status)));
		json_object_array_add(a, o);
	}
	return a;
}

struct json_object *inventory_to_json(const struct gk_inventory *inv)
{
	struct json_object *o = json_object_new_object();
	struct json_object *driver = json_object_new_object();
	struct json_object *gpus = json_object_new_array();
	struct json_object *sw = json_object_new_array();
	struct json_object *problems = json_object_new_array();

	if (!o || !driver || !gpus || !sw || !problems) {
		json_object_put(o);
		json_object_put(driver);
		json_object_put(gpus);
		json_object_put(sw);
		json_object_put(problems);
		return NULL;
	}
	json_object_object_add(o, "schema", json_object_new_string(GK_INVENTORY_SCHEMA));
	json_object_object_add(o, "version", json_object_new_int(GK_INVENTORY_VERSION));
	json_object_object_add(driver, "loaded", json_object_new_boolean(inv->driver_loaded));
	json_object_object_add(driver, "version", json_string_or_null(inv->driver_version));
	json_object_object_add(driver, "modules_known",
			       json_object_new_boolean(inv->modules_known));
	json_object_object_add(o, "driver", driver);
	for (size_t i = 0; i < inv->n_gpus; i++)
		json_object_array_add(gpus, gpu_to_json(&inv->gpus[i], i));
	json_object_object_add(o, "gpus", gpus);
	for (size_t i = 0; i < inv->n_switches; i++)
		json_object_array_add(sw, pcidev_to_json(&inv->switches[i]));
	json_object_object_add(o, "nvswitches", sw);
	json_object_object_add(o, "modules", modules_to_json(inv));
	json_object_object_add(o, "device_nodes", nodes_to_json(&inv->nodes));
	for (size_t i = 0; i < inv->n_problems; i++) {
		struct json_object *p = json_object_new_object();

		json_object_object_add(p, "object",
				       json_object_new_string(inv->problems[i].object));
		json_object_object_add(p, "message",
				       json_object_new_string(inv->problems[i].message));
		json_object_array_add(problems, p);
	}
	json_object_object_add(o, "problems", problems);
	return o;
}
