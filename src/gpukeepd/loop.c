// SPDX-License-Identifier: GPL-2.0-or-later
/* The event loop: one thread, epoll over the control socket, its clients, the signalfd and the
 * opener's pipe. The only timeout is the nearest real deadline (an open, a retry, a client), so an
 * idle daemon sleeps in epoll_wait() with no wake-ups at all. Signals are handled here, never in
 * a handler. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "handlers.h"
#include "log.h"
#include "loop.h"
#include "notify.h"
#include "rpc.h"
#include "string-util.h"
#include "time-util.h"

/* epoll tags for the fixed fds; clients are tagged with their struct's address. */
static char tag_listen, tag_signal, tag_opener;

static int watch(int epfd, int fd, void *tag)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = tag};

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

static int timeout_ms(const struct gkd *d)
{
	uint64_t next = gpus_next_deadline(&d->gpus), c = clients_next_deadline(d), now;
	uint64_t rpc = rpc_next_deadline(d);

	if (c < next)
		next = c;
	if (rpc < next)
		next = rpc;
	if (next == UINT64_MAX)
		return -1;
	now = now_us();
	if (next <= now)
		return 0;
	/* Round up, so that the loop does not wake a little early and spin. */
	return (int)((next - now + 999) / 1000);
}

static void reenumerate(struct gkd *d)
{
	_cleanup_strv_free_ char **added = NULL, **removed = NULL;
	int r;

	r = gpus_enumerate(&d->gpus, &added, &removed);
	if (r < 0) {
		log_error_errno(r, "SIGHUP: cannot read the PCI devices: %m; GPU table unchanged");
		return;
	}
	log_notice("SIGHUP: re-enumerated: %zu GPUs, %zu new, %zu gone", d->gpus.n,
		   strv_length(added), strv_length(removed));
}

static void signal_event(struct gkd *d)
{
	struct signalfd_siginfo si;

	while (read(d->sigfd, &si, sizeof(si)) == sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGTERM:
		case SIGINT:
			log_notice("%s from pid %u: shutting down", strsignal((int)si.ssi_signo),
				   si.ssi_pid);
			d->quit = true;
			break;
		case SIGHUP:
			reenumerate(d);
			break;
		default:
			break;
		}
	}
}

static void maybe_ready(struct gkd *d)
{
	char status[96];

	if (d->ready_sent || gpus_settling(&d->gpus))
		return;
	d->ready_sent = true;
	snprintf(status, sizeof(status), "READY=1\nSTATUS=holding %zu of %zu GPUs",
		 gpus_count(&d->gpus, HOLD_HELD), d->gpus.n);
	notify_send(d->notifyfd, status);
	log_info("ready: %zu GPUs, %zu held, %zu stuck, %zu retrying", d->gpus.n,
		 gpus_count(&d->gpus, HOLD_HELD), gpus_count(&d->gpus, HOLD_STUCK),
		 gpus_count(&d->gpus, HOLD_RETRYING));
}

static int dispatch(struct gkd *d, struct epoll_event *ev)
{
	int r;

	if (ev->data.ptr == &tag_listen)
		clients_accept(d);
	else if (ev->data.ptr == &tag_signal)
		signal_event(d);
	else if (ev->data.ptr == &tag_opener) {
		r = opener_dispatch(now_us());
		if (r < 0)
			return log_error_errno(r, "cannot read finished opens: %m");
		/* A hold whose open finished may want a different state by now. */
		gpus_reconcile(&d->gpus);
	} else if (rpc_owns(ev->data.ptr))
		rpc_event(d, ev->data.ptr, ev->events);
	else
		client_event(d, ev->data.ptr, ev->events);
	return 0;
}

static int setup(struct gkd *d)
{
	int r;

	d->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (d->epfd < 0)
		return log_error_errno(errno, "epoll_create1: %m");
	r = watch(d->epfd, d->listenfd, &tag_listen);
	if (r >= 0)
		r = watch(d->epfd, d->sigfd, &tag_signal);
	if (r >= 0)
		r = watch(d->epfd, d->openerfd, &tag_opener);
	if (r < 0)
		return log_error_errno(r, "epoll_ctl: %m");
	return rpc_start(d);
}

static void shutdown_all(struct gkd *d)
{
	notify_send(d->notifyfd, "STOPPING=1");
	/* Stop accepting first, so that no client arrives while devices are released. */
	epoll_ctl(d->epfd, EPOLL_CTL_DEL, d->listenfd, NULL);
	d->listenfd = safe_close(d->listenfd);
	clients_close_all(d);
	rpc_stop(d);
	gpus_set_released(&d->gpus, true);
	log_info("released %zu device files", d->gpus.n);
	d->epfd = safe_close(d->epfd);
	handlers_done();
}

int loop_run(struct gkd *d)
{
	struct epoll_event events[32];
	int r;

	r = setup(d);
	if (r < 0)
		return r;
	/* nothing to open (persistence off everywhere): ready at once, not at the first event,
	 * which under systemd may never come */
	maybe_ready(d);
	while (!d->quit) {
		int n = epoll_wait(d->epfd, events, (int)ELEMENTSOF(events), timeout_ms(d));
		uint64_t now;

		if (n < 0 && errno != EINTR) {
			r = log_error_errno(errno, "epoll_wait: %m");
			break;
		}
		for (int i = 0; i < n && r >= 0; i++)
			r = dispatch(d, &events[i]);
		if (r < 0)
			break;
		now = now_us();
		gpus_tick(&d->gpus, now);
		clients_tick(d, now);
		rpc_tick(d, now);
		maybe_ready(d);
	}
	shutdown_all(d);
	return r;
}
