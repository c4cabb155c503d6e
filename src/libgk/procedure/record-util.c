// SPDX-License-Identifier: GPL-2.0-or-later
/* The journal records' shared fields: one writer and one reader for the reload and the reset. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/json-util.h"
#include "macro.h"
#include "procedure/record-util.h"
#include "string-util.h"

bool record_put(struct json_object *o, const char *key, struct json_object *v)
{
	if (!v)
		return false;
	if (json_object_object_add(o, key, v) < 0) {
		json_object_put(v);
		return false;
	}
	return true;
}

bool record_put_string(struct json_object *o, const char *key, const char *s)
{
	struct json_object *v = NULL;

	if (s && !(v = json_object_new_string(s)))
		return false;
	if (json_object_object_add(o, key, v) < 0) {
		json_object_put(v);
		return false;
	}
	return true;
}

bool record_put_stopped(struct json_object *o, char *const *units, char *const *containers,
			bool released)
{
	return record_put(o, "units", json_strv_new(units)) &&
	       record_put(o, "containers", json_strv_new(containers)) &&
	       record_put(o, "daemon_released", json_object_new_boolean(released));
}

bool record_put_daemon(struct json_object *o, const char *socket, enum gk_keeper_kind kind,
		       char *const *gpus)
{
	return record_put_string(o, "daemon_socket", socket) && keeper_record_write(o, kind, gpus);
}

void record_read_before(struct gk_jcheck *c, struct json_object *o, struct gk_baseline *ret)
{
	_cleanup_free_ char *inner = NULL;
	struct json_object *v;
	int k;

	v = jcheck_field(c, o, "record", "before", json_type_object, false);
	if (!v)
		return;
	k = baseline_from_json(v, ret, &inner);
	jcheck_nested(c, k, "before", inner);
}

void record_read_stopped(struct gk_jcheck *c, struct json_object *o, bool containers_optional,
			 char ***ret_units, char ***ret_containers, bool *ret_released)
{
	struct json_object *v;

	*ret_units = jcheck_strv(c, o, "record", "units");
	/* containers came with the engine: a 0.x reload journal has none */
	if (!containers_optional || json_object_object_get_ex(o, "containers", NULL))
		*ret_containers = jcheck_strv(c, o, "record", "containers");
	else if (!(*ret_containers = calloc(1, sizeof(char *))))
		c->oom = true;
	v = jcheck_field(c, o, "record", "daemon_released", json_type_boolean, false);
	*ret_released = v && json_object_get_boolean(v);
}

void record_read_daemon(struct gk_jcheck *c, struct json_object *o, char **ret_socket,
			enum gk_keeper_kind *ret_kind, char ***ret_gpus)
{
	*ret_socket = jcheck_string(c, o, "record", "daemon_socket", true);
	keeper_record_read(c, o, ret_kind, ret_gpus);
}

void record_check_files(struct gk_jcheck *c, const char *socket, const char *settings_file)
{
	if (!c->error && !c->oom && !socket)
		jcheck_fail(c, "record: daemon_socket is null");
	if (!c->error && settings_file && strchr(settings_file, '/'))
		jcheck_fail(c, "record: settings_file must name a file of the state directory");
}
