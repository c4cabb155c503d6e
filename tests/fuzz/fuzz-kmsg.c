// SPDX-License-Identifier: GPL-2.0-or-later
/* libFuzzer target for the watcher's parsers of outside input: /dev/kmsg records and the NVIDIA
 * driver's lines, and the engine behind them in observe mode (fake ops, no effects). How to
 * build and run it: bench/README.md, "Fuzzing". */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ladder/kmsg.h"
#include "ladder/nvline.h"
#include "ladder/watcher.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char catalog_json[] =
	"{\"schema\":\"gpukeep.xid-catalog\",\"version\":1,\"source\":\"f\",\"date\":\"2026-12-"
	"01\","
	"\"xids\":[{\"code\":13,\"mnemonic\":\"\",\"immediate\":\"RESTART_APP\"},"
	"{\"code\":79,\"mnemonic\":\"\",\"immediate\":\"RESTART_BM\"},"
	"{\"code\":149,\"mnemonic\":\"\",\"immediate\":\"WORKFLOW_NVLINK5_ERR\"},"
	"{\"code\":119,\"mnemonic\":\"\",\"immediate\":\"RESET_GPU\"}]}";

static int run_rung(void *ud, enum gk_ladder_rung rung, const char *gpu, const char *uuid,
		    const char *fault, struct gk_rung_outcome *ret)
{
	__builtin_trap(); /* observe mode never runs a rung */
}

static bool journal_present(void *ud, enum gk_ladder_rung rung)
{
	return false;
}

static int save(void *ud, const struct gk_guard_state *s)
{
	return 0;
}

static void event(void *ud, struct json_object *ev)
{
	/* the event must serialise */
	if (!json_object_to_json_string(ev))
		__builtin_trap();
}

static int64_t now(void *ud)
{
	return 1796000000;
}

static const struct gk_watcher_ops ops = {run_rung, journal_present, save, event, now};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct gk_watch_config cfg;
	static struct gk_catalog cat;
	static bool ready;
	static struct gk_watcher e;
	struct gk_guard_state s = {};
	const char *p = (const char *)data;
	size_t off = 0;

	if (!ready) {
		struct json_object *o = json_tokener_parse(catalog_json);

		if (watch_config_init(&cfg, "/d") < 0 || catalog_from_json(o, &cat, NULL) < 0)
			__builtin_trap();
		json_object_put(o);
		cfg.pattern_min_gpus = 2;
		ready = true;
	}
	watcher_init(&e, &cfg, &cat, &s, "boot", "/dev/kmsg", false, &ops, NULL);
	while (off < size) {
		size_t end = kmsg_record_end(p + off, size - off);
		struct gk_kmsg_record r;
		struct gk_nv_event nv;

		if (kmsg_parse_record(p + off, end, &r) == 0) {
			if (r.msg < p + off || r.msg + r.msg_len > p + off + end)
				__builtin_trap();
			if (nvline_parse(r.msg, r.msg_len, &nv) > 0 &&
			    (strlen(nv.pci) >= GK_NV_PCI_LEN ||
			     (nv.text && nv.text + nv.text_len > r.msg + r.msg_len)))
				__builtin_trap();
		}
		/* the same record through the engine, on its own clock */
		watcher_feed(&e, p + off, end, GK_ENGINE_RECORD_TIME);
		/* and the bare message, as a line without a record header */
		nvline_parse(p + off, end, &(struct gk_nv_event){});
		off += end;
	}
	watcher_tick(&e, UINT64_MAX);
	return 0;
}
