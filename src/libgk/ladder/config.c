// SPDX-License-Identifier: GPL-2.0-or-later
/* The watcher's configuration: defaults, and a strict JSON reader (every key known, every value
 * in range, or the file is refused with the key named). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "baseline/baseline.h"
#include "ladder/config.h"
#include "macro.h"
#include "parse-util.h"
#include "string-util.h"

const char *ladder_rung_to_string(enum gk_ladder_rung r)
{
	static const char *const names[] = {"none", "reset", "reload", "reboot"};

	return (unsigned)r < ELEMENTSOF(names) ? names[r] : "none";
}

#define U(field, lo, hi) offsetof(struct gk_watch_config, field), lo, hi
static const struct {
	const char *section, *key;
	size_t offset;
	unsigned min, max;
} uint_keys[] = {
	{NULL, "debounce_ms", U(debounce_ms, 0, 600000)},
	{NULL, "escalate_window_s", U(escalate_window_s, 0, 30 * 86400)},
	{NULL, "reboot_loop_window_s", U(reboot_loop_window_s, 0, 30 * 86400)},
	{NULL, "probe_period_s", U(probe_period_s, 0, 86400)},
	{NULL, "validate_period_s", U(validate_period_s, 0, 86400)},
	{NULL, "nvml_timeout_ms", U(nvml_timeout_ms, 100, 600000)},
	{"pattern", "window_s", U(pattern_window_s, 0, 86400)},
	{"pattern", "min_gpus", U(pattern_min_gpus, 2, 1024)},
	{"pattern", "reset_gpus", U(reset_pattern_gpus, 2, 1024)},
	{"breaker", "max_actions", U(breaker_max_actions, 0, 1000)},
	{"breaker", "window_s", U(breaker_window_s, 1, 30 * 86400)},
	{"event_log", "keep", U(event_log_keep, 1, 20)},
	{"scheduler", "drain_timeout_s", U(drain_timeout_s, 0, 86400)},
};
#undef U

static const char *const rung_keys[GK_LADDER_RUNGS] = {NULL, "reset", "reload", "reboot"};

static char **strv_of(const char *const *l)
{
	char **v = NULL;

	for (; *l; l++)
		if (strv_extend(&v, *l) < 0)
			return strv_free(v);
	return v;
}

int watch_config_init(struct gk_watch_config *c, const char *datadir)
{
	/* every disruptive rung inside the scheduler (drain first, resume only gpukeep's drain) */
	static const char *const reset[] = {
		"gpukeep",	   "reset",	"-i",	    "{gpu}",
		"--kill",	   "--json",	"--drain",  "--drain-timeout",
		"{drain_timeout}", "{requeue}", "--reason", "{reason}",
		"{baseline}",	   NULL};
	static const char *const reload[] = {"gpukeep",		"reload",     "--kill",
					     "--json",		"--drain",    "--drain-timeout",
					     "{drain_timeout}", "{requeue}",  "--reason",
					     "{reason}",	"{baseline}", NULL};
	static const char *const reboot[] = {"gpukeep",	 "reboot",   "--json",
					     "--reason", "{reason}", NULL};

	*c = (struct gk_watch_config){
		.debounce_ms = 2000,
		.escalate_window_s = 600,
		.pattern_window_s = 60,
		.pattern_min_gpus = 3,
		.reset_pattern_gpus = 2,
		.n_pattern_buckets = 2,
		.breaker_max_actions = 3,
		.breaker_window_s = 3600,
		.reboot_loop_window_s = 86400,
		.probe_period_s = 60,
		.validate_period_s = 300,
		.nvml_timeout_ms = 5000,
		.event_log_max_bytes = 1024 * 1024,
		.event_log_keep = 3,
		.drain_timeout_s = 3600,
	};
	snprintf(c->pattern_buckets[0], GK_BUCKET_LEN, "RESTART_APP");
	snprintf(c->pattern_buckets[1], GK_BUCKET_LEN, "RESET_GPU");
	c->catalog = strdup_printf("%s/xid-catalog.json", datadir);
	c->procedure_state_dir = strdup("/var/lib/gpukeep");
	c->gpukeepd_socket = strdup("/var/run/gpukeep/socket");
	c->rungs[GK_LADDER_RESET] =
		(struct gk_rung_config){strv_of(reset), 300, strdup("reset.journal")};
	c->rungs[GK_LADDER_RELOAD] =
		(struct gk_rung_config){strv_of(reload), 900, strdup("reload.journal")};
	c->rungs[GK_LADDER_REBOOT] = (struct gk_rung_config){strv_of(reboot), 120, NULL};
	if (!c->catalog || !c->procedure_state_dir || !c->gpukeepd_socket)
		return watch_config_done(c), -ENOMEM;
	for (int i = 1; i < GK_LADDER_RUNGS; i++)
		if (!c->rungs[i].command || (i < GK_LADDER_REBOOT && !c->rungs[i].journal))
			return watch_config_done(c), -ENOMEM;
	return 0;
}

