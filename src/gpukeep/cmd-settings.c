// SPDX-License-Identifier: GPL-2.0-or-later
/* gpukeep settings save|restore FILE: the per-GPU settings a driver reload loses, kept in a file
 * and put back, each value read back and reported. */
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "baseline/baseline.h"
#include "core/gk-exit.h"
#include "fileio.h"
#include "log.h"
#include "nvml-cli.h"
#include "nvml/settings.h"
#include "output.h"
#include "verbs.h"

static void settings_help(void)
{
	printf("usage: gpukeep settings save FILE [--nvml PATH]\n"
	       "       gpukeep settings restore FILE [--nvml PATH] [--json]\n\n"
	       "save writes every GPU's persistence mode, compute mode, application clocks, power\n"
	       "limit and accounting mode, read through NVML, to FILE (JSON, schema\n"
	       "gpukeep.settings). restore puts each recorded value back on the GPU with the same\n"
	       "PCI address, reads it back, and reports per GPU and setting: restored, already\n"
	       "right, failed (and why) or not supported. Setting values needs root.\n\n"
	       "  --nvml PATH  NVML library (default libnvidia-ml.so.1, or $GPUKEEP_NVML)\n"
	       "  --json       restore: print the report as JSON\n"
	       "  -h, --help   show this help\n\n"
	       "Every NVML call has a deadline ($GPUKEEP_NVML_TIMEOUT_MS, default 5000 ms); a "
	       "call\n"
	       "that passes it is reported as \"NVML hung (driver not responding)\".\n"
	       "exit codes: 0 done, 1 not written or not all restored, 2 usage or a malformed\n"
	       "FILE, 3 NVML unavailable (nothing changed)\n");
}

static int open_nvml(const char *path, struct gk_nvml **ret)
{
	_cleanup_free_ char *error = NULL;
	int r;

	r = nvml_open(path, 0, ret, &error);
	if (r < 0)
		log_error("cannot use NVML: %s", error ? error : strerror(-r));
	return r;
}

static int settings_save(const char *file, const char *nvml_path)
{
	_cleanup_nvml_ struct gk_nvml *n = NULL;
	_cleanup_(settings_done) struct gk_settings snap = {};
	struct json_object *o;
	const char *text;
	int r;

	if (open_nvml(nvml_path, &n) < 0)
		return GK_EXIT_PRECONDITION;
	r = settings_snapshot(n, &snap);
	if (r < 0) {
		log_error("cannot read the GPU settings: %s", nvml_last_error(n));
		return GK_EXIT_FAILED;
	}
	/* a snapshot cut short by a hung driver is not one to restore from later */
	if (nvml_hung_error(n)) {
		log_error("NVML hung while reading the settings, nothing saved: %s",
			  nvml_hung_error(n));
		return GK_EXIT_FAILED;
	}
	o = settings_to_json(&snap);
	text = o ? json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
							     JSON_C_TO_STRING_NOSLASHESCAPE)
		 : NULL;
	r = text ? write_file_atomic_at(AT_FDCWD, file, text, strlen(text), 0644) : -ENOMEM;
	json_object_put(o);
	if (r < 0) {
		log_error_errno(r, "cannot write %s: %m", file);
		return GK_EXIT_FAILED;
	}
	printf("settings of %zu GPU(s) saved to %s\n", snap.n_gpus, file);
	if (snap.error)
		log_warning("not everything could be read: %s", snap.error);
	return GK_EXIT_OK;
}

static int load_snapshot(const char *file, struct gk_settings *ret)
{
	_cleanup_free_ char *error = NULL;
	struct json_object *o = NULL;
	int r;

	r = json_parse_file_at(AT_FDCWD, file, GK_SETTINGS_MAX_SIZE, &o, &error);
	if (r >= 0)
		r = settings_from_json(o, ret, &error);
	json_object_put(o);
	if (r == -EBADMSG)
		log_error("settings file %s is malformed: %s", file, error);
	else if (r < 0)
		log_error_errno(r, "cannot read settings file %s: %m", file);
	return r;
}

static int print_report(const struct gk_restore_report *rep, bool json)
{
	size_t counts[_GK_RESTORE_OUTCOME_MAX] = {};
	struct json_object *o;
	int r;

	if (json) {
		o = restore_report_to_json(rep);
		r = o ? output_json(o) : -ENOMEM;
		json_object_put(o);
		return r;
	}
	for (size_t i = 0; i < rep->n; i++) {
		const struct gk_restore_item *it = &rep->items[i];

		counts[it->outcome]++;
		printf("  %s %-20s %-14s %s\n", it->pci, setting_to_string(it->setting),
		       restore_outcome_to_string(it->outcome), it->message);
	}
	printf("%zu restored, %zu already right, %zu failed, %zu not supported, %zu not recorded\n",
	       counts[GK_RESTORE_RESTORED], counts[GK_RESTORE_ALREADY_RIGHT],
	       counts[GK_RESTORE_FAILED], counts[GK_RESTORE_NOT_SUPPORTED],
	       counts[GK_RESTORE_NOT_RECORDED]);
	return 0;
}

static int settings_restore_file(const char *file, const char *nvml_path, bool json)
{
	_cleanup_nvml_ struct gk_nvml *n = NULL;
	_cleanup_(settings_done) struct gk_settings snap = {};
	_cleanup_(restore_report_done) struct gk_restore_report rep = {};
	int r;

	if (load_snapshot(file, &snap) < 0)
		return GK_EXIT_USAGE;
	if (open_nvml(nvml_path, &n) < 0)
		return GK_EXIT_PRECONDITION;
	r = settings_restore(n, &snap, &rep);
	if (r >= 0)
		r = print_report(&rep, json);
	if (r < 0) {
		log_error_errno(r, "cannot report the restore: %m");
		return GK_EXIT_FAILED;
	}
	if (rep.n_failed > 0) {
		log_error("%zu setting(s) could not be restored", rep.n_failed);
		return GK_EXIT_FAILED;
	}
	return GK_EXIT_OK;
}

int verb_settings(int argc, char **argv)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{},
	};
	const char *nvml = NULL;
	bool json = false;
	int c, r;

	r = nvml_cli_take_option("settings", &argc, argv, &nvml);
	if (r >= 0)
		return r;
	optind = 0;
	while ((c = getopt_long(argc, argv, "hj", opts, NULL)) >= 0) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'h':
			settings_help();
			return GK_EXIT_OK;
		default:
			return usage_error("settings", "invalid option");
		}
	}
	if (argc - optind != 2)
		return usage_error("settings", "expected 'save FILE' or 'restore FILE'");
	if (streq(argv[optind], "save"))
		return settings_save(argv[optind + 1], nvml);
	if (streq(argv[optind], "restore"))
		return settings_restore_file(argv[optind + 1], nvml, json);
	return usage_error("settings", "unknown action '%s' (expected save or restore)",
			   argv[optind]);
}
