// SPDX-License-Identifier: GPL-2.0-or-later
/* gpukeep watch: the remediation ladder, automatic. Follows the kernel log (and probes the
 * node), decides with the ladder's policy, and in --act mode runs the rungs behind the guards. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "core/gk-exit.h"
#include "fileio.h"
#include "ladder/watcher.h"
#include "lockfile.h"
#include "log.h"
#include "output.h"
#include "string-util.h"
#include "verbs.h"
#include "watch-kmsg.h"
#include "watch-loop.h"
#include "watch-ops.h"

#define DEFAULT_STATE_DIR "/var/lib/gpukeep"
#define BOOT_ID_PATH	  "/proc/sys/kernel/random/boot_id"

static void watch_help(void)
{
	printf("usage: gpukeep watch [--observe|--act] [--once] [--kmsg PATH] [--from-start]\n"
	       "                     [--config FILE] [--catalog FILE] [--state-dir DIR]\n"
	       "                     [--textfile-dir DIR] [--json] [--print]\n"
	       "       gpukeep watch --reset-guard [--state-dir DIR]\n\n"
	       "Follows the kernel log from its end for NVIDIA Xid, SXid and fallen-off-the-bus\n"
	       "lines, decides with NVIDIA's Xid catalog which rung of the ladder each fault\n"
	       "needs (1 reset the GPU, 2 reload the driver, 3 drain and reboot), and with --act\n"
	       "runs it, behind guards: a circuit breaker, one reboot per fault per boot, the\n"
	       "budget reserved before acting, no retry of an action whose outcome is unknown.\n\n"
	       "  --observe          decide and report, change nothing (the default)\n"
	       "  --act              run the rungs\n"
	       "  --once             handle what is in the log now, then exit\n"
	       "  --kmsg PATH        read PATH (records in /dev/kmsg's format) instead of "
	       "/dev/kmsg\n"
	       "  --from-start       handle the records already there too (default: from the end,\n"
	       "                     or after the last record handled in this boot)\n"
	       "  --config FILE      settings (default " GK_WATCH_CONFIG_PATH ", when present)\n"
	       "  --catalog FILE     the Xid catalog (default from the configuration)\n"
	       "  --state-dir DIR    guards, position and event log (default " DEFAULT_STATE_DIR
	       ")\n"
	       "  --textfile-dir DIR write gpukeep-watch.prom there for node_exporter\n"
	       "  --json             print events as JSON lines (with --once or --print)\n"
	       "  --print            print events to stdout while following\n"
	       "  --reset-guard      close the circuit breaker and forget the actions it counted\n"
	       "  --boot-id ID       take ID as this boot's id (tests; default " BOOT_ID_PATH
	       ")\n\n"
	       "exit codes: 0 done; 1 the kernel log could not be read; 2 usage; 3 refused before\n"
	       "starting (bad configuration, catalog or state); 4 (--once) the node was marked\n"
	       "unhealthy: it needs a person or rung 3\n");
}

static int parse_args(int argc, char **argv, struct watch_args *a)
{
	static const struct option opts[] = {
		{"observe", no_argument, NULL, 'o'},
		{"act", no_argument, NULL, 'a'},
		{"once", no_argument, NULL, '1'},
		{"kmsg", required_argument, NULL, 'k'},
		{"from-start", no_argument, NULL, 'f'},
		{"config", required_argument, NULL, 'c'},
		{"catalog", required_argument, NULL, 'C'},
		{"state-dir", required_argument, NULL, 's'},
		{"textfile-dir", required_argument, NULL, 't'},
		{"json", no_argument, NULL, 'j'},
		{"print", no_argument, NULL, 'p'},
		{"reset-guard", no_argument, NULL, 'R'},
		{"boot-id", required_argument, NULL, 'B'},
		{"help", no_argument, NULL, 'h'},
		{},
	};
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) >= 0) {
		switch (c) {
		case 'o':
			a->act = false;
			break;
		case 'a':
			a->act = true;
			break;
		case '1':
			a->once = true;
			break;
		case 'k':
			a->kmsg = optarg;
			break;
		case 'f':
			a->from_start = true;
			break;
		case 'c':
			a->config = optarg;
			a->config_given = true;
			break;
		case 'C':
			a->catalog = optarg;
			break;
		case 's':
			a->state_dir = optarg;
			break;
		case 't':
			a->textfile_dir = optarg;
			break;
		case 'j':
			a->json = true;
			break;
		case 'p':
			a->print = true;
			break;
		case 'R':
			a->reset_guard = true;
			break;
		case 'B':
			if (!*optarg || strlen(optarg) >= GK_BOOT_ID_LEN)
				return usage_error("watch", "--boot-id takes 1..%d characters",
						   GK_BOOT_ID_LEN - 1);
			a->boot_id = optarg;
			break;
		case 'h':
			watch_help();
			return GK_EXIT_OK;
		default:
			return usage_error("watch", "invalid option");
		}
	}
	if (optind < argc)
		return usage_error("watch", "unexpected argument '%s'", argv[optind]);
	return -1;
}

static int load_config(struct watch_args *a, struct gk_watch_config *cfg)
{
	_cleanup_free_ char *err = NULL;
	int r;

	r = watch_config_init(cfg, GK_DATADIR);
	if (r < 0)
		return log_error_errno(r, "cannot set up the configuration: %m"), GK_EXIT_FAILED;
	/* from the build tree, before 'meson install', the catalog is in the sources */
	if (access(cfg->catalog, R_OK) < 0 &&
	    access(GK_SOURCE_DATADIR "/xid-catalog.json", R_OK) == 0) {
		free(cfg->catalog);
		cfg->catalog = strdup(GK_SOURCE_DATADIR "/xid-catalog.json");
	}
	r = watch_config_load(cfg, a->config, &err);
	if (r == -ENOENT && !a->config_given)
		r = 0;
	if (r < 0) {
		log_error("configuration %s: %s; fix it (man gpukeep, WATCH CONFIGURATION)",
			  a->config, err ? err : strerror(-r));
		return GK_EXIT_PRECONDITION;
	}
	if (a->catalog) {
		free(cfg->catalog);
		cfg->catalog = strdup(a->catalog);
	}
	return cfg->catalog ? -1 : GK_EXIT_FAILED;
}

