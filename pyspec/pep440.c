/* PEP 440 versions and specifiers, with pypa/packaging's semantics.
 *
 * The version grammar is packaging's VERSION_PATTERN (a regular expression,
 * case-insensitive, whitespace allowed around it), matched here by hand.
 * Where that expression could match in more than one way the greedy choice
 * is the one it takes and the only one that can succeed:
 *   - a separator after a pre/post/dev label is consumed even when no
 *     number follows ("1.0a." is 1.0a0, "1.0-dev-" is 1.0.dev0);
 *   - "1.0a-1" is 1.0a1 (the pre number), not 1.0a0.post1;
 *   - ".<digit>" can only continue the release segment. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/ctx.h"
#include "core/error.h"
#include "core/str.h"
#include "pyspec/pep440.h"

struct label {
	const char *word;
	int value;
};

/* In the order of packaging's alternations; a longer word comes before its
 * prefix, so the first hit is the one that can lead to a match. */
static const struct label pre_labels[] = {
	{ "alpha", PEP440_PRE_A }, { "a", PEP440_PRE_A },
	{ "beta", PEP440_PRE_B }, { "b", PEP440_PRE_B },
	{ "preview", PEP440_PRE_RC }, { "pre", PEP440_PRE_RC },
	{ "c", PEP440_PRE_RC }, { "rc", PEP440_PRE_RC },
	{ NULL, 0 }
};
static const struct label post_labels[] = {
	{ "post", 1 }, { "rev", 1 }, { "r", 1 }, { NULL, 0 }
};
static const struct label dev_labels[] = {
	{ "dev", 1 }, { NULL, 0 }
};

static const char *const pre_names[] = {
	[PEP440_PRE_NONE] = "", [PEP440_PRE_A] = "a",
	[PEP440_PRE_B] = "b", [PEP440_PRE_RC] = "rc",
};

/* Not blob_trim(): Python's str.strip() (which packaging uses) also strips
 * \f, \v and \x1c-\x1f, and the versions must parse as pip parses them. */
static struct blob trim_ws(struct blob b)
{
	while (b.len && ascii_ispyspace(b.ptr[0])) {
		b.ptr++;
		b.len--;
	}
	while (b.len && ascii_ispyspace(b.ptr[b.len - 1]))
		b.len--;
	return b;
}

/* Length of the first label of `tab` at p (case-insensitive), 0 if none. */
static size_t match_label(const char *p, const char *end, const struct label *tab, int *value)
{
	size_t i, n;

	for (; tab->word; tab++) {
		n = strlen(tab->word);
		if ((size_t)(end - p) < n)
			continue;
		for (i = 0; i < n && ascii_lower(p[i]) == tab->word[i]; i++)
			;
		if (i == n) {
			*value = tab->value;
			return n;
		}
	}
	return 0;
}

/* Reads the digits at *pp (there is at least one) into *out. */
static int read_num(const char **pp, const char *end, uint64_t *out, char **why)
{
	const char *p = *pp;
	uint64_t v = 0;
	unsigned d;

	while (p < end && ascii_isdigit(*p)) {
		d = (unsigned)(*p - '0');
		if (v > (UINT64_MAX - d) / 10) {
			while (p < end && ascii_isdigit(*p))
				p++;
			*why = xasprintf("number '%.*s' is too large (the limit is %" PRIu64 ")",
					 (int)(p - *pp), *pp, UINT64_MAX);
			return -1;
		}
		v = v * 10 + d;
		p++;
	}
	*pp = p;
	*out = v;
	return 0;
}

/* An optional "[sep]LABEL[sep][N]" at *pp: true when a label was found. */
static int read_labelled(const char **pp, const char *end, const struct label *tab,
			 bool *found, int *value, uint64_t *num, char **why)
{
	const char *p = *pp;
	size_t n;

	*found = false;
	if (p < end && ascii_ispysep(*p))
		p++;
	n = match_label(p, end, tab, value);
	if (!n)
		return 0;
	p += n;
	if (p < end && ascii_ispysep(*p))
		p++;
	*num = 0;
	if (p < end && ascii_isdigit(*p) && read_num(&p, end, num, why) < 0)
		return -1;
	*found = true;
	*pp = p;
	return 0;
}

