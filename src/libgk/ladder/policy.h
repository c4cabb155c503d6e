/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The ladder's decisions, as pure functions of the faults seen and the actions taken: buckets,
 * debounce, escalation of the same fault after a rung, cross-GPU patterns, and the climb after a
 * rung that did not work. Time is in microseconds of the kernel log's clock. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "ladder/catalog.h"
#include "ladder/config.h"
#include "ladder/nvline.h"

#define GK_POLICY_MAX_FAULTS  32  /* distinct (GPU, Xid) in one burst; more are merged */
#define GK_POLICY_MAX_RECENT  256 /* faults remembered for patterns */
#define GK_POLICY_MAX_HISTORY 64  /* actions remembered for escalation */
#define GK_POLICY_REASON_LEN  256

/* One fault: the lines of a burst for one (GPU, Xid, subcode). */
struct gk_fault {
	char gpu[GK_NV_PCI_LEN];
	unsigned code;
	int subcode;
	uint64_t first_us, last_us;
	unsigned lines;
	enum gk_action action;
	char bucket[GK_BUCKET_LEN]; /* the catalog's, or the site's override; "" when unknown */
	bool overridden;
	enum gk_ladder_rung rung; /* what this fault alone asks for */
	char why[GK_POLICY_REASON_LEN];
};

struct gk_decision {
	enum gk_ladder_rung rung;
	char gpus[GK_POLICY_MAX_FAULTS][GK_NV_PCI_LEN]; /* rung 1: the GPUs to reset */
	size_t n_gpus;
	unsigned code; /* the fault that decided (for guards and events) */
	char fault_gpu[GK_NV_PCI_LEN];
	bool needs_person; /* a fault no rung fixes (mechanics, support) or an unknown Xid */
	char reason[GK_POLICY_REASON_LEN];
	struct gk_fault faults[GK_POLICY_MAX_FAULTS];
	size_t n_faults;
};

struct gk_policy_recent {
	char gpu[GK_NV_PCI_LEN];
	unsigned code;
	bool pattern; /* of a bucket that counts towards cross-GPU patterns */
	bool reset;   /* asked for rung 1 */
	uint64_t at_us;
};

struct gk_policy_action {
	char gpu[GK_NV_PCI_LEN]; /* "" for node-wide rungs (reload, reboot) */
	unsigned code;
	enum gk_ladder_rung rung;
	uint64_t at_us;
	bool ok;
};

struct gk_policy {
	const struct gk_watch_config *cfg;
	const struct gk_catalog *cat;
	struct gk_fault burst[GK_POLICY_MAX_FAULTS];
	size_t n_burst;
	uint64_t deadline_us; /* of the open burst; UINT64_MAX when none */
	struct gk_policy_recent recent[GK_POLICY_MAX_RECENT];
	size_t n_recent, recent_next;
	struct gk_policy_action history[GK_POLICY_MAX_HISTORY];
	size_t n_history, history_next;
};

/* @cfg and @cat must outlive @p. */
void policy_init(struct gk_policy *p, const struct gk_watch_config *cfg,
		 const struct gk_catalog *cat);

/* The action, bucket and whether the site overrode it, for an Xid. */
enum gk_action policy_classify(const struct gk_policy *p, unsigned code, int subcode,
			       char bucket[GK_BUCKET_LEN], bool *ret_overridden);

/* Adds an Xid or fallen-off-the-bus event seen at @now_us to the burst (opening one when none
 * is open: it is decided @cfg->debounce_ms later). Returns 1 when a new fault opened, 0 when the
 * line joined a fault of the burst, -EINVAL for an event of another kind. */
int policy_add(struct gk_policy *p, const struct gk_nv_event *e, uint64_t now_us);

/* When the open burst is due (UINT64_MAX: none open). */
uint64_t policy_deadline(const struct gk_policy *p);

/* Decides the burst when it is due at @now_us (UINT64_MAX: now, whatever the deadline). Returns
 * 1 with *ret, 0 when nothing is due. The burst is closed. */
int policy_decide(struct gk_policy *p, uint64_t now_us, struct gk_decision *ret);

/* Records the outcome of an action (what escalation looks at). */
void policy_record(struct gk_policy *p, enum gk_ladder_rung rung, const char *gpu, unsigned code,
		   uint64_t at_us, bool ok);

/*
 * The rung after @rung came back with @exit_code and the JSON report's @next_rung ("reload",
 * "gpu-reset", "reboot", "none" or NULL): 0 when it worked, else the next rung up (never down,
 * never the same), or GK_LADDER_NONE with *ret_person set when nothing automatic is left
 * (a timeout, a refusal that names no rung, or rung 3 itself failed).
 */
enum gk_ladder_rung policy_climb(enum gk_ladder_rung rung, int exit_code, const char *next_rung,
				 bool *ret_person);

/* The rung for NVML's GPU recovery action (field 230): NONE=0, GPU_RESET=1, NODE_REBOOT=2,
 * DRAIN_P2P=3, DRAIN_AND_RESET=4, RECOVER_IMEX_DOMAIN=5, BUS_RESET=6, SYSTEM_REBOOT=7. */
enum gk_ladder_rung policy_recovery_action_rung(unsigned action);
