// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * NVIDIA device nodes, matched by device number and never by name: a container's /dev has its own
 * nodes for the same devices, and a process may hold a node that was unlinked or renamed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "fileio.h"
#include "node/nodeset.h"
#include "string-util.h"

/* Directories under dev/ whose every entry is an NVIDIA node (MIG and IMEX channels). */
static const char *const node_dirs[] = {"nvidia-caps", "nvidia-caps-imex-channels"};

int nodeset_add(struct gk_nodeset *set, const char *path, const struct stat *st)
{
	struct gk_nvnode *nodes;
	char *p;

	if (!S_ISCHR(st->st_mode) && !S_ISREG(st->st_mode))
		return 1;
	p = strdup(path);
	if (!p)
		return -ENOMEM;
	nodes = realloc(set->nodes, sizeof(*nodes) * (set->n + 1));
	if (!nodes) {
		free(p);
		return -ENOMEM;
	}
	set->nodes = nodes;
	set->nodes[set->n++] = (struct gk_nvnode){
		.path = p,
		.is_chr = S_ISCHR(st->st_mode),
		.rdev = S_ISCHR(st->st_mode) ? st->st_rdev : 0,
		.dev = st->st_dev,
		.ino = st->st_ino,
	};
	return 0;
}

static int cmp_path(const void *a, const void *b)
{
	return strcmp(((const struct gk_nvnode *)a)->path, ((const struct gk_nvnode *)b)->path);
}

static bool same_node(const struct gk_nvnode *a, const struct gk_nvnode *b)
{
	if (a->is_chr && b->is_chr)
		return a->rdev == b->rdev;
	return a->dev == b->dev && a->ino == b->ino;
}

/* Keeps the first path (in sorted order) of nodes that are the same device or file. */
static void drop_duplicates(struct gk_nodeset *set)
{
	size_t kept = 0;

	for (size_t i = 0; i < set->n; i++) {
		bool dup = false;

		for (size_t j = 0; j < kept && !dup; j++)
			dup = same_node(&set->nodes[j], &set->nodes[i]);
		if (dup)
			free(set->nodes[i].path);
		else
			set->nodes[kept++] = set->nodes[i];
	}
	set->n = kept;
}

/* qsort_r() context: the node array that the index arrays point into. */
static int cmp_rdev(const void *a, const void *b, void *userdata)
{
	const struct gk_nvnode *nodes = userdata;
	dev_t x = nodes[*(const size_t *)a].rdev, y = nodes[*(const size_t *)b].rdev;

	return x < y ? -1 : x > y;
}

static int cmp_devino_values(dev_t dev_a, uint64_t ino_a, dev_t dev_b, uint64_t ino_b)
{
	if (dev_a != dev_b)
		return dev_a < dev_b ? -1 : 1;
	return ino_a < ino_b ? -1 : ino_a > ino_b;
}

static int cmp_inode(const void *a, const void *b, void *userdata)
{
	const struct gk_nvnode *nodes = userdata;
	const struct gk_nvnode *x = &nodes[*(const size_t *)a], *y = &nodes[*(const size_t *)b];

	return cmp_devino_values(x->dev, x->ino, y->dev, y->ino);
}

static int build_fs_devs(struct gk_nodeset *set)
{
	set->fs_devs = calloc(set->n ? set->n : 1, sizeof(dev_t));
	if (!set->fs_devs)
		return -ENOMEM;
	set->n_fs_devs = 0;
	for (size_t i = 0; i < set->n; i++) {
		bool seen = false;

		for (size_t j = 0; j < set->n_fs_devs && !seen; j++)
			seen = set->fs_devs[j] == set->nodes[i].dev;
		if (!seen)
			set->fs_devs[set->n_fs_devs++] = set->nodes[i].dev;
	}
	return 0;
}

