/* SPDX-License-Identifier: GPL-2.0-or-later */
/* gpukeep status and gpukeep pm on a node where NVIDIA's nvidia-persistenced runs instead of
 * gpukeepd: through its RPC socket, naming the daemon that answered. */
#pragma once

#include <stdbool.h>

#include "daemon/protocol.h"

/* The RPC socket (default /var/run/nvidia-persistenced/socket) and the node's root (default /,
 * for the GPU list and selectors; tests point both elsewhere). */
#define NVPD_CLI_SOCKET_ENV "GPUKEEP_NVPD_SOCKET"
#define NVPD_CLI_ROOT_ENV   "GPUKEEP_ROOT"

/* Whether nothing listens on gpukeepd's socket @gk_socket while a daemon answers on the RPC
 * socket: then the verb runs through nvpd_cli_status() or nvpd_cli_pm(). */
bool nvpd_cli_wanted(const char *gk_socket);

/* Every GPU's mode as the daemon reports it. Returns a gk_exit code. */
int nvpd_cli_status(bool json);

/* Sets @enabled on the GPUs @sel names (NULL: all; @gpu is its text for messages). Returns a
 * gk_exit code: 0 done, 1 a GPU failed, 2 no GPU matches, 3 permission denied. */
int nvpd_cli_pm(const char *gpu, const struct gk_gpusel *sel, bool enabled, bool json);
