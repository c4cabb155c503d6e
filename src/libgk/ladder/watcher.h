/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The watcher's engine: kernel log records in, decisions and guarded rungs out. Every effect
 * (running a rung, saving the state, writing an event, the clock) goes through an ops table, so
 * that the unit tests drive it with fakes and the CLI with the real thing. */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "ladder/catalog.h"
#include "ladder/config.h"
#include "ladder/guards.h"
#include "ladder/metrics.h"
#include "ladder/policy.h"

#define GK_ENGINE_MAX_UUIDS 64

/* What one rung's command came back with. */
struct gk_rung_outcome {
	int exit;	    /* 0..255, 128+signal, or -errno (-ETIMEDOUT: deadline passed) */
	char next_rung[16]; /* from its JSON report, "" when none */
	char error[256];    /* from its JSON report, or why it could not run */
	struct json_object *report; /* its JSON report, owned by the engine once returned */
	unsigned ms;
};

struct gk_watcher_ops {
	/* Runs @rung for @gpu ("" for node-wide rungs; @uuid "" when unknown) against @fault
	 * (the fault key, "xid-79@0000:07:00": watcher_fault_text() puts it in words). 0 and
	 * *ret, or -errno when it could not be started at all (then *ret->error says why). */
	int (*run_rung)(void *ud, enum gk_ladder_rung rung, const char *gpu, const char *uuid,
			const char *fault, struct gk_rung_outcome *ret);
	/* Whether @rung's journal is present: the procedure was interrupted and a rerun resumes
	 * it. */
	bool (*journal_present)(void *ud, enum gk_ladder_rung rung);
	/* Persists the guards' state (atomically). 0 or -errno. */
	int (*save)(void *ud, const struct gk_guard_state *s);
	/* One event; @ev is borrowed. */
	void (*event)(void *ud, struct json_object *ev);
	/* Realtime seconds. */
	int64_t (*now)(void *ud);
};

struct gk_watcher_uuid {
	char gpu[GK_NV_PCI_LEN];
	char uuid[GK_NV_UUID_LEN];
};

struct gk_watcher {
	const struct gk_watch_config *cfg;
	const struct gk_watcher_ops *ops;
	void *ud;
	bool act;
	char boot_id[GK_BOOT_ID_LEN];
	struct gk_policy policy;
	struct gk_guard_state state;  /* persisted */
	struct gk_guard_state shadow; /* observe mode: the guards as acting would have them */
	struct gk_metrics metrics;
	struct gk_watcher_uuid uuids[GK_ENGINE_MAX_UUIDS];
	size_t n_uuids;
	bool dirty; /* state changed since the last save */
};

/*
 * @state: the guards' state as loaded (the kmsg position in it is used when it was taken in
 * boot @boot_id from the same @source, the kernel log's path). @act: run rungs; otherwise decide,
 * report and change nothing. Everything borrowed must outlive @e.
 */
void watcher_init(struct gk_watcher *e, const struct gk_watch_config *cfg,
		  const struct gk_catalog *cat, const struct gk_guard_state *state,
		  const char *boot_id, const char *source, bool act,
		  const struct gk_watcher_ops *ops, void *ud);

/* Where to start reading: 1 with *ret_seq when the state holds a position in this boot (go on
 * after it), 0 when the log is to be followed from its end. */
int watcher_resume_position(const struct gk_watcher *e, uint64_t *ret_seq);

/* Marks every record up to @seq as handled (the reader skipped to the end). */
void watcher_skip_to(struct gk_watcher *e, uint64_t seq);

/* The action found pending at start (the watcher died during it): resumed from the
 * procedure's journal when there is one, otherwise recorded as unknown; never started anew. */
void watcher_resume_pending(struct gk_watcher *e, uint64_t now_us);

/* @now_us for watcher_feed(): the record's own timestamp (a saved log replayed). */
#define GK_ENGINE_RECORD_TIME (UINT64_MAX - 1)

/* One record of @len bytes, handled at @now_us (CLOCK_MONOTONIC microseconds, or
 * GK_ENGINE_RECORD_TIME). Decisions due by then are taken first. Returns 0, or -EPROTO when it
 * is not a record (skipped). */
int watcher_feed(struct gk_watcher *e, const char *rec, size_t len, uint64_t now_us);

/* Overruns reported by the reader (EPIPE); the records lost are counted from the gap in
 * sequence numbers. */
void watcher_overrun(struct gk_watcher *e, uint64_t n);

/* Seeds the escalation history from the actions of this boot in the state, with @now_us the
 * monotonic clock now (a live log: the same clock the records are handled at). */
void watcher_seed_history(struct gk_watcher *e, uint64_t now_us);

/* Decides what is due at @now_us (UINT64_MAX: everything pending, as at the end of --once). */
void watcher_tick(struct gk_watcher *e, uint64_t now_us);

/* When the next decision is due (UINT64_MAX: none). */
uint64_t watcher_deadline(const struct gk_watcher *e);

/* A fault found by a probe (NVML hung, a recovery action, validation): decided at once as
 * @rung for @gpu ("" node-wide), with @why. */
void watcher_external(struct gk_watcher *e, enum gk_ladder_rung rung, const char *gpu,
		      const char *kind, const char *why, uint64_t now_us);

/* Saves the state when it changed. Returns 0 or -errno. */
int watcher_save(struct gk_watcher *e);

/* The UUID of @gpu as the driver logged it, or "". */
const char *watcher_uuid_of(const char *gpu, void *engine);

/* The fault key @fault in words, for the scheduler's reason and the rung's --reason: "Xid 79
 * on 0000:07:00.0, reload" from "xid-79@0000:07:00" and @rung; "nvml-hung, reload" from
 * "nvml-hung@node"; "recovery-action on 0000:07:00.0, reset". Written into @buf. */
void watcher_fault_text(const char *fault, enum gk_ladder_rung rung, char *buf, size_t size);

/* A new event object {"time", "type"} (time in UTC, RFC 3339 with milliseconds). */
struct json_object *watcher_event_new(const char *type);

/* The metrics, with the guards' gauges brought up to date. */
const struct gk_metrics *watcher_metrics(struct gk_watcher *e);
