// SPDX-License-Identifier: GPL-2.0-or-later
/* The reload runner. Every step is recorded in the journal before and after it runs, so a run
 * killed anywhere is finished by the next one from what the first knew: the node as it was, the
 * modules to load back, the units and the daemon to restore. Steps are idempotent. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/gk-exit.h"
#include "lockfile.h"
#include "macro.h"
#include "procedure/reload-steps.h"
#include "procedure/reload.h"
#include "root.h"
#include "string-util.h"

const char *const reload_step_names[] = {"lock", "preflight", "stop",	  "unload",
					 "load", "restore",   "validate", "report"};
const unsigned reload_step_count = ELEMENTSOF(reload_step_names);

enum { STEP_PREFLIGHT = 1, STEP_STOP = 2, STEP_UNLOAD = 3, STEP_VALIDATE = 6 };

/*
 * Fault injection for the crash-safety tests: GK_TEST_CRASH_AFTER=STEP kills this process with
 * SIGKILL right after STEP is journaled, as a power cut or an OOM kill would.
 */
static void crash_point(const char *step)
{
	const char *at = getenv("GK_TEST_CRASH_AFTER");

	if (at && streq(at, step))
		raise(SIGKILL);
}

typedef int (*step_fn)(struct reload_ctx *c, char **ret_detail);

static const step_fn step_fns[] = {
	NULL, /* lock: done before the journal exists */
	step_preflight, step_stop,     step_unload, step_load,
	step_restore,	step_validate, NULL, /* report: finishing the journal */
};

static int run_step(struct reload_ctx *c, size_t i)
{
	struct gk_journal_step *s = &c->j->steps[i];
	unsigned long long t0 = reload_now_ms();
	char *detail = NULL;
	int r;

	if (s->status == GK_STEP_DONE) {
		reload_say(c, "step %zu/%u: %s: done by an earlier run", i + 1, reload_step_count,
			   s->name);
		return 0;
	}
	s->status = GK_STEP_RUNNING;
	r = reload_journal_sync(c);
	if (r != 0)
		return r;
	r = step_fns[i](c, &detail);
	s->ms = (unsigned)(reload_now_ms() - t0);
	s->status = r == 0 ? GK_STEP_DONE : GK_STEP_FAILED;
	free(s->detail);
	s->detail = detail ? detail : strdup(r == 0 ? "ok" : strempty(c->res->error));
	reload_say(c, "step %zu/%u: %s: %s (%u ms)", i + 1, reload_step_count, s->name,
		   r == 0 ? strempty(s->detail) : "FAILED", s->ms);
	if (reload_journal_sync(c) != 0 && r == 0)
		return c->res->exit;
	crash_point(s->name);
	return r;
}

static int take_lock(struct reload_ctx *c)
{
	_cleanup_free_ char *error = NULL;
	pid_t holder = 0;
	int r;

	r = lockfile_take(c->o->state_dirfd, "reload.lock", &c->lockfd, &holder);
	if (r == -EBUSY)
		return reload_verdict(
			c, GK_EXIT_PRECONDITION,
			"another reload is running (pid %d); one reload at a time per node",
			(int)holder);
	if (r < 0)
		return reload_verdict(c, GK_EXIT_PRECONDITION, "cannot take the reload lock: %s",
				      strerror(-r));
	r = journal_load(c->o->state_dirfd, GK_JOURNAL_FILE, c->j, &error);
	if (r == -ENOENT)
		return 0;
	if (r == -EBADMSG)
		return reload_verdict(
			c, GK_EXIT_PRECONDITION,
			"the journal of an earlier reload (%s in the state directory) is "
			"corrupt: %s; nothing was changed: inspect it, and remove it once the "
			"node is known to be good",
			GK_JOURNAL_FILE, error);
	if (r < 0)
		return reload_verdict(c, GK_EXIT_PRECONDITION, "cannot read the journal: %s",
				      strerror(-r));
	if (c->j->finished) {
		/* a run that ended (rolled back) without retiring its journal: nothing to resume */
		journal_done(c->j);
		(void)renameat(c->o->state_dirfd, GK_JOURNAL_FILE, c->o->state_dirfd,
			       GK_JOURNAL_LAST);
		return 0;
	}
	c->res->resumed = true;
	c->j->runs++;
	/* until the driver is unloaded, new holders may have come (a service restarted, a job
	 * started): stop them again, as the first run was allowed to */
	if (c->j->n_steps > STEP_UNLOAD && c->j->steps[STEP_UNLOAD].status != GK_STEP_DONE)
		c->j->steps[STEP_STOP].status = GK_STEP_PENDING;
	reload_say(c, "resuming the reload last run by pid %d (now run %u): finishing its job",
		   (int)c->j->pid, c->j->runs);
	c->j->pid = getpid();
	return 0;
}

/* After the last step: the journal is kept as the last reload's record, not to be resumed. */
static void finish_journal(struct reload_ctx *c)
{
	c->j->finished = true;
	if (c->res->exit == GK_EXIT_OK)
		c->j->steps[reload_step_count - 1].status = GK_STEP_DONE;
	if (reload_journal_sync(c) == 0)
		(void)renameat(c->o->state_dirfd, GK_JOURNAL_FILE, c->o->state_dirfd,
			       GK_JOURNAL_LAST);
}

int reload_run(const struct gk_reload_opts *o, struct gk_reload_result *ret)
{
	struct reload_ctx c = {.o = o, .res = ret, .lockfd = -EBADF};
	bool wrote_journal = false;
	int r;

	*ret = (struct gk_reload_result){.diag = -1};
	c.j = &ret->journal;
	c.rootfd = root_open(o->root);
	if (c.rootfd < 0) {
		reload_verdict(&c, GK_EXIT_USAGE, "cannot open root %s: %s", o->root,
			       strerror(-c.rootfd));
		return 0;
	}
	r = o->dry_run ? reload_dry_run(&c) : take_lock(&c);
	if (r != 0 || o->dry_run)
		goto out;
	if (!ret->resumed) {
		r = reload_begin(&c);
		if (r != 0)
			goto out;
		wrote_journal = true;
	}
	for (size_t i = STEP_PREFLIGHT; i < reload_step_count - 1; i++) {
		r = run_step(&c, i);
		if (r == 0)
			continue;
		/* A failed validation ends the procedure: its verdict is the report, and a rerun
		 * is a new reload. A failed load or restore stays resumable: a rerun retries it. */
		if (i == STEP_VALIDATE)
			finish_journal(&c);
		goto out;
	}
	finish_journal(&c);
	reload_say(&c, "step %u/%u: report: the node matches its %s", reload_step_count,
		   reload_step_count, o->baseline_path ? "baseline" : "state before the reload");
out:
	if (r == GK_EXIT_PRECONDITION && wrote_journal)
		/* refused before changing anything: no journal to resume. Only ours: a refusal
		 * on the lock or on a corrupt journal must leave that journal alone. */
		(void)unlinkat(o->state_dirfd, GK_JOURNAL_FILE, 0);
	else if (r == GK_EXIT_FAILED && c.j->finished)
		/* rolled back: the node is as it was, the journal is a record, not a plan */
		finish_journal(&c);
	safe_close(c.lockfd);
	safe_close(c.rootfd);
	return r < 0 ? r : 0;
}

void reload_result_done(struct gk_reload_result *r)
{
	free(r->error);
	differences_done(&r->differences);
	journal_done(&r->journal);
	*r = (struct gk_reload_result){};
}
