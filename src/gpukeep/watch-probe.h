/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The watcher's probes: NVML's responsiveness with a deadline (a call that hangs is the
 * "nvidia-smi hangs" case: the driver rung), and validation against the baseline. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "ladder/watcher.h"

struct gk_nvml;

struct watch_probe {
	const struct gk_watch_config *cfg;
	struct gk_nvml *nvml; /* NULL: no NVML on this node (or not consulted) */
	bool wanted;
	unsigned period_s;
	bool last_failed;      /* the previous validation found differences */
	bool reported_stuck;   /* gpukeepd's stuck GPUs were reported (once per episode) */
	unsigned recovery[64]; /* the last recovery action read per NVML index */
};

void watch_probe_init(struct watch_probe *p, const struct gk_watch_config *cfg, bool act);
void watch_probe_done(struct watch_probe *p);

/* The probe timer's period: the configured one, shortened to half the service manager's
 * watchdog interval when that is shorter (0: no probe timer). */
unsigned watch_probe_period(const struct watch_probe *p);

/* One probe: gpukeepd's GPUs (held, stuck opening), NVML's responsiveness (a hang is handed to
 * the engine as rung 2) and each GPU's recovery action (a new one that asks for a reset or a
 * reboot is handed to the engine as that rung). */
void watch_probe_run(struct watch_probe *p, struct gk_watcher *e, uint64_t now_us);

/* One validation against the configured baseline; differences are reported as an event (the
 * watcher does not guess a rung from them). */
void watch_probe_validate(struct watch_probe *p, struct gk_watcher *e, uint64_t now_us);