int nodeset_finish(struct gk_nodeset *set)
{
	size_t n = set->n ? set->n : 1;

	qsort_safe(set->nodes, set->n, sizeof(*set->nodes), cmp_path);
	drop_duplicates(set);
	free(set->by_rdev);
	free(set->by_inode);
	free(set->fs_devs);
	set->by_rdev = calloc(n, sizeof(size_t));
	set->by_inode = calloc(n, sizeof(size_t));
	set->fs_devs = NULL;
	if (!set->by_rdev || !set->by_inode)
		return -ENOMEM;
	set->n_chr = 0;
	for (size_t i = 0; i < set->n; i++) {
		set->by_inode[i] = i;
		if (set->nodes[i].is_chr)
			set->by_rdev[set->n_chr++] = i;
	}
	if (set->n > 1) {
		qsort_r(set->by_rdev, set->n_chr, sizeof(size_t), cmp_rdev, set->nodes);
		qsort_r(set->by_inode, set->n, sizeof(size_t), cmp_inode, set->nodes);
	}
	return build_fs_devs(set);
}

struct gk_nodeset *nodeset_free(struct gk_nodeset *set)
{
	if (!set)
		return NULL;
	for (size_t i = 0; i < set->n; i++)
		free(set->nodes[i].path);
	free(set->nodes);
	free(set->by_rdev);
	free(set->by_inode);
	free(set->fs_devs);
	free(set);
	return NULL;
}

int nodeset_match_inode(const struct gk_nodeset *set, dev_t dev, uint64_t ino)
{
	size_t lo = 0, hi = set->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct gk_nvnode *m = &set->nodes[set->by_inode[mid]];
		int c = cmp_devino_values(dev, ino, m->dev, m->ino);

		if (c == 0)
			return (int)set->by_inode[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -ENOENT;
}

static int match_rdev(const struct gk_nodeset *set, dev_t rdev)
{
	size_t lo = 0, hi = set->n_chr;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		dev_t m = set->nodes[set->by_rdev[mid]].rdev;

		if (m == rdev)
			return (int)set->by_rdev[mid];
		if (rdev < m)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -ENOENT;
}

int nodeset_match_stat(const struct gk_nodeset *set, const struct stat *st)
{
	if (S_ISCHR(st->st_mode))
		return match_rdev(set, st->st_rdev);
	if (!S_ISREG(st->st_mode))
		return -ENOENT;
	return nodeset_match_inode(set, st->st_dev, st->st_ino);
}

bool nodeset_has_fs(const struct gk_nodeset *set, dev_t dev)
{
	for (size_t i = 0; i < set->n_fs_devs; i++)
		if (set->fs_devs[i] == dev)
			return true;
	return false;
}

static bool is_node_dir(const char *name)
{
	for (size_t i = 0; i < ELEMENTSOF(node_dirs); i++)
		if (streq(name, node_dirs[i]))
			return true;
	return false;
}

/* Adds the entries of @dirfd (named @prefix inside the root) whose name starts with @match. */
static int scan_dir(struct gk_nodeset *set, int dirfd, const char *prefix, const char *match)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	int fd, r;

	fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		safe_close(fd);
		return -errno;
	}
	while ((de = readdir(d))) {
		_cleanup_free_ char *path = NULL;
		struct stat st;

		if (!startswith(de->d_name, match) || streq(de->d_name, ".") ||
		    streq(de->d_name, ".."))
			continue;
		/* symlinks are skipped: the node they name is found under its own name */
		if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISDIR(st.st_mode) && is_node_dir(de->d_name) && !strchr(prefix + 1, '/')) {
			_cleanup_close_ int sub =
				openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			_cleanup_free_ char *subprefix = strdup_printf("%s/%s", prefix, de->d_name);

			if (!subprefix)
				return -ENOMEM;
			if (sub < 0)
				continue;
			r = scan_dir(set, sub, subprefix, "");
			if (r < 0)
				return r;
			continue;
		}
		path = strdup_printf("%s/%s", prefix, de->d_name);
		if (!path)
			return -ENOMEM;
		r = nodeset_add(set, path, &st);
		if (r < 0)
			return r;
	}
	return 0;
}

int nodeset_scan(int rootfd, struct gk_nodeset **ret)
{
	_cleanup_nodeset_free_ struct gk_nodeset *set = NULL;
	_cleanup_close_ int devfd = -EBADF;
	int r;

	set = calloc(1, sizeof(*set));
	if (!set)
		return -ENOMEM;
	devfd = openat(rootfd, "dev", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (devfd < 0 && errno != ENOENT)
		return -errno;
	if (devfd >= 0) {
		r = scan_dir(set, devfd, "/dev", "nvidia");
		if (r < 0)
			return r;
	}
	r = nodeset_finish(set);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(set);
	return 0;
}
