// SPDX-License-Identifier: GPL-2.0-or-later
/* Module graph parsing and ordering. refcnt is not a holder count: every open file of a
 * module's character device adds 2, so holders come from the holders list only. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "macro.h"
#include "node/modgraph.h"
#include "parse-util.h"
#include "string-util.h"

static void module_done(struct gk_module *m)
{
	free(m->name);
	strv_free(m->holders);
	free(m->taint);
	*m = (struct gk_module){};
}

void modlist_done(struct gk_modlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		module_done(&l->mods[i]);
	free(l->mods);
	*l = (struct gk_modlist){};
}

struct gk_module *modlist_find(const struct gk_modlist *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (streq(l->mods[i].name, name))
			return &l->mods[i];
	return NULL;
}

static int parse_holders(char *field, char ***ret)
{
	_cleanup_strv_free_ char **holders = NULL;
	char *save = NULL;

	/* "[permanent]," marks a module that cannot be unloaded: it has no holders to list */
	if (streq(field, "-") || startswith(field, "[permanent]")) {
		*ret = calloc(1, sizeof(char *));
		return *ret ? 0 : -ENOMEM;
	}
	if (!endswith(field, ","))
		return -EBADMSG;
	for (char *h = strtok_r(field, ",", &save); h; h = strtok_r(NULL, ",", &save))
		if (strv_extend(&holders, h) < 0)
			return -ENOMEM;
	if (!holders)
		return -EBADMSG;
	*ret = TAKE_PTR(holders);
	return 0;
}

static int parse_state(const char *field, char *state, size_t n)
{
	static const char *const states[][2] = {
		{"Live", "live"}, {"Loading", "coming"}, {"Unloading", "going"}};

	for (size_t i = 0; i < ELEMENTSOF(states); i++)
		if (streq(field, states[i][0])) {
			snprintf(state, n, "%s", states[i][1]);
			return 0;
		}
	return -EBADMSG;
}

/* name size refcnt holders state addr [(taint)] */
static int parse_line(char *line, struct gk_module *ret)
{
	char *f[7] = {};
	size_t nf = 0;
	char *save = NULL;
	struct gk_module m = {};
	uint64_t u;
	int r;

	for (char *t = strtok_r(line, " \t", &save); t && nf < ELEMENTSOF(f);
	     t = strtok_r(NULL, " \t", &save))
		f[nf++] = t;
	if (nf < 6 || safe_atou64(f[1], &u) < 0)
		return -EBADMSG;
	m.size = (unsigned long)u;
	if (streq(f[2], "-") && streq(f[3], "-")) /* kernel without module unload */
		m.refcnt = -1;
	else if (safe_atoi(f[2], &m.refcnt) < 0 || m.refcnt < 0)
		return -EBADMSG;
	r = m.refcnt < 0 ? parse_holders((char[]){"-"}, &m.holders)
			 : parse_holders(f[3], &m.holders);
	if (r < 0)
		return r;
	if (parse_state(f[4], m.state, sizeof(m.state)) < 0 ||
	    (nf == 7 && (f[6][0] != '(' || !endswith(f[6], ")")))) {
		module_done(&m);
		return -EBADMSG;
	}
	m.name = strdup(f[0]);
	if (nf == 7)
		m.taint = strndup(f[6] + 1, strlen(f[6]) - 2);
	if (!m.name || (nf == 7 && !m.taint)) {
		module_done(&m);
		return -ENOMEM;
	}
	*ret = m;
	return 0;
}

