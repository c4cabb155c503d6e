/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Strict number parsing: the whole string must be a number in range, or -EINVAL/-ERANGE. */
#pragma once

#include <stdint.h>

/* Base 10 unless the string starts with 0x (then 16). Leading/trailing whitespace is allowed. */
int safe_atou(const char *s, unsigned *ret);
int safe_atoi(const char *s, int *ret);
int safe_atou64(const char *s, uint64_t *ret);
/* Explicit base (10 or 16); "0x" accepted with base 16. */
int safe_atou_base(const char *s, int base, unsigned *ret);
