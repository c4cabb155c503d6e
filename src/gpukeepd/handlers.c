// SPDX-License-Identifier: GPL-2.0-or-later
/* Request handlers. Authorisation comes from one table, checked before a handler runs; a handler
 * that refuses changes nothing. */
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "core/json-util.h"
#include "handlers.h"
#include "log.h"
#include "loop.h"
#include "string-util.h"
#include "time-util.h"

typedef struct json_object *(*handler_fn)(struct gkd *d, const struct gk_request *r);

static int add(struct json_object *o, const char *key, struct json_object *v)
{
	return json_object_object_add(o, key, v);
}

static struct json_object *str_or_null(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

static struct json_object *hold_error(const struct hold *h)
{
	char buf[128];

	if (!h->error)
		return NULL;
	if (h->state == HOLD_STUCK)
		return json_object_new_string("open() has not returned: GPU stuck in the driver");
	snprintf(buf, sizeof(buf), "open %s: %s", h->path, strerror(-h->error));
	return json_object_new_string(buf);
}

/* Times are absolute (ms since the epoch), so that a reply stays valid until a hold changes. */
static struct json_object *hold_to_json(const struct hold *h)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	add(o, "path", json_object_new_string(h->path));
	add(o, "state", json_object_new_string(hold_state_to_string(h->state)));
	add(o, "error", hold_error(h));
	add(o, "failures", json_object_new_int((int)h->failures));
	add(o, "since", json_object_new_int64((int64_t)h->since_wall));
	if (h->state == HOLD_RETRYING && h->want)
		add(o, "retry_at",
		    json_object_new_int64(
			    (int64_t)(h->since_wall + (h->deadline - h->since) / 1000)));
	return o;
}

static struct json_object *gpu_to_json(const struct gpu *g, size_t index)
{
	struct json_object *o = json_object_new_object();
	bool held = g->hold.state == HOLD_HELD;
	const char *state = g->unavailable ? "unavailable" : hold_state_to_string(g->hold.state);

	if (!o)
		return NULL;
	add(o, "index", json_object_new_int((int)index));
	add(o, "pci", json_object_new_string(g->pci));
	add(o, "minor", g->minor >= 0 ? json_object_new_int(g->minor) : NULL);
	add(o, "uuid", str_or_null(g->uuid));
	add(o, "persistence", json_object_new_boolean(g->persistence));
	add(o, "released", json_object_new_boolean(g->released));
	add(o, "state", json_object_new_string(state));
	/* The daemon knows only its own hold: without it the GPU may or may not be initialized. */
	add(o, "initialized", held ? json_object_new_boolean(true) : NULL);
	add(o, "kept_by", held ? json_object_new_string("gpukeepd") : NULL);
	add(o, "unavailable", str_or_null(g->unavailable));
	add(o, "device", g->unavailable ? NULL : hold_to_json(&g->hold));
	return o;
}

static struct json_object *gpus_json(const struct gkd *d, const struct gk_gpusel *sel)
{
	struct json_object *a = json_object_new_array();

	for (size_t i = 0; a && i < d->gpus.n; i++) {
		const struct gpu *g = d->gpus.gpus[i];

		if (sel && !gpusel_match(sel, (unsigned)i, g->minor, &g->addr, g->uuid))
			continue;
		json_object_array_add(a, gpu_to_json(g, i));
	}
	return a;
}

/*
 * "list" is what monitoring polls: its GPU array is serialized once per change of the table or a
 * hold, and a reply is that text in an envelope.
 */
static char *list_text;

void handlers_done(void)
{
	free(list_text);
	list_text = NULL;
}

static const char *list_gpus_text(struct gkd *d)
{
	static uint64_t gen_table = UINT64_MAX, gen_holds = UINT64_MAX;
	char *text = list_text;
	struct json_object *a;
	const char *s;

	if (text && gen_table == d->gpus.generation && gen_holds == hold_generation())
		return text;
	free(text);
	text = NULL;
	a = gpus_json(d, NULL);
	s = a ? json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN |
							  JSON_C_TO_STRING_NOSLASHESCAPE)
	      : NULL;
	text = s ? strdup(s) : NULL;
	json_object_put(a);
	gen_table = d->gpus.generation;
	gen_holds = hold_generation();
	list_text = text;
	return text;
}

