// SPDX-License-Identifier: GPL-2.0-or-later
/* The gpukeepd protocol: strict decoding of request lines and the reply envelope. Nothing here
 * touches a socket, so that every refusal is unit-tested. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/param.h>

#include "daemon/protocol.h"
#include "parse-util.h"
#include "string-util.h"

/* Nesting a client can make the parser follow: requests are flat objects. */
#define PROTO_MAX_DEPTH 4

static const char *const request_names[_GK_REQ_MAX] = {
	[GK_REQ_LIST] = "list",
	[GK_REQ_STATUS] = "status",
	[GK_REQ_SET_PERSISTENCE] = "set-persistence",
	[GK_REQ_RELEASE_ALL] = "release-all",
	[GK_REQ_ACQUIRE_ALL] = "acquire-all",
	[GK_REQ_REENUMERATE] = "reenumerate",
	[GK_REQ_RELEASE] = "release",
	[GK_REQ_ACQUIRE] = "acquire",
};

static const char *const error_names[_GK_PERR_MAX] = {
	[GK_PERR_BAD_REQUEST] = "bad-request",
	[GK_PERR_UNSUPPORTED_VERSION] = "unsupported-version",
	[GK_PERR_UNKNOWN_REQUEST] = "unknown-request",
	[GK_PERR_UNKNOWN_GPU] = "unknown-gpu",
	[GK_PERR_PERMISSION_DENIED] = "permission-denied",
	[GK_PERR_LINE_TOO_LONG] = "line-too-long",
	[GK_PERR_TOO_MANY_CLIENTS] = "too-many-clients",
	[GK_PERR_INTERNAL] = "internal",
};

const char *proto_request_name(enum gk_req_type t)
{
	return t < _GK_REQ_MAX ? request_names[t] : NULL;
}

/* The authorisation table: anyone may read; these change the node or the daemon. */
static const bool request_mutates[_GK_REQ_MAX] = {
	[GK_REQ_SET_PERSISTENCE] = true, [GK_REQ_RELEASE_ALL] = true, [GK_REQ_ACQUIRE_ALL] = true,
	[GK_REQ_REENUMERATE] = true,	 [GK_REQ_RELEASE] = true,     [GK_REQ_ACQUIRE] = true,
};

bool proto_request_mutates(enum gk_req_type t)
{
	return t >= _GK_REQ_MAX || request_mutates[t];
}

const char *proto_error_name(enum gk_proto_error e)
{
	return e < _GK_PERR_MAX ? error_names[e] : "internal";
}

