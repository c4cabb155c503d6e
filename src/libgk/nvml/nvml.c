// SPDX-License-Identifier: GPL-2.0-or-later
/* NVML through dlopen(): the symbol table, one small job per entry point run on the deadline
 * worker, and the typed calls the rest of libgk uses. The versioned names are resolved because
 * the unversioned ones are older ABIs with other struct layouts. */
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "nvml/nvml-ops.h"
#include "nvml/nvml.h"
#include "parse-util.h"
#include "string-util.h"

struct gk_nvml {
	void *dl;
	void *sym[_OP_MAX];
	struct nvml_worker *worker;
	unsigned timeout_ms;
	bool initialized;
	bool hung;
	unsigned n_handles;
	struct nvml_device **handles; /* cached by index, NULL until asked */
	bool counted;
	char last_error[256];
	char hung_error[256]; /* the call that hung, in words */
};

_Static_assert(sizeof(struct nvml_args) <= NVML_WORKER_ARGS_MAX,
	       "worker argument buffer too small");

static const char *const status_names[] = {
	[NVML_ERROR_UNINITIALIZED] = "NVML not initialized",
	[NVML_ERROR_INVALID_ARGUMENT] = "invalid argument",
	[NVML_ERROR_NOT_SUPPORTED] = "not supported",
	[NVML_ERROR_NO_PERMISSION] = "insufficient permissions",
	[NVML_ERROR_ALREADY_INITIALIZED] = "already initialized",
	[NVML_ERROR_NOT_FOUND] = "not found",
	[NVML_ERROR_INSUFFICIENT_SIZE] = "buffer too small",
	[NVML_ERROR_INSUFFICIENT_POWER] = "insufficient power (check the power cables)",
	[NVML_ERROR_DRIVER_NOT_LOADED] = "NVIDIA driver not loaded",
	[NVML_ERROR_TIMEOUT] = "timed out inside NVML",
	[NVML_ERROR_IRQ_ISSUE] = "interrupt problem",
	[NVML_ERROR_LIBRARY_NOT_FOUND] = "a library NVML needs is missing",
	[NVML_ERROR_FUNCTION_NOT_FOUND] = "not exported by this libnvidia-ml",
	[NVML_ERROR_CORRUPTED_INFOROM] = "corrupted inforom",
	[NVML_ERROR_GPU_IS_LOST] = "GPU is lost (fallen off the bus?)",
	[NVML_ERROR_RESET_REQUIRED] = "GPU needs a reset",
	[NVML_ERROR_OPERATING_SYSTEM] = "blocked by the operating system",
	[NVML_ERROR_LIB_RM_VERSION_MISMATCH] = "NVML library and kernel driver versions differ",
	[NVML_ERROR_IN_USE] = "GPU in use",
	[NVML_ERROR_MEMORY] = "out of memory",
	[NVML_ERROR_NO_DATA] = "no data",
};

const char *nvml_status_to_string(int status)
{
	if (status == 0)
		return "success";
	if (status == GK_NVML_HUNG)
		return GK_NVML_HUNG_MESSAGE;
	if (status > 0 && (size_t)status < ELEMENTSOF(status_names) && status_names[status])
		return status_names[status];
	return "unknown NVML error";
}

int nvml_status_to_errno(int status)
{
	switch (status) {
	case 0:
		return 0;
	case GK_NVML_HUNG:
		return -ETIMEDOUT;
	case NVML_ERROR_NOT_SUPPORTED:
	case NVML_ERROR_FUNCTION_NOT_FOUND:
		return -EOPNOTSUPP;
	case NVML_ERROR_NO_PERMISSION:
		return -EPERM;
	case NVML_ERROR_GPU_IS_LOST:
	case NVML_ERROR_DRIVER_NOT_LOADED:
	case NVML_ERROR_NOT_FOUND:
		return -ENODEV;
	case NVML_ERROR_LIB_RM_VERSION_MISMATCH:
		return -EPROTO;
	case NVML_ERROR_INVALID_ARGUMENT:
		return -EINVAL;
	case NVML_ERROR_IN_USE:
		return -EBUSY;
	default:
		return -EIO;
	}
}

static void set_error(struct gk_nvml *n, const char *fmt, ...) _printf_(2, 3);
static void set_error(struct gk_nvml *n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(n->last_error, sizeof(n->last_error), fmt, ap);
	va_end(ap);
	log_debug("nvml: %s", n->last_error);
}

