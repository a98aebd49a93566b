/* pip requirements files: lines joined, comments stripped, ${VAR} expanded,
 * then each logical line split into a PEP 508 requirement and options, in
 * the order of pip's req_file.py preprocess().  See reqfile.h. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/ctx.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/str.h"
#include "pyspec/pep440.h"
#include "pyspec/pep508.h"
#include "pyspec/reqfile.h"

/* A file larger than this is not a requirements file. */
#define REQFILE_MAX_SIZE (64u << 20)

/* One file being read, with the chain of files that included it. */
struct rf_file {
	const char *path;		/* as opened (joined to its includer's dir) */
	char *real;			/* realpath, for cycle detection */
	const struct rf_file *parent;
	int depth;
	bool proven;			/* a line of it read as a requirement or an
					 * option: it is a requirements file */
};

struct rf_state {
	struct pkgimg_ctx *ctx;
	struct reqfile *rf;
	const char *root;		/* NULL, or -r/-c files must be inside it */
	bool hidden;			/* ex() withheld a line's text */
	char exbuf[4][256];		/* ex()'s results, the last four: at most
					 * 60 bytes as \xHH, quotes and "..." */
	unsigned exi;
};

enum rf_opt_id {
	OPT_REQUIREMENT,
	OPT_CONSTRAINT,
	OPT_EDITABLE,
	OPT_INDEX_URL,
	OPT_EXTRA_INDEX_URL,
	OPT_NO_INDEX,
	OPT_FIND_LINKS,
	OPT_NO_BINARY,
	OPT_ONLY_BINARY,
	OPT_PREFER_BINARY,
	OPT_REQUIRE_HASHES,
	OPT_PRE,
	OPT_TRUSTED_HOST,
	OPT_USE_FEATURE,
	OPT_HASH,
	OPT_GLOBAL_OPTION,
	OPT_CONFIG_SETTINGS,
};

struct rf_opt_def {
	const char *lng;	/* without "--" */
	char shrt;		/* 0 when none */
	bool takes_value;
	bool per_req;		/* allowed on a requirement line (only there) */
	enum rf_opt_id id;
};

static const struct rf_opt_def opt_defs[] = {
	{ "requirement", 'r', true, false, OPT_REQUIREMENT },
	{ "constraint", 'c', true, false, OPT_CONSTRAINT },
	{ "editable", 'e', true, false, OPT_EDITABLE },
	{ "index-url", 'i', true, false, OPT_INDEX_URL },
	{ "extra-index-url", 0, true, false, OPT_EXTRA_INDEX_URL },
	{ "no-index", 0, false, false, OPT_NO_INDEX },
	{ "find-links", 'f', true, false, OPT_FIND_LINKS },
	{ "no-binary", 0, true, false, OPT_NO_BINARY },
	{ "only-binary", 0, true, false, OPT_ONLY_BINARY },
	{ "prefer-binary", 0, false, false, OPT_PREFER_BINARY },
	{ "require-hashes", 0, false, false, OPT_REQUIRE_HASHES },
	{ "pre", 0, false, false, OPT_PRE },
	{ "trusted-host", 0, true, false, OPT_TRUSTED_HOST },
	{ "use-feature", 0, true, false, OPT_USE_FEATURE },
	{ "hash", 0, true, true, OPT_HASH },
	{ "global-option", 0, true, true, OPT_GLOBAL_OPTION },
	{ "config-settings", 0, true, true, OPT_CONFIG_SETTINGS },
};

#define NOPTS (sizeof opt_defs / sizeof opt_defs[0])

/* One option as found on a line, with its value (NULL for a flag). */
struct rf_opt {
	const struct rf_opt_def *def;
	const char *spelled;	/* as written, for messages */
	const char *value;
};

static int line_err(struct rf_state *st, const struct rf_file *f, size_t line,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int line_err(struct rf_state *st, const struct rf_file *f, size_t line,
		    const char *fmt, ...)
{
	char cause[4096];
	bool hidden;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cause, sizeof cause, fmt, ap);
	va_end(ap);
	hidden = st->hidden;
	st->hidden = false;
	return pkgimg_err(st->ctx, -PKGIMG_E_PARSE, "%s:%zu: [requirements] %s%s", f->path, line,
			  cause, hidden ? " (the line's text is not shown: no line before it "
			  "reads as a requirement or an option, so this may not be a requirements "
			  "file at all)" : "");
}