/* The local label after '+': segments of [a-z0-9]+ joined by [-_.],
 * normalised to lower case, '.', and numbers without leading zeros. */
static int read_local(const char **pp, const char *end, char **out, char **why)
{
	struct sbuf sb = SBUF_INIT;
	const char *p = *pp, *seg;
	bool digits;
	int r = -1;

	for (;;) {
		seg = p;
		digits = true;
		while (p < end && ascii_isalnum(*p)) {
			digits = digits && ascii_isdigit(*p);
			p++;
		}
		if (p == seg) {
			*why = xasprintf("empty segment in the local version label at '%.*s' "
					 "(a local label is letters and digits separated by '.', "
					 "as in +ubuntu.1)", (int)(end - seg), seg);
			goto out;
		}
		if (sb.len)
			sbuf_addc(&sb, '.');
		if (digits) {
			while (p - seg > 1 && *seg == '0')
				seg++;
			sbuf_add(&sb, seg, (size_t)(p - seg));
		} else {
			for (; seg < p; seg++)
				sbuf_addc(&sb, ascii_lower(*seg));
		}
		if (p < end && ascii_ispysep(*p)) {
			p++;
			continue;
		}
		break;
	}
	*out = sbuf_detach(&sb);
	*pp = p;
	r = 0;
out:
	sbuf_free(&sb);
	return r;
}

/* Parses a trimmed or untrimmed version; on error *why says what is wrong. */
static int parse_version(struct blob s, struct pep440_version *out, char **why)
{
	struct pep440_version v = { 0 };
	const char *p, *end, *q;
	size_t cap = 0;
	uint64_t num;
	bool found;
	int value, r = -1;

	s = trim_ws(s);
	p = s.ptr;
	end = s.ptr + s.len;
	if (!s.len) {
		*why = xstrdup("empty version");
		goto out;
	}
	if (*p == 'v' || *p == 'V')
		p++;
	/* epoch */
	for (q = p; q < end && ascii_isdigit(*q); q++)
		;
	if (q > p && q < end && *q == '!') {
		if (read_num(&p, end, &v.epoch, why) < 0)
			goto out;
		p++;
	}
	/* release */
	if (p == end || !ascii_isdigit(*p)) {
		*why = xasprintf("expected a release number at '%.*s' "
				 "(a version looks like [N!]N[.N...][{a|b|rc}N][.postN][.devN][+local])",
				 (int)(end - p), p);
		goto out;
	}
	for (;;) {
		if (read_num(&p, end, &num, why) < 0)
			goto out;
		if (v.nrelease == cap) {
			cap = cap ? cap * 2 : 4;
			v.release = xrealloc(v.release, cap * sizeof *v.release);
		}
		v.release[v.nrelease++] = num;
		if (end - p >= 2 && *p == '.' && ascii_isdigit(p[1])) {
			p++;
			continue;
		}
		break;
	}
	/* pre-release */
	if (read_labelled(&p, end, pre_labels, &found, &value, &v.pre_n, why) < 0)
		goto out;
	if (found)
		v.pre = (enum pep440_pre)value;
	/* post-release: "-N" or [sep](post|rev|r)[sep][N] */
	if (end - p >= 2 && *p == '-' && ascii_isdigit(p[1])) {
		p++;
		if (read_num(&p, end, &v.post, why) < 0)
			goto out;
		v.has_post = true;
	} else {
		if (read_labelled(&p, end, post_labels, &found, &value, &v.post, why) < 0)
			goto out;
		v.has_post = found;
	}
	/* dev release */
	if (read_labelled(&p, end, dev_labels, &found, &value, &v.dev, why) < 0)
		goto out;
	v.has_dev = found;
	/* local version label */
	if (p < end && *p == '+') {
		p++;
		if (read_local(&p, end, &v.local, why) < 0)
			goto out;
	}
	if (p != end) {
		*why = xasprintf("unexpected '%.*s' after '%.*s' "
				 "(a version looks like [N!]N[.N...][{a|b|rc}N][.postN][.devN][+local])",
				 (int)(end - p), p, (int)(p - s.ptr), s.ptr);
		goto out;
	}
	*out = v;
	v.release = NULL;
	v.local = NULL;
	r = 0;
out:
	free(v.release);
	free(v.local);
	return r;
}