static int failed(struct gk_nvml *n, enum nvml_op op, int status)
{
	if (status == GK_NVML_HUNG && !n->hung_error[0]) {
		set_error(n, "%s did not return within %u ms: %s", nvml_op_symbol(op),
			  n->timeout_ms, GK_NVML_HUNG_MESSAGE);
		snprintf(n->hung_error, sizeof(n->hung_error), "%s", n->last_error);
	} else if (status == GK_NVML_HUNG)
		set_error(n, "%s not called: %s", nvml_op_symbol(op), n->hung_error);
	else if (status > 0 && status < (int)ELEMENTSOF(status_names) && status_names[status])
		set_error(n, "%s: %s", nvml_op_symbol(op), nvml_status_to_string(status));
	else
		set_error(n, "%s: NVML error %d", nvml_op_symbol(op), status);
	return status;
}

static int call(struct gk_nvml *n, enum nvml_op op, struct nvml_args *a)
{
	int status = 0, r;

	if (n->hung)
		return failed(n, op, GK_NVML_HUNG);
	if (!n->sym[op])
		return failed(n, op, NVML_ERROR_FUNCTION_NOT_FOUND);
	r = nvml_worker_call(n->worker, nvml_op_job(op), a, sizeof(*a), n->timeout_ms, &status);
	if (r == -ETIMEDOUT) {
		n->hung = true;
		return failed(n, op, GK_NVML_HUNG);
	}
	if (r < 0)
		return failed(n, op, NVML_ERROR_UNKNOWN);
	return status == 0 ? 0 : failed(n, op, status);
}

bool nvml_is_hung(const struct gk_nvml *n)
{
	return n->hung;
}

const char *nvml_last_error(const struct gk_nvml *n)
{
	return n->last_error;
}

const char *nvml_hung_error(const struct gk_nvml *n)
{
	return n->hung ? n->hung_error : NULL;
}

static int resolve(struct gk_nvml *n, const char *path, char **ret_error)
{
	for (enum nvml_op op = 0; op < _OP_MAX; op++) {
		n->sym[op] = dlsym(n->dl, nvml_op_symbol(op));
		if (!n->sym[op] && nvml_op_required(op)) {
			*ret_error = strdup_printf("%s does not export %s: not a usable NVML", path,
						   nvml_op_symbol(op));
			return -ENOSYS;
		}
	}
	return 0;
}

static int load(struct gk_nvml *n, const char *path, char **ret_error)
{
	const char *tried = path ? path : GK_NVML_SONAME;

	if (path && streq(path, "none")) {
		*ret_error = strdup("NVML disabled (\"none\" given)");
		return -ENOENT;
	}
	n->dl = dlopen(tried, RTLD_NOW | RTLD_LOCAL);
	if (!n->dl && !path) {
		tried = GK_NVML_DEBIAN_PATH;
		n->dl = dlopen(tried, RTLD_NOW | RTLD_LOCAL);
	}
	if (!n->dl) {
		*ret_error =
			path ? strdup_printf("cannot load %s: %s", path, dlerror())
			     : strdup("NVML not found (no " GK_NVML_SONAME
				      "; is the NVIDIA driver's user-space library installed?)");
		return -ENOENT;
	}
	return resolve(n, tried, ret_error);
}

bool nvml_library_present(const char *path)
{
	void *dl;

	if (!path && getenv(GK_NVML_ENV) && *getenv(GK_NVML_ENV))
		path = getenv(GK_NVML_ENV);
	if (path && streq(path, "none"))
		return false;
	/* loading runs no NVML code: nvmlInit() is what talks to the driver */
	dl = dlopen(path ? path : GK_NVML_SONAME, RTLD_LAZY | RTLD_LOCAL);
	if (!dl && !path)
		dl = dlopen(GK_NVML_DEBIAN_PATH, RTLD_LAZY | RTLD_LOCAL);
	if (dl)
		dlclose(dl);
	return dl != NULL;
}

static unsigned timeout_from_env(void)
{
	const char *e = getenv(GK_NVML_TIMEOUT_ENV);
	unsigned ms;

	if (e && safe_atou(e, &ms) >= 0 && ms > 0)
		return ms;
	return GK_NVML_DEFAULT_TIMEOUT_MS;
}

static int init_error(struct gk_nvml *n, int status, char **ret_error)
{
	if (status == NVML_ERROR_LIB_RM_VERSION_MISMATCH)
		*ret_error =
			strdup("NVML library and kernel driver versions differ (NVML error 18, "
			       "as after a driver reload with mismatched versions): load the "
			       "driver that matches the installed libnvidia-ml, or reinstall");
	else
		*ret_error = strdup(n->last_error);
	return nvml_status_to_errno(status);
}

