/* SPDX-License-Identifier: GPL-2.0-or-later */
/* NVML's entry points as jobs for the deadline worker: one per symbol, with its inputs and
 * outputs in one copyable struct. Internal to nvml.c. */
#pragma once

#include <stdbool.h>

#include "nvml/nvml-api.h"
#include "nvml/nvml-worker.h"

enum nvml_op {
	OP_INIT,
	OP_SHUTDOWN,
	OP_DRIVER_VERSION,
	OP_COUNT,
	OP_HANDLE,
	OP_PCI,
	OP_UUID,
	OP_NAME,
	OP_GET_PERSISTENCE,
	OP_SET_PERSISTENCE,
	OP_GET_COMPUTE,
	OP_SET_COMPUTE,
	OP_GET_APP_CLOCK,
	OP_GET_DEFAULT_APP_CLOCK,
	OP_SET_APP_CLOCKS,
	OP_GET_POWER,
	OP_SET_POWER,
	OP_GET_POWER_DEFAULT,
	OP_GET_POWER_CONSTRAINTS,
	OP_GET_ACCOUNTING,
	OP_SET_ACCOUNTING,
	OP_GET_ECC,
	OP_GET_RETIRED_PENDING,
	OP_GET_REMAPPED,
	OP_LINK_STATE,
	OP_LINK_REMOTE_PCI,
	OP_LINK_REMOTE_TYPE,
	OP_FABRIC_V, /* nvmlDeviceGetGpuFabricInfoV (R535+) */
	OP_FABRIC,   /* nvmlDeviceGetGpuFabricInfo: older libraries */
	OP_FIELD_VALUE,
	_OP_MAX,
};

/* One call's inputs and outputs, copied to and from the worker. */
struct nvml_args {
	struct nvml_device *dev;
	unsigned in; /* clock type, link number, or a value to set */
	unsigned in2;
	unsigned u[4];
	char text[NVML_DEVICE_UUID_BUFFER_SIZE];
	struct nvml_pci_info pci;
};

/* The symbol name of @op ("nvmlInit_v2"), and whether gpukeep cannot work without it. */
const char *nvml_op_symbol(enum nvml_op op);
bool nvml_op_required(enum nvml_op op);

/* The job that calls @op's symbol; the worker passes it the resolved symbol table. */
nvml_worker_fn nvml_op_job(enum nvml_op op);
