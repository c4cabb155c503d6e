// SPDX-License-Identifier: GPL-2.0-or-later
/* The fabric manager's stop and start, and the wait for the fabric. A fabric manager restarted
 * while processes still use the GPUs leaves NVLink SHARP broken until the GPUs are reset (NCCL
 * #976, #1488): the procedures stop it only after every GPU process is gone. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/gk-exit.h"
#include "core/json-check.h"
#include "core/json-util.h"
#include "fileio.h"
#include "macro.h"
#include "node/holders-stop.h"
#include "node/nvswitch.h"
#include "nvml/nvml.h"
#include "procedure/fabric.h"
#include "procedure/stop.h"
#include "string-util.h"

#define MAX_CMDLINE (64 * 1024)
#define MAX_NAMED   4

void fabric_record_done(struct gk_fabric_record *r)
{
	free(r->unit);
	strv_free(r->argv);
	*r = (struct gk_fabric_record){};
}

struct json_object *fabric_record_to_json(const struct gk_fabric_record *r)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	json_object_object_add(o, "nvswitches", json_object_new_boolean(r->nvswitches));
	json_object_object_add(o, "stopped", json_object_new_boolean(r->stopped));
	json_object_object_add(o, "unit", json_string_or_null(r->unit));
	json_object_object_add(o, "argv", r->argv ? json_strv_new(r->argv) : NULL);
	json_object_object_add(o, "wait", json_object_new_boolean(r->wait));
	return o;
}

static bool get_bool(struct gk_jcheck *c, struct json_object *o, const char *key)
{
	struct json_object *v = jcheck_field(c, o, "fabric", key, json_type_boolean, false);

	return v && json_object_get_boolean(v);
}

int fabric_record_from_json(struct json_object *o, struct gk_fabric_record *ret, char **ret_error)
{
	struct gk_fabric_record r = {};
	struct gk_jcheck c = {};
	int k;

	if (!o) {
		*ret = r;
		return 0;
	}
	r.nvswitches = get_bool(&c, o, "nvswitches");
	r.stopped = get_bool(&c, o, "stopped");
	r.wait = get_bool(&c, o, "wait");
	r.unit = jcheck_string(&c, o, "fabric", "unit", true);
	if (jcheck_field(&c, o, "fabric", "argv", json_type_array, true))
		r.argv = jcheck_strv(&c, o, "fabric", "argv");
	if (!c.error && !c.oom && r.stopped && !r.unit && !strv_length(r.argv))
		jcheck_fail(&c, "fabric: stopped, but neither a unit nor a command to start it");
	k = jcheck_finish(&c, ret_error);
	if (k < 0) {
		fabric_record_done(&r);
		return k;
	}
	*ret = r;
	return 0;
}

void fabric_record_member(struct gk_jcheck *c, struct json_object *parent,
			  struct gk_fabric_record *ret)
{
	_cleanup_free_ char *inner = NULL;
	struct json_object *v = NULL;
	int k;

	json_object_object_get_ex(parent, "fabric", &v);
	if (c->error || c->oom)
		return;
	k = fabric_record_from_json(v, ret, &inner);
	jcheck_nested(c, k, "record", inner);
}

int fabric_argv_parse(const char *buf, size_t len, const char *exe, char ***ret)
{
	_cleanup_strv_free_ char **l = calloc(1, sizeof(char *));

	if (!l)
		return -ENOMEM;
	for (size_t i = 0; i < len;) {
		size_t n = strnlen(buf + i, len - i);
		_cleanup_free_ char *arg = strndup(buf + i, n);

		if (!arg || strv_extend(&l, arg) < 0)
			return -ENOMEM;
		i += n + 1;
	}
	if (!l[0] || !*l[0])
		return -EINVAL;
	if (exe && *exe) {
		char *p = strdup(exe);

		if (!p)
			return -ENOMEM;
		free(l[0]);
		l[0] = p;
	}
	*ret = TAKE_PTR(l);
	return 0;
}

const struct gk_holder *fabric_find_manager(const struct gk_holders *h)
{
	for (size_t i = 0; h && i < h->n; i++)
		if (holder_is_fabric_manager(&h->holders[i]))
			return &h->holders[i];
	return NULL;
}

/* Its command line, to start it again: /proc/<pid>/cmdline with /proc/<pid>/exe first. */
static int read_argv(int rootfd, pid_t pid, char ***ret)
{
	_cleanup_free_ char *path = strdup_printf("proc/%d/cmdline", (int)pid);
	_cleanup_free_ char *exe_link = strdup_printf("proc/%d/exe", (int)pid);
	_cleanup_free_ char *buf = NULL;
	char exe[4096];
	size_t len = 0;
	ssize_t k;
	int r;

	if (!path || !exe_link)
		return -ENOMEM;
	r = read_full_file_at(rootfd, path, MAX_CMDLINE, &buf, &len);
	if (r < 0)
		return r;
	k = readlinkat(rootfd, exe_link, exe, sizeof(exe) - 1);
	exe[k > 0 ? k : 0] = 0;
	/* a binary replaced by a package upgrade shows " (deleted)": start the new one by name */
	if (k > 0 && endswith(exe, " (deleted)"))
		exe[0] = 0;
	return fabric_argv_parse(buf, len, exe, ret);
}

