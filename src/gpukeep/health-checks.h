/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The checks of `gpukeep health`: baseline, new Xids, NVML responsiveness, gpukeepd holding its
 * GPUs. Each fills one result; none logs (the verb decides what to print where). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

enum health_status {
	HEALTH_OK,
	HEALTH_SKIPPED, /* not applicable here (no NVML, no daemon): not a problem */
	HEALTH_UNKNOWN, /* could not be checked (no baseline, kernel log unreadable) */
	HEALTH_PROBLEM,
	_HEALTH_STATUS_MAX,
};

enum health_check {
	HEALTH_BASELINE,
	HEALTH_XID,
	HEALTH_NVML,
	HEALTH_DAEMON,
	_HEALTH_CHECK_MAX,
};

struct health_result {
	enum health_status status;
	char message[256];
};

struct health_options {
	const char *root;
	const char *baseline;
	const char *kmsg;
	const char *state_dir;
	const char *consumer; /* "plain", "npd", "slurm": each remembers its own last Xid */
	const char *socket;
	const char *nvml;    /* --nvml, or NULL */
	unsigned timeout_ms; /* NVML calls and the daemon's reply */
};

const char *health_status_to_string(enum health_status s);
const char *health_check_to_string(enum health_check c);
/* The check named @s ("baseline", "xid", "nvml", "daemon"); -EINVAL otherwise. */
int health_check_from_string(const char *s, enum health_check *ret);

/* Runs check @c. Never fails: what went wrong is the result (UNKNOWN, with words). */
void health_run(enum health_check c, const struct health_options *o, struct health_result *ret);

/* All the checks asked for, run in order. */
struct health_report {
	bool run[_HEALTH_CHECK_MAX]; /* in: which checks */
	struct health_result results[_HEALTH_CHECK_MAX];
	unsigned n[_HEALTH_STATUS_MAX];
	int first_problem; /* a check, or -1 */
	int first_unknown;
};

void health_run_all(const struct health_options *o, struct health_report *rep);
