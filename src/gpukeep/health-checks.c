// SPDX-License-Identifier: GPL-2.0-or-later
/* The checks of `gpukeep health`, each a short bounded read of the node. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "baseline/validate.h"
#include "daemon/client.h"
#include "daemon/protocol.h"
#include "fileio.h"
#include "health-checks.h"
#include "ladder/kmsg-scan.h"
#include "log.h"
#include "macro.h"
#include "node.h"
#include "nvml-cli.h"
#include "nvml/nvml.h"
#include "parse-util.h"
#include "time-util.h"

static const char *const status_names[_HEALTH_STATUS_MAX] = {
	[HEALTH_OK] = "ok",
	[HEALTH_SKIPPED] = "skipped",
	[HEALTH_UNKNOWN] = "unknown",
	[HEALTH_PROBLEM] = "problem",
};
static const char *const check_names[_HEALTH_CHECK_MAX] = {
	[HEALTH_BASELINE] = "baseline",
	[HEALTH_XID] = "xid",
	[HEALTH_NVML] = "nvml",
	[HEALTH_DAEMON] = "daemon",
};

const char *health_status_to_string(enum health_status s)
{
	return s < _HEALTH_STATUS_MAX ? status_names[s] : "?";
}

const char *health_check_to_string(enum health_check c)
{
	return c < _HEALTH_CHECK_MAX ? check_names[c] : "?";
}

int health_check_from_string(const char *s, enum health_check *ret)
{
	for (size_t i = 0; i < _HEALTH_CHECK_MAX; i++)
		if (streq(s, check_names[i])) {
			*ret = (enum health_check)i;
			return 0;
		}
	return -EINVAL;
}

static void result(struct health_result *ret, enum health_status s, const char *fmt, ...)
	_printf_(3, 4);
static void result(struct health_result *ret, enum health_status s, const char *fmt, ...)
{
	va_list ap;

	ret->status = s;
	va_start(ap, fmt);
	vsnprintf(ret->message, sizeof(ret->message), fmt, ap);
	va_end(ap);
}

static void check_baseline(const struct health_options *o, struct health_result *ret)
{
	struct gk_baseline want, now;
	struct gk_differences d;
	int r;

	if (access(o->baseline, F_OK) < 0 && errno == ENOENT)
		return result(ret, HEALTH_UNKNOWN,
			      "no baseline %s: save one on a good node (gpukeep baseline save)",
			      o->baseline);
	if (node_load_baseline(o->baseline, &want) != 0)
		return result(ret, HEALTH_UNKNOWN, "baseline %s unreadable (see the error above)",
			      o->baseline);
	if (node_baseline(o->root, &now, NULL) != 0) {
		baseline_done(&want);
		return result(ret, HEALTH_UNKNOWN, "cannot read the node (see the error above)");
	}
	r = validate_compare(&want, &now, &d);
	if (r < 0)
		result(ret, HEALTH_UNKNOWN, "cannot compare with the baseline: %s", strerror(-r));
	else if (d.n == 0)
		result(ret, HEALTH_OK, "node matches baseline %s", o->baseline);
	else
		result(ret, HEALTH_PROBLEM, "%s: %s%s", d.items[0].object, d.items[0].message,
		       d.n > 1 ? " (and more differences)" : "");
	if (r >= 0)
		differences_done(&d);
	baseline_done(&want);
	baseline_done(&now);
}

/* The kernel log position this consumer checked last: "<boot id> <seq>" in the state dir. */
struct kmsg_mark {
	char boot_id[40];
	uint64_t seq;
};

static void read_boot_id(char *buf, size_t size)
{
	if (read_attr_at(AT_FDCWD, "/proc/sys/kernel/random/boot_id", buf, size) < 0)
		buf[0] = '\0';
}

