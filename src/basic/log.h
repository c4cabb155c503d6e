/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Logging for binaries (stderr or syslog); libgk only calls log_debug(). */
#pragma once

#include <stdarg.h>
#include <syslog.h>

#include "macro.h"

enum log_target {
	LOG_TARGET_STDERR,
	LOG_TARGET_SYSLOG,
};

void log_set_target(enum log_target target);
void log_set_max_level(int level);
int log_get_max_level(void);
/* Program name used as prefix on stderr and as syslog ident; the pointer must stay valid. */
void log_set_program(const char *name);

/*
 * Logs at syslog level @level; "%m" expands to strerror(@error). Returns -abs(@error), or 0 when
 * @error is 0, so that "return log_error_errno(r, ...)" propagates the error.
 */
int log_internal(int level, int error, const char *fmt, ...) _printf_(3, 4);

#define log_full_errno(level, error, ...)                                                          \
	({                                                                                         \
		int _e_ = (error);                                                                 \
		(log_get_max_level() >= (level)) ? log_internal(level, _e_, __VA_ARGS__)           \
						 : -abs(_e_);                                      \
	})

#define log_debug(...)		  log_full_errno(LOG_DEBUG, 0, __VA_ARGS__)
#define log_info(...)		  log_full_errno(LOG_INFO, 0, __VA_ARGS__)
#define log_notice(...)		  log_full_errno(LOG_NOTICE, 0, __VA_ARGS__)
#define log_warning(...)	  log_full_errno(LOG_WARNING, 0, __VA_ARGS__)
#define log_error(...)		  log_full_errno(LOG_ERR, 0, __VA_ARGS__)
#define log_debug_errno(e, ...)	  log_full_errno(LOG_DEBUG, e, __VA_ARGS__)
#define log_info_errno(e, ...)	  log_full_errno(LOG_INFO, e, __VA_ARGS__)
#define log_warning_errno(e, ...) log_full_errno(LOG_WARNING, e, __VA_ARGS__)
#define log_error_errno(e, ...)	  log_full_errno(LOG_ERR, e, __VA_ARGS__)