int pep440_parse_blob(struct pkgimg_ctx *ctx, struct blob s, struct pep440_version *out)
{
	char *why = NULL;
	int r = 0;

	if (parse_version(s, out, &why) < 0)
		r = pkgimg_err(ctx, -PKGIMG_E_PARSE, "invalid version '" BLOB_FMT "': %s",
			       BLOB_ARG(s), why);
	free(why);
	return r;
}

int pep440_parse(struct pkgimg_ctx *ctx, const char *s, struct pep440_version *out)
{
	return pep440_parse_blob(ctx, BLOB_STR(s), out);
}

void pep440_version_free(struct pep440_version *v)
{
	if (!v)
		return;
	free(v->release);
	free(v->local);
	memset(v, 0, sizeof *v);
}

void pep440_version_copy(struct pep440_version *dst, const struct pep440_version *src)
{
	*dst = *src;
	dst->release = xmalloc(src->nrelease * sizeof *src->release);
	if (src->nrelease)
		memcpy(dst->release, src->release, src->nrelease * sizeof *src->release);
	dst->local = src->local ? xstrdup(src->local) : NULL;
}

static void add_public(struct sbuf *sb, const struct pep440_version *v)
{
	size_t i;

	if (v->epoch)
		sbuf_addf(sb, "%" PRIu64 "!", v->epoch);
	for (i = 0; i < v->nrelease; i++)
		sbuf_addf(sb, "%s%" PRIu64, i ? "." : "", v->release[i]);
	if (v->pre != PEP440_PRE_NONE)
		sbuf_addf(sb, "%s%" PRIu64, pre_names[v->pre], v->pre_n);
	if (v->has_post)
		sbuf_addf(sb, ".post%" PRIu64, v->post);
	if (v->has_dev)
		sbuf_addf(sb, ".dev%" PRIu64, v->dev);
}

char *pep440_normalize(const struct pep440_version *v)
{
	struct sbuf sb = SBUF_INIT;

	add_public(&sb, v);
	if (v->local)
		sbuf_addf(&sb, "+%s", v->local);
	return sbuf_detach(&sb);
}

static int cmp_u64(uint64_t a, uint64_t b)
{
	return a < b ? -1 : a > b;
}

static uint64_t release_at(const struct pep440_version *v, size_t i)
{
	return i < v->nrelease ? v->release[i] : 0;
}

/* Release segments compared as if the shorter were padded with zeros. */
static int cmp_release(const struct pep440_version *a, const struct pep440_version *b)
{
	size_t i, n = a->nrelease > b->nrelease ? a->nrelease : b->nrelease;
	int c;

	for (i = 0; i < n; i++) {
		c = cmp_u64(release_at(a, i), release_at(b, i));
		if (c)
			return c;
	}
	return 0;
}

/* Epoch and release: packaging's Version(v.base_version) comparison. */
static int cmp_base(const struct pep440_version *a, const struct pep440_version *b)
{
	int c = cmp_u64(a->epoch, b->epoch);

	return c ? c : cmp_release(a, b);
}

/* Where the pre-release puts v: -1 dev-only (before any pre-release of the
 * same release), 0 a pre-release, 1 none. */
