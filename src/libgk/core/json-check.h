/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Reading JSON written by gpukeep (baselines, journals, settings) with every field checked:
 * a hand-edited or truncated file is refused with the first problem named, never guessed at. */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>

struct gk_jcheck {
	char *error; /* the first problem found, malloc()ed */
	bool oom;
};

/* Records a problem unless one is recorded already (the first one is the one to report). */
void jcheck_fail(struct gk_jcheck *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * The member @key of object @o, of @type. A missing member or another type is a problem ("WHERE:
 * missing field 'KEY'", "WHERE: field 'KEY' has the wrong type"; no prefix when @where is NULL).
 * JSON null is accepted when @nullable. Returns the member (borrowed) or NULL.
 */
struct json_object *jcheck_field(struct gk_jcheck *c, struct json_object *o, const char *where,
				 const char *key, enum json_type type, bool nullable);

/* A string member, copied (the caller frees); NULL when null, missing or wrong. */
char *jcheck_string(struct gk_jcheck *c, struct json_object *o, const char *where, const char *key,
		    bool nullable);

/* An integer member in @min..@max (nullable); -1 when null, missing, wrong or out of range. */
int jcheck_int(struct gk_jcheck *c, struct json_object *o, const char *where, const char *key,
	       int min, int max);

/* An array of strings; an empty strv when missing or wrong (the problem recorded), NULL only
 * when out of memory. */
char **jcheck_strv(struct gk_jcheck *c, struct json_object *o, const char *where, const char *key);

/* The return @k of a nested reader that names its problem in @inner: -ENOMEM marks @c out of
 * memory, another failure is recorded as "@what: INNER". */
void jcheck_nested(struct gk_jcheck *c, int k, const char *what, const char *inner);

/* The verdict: 0, -EBADMSG with the problem moved into *ret_error (when given), or -ENOMEM. */
int jcheck_finish(struct gk_jcheck *c, char **ret_error);