static char *reply_list(struct gkd *d, const struct gk_request *r, size_t *ret_len)
{
	const char *gpus = list_gpus_text(d);
	char *line;
	int n;

	if (!gpus)
		return NULL;
	n = asprintf(&line, "{\"version\":%d,\"ok\":true%s%s,\"released_all\":%s,\"gpus\":%s}\n",
		     GK_PROTO_VERSION, r->id ? ",\"id\":" : "",
		     r->id ? json_object_to_json_string_ext(r->id, JSON_C_TO_STRING_PLAIN) : "",
		     d->gpus.released ? "true" : "false", gpus);
	if (n < 0)
		return NULL;
	*ret_len = (size_t)n;
	return line;
}

static struct json_object *controls_json(const struct gkd *d)
{
	struct json_object *a = json_object_new_array();

	if (!a)
		return NULL;
	json_object_array_add(a, hold_to_json(&d->gpus.ctl));
	if (d->gpus.uvm_mode)
		json_object_array_add(a, hold_to_json(&d->gpus.uvm));
	return a;
}

static struct json_object *reply_status(struct gkd *d, const struct gk_request *r)
{
	struct json_object *o = proto_reply_ok(r->id), *s = json_object_new_object();
	const struct gkd_config *c = d->cfg;

	if (!o || !s) {
		json_object_put(s);
		json_object_put(o);
		return NULL;
	}
	add(s, "version", json_object_new_string(GK_VERSION));
	add(s, "pid", json_object_new_int(getpid()));
	add(s, "uid", json_object_new_int((int)geteuid()));
	add(s, "gid", json_object_new_int((int)getegid()));
	add(s, "uptime_ms", json_object_new_int64((int64_t)(now_us() - d->started) / 1000));
	add(s, "socket", json_object_new_string(c->socket_path));
	add(s, "root", json_object_new_string(c->root));
	add(s, "group", str_or_null(c->group));
	add(s, "uvm_persistence_mode", json_object_new_boolean(d->gpus.uvm_mode));
	add(s, "default_persistence_mode", json_object_new_boolean(d->gpus.default_mode));
	add(s, "released_all", json_object_new_boolean(d->gpus.released));
	add(s, "gpus", json_object_new_int((int)d->gpus.n));
	add(s, "held", json_object_new_int((int)gpus_count(&d->gpus, HOLD_HELD)));
	add(s, "stuck", json_object_new_int((int)gpus_count(&d->gpus, HOLD_STUCK)));
	add(s, "retrying", json_object_new_int((int)gpus_count(&d->gpus, HOLD_RETRYING)));
	add(s, "clients", json_object_new_int((int)d->clients.n));
	add(s, "requests", json_object_new_int64((int64_t)d->requests));
	add(s, "control", controls_json(d));
	add(o, "daemon", s);
	return o;
}

static struct json_object *reply_set(struct gkd *d, const struct gk_request *r)
{
	struct json_object *o;
	char msg[160];
	int k;

	k = gpus_set_persistence(&d->gpus, &r->gpu, r->enabled);
	if (k == -ENODEV) {
		snprintf(msg, sizeof(msg), "no GPU matches \"%s\"; 'gpukeep status' lists them",
			 r->gpu_text);
		return proto_reply_error(r->id, GK_PERR_UNKNOWN_GPU, msg);
	}
	if (k < 0) {
		log_error_errno(k, "cannot save the persistence state in %s: %m",
				d->cfg->state_dir);
		snprintf(msg, sizeof(msg), "cannot save the state file in %s: %s; nothing changed",
			 d->cfg->state_dir, strerror(-k));
		return proto_reply_error(r->id, GK_PERR_INTERNAL, msg);
	}
	log_info("persistence %s for %s (%d GPU%s)", r->enabled ? "on" : "off",
		 r->gpu_text[0] ? r->gpu_text : "all GPUs", k, k == 1 ? "" : "s");
	o = proto_reply_ok(r->id);
	if (!o)
		return NULL;
	add(o, "released_all", json_object_new_boolean(d->gpus.released));
	add(o, "gpus", gpus_json(d, &r->gpu));
	return o;
}

static struct json_object *reply_release(struct gkd *d, const struct gk_request *r, bool release)
{
	struct json_object *o;

	gpus_set_released(&d->gpus, release);
	log_notice("%s every device file on request", release ? "released" : "re-acquiring");
	o = proto_reply_ok(r->id);
	if (!o)
		return NULL;
	add(o, "released_all", json_object_new_boolean(release));
	/* Opens still in flight may yet take a device: a driver unload must wait for 0. */
	add(o, "pending", json_object_new_int((int)gpus_pending(&d->gpus)));
	add(o, "gpus", gpus_json(d, NULL));
	return o;
}

static struct json_object *reply_release_all(struct gkd *d, const struct gk_request *r)
{
	return reply_release(d, r, true);
}

static struct json_object *reply_acquire_all(struct gkd *d, const struct gk_request *r)
{
	return reply_release(d, r, false);
}

