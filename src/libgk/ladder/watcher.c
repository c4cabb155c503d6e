// SPDX-License-Identifier: GPL-2.0-or-later
/* The watcher's engine (see watcher.h): records -> policy -> guards -> rungs, with an event for
 * each step. Observe mode runs the same path against a shadow copy of the guards and runs
 * nothing, so that its report is what acting would have done. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/json-util.h"
#include "ladder/kmsg.h"
#include "ladder/watcher-json.h"
#include "ladder/watcher.h"
#include "macro.h"
#include "string-util.h"

static void emit(struct gk_watcher *e, struct json_object *ev)
{
	if (!ev)
		return;
	json_object_object_add(ev, "mode", json_object_new_string(e->act ? "act" : "observe"));
	e->ops->event(e->ud, ev);
	json_object_put(ev);
}

void watcher_init(struct gk_watcher *e, const struct gk_watch_config *cfg,
		  const struct gk_catalog *cat, const struct gk_guard_state *state,
		  const char *boot_id, const char *source, bool act,
		  const struct gk_watcher_ops *ops, void *ud)
{
	*e = (struct gk_watcher){.cfg = cfg, .ops = ops, .ud = ud, .act = act, .state = *state};
	policy_init(&e->policy, cfg, cat);
	snprintf(e->boot_id, sizeof(e->boot_id), "%s", boot_id);
	/* a position in another boot means nothing in this one */
	if (!streq(e->state.boot_id, boot_id) || !streq(e->state.kmsg_source, source)) {
		e->state.have_seq = false;
		e->state.last_seq = 0;
		snprintf(e->state.boot_id, sizeof(e->state.boot_id), "%s", boot_id);
		snprintf(e->state.kmsg_source, sizeof(e->state.kmsg_source), "%s", source);
		e->dirty = true;
	}
	e->shadow = e->state;
	e->metrics.gpus_held = -1;
	e->metrics.healthy = true;
	e->metrics.act = act;
	e->metrics.started = ops->now(ud);
}

int watcher_resume_position(const struct gk_watcher *e, uint64_t *ret_seq)
{
	if (!e->state.have_seq)
		return 0;
	*ret_seq = e->state.last_seq;
	return 1;
}

void watcher_skip_to(struct gk_watcher *e, uint64_t seq)
{
	e->state.have_seq = true;
	e->state.last_seq = seq;
	e->dirty = true;
}

const char *watcher_uuid_of(const char *gpu, void *engine)
{
	struct gk_watcher *e = engine;

	for (size_t i = 0; i < e->n_uuids; i++)
		if (streq(e->uuids[i].gpu, gpu))
			return e->uuids[i].uuid;
	return "";
}

static void learn_uuid(struct gk_watcher *e, const struct gk_nv_event *ev)
{
	size_t i;

	for (i = 0; i < e->n_uuids && !streq(e->uuids[i].gpu, ev->pci); i++)
		;
	if (i == GK_ENGINE_MAX_UUIDS)
		return;
	if (i == e->n_uuids)
		e->n_uuids++;
	memcpy(e->uuids[i].gpu, ev->pci, sizeof(ev->pci));
	memcpy(e->uuids[i].uuid, ev->uuid, sizeof(ev->uuid));
}

static void unhealthy(struct gk_watcher *e, const char *why)
{
	struct json_object *ev;

	if (!e->metrics.healthy)
		return;
	e->metrics.healthy = false;
	ev = watcher_event_new("node-unhealthy");
	if (ev)
		json_add_str(ev, "why", why);
	emit(e, ev);
}

static struct gk_guard_state *guards(struct gk_watcher *e)
{
	return e->act ? &e->state : &e->shadow;
}

static enum gk_result classify(int exit_code)
{
	switch (exit_code) {
	case 0:
		return GK_RESULT_OK;
	case 1:
		return GK_RESULT_ROLLED_BACK;
	case 3:
		return GK_RESULT_REFUSED;
	case -ETIMEDOUT:
		return GK_RESULT_TIMEOUT;
	default:
		return GK_RESULT_FAILED;
	}
}

static struct json_object *command_json(const struct gk_watcher *e, enum gk_ladder_rung rung)
{
	return json_strv_new(e->cfg->rungs[rung].command);
}

