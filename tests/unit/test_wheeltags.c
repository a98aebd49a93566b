/* pyspec/wheeltags.c: the supported tags of a target CPython on Linux, in the
 * order of pypa/packaging 24's sys_tags() (the lists below were checked
 * against packaging.tags.cpython_tags + compatible_tags fed the same
 * platforms), and PEP 427 wheel file names, most of them real names from
 * PyPI.  Prints "ok - NAME" / "not ok - NAME" (+ "# detail"); exits non-zero
 * on a failure. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ctx.h"
#include "core/error.h"
#include "core/str.h"
#include "pyspec/wheeltags.h"

#include "tests/unit/check.h"

static const char *nz(const char *s)
{
	return s ? s : "(null)";
}

static const char *tag_at(const struct wheel_tags *t, size_t i)
{
	return i < t->tags.n ? t->tags.v[i] : NULL;
}

/* The rank of "interp-abi-plat" written as one string. */
static int rank_of(const struct wheel_tags *t, const char *triple)
{
	char buf[256], *abi, *plat;

	snprintf(buf, sizeof buf, "%s", triple);
	abi = strchr(buf, '-');
	if (!abi)
		return -2;
	*abi++ = '\0';
	plat = strchr(abi, '-');
	if (!plat)
		return -2;
	*plat++ = '\0';
	return wheel_tags_rank(t, buf, abi, plat);
}

static bool make_tags(const struct wheel_target *target, struct wheel_tags *out,
		      const char *what)
{
	struct pkgimg_ctx ctx;
	int r;

	pkgimg_ctx_init(&ctx);
	r = wheel_supported_tags(&ctx, target, out);
	check(r == 0, what, "rc=%d: %s", r, ctx.errmsg);
	return r == 0;
}

/* The first entries of a list, the last ones and the count. */
static void check_list(const struct wheel_tags *t, const char *label, size_t want_n,
		       const char *const *head, size_t nhead, const char *const *tail,
		       size_t ntail)
{
	char name[256];
	size_t i;

	snprintf(name, sizeof name, "%s: %zu tags", label, want_n);
	check(t->tags.n == want_n, name, "got %zu", t->tags.n);
	for (i = 0; i < nhead; i++) {
		snprintf(name, sizeof name, "%s: [%zu] is %s", label, i, head[i]);
		check(tag_at(t, i) && !strcmp(tag_at(t, i), head[i]), name, "got %s",
		      nz(tag_at(t, i)));
	}
	for (i = 0; i < ntail; i++) {
		size_t at = t->tags.n - ntail + i;

		snprintf(name, sizeof name, "%s: [n-%zu] is %s", label, ntail - i, tail[i]);
		check(t->tags.n >= ntail && !strcmp(tag_at(t, at), tail[i]), name, "got %s",
		      t->tags.n >= ntail ? nz(tag_at(t, at)) : "(short list)");
	}
}

/* Every entry is a distinct triple whose rank is its own index. */
static void check_index(const struct wheel_tags *t, const char *label)
{
	char name[256];
	size_t i, bad = 0;
	int r;

	for (i = 0; i < t->tags.n; i++) {
		r = rank_of(t, t->tags.v[i]);
		if (r != (int)i) {
			if (!bad)
				printf("# %s: rank('%s') = %d, want %zu\n", label, t->tags.v[i], r, i);
			bad++;
		}
	}
	snprintf(name, sizeof name, "%s: every tag is unique and ranks at its index", label);
	check(t->tags.n > 0 && bad == 0, name, "%zu of %zu wrong", bad, t->tags.n);
}

static void check_rank(const struct wheel_tags *t, const char *label, const char *triple,
		       int want)
{
	char name[256];
	int r = rank_of(t, triple);

	snprintf(name, sizeof name, "%s: rank %s = %d", label, triple, want);
	check(r == want, name, "got %d", r);
}

static void check_before(const struct wheel_tags *t, const char *label, const char *a,
			 const char *b)
{
	char name[256];
	int ra = rank_of(t, a), rb = rank_of(t, b);

	snprintf(name, sizeof name, "%s: %s before %s", label, a, b);
	check(ra >= 0 && rb >= 0 && ra < rb, name, "ranks %d, %d", ra, rb);
}

/* --- cp311 x86_64 glibc 2.36 --------------------------------------------- */

static const char *const cp311_head[] = {
	"cp311-cp311-manylinux_2_36_x86_64",
	"cp311-cp311-manylinux_2_35_x86_64",
	"cp311-cp311-manylinux_2_34_x86_64",
	"cp311-cp311-manylinux_2_33_x86_64",
	"cp311-cp311-manylinux_2_32_x86_64",
	"cp311-cp311-manylinux_2_31_x86_64",
	"cp311-cp311-manylinux_2_30_x86_64",
	"cp311-cp311-manylinux_2_29_x86_64",
	"cp311-cp311-manylinux_2_28_x86_64",
	"cp311-cp311-manylinux_2_27_x86_64",
};

