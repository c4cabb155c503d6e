// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The holders scan. It visits every fd of every process, so the hot path makes as few syscalls as
 * it can: one fstatat() per fd relative to the fd directory (no readlink, no path building), raw
 * getdents64(), and one read buffer for maps reused across processes. Each process is reached
 * through one /proc/<pid> directory fd, so a pid recycled mid-scan reads as gone, never as another
 * process.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "cgroup.h"
#include "holders.h"
#include "log.h"
#include "parse-util.h"
#include "proc-util.h"
#include "string-util.h"

#define DENTS_SIZE (32 * 1024)
#define MAPS_BUF_INITIAL (64 * 1024)
#define MAPS_MAX (64 * 1024 * 1024) /* a process with a million mappings: give up on it */
#define SMALL_FILE_MAX 8192	    /* stat, status, cgroup, cmdline (truncated) */

struct scan {
	const struct gk_nodeset *nodes;
	unsigned char *how; /* GK_HELD_* per node, for the process being scanned */
	char *proc_dents; /* /proc, while each process's fd directory uses fd_dents */
	char *fd_dents;
	char *maps;
	size_t maps_size;
	struct gk_holders *result;
	size_t allocated;
	uid_t last_uid; /* one-entry cache: the holders of a node usually share a user */
	char *last_user;
	bool have_last_user;
	bool fd_dir_counts; /* the size of /proc/<pid>/fd is its number of fds (Linux >= 6.2) */
};

static bool errno_gone(int e)
{
	return e == ENOENT || e == ESRCH;
}

static bool errno_denied(int e)
{
	return e == EACCES || e == EPERM;
}

static void holder_done(struct gk_holder *h)
{
	for (size_t i = 0; i < h->n_devices; i++)
		free(h->devices[i].path);
	free(h->devices);
	free(h->comm);
	free(h->cmdline);
	free(h->user);
	free(h->cgroup);
	free(h->unit);
	free(h->container_id);
}

struct gk_holders *holders_free(struct gk_holders *h)
{
	if (!h)
		return NULL;
	for (size_t i = 0; i < h->n; i++)
		holder_done(&h->holders[i]);
	free(h->holders);
	free(h);
	return NULL;
}

/* Reads up to @size - 1 bytes of @name under @dirfd into @buf and NUL-terminates it. */
static int read_small(int dirfd, const char *name, char *buf, size_t size, size_t *ret_len)
{
	_cleanup_close_ int fd = -EBADF;
	size_t len = 0;

	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	while (len < size - 1) {
		ssize_t k = read(fd, buf + len, size - 1 - len);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		if (k == 0)
			break;
		len += (size_t)k;
	}
	buf[len] = '\0';
	if (ret_len)
		*ret_len = len;
	return 0;
}

/* Reads all of @name under @dirfd into the scan's growing maps buffer. */
static int read_maps(struct scan *s, int dirfd, size_t *ret_len)
{
	_cleanup_close_ int fd = -EBADF;
	size_t len = 0;

	fd = openat(dirfd, "maps", O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t k;

		if (s->maps_size - len < 4096) {
			size_t n = s->maps_size * 2;
			char *p;

			if (n > MAPS_MAX)
				return -EFBIG;
			p = realloc(s->maps, n);
			if (!p)
				return -ENOMEM;
			s->maps = p;
			s->maps_size = n;
		}
		k = read(fd, s->maps + len, s->maps_size - len);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		if (k == 0)
			break;
		len += (size_t)k;
	}
	*ret_len = len;
	return 0;
}

/* Stats fd @name of the directory @fdfd: 1 when open (and matched into s->how), 0 when not. */
static int stat_fd(struct scan *s, int fdfd, const char *name)
{
	struct stat st;
	int idx;

	if (fstatat(fdfd, name, &st, 0) < 0) {
		/* another user's fd directory may open, yet its links not resolve */
		if (errno_denied(errno))
			return -errno;
		return 0; /* closed meanwhile */
	}
	idx = nodeset_match_stat(s->nodes, &st);
	if (idx >= 0)
		s->how[idx] |= GK_HELD_FD;
	return 1;
}

