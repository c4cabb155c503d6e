// SPDX-License-Identifier: GPL-2.0-or-later
/* One job per NVML entry point. Each runs on the worker thread, calls through the symbol table
 * resolved by dlsym(), and moves enum outputs into unsigned slots so that callers see no ABI
 * types. */
#include "nvml/nvml-ops.h"

#define SYM(s, op, fn) ((__typeof__(&fn))(s)[op])

static int job_init(void *const *s, void *p)
{
	return SYM(s, OP_INIT, nvmlInit_v2)();
}

static int job_shutdown(void *const *s, void *p)
{
	return SYM(s, OP_SHUTDOWN, nvmlShutdown)();
}

static int job_driver_version(void *const *s, void *p)
{
	struct nvml_args *a = p;

	return SYM(s, OP_DRIVER_VERSION, nvmlSystemGetDriverVersion)(a->text, sizeof(a->text));
}

static int job_count(void *const *s, void *p)
{
	struct nvml_args *a = p;

	return SYM(s, OP_COUNT, nvmlDeviceGetCount_v2)(&a->u[0]);
}

static int job_handle(void *const *s, void *p)
{
	struct nvml_args *a = p;

	return SYM(s, OP_HANDLE, nvmlDeviceGetHandleByIndex_v2)(a->in, &a->dev);
}

static int job_pci(void *const *s, void *p)
{
	struct nvml_args *a = p;

	return SYM(s, OP_PCI, nvmlDeviceGetPciInfo_v3)(a->dev, &a->pci);
}

static int job_uuid(void *const *s, void *p)
{
	struct nvml_args *a = p;

	return SYM(s, OP_UUID, nvmlDeviceGetUUID)(a->dev, a->text, sizeof(a->text));
}

static int job_name(void *const *s, void *p)
{
	struct nvml_args *a = p;

	return SYM(s, OP_NAME, nvmlDeviceGetName)(a->dev, a->text, sizeof(a->text));
}

/* Getters of one enum through an int-sized out parameter. */
#define ENUM_GETTER(job, op, fn, type)                                                             \
	static int job(void *const *s, void *p)                                                    \
	{                                                                                          \
		struct nvml_args *a = p;                                                           \
		type v = 0;                                                                        \
		int r = SYM(s, op, fn)(a->dev, &v);                                                \
		a->u[0] = (unsigned)v;                                                             \
		return r;                                                                          \
	}

ENUM_GETTER(job_get_persistence, OP_GET_PERSISTENCE, nvmlDeviceGetPersistenceMode,
	    enum nvml_enable_state)
ENUM_GETTER(job_get_compute, OP_GET_COMPUTE, nvmlDeviceGetComputeMode, enum nvml_compute_mode)
ENUM_GETTER(job_get_accounting, OP_GET_ACCOUNTING, nvmlDeviceGetAccountingMode,
	    enum nvml_enable_state)
ENUM_GETTER(job_get_retired, OP_GET_RETIRED_PENDING, nvmlDeviceGetRetiredPagesPendingStatus,
	    enum nvml_enable_state)
ENUM_GETTER(job_get_power, OP_GET_POWER, nvmlDeviceGetPowerManagementLimit, unsigned)
ENUM_GETTER(job_get_power_default, OP_GET_POWER_DEFAULT, nvmlDeviceGetPowerManagementDefaultLimit,
	    unsigned)

static int job_set_persistence(void *const *s, void *p)
{
	struct nvml_args *a = p;

	return SYM(s, OP_SET_PERSISTENCE, nvmlDeviceSetPersistenceMode)(a->dev, a->in);
}

static int job_set_compute(void *const *s, void *p)
{
	struct nvml_args *a = p;

	return SYM(s, OP_SET_COMPUTE, nvmlDeviceSetComputeMode)(a->dev, a->in);
}

static int job_get_app_clock(void *const *s, void *p)
{
	struct nvml_args *a = p;

	return SYM(s, OP_GET_APP_CLOCK, nvmlDeviceGetApplicationsClock)(a->dev, a->in, &a->u[0]);
}

