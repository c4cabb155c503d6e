// SPDX-License-Identifier: GPL-2.0-or-later
/* PCI address parsing; NVML, sysfs, Xid lines and people all spell them differently. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "node/pci.h"

/* Parses at most @maxdigits hex digits, at least one; advances *p. */
static int hex_field(const char **p, unsigned maxdigits, unsigned *ret)
{
	unsigned v = 0, n = 0;

	while (isxdigit((unsigned char)**p)) {
		if (++n > maxdigits)
			return -EINVAL;
		v = v * 16 + (unsigned)(isdigit((unsigned char)**p)
						? **p - '0'
						: tolower((unsigned char)**p) - 'a' + 10);
		(*p)++;
	}
	if (n == 0)
		return -EINVAL;
	*ret = v;
	return 0;
}

int pci_addr_parse(const char *s, bool allow_no_fn, struct gk_pci_addr *ret)
{
	struct gk_pci_addr a = {};
	unsigned f1, f2, f3;
	const char *p = s;
	int colons = 0;

	if (!s)
		return -EINVAL;
	for (const char *q = s; *q; q++)
		colons += *q == ':';
	if (colons < 1 || colons > 2)
		return -EINVAL;

	if (hex_field(&p, 8, &f1) < 0 || *p++ != ':')
		return -EINVAL;
	if (hex_field(&p, 2, &f2) < 0)
		return -EINVAL;
	if (colons == 2) {
		if (*p++ != ':' || hex_field(&p, 2, &f3) < 0)
			return -EINVAL;
		a.domain = f1;
		a.bus = f2;
		a.dev = f3;
	} else {
		if (f1 > 0xff)
			return -EINVAL;
		a.bus = f1;
		a.dev = f2;
	}
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '7')
			return -EINVAL;
		a.fn = (unsigned)(*p++ - '0');
	} else if (!allow_no_fn)
		return -EINVAL;
	if (*p || a.dev > 0x1f)
		return -EINVAL;
	*ret = a;
	return 0;
}

char *pci_addr_format(const struct gk_pci_addr *a, char *buf, size_t n)
{
	snprintf(buf, n, "%04x:%02x:%02x.%x", a->domain, a->bus, a->dev, a->fn);
	return buf;
}

bool pci_addr_equal(const struct gk_pci_addr *a, const struct gk_pci_addr *b)
{
	return pci_addr_compare(a, b) == 0;
}

int pci_addr_compare(const struct gk_pci_addr *a, const struct gk_pci_addr *b)
{
	const unsigned x[] = {a->domain, a->bus, a->dev, a->fn};
	const unsigned y[] = {b->domain, b->bus, b->dev, b->fn};

	for (size_t i = 0; i < 4; i++)
		if (x[i] != y[i])
			return x[i] < y[i] ? -1 : 1;
	return 0;
}

int pci_addr_normalize(const char *s, char *buf, size_t n)
{
	struct gk_pci_addr a;
	int r;

	r = pci_addr_parse(s, false, &a);
	if (r < 0)
		return r;
	pci_addr_format(&a, buf, n);
	return 0;
}
