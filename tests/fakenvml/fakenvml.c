// SPDX-License-Identifier: GPL-2.0-or-later
/* A test double for libnvidia-ml.so.1: the same versioned entry points, with GPUs, values, the
 * NVLink graph and faults read from the JSON file named by $FAKENVML_STATE (format in
 * tests/fakenvml/README.md). Setters write the changed state back to that file atomically. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "fileio.h"
#include "macro.h"
#include "nvml/nvml-api.h"

#define MAX_GPUS 64

struct nvml_device {
	unsigned index;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct json_object *state; /* the whole file, NULL until nvmlInit_v2 */
static unsigned init_count;
static unsigned hanging; /* threads inside a "hang" fault */
static struct nvml_device devices[MAX_GPUS];

static struct json_object *get(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	if (!o || !json_object_object_get_ex(o, key, &v))
		return NULL;
	return v;
}

static struct json_object *gpus(void)
{
	struct json_object *a = get(state, "gpus");

	return json_object_is_type(a, json_type_array) ? a : NULL;
}

static struct json_object *gpu(struct nvml_device *d)
{
	return json_object_array_get_idx(gpus(), d->index);
}

static bool in_list(struct json_object *list, const char *sym)
{
	if (json_object_is_type(list, json_type_string))
		return streq(json_object_get_string(list), sym);
	for (size_t i = 0;
	     json_object_is_type(list, json_type_array) && i < json_object_array_length(list); i++)
		if (streq(json_object_get_string(json_object_array_get_idx(list, i)), sym))
			return true;
	return false;
}

/* "hang": blocks this thread forever, or for "hang_ms" when given, as a hung driver ioctl does. */
static void maybe_hang(struct json_object *where, const char *sym)
{
	struct json_object *ms = get(state, "hang_ms");
	struct timespec t;

	if (!in_list(get(where, "hang"), sym))
		return;
	hanging++;
	pthread_mutex_unlock(&lock);
	if (!ms) {
		for (;;)
			pause();
	}
	t.tv_sec = json_object_get_int(ms) / 1000;
	t.tv_nsec = (long)(json_object_get_int(ms) % 1000) * 1000000L;
	nanosleep(&t, NULL);
	pthread_mutex_lock(&lock);
	hanging--;
}

/* The faults that apply to @sym on @g (NULL for system calls): 0 means go on. */
static enum nvml_return faults(struct json_object *g, const char *sym)
{
	struct json_object *code;

	if (!state)
		return NVML_ERROR_UNINITIALIZED;
	maybe_hang(state, sym);
	if (g)
		maybe_hang(g, sym);
	if ((code = get(get(state, "fail"), sym)) || (g && (code = get(get(g, "fail"), sym))))
		return json_object_get_int(code);
	if (g && json_object_get_boolean(get(g, "lost")))
		return NVML_ERROR_GPU_IS_LOST;
	if (g && in_list(get(g, "unsupported"), sym))
		return NVML_ERROR_NOT_SUPPORTED;
	return NVML_SUCCESS;
}

#define ENTER(dev, sym)                                                                            \
	struct json_object *g;                                                                     \
	enum nvml_return _r;                                                                       \
	pthread_mutex_lock(&lock);                                                                 \
	g = state ? gpu(dev) : NULL;                                                               \
	_r = !state ? NVML_ERROR_UNINITIALIZED                                                     \
	     : !g   ? NVML_ERROR_INVALID_ARGUMENT                                                  \
		    : faults(g, sym);                                                                \
	if (_r != NVML_SUCCESS) {                                                                  \
		pthread_mutex_unlock(&lock);                                                       \
		return _r;                                                                         \
	}

/* "ignore": a setter that reports success and changes nothing, as a driver that clamps does. */
#define ENTER_SETTER(dev, sym)                                                                     \
	ENTER(dev, sym);                                                                           \
	if (in_list(get(g, "ignore"), sym))                                                        \
		return leave(NVML_SUCCESS);

static enum nvml_return leave(enum nvml_return r)
{
	pthread_mutex_unlock(&lock);
	return r;
}