static int mark_path(const struct health_options *o, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%s/health-%s.kmsg", o->state_dir, o->consumer);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

static void mark_load(const struct health_options *o, struct kmsg_mark *ret)
{
	char path[4096], line[128], seq[32];

	*ret = (struct kmsg_mark){};
	if (mark_path(o, path, sizeof(path)) < 0 ||
	    read_attr_at(AT_FDCWD, path, line, sizeof(line)) < 0)
		return;
	/* a malformed mark counts as none: every Xid in the log is new */
	if (sscanf(line, "%39s %31s", ret->boot_id, seq) != 2 || safe_atou64(seq, &ret->seq) < 0)
		*ret = (struct kmsg_mark){};
}

static int mark_save(const struct health_options *o, const struct kmsg_mark *m)
{
	char path[4096], text[128];
	int n;

	if (mark_path(o, path, sizeof(path)) < 0)
		return -ENAMETOOLONG;
	if (mkdir(o->state_dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	n = snprintf(text, sizeof(text), "%s %llu\n", m->boot_id[0] ? m->boot_id : "-",
		     (unsigned long long)m->seq);
	return write_file_atomic_at(AT_FDCWD, path, text, (size_t)n, 0644);
}

struct xid_seen {
	unsigned n;
	struct gk_xid first;
};

static int on_xid(void *userdata, const struct gk_kmsg_record *rec, const struct gk_xid *x)
{
	struct xid_seen *s = userdata;

	if (s->n++ == 0)
		s->first = *x;
	return 0;
}

static void check_xid(const struct health_options *o, struct health_result *ret)
{
	struct kmsg_mark mark, now = {};
	struct xid_seen seen = {};
	bool restarted;
	uint64_t last;
	int r;

	mark_load(o, &mark);
	read_boot_id(now.boot_id, sizeof(now.boot_id));
	/* another boot: its log is new, whatever its sequence numbers */
	if (!streq(mark.boot_id, now.boot_id) && mark.boot_id[0] && !streq(mark.boot_id, "-"))
		mark.seq = 0;
	r = kmsg_scan_xids(o->kmsg, mark.seq, on_xid, &seen, &last, &restarted);
	if (r < 0)
		return result(ret, HEALTH_UNKNOWN, "cannot read the kernel log %s: %s%s", o->kmsg,
			      strerror(-r), r == -EACCES || r == -EPERM ? " (run as root)" : "");
	now.seq = last;
	r = mark_save(o, &now);
	if (r < 0)
		log_warning_errno(r, "cannot remember the kernel log position in %s: %m",
				  o->state_dir);
	if (seen.n == 0)
		return result(ret, HEALTH_OK, "no new Xid in the kernel log");
	result(ret, HEALTH_PROBLEM, "Xid %u on %s%s", seen.first.xid, seen.first.pci,
	       seen.n > 1 ? " (and more Xids)" : "");
}

static void check_nvml(const struct health_options *o, struct health_result *ret)
{
	_cleanup_free_ char *error = NULL;
	struct gk_nvml *n = NULL;
	int64_t start = now_ms();
	unsigned count;
	int r;

	if (!nvml_cli_wanted(o->root, o->nvml))
		return result(ret, HEALTH_SKIPPED, "NVML is not consulted on a fixture root");
	r = nvml_open(o->nvml, o->timeout_ms, &n, &error);
	if (r == -ENOENT)
		return result(ret, HEALTH_SKIPPED, "no NVML: %s", error);
	if (r < 0)
		return result(ret, HEALTH_PROBLEM, "NVML: %s", error);
	r = nvml_gpu_count(n, &count);
	if (r > 0)
		result(ret, HEALTH_PROBLEM, "NVML: %s", nvml_last_error(n));
	else
		result(ret, HEALTH_OK, "NVML answered in %lld ms: %u GPU(s)",
		       (long long)(now_ms() - start), count);
	nvml_close(n);
}

/* The first GPU the daemon should hold but cannot (stuck or retrying), or NULL when none; the
 * number it holds in *ret_held. */
static const struct gk_daemon_gpu *first_not_held(const struct gk_daemon_gpus *g,
						  unsigned *ret_held)
{
	const struct gk_daemon_gpu *bad = NULL;

	*ret_held = 0;
	for (size_t i = 0; i < g->n; i++) {
		const struct gk_daemon_gpu *x = &g->gpus[i];

		if (streq(x->state, "held"))
			(*ret_held)++;
		else if (!bad && x->persistence &&
			 (streq(x->state, "stuck") || streq(x->state, "retrying")))
			bad = x;
	}
	return bad;
}

/* The verdict on a list reply whose envelope said ok. */
static void judge_gpus(struct json_object *reply, struct health_result *ret)
{
	struct gk_daemon_gpus g = {};
	const struct gk_daemon_gpu *bad;
	unsigned held;
	int r;

	r = client_decode_gpus(reply, &g);
	if (r < 0)
		return result(ret, HEALTH_UNKNOWN, "gpukeepd's list reply cannot be read: %s",
			      strerror(-r));
	bad = first_not_held(&g, &held);
	if (g.released_all)
		result(ret, HEALTH_PROBLEM, "gpukeepd released every GPU (release-all)");
	else if (bad)
		result(ret, HEALTH_PROBLEM, "gpukeepd: GPU %s %s", bad->pci, bad->state);
	else
		result(ret, HEALTH_OK, "gpukeepd holds %u GPU(s)", held);
	daemon_gpus_done(&g);
}

static void check_daemon(const struct health_options *o, struct health_result *ret)
{
	_cleanup_close_ int fd = -EBADF;
	struct json_object *req = NULL, *reply = NULL;
	const char *code = NULL, *msg = NULL;
	int r;

	r = client_connect(o->socket, (int)o->timeout_ms, &fd);
	if (r == -ENOENT || r == -ECONNREFUSED || r == -ENOTDIR)
		return result(ret, HEALTH_SKIPPED, "gpukeepd not running (%s)", o->socket);
	if (r < 0)
		return result(ret, HEALTH_UNKNOWN, "cannot connect to gpukeepd at %s: %s",
			      o->socket, strerror(-r));
	req = proto_request_new(GK_REQ_LIST);
	r = req ? client_call(fd, req, (int)o->timeout_ms, &reply) : -ENOMEM;
	json_object_put(req);
	if (r < 0)
		return result(ret, HEALTH_PROBLEM, "gpukeepd did not answer in %u ms: %s",
			      o->timeout_ms, strerror(-r));
	r = proto_reply_check(reply, &code, &msg);
	if (r > 0)
		result(ret, HEALTH_UNKNOWN, "gpukeepd refused the list request: %s", strna(msg));
	else if (r < 0)
		result(ret, HEALTH_UNKNOWN, "gpukeepd's reply is not a version 1 reply: %s",
		       strna(msg));
	else
		judge_gpus(reply, ret);
	json_object_put(reply);
}

void health_run(enum health_check c, const struct health_options *o, struct health_result *ret)
{
	static void (*const run[_HEALTH_CHECK_MAX])(const struct health_options *,
						    struct health_result *) = {
		[HEALTH_BASELINE] = check_baseline,
		[HEALTH_XID] = check_xid,
		[HEALTH_NVML] = check_nvml,
		[HEALTH_DAEMON] = check_daemon,
	};

	*ret = (struct health_result){};
	run[c](o, ret);
}

void health_run_all(const struct health_options *o, struct health_report *rep)
{
	rep->first_problem = rep->first_unknown = -1;
	for (int c = 0; c < _HEALTH_CHECK_MAX; c++) {
		struct health_result *res = &rep->results[c];

		if (!rep->run[c])
			continue;
		health_run((enum health_check)c, o, res);
		rep->n[res->status]++;
		if (res->status == HEALTH_PROBLEM && rep->first_problem < 0)
			rep->first_problem = c;
		if (res->status == HEALTH_UNKNOWN && rep->first_unknown < 0)
			rep->first_unknown = c;
	}
}
