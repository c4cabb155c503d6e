/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The watcher's metrics in the Prometheus text format (exposition format 0.0.4), written
 * atomically for node_exporter's textfile collector. Counters end in _total, units are in the
 * names; every Xid is counted per GPU (not only the last one, as NVIDIA's exporter keeps). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ladder/config.h"
#include "ladder/nvline.h"

#define GK_METRICS_FILE	    "gpukeep-watch.prom"
#define GK_METRICS_MAX_XIDS 512

enum gk_result {
	GK_RESULT_OK,
	GK_RESULT_ROLLED_BACK, /* exit 1 */
	GK_RESULT_REFUSED,     /* exit 3 */
	GK_RESULT_FAILED,      /* exit 4, or any other failure */
	GK_RESULT_TIMEOUT,     /* the deadline passed: outcome unknown */
	GK_RESULT_UNKNOWN,     /* the watcher died during it, and no journal says more */
	GK_RESULT_BLOCKED,     /* a guard stopped it */
	GK_RESULT_OBSERVED,    /* observe mode: decided, not run */
	_GK_RESULT_MAX,
};

const char *result_to_string(enum gk_result r);

struct gk_metrics_xid {
	char gpu[GK_NV_PCI_LEN];
	unsigned code;
	bool sxid;
	uint64_t count;
	int64_t last_seen; /* realtime seconds */
};

struct gk_metrics {
	struct gk_metrics_xid xids[GK_METRICS_MAX_XIDS];
	size_t n_xids;
	uint64_t records, records_lost, overruns, nvidia_lines, unparsed;
	uint64_t decisions[GK_LADDER_RUNGS];
	uint64_t actions[GK_LADDER_RUNGS][_GK_RESULT_MAX];
	uint64_t guard_trips, probes, probe_failures, validations, validation_failures;
	bool breaker_open;
	unsigned actions_in_window;
	int64_t last_action; /* 0: none */
	int gpus_held;	     /* -1: unknown (gpukeepd not reachable) */
	bool healthy, act;
	int64_t started;
};

/* Counts one line of Xid @code (or SXid) for @gpu seen at realtime @now. */
void metrics_count_xid(struct gk_metrics *m, const char *gpu, unsigned code, bool sxid,
		       int64_t now);

/* Renders @m; @uuid_of maps a GPU to its UUID label ("" when unknown). Returns 0 and a
 * malloc()ed NUL-terminated text, or -ENOMEM. */
int metrics_render(const struct gk_metrics *m, const char *(*uuid_of)(const char *gpu, void *ud),
		   void *ud, char **ret);

/* Writes the rendered text to @dirfd/GK_METRICS_FILE atomically (a temporary file that the
 * collector ignores, then rename). Returns 0 or -errno. */
int metrics_write(int dirfd, const char *text);
