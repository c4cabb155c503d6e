/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The reload and the reset run on the fake node of fake-node.h as the procedure tests run them:
 * their options, one call that runs them and keeps or frees the result, the checks and the
 * journal edits those tests share. */
#pragma once

#include <stdbool.h>

#include "fake-node.h"
#include "procedure/engine.h"
#include "procedure/reload.h"
#include "procedure/reset.h"

/* The runner's options on @f: its state directory, its recorded effects. */
struct gk_engine_opts fake_engine_opts(struct fake *f, bool dry_run);

/* A reload's options on @f: gpukeepd's socket, systemctl, the NVML helper on, a grace of 1 s;
 * no kill, no fabric ops or timeout (set them where the test wants them). */
struct gk_reload_opts fake_reload_opts(struct fake *f, bool dry_run);

/* A reset's options on @f: as a reload's, but with "nvidia-smi" as the reset command and the
 * NVML helper off; fake_reset() names the GPU. */
struct gk_reset_opts fake_reset_opts(struct fake *f, bool dry_run);

/* Runs the reload @o and returns its exit code; the result is left in *@ret (free it with
 * reload_result_done()), or freed when @ret is NULL. A run that cannot start fails the test. */
int fake_reload(const struct gk_reload_opts *o, struct gk_reload_result *ret);

/* Runs the reset @o of the GPU @gpu (NULL: none named) as fake_reload() runs a reload; @o's GPU
 * fields are set for the run and cleared after it. */
int fake_reset(struct gk_reset_opts *o, const char *gpu, struct gk_reset_result *ret);

/* Fails the test unless @exit (a run's, whose result is @run) is @want, with @run's error. */
void fake_expect_exit(int exit, int want, const struct gk_engine_result *run);

/* Fails the test unless @run's journal has every step of @p, each done. */
void fake_expect_all_done(const struct gk_engine_result *run, const struct gk_procedure *p);

/* Writes @text as the file @name in @f's state directory; a failure fails the test. */
void fake_write_file(struct fake *f, const char *name, const char *text);

/* Writes the journal @name as an unfinished run of @kind ("reload", "reset") left it, in
 * journal format @version, with nothing more in it. */
void fake_journal_unfinished(struct fake *f, const char *name, const char *kind, int version);

/* The journal @name parsed (free it with json_object_put()), its "record" in *@ret_rec; a
 * journal that cannot be read, or has no record, fails the test. */
struct json_object *fake_journal_record(struct fake *f, const char *name,
					struct json_object **ret_rec);

/* The finished journal @last as an unfinished one of an older version: the steps named in @drop
 * (NULL-terminated, or NULL) left out, those from @pending_from on pending. Free with
 * fake_journal_write(). */
struct json_object *fake_journal_older(struct fake *f, const char *last, const char *const *drop,
				       size_t pending_from);

/* Writes @j as the journal @name and frees it (take a reference first to keep it). */
void fake_journal_write(struct fake *f, const char *name, struct json_object *j);