/* Reads the fd directory, skipping the fds below @probed that were already looked at. */
static int scan_fd_dir(struct scan *s, int fdfd, unsigned probed)
{
	for (;;) {
		ssize_t k = getdents64(fdfd, s->fd_dents, DENTS_SIZE);

		if (k < 0)
			return -errno;
		if (k == 0)
			return 0;
		for (ssize_t off = 0; off < k;) {
			struct dirent64 *de = (struct dirent64 *)(void *)(s->fd_dents + off);
			unsigned n;
			int r;

			off += de->d_reclen;
			if (de->d_name[0] == '.')
				continue;
			if (probed > 0 && safe_atou_base(de->d_name, 10, &n) == 0 && n < probed)
				continue;
			r = stat_fd(s, fdfd, de->d_name);
			if (r < 0)
				return r;
		}
	}
}

/*
 * Since Linux 6.2 the size of /proc/<pid>/fd is the number of open fds. Most processes have no
 * holes in their fd table, so fds 0..size-1 are looked up directly and the directory is read
 * only when one of them is missing: that saves the readdir, which instantiates a dentry per fd
 * and costs about as much as the lookups themselves. Kernel threads and zombies have size 0.
 */
static int scan_fds(struct scan *s, int piddir)
{
	_cleanup_close_ int fdfd = -EBADF;
	unsigned size = 0, found = 0;
	struct stat st;

	fdfd = openat(piddir, "fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fdfd < 0)
		return -errno;
	if (!s->fd_dir_counts)
		return scan_fd_dir(s, fdfd, 0);
	if (fstat(fdfd, &st) < 0)
		return -errno;
	if (st.st_size <= 0 || st.st_size > INT_MAX)
		return st.st_size == 0 ? 0 : scan_fd_dir(s, fdfd, 0);
	size = (unsigned)st.st_size;
	for (unsigned n = 0; n < size; n++) {
		char name[16];
		int r;

		snprintf(name, sizeof(name), "%u", n);
		r = stat_fd(s, fdfd, name);
		if (r < 0)
			return r;
		found += (unsigned)r;
	}
	return found == size ? 0 : scan_fd_dir(s, fdfd, size);
}

/*
 * A mapping of a node other than ours for the same device, e.g. a container's own /dev: maps shows
 * the dev and inode of the node's filesystem, so ask map_files for what the mapping really is.
 */
static int match_map_file(struct scan *s, int piddir, const struct proc_maps_entry *e)
{
	char name[64];
	struct stat st;

	snprintf(name, sizeof(name), "map_files/%" PRIx64 "-%" PRIx64, e->start, e->end);
	if (fstatat(piddir, name, &st, 0) < 0)
		return -errno; /* map_files needs CAP_SYS_ADMIN: as non-root, only inodes match */
	return nodeset_match_stat(s->nodes, &st);
}

static void scan_maps_line(struct scan *s, int piddir, const char *line, size_t len)
{
	static const char dev_prefix[] = "/dev/nvidia";
	struct proc_maps_entry e;
	dev_t dev;
	int idx = -ENOENT;

	if (proc_maps_parse_line(line, len, &e) < 0 || e.inode == 0)
		return;
	dev = makedev(e.major, e.minor);
	if (nodeset_has_fs(s->nodes, dev))
		idx = nodeset_match_inode(s->nodes, dev, e.inode);
	if (idx < 0 && e.path_len >= sizeof(dev_prefix) - 1 &&
	    memcmp(e.path, dev_prefix, sizeof(dev_prefix) - 1) == 0)
		idx = match_map_file(s, piddir, &e);
	if (idx >= 0)
		s->how[idx] |= GK_HELD_MMAP;
}

static int scan_maps(struct scan *s, int piddir)
{
	size_t len = 0;
	int r;

	r = read_maps(s, piddir, &len);
	if (r < 0)
		return r;
	for (const char *p = s->maps, *end = s->maps + len; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);

		scan_maps_line(s, piddir, p, n);
		p += n + 1;
	}
	return 0;
}

static bool is_kernel_thread(int piddir)
{
	char buf[1024];
	struct proc_stat st;

	return read_small(piddir, "stat", buf, sizeof(buf), NULL) == 0 &&
	       proc_stat_parse(buf, &st) == 0 && (st.flags & PROC_PF_KTHREAD);
}

static int lookup_user(struct scan *s, uid_t uid, char **ret)
{
	struct passwd pw, *found = NULL;
	char buf[4096];
	char *name = NULL;

	if (!s->have_last_user || s->last_uid != uid) {
		if (getpwuid_r(uid, &pw, buf, sizeof(buf), &found) == 0 && found) {
			name = strdup(found->pw_name);
			if (!name)
				return -ENOMEM;
		}
		free(s->last_user);
		s->last_user = name;
		s->last_uid = uid;
		s->have_last_user = true;
	}
	if (!s->last_user) {
		*ret = NULL;
		return 0;
	}
	*ret = strdup(s->last_user);
	return *ret ? 0 : -ENOMEM;
}

