// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The simulated node's fabric manager, a test double for NVIDIA's nv-fabricmanager: it holds the
 * NVSwitch device files (and nvidiactl) as the real one does, and "trains" the NVLink fabric by
 * writing the simulated driver's fabric state: in progress at once, completed after --delay-ms.
 * Once trained, it retrains each GPU that is reset (the driver marks gpuN/fabric_reset): in
 * progress at once, its own registration back after --reset-delay-ms (never with
 * --reset-never), as the real one re-registers a GPU after an individual reset.
 * Like the real one it daemonizes (the parent returns once the devices are open) and ends on
 * SIGTERM.
 *
 * usage: nv-fabricmanager [--foreground] [--delay-ms MS] [--never] [--fail STATUS]
 *                         [--reset-delay-ms MS] [--reset-never] [--gpus DIR]
 *                         [--state FILE] [--status FILE] [--pid-file FILE] [--dev DIR]
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_FDS	 64
#define MAX_GPUS 64

static const char *arg_state = "/sys/kernel/debug/nvidia_sim/fabric_state";
static const char *arg_status = "/sys/kernel/debug/nvidia_sim/fabric_status";
static const char *arg_pid_file = "/var/run/nvidia-fabricmanager/nv-fabricmanager.pid";
static const char *arg_dev = "/dev";
static const char *arg_gpus = "/sys/kernel/debug/nvidia_sim";
static unsigned arg_delay_ms = 2000, arg_reset_delay_ms = 1000;
static bool arg_foreground, arg_never, arg_reset_never;
static int arg_fail = -1;

static int write_number(const char *path, int v)
{
	FILE *f = fopen(path, "we");
	int r;

	if (!f)
		return -errno;
	r = fprintf(f, "%d\n", v) < 0 ? -EIO : 0;
	if (fclose(f) != 0 && r == 0)
		r = -errno;
	return r;
}

static int read_number(const char *path)
{
	FILE *f = fopen(path, "re");
	int v = -1;

	if (!f)
		return -1;
	if (fscanf(f, "%d", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

/* Opens nvidiactl, nvidia-nvswitchctl and every nvidia-nvswitchN under @dev; how many switches. */
static int open_devices(int *fds, int *n_fds)
{
	DIR *d = opendir(arg_dev);
	struct dirent *de;
	char path[512];
	int switches = 0;

	if (!d)
		return -errno;
	while ((de = readdir(d)) && *n_fds < MAX_FDS) {
		bool sw = strncmp(de->d_name, "nvidia-nvswitch", 15) == 0;
		int fd;

		if (!sw && strcmp(de->d_name, "nvidiactl") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", arg_dev, de->d_name);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0) {
			fprintf(stderr, "nv-fabricmanager: cannot open %s: %m\n", path);
			continue;
		}
		fds[(*n_fds)++] = fd;
		switches += sw && strcmp(de->d_name, "nvidia-nvswitchctl") != 0;
	}
	closedir(d);
	return switches;
}

/* Waits @ms for SIGTERM or SIGINT: true when one came (training is cut short, as it is by a
 * real fabric manager's stop). */
static bool signalled_within(const sigset_t *set, unsigned ms)
{
	struct timespec t = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
	int r;

	do
		r = sigtimedwait(set, NULL, &t);
	while (r < 0 && errno == EINTR);
	return r >= 0;
}

static long long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* One look at the GPUs: a GPU the driver marked reset (1) goes in progress (2) and, once
 * @due[minor] has passed, back into the fabric (0). */
static void retrain_reset_gpus(long long *due, size_t n)
{
	char path[512];

	for (size_t minor = 0; minor < n; minor++) {
		int v;

		snprintf(path, sizeof(path), "%s/gpu%zu/fabric_reset", arg_gpus, minor);
		v = read_number(path);
		if (v == 1 || (v == 2 && due[minor] == 0)) {
			write_number(path, 2);
			due[minor] = arg_reset_never ? -1 : now_ms() + arg_reset_delay_ms;
		} else if (v == 2 && due[minor] > 0 && now_ms() >= due[minor]) {
			write_number(path, 0);
			due[minor] = 0;
		} else if (v <= 0)
			due[minor] = 0;
	}
}

/* The parent waits for one byte from the daemon: it is up (devices open) or it failed. */
static int daemonize(int *ret_ready_fd)
{
	int p[2];
	pid_t pid;
	char c = 1;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid > 0) {
		close(p[1]);
		if (read(p[0], &c, 1) != 1)
			c = 1;
		_exit(c);
	}
	close(p[0]);
	if (setsid() < 0)
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid > 0)
		_exit(0);
	*ret_ready_fd = p[1];
	return 0;
}

static int parse(int argc, char **argv)
{
	static const struct option opts[] = {
		{"foreground", no_argument, NULL, 'f'},
		{"delay-ms", required_argument, NULL, 'd'},
		{"never", no_argument, NULL, 'n'},
		{"fail", required_argument, NULL, 'F'},
		{"state", required_argument, NULL, 's'},
		{"status", required_argument, NULL, 'S'},
		{"pid-file", required_argument, NULL, 'p'},
		{"dev", required_argument, NULL, 'D'},
		{"reset-delay-ms", required_argument, NULL, 'r'},
		{"reset-never", no_argument, NULL, 'R'},
		{"gpus", required_argument, NULL, 'g'},
		{},
	};
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) >= 0) {
		switch (c) {
		case 'f':
			arg_foreground = true;
			break;
		case 'd':
			arg_delay_ms = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'n':
			arg_never = true;
			break;
		case 'F':
			arg_fail = atoi(optarg);
			break;
		case 's':
			arg_state = optarg;
			break;
		case 'S':
			arg_status = optarg;
			break;
		case 'p':
			arg_pid_file = optarg;
			break;
		case 'D':
			arg_dev = optarg;
			break;
		case 'r':
			arg_reset_delay_ms = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'R':
			arg_reset_never = true;
			break;
		case 'g':
			arg_gpus = optarg;
			break;
		default:
			return -1;
		}
	}
	return optind == argc ? 0 : -1;
}

