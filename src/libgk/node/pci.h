/* SPDX-License-Identifier: GPL-2.0-or-later */
/* PCI addresses: parsing the spellings users and tools use, and one canonical form. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct gk_pci_addr {
	unsigned domain; /* up to 0xffffffff: NVML prints 8 hex digits, sysfs 4 */
	unsigned bus;	 /* 0..0xff */
	unsigned dev;	 /* 0..0x1f */
	unsigned fn;	 /* 0..7 */
};

/* "dddd:bb:dd.f" as sysfs names devices (lower-case hex, 4-digit domain): 13 chars + NUL. */
#define GK_PCI_ADDR_STRLEN 32

/*
 * Parses "0000:3b:00.0", "3b:00.0" (domain 0), NVML's "00000000:3B:00.0", and the Xid form
 * "0000:3b:00" (no function; @allow_no_fn must be true, fn is then 0). Case-insensitive.
 * Returns 0, or -EINVAL when @s is not a PCI address (out-of-range fields included).
 */
int pci_addr_parse(const char *s, bool allow_no_fn, struct gk_pci_addr *ret);

/* Writes the sysfs spelling into @buf (at least GK_PCI_ADDR_STRLEN bytes); returns @buf. */
char *pci_addr_format(const struct gk_pci_addr *a, char *buf, size_t n);

bool pci_addr_equal(const struct gk_pci_addr *a, const struct gk_pci_addr *b);
int pci_addr_compare(const struct gk_pci_addr *a, const struct gk_pci_addr *b);

/* Parses @s and rewrites it in canonical form into @buf; returns 0 or -EINVAL. */
int pci_addr_normalize(const char *s, char *buf, size_t n);
