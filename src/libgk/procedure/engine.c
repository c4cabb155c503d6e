// SPDX-License-Identifier: GPL-2.0-or-later
/* The procedure runner. Every step is journaled before and after it runs, so a run killed
 * anywhere is finished by the next one from what the first knew. Steps are idempotent. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "baseline/baseline.h"
#include "core/gk-exit.h"
#include "core/json-check.h"
#include "fileio.h"
#include "lockfile.h"
#include "macro.h"
#include "procedure/engine.h"
#include "root.h"
#include "string-util.h"
#include "time-util.h"

#define JOURNAL_MAX_SIZE (8 * 1024 * 1024)
/* a journal that parses but does not decode: the message says what to do about each */
#define NOT_RESUMABLE	 (-EPROTO)

struct gk_engine {
	const struct gk_procedure *p;
	const struct gk_engine_opts *o;
	void *ctx;
	struct gk_engine_result *res;
	struct gk_journal *j;
	bool wrote; /* this run created the journal */
};

static uint64_t default_now(void *userdata)
{
	(void)userdata;
	return now_ms();
}

static int default_write(void *userdata, int dirfd, const char *name, const char *text, size_t len)
{
	(void)userdata;
	return write_file_atomic_at(dirfd, name, text, len, 0600);
}

const struct gk_engine_ops engine_ops_default = {
	.now_ms = default_now,
	.journal_write = default_write,
};

void *engine_ctx(struct gk_engine *e)
{
	return e->ctx;
}

bool engine_resumed(const struct gk_engine *e)
{
	return e->res->resumed;
}

bool engine_dry_run(const struct gk_engine *e)
{
	return e->o->dry_run;
}

uint64_t engine_now_ms(struct gk_engine *e)
{
	return e->o->ops->now_ms(e->o->ops->userdata);
}

const char *engine_error(const struct gk_engine *e)
{
	return e->res->error;
}

void engine_say(struct gk_engine *e, const char *fmt, ...)
{
	char line[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (e->o->ops->say)
		e->o->ops->say(e->o->ops->userdata, line);
}

int engine_verdict(struct gk_engine *e, int exit, const char *fmt, ...)
{
	va_list ap;

	free(e->res->error);
	va_start(ap, fmt);
	if (vasprintf(&e->res->error, fmt, ap) < 0)
		e->res->error = NULL;
	va_end(ap);
	e->res->exit = exit;
	return exit;
}

static struct gk_journal_step *find(const struct gk_engine *e, const char *name)
{
	int i = journal_find_step(e->j, name);

	return i < 0 ? NULL : &e->j->steps[i];
}

enum gk_step_status engine_step_status(const struct gk_engine *e, const char *name)
{
	struct gk_journal_step *s = find(e, name);

	return s ? s->status : GK_STEP_PENDING;
}

void engine_set_step_status(struct gk_engine *e, const char *name, enum gk_step_status st)
{
	struct gk_journal_step *s = find(e, name);

	if (s)
		s->status = st;
}

static int journal_write(struct gk_engine *e)
{
	struct json_object *o, *record = NULL;
	const char *text;
	int r;

	if (e->p->save_record) {
		record = e->p->save_record(e);
		if (!record)
			return -ENOMEM;
		json_object_put(e->j->record);
		e->j->record = record;
	}
	o = journal_to_json(e->j);
	if (!o)
		return -ENOMEM;
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
							 JSON_C_TO_STRING_NOSLASHESCAPE);
	r = text ? e->o->ops->journal_write(e->o->ops->userdata, e->o->state_dirfd, e->p->journal,
					    text, strlen(text))
		 : -ENOMEM;
	json_object_put(o);
	return r;
}

int engine_sync(struct gk_engine *e)
{
	int r;

	if (e->o->dry_run)
		return 0;
	r = journal_write(e);
	if (r < 0)
		return engine_verdict(e, GK_EXIT_FAILED, "cannot write the journal %s/%s: %s",
				      e->o->state_dir, e->p->journal, strerror(-r));
	e->wrote = true;
	return 0;
}

