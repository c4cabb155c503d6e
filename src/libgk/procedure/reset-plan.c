// SPDX-License-Identifier: GPL-2.0-or-later
/* Reset decisions. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "procedure/reset-plan.h"
#include "string-util.h"

int reset_select(const struct gk_inventory *inv, const struct gk_gpusel *sels, size_t n,
		 char ***ret, size_t *ret_unmatched)
{
	_cleanup_free_ bool *chosen = calloc(inv->n_gpus + 1, sizeof(bool));
	_cleanup_strv_free_ char **l = calloc(1, sizeof(char *));

	if (!chosen || !l)
		return -ENOMEM;
	for (size_t k = 0; k < n; k++) {
		bool any = false;

		for (size_t i = 0; i < inv->n_gpus; i++) {
			const struct gk_gpu *g = &inv->gpus[i];

			if (gpusel_match(&sels[k], (unsigned)i, g->has_info ? g->info.minor : -1,
					 &g->pci.addr, g->has_info ? g->info.uuid : NULL))
				chosen[i] = any = true;
		}
		if (!any) {
			*ret_unmatched = k;
			return -ENODEV;
		}
	}
	for (size_t i = 0; i < inv->n_gpus; i++)
		if ((n == 0 || chosen[i]) && strv_extend(&l, inv->gpus[i].pci.name) < 0)
			return -ENOMEM;
	*ret = TAKE_PTR(l);
	return 0;
}

static const struct gk_gpu *find_gpu(const struct gk_inventory *inv, const char *pci)
{
	for (size_t i = 0; i < inv->n_gpus; i++)
		if (streq(inv->gpus[i].pci.name, pci))
			return &inv->gpus[i];
	return NULL;
}

static bool pre_hopper(const struct gk_inventory *inv, const char *pci)
{
	const struct gk_gpu *g = find_gpu(inv, pci);

	return g && g->pci.device < GK_RESET_HOPPER_DEVICE;
}

int reset_nvlink_group(const struct gk_inventory *inv, const struct gk_baseline_nvml *links,
		       char ***targets)
{
	_cleanup_strv_free_ char **group = NULL;
	bool old = false, grew = true;
	size_t before = strv_length(*targets);

	if (!links)
		return 0;
	group = calloc(1, sizeof(char *));
	for (char **t = *targets; group && *t; t++)
		if (strv_extend(&group, *t) < 0)
			return -ENOMEM;
	if (!group)
		return -ENOMEM;
	/* the connected component of the targets over GPU-to-GPU links */
	while (grew) {
		grew = false;
		for (size_t i = 0; i < links->n_links; i++) {
			const struct gk_baseline_nvlink *l = &links->links[i];
			bool a = strv_contains(group, l->gpu), b = strv_contains(group, l->remote);

			if (a == b || !find_gpu(inv, a ? l->remote : l->gpu))
				continue;
			if (strv_extend(&group, a ? l->remote : l->gpu) < 0)
				return -ENOMEM;
			grew = true;
		}
	}
	for (char **g = group; *g; g++)
		old |= pre_hopper(inv, *g);
	if (!old || strv_length(group) == before)
		return 0;
	/* in PCI order, as reset_select() gives them */
	for (size_t i = 0; i < inv->n_gpus; i++) {
		const char *pci = inv->gpus[i].pci.name;

		if (strv_contains(group, pci) && !strv_contains(*targets, pci) &&
		    strv_extend(targets, pci) < 0)
			return -ENOMEM;
	}
	return (int)(strv_length(*targets) - before);
}

enum gk_reset_fabric reset_fabric_rule(const struct gk_inventory *inv, char *const *targets,
				       bool manager, bool nvml)
{
	bool ampere = false;

	if (inv->n_switches == 0)
		return GK_RESET_FABRIC_NONE;
	for (char *const *t = targets; t && *t; t++) {
		const struct gk_gpu *g = find_gpu(inv, *t);

		if (!g)
			continue;
		if (g->pci.device < GK_RESET_AMPERE_DEVICE)
			return GK_RESET_FABRIC_PRE_AMPERE;
		ampere |= g->pci.device < GK_RESET_HOPPER_DEVICE;
	}
	if (!manager)
		return ampere ? GK_RESET_FABRIC_NEEDS_MANAGER : GK_RESET_FABRIC_NO_MANAGER;
	return nvml ? GK_RESET_FABRIC_WAIT : GK_RESET_FABRIC_UNCHECKED;
}

char **reset_nvlinks_of(const struct gk_baseline_nvml *links, char *const *targets)
{
	_cleanup_strv_free_ char **l = calloc(1, sizeof(char *));

	for (size_t i = 0; l && links && i < links->n_links; i++) {
		_cleanup_free_ char *s = NULL;

		if (!strv_contains(targets, links->links[i].gpu))
			continue;
		s = strdup_printf("%s/%u", links->links[i].gpu, links->links[i].link);
		if (!s || strv_extend(&l, s) < 0)
			return NULL;
	}
	return TAKE_PTR(l);
}

char *reset_gpu_node(const struct gk_inventory *inv, const char *pci)
{
	const struct gk_gpu *g = find_gpu(inv, pci);

	if (!g || !g->has_info)
		return NULL;
	return strdup_printf("/dev/nvidia%d", g->info.minor);
}

static bool holds_one_of(const struct gk_holder *h, char *const *nodes)
{
	for (size_t i = 0; i < h->n_devices; i++)
		if (strv_contains(nodes, h->devices[i].path))
			return true;
	return false;
}

void reset_filter_holders(struct gk_holders *h, char *const *nodes)
{
	size_t k = 0;

	for (size_t i = 0; i < h->n; i++) {
		if (!holds_one_of(&h->holders[i], nodes)) {
			holders_entry_clear(&h->holders[i]);
			continue;
		}
		h->holders[k++] = h->holders[i];
	}
	h->n = k;
}

static void keep_strv(char **l, char *const *keep)
{
	size_t k = 0;

	for (size_t i = 0; l && l[i]; i++) {
		if (strv_contains(keep, l[i]))
			l[k++] = l[i];
		else
			free(l[i]);
	}
	if (l)
		l[k] = NULL;
}

void reset_baseline_keep(struct gk_baseline *b, char *const *targets, char *const *nodes)
{
	size_t k = 0;

	for (size_t i = 0; i < b->n_gpus; i++) {
		if (!strv_contains(targets, b->gpus[i].pci)) {
			free(b->gpus[i].uuid);
			free(b->gpus[i].model);
			continue;
		}
		b->gpus[k++] = b->gpus[i];
	}
	b->n_gpus = k;
	keep_strv(b->device_nodes, nodes);
	keep_strv(b->modules, NULL);
	keep_strv(b->nvswitches, NULL);
	b->nvml = nvml_baseline_free(b->nvml);
}
