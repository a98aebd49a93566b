/* Wheel compatibility tags for a target CPython on Linux, and wheel file
 * names, with the behaviour of pypa/packaging 24 (tags.py, _manylinux.py,
 * _musllinux.py, utils.parse_wheel_filename).  See wheeltags.h. */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ctx.h"
#include "core/error.h"
#include "core/str.h"
#include "pyspec/pep440.h"
#include "pyspec/pep508.h"
#include "pyspec/wheeltags.h"

/* glibc's last minor of a major packaging assumes when a target's glibc has
 * a later major (_LAST_GLIBC_MINOR's default). */
#define GLIBC_LAST_MINOR_GUESS 50

/* --- the tag list and its index ------------------------------------------ */

static uint64_t fnv_step(uint64_t h, char c)
{
	return (h ^ (unsigned char)ascii_lower(c)) * 0x100000001b3ull;
}

static uint64_t fnv_str(uint64_t h, const char *s)
{
	for (; *s; s++)
		h = fnv_step(h, *s);
	return h;
}

static uint64_t hash_triple(const char *interp, const char *abi, const char *plat)
{
	uint64_t h = 0xcbf29ce484222325ull;

	h = fnv_str(h, interp);
	h = fnv_step(h, '-');
	h = fnv_str(h, abi);
	h = fnv_step(h, '-');
	return fnv_str(h, plat);
}

/* Does part (case-insensitively) open *s, followed by end?  Advances *s. */
static bool eat_part(const char **s, const char *part, char end)
{
	const char *p = *s;

	for (; *part; part++, p++)
		if (*p != ascii_lower(*part))
			return false;
	if (*p != end)
		return false;
	*s = end ? p + 1 : p;
	return true;
}

static bool triple_eq(const char *stored, const char *interp, const char *abi, const char *plat)
{
	return eat_part(&stored, interp, '-') && eat_part(&stored, abi, '-') &&
	       eat_part(&stored, plat, '\0');
}

/* Index of the triple in t, or -1. */
static long tags_find(const struct wheel_tags *t, const char *interp, const char *abi,
		      const char *plat)
{
	size_t mask, i, slot;

	if (!t->nslots)
		return -1;
	mask = t->nslots - 1;
	i = (size_t)hash_triple(interp, abi, plat) & mask;
	while ((slot = t->slots[i]) != 0) {
		if (triple_eq(t->tags.v[slot - 1], interp, abi, plat))
			return (long)(slot - 1);
		i = (i + 1) & mask;
	}
	return -1;
}

/* Appends interp-abi-plat (already lowercase) unless it is there already:
 * the first, best, place of a tag is its rank. */
static void tags_add(struct wheel_tags *t, const char *interp, const char *abi, const char *plat)
{
	size_t mask, i, j;

	if (tags_find(t, interp, abi, plat) >= 0)
		return;
	if (2 * (t->tags.n + 1) > t->nslots) {
		size_t nslots = t->nslots ? 2 * t->nslots : 256;

		free(t->slots);
		t->slots = xcalloc(nslots, sizeof *t->slots);
		t->nslots = nslots;
		mask = nslots - 1;
		for (j = 0; j < t->tags.n; j++) {
			const char *s = t->tags.v[j];
			uint64_t h = fnv_str(0xcbf29ce484222325ull, s);

			for (i = (size_t)h & mask; t->slots[i]; i = (i + 1) & mask)
				;
			t->slots[i] = j + 1;
		}
	}
	strv_push(&t->tags, xasprintf("%s-%s-%s", interp, abi, plat));
	mask = t->nslots - 1;
	for (i = (size_t)hash_triple(interp, abi, plat) & mask; t->slots[i]; i = (i + 1) & mask)
		;
	t->slots[i] = t->tags.n;
}

void wheel_tags_free(struct wheel_tags *t)
{
	strv_free(&t->tags);
	free(t->slots);
	t->slots = NULL;
	t->nslots = 0;
}

