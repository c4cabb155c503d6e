/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What to stop, from a holder list: the footer of "gpukeep holders". */
#pragma once

#include "node/holders.h"

/*
 * What to stop so that the driver can be unloaded, one action per string, in pid order without
 * repeats: "systemctl stop X.service" for a system service, "docker stop <short id>" (podman,
 * crictl) for a container, else "pid N (comm)", with ", unkillable" for a process in state D.
 * Returns 0 and a NULL-terminated list (empty when nothing holds a node) to free with strv_free(),
 * or -ENOMEM.
 */
int holders_stop_list(const struct gk_holders *h, char ***ret);