/* Reads journal @file of @kind. 0, -ENOENT, -EBADMSG with *ret_error, -errno. */
static int journal_read(struct gk_engine *e, const char *file, const char *kind,
			const char *const *names, struct gk_journal *ret, char **ret_error)
{
	struct json_object *o = NULL;
	int r;

	r = json_parse_file_at(e->o->state_dirfd, file, JOURNAL_MAX_SIZE, &o, ret_error);
	if (r < 0)
		return r;
	r = journal_from_json(o, kind, names, ret, ret_error);
	json_object_put(o);
	return r == -EBADMSG ? NOT_RESUMABLE : r;
}

static char **step_names(const struct gk_procedure *p)
{
	char **l = calloc(p->n_steps + 1, sizeof(char *));

	for (size_t i = 0; l && i < p->n_steps; i++)
		l[i] = (char *)p->steps[i].name; /* borrowed: free only the array */
	return l;
}

static int refuse_journal(struct gk_engine *e, const char *file, const char *kind, int r,
			  const char *why)
{
	if (r == -EBADMSG)
		return engine_verdict(e, GK_EXIT_PRECONDITION,
				      "the journal of an earlier %s (%s in the state directory) is "
				      "corrupt: %s; nothing was changed: inspect it, and remove it "
				      "once the node is known to be good",
				      kind, file, strna(why));
	if (r == NOT_RESUMABLE)
		return engine_verdict(e, GK_EXIT_PRECONDITION,
				      "the journal of an earlier %s (%s in the state directory %s) "
				      "cannot be resumed by this gpukeep: %s; nothing was changed: "
				      "finish it with the gpukeep that wrote it, or inspect it and "
				      "remove it once the node is known to be good",
				      kind, file, e->o->state_dir, strna(why));
	return engine_verdict(e, GK_EXIT_PRECONDITION, "cannot read the journal %s/%s: %s",
			      e->o->state_dir, file, strerror(-r));
}

/* An unfinished journal of another procedure: that one must be finished first. */
static int check_others(struct gk_engine *e)
{
	for (const struct gk_journal_ref *x = e->p->others; x && x->kind; x++) {
		_cleanup_free_ char *error = NULL;
		struct json_object *o = NULL;
		struct gk_jcheck c = {};
		struct json_object *v;
		bool finished;
		int r;

		/* only the kind and "finished" matter here: the owner checks the rest */
		r = json_parse_file_at(e->o->state_dirfd, x->file, JOURNAL_MAX_SIZE, &o, &error);
		if (r == -ENOENT)
			continue;
		if (r < 0)
			return refuse_journal(e, x->file, x->kind, r, error);
		v = json_object_is_type(o, json_type_object)
			    ? jcheck_field(&c, o, NULL, "finished", json_type_boolean, false)
			    : NULL;
		finished = v && json_object_get_boolean(v);
		json_object_put(o);
		free(c.error);
		if (!finished)
			return engine_verdict(
				e, GK_EXIT_PRECONDITION,
				"an interrupted %s must be finished first (its journal is %s/%s): "
				"run 'gpukeep %s' to finish it; nothing was changed",
				x->kind, e->o->state_dir, x->file, x->kind);
	}
	return 0;
}

/* The journal's steps in the table's order, by name: a step the journal lacks is pending. */
static void adopt_steps(struct gk_engine *e, struct gk_journal *old)
{
	struct gk_journal *j = e->j;

	j->n_steps = e->p->n_steps;
	for (size_t i = 0; i < e->p->n_steps; i++) {
		int k = journal_find_step(old, e->p->steps[i].name);

		snprintf(j->steps[i].name, sizeof(j->steps[i].name), "%s", e->p->steps[i].name);
		if (k < 0)
			continue;
		j->steps[i].status = old->steps[k].status;
		j->steps[i].ms = old->steps[k].ms;
		j->steps[i].detail = TAKE_PTR(old->steps[k].detail);
	}
}

