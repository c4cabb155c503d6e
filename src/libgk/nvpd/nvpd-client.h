/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A client of nvidia-persistenced's RPC socket (program 35006), served by NVIDIA's daemon or by
 * gpukeepd: get and set the persistence mode of one GPU by PCI address, every call bounded. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "node/pci.h"

#define NVPD_SOCKET_PATH "/var/run/nvidia-persistenced/socket"

struct nvpd_conn;

/*
 * Connects to @path and prepares calls of interface version @version (1 or 2), each bounded by
 * @timeout_ms (the connect too). Returns 0 and a connection (free with nvpd_close()), or -errno:
 * -ENOENT or -ECONNREFUSED when nothing listens there, -EACCES, -ETIMEDOUT, -ENOMEM.
 */
int nvpd_open(const char *path, unsigned version, int timeout_ms, struct nvpd_conn **ret);
struct nvpd_conn *nvpd_close(struct nvpd_conn *c);

/* The peer's pid from SO_PEERCRED (who serves the socket), or -errno. */
pid_t nvpd_peer_pid(const struct nvpd_conn *c);

/* NULLPROC: whether the daemon answers at all. Returns 0 or -errno as nvpd_get_mode(). */
int nvpd_ping(struct nvpd_conn *c);

/*
 * Asks for @gpu's mode in effect (v1 get). Returns 0 and *ret_enabled, or -errno: the daemon's own
 * statuses as nvpd_status_errno() maps them (-ENODEV: it does not know the GPU), -ETIMEDOUT,
 * -ECONNRESET, -EPROTONOSUPPORT (the daemon lacks the program, version or procedure), -EPROTO.
 * *ret_status (may be NULL) gets the daemon's status number, or -1 when there was none.
 */
int nvpd_get_mode(struct nvpd_conn *c, const struct gk_pci_addr *gpu, bool *ret_enabled,
		  int *ret_status);

/*
 * Sets @gpu's mode: with a version-1 connection the v1 call (mode, and GPU memory onlined or
 * offlined to match, on coherent-NUMA parts), with a version-2 one the mode-only call. The reply
 * comes when the device file is open or closed. Returns 0 or -errno as nvpd_get_mode() (-EPERM:
 * not root nor in the daemon's group; -EIO: the driver failed).
 */
int nvpd_set_mode(struct nvpd_conn *c, const struct gk_pci_addr *gpu, bool enabled,
		  int *ret_status);

/* v2 only: onlines or offlines @gpu's coherent memory. Returns 0 or -errno as above. */
int nvpd_set_numa(struct nvpd_conn *c, const struct gk_pci_addr *gpu, bool online, int *ret_status);

/*
 * For the reload: sets each of the @n GPUs off (release) or on (acquire) through the daemon at
 * @path with v1 calls (which also offline coherent memory before an unload), one connection for
 * all, @timeout_ms per call. Every GPU is tried; @ret_errors (may be NULL, @n entries) gets 0 or
 * -errno per GPU. Returns 0 when every GPU succeeded, the first error otherwise (-ENOENT when no
 * daemon listens at @path: nothing was changed).
 */
int nvpd_set_gpus(const char *path, const struct gk_pci_addr *gpus, size_t n, bool enabled,
		  int timeout_ms, int *ret_errors);

/* The errno for a daemon status: 0 for success, -ENODEV, -EPERM, -EINVAL, -EIO, ... */
int nvpd_status_errno(int status);
/* "success", "device not found", ...; "unknown status" for numbers the interface lacks. */
const char *nvpd_status_to_string(int status);
