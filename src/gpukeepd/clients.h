/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Control-socket connections: peer credentials at accept, caps on connections and line sizes,
 * a read deadline per client, replies buffered without ever blocking the loop. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "daemon/protocol.h"

struct gkd;

struct client {
	struct client *prev, *next;
	int fd;
	struct ucred cred; /* from SO_PEERCRED at accept */
	bool may_change;   /* root, or a member of the daemon's --group at connect time */
	char in[GK_PROTO_MAX_REQUEST];
	size_t in_len;
	char *out; /* reply bytes not yet sent */
	size_t out_len, out_off;
	bool closing;	   /* close once the output is sent */
	bool draining;	   /* refused at accept: its input is read and dropped until EOF */
	uint64_t deadline; /* a request must be complete (and its reply read) by then */
};

struct client_list {
	struct client *head;
	size_t n;	 /* served connections (the caps count these) */
	size_t draining; /* refused ones still being drained */
	size_t peak;	 /* most connections at once since the list was last empty */
};

#define GKD_MAX_DRAINING 64    /* refused connections drained at once */
#define GKD_DRAIN_MS	 1000  /* how long a refused client has to read the refusal */
#define GKD_TRIM_AFTER	 64    /* connections at once after which memory is trimmed */
#define GKD_MAX_GROUPS	 65536 /* NGROUPS_MAX: supplementary groups a peer can have */

/* Connections held back for root and the daemon's group out of @max_clients (an eighth). */
unsigned clients_held_back(unsigned max_clients);

/*
 * Creates the listening socket at @path (a stale one is replaced), mode 0666 (anyone may read;
 * requests that change something are checked per request), owned by @uid:@gid. Returns 0 and a
 * non-blocking SOCK_CLOEXEC fd, or -errno.
 */
int server_socket_open(const char *path, uid_t uid, gid_t gid, int *ret_fd);

/* Whether the peer on @fd (credentials @cred) may change things: root, or in the daemon's
 * --group (primary or supplementary, from SO_PEERGROUPS). Shared with the RPC socket. */
bool client_may_change(const struct gkd *d, int fd, const struct ucred *cred);

/* Accepts every pending connection, refusing those over the caps with an error reply. */
void clients_accept(struct gkd *d);
/* Handles readiness of @c's socket (EPOLLIN/EPOLLOUT/EPOLLHUP in @events). */
void client_event(struct gkd *d, struct client *c, uint32_t events);
/* Drops clients past their deadline. */
void clients_tick(struct gkd *d, uint64_t now);
uint64_t clients_next_deadline(const struct gkd *d);
/* Tries once to send what is pending, then closes every client. */
void clients_close_all(struct gkd *d);