static void countdown(unsigned left, size_t alive, void *userdata)
{
	engine_say(userdata, "  waiting for the fabric manager to exit: SIGKILL in %u s", left);
	(void)alive;
}

int fabric_manager_stop(struct gk_engine *e, const struct gk_node_ops *ops, int rootfd,
			const char *systemctl, unsigned grace_ms, const struct gk_holder *m,
			struct gk_fabric_record *rec)
{
	_cleanup_free_ char *why = NULL;
	int r;

	if (holder_stop_how(m, 0) == GK_STOP_UNIT) {
		char *argv[] = {(char *)systemctl, "stop", m->unit, NULL};

		free(rec->unit);
		if (!(rec->unit = strdup(m->unit)))
			return engine_verdict(e, GK_EXIT_FAILED, "out of memory");
		rec->stopped = true;
		r = engine_sync(e);
		if (r == 0 && stop_command(ops, argv, STOP_COMMAND_TIMEOUT_MS, &why) < 0)
			r = engine_verdict(e, GK_EXIT_FAILED,
					   "cannot stop the fabric manager %s: %s", m->unit,
					   strna(why));
		return r;
	}
	strv_free(rec->argv);
	rec->argv = NULL;
	r = read_argv(rootfd, m->pid, &rec->argv);
	if (r < 0)
		return engine_verdict(e, GK_EXIT_FAILED,
				      "cannot read the fabric manager's command line (pid %d), so "
				      "it could not be started again: %s",
				      (int)m->pid, strerror(-r));
	rec->stopped = true;
	r = engine_sync(e);
	if (r != 0)
		return r;
	r = ops->terminate(ops->userdata, &m->pid, 1, grace_ms, countdown, e);
	if (r < 0)
		return engine_verdict(e, GK_EXIT_FAILED,
				      "cannot stop the fabric manager (pid %d): %s", (int)m->pid,
				      strerror(-r));
	if (r > 0)
		return engine_verdict(e, GK_EXIT_FAILED,
				      "the fabric manager (pid %d) did not exit after SIGKILL",
				      (int)m->pid);
	return 0;
}

int fabric_manager_start(const struct gk_node_ops *ops, const char *systemctl,
			 const struct gk_fabric_record *rec, char **ret_why)
{
	if (!rec->stopped)
		return 0;
	if (rec->unit) {
		char *argv[] = {(char *)systemctl, "start", rec->unit, NULL};

		return stop_command(ops, argv, FABRIC_START_TIMEOUT_MS, ret_why);
	}
	/* the manager daemonizes: its first process returns once it is up */
	return stop_command(ops, rec->argv, FABRIC_START_TIMEOUT_MS, ret_why);
}

