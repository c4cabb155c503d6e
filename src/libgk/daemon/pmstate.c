// SPDX-License-Identifier: GPL-2.0-or-later
/* The daemon's state file: {"schema":"gpukeepd.state","version":1,"gpus":[{"pci":..,
 * "persistence":true}]}, parsed strictly and written atomically. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <json-c/json.h>

#include "daemon/pmstate.h"
#include "fileio.h"
#include "macro.h"

#define PMSTATE_SCHEMA	"gpukeepd.state"
#define PMSTATE_VERSION 1

static int bad(char *err, size_t errlen, const char *fmt, ...) _printf_(3, 4);
static int bad(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EBADMSG;
}

void pmstate_done(struct gk_pmstate *s)
{
	free(s->entries);
	s->entries = NULL;
	s->n = 0;
}

static size_t find(const struct gk_pmstate *s, const char *pci, bool *found)
{
	size_t i;

	/* A few GPUs per node: a linear scan keeps the sorted insert obvious. */
	for (i = 0; i < s->n; i++) {
		int c = strcmp(s->entries[i].pci, pci);

		if (c >= 0) {
			*found = c == 0;
			return i;
		}
	}
	*found = false;
	return i;
}

int pmstate_set(struct gk_pmstate *s, const char *pci, bool enabled)
{
	char canon[GK_PCI_ADDR_STRLEN];
	struct gk_pmstate_entry *e;
	bool found;
	size_t i;

	if (pci_addr_normalize(pci, canon, sizeof(canon)) < 0)
		return -EINVAL;
	i = find(s, canon, &found);
	if (found) {
		s->entries[i].enabled = enabled;
		return 0;
	}
	if (s->n >= GK_PMSTATE_MAX_ENTRIES)
		return -E2BIG;
	e = realloc(s->entries, (s->n + 1) * sizeof(*e));
	if (!e)
		return -ENOMEM;
	s->entries = e;
	memmove(&e[i + 1], &e[i], (s->n - i) * sizeof(*e));
	snprintf(e[i].pci, sizeof(e[i].pci), "%s", canon);
	e[i].enabled = enabled;
	s->n++;
	return 0;
}

int pmstate_get(const struct gk_pmstate *s, const char *pci, bool *ret)
{
	bool found;
	size_t i = find(s, pci, &found);

	if (!found)
		return -ENOENT;
	*ret = s->entries[i].enabled;
	return 0;
}

static int parse_entry(struct json_object *e, size_t i, struct gk_pmstate *s, char *err,
		       size_t errlen)
{
	char canon[GK_PCI_ADDR_STRLEN];
	struct json_object *pci, *pm;
	bool dup;
	int r;

	if (!json_object_is_type(e, json_type_object) ||
	    !json_object_object_get_ex(e, "pci", &pci) ||
	    !json_object_is_type(pci, json_type_string) ||
	    !json_object_object_get_ex(e, "persistence", &pm) ||
	    !json_object_is_type(pm, json_type_boolean))
		return bad(err, errlen, "gpus[%zu] is not {\"pci\": STRING, \"persistence\": BOOL}",
			   i);
	if (pci_addr_normalize(json_object_get_string(pci), canon, sizeof(canon)) < 0)
		return bad(err, errlen, "gpus[%zu]: malformed PCI address \"%.32s\"", i,
			   json_object_get_string(pci));
	find(s, canon, &dup);
	if (dup)
		return bad(err, errlen, "gpus[%zu]: PCI address %.32s listed twice", i,
			   json_object_get_string(pci));
	r = pmstate_set(s, json_object_get_string(pci), json_object_get_boolean(pm));
	if (r == -E2BIG)
		return bad(err, errlen, "more than %d GPUs", GK_PMSTATE_MAX_ENTRIES);
	return r;
}

