/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Baseline helpers shared by the verbs that check a node (validate, and later reload). */
#pragma once

#include <stddef.h>

#include "baseline.h"

/* Loads @path, or logs which file is wrong and why. Returns 0 or GK_EXIT_USAGE. */
int baseline_load_or_explain(const char *path, struct gk_baseline *ret);

/* The node under @root as a baseline; *ret_problems gets the inventory's problem count.
 * Returns 0 or GK_EXIT_FAILED (logged). */
int baseline_of_node(const char *root, struct gk_baseline *ret, size_t *ret_problems);