int wheel_tags_rank(const struct wheel_tags *t, const char *interp, const char *abi,
		    const char *plat)
{
	long i;

	/* a '-' inside a part would let "a-b"+"c" pass for "a"+"b-c" */
	if (strchr(interp, '-') || strchr(abi, '-') || strchr(plat, '-'))
		return -1;
	i = tags_find(t, interp, abi, plat);
	return i > INT_MAX ? -1 : (int)i;
}

/* --- platforms (_linux_platforms, _manylinux, _musllinux) ---------------- */

static void add_manylinux(struct strv *plats, const char *const *archs, size_t narchs,
			  int glibc_major, int glibc_minor)
{
	static const char *const manylinux_archs[] = {
		"x86_64", "aarch64", "ppc64", "ppc64le", "s390x", "loongarch64", "riscv64",
	};
	int too_old_major = 2, too_old_minor = 16;
	bool compatible = false;
	size_t a, i;
	int major, minor, top, min_minor;

	/* _have_compatible_abi: armv7l and i686 are taken as the hard-float and
	 * 32-bit x86 interpreters the caller says they are */
	for (a = 0; a < narchs; a++) {
		if (!strcmp(archs[a], "armv7l") || !strcmp(archs[a], "i686"))
			compatible = true;
		for (i = 0; i < sizeof manylinux_archs / sizeof manylinux_archs[0]; i++)
			if (!strcmp(archs[a], manylinux_archs[i]))
				compatible = true;
		if (!strcmp(archs[a], "x86_64") || !strcmp(archs[a], "i686"))
			too_old_minor = 4;	/* manylinux1 (2_5) still counts */
	}
	if (!compatible)
		return;
	for (a = 0; a < narchs; a++) {
		/* the target's glibc, then every older major from its guessed
		 * last minor, down to the oldest glibc supported */
		for (major = glibc_major; major >= 2; major--) {
			top = major == glibc_major ? glibc_minor : GLIBC_LAST_MINOR_GUESS;
			min_minor = major == too_old_major ? too_old_minor : -1;
			for (minor = top; minor > min_minor; minor--) {
				strv_push(plats, xasprintf("manylinux_%d_%d_%s", major, minor,
							   archs[a]));
				if (major != 2)
					continue;
				if (minor == 17)
					strv_push(plats, xasprintf("manylinux2014_%s", archs[a]));
				else if (minor == 12)
					strv_push(plats, xasprintf("manylinux2010_%s", archs[a]));
				else if (minor == 5)
					strv_push(plats, xasprintf("manylinux1_%s", archs[a]));
			}
		}
	}
}

static int check_target(struct pkgimg_ctx *ctx, const struct wheel_target *t)
{
	const char *p;

	if (t->py_major != 3 || t->py_minor < 0 || t->py_minor > 999)
		return pkgimg_err(ctx, -PKGIMG_E_USAGE,
				  "Python %d.%d: [wheel tags] only CPython 3 targets are supported",
				  t->py_major, t->py_minor);
	if (t->free_threaded && t->py_minor < 13)
		return pkgimg_err(ctx, -PKGIMG_E_USAGE,
				  "Python %d.%d: [wheel tags] free-threaded builds exist from 3.13 on",
				  t->py_major, t->py_minor);
	if (!t->arch || !*t->arch)
		return pkgimg_err(ctx, -PKGIMG_E_USAGE, "[wheel tags] no target architecture given");
	for (p = t->arch; *p; p++)
		if (!(ascii_isdigit(*p) || (*p >= 'a' && *p <= 'z') || *p == '_'))
			return pkgimg_err(ctx, -PKGIMG_E_USAGE,
					  "architecture '%s': [wheel tags] not a platform tag word "
					  "(lowercase letters, digits, '_'): use e.g. 'x86_64'",
					  t->arch);
	if (t->glibc_major < 0 || t->glibc_minor < 0 || t->glibc_minor > 999 ||
	    t->glibc_major > 99 || (t->glibc_major == 0 && t->glibc_minor) ||
	    t->glibc_major == 1)
		return pkgimg_err(ctx, -PKGIMG_E_USAGE, "glibc %d.%d: [wheel tags] not a glibc version",
				  t->glibc_major, t->glibc_minor);
	if (t->musl_major < 0 || t->musl_minor < 0 || t->musl_minor > 999 ||
	    t->musl_major > 99 || (t->musl_major == 0 && t->musl_minor))
		return pkgimg_err(ctx, -PKGIMG_E_USAGE, "musl %d.%d: [wheel tags] not a musl version",
				  t->musl_major, t->musl_minor);
	if (t->glibc_major && t->musl_major)
		return pkgimg_err(ctx, -PKGIMG_E_USAGE,
				  "[wheel tags] a target links either glibc (%d.%d) or musl (%d.%d), "
				  "not both", t->glibc_major, t->glibc_minor, t->musl_major,
				  t->musl_minor);
	return 0;
}

