/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The persistence daemon a procedure releases and re-acquires the GPUs through, never kills:
 * gpukeepd (its JSON socket) or nvidia-persistenced (its RPC, served by NVIDIA's daemon or by
 * gpukeepd in its compat mode): which one answers, and the RPC's release and re-acquire. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "core/json-check.h"
#include "procedure/engine.h"
#include "procedure/node-ops.h"

enum gk_keeper_kind {
	GK_KEEPER_GPUKEEPD, /* gpukeepd's protocol: release, reenumerate, acquire, settled */
	GK_KEEPER_NVPD,	    /* nvidia-persistenced's RPC: set disabled, then enabled, per GPU */
	_GK_KEEPER_MAX,
};

#define KEEPER_GET_TIMEOUT_MS 10000
#define KEEPER_SET_TIMEOUT_MS 30000 /* a set to enabled answers once the GPU is open */

/* "gpukeepd", "nvidia-persistenced" (the journals' and reports' spelling). */
const char *keeper_kind_to_string(enum gk_keeper_kind k);
/* The kind a journal names: 0, or -EINVAL for a name this gpukeep does not know. */
int keeper_kind_from_string(const char *s, enum gk_keeper_kind *ret);

/*
 * Which daemon answers: gpukeepd at @socket first, else nvidia-persistenced's RPC at
 * @nvpd_socket. Returns its pid with *ret_kind, or 0 when neither answers (*ret_kind is then
 * gpukeepd's).
 */
pid_t keeper_detect(const struct gk_node_ops *ops, const char *socket, const char *nvpd_socket,
		    unsigned timeout_ms, enum gk_keeper_kind *ret_kind);

/*
 * nvidia-persistenced: appends to *@kept (once each) those of @gpus (PCI addresses) whose get
 * says enabled; a GPU the daemon does not know (-ENODEV) is skipped. Returns 0, or the first
 * other -errno with *ret_failed naming the GPU (malloc()ed).
 */
int keeper_nvpd_kept(const struct gk_node_ops *ops, const char *socket, char *const *gpus,
		     char ***kept, char **ret_failed);

/*
 * nvidia-persistenced: sets each of @gpus disabled (release) or enabled (re-acquire), each call
 * with its deadline. A release stops at the first failure (the caller's roll back sets enabled
 * what it disabled); a re-acquire tries every GPU. Returns 0, or the first -errno with
 * *ret_failed ("PCI: reason, ...", malloc()ed) naming each GPU that failed.
 */
int keeper_nvpd_set(const struct gk_node_ops *ops, const char *socket, char *const *gpus,
		    bool enabled, char **ret_failed);

/*
 * nvidia-persistenced's re-acquire after a release: @gpus set enabled (keeper_nvpd_set()); on
 * success *released becomes false, on failure "nvidia-persistenced (set enabled: ...)" is
 * added to @failed. Returns 0, or -ENOMEM.
 */
int keeper_nvpd_reacquire(const struct gk_node_ops *ops, const char *socket, char *const *gpus,
			  bool *released, char ***failed);

/* nvidia-persistenced: how many of @gpus read enabled (*ret_held) of how many (*ret_wanted),
 * and the first that does not in @ret_missing ("PCI (disabled)", "PCI (error text)"; "" when
 * none; @missing_size bytes, 0: not wanted). 0, or the first -errno (the counts are still
 * written). */
int keeper_nvpd_settled(const struct gk_node_ops *ops, const char *socket, char *const *gpus,
			unsigned *ret_held, unsigned *ret_wanted, char *ret_missing,
			size_t missing_size);

/* Whether the daemon holds what it should again: gpukeepd's wait (daemon_settled), or for
 * nvidia-persistenced a get of @gpu, or of each of @nvpd_gpus when @gpu is NULL. 0 with the
 * counts and the first GPU not held (as above), -ETIMEDOUT, -errno. */
int keeper_settled(const struct gk_node_ops *ops, enum gk_keeper_kind kind, const char *socket,
		   const char *gpu, char *const *nvpd_gpus, unsigned timeout_ms, unsigned *ret_held,
		   unsigned *ret_wanted, char *ret_missing, size_t missing_size);

/* Asks gpukeepd to list the GPUs again after a load or rescan; nothing for nvidia-persistenced
 * (it opens by PCI address). 0 or -errno as daemon_reenumerate. */
int keeper_reenumerate(const struct gk_node_ops *ops, enum gk_keeper_kind kind, const char *socket,
		       unsigned timeout_ms);

/* A procedure record's "daemon_kind" (absent: gpukeepd, an older journal) and, when @ret_gpus
 * is given, "daemon_gpus" (absent: none), each checked into @c: an unknown kind is a problem
 * named there. *ret_gpus is a strv the caller frees (NULL only when out of memory). */
void keeper_record_read(struct gk_jcheck *c, struct json_object *o, enum gk_keeper_kind *ret_kind,
			char ***ret_gpus);
/* Adds them to record @o (@gpus NULL: the kind only). false when out of memory. */
bool keeper_record_write(struct json_object *o, enum gk_keeper_kind kind, char *const *gpus);

/*
 * Records in a procedure's record that @kind at @socket releases (and re-acquires) the GPUs:
 * *@rec_kind and *@rec_socket (malloc()ed, replaced). Returns 0, -ENOMEM, or -EXDEV when an
 * earlier run (@released) released through another daemon or socket, which alone can
 * re-acquire: nothing is changed then.
 */
int keeper_adopt(enum gk_keeper_kind kind, const char *socket, bool released,
		 enum gk_keeper_kind *rec_kind, char **rec_socket);
/* The release step's keeper_adopt(): 0, or its verdict (exit 1) naming both daemons. */
int keeper_adopt_step(struct gk_engine *e, enum gk_keeper_kind kind, const char *socket,
		      bool released, enum gk_keeper_kind *rec_kind, char **rec_socket);

/* nvidia-persistenced's socket: @option (--nvpd-socket), else NVPD_SOCKET_PATH. */
const char *keeper_nvpd_socket(const char *option);

/*
 * The release step's part for nvidia-persistenced: adds to *@kept those of @gpus it keeps,
 * marks *@released and syncs the journal, then sets each of *@kept disabled. 0, or the exit
 * code after engine_verdict() (exit 1: the engine's roll back sets enabled what was disabled).
 */
int keeper_nvpd_release(struct gk_engine *e, const struct gk_node_ops *ops, const char *socket,
			char *const *gpus, char ***kept, bool *released);
