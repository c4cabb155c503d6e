// SPDX-License-Identifier: GPL-2.0-or-later
/* The guards (see guards.h): pure checks over a small state, and that state as a JSON file.
 * After NVSentinel's ADR-056: the budget is reserved before acting, an unknown outcome is
 * never retried, and a malformed state stops the watcher instead of resetting the budget. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "baseline/baseline.h"
#include "core/json-check.h"
#include "fileio.h"
#include "ladder/guards.h"
#include "macro.h"
#include "string-util.h"

const char *guard_verdict_to_string(enum gk_guard_verdict v)
{
	static const char *const names[] = {
		[GK_GUARD_OK] = "ok",
		[GK_GUARD_BREAKER] = "circuit-breaker",
		[GK_GUARD_TRIP] = "circuit-breaker",
		[GK_GUARD_REBOOT_DONE] = "reboot-already-requested",
		[GK_GUARD_REBOOT_LOOP] = "reboot-loop",
		[GK_GUARD_PENDING] = "outcome-unknown",
	};
	return (unsigned)v < ELEMENTSOF(names) ? names[v] : "unknown";
}

unsigned guard_actions_in_window(const struct gk_guard_state *s, const struct gk_watch_config *c,
				 int64_t now)
{
	unsigned n = 0;

	for (size_t i = 0; i < s->n_actions; i++) {
		const struct gk_guard_action *a = &s->actions[i];

		if (a->at >= s->cleared_at && a->at > now - (int64_t)c->breaker_window_s)
			n++;
	}
	return n;
}

bool guard_breaker_open(const struct gk_guard_state *s, const struct gk_watch_config *c,
			int64_t now)
{
	return s->breaker_tripped_at && now - s->breaker_tripped_at < (int64_t)c->breaker_window_s;
}

enum gk_guard_verdict guard_check(const struct gk_guard_state *s, const struct gk_watch_config *c,
				  int64_t now, enum gk_ladder_rung rung, const char *fault,
				  const char *boot_id, char *why, size_t n)
{
	unsigned used;

	if (s->pending) {
		snprintf(why, n, "the outcome of action %llu (%s) is unknown: never retried",
			 (unsigned long long)s->actions[s->n_actions - 1].id,
			 ladder_rung_to_string(s->actions[s->n_actions - 1].rung));
		return GK_GUARD_PENDING;
	}
	if (guard_breaker_open(s, c, now)) {
		snprintf(why, n,
			 "circuit breaker open since %lld s ago: observe only until 'gpukeep watch "
			 "--reset-guard' or %u s pass",
			 (long long)(now - s->breaker_tripped_at), c->breaker_window_s);
		return GK_GUARD_BREAKER;
	}
	used = guard_actions_in_window(s, c, now);
	if (used >= c->breaker_max_actions) {
		snprintf(why, n,
			 "%u disruptive actions within %u s already (limit %u): circuit "
			 "breaker trips",
			 used, c->breaker_window_s, c->breaker_max_actions);
		return GK_GUARD_TRIP;
	}
	if (rung != GK_LADDER_REBOOT)
		return GK_GUARD_OK;
	for (size_t i = 0; i < s->n_actions; i++) {
		const struct gk_guard_action *a = &s->actions[i];

		if (a->rung != GK_LADDER_REBOOT || a->at < s->cleared_at)
			continue;
		if (streq(a->boot_id, boot_id)) {
			snprintf(why, n,
				 "a reboot was already asked for in this boot (action %llu)",
				 (unsigned long long)a->id);
			return GK_GUARD_REBOOT_DONE;
		}
		if (streq(a->fault, fault) && now - a->at < (int64_t)c->reboot_loop_window_s) {
			snprintf(why, n,
				 "%s came back after the reboot of %lld s ago: a reboot loop, a "
				 "person decides",
				 fault, (long long)(now - a->at));
			return GK_GUARD_REBOOT_LOOP;
		}
	}
	return GK_GUARD_OK;
}

void guard_trip(struct gk_guard_state *s, int64_t now)
{
	s->breaker_tripped_at = now;
}

void guard_clear(struct gk_guard_state *s, int64_t now)
{
	s->breaker_tripped_at = 0;
	s->cleared_at = now + 1;
}

struct gk_guard_action *guard_reserve(struct gk_guard_state *s, int64_t now,
				      enum gk_ladder_rung rung, const char *gpu, const char *fault,
				      const char *boot_id)
{
	struct gk_guard_action *a;

	if (s->n_actions == GK_GUARD_MAX_ACTIONS) {
		/* the oldest goes; the budget window is far shorter than 64 actions */
		memmove(s->actions, s->actions + 1, (s->n_actions - 1) * sizeof(s->actions[0]));
		s->n_actions--;
	}
	a = &s->actions[s->n_actions++];
	*a = (struct gk_guard_action){.id = ++s->next_id, .at = now, .rung = rung};
	snprintf(a->gpu, sizeof(a->gpu), "%s", strempty(gpu));
	snprintf(a->fault, sizeof(a->fault), "%s", fault);
	snprintf(a->outcome, sizeof(a->outcome), "pending");
	snprintf(a->boot_id, sizeof(a->boot_id), "%s", boot_id);
	s->pending = true;
	return a;
}

