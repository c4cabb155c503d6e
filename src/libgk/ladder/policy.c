// SPDX-License-Identifier: GPL-2.0-or-later
/* The ladder's policy: which rung a burst of faults asks for, and what follows a rung. Pure:
 * every input (time included) is an argument, so the unit tests drive it line by line. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ladder/policy.h"
#include "macro.h"

void policy_init(struct gk_policy *p, const struct gk_watch_config *cfg,
		 const struct gk_catalog *cat)
{
	*p = (struct gk_policy){.cfg = cfg, .cat = cat, .deadline_us = UINT64_MAX};
}

enum gk_action policy_classify(const struct gk_policy *p, unsigned code, int subcode,
			       char bucket[GK_BUCKET_LEN], bool *ret_overridden)
{
	const char *site = watch_config_override(p->cfg, code, subcode);
	const struct gk_xid_entry *e;

	*ret_overridden = site != NULL;
	if (site) {
		snprintf(bucket, GK_BUCKET_LEN, "%s", site);
		return bucket_to_action(site);
	}
	e = catalog_lookup(p->cat, code);
	if (!e) {
		bucket[0] = 0;
		return GK_ACTION_UNKNOWN;
	}
	snprintf(bucket, GK_BUCKET_LEN, "%s", e->bucket);
	return bucket_to_action(e->bucket);
}

int policy_add(struct gk_policy *p, const struct gk_nv_event *e, uint64_t now_us)
{
	struct gk_fault *f;

	if (e->kind != GK_NV_XID && e->kind != GK_NV_FALLEN_OFF)
		return -EINVAL;
	if (p->n_burst == 0)
		p->deadline_us = now_us + (uint64_t)p->cfg->debounce_ms * 1000;
	for (size_t i = 0; i < p->n_burst; i++) {
		f = &p->burst[i];
		if (f->code == e->code && f->subcode == e->subcode && streq(f->gpu, e->pci)) {
			f->lines++;
			f->last_us = now_us;
			return 0;
		}
	}
	/* a burst with more distinct faults than we keep: the rest count on the last one */
	if (p->n_burst == GK_POLICY_MAX_FAULTS) {
		p->burst[p->n_burst - 1].lines++;
		return 0;
	}
	f = &p->burst[p->n_burst++];
	*f = (struct gk_fault){.code = e->code,
			       .subcode = e->subcode,
			       .first_us = now_us,
			       .last_us = now_us,
			       .lines = 1};
	memcpy(f->gpu, e->pci, sizeof(f->gpu));
	f->action = policy_classify(p, e->code, e->subcode, f->bucket, &f->overridden);
	return 1;
}

uint64_t policy_deadline(const struct gk_policy *p)
{
	return p->n_burst ? p->deadline_us : UINT64_MAX;
}

static enum gk_ladder_rung action_rung(enum gk_action a)
{
	switch (a) {
	case GK_ACTION_RESET:
		return GK_LADDER_RESET;
	case GK_ACTION_RELOAD:
		return GK_LADDER_RELOAD;
	case GK_ACTION_REBOOT:
		return GK_LADDER_REBOOT;
	default:
		return GK_LADDER_NONE;
	}
}

static bool is_pattern_bucket(const struct gk_watch_config *c, const char *bucket)
{
	for (size_t i = 0; i < c->n_pattern_buckets; i++)
		if (streq(c->pattern_buckets[i], bucket))
			return true;
	return false;
}

static void describe(struct gk_policy *p, struct gk_fault *f)
{
	const struct gk_xid_entry *e = catalog_lookup(p->cat, f->code);
	const char *mn = e && e->mnemonic[0] ? e->mnemonic : NULL;
	char sub[16] = "";

	if (f->subcode >= 0)
		snprintf(sub, sizeof(sub), ".%d", f->subcode);
	if (f->action == GK_ACTION_UNKNOWN && !f->bucket[0]) {
		snprintf(f->why, sizeof(f->why),
			 "Xid %u%s on %s is not in the catalog: reported, not acted on", f->code,
			 sub, f->gpu);
		return;
	}
	snprintf(f->why, sizeof(f->why), "Xid %u%s%s%s%s on %s: %s bucket %s (%s)", f->code, sub,
		 mn ? " (" : "", mn ? mn : "", mn ? ")" : "", f->gpu,
		 f->overridden ? "site" : "catalog", f->bucket, action_to_string(f->action));
}

