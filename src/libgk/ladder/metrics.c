// SPDX-License-Identifier: GPL-2.0-or-later
/* Prometheus text exposition of the watcher's counters, by hand: one HELP and TYPE per name,
 * label values escaped, a newline at the end. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "ladder/metrics.h"
#include "macro.h"

const char *result_to_string(enum gk_result r)
{
	static const char *const names[] = {
		[GK_RESULT_OK] = "ok",		 [GK_RESULT_ROLLED_BACK] = "rolled_back",
		[GK_RESULT_REFUSED] = "refused", [GK_RESULT_FAILED] = "failed",
		[GK_RESULT_TIMEOUT] = "timeout", [GK_RESULT_UNKNOWN] = "unknown",
		[GK_RESULT_BLOCKED] = "blocked", [GK_RESULT_OBSERVED] = "observed",
	};
	return (unsigned)r < ELEMENTSOF(names) ? names[r] : "unknown";
}

void metrics_count_xid(struct gk_metrics *m, const char *gpu, unsigned code, bool sxid, int64_t now)
{
	struct gk_metrics_xid *x;

	for (size_t i = 0; i < m->n_xids; i++) {
		x = &m->xids[i];
		if (x->code == code && x->sxid == sxid && streq(x->gpu, gpu)) {
			x->count++;
			x->last_seen = now;
			return;
		}
	}
	if (m->n_xids == GK_METRICS_MAX_XIDS)
		return;
	x = &m->xids[m->n_xids++];
	*x = (struct gk_metrics_xid){.code = code, .sxid = sxid, .count = 1, .last_seen = now};
	snprintf(x->gpu, sizeof(x->gpu), "%s", gpu);
}

/* Label values: backslash, double quote and newline escaped. */
static void label(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fputc('\\', f);
		if (*s == '\n') {
			fputs("\\n", f);
			continue;
		}
		fputc(*s, f);
	}
}

