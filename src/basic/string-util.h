/* SPDX-License-Identifier: GPL-2.0-or-later */
/* String helpers: trimming, prefixes, bounded formatting, splitting into lines. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "macro.h"

/* Trim whitespace in place; return @s (or the first non-space character for strstrip). */
char *strstrip_right(char *s);
char *strstrip(char *s);

/* Returns a pointer just past @prefix in @s, or NULL when @s does not start with it. */
const char *startswith(const char *s, const char *prefix);

bool endswith(const char *s, const char *suffix);

/* asprintf() that returns NULL on failure; the caller frees. */
char *strdup_printf(const char *fmt, ...) _printf_(1, 2);

/* Array of strings ending in NULL: free each string and the array. Accepts NULL. */
char **strv_free(char **l);
size_t strv_length(char *const *l);
/* Appends a copy of @s; returns 0 or -ENOMEM. @l may point to NULL. */
int strv_extend(char ***l, const char *s);
bool strv_contains(char *const *l, const char *s);
/* The strings of @l joined by @sep ("" for NULL or empty); malloc()ed, NULL on -ENOMEM. */
char *strv_join(char *const *l, const char *sep);

static inline void strv_freep(char ***l)
{
	strv_free(*l);
}
#define _cleanup_strv_free_ _cleanup_(strv_freep)
