/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Root-only start-up work and the one-way drop: user and group lookup, the runtime and state
 * directories, the pid file, and setgroups/setresgid/setresuid with a check that it holds. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct ids {
	bool change_uid; /* --user given */
	bool change_gid; /* --user or --group given */
	uid_t uid;
	gid_t gid;
};

/*
 * Resolves @user (name or number; NULL: keep) and @group (NULL: the user's primary group, or
 * keep). Returns 0, or -ESRCH with a message on stderr/syslog naming what does not exist.
 */
int ids_resolve(const char *user, const char *group, struct ids *ret);

/*
 * Creates @path (mode 0755, owned by @uid:@gid) if missing. An existing directory is used as it
 * is when @uid owns it, adopted (chowned, mode 0755) when root owns it and it is named
 * "gpukeep" or "nvidia-persistenced", and refused otherwise, or when it is writable by its group or
 * others: -EPERM with the reason in @why. A symlink or a non-directory is refused (-ELOOP,
 * -ENOTDIR). Returns 0 or -errno. With @ret_fd, also returns an O_RDONLY directory fd.
 */
int dir_prepare(const char *path, uid_t uid, gid_t gid, int *ret_fd, char *why, size_t whylen);

/*
 * Creates and locks the pid file (the single-instance guard) and writes our pid into it.
 * Returns the fd (keep it open for the daemon's life), -EBUSY when another instance holds the lock
 * (*ret_other gets its pid, or 0), or -errno.
 */
int pidfile_acquire(const char *path, uid_t uid, gid_t gid, pid_t *ret_other);

/*
 * Drops to @ids for good: supplementary groups cleared, the capability bounding set emptied,
 * real/effective/saved ids set, then checks
 * that setuid(0)/setgid(0) fail, and sets PR_SET_NO_NEW_PRIVS. Returns 0 or -errno (-EPERM when
 * root could be regained).
 */
int privs_drop(const struct ids *ids);
