// SPDX-License-Identifier: GPL-2.0-or-later
/* Reload journal encoding. A journal that does not parse is never guessed at: the reload that
 * finds it refuses and names the file, because acting on half a plan could unload a driver
 * whose modules it does not know how to load again. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json-check.h"
#include "core/json-util.h"
#include "fileio.h"
#include "macro.h"
#include "procedure/journal.h"
#include "string-util.h"

#define JOURNAL_MAX_SIZE (8 * 1024 * 1024)

static const char *const status_names[] = {
	[GK_STEP_PENDING] = "pending",
	[GK_STEP_RUNNING] = "running",
	[GK_STEP_DONE] = "done",
	[GK_STEP_FAILED] = "failed",
};

const char *step_status_to_string(enum gk_step_status s)
{
	return (size_t)s < ELEMENTSOF(status_names) ? status_names[s] : "unknown";
}

void journal_done(struct gk_journal *j)
{
	baseline_done(&j->before);
	strv_free(j->unload_order);
	strv_free(j->module_params);
	strv_free(j->units);
	free(j->daemon_socket);
	free(j->settings_file);
	for (size_t i = 0; i < j->n_steps; i++)
		free(j->steps[i].detail);
	*j = (struct gk_journal){};
}

int journal_find_step(const struct gk_journal *j, const char *name)
{
	for (size_t i = 0; i < j->n_steps; i++)
		if (streq(j->steps[i].name, name))
			return (int)i;
	return -1;
}

static struct json_object *journal_to_json(const struct gk_journal *j)
{
	struct json_object *o = json_object_new_object(), *steps = json_object_new_array();

	if (!o || !steps) {
		json_object_put(o);
		json_object_put(steps);
		return NULL;
	}
	json_object_object_add(o, "schema", json_object_new_string(GK_JOURNAL_SCHEMA));
	json_object_object_add(o, "version", json_object_new_int(GK_JOURNAL_VERSION));
	json_object_object_add(o, "pid", json_object_new_int(j->pid));
	json_object_object_add(o, "started", json_object_new_int64(j->started));
	json_object_object_add(o, "runs", json_object_new_int((int)j->runs));
	json_object_object_add(o, "before", baseline_to_json(&j->before));
	json_object_object_add(o, "unload_order", json_strv_new(j->unload_order));
	json_object_object_add(o, "module_parameters", json_strv_new(j->module_params));
	json_object_object_add(o, "units", json_strv_new(j->units));
	json_object_object_add(o, "daemon_released", json_object_new_boolean(j->daemon_released));
	json_object_object_add(o, "settings_file", json_string_or_null(j->settings_file));
	json_object_object_add(o, "daemon_socket",
			       j->daemon_socket ? json_object_new_string(j->daemon_socket) : NULL);
	for (size_t i = 0; i < j->n_steps; i++) {
		struct json_object *s = json_object_new_object();

		json_object_object_add(s, "name", json_object_new_string(j->steps[i].name));
		json_object_object_add(
			s, "status",
			json_object_new_string(step_status_to_string(j->steps[i].status)));
		json_object_object_add(s, "ms", json_object_new_int((int)j->steps[i].ms));
		json_object_object_add(
			s, "detail",
			j->steps[i].detail ? json_object_new_string(j->steps[i].detail) : NULL);
		json_object_array_add(steps, s);
	}
	json_object_object_add(o, "steps", steps);
	json_object_object_add(o, "finished", json_object_new_boolean(j->finished));
	return o;
}

int journal_save(int dirfd, const char *name, const struct gk_journal *j)
{
	struct json_object *o = journal_to_json(j);
	const char *text;
	int r;

	if (!o)
		return -ENOMEM;
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
							 JSON_C_TO_STRING_NOSLASHESCAPE);
	r = text ? write_file_atomic_at(dirfd, name, text, strlen(text), 0600) : -ENOMEM;
	json_object_put(o);
	return r;
}

static void load_step(struct json_object *s, size_t i, struct gk_journal_step *st,
		      struct gk_jcheck *c)
{
	struct json_object *v;

	if (!json_object_is_type(s, json_type_object)) {
		jcheck_fail(c, "steps[%zu] is not an object", i);
		return;
	}
	v = jcheck_field(c, s, NULL, "name", json_type_string, false);
	if (v && strlen(json_object_get_string(v)) >= sizeof(st->name))
		jcheck_fail(c, "steps[%zu]: name too long", i);
	else if (v)
		snprintf(st->name, sizeof(st->name), "%s", json_object_get_string(v));
	v = jcheck_field(c, s, NULL, "status", json_type_string, false);
	st->status = _GK_STEP_STATUS_MAX;
	for (size_t k = 0; v && k < ELEMENTSOF(status_names); k++)
		if (streq(json_object_get_string(v), status_names[k]))
			st->status = k;
	if (v && st->status == _GK_STEP_STATUS_MAX)
		jcheck_fail(c, "steps[%zu]: unknown status '%s'", i, json_object_get_string(v));
	v = jcheck_field(c, s, NULL, "ms", json_type_int, false);
	st->ms = v && json_object_get_int(v) > 0 ? (unsigned)json_object_get_int(v) : 0;
	st->detail = jcheck_string(c, s, NULL, "detail", true);
}

static void load_fields(struct json_object *o, struct gk_journal *j, struct gk_jcheck *c)
{
	struct json_object *v, *steps;

	v = jcheck_field(c, o, NULL, "schema", json_type_string, false);
	if (v && !streq(json_object_get_string(v), GK_JOURNAL_SCHEMA))
		jcheck_fail(c, "not a gpukeep reload journal (schema '%s')",
			    json_object_get_string(v));
	v = jcheck_field(c, o, NULL, "version", json_type_int, false);
	if (v && json_object_get_int(v) != GK_JOURNAL_VERSION)
		jcheck_fail(c, "journal version %d is not supported", json_object_get_int(v));
	v = jcheck_field(c, o, NULL, "pid", json_type_int, false);
	j->pid = v ? json_object_get_int(v) : 0;
	v = jcheck_field(c, o, NULL, "started", json_type_int, false);
	j->started = v ? json_object_get_int64(v) : 0;
	v = jcheck_field(c, o, NULL, "runs", json_type_int, false);
	j->runs = v && json_object_get_int(v) > 0 ? (unsigned)json_object_get_int(v) : 1;
	v = jcheck_field(c, o, NULL, "before", json_type_object, false);
	if (v) {
		_cleanup_free_ char *inner = NULL;
		int r = baseline_from_json(v, &j->before, &inner);

		if (r == -ENOMEM)
			c->oom = true;
		else if (r < 0)
			jcheck_fail(c, "before: %s", strna(inner));
	}
	j->unload_order = jcheck_strv(c, o, NULL, "unload_order");
	j->module_params = jcheck_strv(c, o, NULL, "module_parameters");
	j->units = jcheck_strv(c, o, NULL, "units");
	v = jcheck_field(c, o, NULL, "daemon_released", json_type_boolean, false);
	j->daemon_released = v && json_object_get_boolean(v);
	j->settings_file = jcheck_string(c, o, NULL, "settings_file", true);
	j->daemon_socket = jcheck_string(c, o, NULL, "daemon_socket", true);
	steps = jcheck_field(c, o, NULL, "steps", json_type_array, false);
	if (steps && json_object_array_length(steps) > GK_JOURNAL_MAX_STEPS)
		jcheck_fail(c, "too many steps");
	for (size_t i = 0; steps && !c->error && i < json_object_array_length(steps); i++) {
		load_step(json_object_array_get_idx(steps, i), i, &j->steps[i], c);
		j->n_steps++;
	}
	v = jcheck_field(c, o, NULL, "finished", json_type_boolean, false);
	j->finished = v && json_object_get_boolean(v);
}

int journal_load(int dirfd, const char *name, struct gk_journal *ret, char **ret_error)
{
	struct gk_journal j = {};
	struct json_object *o = NULL;
	struct gk_jcheck c = {};
	int r;

	r = json_parse_file_at(dirfd, name, JOURNAL_MAX_SIZE, &o, ret_error);
	if (r < 0)
		return r;
	if (!json_object_is_type(o, json_type_object))
		jcheck_fail(&c, "not a JSON object");
	else
		load_fields(o, &j, &c);
	json_object_put(o);
	r = jcheck_finish(&c, ret_error);
	if (r < 0) {
		journal_done(&j);
		return r;
	}
	*ret = j;
	return 0;
}
