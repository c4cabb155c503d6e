// SPDX-License-Identifier: GPL-2.0-or-later
/* Privilege handling, done in the order the kernel needs: groups before the gid, the gid before
 * the uid (after setresuid() we could no longer change groups), then a check that root is gone. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "macro.h"
#include "parse-util.h"
#include "privs.h"
#include "string-util.h"

static int lookup_user(const char *user, uid_t *ret_uid, gid_t *ret_gid)
{
	struct passwd *pw;
	unsigned n;

	errno = 0;
	pw = getpwnam(user);
	if (!pw && safe_atou_base(user, 10, &n) >= 0)
		pw = getpwuid((uid_t)n);
	if (!pw)
		return log_error_errno(errno ? errno : ESRCH, "no such user '%s'", user);
	*ret_uid = pw->pw_uid;
	*ret_gid = pw->pw_gid;
	return 0;
}

static int lookup_group(const char *group, gid_t *ret)
{
	struct group *gr;
	unsigned n;

	errno = 0;
	gr = getgrnam(group);
	if (!gr && safe_atou_base(group, 10, &n) >= 0)
		gr = getgrgid((gid_t)n);
	if (!gr)
		return log_error_errno(errno ? errno : ESRCH, "no such group '%s'", group);
	*ret = gr->gr_gid;
	return 0;
}

int ids_resolve(const char *user, const char *group, struct ids *ret)
{
	struct ids ids = {.uid = geteuid(), .gid = getegid()};
	int r;

	if (user) {
		r = lookup_user(user, &ids.uid, &ids.gid);
		if (r < 0)
			return -ESRCH;
		ids.change_uid = ids.change_gid = true;
	}
	if (group) {
		r = lookup_group(group, &ids.gid);
		if (r < 0)
			return -ESRCH;
		ids.change_gid = true;
	}
	*ret = ids;
	return 0;
}

/* Gives a directory we created, or one we adopt, to the daemon: owner, group and mode 0755. */
static int dir_take(int fd, const struct stat *st, uid_t uid, gid_t gid)
{
	if ((st->st_uid != uid || st->st_gid != gid) && fchown(fd, uid, gid) < 0)
		return -errno;
	if ((st->st_mode & 07777) != 0755 && fchmod(fd, 0755) < 0)
		return -errno;
	return 0;
}

int dir_prepare(const char *path, uid_t uid, gid_t gid, int *ret_fd, char *why, size_t whylen)
{
	_cleanup_close_ int fd = -EBADF;
	const char *base = strrchr(path, '/');
	bool created;
	struct stat st;
	int r;

	created = mkdir(path, 0755) >= 0;
	if (!created && errno != EEXIST)
		return -errno;
	/* O_NOFOLLOW: a symlink planted here must not make us chown its target. */
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	/*
	 * An existing directory is the daemon's only if it already belongs to the daemon user, or
	 * is a root-owned one named "gpukeep" (what systemd's RuntimeDirectory= and StateDirectory=
	 * or an installer create), or "nvidia-persistenced" (the RPC socket's, as NVIDIA's unit and
	 * init scripts create it). Anything else (--state-dir /tmp) is refused: chown and chmod
	 * would have handed someone else's directory to the daemon user. Writable by others is
	 * never safe: anyone could replace the socket or the state file.
	 */
	if (!created && (st.st_mode & 0022)) {
		snprintf(why, whylen, "it is writable by %s (mode %04o)",
			 st.st_mode & 0002 ? "everyone" : "its group", st.st_mode & 07777);
		return -EPERM;
	}
	if (!created && st.st_uid != uid &&
	    !(st.st_uid == 0 && (streq(base ? base + 1 : path, "gpukeep") ||
				 streq(base ? base + 1 : path, "nvidia-persistenced")))) {
		snprintf(why, whylen,
			 "it exists and belongs to uid %u, not to the daemon's uid %u; give "
			 "gpukeepd "
			 "a directory of its own (a missing one is created), or chown %u:%u it",
			 (unsigned)st.st_uid, (unsigned)uid, (unsigned)uid, (unsigned)gid);
		return -EPERM;
	}
	if (created || st.st_uid != uid) {
		r = dir_take(fd, &st, uid, gid);
		if (r < 0)
			return r;
	}
	if (ret_fd)
		*ret_fd = TAKE_FD(fd);
	return 0;
}