void watch_config_done(struct gk_watch_config *c)
{
	free(c->baseline);
	free(c->catalog);
	free(c->procedure_state_dir);
	free(c->gpukeepd_socket);
	for (int i = 0; i < GK_LADDER_RUNGS; i++) {
		strv_free(c->rungs[i].command);
		free(c->rungs[i].journal);
	}
	*c = (struct gk_watch_config){};
}

struct apply {
	struct gk_watch_config *c;
	bool dry; /* check only */
	char *error;
};

static int fail(struct apply *a, const char *fmt, ...) _printf_(2, 3);
static int fail(struct apply *a, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&a->error, fmt, ap) < 0)
		a->error = NULL;
	va_end(ap);
	return -EBADMSG;
}

static int set_string(struct apply *a, const char *key, struct json_object *v, char **field)
{
	char *s;

	if (json_object_is_type(v, json_type_null)) {
		if (!a->dry)
			*field = (free(*field), NULL);
		return 0;
	}
	if (!json_object_is_type(v, json_type_string) || !*json_object_get_string(v))
		return fail(a, "'%s' takes a non-empty string or null", key);
	if (a->dry)
		return 0;
	s = strdup(json_object_get_string(v));
	if (!s)
		return -ENOMEM;
	free(*field);
	*field = s;
	return 0;
}

static int set_uint(struct apply *a, const char *section, const char *key, struct json_object *v)
{
	for (size_t i = 0; i < ELEMENTSOF(uint_keys); i++) {
		int64_t x;

		if (!streq_ptr(uint_keys[i].section, section) || !streq(uint_keys[i].key, key))
			continue;
		x = json_object_get_int64(v);
		if (!json_object_is_type(v, json_type_int) || x < uint_keys[i].min ||
		    x > uint_keys[i].max)
			return fail(a, "'%s%s%s' takes a whole number in %u..%u", strempty(section),
				    section ? "." : "", key, uint_keys[i].min, uint_keys[i].max);
		if (!a->dry)
			*(unsigned *)((char *)a->c + uint_keys[i].offset) = (unsigned)x;
		return 0;
	}
	return fail(a, "unknown key '%s%s%s'", strempty(section), section ? "." : "", key);
}

static int set_buckets(struct apply *a, struct json_object *v)
{
	size_t n;

	if (!json_object_is_type(v, json_type_array) ||
	    (n = json_object_array_length(v)) > GK_WATCH_MAX_PATTERN)
		return fail(a, "'pattern.buckets' takes a list of at most %d bucket names",
			    GK_WATCH_MAX_PATTERN);
	for (size_t i = 0; i < n; i++) {
		struct json_object *b = json_object_array_get_idx(v, i);
		const char *s = json_object_get_string(b);

		if (!json_object_is_type(b, json_type_string) ||
		    bucket_to_action(s) == GK_ACTION_UNKNOWN)
			return fail(a, "'pattern.buckets[%zu]' is not a known bucket", i);
		if (!a->dry)
			snprintf(a->c->pattern_buckets[i], GK_BUCKET_LEN, "%s", s);
	}
	if (!a->dry)
		a->c->n_pattern_buckets = n;
	return 0;
}