static int read_boot_id(struct watch_args *a, char buf[GK_BOOT_ID_LEN])
{
	int r;

	if (a->boot_id) {
		snprintf(buf, GK_BOOT_ID_LEN, "%s", a->boot_id);
		return 0;
	}
	r = read_attr_at(AT_FDCWD, BOOT_ID_PATH, buf, GK_BOOT_ID_LEN);
	if (r < 0)
		return log_error_errno(r, "cannot read %s: %m", BOOT_ID_PATH);
	return 0;
}

static int reset_guard(struct watch_args *a, struct watch_ctx *c)
{
	struct gk_guard_state s;
	_cleanup_free_ char *err = NULL;
	struct json_object *ev;
	int r;

	r = guard_state_load(c->state_dirfd, &s, &err);
	if (r < 0 && r != -ENOENT) {
		log_error("%s/%s: %s; look at it, then remove it", a->state_dir,
			  GK_GUARD_STATE_FILE, err ? err : strerror(-r));
		return GK_EXIT_PRECONDITION;
	}
	guard_clear(&s, (int64_t)time(NULL));
	r = guard_state_save(c->state_dirfd, &s);
	if (r < 0)
		return log_error_errno(r, "cannot save %s/%s: %m", a->state_dir,
				       GK_GUARD_STATE_FILE),
		       GK_EXIT_FAILED;
	ev = watcher_event_new("guard-cleared");
	if (ev) {
		json_object_object_add(ev, "why",
				       json_object_new_string("gpukeep watch --reset-guard"));
		watch_ops.event(c, ev);
		json_object_put(ev);
	}
	printf("watch: circuit breaker closed; actions before now no longer count\n");
	return GK_EXIT_OK;
}