static void fresh_journal(struct gk_engine *e)
{
	struct gk_journal *j = e->j;

	journal_done(j);
	snprintf(j->kind, sizeof(j->kind), "%s", e->p->kind);
	j->version = GK_JOURNAL_VERSION;
	j->pid = getpid();
	j->started = (long long)time(NULL);
	j->runs = 1;
	j->n_steps = e->p->n_steps;
	for (size_t i = 0; i < e->p->n_steps; i++)
		snprintf(j->steps[i].name, sizeof(j->steps[i].name), "%s", e->p->steps[i].name);
}

/* Reads our own journal: a fresh one, the one to resume, or a refusal. */
static int open_journal(struct gk_engine *e)
{
	_cleanup_free_ char *error = NULL;
	_cleanup_free_ char **names = step_names(e->p);
	struct gk_journal old = {};
	int r;

	if (!names)
		return -ENOMEM;
	fresh_journal(e);
	r = journal_read(e, e->p->journal, e->p->kind, (const char *const *)names, &old, &error);
	if (r == -ENOENT)
		return 0;
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		return refuse_journal(e, e->p->journal, e->p->kind, r, error);
	if (old.finished) {
		/* a run that ended (rolled back) without retiring its journal: nothing to resume */
		journal_done(&old);
		if (!e->o->dry_run)
			(void)renameat(e->o->state_dirfd, e->p->journal, e->o->state_dirfd,
				       e->p->journal_last);
		return 0;
	}
	adopt_steps(e, &old);
	r = e->p->load_record ? e->p->load_record(e, old.record, &error) : 0;
	if (r < 0) {
		journal_done(&old);
		fresh_journal(e);
		return r == -ENOMEM
			       ? r
			       : refuse_journal(e, e->p->journal, e->p->kind, NOT_RESUMABLE, error);
	}
	e->j->started = old.started;
	e->j->runs = old.runs + 1;
	e->res->resumed = true;
	if (e->p->resume)
		e->p->resume(e);
	if (e->o->dry_run)
		engine_say(e,
			   "plan (dry run, nothing is changed): a real run would resume the %s "
			   "last run by pid %d (run %u), from its journal %s/%s:",
			   e->p->kind, (int)old.pid, old.runs, e->o->state_dir, e->p->journal);
	else
		engine_say(e, "resuming the %s last run by pid %d (now run %u): finishing its job",
			   e->p->kind, (int)old.pid, e->j->runs);
	journal_done(&old);
	return 0;
}

/* Whether journal @file names @pid as its last writer. */
static bool journal_of(struct gk_engine *e, const char *file, pid_t pid)
{
	struct json_object *o = NULL, *v = NULL;
	bool match;

	if (json_parse_file_at(e->o->state_dirfd, file, JOURNAL_MAX_SIZE, &o, NULL) < 0)
		return false;
	match = json_object_object_get_ex(o, "pid", &v) && json_object_is_type(v, json_type_int) &&
		json_object_get_int(v) == pid;
	json_object_put(o);
	return match;
}

/* Who holds the node lock: the procedure whose journal names that pid, if any. */
static const char *lock_holder_kind(struct gk_engine *e, pid_t holder)
{
	if (journal_of(e, e->p->journal, holder))
		return e->p->kind;
	for (const struct gk_journal_ref *x = e->p->others; x && x->kind; x++)
		if (journal_of(e, x->file, holder))
			return x->kind;
	return NULL;
}

static int take_lock(struct gk_engine *e, int *ret_fd)
{
	pid_t holder = 0;
	const char *kind;
	int r;

	r = lockfile_take(e->o->state_dirfd, GK_NODE_LOCK, ret_fd, &holder);
	if (r == -EBUSY) {
		kind = lock_holder_kind(e, holder);
		return engine_verdict(e, GK_EXIT_PRECONDITION,
				      "another %s is running (pid %d); one reset or reload at a "
				      "time per node",
				      kind ? kind : "gpukeep procedure", (int)holder);
	}
	if (r < 0)
		return engine_verdict(e, GK_EXIT_PRECONDITION,
				      "cannot take the node lock %s/%s: %s", e->o->state_dir,
				      GK_NODE_LOCK, strerror(-r));
	return 0;
}

