// SPDX-License-Identifier: GPL-2.0-or-later
/* A procedure journal, as a crash or a person may have left it: read as the engine reads it
 * (json_parse_file_at(), then journal_from_json() with the reload's step names), and, when it
 * loads, written back and loaded again (a journal the engine writes must load); its record read
 * as a reload's and as a reset's record (daemon kind, fabric, GPUs), each written back and read
 * again when it loads. */
#include <fcntl.h>

#include "baseline/baseline.h"
#include "fuzz-util.h"
#include "procedure/engine.h"
#include "procedure/journal.h"
#include "procedure/reload-steps.h"
#include "procedure/reload.h"
#include "procedure/reset-steps.h"

static const char *const *step_names(void)
{
	static const char *names[GK_JOURNAL_MAX_STEPS + 1];

	for (size_t i = 0; i < reload_procedure.n_steps && i < GK_JOURNAL_MAX_STEPS; i++)
		names[i] = reload_procedure.steps[i].name;
	return names;
}

/* @rec read as a reload's and a reset's record; what loads must load again once written. */
static void records(struct json_object *rec)
{
	struct reload_record a = {}, a2 = {};
	struct reset_record b = {}, b2 = {};
	struct json_object *w;
	char *error = NULL;

	if (!rec)
		return;
	if (reload_record_from_json(rec, &a, &error) == 0) {
		w = reload_record_to_json(&a);
		if (!w || reload_record_from_json(w, &a2, &error) != 0)
			abort();
		json_object_put(w);
		reload_record_done(&a2);
	}
	reload_record_done(&a);
	free(error);
	error = NULL;
	if (reset_record_from_json(rec, &b, &error) == 0) {
		w = reset_record_to_json(&b);
		if (!w || reset_record_from_json(w, &b2, &error) != 0)
			abort();
		json_object_put(w);
		reset_record_done(&b2);
	}
	reset_record_done(&b);
	free(error);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_object *o = NULL, *again;
	struct gk_journal j = {}, k = {};
	char *error = NULL;
	int r;

	r = json_parse_file_at(AT_FDCWD, fuzz_file(data, size), 1 << 20, &o, &error);
	if (r == 0)
		r = journal_from_json(o, "reload", step_names(), &j, &error);
	json_object_put(o);
	if (r == -EBADMSG && !error)
		abort(); /* a refusal says what is wrong */
	free(error);
	error = NULL;
	if (r != 0)
		return 0;
	records(j.record);
	again = journal_to_json(&j);
	if (!again)
		abort();
	if (journal_from_json(again, "reload", step_names(), &k, &error) != 0)
		abort(); /* what we write must load */
	json_object_put(again);
	journal_done(&k);
	journal_done(&j);
	free(error);
	return 0;
}
