// SPDX-License-Identifier: GPL-2.0-or-later
/* Reload steps shared by the runner: progress, verdicts, the journal, the plan and its refusals,
 * and the roll back. The steps that change the node are in reload-apply.c. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/gk-exit.h"
#include "fileio.h"
#include "macro.h"
#include "node/holders-stop.h"
#include "node/holders.h"
#include "node/inventory.h"
#include "procedure/reload-effects.h"
#include "procedure/reload-nvml.h"
#include "procedure/reload-steps.h"
#include "string-util.h"

void reload_say(struct reload_ctx *c, const char *fmt, ...)
{
	char line[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (c->o->say)
		c->o->say(c->o->userdata, line);
}

int reload_verdict(struct reload_ctx *c, int exit, const char *fmt, ...)
{
	va_list ap;

	free(c->res->error);
	va_start(ap, fmt);
	if (vasprintf(&c->res->error, fmt, ap) < 0)
		c->res->error = NULL;
	va_end(ap);
	c->res->exit = exit;
	return exit;
}

int reload_journal_sync(struct reload_ctx *c)
{
	int r = journal_save(c->o->state_dirfd, GK_JOURNAL_FILE, c->j);

	if (r < 0)
		return reload_verdict(c, GK_EXIT_NEEDS_PERSON, "cannot write the journal: %s",
				      strerror(-r));
	return 0;
}

unsigned long long reload_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000 + (unsigned long long)ts.tv_nsec / 1000000;
}

/* A comma-separated copy of a strv, for messages. */
char *reload_join(char *const *l)
{
	size_t n = 1;
	char *s;

	for (char *const *p = l; p && *p; p++)
		n += strlen(*p) + 2;
	s = calloc(1, n);
	for (char *const *p = l; s && p && *p; p++) {
		strcat(s, *p);
		if (p[1])
			strcat(s, ", ");
	}
	return s;
}

int reload_scan_holders(struct reload_ctx *c, struct gk_holders **ret)
{
	_cleanup_nodeset_free_ struct gk_nodeset *nodes = NULL;
	int r;

	r = nodeset_scan(c->rootfd, &nodes);
	if (r >= 0)
		r = holders_scan(c->rootfd, nodes, getpid(), ret);
	if (r < 0)
		return reload_verdict(c, GK_EXIT_FAILED, "cannot scan for GPU holders: %s",
				      strerror(-r));
	return 0;
}

#define MAX_NAMED 8

/* "pid 12 (python3), systemctl stop x.service, ... and 40 more", or "nothing"; @daemon (the
 * persistence daemon, released through its socket) is not something to stop. */
char *reload_describe_holders(const struct gk_holders *h, pid_t daemon)
{
	_cleanup_strv_free_ char **stop = NULL;
	struct gk_holders others = {.holders = calloc(h->n + 1, sizeof(*h->holders))};
	size_t n;
	char *s, *more;

	if (!others.holders)
		return NULL;
	for (size_t i = 0; i < h->n; i++)
		if (h->holders[i].pid != daemon)
			others.holders[others.n++] = h->holders[i];
	if (holders_stop_list(&others, &stop) < 0) {
		free(others.holders);
		return NULL;
	}
	free(others.holders);
	n = strv_length(stop);
	if (n == 0)
		return strdup("nothing");
	for (size_t i = MAX_NAMED; i < n; i++) {
		free(stop[i]);
		stop[i] = NULL;
	}
	s = reload_join(stop);
	if (!s || n <= MAX_NAMED)
		return s;
	more = strdup_printf("%s and %zu more (see 'gpukeep holders')", s, n - MAX_NAMED);
	free(s);
	return more;
}

int reload_make_plan(struct reload_ctx *c, bool kill, struct gk_reload_plan *plan,
		     struct gk_holders **ret_holders)
{
	_cleanup_(inventory_done) struct gk_inventory inv = {};
	pid_t daemon;
	int r;

	r = inventory_scan(c->rootfd, &inv);
	if (r < 0)
		return reload_verdict(c, GK_EXIT_FAILED, "cannot read the node: %s", strerror(-r));
	r = reload_scan_holders(c, ret_holders);
	if (r != 0)
		return r;
	daemon = daemon_pid_at(c->o->socket);
	r = reload_plan_make(&inv.modules, *ret_holders, daemon > 0 ? daemon : 0, kill, plan);
	if (r < 0)
		return reload_verdict(c, GK_EXIT_FAILED, "cannot plan the reload: %s",
				      strerror(-r));
	return 0;
}

