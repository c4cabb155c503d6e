// SPDX-License-Identifier: GPL-2.0-or-later
/* Baseline comparison. Each difference names its object and both values, because the person
 * reading it decides between a GPU reset, another reload and a reboot from that line alone. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "baseline/nvml-baseline.h"
#include "baseline/validate.h"
#include "macro.h"
#include "string-util.h"

struct collector {
	struct gk_differences d;
	bool oom;
};

static void add(struct collector *c, enum gk_diff_kind kind, const char *object, const char *fmt,
		...) _printf_(4, 5);
static void add(struct collector *c, enum gk_diff_kind kind, const char *object, const char *fmt,
		...)
{
	struct gk_difference *n;
	va_list ap;
	char *msg;

	if (c->oom)
		return;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	n = msg ? realloc(c->d.items, sizeof(*n) * (c->d.n + 1)) : NULL;
	if (!n) {
		free(msg);
		c->oom = true;
		return;
	}
	c->d.items = n;
	n[c->d.n] = (struct gk_difference){.kind = kind, .object = strdup(object), .message = msg};
	if (!n[c->d.n].object) {
		free(msg);
		c->oom = true;
		return;
	}
	c->d.n++;
}

static const struct gk_baseline_gpu *find_gpu(const struct gk_baseline *b, const char *pci)
{
	for (size_t i = 0; i < b->n_gpus; i++)
		if (streq(b->gpus[i].pci, pci))
			return &b->gpus[i];
	return NULL;
}

static size_t bound_count(const struct gk_baseline *b)
{
	size_t n = 0;

	for (size_t i = 0; i < b->n_gpus; i++)
		n += b->gpus[i].bound;
	return n;
}

static void compare_link(struct collector *c, const struct gk_baseline_gpu *want,
			 const struct gk_baseline_gpu *got)
{
	if ((want->cur_width > 0 || want->max_width > 0) && got->cur_width < 0 &&
	    got->max_width < 0) {
		add(c, GK_DIFF_LINK, want->pci, "PCIe link attributes unreadable, baseline x%d",
		    want->cur_width);
		return;
	}
	if (want->cur_width > 0 && got->cur_width < 0)
		add(c, GK_DIFF_LINK, want->pci, "current PCIe link width unreadable, baseline x%d",
		    want->cur_width);
	else if (want->cur_width > 0 && got->cur_width < want->cur_width)
		add(c, GK_DIFF_LINK, want->pci, "PCIe link is x%d, baseline x%d", got->cur_width,
		    want->cur_width);
	if (want->max_width > 0 && got->max_width > 0 && got->max_width != want->max_width)
		add(c, GK_DIFF_LINK, want->pci, "PCIe maximum link width is x%d, baseline x%d",
		    got->max_width, want->max_width);
	if (want->max_gts > 0 && got->max_gts > 0 && got->max_gts != want->max_gts)
		add(c, GK_DIFF_LINK, want->pci,
		    "PCIe maximum link speed is %.1f GT/s, baseline %.1f GT/s", got->max_gts,
		    want->max_gts);
}

static void compare_gpu(struct collector *c, const struct gk_baseline_gpu *want,
			const struct gk_baseline_gpu *got, bool driver_loaded)
{
	if (!got) {
		add(c, GK_DIFF_GPU_MISSING, want->pci,
		    "GPU missing from the PCI bus (fallen off the bus?); the node "
		    "needs a reboot");
		return;
	}
	if (want->bound && !got->bound) {
		add(c, GK_DIFF_GPU_UNBOUND, want->pci,
		    driver_loaded ? "GPU not bound to nvidia (the probe failed); try "
				    "a GPU reset, then a reboot"
				  : "GPU not bound: the nvidia driver is not loaded");
		return;
	}
	if (want->uuid && !streq_ptr(want->uuid, got->uuid))
		add(c, GK_DIFF_UUID, want->pci, "UUID is %s, baseline %s", strna(got->uuid),
		    want->uuid);
	if (want->minor >= 0 && got->minor >= 0 && want->minor != got->minor)
		add(c, GK_DIFF_MINOR, want->pci, "device minor is %d, baseline %d", got->minor,
		    want->minor);
	compare_link(c, want, got);
}

static void compare_sets(struct collector *c, enum gk_diff_kind kind, char *const *want,
			 char *const *got, const char *missing, const char *extra)
{
	for (char *const *w = want; w && *w; w++)
		if (!strv_contains(got, *w))
			add(c, kind, *w, "%s", missing);
	for (char *const *g = got; extra && g && *g; g++)
		if (!strv_contains(want, *g))
			add(c, kind, *g, "%s", extra);
}

int validate_compare(const struct gk_baseline *expected, const struct gk_baseline *now,
		     struct gk_differences *ret)
{
	struct collector c = {};

	if (bound_count(now) != bound_count(expected))
		add(&c, GK_DIFF_GPU_COUNT, "gpus", "%zu GPU(s) bound to nvidia, baseline %zu",
		    bound_count(now), bound_count(expected));
	for (size_t i = 0; i < expected->n_gpus; i++)
		compare_gpu(&c, &expected->gpus[i], find_gpu(now, expected->gpus[i].pci),
			    strv_contains(now->modules, "nvidia"));
	for (size_t i = 0; i < now->n_gpus; i++)
		if (!find_gpu(expected, now->gpus[i].pci))
			add(&c, GK_DIFF_GPU_EXTRA, now->gpus[i].pci, "GPU not in the baseline");
	compare_sets(&c, GK_DIFF_NVSWITCH, expected->nvswitches, now->nvswitches,
		     "NVSwitch missing from the PCI bus", "NVSwitch not in the baseline");
	compare_sets(&c, GK_DIFF_MODULE, expected->modules, now->modules, "module not loaded",
		     NULL);
	compare_sets(&c, GK_DIFF_NODE, expected->device_nodes, now->device_nodes,
		     "device node missing or wrong (see 'gpukeep inventory')", NULL);
	if (expected->driver_version && !streq_ptr(expected->driver_version, now->driver_version))
		add(&c, GK_DIFF_DRIVER, "driver", "version is %s, baseline %s",
		    strna(now->driver_version), expected->driver_version);
	if (!c.oom && nvml_baseline_compare(expected->nvml, now->nvml, &c.d) < 0)
		c.oom = true;
	if (c.oom) {
		differences_done(&c.d);
		return -ENOMEM;
	}
	*ret = c.d;
	return 0;
}

void differences_done(struct gk_differences *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->items[i].object);
		free(d->items[i].message);
	}
	free(d->items);
	*d = (struct gk_differences){};
}

void differences_headline(const struct gk_differences *d, char *buf, size_t size)
{
	const struct gk_difference *first = d->n > 0 ? &d->items[0] : NULL;

	if (size == 0)
		return;
	buf[0] = '\0';
	for (size_t i = 0; i < d->n && first && first->kind == GK_DIFF_GPU_COUNT; i++)
		if (d->items[i].kind != GK_DIFF_GPU_COUNT)
			first = &d->items[i];
	if (!first)
		return;
	if (d->n > 1)
		snprintf(buf, size, "%s: %s; %zu more", first->object, first->message, d->n - 1);
	else
		snprintf(buf, size, "%s: %s", first->object, first->message);
}

struct json_object *differences_to_json(const struct gk_differences *d)
{
	struct json_object *a = json_object_new_array();

	for (size_t i = 0; a && i < d->n; i++) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "object", json_object_new_string(d->items[i].object));
		json_object_object_add(o, "message", json_object_new_string(d->items[i].message));
		json_object_array_add(a, o);
	}
	return a;
}