static int load_state(struct watch_args *a, struct watch_ctx *c, struct gk_guard_state *s)
{
	_cleanup_free_ char *err = NULL;
	int r = guard_state_load(c->state_dirfd, s, &err);

	if (r == -ENOENT)
		return 0;
	if (r < 0) {
		/* never a silent fresh budget: a person looks first (ADR-056's rule) */
		log_error("the watcher's state %s/%s is unusable: %s; look at it, then remove it "
			  "(the guards start afresh) or fix it",
			  a->state_dir, GK_GUARD_STATE_FILE, err ? err : strerror(-r));
		return GK_EXIT_PRECONDITION;
	}
	return 0;
}

static int run(struct watch_args *a, struct watch_ctx *c, struct gk_watch_config *cfg)
{
	struct gk_catalog cat = {};
	struct gk_guard_state s = {};
	_cleanup_free_ char *err = NULL;
	char boot_id[GK_BOOT_ID_LEN];
	int r;

	r = catalog_load(cfg->catalog, &cat, &err);
	if (r < 0) {
		log_error("Xid catalog %s: %s; reinstall gpukeep or name another with --catalog",
			  cfg->catalog, err ? err : strerror(-r));
		return GK_EXIT_PRECONDITION;
	}
	r = load_state(a, c, &s);
	if (r == 0)
		r = read_boot_id(a, boot_id) < 0 ? GK_EXIT_FAILED : 0;
	if (r == 0)
		r = watch_loop(a, c, cfg, &cat, &s, boot_id);
	catalog_done(&cat);
	return r;
}

int verb_watch(int argc, char **argv)
{
	struct watch_args a = {
		.state_dir = DEFAULT_STATE_DIR,
		.config = GK_WATCH_CONFIG_PATH,
		.kmsg = "/dev/kmsg",
	};
	struct gk_watch_config cfg = {};
	struct watch_ctx c = {
		.cfg = &cfg, .state_dirfd = -EBADF, .syslog = true, .notify_fd = -EBADF};
	_cleanup_close_ int lockfd = -EBADF;
	char kmsg_path[PATH_MAX];
	pid_t holder = 0;
	ssize_t n;
	int r;

	r = parse_args(argc, argv, &a);
	if (r >= 0)
		return r;
	/* the position in the log is kept per log: name it the same way each time */
	if (!realpath(a.kmsg, kmsg_path)) {
		log_error_errno(-errno, "cannot open the kernel log %s: %m", a.kmsg);
		return GK_EXIT_FAILED;
	}
	a.kmsg = kmsg_path;
	r = load_config(&a, &cfg);
	if (r >= 0)
		goto out;
	c.state_dirfd = mkdir_p_open(a.state_dir);
	if (c.state_dirfd < 0) {
		log_error_errno(c.state_dirfd, "cannot open the state directory %s: %m",
				a.state_dir);
		r = GK_EXIT_PRECONDITION;
		goto out;
	}
	r = lockfile_take(c.state_dirfd, "watch.lock", &lockfd, &holder);
	if (r < 0) {
		if (r == -EBUSY)
			log_error("another watcher (pid %d) uses %s: stop it first, or send it "
				  "SIGUSR1 "
				  "to reset its guard",
				  (int)holder, a.state_dir);
		else
			log_error_errno(r, "cannot lock %s/watch.lock: %m", a.state_dir);
		r = GK_EXIT_PRECONDITION;
		goto out;
	}
	n = readlink("/proc/self/exe", c.self_exe, sizeof(c.self_exe) - 1);
	c.self_exe[n > 0 ? n : 0] = 0;
	r = eventlog_open(c.state_dirfd, cfg.event_log_max_bytes, cfg.event_log_keep, &c.log);
	if (r < 0) {
		log_error_errno(r, "cannot open the event log %s/%s: %m", a.state_dir,
				GK_EVENTLOG_FILE);
		r = GK_EXIT_PRECONDITION;
		goto out;
	}
	c.log_open = true;
	c.print = a.once || a.print;
	c.print_json = a.json;
	openlog("gpukeep-watch", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	r = a.reset_guard ? reset_guard(&a, &c) : run(&a, &c, &cfg);
	closelog();
out:
	if (c.log_open)
		eventlog_close(&c.log);
	safe_close(c.state_dirfd);
	watch_config_done(&cfg);
	return r;
}