static int fill_devices(struct scan *s, struct gk_holder *h)
{
	size_t n = 0;

	for (size_t i = 0; i < s->nodes->n; i++)
		n += s->how[i] != 0;
	h->devices = calloc(n, sizeof(*h->devices));
	if (!h->devices)
		return -ENOMEM;
	/* nodes are sorted by path, so the devices are too */
	for (size_t i = 0; i < s->nodes->n; i++) {
		struct gk_held_device *d = &h->devices[h->n_devices];

		if (!s->how[i])
			continue;
		d->path = strdup(s->nodes->nodes[i].path);
		if (!d->path)
			return -ENOMEM;
		d->how = s->how[i];
		h->n_devices++;
	}
	return 0;
}

static int fill_cgroup(int piddir, struct gk_holder *h)
{
	struct cgroup_container c;
	char buf[SMALL_FILE_MAX];
	int r;

	r = read_small(piddir, "cgroup", buf, sizeof(buf), NULL);
	if (r < 0)
		return r;
	r = cgroup_pick_path(buf, &h->cgroup);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	r = cgroup_unit(h->cgroup, &h->unit);
	if (r < 0 && r != -ENOENT)
		return r;
	r = cgroup_container(h->cgroup, &c);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	h->container_runtime = c.runtime;
	h->container_id = c.id;
	return 0;
}

static int fill_process(struct scan *s, int piddir, struct gk_holder *h)
{
	char buf[SMALL_FILE_MAX];
	struct proc_stat st;
	size_t len;
	int r;

	r = read_small(piddir, "stat", buf, sizeof(buf), NULL);
	if (r < 0)
		return r;
	if (proc_stat_parse(buf, &st) < 0)
		return -EBADMSG;
	h->state = st.state;
	h->unkillable = st.state == 'D';
	h->comm = strdup(st.comm);
	if (!h->comm)
		return -ENOMEM;
	r = read_small(piddir, "status", buf, sizeof(buf), NULL);
	if (r < 0)
		return r;
	if (proc_status_euid(buf, &h->uid) < 0)
		return -EBADMSG;
	r = lookup_user(s, h->uid, &h->user);
	if (r < 0)
		return r;
	r = read_small(piddir, "cmdline", buf, sizeof(buf), &len);
	if (r < 0)
		return r;
	proc_cmdline_to_string(buf, len);
	h->cmdline = strdup(buf);
	if (!h->cmdline)
		return -ENOMEM;
	return fill_cgroup(piddir, h);
}

static int add_holder(struct scan *s, int piddir, pid_t pid)
{
	struct gk_holders *res = s->result;
	struct gk_holder h = {.pid = pid};
	int r;

	r = fill_devices(s, &h);
	if (r >= 0)
		r = fill_process(s, piddir, &h);
	if (r < 0) {
		holder_done(&h);
		return r;
	}
	if (res->n == s->allocated) {
		size_t n = s->allocated ? s->allocated * 2 : 16;
		struct gk_holder *p = realloc(res->holders, n * sizeof(*p));

		if (!p) {
			holder_done(&h);
			return -ENOMEM;
		}
		res->holders = p;
		s->allocated = n;
	}
	res->holders[res->n++] = h;
	return 0;
}

static bool any_held(const struct scan *s)
{
	for (size_t i = 0; i < s->nodes->n; i++)
		if (s->how[i])
			return true;
	return false;
}

