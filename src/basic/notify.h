/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The service manager's readiness protocol ($NOTIFY_SOCKET), spoken directly: no libsystemd. */
#pragma once

/*
 * Connects a datagram socket to $NOTIFY_SOCKET (a path, or "@name" for an abstract socket) and
 * unsets the variable. Call before dropping privileges: the socket may be root's. Returns the fd,
 * -ENOENT when the variable is unset (not under a service manager), or -errno.
 */
int notify_open(void);

/* Sends @state ("READY=1", "STOPPING=1", ...) when @fd is valid; errors are logged at debug. */
void notify_send(int fd, const char *state);