static int parse_override_key(const char *k, unsigned *ret_code, int *ret_sub)
{
	_cleanup_free_ char *copy = strdup(k);
	char *dot;
	unsigned code, sub;

	if (!copy)
		return -ENOMEM;
	dot = strchr(copy, '.');
	if (dot)
		*dot++ = 0;
	if (safe_atou_base(copy, 10, &code) < 0 || code > 65535)
		return -EINVAL;
	if (dot && (safe_atou_base(dot, 10, &sub) < 0 || sub > 63))
		return -EINVAL;
	*ret_code = code;
	*ret_sub = dot ? (int)sub : -1;
	return 0;
}

static int set_overrides(struct apply *a, struct json_object *v)
{
	size_t n = 0;

	if (!json_object_is_type(v, json_type_object))
		return fail(a, "'overrides' takes an object: {\"79\": \"RESET_GPU\", ...}");
	json_object_object_foreach(v, k, b)
	{
		struct gk_override o = {};
		const char *s = json_object_get_string(b);

		if (parse_override_key(k, &o.code, &o.subcode) < 0)
			return fail(a, "'overrides': key '%s' is not an Xid (\"79\" or \"149.4\")",
				    k);
		if (!json_object_is_type(b, json_type_string) || strlen(s) >= GK_BUCKET_LEN ||
		    bucket_to_action(s) == GK_ACTION_UNKNOWN)
			return fail(
				a,
				"'overrides.%s' is not a known bucket (a catalog bucket such as "
				"RESET_GPU, or observe, reset, reload, reboot, person)",
				k);
		if (n >= GK_WATCH_MAX_OVERRIDES)
			return fail(a, "'overrides' has more than %d entries",
				    GK_WATCH_MAX_OVERRIDES);
		snprintf(o.bucket, sizeof(o.bucket), "%s", s);
		if (!a->dry)
			a->c->overrides[n] = o;
		n++;
	}
	if (!a->dry)
		a->c->n_overrides = n;
	return 0;
}

static int set_command(struct apply *a, const char *rung, struct json_object *v, char ***field)
{
	size_t n;
	char **l = NULL;

	if (!json_object_is_type(v, json_type_array) || (n = json_object_array_length(v)) == 0)
		return fail(a, "'rungs.%s.command' takes a non-empty list of strings (an argv)",
			    rung);
	for (size_t i = 0; i < n; i++) {
		struct json_object *s = json_object_array_get_idx(v, i);

		if (!json_object_is_type(s, json_type_string) || !*json_object_get_string(s)) {
			strv_free(l);
			return fail(a, "'rungs.%s.command[%zu]' is not a non-empty string", rung,
				    i);
		}
		if (!a->dry && strv_extend(&l, json_object_get_string(s)) < 0) {
			strv_free(l);
			return -ENOMEM;
		}
	}
	if (!a->dry) {
		strv_free(*field);
		*field = l;
	}
	return 0;
}

static int set_rung(struct apply *a, int i, struct json_object *v)
{
	struct gk_rung_config *rc = &a->c->rungs[i];
	int r = 0;

	if (!json_object_is_type(v, json_type_object))
		return fail(a, "'rungs.%s' takes an object", rung_keys[i]);
	json_object_object_foreach(v, k, x)
	{
		if (streq(k, "command"))
			r = set_command(a, rung_keys[i], x, &rc->command);
		else if (streq(k, "journal"))
			r = set_string(a, "journal", x, &rc->journal);
		else if (streq(k, "timeout_s")) {
			int64_t t = json_object_get_int64(x);

			if (!json_object_is_type(x, json_type_int) || t < 1 || t > 86400)
				return fail(a, "'rungs.%s.timeout_s' takes 1..86400", rung_keys[i]);
			if (!a->dry)
				rc->timeout_s = (unsigned)t;
		} else
			return fail(a, "unknown key 'rungs.%s.%s'", rung_keys[i], k);
		if (r < 0)
			return r;
	}
	return 0;
}

static int set_rungs(struct apply *a, struct json_object *v)
{
	if (!json_object_is_type(v, json_type_object))
		return fail(a, "'rungs' takes an object with reset, reload and reboot");
	json_object_object_foreach(v, k, x)
	{
		int i, r;

		for (i = 1; i < GK_LADDER_RUNGS && !streq(k, rung_keys[i]); i++)
			;
		if (i == GK_LADDER_RUNGS)
			return fail(a, "unknown rung 'rungs.%s' (reset, reload, reboot)", k);
		r = set_rung(a, i, x);
		if (r < 0)
			return r;
	}
	return 0;
}

