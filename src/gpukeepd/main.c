// SPDX-License-Identifier: GPL-2.0-or-later
/* gpukeepd: keeps every GPU initialized by holding its device file open. Start-up order: parse,
 * log, root-only work (directories, pid file, socket), drop privileges for good, then the event
 * loop. It never forks: init systems supervise it directly (systemd Type=notify); only in
 * nvidia-persistenced's mode does the command start the daemon again and return (compat.c). */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "compat.h"
#include "config.h"
#include "core/gk-exit.h"
#include "log.h"
#include "loop.h"
#include "notify.h"
#include "privs.h"
#include "root.h"
#include "rpc.h"
#include "string-util.h"
#include "time-util.h"

static struct gkd_config cfg = {
	.root = "/",
	.runtime_dir = "/var/run/gpukeep",
	.state_dir = "/var/lib/gpukeep",
	.persistence = true,
	.open_timeout_ms = 20000,
	.client_timeout_ms = 10000,
	.max_clients = 256,
	.max_clients_per_uid = 32,
};
static char *arg_socket, *arg_pid;

static void help(void)
{
	printf("usage: gpukeepd [OPTIONS]\n\n"
	       "Keeps every NVIDIA GPU initialized by holding its device file open, and serves\n"
	       "persistence-mode requests (gpukeep pm, gpukeep status) on a UNIX socket.\n\n"
	       "  -u, --user USER            drop root to USER after start-up\n"
	       "  -g, --group GROUP          run as GROUP; its members may change persistence\n"
	       "      --persistence-mode     persistence on for GPUs not in the state file "
	       "(default)\n"
	       "      --no-persistence-mode  persistence off for GPUs not in the state file\n"
	       "      --uvm-persistence-mode also hold /dev/nvidia-uvm while any GPU is held\n"
	       "      --runtime-dir DIR      socket and pid file (default /var/run/gpukeep)\n"
	       "      --socket PATH          the control socket (default RUNTIME-DIR/socket)\n"
	       "      --state-dir DIR        remembered modes (default /var/lib/gpukeep)\n"
	       "      --root DIR             find /dev, /proc and /sys under DIR (tests)\n"
	       "      --open-timeout SEC     deadline for one device open (default 20)\n"
	       "      --client-timeout SEC   time a client has to send a request (default 10)\n"
	       "      --max-clients N        connections in all (default 256)\n"
	       "      --max-clients-per-uid N  connections per non-root uid (default 32)\n"
	       "  -V, --verbose              log debug messages\n");
	compat_help();
	printf("  -f, --foreground           log to stderr instead of syslog\n"
	       "  -n, --check                check the options, print the configuration, exit\n"
	       "  -h, --help                 show this help\n"
	       "  -v, --version              show the version\n\n"
	       "exit codes: 0 stopped by SIGTERM/SIGINT, 1 failed, 2 usage, 3 another instance "
	       "runs\n");
}

static int usage(const char *fmt, ...) _printf_(1, 2);
static int usage(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "gpukeepd: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\ntry 'gpukeepd --help'\n");
	return -EINVAL;
}

static int parse_seconds(const char *s, const char *opt, unsigned *ret_ms)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v < 0.01 || v > 86400)
		return usage("%s: expected seconds between 0.01 and 86400", opt);
	*ret_ms = (unsigned)(v * 1000 + 0.5);
	return 0;
}

static int parse_count(const char *s, const char *opt, unsigned *ret)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || v < 1 || v > 65536)
		return usage("%s: expected a number between 1 and 65536", opt);
	*ret = (unsigned)v;
	return 0;
}

enum {
	OPT_PM = 0x100,
	OPT_NO_PM,
	OPT_UVM,
	OPT_NO_UVM,
	OPT_RUNTIME,
	OPT_SOCKET,
	OPT_STATE,
	OPT_ROOT,
	OPT_OPEN_TIMEOUT,
	OPT_CLIENT_TIMEOUT,
	OPT_MAX_CLIENTS,
	OPT_MAX_PER_UID,
};

