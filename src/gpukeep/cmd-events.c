// SPDX-License-Identifier: GPL-2.0-or-later
/* gpukeep events: the watcher's event log, for people (text) or machines (--json). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/gk-exit.h"
#include "event-text.h"
#include "ladder/config.h"
#include "ladder/eventlog.h"
#include "log.h"
#include "output.h"
#include "parse-util.h"
#include "verbs.h"

#define DEFAULT_STATE_DIR "/var/lib/gpukeep"

static void events_help(void)
{
	printf("usage: gpukeep events [--since T] [--json] [--state-dir DIR]\n\n"
	       "Prints the event log of 'gpukeep watch': faults seen, decisions and why, actions\n"
	       "started and ended (with the rung's report), guards tripped, the node marked\n"
	       "unhealthy. Oldest first.\n\n"
	       "  --since T        only events at or after T: a time in UTC "
	       "(2026-12-01T10:00:00Z,\n"
	       "                   2026-12-01 10:00, 2026-12-01), Unix seconds (@1796126400), or\n"
	       "                   a duration ago (90s, 15m, 2h, 1d)\n"
	       "  --json           one JSON object per line, as logged\n"
	       "  --state-dir DIR  the watcher's state directory (default " DEFAULT_STATE_DIR
	       ")\n\n"
	       "exit codes: 0 printed (also when there are none); 1 the log cannot be read; 2 "
	       "usage\n");
}

/* @s as "YYYY-MM-DDTHH:MM:SS.mmmZ" (the log's format), for comparison with the log's times. */
static int parse_since(const char *s, char buf[32])
{
	static const char *const formats[] = {"%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S",
					      "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"};
	struct tm tm = {};
	time_t t = 0;
	unsigned v;
	size_t n = strlen(s);

	if (s[0] == '@') {
		if (safe_atou(s + 1, &v) < 0)
			return -EINVAL;
		t = (time_t)v;
	} else if (n > 1 && strchr("smhd", s[n - 1])) {
		_cleanup_free_ char *num = strndup(s, n - 1);
		static const unsigned mult[] = {['s'] = 1, ['m'] = 60, ['h'] = 3600, ['d'] = 86400};

		if (!num || safe_atou_base(num, 10, &v) < 0)
			return -EINVAL;
		t = time(NULL) - (time_t)v * mult[(unsigned char)s[n - 1]];
	} else {
		size_t i;

		for (i = 0; i < ELEMENTSOF(formats); i++) {
			const char *end;

			tm = (struct tm){};
			end = strptime(s, formats[i], &tm);
			if (end && !*end)
				break;
		}
		if (i == ELEMENTSOF(formats))
			return -EINVAL;
		t = timegm(&tm);
	}
	gmtime_r(&t, &tm);
	strftime(buf, 32, "%Y-%m-%dT%H:%M:%S.000Z", &tm);
	return 0;
}

struct filter {
	const char *since; /* NULL: everything */
	bool json;
	size_t shown, bad;
};

static int show(const char *line, void *ud)
{
	struct filter *f = ud;
	struct json_object *o = json_tokener_parse(line), *t;

	if (!o || !json_object_object_get_ex(o, "time", &t) ||
	    !json_object_is_type(t, json_type_string)) {
		f->bad++;
		json_object_put(o);
		return 0;
	}
	/* the log's times are fixed-width UTC: they compare as strings */
	if (!f->since || strcmp(json_object_get_string(t), f->since) >= 0) {
		if (f->json)
			printf("%s\n", line);
		else
			event_print_text(stdout, o);
		f->shown++;
	}
	json_object_put(o);
	return 0;
}

int verb_events(int argc, char **argv)
{
	static const struct option opts[] = {
		{"since", required_argument, NULL, 's'},
		{"json", no_argument, NULL, 'j'},
		{"state-dir", required_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},
		{},
	};
	const char *state_dir = DEFAULT_STATE_DIR;
	struct filter f = {};
	char since[32];
	int c, r, dirfd;

	optind = 0;
	while ((c = getopt_long(argc, argv, "hj", opts, NULL)) >= 0) {
		switch (c) {
		case 's':
			if (parse_since(optarg, since) < 0)
				return usage_error("events",
						   "--since takes a UTC time, @SECONDS or an age "
						   "(15m, 2h), not '%s'",
						   optarg);
			f.since = since;
			break;
		case 'j':
			f.json = true;
			break;
		case 'd':
			state_dir = optarg;
			break;
		case 'h':
			events_help();
			return GK_EXIT_OK;
		default:
			return usage_error("events", "invalid option");
		}
	}
	if (optind < argc)
		return usage_error("events", "unexpected argument '%s'", argv[optind]);
	dirfd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0 && errno == ENOENT)
		return GK_EXIT_OK; /* the watcher never ran: no events */
	if (dirfd < 0)
		return log_error_errno(-errno, "cannot open %s: %m", state_dir), GK_EXIT_FAILED;
	/* the watcher's configuration says how many rotated files it keeps; 20 is its maximum */
	r = eventlog_read(dirfd, 20, show, &f);
	close(dirfd);
	if (r < 0 && r != -ENOENT)
		return log_error_errno(r, "cannot read %s/%s: %m", state_dir, GK_EVENTLOG_FILE),
		       GK_EXIT_FAILED;
	if (f.bad)
		log_warning("%zu line(s) of %s/%s are not events: skipped", f.bad, state_dir,
			    GK_EVENTLOG_FILE);
	return GK_EXIT_OK;
}