static const char *const cp311_tail[] = {
	"py30-none-linux_x86_64",
	"cp311-none-any",
	"py311-none-any",
	"py3-none-any",
	"py310-none-any",
	"py39-none-any",
	"py38-none-any",
	"py37-none-any",
	"py36-none-any",
	"py35-none-any",
	"py34-none-any",
	"py33-none-any",
	"py32-none-any",
	"py31-none-any",
	"py30-none-any",
};

/* Platforms 0..35: manylinux_2_36..2_5 with three aliases, then linux. */
static const struct {
	const char *triple;
	int rank;
} cp311_ranks[] = {
	{ "cp311-cp311-manylinux_2_17_x86_64", 19 },
	{ "cp311-cp311-manylinux2014_x86_64", 20 },
	{ "cp311-cp311-manylinux_2_16_x86_64", 21 },
	{ "cp311-cp311-manylinux_2_12_x86_64", 25 },
	{ "cp311-cp311-manylinux2010_x86_64", 26 },
	{ "cp311-cp311-manylinux_2_5_x86_64", 33 },
	{ "cp311-cp311-manylinux1_x86_64", 34 },
	{ "cp311-cp311-linux_x86_64", 35 },
	{ "cp311-abi3-manylinux_2_36_x86_64", 36 },
	{ "cp311-none-manylinux_2_36_x86_64", 72 },
	{ "cp310-abi3-manylinux_2_36_x86_64", 108 },
	{ "cp32-abi3-manylinux_2_36_x86_64", 108 + 8 * 36 },
	{ "cp32-abi3-linux_x86_64", 431 },
	{ "py311-none-manylinux_2_36_x86_64", 432 },
	{ "py3-none-manylinux_2_36_x86_64", 468 },
	{ "py310-none-manylinux_2_36_x86_64", 504 },
	{ "cp311-none-any", 900 },
	{ "py3-none-any", 902 },
	{ "py30-none-any", 913 },
	/* not supported */
	{ "cp311-cp311-manylinux_2_37_x86_64", -1 },
	{ "cp311-cp311-manylinux_2_4_x86_64", -1 },
	{ "cp311-cp311-manylinux_2_17_aarch64", -1 },
	{ "cp311-cp311-musllinux_1_2_x86_64", -1 },
	{ "cp312-cp312-manylinux_2_17_x86_64", -1 },
	{ "cp311-abi3-any", -1 },
	{ "cp31-abi3-linux_x86_64", -1 },
	{ "cp312-abi3-linux_x86_64", -1 },
	{ "cp310-cp310-linux_x86_64", -1 },
	{ "cp310-none-any", -1 },
	{ "py312-none-any", -1 },
	{ "py2-none-any", -1 },
	{ "cp311-cp311d-linux_x86_64", -1 },
	{ "cp311-cp311t-linux_x86_64", -1 },
	{ "pp310-pypy310_pp73-manylinux_2_28_x86_64", -1 },
	{ "cp311-cp311-win_amd64", -1 },
};

static void t_cp311_x86_64(void)
{
	struct wheel_target target = { .py_major = 3, .py_minor = 11, .arch = "x86_64",
				       .glibc_major = 2, .glibc_minor = 36 };
	struct wheel_tags t;
	const char *L = "cp311 x86_64 glibc 2.36";
	size_t i;

	if (!make_tags(&target, &t, "cp311 x86_64 glibc 2.36: tags computed"))
		return;
	check_list(&t, L, 914, cp311_head, sizeof cp311_head / sizeof cp311_head[0], cp311_tail,
		   sizeof cp311_tail / sizeof cp311_tail[0]);
	check_index(&t, L);
	for (i = 0; i < sizeof cp311_ranks / sizeof cp311_ranks[0]; i++)
		check_rank(&t, L, cp311_ranks[i].triple, cp311_ranks[i].rank);

	check_before(&t, L, "cp311-cp311-manylinux_2_36_x86_64", "cp311-abi3-manylinux_2_17_x86_64");
	check_before(&t, L, "cp311-abi3-manylinux_2_17_x86_64", "py3-none-any");
	check_before(&t, L, "cp311-cp311-linux_x86_64", "cp311-abi3-manylinux_2_36_x86_64");
	check_before(&t, L, "cp311-none-linux_x86_64", "cp310-abi3-manylinux_2_36_x86_64");
	check_before(&t, L, "cp38-abi3-linux_x86_64", "cp37-abi3-manylinux_2_36_x86_64");
	check_before(&t, L, "cp32-abi3-linux_x86_64", "py311-none-manylinux_2_36_x86_64");
	check_before(&t, L, "py30-none-linux_x86_64", "cp311-none-any");
	check_before(&t, L, "cp311-none-any", "py311-none-any");
	check_before(&t, L, "py311-none-any", "py3-none-any");
	check_before(&t, L, "py3-none-any", "py310-none-any");
	check_before(&t, L, "py3-none-linux_x86_64", "py310-none-manylinux_2_36_x86_64");

	/* lookups are case-insensitive, as packaging's Tag lowercases */
	check(wheel_tags_rank(&t, "CP311", "CP311", "Manylinux_2_36_X86_64") == 0,
	      "cp311 x86_64: rank is case-insensitive", "got %d",
	      wheel_tags_rank(&t, "CP311", "CP311", "Manylinux_2_36_X86_64"));
	check(wheel_tags_rank(&t, "cp311", "cp311-manylinux_2_36_x86_64", "") == -1 &&
	      wheel_tags_rank(&t, "cp311-cp311", "manylinux_2_36_x86_64", "") == -1,
	      "cp311 x86_64: a '-' inside a part never matches", "ranks %d, %d",
	      wheel_tags_rank(&t, "cp311", "cp311-manylinux_2_36_x86_64", ""),
	      wheel_tags_rank(&t, "cp311-cp311", "manylinux_2_36_x86_64", ""));
	check(wheel_tags_rank(&t, "cp311", "cp311", "manylinux_2_36_x86_6") == -1 &&
	      wheel_tags_rank(&t, "cp311", "cp311", "manylinux_2_36_x86_644") == -1,
	      "cp311 x86_64: a prefix or extension of a tag does not match", "ranks %d, %d",
	      wheel_tags_rank(&t, "cp311", "cp311", "manylinux_2_36_x86_6"),
	      wheel_tags_rank(&t, "cp311", "cp311", "manylinux_2_36_x86_644"));
	wheel_tags_free(&t);
}