static const struct option options[] = {
	{"user", required_argument, NULL, 'u'},
	{"group", required_argument, NULL, 'g'},
	{"persistence-mode", no_argument, NULL, OPT_PM},
	{"no-persistence-mode", no_argument, NULL, OPT_NO_PM},
	{"uvm-persistence-mode", no_argument, NULL, OPT_UVM},
	{"no-uvm-persistence-mode", no_argument, NULL, OPT_NO_UVM},
	{"runtime-dir", required_argument, NULL, OPT_RUNTIME},
	{"socket", required_argument, NULL, OPT_SOCKET},
	{"state-dir", required_argument, NULL, OPT_STATE},
	{"root", required_argument, NULL, OPT_ROOT},
	{"open-timeout", required_argument, NULL, OPT_OPEN_TIMEOUT},
	{"client-timeout", required_argument, NULL, OPT_CLIENT_TIMEOUT},
	{"max-clients", required_argument, NULL, OPT_MAX_CLIENTS},
	{"max-clients-per-uid", required_argument, NULL, OPT_MAX_PER_UID},
	{"verbose", no_argument, NULL, 'V'},
	{"foreground", no_argument, NULL, 'f'},
	{"check", no_argument, NULL, 'n'},
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, 'v'},
	{},
};

static int parse_option(int c, const char *arg)
{
	switch (c) {
	case 'u':
		cfg.user = arg;
		break;
	case 'g':
		cfg.group = arg;
		break;
	case OPT_PM:
		cfg.persistence = true;
		break;
	case OPT_NO_PM:
		cfg.persistence = false;
		break;
	case OPT_UVM:
		cfg.uvm = true;
		break;
	case OPT_NO_UVM:
		cfg.uvm = false;
		break;
	case OPT_RUNTIME:
		cfg.runtime_dir = arg;
		break;
	case OPT_SOCKET:
		cfg.socket_path = arg;
		break;
	case OPT_STATE:
		cfg.state_dir = arg;
		break;
	case OPT_ROOT:
		cfg.root = arg;
		break;
	case OPT_OPEN_TIMEOUT:
		return parse_seconds(arg, "--open-timeout", &cfg.open_timeout_ms);
	case OPT_CLIENT_TIMEOUT:
		return parse_seconds(arg, "--client-timeout", &cfg.client_timeout_ms);
	case OPT_MAX_CLIENTS:
		return parse_count(arg, "--max-clients", &cfg.max_clients);
	case OPT_MAX_PER_UID:
		return parse_count(arg, "--max-clients-per-uid", &cfg.max_clients_per_uid);
	case 'V':
		cfg.verbose = true;
		break;
	case 'f':
		cfg.foreground = true;
		break;
	case 'n':
		cfg.check_only = true;
		break;
	default:
		/* nvidia-persistenced's options and the RPC socket's (compat.c) */
		return compat_option(c, arg, &cfg) > 0 ? 0 : -EINVAL;
	}
	return 0;
}

/* Returns 1 to run, 0 to exit successfully (--help, --version), -EINVAL on usage errors. */
static int parse_argv(int argc, char **argv)
{
	_cleanup_free_ struct option *all = options_join(options, compat_options);
	int c, r;

	if (!all)
		return -ENOMEM;
	while ((c = getopt_long(argc, argv, "u:g:Vfnhv", all, NULL)) >= 0) {
		if (c == 'h') {
			help();
			return 0;
		}
		if (c == 'v') {
			printf("gpukeepd %s\n", GK_VERSION);
			return 0;
		}
		if (c == '?')
			return usage("%s", "invalid option");
		r = parse_option(c, optarg);
		if (r < 0)
			return r;
	}
	if (optind < argc)
		return usage("unexpected argument '%s'", argv[optind]);
	if (cfg.runtime_dir[0] != '/' || cfg.state_dir[0] != '/')
		return usage("%s", "--runtime-dir and --state-dir must be absolute paths");
	arg_socket = cfg.socket_path ? strdup(cfg.socket_path)
				     : strdup_printf("%s/socket", cfg.runtime_dir);
	arg_pid = strdup_printf("%s/gpukeepd.pid", cfg.runtime_dir);
	if (!arg_socket || !arg_pid)
		return -ENOMEM;
	cfg.socket_path = arg_socket;
	cfg.pid_path = arg_pid;
	return compat_finish(&cfg, argv[0]) < 0 ? -EINVAL : 1;
}

