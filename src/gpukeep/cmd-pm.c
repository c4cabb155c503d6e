// SPDX-License-Identifier: GPL-2.0-or-later
/* gpukeep pm: sets persistence mode for one GPU or all, through gpukeepd, as nvidia-smi -pm does;
 * then waits (bounded) until the daemon's opens have settled and reports each GPU. */
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/gk-exit.h"
#include "daemon-call.h"
#include "daemon/client.h"
#include "daemon/protocol.h"
#include "macro.h"
#include "nvml-cli.h"
#include "nvml/nvml.h"
#include "nvpd-cli.h"
#include "output.h"
#include "time-util.h"
#include "verbs.h"

#define SETTLE_TIMEOUT_MS 30000
#define SETTLE_POLL_MS	  50

static void pm_help(void)
{
	printf("usage: gpukeep pm [-i GPU] [--socket PATH] [--json] 0|1\n\n"
	       "Sets persistence mode through gpukeepd: 1 (or ENABLED) keeps the GPU initialized\n"
	       "by holding its device file open, 0 (or DISABLED) lets the driver tear it down "
	       "when\n"
	       "its last client exits. The daemon remembers the mode across restarts.\n"
	       "When gpukeepd is not running, the driver's legacy persistence mode is set through\n"
	       "NVML instead (GPUKEEP_NVML names the library; it does not survive a reload).\n\n"
	       "  -i, --id GPU   one GPU: index, minor:N, PCI address or UUID (default: all)\n"
	       "  --socket PATH  the daemon's socket (default %s)\n"
	       "  --json         print the daemon's reply for the GPUs as JSON\n"
	       "  --nvml PATH    NVML library for the legacy mode (default $GPUKEEP_NVML, then\n"
	       "                 libnvidia-ml.so.1)\n"
	       "  -h, --help     show this help\n\n"
	       "Changes need root or membership in the daemon's --group.\n"
	       "exit codes: 0 done, 1 failed or a device could not be opened (the daemon "
	       "retries),\n"
	       "2 usage or unknown GPU, 3 permission denied\n",
	       GK_SOCKET_PATH);
}

static int parse_mode(const char *s, bool *ret)
{
	if (streq(s, "1") || strcasecmp(s, "ENABLED") == 0)
		*ret = true;
	else if (streq(s, "0") || strcasecmp(s, "DISABLED") == 0)
		*ret = false;
	else
		return -EINVAL;
	return 0;
}

static struct json_object *get(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	json_object_object_get_ex(o, key, &v);
	return v;
}

/* Whether an open is still in flight; a reply that does not decode settles nothing. */
static bool any_opening(struct json_object *reply)
{
	struct gk_daemon_gpus g = {};
	bool opening = false;

	if (client_decode_gpus(reply, &g) < 0)
		return false;
	for (size_t i = 0; i < g.n; i++)
		opening |= streq(g.gpus[i].state, "opening");
	daemon_gpus_done(&g);
	return opening;
}

static bool pci_in(struct json_object *gpus, const char *pci)
{
	for (size_t i = 0; i < json_object_array_length(gpus); i++)
		if (streq_ptr(
			    json_object_get_string(get(json_object_array_get_idx(gpus, i), "pci")),
			    pci))
			return true;
	return false;
}

/* Keeps in @list's "gpus" only those @set names (the list names every GPU). */
static void filter(struct json_object *list, struct json_object *set)
{
	struct json_object *gpus = get(list, "gpus"), *keep = json_object_new_array();

	if (!keep)
		return;
	for (size_t i = 0; i < json_object_array_length(gpus); i++) {
		struct json_object *g = json_object_array_get_idx(gpus, i);

		if (pci_in(get(set, "gpus"), json_object_get_string(get(g, "pci"))))
			json_object_array_add(keep, json_object_get(g));
	}
	json_object_object_add(list, "gpus", keep);
}

