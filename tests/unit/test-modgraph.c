// SPDX-License-Identifier: GPL-2.0-or-later
/* /proc/modules parsing, the nvidia closure and the leaves-first unload order. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "node/modgraph.h"
#include "string-util.h"

/* Observed on Debian 6.1 in the simulated node, plus peermem and a third-party gdrdrv. */
static const char hgx[] = "nvidia_peermem 16384 0 - Live 0xffffffffc0a00000 (OE)\n"
			  "gdrdrv 24576 0 - Live 0xffffffffc0b00000 (OE)\n"
			  "nvidia_uvm 1527808 2 - Live 0xffffffffc02c3000 (OE)\n"
			  "nvidia_drm 73728 0 - Live 0xffffffffc02d1000 (OE)\n"
			  "nvidia_modeset 1511424 1 nvidia_drm, Live 0xffffffffc02c8000 (OE)\n"
			  "nvidia 54935552 21 nvidia_uvm,nvidia_peermem,gdrdrv,nvidia_modeset, "
			  "Live 0x0000000000000000 "
			  "(OE)\n"
			  "drm 614400 1 nvidia_drm, Live 0xffffffffc0100000\n"
			  "e1000e 290816 0 - Live 0xffffffffc0010000\n";

static void test_parse(void **state)
{
	struct gk_modlist l;
	struct gk_module *m;

	assert_int_equal(modlist_parse_proc(hgx, &l, NULL), 0);
	assert_int_equal(l.n, 8);
	m = modlist_find(&l, "nvidia");
	assert_non_null(m);
	assert_int_equal(m->refcnt, 21);
	assert_int_equal(m->size, 54935552);
	assert_int_equal(strv_length(m->holders), 4);
	assert_string_equal(m->holders[3], "nvidia_modeset");
	assert_string_equal(m->state, "live");
	assert_string_equal(m->taint, "OE");
	m = modlist_find(&l, "e1000e");
	assert_int_equal(strv_length(m->holders), 0);
	assert_null(m->taint);
	assert_null(modlist_find(&l, "nvidia_fs"));
	modlist_done(&l);
}

static void test_parse_states_and_no_unload(void **state)
{
	static const char text[] = "a 16384 0 - Loading 0xffffffffc0000000\n"
				   "b 16384 0 - Unloading 0xffffffffc0000000\n"
				   "c 16384 0 [permanent], Live 0xffffffffc0000000\n"
				   "d 16384 - - Live 0xffffffffc0000000\n";
	struct gk_modlist l;

	assert_int_equal(modlist_parse_proc(text, &l, NULL), 0);
	assert_string_equal(modlist_find(&l, "a")->state, "coming");
	assert_string_equal(modlist_find(&l, "b")->state, "going");
	assert_int_equal(strv_length(modlist_find(&l, "c")->holders), 0);
	assert_int_equal(modlist_find(&l, "d")->refcnt, -1);
	modlist_done(&l);
}

static void test_parse_malformed(void **state)
{
	static const struct {
		const char *text;
		unsigned line;
	} cases[] = {
		{"nvidia 16384 1 nvidia_uvm Live 0x0\n",
		 1}, /* holder list without trailing comma */
		{"e1000e 290816 0 - Live 0x0\nnvidia 1 2\n", 2},
		{"nvidia x 0 - Live 0x0\n", 1},
		{"nvidia 16384 -3 - Live 0x0\n", 1},
		{"nvidia 16384 0 - Dead 0x0\n", 1},
		{"nvidia 16384 0 - Live 0x0 OE\n", 1},
		{"\n\nnvidia 16384 0 , Live 0x0\n", 3},
	};

	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct gk_modlist l = {.n = 99};
		unsigned line = 0;

		assert_int_equal(modlist_parse_proc(cases[c].text, &l, &line), -EBADMSG);
		assert_int_equal(line, cases[c].line);
		assert_int_equal(l.n, 99);
	}
}

static void assert_strv(char **got, const char *const *want, size_t n)
{
	assert_int_equal(strv_length(got), n);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(got[i], want[i]);
}

static void test_closure_and_order(void **state)
{
	static const char *const closure[] = {"nvidia",		"gdrdrv",     "nvidia_modeset",
					      "nvidia_peermem", "nvidia_uvm", "nvidia_drm"};
	static const char *const order[] = {"gdrdrv",	      "nvidia_drm", "nvidia_modeset",
					    "nvidia_peermem", "nvidia_uvm", "nvidia"};
	struct gk_modlist l;
	char **out = NULL;

	assert_int_equal(modlist_parse_proc(hgx, &l, NULL), 0);
	assert_int_equal(modgraph_closure(&l, "nvidia", &out), 6);
	assert_strv(out, closure, 6);
	strv_free(out);
	assert_int_equal(modgraph_unload_order(&l, "nvidia", &out), 6);
	assert_strv(out, order, 6);
	/* every module comes after all of its holders */
	for (size_t i = 0; out[i]; i++)
		for (char **h = modlist_find(&l, out[i])->holders; *h; h++)
			for (size_t j = i; out[j]; j++)
				assert_string_not_equal(out[j], *h);
	strv_free(out);
	/* drm is not part of nvidia's closure even though nvidia_drm uses it */
	assert_int_equal(modgraph_closure(&l, "drm", &out), 2);
	strv_free(out);
	out = NULL;
	assert_int_equal(modgraph_closure(&l, "nvidia_fs", &out), 0);
	assert_null(out);
	modlist_done(&l);
}

static void test_cycle(void **state)
{
	static const char text[] = "nvidia 1 1 b, Live 0x0\nb 1 1 c, Live 0x0\nc 1 1 b, Live 0x0\n"
				   "x 1 1 nvidia, Live 0x0\n";
	struct gk_modlist l;
	char **out = NULL;

	assert_int_equal(modlist_parse_proc(text, &l, NULL), 0);
	assert_int_equal(modgraph_unload_order(&l, "nvidia", &out), -ELOOP);
	assert_null(out);
	modlist_done(&l);
}

static void test_holder_not_loaded(void **state)
{
	/* a holder listed by sysfs but gone from /proc/modules is not planned */
	static const char text[] = "nvidia 1 1 ghost, Live 0x0\n";
	struct gk_modlist l;
	char **out = NULL;

	assert_int_equal(modlist_parse_proc(text, &l, NULL), 0);
	assert_int_equal(modgraph_unload_order(&l, "nvidia", &out), 1);
	assert_string_equal(out[0], "nvidia");
	strv_free(out);
	modlist_done(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_parse_states_and_no_unload),
		cmocka_unit_test(test_parse_malformed),
		cmocka_unit_test(test_closure_and_order),
		cmocka_unit_test(test_cycle),
		cmocka_unit_test(test_holder_not_loaded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