static enum nvml_return get_uint(struct json_object *g, const char *key, unsigned *ret)
{
	struct json_object *v = get(g, key);

	if (!v)
		return leave(NVML_ERROR_NOT_SUPPORTED);
	*ret = (unsigned)json_object_get_int64(v);
	return leave(NVML_SUCCESS);
}

static int save(void)
{
	const char *path = getenv("FAKENVML_STATE");
	const char *text = json_object_to_json_string_ext(state, JSON_C_TO_STRING_PRETTY);

	return write_file_atomic_at(AT_FDCWD, path, text, strlen(text), 0644);
}

static enum nvml_return set_uint(struct json_object *g, const char *key, unsigned v)
{
	json_object_object_add(g, key, json_object_new_int64(v));
	return leave(save() < 0 ? NVML_ERROR_UNKNOWN : NVML_SUCCESS);
}

/* A replaced state is kept, never freed: a thread abandoned inside a hung call may still use it
 * when it wakes up. Reachable from here, so leak checkers stay quiet. */
static struct json_object *retired;

static void retire_state(void)
{
	if (!state)
		return;
	if (!retired)
		retired = json_object_new_array();
	json_object_array_add(retired, state);
	state = NULL;
}

/* On dlclose() (gpukeep unloads NVML only when no call is stuck in it) and at exit: free the
 * states unless a thread is still inside a hang. */
__attribute__((destructor)) static void free_states(void)
{
	pthread_mutex_lock(&lock);
	if (hanging == 0) {
		retire_state();
		json_object_put(retired);
		retired = NULL;
	}
	pthread_mutex_unlock(&lock);
}

/* Every init reads the file again, so that each test in a process sees its own state. */
enum nvml_return nvmlInit_v2(void)
{
	const char *path = getenv("FAKENVML_STATE");
	struct json_object *o, *code;

	pthread_mutex_lock(&lock);
	o = path ? json_object_from_file(path) : NULL;
	if (!o)
		return leave(NVML_ERROR_DRIVER_NOT_LOADED);
	retire_state();
	state = o;
	maybe_hang(state, "nvmlInit_v2");
	code = get(o, "init_error");
	if (code) {
		enum nvml_return r = json_object_get_int(code);

		retire_state();
		return leave(r);
	}
	init_count++;
	for (unsigned i = 0; i < MAX_GPUS; i++)
		devices[i].index = i;
	return leave(NVML_SUCCESS);
}

enum nvml_return nvmlShutdown(void)
{
	pthread_mutex_lock(&lock);
	if (!state || init_count == 0)
		return leave(NVML_ERROR_UNINITIALIZED);
	if (--init_count == 0)
		retire_state();
	return leave(NVML_SUCCESS);
}

enum nvml_return nvmlSystemGetDriverVersion(char *version, unsigned length)
{
	enum nvml_return r;

	pthread_mutex_lock(&lock);
	r = faults(NULL, "nvmlSystemGetDriverVersion");
	if (r == NVML_SUCCESS)
		snprintf(version, length, "%s",
			 json_object_get_string(get(state, "driver_version")) ?: "535.261.03");
	return leave(r);
}

enum nvml_return nvmlDeviceGetCount_v2(unsigned *count)
{
	enum nvml_return r;

	pthread_mutex_lock(&lock);
	r = faults(NULL, "nvmlDeviceGetCount_v2");
	if (r == NVML_SUCCESS)
		*count = (unsigned)json_object_array_length(gpus());
	if (r == NVML_SUCCESS && *count > MAX_GPUS)
		*count = MAX_GPUS;
	return leave(r);
}

enum nvml_return nvmlDeviceGetHandleByIndex_v2(unsigned index, struct nvml_device **device)
{
	enum nvml_return r;

	pthread_mutex_lock(&lock);
	r = faults(NULL, "nvmlDeviceGetHandleByIndex_v2");
	if (r == NVML_SUCCESS && index >= json_object_array_length(gpus()))
		r = NVML_ERROR_INVALID_ARGUMENT;
	if (r == NVML_SUCCESS)
		*device = &devices[index];
	return leave(r);
}

