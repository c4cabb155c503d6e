// SPDX-License-Identifier: GPL-2.0-or-later
/* The GPU table: enumeration (start-up, SIGHUP, "reenumerate"), desired modes, and what each
 * hold wants. GPUs are allocated one by one so that a hold's address, which a worker's job
 * points to, survives re-sorting. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "gpus.h"
#include "log.h"
#include "node/inventory.h"
#include "string-util.h"
#include "time-util.h"

static struct gpu *gpu_free(struct gpu *g)
{
	if (!g)
		return NULL;
	hold_reset(&g->hold);
	free(g->uuid);
	free(g);
	return NULL;
}

void gpus_init(struct gpu_table *t, int rootfd, int statefd, struct gk_pmstate *pm,
	       bool default_mode, bool uvm_mode)
{
	*t = (struct gpu_table){
		.rootfd = rootfd,
		.statefd = statefd,
		.default_mode = default_mode,
		.uvm_mode = uvm_mode,
	};
	if (pm) {
		t->pm = *pm;
		*pm = (struct gk_pmstate){};
	}
	hold_init(&t->ctl, "/dev/nvidiactl");
	hold_init(&t->uvm, "/dev/nvidia-uvm");
}

void gpus_done(struct gpu_table *t)
{
	for (size_t i = 0; i < t->n; i++)
		gpu_free(t->gpus[i]);
	free(t->gpus);
	t->gpus = NULL;
	t->n = 0;
	hold_reset(&t->ctl);
	hold_reset(&t->uvm);
	pmstate_done(&t->pm);
}

static struct gpu *find(struct gpu_table *t, const struct gk_pci_addr *a)
{
	for (size_t i = 0; i < t->n; i++)
		if (pci_addr_equal(&t->gpus[i]->addr, a))
			return t->gpus[i];
	return NULL;
}

static const char *unavailable_reason(const struct gk_gpu *g)
{
	if (!g->pci.driver || !streq(g->pci.driver, "nvidia"))
		return "not bound to the nvidia driver";
	if (!g->has_info)
		return "the driver lists no /proc/driver/nvidia/gpus entry for it";
	if (g->info.excluded == 1)
		return "excluded by the driver";
	return NULL;
}

/* Copies what the inventory says into @g; a new minor means a new device file. */
static int gpu_update(struct gpu *g, const struct gk_gpu *ig)
{
	int minor = ig->has_info ? ig->info.minor : -1;
	char *uuid = NULL;

	if (ig->has_info && ig->info.uuid) {
		uuid = strdup(ig->info.uuid);
		if (!uuid)
			return -ENOMEM;
	}
	free(g->uuid);
	g->uuid = uuid;
	g->unavailable = unavailable_reason(ig);
	if (minor != g->minor || g->unavailable) {
		char path[64];

		hold_reset(&g->hold);
		snprintf(path, sizeof(path), "/dev/nvidia%d", minor);
		hold_init(&g->hold, path);
		g->minor = minor;
	}
	return 0;
}

static struct gpu *gpu_new(struct gpu_table *t, const struct gk_gpu *ig)
{
	struct gpu *g = calloc(1, sizeof(*g));

	if (!g)
		return NULL;
	g->addr = ig->pci.addr;
	snprintf(g->pci, sizeof(g->pci), "%s", ig->pci.name);
	hold_init(&g->hold, "");
	g->minor = -2; /* forces gpu_update() to set up the hold */
	if (pmstate_get(&t->pm, g->pci, &g->persistence) < 0)
		g->persistence = t->default_mode;
	if (gpu_update(g, ig) < 0)
		return gpu_free(g);
	return g;
}

static bool is_old(const struct gpu_table *t, const struct gpu *g)
{
	for (size_t j = 0; j < t->n; j++)
		if (t->gpus[j] == g)
			return true;
	return false;
}

/* Builds the new table @v from @inv, reusing known GPUs (marked in @seen). */
static int merge(struct gpu_table *t, const struct gk_inventory *inv, struct gpu **v, bool *seen,
		 char ***added)
{
	for (size_t i = 0; i < inv->n_gpus; i++) {
		const struct gk_gpu *ig = &inv->gpus[i];
		struct gpu *g = find(t, &ig->pci.addr);

		if (g) {
			for (size_t j = 0; j < t->n; j++)
				seen[j] = seen[j] || t->gpus[j] == g;
			v[i] = g;
			if (gpu_update(g, ig) < 0)
				return -ENOMEM;
			continue;
		}
		v[i] = gpu_new(t, ig);
		if (!v[i])
			return -ENOMEM;
		if (added && strv_extend(added, v[i]->pci) < 0)
			return -ENOMEM;
		log_info("GPU %s: found, minor %d, persistence %s%s%s", v[i]->pci, v[i]->minor,
			 v[i]->persistence ? "on" : "off", v[i]->unavailable ? "; " : "",
			 strempty(v[i]->unavailable));
	}
	return 0;
}

