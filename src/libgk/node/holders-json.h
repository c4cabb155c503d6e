/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The holder list as JSON: schema "gpukeep.holders", version 1. */
#pragma once

#include <json-c/json.h>

#include "node/holders.h"

#define GK_HOLDERS_SCHEMA  "gpukeep.holders"
#define GK_HOLDERS_VERSION 1

/*
 * {"schema", "version", "holders": [{"pid", "comm", "cmdline", "uid", "user", "state",
 * "unkillable", "cgroup", "unit", "container": {"runtime", "id"} | null, "devices": [{"path",
 * "fd", "mmap"}]}], "inaccessible"}. Unknown values are null. Returns a new object (the caller
 * puts it with json_object_put()), or NULL when out of memory.
 */
struct json_object *holders_to_json(const struct gk_holders *h);