static int job_get_default_app_clock(void *const *s, void *p)
{
	struct nvml_args *a = p;

	return SYM(s, OP_GET_DEFAULT_APP_CLOCK,
		   nvmlDeviceGetDefaultApplicationsClock)(a->dev, a->in, &a->u[0]);
}

static int job_set_app_clocks(void *const *s, void *p)
{
	struct nvml_args *a = p;

	return SYM(s, OP_SET_APP_CLOCKS, nvmlDeviceSetApplicationsClocks)(a->dev, a->in, a->in2);
}

static int job_set_power(void *const *s, void *p)
{
	struct nvml_args *a = p;

	return SYM(s, OP_SET_POWER, nvmlDeviceSetPowerManagementLimit)(a->dev, a->in);
}

static int job_get_power_constraints(void *const *s, void *p)
{
	struct nvml_args *a = p;

	return SYM(s, OP_GET_POWER_CONSTRAINTS,
		   nvmlDeviceGetPowerManagementLimitConstraints)(a->dev, &a->u[0], &a->u[1]);
}

static int job_set_accounting(void *const *s, void *p)
{
	struct nvml_args *a = p;

	return SYM(s, OP_SET_ACCOUNTING, nvmlDeviceSetAccountingMode)(a->dev, a->in);
}

static int job_get_ecc(void *const *s, void *p)
{
	struct nvml_args *a = p;
	enum nvml_enable_state cur = 0, pending = 0;
	int r = SYM(s, OP_GET_ECC, nvmlDeviceGetEccMode)(a->dev, &cur, &pending);

	a->u[0] = cur;
	a->u[1] = pending;
	return r;
}

static int job_get_remapped(void *const *s, void *p)
{
	struct nvml_args *a = p;

	return SYM(s, OP_GET_REMAPPED, nvmlDeviceGetRemappedRows)(a->dev, &a->u[0], &a->u[1],
								  &a->u[2], &a->u[3]);
}

/* One field (a->in), its unsigned value into u[0]; the field's own status is the call's. */
static int job_field_value(void *const *s, void *p)
{
	struct nvml_args *a = p;
	struct nvml_field_value v = {.field_id = a->in};
	int r = SYM(s, OP_FIELD_VALUE, nvmlDeviceGetFieldValues)(a->dev, 1, &v);

	if (r == 0 && v.nvml_return != 0)
		return v.nvml_return;
	if (r == 0)
		a->u[0] = v.value.ui;
	return r;
}

static int job_link_state(void *const *s, void *p)
{
	struct nvml_args *a = p;
	enum nvml_enable_state v = 0;
	int r = SYM(s, OP_LINK_STATE, nvmlDeviceGetNvLinkState)(a->dev, a->in, &v);

	a->u[0] = v;
	return r;
}

static int job_link_remote_pci(void *const *s, void *p)
{
	struct nvml_args *a = p;

	return SYM(s, OP_LINK_REMOTE_PCI, nvmlDeviceGetNvLinkRemotePciInfo_v2)(a->dev, a->in,
									       &a->pci);
}

static int job_link_remote_type(void *const *s, void *p)
{
	struct nvml_args *a = p;
	enum nvml_nvlink_device_type v = NVML_NVLINK_DEVICE_TYPE_UNKNOWN;
	int r = SYM(s, OP_LINK_REMOTE_TYPE, nvmlDeviceGetNvLinkRemoteDeviceType)(a->dev, a->in, &v);

	a->u[0] = v;
	return r;
}

/* The fabric state and status into u[0], u[1]. */
static int job_fabric_v(void *const *s, void *p)
{
	struct nvml_args *a = p;
	struct nvml_gpu_fabric_info_v2 info = {.version = NVML_GPU_FABRIC_INFO_V2};
	int r = SYM(s, OP_FABRIC_V, nvmlDeviceGetGpuFabricInfoV)(a->dev, &info);

	a->u[0] = info.state;
	a->u[1] = (unsigned)info.status;
	return r;
}

static int job_fabric(void *const *s, void *p)
{
	struct nvml_args *a = p;
	struct nvml_gpu_fabric_info info = {};
	int r = SYM(s, OP_FABRIC, nvmlDeviceGetGpuFabricInfo)(a->dev, &info);

	a->u[0] = info.state;
	a->u[1] = (unsigned)info.status;
	return r;
}