static void action_fields(struct json_object *ev, const struct gk_guard_action *a)
{
	json_add_int(ev, "action", (int64_t)a->id);
	json_add_str(ev, "rung", ladder_rung_to_string(a->rung));
	json_add_str(ev, "gpu", a->gpu[0] ? a->gpu : NULL);
	json_add_str(ev, "fault", a->fault);
}

void watcher_fault_text(const char *fault, enum gk_ladder_rung rung, char *buf, size_t size)
{
	const char *at = strchr(fault, '@'), *where = at ? at + 1 : "node";
	int kind_len = at ? (int)(at - fault) : (int)strlen(fault);
	unsigned code;
	/* a fault key's GPU is the device's address without its function */
	const char *fn = strchr(where, '.') ? "" : ".0";

	if (streq(where, "node") || !*where)
		where = NULL;
	if (sscanf(fault, "xid-%u@", &code) == 1)
		snprintf(buf, size, "Xid %u%s%s%s, %s", code, where ? " on " : "",
			 where ? where : "", where ? fn : "", ladder_rung_to_string(rung));
	else
		snprintf(buf, size, "%.*s%s%s%s, %s", kind_len, fault, where ? " on " : "",
			 where ? where : "", where ? fn : "", ladder_rung_to_string(rung));
}

/* The code of a fault key "xid-119@0000:07:00" (0 for other kinds). */
static unsigned fault_code(const char *fault)
{
	unsigned v = 0;

	if (sscanf(fault, "xid-%u@", &v) != 1)
		return 0;
	return v;
}

static void ended(struct gk_watcher *e, const struct gk_guard_action *a, struct gk_rung_outcome *o,
		  enum gk_result res)
{
	struct json_object *ev = watcher_event_new("action-ended");

	if (ev) {
		action_fields(ev, a);
		json_add_int(ev, "exit", o->exit);
		json_add_str(ev, "result", result_to_string(res));
		json_add_str(ev, "next_rung", o->next_rung[0] ? o->next_rung : NULL);
		json_add_str(ev, "error", o->error[0] ? o->error : NULL);
		json_add_int(ev, "ms", o->ms);
		json_object_object_add(ev, "report", TAKE_PTR(o->report));
	}
	json_object_put(o->report);
	emit(e, ev);
}

/* Runs the reserved (pending) action. Returns the rung to climb to, or NONE. */
static enum gk_ladder_rung run_reserved(struct gk_watcher *e, uint64_t now_us)
{
	struct gk_guard_action *a = guard_pending(guards(e));
	struct gk_rung_outcome o = {};
	enum gk_ladder_rung climb;
	struct json_object *ev;
	enum gk_result res;
	bool person;
	int r;

	if (!a)
		return GK_LADDER_NONE;
	if (!e->act) {
		ev = watcher_event_new("action-observed");
		if (ev) {
			action_fields(ev, a);
			json_object_object_add(ev, "command", command_json(e, a->rung));
		}
		emit(e, ev);
		e->metrics.actions[a->rung][GK_RESULT_OBSERVED]++;
		policy_record(&e->policy, a->rung, a->gpu, fault_code(a->fault), now_us, true);
		guard_finish(guards(e), "observed");
		return GK_LADDER_NONE;
	}
	ev = watcher_event_new("action-started");
	if (ev) {
		action_fields(ev, a);
		json_object_object_add(ev, "command", command_json(e, a->rung));
	}
	emit(e, ev);
	r = e->ops->run_rung(e->ud, a->rung, a->gpu, watcher_uuid_of(a->gpu, e), a->fault, &o);
	if (r < 0)
		o.exit = r;
	res = classify(o.exit);
	e->metrics.actions[a->rung][res]++;
	e->metrics.last_action = e->ops->now(e->ud);
	policy_record(&e->policy, a->rung, a->gpu, fault_code(a->fault), now_us, o.exit == 0);
	climb = policy_climb(a->rung, o.exit, o.next_rung, &person);
	ended(e, a, &o, res);
	guard_finish(&e->state, result_to_string(res));
	e->dirty = true;
	watcher_save(e);
	if (person)
		unhealthy(e, "a rung failed and nothing automatic is left: a person decides");
	return climb;
}

