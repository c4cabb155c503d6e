// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Parsers for /proc/<pid> text. The maps parser runs on every line of every process during a
 * holders scan, so it is hand-written instead of sscanf(), and never copies the line.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <string.h>

#include "node/proc-util.h"

/* The value of a hex digit, or -EINVAL for any other character. */
static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -EINVAL;
}

/* Parses digits in @base from *@p up to @end; at least one, no overflow. Advances *@p. */
static int parse_u64(const char **p, const char *end, unsigned base, uint64_t *ret)
{
	const char *s = *p;
	uint64_t v = 0;
	int d;

	if (s >= end || (d = hexval(*s)) < 0 || (unsigned)d >= base)
		return -EINVAL;
	for (; s < end && (d = hexval(*s)) >= 0 && (unsigned)d < base; s++) {
		if (v > (UINT64_MAX - (unsigned)d) / base)
			return -EINVAL;
		v = v * base + (unsigned)d;
	}
	*p = s;
	*ret = v;
	return 0;
}

static int expect_char(const char **p, const char *end, char c)
{
	if (*p >= end || **p != c)
		return -EINVAL;
	(*p)++;
	return 0;
}

static int parse_u32(const char **p, const char *end, unsigned base, unsigned *ret)
{
	uint64_t v;
	int r;

	r = parse_u64(p, end, base, &v);
	if (r < 0)
		return r;
	if (v > UINT_MAX)
		return -EINVAL;
	*ret = (unsigned)v;
	return 0;
}

int proc_stat_parse(const char *s, struct proc_stat *ret)
{
	struct proc_stat st = {};
	const char *lp, *rp, *p, *end;
	size_t n;

	lp = strchr(s, '(');
	rp = strrchr(s, ')');
	if (!lp || !rp || rp < lp)
		return -EINVAL;
	n = (size_t)(rp - lp - 1);
	if (n >= sizeof(st.comm))
		n = sizeof(st.comm) - 1;
	memcpy(st.comm, lp + 1, n);

	/* ") S ppid pgrp session tty_nr tpgid flags ..." */
	p = rp + 1;
	if (p[0] != ' ' || !p[1] || p[1] == ' ' || p[2] != ' ')
		return -EINVAL;
	st.state = p[1];
	p += 3;
	for (int field = 4; field < 9; field++) {
		p = strchr(p, ' ');
		if (!p)
			return -EINVAL;
		p++;
	}
	end = p + strcspn(p, " \n");
	if (parse_u32(&p, end, 10, &st.flags) < 0 || p != end)
		return -EINVAL;
	*ret = st;
	return 0;
}

/* "start-end perms offset " */
static int maps_parse_range(const char **p, const char *end, struct proc_maps_entry *e)
{
	uint64_t offset;

	if (parse_u64(p, end, 16, &e->start) < 0 || expect_char(p, end, '-') < 0 ||
	    parse_u64(p, end, 16, &e->end) < 0 || expect_char(p, end, ' ') < 0)
		return -EINVAL;
	/* permissions are always four characters, e.g. "rw-s" */
	if (end - *p < 5 || (*p)[4] != ' ')
		return -EINVAL;
	*p += 5;
	if (parse_u64(p, end, 16, &offset) < 0 || expect_char(p, end, ' ') < 0)
		return -EINVAL;
	return 0;
}

int proc_maps_parse_line(const char *line, size_t len, struct proc_maps_entry *ret)
{
	struct proc_maps_entry e = {};
	const char *p = line, *end = line + len;

	if (maps_parse_range(&p, end, &e) < 0)
		return -EINVAL;
	if (parse_u32(&p, end, 16, &e.major) < 0 || expect_char(&p, end, ':') < 0 ||
	    parse_u32(&p, end, 16, &e.minor) < 0 || expect_char(&p, end, ' ') < 0 ||
	    parse_u64(&p, end, 10, &e.inode) < 0)
		return -EINVAL;
	if (p < end && *p != ' ')
		return -EINVAL;
	while (p < end && *p == ' ')
		p++;
	if (p < end) {
		e.path = p;
		e.path_len = (size_t)(end - p);
	}
	*ret = e;
	return 0;
}

int proc_status_euid(const char *s, uid_t *ret)
{
	const char *p;
	unsigned uid;
	int r;

	/* "Uid:\treal\teffective\tsaved\tfs" */
	for (p = s; p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (strncmp(p, "Uid:", 4) == 0)
			break;
	if (!p)
		return -EINVAL;
	p += 4;
	for (int field = 0; field < 2; field++) {
		const char *end;

		p += strspn(p, " \t");
		end = p + strcspn(p, " \t\n");
		r = parse_u32(&p, end, 10, &uid);
		if (r < 0 || p != end)
			return -EINVAL;
	}
	*ret = (uid_t)uid;
	return 0;
}

void proc_cmdline_to_string(char *buf, size_t len)
{
	while (len > 0 && buf[len - 1] == '\0')
		len--;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)buf[i];

		if (c == '\0')
			buf[i] = ' ';
		else if (c < 0x20 || c == 0x7f)
			buf[i] = '?';
	}
	buf[len] = '\0';
}
