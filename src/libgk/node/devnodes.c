// SPDX-License-Identifier: GPL-2.0-or-later
/* Expected device nodes. The driver creates none itself (no class device, so no devtmpfs node):
 * nvidia-modprobe or the user-space libraries mknod them, and they can be missing or stale. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "macro.h"
#include "node/devnodes.h"
#include "parse-util.h"
#include "root.h"
#include "string-util.h"

int procdevices_char_major(const char *text, const char *name, unsigned *ret)
{
	bool in_char = false;

	for (const char *p = text; p && *p;) {
		const char *end = strchrnul(p, '\n');
		char line[256], *sp;
		unsigned major;

		snprintf(line, sizeof(line), "%.*s", (int)(end - p), p);
		p = *end ? end + 1 : end;
		if (streq(line, "Character devices:")) {
			in_char = true;
			continue;
		}
		if (!*strstrip(line) || endswith(line, "devices:")) {
			in_char = false;
			continue;
		}
		if (!in_char)
			continue;
		sp = strpbrk(strstrip(line), " \t");
		if (!sp)
			return -EBADMSG;
		*sp = 0;
		if (safe_atou_base(line, 10, &major) < 0)
			return -EBADMSG;
		if (streq(strstrip(sp + 1), name)) {
			*ret = major;
			return 0;
		}
	}
	return -ENOENT;
}

int devnode_list_add(struct gk_devnode_list *l, const char *path, unsigned major, unsigned minor)
{
	struct gk_devnode *n = realloc(l->nodes, sizeof(*n) * (l->n + 1));

	if (!n)
		return -ENOMEM;
	l->nodes = n;
	n = &l->nodes[l->n++];
	*n = (struct gk_devnode){.major = major, .minor = minor, .status = GK_NODE_MISSING};
	snprintf(n->path, sizeof(n->path), "%s", path);
	return 0;
}

void devnode_list_done(struct gk_devnode_list *l)
{
	free(l->nodes);
	*l = (struct gk_devnode_list){};
}

void devnode_list_check(int rootfd, struct gk_devnode_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		struct gk_devnode *n = &l->nodes[i];
		struct stat st;

		if (fstatat(rootfd, root_rel(n->path), &st, 0) < 0) {
			n->status = errno == ENOENT ? GK_NODE_MISSING : GK_NODE_UNREADABLE;
			continue;
		}
		if (!S_ISCHR(st.st_mode)) {
			n->status = GK_NODE_WRONG_TYPE;
			continue;
		}
		n->found_major = major(st.st_rdev);
		n->found_minor = minor(st.st_rdev);
		n->status = n->found_major == n->major && n->found_minor == n->minor
				    ? GK_NODE_OK
				    : GK_NODE_WRONG_NUMBERS;
	}
}

const char *devnode_status_to_string(enum gk_node_status s)
{
	static const char *const names[] = {
		[GK_NODE_OK] = "ok",
		[GK_NODE_MISSING] = "missing",
		[GK_NODE_WRONG_TYPE] = "wrong-type",
		[GK_NODE_WRONG_NUMBERS] = "wrong-numbers",
		[GK_NODE_UNREADABLE] = "unreadable",
	};

	return (size_t)s < ELEMENTSOF(names) ? names[s] : "unknown";
}