/* --- cp312 aarch64 glibc 2.31 -------------------------------------------- */

static const char *const cp312_head[] = {
	"cp312-cp312-manylinux_2_31_aarch64",
	"cp312-cp312-manylinux_2_30_aarch64",
	"cp312-cp312-manylinux_2_29_aarch64",
	"cp312-cp312-manylinux_2_28_aarch64",
	"cp312-cp312-manylinux_2_27_aarch64",
	"cp312-cp312-manylinux_2_26_aarch64",
	"cp312-cp312-manylinux_2_25_aarch64",
	"cp312-cp312-manylinux_2_24_aarch64",
	"cp312-cp312-manylinux_2_23_aarch64",
	"cp312-cp312-manylinux_2_22_aarch64",
	"cp312-cp312-manylinux_2_21_aarch64",
	"cp312-cp312-manylinux_2_20_aarch64",
	"cp312-cp312-manylinux_2_19_aarch64",
	"cp312-cp312-manylinux_2_18_aarch64",
	"cp312-cp312-manylinux_2_17_aarch64",
	"cp312-cp312-manylinux2014_aarch64",
	"cp312-cp312-linux_aarch64",
	"cp312-abi3-manylinux_2_31_aarch64",
};

static const char *const cp312_tail[] = {
	"py30-none-manylinux2014_aarch64",
	"py30-none-linux_aarch64",
	"cp312-none-any",
	"py312-none-any",
	"py3-none-any",
	"py311-none-any",
	"py310-none-any",
	"py39-none-any",
	"py38-none-any",
	"py37-none-any",
	"py36-none-any",
	"py35-none-any",
	"py34-none-any",
	"py33-none-any",
	"py32-none-any",
	"py31-none-any",
	"py30-none-any",
};

static void t_cp312_aarch64(void)
{
	struct wheel_target target = { .py_major = 3, .py_minor = 12, .arch = "aarch64",
				       .glibc_major = 2, .glibc_minor = 31 };
	struct wheel_tags t;
	const char *L = "cp312 aarch64 glibc 2.31";

	if (!make_tags(&target, &t, "cp312 aarch64 glibc 2.31: tags computed"))
		return;
	/* 17 platforms; 13 cp interpreters and 14 py ones each, 15 "any" */
	check_list(&t, L, 474, cp312_head, sizeof cp312_head / sizeof cp312_head[0], cp312_tail,
		   sizeof cp312_tail / sizeof cp312_tail[0]);
	check_index(&t, L);
	check_rank(&t, L, "cp312-abi3-manylinux2014_aarch64", 17 + 15);
	check_rank(&t, L, "cp311-abi3-manylinux_2_17_aarch64", 3 * 17 + 14);
	check_rank(&t, L, "cp312-cp312-manylinux_2_16_aarch64", -1);
	check_rank(&t, L, "cp312-cp312-manylinux2010_aarch64", -1);
	check_rank(&t, L, "cp312-cp312-manylinux1_aarch64", -1);
	check_rank(&t, L, "cp312-cp312-manylinux_2_17_x86_64", -1);
	check_before(&t, L, "cp312-cp312-manylinux_2_17_aarch64", "cp312-cp312-manylinux2014_aarch64");
	check_before(&t, L, "cp312-cp312-manylinux2014_aarch64", "cp312-cp312-linux_aarch64");
	wheel_tags_free(&t);
}

/* --- other targets ------------------------------------------------------- */

