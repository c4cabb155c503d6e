/* SPDX-License-Identifier: GPL-2.0-or-later */
/* gpukeep watch's configuration (/etc/gpukeep/watch.json, documented in man gpukeep(1) and
 * docs/watch.md): periods, windows, thresholds, guards, site overrides of the catalog, and the
 * command of each rung. */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "ladder/catalog.h"

#define GK_WATCH_CONFIG_PATH	 "/etc/gpukeep/watch.json"
#define GK_WATCH_CONFIG_MAX_SIZE (256 * 1024)
#define GK_WATCH_MAX_OVERRIDES	 64
#define GK_WATCH_MAX_PATTERN	 8

/* The rungs of the ladder. */
enum gk_ladder_rung {
	GK_LADDER_NONE = 0,
	GK_LADDER_RESET = 1,  /* gpukeep reset -i GPU */
	GK_LADDER_RELOAD = 2, /* gpukeep reload */
	GK_LADDER_REBOOT = 3, /* drain and reboot */
};
#define GK_LADDER_RUNGS 4

const char *ladder_rung_to_string(enum gk_ladder_rung r);

struct gk_override {
	unsigned code;
	int subcode; /* -1: every subcode */
	char bucket[GK_BUCKET_LEN];
};

struct gk_rung_config {
	char **command;	    /* argv; "{gpu}", "{uuid}", "{reason}"... are replaced; NULL for 0 */
	unsigned timeout_s; /* the deadline of the command */
	char *journal;	    /* file in procedure_state_dir while an action runs, or NULL */
};

struct gk_watch_config {
	unsigned debounce_ms;	     /* a burst of lines within this is one decision */
	unsigned escalate_window_s;  /* the same fault again within this after a rung: climb */
	unsigned pattern_window_s;   /* cross-GPU patterns are looked for within this */
	unsigned pattern_min_gpus;   /* the same Xid on this many GPUs: the driver (rung 2) */
	unsigned reset_pattern_gpus; /* resets needed on this many GPUs: rung 2 */
	char pattern_buckets[GK_WATCH_MAX_PATTERN][GK_BUCKET_LEN];
	size_t n_pattern_buckets;
	unsigned breaker_max_actions; /* disruptive actions allowed per window */
	unsigned breaker_window_s;
	unsigned
		reboot_loop_window_s; /* the same fault back after our reboot within this: a loop */
	unsigned probe_period_s;      /* NVML responsiveness and recovery action (0: off) */
	unsigned validate_period_s;   /* validate against the baseline (0: off) */
	unsigned nvml_timeout_ms;
	bool accept_user_facility; /* also act on records written to /dev/kmsg by user space */
	size_t event_log_max_bytes;
	unsigned event_log_keep;
	char *baseline;		   /* NULL: the validation is skipped */
	char *catalog;		   /* the Xid catalog file */
	char *procedure_state_dir; /* where the rungs keep their journals */
	char *gpukeepd_socket;	   /* asked on each probe which GPUs it holds */
	unsigned drain_timeout_s;  /* scheduler: how long the node's jobs may take ({drain_timeout})
				    */
	bool requeue;		   /* scheduler: requeue them instead ({requeue}) */
	struct gk_override overrides[GK_WATCH_MAX_OVERRIDES];
	size_t n_overrides;
	struct gk_rung_config rungs[GK_LADDER_RUNGS];
};

/* The defaults (documented in the man page). @datadir: where xid-catalog.json is installed.
 * Returns 0 or -ENOMEM; free with watch_config_done(). */
int watch_config_init(struct gk_watch_config *c, const char *datadir);
void watch_config_done(struct gk_watch_config *c);

/*
 * Applies the settings of the JSON object @o over @c. Unknown keys, wrong types and values out
 * of range are refused: returns 0, or -EBADMSG with *ret_error (malloc()ed) naming the key and
 * what it takes, with @c unchanged; -ENOMEM.
 */
int watch_config_apply_json(struct gk_watch_config *c, struct json_object *o, char **ret_error);
/* The same from the file @path. */
int watch_config_load(struct gk_watch_config *c, const char *path, char **ret_error);

/* The site's bucket for (@code, @subcode), or NULL when the site does not override it. */
const char *watch_config_override(const struct gk_watch_config *c, unsigned code, int subcode);