/* Text of the file for a message: in single quotes, control characters,
 * quotes, backslashes and non-ASCII bytes as \xHH, cut after 60 bytes; and
 * only once a line of the file has read as a requirement or an option.
 * Before that the file may be anything a spec or a -r names (a key, a
 * password file), and its content never reaches a message or a log: the
 * result is then "(text not shown)" and line_err() says why.  Valid until
 * four more calls. */
static const char *ex(struct rf_state *st, const struct rf_file *f, const char *s, size_t len)
{
	char *b = st->exbuf[st->exi++ % 4];
	size_t o = 0, i;

	if (!f->proven) {
		st->hidden = true;
		return "(text not shown)";
	}
	b[o++] = '\'';
	for (i = 0; i < len && s[i] && i < 60; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c >= 0x7f || c == '\'' || c == '\\')
			o += (size_t)snprintf(b + o, 5, "\\x%02x", c);
		else
			b[o++] = (char)c;
	}
	if (i < len && s[i]) {
		memcpy(b + o, "...", 3);
		o += 3;
	}
	b[o++] = '\'';
	b[o] = 0;
	return b;
}

#define EX(s) ex(st, f, (s), (size_t)-1)

/* An option as spelled, for a message: only the name (before any '=', or
 * the two characters of a short option), which matched pip's table, so it
 * is no secret: shown even before the file has proven itself. */
static const char *ex_opt(struct rf_state *st, const char *spelled)
{
	static const struct rf_file proven = { .proven = true };
	size_t n = spelled[1] == '-' ? strcspn(spelled, "=") : 2;

	return ex(st, &proven, spelled, n);
}

/* --- reading and preprocessing -------------------------------------------- */

static int read_all(struct rf_state *st, const char *path, const char *from, struct sbuf *out)
{
	char buf[65536];
	FILE *fp;
	size_t n;
	int r = 0;

	fp = fopen(path, "rb");
	if (!fp) {
		r = -errno;
		if (from)
			return pkgimg_err(st->ctx, r, "%s: [requirements] cannot open '%s': %s",
					  from, path, strerror(-r));
		return pkgimg_err(st->ctx, r, "%s: [requirements] cannot open: %s", path,
				  strerror(-r));
	}
	while ((n = fread(buf, 1, sizeof buf, fp)) > 0) {
		if (out->len + n > REQFILE_MAX_SIZE) {
			r = pkgimg_err(st->ctx, -PKGIMG_E_PARSE,
				       "%s: [requirements] larger than %u MiB; not a "
				       "requirements file", path, REQFILE_MAX_SIZE >> 20);
			goto out;
		}
		sbuf_add(out, buf, n);
	}
	if (ferror(fp)) {
		r = -(errno ? errno : EIO);
		r = pkgimg_err(st->ctx, r, "%s: [requirements] cannot read: %s", path,
			       strerror(-r));
		goto out;
	}
	if (!out->buf)
		sbuf_adds(out, "");
out:
	fclose(fp);
	return r;
}

/* pip's COMMENT_RE.match: the line is a comment from its start ("#..." or
 * whitespace then "#"). */
static bool is_comment_line(struct blob l)
{
	size_t i = 0;

	while (i < l.len && ascii_isspace(l.ptr[i]))
		i++;
	return i < l.len && l.ptr[i] == '#';
}

/* COMMENT_RE.sub("", line) then strip(): cuts at the first '#' that starts
 * the line or follows whitespace, together with the whitespace before it. */
static struct blob strip_comment(struct blob l)
{
	size_t i;

	for (i = 0; i < l.len; i++)
		if (l.ptr[i] == '#' && (i == 0 || ascii_isspace(l.ptr[i - 1]))) {
			l.len = i;
			break;
		}
	return blob_trim(l);
}

