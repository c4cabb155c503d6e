// SPDX-License-Identifier: GPL-2.0-or-later
/* The persistence daemon behind the procedures: which one answers, and nvidia-persistenced's
 * release (set disabled) and re-acquire (set enabled) per GPU, each call with a deadline. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/gk-exit.h"
#include "core/json-util.h"
#include "node/pci.h"
#include "nvpd/nvpd-client.h"
#include "procedure/keeper.h"
#include "string-util.h"

static const char *const kind_names[_GK_KEEPER_MAX] = {
	[GK_KEEPER_GPUKEEPD] = "gpukeepd",
	[GK_KEEPER_NVPD] = "nvidia-persistenced",
};

const char *keeper_kind_to_string(enum gk_keeper_kind k)
{
	return k < _GK_KEEPER_MAX ? kind_names[k] : "unknown";
}

int keeper_kind_from_string(const char *s, enum gk_keeper_kind *ret)
{
	for (size_t k = 0; s && k < _GK_KEEPER_MAX; k++)
		if (streq(s, kind_names[k])) {
			*ret = (enum gk_keeper_kind)k;
			return 0;
		}
	return -EINVAL;
}

pid_t keeper_detect(const struct gk_node_ops *ops, const char *socket, const char *nvpd_socket,
		    unsigned timeout_ms, enum gk_keeper_kind *ret_kind)
{
	pid_t pid = ops->daemon_pid(ops->userdata, socket, timeout_ms);

	*ret_kind = GK_KEEPER_GPUKEEPD;
	if (pid > 0)
		return pid;
	pid = nvpd_socket ? ops->nvpd_pid(ops->userdata, nvpd_socket, timeout_ms) : 0;
	if (pid <= 0)
		return 0;
	*ret_kind = GK_KEEPER_NVPD;
	return pid;
}

/* Appends "PCI: reason" to *@l. 0 or -ENOMEM. */
static int add_failure(char ***l, const char *gpu, int r)
{
	_cleanup_free_ char *s = strdup_printf("%s: %s", gpu, strerror(-r));

	return s ? strv_extend(l, s) : -ENOMEM;
}

int keeper_nvpd_kept(const struct gk_node_ops *ops, const char *socket, char *const *gpus,
		     char ***kept, char **ret_failed)
{
	for (char *const *g = gpus; g && *g; g++) {
		int r = ops->nvpd_get(ops->userdata, socket, *g, KEEPER_GET_TIMEOUT_MS);

		if (r == -ENODEV || r == 0)
			continue;
		if (r < 0) {
			*ret_failed = strdup_printf("%s: %s", *g, strerror(-r));
			return r;
		}
		if (!strv_contains(*kept, *g) && strv_extend(kept, *g) < 0)
			return -ENOMEM;
	}
	return 0;
}

int keeper_nvpd_set(const struct gk_node_ops *ops, const char *socket, char *const *gpus,
		    bool enabled, char **ret_failed)
{
	_cleanup_strv_free_ char **failed = NULL;
	int first = 0;

	for (size_t i = 0; gpus && gpus[i]; i++) {
		int r = ops->nvpd_set(ops->userdata, socket, gpus[i], enabled,
				      KEEPER_SET_TIMEOUT_MS);

		if (r >= 0)
			continue;
		if (add_failure(&failed, gpus[i], r) < 0)
			return -ENOMEM;
		if (first == 0)
			first = r;
		/* a release stops here: the caller's roll back enables what it disabled */
		if (!enabled)
			break;
	}
	if (first == 0)
		return 0;
	*ret_failed = strv_join(failed, ", ");
	return first;
}

int keeper_nvpd_reacquire(const struct gk_node_ops *ops, const char *socket, char *const *gpus,
			  bool *released, char ***failed)
{
	_cleanup_free_ char *why = NULL, *what = NULL;
	int r = keeper_nvpd_set(ops, socket, gpus, true, &why);

	if (r == -ENOMEM)
		return r;
	if (r >= 0) {
		*released = false;
		return 0;
	}
	what = strdup_printf("nvidia-persistenced (set enabled: %s)", strna(why));
	return what ? strv_extend(failed, what) : -ENOMEM;
}

int keeper_nvpd_settled(const struct gk_node_ops *ops, const char *socket, char *const *gpus,
			unsigned *ret_held, unsigned *ret_wanted, char *ret_missing,
			size_t missing_size)
{
	unsigned held = 0, wanted = 0;
	int first = 0;

	if (missing_size)
		ret_missing[0] = '\0';
	for (char *const *g = gpus; g && *g; g++) {
		int r = ops->nvpd_get(ops->userdata, socket, *g, KEEPER_GET_TIMEOUT_MS);

		wanted++;
		held += r == 1;
		if (first == 0 && r < 0)
			first = r;
		if (r != 1 && missing_size && !ret_missing[0])
			snprintf(ret_missing, missing_size, "%s (%s)", *g,
				 r == 0 ? "disabled" : strerror(-r));
	}
	*ret_held = held;
	*ret_wanted = wanted;
	return first;
}

int keeper_settled(const struct gk_node_ops *ops, enum gk_keeper_kind kind, const char *socket,
		   const char *gpu, char *const *nvpd_gpus, unsigned timeout_ms, unsigned *ret_held,
		   unsigned *ret_wanted, char *ret_missing, size_t missing_size)
{
	char *one[] = {(char *)gpu, NULL};

	if (kind == GK_KEEPER_GPUKEEPD)
		return ops->daemon_settled(ops->userdata, socket, gpu, timeout_ms, ret_held,
					   ret_wanted, ret_missing, missing_size);
	/* its set answers once the device file is open: nothing to wait for, only to read */
	return keeper_nvpd_settled(ops, socket, gpu ? one : nvpd_gpus, ret_held, ret_wanted,
				   ret_missing, missing_size);
}

