// SPDX-License-Identifier: GPL-2.0-or-later
/* Checked JSON field access shared by the readers of gpukeep's own files. */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json-check.h"
#include "macro.h"
#include "string-util.h"

void jcheck_fail(struct gk_jcheck *c, const char *fmt, ...)
{
	va_list ap;

	if (c->error || c->oom)
		return;
	va_start(ap, fmt);
	if (vasprintf(&c->error, fmt, ap) < 0) {
		c->error = NULL;
		c->oom = true;
	}
	va_end(ap);
}

struct json_object *jcheck_field(struct gk_jcheck *c, struct json_object *o, const char *where,
				 const char *key, enum json_type type, bool nullable)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v)) {
		jcheck_fail(c, "%s%smissing field '%s'", strempty(where), where ? ": " : "", key);
		return NULL;
	}
	if (!v && nullable)
		return NULL;
	if (!json_object_is_type(v, type)) {
		jcheck_fail(c, "%s%sfield '%s' has the wrong type", strempty(where),
			    where ? ": " : "", key);
		return NULL;
	}
	return v;
}

char *jcheck_string(struct gk_jcheck *c, struct json_object *o, const char *where, const char *key,
		    bool nullable)
{
	struct json_object *v = jcheck_field(c, o, where, key, json_type_string, nullable);
	char *s;

	if (!v)
		return NULL;
	s = strdup(json_object_get_string(v));
	if (!s)
		c->oom = true;
	return s;
}

int jcheck_int(struct gk_jcheck *c, struct json_object *o, const char *where, const char *key,
	       int min, int max)
{
	struct json_object *v = jcheck_field(c, o, where, key, json_type_int, true);
	int64_t x;

	if (!v)
		return -1;
	x = json_object_get_int64(v);
	if (x < min || x > max) {
		jcheck_fail(c, "%s%sfield '%s' out of range (%d..%d)", strempty(where),
			    where ? ": " : "", key, min, max);
		return -1;
	}
	return (int)x;
}

char **jcheck_strv(struct gk_jcheck *c, struct json_object *o, const char *where, const char *key)
{
	struct json_object *a = jcheck_field(c, o, where, key, json_type_array, false);
	char **out = calloc(1, sizeof(char *));

	if (!out) {
		c->oom = true;
		return NULL;
	}
	for (size_t i = 0; a && i < json_object_array_length(a); i++) {
		struct json_object *v = json_object_array_get_idx(a, i);

		if (!json_object_is_type(v, json_type_string)) {
			jcheck_fail(c, "%s%s%s[%zu] is not a string", strempty(where),
				    where ? ": " : "", key, i);
			break;
		}
		if (strv_extend(&out, json_object_get_string(v)) < 0) {
			c->oom = true;
			break;
		}
	}
	return out;
}

void jcheck_nested(struct gk_jcheck *c, int k, const char *what, const char *inner)
{
	if (k == -ENOMEM)
		c->oom = true;
	else if (k < 0)
		jcheck_fail(c, "%s: %s", what, strna(inner));
}

int jcheck_finish(struct gk_jcheck *c, char **ret_error)
{
	if (c->oom) {
		free(c->error);
		c->error = NULL;
		return -ENOMEM;
	}
	if (!c->error)
		return 0;
	if (ret_error)
		*ret_error = TAKE_PTR(c->error);
	free(c->error);
	c->error = NULL;
	return -EBADMSG;
}
