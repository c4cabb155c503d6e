/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The reload journal: everything a reload knows before it changes anything, and each step's
 * progress, synced to disk so that a reload killed at any point can be finished by the next. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "baseline/baseline.h"

#define GK_JOURNAL_SCHEMA    "gpukeep.reload-journal"
#define GK_JOURNAL_VERSION   1
#define GK_JOURNAL_FILE	     "reload.journal"
#define GK_JOURNAL_LAST	     "reload.journal.last"
#define GK_JOURNAL_MAX_STEPS 16

enum gk_step_status {
	GK_STEP_PENDING,
	GK_STEP_RUNNING, /* started and not finished: the run was killed here */
	GK_STEP_DONE,
	GK_STEP_FAILED,
	_GK_STEP_STATUS_MAX,
};

struct gk_journal_step {
	char name[32];
	enum gk_step_status status;
	unsigned ms;
	char *detail; /* what it did, NULL until done */
};

struct gk_journal {
	pid_t pid;		   /* the run that wrote it last */
	long long started;	   /* CLOCK_REALTIME seconds of the first run */
	unsigned runs;		   /* 1 + how many times it was resumed */
	struct gk_baseline before; /* the node before the reload: the reference to validate */
	char **unload_order;	   /* leaves first */
	/* "module.param=value" for every readable /sys/module/<m>/parameters/<p> at the start;
	 * the real nvidia module hides its own (mode 0): /proc/driver/nvidia/params has them */
	char **module_params;
	char **units;	      /* systemd units stopped, to start again */
	bool daemon_released; /* gpukeepd was asked to release its devices */
	char *daemon_socket;
	char *settings_file; /* NVML settings saved before the unload (in the state dir), or NULL */
	struct gk_journal_step steps[GK_JOURNAL_MAX_STEPS];
	size_t n_steps;
	bool finished;
};

void journal_done(struct gk_journal *j);

/* Writes @j to <dirfd>/@name atomically and durably (see write_file_atomic_at()). */
int journal_save(int dirfd, const char *name, const struct gk_journal *j);

/*
 * Reads a journal. Every field is checked; on -EBADMSG *ret_error (malloc()ed) says what is
 * wrong, and the file is left as it is for a person to look at. -ENOENT: no journal.
 */
int journal_load(int dirfd, const char *name, struct gk_journal *ret, char **ret_error);

const char *step_status_to_string(enum gk_step_status s);

/* Index of the step named @name, or -1. */
int journal_find_step(const struct gk_journal *j, const char *name);
