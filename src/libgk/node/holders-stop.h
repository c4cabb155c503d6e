/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What to stop, from a holder list: the footer of "gpukeep holders". */
#pragma once

#include "node/holders.h"

/* How a holder is stopped: the one rule that the plans, the refusal messages and the actions of
 * every procedure use. */
enum gk_stop_how {
	GK_STOP_DAEMON,	   /* the persistence daemon: asked to release through its socket */
	GK_STOP_UNIT,	   /* a system service: `systemctl stop`, started again afterwards */
	GK_STOP_CONTAINER, /* `RUNTIME stop ID`; its orchestrator decides whether it comes back */
	GK_STOP_SIGNAL,	   /* SIGTERM, the grace period, SIGKILL, by pidfd */
};

/* How @h is stopped; @daemon_pid is the persistence daemon's pid (0: none). A system service is
 * a ".service" unit outside a user's manager and outside a container, and not gpukeepd's own. */
enum gk_stop_how holder_stop_how(const struct gk_holder *h, pid_t daemon_pid);

/* The container runtime's command for @h ("docker", "podman", else "crictl"): static. */
const char *holder_runtime_cli(const struct gk_holder *h);

/*
 * What to stop so that the driver can be unloaded, one action per string, in pid order without
 * repeats: "systemctl stop X.service" for a system service, "docker stop <short id>" (podman,
 * crictl) for a container, else "pid N (comm)", with ", unkillable" for a process in state D.
 * Returns 0 and a NULL-terminated list (empty when nothing holds a node) to free with strv_free(),
 * or -ENOMEM.
 */
int holders_stop_list(const struct gk_holders *h, char ***ret);