static void linux_platforms(const struct wheel_target *t, struct strv *plats)
{
	const char *archs[2] = { t->arch, NULL };
	size_t narchs = 1, a;
	int minor;

	/* a 32-bit interpreter on a 64-bit ARM kernel also runs armv7l code */
	if (!strcmp(t->arch, "armv8l"))
		archs[narchs++] = "armv7l";
	if (t->glibc_major)
		add_manylinux(plats, archs, narchs, t->glibc_major, t->glibc_minor);
	if (t->musl_major)
		for (a = 0; a < narchs; a++)
			for (minor = t->musl_minor; minor >= 0; minor--)
				strv_push(plats, xasprintf("musllinux_%d_%d_%s", t->musl_major,
							   minor, archs[a]));
	for (a = 0; a < narchs; a++)
		strv_push(plats, xasprintf("linux_%s", archs[a]));
}

/* --- the interpreter (cpython_tags, compatible_tags) --------------------- */

static void add_for_plats(struct wheel_tags *out, const char *interp, const char *abi,
			  const struct strv *plats)
{
	size_t i;

	for (i = 0; i < plats->n; i++)
		tags_add(out, interp, abi, plats->v[i]);
}

int wheel_supported_tags(struct pkgimg_ctx *ctx, const struct wheel_target *t,
			 struct wheel_tags *out)
{
	struct wheel_tags tags = { 0 };
	struct strv plats = { 0 };
	char interp[32], abi[40], name[32];
	bool use_abi3;
	int minor, r;

	r = check_target(ctx, t);
	if (r < 0)
		goto out;
	linux_platforms(t, &plats);

	/* _cpython_abis: "t", then "d", then pymalloc "m" before 3.8, wide
	 * unicode "u" before 3.3; a debug 3.8+ also loads normal modules */
	snprintf(interp, sizeof interp, "cp%d%d", t->py_major, t->py_minor);
	snprintf(abi, sizeof abi, "%s%s%s%s%s", interp, t->free_threaded ? "t" : "",
		 t->abi_debug ? "d" : "", t->py_minor < 8 ? "m" : "", t->py_minor < 3 ? "u" : "");
	add_for_plats(&tags, interp, abi, &plats);
	if (t->abi_debug && t->py_minor >= 8) {
		snprintf(abi, sizeof abi, "%s%s", interp, t->free_threaded ? "t" : "");
		add_for_plats(&tags, interp, abi, &plats);
	}
	/* the stable ABI exists from 3.2 on, and not for free-threaded builds */
	use_abi3 = t->py_minor >= 2 && !t->free_threaded;
	if (use_abi3)
		add_for_plats(&tags, interp, "abi3", &plats);
	add_for_plats(&tags, interp, "none", &plats);
	if (use_abi3) {
		for (minor = t->py_minor - 1; minor > 1; minor--) {
			snprintf(name, sizeof name, "cp%d%d", t->py_major, minor);
			add_for_plats(&tags, name, "abi3", &plats);
		}
	}

