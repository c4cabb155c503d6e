/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What NVML says about the node: per GPU its settings, error state and NVLinks, and from the
 * links the NVLink topology. Read once, then used by inventory, baseline and validation. */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "nvml/fabric.h"
#include "nvml/nvml-api.h"
#include "nvml/nvml.h"

/* One value: status 0 and its value, or the NVML status that says why it is unknown. */
struct gk_nvml_reading {
	int status;
	unsigned value;
};

struct gk_nvml_gpu {
	unsigned index;
	int status; /* 0, or why the GPU could not be read at all (GPU lost, hung) */
	char pci[GK_PCI_ADDR_STRLEN];
	char uuid[NVML_DEVICE_UUID_BUFFER_SIZE]; /* "" when unknown */
	char name[NVML_DEVICE_NAME_BUFFER_SIZE];
	struct gk_nvml_reading values[_GK_NVML_VALUE_MAX];
	int links_status; /* 0, NVML_ERROR_NOT_SUPPORTED (no NVLink), or an error */
	struct gk_nvml_link links[NVML_NVLINK_MAX_LINKS];
	size_t n_links;		     /* the links the GPU has, active or not */
	struct gk_fabric_gpu fabric; /* its NVLink fabric registration (NVSwitch nodes) */
};

struct gk_nvml_node {
	bool available; /* NVML loaded and initialized */
	char *error;	/* why not available, or what went wrong while reading; NULL when fine */
	bool hung;	/* a call passed its deadline */
	char driver_version[NVML_DRIVER_VERSION_BUFFER_SIZE]; /* "" when unknown */
	struct gk_nvml_gpu *gpus;
	size_t n_gpus;
};

/*
 * Reads everything about every GPU through @n. A GPU or value that cannot be read is recorded
 * with its status, not a failure; after a hang, the rest is marked hung without waiting again.
 * Returns 0 or -ENOMEM. Free with nvml_node_done().
 */
int nvml_node_read(struct gk_nvml *n, struct gk_nvml_node *ret);

/* A node for which NVML could not be opened: available false, @error copied. 0 or -ENOMEM. */
int nvml_node_unavailable(const char *error, struct gk_nvml_node *ret);

/* Opens NVML (see nvml_open()), reads the node and closes NVML: never fails except -ENOMEM;
 * whatever could not be read is said in ret->error. */
int nvml_node_scan(const char *path, unsigned timeout_ms, struct gk_nvml_node *ret);

void nvml_node_done(struct gk_nvml_node *node);

/* The GPUs' fabric entries as one array for fabric_verdict(): malloc()ed (NULL on -ENOMEM, or
 * when the node has no GPU: *ret_n is then 0). */
struct gk_fabric_gpu *nvml_node_fabric(const struct gk_nvml_node *node, size_t *ret_n);

const struct gk_nvml_gpu *nvml_node_find_gpu(const struct gk_nvml_node *node, const char *pci);

/* How many active links of @node end at a GPU of the node and how many elsewhere (NVSwitches). */
void nvml_node_link_counts(const struct gk_nvml_node *node, size_t *ret_gpu, size_t *ret_other);

/* The peer kind of an active link: GPU when the remote end is one of the node's GPUs, else
 * what NVML said (NVSwitch on HGX boards). */
enum gk_nvml_peer nvml_node_peer(const struct gk_nvml_node *node, const struct gk_nvml_link *l);

/*
 * {"available", "error", "driver_version", "gpus": [...], "topology": [...]}, documented in
 * docs/inventory.md. Returns a new object or NULL on -ENOMEM.
 */
struct json_object *nvml_node_to_json(const struct gk_nvml_node *node);
