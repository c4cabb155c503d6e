/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The NVLink fabric of an NVSwitch node, as NVML reports it per GPU: until the fabric manager has
 * trained it, CUDA fails ("system not yet initialized") and the NVLinks are down. Pure decisions.
 */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "node/pci.h"
#include "nvml/nvml.h"

/* One GPU's fabric as read: @read is 0, or the NVML status that kept it unknown. */
struct gk_fabric_gpu {
	char pci[GK_PCI_ADDR_STRLEN];
	int read;
	struct gk_nvml_fabric fabric;
};

enum gk_fabric_verdict {
	GK_FABRIC_NONE,	    /* no GPU takes part in a fabric: nothing to wait for */
	GK_FABRIC_READY,    /* every GPU that takes part completed with success */
	GK_FABRIC_TRAINING, /* some not started or in progress, none failed */
	GK_FABRIC_FAILED,   /* a GPU completed with an error status */
	GK_FABRIC_UNKNOWN,  /* a GPU's state could not be read (lost, hung), none failed */
};

/* Whether @g takes part: its state could be read and is not NOT_SUPPORTED, or it could not be
 * read for a reason other than "not supported" / "not exported". */
bool fabric_gpu_participates(const struct gk_fabric_gpu *g);
/* Completed with success. */
bool fabric_gpu_ready(const struct gk_fabric_gpu *g);

/* The node's verdict from its GPUs; *ret_ready (when given) counts the ready ones and
 * *ret_total (when given) the participating ones. FAILED beats UNKNOWN beats TRAINING. */
enum gk_fabric_verdict fabric_verdict(const struct gk_fabric_gpu *g, size_t n, size_t *ret_ready,
				      size_t *ret_total);

/*
 * The GPUs of @g (@n) whose PCI address is in @pcis (a strv), in @pcis' order, as a new array
 * (malloc()ed) in *ret with *ret_n == strv_length(@pcis): a GPU NVML does not list (not back
 * yet after a reset, or lost) is there as unreadable (read NVML_ERROR_NOT_FOUND), so it counts
 * as not ready. 0 or -ENOMEM.
 */
int fabric_select(const struct gk_fabric_gpu *g, size_t n, char *const *pcis,
		  struct gk_fabric_gpu **ret, size_t *ret_n);

/* "not-supported", "not-started", "in-progress", "completed", or "unknown". Static. */
const char *fabric_state_to_string(unsigned state);

/* For messages: the participating GPUs not ready, "0000:18:00.0 (in-progress), 0000:2a:00.0
 * (completed with error: ...)", at most @max named then "and N more". malloc()ed, NULL on
 * -ENOMEM; "" when all are ready. */
char *fabric_describe_pending(const struct gk_fabric_gpu *g, size_t n, size_t max);

/* {"gpu" (with @with_pci), "state": "completed", "status": "success" (null until completed),
 * "ready": bool}; NULL when the state could not be read (or on -ENOMEM). */
struct json_object *fabric_gpu_to_json(const struct gk_fabric_gpu *g, bool with_pci);

/* The participating GPUs as an array of the above (unreadable ones with "error"); NULL when
 * none participates (or on -ENOMEM). */
struct json_object *fabric_to_json(const struct gk_fabric_gpu *g, size_t n);