/* ${NAME} from the environment; unset or empty stays as written. */
static char *expand_env(struct blob l)
{
	struct sbuf s = SBUF_INIT;
	size_t i = 0, j;

	while (i < l.len) {
		if (l.ptr[i] == '$' && i + 1 < l.len && l.ptr[i + 1] == '{') {
			for (j = i + 2; j < l.len; j++) {
				char c = l.ptr[j];

				if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
					break;
			}
			if (j > i + 2 && j < l.len && l.ptr[j] == '}') {
				char *name = xstrndup(l.ptr + i + 2, j - i - 2);
				const char *v = getenv(name);

				free(name);
				if (v && *v) {
					sbuf_adds(&s, v);
					i = j + 1;
					continue;
				}
			}
		}
		sbuf_addc(&s, l.ptr[i]);
		i++;
	}
	return sbuf_detach(&s);
}

/* --- options -------------------------------------------------------------- */

/* shlex.split (POSIX mode, no comments): words of the options part. */
static int shlex_split(struct rf_state *st, const struct rf_file *f, size_t line,
		       const char *s, struct strv *out)
{
	struct sbuf w = SBUF_INIT;
	bool in_word = false;
	int r = 0;

	while (*s) {
		char c = *s;

		if (ascii_isspace(c)) {
			if (in_word) {
				strv_push(out, sbuf_detach(&w));
				in_word = false;
			}
			s++;
			continue;
		}
		in_word = true;
		if (c == '\\') {
			s++;
			if (*s)
				sbuf_addc(&w, *s++);
			continue;
		}
		if (c == '\'' || c == '"') {
			char q = c;

			s++;
			sbuf_add(&w, "", 0);
			while (*s && *s != q) {
				if (q == '"' && *s == '\\' &&
				    (s[1] == '\\' || s[1] == '"' || s[1] == '$' || s[1] == '`'))
					s++;
				sbuf_addc(&w, *s++);
			}
			if (!*s) {
				r = line_err(st, f, line, "no closing quotation (%c) in the options",
					     q);
				goto out;
			}
			s++;
			continue;
		}
		sbuf_addc(&w, c);
		s++;
	}
	if (in_word)
		strv_push(out, sbuf_detach(&w));
out:
	sbuf_free(&w);
	return r;
}

/* optparse's lookup of a long option: exact, else a unique prefix. */
static const struct rf_opt_def *find_long(const char *name, size_t len, int *nmatch)
{
	const struct rf_opt_def *hit = NULL;
	size_t i;

	*nmatch = 0;
	for (i = 0; i < NOPTS; i++)
		if (strlen(opt_defs[i].lng) == len && !memcmp(opt_defs[i].lng, name, len)) {
			*nmatch = 1;
			return &opt_defs[i];
		}
	for (i = 0; i < NOPTS; i++)
		if (!strncmp(opt_defs[i].lng, name, len)) {
			hit = &opt_defs[i];
			(*nmatch)++;
		}
	return *nmatch == 1 ? hit : NULL;
}

/* Reads the words as optparse would.  The options point into words. */
static int parse_opts(struct rf_state *st, const struct rf_file *f, size_t line,
		      const struct strv *words, struct rf_opt **optsp, size_t *noptsp)
{
	struct rf_opt *opts = NULL;
	size_t nopts = 0, i;
	int r = 0;

	for (i = 0; i < words->n; i++) {
		const char *wd = words->v[i];
		const struct rf_opt_def *def = NULL;
		const char *value = NULL;
		bool attached = false;

		if (!strcmp(wd, "--") || wd[0] != '-' || !wd[1]) {
			r = line_err(st, f, line, "unexpected %s among the options; a line is "
				     "a requirement followed by its options, or options alone",
				     EX(wd));
			goto out;
		}
		if (wd[1] == '-') {
			const char *name = wd + 2, *eq = strchr(name, '=');
			size_t len = eq ? (size_t)(eq - name) : strlen(name);
			int nmatch;

			def = find_long(name, len, &nmatch);
			if (!def) {
				r = line_err(st, f, line, "%s option %s%s",
					     nmatch > 1 ? "ambiguous" : "unknown", ex(st, f, wd, len + 2),
					     nmatch > 1 ? "; spell it out" : "; a requirements file "
					     "takes the options of pip's \"Requirements File "
					     "Format\"");
				goto out;
			}
			if (eq) {
				value = eq + 1;
				attached = true;
			}
			if (!def->takes_value && attached) {
				r = line_err(st, f, line, "option --%s takes no value (got %s)",
					     def->lng, ex(st, f, wd, (size_t)-1));
				goto out;
			}
		} else {
			size_t k;

			for (k = 0; k < NOPTS; k++)
				if (opt_defs[k].shrt == wd[1])
					def = &opt_defs[k];
			if (!def) {
				r = line_err(st, f, line, "unknown option %s", ex(st, f, wd, 2));
				goto out;
			}
			/* every short option here takes a value: -rFILE or -r FILE */
			if (wd[2]) {
				value = wd + 2;
				attached = true;
			}
		}
		if (def->takes_value && !attached) {
			if (i + 1 >= words->n) {
				r = line_err(st, f, line, "option %s needs a value", ex_opt(st, wd));
				goto out;
			}
			value = words->v[++i];
		}
		opts = xrealloc(opts, (nopts + 1) * sizeof *opts);
		opts[nopts].def = def;
		opts[nopts].spelled = wd;
		opts[nopts].value = value;
		nopts++;
	}
	*optsp = opts;
	*noptsp = nopts;
	opts = NULL;
out:
	free(opts);
	return r;
}