/* Re-reads the GPUs until no open is in flight, so the report says what really happened. */
static int settle(const char *socket_path, struct json_object *set, struct json_object **ret)
{
	/* one deadline for the whole wait, the daemon's answers included */
	uint64_t deadline = now_ms() + SETTLE_TIMEOUT_MS;
	struct json_object *cur = json_object_get(set);
	int r = GK_EXIT_OK;

	while (any_opening(cur) && deadline_left_ms(deadline) > 0) {
		struct json_object *next = NULL;

		(void)poll(NULL, 0, MIN(SETTLE_POLL_MS, deadline_left_ms(deadline)));
		r = daemon_call("pm", socket_path, GK_REQ_LIST, NULL, -1, &next);
		if (r != GK_EXIT_OK)
			break;
		filter(next, set);
		json_object_put(cur);
		cur = next;
	}
	if (r != GK_EXIT_OK) {
		json_object_put(cur);
		return r;
	}
	*ret = cur;
	return GK_EXIT_OK;
}

static int report(struct json_object *reply, bool enabled)
{
	struct json_object *gpus = get(reply, "gpus");
	int r = GK_EXIT_OK;

	for (size_t i = 0; i < json_object_array_length(gpus); i++) {
		struct json_object *g = json_object_array_get_idx(gpus, i);
		const char *pci = json_object_get_string(get(g, "pci"));
		const char *state = json_object_get_string(get(g, "state"));
		struct json_object *dev = get(g, "device");
		const char *err = dev ? json_object_get_string(get(dev, "error")) : NULL;

		printf("%s persistence mode for GPU %s.\n", enabled ? "Enabled" : "Disabled", pci);
		if (!enabled || json_object_get_boolean(get(reply, "released_all")))
			continue;
		if (!streq(state, "held")) {
			fprintf(stderr, "gpukeep pm: GPU %s is %s, not held: %s\n", pci, state,
				err ? err
				    : strempty(json_object_get_string(get(g, "unavailable"))));
			r = GK_EXIT_FAILED;
		}
	}
	if (enabled && json_object_get_boolean(get(reply, "released_all")))
		printf("note: gpukeepd has released every device file on request (release-all); "
		       "the mode applies when they are re-acquired.\n");
	if (r == GK_EXIT_OK)
		printf("All done.\n");
	return r;
}

/* The driver's own (legacy) persistence mode, through NVML, when gpukeepd does not run. */
static int pm_set_one(struct gk_nvml *n, unsigned i, const char *pci, bool enabled)
{
	bool now = !enabled;
	int r;

	r = nvml_set_persistence(n, i, enabled);
	if (r >= 0)
		r = nvml_get_persistence(n, i, &now);
	if (r >= 0 && now != enabled)
		r = -EIO; /* the driver said yes and did not do it */
	if (r < 0) {
		fprintf(stderr, "gpukeep pm: GPU %s: cannot %s legacy persistence mode: %s\n", pci,
			enabled ? "enable" : "disable",
			r == -EIO ? "the mode read back unchanged" : nvml_last_error(n));
		return r == -EPERM ? GK_EXIT_PRECONDITION : GK_EXIT_FAILED;
	}
	printf("GPU %s: legacy persistence mode %s (driver, through NVML)\n", pci,
	       enabled ? "enabled" : "disabled");
	return GK_EXIT_OK;
}