int main(int argc, char **argv)
{
	int fds[MAX_FDS], n_fds = 0, ready_fd = -1, switches;
	long long due[MAX_GPUS] = {0};
	char dir[256], *slash;
	sigset_t set;

	if (parse(argc, argv) < 0) {
		fprintf(stderr,
			"usage: nv-fabricmanager [--foreground] [--delay-ms MS] [--never] "
			"[--fail STATUS] [--reset-delay-ms MS] [--reset-never] [--gpus DIR] "
			"[--state FILE] [--status FILE] [--pid-file FILE] [--dev DIR]\n");
		return 2;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	if (!arg_foreground && daemonize(&ready_fd) < 0) {
		perror("nv-fabricmanager: daemonize");
		return 1;
	}
	switches = open_devices(fds, &n_fds);
	if (switches <= 0) {
		fprintf(stderr, "nv-fabricmanager: no NVSwitch device file under %s\n", arg_dev);
		return 1; /* the parent reads EOF: exit 1 */
	}
	/* mkdir -p of the pid file's directory (/var/run may not exist on the simulated node) */
	snprintf(dir, sizeof(dir), "%s", arg_pid_file);
	for (slash = strchr(dir + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = 0;
		mkdir(dir, 0755);
		*slash = '/';
	}
	if (write_number(arg_pid_file, (int)getpid()) < 0 || write_number(arg_state, 2) < 0) {
		fprintf(stderr, "nv-fabricmanager: cannot write %s or %s: %m\n", arg_pid_file,
			arg_state);
		return 1;
	}
	fprintf(stderr, "nv-fabricmanager: %d NVSwitch(es), training the fabric\n", switches);
	/* the whole fabric trains now: no GPU keeps a registration of its own */
	for (size_t minor = 0; minor < MAX_GPUS; minor++) {
		char path[512];

		snprintf(path, sizeof(path), "%s/gpu%zu/fabric_reset", arg_gpus, minor);
		if (read_number(path) > 0)
			write_number(path, 0);
	}
	if (ready_fd >= 0) {
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);

		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		if (write(ready_fd, "", 1) != 1)
			return 1;
		close(ready_fd);
	}
	if (!arg_never) {
		if (signalled_within(&set, arg_delay_ms)) {
			unlink(arg_pid_file);
			return 0;
		}
		if (arg_fail >= 0)
			write_number(arg_status, arg_fail);
		write_number(arg_state, 3);
	}
	/* trained (or never): retrain the GPUs reset from now on, until SIGTERM */
	while (!signalled_within(&set, 100))
		if (!arg_never)
			retrain_reset_gpus(due, MAX_GPUS);
	unlink(arg_pid_file);
	return 0;
}
