// SPDX-License-Identifier: GPL-2.0-or-later
/* The reload and the reset on the fake node, shared by their tests (see fake-procedure.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "fake-procedure.h"

struct gk_engine_opts fake_engine_opts(struct fake *f, bool dry_run)
{
	return (struct gk_engine_opts){
		.state_dirfd = f->dirfd, .state_dir = f->dir, .dry_run = dry_run, .ops = &f->eops};
}

struct gk_reload_opts fake_reload_opts(struct fake *f, bool dry_run)
{
	return (struct gk_reload_opts){
		.root = f->dir,
		.socket = "/run/gpukeep/socket",
		.systemctl = "systemctl",
		.nvml = true,
		.grace_ms = 1000,
		.ops = &f->ops,
		.engine = fake_engine_opts(f, dry_run),
	};
}

struct gk_reset_opts fake_reset_opts(struct fake *f, bool dry_run)
{
	return (struct gk_reset_opts){
		.root = f->dir,
		.socket = "/run/gpukeep/socket",
		.systemctl = "systemctl",
		.nvidia_smi = "nvidia-smi",
		.grace_ms = 1000,
		.ops = &f->ops,
		.engine = fake_engine_opts(f, dry_run),
	};
}

int fake_reload(const struct gk_reload_opts *o, struct gk_reload_result *ret)
{
	struct gk_reload_result res;
	int exit;

	assert_int_equal(reload_run(o, &res), 0);
	exit = res.run.exit;
	if (ret)
		*ret = res;
	else
		reload_result_done(&res);
	return exit;
}

int fake_reset(struct gk_reset_opts *o, const char *gpu, struct gk_reset_result *ret)
{
	struct gk_gpusel sel;
	const char *texts[] = {gpu, NULL};
	struct gk_reset_result res;
	int exit;

	if (gpu)
		assert_int_equal(gpusel_parse(gpu, &sel), 0);
	o->gpus = &sel;
	o->gpu_texts = texts;
	o->n_gpus = gpu ? 1 : 0;
	assert_int_equal(reset_run(o, &res), 0);
	/* the result does not point into the options: they may go */
	o->gpus = NULL;
	o->gpu_texts = NULL;
	exit = res.run.exit;
	if (ret)
		*ret = res;
	else
		reset_result_done(&res);
	return exit;
}

void fake_expect_exit(int exit, int want, const struct gk_engine_result *run)
{
	if (exit != want)
		fail_msg("exit %d, not %d: %s", exit, want, strna(run->error));
}

void fake_expect_all_done(const struct gk_engine_result *run, const struct gk_procedure *p)
{
	assert_int_equal(run->journal.n_steps, p->n_steps);
	for (size_t i = 0; i < run->journal.n_steps; i++)
		assert_int_equal(run->journal.steps[i].status, GK_STEP_DONE);
}

void fake_write_file(struct fake *f, const char *name, const char *text)
{
	assert_int_equal(write_file_atomic_at(f->dirfd, name, text, strlen(text), 0600), 0);
}

void fake_journal_unfinished(struct fake *f, const char *name, const char *kind, int version)
{
	_cleanup_free_ char *j = strdup_printf("{\"schema\": \"gpukeep.journal\", \"version\": %d, "
					       "\"kind\": \"%s\", \"finished\": false}",
					       version, kind);

	fake_write_file(f, name, j);
}

struct json_object *fake_journal_record(struct fake *f, const char *name,
					struct json_object **ret_rec)
{
	struct json_object *j = NULL;
	_cleanup_free_ char *error = NULL;

	if (json_parse_file_at(f->dirfd, name, 1 << 20, &j, &error) < 0)
		fail_msg("%s: %s", name, strna(error));
	assert_true(json_object_object_get_ex(j, "record", ret_rec));
	return j;
}

struct json_object *fake_journal_older(struct fake *f, const char *last, const char *const *drop,
				       size_t pending_from)
{
	struct json_object *j = NULL, *steps, *kept = json_object_new_array();

	assert_int_equal(json_parse_file_at(f->dirfd, last, 1 << 20, &j, NULL), 0);
	json_object_object_add(j, "finished", json_object_new_boolean(false));
	steps = json_object_object_get(j, "steps");
	for (size_t i = 0, n = 0; i < json_object_array_length(steps); i++) {
		struct json_object *st = json_object_array_get_idx(steps, i);

		if (strv_contains((char *const *)drop,
				  json_object_get_string(json_object_object_get(st, "name"))))
			continue;
		if (n++ >= pending_from)
			json_object_object_add(st, "status", json_object_new_string("pending"));
		json_object_array_add(kept, json_object_get(st));
	}
	json_object_object_add(j, "steps", kept);
	return j;
}

void fake_journal_write(struct fake *f, const char *name, struct json_object *j)
{
	fake_write_file(f, name, json_object_to_json_string(j));
	json_object_put(j);
}
