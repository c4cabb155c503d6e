// SPDX-License-Identifier: GPL-2.0-or-later
/* The watcher's probes (see watch-probe.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "baseline/validate.h"
#include "daemon/client.h"
#include "ladder/nvline.h"
#include "ladder/policy.h"
#include "log.h"
#include "node.h"
#include "nvml-cli.h"
#include "nvml/nvml.h"
#include "parse-util.h"
#include "watch-probe.h"

void watch_probe_init(struct watch_probe *p, const struct gk_watch_config *cfg, bool act)
{
	const char *wd = getenv("WATCHDOG_USEC");
	uint64_t usec;

	*p = (struct watch_probe){.cfg = cfg, .period_s = cfg->probe_period_s};
	if (wd && safe_atou64(wd, &usec) == 0 && usec >= 2000000 &&
	    (!p->period_s || usec / 2000000 < p->period_s))
		p->period_s = (unsigned)(usec / 2000000);
	p->wanted = nvml_cli_wanted("/", NULL);
}

void watch_probe_done(struct watch_probe *p)
{
	p->nvml = nvml_close(p->nvml);
}

unsigned watch_probe_period(const struct watch_probe *p)
{
	return p->period_s;
}

/* gpukeepd's view: how many GPUs it holds, and which are stuck opening (a wedged GPU). */
static void probe_daemon(struct watch_probe *p, struct gk_watcher *e)
{
	struct json_object *reply = NULL, *ev;
	struct gk_daemon_gpus g = {};
	unsigned held = 0, stuck = 0;
	int r;

	e->metrics.gpus_held = -1;
	if (!p->cfg->gpukeepd_socket)
		return;
	r = client_request(p->cfg->gpukeepd_socket, GK_REQ_LIST, NULL, -1, 1000, &reply, NULL);
	if (r >= 0)
		r = client_decode_gpus(reply, &g);
	json_object_put(reply);
	if (r < 0)
		return;
	for (size_t i = 0; i < g.n; i++) {
		held += streq(g.gpus[i].state, "held");
		stuck += streq(g.gpus[i].state, "stuck");
	}
	daemon_gpus_done(&g);
	e->metrics.gpus_held = (int)held;
	if (stuck && !p->reported_stuck && (ev = watcher_event_new("gpu-stuck"))) {
		json_object_object_add(ev, "gpus", json_object_new_int((int)stuck));
		json_object_object_add(ev, "why",
				       json_object_new_string("gpukeepd has GPUs stuck opening (a "
							      "wedged GPU in the driver): see "
							      "'gpukeep status'"));
		e->ops->event(e->ud, ev);
		json_object_put(ev);
	}
	p->reported_stuck = stuck > 0;
}

static const char *recovery_name(unsigned v)
{
	static const char *const names[] = {"none",	 "GPU reset",	    "node reboot",
					    "drain P2P", "drain and reset", "recover IMEX domain",
					    "bus reset", "system reboot"};

	return v < ELEMENTSOF(names) ? names[v] : "unknown";
}

/* The driver's recovery action per GPU (NVML field 230): acted on when it changes to one that
 * asks for a rung, once per change (the driver keeps it set until the GPU recovers). */
static void probe_recovery(struct watch_probe *p, struct gk_watcher *e, unsigned n, uint64_t now_us)
{
	for (unsigned i = 0; i < n && i < ELEMENTSOF(p->recovery); i++) {
		char pci[GK_PCI_ADDR_STRLEN], gpu[GK_NV_PCI_LEN], why[256];
		enum gk_ladder_rung rung;
		unsigned v;

		if (nvml_gpu_recovery_action(p->nvml, i, &v) != 0 || v == p->recovery[i])
			continue;
		p->recovery[i] = v;
		rung = policy_recovery_action_rung(v);
		if (rung == GK_LADDER_NONE || nvml_gpu_pci(p->nvml, i, pci, sizeof(pci)) != 0 ||
		    nvline_normalize_pci(pci, strlen(pci), gpu) < 0)
			continue;
		snprintf(why, sizeof(why), "NVML: the driver's recovery action for %s is %s (%u)",
			 gpu, recovery_name(v), v);
		watcher_external(e, rung, rung == GK_LADDER_RESET ? gpu : "", "recovery-action",
				 why, now_us);
	}
}

void watch_probe_run(struct watch_probe *p, struct gk_watcher *e, uint64_t now_us)
{
	_cleanup_free_ char *err = NULL;
	char why[256];
	unsigned n;
	int r;

	probe_daemon(p, e);
	if (!p->wanted)
		return;
	if (!p->nvml) {
		r = nvml_open(NULL, p->cfg->nvml_timeout_ms, &p->nvml, &err);
		if (r == -ETIMEDOUT)
			goto hung;
		if (r < 0) {
			/* no NVML (or no driver loaded): nothing to probe; the log still is */
			log_debug("no NVML probe: %s", err ? err : strerror(-r));
			return;
		}
	}
	e->metrics.probes++;
	r = nvml_gpu_count(p->nvml, &n);
	if (r == 0) {
		probe_recovery(p, e, n, now_us);
		return;
	}
	if (!nvml_is_hung(p->nvml)) {
		e->metrics.probe_failures++;
		log_debug("NVML probe failed: %s", nvml_last_error(p->nvml));
		p->nvml = nvml_close(p->nvml);
		return;
	}
hung:
	e->metrics.probe_failures++;
	snprintf(why, sizeof(why),
		 "NVML did not answer within %u ms: the driver is hung (nvidia-smi would hang): "
		 "reload the driver",
		 p->cfg->nvml_timeout_ms);
	/* the hung call's thread stays in the library; a later probe opens NVML afresh */
	p->nvml = nvml_close(p->nvml);
	watcher_external(e, GK_LADDER_RELOAD, "", "nvml-hung", why, now_us);
}

void watch_probe_validate(struct watch_probe *p, struct gk_watcher *e, uint64_t now_us)
{
	struct gk_baseline want, now;
	struct gk_differences d = {};
	struct json_object *ev;

	if (!p->cfg->baseline || node_load_baseline(p->cfg->baseline, &want) != 0)
		return;
	if (node_baseline("/", &now, NULL) != 0) {
		baseline_done(&want);
		return;
	}
	e->metrics.validations++;
	if (validate_compare(&want, &now, &d) == 0 && d.n > 0) {
		e->metrics.validation_failures++;
		ev = watcher_event_new("validation");
		if (ev) {
			json_object_object_add(ev, "baseline",
					       json_object_new_string(p->cfg->baseline));
			json_object_object_add(ev, "differences", differences_to_json(&d));
			json_object_object_add(ev, "why",
					       json_object_new_string("the node differs from its "
								      "baseline"));
			e->ops->event(e->ud, ev);
			json_object_put(ev);
		}
		if (!p->last_failed)
			log_warning("the node differs from its baseline %s (%zu differences)",
				    p->cfg->baseline, d.n);
	}
	p->last_failed = d.n > 0;
	differences_done(&d);
	baseline_done(&want);
	baseline_done(&now);
}