struct gk_guard_action *guard_pending(struct gk_guard_state *s)
{
	return s->pending && s->n_actions ? &s->actions[s->n_actions - 1] : NULL;
}

void guard_finish(struct gk_guard_state *s, const char *outcome)
{
	struct gk_guard_action *a = guard_pending(s);

	if (!a)
		return;
	snprintf(a->outcome, sizeof(a->outcome), "%s", outcome);
	s->pending = false;
}

static struct json_object *action_json(const struct gk_guard_action *a)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	json_object_object_add(o, "id", json_object_new_int64((int64_t)a->id));
	json_object_object_add(o, "at", json_object_new_int64(a->at));
	json_object_object_add(o, "rung", json_object_new_string(ladder_rung_to_string(a->rung)));
	json_object_object_add(o, "gpu", json_object_new_string(a->gpu));
	json_object_object_add(o, "fault", json_object_new_string(a->fault));
	json_object_object_add(o, "outcome", json_object_new_string(a->outcome));
	json_object_object_add(o, "boot_id", json_object_new_string(a->boot_id));
	return o;
}

int guard_state_save(int dirfd, const struct gk_guard_state *s)
{
	struct json_object *o = json_object_new_object(), *l = json_object_new_array();
	const char *text;
	int r;

	if (!o || !l) {
		json_object_put(o);
		json_object_put(l);
		return -ENOMEM;
	}
	json_object_object_add(o, "schema", json_object_new_string(GK_GUARD_STATE_SCHEMA));
	json_object_object_add(o, "version", json_object_new_int(1));
	json_object_object_add(o, "boot_id", json_object_new_string(s->boot_id));
	json_object_object_add(o, "kmsg_source", json_object_new_string(s->kmsg_source));
	json_object_object_add(o, "last_seq",
			       s->have_seq ? json_object_new_int64((int64_t)s->last_seq) : NULL);
	json_object_object_add(o, "next_id", json_object_new_int64((int64_t)s->next_id));
	json_object_object_add(o, "breaker_tripped_at",
			       json_object_new_int64(s->breaker_tripped_at));
	json_object_object_add(o, "cleared_at", json_object_new_int64(s->cleared_at));
	json_object_object_add(o, "pending", json_object_new_boolean(s->pending));
	for (size_t i = 0; i < s->n_actions; i++)
		json_object_array_add(l, action_json(&s->actions[i]));
	json_object_object_add(o, "actions", l);
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED);
	r = text ? write_file_atomic_at(dirfd, GK_GUARD_STATE_FILE, text, strlen(text), 0600)
		 : -ENOMEM;
	json_object_put(o);
	return r;
}

static int64_t jcheck_int64(struct gk_jcheck *c, struct json_object *o, const char *where,
			    const char *key)
{
	struct json_object *v = jcheck_field(c, o, where, key, json_type_int, false);

	return v ? json_object_get_int64(v) : 0;
}