static void t_other_targets(void)
{
	struct wheel_target musl = { .py_major = 3, .py_minor = 11, .arch = "x86_64",
				     .musl_major = 1, .musl_minor = 2 };
	struct wheel_target ft = { .py_major = 3, .py_minor = 13, .arch = "x86_64",
				   .glibc_major = 2, .glibc_minor = 39, .free_threaded = true };
	struct wheel_target dbg = { .py_major = 3, .py_minor = 11, .arch = "x86_64",
				    .glibc_major = 2, .glibc_minor = 17, .abi_debug = true };
	struct wheel_target py37 = { .py_major = 3, .py_minor = 7, .arch = "i686",
				     .glibc_major = 2, .glibc_minor = 5 };
	struct wheel_target old = { .py_major = 3, .py_minor = 12, .arch = "x86_64",
				    .glibc_major = 2, .glibc_minor = 4 };
	struct wheel_target armv8l = { .py_major = 3, .py_minor = 12, .arch = "armv8l",
				       .glibc_major = 2, .glibc_minor = 31 };
	struct wheel_target bare = { .py_major = 3, .py_minor = 12, .arch = "mips" ,
				     .glibc_major = 2, .glibc_minor = 31 };
	struct wheel_target g3 = { .py_major = 3, .py_minor = 11, .arch = "x86_64",
				   .glibc_major = 3, .glibc_minor = 0 };
	struct wheel_tags t;

	if (make_tags(&musl, &t, "musl 1.2 cp311: tags computed")) {
		static const char *const head[] = {
			"cp311-cp311-musllinux_1_2_x86_64", "cp311-cp311-musllinux_1_1_x86_64",
			"cp311-cp311-musllinux_1_0_x86_64", "cp311-cp311-linux_x86_64",
			"cp311-abi3-musllinux_1_2_x86_64",
		};
		static const char *const tail[] = { "cp311-none-any", "py311-none-any",
						    "py3-none-any" };

		/* 4 platforms * 25 interpreter-abi pairs (cp311 cp311/abi3/none,
		 * cp310..cp32 abi3, py311 py3 py310..py30), then 14 "any" */
		check(t.tags.n == 4 * 25 + 14, "musl 1.2 cp311: 114 tags", "got %zu", t.tags.n);
		check_list(&t, "musl 1.2 cp311", t.tags.n, head, 5, NULL, 0);
		check(t.tags.n > 14 && !strcmp(t.tags.v[t.tags.n - 14], tail[0]) &&
		      !strcmp(t.tags.v[t.tags.n - 13], tail[1]) &&
		      !strcmp(t.tags.v[t.tags.n - 12], tail[2]),
		      "musl 1.2 cp311: cp311-none-any, py311-none-any, py3-none-any open the any block",
		      "got %s", t.tags.n > 14 ? t.tags.v[t.tags.n - 14] : "(short)");
		check_index(&t, "musl 1.2 cp311");
		check_rank(&t, "musl 1.2 cp311", "cp311-cp311-manylinux_2_17_x86_64", -1);
		check_rank(&t, "musl 1.2 cp311", "cp311-cp311-musllinux_1_3_x86_64", -1);
		wheel_tags_free(&t);
	}

	if (make_tags(&ft, &t, "free-threaded cp313t: tags computed")) {
		/* no abi3 at all: 39 platforms * (cp313t, none, 15 py) + 16 */
		check(t.tags.n == 39 * 17 + 16, "free-threaded cp313t: 679 tags", "got %zu",
		      t.tags.n);
		check_rank(&t, "cp313t", "cp313-cp313t-manylinux_2_39_x86_64", 0);
		check_rank(&t, "cp313t", "cp313-none-manylinux_2_39_x86_64", 39);
		check_rank(&t, "cp313t", "cp313-cp313-manylinux_2_39_x86_64", -1);
		check_rank(&t, "cp313t", "cp313-abi3-manylinux_2_39_x86_64", -1);
		check_rank(&t, "cp313t", "cp38-abi3-manylinux_2_17_x86_64", -1);
		check_rank(&t, "cp313t", "cp313-none-any", 39 * 17);
		wheel_tags_free(&t);
	}

	if (make_tags(&dbg, &t, "debug cp311d: tags computed")) {
		/* 2_17..2_5 with 3 aliases + linux = 17 platforms */
		check_rank(&t, "cp311d", "cp311-cp311d-manylinux_2_17_x86_64", 0);
		check_rank(&t, "cp311d", "cp311-cp311-manylinux_2_17_x86_64", 17);
		check_rank(&t, "cp311d", "cp311-abi3-manylinux_2_17_x86_64", 34);
		/* cp311d cp311 abi3 none, cp310..cp32 abi3, 13 py: 26 */
		check(t.tags.n == 17 * 26 + 14, "debug cp311d: 456 tags", "got %zu", t.tags.n);
		wheel_tags_free(&t);
	}

	if (make_tags(&py37, &t, "cp37 i686 glibc 2.5: tags computed")) {
		static const char *const head[] = {
			"cp37-cp37m-manylinux_2_5_i686", "cp37-cp37m-manylinux1_i686",
			"cp37-cp37m-linux_i686", "cp37-abi3-manylinux_2_5_i686",
		};

		check_list(&t, "cp37 i686 glibc 2.5", 3 * 17 + 10, head, 4, NULL, 0);
		check_rank(&t, "cp37 i686", "cp37-cp37-linux_i686", -1);
		wheel_tags_free(&t);
	}

	if (make_tags(&old, &t, "glibc 2.4 x86_64: tags computed")) {
		check(t.tags.n == 13 + 14 + 15 &&
		      !strcmp(t.tags.v[0], "cp312-cp312-linux_x86_64"),
		      "glibc 2.4 x86_64: older than manylinux1, only linux_x86_64", "n=%zu [0]=%s",
		      t.tags.n, t.tags.v[0]);
		wheel_tags_free(&t);
	}

	if (make_tags(&armv8l, &t, "armv8l glibc 2.31: tags computed")) {
		/* 32-bit ARM also runs armv7l wheels, after all armv8l ones */
		check_rank(&t, "armv8l", "cp312-cp312-manylinux_2_31_armv7l", 16);
		check_rank(&t, "armv8l", "cp312-cp312-manylinux2014_armv7l", 31);
		check_rank(&t, "armv8l", "cp312-cp312-linux_armv8l", 32);
		check_rank(&t, "armv8l", "cp312-cp312-linux_armv7l", 33);
		wheel_tags_free(&t);
	}

	if (make_tags(&bare, &t, "mips glibc 2.31: tags computed")) {
		check(t.tags.n == 42 && !strcmp(t.tags.v[0], "cp312-cp312-linux_mips"),
		      "mips: no manylinux for an arch packaging does not know", "n=%zu [0]=%s",
		      t.tags.n, t.tags.v[0]);
		wheel_tags_free(&t);
	}

	if (make_tags(&g3, &t, "glibc 3.0: tags computed")) {
		check(!strcmp(t.tags.v[0], "cp311-cp311-manylinux_3_0_x86_64") &&
		      !strcmp(t.tags.v[1], "cp311-cp311-manylinux_2_50_x86_64"),
		      "glibc 3.0: 3_0, then 2_50 (packaging's guess) downwards", "got %s, %s",
		      t.tags.v[0], t.tags.v[1]);
		wheel_tags_free(&t);
	}
}