/* Guards, reservation and the run of one rung. Returns the rung to climb to, or NONE. */
static enum gk_ladder_rung attempt(struct gk_watcher *e, enum gk_ladder_rung rung, const char *gpu,
				   const char *fault, uint64_t now_us)
{
	struct gk_guard_state *g = guards(e);
	int64_t now = e->ops->now(e->ud);
	enum gk_guard_verdict v;
	struct json_object *ev;
	char why[256];
	int r;

	v = guard_check(g, e->cfg, now, rung, fault, e->boot_id, why, sizeof(why));
	if (v != GK_GUARD_OK) {
		if (v == GK_GUARD_TRIP) {
			guard_trip(g, now);
			e->metrics.guard_trips++;
			e->dirty = true;
		}
		e->metrics.actions[rung][GK_RESULT_BLOCKED]++;
		ev = watcher_event_new("guard");
		if (ev) {
			json_add_str(ev, "guard", guard_verdict_to_string(v));
			json_add_str(ev, "rung", ladder_rung_to_string(rung));
			json_add_str(ev, "gpu", gpu[0] ? gpu : NULL);
			json_add_str(ev, "fault", fault);
			json_add_str(ev, "why", why);
		}
		emit(e, ev);
		unhealthy(e, why);
		watcher_save(e);
		return GK_LADDER_NONE;
	}
	/* the node is marked where the operator looks before it goes down */
	if (rung == GK_LADDER_REBOOT)
		unhealthy(e, "drain and reboot: rung 3 of the ladder");
	guard_reserve(g, now, rung, gpu, fault, e->boot_id);
	if (e->act) {
		e->dirty = true;
		r = watcher_save(e);
		if (r < 0) {
			/* the budget must be on disk before acting, or a crash would forget it */
			guard_finish(g, "not-run");
			ev = watcher_event_new("error");
			if (ev)
				json_add_str(ev, "why",
					     "cannot save the guards' state: not acting");
			emit(e, ev);
			unhealthy(e, "cannot save the guards' state");
			return GK_LADDER_NONE;
		}
	}
	return run_reserved(e, now_us);
}

static void climb_event(struct gk_watcher *e, enum gk_ladder_rung from, enum gk_ladder_rung to)
{
	struct json_object *ev = watcher_event_new("climb");

	if (ev) {
		json_add_str(ev, "from", ladder_rung_to_string(from));
		json_add_str(ev, "to", ladder_rung_to_string(to));
	}
	emit(e, ev);
}

/* Runs @rung (for each of @gpus when it is a reset) and climbs while a rung asks for the next. */
static void ladder(struct gk_watcher *e, enum gk_ladder_rung rung, char (*gpus)[GK_NV_PCI_LEN],
		   size_t n_gpus, const char *fault, uint64_t now_us)
{
	while (rung != GK_LADDER_NONE) {
		enum gk_ladder_rung next = GK_LADDER_NONE;

		if (rung == GK_LADDER_RESET)
			for (size_t i = 0; i < n_gpus; i++) {
				enum gk_ladder_rung c = attempt(e, rung, gpus[i], fault, now_us);

				if (c > next)
					next = c;
			}
		else
			next = attempt(e, rung, "", fault, now_us);
		if (next != GK_LADDER_NONE)
			climb_event(e, rung, next);
		rung = next;
	}
}

static void decided(struct gk_watcher *e, struct gk_decision *d, uint64_t now_us)
{
	struct json_object *ev = watcher_event_new("decision"), *g = json_object_new_array();
	char fault[GK_GUARD_FAULT_LEN];

	for (size_t i = 0; g && i < d->n_gpus; i++)
		json_object_array_add(g, json_object_new_string(d->gpus[i]));
	if (ev) {
		json_add_str(ev, "rung", ladder_rung_to_string(d->rung));
		json_add_str(ev, "reason", d->reason);
		json_object_object_add(ev, "needs_person",
				       json_object_new_boolean(d->needs_person));
		json_object_object_add(ev, "gpus", TAKE_PTR(g));
		json_object_object_add(ev, "faults", decision_faults_json(d));
	}
	json_object_put(g);
	emit(e, ev);
	e->metrics.decisions[d->rung]++;
	if (d->needs_person)
		unhealthy(e, d->reason);
	snprintf(fault, sizeof(fault), "xid-%u@%s", d->code, d->fault_gpu);
	ladder(e, d->rung, d->gpus, d->n_gpus, fault, now_us);
}

void watcher_tick(struct gk_watcher *e, uint64_t now_us)
{
	struct gk_decision d;

	for (;;) {
		uint64_t due = policy_deadline(&e->policy);

		if (policy_decide(&e->policy, now_us, &d) <= 0)
			return;
		/* the decision was due at its deadline, even when the clock (a replayed log's
		 * next record) comes later: that is when acting would have started */
		decided(e, &d, due < now_us ? due : now_us);
	}
}

