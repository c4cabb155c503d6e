// SPDX-License-Identifier: GPL-2.0-or-later
/* Journal encoding. A journal that does not parse is never guessed at: the run that finds it
 * refuses and names the file, because acting on half a plan could unload a driver whose modules
 * it does not know how to load again. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json-check.h"
#include "core/json-util.h"
#include "macro.h"
#include "procedure/journal.h"
#include "string-util.h"

static const char *const status_names[] = {
	[GK_STEP_PENDING] = "pending", [GK_STEP_RUNNING] = "running", [GK_STEP_DONE] = "done",
	[GK_STEP_FAILED] = "failed",   [GK_STEP_UNDONE] = "undone",
};

const char *step_status_to_string(enum gk_step_status s)
{
	return (size_t)s < ELEMENTSOF(status_names) ? status_names[s] : "unknown";
}

void journal_done(struct gk_journal *j)
{
	for (size_t i = 0; i < j->n_steps; i++)
		free(j->steps[i].detail);
	json_object_put(j->record);
	*j = (struct gk_journal){};
}

int journal_find_step(const struct gk_journal *j, const char *name)
{
	for (size_t i = 0; i < j->n_steps; i++)
		if (streq(j->steps[i].name, name))
			return (int)i;
	return -1;
}

/* Adds @v (NULL is a JSON null only where @nullable) to @o; false on -ENOMEM. */
static bool put(struct json_object *o, const char *key, struct json_object *v, bool nullable)
{
	if (!v && !nullable)
		return false;
	if (json_object_object_add(o, key, v) < 0) {
		json_object_put(v);
		return false;
	}
	return true;
}

static struct json_object *step_to_json(const struct gk_journal_step *s)
{
	struct json_object *o = json_object_new_object();
	bool ok = o != NULL;

	ok = ok && put(o, "name", json_object_new_string(s->name), false);
	ok = ok &&
	     put(o, "status", json_object_new_string(step_status_to_string(s->status)), false);
	ok = ok && put(o, "ms", json_object_new_int((int)s->ms), false);
	ok = ok && (!s->detail || put(o, "detail", json_object_new_string(s->detail), false));
	ok = ok && (s->detail || put(o, "detail", NULL, true));
	if (!ok) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

struct json_object *journal_steps_to_json(const struct gk_journal *j)
{
	struct json_object *steps = json_object_new_array();

	for (size_t i = 0; steps && i < j->n_steps; i++) {
		struct json_object *s = step_to_json(&j->steps[i]);

		if (!s || json_object_array_add(steps, s) < 0) {
			json_object_put(s);
			json_object_put(steps);
			return NULL;
		}
	}
	return steps;
}

static bool steps_to_json(const struct gk_journal *j, struct json_object *o)
{
	return put(o, "steps", journal_steps_to_json(j), false);
}

struct json_object *journal_to_json(const struct gk_journal *j)
{
	struct json_object *o = json_object_new_object();
	bool ok = o != NULL;

	ok = ok && put(o, "schema", json_object_new_string(GK_JOURNAL_SCHEMA), false);
	ok = ok && put(o, "version", json_object_new_int(GK_JOURNAL_VERSION), false);
	ok = ok && put(o, "kind", json_object_new_string(j->kind), false);
	ok = ok && put(o, "pid", json_object_new_int(j->pid), false);
	ok = ok && put(o, "started", json_object_new_int64(j->started), false);
	ok = ok && put(o, "runs", json_object_new_int((int)j->runs), false);
	ok = ok && steps_to_json(j, o);
	ok = ok && put(o, "finished", json_object_new_boolean(j->finished), false);
	ok = ok && put(o, "record", j->record ? json_object_get(j->record) : NULL, true);
	if (!ok) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static bool known_step(const char *const *names, const char *name)
{
	for (const char *const *n = names; *n; n++)
		if (streq(*n, name))
			return true;
	return false;
}

static void load_step(struct json_object *s, size_t i, const char *const *names,
		      struct gk_journal_step *st, struct gk_jcheck *c)
{
	struct json_object *v;

	if (!json_object_is_type(s, json_type_object)) {
		jcheck_fail(c, "steps[%zu] is not an object", i);
		return;
	}
	v = jcheck_field(c, s, NULL, "name", json_type_string, false);
	if (v && strlen(json_object_get_string(v)) >= sizeof(st->name))
		jcheck_fail(c, "steps[%zu]: name too long", i);
	else if (v && !known_step(names, json_object_get_string(v)))
		jcheck_fail(c,
			    "steps[%zu]: unknown step '%s' (written by another version of gpukeep)",
			    i, json_object_get_string(v));
	else if (v)
		snprintf(st->name, sizeof(st->name), "%s", json_object_get_string(v));
	v = jcheck_field(c, s, NULL, "status", json_type_string, false);
	st->status = _GK_STEP_STATUS_MAX;
	for (size_t k = 0; v && k < ELEMENTSOF(status_names); k++)
		if (streq(json_object_get_string(v), status_names[k]))
			st->status = k;
	if (v && st->status == _GK_STEP_STATUS_MAX)
		jcheck_fail(c, "steps[%zu]: unknown status '%s'", i, json_object_get_string(v));
	st->ms = (unsigned)MAX(jcheck_int(c, s, NULL, "ms", 0, INT32_MAX), 0);
	st->detail = jcheck_string(c, s, NULL, "detail", true);
}

static void load_steps(struct json_object *o, const char *const *names, struct gk_journal *j,
		       struct gk_jcheck *c)
{
	struct json_object *steps = jcheck_field(c, o, NULL, "steps", json_type_array, false);