static int pre_class(const struct pep440_version *v)
{
	if (v->pre == PEP440_PRE_NONE)
		return !v->has_post && v->has_dev ? -1 : 1;
	return 0;
}

int pep440_cmp_public(const struct pep440_version *a, const struct pep440_version *b)
{
	int c;

	c = cmp_base(a, b);
	if (c)
		return c;
	c = pre_class(a) - pre_class(b);
	if (c)
		return c < 0 ? -1 : 1;
	if (pre_class(a) == 0) {
		c = (int)a->pre - (int)b->pre;
		if (c)
			return c < 0 ? -1 : 1;
		c = cmp_u64(a->pre_n, b->pre_n);
		if (c)
			return c;
	}
	/* no post release sorts first */
	if (a->has_post != b->has_post)
		return a->has_post ? 1 : -1;
	if (a->has_post && (c = cmp_u64(a->post, b->post)))
		return c;
	/* no dev release sorts last */
	if (a->has_dev != b->has_dev)
		return a->has_dev ? -1 : 1;
	if (a->has_dev && (c = cmp_u64(a->dev, b->dev)))
		return c;
	return 0;
}

static bool all_digits(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!ascii_isdigit(s[i]))
			return false;
	return true;
}

/* One local segment: numbers (no leading zeros) numerically, above strings;
 * strings by their bytes. */
static int cmp_local_seg(const char *a, size_t na, const char *b, size_t nb)
{
	bool da = all_digits(a, na), db = all_digits(b, nb);
	int c;

	if (da != db)
		return da ? 1 : -1;
	if (da && na != nb)
		return na < nb ? -1 : 1;
	c = memcmp(a, b, na < nb ? na : nb);
	if (c)
		return c < 0 ? -1 : 1;
	return na < nb ? -1 : na > nb;
}

static int cmp_local(const char *a, const char *b)
{
	size_t na, nb;
	int c;

	if (!a || !b)
		return a ? 1 : b ? -1 : 0;
	for (;;) {
		na = strcspn(a, ".");
		nb = strcspn(b, ".");
		c = cmp_local_seg(a, na, b, nb);
		if (c)
			return c;
		a += na;
		b += nb;
		if (!*a || !*b)
			return *a ? 1 : *b ? -1 : 0;
		a++;
		b++;
	}
}

int pep440_cmp(const struct pep440_version *a, const struct pep440_version *b)
{
	int c = pep440_cmp_public(a, b);

	return c ? c : cmp_local(a->local, b->local);
}

bool pep440_is_prerelease(const struct pep440_version *v)
{
	return v->pre != PEP440_PRE_NONE || v->has_dev;
}

bool pep440_is_postrelease(const struct pep440_version *v)
{
	return v->has_post;
}

/* Specifiers */

static const struct {
	const char *text;
	enum pep440_op op;
} operators[] = {
	/* "===" before "==", "<=" before "<", ">=" before ">" */
	{ "===", PEP440_OP_ARBITRARY }, { "~=", PEP440_OP_COMPATIBLE },
	{ "==", PEP440_OP_EQ }, { "!=", PEP440_OP_NE },
	{ "<=", PEP440_OP_LE }, { ">=", PEP440_OP_GE },
	{ "<", PEP440_OP_LT }, { ">", PEP440_OP_GT },
};

static void spec_free(struct pep440_spec *sp)
{
	if (sp->has_ver)
		pep440_version_free(&sp->ver);
	free(sp->text);
	free(sp->arbitrary);
	memset(sp, 0, sizeof *sp);
}

static bool has_char(struct blob b, const char *set)
{
	size_t i;

	for (i = 0; i < b.len; i++)
		if (strchr(set, b.ptr[i]) || ascii_ispyspace(b.ptr[i]))
			return true;
	return false;
}