static const struct {
	const char *symbol;
	nvml_worker_fn job;
	bool required;
} ops[_OP_MAX] = {
	[OP_INIT] = {"nvmlInit_v2", job_init, true},
	[OP_SHUTDOWN] = {"nvmlShutdown", job_shutdown, true},
	[OP_DRIVER_VERSION] = {"nvmlSystemGetDriverVersion", job_driver_version, false},
	[OP_COUNT] = {"nvmlDeviceGetCount_v2", job_count, true},
	[OP_HANDLE] = {"nvmlDeviceGetHandleByIndex_v2", job_handle, true},
	[OP_PCI] = {"nvmlDeviceGetPciInfo_v3", job_pci, true},
	[OP_UUID] = {"nvmlDeviceGetUUID", job_uuid, false},
	[OP_NAME] = {"nvmlDeviceGetName", job_name, false},
	[OP_GET_PERSISTENCE] = {"nvmlDeviceGetPersistenceMode", job_get_persistence, false},
	[OP_SET_PERSISTENCE] = {"nvmlDeviceSetPersistenceMode", job_set_persistence, false},
	[OP_GET_COMPUTE] = {"nvmlDeviceGetComputeMode", job_get_compute, false},
	[OP_SET_COMPUTE] = {"nvmlDeviceSetComputeMode", job_set_compute, false},
	[OP_GET_APP_CLOCK] = {"nvmlDeviceGetApplicationsClock", job_get_app_clock, false},
	[OP_GET_DEFAULT_APP_CLOCK] = {"nvmlDeviceGetDefaultApplicationsClock",
				      job_get_default_app_clock, false},
	[OP_SET_APP_CLOCKS] = {"nvmlDeviceSetApplicationsClocks", job_set_app_clocks, false},
	[OP_GET_POWER] = {"nvmlDeviceGetPowerManagementLimit", job_get_power, false},
	[OP_SET_POWER] = {"nvmlDeviceSetPowerManagementLimit", job_set_power, false},
	[OP_GET_POWER_DEFAULT] = {"nvmlDeviceGetPowerManagementDefaultLimit", job_get_power_default,
				  false},
	[OP_GET_POWER_CONSTRAINTS] = {"nvmlDeviceGetPowerManagementLimitConstraints",
				      job_get_power_constraints, false},
	[OP_GET_ACCOUNTING] = {"nvmlDeviceGetAccountingMode", job_get_accounting, false},
	[OP_SET_ACCOUNTING] = {"nvmlDeviceSetAccountingMode", job_set_accounting, false},
	[OP_GET_ECC] = {"nvmlDeviceGetEccMode", job_get_ecc, false},
	[OP_GET_RETIRED_PENDING] = {"nvmlDeviceGetRetiredPagesPendingStatus", job_get_retired,
				    false},
	[OP_GET_REMAPPED] = {"nvmlDeviceGetRemappedRows", job_get_remapped, false},
	[OP_LINK_STATE] = {"nvmlDeviceGetNvLinkState", job_link_state, false},
	[OP_FIELD_VALUE] = {"nvmlDeviceGetFieldValues", job_field_value, false},
	[OP_LINK_REMOTE_PCI] = {"nvmlDeviceGetNvLinkRemotePciInfo_v2", job_link_remote_pci, false},
	[OP_LINK_REMOTE_TYPE] = {"nvmlDeviceGetNvLinkRemoteDeviceType", job_link_remote_type,
				 false},
	[OP_FABRIC_V] = {"nvmlDeviceGetGpuFabricInfoV", job_fabric_v, false},
	[OP_FABRIC] = {"nvmlDeviceGetGpuFabricInfo", job_fabric, false},
};

const char *nvml_op_symbol(enum nvml_op op)
{
	return ops[op].symbol;
}

bool nvml_op_required(enum nvml_op op)
{
	return ops[op].required;
}

nvml_worker_fn nvml_op_job(enum nvml_op op)
{
	return ops[op].job;
}