static void read_other_pid(int fd, pid_t *ret)
{
	char buf[32] = "";
	unsigned n;

	*ret = 0;
	if (pread(fd, buf, sizeof(buf) - 1, 0) > 0 && safe_atou_base(buf, 10, &n) >= 0)
		*ret = (pid_t)n;
}

int pidfile_acquire(const char *path, uid_t uid, gid_t gid, pid_t *ret_other)
{
	_cleanup_close_ int fd = -EBADF;
	char buf[32];
	int n;

	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int r = errno == EWOULDBLOCK ? -EBUSY : -errno;

		read_other_pid(fd, ret_other);
		return r;
	}
	n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, (size_t)n, 0) != n)
		return negative_errno();
	/* Owned by the daemon user so that it can truncate it; removal needs only the directory. */
	if (fchown(fd, uid, gid) < 0)
		return -errno;
	return TAKE_FD(fd);
}

static int verify_dropped(const struct ids *ids)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg;

	if (getresuid(&ru, &eu, &su) < 0 || getresgid(&rg, &eg, &sg) < 0)
		return -errno;
	if (ids->change_uid && (ru != ids->uid || eu != ids->uid || su != ids->uid))
		return -EPERM;
	if (ids->change_gid && (rg != ids->gid || eg != ids->gid || sg != ids->gid))
		return -EPERM;
	if (ids->change_uid && ids->uid != 0) {
		/* The point of the exercise: root must be gone for good. */
		if (setuid(0) == 0 || seteuid(0) == 0)
			return -EPERM;
		if (ids->gid != 0 && setgid(0) == 0)
			return -EPERM;
	}
	if (ids->change_gid && getgroups(0, NULL) != 0)
		return -EPERM;
	return 0;
}

/*
 * Empties the capability bounding set, so that nothing this process could ever exec regains a
 * capability. Needs CAP_SETPCAP, so it runs before setresuid(). Stops at the first number the
 * kernel does not know (EINVAL): that is past its last capability.
 */
static int capbset_drop_all(void)
{
	for (unsigned long cap = 0;; cap++) {
		int r = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);

		if (r < 0)
			return errno == EINVAL ? 0 : -errno;
		if (r == 1 && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
			return -errno;
	}
}

int privs_drop(const struct ids *ids)
{
	int r;

	if (ids->change_gid) {
		/* Clear root's supplementary groups first: they would survive setresgid(). */
		if (setgroups(0, NULL) < 0)
			return log_error_errno(errno, "setgroups: %m");
		if (setresgid(ids->gid, ids->gid, ids->gid) < 0)
			return log_error_errno(errno, "setresgid(%u): %m", (unsigned)ids->gid);
	}
	r = capbset_drop_all();
	/* Started without root and without --user there is nothing to drop it with, nor to lose. */
	if (r < 0 && (r != -EPERM || ids->change_uid || geteuid() == 0))
		return log_error_errno(r, "cannot empty the capability bounding set: %m (it needs "
					  "CAP_SETPCAP; under systemd, add it to "
					  "CapabilityBoundingSet=)");
	if (ids->change_uid && setresuid(ids->uid, ids->uid, ids->uid) < 0)
		return log_error_errno(errno, "setresuid(%u): %m", (unsigned)ids->uid);
	r = verify_dropped(ids);
	if (r < 0)
		return log_error_errno(r, "privileges were not dropped for good: %m");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return log_error_errno(errno, "PR_SET_NO_NEW_PRIVS: %m");
	if (ids->change_uid)
		log_info("running as uid %u gid %u, no supplementary groups", (unsigned)ids->uid,
			 (unsigned)ids->gid);
	return 0;
}