/* "sha256:HEX" checked and lowercased into hashes (once). */
static int add_hash(struct rf_state *st, const struct rf_file *f, size_t line,
		    const char *value, struct strv *hashes)
{
	static const struct {
		const char *name;
		size_t hexlen;
	} algos[] = { { "sha256", 64 }, { "sha384", 96 }, { "sha512", 128 } };
	const char *colon = strchr(value, ':'), *hex;
	size_t alen, i, k, n;
	char *h;

	if (!colon)
		return line_err(st, f, line, "--hash=%s: expected a hash name, ':' and the hex "
				"digest, like --hash=sha256:<64 hex digits>", EX(value));
	alen = (size_t)(colon - value);
	hex = colon + 1;
	for (k = 0; k < sizeof algos / sizeof algos[0]; k++)
		if (strlen(algos[k].name) == alen && !memcmp(algos[k].name, value, alen))
			break;
	if (k == sizeof algos / sizeof algos[0])
		return line_err(st, f, line, "--hash=%s: unsupported hash algorithm %s; use "
				"sha256, sha384 or sha512", EX(value), ex(st, f, value, alen));
	n = strlen(hex);
	for (i = 0; i < n; i++)
		if (ascii_hexval(hex[i]) < 0)
			break;
	if (i < n || n != algos[k].hexlen)
		return line_err(st, f, line, "--hash=%s: a %s digest is %zu hex digits", EX(value),
				algos[k].name, algos[k].hexlen);
	h = xasprintf("%s:%s", algos[k].name, hex);
	for (i = alen + 1; h[i]; i++)
		h[i] = ascii_lower(h[i]);
	for (i = 0; i < hashes->n; i++)
		if (!strcmp(hashes->v[i], h)) {
			free(h);
			return 0;
		}
	strv_push(hashes, h);
	return 0;
}

/* --- requirement lines ---------------------------------------------------- */

/* pip installs from a path or URL that has no name ("./pkg", "/x/y.whl",
 * "https://h/y.whl", "git+https://..."); pkgimg needs the name.  Looks at
 * what comes before any marker, extras, specifier or " @ ". */
static bool looks_unnamed(const char *s)
{
	size_t n = strcspn(s, " \t;@[<>=!~(");
	struct blob head = { s, n };
	static const char *const exts[] = { ".whl", ".zip", ".tar.gz", ".tgz", ".tar.bz2",
					    ".tar.xz", ".tar" };
	size_t i;

	if (!n)
		return false;
	if (memchr(s, '/', n) || memchr(s, '\\', n) || memchr(s, ':', n) || s[0] == '.' ||
	    s[0] == '~')
		return true;
	for (i = 0; i < sizeof exts / sizeof exts[0]; i++) {
		size_t el = strlen(exts[i]);

		if (head.len > el && !strncmp(head.ptr + head.len - el, exts[i], el))
			return true;
	}
	return false;
}

/* An unnamed requirement pip would read as a path or a URL: no control
 * character, and a "scheme://", a '/', a leading '.' or an archive's
 * extension ("root:x:0:0" is none of them). */
