// SPDX-License-Identifier: GPL-2.0-or-later
/* The reload's first steps: what it observes, its record of the node, the preflight and the stop
 * of the GPU holders (with its undo). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/gk-exit.h"
#include "fileio.h"
#include "macro.h"
#include "node/holders-stop.h"
#include "procedure/reload-steps.h"
#include "spawn-util.h"
#include "string-util.h"

#define DAEMON_TIMEOUT_MS  30000  /* releasing is quick; re-acquiring opens every GPU */
#define COMMAND_TIMEOUT_MS 120000 /* systemctl stop waits for TimeoutStopSec (90 s default) */
#define STOP_ROUNDS	   3
#define MAX_NAMED	   8

void reload_forget(struct reload_ctx *c)
{
	inventory_done(&c->inv);
	c->have_inv = false;
	c->holders = holders_free(c->holders);
	c->daemon_pid = 0;
}

int reload_observe(struct gk_engine *e, bool holders)
{
	struct reload_ctx *c = reload_ctx(e);
	pid_t pid;
	int r;

	if (!c->have_inv) {
		r = c->ops->inventory(c->ops->userdata, c->rootfd, &c->inv);
		if (r < 0)
			return engine_verdict(e, GK_EXIT_FAILED, "cannot read the node: %s",
					      strerror(-r));
		c->have_inv = true;
	}
	if (!holders || c->holders)
		return 0;
	r = c->ops->holders(c->ops->userdata, c->rootfd, &c->holders);
	if (r < 0)
		return engine_verdict(e, GK_EXIT_FAILED, "cannot scan for GPU holders: %s",
				      strerror(-r));
	pid = c->ops->daemon_pid(c->ops->userdata, c->o->socket, DAEMON_TIMEOUT_MS);
	c->daemon_pid = pid > 0 ? pid : 0;
	return 0;
}

char *reload_describe_holders(const struct gk_holders *h, pid_t daemon)
{
	_cleanup_strv_free_ char **stop = NULL;
	_cleanup_free_ char *s = NULL;
	struct gk_holders others = {.holders = calloc(h->n + 1, sizeof(*h->holders))};
	size_t n;

	if (!others.holders)
		return NULL;
	for (size_t i = 0; i < h->n; i++)
		if (holder_stop_how(&h->holders[i], daemon) != GK_STOP_DAEMON)
			others.holders[others.n++] = h->holders[i];
	n = holders_stop_list(&others, &stop) < 0 ? SIZE_MAX : strv_length(stop);
	free(others.holders);
	if (n == SIZE_MAX)
		return NULL;
	if (n == 0)
		return strdup("nothing");
	for (size_t i = MAX_NAMED; i < n; i++) {
		free(stop[i]);
		stop[i] = NULL;
	}
	s = strv_join(stop, ", ");
	if (!s || n <= MAX_NAMED)
		return TAKE_PTR(s);
	return strdup_printf("%s and %zu more (see 'gpukeep holders')", s, n - MAX_NAMED);
}

int reload_command(struct reload_ctx *c, char *const argv[], char **ret_why)
{
	_cleanup_free_ char *cmd = strv_join(argv, " ");
	int r;

	r = c->ops->spawn(c->ops->userdata, argv, 0, COMMAND_TIMEOUT_MS);
	if (r == 0)
		return 0;
	if (r == -ETIMEDOUT)
		*ret_why = strdup_printf("'%s' did not finish within its deadline of %d s and was "
					 "killed; see why it hangs (journalctl, the runtime's "
					 "logs)",
					 strna(cmd), COMMAND_TIMEOUT_MS / 1000);
	else if (r < 0)
		*ret_why = strdup_printf("cannot run '%s': %s", strna(cmd), strerror(-r));
	else
		*ret_why = strdup_printf("'%s' failed (exit %d)", strna(cmd), r);
	return r < 0 ? r : -EIO;
}

#define NO_DRIVER                                                                                  \
	"the nvidia module is not loaded: nothing to reload (load it with 'modprobe nvidia')"

