/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A procedure's journal: its kind, each step's progress by name, and the procedure's own record
 * of the node (an opaque JSON object the procedure encodes and checks), synced to disk so that a
 * run killed at any point can be finished by the next. */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define GK_JOURNAL_SCHEMA    "gpukeep.journal"
#define GK_JOURNAL_VERSION   2
/* the format of gpukeep 0.x's reload (one kind, the record at top level): read, never written */
#define GK_JOURNAL_V1_SCHEMA "gpukeep.reload-journal"
#define GK_JOURNAL_MAX_STEPS 16
#define GK_JOURNAL_NAME_MAX  32

enum gk_step_status {
	GK_STEP_PENDING,
	GK_STEP_RUNNING, /* started and not finished: the run was killed here */
	GK_STEP_DONE,
	GK_STEP_FAILED,
	GK_STEP_UNDONE, /* done, then undone by a roll back */
	_GK_STEP_STATUS_MAX,
};

struct gk_journal_step {
	char name[GK_JOURNAL_NAME_MAX];
	enum gk_step_status status;
	unsigned ms;
	char *detail; /* what it did, NULL until done */
};

struct gk_journal {
	char kind[GK_JOURNAL_NAME_MAX]; /* "reload", "reset" */
	unsigned version;		/* as read (1 or 2); written as GK_JOURNAL_VERSION */
	pid_t pid;			/* the run that wrote it last */
	long long started;		/* CLOCK_REALTIME seconds of the first run */
	unsigned runs;			/* 1 + how many times it was resumed */
	struct gk_journal_step steps[GK_JOURNAL_MAX_STEPS];
	size_t n_steps;
	bool finished;
	struct json_object *record; /* the procedure's record (owned), NULL before its first step */
};

void journal_done(struct gk_journal *j);

/* The steps as a JSON array of {name, status, ms, detail} (the reports use it too); NULL on
 * -ENOMEM. */
struct json_object *journal_steps_to_json(const struct gk_journal *j);

/* The journal as JSON; NULL on -ENOMEM (every allocation is checked). The caller puts it. */
struct json_object *journal_to_json(const struct gk_journal *j);

/*
 * Decodes a journal. Every field is checked; @step_names (NULL-terminated) are the steps the
 * procedure @kind knows: a journal of another kind, a step of another name, or a newer format
 * is refused. Returns 0, -EBADMSG with *ret_error (malloc()ed) saying what is wrong, -ENOMEM.
 * Version 1 journals (a reload's) are read: their record is the top-level object.
 */
int journal_from_json(struct json_object *o, const char *kind, const char *const *step_names,
		      struct gk_journal *ret, char **ret_error);

const char *step_status_to_string(enum gk_step_status s);

/* Index of the step named @name, or -1. */
int journal_find_step(const struct gk_journal *j, const char *name);