static int refuse(struct reload_ctx *c, const struct gk_reload_plan *p, const struct gk_holders *h)
{
	_cleanup_free_ char *who = reload_describe_holders(h, p->daemon_pid);

	switch (p->refusal) {
	case GK_REFUSE_NO_DRIVER:
		return reload_verdict(c, GK_EXIT_PRECONDITION,
				      "the nvidia module is not loaded: nothing to reload (load it "
				      "with 'modprobe nvidia')");
	case GK_REFUSE_UNKILLABLE:
		return reload_verdict(
			c, GK_EXIT_PRECONDITION,
			"a GPU holder is in uninterruptible sleep (D state) and cannot "
			"be stopped, so the driver cannot be unloaded: %s; the node "
			"needs a reboot",
			strna(who));
	case GK_REFUSE_HOLDERS:
		return reload_verdict(
			c, GK_EXIT_PRECONDITION,
			"the GPUs are in use: %s; stop them, or rerun with --kill to "
			"stop them (units through systemctl, processes by SIGTERM then "
			"SIGKILL)",
			strna(who));
	default:
		return 0;
	}
}

int reload_dry_run(struct reload_ctx *c)
{
	_cleanup_holders_free_ struct gk_holders *h = NULL;
	_cleanup_free_ char *units = NULL, *unload = NULL, *load = NULL, *procs = NULL;
	struct gk_reload_plan p = {};
	int r;

	r = reload_make_plan(c, c->o->kill, &p, &h);
	if (r != 0)
		return r;
	units = reload_join(p.units);
	unload = reload_join(p.unload);
	load = reload_join(p.load);
	reload_say(c, "plan (dry run, nothing is changed):");
	reload_say(c, "  gpukeepd: %s",
		   p.daemon_pid ? "asked to release its devices, then to "
				  "re-acquire them"
				: "not running");
	reload_say(c, "  units to stop and start again: %s", units && *units ? units : "none");
	procs = reload_describe_holders(h, p.daemon_pid);
	reload_say(c, "  processes to stop (SIGTERM, %u s grace, SIGKILL): %zu%s%s",
		   c->o->grace_ms / 1000, p.n_pids, p.n_pids ? ": " : "",
		   p.n_pids ? strna(procs) : "");
	reload_say(c, "  unload, leaves first: %s", strna(unload));
	reload_say(c, "  load, in dependency order: %s", strna(load));
	reload_say(c, "  validate against: %s",
		   c->o->baseline_path ? c->o->baseline_path : "the node as it is now");
	r = refuse(c, &p, h);
	if (r != 0)
		reload_say(c, "  would refuse: %s", c->res->error);
	reload_plan_done(&p);
	return r;
}

/* Appends "m.p=value" for each readable parameter of module @m. */
static int record_params(struct reload_ctx *c, const char *m, char ***l)
{
	_cleanup_free_ char *dir = strdup_printf("sys/module/%s/parameters", m);
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;

	if (!dir)
		return -ENOMEM;
	if (opendir_at(c->rootfd, dir, (void **)&d) < 0)
		return 0; /* a module without parameters has no such directory */
	while ((de = readdir(d))) {
		_cleanup_free_ char *path = NULL, *entry = NULL;
		char value[256];

		if (de->d_name[0] == '.')
			continue;
		path = strdup_printf("%s/%s", dir, de->d_name);
		if (!path)
			return -ENOMEM;
		if (read_attr_at(c->rootfd, path, value, sizeof(value)) < 0)
			continue; /* write-only or unreadable: not known */
		entry = strdup_printf("%s.%s=%s", m, de->d_name, value);
		if (!entry || strv_extend(l, entry) < 0)
			return -ENOMEM;
	}
	return 0;
}

