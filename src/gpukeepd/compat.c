// SPDX-License-Identifier: GPL-2.0-or-later
/* nvidia-persistenced's command line: every option of its table is accepted by gpukeepd in both
 * "--opt value" and "--opt=value" forms (getopt_long), with the "--no-" forms of its booleans.
 * --user, --group, --verbose, --help, --version and the (uvm-)persistence-mode pair are gpukeepd's
 * own options already (main.c); the rest is here. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "compat.h"
#include "log.h"
#include "loop.h"
#include "nvpd/nvpd-client.h"
#include "parse-util.h"
#include "string-util.h"
#include "time-util.h"

#define NVPD_RUNTIME_DIR "/var/run/nvidia-persistenced"
#define NVPD_PID_NAME	 "nvidia-persistenced.pid"
#define READY_FD_ENV	 "GKD_NVPD_READY_FD"
/* The daemon reports ready once its sockets are bound, before the GPUs' opens finish. */
#define READY_TIMEOUT_MS 60000

enum {
	OPT_NVCFG = COMPAT_OPT_BASE,
	OPT_NVPD_SOCKET,
	OPT_NO_NVPD_SOCKET,
	OPT_NVPD_COMPAT,
	OPT_NO_VERBOSE,
};

const struct option compat_options[] = {
	{"nvidia-cfg-path", required_argument, NULL, OPT_NVCFG},
	{"nvpd-socket", required_argument, NULL, OPT_NVPD_SOCKET},
	{"no-nvpd-socket", no_argument, NULL, OPT_NO_NVPD_SOCKET},
	{"nvpd-compat", no_argument, NULL, OPT_NVPD_COMPAT},
	{"no-verbose", no_argument, NULL, OPT_NO_VERBOSE},
	{},
};

static const char *arg_nvcfg;
static bool arg_compat, arg_no_socket, arg_socket_given;
static int ready_fd = -EBADF;
static char pid_path[PATH_MAX];

struct option *options_join(const struct option *a, const struct option *b)
{
	size_t na = 0, nb = 0;
	struct option *v;

	while (a[na].name)
		na++;
	while (b[nb].name)
		nb++;
	v = calloc(na + nb + 1, sizeof(*v));
	if (!v)
		return NULL;
	memcpy(v, a, na * sizeof(*v));
	memcpy(v + na, b, nb * sizeof(*v));
	return v;
}

int compat_option(int c, const char *arg, struct gkd_config *cfg)
{
	switch (c) {
	case OPT_NVCFG:
		arg_nvcfg = arg; /* libnvidia-cfg: gpukeepd opens the device files itself */
		return 1;
	case OPT_NVPD_SOCKET:
		cfg->nvpd_socket_path = arg;
		arg_socket_given = true;
		arg_no_socket = false;
		return 1;
	case OPT_NO_NVPD_SOCKET:
		arg_no_socket = true;
		return 1;
	case OPT_NVPD_COMPAT:
		arg_compat = true;
		return 1;
	case OPT_NO_VERBOSE:
		cfg->verbose = false;
		return 1;
	default:
		return 0;
	}
}

void compat_help(void)
{
	printf("      --nvpd-socket PATH     serve nvidia-persistenced's RPC there (default\n"
	       "                             %s; off under --root DIR)\n"
	       "      --no-nvpd-socket       do not serve nvidia-persistenced's RPC\n"
	       "      --nvpd-compat          nvidia-persistenced's mode (also when invoked by "
	       "that\n"
	       "                             name): its pid file, return once serving\n"
	       "      --nvidia-cfg-path PATH accepted from nvidia-persistenced's command line; "
	       "unused\n"
	       "      --no-verbose           the default\n",
	       NVPD_SOCKET_PATH);
}

static bool invoked_as_nvpd(const char *argv0)
{
	const char *base = argv0 ? strrchr(argv0, '/') : NULL;

	base = base ? base + 1 : argv0;
	return base && streq(base, "nvidia-persistenced");
}