int nvml_open(const char *path, unsigned timeout_ms, struct gk_nvml **ret, char **ret_error)
{
	_cleanup_nvml_ struct gk_nvml *n = NULL;
	_cleanup_free_ char *error = NULL;
	struct nvml_args a = {};
	int r;

	if (!path && getenv(GK_NVML_ENV) && *getenv(GK_NVML_ENV))
		path = getenv(GK_NVML_ENV);
	n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	n->timeout_ms = timeout_ms > 0 ? timeout_ms : timeout_from_env();
	r = load(n, path, &error);
	if (r >= 0)
		r = nvml_worker_new(n->sym, &n->worker);
	if (r >= 0) {
		r = call(n, OP_INIT, &a);
		if (r > 0)
			r = init_error(n, r, &error);
		n->initialized = r == 0;
	}
	if (r < 0) {
		if (ret_error)
			*ret_error = error ? TAKE_PTR(error) : strdup(strerror(-r));
		return r;
	}
	*ret = TAKE_PTR(n);
	return 0;
}

struct gk_nvml *nvml_close(struct gk_nvml *n)
{
	struct nvml_args a = {};

	if (!n)
		return NULL;
	if (n->initialized && !n->hung)
		(void)call(n, OP_SHUTDOWN, &a);
	if (n->hung) {
		/* the thread is inside the library: keep both, and n, for the process's life */
		nvml_worker_abandon(n->worker, n);
		return NULL;
	}
	nvml_worker_free(n->worker);
	if (n->dl)
		dlclose(n->dl);
	free(n->handles);
	free(n);
	return NULL;
}

static void copy_text(char *buf, size_t size, const char *text)
{
	snprintf(buf, size, "%s", text);
}

int nvml_driver_version(struct gk_nvml *n, char *buf, size_t size)
{
	struct nvml_args a = {};
	int r = call(n, OP_DRIVER_VERSION, &a);

	if (r == 0)
		copy_text(buf, size, a.text);
	return r;
}

int nvml_gpu_count(struct gk_nvml *n, unsigned *ret)
{
	struct nvml_args a = {};
	int r;

	if (n->counted) {
		*ret = n->n_handles;
		return 0;
	}
	r = call(n, OP_COUNT, &a);
	if (r != 0)
		return r;
	if (a.u[0] > 1024)
		return failed(n, OP_COUNT, NVML_ERROR_UNKNOWN);
	n->handles = calloc(a.u[0] + 1, sizeof(*n->handles));
	if (!n->handles)
		return failed(n, OP_COUNT, NVML_ERROR_MEMORY);
	n->n_handles = a.u[0];
	n->counted = true;
	*ret = a.u[0];
	return 0;
}

/* Fills a->dev with GPU @gpu's handle, from the cache when it was asked for before. */
static int handle(struct gk_nvml *n, unsigned gpu, struct nvml_args *a)
{
	unsigned count;
	int r;

	r = nvml_gpu_count(n, &count);
	if (r != 0)
		return r;
	if (gpu >= count)
		return failed(n, OP_HANDLE, NVML_ERROR_INVALID_ARGUMENT);
	if (!n->handles[gpu]) {
		/* the lookup takes the index in a->in: the caller's input goes back after it */
		unsigned in = a->in;

		a->in = gpu;
		r = call(n, OP_HANDLE, a);
		a->in = in;
		if (r != 0)
			return r;
		n->handles[gpu] = a->dev;
	}
	a->dev = n->handles[gpu];
	return 0;
}

/* Calls @op on GPU @gpu with @a's inputs. */
static int dev_call(struct gk_nvml *n, unsigned gpu, enum nvml_op op, struct nvml_args *a)
{
	int r = handle(n, gpu, a);

	return r != 0 ? r : call(n, op, a);
}

int nvml_gpu_pci(struct gk_nvml *n, unsigned gpu, char *buf, size_t size)
{
	struct nvml_args a = {};
	int r = dev_call(n, gpu, OP_PCI, &a);

	if (r != 0)
		return r;
	a.pci.bus_id[sizeof(a.pci.bus_id) - 1] = 0;
	if (pci_addr_normalize(a.pci.bus_id, buf, size) < 0) {
		struct gk_pci_addr p = {a.pci.domain, a.pci.bus, a.pci.device, 0};

		if (p.bus > 0xff || p.dev > 0x1f)
			return failed(n, OP_PCI, NVML_ERROR_UNKNOWN);
		pci_addr_format(&p, buf, size);
	}
	return 0;
}

