// SPDX-License-Identifier: GPL-2.0-or-later
/* Reload journal encoding. A journal that does not parse is never guessed at: the reload that
 * finds it refuses and names the file, because acting on half a plan could unload a driver
 * whose modules it does not know how to load again. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "journal.h"
#include "json-util.h"
#include "macro.h"
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

/* Checked accessors: the first problem found is kept in *err. */
static struct json_object *get(struct json_object *o, const char *key, enum json_type type,
			       bool nullable, char **err)
{
	struct json_object *v = NULL;

	if (*err)
		return NULL;
	if (!json_object_object_get_ex(o, key, &v))
		*err = strdup_printf("missing field '%s'", key);
	else if (!v && nullable)
		return NULL;
	else if (!json_object_is_type(v, type))
		*err = strdup_printf("field '%s' has the wrong type", key);
	return *err ? NULL : v;
}

static char **get_strv(struct json_object *o, const char *key, char **err)
{
	struct json_object *a = get(o, key, json_type_array, false, err);
	char **l = calloc(1, sizeof(char *));

	for (size_t i = 0; a && l && !*err && i < json_object_array_length(a); i++) {
		struct json_object *v = json_object_array_get_idx(a, i);

		if (!json_object_is_type(v, json_type_string))
			*err = strdup_printf("%s[%zu] is not a string", key, i);
		else if (strv_extend(&l, json_object_get_string(v)) < 0)
			*err = strdup("out of memory");
	}
	return l;
}

static void load_step(struct json_object *s, size_t i, struct gk_journal_step *st, char **err)
{
	struct json_object *v;

	if (!json_object_is_type(s, json_type_object)) {
		*err = strdup_printf("steps[%zu] is not an object", i);
		return;
	}
	v = get(s, "name", json_type_string, false, err);
	if (v && strlen(json_object_get_string(v)) >= sizeof(st->name))
		*err = strdup_printf("steps[%zu]: name too long", i);
	else if (v)
		snprintf(st->name, sizeof(st->name), "%s", json_object_get_string(v));
	v = get(s, "status", json_type_string, false, err);
	st->status = _GK_STEP_STATUS_MAX;
	for (size_t k = 0; v && k < ELEMENTSOF(status_names); k++)
		if (streq(json_object_get_string(v), status_names[k]))
			st->status = k;
	if (v && st->status == _GK_STEP_STATUS_MAX)
		*err = strdup_printf("steps[%zu]: unknown status '%s'", i,
				     json_object_get_string(v));
	v = get(s, "ms", json_type_int, false, err);
	st->ms = v && json_object_get_int(v) > 0 ? (unsigned)json_object_get_int(v) : 0;
	v = get(s, "detail", json_type_string, true, err);
	st->detail = v ? strdup(json_object_get_string(v)) : NULL;
}

static void load_fields(struct json_object *o, struct gk_journal *j, char **err)
{
	struct json_object *v, *steps;

	v = get(o, "schema", json_type_string, false, err);
	if (v && !streq(json_object_get_string(v), GK_JOURNAL_SCHEMA))
		*err = strdup_printf("not a gpukeep reload journal (schema '%s')",
				     json_object_get_string(v));
	v = get(o, "version", json_type_int, false, err);
	if (v && json_object_get_int(v) != GK_JOURNAL_VERSION)
		*err = strdup_printf("journal version %d is not supported", json_object_get_int(v));
	v = get(o, "pid", json_type_int, false, err);
	j->pid = v ? json_object_get_int(v) : 0;
	v = get(o, "started", json_type_int, false, err);
	j->started = v ? json_object_get_int64(v) : 0;
	v = get(o, "runs", json_type_int, false, err);
	j->runs = v && json_object_get_int(v) > 0 ? (unsigned)json_object_get_int(v) : 1;
	v = get(o, "before", json_type_object, false, err);
	if (v && baseline_from_json(v, &j->before, err) == -EBADMSG && *err) {
		char *inner = *err;

		*err = strdup_printf("before: %s", inner);
		free(inner);
	}
	j->unload_order = get_strv(o, "unload_order", err);
	j->module_params = get_strv(o, "module_parameters", err);
	j->units = get_strv(o, "units", err);
	v = get(o, "daemon_released", json_type_boolean, false, err);
	j->daemon_released = v && json_object_get_boolean(v);
	v = get(o, "settings_file", json_type_string, true, err);
	j->settings_file = v ? strdup(json_object_get_string(v)) : NULL;
	v = get(o, "daemon_socket", json_type_string, true, err);
	j->daemon_socket = v ? strdup(json_object_get_string(v)) : NULL;
	steps = get(o, "steps", json_type_array, false, err);
	if (steps && json_object_array_length(steps) > GK_JOURNAL_MAX_STEPS)
		*err = strdup("too many steps");
	for (size_t i = 0; steps && !*err && i < json_object_array_length(steps); i++) {
		load_step(json_object_array_get_idx(steps, i), i, &j->steps[i], err);
		j->n_steps++;
	}
	v = get(o, "finished", json_type_boolean, false, err);
	j->finished = v && json_object_get_boolean(v);
}

int journal_load(int dirfd, const char *name, struct gk_journal *ret, char **ret_error)
{
	struct gk_journal j = {};
	struct json_object *o = NULL;
	char *err = NULL;
	int r;

	r = json_parse_file_at(dirfd, name, JOURNAL_MAX_SIZE, &o, ret_error);
	if (r < 0)
		return r;
	if (!json_object_is_type(o, json_type_object))
		err = strdup("not a JSON object");
	else
		load_fields(o, &j, &err);
	json_object_put(o);
	if (err || !j.unload_order || !j.units || !j.module_params) {
		journal_done(&j);
		if (ret_error)
			*ret_error = err ? err : strdup("out of memory");
		else
			free(err);
		return err ? -EBADMSG : -ENOMEM;
	}
	*ret = j;
	return 0;
}
