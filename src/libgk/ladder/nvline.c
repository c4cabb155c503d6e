// SPDX-License-Identifier: GPL-2.0-or-later
/* Parser of the NVIDIA driver's kernel log lines (see nvline.h for the forms). By hand, with
 * bounds on every field: the input is whatever the kernel log holds. */
#include <errno.h>
#include <string.h>

#include "ladder/nvline.h"

struct cursor {
	const char *p, *end;
};

static bool eat(struct cursor *c, const char *lit)
{
	size_t n = strlen(lit);

	if ((size_t)(c->end - c->p) < n || memcmp(c->p, lit, n) != 0)
		return false;
	c->p += n;
	return true;
}

static void skip_spaces(struct cursor *c)
{
	while (c->p < c->end && *c->p == ' ')
		c->p++;
}

/* A decimal number of at most 9 digits. */
static int eat_uint(struct cursor *c, unsigned *ret)
{
	unsigned v = 0, n = 0;

	while (c->p < c->end && *c->p >= '0' && *c->p <= '9' && n < 10) {
		v = v * 10 + (unsigned)(*c->p++ - '0');
		n++;
	}
	if (n == 0 || n > 9)
		return -EPROTO;
	*ret = v;
	return 0;
}

static bool is_hex(char ch)
{
	return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
}

static unsigned hex_value(char ch)
{
	if (ch <= '9')
		return (unsigned)(ch - '0');
	return (unsigned)((ch | 0x20) - 'a' + 10);
}

/* A run of hex digits: fills @digits (up to @max), returns how many. */
static size_t hex_run(const char *s, const char *end, size_t max)
{
	size_t n = 0;

	while (s + n < end && n <= max && is_hex(s[n]))
		n++;
	return n;
}

int nvline_normalize_pci(const char *s, size_t len, char buf[GK_NV_PCI_LEN])
{
	const char *end = s + len;
	size_t nd, nb, nv;
	const char *dom = "0000", *bus, *dev;

	if (len >= 4 && memcmp(s, "PCI:", 4) == 0)
		s += 4;
	nd = hex_run(s, end, 8);
	if (nd == 0 || s + nd >= end || s[nd] != ':')
		return -EINVAL;
	bus = s + nd + 1;
	nb = hex_run(bus, end, 8);
	if (nb == 2 && bus + nb < end && bus[nb] == ':') {
		/* domain:bus:device */
		if (nd != 4)
			return -EINVAL;
		dom = s;
		dev = bus + 3;
	} else {
		/* bus:device, no domain */
		if (nd != 2)
			return -EINVAL;
		dev = bus;
		bus = s;
	}
	nv = hex_run(dev, end, 8);
	if (nv != 2)
		return -EINVAL;
	/* an optional ".function", one digit */
	if (dev + 2 < end && !(dev[2] == '.' && dev + 4 == end && dev[3] >= '0' && dev[3] <= '7'))
		return -EINVAL;
	/* '|0x20' lower-cases hex letters and leaves digits alone */
	for (int i = 0; i < 4; i++)
		buf[i] = (char)(dom[i] | 0x20);
	buf[4] = ':';
	buf[5] = (char)(bus[0] | 0x20);
	buf[6] = (char)(bus[1] | 0x20);
	buf[7] = ':';
	buf[8] = (char)(dev[0] | 0x20);
	buf[9] = (char)(dev[1] | 0x20);
	buf[10] = 0;
	return 0;
}

/* A PCI address token ending at one of @stops; advances past it. */
static int eat_pci(struct cursor *c, const char *stops, char buf[GK_NV_PCI_LEN])
{
	const char *s = c->p;

	while (c->p < c->end && !strchr(stops, *c->p))
		c->p++;
	if (c->p >= c->end)
		return -EPROTO;
	return nvline_normalize_pci(s, (size_t)(c->p - s), buf) < 0 ? -EPROTO : 0;
}

static void set_text(struct cursor *c, struct gk_nv_event *e)
{
	skip_spaces(c);
	e->text = c->p;
	e->text_len = (size_t)(c->end - c->p);
}

/* MIG suffixes inside the parentheses: " GPU-I:01" and " GPU-CI:00". */
static int eat_mig(struct cursor *c, struct gk_nv_event *e)
{
	unsigned v;

	if (eat(c, " GPU-I:")) {
		if (eat_uint(c, &v) < 0)
			return -EPROTO;
		e->gpu_instance = (int)v;
	}
	if (eat(c, " GPU-CI:")) {
		if (eat_uint(c, &v) < 0)
			return -EPROTO;
		e->compute_instance = (int)v;
	}
	return 0;
}

/* ", pid=1234" or ", pid='<unknown>'": the pid the driver named. */
static void parse_pid(struct cursor *c, struct gk_nv_event *e)
{
	struct cursor t = *c;
	unsigned v;

	if (!eat(&t, ", pid="))
		return;
	if (eat_uint(&t, &v) == 0)
		e->pid = (int)v;
}

/* NVLink5 (Xid 144-150): the first "(0x........" of the line is intrinfo. */
static void parse_nvlink5(struct gk_nv_event *e)
{
	const char *p = e->text, *end = e->text + e->text_len;

	for (; p + 3 < end; p++) {
		unsigned long v = 0;
		size_t n;

		if (p[0] != '(' || p[1] != '0' || (p[2] | 0x20) != 'x')
			continue;
		n = hex_run(p + 3, end, 8);
		if (n == 0 || n > 8)
			return;
		for (size_t i = 0; i < n; i++)
			v = v * 16 + hex_value(p[3 + i]);
		e->subcode = (int)((v >> 20) & 0x3f);
		return;
	}
}

