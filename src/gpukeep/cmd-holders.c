// SPDX-License-Identifier: GPL-2.0-or-later
/* gpukeep holders: which processes hold NVIDIA device files, and what to stop to free them. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/gk-exit.h"
#include "log.h"
#include "node/cgroup.h"
#include "node/holders-json.h"
#include "node/holders-stop.h"
#include "node/holders.h"
#include "node/nodeset.h"
#include "node/nvswitch.h"
#include "output.h"
#include "root.h"
#include "string-util.h"
#include "verbs.h"

#define COMMAND_WIDTH 40

static void holders_help(void)
{
	printf("usage: gpukeep holders [--root DIR] [--json]\n\n"
	       "Lists every process that holds an NVIDIA device file (/dev/nvidia*, "
	       "nvidia-caps/*,\n"
	       "nvidia-caps-imex-channels/*) open or mapped, matched by device number, with its\n"
	       "user, state, systemd unit or container, and says what to stop before the driver\n"
	       "can be unloaded. A process in state D cannot be killed. The fabric manager of an\n"
	       "NVSwitch node (the holder of the NVSwitch device files) is named: stop it last.\n\n"
	       "  --root DIR  read /dev and /proc under DIR (default /)\n"
	       "  --json      print JSON (schema gpukeep.holders, version 1)\n"
	       "  -h, --help  show this help\n\n"
	       "exit codes: 0 scanned (with or without holders), 1 the scan failed, 2 usage\n");
}

/* "docker:0123456789ab", the unit, or "-". */
static void format_owner(const struct gk_holder *h, char *buf, size_t n)
{
	if (h->container_id)
		snprintf(buf, n, "%s:%.*s", h->container_runtime, CGROUP_SHORT_ID_LEN,
			 h->container_id);
	else
		snprintf(buf, n, "%s", h->unit ? h->unit : "-");
}

static void format_user(const struct gk_holder *h, char *buf, size_t n)
{
	if (h->user)
		snprintf(buf, n, "%s", h->user);
	else
		snprintf(buf, n, "%u", (unsigned)h->uid);
}

/* The command line cut to COMMAND_WIDTH; "[comm]" when it is empty (zombie, kernel thread). */
static void format_command(const struct gk_holder *h, char *buf, size_t n)
{
	if (!h->cmdline[0])
		snprintf(buf, n, "[%s]", h->comm);
	else if (strlen(h->cmdline) > COMMAND_WIDTH)
		snprintf(buf, n, "%.*s...", COMMAND_WIDTH - 3, h->cmdline);
	else
		snprintf(buf, n, "%s", h->cmdline);
}

static void print_devices(const struct gk_holder *h)
{
	static const char *const how[] = {"", "fd", "mmap", "fd+mmap"};

	for (size_t i = 0; i < h->n_devices; i++) {
		const char *p = startswith(h->devices[i].path, "/dev/");

		printf("%s%s(%s)", i ? " " : "", p ? p : h->devices[i].path,
		       how[h->devices[i].how & 3]);
	}
	printf("\n");
}

struct widths {
	int pid, user, owner, command;
};

static void measure(const struct gk_holders *hs, struct widths *w)
{
	*w = (struct widths){.pid = 3, .user = 4, .owner = 14, .command = 7};
	for (size_t i = 0; i < hs->n; i++) {
		const struct gk_holder *h = &hs->holders[i];
		char buf[128];
		int k;

		k = snprintf(buf, sizeof(buf), "%d", (int)h->pid);
		w->pid = k > w->pid ? k : w->pid;
		format_user(h, buf, sizeof(buf));
		w->user = (int)strlen(buf) > w->user ? (int)strlen(buf) : w->user;
		format_owner(h, buf, sizeof(buf));
		w->owner = (int)strlen(buf) > w->owner ? (int)strlen(buf) : w->owner;
		format_command(h, buf, sizeof(buf));
		w->command = (int)strlen(buf) > w->command ? (int)strlen(buf) : w->command;
	}
}

static void print_table(const struct gk_holders *hs)
{
	struct widths w;

	measure(hs, &w);
	printf("%*s  %-*s  %-5s  %-*s  %-*s  %s\n", w.pid, "PID", w.user, "USER", "STATE", w.owner,
	       "UNIT/CONTAINER", w.command, "COMMAND", "DEVICES");
	for (size_t i = 0; i < hs->n; i++) {
		const struct gk_holder *h = &hs->holders[i];
		char user[128], owner[128], command[128];

		format_user(h, user, sizeof(user));
		format_owner(h, owner, sizeof(owner));
		format_command(h, command, sizeof(command));
		printf("%*d  %-*s  %-5c  %-*s  %-*s  ", w.pid, (int)h->pid, w.user, user, h->state,
		       w.owner, owner, w.command, command);
		print_devices(h);
	}
}

