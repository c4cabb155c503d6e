// SPDX-License-Identifier: GPL-2.0-or-later
/* libkmod-backed module operations. The kernel no longer waits in delete_module() (the blocking
 * remove went away in 3.13): a module still in use fails at once with EAGAIN, so waiting for
 * users to go is ours to do, bounded. */
#include <errno.h>
#include <libkmod.h>
#include <stdlib.h>
#include <time.h>

#include "log.h"
#include "macro.h"
#include "node/modops.h"

struct kmod_ops {
	struct gk_modops ops; /* first: the public part */
	struct kmod_ctx *ctx;
};

/* libkmod's log callback hands us its own printf format and arguments */
static void kmod_logger(void *data, int priority, const char *file, int line, const char *fn,
			const char *format, va_list args) _printf_(6, 0);
static void kmod_logger(void *data, int priority, const char *file, int line, const char *fn,
			const char *format, va_list args)
{
	char msg[512];

	vsnprintf(msg, sizeof(msg), format, args);
	log_debug("libkmod: %s", msg);
}

static int kmod_remove(void *userdata, const char *name)
{
	struct kmod_ops *k = userdata;
	struct kmod_module *mod = NULL;
	int r;

	r = kmod_module_new_from_name(k->ctx, name, &mod);
	if (r < 0)
		return r;
	/* libkmod reports "not loaded" through the kernel's ENOENT */
	r = kmod_module_remove_module(mod, KMOD_REMOVE_NOLOG);
	kmod_module_unref(mod);
	return r;
}

static int kmod_load(void *userdata, const char *name)
{
	struct kmod_ops *k = userdata;
	struct kmod_list *list = NULL, *it;
	int r, found = 0;

	/* the lookup resolves aliases and modules.dep as modprobe does */
	r = kmod_module_new_from_lookup(k->ctx, name, &list);
	if (r < 0)
		return r;
	kmod_list_foreach(it, list)
	{
		struct kmod_module *mod = kmod_module_get_module(it);

		found = 1;
		r = kmod_module_probe_insert_module(mod, KMOD_PROBE_APPLY_BLACKLIST_ALIAS_ONLY,
						    NULL, NULL, NULL, NULL);
		kmod_module_unref(mod);
		if (r > 0) /* blacklisted alias: not an error of ours, but nothing was loaded */
			r = -EPERM;
		if (r < 0 && r != -EEXIST)
			break;
		r = 0;
	}
	kmod_module_unref_list(list);
	return found ? r : -ENOENT;
}

static void real_sleep_ms(void *userdata, unsigned ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int modops_kmod_new(struct gk_modops **ret)
{
	struct kmod_ops *k = calloc(1, sizeof(*k));
	int r;

	if (!k)
		return -ENOMEM;
	k->ctx = kmod_new(NULL, NULL);
	if (!k->ctx) {
		free(k);
		return -ENOMEM;
	}
	kmod_set_log_fn(k->ctx, kmod_logger, NULL);
	r = kmod_load_resources(k->ctx);
	if (r < 0) {
		kmod_unref(k->ctx);
		free(k);
		return r;
	}
	k->ops = (struct gk_modops){
		.userdata = k,
		.remove = kmod_remove,
		.load = kmod_load,
		.sleep_ms = real_sleep_ms,
	};
	*ret = &k->ops;
	return 0;
}

struct gk_modops *modops_kmod_free(struct gk_modops *ops)
{
	struct kmod_ops *k = (struct kmod_ops *)ops;

	if (k) {
		kmod_unref(k->ctx);
		free(k);
	}
	return NULL;
}

int modops_unload(const struct gk_modops *ops, const char *name, unsigned budget_ms,
		  struct gk_unload_result *ret)
{
	struct gk_unload_result res = {.was_loaded = true};
	unsigned backoff = 20;
	int r;

	for (;;) {
		res.attempts++;
		r = ops->remove(ops->userdata, name);
		if (r == -ENOENT && res.attempts == 1)
			res.was_loaded = false;
		if (r == 0 || r == -ENOENT) {
			r = 0;
			break;
		}
		if (r != -EAGAIN && r != -EBUSY)
			break;
		if (res.waited_ms >= budget_ms) {
			r = -EBUSY;
			break;
		}
		if (backoff > budget_ms - res.waited_ms)
			backoff = budget_ms - res.waited_ms;
		log_debug("%s in use, retrying in %u ms", name, backoff);
		ops->sleep_ms(ops->userdata, backoff);
		res.waited_ms += backoff;
		backoff = backoff * 2 > 1000 ? 1000 : backoff * 2;
	}
	if (ret)
		*ret = res;
	return r;
}
