// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * One process of the holders scan. It visits every fd of every process, so the hot path makes as
 * few syscalls as it can: one fstatat() per fd relative to the fd directory (no readlink, no path
 * building), raw getdents64(), and one read buffer for maps reused across processes. Each process
 * is reached through one /proc/<pid> directory fd, so a pid recycled mid-scan reads as gone,
 * never as another process.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "log.h"
#include "node/cgroup.h"
#include "node/pidscan.h"
#include "node/proc-util.h"

#define DENTS_SIZE	 (32 * 1024)
#define MAPS_BUF_INITIAL (64 * 1024)
/* a process with a million mappings: give up on it */
#define MAPS_MAX	 (64 * 1024 * 1024)
/* stat, status and cgroup fit; a longer cmdline is cut */
#define SMALL_FILE_MAX	 8192

static bool errno_gone(int e)
{
	return e == ENOENT || e == ESRCH;
}

static bool errno_denied(int e)
{
	return e == EACCES || e == EPERM;
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

/* Reads all of "maps" under @dirfd into the scan's growing buffer. */
static int read_maps(struct pidscan *s, int dirfd, size_t *ret_len)
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

static int scan_fds(struct pidscan *s, int piddir)
{
	_cleanup_close_ int fdfd = -EBADF;

	fdfd = openat(piddir, "fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fdfd < 0)
		return -errno;
	for (;;) {
		ssize_t k = getdents64(fdfd, s->fd_dents, DENTS_SIZE);

		if (k < 0)
			return -errno;
		if (k == 0)
			return 0;
		for (ssize_t off = 0; off < k;) {
			struct dirent64 *de = (struct dirent64 *)(void *)(s->fd_dents + off);
			struct stat st;
			int idx;

			off += de->d_reclen;
			if (de->d_name[0] == '.')
				continue;
			if (fstatat(fdfd, de->d_name, &st, 0) < 0) {
				/* another user's fd directory opens, but its links do not resolve
				 */
				if (errno_denied(errno))
					return -errno;
				continue; /* closed since getdents */
			}
			idx = nodeset_match_stat(s->nodes, &st);
			if (idx >= 0)
				s->how[idx] |= GK_HELD_FD;
		}
	}
}

/*
 * A mapping of a node other than ours for the same device, e.g. a container's own /dev: maps shows
 * the dev and inode of the node's filesystem, so ask map_files for what the mapping really is.
 */
static int match_map_file(struct pidscan *s, int piddir, const struct proc_maps_entry *e)
{
	char name[64];
	struct stat st;

	snprintf(name, sizeof(name), "map_files/%" PRIx64 "-%" PRIx64, e->start, e->end);
	if (fstatat(piddir, name, &st, 0) < 0)
		return -errno; /* map_files needs CAP_SYS_ADMIN: as non-root, only inodes match */
	return nodeset_match_stat(s->nodes, &st);
}

static void scan_maps_line(struct pidscan *s, int piddir, const char *line, size_t len)
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

static int scan_maps(struct pidscan *s, int piddir)
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

static int lookup_user(struct pidscan *s, uid_t uid, char **ret)
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

static int fill_devices(struct pidscan *s, struct gk_holder *h)
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

static int fill_process(struct pidscan *s, int piddir, struct gk_holder *h)
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

static int add_holder(struct pidscan *s, int piddir, pid_t pid)
{
	struct gk_holders *res = s->result;
	struct gk_holder h = {.pid = pid};
	int r;

	r = fill_devices(s, &h);
	if (r >= 0)
		r = fill_process(s, piddir, &h);
	if (r < 0) {
		holders_entry_clear(&h);
		return r;
	}
	if (res->n == s->allocated) {
		size_t n = s->allocated ? s->allocated * 2 : 16;
		struct gk_holder *p = realloc(res->holders, n * sizeof(*p));

		if (!p) {
			holders_entry_clear(&h);
			return -ENOMEM;
		}
		res->holders = p;
		s->allocated = n;
	}
	res->holders[res->n++] = h;
	return 0;
}

static bool any_held(const struct pidscan *s)
{
	for (size_t i = 0; i < s->nodes->n; i++)
		if (s->how[i])
			return true;
	return false;
}

int pidscan_pid(struct pidscan *s, int procfd, pid_t pid)
{
	_cleanup_close_ int piddir = -EBADF;
	char name[16];
	int r;

	snprintf(name, sizeof(name), "%d", (int)pid);
	piddir = openat(procfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (piddir < 0) {
		/* with hidepid=1, other users' directories are there but closed to us */
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

void pidscan_done(struct pidscan *s)
{
	free(s->how);
	free(s->fd_dents);
	free(s->maps);
	free(s->last_user);
	holders_free(s->result);
	*s = (struct pidscan){};
}

int pidscan_init(struct pidscan *s, const struct gk_nodeset *nodes)
{
	*s = (struct pidscan){.nodes = nodes, .maps_size = MAPS_BUF_INITIAL};
	s->how = calloc(nodes->n ? nodes->n : 1, 1);
	s->fd_dents = malloc(DENTS_SIZE);
	s->maps = malloc(MAPS_BUF_INITIAL);
	s->result = calloc(1, sizeof(*s->result));
	if (!s->how || !s->fd_dents || !s->maps || !s->result) {
		pidscan_done(s);
		return -ENOMEM;
	}
	return 0;
}
