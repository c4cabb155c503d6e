/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The NVIDIA device nodes a loaded driver needs, and whether they exist with the right numbers. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define GK_NVIDIA_MAJOR		195 /* NV_MAJOR_DEVICE_NUMBER: "nvidia-frontend" */
#define GK_NVIDIACTL_MINOR	255 /* NV_CTL_DEVICE_NUM */
#define GK_NVIDIA_MODESET_MINOR 254 /* NV_MODESET_MINOR_DEVICE_NUM */

enum gk_node_status {
	GK_NODE_OK,
	GK_NODE_MISSING,
	GK_NODE_WRONG_TYPE,
	GK_NODE_WRONG_NUMBERS,
	GK_NODE_UNREADABLE,
};

struct gk_devnode {
	char path[64];	       /* "/dev/nvidia0" */
	unsigned major, minor; /* expected */
	enum gk_node_status status;
	unsigned found_major, found_minor; /* when status is OK or WRONG_NUMBERS */
};

struct gk_devnode_list {
	struct gk_devnode *nodes;
	size_t n;
};

/*
 * Finds the character major registered as @name in the text of /proc/devices.
 * Returns 0, -ENOENT when not registered, -EBADMSG on a malformed line.
 */
int procdevices_char_major(const char *text, const char *name, unsigned *ret);

/* Appends an expected node (status MISSING until checked). Returns 0 or -ENOMEM. */
int devnode_list_add(struct gk_devnode_list *l, const char *path, unsigned major, unsigned minor);

/* Frees the list's nodes and empties it. */
void devnode_list_done(struct gk_devnode_list *l);

/* Stats every node under @rootfd and sets its status. */
void devnode_list_check(int rootfd, struct gk_devnode_list *l);

const char *devnode_status_to_string(enum gk_node_status s);
