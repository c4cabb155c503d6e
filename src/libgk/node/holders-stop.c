// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * What to stop so that the driver can be unloaded: the answer names something an operator can act
 * on (a service, a container) before it falls back to a pid.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "node/cgroup.h"
#include "node/holders-stop.h"
#include "string-util.h"

const char *holder_runtime_cli(const struct gk_holder *h)
{
	const char *runtime = strempty(h->container_runtime);

	if (streq(runtime, "docker") || streq(runtime, "podman"))
		return runtime;
	return "crictl"; /* containerd, cri-o and kubelet-managed containers */
}

enum gk_stop_how holder_stop_how(const struct gk_holder *h, pid_t daemon_pid)
{
	if (daemon_pid > 0 && h->pid == daemon_pid)
		return GK_STOP_DAEMON;
	if (h->container_id)
		return GK_STOP_CONTAINER;
	/* a system service; a user manager's units and session scopes are left to the pid, and
	 * gpukeepd releases on request instead of being stopped */
	if (!h->unit || !endswith(h->unit, ".service") || !h->cgroup ||
	    strstr(h->cgroup, "/user@") || startswith(h->cgroup, "/user.slice/") ||
	    startswith(h->unit, "gpukeepd"))
		return GK_STOP_SIGNAL;
	/* Slurm's jobs stay in slurmd.service's cgroup without proctrack/cgroup (linuxproc, pgid):
	 * such a holder is a job (slurmstepd or its tasks), stopped as one; stopping slurmd would
	 * take the node out of Slurm and, with its KillMode=process, leave the job holding */
	if (streq(h->unit, "slurmd.service") && !(h->comm && streq(h->comm, "slurmd")))
		return GK_STOP_SIGNAL;
	return GK_STOP_UNIT;
}

/* The action that ends @h's hold, malloc()ed. */
static char *stop_action(const struct gk_holder *h)
{
	switch (holder_stop_how(h, 0)) {
	case GK_STOP_CONTAINER:
		return strdup_printf("%s stop %.*s", holder_runtime_cli(h), CGROUP_SHORT_ID_LEN,
				     h->container_id);
	case GK_STOP_UNIT:
		return strdup_printf("systemctl stop %s", h->unit);
	default:
		return strdup_printf("pid %d (%s%s)", (int)h->pid, h->comm,
				     h->unkillable ? ", unkillable" : "");
	}
}

int holders_stop_list(const struct gk_holders *h, char ***ret)
{
	_cleanup_strv_free_ char **l = NULL;
	int r;

	l = calloc(1, sizeof(char *));
	if (!l)
		return -ENOMEM;
	for (size_t i = 0; i < h->n; i++) {
		_cleanup_free_ char *a = stop_action(&h->holders[i]);

		if (!a)
			return -ENOMEM;
		if (strv_contains(l, a))
			continue;
		r = strv_extend(&l, a);
		if (r < 0)
			return r;
	}
	*ret = TAKE_PTR(l);
	return 0;
}