static int print_text(const struct gk_holders *hs, const struct gk_nodeset *nodes, const char *dev)
{
	_cleanup_strv_free_ char **stop = NULL;
	int r;

	if (nodes->n == 0) {
		printf("no NVIDIA device nodes under %s: nothing can hold the driver\n", dev);
		return 0;
	}
	if (hs->n == 0) {
		printf("no process holds an NVIDIA device file (%zu nodes under %s checked)\n",
		       nodes->n, dev);
		return 0;
	}
	print_table(hs);
	r = holders_stop_list(hs, &stop);
	if (r < 0)
		return r;
	printf("\nstop these before unloading the driver: ");
	for (char **s = stop; *s; s++)
		printf("%s%s", *s, s[1] ? "; " : "\n");
	for (size_t i = 0; i < hs->n; i++)
		if (hs->holders[i].unkillable)
			printf("pid %d is unkillable: in uninterruptible sleep (D), no signal "
			       "ends it, and the driver stays in use until it returns\n",
			       (int)hs->holders[i].pid);
	for (size_t i = 0; i < hs->n; i++)
		if (holder_is_fabric_manager(&hs->holders[i]))
			printf("pid %d (%s) is the fabric manager: stop it last, after every GPU "
			       "process, and start it again after the load ('gpukeep reload' "
			       "does both)\n",
			       (int)hs->holders[i].pid, hs->holders[i].comm);
	return 0;
}

static int print_json(const struct gk_holders *hs)
{
	struct json_object *o = holders_to_json(hs);
	int r;

	if (!o)
		return -ENOMEM;
	r = output_json(o);
	json_object_put(o);
	return r;
}

/* Scans and prints; returns a gk_exit code. @root is as given, for messages. */
static int run(const char *root, bool json)
{
	_cleanup_nodeset_free_ struct gk_nodeset *nodes = NULL;
	_cleanup_holders_free_ struct gk_holders *hs = NULL;
	_cleanup_close_ int rootfd = -EBADF;
	_cleanup_free_ char *dev = NULL, *proc = NULL;
	const char *sep = endswith(root, "/") ? "" : "/";
	int r;

	dev = strdup_printf("%s%sdev", root, sep);
	proc = strdup_printf("%s%sproc", root, sep);
	if (!dev || !proc) {
		log_error_errno(-ENOMEM, "out of memory: %m");
		return GK_EXIT_FAILED;
	}
	rootfd = root_open(root);
	if (rootfd < 0) {
		log_error_errno(rootfd, "cannot open root directory %s: %m", root);
		return GK_EXIT_FAILED;
	}
	r = nodeset_scan(rootfd, &nodes);
	if (r < 0) {
		log_error_errno(r, "cannot read the device nodes in %s: %m", dev);
		return GK_EXIT_FAILED;
	}
	r = holders_scan(rootfd, nodes, getpid(), &hs);
	if (r < 0) {
		log_error_errno(r, "cannot scan the processes in %s: %m", proc);
		return GK_EXIT_FAILED;
	}
	r = json ? print_json(hs) : print_text(hs, nodes, dev);
	if (r >= 0 && (fflush(stdout) != 0 || ferror(stdout)))
		r = -EIO;
	if (r < 0) {
		log_error_errno(r, "cannot write the holder list: %m");
		return GK_EXIT_FAILED;
	}
	if (hs->inaccessible > 0 && geteuid() != 0)
		log_warning("note: %u process%s could not be inspected; run as root",
			    hs->inaccessible, hs->inaccessible == 1 ? "" : "es");
	else if (hs->inaccessible > 0)
		log_warning("note: %u process%s could not be inspected, even as root (another "
			    "user namespace or a security module)",
			    hs->inaccessible, hs->inaccessible == 1 ? "" : "es");
	return GK_EXIT_OK;
}

int verb_holders(int argc, char **argv)
{
	const char *root = "/";
	bool json = false;
	int r;

	r = parse_root_json_options("holders", argc, argv, holders_help, &root, &json);
	if (r >= 0)
		return r;
	if (!root[0])
		return usage_error("holders", "--root needs a directory");
	return run(root, json);
}