/* Returns 0 (also for a process that went away or was not ours to read), or -ENOMEM. */
static int scan_pid(struct scan *s, int procfd, const char *name, pid_t pid)
{
	_cleanup_close_ int piddir = -EBADF;
	int r;

	piddir = openat(procfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (piddir < 0) {
		/* hidepid=2 hides other users' processes; a denied open is one we cannot see into */
		if (errno_denied(errno))
			s->result->inaccessible++;
		return 0;
	}
	memset(s->how, 0, s->nodes->n);
	r = scan_fds(s, piddir);
	if (r >= 0)
		r = scan_maps(s, piddir);
	if (r >= 0 && any_held(s))
		r = add_holder(s, piddir, pid);
	if (r == -ENOMEM)
		return r;
	if (r < 0 && errno_denied(-r) && !is_kernel_thread(piddir))
		s->result->inaccessible++;
	else if (r < 0 && !errno_gone(-r))
		log_debug_errno(r, "holders: skipping pid %d: %m", (int)pid);
	return 0;
}

static int scan_procs(struct scan *s, int procfd, pid_t exclude)
{
	for (;;) {
		ssize_t k = getdents64(procfd, s->proc_dents, DENTS_SIZE);

		if (k < 0)
			return -errno;
		if (k == 0)
			return 0;
		for (ssize_t off = 0; off < k;) {
			struct dirent64 *de = (struct dirent64 *)(void *)(s->proc_dents + off);
			unsigned pid;
			int r;

			off += de->d_reclen;
			if (de->d_name[0] < '1' || de->d_name[0] > '9' ||
			    safe_atou_base(de->d_name, 10, &pid) < 0 || (pid_t)pid == exclude)
				continue;
			r = scan_pid(s, procfd, de->d_name, (pid_t)pid);
			if (r < 0)
				return r;
		}
	}
}

static int cmp_pid(const void *a, const void *b)
{
	pid_t x = ((const struct gk_holder *)a)->pid, y = ((const struct gk_holder *)b)->pid;

	return x < y ? -1 : x > y;
}

static void scan_done(struct scan *s)
{
	free(s->how);
	free(s->proc_dents);
	free(s->fd_dents);
	free(s->maps);
	free(s->last_user);
	holders_free(s->result);
}

int holders_scan(int rootfd, const struct gk_nodeset *nodes, pid_t exclude,
		 struct gk_holders **ret)
{
	_cleanup_(scan_done) struct scan s = {.nodes = nodes};
	_cleanup_close_ int procfd = -EBADF;
	struct stat st;
	int r;

	procfd = openat(rootfd, "proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (procfd < 0)
		return -errno;
	s.how = calloc(nodes->n ? nodes->n : 1, 1);
	s.proc_dents = malloc(DENTS_SIZE);
	s.fd_dents = malloc(DENTS_SIZE);
	s.maps = malloc(MAPS_BUF_INITIAL);
	s.maps_size = MAPS_BUF_INITIAL;
	s.result = calloc(1, sizeof(*s.result));
	if (!s.how || !s.proc_dents || !s.fd_dents || !s.maps || !s.result)
		return -ENOMEM;
	/* we hold at least stdin..stderr and procfd: a size of 0 means the kernel does not count */
	s.fd_dir_counts = fstatat(procfd, "self/fd", &st, 0) == 0 && st.st_size > 0;
	/* with no node to hold, /proc is still opened, so an unreadable root fails the same way */
	if (nodes->n > 0) {
		r = scan_procs(&s, procfd, exclude);
		if (r < 0)
			return r;
	}
	qsort(s.result->holders, s.result->n, sizeof(*s.result->holders), cmp_pid);
	*ret = TAKE_PTR(s.result);
	return 0;
}

static const char *runtime_cli(const char *runtime)
{
	if (streq(runtime, "docker") || streq(runtime, "podman"))
		return runtime;
	return "crictl"; /* containerd, cri-o and kubelet-managed containers */
}

/* The action that ends @h's hold, malloc()ed. */
static char *stop_action(const struct gk_holder *h)
{
	if (h->container_id)
		return strdup_printf("%s stop %.*s", runtime_cli(h->container_runtime),
				     CGROUP_SHORT_ID_LEN, h->container_id);
	/* a system service; a user manager's units and session scopes are left to the pid */
	if (h->unit && endswith(h->unit, ".service") && h->cgroup && !strstr(h->cgroup, "/user@"))
		return strdup_printf("systemctl stop %s", h->unit);
	return strdup_printf("pid %d (%s%s)", (int)h->pid, h->comm,
			     h->unkillable ? ", unkillable" : "");
}

int holders_stop_list(const struct gk_holders *h, char ***ret)
{
	_cleanup_strv_free_ char **l = NULL;
	int r;

	l = calloc(1, sizeof(char *));
	if (!l)
		return -ENOMEM;
	for (size_t i = 0; i < h->n; i++) {
		_cleanup_free_ char *a = stop_action(&h->holders[i]);

		if (!a)
			return -ENOMEM;
		if (strv_contains(l, a))
			continue;
		r = strv_extend(&l, a);
		if (r < 0)
			return r;
	}
	*ret = TAKE_PTR(l);
	return 0;
}