int gpus_enumerate(struct gpu_table *t, char ***ret_added, char ***ret_removed)
{
	_cleanup_strv_free_ char **added = NULL, **removed = NULL;
	_cleanup_free_ bool *seen = NULL;
	struct gk_inventory inv;
	struct gpu **v;
	int r;

	r = inventory_scan(t->rootfd, &inv);
	if (r < 0)
		return r;
	v = calloc(inv.n_gpus + 1, sizeof(*v));
	seen = calloc(t->n + 1, sizeof(*seen));
	r = v && seen ? merge(t, &inv, v, seen, &added) : -ENOMEM;
	if (r < 0) {
		/* The table stays as it was: free only what merge() made. */
		for (size_t i = 0; v && i < inv.n_gpus; i++)
			if (v[i] && !is_old(t, v[i]))
				gpu_free(v[i]);
		free(v);
		inventory_done(&inv);
		return r;
	}
	for (size_t j = 0; j < t->n; j++) {
		if (seen[j])
			continue;
		log_notice("GPU %s: gone from the node; released", t->gpus[j]->pci);
		if (strv_extend(&removed, t->gpus[j]->pci) < 0)
			log_warning("out of memory listing removed GPUs");
		gpu_free(t->gpus[j]);
	}
	free(t->gpus);
	t->gpus = v;
	t->n = inv.n_gpus;
	inventory_done(&inv);
	t->generation++;
	gpus_reconcile(t);
	if (ret_added)
		*ret_added = TAKE_PTR(added);
	if (ret_removed)
		*ret_removed = TAKE_PTR(removed);
	return 0;
}

void gpus_reconcile(struct gpu_table *t)
{
	uint64_t now = now_us();
	bool any = false;

	for (size_t i = 0; i < t->n; i++) {
		struct gpu *g = t->gpus[i];

		g->hold.want = !t->released && !g->released && g->persistence && !g->unavailable;
		any = any || g->hold.want;
	}
	t->ctl.want = any;
	t->uvm.want = any && t->uvm_mode;
	for (size_t i = 0; i < t->n; i++)
		hold_reconcile(&t->gpus[i]->hold, now);
	hold_reconcile(&t->ctl, now);
	hold_reconcile(&t->uvm, now);
}

static int pmstate_copy(const struct gk_pmstate *s, struct gk_pmstate *ret)
{
	struct gk_pmstate c = {.n = s->n};

	c.entries = malloc((s->n + 1) * sizeof(*c.entries));
	if (!c.entries)
		return -ENOMEM;
	if (s->n > 0)
		memcpy(c.entries, s->entries, s->n * sizeof(*c.entries));
	*ret = c;
	return 0;
}

int gpus_set_persistence(struct gpu_table *t, const struct gk_gpusel *sel, bool enabled)
{
	_cleanup_free_ bool *old = calloc(t->n + 1, sizeof(bool));
	struct gk_pmstate saved;
	int matched = 0, r;

	if (!old)
		return -ENOMEM;
	r = pmstate_copy(&t->pm, &saved);
	if (r < 0)
		return r;
	for (size_t i = 0; i < t->n; i++)
		old[i] = t->gpus[i]->persistence;
	for (size_t i = 0; i < t->n && r >= 0; i++) {
		struct gpu *g = t->gpus[i];

		if (!gpusel_match(sel, (unsigned)i, g->minor, &g->addr, g->uuid))
			continue;
		matched++;
		g->persistence = enabled;
		r = pmstate_set(&t->pm, g->pci, enabled);
	}
	if (r >= 0 && matched == 0)
		r = -ENODEV;
	if (r >= 0 && t->statefd >= 0)
		r = pmstate_save(t->statefd, GK_PMSTATE_FILE, &t->pm);
	if (r < 0) {
		/* Nothing changes when the new mode cannot be remembered. */
		for (size_t i = 0; i < t->n; i++)
			t->gpus[i]->persistence = old[i];
		pmstate_done(&t->pm);
		t->pm = saved;
		return r;
	}
	pmstate_done(&saved);
	t->generation++;
	gpus_reconcile(t);
	return matched;
}

int gpus_set_gpu_released(struct gpu_table *t, const struct gk_gpusel *sel, bool released)
{
	int matched = 0;

	for (size_t i = 0; i < t->n; i++) {
		struct gpu *g = t->gpus[i];

		if (!gpusel_match(sel, (unsigned)i, g->minor, &g->addr, g->uuid))
			continue;
		g->released = released;
		matched++;
	}
	if (matched == 0)
		return -ENODEV;
	t->generation++;
	gpus_reconcile(t);
	return matched;
}

void gpus_set_released(struct gpu_table *t, bool released)
{
	t->released = released;
	t->generation++;
	gpus_reconcile(t);
}

void gpus_tick(struct gpu_table *t, uint64_t now)
{
	for (size_t i = 0; i < t->n; i++)
		hold_tick(&t->gpus[i]->hold, now);
	hold_tick(&t->ctl, now);
	hold_tick(&t->uvm, now);
}

uint64_t gpus_next_deadline(const struct gpu_table *t)
{
	uint64_t next = hold_next_deadline(&t->ctl);
	uint64_t u = hold_next_deadline(&t->uvm);

	if (u < next)
		next = u;
	for (size_t i = 0; i < t->n; i++) {
		u = hold_next_deadline(&t->gpus[i]->hold);
		if (u < next)
			next = u;
	}
	return next;
}

bool gpus_settling(const struct gpu_table *t)
{
	if (t->ctl.state == HOLD_OPENING || t->uvm.state == HOLD_OPENING)
		return true;
	for (size_t i = 0; i < t->n; i++)
		if (t->gpus[i]->hold.state == HOLD_OPENING)
			return true;
	return false;
}

size_t gpus_count(const struct gpu_table *t, enum hold_state s)
{
	size_t n = 0;

	for (size_t i = 0; i < t->n; i++)
		n += t->gpus[i]->hold.state == s;
	return n;
}

size_t gpus_pending(const struct gpu_table *t)
{
	size_t n = gpus_count(t, HOLD_OPENING) + gpus_count(t, HOLD_STUCK);

	n += t->ctl.state == HOLD_OPENING || t->ctl.state == HOLD_STUCK;
	n += t->uvm.state == HOLD_OPENING || t->uvm.state == HOLD_STUCK;
	return n;
}
