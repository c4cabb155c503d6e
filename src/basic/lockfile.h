/* SPDX-License-Identifier: GPL-2.0-or-later */
/* An exclusive lock file (flock): released by the kernel when its holder dies, so a killed
 * process never leaves a stale lock behind. */
#pragma once

#include <sys/types.h>

/*
 * Takes the lock <dirfd>/@name and writes our pid into it. Returns 0 and the fd that holds the
 * lock (close it to release), -EBUSY with the holder's pid in *ret_holder (0 when unknown) when
 * another process holds it, or -errno.
 */
int lockfile_take(int dirfd, const char *name, int *ret_fd, pid_t *ret_holder);
