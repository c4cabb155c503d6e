/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The part of NVML's C ABI that gpukeep uses, declared here from the documented interface (no
 * nvml.h: it is not in Debian main). Only the versioned symbol names are declared; nothing links
 * against them: libgk resolves them with dlsym(), the test double (tests/fakenvml) defines them. */
#pragma once

/* Return codes (nvmlReturn_t). Newer libraries add codes: unknown ones are reported by number. */
enum nvml_return {
	NVML_SUCCESS = 0,
	NVML_ERROR_UNINITIALIZED = 1,
	NVML_ERROR_INVALID_ARGUMENT = 2,
	NVML_ERROR_NOT_SUPPORTED = 3,
	NVML_ERROR_NO_PERMISSION = 4,
	NVML_ERROR_ALREADY_INITIALIZED = 5,
	NVML_ERROR_NOT_FOUND = 6,
	NVML_ERROR_INSUFFICIENT_SIZE = 7,
	NVML_ERROR_INSUFFICIENT_POWER = 8,
	NVML_ERROR_DRIVER_NOT_LOADED = 9,
	NVML_ERROR_TIMEOUT = 10,
	NVML_ERROR_IRQ_ISSUE = 11,
	NVML_ERROR_LIBRARY_NOT_FOUND = 12,
	NVML_ERROR_FUNCTION_NOT_FOUND = 13,
	NVML_ERROR_CORRUPTED_INFOROM = 14,
	NVML_ERROR_GPU_IS_LOST = 15,
	NVML_ERROR_RESET_REQUIRED = 16,
	NVML_ERROR_OPERATING_SYSTEM = 17,
	NVML_ERROR_LIB_RM_VERSION_MISMATCH = 18,
	NVML_ERROR_IN_USE = 19,
	NVML_ERROR_MEMORY = 20,
	NVML_ERROR_NO_DATA = 21,
	NVML_ERROR_UNKNOWN = 999,
};

enum nvml_enable_state {
	NVML_FEATURE_DISABLED = 0,
	NVML_FEATURE_ENABLED = 1,
};

enum nvml_compute_mode {
	NVML_COMPUTEMODE_DEFAULT = 0,
	NVML_COMPUTEMODE_EXCLUSIVE_THREAD = 1, /* deprecated by NVIDIA, still reported */
	NVML_COMPUTEMODE_PROHIBITED = 2,
	NVML_COMPUTEMODE_EXCLUSIVE_PROCESS = 3,
	NVML_COMPUTEMODE_COUNT,
};

enum nvml_clock_type {
	NVML_CLOCK_GRAPHICS = 0,
	NVML_CLOCK_SM = 1,
	NVML_CLOCK_MEM = 2,
	NVML_CLOCK_VIDEO = 3,
};

enum nvml_nvlink_device_type {
	NVML_NVLINK_DEVICE_TYPE_GPU = 0,
	NVML_NVLINK_DEVICE_TYPE_IBMNPU = 1,
	NVML_NVLINK_DEVICE_TYPE_SWITCH = 2,
	NVML_NVLINK_DEVICE_TYPE_UNKNOWN = 0xff,
};

#define NVML_NVLINK_MAX_LINKS		18
#define NVML_DRIVER_VERSION_BUFFER_SIZE 80
#define NVML_DEVICE_UUID_BUFFER_SIZE	96
#define NVML_DEVICE_NAME_BUFFER_SIZE	96

/* nvmlPciInfo_t as the _v3 / _v2 entry points fill it. busId is "%08X:%02X:%02X.0". */
struct nvml_pci_info {
	char bus_id_legacy[16];
	unsigned domain;
	unsigned bus;
	unsigned device;
	unsigned pci_device_id; /* device id << 16 | vendor id */
	unsigned pci_subsystem_id;
	char bus_id[32];
};

/* GPU fabric registration (NVSwitch systems): NVML_GPU_FABRIC_STATE_*. The status is valid only
 * once the state is COMPLETED. */
enum nvml_gpu_fabric_state {
	NVML_GPU_FABRIC_STATE_NOT_SUPPORTED = 0,
	NVML_GPU_FABRIC_STATE_NOT_STARTED = 1,
	NVML_GPU_FABRIC_STATE_IN_PROGRESS = 2,
	NVML_GPU_FABRIC_STATE_COMPLETED = 3,
};

#define NVML_GPU_FABRIC_UUID_LEN 16

/* nvmlGpuFabricInfo_t, filled by nvmlDeviceGetGpuFabricInfo (the first version). */
struct nvml_gpu_fabric_info {
	unsigned char cluster_uuid[NVML_GPU_FABRIC_UUID_LEN];
	enum nvml_return status;
	unsigned clique_id;
	unsigned char state; /* nvmlGpuFabricState_t */
};

/* nvmlGpuFabricInfo_v2_t, filled by nvmlDeviceGetGpuFabricInfoV; later versions extend it at the
 * end, so a library that knows them still fills this one when its version field asks for 2. */
