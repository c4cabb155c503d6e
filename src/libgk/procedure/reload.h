/* SPDX-License-Identifier: GPL-2.0-or-later */
/* gpukeep reload: the safe driver reload as numbered, timed, journaled steps. */
#pragma once

#include <stdbool.h>

#include "baseline/validate.h"
#include "node/modops.h"
#include "procedure/journal.h"
#include "procedure/reload-plan.h"

typedef void (*gk_say_fn)(void *userdata, const char *line);

struct gk_reload_opts {
	const char *root;	   /* node root for /sys, /proc, /dev ("/") */
	int state_dirfd;	   /* holds the lock and the journal */
	const char *state_dir;	   /* the same, as a path for the helper processes */
	const char *self_exe;	   /* gpukeep itself, run for NVML work (NULL: no NVML) */
	bool json;		   /* our stdout carries a JSON report: helpers print to stderr */
	const char *baseline_path; /* NULL: validate against the node as it was before */
	const char *socket;	   /* gpukeepd's socket */
	const char *systemctl;	   /* the service manager's command */
	bool kill;		   /* stop holders (without it, holders refuse the reload) */
	bool dry_run;		   /* print the plan, change nothing */
	bool diag;		   /* run dcgmi diag -r 1 after validation */
	unsigned grace_ms;	   /* SIGTERM to SIGKILL */
	unsigned unload_budget_ms; /* per module, while it is still in use */
	const struct gk_modops *modops;
	gk_say_fn say; /* one line of progress for people */
	void *userdata;
};

struct gk_reload_result {
	int exit;     /* gk_exit code */
	bool resumed; /* finished the job of an earlier run */
	char *error;  /* why it refused or failed, NULL on success */
	enum gk_rung next_rung;
	struct gk_differences differences; /* validation */
	int diag;			   /* -1 not run, 0 passed, >0 failed, -2 not installed */
	struct gk_journal journal;	   /* the steps with their timings */
};

/* Runs (or resumes) a reload. Returns 0 with *ret filled (its exit field is the verdict), or
 * -ENOMEM. Free with reload_result_done(). */
int reload_run(const struct gk_reload_opts *o, struct gk_reload_result *ret);
void reload_result_done(struct gk_reload_result *r);

/* The step names, in order. */
extern const char *const reload_step_names[];
extern const unsigned reload_step_count;