int keeper_reenumerate(const struct gk_node_ops *ops, enum gk_keeper_kind kind, const char *socket,
		       unsigned timeout_ms)
{
	/* nvidia-persistenced lists the GPUs once, at its start, and opens each by PCI address
	 * when set enabled: a GPU at the same address is the same GPU to it */
	if (kind != GK_KEEPER_GPUKEEPD)
		return 0;
	return ops->daemon_reenumerate(ops->userdata, socket, timeout_ms);
}

void keeper_record_read(struct gk_jcheck *c, struct json_object *o, enum gk_keeper_kind *ret_kind,
			char ***ret_gpus)
{
	_cleanup_free_ char *name = NULL;
	struct gk_pci_addr a;

	*ret_kind = GK_KEEPER_GPUKEEPD;
	/* the daemon's kind came with the RPC: an older journal released through gpukeepd */
	if (json_object_object_get_ex(o, "daemon_kind", NULL)) {
		name = jcheck_string(c, o, "record", "daemon_kind", false);
		if (name && keeper_kind_from_string(name, ret_kind) < 0)
			jcheck_fail(c,
				    "record: daemon_kind: unknown daemon '%s' (this gpukeep "
				    "releases through gpukeepd or nvidia-persistenced)",
				    name);
	}
	if (!ret_gpus)
		return;
	if (json_object_object_get_ex(o, "daemon_gpus", NULL))
		*ret_gpus = jcheck_strv(c, o, "record", "daemon_gpus");
	else if (!(*ret_gpus = calloc(1, sizeof(char *))))
		c->oom = true;
	for (size_t i = 0; *ret_gpus && (*ret_gpus)[i]; i++)
		if (pci_addr_parse((*ret_gpus)[i], false, &a) < 0)
			jcheck_fail(c, "record: daemon_gpus[%zu]: '%s' is not a PCI address", i,
				    (*ret_gpus)[i]);
}

bool keeper_record_write(struct json_object *o, enum gk_keeper_kind kind, char *const *gpus)
{
	struct json_object *v = json_object_new_string(keeper_kind_to_string(kind));

	if (!v || json_object_object_add(o, "daemon_kind", v) < 0) {
		json_object_put(v);
		return false;
	}
	if (!gpus)
		return true;
	v = json_strv_new(gpus);
	if (!v || json_object_object_add(o, "daemon_gpus", v) < 0) {
		json_object_put(v);
		return false;
	}
	return true;
}

int keeper_adopt(enum gk_keeper_kind kind, const char *socket, bool released,
		 enum gk_keeper_kind *rec_kind, char **rec_socket)
{
	char *s;

	/* a daemon that released in an earlier run re-acquires: another one cannot */
	if (released && (kind != *rec_kind || !streq(socket, *rec_socket)))
		return -EXDEV;
	if (!streq(socket, *rec_socket)) {
		s = strdup(socket);
		if (!s)
			return -ENOMEM;
		free(*rec_socket);
		*rec_socket = s;
	}
	*rec_kind = kind;
	return 0;
}

int keeper_adopt_step(struct gk_engine *e, enum gk_keeper_kind kind, const char *socket,
		      bool released, enum gk_keeper_kind *rec_kind, char **rec_socket)
{
	int r = keeper_adopt(kind, socket, released, rec_kind, rec_socket);

	if (r == 0)
		return 0;
	if (r == -ENOMEM)
		return engine_verdict(e, GK_EXIT_FAILED, "out of memory");
	return engine_verdict(e, GK_EXIT_FAILED,
			      "the GPUs were released through %s at %s by an earlier run, but %s "
			      "answers now at %s: only the daemon that released them can "
			      "re-acquire them; start it again and rerun",
			      keeper_kind_to_string(*rec_kind), *rec_socket,
			      keeper_kind_to_string(kind), socket);
}

const char *keeper_nvpd_socket(const char *option)
{
	return option ? option : NVPD_SOCKET_PATH;
}

int keeper_nvpd_release(struct gk_engine *e, const struct gk_node_ops *ops, const char *socket,
			char *const *gpus, char ***kept, bool *released)
{
	_cleanup_free_ char *why = NULL;
	int r;

	/* a resumed run keeps what its first run found enabled: those read disabled now */
	r = keeper_nvpd_kept(ops, socket, gpus, kept, &why);
	if (r == -ENOMEM)
		return engine_verdict(e, GK_EXIT_FAILED, "out of memory");
	if (r < 0)
		return engine_verdict(e, GK_EXIT_FAILED,
				      "nvidia-persistenced at %s did not answer the get of %s",
				      socket, strna(why));
	*released = true;
	r = engine_sync(e);
	if (r != 0)
		return r;
	r = keeper_nvpd_set(ops, socket, *kept, false, &why);
	if (r == -ENOMEM)
		return engine_verdict(e, GK_EXIT_FAILED, "out of memory");
	if (r < 0)
		return engine_verdict(e, GK_EXIT_FAILED,
				      "nvidia-persistenced did not set persistence disabled for %s",
				      strna(why));
	return 0;
}
