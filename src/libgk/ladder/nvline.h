/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The NVIDIA driver's kernel log lines that the ladder acts on: Xid (old and new formats, MIG,
 * the NVLink5 form of 144-150), "fallen off the bus" without an Xid, the PCI-to-UUID line and
 * NVSwitch SXid. Formats: open-gpu-kernel-modules kernel_rc.c, and the forms in the notes. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* "dddd:bb:dd": the driver's spelling of a GPU, domain:bus:device without the function */
#define GK_NV_PCI_LEN	  16
#define GK_NV_UUID_LEN	  48
/* Xid number given to a "fallen off the bus" line that carries none (the catalog's 79) */
#define GK_XID_FALLEN_OFF 79

enum gk_nv_kind {
	GK_NV_NONE,	  /* not a line of the NVIDIA driver that the ladder reads */
	GK_NV_XID,	  /* NVRM: Xid (PCI:...): N, ... */
	GK_NV_FALLEN_OFF, /* NVRM: GPU ... has fallen off the bus (no Xid number) */
	GK_NV_GPU_UUID,	  /* NVRM: GPU at PCI:...: GPU-<uuid> */
	GK_NV_SXID,	  /* nvidia-nvswitchN: SXid (PCI:...): N, Fatal|Non-fatal, Link L ... */
};

struct gk_nv_event {
	enum gk_nv_kind kind;
	char pci[GK_NV_PCI_LEN];   /* normalised: lower case, 4-digit domain, no ".function" */
	unsigned code;		   /* Xid or SXid number; GK_XID_FALLEN_OFF for GK_NV_FALLEN_OFF */
	int subcode;		   /* NVLink5 (144-150): (intrinfo >> 20) & 0x3f; else -1 */
	int pid;		   /* the pid the driver named, -1 when '<unknown>' or absent */
	int gpu_instance;	   /* MIG GPU-I, -1 when none */
	int compute_instance;	   /* MIG GPU-CI, -1 when none */
	int link;		   /* SXid link, -1 when none */
	int nvswitch;		   /* SXid: N of nvidia-nvswitchN, -1 otherwise */
	bool fatal;		   /* SXid: "Fatal" */
	char uuid[GK_NV_UUID_LEN]; /* GK_NV_GPU_UUID: "GPU-..." */
	const char *text;	   /* the rest of the line (points into the message) */
	size_t text_len;
};

/*
 * Parses one kernel log message of @len bytes. Returns 1 and *ret for a line of a kind above,
 * 0 when the message is none of them (*ret untouched), -EPROTO when it starts like one (an
 * "NVRM: Xid" or "SXid" line) but does not parse: the caller counts it as unparsed. Pure.
 */
int nvline_parse(const char *msg, size_t len, struct gk_nv_event *ret);

/*
 * Normalises a PCI address in any of the driver's spellings ("0000:07:00", "0000:07:00.0",
 * "PCI:0000:07:00", "07:00") into @buf (GK_NV_PCI_LEN). Returns 0 or -EINVAL.
 */
int nvline_normalize_pci(const char *s, size_t len, char buf[GK_NV_PCI_LEN]);