static int nvml_read(void *userdata, struct gk_fabric_gpu **ret, size_t *ret_n, char **ret_error)
{
	_cleanup_nvml_ struct gk_nvml *n = NULL;
	_cleanup_free_ struct gk_fabric_gpu *g = NULL;
	unsigned count;
	int r;

	(void)userdata;
	r = nvml_open(NULL, 0, &n, ret_error);
	if (r < 0)
		return r;
	r = nvml_gpu_count(n, &count);
	if (r != 0) {
		*ret_error = strdup(nvml_last_error(n));
		return nvml_status_to_errno(r);
	}
	g = calloc(count + 1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	for (unsigned i = 0; i < count; i++) {
		g[i].read = nvml_gpu_pci(n, i, g[i].pci, sizeof(g[i].pci));
		if (g[i].read == 0)
			g[i].read = nvml_fabric(n, i, &g[i].fabric);
	}
	*ret = TAKE_PTR(g);
	*ret_n = count;
	return 0;
}

const struct gk_fabric_ops fabric_ops_nvml = {.read = nvml_read};

/* One poll: the verdict, the counts, and what is not ready (malloc()ed) or why NVML failed. */
static enum gk_fabric_verdict poll_once(const struct gk_fabric_ops *f, char *const *gpus,
					size_t *ready, size_t *total, char **ret_what)
{
	_cleanup_free_ struct gk_fabric_gpu *g = NULL, *some = NULL;
	_cleanup_free_ char *error = NULL;
	enum gk_fabric_verdict v;
	size_t n = 0;
	int r;

	free(*ret_what);
	*ret_what = NULL;
	r = f->read(f->userdata, &g, &n, &error);
	if (r < 0) {
		*ready = *total = 0;
		*ret_what = strdup_printf("NVML cannot be read: %s", error ? error : strerror(-r));
		return GK_FABRIC_UNKNOWN;
	}
	if (gpus) {
		if (fabric_select(g, n, gpus, &some, &n) < 0) {
			*ready = *total = 0;
			*ret_what = strdup("out of memory");
			return GK_FABRIC_UNKNOWN;
		}
		free(g);
		g = TAKE_PTR(some);
	}
	v = fabric_verdict(g, n, ready, total);
	*ret_what = fabric_describe_pending(g, n, MAX_NAMED);
	return v;
}

int fabric_wait(struct gk_engine *e, const struct gk_fabric_ops *f, const struct gk_node_ops *ops,
		const struct gk_fabric_wait *w, char **ret_detail)
{
	unsigned timeout_ms = w->timeout_ms;
	uint64_t start = engine_now_ms(e), next_say = start; /* at once, then every 10 s */
	_cleanup_free_ char *what = NULL;
	size_t ready = 0, total = 0;

	for (;;) {
		enum gk_fabric_verdict v = poll_once(f, w->gpus, &ready, &total, &what);
		uint64_t now = engine_now_ms(e), waited = now - start;

		if (v == GK_FABRIC_READY || v == GK_FABRIC_NONE) {
			*ret_detail =
				v == GK_FABRIC_NONE
					? strdup("no GPU reports an NVLink fabric: nothing to "
						 "wait for")
					: strdup_printf("%zu/%zu GPU(s) completed with success "
							"after %llu s",
							ready, total,
							(unsigned long long)(waited / 1000));
			return 0;
		}
		if (v == GK_FABRIC_FAILED)
			return engine_verdict(
				e, GK_EXIT_NEEDS_PERSON,
				"the NVLink fabric failed to train: %s; see the fabric "
				"manager's log: next rung: %s",
				strna(what), w->next);
		if (waited >= timeout_ms)
			return engine_verdict(
				e, GK_EXIT_NEEDS_PERSON,
				"the NVLink fabric did not complete within %u s: %zu/%zu "
				"GPU(s) ready; not ready: %s; is the fabric manager "
				"running? next rung: %s",
				timeout_ms / 1000, ready, total, strna(what), w->next);
		if (now >= next_say) {
			engine_say(
				e,
				"  waiting for the NVLink fabric: %zu/%zu GPU(s) completed, %llu s "
				"left",
				ready, total,
				(unsigned long long)((timeout_ms - waited + 999) / 1000));
			next_say = now + FABRIC_COUNTDOWN_MS;
		}
		ops->sleep_ms(ops->userdata,
			      (unsigned)MIN((uint64_t)FABRIC_POLL_MS, timeout_ms - waited));
	}
}

int fabric_units_left(struct gk_engine *e, int r, char *const *units)
{
	_cleanup_free_ char *why = NULL, *list = NULL;

	if (r == 0 || !units || !*units)
		return r;
	why = strdup(strna(engine_error(e)));
	list = strv_join(units, " ");
	return engine_verdict(e, r,
			      "%s; the stopped unit(s) are left stopped until the fabric "
			      "completes: %s (then 'systemctl start %s')",
			      strna(why), strna(list), strna(list));
}

int fabric_units_step(struct gk_engine *e, int (*start)(void *ctx, char ***failed), void *ctx,
		      size_t n_units, char **ret_detail)
{
	_cleanup_strv_free_ char **failed = calloc(1, sizeof(char *));
	_cleanup_free_ char *list = NULL;

	if (!failed || start(ctx, &failed) < 0)
		return engine_verdict(e, GK_EXIT_NEEDS_PERSON, "out of memory");
	if (*failed) {
		list = strv_join(failed, ", ");
		return engine_verdict(e, GK_EXIT_NEEDS_PERSON,
				      "the GPUs and their fabric are back but units did not "
				      "start: %s",
				      strna(list));
	}
	*ret_detail = strdup_printf("%zu unit(s) started", n_units);
	return *ret_detail ? 0 : engine_verdict(e, GK_EXIT_NEEDS_PERSON, "out of memory");
}

size_t fabric_other_holders(const struct gk_holders *h)
{
	size_t n = 0;

	for (size_t i = 0; h && i < h->n; i++)
		n += !holder_is_fabric_manager(&h->holders[i]);
	return n;
}