uint64_t watcher_deadline(const struct gk_watcher *e)
{
	return policy_deadline(&e->policy);
}

static void fault_event(struct gk_watcher *e, const struct gk_nv_event *nv,
			const struct gk_kmsg_record *rec)
{
	struct json_object *ev = watcher_event_new(nv->kind == GK_NV_SXID ? "sxid" : "fault");
	char text[256];

	if (!ev)
		return;
	snprintf(text, sizeof(text), "%.*s", (int)(rec->msg_len < 255 ? rec->msg_len : 255),
		 rec->msg);
	json_add_str(ev, nv->kind == GK_NV_SXID ? "nvswitch" : "gpu", nv->pci);
	if (nv->kind != GK_NV_SXID)
		json_add_str(ev, "uuid",
			     watcher_uuid_of(nv->pci, e)[0] ? watcher_uuid_of(nv->pci, e) : NULL);
	json_add_int(ev, nv->kind == GK_NV_SXID ? "sxid" : "xid", nv->code);
	if (nv->subcode >= 0)
		json_add_int(ev, "subcode", nv->subcode);
	if (nv->kind == GK_NV_SXID)
		json_object_object_add(ev, "fatal", json_object_new_boolean(nv->fatal));
	json_add_int(ev, "seq", (int64_t)rec->seq);
	json_add_str(ev, "line", text);
	emit(e, ev);
}

static void nvidia_line(struct gk_watcher *e, const struct gk_nv_event *nv,
			const struct gk_kmsg_record *rec, uint64_t now_us)
{
	int64_t now = e->ops->now(e->ud);
	int r;

	e->metrics.nvidia_lines++;
	switch (nv->kind) {
	case GK_NV_GPU_UUID:
		learn_uuid(e, nv);
		break;
	case GK_NV_SXID:
		metrics_count_xid(&e->metrics, nv->pci, nv->code, true, now);
		/* NVSwitch faults: fatal ones need a person (the fabric), none is a GPU rung */
		if (nv->fatal) {
			fault_event(e, nv, rec);
			unhealthy(e, "fatal SXid from an NVSwitch: the fabric needs a person");
		}
		break;
	default:
		r = policy_add(&e->policy, nv, now_us);
		/* the driver follows Xid 79 with a "fallen off the bus" line: one Xid, not two */
		if (nv->kind == GK_NV_XID || r == 1)
			metrics_count_xid(&e->metrics, nv->pci, nv->code, false, now);
		if (r == 1)
			fault_event(e, nv, rec);
		break;
	}
}

int watcher_feed(struct gk_watcher *e, const char *buf, size_t len, uint64_t now_us)
{
	struct gk_kmsg_record rec;
	struct gk_nv_event nv;
	int r;

	r = kmsg_parse_record(buf, len, &rec);
	if (r < 0)
		return r;
	if (now_us == GK_ENGINE_RECORD_TIME)
		now_us = rec.ts_usec;
	watcher_tick(e, now_us);
	if (e->state.have_seq && rec.seq <= e->state.last_seq)
		return 0; /* handled before a restart */
	if (e->state.have_seq && rec.seq > e->state.last_seq + 1)
		e->metrics.records_lost += rec.seq - e->state.last_seq - 1;
	e->state.last_seq = rec.seq;
	e->state.have_seq = true;
	e->dirty = true;
	e->metrics.records++;
	if (rec.facility != 0 && !e->cfg->accept_user_facility)
		return 0; /* user space wrote it: never a driver fault */
	r = nvline_parse(rec.msg, rec.msg_len, &nv);
	if (r < 0)
		e->metrics.unparsed++;
	else if (r > 0)
		nvidia_line(e, &nv, &rec, now_us);
	return 0;
}

void watcher_overrun(struct gk_watcher *e, uint64_t n)
{
	e->metrics.overruns = n;
}

void watcher_seed_history(struct gk_watcher *e, uint64_t now_us)
{
	int64_t now = e->ops->now(e->ud);

	for (size_t i = 0; i < e->state.n_actions; i++) {
		const struct gk_guard_action *a = &e->state.actions[i];
		uint64_t ago = a->at < now ? (uint64_t)(now - a->at) * 1000000 : 0;

		if (!streq(a->boot_id, e->boot_id) || ago > now_us)
			continue;
		policy_record(&e->policy, a->rung, a->gpu, fault_code(a->fault), now_us - ago,
			      streq(a->outcome, "ok"));
	}
}

