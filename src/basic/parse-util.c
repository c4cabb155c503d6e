// SPDX-License-Identifier: GPL-2.0-or-later
/* Strict number parsing for sysfs and procfs values; strtoul alone accepts too much ("-1", ""). */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>

#include "parse-util.h"

static int parse_u64(const char *s, int base, uint64_t *ret)
{
	unsigned long long v;
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	if (base == 0 || base == 16) {
		if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
			s += 2;
			base = 16;
		} else if (base == 0)
			base = 10;
	}
	if (!isxdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, base);
	if (errno == ERANGE)
		return -ERANGE;
	if (end == s)
		return -EINVAL;
	while (isspace((unsigned char)*end))
		end++;
	if (*end)
		return -EINVAL;
	*ret = v;
	return 0;
}

int safe_atou64(const char *s, uint64_t *ret)
{
	return parse_u64(s, 0, ret);
}

int safe_atou_base(const char *s, int base, unsigned *ret)
{
	uint64_t v;
	int r;

	r = parse_u64(s, base, &v);
	if (r < 0)
		return r;
	if (v > UINT_MAX)
		return -ERANGE;
	*ret = (unsigned)v;
	return 0;
}

int safe_atou(const char *s, unsigned *ret)
{
	return safe_atou_base(s, 0, ret);
}

int safe_atoi(const char *s, int *ret)
{
	uint64_t v;
	int neg = 0, r;

	while (isspace((unsigned char)*s))
		s++;
	if (*s == '-') {
		neg = 1;
		s++;
	}
	r = parse_u64(s, 10, &v);
	if (r < 0)
		return r;
	if ((!neg && v > INT_MAX) || (neg && v > (uint64_t)INT_MAX + 1))
		return -ERANGE;
	*ret = neg ? (int)(-(int64_t)v) : (int)v;
	return 0;
}
