/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Reading small files relative to a directory fd (a root prefix, a sysfs device directory). */
#pragma once

#include <stddef.h>

/*
 * Reads the whole of @path (relative to @dirfd, or absolute) into a NUL-terminated buffer that the
 * caller frees. Files larger than @max bytes fail with -EFBIG. Returns 0 or -errno
 * (-ENOENT when the file does not exist).
 */
int read_full_file_at(int dirfd, const char *path, size_t max, char **ret, size_t *ret_size);

/*
 * The same for a file named by a user or found in a directory others can write to: opened without
 * blocking (a FIFO never stalls the caller) and with @flags added (O_NOFOLLOW), then refused with
 * -EISDIR for a directory and -EBADFD for anything else that is not a regular file.
 */
int read_regular_file_at(int dirfd, const char *path, size_t max, int flags, char **ret,
			 size_t *ret_size);

/*
 * Reads the first line of a small attribute file into @buf (size @n), without the newline and
 * with trailing whitespace removed. Returns 0 or -errno; -ENOBUFS when the line does not fit.
 */
int read_attr_at(int dirfd, const char *path, char *buf, size_t n);

/* Reads a symlink's target and returns its last path component, malloc()ed. */
int readlink_basename_at(int dirfd, const char *path, char **ret);

/* Opens @path under @dirfd as a directory (O_RDONLY|O_DIRECTORY|O_CLOEXEC). Returns fd or -errno.
 */
int open_dir_at(int dirfd, const char *path);

/* opendir() for @path under @dirfd. Returns 0 or -errno; *ret is closed with closedir(). */
int opendir_at(int dirfd, const char *path, void **ret);

/*
 * Replaces @path (relative to @dirfd, or absolute) with @size bytes of @data, atomically: a
 * temporary file in the same directory is written, fsync()ed and renamed over @path, then the
 * directory is fsync()ed, so a crash leaves either the old or the new content. Returns 0 or
 * -errno; on failure @path is unchanged and the temporary file removed, except when only the
 * final directory sync failed (the new content is in place but may not survive a crash).
 */
int write_file_atomic_at(int dirfd, const char *path, const void *data, size_t size, unsigned mode);

/* Opens directory @dir (O_RDONLY|O_DIRECTORY|O_CLOEXEC), creating it and its parents (0755)
 * first as needed. Returns the fd or -errno. */
int mkdir_p_open(const char *dir);
/* Creates @dir and its parents (0755) as needed. 0 or -errno. */
int mkdir_p(const char *dir);