void watcher_external(struct gk_watcher *e, enum gk_ladder_rung rung, const char *gpu,
		      const char *kind, const char *why, uint64_t now_us)
{
	struct json_object *ev = watcher_event_new("decision");
	char gpus[1][GK_NV_PCI_LEN] = {""}, fault[GK_GUARD_FAULT_LEN];

	if (ev) {
		json_add_str(ev, "rung", ladder_rung_to_string(rung));
		json_add_str(ev, "reason", why);
		json_add_str(ev, "source", kind);
		json_add_str(ev, "gpu", gpu[0] ? gpu : NULL);
	}
	emit(e, ev);
	e->metrics.decisions[rung]++;
	snprintf(gpus[0], sizeof(gpus[0]), "%s", gpu);
	snprintf(fault, sizeof(fault), "%s@%s", kind, gpu[0] ? gpu : "node");
	ladder(e, rung, gpus, 1, fault, now_us);
}

static void resolved(struct gk_watcher *e, struct gk_guard_action *a, enum gk_result res,
		     const char *outcome, const char *why)
{
	struct json_object *ev = watcher_event_new("action-resolved");

	if (ev) {
		action_fields(ev, a);
		json_add_str(ev, "result", outcome);
		json_add_str(ev, "why", why);
	}
	emit(e, ev);
	e->metrics.actions[a->rung][res]++;
	guard_finish(&e->state, outcome);
	e->shadow = e->state;
	e->dirty = true;
}

void watcher_resume_pending(struct gk_watcher *e, uint64_t now_us)
{
	struct gk_guard_action *a = guard_pending(&e->state);
	bool same_boot;
	enum gk_ladder_rung climb, from;
	char fault[GK_GUARD_FAULT_LEN];

	if (!a)
		return;
	same_boot = streq(a->boot_id, e->boot_id);
	if (a->rung == GK_LADDER_REBOOT && !same_boot)
		return resolved(e, a, GK_RESULT_OK, "rebooted", "the node booted again since");
	if (!same_boot)
		return resolved(e, a, GK_RESULT_UNKNOWN, "unknown",
				"the node rebooted during the action");
	if (!e->act) {
		struct json_object *ev = watcher_event_new("action-pending");

		if (ev) {
			action_fields(ev, a);
			json_add_str(ev, "why", "observe mode: an action in flight is left alone");
		}
		emit(e, ev);
		return;
	}
	if (a->rung == GK_LADDER_REBOOT || !e->ops->journal_present(e->ud, a->rung)) {
		resolved(e, a, GK_RESULT_UNKNOWN, "unknown",
			 a->rung == GK_LADDER_REBOOT
				 ? "the watcher stopped after asking for a reboot that did not "
				   "happen: not asked again"
				 : "the watcher stopped during the action and the procedure's "
				   "journal is gone (it finished, its outcome unrecorded): not "
				   "retried");
		unhealthy(e, "an action's outcome is unknown: a person decides");
		watcher_save(e);
		return;
	}
	/* the procedure was interrupted: running it again resumes it from its journal */
	{
		struct json_object *ev = watcher_event_new("action-resumed");

		if (ev) {
			action_fields(ev, a);
			json_add_str(ev, "why",
				     "the watcher stopped during the action; the procedure's "
				     "journal is there: resumed, not started anew");
		}
		emit(e, ev);
	}
	snprintf(fault, sizeof(fault), "%s", a->fault);
	from = a->rung;
	climb = run_reserved(e, now_us);
	if (climb != GK_LADDER_NONE) {
		char gpus[1][GK_NV_PCI_LEN] = {""};

		climb_event(e, from, climb);
		ladder(e, climb, gpus, 1, fault, now_us);
	}
}

int watcher_save(struct gk_watcher *e)
{
	int r;

	if (!e->dirty)
		return 0;
	r = e->ops->save(e->ud, &e->state);
	if (r == 0)
		e->dirty = false;
	return r;
}

const struct gk_metrics *watcher_metrics(struct gk_watcher *e)
{
	int64_t now = e->ops->now(e->ud);

	e->metrics.breaker_open = guard_breaker_open(guards(e), e->cfg, now);
	e->metrics.actions_in_window = guard_actions_in_window(guards(e), e->cfg, now);
	return &e->metrics;
}