static int refuse(struct gk_engine *e, const struct gk_reload_plan *p, const struct gk_holders *h)
{
	_cleanup_free_ char *who = NULL;

	if (p->refusal == GK_REFUSE_NONE)
		return 0;
	if (p->refusal == GK_REFUSE_NO_DRIVER)
		return engine_verdict(e, GK_EXIT_PRECONDITION, NO_DRIVER);
	who = reload_describe_holders(h, p->daemon_pid);
	if (p->refusal == GK_REFUSE_UNKILLABLE)
		return engine_verdict(
			e, GK_EXIT_PRECONDITION,
			"a GPU holder is in uninterruptible sleep (D state) and "
			"cannot be stopped, so the driver cannot be unloaded: %s; the "
			"node needs a reboot",
			strna(who));
	return engine_verdict(e, GK_EXIT_PRECONDITION,
			      "the GPUs are in use: %s; stop them, or rerun with --kill to stop "
			      "them (units through systemctl, containers through their runtime, "
			      "processes by SIGTERM then SIGKILL)",
			      strna(who));
}

/* The plan from this step's observation. 0 or the exit code. */
static int plan(struct gk_engine *e, bool kill, struct gk_reload_plan *ret)
{
	struct reload_ctx *c = reload_ctx(e);
	int r;

	r = reload_observe(e, true);
	if (r != 0)
		return r;
	r = reload_plan_make(&c->inv.modules, c->holders, c->daemon_pid, kill, ret);
	if (r < 0)
		return engine_verdict(e, GK_EXIT_FAILED, "cannot plan the reload: %s",
				      strerror(-r));
	return 0;
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

static int record_node(struct reload_ctx *c)
{
	struct reload_record *rec = &c->rec;

	reload_record_done(rec);
	if (baseline_from_inventory(&c->inv, &rec->before) < 0 ||
	    modgraph_unload_order(&c->inv.modules, "nvidia", &rec->unload_order) < 0 ||
	    !(rec->units = calloc(1, sizeof(char *))) ||
	    !(rec->containers = calloc(1, sizeof(char *))) ||
	    !(rec->module_params = calloc(1, sizeof(char *))) ||
	    !(rec->daemon_socket = strdup(c->o->socket)))
		return -ENOMEM;
	for (char **m = rec->unload_order; *m; m++)
		if (record_params(c, *m, &rec->module_params) < 0)
			return -ENOMEM;
	return 0;
}

int step_lock_check(struct gk_engine *e, char **ret_plan)
{
	struct reload_ctx *c = reload_ctx(e);
	_cleanup_strv_free_ char **order = NULL;
	int r;

	r = reload_observe(e, false);
	if (r != 0)
		return r;
	r = modgraph_unload_order(&c->inv.modules, "nvidia", &order);
	*ret_plan = strdup_printf("lock: take the node lock; journal %zu GPU(s), %d module(s)%s",
				  c->inv.n_gpus, MAX(r, 0),
				  c->o->nvml ? ", NVML settings and NVLinks" : "");
	return 0;
}

int step_lock(struct gk_engine *e, char **ret_detail)
{
	struct reload_ctx *c = reload_ctx(e);
	_cleanup_free_ char *nvml = NULL;
	int r;

	reload_forget(c);
	r = reload_observe(e, false);
	if (r != 0)
		return r;
	if (!modlist_find(&c->inv.modules, "nvidia"))
		return engine_verdict(e, GK_EXIT_PRECONDITION, NO_DRIVER);
	if (record_node(c) < 0)
		return engine_verdict(e, GK_EXIT_FAILED, "cannot record the node: out of memory");
	r = reload_nvml_snapshot(e, &nvml);
	if (r < 0)
		return engine_verdict(e, GK_EXIT_FAILED, "cannot record the node: out of memory");
	*ret_detail =
		strdup_printf("journal written: %zu GPU(s), %zu module(s); %s",
			      c->rec.before.n_gpus, strv_length(c->rec.unload_order), strna(nvml));
	return 0;
}

int step_preflight_check(struct gk_engine *e, char **ret_plan)
{
	struct reload_ctx *c = reload_ctx(e);
	struct gk_reload_plan p = {};
	int r;

	r = plan(e, c->o->kill, &p);
	if (r != 0)
		return r;
	*ret_plan = strdup_printf("preflight: %zu holder(s) of the NVIDIA device files, gpukeepd "
				  "%s",
				  c->holders->n, p.daemon_pid ? "running" : "not running");
	r = refuse(e, &p, c->holders);
	reload_plan_done(&p);
	return r;
}

int step_preflight(struct gk_engine *e, char **ret_detail)
{
	struct reload_ctx *c = reload_ctx(e);
	struct gk_reload_plan p = {};
	int r;

	reload_forget(c);
	r = plan(e, c->o->kill, &p);
	if (r != 0)
		return r;
	r = refuse(e, &p, c->holders);
	if (r == 0)
		*ret_detail = strdup_printf("%zu holder(s): %zu unit(s) to stop, %zu container(s) "
					    "to stop, %zu process(es) to stop, gpukeepd %s",
					    c->holders->n, strv_length(p.units),
					    strv_length(p.containers), p.n_pids,
					    p.daemon_pid ? "running" : "not running");
	reload_plan_done(&p);
	return r;
}

int step_stop_check(struct gk_engine *e, char **ret_plan)
{
	struct reload_ctx *c = reload_ctx(e);
	_cleanup_free_ char *units = NULL, *containers = NULL, *procs = NULL;
	struct gk_reload_plan p = {};
	int r;

	r = plan(e, c->o->kill, &p);
	if (r != 0)
		return r;
	units = strv_join(p.units, ", ");
	containers = strv_join(p.containers, ", ");
	procs = reload_describe_holders(c->holders, p.daemon_pid);
	*ret_plan = strdup_printf(
		"stop: gpukeepd %s; units to stop and start again: %s; containers to stop: %s; "
		"processes to stop (SIGTERM, %u s grace, SIGKILL): %zu%s%s",
		p.daemon_pid ? "asked to release its devices, then to re-acquire them"
			     : "not running",
		units && *units ? units : "none", containers && *containers ? containers : "none",
		c->o->grace_ms / 1000, p.n_pids, p.n_pids ? ": " : "",
		p.n_pids ? strna(procs) : "");
	reload_plan_done(&p);
	return 0;
}

static void countdown(unsigned left, size_t alive, void *userdata)
{
	engine_say(userdata, "  waiting for %zu process(es) to exit: SIGKILL in %u s", alive, left);
}

/* Records @what in @l and the journal before acting on it: a crash after the stop still
 * starts it again. 0 or the exit code. */
static int record_then(struct gk_engine *e, char ***l, const char *what)
{
	if (!strv_contains(*l, what) && strv_extend(l, what) < 0)
		return engine_verdict(e, GK_EXIT_FAILED, "out of memory");
	return engine_sync(e);
}

static int stop_services(struct gk_engine *e, const struct gk_reload_plan *p)
{
	struct reload_ctx *c = reload_ctx(e);
	int r;

	for (char **u = p->units; *u; u++) {
		_cleanup_free_ char *why = NULL;
		char *argv[] = {(char *)c->o->systemctl, "stop", *u, NULL};

		r = record_then(e, &c->rec.units, *u);
		if (r == 0 && reload_command(c, argv, &why) < 0)
			r = engine_verdict(e, GK_EXIT_FAILED, "cannot stop %s: %s", *u, strna(why));
		if (r != 0)
			return r;
	}
	for (char **x = p->containers; *x; x++) {
		_cleanup_free_ char *why = NULL, *runtime = strdup(*x);
		char *id = runtime ? strchr(runtime, ' ') : NULL;
		char *argv[] = {runtime, "stop", id ? id + 1 : NULL, NULL};

		if (!id)
			return engine_verdict(e, GK_EXIT_FAILED, "out of memory");
		*id = 0;
		r = record_then(e, &c->rec.containers, *x);
		if (r == 0 && reload_command(c, argv, &why) < 0)
			r = engine_verdict(e, GK_EXIT_FAILED, "cannot stop container %s: %s",
					   id + 1, strna(why));
		if (r != 0)
			return r;
	}
	return 0;
}

static int release_daemon(struct gk_engine *e)
{
	struct reload_ctx *c = reload_ctx(e);
	int r;

	c->rec.daemon_released = true;
	r = engine_sync(e);
	if (r != 0)
		return r;
	r = c->ops->daemon_release(c->ops->userdata, c->rec.daemon_socket, NULL, false,
				   DAEMON_TIMEOUT_MS);
	if (r == -ETIMEDOUT)
		return engine_verdict(e, GK_EXIT_FAILED,
				      "gpukeepd did not answer the release within %d s (see "
				      "'gpukeep status' and its log)",
				      DAEMON_TIMEOUT_MS / 1000);
	if (r < 0)
		return engine_verdict(e, GK_EXIT_FAILED, "gpukeepd did not release its devices: %s",
				      strerror(-r));
	return 0;
}

static int stop_round(struct gk_engine *e, unsigned round, size_t counts[3])
{
	struct reload_ctx *c = reload_ctx(e);
	struct gk_reload_plan p = {};
	int r;

	/* a resumed run stops whatever holds the GPUs now: the first run was allowed to */
	r = reload_plan_stops(c->holders, c->daemon_pid, c->o->kill || engine_resumed(e), &p);
	if (r < 0)
		return engine_verdict(e, GK_EXIT_FAILED, "out of memory");
	if (round == 0 && p.daemon_pid)
		r = release_daemon(e);
	if (r == 0 && round > 0 && p.refusal == GK_REFUSE_UNKILLABLE)
		r = engine_verdict(e, GK_EXIT_FAILED,
				   "a GPU holder went into uninterruptible sleep");
	if (r == 0)
		r = stop_services(e, &p);
	if (r == 0 && p.n_pids > 0) {
		int k = c->ops->terminate(c->ops->userdata, p.pids, p.n_pids, c->o->grace_ms,
					  countdown, e);
		if (k < 0)
			r = engine_verdict(e, GK_EXIT_FAILED, "cannot signal the GPU holders: %s",
					   strerror(-k));
	}
	counts[0] += strv_length(p.units);
	counts[1] += p.n_pids;
	counts[2] += strv_length(p.containers);
	reload_plan_done(&p);
	return r;
}

int step_stop(struct gk_engine *e, char **ret_detail)
{
	struct reload_ctx *c = reload_ctx(e);
	_cleanup_free_ char *who = NULL;
	size_t counts[3] = {};
	int r;

	reload_forget(c);
	r = reload_observe(e, true);
	for (unsigned round = 0; r == 0 && round < STOP_ROUNDS; round++) {
		r = stop_round(e, round, counts);
		/* processes can appear while others are stopped (a killed shell's child inherits
		 * its descriptors): the next round stops what holds the GPUs now */
		c->holders = holders_free(c->holders);
		if (r == 0)
			r = reload_observe(e, true);
		if (r == 0 && c->holders->n == 0)
			break;
	}
	if (r != 0)
		return r;
	if (c->holders->n > 0) {
		who = reload_describe_holders(c->holders, 0);
		return engine_verdict(e, GK_EXIT_FAILED,
				      "the GPUs are still held after %d rounds of stopping their "
				      "users: %s",
				      STOP_ROUNDS, strna(who));
	}
	*ret_detail = strdup_printf(
		"%s, %zu unit(s) stopped, %zu process(es) stopped, %zu container(s) stopped",
		c->rec.daemon_released ? "gpukeepd released its devices" : "no gpukeepd", counts[0],
		counts[1], counts[2]);
	return 0;
}

/* gpukeepd re-acquires, stopped units start: the undo of the stop, and the restore's first
 * half. 0, or -EIO with *ret_failed naming what did not come back. */
int step_stop_undo(struct gk_engine *e, char **ret_failed)
{
	struct reload_ctx *c = reload_ctx(e);
	_cleanup_strv_free_ char **failed = calloc(1, sizeof(char *));

	if (!failed)
		return -ENOMEM;
	if (c->rec.daemon_released) {
		int r = c->ops->daemon_release(c->ops->userdata, c->rec.daemon_socket, NULL, true,
					       DAEMON_TIMEOUT_MS);

		if (r < 0 && strv_extend(&failed, r == -ETIMEDOUT ? "gpukeepd (re-acquire: no "
								    "answer within 30 s)"
								  : "gpukeepd (re-acquire)") < 0)
			return -ENOMEM;
		if (r >= 0)
			c->rec.daemon_released = false;
	}
	for (char **u = c->rec.units; *u; u++) {
		_cleanup_free_ char *why = NULL;
		char *argv[] = {(char *)c->o->systemctl, "start", *u, NULL};

		if (reload_command(c, argv, &why) < 0 && strv_extend(&failed, why ? why : *u) < 0)
			return -ENOMEM;
	}
	if (!*failed)
		return 0;
	*ret_failed = strv_join(failed, ", ");
	return -EIO;
}