static void t_bad_targets(void)
{
	static const struct {
		const char *name;
		struct wheel_target t;
	} bad[] = {
		{ "target: Python 2 is refused",
		  { .py_major = 2, .py_minor = 7, .arch = "x86_64", .glibc_major = 2, .glibc_minor = 17 } },
		{ "target: free-threaded 3.12 is refused",
		  { .py_major = 3, .py_minor = 12, .arch = "x86_64", .free_threaded = true } },
		{ "target: glibc and musl at once are refused",
		  { .py_major = 3, .py_minor = 12, .arch = "x86_64", .glibc_major = 2,
		    .glibc_minor = 17, .musl_major = 1, .musl_minor = 2 } },
		{ "target: no arch is refused", { .py_major = 3, .py_minor = 12 } },
		{ "target: arch 'x86-64' is refused", { .py_major = 3, .py_minor = 12, .arch = "x86-64" } },
		{ "target: arch 'X86_64' is refused", { .py_major = 3, .py_minor = 12, .arch = "X86_64" } },
		{ "target: glibc 0.17 is refused",
		  { .py_major = 3, .py_minor = 12, .arch = "x86_64", .glibc_minor = 17 } },
		{ "target: negative minor is refused", { .py_major = 3, .py_minor = -1, .arch = "x86_64" } },
	};
	struct pkgimg_ctx ctx;
	struct wheel_tags t;
	size_t i;
	int r;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		pkgimg_ctx_init(&ctx);
		memset(&t, 0xa5, sizeof t);
		r = wheel_supported_tags(&ctx, &bad[i].t, &t);
		check(r == -PKGIMG_E_USAGE && ctx.errmsg[0] && t.tags.n == (size_t)0xa5a5a5a5a5a5a5a5ull,
		      bad[i].name, "rc=%d msg='%s'", r, ctx.errmsg);
		if (r == 0)
			wheel_tags_free(&t);
	}
}

/* --- wheel file names ---------------------------------------------------- */

