/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A thread that runs one call at a time for a caller that waits with a deadline. A call that
 * passes its deadline leaves the thread stuck where it is: the worker is then abandoned. */
#pragma once

#include <stddef.h>

#define NVML_WORKER_ARGS_MAX 256

/* Runs on the worker thread; @args is the worker's own copy of the caller's arguments. */
typedef int (*nvml_worker_fn)(void *const *syms, void *args);

struct nvml_worker;

/* Starts the thread (all signals blocked in it). @syms is passed to every call and must stay
 * valid for the worker's life. Returns 0 or -errno. */
int nvml_worker_new(void *const *syms, struct nvml_worker **ret);

/*
 * Copies @size bytes of @args (at most NVML_WORKER_ARGS_MAX) to the worker, runs @fn there and
 * waits at most @timeout_ms. On return in time, copies the arguments back (the call's outputs)
 * and returns 0 with *ret_status = @fn's result. Returns -ETIMEDOUT when the deadline passed:
 * the caller's @args are then never touched again, so they may live on its stack.
 */
int nvml_worker_call(struct nvml_worker *w, nvml_worker_fn fn, void *args, size_t size,
		     unsigned timeout_ms, int *ret_status);

/* Stops and joins the thread and frees the worker. Must not be called after a -ETIMEDOUT. */
void nvml_worker_free(struct nvml_worker *w);

/*
 * For a worker whose call timed out: the thread is detached and left where it is, told to exit
 * if its call ever returns, and the worker is moved to a process-wide list so that its memory
 * (which the thread may still write) stays valid and reachable, with @keep (the owner's memory
 * that the call may still read: symbol table, library handle). Nothing is freed.
 */
void nvml_worker_abandon(struct nvml_worker *w, void *keep);