static void print_config(const struct ids *ids)
{
	printf("gpukeepd %s: configuration OK\n", GK_VERSION);
	printf("root                  %s\n", cfg.root);
	printf("runtime-dir           %s\n", cfg.runtime_dir);
	printf("socket                %s (mode 0666; changes need root%s%s)\n", cfg.socket_path,
	       cfg.group ? " or group " : "", strempty(cfg.group));
	printf("pid-file              %s\n", cfg.pid_path);
	printf("state-dir             %s (file %s)\n", cfg.state_dir, GK_PMSTATE_FILE);
	printf("user                  %s (uid %u)\n", cfg.user ? cfg.user : "(unchanged)",
	       (unsigned)ids->uid);
	printf("group                 %s (gid %u)\n", cfg.group ? cfg.group : "(user's primary)",
	       (unsigned)ids->gid);
	printf("persistence-mode      %s (GPUs the state file does not name)\n",
	       cfg.persistence ? "on" : "off");
	printf("uvm-persistence-mode  %s\n", cfg.uvm ? "on" : "off");
	printf("open-timeout          %.2f s\n", cfg.open_timeout_ms / 1000.0);
	printf("client-timeout        %.2f s\n", cfg.client_timeout_ms / 1000.0);
	printf("max-clients           %u (%u per non-root uid; %u held back for root and the "
	       "group)\n",
	       cfg.max_clients, cfg.max_clients_per_uid, clients_held_back(cfg.max_clients));
	printf("logging               %s%s\n", cfg.foreground ? "stderr" : "syslog (LOG_DAEMON)",
	       cfg.verbose ? ", verbose" : "");
	compat_print_config(&cfg);
}

/* Each client is one fd: keep the cap well under the fd limit, so that accept() never fails with
 * EMFILE (the listening socket would then stay readable and spin the loop). */
static void clamp_clients(void)
{
	struct rlimit rl;
	rlim_t room;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
		return;
	room = rl.rlim_cur > 512 ? rl.rlim_cur - 256 : rl.rlim_cur / 2;
	if (cfg.nvpd_socket_path) /* the cap applies to each socket */
		room /= 2;
	if (cfg.max_clients <= room)
		return;
	log_warning("--max-clients %u is over what the fd limit (%llu) allows: using %llu",
		    cfg.max_clients, (unsigned long long)rl.rlim_cur, (unsigned long long)room);
	cfg.max_clients = (unsigned)room;
}

static int signals_setup(void)
{
	sigset_t mask;
	int fd;

	/* A client that closes early must cost us an EPIPE, never the process. */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	/* Blocked before any worker thread exists, so that every thread inherits the mask. */
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		return -errno;
	fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	return fd < 0 ? -errno : fd;
}

static int dir_error(int r, const char *opt, const char *path, const char *why)
{
	if (r == -EPERM && why[0])
		return log_error_errno(r, "refusing %s %s: %s", opt, path, why);
	return log_error_errno(r, "cannot prepare %s %s: %m", opt, path);
}

/* Root-only work: everything that needs a path under /var/run or /var/lib as root. */
static int root_work(struct gkd *d, const struct ids *ids, int *ret_pidfd, int *ret_statefd)
{
	char why[256] = "";
	pid_t other = 0;
	int r;

	r = dir_prepare(cfg.runtime_dir, ids->uid, ids->gid, NULL, why, sizeof(why));
	if (r < 0)
		return dir_error(r, "--runtime-dir", cfg.runtime_dir, why);
	r = rpc_prepare_dir(&cfg, ids->uid, ids->gid);
	if (r < 0)
		return r;
	r = pidfile_acquire(cfg.pid_path, ids->uid, ids->gid, &other);
	if (r == -EBUSY) {
		log_error("another gpukeepd (pid %d) holds %s", (int)other, cfg.pid_path);
		return -EBUSY;
	}
	if (r < 0)
		return log_error_errno(r, "cannot create the pid file %s: %m", cfg.pid_path);
	*ret_pidfd = r;
	r = server_socket_open(cfg.socket_path, ids->uid, ids->gid, &d->listenfd);
	if (r < 0)
		return log_error_errno(r, "cannot listen on %s: %m", cfg.socket_path);
	r = rpc_socket_open(&cfg, ids->uid, ids->gid, &d->rpcfd);
	if (r < 0)
		return r;
	r = dir_prepare(cfg.state_dir, ids->uid, ids->gid, ret_statefd, why, sizeof(why));
	if (r < 0)
		return dir_error(r, "--state-dir", cfg.state_dir, why);
	d->notifyfd = notify_open();
	if (d->notifyfd < 0 && d->notifyfd != -ENOENT)
		log_warning_errno(d->notifyfd, "cannot reach $NOTIFY_SOCKET: %m");
	return 0;
}