	/* compatible_tags: py3Y, py3, py3(Y-1)..py30 for each platform, then
	 * cp3Y-none-any, then the same range with "any" */
	snprintf(name, sizeof name, "py%d%d", t->py_major, t->py_minor);
	add_for_plats(&tags, name, "none", &plats);
	snprintf(name, sizeof name, "py%d", t->py_major);
	add_for_plats(&tags, name, "none", &plats);
	for (minor = t->py_minor - 1; minor >= 0; minor--) {
		snprintf(name, sizeof name, "py%d%d", t->py_major, minor);
		add_for_plats(&tags, name, "none", &plats);
	}
	tags_add(&tags, interp, "none", "any");
	snprintf(name, sizeof name, "py%d%d", t->py_major, t->py_minor);
	tags_add(&tags, name, "none", "any");
	snprintf(name, sizeof name, "py%d", t->py_major);
	tags_add(&tags, name, "none", "any");
	for (minor = t->py_minor - 1; minor >= 0; minor--) {
		snprintf(name, sizeof name, "py%d%d", t->py_major, minor);
		tags_add(&tags, name, "none", "any");
	}

	*out = tags;
	tags = (struct wheel_tags){ 0 };
	r = 0;
out:
	strv_free(&plats);
	wheel_tags_free(&tags);
	return r;
}

/* --- wheel file names (utils.parse_wheel_filename) ----------------------- */

void wheel_name_free(struct wheel_name *w)
{
	free(w->name);
	free(w->version);
	free(w->build);
	strv_free(&w->interps);
	strv_free(&w->abis);
	strv_free(&w->plats);
	memset(w, 0, sizeof *w);
}

/* Splits one tag of the name ("py2.py3") on '.' into set, lowercased. */
static int parse_tagset(struct pkgimg_ctx *ctx, const char *filename, const char *what,
			struct blob b, struct strv *set)
{
	struct blob whole = b, part;
	size_t i;
	char *s;

	for (;;) {
		bool more = blob_split(&b, '.', &part);

		if (!part.len)
			return pkgimg_err(ctx, -PKGIMG_E_PARSE,
					  "'%s': [wheel name] empty %s tag in '" BLOB_FMT "'",
					  filename, what, BLOB_ARG(whole));
		for (i = 0; i < part.len; i++)
			if (!ascii_isalnum(part.ptr[i]) && part.ptr[i] != '_')
				return pkgimg_err(ctx, -PKGIMG_E_PARSE,
						  "'%s': [wheel name] %s tag '" BLOB_FMT "' may hold "
						  "only letters, digits and '_'",
						  filename, what, BLOB_ARG(part));
		if (set->n >= WHEEL_MAX_TAGSET)
			return pkgimg_err(ctx, -PKGIMG_E_PARSE,
					  "'%s': [wheel name] more than %d %s tags", filename,
					  WHEEL_MAX_TAGSET, what);
		s = blob_dup(part);
		for (i = 0; s[i]; i++)
			s[i] = ascii_lower(s[i]);
		strv_push(set, s);
		if (!more)
			return 0;
	}
}

static int parse_build(struct pkgimg_ctx *ctx, const char *filename, struct blob b,
		       struct wheel_name *w)
{
	unsigned long long n = 0;
	size_t i;

	if (!b.len || !ascii_isdigit(b.ptr[0]))
		return pkgimg_err(ctx, -PKGIMG_E_PARSE,
				  "'%s': [wheel name] build tag '" BLOB_FMT "' does not start "
				  "with a digit", filename, BLOB_ARG(b));
	for (i = 0; i < b.len && ascii_isdigit(b.ptr[i]); i++) {
		unsigned d = (unsigned)(b.ptr[i] - '0');

		if (n > (ULLONG_MAX - d) / 10)
			return pkgimg_err(ctx, -PKGIMG_E_PARSE,
					  "'%s': [wheel name] build number '" BLOB_FMT "' is too "
					  "large", filename, BLOB_ARG(b));
		n = n * 10 + d;
	}
	w->build = blob_dup(b);
	w->build_num = n;
	w->build_rest = w->build + i;
	return 0;
}

