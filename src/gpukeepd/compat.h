/* SPDX-License-Identifier: GPL-2.0-or-later */
/* nvidia-persistenced's command line on gpukeepd: its options (those gpukeepd does not share
 * already), the RPC socket's options, and nvidia-persistenced's mode: its pid file, and a start
 * that returns once the daemon serves (what its Type=forking units and init scripts expect). */
#pragma once

#include <getopt.h>
#include <stdbool.h>

struct gkd_config;

/* Option codes from here up are compat_option()'s. */
#define COMPAT_OPT_BASE 0x400

/* The options compat_option() handles, terminated by an all-zero entry. */
extern const struct option compat_options[];

/* Joins @a and @b (each terminated by an all-zero entry) into one table; free() it. NULL: -ENOMEM.
 */
struct option *options_join(const struct option *a, const struct option *b);

/* Handles option @c with @arg. Returns 1 when it was one of compat_options, 0 when not. */
int compat_option(int c, const char *arg, struct gkd_config *cfg);

/* Lines for gpukeepd --help. */
void compat_help(void);

/*
 * After the command line is parsed: nvidia-persistenced's mode is on when the program was invoked
 * as "nvidia-persistenced" (@argv0) or with --nvpd-compat. Sets the RPC socket's default (on with
 * --root /, off under another root unless --nvpd-socket) and, in that mode, the pid file where
 * nvidia-persistenced's is: beside the RPC socket (/var/run/nvidia-persistenced/
 * nvidia-persistenced.pid by default). Returns 0 or -EINVAL (message printed).
 */
int compat_finish(struct gkd_config *cfg, const char *argv0);

/* Lines for gpukeepd --check. */
void compat_print_config(const struct gkd_config *cfg);

/*
 * In nvidia-persistenced's mode without --foreground (and outside systemd's Type=notify), the
 * daemon runs as a new process in its own session (started again with posix_spawn, not forked),
 * and this process waits until it serves. Returns 0 in the process that is to run the daemon, 1
 * in the waiting one once the daemon serves (it then exits 0), or -errno when the daemon could
 * not be started or did not become ready (message printed; exit 1).
 */
int compat_daemonize(const struct gkd_config *cfg, char **argv);

/* Tells the waiting parent (if any) that the daemon serves; later calls do nothing. */
void compat_ready(void);
