// SPDX-License-Identifier: GPL-2.0-or-later
/* The reset on an NVSwitch node (procedure/fabric.h): the fabric manager keeps running (NVIDIA's
 * individual GPU reset goes through it on Ampere and does not need it from Hopper on), the reset
 * GPUs' fabric is waited for after the restore, then their NVLinks are checked, and only then do
 * the stopped units start. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "baseline/nvml-baseline.h"
#include "core/gk-exit.h"
#include "macro.h"
#include "node/nvswitch.h"
#include "procedure/reset-plan.h"
#include "procedure/reset-steps.h"
#include "string-util.h"

#define NEXT_RUNG "gpukeep reload (it restarts the fabric manager and retrains the fabric)"

void reset_fabric_manager_keep(struct reset_ctx *c)
{
	const struct gk_holder *m = fabric_find_manager(c->holders);
	size_t k = 0;

	c->fabric_manager = m ? m->pid : 0;
	for (size_t i = 0; i < c->holders->n; i++) {
		if (holder_is_fabric_manager(&c->holders->holders[i])) {
			holders_entry_clear(&c->holders->holders[i]);
			continue;
		}
		c->holders->holders[k++] = c->holders->holders[i];
	}
	c->holders->n = k;
}

static unsigned timeout_ms(const struct reset_ctx *c)
{
	return c->o->fabric_timeout_ms ? c->o->fabric_timeout_ms : FABRIC_DEFAULT_TIMEOUT_MS;
}

int reset_fabric_preflight(struct gk_engine *e, char **ret_note)
{
	struct reset_ctx *c = reset_ctx(e);
	bool nvml = c->o->nvml && !c->nvml_absent;
	enum gk_reset_fabric rule =
		reset_fabric_rule(&c->inv, c->rec.targets, c->fabric_manager > 0, nvml);

	c->rec.fabric.nvswitches = c->inv.n_switches > 0;
	c->rec.fabric.wait = rule == GK_RESET_FABRIC_WAIT;
	switch (rule) {
	case GK_RESET_FABRIC_PRE_AMPERE:
		c->res->next_rung = GK_RESET_NEXT_RELOAD;
		return engine_verdict(e, GK_EXIT_PRECONDITION,
				      "GPUs older than Ampere on an NVSwitch node are reset only "
				      "together with every GPU and NVSwitch, the fabric manager "
				      "stopped: next rung: gpukeep reload");
	case GK_RESET_FABRIC_NEEDS_MANAGER:
		c->res->next_rung = GK_RESET_NEXT_RELOAD;
		return engine_verdict(e, GK_EXIT_PRECONDITION,
				      "an Ampere GPU on an NVSwitch node is reset only through the "
				      "fabric manager, and none runs: start it "
				      "(nvidia-fabricmanager), or next rung: gpukeep reload");
	case GK_RESET_FABRIC_NONE:
		*ret_note = strdup("no NVSwitch: no fabric");
		break;
	case GK_RESET_FABRIC_UNCHECKED:
		*ret_note = strdup_printf("fabric manager (pid %d) left running; the NVLink "
					  "fabric is not checked (NVML not available)",
					  (int)c->fabric_manager);
		break;
	case GK_RESET_FABRIC_NO_MANAGER:
		*ret_note = strdup("no fabric manager runs on this NVSwitch node: the fabric is "
				   "not retrained, not waited for");
		break;
	case GK_RESET_FABRIC_WAIT:
		*ret_note = strdup_printf("fabric manager (pid %d) left running: it re-registers "
					  "the GPUs with the fabric",
					  (int)c->fabric_manager);
		break;
	}
	return *ret_note ? 0 : engine_verdict(e, GK_EXIT_FAILED, "out of memory");
}

int reset_step_fabric_wait_check(struct gk_engine *e, char **ret_plan)
{
	struct reset_ctx *c = reset_ctx(e);

	if (!c->rec.fabric.wait)
		*ret_plan =
			strdup(c->rec.fabric.nvswitches
				       ? "fabric-wait: the fabric is not waited for (see the "
					 "preflight)"
				       : "fabric-wait: no NVSwitch: no NVLink fabric to wait for");
	else
		*ret_plan =
			strdup_printf("fabric-wait: wait up to %u s until the reset GPUs' NVLink "
				      "fabric state is completed with success, then check their "
				      "%zu NVLink(s) are up again",
				      timeout_ms(c) / 1000, strv_length(c->rec.nvlinks));
	return 0;
}

/* The targets whose reset ran: the others are named by the validation. NULL on -ENOMEM. */
static char **reset_done(const struct reset_ctx *c)
{
	_cleanup_strv_free_ char **l = calloc(1, sizeof(char *));

	for (size_t i = 0; l && c->rec.targets[i]; i++)
		if (streq(c->rec.phases[i], RESET_PHASE_DONE) &&
		    strv_extend(&l, c->rec.targets[i]) < 0)
			return NULL;
	return TAKE_PTR(l);
}

