/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Parsers for the text of /proc/<pid> files (stat, maps, status, cmdline): pure functions. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Room for comm as /proc/<pid>/stat shows it: workqueue workers append their queue's name. */
#define PROC_COMM_MAX 64

/* PF_KTHREAD from include/linux/sched.h: the task is a kernel thread (no fds, no mm). */
#define PROC_PF_KTHREAD 0x00200000u

struct proc_stat {
	char comm[PROC_COMM_MAX]; /* truncated when longer */
	char state;		  /* 'R', 'S', 'D', 'Z', 'T', 't', 'X', 'I', ... */
	unsigned flags;		  /* PF_* task flags (field 9) */
};

/*
 * Parses a /proc/<pid>/stat line. comm may contain spaces and parentheses, so it runs from the
 * first '(' to the last ')' and the other fields are read after that.
 * Returns 0, or -EINVAL when @s is not in that format.
 */
int proc_stat_parse(const char *s, struct proc_stat *ret);

struct proc_maps_entry {
	uint64_t start;
	uint64_t end;
	unsigned major; /* device of the filesystem that holds the mapped file, not its rdev */
	unsigned minor;
	uint64_t inode;	  /* 0 for anonymous mappings */
	const char *path; /* points into the line, not NUL-terminated; NULL when there is none */
	size_t path_len;
};

/*
 * Parses one line of /proc/<pid>/maps of @len bytes (the newline excluded):
 * "start-end perms offset major:minor inode [path]". The path may contain spaces.
 * Returns 0, or -EINVAL when the line is not in that format.
 */
int proc_maps_parse_line(const char *line, size_t len, struct proc_maps_entry *ret);

/* Reads the effective uid from the "Uid:" line of /proc/<pid>/status. Returns 0 or -EINVAL. */
int proc_status_euid(const char *s, uid_t *ret);

/*
 * Turns the NUL-separated argv read from /proc/<pid>/cmdline (@len bytes in @buf, which has room
 * for one more byte) into one NUL-terminated line: separators become spaces, trailing NULs are
 * dropped and control characters become '?', so the result is safe to print.
 */
void proc_cmdline_to_string(char *buf, size_t len);
