/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A device file the daemon keeps open ("a hold"), opened off the event loop with a deadline: the
 * driver's open() initializes the GPU and can block in D state on a sick one. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

enum hold_state {
	HOLD_RELEASED, /* not open, not wanted */
	HOLD_OPENING,  /* a worker thread is in open(); deadline pending */
	HOLD_HELD,     /* open */
	HOLD_RETRYING, /* the last open failed; the next one starts at ->deadline */
	HOLD_STUCK,    /* open() passed its deadline and has not returned; the worker stays */
	_HOLD_STATE_MAX,
};

struct open_job;

struct hold {
	char path[64]; /* absolute, as the node shows it: "/dev/nvidia3" */
	enum hold_state state;
	bool want;	      /* desired: the daemon reconciles state towards it */
	int fd;		      /* HELD: the open file; else -EBADF */
	int error;	      /* last failed open, -errno; 0 when none */
	unsigned failures;    /* consecutive failed opens, for the backoff */
	uint64_t deadline;    /* OPENING: when it becomes STUCK; RETRYING: next attempt (usec) */
	uint64_t since;	      /* when the current state began (usec, monotonic) */
	uint64_t since_wall;  /* the same, in ms since the epoch (for clients) */
	struct open_job *job; /* the open in flight (OPENING, STUCK), else NULL */
};

/* Changes with every change to any hold: replies built from holds are cached against it. */
uint64_t hold_generation(void);

/*
 * Starts the opener: the pipe through which worker threads hand back finished opens. @rootfd is
 * the root prefix every path is opened under; it must stay open while the opener runs.
 * @open_timeout_usec is the deadline per open. With @strict, only character devices count as
 * opened (anything else is -ENODEV); without, regular files and FIFOs stand in for them (fixture
 * roots). Returns the pipe's read end (to poll for input) or -errno.
 */
int opener_init(int rootfd, uint64_t open_timeout_usec, bool strict);
/* Closes the pipe. Workers still blocked in open() are abandoned; the process exits past them. */
void opener_done(void);

void hold_init(struct hold *h, const char *path);
/* Closes the file and abandons a pending open (its result is closed when it arrives). */
void hold_reset(struct hold *h);

/*
 * Moves @h towards @h->want: starts an open (new thread), closes a held file, or cancels a retry.
 * A hold whose open is in flight (OPENING, STUCK) is left until the open returns. Returns 0, or
 * -errno when a worker could not be started (the hold then retries with backoff).
 */
int hold_reconcile(struct hold *h, uint64_t now);

/* Deadlines: OPENING past its deadline becomes STUCK; RETRYING past it starts a new open. */
void hold_tick(struct hold *h, uint64_t now);

/* The earliest deadline of @h, or UINT64_MAX when it waits for nothing. */
uint64_t hold_next_deadline(const struct hold *h);

/*
 * Reads the finished opens from the pipe and applies them to their holds. Returns the number of
 * holds that changed state, or -errno.
 */
int opener_dispatch(uint64_t now);

const char *hold_state_to_string(enum hold_state s);
