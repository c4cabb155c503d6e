/* SPDX-License-Identifier: GPL-2.0-or-later */
/* NVIDIA's Xid catalog as gpukeep ships it (data/xid-catalog.json): per code its mnemonic and
 * immediate resolution bucket, and what the ladder does with each bucket. */
#pragma once

#include <json-c/json.h>
#include <stddef.h>

#define GK_CATALOG_SCHEMA   "gpukeep.xid-catalog"
#define GK_CATALOG_MAX_SIZE (1024 * 1024)
#define GK_BUCKET_LEN	    32

/* What the ladder does with a fault, from its bucket. */
enum gk_action {
	GK_ACTION_OBSERVE, /* application errors, informational: counted and logged */
	GK_ACTION_RESET,   /* rung 1 on that GPU */
	GK_ACTION_RELOAD,  /* rung 2 (a site override; the catalog has no such bucket) */
	GK_ACTION_REBOOT,  /* rung 3: drain and reboot */
	GK_ACTION_PERSON,  /* needs a person (mechanics, firmware, support): marked, not acted on */
	GK_ACTION_QUERY,   /* Xid 154: the recovery action NVML reports decides */
	GK_ACTION_UNKNOWN, /* a code or bucket the catalog does not know: reported, not acted on */
};

struct gk_xid_entry {
	unsigned code;
	char *mnemonic; /* "" when the catalog gives none */
	char bucket[GK_BUCKET_LEN];
};

struct gk_catalog {
	unsigned version;
	char *source;
	char *date;
	struct gk_xid_entry *xids; /* sorted by code */
	size_t n_xids;
};

/* Reads a catalog from its JSON. Returns 0, -EBADMSG with *ret_error (malloc()ed) naming the
 * first problem, or -ENOMEM. Free with catalog_done(). */
int catalog_from_json(struct json_object *o, struct gk_catalog *ret, char **ret_error);
/* The same from the file @path: also -ENOENT and the other errors of reading it. */
int catalog_load(const char *path, struct gk_catalog *ret, char **ret_error);
void catalog_done(struct gk_catalog *c);

/* The entry for @code, or NULL. */
const struct gk_xid_entry *catalog_lookup(const struct gk_catalog *c, unsigned code);

/* What a bucket means for the ladder: NVIDIA's bucket names, or gpukeep's own words
 * (observe, reset, reload, reboot, person) that site overrides may use. Pure. */
enum gk_action bucket_to_action(const char *bucket);
const char *action_to_string(enum gk_action a);