int modlist_parse_proc(const char *text, struct gk_modlist *ret, unsigned *ret_line)
{
	_cleanup_free_ char *copy = strdup(text);
	struct gk_modlist l = {};
	unsigned lineno = 0;
	char *p, *next;

	if (!copy)
		return -ENOMEM;
	for (p = copy; p && *p; p = next) {
		struct gk_module *n;
		int r;

		next = strchr(p, '\n');
		if (next)
			*next++ = 0;
		lineno++;
		if (!*strstrip(p))
			continue;
		n = realloc(l.mods, sizeof(*n) * (l.n + 1));
		if (!n) {
			modlist_done(&l);
			return -ENOMEM;
		}
		l.mods = n;
		r = parse_line(p, &l.mods[l.n]);
		if (r < 0) {
			modlist_done(&l);
			if (ret_line)
				*ret_line = lineno;
			return r;
		}
		l.n++;
	}
	*ret = l;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int read_holders_dir(int moddirfd, char ***ret)
{
	_cleanup_strv_free_ char **holders = NULL;
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	int r;

	r = opendir_at(moddirfd, "holders", (void **)&d);
	if (r < 0)
		return r;
	holders = calloc(1, sizeof(char *));
	if (!holders)
		return -ENOMEM;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.' && strv_extend(&holders, de->d_name) < 0)
			return -ENOMEM;
	/* readdir order of sysfs is not stable: sort so that output and plans are */
	qsort_safe(holders, strv_length(holders), sizeof(char *), cmp_str);
	*ret = TAKE_PTR(holders);
	return 0;
}

int module_read_sysfs(int rootfd, struct gk_module *m)
{
	_cleanup_free_ char *path = strdup_printf("sys/module/%s", m->name);
	_cleanup_close_ int dfd = -EBADF;
	char buf[64];
	char **holders;
	int refcnt;

	if (!path)
		return -ENOMEM;
	dfd = open_dir_at(rootfd, path);
	if (dfd < 0)
		return dfd;
	if (read_attr_at(dfd, "initstate", buf, sizeof(buf)) >= 0 &&
	    (streq(buf, "live") || streq(buf, "coming") || streq(buf, "going")))
		snprintf(m->state, sizeof(m->state), "%.15s", buf);
	if (read_attr_at(dfd, "refcnt", buf, sizeof(buf)) >= 0 && safe_atoi(buf, &refcnt) >= 0)
		m->refcnt = refcnt;
	if (read_holders_dir(dfd, &holders) >= 0) {
		strv_free(m->holders);
		m->holders = holders;
	}
	return 0;
}

/* Sorted copy of a module's holders, restricted to modules that are loaded. */
static int sorted_holders(const struct gk_modlist *l, const struct gk_module *m, char ***ret)
{
	_cleanup_strv_free_ char **out = calloc(1, sizeof(char *));

	if (!out)
		return -ENOMEM;
	for (char **h = m->holders; h && *h; h++)
		if (modlist_find(l, *h) && strv_extend(&out, *h) < 0)
			return -ENOMEM;
	qsort_safe(out, strv_length(out), sizeof(char *), cmp_str);
	*ret = TAKE_PTR(out);
	return 0;
}

int modgraph_closure(const struct gk_modlist *l, const char *root_name, char ***ret)
{
	_cleanup_strv_free_ char **out = NULL;

	if (!modlist_find(l, root_name))
		return 0;
	if (strv_extend(&out, root_name) < 0)
		return -ENOMEM;
	/* breadth-first: out doubles as the queue */
	for (size_t i = 0; out[i]; i++) {
		_cleanup_strv_free_ char **hs = NULL;
		int r;

		r = sorted_holders(l, modlist_find(l, out[i]), &hs);
		if (r < 0)
			return r;
		for (char **h = hs; *h; h++) {
			if (streq(*h, root_name))
				return -ELOOP;
			if (!strv_contains(out, *h) && strv_extend(&out, *h) < 0)
				return -ENOMEM;
		}
	}
	*ret = TAKE_PTR(out);
	return (int)strv_length(*ret);
}

/* Depth-first post-order over holders; @path detects cycles (a module that holds itself). */
static int visit(const struct gk_modlist *l, const char *name, char ***path, char ***order)
{
	_cleanup_strv_free_ char **hs = NULL;
	int r;

	if (strv_contains(*order, name))
		return 0;
	if (strv_contains(*path, name))
		return -ELOOP;
	r = strv_extend(path, name);
	if (r < 0)
		return r;
	r = sorted_holders(l, modlist_find(l, name), &hs);
	if (r < 0)
		return r;
	for (char **h = hs; *h; h++) {
		r = visit(l, *h, path, order);
		if (r < 0)
			return r;
	}
	free((*path)[strv_length(*path) - 1]);
	(*path)[strv_length(*path) - 1] = NULL;
	return strv_extend(order, name);
}

int modgraph_unload_order(const struct gk_modlist *l, const char *root_name, char ***ret)
{
	_cleanup_strv_free_ char **path = NULL, **order = NULL;
	int r;

	if (!modlist_find(l, root_name))
		return 0;
	r = visit(l, root_name, &path, &order);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(order);
	return (int)strv_length(*ret);
}