/* release / acquire of one GPU: a GPU reset closes only that GPU's device file. */
static struct json_object *reply_release_gpu(struct gkd *d, const struct gk_request *r,
					     bool release)
{
	struct json_object *o;
	char msg[160];
	int k;

	k = gpus_set_gpu_released(&d->gpus, &r->gpu, release);
	if (k < 0) {
		snprintf(msg, sizeof(msg), "no GPU matches \"%s\"; 'gpukeep status' lists them",
			 r->gpu_text);
		return proto_reply_error(r->id, GK_PERR_UNKNOWN_GPU, msg);
	}
	log_notice("%s %s on request", release ? "released" : "re-acquiring", r->gpu_text);
	o = proto_reply_ok(r->id);
	if (!o)
		return NULL;
	add(o, "released_all", json_object_new_boolean(d->gpus.released));
	add(o, "pending", json_object_new_int((int)gpus_pending(&d->gpus)));
	add(o, "gpus", gpus_json(d, &r->gpu));
	return o;
}

static struct json_object *reply_release_one(struct gkd *d, const struct gk_request *r)
{
	return reply_release_gpu(d, r, true);
}

static struct json_object *reply_acquire_one(struct gkd *d, const struct gk_request *r)
{
	return reply_release_gpu(d, r, false);
}

static struct json_object *reply_reenumerate(struct gkd *d, const struct gk_request *r)
{
	_cleanup_strv_free_ char **added = NULL, **removed = NULL;
	struct json_object *o;
	char msg[160];
	int k;

	k = gpus_enumerate(&d->gpus, &added, &removed);
	if (k < 0) {
		snprintf(msg, sizeof(msg), "cannot read the PCI devices: %s; GPU table unchanged",
			 strerror(-k));
		return proto_reply_error(r->id, GK_PERR_INTERNAL, msg);
	}
	o = proto_reply_ok(r->id);
	if (!o)
		return NULL;
	add(o, "added", json_strv_new(added));
	add(o, "removed", json_strv_new(removed));
	add(o, "gpus", gpus_json(d, NULL));
	return o;
}

/* Which requests need authorisation is proto_request_mutates()'s table (unit-tested). */
static const handler_fn handlers[_GK_REQ_MAX] = {
	[GK_REQ_LIST] = NULL, /* reply_list(), pre-serialized */
	[GK_REQ_STATUS] = reply_status,
	[GK_REQ_SET_PERSISTENCE] = reply_set,
	[GK_REQ_RELEASE_ALL] = reply_release_all,
	[GK_REQ_ACQUIRE_ALL] = reply_acquire_all,
	[GK_REQ_REENUMERATE] = reply_reenumerate,
	[GK_REQ_RELEASE] = reply_release_one,
	[GK_REQ_ACQUIRE] = reply_acquire_one,
};

static struct json_object *refuse(struct gkd *d, const struct client *c, const struct gk_request *r)
{
	char msg[200];

	snprintf(msg, sizeof(msg),
		 "\"%s\" changes the daemon's state: it needs root%s%s%s; uid %u is not allowed",
		 proto_request_name(r->type), d->auth_group ? " or membership in group '" : "",
		 d->auth_group ? d->cfg->group : "", d->auth_group ? "'" : "",
		 (unsigned)c->cred.uid);
	log_notice("refused \"%s\" from uid %u pid %d", proto_request_name(r->type),
		   (unsigned)c->cred.uid, (int)c->cred.pid);
	d->refused++;
	return proto_reply_error(r->id, GK_PERR_PERMISSION_DENIED, msg);
}

static char *serialize(struct json_object *o, size_t *ret_len)
{
	char *line = o ? proto_serialize(o, ret_len) : NULL;

	json_object_put(o);
	return line;
}

char *handle_request(struct gkd *d, const struct client *c, const char *line, size_t len,
		     size_t *ret_len)
{
	struct gk_request r;
	struct gk_proto_err err;
	char *reply;

	d->requests++;
	if (proto_request_parse(line, len, &r, &err) < 0) {
		log_debug("bad request from uid %u: %s", (unsigned)c->cred.uid, err.message);
		return serialize(proto_reply_error(NULL, err.code, err.message), ret_len);
	}
	/* Mutating requests are authorised before anything about them is acted on. */
	if (proto_request_mutates(r.type) && !c->may_change)
		reply = serialize(refuse(d, c, &r), ret_len);
	else if (r.type == GK_REQ_LIST)
		reply = reply_list(d, &r, ret_len);
	else
		reply = serialize(handlers[r.type](d, &r), ret_len);
	proto_request_done(&r);
	return reply;
}