enum nvml_return nvmlDeviceGetPciInfo_v3(struct nvml_device *device, struct nvml_pci_info *pci)
{
	ENTER(device, "nvmlDeviceGetPciInfo_v3");
	memset(pci, 0, sizeof(*pci));
	snprintf(pci->bus_id, sizeof(pci->bus_id), "%s", json_object_get_string(get(g, "pci")));
	pci->pci_device_id = 0x233010de;
	return leave(NVML_SUCCESS);
}

static enum nvml_return get_text(struct json_object *g, const char *key, char *buf, unsigned n)
{
	if (!get(g, key))
		return leave(NVML_ERROR_NOT_SUPPORTED);
	if (strlen(json_object_get_string(get(g, key))) >= n)
		return leave(NVML_ERROR_INSUFFICIENT_SIZE);
	snprintf(buf, n, "%s", json_object_get_string(get(g, key)));
	return leave(NVML_SUCCESS);
}

enum nvml_return nvmlDeviceGetUUID(struct nvml_device *device, char *uuid, unsigned length)
{
	ENTER(device, "nvmlDeviceGetUUID");
	return get_text(g, "uuid", uuid, length);
}

enum nvml_return nvmlDeviceGetName(struct nvml_device *device, char *name, unsigned length)
{
	ENTER(device, "nvmlDeviceGetName");
	return get_text(g, "name", name, length);
}

