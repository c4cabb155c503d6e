/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The fields the procedures' journal records share (the node before, what the stop step stopped,
 * the persistence daemon, the settings file), written and read back the same way by each. */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>

#include "baseline/baseline.h"
#include "core/json-check.h"
#include "procedure/keeper.h"

/* Adds @v (taken) to @o as @key. false when @v is NULL (out of memory) or the add fails. */
bool record_put(struct json_object *o, const char *key, struct json_object *v);
/* Adds the string @s, JSON null when @s is NULL. false when out of memory. */
bool record_put_string(struct json_object *o, const char *key, const char *s);
/* "units", "containers" (strvs, not NULL) and "daemon_released", in that order. false when out
 * of memory. */
bool record_put_stopped(struct json_object *o, char *const *units, char *const *containers,
			bool released);
/* "daemon_socket" (null when NULL), "daemon_kind" and, with @gpus, "daemon_gpus"
 * (keeper_record_write()). false when out of memory. */
bool record_put_daemon(struct json_object *o, const char *socket, enum gk_keeper_kind kind,
		       char *const *gpus);

/* "before", a baseline: its problem is recorded in @c as "before: ...". *ret is filled only
 * when it reads (it stays as it was otherwise). */
void record_read_before(struct gk_jcheck *c, struct json_object *o, struct gk_baseline *ret);
/* "units", "containers" and "daemon_released", each checked into @c. With
 * @containers_optional a record without "containers" (written before the engine) has none.
 * The strvs are the caller's to free (NULL only when out of memory). */
void record_read_stopped(struct gk_jcheck *c, struct json_object *o, bool containers_optional,
			 char ***ret_units, char ***ret_containers, bool *ret_released);
/* "daemon_socket" (nullable: record_check_files() refuses a null one) and
 * keeper_record_read()'s "daemon_kind" and "daemon_gpus" (@ret_gpus NULL: the kind only). */
void record_read_daemon(struct gk_jcheck *c, struct json_object *o, char **ret_socket,
			enum gk_keeper_kind *ret_kind, char ***ret_gpus);
/* Once the fields are read: a record needs its daemon's @socket, and its @settings_file names a
 * file of the state directory (no '/'). A problem is recorded in @c unless one is already. */
void record_check_files(struct gk_jcheck *c, const char *socket, const char *settings_file);
