/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Reading Slurm's command output: one node from `scontrol show node -o NAME`, the job ids from
 * `squeue -h -o %A`, and what a failed scontrol call said. Pure functions of the text. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define GK_SLURM_NAME_MAX   128
#define GK_SLURM_STATE_MAX  128
#define GK_SLURM_REASON_MAX 512

/* Node state flags, from the words of State= (IDLE+DRAIN+REBOOT_REQUESTED). */
enum {
	GK_SLURM_DOWN = 1 << 0,
	GK_SLURM_DRAIN = 1 << 1,	    /* DRAIN flag (drained or draining) */
	GK_SLURM_REBOOT_REQUESTED = 1 << 2, /* scontrol reboot: pending, not yet issued */
	GK_SLURM_REBOOT_ISSUED = 1 << 3,    /* RebootProgram started, node not back yet */
	GK_SLURM_NOT_RESPONDING = 1 << 4,
	GK_SLURM_BUSY = 1 << 5,	 /* ALLOCATED, MIXED or COMPLETING: jobs on the node */
	GK_SLURM_FAIL = 1 << 6,	 /* FAIL flag (scontrol state=fail) */
	GK_SLURM_MAINT = 1 << 7, /* in a maintenance reservation */
};

struct gk_slurm_node {
	char name[GK_SLURM_NAME_MAX];
	char hostname[GK_SLURM_NAME_MAX]; /* NodeHostName=, "" when absent */
	char state[GK_SLURM_STATE_MAX];	  /* State= as printed */
	unsigned flags;			  /* GK_SLURM_* */
	/* Reason= without Slurm's " [user@time]" trailer; "" when the node has none. Slurm appends
	 * " : reboot issued" and the like to a reason itself. */
	char reason[GK_SLURM_REASON_MAX];
};

/*
 * Parses the one-line form (`scontrol show node -o NAME`) of one node. Fields are "Key=value"
 * separated by spaces, but a value may hold spaces (OS=Linux 6.1 #1 SMP ...), and Reason= runs
 * up to its " [user@YYYY-MM-DDTHH:MM:SS]" trailer, after which more fields (Comment=) may follow.
 * Returns 0 and fills *ret, -EPROTO when the text has no NodeName= or State=, or -ENAMETOOLONG
 * when a field does not fit (the node is then not acted on).
 */
int slurm_parse_node(const char *text, struct gk_slurm_node *ret);

/* The flags of a State= value ("MIXED+DRAIN", "DOWN*+DRAIN+REBOOT_ISSUED"). */
unsigned slurm_state_flags(const char *state);

/*
 * Counts the job ids in `squeue -h -o %A` output, one per line; blank lines are ignored. Returns
 * the count (>= 0) or -EPROTO when a line is not a job id (a number, or an array job "12_3").
 * When @ret_ids is given, it gets the ids joined by ',' (malloc()ed; NULL when none).
 */
int slurm_parse_jobs(const char *text, char **ret_ids);

/*
 * What a failed scontrol/sinfo/squeue call means, from its exit status and stderr: -EHOSTUNREACH
 * when slurmctld could not be reached (connection refused, socket timed out, no controller),
 * -ENOENT for an unknown node ("Invalid node name"), -EACCES when Slurm refused the user,
 * -EIO otherwise. 0 when @status is 0.
 */
int slurm_classify_failure(int status, const char *err);