static int parse_xid(struct cursor *c, struct gk_nv_event *e)
{
	unsigned code;

	if (!eat(c, "("))
		return -EPROTO;
	if (eat_pci(c, " )", e->pci) < 0 || eat_mig(c, e) < 0)
		return -EPROTO;
	if (!eat(c, "):"))
		return -EPROTO;
	skip_spaces(c);
	if (eat_uint(c, &code) < 0)
		return -EPROTO;
	if (c->p < c->end && *c->p != ',')
		return -EPROTO;
	e->kind = GK_NV_XID;
	e->code = code;
	parse_pid(c, e);
	eat(c, ",");
	set_text(c, e);
	if (code >= 144 && code <= 150)
		parse_nvlink5(e);
	return 1;
}

static bool contains(const char *s, size_t len, const char *needle)
{
	size_t n = strlen(needle);

	for (size_t i = 0; i + n <= len; i++)
		if (s[i] == needle[0] && memcmp(s + i, needle, n) == 0)
			return true;
	return false;
}

/* "GPU 0000:18:00.0: GPU has fallen off the bus." and "The NVIDIA GPU 0000:18:00.0 (PCI ID:
 * ...) installed in this system has fallen off the bus and is not responding to commands." */
static int parse_fallen(struct cursor *c, struct gk_nv_event *e)
{
	const char *sp = memchr(c->p, ' ', (size_t)(c->end - c->p));
	size_t n;

	if (!sp || !contains(sp, (size_t)(c->end - sp), "fallen off the bus"))
		return 0;
	n = (size_t)(sp - c->p);
	if (n > 0 && c->p[n - 1] == ':')
		n--;
	if (nvline_normalize_pci(c->p, n, e->pci) < 0)
		return 0;
	c->p = sp;
	e->kind = GK_NV_FALLEN_OFF;
	e->code = GK_XID_FALLEN_OFF;
	set_text(c, e);
	return 1;
}

/* "GPU at PCI:0000:03:00: GPU-455d8f70-...": the UUID of a GPU, before its first Xid. */
static int parse_uuid(struct cursor *c, struct gk_nv_event *e)
{
	const char *sp = memchr(c->p, ' ', (size_t)(c->end - c->p)), *u;
	size_t n;

	/* the address token ends with the sentence's ':' */
	if (!sp || sp == c->p || sp[-1] != ':')
		return 0;
	if (nvline_normalize_pci(c->p, (size_t)(sp - 1 - c->p), e->pci) < 0)
		return 0;
	c->p = sp;
	skip_spaces(c);
	u = c->p;
	if (!eat(c, "GPU-"))
		return 0;
	while (c->p < c->end && (is_hex(*c->p) || *c->p == '-'))
		c->p++;
	n = (size_t)(c->p - u);
	if (n <= 4 || n >= GK_NV_UUID_LEN)
		return 0;
	memcpy(e->uuid, u, n);
	e->uuid[n] = 0;
	e->kind = GK_NV_GPU_UUID;
	set_text(c, e);
	return 1;
}

static int parse_nvrm(struct cursor *c, struct gk_nv_event *e)
{
	if (eat(c, "Xid "))
		return parse_xid(c, e);
	if (eat(c, "GPU at "))
		return parse_uuid(c, e);
	if (eat(c, "GPU "))
		return parse_fallen(c, e);
	if (eat(c, "The NVIDIA GPU "))
		return parse_fallen(c, e);
	return 0;
}

/* "nvidia-nvswitch3: SXid (PCI:0000:c3:00.0): 12028, Fatal, Link 44 (...)" */
static int parse_sxid(struct cursor *c, struct gk_nv_event *e)
{
	unsigned v;

	if (eat_uint(c, &v) < 0 || !eat(c, ": "))
		return 0;
	if (!eat(c, "SXid ("))
		return 0;
	e->nvswitch = (int)v;
	if (eat_pci(c, ")", e->pci) < 0 || !eat(c, "):"))
		return -EPROTO;
	skip_spaces(c);
	if (eat_uint(c, &e->code) < 0 || !eat(c, ", "))
		return -EPROTO;
	if (eat(c, "Fatal"))
		e->fatal = true;
	else if (!eat(c, "Non-fatal"))
		return -EPROTO;
	if (eat(c, ", Link ") && eat_uint(c, &v) == 0)
		e->link = (int)v;
	e->kind = GK_NV_SXID;
	set_text(c, e);
	return 1;
}

int nvline_parse(const char *msg, size_t len, struct gk_nv_event *ret)
{
	struct cursor c = {msg, msg + len};
	struct gk_nv_event e = {
		.subcode = -1,
		.pid = -1,
		.gpu_instance = -1,
		.compute_instance = -1,
		.link = -1,
		.nvswitch = -1,
	};
	int r;

	if (eat(&c, "NVRM: "))
		r = parse_nvrm(&c, &e);
	else if (eat(&c, "nvidia-nvswitch"))
		r = parse_sxid(&c, &e);
	else
		return 0;
	if (r <= 0)
		return r;
	*ret = e;
	return 1;
}
