// SPDX-License-Identifier: GPL-2.0-or-later
/* The watcher's run (see watch-loop.h). With nothing to do it sleeps in epoll_wait: the only
 * timers are the next decision (armed only while a burst is open) and the probe period. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "core/gk-exit.h"
#include "ladder/kmsg.h"
#include "ladder/watcher.h"
#include "log.h"
#include "notify.h"
#include "parse-util.h"
#include "watch-kmsg.h"
#include "watch-loop.h"
#include "watch-probe.h"

struct loop {
	const struct watch_args *a;
	struct watch_ctx *c;
	const struct gk_watch_config *cfg;
	struct gk_watcher e;
	struct kmsg_source src;
	bool record_time; /* a saved log read --once: its own timestamps are the clock */
	uint64_t skip_last;
	bool skip_any;
	int textfile_dirfd;
	int notify_fd;
	struct watch_probe probe;
};

static uint64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void feed(const char *rec, size_t len, void *ud)
{
	struct loop *l = ud;

	if (watcher_feed(&l->e, rec, len, l->record_time ? GK_ENGINE_RECORD_TIME : mono_us()) < 0)
		log_debug("skipped a line that is not a kernel log record");
}

static void skip(const char *rec, size_t len, void *ud)
{
	struct loop *l = ud;
	struct gk_kmsg_record r;

	if (kmsg_parse_record(rec, len, &r) < 0)
		return;
	l->skip_last = r.seq;
	l->skip_any = true;
}

static void write_metrics(struct loop *l)
{
	_cleanup_free_ char *text = NULL;
	int r;

	if (l->textfile_dirfd < 0)
		return;
	r = metrics_render(watcher_metrics(&l->e), watcher_uuid_of, &l->e, &text);
	if (r == 0)
		r = metrics_write(l->textfile_dirfd, text);
	if (r < 0)
		log_warning_errno(r, "cannot write %s/%s: %m", l->a->textfile_dir, GK_METRICS_FILE);
}

/* The log up to now: from the saved position in this boot, from the start, or skipped. */
static int catch_up(struct loop *l)
{
	uint64_t seq;
	int r;

	if (l->a->from_start || watcher_resume_position(&l->e, &seq))
		return kmsg_source_read(&l->src, feed, l);
	/* never replay history as new faults: what is there at start was before us */
	r = kmsg_source_read(&l->src, skip, l);
	if (r == 0 && l->skip_any)
		watcher_skip_to(&l->e, l->skip_last);
	return r;
}

static void read_log(struct loop *l)
{
	int r = kmsg_source_read(&l->src, feed, l);

	if (r < 0)
		log_warning_errno(r, "cannot read %s: %m", l->a->kmsg);
	watcher_overrun(&l->e, l->src.epipe);
}

static int arm(int tfd, uint64_t deadline_us)
{
	struct itimerspec it = {};

	if (deadline_us != UINT64_MAX) {
		it.it_value.tv_sec = (time_t)(deadline_us / 1000000);
		it.it_value.tv_nsec = (long)(deadline_us % 1000000) * 1000;
		/* 0 disarms: a deadline in the past fires at once */
		if (!it.it_value.tv_sec && !it.it_value.tv_nsec)
			it.it_value.tv_nsec = 1;
	}
	return timerfd_settime(tfd, TFD_TIMER_ABSTIME, &it, NULL) < 0 ? -errno : 0;
}

static int periodic(unsigned period_s)
{
	struct itimerspec it = {.it_value = {.tv_sec = period_s},
				.it_interval = {.tv_sec = period_s}};
	int fd;

	if (!period_s)
		return -EBADF;
	fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (fd >= 0 && timerfd_settime(fd, 0, &it, NULL) < 0)
		fd = safe_close(fd);
	return fd;
}

static void drain_fd(int fd)
{
	char buf[4096];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

enum { EV_LOG, EV_DECIDE, EV_PROBE, EV_VALIDATE, EV_SIGNAL };

static int add(int ep, int fd, uint32_t tag)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.u32 = tag};

	if (fd < 0)
		return 0;
	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

/* SIGUSR1: the operator's --reset-guard for a running watcher. */
static bool on_signal(struct loop *l, int sfd)
{
	struct signalfd_siginfo si;

	while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGUSR1) {
			guard_clear(&l->e.state, (int64_t)time(NULL));
			guard_clear(&l->e.shadow, (int64_t)time(NULL));
			l->e.dirty = true;
			watcher_save(&l->e);
			log_notice("circuit breaker closed (SIGUSR1)");
			continue;
		}
		return true;
	}
	return false;
}