struct nvml_gpu_fabric_info_v2 {
	unsigned version; /* NVML_GPU_FABRIC_INFO_V2 */
	unsigned char cluster_uuid[NVML_GPU_FABRIC_UUID_LEN];
	enum nvml_return status;
	unsigned clique_id;
	unsigned char state;
	unsigned health_mask;
};

/* NVML_STRUCT_VERSION(GpuFabricInfo, 2): the size with the version in the top byte. */
#define NVML_GPU_FABRIC_INFO_V2 ((unsigned)(sizeof(struct nvml_gpu_fabric_info_v2) | (2u << 24)))

/* nvmlDevice_t: an opaque pointer owned by the library. */
struct nvml_device;

/* The entry points, by the versioned names the real library exports. */
enum nvml_return nvmlInit_v2(void);
enum nvml_return nvmlShutdown(void);
enum nvml_return nvmlSystemGetDriverVersion(char *version, unsigned length);
enum nvml_return nvmlDeviceGetCount_v2(unsigned *count);
enum nvml_return nvmlDeviceGetHandleByIndex_v2(unsigned index, struct nvml_device **device);
enum nvml_return nvmlDeviceGetPciInfo_v3(struct nvml_device *device, struct nvml_pci_info *pci);
enum nvml_return nvmlDeviceGetUUID(struct nvml_device *device, char *uuid, unsigned length);
enum nvml_return nvmlDeviceGetName(struct nvml_device *device, char *name, unsigned length);
enum nvml_return nvmlDeviceGetPersistenceMode(struct nvml_device *device,
					      enum nvml_enable_state *mode);
enum nvml_return nvmlDeviceSetPersistenceMode(struct nvml_device *device,
					      enum nvml_enable_state mode);
enum nvml_return nvmlDeviceGetComputeMode(struct nvml_device *device, enum nvml_compute_mode *mode);
enum nvml_return nvmlDeviceSetComputeMode(struct nvml_device *device, enum nvml_compute_mode mode);
enum nvml_return nvmlDeviceGetApplicationsClock(struct nvml_device *device,
						enum nvml_clock_type type, unsigned *mhz);
enum nvml_return nvmlDeviceGetDefaultApplicationsClock(struct nvml_device *device,
						       enum nvml_clock_type type, unsigned *mhz);
enum nvml_return nvmlDeviceSetApplicationsClocks(struct nvml_device *device, unsigned mem_mhz,
						 unsigned graphics_mhz);
enum nvml_return nvmlDeviceGetPowerManagementLimit(struct nvml_device *device, unsigned *mw);
enum nvml_return nvmlDeviceSetPowerManagementLimit(struct nvml_device *device, unsigned mw);
enum nvml_return nvmlDeviceGetPowerManagementDefaultLimit(struct nvml_device *device, unsigned *mw);
enum nvml_return nvmlDeviceGetPowerManagementLimitConstraints(struct nvml_device *device,
							      unsigned *min_mw, unsigned *max_mw);
enum nvml_return nvmlDeviceGetAccountingMode(struct nvml_device *device,
					     enum nvml_enable_state *mode);
enum nvml_return nvmlDeviceSetAccountingMode(struct nvml_device *device,
					     enum nvml_enable_state mode);
enum nvml_return nvmlDeviceGetEccMode(struct nvml_device *device, enum nvml_enable_state *current,
				      enum nvml_enable_state *pending);
enum nvml_return nvmlDeviceGetRetiredPagesPendingStatus(struct nvml_device *device,
							enum nvml_enable_state *pending);
enum nvml_return nvmlDeviceGetRemappedRows(struct nvml_device *device, unsigned *corrected,
					   unsigned *uncorrected, unsigned *pending,
					   unsigned *failed);
/* nvmlFieldValue_t: one field of nvmlDeviceGetFieldValues() (the value is a union of 8 bytes;
 * gpukeep reads the unsigned int member) */
struct nvml_field_value {
	unsigned field_id;
	unsigned scope_id;
	long long timestamp;
	long long latency_usec;
	int value_type;
	enum nvml_return nvml_return;
	union {
		double d;
		unsigned ui;
		unsigned long ul;
		unsigned long long ull;
		signed long long sll;
		int si;
		unsigned short us;
	} value;
};
#define NVML_FI_DEV_GET_GPU_RECOVERY_ACTION 230
enum nvml_return nvmlDeviceGetFieldValues(struct nvml_device *device, int count,
					  struct nvml_field_value *values);
enum nvml_return nvmlDeviceGetNvLinkState(struct nvml_device *device, unsigned link,
					  enum nvml_enable_state *active);
enum nvml_return nvmlDeviceGetNvLinkRemotePciInfo_v2(struct nvml_device *device, unsigned link,
						     struct nvml_pci_info *pci);
enum nvml_return nvmlDeviceGetNvLinkRemoteDeviceType(struct nvml_device *device, unsigned link,
						     enum nvml_nvlink_device_type *type);
enum nvml_return nvmlDeviceGetGpuFabricInfo(struct nvml_device *device,
					    struct nvml_gpu_fabric_info *info);
enum nvml_return nvmlDeviceGetGpuFabricInfoV(struct nvml_device *device,
					     struct nvml_gpu_fabric_info_v2 *info);
