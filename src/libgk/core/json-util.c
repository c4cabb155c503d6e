// SPDX-License-Identifier: GPL-2.0-or-later
/* json-c helpers for the writers of inventories, baselines, journals and reports. */
#include "core/json-util.h"

struct json_object *json_strv_new(char *const *l)
{
	struct json_object *a = json_object_new_array();

	for (; a && l && *l; l++)
		json_object_array_add(a, json_object_new_string(*l));
	return a;
}

struct json_object *json_string_or_null(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

struct json_object *json_int_or_null(int v)
{
	return v >= 0 ? json_object_new_int(v) : NULL;
}