static int follow(struct loop *l)
{
	_cleanup_close_ int ep = epoll_create1(EPOLL_CLOEXEC), tfd = -EBADF, pfd = -EBADF,
			    vfd = -EBADF, sfd = -EBADF, ifd = -EBADF;
	sigset_t mask;
	int r = 0;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGUSR1);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	pfd = periodic(watch_probe_period(&l->probe));
	vfd = periodic(l->cfg->validate_period_s);
	if (l->src.is_file) {
		/* a file is always "readable" to epoll: inotify says when it grew */
		ifd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
		if (ifd >= 0 && inotify_add_watch(ifd, l->a->kmsg, IN_MODIFY) < 0)
			ifd = safe_close(ifd);
	}
	if (ep < 0 || sfd < 0 || tfd < 0)
		return log_error_errno(negative_errno(), "cannot set up the event loop: %m"),
		       GK_EXIT_FAILED;
	if (add(ep, l->src.is_file ? ifd : l->src.fd, EV_LOG) < 0 || add(ep, tfd, EV_DECIDE) < 0 ||
	    add(ep, pfd, EV_PROBE) < 0 || add(ep, vfd, EV_VALIDATE) < 0 ||
	    add(ep, sfd, EV_SIGNAL) < 0)
		return log_error_errno(negative_errno(), "cannot set up the event loop: %m"),
		       GK_EXIT_FAILED;
	notify_send(l->notify_fd, "READY=1\nSTATUS=following the kernel log");
	for (;;) {
		struct epoll_event evs[8];
		int n;

		arm(tfd, watcher_deadline(&l->e));
		n = epoll_wait(ep, evs, 8, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return log_error_errno(-errno, "epoll_wait: %m"), GK_EXIT_FAILED;
		for (int i = 0; i < n; i++) {
			switch (evs[i].data.u32) {
			case EV_LOG:
				if (ifd >= 0)
					drain_fd(ifd);
				read_log(l);
				break;
			case EV_DECIDE:
				drain_fd(tfd);
				break;
			case EV_PROBE:
				drain_fd(pfd);
				watch_probe_run(&l->probe, &l->e, mono_us());
				notify_send(l->notify_fd, "WATCHDOG=1");
				break;
			case EV_VALIDATE:
				drain_fd(vfd);
				watch_probe_validate(&l->probe, &l->e, mono_us());
				break;
			case EV_SIGNAL:
				if (on_signal(l, sfd))
					goto done;
				break;
			}
		}
		watcher_tick(&l->e, mono_us());
		watcher_save(&l->e);
		write_metrics(l);
	}
done:
	notify_send(l->notify_fd, "STOPPING=1");
	watcher_save(&l->e);
	write_metrics(l);
	return r;
}

static void started(struct loop *l, const struct gk_catalog *cat)
{
	struct json_object *ev = watcher_event_new("watch-started");

	if (!ev)
		return;
	json_object_object_add(ev, "source", json_object_new_string(l->a->kmsg));
	json_object_object_add(ev, "catalog", json_object_new_string(l->cfg->catalog));
	json_object_object_add(ev, "catalog_date", json_object_new_string(cat->date));
	json_object_object_add(ev, "mode", json_object_new_string(l->a->act ? "act" : "observe"));
	l->c->print = l->a->print; /* --once prints decisions, not its own start */
	watch_ops.event(l->c, ev);
	l->c->print = l->a->once || l->a->print;
	json_object_put(ev);
}

int watch_loop(const struct watch_args *a, struct watch_ctx *c, const struct gk_watch_config *cfg,
	       const struct gk_catalog *cat, const struct gk_guard_state *state,
	       const char *boot_id)
{
	struct loop l = {.a = a, .c = c, .cfg = cfg, .textfile_dirfd = -EBADF, .notify_fd = -EBADF};
	int r;

	r = kmsg_source_open(a->kmsg, &l.src);
	if (r < 0)
		return log_error_errno(r, "cannot open the kernel log %s: %m", a->kmsg),
		       GK_EXIT_FAILED;
	if (a->textfile_dir) {
		l.textfile_dirfd = open(a->textfile_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (l.textfile_dirfd < 0) {
			r = log_error_errno(-errno, "cannot open --textfile-dir %s: %m",
					    a->textfile_dir);
			kmsg_source_close(&l.src);
			return GK_EXIT_PRECONDITION;
		}
	}
	l.record_time = l.src.is_file && a->once;
	watcher_init(&l.e, cfg, cat, state, boot_id, a->kmsg, a->act, &watch_ops, c);
	if (!l.record_time)
		watcher_seed_history(&l.e, mono_us());
	watch_probe_init(&l.probe, cfg, a->act);
	started(&l, cat);
	watcher_resume_pending(&l.e, mono_us());
	r = catch_up(&l);
	if (r < 0)
		log_warning_errno(r, "cannot read %s: %m", a->kmsg);
	watcher_overrun(&l.e, l.src.epipe);
	if (a->once) {
		watcher_tick(&l.e, UINT64_MAX);
		r = watcher_save(&l.e) < 0 ? GK_EXIT_FAILED : 0;
		write_metrics(&l);
		if (r == 0 && !l.e.metrics.healthy)
			r = GK_EXIT_NEEDS_PERSON;
	} else {
		const char *wd = getenv("WATCHDOG_USEC");

		/* read before notify_open(), which leaves the environment to the children */
		if (wd && safe_atou64(wd, &c->watchdog_usec) < 0)
			c->watchdog_usec = 0;
		unsetenv("WATCHDOG_USEC");
		unsetenv("WATCHDOG_PID");
		l.notify_fd = notify_open();
		c->notify_fd = l.notify_fd;
		r = follow(&l);
		c->notify_fd = -EBADF;
		safe_close(l.notify_fd);
	}
	watch_probe_done(&l.probe);
	kmsg_source_close(&l.src);
	safe_close(l.textfile_dirfd);
	return r;
}
