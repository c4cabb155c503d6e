// SPDX-License-Identifier: GPL-2.0-or-later
/* Logging to stderr or syslog with %m bound to an explicit error, not to errno. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static enum log_target log_target = LOG_TARGET_STDERR;
static int log_max_level = LOG_INFO;
static const char *log_program = "gpukeep";
static int syslog_opened;

void log_set_target(enum log_target target)
{
	log_target = target;
	if (target == LOG_TARGET_SYSLOG && !syslog_opened) {
		openlog(log_program, LOG_PID | LOG_NDELAY, LOG_DAEMON);
		syslog_opened = 1;
	}
}

void log_set_max_level(int level)
{
	log_max_level = level;
}

int log_get_max_level(void)
{
	return log_max_level;
}

void log_set_program(const char *name)
{
	log_program = name;
}

int log_internal(int level, int error, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	error = abs(error);
	/* vsnprintf expands %m from errno: point errno at the error being reported. */
	errno = error;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	if (log_target == LOG_TARGET_SYSLOG)
		syslog(level, "%s", msg);
	else
		fprintf(stderr, "%s: %s\n", log_program, msg);
	return -error;
}