/* Kept as the last run's record, not to be resumed. */
static void retire(struct gk_engine *e)
{
	e->j->finished = true;
	if (journal_write(e) == 0)
		(void)renameat(e->o->state_dirfd, e->p->journal, e->o->state_dirfd,
			       e->p->journal_last);
}

static bool has_run(const struct gk_journal_step *s)
{
	return s->status == GK_STEP_DONE || s->status == GK_STEP_RUNNING ||
	       s->status == GK_STEP_FAILED;
}

/* Undoes the steps up to @upto in reverse. Exit 1 when the node is as it was, else 4. */
static int roll_back(struct gk_engine *e, size_t upto)
{
	_cleanup_free_ char *why = strdup(strna(e->res->error));
	_cleanup_strv_free_ char **failed = calloc(1, sizeof(char *));
	_cleanup_free_ char *list = NULL;

	if (!why || !failed)
		return -ENOMEM;
	engine_say(e, "rolling back: %s", why);
	for (size_t i = upto + 1; i > 0; i--) {
		const struct gk_step *st = &e->p->steps[i - 1];
		struct gk_journal_step *s = &e->j->steps[i - 1];
		_cleanup_free_ char *what = NULL;

		if (!has_run(s))
			continue;
		if (!st->undo) {
			if (st->changes_node && strv_extend(&failed, st->name) < 0)
				return -ENOMEM;
			continue;
		}
		if (st->undo(e, &what) < 0) {
			if (strv_extend(&failed, what ? what : st->name) < 0)
				return -ENOMEM;
			continue;
		}
		s->status = GK_STEP_UNDONE;
		engine_say(e, "  undone: %s", st->name);
	}
	if (!*failed) {
		retire(e);
		return engine_verdict(e, GK_EXIT_FAILED, "%s; rolled back: %s", why,
				      e->p->rolled_back);
	}
	list = strv_join(failed, ", ");
	/* the journal stays: the next run resumes from it */
	(void)journal_write(e);
	return engine_verdict(e, GK_EXIT_NEEDS_PERSON,
			      "%s; the roll back failed too (%s): the node needs a person", why,
			      strna(list));
}

static bool changed_anything(const struct gk_engine *e)
{
	for (size_t i = 0; i < e->p->n_steps; i++)
		if (e->p->steps[i].changes_node && has_run(&e->j->steps[i]))
			return true;
	return false;
}

/* After step @i failed with @r. */
static int failed(struct gk_engine *e, size_t i, int r)
{
	if (r == GK_EXIT_PRECONDITION && !changed_anything(e)) {
		/* refused before changing anything: no journal to resume */
		if (e->wrote)
			(void)unlinkat(e->o->state_dirfd, e->p->journal, 0);
		return r;
	}
	if (r == GK_EXIT_NEEDS_PERSON) {
		if (e->p->steps[i].final)
			retire(e);
		else
			(void)journal_write(e);
		return r;
	}
	return roll_back(e, i);
}

static int run_step(struct gk_engine *e, size_t i)
{
	const struct gk_step *st = &e->p->steps[i];
	struct gk_journal_step *s = &e->j->steps[i];
	const struct gk_engine_ops *ops = e->o->ops;
	uint64_t t0 = engine_now_ms(e);
	char *detail = NULL;
	int r;

	if (s->status == GK_STEP_DONE) {
		engine_say(e, "step %zu/%zu: %s: done by an earlier run", i + 1, e->p->n_steps,
			   st->name);
		return 0;
	}
	s->status = GK_STEP_RUNNING;
	r = engine_sync(e);
	if (r != 0)
		return r;
	r = st->apply(e, &detail);
	s->ms = (unsigned)(engine_now_ms(e) - t0);
	s->status = r == 0 ? GK_STEP_DONE : GK_STEP_FAILED;
	free(s->detail);
	s->detail = detail ? detail : strdup(r == 0 ? "ok" : strna(e->res->error));
	engine_say(e, "step %zu/%zu: %s: %s (%u ms)", i + 1, e->p->n_steps, st->name,
		   r == 0 ? strna(s->detail) : "FAILED", s->ms);
	if (r == 0)
		r = engine_sync(e);
	if (ops->after_step)
		ops->after_step(ops->userdata, e->p->kind, st->name);
	return r;
}

