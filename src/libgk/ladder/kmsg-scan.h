/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Xids from the kernel log, for `gpukeep health`: a whole log read at once, each record parsed by
 * kmsg.h and each message by nvline.h (the watcher's parsers), the Xid records handed over.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ladder/kmsg.h"
#include "node/pci.h"

struct gk_xid {
	unsigned xid;
	char pci[GK_PCI_ADDR_STRLEN]; /* as the driver printed it ("0000:07:00"), cut to fit */
};

/*
 * Whether the message @msg (@len bytes) is an Xid line (every form nvline_parse() knows, and a
 * "fallen off the bus" line as Xid 79). Returns true and fills *ret.
 */
bool xid_match(const char *msg, size_t len, struct gk_xid *ret);

/* Called for each Xid record found. */
typedef int (*gk_xid_fn)(void *userdata, const struct gk_kmsg_record *rec, const struct gk_xid *x);

/*
 * Reads every kernel log record at @path (/dev/kmsg, read without blocking, or a file in the
 * same record format, one per line) and calls @fn for the Xid records whose sequence number is
 * above @after_seq; a callback's negative return stops the scan with it. *ret_last_seq gets the
 * highest sequence number seen (@after_seq when none). A sequence below @after_seq at the end
 * means the log restarted (a reboot): then every record counts; *ret_restarted says so.
 * Returns the number of Xid records passed to @fn, or -errno (-ENOENT, -EACCES: not root).
 */
int kmsg_scan_xids(const char *path, uint64_t after_seq, gk_xid_fn fn, void *userdata,
		   uint64_t *ret_last_seq, bool *ret_restarted);