static const struct {
	const char *file;	/* real names from PyPI unless marked */
	const char *name, *version, *build;
	size_t ni, na, np;
	int rank;		/* on cp311 x86_64 glibc 2.36; -1 incompatible */
} names[] = {
	{ "torch-2.2.1-cp311-cp311-manylinux1_x86_64.whl", "torch", "2.2.1", NULL, 1, 1, 1, 34 },
	{ "numpy-1.26.4-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", "numpy",
	  "1.26.4", NULL, 1, 1, 2, 19 },
	{ "triton-2.2.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", "triton",
	  "2.2.0", NULL, 1, 1, 2, 19 },
	{ "six-1.16.0-py2.py3-none-any.whl", "six", "1.16.0", NULL, 2, 1, 1, 902 },
	{ "Cython-3.0.11-py2.py3-none-any.whl", "cython", "3.0.11", NULL, 2, 1, 1, 902 },
	{ "MarkupSafe-3.0.2-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
	  "markupsafe", "3.0.2", NULL, 1, 1, 2, 19 },
	{ "Cython-3.0.11-cp311-cp311-manylinux_2_5_i686.manylinux1_i686.manylinux_2_17_i686."
	  "manylinux2014_i686.whl", "cython", "3.0.11", NULL, 1, 1, 4, -1 },
	{ "Cython-3.0.11-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", "cython",
	  "3.0.11", NULL, 1, 1, 2, -1 },
	{ "Cython-3.0.11-cp311-cp311-manylinux_2_17_aarch64.manylinux2014_aarch64.whl", "cython",
	  "3.0.11", NULL, 1, 1, 2, -1 },
	{ "Cython-3.0.11-cp311-cp311-musllinux_1_2_x86_64.whl", "cython", "3.0.11", NULL, 1, 1, 1,
	  -1 },
	{ "Cython-3.0.11-cp311-cp311-win_amd64.whl", "cython", "3.0.11", NULL, 1, 1, 1, -1 },
	{ "pillow-11.1.0-cp311-cp311-manylinux_2_28_x86_64.whl", "pillow", "11.1.0", NULL, 1, 1,
	  1, 8 },
	{ "pillow-11.1.0-pp310-pypy310_pp73-manylinux_2_28_x86_64.whl", "pillow", "11.1.0", NULL,
	  1, 1, 1, -1 },
	{ "pillow-11.1.0-cp313-cp313t-manylinux_2_28_x86_64.whl", "pillow", "11.1.0", NULL, 1, 1,
	  1, -1 },
	/* psutil's abi3 wheel for 3.6+: cp36-abi3-manylinux_2_17_x86_64 */
	{ "psutil-6.1.1-cp36-abi3-manylinux_2_12_x86_64.manylinux2010_x86_64.manylinux_2_17_x86_64."
	  "manylinux2014_x86_64.whl", "psutil", "6.1.1", NULL, 1, 1, 4, 108 + 4 * 36 + 19 },
	{ "psutil-6.1.1-cp37-abi3-win_amd64.whl", "psutil", "6.1.1", NULL, 1, 1, 1, -1 },
	/* a cp38 abi3 wheel: cp38 is three below cp311 */
	{ "nh3-0.3.4-cp38-abi3-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", "nh3", "0.3.4",
	  NULL, 1, 1, 2, 108 + 2 * 36 + 19 },
	{ "nh3-0.3.4-cp38-abi3-pyemscripten_2026_0_wasm32.whl", "nh3", "0.3.4", NULL, 1, 1, 1, -1 },
	{ "argon2_cffi_bindings-25.1.0-cp314-abi3-pyemscripten_2026_0_wasm32.whl",
	  "argon2-cffi-bindings", "25.1.0", NULL, 1, 1, 1, -1 },
	{ "PyYAML-6.0.2-cp311-cp311-musllinux_1_1_x86_64.whl", "pyyaml", "6.0.2", NULL, 1, 1, 1,
	  -1 },
	{ "cuequivariance_torch-0.2.0-py3-none-any.whl", "cuequivariance-torch", "0.2.0", NULL, 1,
	  1, 1, 902 },
	/* not real: too new a glibc, a local version, a build tag, upper case */
	{ "foo-1.0-cp311-cp311-manylinux_2_38_x86_64.whl", "foo", "1.0", NULL, 1, 1, 1, -1 },
	{ "torch-2.2.1+cu121-cp311-cp311-linux_x86_64.whl", "torch", "2.2.1+cu121", NULL, 1, 1, 1,
	  35 },
	{ "zope.interface-6.2-1-cp311-cp311-manylinux_2_5_x86_64.whl", "zope-interface", "6.2",
	  "1", 1, 1, 1, 33 },
	{ "Foo_Bar-1.0-12abc-PY3-NONE-ANY.whl", "foo-bar", "1.0", "12abc", 1, 1, 1, 902 },
	{ "foo-1.0-py311.py2-none-any.whl", "foo", "1.0", NULL, 2, 1, 1, 901 },
	{ "foo-1.0-py2-none-any.whl", "foo", "1.0", NULL, 1, 1, 1, -1 },
	{ "foo-1.0-cp311-none-any.whl", "foo", "1.0", NULL, 1, 1, 1, 900 },
	{ "foo-1.0-cp311.cp310-abi3.none-linux_x86_64.any.whl", "foo", "1.0", NULL, 2, 2, 2, 71 },
};

