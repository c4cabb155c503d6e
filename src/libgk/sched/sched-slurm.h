/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The Slurm side of the scheduler adapter: scontrol and squeue, each with a deadline. */
#pragma once

#include "sched/sched.h"

extern const struct gk_sched_ops slurm_ops;

/* Sets sched_last_error() from @fmt and returns @r (defined in sched.c; shared with the Slurm
 * ops, which are the only other writers of the error). */
int sched_error(struct gk_sched *s, int r, const char *fmt, ...) _printf_(3, 4);