/* The last action a fault on @gpu with @code would escalate from, or NULL. */
static const struct gk_policy_action *last_action(const struct gk_policy *p, const char *gpu,
						  unsigned code, uint64_t at_us)
{
	const struct gk_policy_action *best = NULL;
	uint64_t window = (uint64_t)p->cfg->escalate_window_s * 1000000;

	for (size_t i = 0; i < p->n_history; i++) {
		const struct gk_policy_action *h = &p->history[i];

		if (h->code != code || (h->gpu[0] && !streq(h->gpu, gpu)) || !h->ok)
			continue;
		if (h->at_us > at_us || at_us - h->at_us > window)
			continue;
		if (!best || h->at_us >= best->at_us)
			best = h;
	}
	return best;
}

static void escalate(struct gk_policy *p, struct gk_fault *f)
{
	const struct gk_policy_action *h = last_action(p, f->gpu, f->code, f->first_us);
	enum gk_ladder_rung up;
	size_t len;

	if (!h || f->rung == GK_LADDER_NONE || h->rung < f->rung)
		return;
	up = h->rung >= GK_LADDER_REBOOT ? GK_LADDER_REBOOT : h->rung + 1;
	len = strlen(f->why);
	snprintf(f->why + len, sizeof(f->why) - len,
		 "; again %llu s after a successful %s: climbs to %s",
		 (unsigned long long)((f->first_us - h->at_us) / 1000000),
		 ladder_rung_to_string(h->rung), ladder_rung_to_string(up));
	f->rung = up;
}

/* Time of the last node-wide action: a pattern counts only the faults after it. */
static uint64_t last_node_action(const struct gk_policy *p)
{
	uint64_t t = 0;

	for (size_t i = 0; i < p->n_history; i++)
		if (!p->history[i].gpu[0] && p->history[i].at_us >= t)
			t = p->history[i].at_us + 1;
	return t;
}

static void remember(struct gk_policy *p, const struct gk_fault *f)
{
	struct gk_policy_recent *r = &p->recent[p->recent_next];

	*r = (struct gk_policy_recent){.code = f->code,
				       .at_us = f->first_us,
				       .pattern = is_pattern_bucket(p->cfg, f->bucket),
				       .reset = f->rung == GK_LADDER_RESET};
	memcpy(r->gpu, f->gpu, sizeof(r->gpu));
	p->recent_next = (p->recent_next + 1) % GK_POLICY_MAX_RECENT;
	if (p->n_recent < GK_POLICY_MAX_RECENT)
		p->n_recent++;
}

/* Distinct GPUs among the recent faults after @since that match (@code, or any code when
 * @resets: those that asked for a reset). */
static unsigned count_gpus(const struct gk_policy *p, uint64_t since, bool resets, unsigned code)
{
	const char *seen[GK_POLICY_MAX_RECENT];
	unsigned n = 0;

	for (size_t i = 0; i < p->n_recent; i++) {
		const struct gk_policy_recent *r = &p->recent[i];
		bool dup = false;

		if (r->at_us < since || (resets ? !r->reset : (!r->pattern || r->code != code)))
			continue;
		for (unsigned k = 0; k < n && !dup; k++)
			dup = streq(seen[k], r->gpu);
		if (!dup)
			seen[n++] = r->gpu;
	}
	return n;
}

static void patterns(struct gk_policy *p, struct gk_fault *f, uint64_t now_us)
{
	uint64_t w = (uint64_t)p->cfg->pattern_window_s * 1000000;
	uint64_t since = now_us > w ? now_us - w : 0, node = last_node_action(p);
	unsigned n;

	if (node > since)
		since = node;
	if (f->rung >= GK_LADDER_RELOAD)
		return;
	if (is_pattern_bucket(p->cfg, f->bucket)) {
		n = count_gpus(p, since, false, f->code);
		if (n >= p->cfg->pattern_min_gpus) {
			snprintf(f->why, sizeof(f->why),
				 "Xid %u on %u GPUs within %u s: the driver, not one GPU (pattern "
				 "threshold %u): reload",
				 f->code, n, p->cfg->pattern_window_s, p->cfg->pattern_min_gpus);
			f->rung = GK_LADDER_RELOAD;
			return;
		}
	}
	if (f->rung == GK_LADDER_RESET) {
		n = count_gpus(p, since, true, 0);
		if (n >= p->cfg->reset_pattern_gpus) {
			snprintf(f->why, sizeof(f->why),
				 "resets needed on %u GPUs within %u s (threshold %u): the driver, "
				 "reload",
				 n, p->cfg->pattern_window_s, p->cfg->reset_pattern_gpus);
			f->rung = GK_LADDER_RELOAD;
		}
	}
}

