// SPDX-License-Identifier: GPL-2.0-or-later
/* The Xid catalog: loading the shipped data file, and the bucket-to-action table. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "baseline/baseline.h"
#include "core/json-check.h"
#include "ladder/catalog.h"
#include "macro.h"
#include "string-util.h"

static const struct {
	const char *bucket;
	enum gk_action action;
} bucket_table[] = {
	{"RESTART_APP", GK_ACTION_OBSERVE},
	{"IGNORE", GK_ACTION_OBSERVE},
	/* follow-on or cleanup reports: the Xid they follow decides (catalog investigatory column)
	 */
	{"WORKFLOW_XID_13", GK_ACTION_OBSERVE},
	{"WORKFLOW_XID_31", GK_ACTION_OBSERVE},
	{"WORKFLOW_XID_45", GK_ACTION_OBSERVE},
	{"RESET_GPU", GK_ACTION_RESET},
	{"WORKFLOW_XID_48", GK_ACTION_RESET},
	{"RESET_FABRIC", GK_ACTION_RESET},
	{"RESTART_BM", GK_ACTION_REBOOT},
	{"RESTART_VM", GK_ACTION_REBOOT},
	{"CONTACT_SUPPORT", GK_ACTION_PERSON},
	{"CHECK_MECHANICALS", GK_ACTION_PERSON},
	{"UPDATE_SWFW", GK_ACTION_PERSON},
	{"CHECK_UVM", GK_ACTION_PERSON},
	/* NVLink workflows need the link's far end looked at: a person, unless the site maps them
	 */
	{"WORKFLOW_NVLINK_ERR", GK_ACTION_PERSON},
	{"WORKFLOW_NVLINK5_ERR", GK_ACTION_PERSON},
	{"XID_154", GK_ACTION_QUERY},
	{"XID_154_EVAL", GK_ACTION_QUERY},
	{"observe", GK_ACTION_OBSERVE},
	{"reset", GK_ACTION_RESET},
	{"reload", GK_ACTION_RELOAD},
	{"reboot", GK_ACTION_REBOOT},
	{"person", GK_ACTION_PERSON},
};

enum gk_action bucket_to_action(const char *bucket)
{
	for (size_t i = 0; i < ELEMENTSOF(bucket_table); i++)
		if (streq(bucket, bucket_table[i].bucket))
			return bucket_table[i].action;
	return GK_ACTION_UNKNOWN;
}

const char *action_to_string(enum gk_action a)
{
	static const char *const names[] = {
		[GK_ACTION_OBSERVE] = "observe", [GK_ACTION_RESET] = "reset",
		[GK_ACTION_RELOAD] = "reload",	 [GK_ACTION_REBOOT] = "reboot",
		[GK_ACTION_PERSON] = "person",	 [GK_ACTION_QUERY] = "query",
		[GK_ACTION_UNKNOWN] = "unknown",
	};
	return (unsigned)a < ELEMENTSOF(names) ? names[a] : "unknown";
}

void catalog_done(struct gk_catalog *c)
{
	for (size_t i = 0; i < c->n_xids; i++)
		free(c->xids[i].mnemonic);
	free(c->xids);
	free(c->source);
	free(c->date);
	*c = (struct gk_catalog){};
}

static int cmp_code(const void *a, const void *b)
{
	const struct gk_xid_entry *x = a, *y = b;

	return (x->code > y->code) - (x->code < y->code);
}

static void read_entry(struct gk_jcheck *jc, struct json_object *row, size_t i,
		       struct gk_xid_entry *e)
{
	char where[32];
	_cleanup_free_ char *bucket = NULL;
	int code;

	snprintf(where, sizeof(where), "xids[%zu]", i);
	code = jcheck_int(jc, row, where, "code", 0, 65535);
	e->code = code < 0 ? 0 : (unsigned)code;
	e->mnemonic = jcheck_string(jc, row, where, "mnemonic", false);
	bucket = jcheck_string(jc, row, where, "immediate", false);
	if (!bucket)
		return;
	if (strlen(bucket) >= GK_BUCKET_LEN)
		jcheck_fail(jc, "%s: bucket '%s' is too long", where, bucket);
	else
		snprintf(e->bucket, sizeof(e->bucket), "%s", bucket);
}

int catalog_from_json(struct json_object *o, struct gk_catalog *ret, char **ret_error)
{
	struct gk_jcheck jc = {};
	struct gk_catalog c = {};
	_cleanup_free_ char *schema = NULL;
	struct json_object *xids;
	int r;

	if (!json_object_is_type(o, json_type_object))
		jcheck_fail(&jc, "not a JSON object");
	schema = jcheck_string(&jc, o, NULL, "schema", false);
	if (schema && !streq(schema, GK_CATALOG_SCHEMA))
		jcheck_fail(&jc, "schema is '%s', not '" GK_CATALOG_SCHEMA "'", schema);
	r = jcheck_int(&jc, o, NULL, "version", 1, 1);
	c.version = r < 0 ? 0 : (unsigned)r;
	c.source = jcheck_string(&jc, o, NULL, "source", false);
	c.date = jcheck_string(&jc, o, NULL, "date", false);
	xids = jcheck_field(&jc, o, NULL, "xids", json_type_array, false);
	if (xids) {
		c.n_xids = json_object_array_length(xids);
		c.xids = calloc(c.n_xids ? c.n_xids : 1, sizeof(*c.xids));
		if (!c.xids)
			jc.oom = true;
		for (size_t i = 0; c.xids && i < c.n_xids; i++)
			read_entry(&jc, json_object_array_get_idx(xids, i), i, &c.xids[i]);
	}
	qsort_safe(c.xids, c.xids ? c.n_xids : 0, sizeof(*c.xids), cmp_code);
	for (size_t i = 1; c.xids && i < c.n_xids; i++)
		if (c.xids[i].code == c.xids[i - 1].code)
			jcheck_fail(&jc, "Xid %u is listed twice", c.xids[i].code);
	r = jcheck_finish(&jc, ret_error);
	if (r < 0) {
		if (!c.xids)
			c.n_xids = 0;
		catalog_done(&c);
		return r;
	}
	*ret = c;
	return 0;
}

int catalog_load(const char *path, struct gk_catalog *ret, char **ret_error)
{
	struct json_object *o = NULL;
	int r;

	r = json_parse_file_at(AT_FDCWD, path, GK_CATALOG_MAX_SIZE, &o, ret_error);
	if (r < 0)
		return r;
	r = catalog_from_json(o, ret, ret_error);
	json_object_put(o);
	return r;
}

const struct gk_xid_entry *catalog_lookup(const struct gk_catalog *c, unsigned code)
{
	struct gk_xid_entry key = {.code = code};

	if (!c->n_xids)
		return NULL;
	return bsearch(&key, c->xids, c->n_xids, sizeof(key), cmp_code);
}
