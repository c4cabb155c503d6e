/* SPDX-License-Identifier: GPL-2.0-or-later */
/* nvidia-persistenced's ONC RPC (program 35006, versions 1 and 2) on its own socket, served by
 * libtirpc's stream transport in non-blocking mode on the daemon's event loop. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct gkd;
struct gkd_config;

/*
 * Root-only start-up work, before the pid file is taken: creates the socket's directory as
 * nvidia-persistenced does (mode 0755, owned by @uid:@gid; a /var/run that links to /run is
 * followed). Returns 0 (also when the socket is disabled) or -errno, logged.
 */
int rpc_prepare_dir(const struct gkd_config *cfg, uid_t uid, gid_t gid);

/*
 * Binds the socket (mode 0666, owned by @uid:@gid) after the pid-file lock is held, refusing with
 * -EADDRINUSE when another daemon answers there (nvidia-persistenced still running). *ret_fd gets
 * the listening fd, or -EBADF when the socket is disabled. Returns 0 or -errno, logged.
 */
int rpc_socket_open(const struct gkd_config *cfg, uid_t uid, gid_t gid, int *ret_fd);

/* Removes the socket (and its directory, if made here and now empty) when this process bound
 * it. */
void rpc_socket_remove(const struct gkd_config *cfg);

/* Registers both versions on d->rpcfd and adds it to d->epfd. Returns 0 or -errno, logged. */
int rpc_start(struct gkd *d);

/* Whether an epoll tag is the RPC server's (its listener or one of its connections). */
bool rpc_owns(const void *tag);
void rpc_event(struct gkd *d, void *tag, uint32_t events);

/* Answers sets whose holds have settled, and drops connections past their deadline. */
void rpc_tick(struct gkd *d, uint64_t now);
uint64_t rpc_next_deadline(const struct gkd *d);

/* Closes every connection and the listener (pending sets are not answered), removes the socket. */
void rpc_stop(struct gkd *d);

/* Connections open now (for status). */
size_t rpc_connections(void);