/* One trimmed, non-empty specifier. */
static int spec_parse_one(struct pkgimg_ctx *ctx, struct blob item, struct pep440_spec *out)
{
	struct pep440_spec sp = { 0 };
	struct blob ver = BLOB_NULL;
	char *why = NULL;
	size_t i, n = 0;
	int r = 0;

	for (i = 0; i < sizeof operators / sizeof operators[0]; i++) {
		n = strlen(operators[i].text);
		if (item.len >= n && !memcmp(item.ptr, operators[i].text, n))
			break;
	}
	if (i == sizeof operators / sizeof operators[0]) {
		why = xstrdup("expected an operator (~=, ==, !=, <=, >=, <, >, ===) before the version");
		goto out;
	}
	sp.op = operators[i].op;
	sp.text = blob_dup(item);
	ver = trim_ws((struct blob){ item.ptr + n, item.len - n });

	if (sp.op == PEP440_OP_ARBITRARY) {
		/* packaging: [^\s;)]* -- anything but spaces, ';' and ')' */
		if (has_char(ver, ";)")) {
			why = xstrdup("=== takes one word without spaces, ';' or ')'");
			goto out;
		}
		sp.arbitrary = blob_dup(ver);
		sp.has_ver = ver.len && parse_version(ver, &sp.ver, &why) == 0;
		free(why);
		why = NULL;
		goto out;
	}
	if (!ver.len) {
		why = xasprintf("no version after '%s'", operators[i].text);
		goto out;
	}
	if (has_char(ver, "")) {
		why = xstrdup("the version contains a space");
		goto out;
	}
	if (ver.len >= 2 && !memcmp(ver.ptr + ver.len - 2, ".*", 2)) {
		if (sp.op != PEP440_OP_EQ && sp.op != PEP440_OP_NE) {
			why = xasprintf("a '.*' wildcard is only allowed with == and !=, not %s",
					operators[i].text);
			goto out;
		}
		ver.len -= 2;
		if (parse_version(ver, &sp.ver, &why) < 0)
			goto out;
		sp.has_ver = true;
		sp.wildcard = true;
		if (sp.ver.pre || sp.ver.has_post || sp.ver.has_dev || sp.ver.local) {
			why = xstrdup("a '.*' wildcard can only follow a release number "
				      "(==1.4.*), not a pre, post, dev or local part");
			goto out;
		}
		goto out;
	}
	if (memchr(ver.ptr, '*', ver.len)) {
		why = xstrdup("'*' is only allowed as a final '.*' after a release number "
			      "(==1.4.*), and not with a local label");
		goto out;
	}
	if (parse_version(ver, &sp.ver, &why) < 0)
		goto out;
	sp.has_ver = true;
	if (sp.ver.local && sp.op != PEP440_OP_EQ && sp.op != PEP440_OP_NE) {
		why = xasprintf("a local version label (+%s) is only allowed with == and !=",
				sp.ver.local);
		goto out;
	}
	if (sp.op == PEP440_OP_COMPATIBLE && sp.ver.nrelease < 2) {
		why = xstrdup("~= needs at least two release numbers (~=1.0, not ~=1)");
		goto out;
	}
out:
	if (why) {
		r = pkgimg_err(ctx, -PKGIMG_E_PARSE, "invalid specifier '" BLOB_FMT "': %s",
			       BLOB_ARG(item), why);
		spec_free(&sp);
	} else {
		*out = sp;
	}
	free(why);
	return r;
}

int pep440_spec_parse_blob(struct pkgimg_ctx *ctx, struct blob s, struct pep440_specset *out)
{
	struct pep440_specset set = { NULL, 0 };
	struct blob rest = s, item;
	size_t cap = 0;
	bool more;
	int r = 0;

	do {
		more = blob_split(&rest, ',', &item);
		item = trim_ws(item);
		if (!item.len)
			continue;
		if (set.n == cap) {
			cap = cap ? cap * 2 : 4;
			set.v = xrealloc(set.v, cap * sizeof *set.v);
		}
		r = spec_parse_one(ctx, item, &set.v[set.n]);
		if (r < 0)
			goto out;
		set.n++;
	} while (more);
out:
	if (r < 0)
		pep440_specset_free(&set);
	else
		*out = set;
	return r;
}