static void add_gpu(struct gk_decision *d, const char *gpu)
{
	for (size_t i = 0; i < d->n_gpus; i++)
		if (streq(d->gpus[i], gpu))
			return;
	memcpy(d->gpus[d->n_gpus++], gpu, GK_NV_PCI_LEN);
}

int policy_decide(struct gk_policy *p, uint64_t now_us, struct gk_decision *ret)
{
	struct gk_decision d = {};
	const struct gk_fault *top = NULL;

	if (!p->n_burst || (now_us != UINT64_MAX && now_us < p->deadline_us))
		return 0;
	if (now_us == UINT64_MAX)
		now_us = p->burst[p->n_burst - 1].last_us;
	for (size_t i = 0; i < p->n_burst; i++) {
		struct gk_fault *f = &p->burst[i];

		f->rung = action_rung(f->action);
		describe(p, f);
		escalate(p, f);
		remember(p, f);
	}
	for (size_t i = 0; i < p->n_burst; i++)
		patterns(p, &p->burst[i], now_us);
	for (size_t i = 0; i < p->n_burst; i++) {
		const struct gk_fault *f = &p->burst[i];

		if (!top || f->rung > top->rung)
			top = f;
		if (f->action == GK_ACTION_PERSON)
			d.needs_person = true;
	}
	d.rung = top->rung;
	d.code = top->code;
	memcpy(d.fault_gpu, top->gpu, sizeof(d.fault_gpu));
	snprintf(d.reason, sizeof(d.reason), "%s", top->why);
	for (size_t i = 0; d.rung == GK_LADDER_RESET && i < p->n_burst; i++)
		if (p->burst[i].rung == GK_LADDER_RESET)
			add_gpu(&d, p->burst[i].gpu);
	memcpy(d.faults, p->burst, p->n_burst * sizeof(p->burst[0]));
	d.n_faults = p->n_burst;
	p->n_burst = 0;
	p->deadline_us = UINT64_MAX;
	*ret = d;
	return 1;
}

void policy_record(struct gk_policy *p, enum gk_ladder_rung rung, const char *gpu, unsigned code,
		   uint64_t at_us, bool ok)
{
	struct gk_policy_action *h = &p->history[p->history_next];

	*h = (struct gk_policy_action){.code = code, .rung = rung, .at_us = at_us, .ok = ok};
	snprintf(h->gpu, sizeof(h->gpu), "%s", rung == GK_LADDER_RESET ? strempty(gpu) : "");
	p->history_next = (p->history_next + 1) % GK_POLICY_MAX_HISTORY;
	if (p->n_history < GK_POLICY_MAX_HISTORY)
		p->n_history++;
}

static enum gk_ladder_rung rung_named(const char *s)
{
	if (!s)
		return GK_LADDER_NONE;
	if (streq(s, "gpu-reset") || streq(s, "reset"))
		return GK_LADDER_RESET;
	if (streq(s, "reload"))
		return GK_LADDER_RELOAD;
	if (streq(s, "reboot"))
		return GK_LADDER_REBOOT;
	return GK_LADDER_NONE;
}

enum gk_ladder_rung policy_climb(enum gk_ladder_rung rung, int exit_code, const char *next_rung,
				 bool *ret_person)
{
	enum gk_ladder_rung named = rung_named(next_rung);

	*ret_person = false;
	if (exit_code == 0)
		return GK_LADDER_NONE;
	if (named > rung)
		return named;
	/* a deadline passed, the command is missing, or it refused without naming a rung: the
	 * outcome is unknown or nothing above helps; a person decides */
	if ((exit_code != 1 && exit_code != 4) || rung >= GK_LADDER_REBOOT) {
		*ret_person = true;
		return GK_LADDER_NONE;
	}
	return rung + 1;
}

enum gk_ladder_rung policy_recovery_action_rung(unsigned action)
{
	switch (action) {
	case 1: /* GPU_RESET */
	case 4: /* DRAIN_AND_RESET */
	case 6: /* BUS_RESET */
		return GK_LADDER_RESET;
	case 2: /* NODE_REBOOT */
	case 7: /* SYSTEM_REBOOT */
		return GK_LADDER_REBOOT;
	default: /* NONE, DRAIN_P2P (stop P2P work first), RECOVER_IMEX_DOMAIN (outside the node) */
		return GK_LADDER_NONE;
	}
}
