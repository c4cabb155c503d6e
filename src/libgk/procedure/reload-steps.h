/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The reload's steps, for the runner in reload.c. Each returns 0 when done, or the run's exit
 * code after recording why (reload_verdict()); a step's *ret_detail says what it did. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "node/holders.h"
#include "procedure/reload.h"

struct reload_ctx {
	const struct gk_reload_opts *o;
	struct gk_reload_result *res;
	struct gk_journal *j;
	int rootfd;
	int lockfd;
};

void reload_say(struct reload_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Sets the run's exit code and reason; returns @exit. */
int reload_verdict(struct reload_ctx *c, int exit, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Saves the journal durably; on failure the run ends with exit 4. Returns 0 or the exit code. */
int reload_journal_sync(struct reload_ctx *c);
unsigned long long reload_now_ms(void);

/* The strv joined with ", "; malloc()ed, NULL on -ENOMEM. */
char *reload_join(char *const *l);
/* Holders of the NVIDIA nodes now (the caller frees). Returns 0 or the run's exit code. */
int reload_scan_holders(struct reload_ctx *c, struct gk_holders **ret);
/* What to stop, for messages: "pid 12 (python3), systemctl stop x.service, ... and N more";
 * @daemon is left out. malloc()ed, NULL on -ENOMEM. */
char *reload_describe_holders(const struct gk_holders *h, pid_t daemon);
/* Reads the node and decides the plan. Returns 0 or the run's exit code. */
int reload_make_plan(struct reload_ctx *c, bool kill, struct gk_reload_plan *plan,
		     struct gk_holders **ret_holders);
/* gpukeepd re-acquires, stopped units start. 0, -EIO (*ret_failed names what), -ENOMEM. */
int reload_restore_services(struct reload_ctx *c, char **ret_failed);
/* Undoes stop (and unload, with @reload_modules): exit 1 when the node is as it was, else 4. */
int reload_roll_back(struct reload_ctx *c, bool reload_modules, const char *why);

/* Prints the plan and changes nothing. */
int reload_dry_run(struct reload_ctx *c);
/* Step 1: reads the node and writes the journal before anything changes. */
int reload_begin(struct reload_ctx *c);

int step_preflight(struct reload_ctx *c, char **ret_detail);
int step_stop(struct reload_ctx *c, char **ret_detail);
int step_unload(struct reload_ctx *c, char **ret_detail);
int step_load(struct reload_ctx *c, char **ret_detail);
int step_restore(struct reload_ctx *c, char **ret_detail);
int step_validate(struct reload_ctx *c, char **ret_detail);
