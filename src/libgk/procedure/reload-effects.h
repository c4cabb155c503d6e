/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The reload's effects on the node, each thin and idempotent: the persistence daemon, systemd
 * units, device nodes, and DCGM's diagnostic. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "node/devnodes.h"

/* gpukeepd's pid from its socket (SO_PEERCRED): 0 when no daemon listens there, or -errno. */
pid_t daemon_pid_at(const char *socket_path);

/* Asks gpukeepd to release (@acquire false) or re-acquire every device file. Returns 0,
 * -ECONNREFUSED/-ENOENT when it does not run, -EPERM when it refused, -EPROTO, -errno. */
int daemon_release_all(const char *socket_path, bool acquire);

/*
 * Waits until gpukeepd has settled every GPU it should keep (persistence on): held, or given up
 * on for now (stuck, retrying, unavailable), for at most @timeout_ms. *ret_held and *ret_wanted
 * say how many are held of how many should be. Returns 0 when settled, -ETIMEDOUT, -errno.
 */
int daemon_wait_held(const char *socket_path, unsigned timeout_ms, unsigned *ret_held,
		     unsigned *ret_wanted);

/* `@systemctl stop|start @unit`. Returns 0 or a positive exit status, or -errno. */
int unit_stop_start(const char *systemctl, const char *unit, bool start);

/*
 * Creates each missing node of @l (status GK_NODE_MISSING) as the NVIDIA tools do: a character
 * device, mode 0666, owned by root. Returns how many were created, or the first -errno.
 */
int devnodes_create_missing(int rootfd, const struct gk_devnode_list *l);

/* Runs `dcgmi diag -r 1`. Returns 0 pass, >0 its failing exit status, -ENOENT when DCGM is not
 * installed. */
int dcgm_diag_quick(void);