	if (steps && json_object_array_length(steps) > GK_JOURNAL_MAX_STEPS)
		jcheck_fail(c, "too many steps");
	for (size_t i = 0; steps && !c->error && i < json_object_array_length(steps); i++) {
		load_step(json_object_array_get_idx(steps, i), i, names, &j->steps[i], c);
		j->n_steps++;
		for (size_t k = 0; !c->error && k + 1 < j->n_steps; k++)
			if (streq(j->steps[k].name, j->steps[i].name))
				jcheck_fail(c, "step '%s' appears twice", j->steps[i].name);
	}
}

/* schema and version: which format, and whose */
static void load_format(struct json_object *o, const char *kind, struct gk_journal *j,
			struct gk_jcheck *c)
{
	struct json_object *v = jcheck_field(c, o, NULL, "schema", json_type_string, false);
	const char *schema = v ? json_object_get_string(v) : "";
	int version;

	if (v && streq(schema, GK_JOURNAL_V1_SCHEMA)) {
		/* 0.x wrote reload journals only, and no kind */
		snprintf(j->kind, sizeof(j->kind), "reload");
		j->version = 1;
		if (jcheck_int(c, o, NULL, "version", 1, 1) != 1)
			jcheck_fail(c, "a reload journal of version 1 must say \"version\": 1");
		if (!c->error && !streq(kind, "reload"))
			jcheck_fail(c, "a journal of a reload, not of a %s", kind);
		return;
	}
	if (v && !streq(schema, GK_JOURNAL_SCHEMA)) {
		jcheck_fail(c, "not a gpukeep journal (schema '%s')", schema);
		return;
	}
	v = jcheck_field(c, o, NULL, "version", json_type_int, false);
	version = v ? json_object_get_int(v) : 0;
	if (v && version > GK_JOURNAL_VERSION)
		jcheck_fail(
			c,
			"written by a newer gpukeep (journal format %d; this one reads up to %d)",
			version, GK_JOURNAL_VERSION);
	else if (v && version < 2)
		jcheck_fail(c, "journal format %d is not a format of schema %s", version,
			    GK_JOURNAL_SCHEMA);
	j->version = (unsigned)MAX(version, 0);
	v = jcheck_field(c, o, NULL, "kind", json_type_string, false);
	if (v && strlen(json_object_get_string(v)) >= sizeof(j->kind))
		jcheck_fail(c, "kind too long");
	else if (v)
		snprintf(j->kind, sizeof(j->kind), "%s", json_object_get_string(v));
	if (!c->error && !streq(j->kind, kind))
		jcheck_fail(c, "a journal of a %s, not of a %s", j->kind, kind);
}

int journal_from_json(struct json_object *o, const char *kind, const char *const *step_names,
		      struct gk_journal *ret, char **ret_error)
{
	struct gk_journal j = {};
	struct gk_jcheck c = {};
	struct json_object *v;
	int r;

	if (!json_object_is_type(o, json_type_object))
		jcheck_fail(&c, "not a JSON object");
	else
		load_format(o, kind, &j, &c);
	if (!c.error) {
		j.pid = MAX(jcheck_int(&c, o, NULL, "pid", 0, INT32_MAX), 0);
		v = jcheck_field(&c, o, NULL, "started", json_type_int, false);
		j.started = v ? json_object_get_int64(v) : 0;
		j.runs = (unsigned)MAX(jcheck_int(&c, o, NULL, "runs", 1, INT32_MAX), 1);
		load_steps(o, step_names, &j, &c);
		v = jcheck_field(&c, o, NULL, "finished", json_type_boolean, false);
		j.finished = v && json_object_get_boolean(v);
	}
	if (!c.error && j.version == 1)
		j.record = json_object_get(o);
	else if (!c.error) {
		v = jcheck_field(&c, o, NULL, "record", json_type_object, true);
		j.record = v ? json_object_get(v) : NULL;
	}
	r = jcheck_finish(&c, ret_error);
	if (r < 0) {
		journal_done(&j);
		return r;
	}
	*ret = j;
	return 0;
}
