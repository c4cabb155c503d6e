/* SPDX-License-Identifier: GPL-2.0-or-later */
/* NVML, loaded at run time, with a deadline on every call: calls run on a worker thread, and a
 * call that does not come back in time marks the library hung; later calls then fail at once. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "macro.h"
#include "node/pci.h"

#define GK_NVML_ENV		   "GPUKEEP_NVML"	     /* library path, or "none" */
#define GK_NVML_TIMEOUT_ENV	   "GPUKEEP_NVML_TIMEOUT_MS" /* per-call deadline */
#define GK_NVML_DEFAULT_TIMEOUT_MS 5000
#define GK_NVML_SONAME		   "libnvidia-ml.so.1"
#define GK_NVML_DEBIAN_PATH	   "/usr/lib/x86_64-linux-gnu/nvidia/current/libnvidia-ml.so.1"
#define GK_NVML_HUNG_MESSAGE	   "NVML hung (driver not responding)"

/* Status of one NVML call: 0 success, else the library's nvmlReturn_t, or GK_NVML_HUNG when the
 * call passed its deadline (or was not made because an earlier one had). */
#define GK_NVML_HUNG 0x10000

/* One handle serves one caller thread at a time (the calls are not locked against each other). */
struct gk_nvml;

/*
 * Loads NVML and calls nvmlInit_v2() (with the deadline). @path: the library; NULL means
 * $GPUKEEP_NVML when set, else libnvidia-ml.so.1 through the loader's search, else Debian's
 * non-free path. "none" disables NVML. @timeout_ms: per-call deadline; 0 means
 * $GPUKEEP_NVML_TIMEOUT_MS when set, else 5000.
 * Returns 0 and a handle (free with nvml_close()), or -errno with *ret_error (malloc()ed, always
 * set on failure when given) saying why in words: -ENOENT library not found or disabled,
 * -ENOSYS a required symbol missing, -EPROTO library/driver version mismatch (NVML error 18, as
 * after a reload with mismatched versions), -ENODEV driver not loaded, -EPERM, -ETIMEDOUT
 * nvmlInit hung, -EIO any other NVML error, -ENOMEM.
 */
int nvml_open(const char *path, unsigned timeout_ms, struct gk_nvml **ret, char **ret_error);

/*
 * Shuts NVML down and unloads it. When a call hung, its thread is abandoned instead: it stays
 * blocked inside the library (which therefore stays loaded) and its memory is kept reachable,
 * never freed; the process can still exit. Accepts NULL; returns NULL.
 */
struct gk_nvml *nvml_close(struct gk_nvml *n);

/* Whether the library nvml_open() would load (@path, $GPUKEEP_NVML, then the defaults) can be
 * loaded at all; nothing of NVML runs. Lets a caller skip a helper process that could only say
 * "NVML is not available". */
bool nvml_library_present(const char *path);

static inline void nvml_closep(struct gk_nvml **n)
{
	nvml_close(*n);
}
#define _cleanup_nvml_ _cleanup_(nvml_closep)

/* True once a call passed its deadline. */
bool nvml_is_hung(const struct gk_nvml *n);

/* The last failed call, in words ("nvmlDeviceSetPowerManagementLimit: insufficient
 * permissions"), or "" when none failed. Valid until the next call on @n. */
const char *nvml_last_error(const struct gk_nvml *n);

/* After a hang, which call hung ("nvmlX did not return within 5000 ms: NVML hung (driver not
 * responding)"); NULL when none did. */
const char *nvml_hung_error(const struct gk_nvml *n);

/* Words for a status ("not supported", "GPU is lost", GK_NVML_HUNG_MESSAGE, ...). Static. */
const char *nvml_status_to_string(int status);

/* -errno for a status: -EOPNOTSUPP, -EPERM, -ENODEV (GPU lost), -EPROTO (version mismatch),
 * -ETIMEDOUT (hung), -EINVAL, -EIO. 0 for success. */
int nvml_status_to_errno(int status);

/*
 * The calls below return 0, or >0: the status of the NVML call that failed (see above). Out
 * parameters are written only on success. @gpu is NVML's index (PCI bus order on Linux).
 */
int nvml_driver_version(struct gk_nvml *n, char *buf, size_t size);
int nvml_gpu_count(struct gk_nvml *n, unsigned *ret);
/* The GPU's PCI address in sysfs spelling ("0000:3b:00.0"); @buf has GK_PCI_ADDR_STRLEN bytes. */
int nvml_gpu_pci(struct gk_nvml *n, unsigned gpu, char *buf, size_t size);
int nvml_gpu_uuid(struct gk_nvml *n, unsigned gpu, char *buf, size_t size);
int nvml_gpu_name(struct gk_nvml *n, unsigned gpu, char *buf, size_t size);