static int run_real(struct gk_engine *e)
{
	int r;

	r = check_others(e);
	if (r == 0)
		r = open_journal(e);
	for (size_t i = 0; r == 0 && i < e->p->n_steps; i++) {
		r = run_step(e, i);
		if (r > 0)
			r = failed(e, i, r);
	}
	if (r == 0)
		retire(e);
	return r;
}

/* The resume a real run would do, from the journal. */
static void dry_resume(struct gk_engine *e)
{
	for (size_t i = 0; i < e->p->n_steps; i++)
		if (e->j->steps[i].status == GK_STEP_DONE)
			engine_say(e, "  step %zu/%zu: %s: done by an earlier run", i + 1,
				   e->p->n_steps, e->p->steps[i].name);
		else
			engine_say(e, "  step %zu/%zu: %s", i + 1, e->p->n_steps,
				   e->p->steps[i].help);
}

static int run_dry(struct gk_engine *e)
{
	_cleanup_free_ char *refusal = NULL;
	int first = 0, r;

	r = check_others(e);
	if (r == 0)
		r = open_journal(e);
	if (r != 0)
		return r;
	if (e->res->resumed) {
		dry_resume(e);
		return 0;
	}
	engine_say(e, "plan (dry run, nothing is changed):");
	for (size_t i = 0; i < e->p->n_steps; i++) {
		_cleanup_free_ char *plan = NULL;

		r = e->p->steps[i].check ? e->p->steps[i].check(e, &plan) : 0;
		if (r < 0)
			return r;
		if (r > 0 && first == 0) {
			first = r;
			refusal = strdup(strna(e->res->error));
		}
		engine_say(e, "  step %zu/%zu: %s", i + 1, e->p->n_steps,
			   plan ? plan : e->p->steps[i].help);
	}
	if (first != 0) {
		engine_say(e, "  would refuse: %s", strna(refusal));
		e->res->exit = first;
	}
	return first;
}

int engine_run(const struct gk_procedure *p, const struct gk_engine_opts *o, void *ctx,
	       struct gk_engine_result *ret)
{
	struct gk_engine e = {.p = p, .o = o, .ctx = ctx, .res = ret};
	_cleanup_close_ int lockfd = -EBADF;
	int r;

	*ret = (struct gk_engine_result){};
	e.j = &ret->journal;
	if (o->dry_run)
		r = run_dry(&e);
	else {
		r = take_lock(&e, &lockfd);
		if (r == 0)
			r = run_real(&e);
	}
	if (r > 0)
		ret->exit = r;
	return r < 0 ? r : 0;
}

void engine_result_done(struct gk_engine_result *r)
{
	free(r->error);
	journal_done(&r->journal);
	*r = (struct gk_engine_result){};
}

int engine_run_root(const struct gk_procedure *p, const struct gk_engine_opts *o, const char *root,
		    int *rootfd, void *ctx, struct gk_engine_result *ret)
{
	int r;

	*rootfd = root_open(root);
	if (*rootfd < 0) {
		ret->exit = GK_EXIT_USAGE;
		ret->error = strdup_printf("cannot open root %s: %s", root, strerror(-*rootfd));
		return ret->error ? 0 : -ENOMEM;
	}
	r = engine_run(p, o, ctx, ret);
	*rootfd = safe_close(*rootfd);
	return r;
}