static void head(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void xids(FILE *f, const struct gk_metrics *m, bool sxid,
		 const char *(*uuid_of)(const char *, void *), void *ud)
{
	const char *total = sxid ? "gpukeep_sxid_errors_total" : "gpukeep_xid_errors_total";
	const char *last = sxid ? "gpukeep_sxid_last_seen_timestamp_seconds"
				: "gpukeep_xid_last_seen_timestamp_seconds";
	const char *what = sxid ? "nvswitch" : "gpu";

	head(f, total, "counter",
	     sxid ? "NVSwitch SXid lines in the kernel log, per NVSwitch and SXid."
		  : "Xid lines in the kernel log, per GPU and Xid (every one, not only the last).");
	for (int pass = 0; pass < 2; pass++) {
		if (pass == 1)
			head(f, last, "gauge", "When the Xid was last seen (Unix time).");
		for (size_t i = 0; i < m->n_xids; i++) {
			const struct gk_metrics_xid *x = &m->xids[i];
			const char *uuid = uuid_of && !sxid ? uuid_of(x->gpu, ud) : "";

			if (x->sxid != sxid)
				continue;
			fprintf(f, "%s{%s=\"", pass ? last : total, what);
			label(f, x->gpu);
			if (!sxid) {
				fputs("\",uuid=\"", f);
				label(f, uuid ? uuid : "");
			}
			fprintf(f, "\",%s=\"%u\"} ", sxid ? "sxid" : "xid", x->code);
			if (pass)
				fprintf(f, "%lld\n", (long long)x->last_seen);
			else
				fprintf(f, "%llu\n", (unsigned long long)x->count);
		}
	}
}

static void counter(FILE *f, const char *name, const char *help, uint64_t v)
{
	head(f, name, "counter", help);
	fprintf(f, "%s %llu\n", name, (unsigned long long)v);
}

static void gauge(FILE *f, const char *name, const char *help, long long v)
{
	head(f, name, "gauge", help);
	fprintf(f, "%s %lld\n", name, v);
}

static void ladder(FILE *f, const struct gk_metrics *m)
{
	head(f, "gpukeep_ladder_decisions_total", "counter",
	     "Decisions taken on bursts of faults, per rung asked for (none: observe only).");
	for (int r = 0; r < GK_LADDER_RUNGS; r++)
		fprintf(f, "gpukeep_ladder_decisions_total{rung=\"%s\"} %llu\n",
			ladder_rung_to_string(r), (unsigned long long)m->decisions[r]);
	head(f, "gpukeep_ladder_actions_total", "counter",
	     "Rungs of the ladder run (or observed, or blocked by a guard), per rung and result.");
	for (int r = 1; r < GK_LADDER_RUNGS; r++)
		for (int k = 0; k < _GK_RESULT_MAX; k++)
			fprintf(f, "gpukeep_ladder_actions_total{rung=\"%s\",result=\"%s\"} %llu\n",
				ladder_rung_to_string(r), result_to_string(k),
				(unsigned long long)m->actions[r][k]);
}

int metrics_render(const struct gk_metrics *m, const char *(*uuid_of)(const char *gpu, void *ud),
		   void *ud, char **ret)
{
	char *text = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&text, &size);

	if (!f)
		return -ENOMEM;
	xids(f, m, false, uuid_of, ud);
	xids(f, m, true, NULL, NULL);
	counter(f, "gpukeep_kmsg_records_total", "Kernel log records read.", m->records);
	counter(f, "gpukeep_kmsg_records_lost_total",
		"Kernel log records lost before they were read (EPIPE, gaps in sequence numbers).",
		m->records_lost);
	counter(f, "gpukeep_kmsg_overruns_total",
		"Reads of /dev/kmsg that failed with EPIPE: the kernel overwrote records first.",
		m->overruns);
	counter(f, "gpukeep_kmsg_nvidia_lines_total", "NVIDIA driver lines recognised.",
		m->nvidia_lines);
	counter(f, "gpukeep_kmsg_unparsed_lines_total",
		"Lines that start like an Xid or SXid line but do not parse.", m->unparsed);
	ladder(f, m);
	counter(f, "gpukeep_guard_trips_total", "Times the circuit breaker opened.",
		m->guard_trips);
	gauge(f, "gpukeep_guard_breaker_open",
	      "1 while the circuit breaker keeps the watcher observe-only.", m->breaker_open);
	gauge(f, "gpukeep_guard_actions_in_window",
	      "Disruptive actions counted against the breaker's budget now.", m->actions_in_window);
	gauge(f, "gpukeep_ladder_last_action_timestamp_seconds",
	      "When the last rung ran (Unix time; 0: never).", m->last_action);
	counter(f, "gpukeep_probes_total", "NVML responsiveness probes run.", m->probes);
	counter(f, "gpukeep_probe_failures_total", "Probes that hung or failed.",
		m->probe_failures);
	counter(f, "gpukeep_validations_total", "Validations against the baseline.",
		m->validations);
	counter(f, "gpukeep_validation_failures_total",
		"Validations that found the node different from its baseline.",
		m->validation_failures);
	if (m->gpus_held >= 0)
		gauge(f, "gpukeep_gpus_held", "GPUs that gpukeepd holds open (persistence).",
		      m->gpus_held);
	gauge(f, "gpukeep_node_healthy",
	      "0 once the watcher marked the node unhealthy (it needs a person or a reboot).",
	      m->healthy);
	gauge(f, "gpukeep_watch_act_mode", "1 when the watcher acts, 0 in observe mode.", m->act);
	gauge(f, "gpukeep_watch_start_time_seconds", "When the watcher started (Unix time).",
	      m->started);
	if (fclose(f) != 0) {
		free(text);
		return -ENOMEM;
	}
	*ret = text;
	return 0;
}

int metrics_write(int dirfd, const char *text)
{
	return write_file_atomic_at(dirfd, GK_METRICS_FILE, text, strlen(text), 0644);
}
