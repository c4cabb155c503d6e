/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The loaded-module graph: /proc/modules, /sys/module/<m>/{initstate,refcnt,holders/}, and the
 * decisions made on it (which modules depend on nvidia, in which order they can be unloaded). */
#pragma once

#include <stddef.h>

struct gk_module {
	char *name;
	unsigned long size;
	int refcnt;	/* -1 when unknown (kernel without CONFIG_MODULE_UNLOAD) */
	char **holders; /* modules that use this one (strv, never NULL after parsing) */
	char state[16]; /* "live", "coming", "going" (lower case, as in sysfs initstate) */
	char *taint;	/* "OE" etc., NULL when untainted */
};

struct gk_modlist {
	struct gk_module *mods;
	size_t n;
};

/*
 * Parses the text of /proc/modules. Every holder is followed by a comma, the last included; "-"
 * means none. Fails with -EBADMSG on a malformed line, whose 1-based number goes to *ret_line.
 * The result is freed with modlist_done().
 */
int modlist_parse_proc(const char *text, struct gk_modlist *ret, unsigned *ret_line);
void modlist_done(struct gk_modlist *l);

struct gk_module *modlist_find(const struct gk_modlist *l, const char *name);

/*
 * Refreshes @m from <root>/sys/module/<name>: initstate, refcnt and the holders/ directory
 * (authoritative: /proc/modules can be a moment older). Missing attributes keep the /proc values.
 * Returns 0, -ENOENT when the module directory is gone, or -errno.
 */
int module_read_sysfs(int rootfd, struct gk_module *m);

/*
 * Every loaded module that depends on @root_name, directly or through other modules, @root_name
 * first, then breadth-first with holders in name order. Returns the count (>= 1) and a strv, 0
 * when @root_name is not loaded (*ret untouched), -ELOOP on a holder cycle, -ENOMEM.
 */
int modgraph_closure(const struct gk_modlist *l, const char *root_name, char ***ret);

/*
 * The order in which the closure of @root_name can be unloaded: each module after every module
 * that holds it (leaves first, @root_name last). Ties are broken by name so the plan is stable.
 * Returns the count and a strv, 0 when @root_name is not loaded, -ELOOP on a cycle, -ENOMEM.
 */
int modgraph_unload_order(const struct gk_modlist *l, const char *root_name, char ***ret);