static int dev_text(struct gk_nvml *n, unsigned gpu, enum nvml_op op, char *buf, size_t size)
{
	struct nvml_args a = {};
	int r = dev_call(n, gpu, op, &a);

	if (r == 0) {
		a.text[sizeof(a.text) - 1] = 0;
		copy_text(buf, size, a.text);
	}
	return r;
}

int nvml_gpu_uuid(struct gk_nvml *n, unsigned gpu, char *buf, size_t size)
{
	return dev_text(n, gpu, OP_UUID, buf, size);
}

int nvml_gpu_name(struct gk_nvml *n, unsigned gpu, char *buf, size_t size)
{
	return dev_text(n, gpu, OP_NAME, buf, size);
}

static const struct {
	enum nvml_op op;
	unsigned in;   /* the clock type, for the clock getters */
	unsigned slot; /* which output */
	const char *name;
} values[_GK_NVML_VALUE_MAX] = {
	[GK_NVML_PERSISTENCE] = {OP_GET_PERSISTENCE, 0, 0, "persistence_mode"},
	[GK_NVML_COMPUTE_MODE] = {OP_GET_COMPUTE, 0, 0, "compute_mode"},
	[GK_NVML_APP_CLOCK_GRAPHICS] = {OP_GET_APP_CLOCK, NVML_CLOCK_GRAPHICS, 0,
					"applications_clock_graphics_mhz"},
	[GK_NVML_APP_CLOCK_MEM] = {OP_GET_APP_CLOCK, NVML_CLOCK_MEM, 0,
				   "applications_clock_memory_mhz"},
	[GK_NVML_DEFAULT_APP_CLOCK_GRAPHICS] = {OP_GET_DEFAULT_APP_CLOCK, NVML_CLOCK_GRAPHICS, 0,
						"default_applications_clock_graphics_mhz"},
	[GK_NVML_DEFAULT_APP_CLOCK_MEM] = {OP_GET_DEFAULT_APP_CLOCK, NVML_CLOCK_MEM, 0,
					   "default_applications_clock_memory_mhz"},
	[GK_NVML_POWER_LIMIT] = {OP_GET_POWER, 0, 0, "power_limit_mw"},
	[GK_NVML_POWER_DEFAULT] = {OP_GET_POWER_DEFAULT, 0, 0, "power_limit_default_mw"},
	[GK_NVML_POWER_MIN] = {OP_GET_POWER_CONSTRAINTS, 0, 0, "power_limit_min_mw"},
	[GK_NVML_POWER_MAX] = {OP_GET_POWER_CONSTRAINTS, 0, 1, "power_limit_max_mw"},
	[GK_NVML_ACCOUNTING] = {OP_GET_ACCOUNTING, 0, 0, "accounting_mode"},
	[GK_NVML_ECC_CURRENT] = {OP_GET_ECC, 0, 0, "ecc_mode_current"},
	[GK_NVML_ECC_PENDING] = {OP_GET_ECC, 0, 1, "ecc_mode_pending"},
	[GK_NVML_RETIRED_PENDING] = {OP_GET_RETIRED_PENDING, 0, 0, "retired_pages_pending"},
	[GK_NVML_REMAP_PENDING] = {OP_GET_REMAPPED, 0, 2, "remapped_rows_pending"},
	[GK_NVML_REMAP_FAILED] = {OP_GET_REMAPPED, 0, 3, "remapped_rows_failure"},
};

int nvml_get(struct gk_nvml *n, unsigned gpu, enum gk_nvml_value what, unsigned *ret)
{
	struct nvml_args a = {.in = values[what].in};
	int r = dev_call(n, gpu, values[what].op, &a);

	if (r == 0)
		*ret = a.u[values[what].slot];
	return r;
}

int nvml_gpu_recovery_action(struct gk_nvml *n, unsigned gpu, unsigned *ret)
{
	struct nvml_args a = {.in = NVML_FI_DEV_GET_GPU_RECOVERY_ACTION};
	int r = dev_call(n, gpu, OP_FIELD_VALUE, &a);

	if (r == 0)
		*ret = a.u[0];
	return r;
}

const char *nvml_value_name(enum gk_nvml_value what)
{
	return values[what].name;
}

static int dev_set(struct gk_nvml *n, unsigned gpu, enum nvml_op op, unsigned v, unsigned v2)
{
	struct nvml_args a = {.in = v, .in2 = v2};

	return dev_call(n, gpu, op, &a);
}

int nvml_set_compute_mode(struct gk_nvml *n, unsigned gpu, unsigned mode)
{
	return dev_set(n, gpu, OP_SET_COMPUTE, mode, 0);
}