int wheel_filename_parse(struct pkgimg_ctx *ctx, const char *filename, struct wheel_name *out)
{
	struct wheel_name w = { 0 };
	struct pep440_version v;
	struct blob rest, parts[6];
	char *raw;
	size_t len = strlen(filename), i, dashes = 0, nparts = 0;
	int r;

	w.build_rest = "";
	if (len < 4 || strcmp(filename + len - 4, ".whl")) {
		r = pkgimg_err(ctx, -PKGIMG_E_PARSE, "'%s': [wheel name] does not end in '.whl'",
			       filename);
		goto out;
	}
	rest = (struct blob){ filename, len - 4 };
	for (i = 0; i < rest.len; i++)
		dashes += rest.ptr[i] == '-';
	if (dashes != 4 && dashes != 5) {
		r = pkgimg_err(ctx, -PKGIMG_E_PARSE,
			       "'%s': [wheel name] has %zu '-'-separated parts; want name-version"
			       "(-build)-python-abi-platform.whl", filename, dashes + 1);
		goto out;
	}
	while (nparts < dashes + 1)
		blob_split(&rest, '-', &parts[nparts++]);

	/* the name: PEP 427 escapes every run of other characters to '_' */
	if (!parts[0].len) {
		r = pkgimg_err(ctx, -PKGIMG_E_PARSE, "'%s': [wheel name] empty project name",
			       filename);
		goto out;
	}
	for (i = 0; i < parts[0].len; i++) {
		char c = parts[0].ptr[i];

		if ((!ascii_isalnum(c) && c != '_' && c != '.') ||
		    (c == '_' && i + 1 < parts[0].len && parts[0].ptr[i + 1] == '_')) {
			r = pkgimg_err(ctx, -PKGIMG_E_PARSE,
				       "'%s': [wheel name] invalid project name '" BLOB_FMT "'",
				       filename, BLOB_ARG(parts[0]));
			goto out;
		}
	}
	r = pep440_parse_blob(ctx, parts[1], &v);
	if (r < 0) {
		r = pkgimg_err_wrap(ctx, r, "'%s': [wheel name] invalid version", filename);
		goto out;
	}
	pep440_version_free(&v);
	if (dashes == 5) {
		r = parse_build(ctx, filename, parts[2], &w);
		if (r < 0)
			goto out;
	}
	r = parse_tagset(ctx, filename, "python", parts[nparts - 3], &w.interps);
	if (r == 0)
		r = parse_tagset(ctx, filename, "abi", parts[nparts - 2], &w.abis);
	if (r == 0)
		r = parse_tagset(ctx, filename, "platform", parts[nparts - 1], &w.plats);
	if (r < 0)
		goto out;

	raw = blob_dup(parts[0]);
	w.name = pep503_normalize(raw);
	free(raw);
	w.version = blob_dup(parts[1]);
	*out = w;
	w = (struct wheel_name){ 0 };
	r = 0;
out:
	wheel_name_free(&w);
	return r;
}

int wheel_best_rank(const struct wheel_tags *t, const struct wheel_name *w)
{
	size_t i, j, k;
	int best = -1, r;

	for (i = 0; i < w->interps.n; i++)
		for (j = 0; j < w->abis.n; j++)
			for (k = 0; k < w->plats.n; k++) {
				r = wheel_tags_rank(t, w->interps.v[i], w->abis.v[j],
						    w->plats.v[k]);
				if (r >= 0 && (best < 0 || r < best))
					best = r;
			}
	return best;
}

int wheel_build_cmp(const struct wheel_name *a, const struct wheel_name *b)
{
	if (!a->build || !b->build)
		return (a->build != NULL) - (b->build != NULL);
	if (a->build_num != b->build_num)
		return a->build_num < b->build_num ? -1 : 1;
	return strcmp(a->build_rest, b->build_rest);
}

char *wheel_filename_tags(const char *filename)
{
	size_t len = strlen(filename);
	const char *end = filename + (len > 4 ? len - 4 : len), *p = end;
	int dashes = 0;

	while (p > filename && dashes < 3)
		if (*--p == '-')
			dashes++;
	return xstrndup(p + 1, (size_t)(end - p - 1));
}
