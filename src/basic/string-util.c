// SPDX-License-Identifier: GPL-2.0-or-later
/* String helpers shared by the parsers. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "string-util.h"

char *strstrip_right(char *s)
{
	size_t n = strlen(s);

	while (n > 0 && isspace((unsigned char)s[n - 1]))
		s[--n] = 0;
	return s;
}

char *strstrip(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	return strstrip_right(s);
}

const char *startswith(const char *s, const char *prefix)
{
	size_t n = strlen(prefix);

	return strncmp(s, prefix, n) == 0 ? s + n : NULL;
}

bool endswith(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && memcmp(s + a - b, suffix, b) == 0;
}

char *strdup_printf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&s, fmt, ap);
	va_end(ap);
	return r < 0 ? NULL : s;
}

char **strv_free(char **l)
{
	if (!l)
		return NULL;
	for (char **p = l; *p; p++)
		free(*p);
	free(l);
	return NULL;
}

size_t strv_length(char *const *l)
{
	size_t n = 0;

	if (l)
		while (l[n])
			n++;
	return n;
}

int strv_extend(char ***l, const char *s)
{
	size_t n = strv_length(*l);
	char **nl;
	char *c;

	c = strdup(s);
	if (!c)
		return -ENOMEM;
	nl = realloc(*l, sizeof(char *) * (n + 2));
	if (!nl) {
		free(c);
		return -ENOMEM;
	}
	nl[n] = c;
	nl[n + 1] = NULL;
	*l = nl;
	return 0;
}

bool strv_contains(char *const *l, const char *s)
{
	if (l)
		for (; *l; l++)
			if (strcmp(*l, s) == 0)
				return true;
	return false;
}

char *strv_join(char *const *l, const char *sep)
{
	size_t n = 1, k = strlen(sep);
	char *s, *p;

	for (char *const *x = l; x && *x; x++)
		n += strlen(*x) + k;
	s = p = malloc(n);
	if (!s)
		return NULL;
	*p = 0;
	for (char *const *x = l; x && *x; x++) {
		p = stpcpy(p, *x);
		if (x[1])
			p = stpcpy(p, sep);
	}
	return s;
}
