/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The inventory as JSON: schema "gpukeep.inventory", documented in docs/inventory.md. */
#pragma once

#include <json-c/json.h>

#include "node/inventory.h"

#define GK_INVENTORY_SCHEMA  "gpukeep.inventory"
#define GK_INVENTORY_VERSION 1

/* Returns a new object (the caller puts it with json_object_put()), or NULL on -ENOMEM. */
struct json_object *inventory_to_json(const struct gk_inventory *inv);