int pep440_spec_parse(struct pkgimg_ctx *ctx, const char *s, struct pep440_specset *out)
{
	return pep440_spec_parse_blob(ctx, BLOB_STR(s), out);
}

void pep440_specset_free(struct pep440_specset *set)
{
	size_t i;

	if (!set)
		return;
	for (i = 0; i < set->n; i++)
		spec_free(&set->v[i]);
	free(set->v);
	set->v = NULL;
	set->n = 0;
}

/* ==E!R.*: same epoch, and the release of v (padded with zeros) starts with
 * the first n numbers of R. */
static bool prefix_match(const struct pep440_version *v, const struct pep440_version *spec,
			 size_t n)
{
	size_t i;

	if (v->epoch != spec->epoch)
		return false;
	for (i = 0; i < n; i++)
		if (release_at(v, i) != spec->release[i])
			return false;
	return true;
}

static bool match_eq(const struct pep440_spec *sp, const struct pep440_version *v)
{
	if (sp->wildcard)
		return prefix_match(v, &sp->ver, sp->ver.nrelease);
	/* without a local label in the specifier, v's own is ignored */
	if (!sp->ver.local)
		return pep440_cmp_public(v, &sp->ver) == 0;
	return pep440_cmp(v, &sp->ver) == 0;
}

static bool match_arbitrary(const struct pep440_spec *sp, const struct pep440_version *v)
{
	char *norm = pep440_normalize(v);
	bool ok = strcasecmp(norm, sp->arbitrary) == 0;

	free(norm);
	return ok;
}

bool pep440_spec_match(const struct pep440_spec *sp, const struct pep440_version *v)
{
	const struct pep440_version *s = &sp->ver;

	switch (sp->op) {
	case PEP440_OP_COMPATIBLE:
		/* ~=2.2.post3 is >=2.2.post3, ==2.* */
		return pep440_cmp_public(v, s) >= 0 && prefix_match(v, s, s->nrelease - 1);
	case PEP440_OP_EQ:
		return match_eq(sp, v);
	case PEP440_OP_NE:
		return !match_eq(sp, v);
	case PEP440_OP_LE:
		return pep440_cmp_public(v, s) <= 0;
	case PEP440_OP_GE:
		return pep440_cmp_public(v, s) >= 0;
	case PEP440_OP_LT:
		/* <V excludes pre-releases of V itself unless V is one */
		if (pep440_cmp(v, s) >= 0)
			return false;
		return pep440_is_prerelease(s) || !pep440_is_prerelease(v) || cmp_base(v, s) != 0;
	case PEP440_OP_GT:
		/* >V excludes post-releases of V unless V is one, and V+local */
		if (pep440_cmp(v, s) <= 0)
			return false;
		if (!s->has_post && v->has_post && cmp_base(v, s) == 0)
			return false;
		return !v->local || cmp_base(v, s) != 0;
	case PEP440_OP_ARBITRARY:
		return match_arbitrary(sp, v);
	}
	return false;
}

bool pep440_spec_mentions_prerelease(const struct pep440_specset *set)
{
	size_t i;

	for (i = 0; i < set->n; i++)
		if (set->v[i].op != PEP440_OP_NE && set->v[i].has_ver &&
		    pep440_is_prerelease(&set->v[i].ver))
			return true;
	return false;
}

bool pep440_spec_contains(const struct pep440_specset *set, const struct pep440_version *v,
			  bool prereleases)
{
	size_t i;

	if (pep440_is_prerelease(v) && !prereleases && !pep440_spec_mentions_prerelease(set))
		return false;
	for (i = 0; i < set->n; i++)
		if (!pep440_spec_match(&set->v[i], v))
			return false;
	return true;
}
