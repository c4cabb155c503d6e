/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The driver reload's decisions, as pure functions of what was observed: whether to refuse,
 * what to stop and how, the unload and load order, and which rung of the ladder comes next. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "baseline/validate.h"
#include "node/holders.h"
#include "node/modgraph.h"

enum gk_refusal {
	GK_REFUSE_NONE,
	GK_REFUSE_UNKILLABLE, /* a holder in D state: the driver cannot be unloaded, reboot */
	GK_REFUSE_HOLDERS,    /* holders exist and --kill was not given */
	GK_REFUSE_NO_DRIVER,  /* nvidia is not loaded: nothing to reload */
};

struct gk_reload_plan {
	enum gk_refusal refusal;
	char **units;	   /* systemd services to stop through systemctl, then start again */
	char **containers; /* "RUNTIME ID": stopped through their runtime, not started again */
	pid_t *pids;	   /* other holders: SIGTERM, grace, SIGKILL */
	size_t n_pids;
	pid_t daemon_pid; /* gpukeepd: asked to release, never killed; 0 when not running */
	char **unload;	  /* leaves first, nvidia last */
	char **load;	  /* dependency order: the reverse of unload */
};

/*
 * Decides how each holder is stopped (holder_stop_how(): the one rule) and whether to refuse:
 * a holder in D state, or holders other than @daemon_pid without @kill. Fills the refusal and
 * the stop lists of *ret, not the modules. Returns 0 or -ENOMEM. Free with reload_plan_done().
 */
int reload_plan_stops(const struct gk_holders *holders, pid_t daemon_pid, bool kill,
		      struct gk_reload_plan *ret);

/*
 * The whole plan: reload_plan_stops(), GK_REFUSE_NO_DRIVER when nvidia is not loaded, and the
 * module orders. @daemon_pid is gpukeepd's pid (0 when it does not run); its holdings are
 * released through its socket. Returns 0, -ELOOP on a cycle in the module graph, -ENOMEM.
 * Free with reload_plan_done().
 */
int reload_plan_make(const struct gk_modlist *modules, const struct gk_holders *holders,
		     pid_t daemon_pid, bool kill, struct gk_reload_plan *ret);
void reload_plan_done(struct gk_reload_plan *p);

/* The load order of an unload order: its reverse, a new strv (NULL on -ENOMEM). */
char **reload_load_order(char *const *unload);

enum gk_rung {
	GK_RUNG_NONE,  /* the node is healthy */
	GK_RUNG_RESET, /* per-GPU reset may recover it */
	GK_RUNG_REBOOT,
};

/* Which rung comes after a reload that ended with @d (validation differences), or after a
 * failed load (@load_failed). */
enum gk_rung reload_next_rung(const struct gk_differences *d, bool load_failed);
const char *rung_to_string(enum gk_rung r);
