/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The guards against remediation loops, and their state in the state directory (watch.state):
 * a circuit breaker (at most N disruptive actions per window, then observe-only until a person
 * clears it or the window passes), one reboot per fault per boot and no reboot loop, the budget
 * reserved before acting, and no retry of an action whose outcome is unknown. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "ladder/config.h"
#include "ladder/nvline.h"

#define GK_GUARD_STATE_FILE   "watch.state"
#define GK_GUARD_STATE_SCHEMA "gpukeep.watch-state"
#define GK_GUARD_MAX_ACTIONS  64
#define GK_GUARD_MAX_REBOOTS  16
#define GK_GUARD_FAULT_LEN    48
#define GK_GUARD_OUTCOME_LEN  24
#define GK_BOOT_ID_LEN	      40

struct gk_guard_action {
	uint64_t id;
	int64_t at; /* realtime seconds when it was reserved */
	enum gk_ladder_rung rung;
	char gpu[GK_NV_PCI_LEN];
	char fault[GK_GUARD_FAULT_LEN];	    /* "xid-119@0000:07:00" */
	char outcome[GK_GUARD_OUTCOME_LEN]; /* "pending", "ok", "failed", "unknown", ... */
	char boot_id[GK_BOOT_ID_LEN];
};

struct gk_guard_state {
	char boot_id[GK_BOOT_ID_LEN]; /* the boot the kmsg position belongs to */
	char kmsg_source[256];	      /* the kernel log it belongs to (/dev/kmsg, or --kmsg) */
	uint64_t last_seq;	      /* the last kernel log record handled */
	bool have_seq;
	uint64_t next_id;
	int64_t breaker_tripped_at; /* 0: closed */
	int64_t cleared_at;	    /* --reset-guard: actions before this do not count */
	struct gk_guard_action actions[GK_GUARD_MAX_ACTIONS]; /* oldest first */
	size_t n_actions;
	bool pending; /* actions[n_actions - 1] is in flight: outcome unknown */
};

enum gk_guard_verdict {
	GK_GUARD_OK,
	GK_GUARD_BREAKER,     /* the circuit breaker is open */
	GK_GUARD_TRIP,	      /* this action would exceed the budget: trip the breaker */
	GK_GUARD_REBOOT_DONE, /* a reboot was already asked for in this boot */
	GK_GUARD_REBOOT_LOOP, /* the same fault came back after our reboot */
	GK_GUARD_PENDING,     /* an earlier action's outcome is unknown */
};

const char *guard_verdict_to_string(enum gk_guard_verdict v);

/* Whether @rung for @fault may run at realtime @now in boot @boot_id. Pure; @why (size @n) says
 * why not in words. */
enum gk_guard_verdict guard_check(const struct gk_guard_state *s, const struct gk_watch_config *c,
				  int64_t now, enum gk_ladder_rung rung, const char *fault,
				  const char *boot_id, char *why, size_t n);

/* Opens the breaker (after GK_GUARD_TRIP). */
void guard_trip(struct gk_guard_state *s, int64_t now);
/* Closes the breaker, and forgets the actions so far for its count (--reset-guard). */
void guard_clear(struct gk_guard_state *s, int64_t now);
/* Whether the breaker is open at @now (it closes by itself when its window has passed). */
bool guard_breaker_open(const struct gk_guard_state *s, const struct gk_watch_config *c,
			int64_t now);
/* Actions that count against the budget at @now. */
unsigned guard_actions_in_window(const struct gk_guard_state *s, const struct gk_watch_config *c,
				 int64_t now);

/* Reserves the budget: records the action as pending (save the state before acting). Returns
 * the action. */
struct gk_guard_action *guard_reserve(struct gk_guard_state *s, int64_t now,
				      enum gk_ladder_rung rung, const char *gpu, const char *fault,
				      const char *boot_id);
/* Records the outcome of the pending action and ends it. */
void guard_finish(struct gk_guard_state *s, const char *outcome);
/* The pending action, or NULL. */
struct gk_guard_action *guard_pending(struct gk_guard_state *s);

/* Reads watch.state under @dirfd: 0, -ENOENT when there is none (a fresh state is returned),
 * -EBADMSG with *ret_error (malloc()ed) when it is malformed (never silently reset: a person
 * looks), -errno. */
int guard_state_load(int dirfd, struct gk_guard_state *ret, char **ret_error);
/* Writes it atomically. Returns 0 or -errno. */
int guard_state_save(int dirfd, const struct gk_guard_state *s);