static int uuid_parse(const char *s, char *ret)
{
	/* GPU-8-4-4-4-12 hex digits */
	static const char shape[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";
	const char *p = NULL;

	if (strncasecmp(s, "GPU-", 4) == 0)
		p = s + 4;
	if (!p || strlen(p) != sizeof(shape) - 1)
		return -EINVAL;
	for (size_t i = 0; shape[i]; i++) {
		if (shape[i] == '-' ? p[i] != '-' : !isxdigit((unsigned char)p[i]))
			return -EINVAL;
	}
	memcpy(ret, "GPU-", 4);
	for (size_t i = 0; i <= sizeof(shape) - 1; i++)
		ret[4 + i] = (char)tolower((unsigned char)p[i]);
	return 0;
}

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

static int number_parse(const char *s, unsigned *ret)
{
	/* Only plain decimal: "0x10" or " 1" would be read differently by different tools. */
	if (!all_digits(s) || strlen(s) > 6)
		return -EINVAL;
	return safe_atou_base(s, 10, ret);
}

int gpusel_parse(const char *s, struct gk_gpusel *ret)
{
	struct gk_gpusel sel = {};
	const char *minor;

	if (!s)
		return -EINVAL;
	minor = startswith(s, "minor:");
	if (!minor)
		minor = startswith(s, "/dev/nvidia");
	if (minor) {
		if (number_parse(minor, &sel.number) < 0 || sel.number > 253)
			return -EINVAL;
		sel.kind = GK_GPUSEL_MINOR;
	} else if (all_digits(s)) {
		if (number_parse(s, &sel.number) < 0)
			return -EINVAL;
		sel.kind = GK_GPUSEL_INDEX;
	} else if (strncasecmp(s, "GPU-", 4) == 0) {
		if (uuid_parse(s, sel.uuid) < 0)
			return -EINVAL;
		sel.kind = GK_GPUSEL_UUID;
	} else {
		if (pci_addr_parse(s, true, &sel.pci) < 0)
			return -EINVAL;
		sel.kind = GK_GPUSEL_PCI;
	}
	*ret = sel;
	return 0;
}

bool gpusel_match(const struct gk_gpusel *sel, unsigned index, int minor,
		  const struct gk_pci_addr *pci, const char *uuid)
{
	switch (sel->kind) {
	case GK_GPUSEL_ALL:
		return true;
	case GK_GPUSEL_INDEX:
		return sel->number == index;
	case GK_GPUSEL_MINOR:
		return minor >= 0 && sel->number == (unsigned)minor;
	case GK_GPUSEL_PCI:
		return pci && pci_addr_equal(&sel->pci, pci);
	case GK_GPUSEL_UUID:
		return uuid && strcasecmp(sel->uuid, uuid) == 0;
	}
	return false;
}

static int fail(struct gk_proto_err *err, enum gk_proto_error code, const char *fmt, ...)
	_printf_(3, 4);
static int fail(struct gk_proto_err *err, enum gk_proto_error code, const char *fmt, ...)
{
	va_list ap;

	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return -EPROTO;
}

/* Copies at most @max bytes of @s into @buf (size > @max) without cutting a UTF-8 sequence, so
 * that a message quoting a client's string is still valid UTF-8 (and the reply valid JSON). */
static const char *clip(const char *s, size_t max, char *buf)
{
	size_t n = strnlen(s, max + 1);

	if (n > max) {
		n = max;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(buf, s, n);
	buf[n] = '\0';
	return buf;
}

/* RFC 3629 UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF. json-c's own check
 * lets encoded surrogates through, and strict readers of our replies refuse those. */
static bool utf8_valid(const unsigned char *s, size_t len)
{
	for (size_t i = 0; i < len;) {
		unsigned c = s[i], n, cp;

		if (c < 0x80) {
			i++;
			continue;
		}
		n = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc0 ? 1 : 0;
		if (n == 0 || c > 0xf4) /* a stray continuation byte, or beyond U+10FFFF */
			return false;
		cp = c & (0x3f >> n);
		for (unsigned k = 1; k <= n; k++) {
			if (i + k >= len || (s[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += n + 1;
	}
	return true;
}

struct scan {
	const char *s;
	size_t len, i;
	size_t top_keys;
	struct {
		size_t off, len; /* quotes included */
	} keys[32];
	struct gk_proto_err *err;
};

/* A string at scan->i (on its opening quote); leaves scan->i after the closing one. */
static int scan_string(struct scan *sc)
{
	const char *s = sc->s;

	for (sc->i++; sc->i < sc->len && s[sc->i] != '"'; sc->i++) {
		if (s[sc->i] != '\\')
			continue;
		sc->i++;
		/* json-c would keep the NUL and C code would stop at it: "list\u0000x" ran "list"
		 */
		if (sc->i + 4 < sc->len && s[sc->i] == 'u' && memcmp(s + sc->i + 1, "0000", 4) == 0)
			return fail(sc->err, GK_PERR_BAD_REQUEST,
				    "a string contains \\u0000 (a NUL character)");
	}
	sc->i++;
	return 0;
}

/* A number at scan->i. json-c saturates an integer it cannot hold (a 28-digit id came back as
 * 18446744073709551615): integers must fit in 64 bits. */
static int scan_number(struct scan *sc)
{
	size_t start = sc->i;
	bool integer = true;
	char buf[32];

	while (sc->i < sc->len && strchr("+-0123456789.eE", sc->s[sc->i])) {
		if (strchr(".eE", sc->s[sc->i]))
			integer = false;
		sc->i++;
	}
	if (!integer)
		return 0;
	if (sc->i - start < sizeof(buf)) {
		memcpy(buf, sc->s + start, sc->i - start);
		buf[sc->i - start] = '\0';
		errno = 0;
		(void)strtoll(buf, NULL, 10);
		if (errno == 0)
			return 0;
	}
	return fail(sc->err, GK_PERR_BAD_REQUEST,
		    "number out of range: %.*s%s (integers must fit in 64 bits)",
		    (int)MIN(sc->i - start, (size_t)24), sc->s + start,
		    sc->i - start > 24 ? "..." : "");
}

/*
 * Walks a line the tokener has accepted, for what json-c does not report: duplicate keys (it keeps
 * the last: {"request":"list","request":"release-all"} released every GPU), NUL escapes and
 * integers out of range. Counts the top-level keys for the caller to compare with the object.
 */
static int scan_line(struct scan *sc)
{
	int depth = 0, r;
	bool want_key = false; /* after '{' or ',' inside an object */
	bool in_object[PROTO_MAX_DEPTH + 2] = {};

	while (sc->i < sc->len) {
		char c = sc->s[sc->i];

		if (c == '"') {
			size_t start = sc->i;

			r = scan_string(sc);
			if (want_key && depth == 1) {
				if (sc->top_keys < ELEMENTSOF(sc->keys)) {
					sc->keys[sc->top_keys].off = start;
					sc->keys[sc->top_keys].len = sc->i - start;
				}
				sc->top_keys++;
			}
			want_key = false;
		} else if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			sc->i++;
			r = 0;
		} else if (c == '-' || (c >= '0' && c <= '9')) {
			r = scan_number(sc);
		} else {
			if ((c == '{' || c == '[') && depth <= PROTO_MAX_DEPTH)
				in_object[++depth] = c == '{';
			else if ((c == '}' || c == ']') && depth > 0)
				depth--;
			want_key = c == '{' || (c == ',' && in_object[depth]);
			sc->i++;
			r = 0;
		}
		if (r < 0)
			return r;
	}
	return 0;
}

/* Names the first top-level key that the text spells twice; the count alone is the proof. */
static int fail_duplicate(const struct scan *sc, struct gk_proto_err *err)
{
	size_t n = MIN(sc->top_keys, ELEMENTSOF(sc->keys));

	for (size_t a = 0; a < n; a++)
		for (size_t b = a + 1; b < n; b++) {
			size_t la = sc->keys[a].len;

			if (la == sc->keys[b].len &&
			    memcmp(sc->s + sc->keys[a].off, sc->s + sc->keys[b].off, la) == 0)
				return fail(err, GK_PERR_BAD_REQUEST, "duplicate key %.*s",
					    (int)MIN(la, 40), sc->s + sc->keys[a].off);
		}
	return fail(err, GK_PERR_BAD_REQUEST, "a key appears twice (spelled with escapes)");
}

static struct json_object *decode(const char *line, size_t len, struct gk_proto_err *err)
{
	struct scan sc = {.s = line, .len = len, .err = err};
	struct json_tokener *tok;
	struct json_object *o;
	enum json_tokener_error e;
	size_t end;

	if (memchr(line, '\0', len)) {
		fail(err, GK_PERR_BAD_REQUEST, "request contains a NUL byte");
		return NULL;
	}
	if (!utf8_valid((const unsigned char *)line, len)) {
		fail(err, GK_PERR_BAD_REQUEST, "malformed JSON: invalid UTF-8");
		return NULL;
	}
	tok = json_tokener_new_ex(PROTO_MAX_DEPTH);
	if (!tok) {
		fail(err, GK_PERR_INTERNAL, "out of memory");
		return NULL;
	}
	/* UTF-8 is checked here: invalid bytes were echoed raw into replies, making them invalid.
	 */
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, line, (int)len);
	e = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (e != json_tokener_success) {
		json_object_put(o);
		fail(err, GK_PERR_BAD_REQUEST, "malformed JSON: %s",
		     e == json_tokener_continue			 ? "incomplete object"
		     : e == json_tokener_error_parse_utf8_string ? "invalid UTF-8"
								 : json_tokener_error_desc(e));
		return NULL;
	}
	while (end < len && isspace((unsigned char)line[end]))
		end++;
	if (end < len) {
		json_object_put(o);
		fail(err, GK_PERR_BAD_REQUEST, "trailing data after the JSON object");
		return NULL;
	}
	if (!json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		fail(err, GK_PERR_BAD_REQUEST, "a request must be a JSON object");
		return NULL;
	}
	if (scan_line(&sc) < 0 ||
	    (sc.top_keys != (size_t)json_object_object_length(o) && fail_duplicate(&sc, err))) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static int check_version(struct json_object *o, struct gk_proto_err *err)
{
	struct json_object *v;
	char buf[40];

	if (!json_object_object_get_ex(o, "version", &v))
		return fail(err, GK_PERR_BAD_REQUEST, "missing \"version\" (this daemon speaks %d)",
			    GK_PROTO_VERSION);
	if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) != GK_PROTO_VERSION)
		return fail(err, GK_PERR_UNSUPPORTED_VERSION,
			    "unsupported protocol version %s (this daemon speaks %d)",
			    clip(json_object_to_json_string(v), 32, buf), GK_PROTO_VERSION);
	return 0;
}

static int check_type(struct json_object *o, enum gk_req_type *ret, struct gk_proto_err *err)
{
	struct json_object *v;
	const char *name;
	char buf[72];

	if (!json_object_object_get_ex(o, "request", &v))
		return fail(err, GK_PERR_BAD_REQUEST, "missing \"request\"");
	if (!json_object_is_type(v, json_type_string))
		return fail(err, GK_PERR_BAD_REQUEST, "\"request\" must be a string");
	name = json_object_get_string(v);
	for (int t = 0; t < _GK_REQ_MAX; t++)
		if (streq(name, request_names[t])) {
			*ret = (enum gk_req_type)t;
			return 0;
		}
	return fail(err, GK_PERR_UNKNOWN_REQUEST, "unknown request \"%s\"", clip(name, 64, buf));
}

static int check_id(struct json_object *v, struct gk_proto_err *err)
{
	if (json_object_is_type(v, json_type_int))
		return 0;
	if (json_object_is_type(v, json_type_string) &&
	    json_object_get_string_len(v) <= GK_PROTO_MAX_ID)
		return 0;
	return fail(err, GK_PERR_BAD_REQUEST,
		    "\"id\" must be an integer or a string of at most %d characters",
		    GK_PROTO_MAX_ID);
}

static int check_gpu(struct json_object *v, struct gk_request *r, struct gk_proto_err *err)
{
	const char *s;
	char buf[72];

	if (!json_object_is_type(v, json_type_string))
		return fail(err, GK_PERR_BAD_REQUEST, "\"gpu\" must be a string");
	s = json_object_get_string(v);
	if (strlen(s) >= sizeof(r->gpu_text) || gpusel_parse(s, &r->gpu) < 0)
		return fail(err, GK_PERR_BAD_REQUEST,
			    "malformed GPU \"%s\": expected an index, minor:N, a PCI address "
			    "(0000:3b:00.0) or a UUID (GPU-...)",
			    clip(s, 63, buf));
	strcpy(r->gpu_text, s);
	return 0;
}

/* Every field must be known for the request type: a typo must not be silently ignored. */
static int check_fields(struct json_object *o, struct gk_request *r, struct gk_proto_err *err)
{
	bool has_enabled = false, per_gpu = r->type == GK_REQ_RELEASE || r->type == GK_REQ_ACQUIRE;
	char buf[40];
	int k;

	json_object_object_foreach(o, key, v)
	{
		if (streq(key, "version") || streq(key, "request"))
			continue;
		if (streq(key, "id")) {
			k = check_id(v, err);
			if (k < 0)
				return k;
			r->id = v;
			continue;
		}
		if (per_gpu && streq(key, "gpu")) {
			k = check_gpu(v, r, err);
			if (k < 0)
				return k;
			continue;
		}
		if (r->type != GK_REQ_SET_PERSISTENCE)
			return fail(err, GK_PERR_BAD_REQUEST, "unknown field \"%s\" for \"%s\"",
				    clip(key, 32, buf), request_names[r->type]);
		if (streq(key, "gpu")) {
			k = check_gpu(v, r, err);
			if (k < 0)
				return k;
		} else if (streq(key, "enabled")) {
			if (!json_object_is_type(v, json_type_boolean))
				return fail(err, GK_PERR_BAD_REQUEST,
					    "\"enabled\" must be true or false");
			r->enabled = json_object_get_boolean(v);
			has_enabled = true;
		} else
			return fail(err, GK_PERR_BAD_REQUEST,
				    "unknown field \"%s\" for \"set-persistence\"",
				    clip(key, 32, buf));
	}
	if (r->type == GK_REQ_SET_PERSISTENCE && !has_enabled)
		return fail(err, GK_PERR_BAD_REQUEST, "\"set-persistence\" needs \"enabled\"");
	if (per_gpu && r->gpu.kind == GK_GPUSEL_ALL)
		return fail(err, GK_PERR_BAD_REQUEST,
			    "\"%s\" needs \"gpu\" (release-all and "
			    "acquire-all are for every GPU)",
			    request_names[r->type]);
	return 0;
}

int proto_request_parse(const char *line, size_t len, struct gk_request *ret,
			struct gk_proto_err *err)
{
	struct gk_request r = {.gpu.kind = GK_GPUSEL_ALL};
	struct json_object *o;
	int k;

	o = decode(line, len, err);
	if (!o)
		return -EPROTO;
	k = check_version(o, err);
	if (k >= 0)
		k = check_type(o, &r.type, err);
	if (k >= 0)
		k = check_fields(o, &r, err);
	if (k >= 0 && r.id)
		json_object_get(r.id);
	json_object_put(o);
	if (k < 0)
		return k;
	*ret = r;
	return 0;
}

void proto_request_done(struct gk_request *r)
{
	json_object_put(r->id);
	r->id = NULL;
}

struct json_object *proto_request_new(enum gk_req_type t)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	if (json_object_object_add(o, "version", json_object_new_int(GK_PROTO_VERSION)) < 0 ||
	    json_object_object_add(o, "request", json_object_new_string(request_names[t])) < 0) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static struct json_object *reply_new(struct json_object *id, bool ok)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	if (json_object_object_add(o, "version", json_object_new_int(GK_PROTO_VERSION)) < 0 ||
	    json_object_object_add(o, "ok", json_object_new_boolean(ok)) < 0 ||
	    (id && json_object_object_add(o, "id", json_object_get(id)) < 0)) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

struct json_object *proto_reply_ok(struct json_object *id)
{
	return reply_new(id, true);
}

struct json_object *proto_reply_error(struct json_object *id, enum gk_proto_error code,
				      const char *message)
{
	struct json_object *o = reply_new(id, false);

	if (!o)
		return NULL;
	if (json_object_object_add(o, "error", json_object_new_string(proto_error_name(code))) <
		    0 ||
	    json_object_object_add(o, "message", json_object_new_string(message)) < 0) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

char *proto_serialize(struct json_object *o, size_t *ret_len)
{
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
								  JSON_C_TO_STRING_NOSLASHESCAPE);
	size_t n;
	char *buf;

	if (!s)
		return NULL;
	n = strlen(s);
	buf = malloc(n + 2);
	if (!buf)
		return NULL;
	memcpy(buf, s, n);
	buf[n] = '\n';
	buf[n + 1] = '\0';
	*ret_len = n + 1;
	return buf;
}

int proto_reply_check(struct json_object *reply, const char **ret_code, const char **ret_message)
{
	struct json_object *v, *ok, *code, *msg;

	if (!json_object_is_type(reply, json_type_object) ||
	    !json_object_object_get_ex(reply, "version", &v) ||
	    !json_object_is_type(v, json_type_int) ||
	    json_object_get_int64(v) != GK_PROTO_VERSION) {
		*ret_message = "the reply is not a version 1 gpukeepd reply";
		return -EPROTO;
	}
	if (!json_object_object_get_ex(reply, "ok", &ok) ||
	    !json_object_is_type(ok, json_type_boolean)) {
		*ret_message = "the reply has no \"ok\"";
		return -EPROTO;
	}
	if (json_object_get_boolean(ok))
		return 0;
	code = msg = NULL;
	json_object_object_get_ex(reply, "error", &code);
	json_object_object_get_ex(reply, "message", &msg);
	*ret_code = json_object_is_type(code, json_type_string) ? json_object_get_string(code)
								: "internal";
	*ret_message = json_object_is_type(msg, json_type_string) ? json_object_get_string(msg)
								  : "(no message)";
	return 1;
}
