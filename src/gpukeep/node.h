/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Reading the node and its baseline for the verbs, with the errors logged once, here. */
#pragma once

#include <stddef.h>

#include "baseline/baseline.h"
#include "node/inventory.h"

/* Inventory of the node under @root. Returns 0, or GK_EXIT_FAILED after logging why. */
int node_scan(const char *root, struct gk_inventory *ret);

/* The node under @root as a baseline; *ret_problems (optional) gets the inventory's problem
 * count. Returns 0 or GK_EXIT_FAILED (logged). */
int node_baseline(const char *root, struct gk_baseline *ret, size_t *ret_problems);

/* Loads @path, or logs which file is wrong and why. Returns 0 or GK_EXIT_USAGE. */
int node_load_baseline(const char *path, struct gk_baseline *ret);