static int pm_legacy(const char *gpu, const struct gk_gpusel *sel, bool enabled)
{
	_cleanup_nvml_ struct gk_nvml *n = NULL;
	_cleanup_free_ char *error = NULL;
	unsigned count = 0, matched = 0;
	int worst = GK_EXIT_OK;

	if (nvml_open(NULL, 0, &n, &error) < 0 || nvml_gpu_count(n, &count) < 0) {
		fprintf(stderr,
			"gpukeep pm: gpukeepd is not running and NVML is not usable (%s); start "
			"the daemon: systemctl start gpukeepd\n",
			error ? error : nvml_last_error(n));
		return GK_EXIT_FAILED;
	}
	fprintf(stderr, "gpukeep pm: gpukeepd is not running: using the driver's legacy "
			"persistence mode through NVML\n");
	for (unsigned i = 0; i < count; i++) {
		char pci[GK_PCI_ADDR_STRLEN] = "", uuid[GK_UUID_STRLEN] = "";
		struct gk_pci_addr addr;
		int r;

		if (nvml_gpu_pci(n, i, pci, sizeof(pci)) < 0 ||
		    pci_addr_parse(pci, false, &addr) < 0)
			continue;
		if (nvml_gpu_uuid(n, i, uuid, sizeof(uuid)) < 0)
			uuid[0] = 0;
		/* NVML does not give the minor here: minor:N selects nothing in legacy mode */
		if (gpu && !gpusel_match(sel, i, -1, &addr, uuid[0] ? uuid : NULL))
			continue;
		matched++;
		r = pm_set_one(n, i, pci, enabled);
		worst = r > worst ? r : worst;
	}
	if (matched == 0 && gpu) {
		fprintf(stderr, "gpukeep pm: no GPU that NVML knows matches \"%s\"\n", gpu);
		return GK_EXIT_USAGE;
	}
	return worst;
}

static bool daemon_running(const char *socket_path)
{
	/* a daemon that answers connect but not in time is still running: not NVML's turn */
	return client_daemon_pid(socket_path, DAEMON_CALL_TIMEOUT_MS) != 0;
}

static int pm_run(const char *socket_path, const char *gpu, bool enabled, bool json)
{
	struct json_object *set = NULL, *reply = NULL;
	int r;

	r = daemon_call("pm", socket_path, GK_REQ_SET_PERSISTENCE, gpu, enabled, &set);
	if (r == GK_EXIT_OK)
		r = settle(socket_path, set, &reply);
	if (r == GK_EXIT_OK && json)
		r = output_json(get(reply, "gpus")) < 0 ? GK_EXIT_FAILED : GK_EXIT_OK;
	else if (r == GK_EXIT_OK)
		r = report(reply, enabled);
	json_object_put(reply);
	json_object_put(set);
	return r;
}

int verb_pm(int argc, char **argv)
{
	static const struct option opts[] = {
		{"id", required_argument, NULL, 'i'},
		{"socket", required_argument, NULL, 's'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{},
	};
	const char *socket_path = GK_SOCKET_PATH, *gpu = NULL;
	struct gk_gpusel sel;
	bool json = false, enabled;
	int c, r;

	/* NVML is read by what this verb runs: --nvml reaches it through the environment */
	r = nvml_cli_take_option_env("pm", &argc, argv);
	if (r >= 0)
		return r;

	optind = 0;
	while ((c = getopt_long(argc, argv, "hi:s:j", opts, NULL)) >= 0) {
		switch (c) {
		case 'i':
			gpu = optarg;
			break;
		case 's':
			socket_path = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			pm_help();
			return GK_EXIT_OK;
		default:
			return usage_error("pm", "invalid option");
		}
	}
	if (optind != argc - 1)
		return usage_error("pm", "expected one mode, 0 or 1");
	if (parse_mode(argv[optind], &enabled) < 0)
		return usage_error("pm", "invalid mode '%s': expected 0, 1, ENABLED or DISABLED",
				   argv[optind]);
	if (gpu && gpusel_parse(gpu, &sel) < 0)
		return usage_error("pm",
				   "malformed GPU '%s': expected an index, minor:N, a PCI address "
				   "(0000:3b:00.0) or a UUID (GPU-...)",
				   gpu);
	if (nvpd_cli_wanted(socket_path)) /* NVIDIA's daemon instead of gpukeepd */
		return nvpd_cli_pm(gpu, gpu ? &sel : NULL, enabled, json);
	if (!daemon_running(socket_path))
		return pm_legacy(gpu, gpu ? &sel : NULL, enabled);
	return pm_run(socket_path, gpu, enabled, json);
}
