/* SPDX-License-Identifier: GPL-2.0-or-later */
/* NVML for the verbs: the --nvml option, which library (if any) a verb reads, and the NVML
 * section of the inventory in text and JSON. */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>

#include "baseline/baseline.h"
#include "nvml/nvml-node.h"

/*
 * Takes "--nvml PATH" or "--nvml=PATH" out of argv (the other arguments keep their order and
 * *argc drops), so that the verb's own parser never sees it. Returns -1 to go on, with
 * *ret_path set when the option was given, or GK_EXIT_USAGE after saying what is wrong.
 */
int nvml_cli_take_option(const char *verb, int *argc, char **argv, const char **ret_path);

/*
 * The same for verbs that reach NVML indirectly (baseline, validate, pm, reload and its helper
 * processes): the path given becomes $GPUKEEP_NVML for this process and its children. Returns
 * -1 to go on, or GK_EXIT_USAGE.
 */
int nvml_cli_take_option_env(const char *verb, int *argc, char **argv);

/*
 * Whether a verb working on @root consults NVML: yes when @path (--nvml) or $GPUKEEP_NVML names
 * a library, otherwise only on the real node (root "/"): NVML reads the running driver, which a
 * fixture root is not.
 */
bool nvml_cli_wanted(const char *root, const char *path);

/* Reads the node through NVML (nvml_node_scan()) if nvml_cli_wanted(). Returns 1 and the node,
 * 0 when NVML is not consulted (nothing to free), or -ENOMEM. */
int nvml_cli_scan(const char *root, const char *path, struct gk_nvml_node *ret);

/*
 * The inventory's NVML part: adds "nvml" to @json, or prints the text section when @json is
 * NULL. Nothing when NVML is not consulted. Returns 0 or -ENOMEM.
 */
int nvml_cli_inventory(const char *root, const char *path, struct json_object *json);

/* Adds the NVML part (NVLinks, pending retirements) to @b when the verb consults NVML
 * (nvml_cli_wanted() with no --nvml: $GPUKEEP_NVML or the real node). Returns 0 or -ENOMEM. */
int nvml_cli_baseline(const char *root, struct gk_baseline *b);