int compat_finish(struct gkd_config *cfg, const char *argv0)
{
	const char *fd_env = getenv(READY_FD_ENV);
	unsigned fd;

	arg_compat = arg_compat || invoked_as_nvpd(argv0);
	if (arg_no_socket)
		cfg->nvpd_socket_path = NULL;
	else if (!arg_socket_given)
		cfg->nvpd_socket_path = streq(cfg->root, "/") ? NVPD_SOCKET_PATH : NULL;
	if (cfg->nvpd_socket_path && cfg->nvpd_socket_path[0] != '/') {
		fprintf(stderr, "gpukeepd: --nvpd-socket %s: expected an absolute path\n",
			cfg->nvpd_socket_path);
		return -EINVAL;
	}
	cfg->nvpd_socket_required = arg_socket_given || arg_compat;
	/* nvidia-persistenced's pid file lives beside its socket. */
	if (arg_compat && cfg->nvpd_socket_path) {
		const char *slash = strrchr(cfg->nvpd_socket_path, '/');

		snprintf(pid_path, sizeof(pid_path), "%.*s/" NVPD_PID_NAME,
			 (int)(slash - cfg->nvpd_socket_path), cfg->nvpd_socket_path);
		cfg->pid_path = pid_path;
	} else if (arg_compat)
		cfg->pid_path = NVPD_RUNTIME_DIR "/" NVPD_PID_NAME;
	if (fd_env && safe_atou_base(fd_env, 10, &fd) >= 0 && fd > 2) {
		ready_fd = (int)fd;
		fcntl(ready_fd, F_SETFD, FD_CLOEXEC);
	}
	unsetenv(READY_FD_ENV);
	return 0;
}

void compat_print_config(const struct gkd_config *cfg)
{
	printf("nvpd-socket           %s%s\n",
	       cfg->nvpd_socket_path ? cfg->nvpd_socket_path : "(not served)",
	       !cfg->nvpd_socket_path	   ? ""
	       : cfg->nvpd_socket_required ? " (failing to serve it is fatal)"
					   : " (a warning if it cannot be served)");
	printf("nvidia-persistenced   %s\n",
	       arg_compat ? "its mode: its pid file, returns once serving" : "-");
	if (arg_nvcfg)
		printf("nvidia-cfg-path       %s (accepted; not needed)\n", arg_nvcfg);
}

void compat_ready(void)
{
	if (arg_nvcfg) {
		log_info("--nvidia-cfg-path %s: accepted for nvidia-persistenced's command line; "
			 "gpukeepd opens the device files itself and needs no libnvidia-cfg",
			 arg_nvcfg);
		arg_nvcfg = NULL;
	}
	if (ready_fd < 0)
		return;
	(void)!write(ready_fd, "1", 1);
	ready_fd = safe_close(ready_fd);
}

/* Waits for the daemon's byte, or its end (EOF on the pipe), within READY_TIMEOUT_MS. */
static int wait_ready(int fd)
{
	uint64_t deadline = now_ms() + READY_TIMEOUT_MS;
	char c;

	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int left = deadline_left_ms(deadline);
		int k;

		if (left == 0)
			return -ETIMEDOUT;
		k = poll(&p, 1, left);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		if (k == 0)
			return -ETIMEDOUT;
		k = (int)read(fd, &c, 1);
		if (k < 0 && errno == EINTR)
			continue;
		return k == 1 ? 0 : -ECHILD;
	}
}

static int spawn_daemon(char **argv, int wfd, pid_t *ret_pid)
{
	_cleanup_free_ char *env_fd = strdup_printf(READY_FD_ENV "=%d", 3);
	extern char **environ;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	size_t n = 0;
	char **envp;
	int r;

	while (environ[n])
		n++;
	envp = calloc(n + 2, sizeof(*envp));
	if (!envp || !env_fd) {
		free(envp);
		return -ENOMEM;
	}
	memcpy(envp, environ, n * sizeof(*envp));
	envp[n] = env_fd;
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&attr);
	/* Its own session, stdio on /dev/null, the pipe's write end as fd 3. */
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, wfd, 3);
	r = -posix_spawn(ret_pid, "/proc/self/exe", &fa, &attr, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	free(envp);
	return r;
}

int compat_daemonize(const struct gkd_config *cfg, char **argv)
{
	_cleanup_close_ int rfd = -EBADF, wfd = -EBADF;
	int p[2], r;
	pid_t pid;

	/* The daemon itself, one started by systemd (Type=notify) or a supervisor that wants it
	 * in the foreground: nothing to do. */
	if (!arg_compat || cfg->foreground || ready_fd >= 0 || getenv("NOTIFY_SOCKET"))
		return 0;
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	rfd = p[0];
	wfd = p[1];
	r = spawn_daemon(argv, wfd, &pid);
	if (r < 0)
		return r;
	wfd = safe_close(wfd);
	r = wait_ready(rfd);
	if (r < 0) {
		fprintf(stderr,
			"gpukeepd (as nvidia-persistenced) failed to start%s; check syslog for "
			"details\n",
			r == -ETIMEDOUT ? " within 60 s" : "");
		return r;
	}
	return 1;
}