int nvml_set_app_clocks(struct gk_nvml *n, unsigned gpu, unsigned mem_mhz, unsigned graphics_mhz)
{
	return dev_set(n, gpu, OP_SET_APP_CLOCKS, mem_mhz, graphics_mhz);
}

int nvml_set_power_limit(struct gk_nvml *n, unsigned gpu, unsigned mw)
{
	return dev_set(n, gpu, OP_SET_POWER, mw, 0);
}

int nvml_set_accounting(struct gk_nvml *n, unsigned gpu, bool on)
{
	return dev_set(n, gpu, OP_SET_ACCOUNTING, on, 0);
}

int nvml_set_persistence_mode(struct gk_nvml *n, unsigned gpu, bool on)
{
	return dev_set(n, gpu, OP_SET_PERSISTENCE, on, 0);
}

int nvml_link(struct gk_nvml *n, unsigned gpu, unsigned link, struct gk_nvml_link *ret)
{
	struct gk_nvml_link l = {.link = link};
	struct nvml_args a = {.in = link};
	int r;

	r = dev_call(n, gpu, OP_LINK_STATE, &a);
	if (r != 0)
		return r;
	l.active = a.u[0] == NVML_FEATURE_ENABLED;
	if (l.active) {
		l.remote_status = call(n, OP_LINK_REMOTE_PCI, &a);
		a.pci.bus_id[sizeof(a.pci.bus_id) - 1] = 0;
		if (l.remote_status == 0 &&
		    pci_addr_normalize(a.pci.bus_id, l.remote_pci, sizeof(l.remote_pci)) < 0)
			l.remote_status = failed(n, OP_LINK_REMOTE_PCI, NVML_ERROR_UNKNOWN);
		if (n->sym[OP_LINK_REMOTE_TYPE] && call(n, OP_LINK_REMOTE_TYPE, &a) == 0)
			l.peer = a.u[0] == NVML_NVLINK_DEVICE_TYPE_GPU	    ? GK_NVML_PEER_GPU
				 : a.u[0] == NVML_NVLINK_DEVICE_TYPE_SWITCH ? GK_NVML_PEER_NVSWITCH
				 : a.u[0] == NVML_NVLINK_DEVICE_TYPE_IBMNPU ? GK_NVML_PEER_NPU
									    : GK_NVML_PEER_UNKNOWN;
	}
	*ret = l;
	return 0;
}

int nvml_fabric(struct gk_nvml *n, unsigned gpu, struct gk_nvml_fabric *ret)
{
	enum nvml_op op = n->sym[OP_FABRIC_V] ? OP_FABRIC_V : OP_FABRIC;
	struct nvml_args a = {};
	int r = dev_call(n, gpu, op, &a);

	if (r != 0)
		return r;
	*ret = (struct gk_nvml_fabric){.state = a.u[0], .status = (int)a.u[1]};
	return 0;
}

const char *nvml_peer_to_string(enum gk_nvml_peer p)
{
	static const char *const names[] = {
		[GK_NVML_PEER_UNKNOWN] = "unknown",
		[GK_NVML_PEER_GPU] = "gpu",
		[GK_NVML_PEER_NVSWITCH] = "nvswitch",
		[GK_NVML_PEER_NPU] = "npu",
	};

	return p < ELEMENTSOF(names) ? names[p] : "unknown";
}

int nvml_get_persistence(struct gk_nvml *n, unsigned gpu, bool *ret)
{
	unsigned v;
	int r = nvml_get(n, gpu, GK_NVML_PERSISTENCE, &v);

	if (r != 0)
		return nvml_status_to_errno(r);
	*ret = v == NVML_FEATURE_ENABLED;
	return 0;
}

int nvml_set_persistence(struct gk_nvml *n, unsigned gpu, bool on)
{
	return nvml_status_to_errno(nvml_set_persistence_mode(n, gpu, on));
}

int nvml_find_gpu(struct gk_nvml *n, const char *pci, unsigned *ret)
{
	char want[GK_PCI_ADDR_STRLEN], got[GK_PCI_ADDR_STRLEN];
	unsigned count;
	int r;

	if (pci_addr_normalize(pci, want, sizeof(want)) < 0)
		return -EINVAL;
	r = nvml_gpu_count(n, &count);
	if (r != 0)
		return nvml_status_to_errno(r);
	for (unsigned i = 0; i < count; i++) {
		if (nvml_gpu_pci(n, i, got, sizeof(got)) != 0 || !streq(got, want))
			continue;
		*ret = i;
		return 0;
	}
	return n->hung ? -ETIMEDOUT : -ENODEV;
}
