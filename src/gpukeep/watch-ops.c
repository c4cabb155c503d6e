// SPDX-License-Identifier: GPL-2.0-or-later
/* The engine's effects in the real watcher (see watch-ops.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "event-text.h"
#include "log.h"
#include "notify.h"
#include "spawn-util.h"
#include "string-util.h"
#include "watch-ops.h"

#define REPORT_MAX (1024 * 1024)

static char *substitute(const struct watch_ctx *c, enum gk_ladder_rung rung, const char *arg,
			const char *gpu, const char *uuid, const char *fault)
{
	char bdf[32], text[256];

	snprintf(bdf, sizeof(bdf), "%s.0", gpu);
	if (streq(arg, "{gpu}"))
		return strdup(gpu[0] ? bdf : "");
	if (streq(arg, "{uuid}"))
		return strdup(uuid[0] ? uuid : (gpu[0] ? bdf : ""));
	if (streq(arg, "{state_dir}"))
		return strdup(c->cfg->procedure_state_dir);
	if (streq(arg, "{reason}")) {
		watcher_fault_text(fault, rung, text, sizeof(text));
		return strdup(text);
	}
	if (streq(arg, "{drain_timeout}"))
		return strdup_printf("%u", c->cfg->drain_timeout_s);
	return strdup(arg);
}

char **watch_rung_argv(const struct watch_ctx *c, enum gk_ladder_rung rung, const char *gpu,
		       const char *uuid, const char *fault)
{
	char **const tmpl = c->cfg->rungs[rung].command;
	char **v = calloc(2 * strv_length(tmpl) + 1, sizeof(char *));
	size_t n = 0;

	if (!v)
		return NULL;
	for (size_t i = 0; tmpl[i]; i++) {
		/* options that are there or not, as the configuration says */
		if (streq(tmpl[i], "{requeue}") && !c->cfg->requeue)
			continue;
		if (streq(tmpl[i], "{baseline}")) {
			/* the rung validates against the watcher's baseline, not the node as the
			 * fault left it (a GPU still missing would compare equal) */
			if (!c->cfg->baseline)
				continue;
			v[n] = strdup("--baseline");
			if (!v[n++])
				return strv_free(v);
			v[n] = strdup(c->cfg->baseline);
			if (!v[n++])
				return strv_free(v);
			continue;
		}
		v[n] = i == 0 && streq(tmpl[0], "gpukeep") && c->self_exe[0] ? strdup(c->self_exe)
		       : streq(tmpl[i], "{requeue}")
			       ? strdup("--requeue")
			       : substitute(c, rung, tmpl[i], gpu, uuid, fault);
		if (!v[n++])
			return strv_free(v);
	}
	return v;
}

unsigned watch_rung_timeout_s(const struct watch_ctx *c, enum gk_ladder_rung rung,
			      char *const *argv)
{
	unsigned t = c->cfg->rungs[rung].timeout_s;

	return strv_contains(argv, "--drain") ? t + c->cfg->drain_timeout_s : t;
}

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The rung's JSON report: next_rung and error, when its stdout is one. */
static void read_report(char *out, struct gk_rung_outcome *ret)
{
	struct json_object *o = json_tokener_parse(strstrip(out)), *v;

	if (!o || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return;
	}
	if (json_object_object_get_ex(o, "next_rung", &v) &&
	    json_object_is_type(v, json_type_string))
		snprintf(ret->next_rung, sizeof(ret->next_rung), "%s", json_object_get_string(v));
	if (json_object_object_get_ex(o, "error", &v) && json_object_is_type(v, json_type_string))
		snprintf(ret->error, sizeof(ret->error), "%s", json_object_get_string(v));
	ret->report = o;
}

/* The loop does not run while a rung does: the service manager's watchdog is stretched over
 * the rung's deadline (WATCHDOG_USEC=), then set back (@timeout_s 0). */
static void watchdog_stretch(struct watch_ctx *c, unsigned timeout_s)
{
	char msg[64];
	uint64_t usec = timeout_s ? ((uint64_t)timeout_s + 60) * 1000000 : c->watchdog_usec;

	if (c->notify_fd < 0 || !c->watchdog_usec || usec < c->watchdog_usec)
		return;
	snprintf(msg, sizeof(msg), "WATCHDOG=1\nWATCHDOG_USEC=%llu", (unsigned long long)usec);
	notify_send(c->notify_fd, msg);
}

static int run_rung(void *ud, enum gk_ladder_rung rung, const char *gpu, const char *uuid,
		    const char *fault, struct gk_rung_outcome *ret)
{
	struct watch_ctx *c = ud;
	_cleanup_strv_free_ char **argv = watch_rung_argv(c, rung, gpu, uuid, fault);
	_cleanup_free_ char *out = NULL;
	long long t0 = mono_ms();
	unsigned timeout_s;
	int r;

	*ret = (struct gk_rung_outcome){};
	if (!argv)
		return -ENOMEM;
	timeout_s = watch_rung_timeout_s(c, rung, argv);
	watchdog_stretch(c, timeout_s);
	r = spawn_capture_timeout(argv, timeout_s * 1000, REPORT_MAX, &out);
	watchdog_stretch(c, 0);
	ret->ms = (unsigned)(mono_ms() - t0);
	ret->exit = r;
	if (r == -ETIMEDOUT)
		snprintf(ret->error, sizeof(ret->error),
			 "%s did not finish within %u s: killed, outcome unknown", argv[0],
			 timeout_s);
	else if (r < 0)
		snprintf(ret->error, sizeof(ret->error), "cannot run %s: %s", argv[0],
			 strerror(-r));
	if (out)
		read_report(out, ret);
	return 0;
}

static bool journal_present(void *ud, enum gk_ladder_rung rung)
{
	struct watch_ctx *c = ud;
	const char *j = c->cfg->rungs[rung].journal;
	_cleanup_free_ char *path = NULL;

	if (!j)
		return false;
	path = strdup_printf("%s/%s", c->cfg->procedure_state_dir, j);
	return path && access(path, F_OK) == 0;
}

static int save(void *ud, const struct gk_guard_state *s)
{
	struct watch_ctx *c = ud;
	int r = guard_state_save(c->state_dirfd, s);

	if (r < 0)
		log_error_errno(r, "cannot save the watcher's state (%s): %m", GK_GUARD_STATE_FILE);
	return r;
}

static int priority_of(const char *type)
{
	if (streq(type, "node-unhealthy") || streq(type, "guard") || streq(type, "error"))
		return LOG_ERR;
	if (streq(type, "fault") || streq(type, "sxid") || strstr(type, "action"))
		return LOG_WARNING;
	return LOG_NOTICE;
}

static void event(void *ud, struct json_object *ev)
{
	struct watch_ctx *c = ud;
	const char *line = json_object_to_json_string_ext(
		ev, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	struct json_object *t;
	int r;

	if (!line)
		return;
	if (c->log_open) {
		r = eventlog_append(&c->log, line);
		if (r < 0)
			log_warning_errno(r, "cannot append to the event log: %m");
	}
	if (c->syslog && json_object_object_get_ex(ev, "type", &t))
		syslog(LOG_DAEMON | priority_of(json_object_get_string(t)), "%s", line);
	if (c->print && c->print_json)
		printf("%s\n", line);
	else if (c->print)
		event_print_text(stdout, ev);
	if (c->print)
		fflush(stdout);
}

static int64_t now(void *ud)
{
	return (int64_t)time(NULL);
}

const struct gk_watcher_ops watch_ops = {
	.run_rung = run_rung,
	.journal_present = journal_present,
	.save = save,
	.event = event,
	.now = now,
};