static bool source_like(const char *s)
{
	static const char *const exts[] = { ".whl", ".zip", ".tar.gz", ".tgz", ".tar.bz2",
					    ".tar.xz", ".tar" };

	for (const char *c = s; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			return false;
	if (strstr(s, "://") || strchr(s, '/') || s[0] == '.')
		return true;
	for (size_t i = 0; i < sizeof exts / sizeof exts[0]; i++)
		if (str_ends_with(s, exts[i]))
			return true;
	return false;
}

static bool is_pinned(const struct pep508_req *r)
{
	if (r->url)
		return true;
	if (r->spec.n != 1)
		return false;
	return (r->spec.v[0].op == PEP440_OP_EQ && !r->spec.v[0].wildcard) ||
	       r->spec.v[0].op == PEP440_OP_ARBITRARY;
}

static void req_item_free(struct reqfile_req *q)
{
	free(q->source);
	pep508_req_free(&q->req);
	strv_free(&q->hashes);
	free(q->origin);
}

static int handle_req(struct rf_state *st, const struct rf_file *f, size_t line, bool constraint,
		      const char *text, const struct rf_opt *opts, size_t nopts)
{
	struct reqfile_req q = { 0 };
	struct reqfile_req **arr;
	size_t *narr, i;
	int r = 0;

	if (looks_unnamed(text) && constraint) {
		r = line_err(st, f, line, "constraint %s is a path or URL; constraints are a "
			     "name and a version specifier only (pip >= 20.3)", EX(text));
		goto out;
	}
	for (i = 0; i < nopts; i++) {
		if (!opts[i].def->per_req) {
			r = line_err(st, f, line, "option %s cannot follow a requirement; put it "
				     "on a line of its own", ex_opt(st, opts[i].spelled));
			goto out;
		}
		if (opts[i].def->id == OPT_HASH) {
			r = add_hash(st, f, line, opts[i].value, &q.hashes);
			if (r < 0)
				goto out;
		}
		/* --global-option, --config-settings: for sdist builds only */
	}
	if (looks_unnamed(text)) {
		if (!source_like(text)) {
			r = line_err(st, f, line, "%s: a path or URL without a package name, but "
				     "neither a path (./DIR, /DIR, dist/x-1.0.tar.gz) nor a URL "
				     "(file:///..., https://..., git+https://...); write "
				     "\"name==VERSION\" or \"name @ URL\"", EX(text));
			goto out;
		}
		q.source = xstrdup(text);
		goto add;
	}
	r = pep508_req_parse(st->ctx, text, &q.req);
	if (r < 0) {
		/* the parser's message quotes the line: escaped and bounded, and
		 * only for a file that has shown itself a requirements file */
		char cause[400];
		size_t n = strnlen(st->ctx->errmsg, sizeof cause - 1);

		memcpy(cause, st->ctx->errmsg, n);
		cause[n] = 0;
		for (char *c = cause; *c; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				*c = '?';
		if (f->proven)
			r = line_err(st, f, line, "%s%s", cause,
				     strlen(st->ctx->errmsg) >= sizeof cause ? "..." : "");
		else
			r = line_err(st, f, line, "not a PEP 508 requirement %s", EX(text));
		goto out;
	}
	if (constraint && q.req.nextras) {
		r = line_err(st, f, line, "constraint %s has extras; constraints are a name "
			     "and a version specifier only (pip >= 20.3)", EX(text));
		pep508_req_free(&q.req);
		goto out;
	}
	if (constraint && q.req.url) {
		r = line_err(st, f, line, "constraint %s is a URL; constraints are a name "
			     "and a version specifier only (pip >= 20.3)", EX(text));
		pep508_req_free(&q.req);
		goto out;
	}
add:
	q.origin = xasprintf("%s:%zu", f->path, line);
	arr = constraint ? &st->rf->constraints : &st->rf->reqs;
	narr = constraint ? &st->rf->nconstraints : &st->rf->nreqs;
	*arr = xrealloc(*arr, (*narr + 1) * sizeof **arr);
	(*arr)[(*narr)++] = q;
	return 0;
out:
	strv_free(&q.hashes);
	return r;
}

/* --- option lines --------------------------------------------------------- */

static int parse_file(struct rf_state *st, const char *path, bool constraint,
		      const struct rf_file *parent, size_t parent_line);

static bool is_url(const char *s)
{
	size_t i = 0;

	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
		return false;
	while ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
	       (s[i] >= '0' && s[i] <= '9') || s[i] == '+' || s[i] == '-' || s[i] == '.')
		i++;
	return i > 1 && s[i] == ':';
}

/* A path named in f, relative to f's directory.  The caller frees it. */
static char *relative_to(const struct rf_file *f, const char *p)
{
	const char *slash = strrchr(f->path, '/');

	if (p[0] == '/' || !slash)
		return xstrdup(p);
	return xasprintf("%.*s/%s", (int)(slash - f->path), f->path, p);
}

static int handle_opts(struct rf_state *st, const struct rf_file *f, size_t line,
		       const struct rf_opt *opts, size_t nopts)
{
	struct reqfile *rf = st->rf;
	size_t i;
	int r = 0;

	for (i = 0; i < nopts; i++) {
		const struct rf_opt *o = &opts[i];
		char *p;

		switch (o->def->id) {
		case OPT_REQUIREMENT:
		case OPT_CONSTRAINT:
			if (is_url(o->value))
				return line_err(st, f, line, "%s %s: remote requirements files "
						"are not supported; download it and name the "
						"local file", ex_opt(st, o->spelled), EX(o->value));
			p = relative_to(f, o->value);
			/* as pip: -r inside a constraints file names requirements */
			r = parse_file(st, p, o->def->id == OPT_CONSTRAINT, f, line);
			free(p);
			if (r < 0)
				return r;
			break;
		case OPT_EDITABLE: {
			struct reqfile_req q = { 0 };

			/* in an image, -e is a regular install of the source:
			 * the caller says so */
			q.source = xstrdup(o->value);
			q.editable = true;
			q.origin = xasprintf("%s:%zu", f->path, line);
			rf->reqs = xrealloc(rf->reqs, (rf->nreqs + 1) * sizeof *rf->reqs);
			rf->reqs[rf->nreqs++] = q;
			break;
		}
		case OPT_INDEX_URL:
			free(rf->index_url);
			rf->index_url = xstrdup(o->value);
			break;
		case OPT_EXTRA_INDEX_URL:
			strv_add(&rf->extra_index_urls, o->value);
			break;
		case OPT_NO_INDEX:
			rf->no_index = true;
			break;
		case OPT_FIND_LINKS:
			if (is_url(o->value) || o->value[0] == '/') {
				strv_add(&rf->find_links, o->value);
			} else {
				struct stat sb;

				p = relative_to(f, o->value);
				if (stat(p, &sb) == 0)
					strv_push(&rf->find_links, p);
				else {
					free(p);
					strv_add(&rf->find_links, o->value);
				}
			}
			break;
		case OPT_NO_BINARY:
			strv_add(&rf->no_binary, o->value);
			break;
		case OPT_ONLY_BINARY:
			strv_add(&rf->only_binary, o->value);
			break;
		case OPT_PREFER_BINARY:
			rf->prefer_binary = true;
			break;
		case OPT_REQUIRE_HASHES:
			rf->require_hashes = true;
			break;
		case OPT_PRE:
			rf->pre = true;
			break;
		case OPT_TRUSTED_HOST:
			strv_add(&rf->trusted_hosts, o->value);
			break;
		case OPT_USE_FEATURE:
			break;
		case OPT_HASH:
		case OPT_GLOBAL_OPTION:
		case OPT_CONFIG_SETTINGS:
			return line_err(st, f, line, "option %s belongs to a requirement; write "
					"it after the requirement on the same line", ex_opt(st, o->spelled));
		}
	}
	return 0;
}

/* One logical line, comments already stripped and variables expanded. */
static int handle_line(struct rf_state *st, const struct rf_file *f, size_t line,
		       bool constraint, const char *s)
{
	struct strv words = { NULL, 0, 0 };
	struct rf_opt *opts = NULL;
	size_t nopts = 0, p;
	char *args = NULL;
	int r;

	/* pip's break_args_options: words split on ' '; the first one that
	 * starts with '-' begins the options */
	for (p = 0; s[p]; p++)
		if (s[p] == '-' && (p == 0 || s[p - 1] == ' '))
			break;
	args = blob_dup(blob_trim((struct blob){ s, p }));
	r = shlex_split(st, f, line, s + p, &words);
	if (r < 0)
		goto out;
	r = parse_opts(st, f, line, &words, &opts, &nopts);
	if (r < 0)
		goto out;
	if (*args)
		r = handle_req(st, f, line, constraint, args, opts, nopts);
	else
		r = handle_opts(st, f, line, opts, nopts);
out:
	free(opts);
	strv_free(&words);
	free(args);
	return r;
}

/* --- files ---------------------------------------------------------------- */

/* "a.txt -> b.txt -> a.txt" for the cycle message. */
static char *chain_str(const struct rf_file *f, const char *again)
{
	struct strv names = { NULL, 0, 0 };
	struct sbuf s = SBUF_INIT;
	size_t i;

	for (; f; f = f->parent)
		strv_add(&names, f->path);
	for (i = names.n; i-- > 0;) {
		sbuf_adds(&s, names.v[i]);
		sbuf_adds(&s, " -> ");
	}
	sbuf_adds(&s, again);
	strv_free(&names);
	return sbuf_detach(&s);
}

static int parse_lines(struct rf_state *st, struct rf_file *f, bool constraint,
		       struct blob text)
{
	struct sbuf joined = SBUF_INIT;
	size_t lineno = 0, first = 0;
	bool pending = false;
	int r = 0;

	if (text.len >= 3 && !memcmp(text.ptr, "\xef\xbb\xbf", 3)) {
		text.ptr += 3;
		text.len -= 3;
	}
	if (memchr(text.ptr, '\0', text.len)) {
		r = pkgimg_err(st->ctx, -PKGIMG_E_PARSE, "%s: [requirements] contains NUL bytes; "
			       "a requirements file is UTF-8 text", f->path);
		goto out;
	}
	while (text.len || pending) {
		struct blob l = text, logical;
		size_t n = 0;
		bool at_end = !text.len;
		char *expanded;

		if (!at_end) {
			while (n < text.len && text.ptr[n] != '\n' && text.ptr[n] != '\r')
				n++;
			l.len = n;
			if (n < text.len && text.ptr[n] == '\r' && n + 1 < text.len &&
			    text.ptr[n + 1] == '\n')
				n++;
			if (n < text.len)
				n++;
			text.ptr += n;
			text.len -= n;
			lineno++;
			/* pip's join_lines */
			if (l.len && l.ptr[l.len - 1] == '\\' && !is_comment_line(l)) {
				if (!pending) {
					first = lineno;
					pending = true;
				}
				while (l.len && l.ptr[0] == '\\') {
					l.ptr++;
					l.len--;
				}
				while (l.len && l.ptr[l.len - 1] == '\\')
					l.len--;
				sbuf_add(&joined, l.ptr, l.len);
				continue;
			}
			if (pending) {
				if (is_comment_line(l))
					sbuf_addc(&joined, ' ');
				sbuf_add(&joined, l.ptr, l.len);
				logical = (struct blob){ joined.buf, joined.len };
			} else {
				first = lineno;
				logical = l;
			}
		} else {
			/* the file ended on a continued line */
			sbuf_add(&joined, "", 0);
			logical = (struct blob){ joined.buf, joined.len };
		}
		pending = false;
		logical = strip_comment(logical);
		if (logical.len) {
			expanded = expand_env(logical);
			r = handle_line(st, f, first, constraint, expanded);
			free(expanded);
			if (r < 0)
				goto out;
			f->proven = true;
		}
		sbuf_reset(&joined);
	}
out:
	sbuf_free(&joined);
	return r;
}

static int parse_file(struct rf_state *st, const char *path, bool constraint,
		      const struct rf_file *parent, size_t parent_line)
{
	struct rf_file f = { path, NULL, parent, parent ? parent->depth + 1 : 0, false };
	struct sbuf text = SBUF_INIT;
	char *from = NULL, *chain, *confined = NULL;
	const struct rf_file *a;
	int r;

	if (parent)
		from = xasprintf("%s:%zu", parent->path, parent_line);
	if (f.depth > REQFILE_MAX_DEPTH) {
		r = pkgimg_err(st->ctx, -PKGIMG_E_PARSE, "%s: [requirements] requirements files "
			       "nested more than %d deep", from, REQFILE_MAX_DEPTH);
		goto out;
	}
	if (st->root) {
		/* a spec's requirements: each file inside its build context */
		char *what = from ? xasprintf("%s: [requirements] %s", from, constraint ? "-c" : "-r")
			: xasprintf("%s: [requirements] the requirements file", path);

		r = fs_path_within(st->ctx, st->root, "/", path, what, "the files a spec's "
				   "requirements name must be inside its build context (the spec's "
				   "directory): move the file into it, or widen the context with "
				   "--context DIR", &confined);
		free(what);
		if (r < 0)
			goto out;
	}
	r = read_all(st, confined ? confined : path, from, &text);
	if (r < 0)
		goto out;
	f.real = realpath(path, NULL);
	if (!f.real)
		f.real = xstrdup(path);
	for (a = parent; a; a = a->parent)
		if (!strcmp(a->real, f.real)) {
			chain = chain_str(parent, path);
			r = pkgimg_err(st->ctx, -PKGIMG_E_PARSE, "%s: [requirements] '%s' includes "
				       "itself (%s); remove the cycle", from, a->path, chain);
			free(chain);
			goto out;
		}
	r = parse_lines(st, &f, constraint, (struct blob){ text.buf, text.len });
out:
	free(f.real);
	free(confined);
	sbuf_free(&text);
	free(from);
	return r;
}

/* --- hash-checking mode --------------------------------------------------- */

static int check_hash_mode(struct rf_state *st)
{
	const struct reqfile *rf = st->rf;
	bool mode = rf->require_hashes;
	size_t i;
	char *s;
	int r;

	for (i = 0; i < rf->nreqs && !mode; i++)
		if (rf->reqs[i].hashes.n)
			mode = true;
	if (!mode)
		return 0;
	for (i = 0; i < rf->nreqs; i++) {
		const struct reqfile_req *q = &rf->reqs[i];

		if (q->source) {
			if (q->hashes.n || q->editable)
				continue;
			return pkgimg_err(st->ctx, -PKGIMG_E_PARSE, "%s: [requirements] '%s' has "
					  "no --hash; in hash-checking mode (%s) every requirement "
					  "needs one: add --hash=sha256:<digest of the archive>",
					  q->origin, q->source, rf->require_hashes ?
					  "--require-hashes" : "a --hash was given");
		}
		if (!is_pinned(&q->req)) {
			s = pep508_req_str(&q->req);
			r = pkgimg_err(st->ctx, -PKGIMG_E_PARSE, "%s: [requirements] '%s' is not "
				       "pinned; in hash-checking mode (%s) every requirement needs "
				       "a single == or === version, like '%s==VERSION'", q->origin,
				       s, rf->require_hashes ? "--require-hashes" :
				       "a --hash was given", q->req.name);
			free(s);
			return r;
		}
		if (!q->hashes.n) {
			s = pep508_req_str(&q->req);
			r = pkgimg_err(st->ctx, -PKGIMG_E_PARSE, "%s: [requirements] '%s' has no "
				       "--hash; in hash-checking mode (%s) every requirement needs "
				       "one: add --hash=sha256:<digest of the wheel>", q->origin, s,
				       rf->require_hashes ? "--require-hashes" :
				       "a --hash was given");
			free(s);
			return r;
		}
	}
	return 0;
}

/* --- entry points --------------------------------------------------------- */

int reqfile_parse(struct pkgimg_ctx *ctx, const char *path, struct reqfile *out)
{
	return reqfile_parse_in(ctx, path, NULL, out);
}

int reqfile_parse_in(struct pkgimg_ctx *ctx, const char *path, const char *root,
		     struct reqfile *out)
{
	struct reqfile rf = { 0 };
	struct rf_state st = { .ctx = ctx, .rf = &rf, .root = root };
	int r;

	r = parse_file(&st, path, false, NULL, 0);
	if (r < 0)
		goto out;
	r = check_hash_mode(&st);
	if (r < 0)
		goto out;
	*out = rf;
	return 0;
out:
	reqfile_free(&rf);
	return r;
}

void reqfile_free(struct reqfile *rf)
{
	size_t i;

	for (i = 0; i < rf->nreqs; i++)
		req_item_free(&rf->reqs[i]);
	free(rf->reqs);
	for (i = 0; i < rf->nconstraints; i++)
		req_item_free(&rf->constraints[i]);
	free(rf->constraints);
	free(rf->index_url);
	strv_free(&rf->extra_index_urls);
	strv_free(&rf->find_links);
	strv_free(&rf->trusted_hosts);
	strv_free(&rf->no_binary);
	strv_free(&rf->only_binary);
	memset(rf, 0, sizeof *rf);
}
