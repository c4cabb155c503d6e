/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Small json-c helpers shared by the JSON writers: unknown values are null, never 0 or "". */
#pragma once

#include <json-c/json.h>

/* A new array of the strings of @l (NULL: an empty array); NULL on -ENOMEM. */
struct json_object *json_strv_new(char *const *l);

/* A new string, or NULL (JSON null) when @s is NULL. */
struct json_object *json_string_or_null(const char *s);

/* A new int, or NULL (JSON null) when @v is negative (unknown). */
struct json_object *json_int_or_null(int v);