int reload_begin(struct reload_ctx *c)
{
	_cleanup_(inventory_done) struct gk_inventory inv = {};
	_cleanup_free_ char *nvml = NULL;
	struct gk_journal *j = c->j;
	unsigned long long t0 = reload_now_ms();
	int r;

	r = inventory_scan(c->rootfd, &inv);
	if (r < 0)
		return reload_verdict(c, GK_EXIT_FAILED, "cannot read the node: %s", strerror(-r));
	if (!modlist_find(&inv.modules, "nvidia"))
		return reload_verdict(c, GK_EXIT_PRECONDITION,
				      "the nvidia module is not loaded: nothing to reload (load it "
				      "with 'modprobe nvidia')");
	*j = (struct gk_journal){.pid = getpid(), .started = (long long)time(NULL), .runs = 1};
	if (baseline_from_inventory(&inv, &j->before) < 0 ||
	    modgraph_unload_order(&inv.modules, "nvidia", &j->unload_order) < 0 ||
	    !(j->units = calloc(1, sizeof(char *))) ||
	    !(j->module_params = calloc(1, sizeof(char *))) ||
	    !(j->daemon_socket = strdup(c->o->socket)))
		return reload_verdict(c, GK_EXIT_FAILED, "cannot record the node: out of memory");
	for (char **m = j->unload_order; *m; m++)
		if (record_params(c, *m, &j->module_params) < 0)
			return reload_verdict(c, GK_EXIT_FAILED,
					      "cannot record the node: out of memory");
	j->n_steps = reload_step_count;
	for (size_t i = 0; i < reload_step_count; i++)
		snprintf(j->steps[i].name, sizeof(j->steps[i].name), "%s", reload_step_names[i]);
	r = reload_nvml_snapshot(c, &nvml);
	if (r < 0)
		return reload_verdict(c, GK_EXIT_FAILED, "cannot record the node: out of memory");
	j->steps[0].status = GK_STEP_DONE;
	j->steps[0].detail =
		strdup_printf("journal written: %zu GPU(s), %zu module(s); %s", j->before.n_gpus,
			      strv_length(j->unload_order), strna(nvml));
	j->steps[0].ms = (unsigned)(reload_now_ms() - t0);
	r = reload_journal_sync(c);
	if (r != 0)
		return r;
	reload_say(c, "step 1/%u: lock: %s (%u ms)", reload_step_count, strna(j->steps[0].detail),
		   j->steps[0].ms);
	return 0;
}

int step_preflight(struct reload_ctx *c, char **ret_detail)
{
	_cleanup_holders_free_ struct gk_holders *h = NULL;
	struct gk_reload_plan p = {};
	int r;

	r = reload_make_plan(c, c->o->kill, &p, &h);
	if (r != 0)
		return r;
	r = refuse(c, &p, h);
	if (r == 0)
		*ret_detail =
			strdup_printf("%zu holder(s): %zu unit(s) to stop, %zu process(es) to "
				      "stop, gpukeepd %s",
				      h->n, strv_length(p.units), p.n_pids,
				      p.daemon_pid ? "running" : "not running");
	reload_plan_done(&p);
	return r;
}

/* Puts the node back as it was before the stop step: daemon re-acquires, units start. */
int reload_restore_services(struct reload_ctx *c, char **ret_failed)
{
	_cleanup_strv_free_ char **failed = calloc(1, sizeof(char *));
	int r;

	if (!failed)
		return -ENOMEM;
	if (c->j->daemon_released) {
		r = daemon_release_all(c->j->daemon_socket, true);
		if (r < 0 && strv_extend(&failed, "gpukeepd (re-acquire)") < 0)
			return -ENOMEM;
		if (r >= 0)
			c->j->daemon_released = false;
	}
	for (char **u = c->j->units; *u; u++)
		if (unit_stop_start(c->o->systemctl, *u, true) != 0 && strv_extend(&failed, *u) < 0)
			return -ENOMEM;
	*ret_failed = *failed ? reload_join(failed) : NULL;
	return *failed ? -EIO : 0;
}

/* Undo of the stop (and unload) steps when the reload cannot go on: exit 1 if the node is back
 * as it was, else 4. */
int reload_roll_back(struct reload_ctx *c, bool reload_modules, const char *why)
{
	_cleanup_free_ char *failed = NULL;
	bool ok = true;

	reload_say(c, "rolling back: %s", why);
	for (size_t i = strv_length(c->j->unload_order); reload_modules && i > 0; i--)
		ok &= c->o->modops->load(c->o->modops->userdata, c->j->unload_order[i - 1]) >= 0;
	ok &= reload_restore_services(c, &failed) >= 0;
	c->j->finished = ok;
	if (ok)
		return reload_verdict(c, GK_EXIT_FAILED,
				      "%s; rolled back: the driver, gpukeepd and "
				      "the stopped units are as they were",
				      why);
	return reload_verdict(c, GK_EXIT_NEEDS_PERSON,
			      "%s; the roll back failed too (%s): the "
			      "node needs a person",
			      why, failed ? failed : "modules");
}