static void t_names(void)
{
	struct wheel_target target = { .py_major = 3, .py_minor = 11, .arch = "x86_64",
				       .glibc_major = 2, .glibc_minor = 36 };
	struct pkgimg_ctx ctx;
	struct wheel_tags t;
	struct wheel_name w;
	char name[512];
	size_t i;
	int r;

	if (!make_tags(&target, &t, "names: cp311 x86_64 glibc 2.36 tags computed"))
		return;
	for (i = 0; i < sizeof names / sizeof names[0]; i++) {
		pkgimg_ctx_init(&ctx);
		r = wheel_filename_parse(&ctx, names[i].file, &w);
		snprintf(name, sizeof name, "name: %s parses to %s %s%s%s", names[i].file,
			 names[i].name, names[i].version, names[i].build ? " build " : "",
			 names[i].build ? names[i].build : "");
		if (r < 0) {
			check(false, name, "rc=%d: %s", r, ctx.errmsg);
			continue;
		}
		check(!strcmp(w.name, names[i].name) && !strcmp(w.version, names[i].version) &&
		      (names[i].build ? w.build && !strcmp(w.build, names[i].build) : !w.build) &&
		      w.interps.n == names[i].ni && w.abis.n == names[i].na &&
		      w.plats.n == names[i].np,
		      name, "got %s %s build %s, %zu/%zu/%zu tags", w.name, w.version, nz(w.build),
		      w.interps.n, w.abis.n, w.plats.n);
		snprintf(name, sizeof name, "name: %s on cp311 x86_64 glibc 2.36: %s %d",
			 names[i].file, names[i].rank < 0 ? "rejected" : "rank", names[i].rank);
		r = wheel_best_rank(&t, &w);
		check(r == names[i].rank, name, "got %d", r);
		wheel_name_free(&w);
	}
	wheel_tags_free(&t);
}

static void t_names_on_targets(void)
{
	struct wheel_target musl = { .py_major = 3, .py_minor = 11, .arch = "x86_64",
				     .musl_major = 1, .musl_minor = 2 };
	struct wheel_target old = { .py_major = 3, .py_minor = 11, .arch = "x86_64",
				    .glibc_major = 2, .glibc_minor = 27 };
	struct wheel_target arm = { .py_major = 3, .py_minor = 12, .arch = "aarch64",
				    .glibc_major = 2, .glibc_minor = 31 };
	static const struct {
		int target;	/* 0 musl, 1 glibc 2.27, 2 aarch64 */
		const char *file;
		int rank;
	} cases[] = {
		{ 0, "Cython-3.0.11-cp311-cp311-musllinux_1_2_x86_64.whl", 0 },
		{ 0, "PyYAML-6.0.2-cp311-cp311-musllinux_1_1_x86_64.whl", 1 },
		{ 0, "numpy-1.26.4-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", -1 },
		{ 0, "six-1.16.0-py2.py3-none-any.whl", 4 * 25 + 2 },
		{ 1, "pillow-11.1.0-cp311-cp311-manylinux_2_28_x86_64.whl", -1 },
		{ 1, "numpy-1.26.4-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", 10 },
		{ 2, "Cython-3.0.11-cp312-cp312-manylinux_2_17_aarch64.manylinux2014_aarch64.whl", 14 },
		{ 2, "pillow-11.1.0-cp312-cp312-manylinux_2_28_aarch64.whl", 3 },
		{ 2, "pillow-11.1.0-cp312-cp312-manylinux_2_28_x86_64.whl", -1 },
		{ 2, "Cython-3.0.11-cp311-cp311-manylinux_2_17_aarch64.manylinux2014_aarch64.whl", -1 },
	};
	const struct wheel_target *targets[] = { &musl, &old, &arm };
	const char *labels[] = { "musl 1.2 cp311", "glibc 2.27 cp311", "aarch64 cp312" };
	struct wheel_tags tags[3];
	bool have[3];
	struct pkgimg_ctx ctx;
	struct wheel_name w;
	char name[512];
	size_t i;
	int r;

	for (i = 0; i < 3; i++) {
		snprintf(name, sizeof name, "names: %s tags computed", labels[i]);
		have[i] = make_tags(targets[i], &tags[i], name);
	}
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int k = cases[i].target;

		if (!have[k])
			continue;
		pkgimg_ctx_init(&ctx);
		snprintf(name, sizeof name, "name: %s on %s: %s %d", cases[i].file, labels[k],
			 cases[i].rank < 0 ? "rejected" : "rank", cases[i].rank);
		r = wheel_filename_parse(&ctx, cases[i].file, &w);
		if (r < 0) {
			check(false, name, "rc=%d: %s", r, ctx.errmsg);
			continue;
		}
		r = wheel_best_rank(&tags[k], &w);
		check(r == cases[i].rank, name, "got %d", r);
		wheel_name_free(&w);
	}
	for (i = 0; i < 3; i++)
		if (have[i])
			wheel_tags_free(&tags[i]);
}

static const struct {
	const char *file, *why, *in_msg;
} bad_names[] = {
	{ "six-1.16.0-py2.py3-none-any.zip", "not .whl", "'.whl'" },
	{ "six-1.16.0-py2.py3-none-any.WHL", "upper-case extension", "'.whl'" },
	{ ".whl", "nothing but the extension", "parts" },
	{ "", "empty", "'.whl'" },
	{ "six-1.16.0-py2.py3-none.whl", "three tags missing one", "parts" },
	{ "six-1.16.0-1-2-py3-none-any.whl", "two build tags", "parts" },
	{ "six-1.16.0.tar.gz", "an sdist", "'.whl'" },
	{ "foo__bar-1.0-py3-none-any.whl", "'__' in the name", "project name" },
	{ "foo+bar-1.0-py3-none-any.whl", "'+' in the name", "project name" },
	{ "-1.0-py3-none-any-x.whl", "empty name", "project name" },
	{ "foo-1.0x-py3-none-any.whl", "invalid version", "version" },
	{ "foo--py3-none-any.whl", "empty version", "version" },
	{ "foo-1.0-abc-py3-none-any.whl", "build tag without a leading digit", "build tag" },
	{ "foo-1.0--py3-none-any.whl", "empty build tag", "build tag" },
	{ "foo-1.0-99999999999999999999999-py3-none-any.whl", "build number overflows",
	  "too large" },
	{ "foo-1.0-py3..py2-none-any.whl", "empty python tag in a set", "empty python" },
	{ "foo-1.0-py3-none-.whl", "empty platform tag", "empty platform" },
	{ "foo-1.0-py3-none-linux/x86_64.whl", "a '/' in a tag", "platform" },
	{ "foo-1.0-py3-no ne-any.whl", "a space in a tag", "abi" },
};

