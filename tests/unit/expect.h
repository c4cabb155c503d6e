/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Assertions the unit tests share beyond cmocka's. Header-only. */
#pragma once

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

/* Fails the test unless @needle is in @hay (a NULL @hay, nothing said yet, fails too). */
static inline void expect_in(const char *hay, const char *needle)
{
	if (!hay || !strstr(hay, needle))
		fail_msg("'%s' not in '%s'", needle, hay ? hay : "(null)");
}
