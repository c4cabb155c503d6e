// SPDX-License-Identifier: GPL-2.0-or-later
/* Stopping GPU holders. Units are stopped through the service manager because a killed service
 * with Restart= comes back at once and holds the GPUs again. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/gk-exit.h"
#include "macro.h"
#include "node/holders-stop.h"
#include "procedure/stop.h"
#include "string-util.h"

#define MAX_NAMED 8

char *stop_describe(const struct gk_holders *h, pid_t daemon)
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

int stop_command(const struct gk_node_ops *ops, char *const argv[], unsigned timeout_ms,
		 char **ret_why)
{
	_cleanup_free_ char *cmd = strv_join(argv, " ");
	int r;

	r = ops->spawn(ops->userdata, argv, 0, timeout_ms);
	if (r == 0)
		return 0;
	if (r == -ETIMEDOUT)
		*ret_why = strdup_printf("'%s' did not finish within its deadline of %u s and was "
					 "killed; see why it hangs (journalctl, the runtime's "
					 "logs)",
					 strna(cmd), timeout_ms / 1000);
	else if (r < 0)
		*ret_why = strdup_printf("cannot run '%s': %s", strna(cmd), strerror(-r));
	else
		*ret_why = strdup_printf("'%s' failed (exit %d)", strna(cmd), r);
	return r < 0 ? r : -EIO;
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

static int stop_units(struct gk_engine *e, const struct gk_stopper *s, char **units)
{
	for (char **u = units; *u; u++) {
		_cleanup_free_ char *why = NULL;
		char *argv[] = {(char *)s->systemctl, "stop", *u, NULL};
		int r;

		r = record_then(e, s->units, *u);
		if (r == 0 && stop_command(s->ops, argv, STOP_COMMAND_TIMEOUT_MS, &why) < 0)
			r = engine_verdict(e, GK_EXIT_FAILED, "cannot stop %s: %s", *u, strna(why));
		if (r != 0)
			return r;
	}
	return 0;
}

static int stop_containers(struct gk_engine *e, const struct gk_stopper *s, char **containers)
{
	for (char **x = containers; *x; x++) {
		_cleanup_free_ char *why = NULL, *runtime = strdup(*x);
		char *id = runtime ? strchr(runtime, ' ') : NULL;
		char *argv[] = {runtime, "stop", id ? id + 1 : NULL, NULL};
		int r;

		if (!id)
			return engine_verdict(e, GK_EXIT_FAILED, "out of memory");
		*id = 0;
		r = record_then(e, s->containers, *x);
		if (r == 0 && stop_command(s->ops, argv, STOP_COMMAND_TIMEOUT_MS, &why) < 0)
			r = engine_verdict(e, GK_EXIT_FAILED, "cannot stop container %s: %s",
					   id + 1, strna(why));
		if (r != 0)
			return r;
	}
	return 0;
}

int stop_plan(struct gk_engine *e, const struct gk_stopper *s, const struct gk_reload_plan *p)
{
	int r;

	r = stop_units(e, s, p->units);
	if (r == 0)
		r = stop_containers(e, s, p->containers);
	if (r == 0 && p->n_pids > 0) {
		int k = s->ops->terminate(s->ops->userdata, p->pids, p->n_pids, s->grace_ms,
					  countdown, e);
		if (k < 0)
			r = engine_verdict(e, GK_EXIT_FAILED, "cannot signal the GPU holders: %s",
					   strerror(-k));
	}
	return r;
}

int stop_start_units(const struct gk_stopper *s, char ***failed)
{
	for (char **u = *s->units; u && *u; u++) {
		_cleanup_free_ char *why = NULL;
		char *argv[] = {(char *)s->systemctl, "start", *u, NULL};

		if (stop_command(s->ops, argv, STOP_COMMAND_TIMEOUT_MS, &why) < 0 &&
		    strv_extend(failed, why ? why : *u) < 0)
			return -ENOMEM;
	}
	return 0;
}

struct gk_stopper stop_stopper(const struct gk_node_ops *ops, const char *systemctl,
			       unsigned grace_ms, char ***units, char ***containers)
{
	return (struct gk_stopper){.ops = ops,
				   .systemctl = systemctl,
				   .grace_ms = grace_ms,
				   .units = units,
				   .containers = containers};
}

int stop_start_units_reacquire(const struct gk_stopper *s, enum gk_keeper_kind kind,
			       const char *socket, char *const *gpus, bool *released,
			       char ***failed)
{
	if (stop_start_units(s, failed) < 0)
		return -ENOMEM;
	if (*released && kind == GK_KEEPER_NVPD)
		return keeper_nvpd_reacquire(s->ops, socket, gpus, released, failed);
	return 0;
}