static void t_bad_names(void)
{
	struct pkgimg_ctx ctx;
	struct wheel_name w;
	struct sbuf many = SBUF_INIT;
	char name[512];
	size_t i;
	int r;

	for (i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++) {
		pkgimg_ctx_init(&ctx);
		memset(&w, 0x5a, sizeof w);
		r = wheel_filename_parse(&ctx, bad_names[i].file, &w);
		snprintf(name, sizeof name, "bad name: '%s' (%s) is refused", bad_names[i].file,
			 bad_names[i].why);
		check(r == -PKGIMG_E_PARSE && strstr(ctx.errmsg, bad_names[i].in_msg) &&
		      strstr(ctx.errmsg, bad_names[i].file) &&
		      w.build_num == 0x5a5a5a5a5a5a5a5aull,
		      name, "rc=%d msg='%s'", r, ctx.errmsg);
		if (r == 0)
			wheel_name_free(&w);
	}

	/* a platform set past WHEEL_MAX_TAGSET */
	sbuf_adds(&many, "foo-1.0-py3-none-");
	for (i = 0; i <= WHEEL_MAX_TAGSET; i++)
		sbuf_addf(&many, "%sp%zu", i ? "." : "", i);
	sbuf_adds(&many, ".whl");
	pkgimg_ctx_init(&ctx);
	r = wheel_filename_parse(&ctx, many.buf, &w);
	check(r == -PKGIMG_E_PARSE && strstr(ctx.errmsg, "more than"),
	      "bad name: more than WHEEL_MAX_TAGSET platform tags is refused", "rc=%d msg='%s'", r,
	      ctx.errmsg);
	if (r == 0)
		wheel_name_free(&w);
	sbuf_free(&many);
}

static void t_build_order(void)
{
	static const char *const ordered[] = {
		"foo-1.0-py3-none-any.whl",
		"foo-1.0-1-py3-none-any.whl",
		"foo-1.0-1a-py3-none-any.whl",
		"foo-1.0-1b-py3-none-any.whl",
		"foo-1.0-2-py3-none-any.whl",
		"foo-1.0-10-py3-none-any.whl",
		"foo-1.0-18446744073709551615-py3-none-any.whl",
	};
	enum { N = sizeof ordered / sizeof ordered[0] };
	struct wheel_name w[N];
	struct pkgimg_ctx ctx;
	char name[512];
	bool ok = true;
	size_t i, j;
	int r;

	for (i = 0; i < N; i++) {
		pkgimg_ctx_init(&ctx);
		r = wheel_filename_parse(&ctx, ordered[i], &w[i]);
		if (r < 0) {
			snprintf(name, sizeof name, "build: %s parses", ordered[i]);
			check(false, name, "rc=%d: %s", r, ctx.errmsg);
			ok = false;
			for (j = 0; j < i; j++)
				wheel_name_free(&w[j]);
			return;
		}
	}
	check(w[2].build_num == 1 && !strcmp(w[2].build_rest, "a") && !strcmp(w[2].build, "1a"),
	      "build: '1a' is (1, 'a')", "got (%llu, '%s')", w[2].build_num, w[2].build_rest);
	check(!w[0].build && !strcmp(w[0].build_rest, ""), "build: none is NULL with rest ''",
	      "got %s", nz(w[0].build));
	check(w[6].build_num == 18446744073709551615ull, "build: 2^64-1 still fits", "got %llu",
	      w[6].build_num);
	for (i = 0; i < N; i++)
		for (j = 0; j < N; j++) {
			r = wheel_build_cmp(&w[i], &w[j]);
			if ((i < j && r >= 0) || (i == j && r != 0) || (i > j && r <= 0)) {
				printf("# cmp(%s, %s) = %d\n", ordered[i], ordered[j], r);
				ok = false;
			}
		}
	check(ok, "build: none < 1 < 1a < 1b < 2 < 10 < 2^64-1 (numbers numerically)", "see above");
	for (i = 0; i < N; i++)
		wheel_name_free(&w[i]);
}

int main(void)
{
	t_cp311_x86_64();
	t_cp312_aarch64();
	t_other_targets();
	t_bad_targets();
	t_names();
	t_names_on_targets();
	t_bad_names();
	t_build_order();
	printf("# %d checks, %d failed\n", passed + failures, failures);
	return failures ? 1 : 0;
}
