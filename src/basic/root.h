/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A root prefix: every /sys, /proc and /dev path is opened relative to one directory fd. */
#pragma once

/* Opens @dir ("/" when NULL) as the root prefix. Returns an O_PATH directory fd or -errno. */
int root_open(const char *dir);

/* "/sys/bus/pci" -> "sys/bus/pci": the form openat() needs to stay under the root fd. */
const char *root_rel(const char *abs_path);