static int set_section(struct apply *a, const char *section, struct json_object *v)
{
	if (!json_object_is_type(v, json_type_object))
		return fail(a, "'%s' takes an object", section);
	json_object_object_foreach(v, k, x)
	{
		int r;

		if (streq(section, "pattern") && streq(k, "buckets"))
			r = set_buckets(a, x);
		else if (streq(section, "scheduler") && streq(k, "requeue")) {
			if (!json_object_is_type(x, json_type_boolean))
				return fail(a, "'scheduler.requeue' takes true or false");
			if (!a->dry)
				a->c->requeue = json_object_get_boolean(x);
			r = 0;
		} else if (streq(section, "event_log") && streq(k, "max_bytes")) {
			int64_t n = json_object_get_int64(x);

			if (!json_object_is_type(x, json_type_int) || n < 4096 || n > (1 << 30))
				return fail(a, "'event_log.max_bytes' takes 4096..1073741824");
			if (!a->dry)
				a->c->event_log_max_bytes = (size_t)n;
			r = 0;
		} else
			r = set_uint(a, section, k, x);
		if (r < 0)
			return r;
	}
	return 0;
}

static int apply_all(struct apply *a, struct json_object *o)
{
	if (!json_object_is_type(o, json_type_object))
		return fail(a, "the configuration is not a JSON object");
	json_object_object_foreach(o, k, v)
	{
		int r;

		if (streq(k, "pattern") || streq(k, "breaker") || streq(k, "event_log") ||
		    streq(k, "scheduler"))
			r = set_section(a, k, v);
		else if (streq(k, "overrides"))
			r = set_overrides(a, v);
		else if (streq(k, "rungs"))
			r = set_rungs(a, v);
		else if (streq(k, "baseline"))
			r = set_string(a, k, v, &a->c->baseline);
		else if (streq(k, "catalog"))
			r = set_string(a, k, v, &a->c->catalog);
		else if (streq(k, "procedure_state_dir"))
			r = set_string(a, k, v, &a->c->procedure_state_dir);
		else if (streq(k, "gpukeepd_socket"))
			r = set_string(a, k, v, &a->c->gpukeepd_socket);
		else if (streq(k, "accept_user_facility")) {
			if (!json_object_is_type(v, json_type_boolean))
				return fail(a, "'accept_user_facility' takes true or false");
			if (!a->dry)
				a->c->accept_user_facility = json_object_get_boolean(v);
			r = 0;
		} else if (streq(k, "$comment"))
			r = 0;
		else
			r = set_uint(a, NULL, k, v);
		if (r < 0)
			return r;
	}
	return 0;
}

int watch_config_apply_json(struct gk_watch_config *c, struct json_object *o, char **ret_error)
{
	struct apply a = {.c = c, .dry = true};
	int r;

	/* check everything first, so that a refused file changes nothing */
	r = apply_all(&a, o);
	if (r == 0) {
		a.dry = false;
		r = apply_all(&a, o);
	}
	if (r == -EBADMSG && ret_error)
		*ret_error = TAKE_PTR(a.error);
	free(a.error);
	return r;
}

int watch_config_load(struct gk_watch_config *c, const char *path, char **ret_error)
{
	struct json_object *o = NULL;
	int r;

	r = json_parse_file_at(AT_FDCWD, path, GK_WATCH_CONFIG_MAX_SIZE, &o, ret_error);
	if (r < 0)
		return r;
	r = watch_config_apply_json(c, o, ret_error);
	json_object_put(o);
	return r;
}

const char *watch_config_override(const struct gk_watch_config *c, unsigned code, int subcode)
{
	const char *any = NULL;

	for (size_t i = 0; i < c->n_overrides; i++) {
		if (c->overrides[i].code != code)
			continue;
		if (c->overrides[i].subcode == subcode && subcode >= 0)
			return c->overrides[i].bucket;
		if (c->overrides[i].subcode < 0)
			any = c->overrides[i].bucket;
	}
	return any;
}