static int parse_doc(struct json_object *o, struct gk_pmstate *s, char *err, size_t errlen)
{
	struct json_object *v, *gpus;
	int r;

	if (!json_object_is_type(o, json_type_object))
		return bad(err, errlen, "not a JSON object");
	/* Types before values: a hand-edited "schema": null must be refused, not dereferenced. */
	if (!json_object_object_get_ex(o, "schema", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    !streq(json_object_get_string(v), PMSTATE_SCHEMA))
		return bad(err, errlen, "schema is not \"%s\"", PMSTATE_SCHEMA);
	if (!json_object_object_get_ex(o, "version", &v) ||
	    !json_object_is_type(v, json_type_int) || json_object_get_int(v) != PMSTATE_VERSION)
		return bad(err, errlen, "version is not %d", PMSTATE_VERSION);
	if (!json_object_object_get_ex(o, "gpus", &gpus) ||
	    !json_object_is_type(gpus, json_type_array))
		return bad(err, errlen, "\"gpus\" is not an array");
	for (size_t i = 0; i < json_object_array_length(gpus); i++) {
		r = parse_entry(json_object_array_get_idx(gpus, i), i, s, err, errlen);
		if (r < 0)
			return r;
	}
	return 0;
}

int pmstate_parse(const char *text, struct gk_pmstate *ret, char *err, size_t errlen)
{
	struct gk_pmstate s = {};
	struct json_tokener *tok;
	struct json_object *o;
	enum json_tokener_error e;
	int r;

	tok = json_tokener_new_ex(8);
	if (!tok)
		return -ENOMEM;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_ALLOW_TRAILING_CHARS);
	o = json_tokener_parse_ex(tok, text, (int)strlen(text));
	e = json_tokener_get_error(tok);
	json_tokener_free(tok);
	if (e != json_tokener_success) {
		json_object_put(o);
		return bad(err, errlen, "malformed JSON: %s",
			   e == json_tokener_continue ? "truncated" : json_tokener_error_desc(e));
	}
	r = parse_doc(o, &s, err, errlen);
	json_object_put(o);
	if (r < 0) {
		pmstate_done(&s);
		return r;
	}
	*ret = s;
	return 0;
}

char *pmstate_format(const struct gk_pmstate *s)
{
	struct json_object *o = json_object_new_object(), *gpus = json_object_new_array();
	char *text = NULL;

	if (!o || !gpus)
		goto out;
	json_object_object_add(o, "schema", json_object_new_string(PMSTATE_SCHEMA));
	json_object_object_add(o, "version", json_object_new_int(PMSTATE_VERSION));
	json_object_object_add(o, "gpus", json_object_get(gpus));
	for (size_t i = 0; i < s->n; i++) {
		struct json_object *e = json_object_new_object();

		if (!e)
			goto out;
		json_object_object_add(e, "pci", json_object_new_string(s->entries[i].pci));
		json_object_object_add(e, "persistence",
				       json_object_new_boolean(s->entries[i].enabled));
		json_object_array_add(gpus, e);
	}
	{
		const char *t = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
									  JSON_C_TO_STRING_SPACED);

		if (t && asprintf(&text, "%s\n", t) < 0)
			text = NULL;
	}
out:
	json_object_put(gpus);
	json_object_put(o);
	return text;
}

int pmstate_load(int dirfd, const char *name, struct gk_pmstate *ret, char *err, size_t errlen)
{
	_cleanup_free_ char *text = NULL;
	int r;

	/* The directory belongs to the daemon user and this runs as root: no FIFO, no symlink. */
	r = read_regular_file_at(dirfd, name, GK_PMSTATE_MAX_SIZE, O_NOFOLLOW, &text, NULL);
	if (r == -EFBIG)
		return bad(err, errlen, "larger than %d bytes", GK_PMSTATE_MAX_SIZE);
	if (r == -EBADFD || r == -EISDIR || r == -ELOOP)
		return bad(err, errlen, "not a regular file");
	if (r < 0)
		return r;
	return pmstate_parse(text, ret, err, errlen);
}

int pmstate_save(int dirfd, const char *name, const struct gk_pmstate *s)
{
	_cleanup_free_ char *text = pmstate_format(s);

	if (!text)
		return -ENOMEM;
	return write_file_atomic_at(dirfd, name, text, strlen(text), 0644);
}