static void load_state(int statefd, struct gk_pmstate *ret)
{
	char err[200];
	int r;

	r = pmstate_load(statefd, GK_PMSTATE_FILE, ret, err, sizeof(err));
	if (r == -EBADMSG)
		log_error("state file %s/%s is corrupt (%s): ignored; every GPU starts with the "
			  "default mode and the file is rewritten at the next change",
			  cfg.state_dir, GK_PMSTATE_FILE, err);
	else if (r < 0 && r != -ENOENT)
		log_error_errno(r, "cannot read state file %s/%s: %m; ignored", cfg.state_dir,
				GK_PMSTATE_FILE);
}

static int start(struct gkd *d, const struct ids *ids, int rootfd, int statefd)
{
	struct gk_pmstate pm = {};
	int r;

	load_state(statefd, &pm);
	r = privs_drop(ids);
	if (r < 0)
		return r;
	/* Threads only after the drop: setresuid() signals every thread, and one blocked in a
	 * driver open() would never answer. */
	d->openerfd = opener_init(rootfd, cfg.open_timeout_ms * 1000ULL, streq(cfg.root, "/"));
	if (d->openerfd < 0)
		return log_error_errno(d->openerfd, "cannot set up the opener: %m");
	gpus_init(&d->gpus, rootfd, statefd, &pm, cfg.persistence, cfg.uvm);
	r = gpus_enumerate(&d->gpus, NULL, NULL);
	if (r < 0)
		return log_error_errno(r, "cannot read the PCI devices under %s: %m", cfg.root);
	log_info("started: %zu GPUs, socket %s", d->gpus.n, cfg.socket_path);
	return loop_run(d);
}

static int run(const struct ids *ids)
{
	struct gkd d = {.cfg = &cfg,
			.epfd = -EBADF,
			.listenfd = -EBADF,
			.rpcfd = -EBADF,
			.openerfd = -EBADF,
			.notifyfd = -EBADF,
			.started = now_us()};
	_cleanup_close_ int rootfd = -EBADF, pidfd = -EBADF, statefd = -EBADF;
	int r;

	d.auth_group = cfg.group != NULL;
	d.auth_gid = ids->gid;
	rootfd = root_open(cfg.root);
	if (rootfd < 0)
		return log_error_errno(rootfd, "cannot open root directory %s: %m", cfg.root);
	d.sigfd = signals_setup();
	if (d.sigfd < 0)
		return log_error_errno(d.sigfd, "cannot set up signals: %m");
	r = root_work(&d, ids, &pidfd, &statefd);
	if (r >= 0)
		r = start(&d, ids, rootfd, statefd);
	safe_close(d.listenfd);
	safe_close(d.rpcfd); /* still ours when the loop did not start */
	/* The socket and the pid file are ours only if we got the lock. */
	if (pidfd >= 0 && unlink(cfg.socket_path) < 0 && errno != ENOENT)
		log_warning_errno(errno, "cannot remove %s: %m", cfg.socket_path);
	if (pidfd >= 0 && unlink(cfg.pid_path) < 0)
		log_warning_errno(errno, "cannot remove %s: %m", cfg.pid_path);
	rpc_socket_remove(&cfg);
	gpus_done(&d.gpus);
	safe_close(d.sigfd);
	safe_close(d.notifyfd);
	opener_done();
	return r;
}

int main(int argc, char **argv)
{
	struct ids ids;
	int r;

	log_set_program("gpukeepd");
	r = parse_argv(argc, argv);
	if (r <= 0)
		return r < 0 ? GK_EXIT_USAGE : GK_EXIT_OK;
	log_set_max_level(cfg.verbose ? LOG_DEBUG : LOG_INFO);
	if (!cfg.foreground && !cfg.check_only)
		log_set_target(LOG_TARGET_SYSLOG);
	r = ids_resolve(cfg.user, cfg.group, &ids);
	if (r < 0)
		return GK_EXIT_USAGE;
	clamp_clients();
	if (cfg.check_only) {
		print_config(&ids);
		return GK_EXIT_OK;
	}
	r = compat_daemonize(&cfg, argv);
	if (r != 0)
		return r > 0 ? GK_EXIT_OK : GK_EXIT_FAILED;
	r = run(&ids);
	free(arg_socket);
	free(arg_pid);
	if (r == -EBUSY)
		return GK_EXIT_PRECONDITION;
	return r < 0 ? GK_EXIT_FAILED : GK_EXIT_OK;
}