/* The NVLinks active before that are not now. 0 with *ret_detail, or the exit code. */
static int check_nvlinks(struct gk_engine *e, char *const *gpus, char **ret_note)
{
	struct reset_ctx *c = reset_ctx(e);
	_cleanup_strv_free_ char **now = NULL, **down = calloc(1, sizeof(char *));
	_cleanup_free_ char *list = NULL;
	struct gk_baseline_nvml *links;
	bool absent = false;
	size_t want = 0;

	if (!c->rec.nvlinks) {
		*ret_note = strdup("NVLinks not checked (not known before the reset)");
		return *ret_note ? 0 : engine_verdict(e, GK_EXIT_NEEDS_PERSON, "out of memory");
	}
	links = reset_read_nvlinks(c, &absent);
	if (!links) {
		*ret_note = strdup("NVLinks not checked (NVML could not be read)");
		return *ret_note ? 0 : engine_verdict(e, GK_EXIT_NEEDS_PERSON, "out of memory");
	}
	now = reset_nvlinks_of(links, gpus);
	nvml_baseline_free(links);
	for (char **l = c->rec.nvlinks; now && down && *l; l++) {
		_cleanup_free_ char *gpu = strndup(*l, strcspn(*l, "/"));

		if (!gpu || !strv_contains(gpus, gpu))
			continue;
		want++;
		if (!strv_contains(now, *l) && strv_extend(&down, *l) < 0)
			down = strv_free(down);
	}
	if (!now || !down)
		return engine_verdict(e, GK_EXIT_NEEDS_PERSON, "out of memory");
	if (*down) {
		list = strv_join(down, ", ");
		c->res->next_rung = GK_RESET_NEXT_RELOAD;
		return engine_verdict(e, GK_EXIT_NEEDS_PERSON,
				      "the fabric completed but %zu of %zu NVLink(s) of the reset "
				      "GPU(s) are down (GPU/link): %s; next rung: %s",
				      strv_length(down), want, strna(list), NEXT_RUNG);
	}
	*ret_note = strdup_printf("%zu/%zu NVLink(s) up as before", want, want);
	return *ret_note ? 0 : engine_verdict(e, GK_EXIT_NEEDS_PERSON, "out of memory");
}

int reset_step_fabric_wait(struct gk_engine *e, char **ret_detail)
{
	struct reset_ctx *c = reset_ctx(e);
	_cleanup_strv_free_ char **gpus = NULL;
	_cleanup_free_ char *waited = NULL, *links = NULL;
	struct gk_fabric_wait w;
	int r;

	if (!c->rec.fabric.wait) {
		*ret_detail = strdup(c->rec.fabric.nvswitches
					     ? "the fabric is not waited for (see the preflight)"
					     : "no NVSwitch recorded: no NVLink fabric to wait "
					       "for");
		return 0;
	}
	gpus = reset_done(c);
	if (!gpus)
		return engine_verdict(e, GK_EXIT_NEEDS_PERSON, "out of memory");
	if (!*gpus) {
		*ret_detail = strdup("no GPU was reset: no fabric to wait for");
		return 0;
	}
	w = (struct gk_fabric_wait){.gpus = gpus, .timeout_ms = timeout_ms(c), .next = NEXT_RUNG};
	r = fabric_wait(e, c->o->fabric ? c->o->fabric : &fabric_ops_nvml, c->ops, &w, &waited);
	if (r == 0)
		r = check_nvlinks(e, gpus, &links);
	if (r != 0) {
		c->res->next_rung = GK_RESET_NEXT_RELOAD;
		return fabric_units_left(e, r, c->rec.units);
	}
	*ret_detail = strdup_printf("%s; %s", strna(waited), strna(links));
	return 0;
}

int reset_step_units_check(struct gk_engine *e, char **ret_plan)
{
	(void)e;
	*ret_plan = strdup("start-units: the units stopped start again, once the GPUs and their "
			   "fabric are back");
	return 0;
}

int reset_step_units(struct gk_engine *e, char **ret_detail)
{
	struct reset_ctx *c = reset_ctx(e);
	int r = fabric_units_step(e, reset_start_units, c, strv_length(c->rec.units), ret_detail);

	if (r != 0)
		c->res->next_rung = GK_RESET_NEXT_RELOAD;
	return r;
}