/* Values read with nvml_get(). Booleans read as 0/1; power in milliwatts, clocks in MHz. */
enum gk_nvml_value {
	GK_NVML_PERSISTENCE,
	GK_NVML_COMPUTE_MODE, /* enum nvml_compute_mode */
	GK_NVML_APP_CLOCK_GRAPHICS,
	GK_NVML_APP_CLOCK_MEM,
	GK_NVML_DEFAULT_APP_CLOCK_GRAPHICS,
	GK_NVML_DEFAULT_APP_CLOCK_MEM,
	GK_NVML_POWER_LIMIT,
	GK_NVML_POWER_DEFAULT,
	GK_NVML_POWER_MIN,
	GK_NVML_POWER_MAX,
	GK_NVML_ACCOUNTING,
	GK_NVML_ECC_CURRENT,
	GK_NVML_ECC_PENDING,
	GK_NVML_RETIRED_PENDING,
	GK_NVML_REMAP_PENDING,
	GK_NVML_REMAP_FAILED,
	_GK_NVML_VALUE_MAX,
};

int nvml_get(struct gk_nvml *n, unsigned gpu, enum gk_nvml_value what, unsigned *ret);
/* The GPU's recovery action as the driver sets it (field 230, announced by Xid 154): 0 none,
 * 1 GPU reset, 2 node reboot, 3 drain P2P, 4 drain and reset, 5 recover IMEX domain, 6 bus
 * reset, 7 system reboot. Returns like nvml_get(). */
int nvml_gpu_recovery_action(struct gk_nvml *n, unsigned gpu, unsigned *ret);
/* Field name used in JSON ("persistence_mode", "power_limit_mw", ...). */
const char *nvml_value_name(enum gk_nvml_value what);

/* Setters (root only on a real driver). */
int nvml_set_compute_mode(struct gk_nvml *n, unsigned gpu, unsigned mode);
int nvml_set_app_clocks(struct gk_nvml *n, unsigned gpu, unsigned mem_mhz, unsigned graphics_mhz);
int nvml_set_power_limit(struct gk_nvml *n, unsigned gpu, unsigned mw);
int nvml_set_accounting(struct gk_nvml *n, unsigned gpu, bool on);
int nvml_set_persistence_mode(struct gk_nvml *n, unsigned gpu, bool on);

/* NVLink: one link's state and, when active, its remote end. */
enum gk_nvml_peer {
	GK_NVML_PEER_UNKNOWN,
	GK_NVML_PEER_GPU,
	GK_NVML_PEER_NVSWITCH,
	GK_NVML_PEER_NPU,
};

struct gk_nvml_link {
	unsigned link;
	bool active;
	int remote_status; /* status of the remote PCI call; remote_pci is "" unless 0 */
	char remote_pci[GK_PCI_ADDR_STRLEN];
	enum gk_nvml_peer peer; /* from nvmlDeviceGetNvLinkRemoteDeviceType, when exported */
};

/* Returns 0, NVML_ERROR_NOT_SUPPORTED / NVML_ERROR_INVALID_ARGUMENT when the GPU has no such
 * link, or another status. */
int nvml_link(struct gk_nvml *n, unsigned gpu, unsigned link, struct gk_nvml_link *ret);

const char *nvml_peer_to_string(enum gk_nvml_peer p);

/* A GPU's registration with the NVLink fabric (NVSwitch systems). */
struct gk_nvml_fabric {
	unsigned state; /* enum nvml_gpu_fabric_state */
	int status;	/* NVML's error status of the registration; meaningful once COMPLETED */
};

/* Reads @gpu's fabric state through nvmlDeviceGetGpuFabricInfoV, or the first version where the
 * library predates it. Returns 0, NVML_ERROR_FUNCTION_NOT_FOUND (neither is exported), or the
 * call's status. */
int nvml_fabric(struct gk_nvml *n, unsigned gpu, struct gk_nvml_fabric *ret);

/*
 * Legacy (kernel) persistence mode for the pm verb when gpukeepd is not running. Return 0 or
 * -errno (see nvml_status_to_errno()); nvml_last_error() says why in words.
 */
int nvml_get_persistence(struct gk_nvml *n, unsigned gpu, bool *ret);
int nvml_set_persistence(struct gk_nvml *n, unsigned gpu, bool on);

/* NVML's index of the GPU at PCI address @pci (any spelling). 0, -ENODEV when NVML has no such
 * GPU, -EINVAL for a malformed address, or -errno of a failed call. */
int nvml_find_gpu(struct gk_nvml *n, const char *pci, unsigned *ret);
