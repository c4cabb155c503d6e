/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The procedure engine. A procedure is one static table of steps; the runner owns what every
 * procedure shares: the node lock, numbering and printing ("step 4/8: unload: ... (79 ms)"),
 * timing, the journal (written and synced before and after each step, keyed by step name and
 * procedure kind), resuming an interrupted run, the roll back in reverse order, the dry run, and
 * the exit code (0 ok, 1 rolled back, 3 refused with nothing changed, 4 not rolled back).
 */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "procedure/journal.h"

#define GK_NODE_LOCK "reload.lock" /* one procedure at a time per node (the 0.x reload's name) */

struct gk_engine;

struct gk_step {
	const char *name;
	const char *help; /* one line for --help and the man page */
	/* Running it changes the node: once it has run, a refusal no longer means "nothing
	 * changed", and a roll back must undo it (or fail, when it has no undo). */
	bool changes_node;
	/* A failure (exit 4) ends the procedure: the journal is retired, a rerun starts afresh.
	 * Otherwise a failed step stays resumable: the next run retries it. */
	bool final;
	/*
	 * Dry run: what a real run would do. Returns 0 with *ret_plan (malloc()ed, NULL: nothing
	 * to say), or the exit code after engine_verdict() when a real run would refuse.
	 */
	int (*check)(struct gk_engine *e, char **ret_plan);
	/*
	 * Does the step. Idempotent: a step interrupted and run again finishes its work. Returns 0
	 * with *ret_detail (what it did, malloc()ed), or an exit code after engine_verdict():
	 * GK_EXIT_FAILED asks for the roll back, GK_EXIT_NEEDS_PERSON refuses it (the node is
	 * between states a roll back cannot cross), GK_EXIT_PRECONDITION refuses the run.
	 */
	int (*apply)(struct gk_engine *e, char **ret_detail);
	/* Undoes apply, also a partial one (steps fail midway). NULL: nothing to undo. Returns 0,
	 * or -errno with *ret_failed (malloc()ed) naming what could not be put back. */
	int (*undo)(struct gk_engine *e, char **ret_failed);
};

/* A journal of another procedure that blocks this one while unfinished. */
struct gk_journal_ref {
	const char *kind; /* "reset" */
	const char *file; /* "reset.journal" */
};

struct gk_procedure {
	const char *kind;	  /* "reload", "reset": the journal's kind and the messages' noun */
	const char *journal;	  /* file name in the state directory */
	const char *journal_last; /* the last finished run's journal, kept as a record */
	const struct gk_step *steps;
	size_t n_steps;
	const char *rolled_back; /* "the driver, gpukeepd and the stopped units are as they were" */
	const struct gk_journal_ref *others; /* NULL-kind terminated, may be NULL */
	/* The procedure's record of the node, kept in the journal. load: 0, -EBADMSG with
	 * *ret_error, -ENOMEM; save: a new object or NULL (-ENOMEM). */
	int (*load_record)(struct gk_engine *e, struct json_object *record, char **ret_error);
	struct json_object *(*save_record)(struct gk_engine *e);
	/* A journal is being resumed: adjust what must run again. NULL: nothing to adjust. */
	void (*resume)(struct gk_engine *e);
};

/* Effects of the runner itself, faked in tests. */
struct gk_engine_ops {
	void *userdata;
	uint64_t (*now_ms)(void *userdata);
	/* Writes @text to <dirfd>/@name atomically and durably. 0 or -errno. */
	int (*journal_write)(void *userdata, int dirfd, const char *name, const char *text,
			     size_t len);
	/* After each step is journaled; tests stop the process here as a power cut would. */
	void (*after_step)(void *userdata, const char *kind, const char *step);
	void (*say)(void *userdata, const char *line); /* one line of progress for people */
};

/* The real runner effects: the monotonic clock, write_file_atomic_at(); say and after_step
 * are NULL (set them). */
extern const struct gk_engine_ops engine_ops_default;

struct gk_engine_opts {
	int state_dirfd;       /* the lock and the journals */
	const char *state_dir; /* the same, as a path for messages */
	bool dry_run;	       /* run the checks (or show the resume) and change nothing */
	const struct gk_engine_ops *ops;
};

struct gk_engine_result {
	int exit;     /* gk_exit code */
	bool resumed; /* finished (or, dry run: would finish) the job of an earlier run */
	char *error;  /* why it refused or failed; NULL on success */
	struct gk_journal journal; /* the steps with their timings */
};

/*
 * Runs (or resumes) @p with the procedure's context @ctx (engine_ctx() in the steps). Returns 0
 * with *ret filled (its exit field is the verdict), or -ENOMEM. Free with
 * engine_result_done().
 */
int engine_run(const struct gk_procedure *p, const struct gk_engine_opts *o, void *ctx,
	       struct gk_engine_result *ret);
void engine_result_done(struct gk_engine_result *r);
/*
 * engine_run() on the node root @root, open in *@rootfd (where @ctx's steps find it) while it
 * runs and -EBADF after. A root that does not open is exit 2 (usage) in *ret, named in its
 * error. Returns 0 or -ENOMEM as engine_run().
 */
int engine_run_root(const struct gk_procedure *p, const struct gk_engine_opts *o, const char *root,
		    int *rootfd, void *ctx, struct gk_engine_result *ret);

/* For the steps. */
void *engine_ctx(struct gk_engine *e);
bool engine_resumed(const struct gk_engine *e);
bool engine_dry_run(const struct gk_engine *e);
uint64_t engine_now_ms(struct gk_engine *e);
void engine_say(struct gk_engine *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Sets the run's exit code and reason; returns @exit. */
int engine_verdict(struct gk_engine *e, int exit, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
const char *engine_error(const struct gk_engine *e);
/* Saves the journal now (a step records what it is about to change before it changes it).
 * Returns 0, or GK_EXIT_FAILED after the verdict "cannot write the journal". */
int engine_sync(struct gk_engine *e);
/* The status of step @name in this run's journal (GK_STEP_PENDING when unknown). */
enum gk_step_status engine_step_status(const struct gk_engine *e, const char *name);
void engine_set_step_status(struct gk_engine *e, const char *name, enum gk_step_status s);