static void copy_field(struct gk_jcheck *c, struct json_object *o, const char *where,
		       const char *key, char *buf, size_t n)
{
	_cleanup_free_ char *s = jcheck_string(c, o, where, key, false);

	if (s && strlen(s) >= n)
		jcheck_fail(c, "%s: field '%s' is too long", where, key);
	else if (s)
		snprintf(buf, n, "%s", s);
}

static enum gk_ladder_rung rung_from(struct gk_jcheck *c, const char *s, const char *where)
{
	for (int i = 1; i < GK_LADDER_RUNGS; i++)
		if (streq(s, ladder_rung_to_string(i)))
			return i;
	jcheck_fail(c, "%s: unknown rung '%s'", where, s);
	return GK_LADDER_NONE;
}

static void read_action(struct gk_jcheck *c, struct json_object *o, size_t i,
			struct gk_guard_action *a)
{
	char where[32], rung[16] = "";

	snprintf(where, sizeof(where), "actions[%zu]", i);
	a->id = (uint64_t)jcheck_int64(c, o, where, "id");
	a->at = jcheck_int64(c, o, where, "at");
	copy_field(c, o, where, "rung", rung, sizeof(rung));
	a->rung = rung_from(c, rung, where);
	copy_field(c, o, where, "gpu", a->gpu, sizeof(a->gpu));
	copy_field(c, o, where, "fault", a->fault, sizeof(a->fault));
	copy_field(c, o, where, "outcome", a->outcome, sizeof(a->outcome));
	copy_field(c, o, where, "boot_id", a->boot_id, sizeof(a->boot_id));
}

static int state_from_json(struct json_object *o, struct gk_guard_state *s, char **ret_error)
{
	struct gk_jcheck c = {};
	_cleanup_free_ char *schema = jcheck_string(&c, o, NULL, "schema", false);
	struct json_object *l, *seq;

	if (schema && !streq(schema, GK_GUARD_STATE_SCHEMA))
		jcheck_fail(&c, "schema is '%s', not '" GK_GUARD_STATE_SCHEMA "'", schema);
	jcheck_int(&c, o, NULL, "version", 1, 1);
	copy_field(&c, o, "state", "boot_id", s->boot_id, sizeof(s->boot_id));
	copy_field(&c, o, "state", "kmsg_source", s->kmsg_source, sizeof(s->kmsg_source));
	seq = jcheck_field(&c, o, NULL, "last_seq", json_type_int, true);
	s->have_seq = seq != NULL;
	s->last_seq = seq ? (uint64_t)json_object_get_int64(seq) : 0;
	s->next_id = (uint64_t)jcheck_int64(&c, o, NULL, "next_id");
	s->breaker_tripped_at = jcheck_int64(&c, o, NULL, "breaker_tripped_at");
	s->cleared_at = jcheck_int64(&c, o, NULL, "cleared_at");
	l = jcheck_field(&c, o, NULL, "pending", json_type_boolean, false);
	s->pending = l && json_object_get_boolean(l);
	l = jcheck_field(&c, o, NULL, "actions", json_type_array, false);
	if (l && json_object_array_length(l) > GK_GUARD_MAX_ACTIONS)
		jcheck_fail(&c, "more than %d actions", GK_GUARD_MAX_ACTIONS);
	for (size_t i = 0; l && i < json_object_array_length(l) && i < GK_GUARD_MAX_ACTIONS; i++)
		read_action(&c, json_object_array_get_idx(l, i), i, &s->actions[s->n_actions++]);
	if (s->pending && !s->n_actions)
		jcheck_fail(&c, "pending is true but there is no action");
	return jcheck_finish(&c, ret_error);
}

int guard_state_load(int dirfd, struct gk_guard_state *ret, char **ret_error)
{
	struct gk_guard_state s = {};
	struct json_object *o = NULL;
	int r;

	r = json_parse_file_at(dirfd, GK_GUARD_STATE_FILE, 1024 * 1024, &o, ret_error);
	if (r == -ENOENT)
		*ret = s;
	if (r < 0)
		return r;
	r = state_from_json(o, &s, ret_error);
	json_object_put(o);
	if (r < 0)
		return r;
	*ret = s;
	return 0;
}