#define UINT_GETTER(fn, key, type)                                                                 \
	enum nvml_return fn(struct nvml_device *device, type *ret)                                 \
	{                                                                                          \
		unsigned v = 0;                                                                    \
		enum nvml_return r;                                                                \
		ENTER(device, #fn);                                                                \
		r = get_uint(g, key, &v);                                                          \
		if (r == NVML_SUCCESS)                                                             \
			*ret = (type)v;                                                            \
		return r;                                                                          \
	}

UINT_GETTER(nvmlDeviceGetPersistenceMode, "persistence_mode", enum nvml_enable_state)
UINT_GETTER(nvmlDeviceGetComputeMode, "compute_mode", enum nvml_compute_mode)
UINT_GETTER(nvmlDeviceGetPowerManagementLimit, "power_limit", unsigned)
UINT_GETTER(nvmlDeviceGetPowerManagementDefaultLimit, "power_default", unsigned)
UINT_GETTER(nvmlDeviceGetAccountingMode, "accounting_mode", enum nvml_enable_state)
UINT_GETTER(nvmlDeviceGetRetiredPagesPendingStatus, "retired_pages_pending", enum nvml_enable_state)

static const char *clock_key(enum nvml_clock_type type, bool dflt)
{
	if (type == NVML_CLOCK_GRAPHICS)
		return dflt ? "default_app_clock_graphics" : "app_clock_graphics";
	if (type == NVML_CLOCK_MEM)
		return dflt ? "default_app_clock_mem" : "app_clock_mem";
	return NULL;
}

enum nvml_return nvmlDeviceGetApplicationsClock(struct nvml_device *device,
						enum nvml_clock_type type, unsigned *mhz)
{
	ENTER(device, "nvmlDeviceGetApplicationsClock");
	if (!clock_key(type, false))
		return leave(NVML_ERROR_INVALID_ARGUMENT);
	return get_uint(g, clock_key(type, false), mhz);
}

enum nvml_return nvmlDeviceGetDefaultApplicationsClock(struct nvml_device *device,
						       enum nvml_clock_type type, unsigned *mhz)
{
	ENTER(device, "nvmlDeviceGetDefaultApplicationsClock");
	if (!clock_key(type, true))
		return leave(NVML_ERROR_INVALID_ARGUMENT);
	return get_uint(g, clock_key(type, true), mhz);
}

enum nvml_return nvmlDeviceGetPowerManagementLimitConstraints(struct nvml_device *device,
							      unsigned *min_mw, unsigned *max_mw)
{
	ENTER(device, "nvmlDeviceGetPowerManagementLimitConstraints");
	if (!get(g, "power_min") || !get(g, "power_max"))
		return leave(NVML_ERROR_NOT_SUPPORTED);
	*min_mw = (unsigned)json_object_get_int64(get(g, "power_min"));
	*max_mw = (unsigned)json_object_get_int64(get(g, "power_max"));
	return leave(NVML_SUCCESS);
}

enum nvml_return nvmlDeviceGetEccMode(struct nvml_device *device, enum nvml_enable_state *current,
				      enum nvml_enable_state *pending)
{
	ENTER(device, "nvmlDeviceGetEccMode");
	if (!get(g, "ecc_current"))
		return leave(NVML_ERROR_NOT_SUPPORTED);
	*current = json_object_get_int(get(g, "ecc_current"));
	*pending = json_object_get_int(get(g, "ecc_pending") ?: get(g, "ecc_current"));
	return leave(NVML_SUCCESS);
}

enum nvml_return nvmlDeviceGetRemappedRows(struct nvml_device *device, unsigned *corrected,
					   unsigned *uncorrected, unsigned *pending,
					   unsigned *failed)
{
	ENTER(device, "nvmlDeviceGetRemappedRows");
	if (!get(g, "remap_pending"))
		return leave(NVML_ERROR_NOT_SUPPORTED);
	*corrected = *uncorrected = 0;
	*pending = json_object_get_int(get(g, "remap_pending"));
	*failed = json_object_get_int(get(g, "remap_failure"));
	return leave(NVML_SUCCESS);
}

/* Setters: the new value is checked as the driver would, then written back to the file. */
enum nvml_return nvmlDeviceSetPersistenceMode(struct nvml_device *device,
					      enum nvml_enable_state mode)
{
	ENTER_SETTER(device, "nvmlDeviceSetPersistenceMode");
	if (mode != NVML_FEATURE_ENABLED && mode != NVML_FEATURE_DISABLED)
		return leave(NVML_ERROR_INVALID_ARGUMENT);
	return set_uint(g, "persistence_mode", mode);
}

enum nvml_return nvmlDeviceSetComputeMode(struct nvml_device *device, enum nvml_compute_mode mode)
{
	ENTER_SETTER(device, "nvmlDeviceSetComputeMode");
	if ((unsigned)mode >= NVML_COMPUTEMODE_COUNT)
		return leave(NVML_ERROR_INVALID_ARGUMENT);
	return set_uint(g, "compute_mode", mode);
}

enum nvml_return nvmlDeviceSetApplicationsClocks(struct nvml_device *device, unsigned mem_mhz,
						 unsigned graphics_mhz)
{
	ENTER_SETTER(device, "nvmlDeviceSetApplicationsClocks");
	if (mem_mhz == 0 || graphics_mhz == 0)
		return leave(NVML_ERROR_INVALID_ARGUMENT);
	json_object_object_add(g, "app_clock_mem", json_object_new_int64(mem_mhz));
	return set_uint(g, "app_clock_graphics", graphics_mhz);
}

enum nvml_return nvmlDeviceSetPowerManagementLimit(struct nvml_device *device, unsigned mw)
{
	ENTER_SETTER(device, "nvmlDeviceSetPowerManagementLimit");
	if (mw < (unsigned)json_object_get_int64(get(g, "power_min")) ||
	    (get(g, "power_max") && mw > (unsigned)json_object_get_int64(get(g, "power_max"))))
		return leave(NVML_ERROR_INVALID_ARGUMENT);
	return set_uint(g, "power_limit", mw);
}

enum nvml_return nvmlDeviceSetAccountingMode(struct nvml_device *device,
					     enum nvml_enable_state mode)
{
	ENTER_SETTER(device, "nvmlDeviceSetAccountingMode");
	if (mode != NVML_FEATURE_ENABLED && mode != NVML_FEATURE_DISABLED)
		return leave(NVML_ERROR_INVALID_ARGUMENT);
	return set_uint(g, "accounting_mode", mode);
}

static bool fabric_blocks_links(struct json_object *g);

/* NVLink: "nvlinks" is an array indexed by link number. */
static struct json_object *nvlink(struct json_object *g, unsigned link, enum nvml_return *ret)
{
	struct json_object *links = get(g, "nvlinks");

	*ret = link >= NVML_NVLINK_MAX_LINKS			   ? NVML_ERROR_INVALID_ARGUMENT
	       : !links || link >= json_object_array_length(links) ? NVML_ERROR_NOT_SUPPORTED
								   : NVML_SUCCESS;
	return *ret == NVML_SUCCESS ? json_object_array_get_idx(links, link) : NULL;
}

/* Field 230 (the GPU recovery action) from "recovery_action"; other fields are not supported. */
enum nvml_return nvmlDeviceGetFieldValues(struct nvml_device *device, int count,
					  struct nvml_field_value *values)
{
	ENTER(device, "nvmlDeviceGetFieldValues");
	for (int i = 0; i < count; i++) {
		struct json_object *v = values[i].field_id == NVML_FI_DEV_GET_GPU_RECOVERY_ACTION
						? get(g, "recovery_action")
						: NULL;

		values[i].nvml_return = v ? NVML_SUCCESS : NVML_ERROR_NOT_SUPPORTED;
		if (v)
			values[i].value.ui = (unsigned)json_object_get_int(v);
	}
	return leave(NVML_SUCCESS);
}

enum nvml_return nvmlDeviceGetNvLinkState(struct nvml_device *device, unsigned link,
					  enum nvml_enable_state *active)
{
	struct json_object *l;
	enum nvml_return r;

	ENTER(device, "nvmlDeviceGetNvLinkState");
	l = nvlink(g, link, &r);
	if (l)
		*active = json_object_get_boolean(get(l, "active")) && !fabric_blocks_links(g)
				  ? NVML_FEATURE_ENABLED
				  : NVML_FEATURE_DISABLED;
	return leave(r);
}

enum nvml_return nvmlDeviceGetNvLinkRemotePciInfo_v2(struct nvml_device *device, unsigned link,
						     struct nvml_pci_info *pci)
{
	struct json_object *l;
	enum nvml_return r;

	ENTER(device, "nvmlDeviceGetNvLinkRemotePciInfo_v2");
	l = nvlink(g, link, &r);
	if (l && !get(l, "remote"))
		r = NVML_ERROR_NOT_SUPPORTED;
	if (r == NVML_SUCCESS) {
		memset(pci, 0, sizeof(*pci));
		snprintf(pci->bus_id, sizeof(pci->bus_id), "%s",
			 json_object_get_string(get(l, "remote")));
	}
	return leave(r);
}

enum nvml_return nvmlDeviceGetNvLinkRemoteDeviceType(struct nvml_device *device, unsigned link,
						     enum nvml_nvlink_device_type *type)
{
	struct json_object *l;
	enum nvml_return r;
	const char *t;

	ENTER(device, "nvmlDeviceGetNvLinkRemoteDeviceType");
	l = nvlink(g, link, &r);
	if (l) {
		t = json_object_get_string(get(l, "type"));
		*type = streq_ptr(t, "gpu")	   ? NVML_NVLINK_DEVICE_TYPE_GPU
			: streq_ptr(t, "nvswitch") ? NVML_NVLINK_DEVICE_TYPE_SWITCH
						   : NVML_NVLINK_DEVICE_TYPE_UNKNOWN;
	}
	return leave(r);
}

/* A number from the first line of @path (a debugfs switch of the simulated driver), or -1. */
static int read_number(const char *path)
{
	char buf[32] = "";
	FILE *f = path ? fopen(path, "re") : NULL;
	int v = -1;

	if (!f)
		return -1;
	if (fgets(buf, sizeof(buf), f) && sscanf(buf, "%d", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

/* The bus id after the domain ("01:00.0" of "00000000:01:00.0" or "0000:01:00.0"). */
static const char *bus_part(const char *pci)
{
	const char *c = pci ? strchr(pci, ':') : NULL;

	return c ? c + 1 : "";
}

/*
 * The GPU's own fabric registration after a reset, from the simulated driver's
 * "<fabric_gpu_dir>/gpuN/fabric_reset" (the gpuN whose info names the GPU's bus id): 1 (not
 * started) or 2 (in progress) until the fabric manager retrained it; 0 when it follows the node.
 */
static unsigned fabric_reset_of(struct json_object *g)
{
	const char *dir = json_object_get_string(get(state, "fabric_gpu_dir"));
	const char *want = bus_part(json_object_get_string(get(g, "pci")));
	char path[512], line[128];

	for (unsigned minor = 0; dir && minor < 64; minor++) {
		FILE *f;
		bool match = false;
		int v;

		snprintf(path, sizeof(path), "%s/gpu%u/info", dir, minor);
		f = fopen(path, "re");
		if (!f)
			continue;
		while (!match && fgets(line, sizeof(line), f))
			match = strncmp(line, "bus_id: ", 8) == 0 &&
				strncasecmp(bus_part(line + 8), want, strlen(want)) == 0;
		fclose(f);
		if (!match)
			continue;
		snprintf(path, sizeof(path), "%s/gpu%u/fabric_reset", dir, minor);
		v = read_number(path);
		return v == 1 || v == 2 ? (unsigned)v : 0;
	}
	return 0;
}

/*
 * The GPU's fabric: its "fabric" object, else the top-level one, else "fabric_state_file" (and
 * "fabric_status_file"), which the simulated driver's fabric manager marks; false when none is
 * given (the GPU has no fabric support). Once the node's fabric completed, a GPU reset since
 * is not started or in progress until the fabric manager retrained it ("fabric_gpu_dir").
 */
static bool fabric_of(struct json_object *g, unsigned *ret_state, int *ret_status)
{
	struct json_object *f = get(g, "fabric") ?: get(state, "fabric");
	const char *file = json_object_get_string(get(state, "fabric_state_file"));
	int st;

	if (f) {
		*ret_state = (unsigned)json_object_get_int(get(f, "state"));
		*ret_status = json_object_get_int(get(f, "status"));
		return true;
	}
	if (!file)
		return false;
	st = read_number(file);
	*ret_state = st < 0 ? NVML_GPU_FABRIC_STATE_NOT_STARTED : (unsigned)st;
	st = read_number(json_object_get_string(get(state, "fabric_status_file")));
	*ret_status = st < 0 ? NVML_SUCCESS : st;
	if (*ret_state == NVML_GPU_FABRIC_STATE_COMPLETED) {
		unsigned own = fabric_reset_of(g);

		if (own) {
			*ret_state = own;
			*ret_status = NVML_SUCCESS;
		}
	}
	return true;
}

/* NVLinks are trained by the fabric manager: down until the GPU's fabric completed. */
static bool fabric_blocks_links(struct json_object *g)
{
	unsigned st;
	int status;

	return fabric_of(g, &st, &status) && st != NVML_GPU_FABRIC_STATE_NOT_SUPPORTED &&
	       (st != NVML_GPU_FABRIC_STATE_COMPLETED || status != NVML_SUCCESS);
}

enum nvml_return nvmlDeviceGetGpuFabricInfo(struct nvml_device *device,
					    struct nvml_gpu_fabric_info *info)
{
	unsigned st;
	int status;

	ENTER(device, "nvmlDeviceGetGpuFabricInfo");
	if (!fabric_of(g, &st, &status))
		return leave(NVML_ERROR_NOT_SUPPORTED);
	memset(info, 0, sizeof(*info));
	info->state = (unsigned char)st;
	info->status = status;
	return leave(NVML_SUCCESS);
}

/* The real library checks the version field first. */
enum nvml_return nvmlDeviceGetGpuFabricInfoV(struct nvml_device *device,
					     struct nvml_gpu_fabric_info_v2 *info)
{
	unsigned st;
	int status;

	ENTER(device, "nvmlDeviceGetGpuFabricInfoV");
	if (info->version != NVML_GPU_FABRIC_INFO_V2)
		return leave(NVML_ERROR_INVALID_ARGUMENT);
	if (!fabric_of(g, &st, &status))
		return leave(NVML_ERROR_NOT_SUPPORTED);
	memset(info, 0, sizeof(*info));
	info->version = NVML_GPU_FABRIC_INFO_V2;
	info->state = (unsigned char)st;
	info->status = status;
	return leave(NVML_SUCCESS);
}
