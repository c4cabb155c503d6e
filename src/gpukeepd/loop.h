/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The daemon's configuration and its single-threaded event loop (epoll + signalfd). */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "clients.h"
#include "gpus.h"

struct gkd_config {
	const char *root;	 /* prefix for /dev, /proc, /sys */
	const char *runtime_dir; /* holds the socket and the pid file */
	const char *socket_path;
	const char *nvpd_socket_path; /* nvidia-persistenced's RPC socket; NULL: not served */
	bool nvpd_socket_required;    /* given, or nvidia-persistenced's mode: failing to serve it
				       * is fatal; else a warning */
	const char *pid_path;
	const char *state_dir;
	const char *user, *group; /* NULL: unchanged */
	bool persistence;	  /* default mode for GPUs the state file does not name */
	bool uvm;		  /* also hold /dev/nvidia-uvm */
	bool verbose, foreground, check_only;
	unsigned open_timeout_ms;
	unsigned client_timeout_ms;
	unsigned max_clients, max_clients_per_uid;
};

struct gkd {
	const struct gkd_config *cfg;
	int epfd, sigfd, listenfd, openerfd, notifyfd;
	int rpcfd;	 /* the RPC socket (rpc.h), or -EBADF */
	bool auth_group; /* members of auth_gid may change things */
	gid_t auth_gid;
	struct gpu_table gpus;
	struct client_list clients;
	uint64_t started;
	unsigned long requests, refused, dropped;
	bool ready_sent;
	bool quit;
};

/*
 * Runs the loop until SIGTERM or SIGINT: serves clients, applies finished opens and deadlines,
 * re-enumerates on SIGHUP, and sends READY=1 once the first opens have settled. The caller has
 * set up @d's fds, blocked the signals, dropped privileges and enumerated the GPUs. On return every
 * client is closed and every device released. Returns 0 or -errno when the loop itself failed.
 */
int loop_run(struct gkd *d);
