/* dpkg's trigger interests and file-trigger activations for the packages
 * of a layer; see installers/debtrig.h.  The formats are dpkg's
 * (lib/dpkg/triglib.c, trigdeferred.c): File "PATH PKG[/noawait]" lines in
 * the order registered, triggers/NAME "PKG[/noawait]" lines, Unincorp
 * "NAME AWAITER..." lines ("-": none). */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/ctx.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/str.h"
#include "installers/deb.h"
#include "installers/debtrig.h"

#define TRIG_DIR "var/lib/dpkg/triggers"
#define INFO_DIR "var/lib/dpkg/info"

/* One file of triggers/ as lines, and whether this layer changed it. */
struct trig_lines {
	char *name;
	struct strv lines;
	bool changed;
};

struct trig_state {
	struct trig_lines file;		/* File */
	struct trig_lines *ex;		/* explicit triggers */
	size_t nex;
	struct strv fired;		/* file triggers activated (sorted, unique) */
};

static void lines_load(struct strv *v, const char *text)
{
	struct blob b = BLOB_STR(text ? text : ""), line;

	while (blob_line(&b, &line))
		if (blob_trim(line).len)
			strv_push(v, blob_dup(line));
}

static void lines_join(const struct strv *v, struct sbuf *out)
{
	for (size_t i = 0; i < v->n; i++) {
		sbuf_adds(out, v->v[i]);
		sbuf_addc(out, '\n');
	}
}

static struct trig_lines *explicit_get(struct trig_state *s, const char *name)
{
	for (size_t i = 0; i < s->nex; i++)
		if (!strcmp(s->ex[i].name, name))
			return &s->ex[i];
	s->ex = xrealloc(s->ex, (s->nex + 1) * sizeof *s->ex);
	memset(&s->ex[s->nex], 0, sizeof *s->ex);
	s->ex[s->nex].name = xstrdup(name);
	return &s->ex[s->nex++];
}

/* Whether a "PKG[/OPTS]" field names pkg. */
static bool field_names(const char *f, size_t len, const char *pkg)
{
	size_t n = strlen(pkg);

	return len >= n && !strncmp(f, pkg, n) && (len == n || f[n] == '/');
}

/* The package field of a line: all of an explicit file's line, what
 * follows the path in File. */
static const char *line_pkg(const char *line, bool file_line, size_t *len)
{
	const char *p = line;

	if (file_line) {
		p = strchr(line, ' ');
		p = p ? p + 1 : line + strlen(line);
	}
	*len = strcspn(p, " \t");
	return p;
}

/* Drops pkg's lines from l (its interests before this version: dpkg
 * removes them before it adds the new package's). */
static void lines_drop_pkg(struct trig_lines *l, const char *pkg, bool file_line)
{
	size_t k = 0;

	for (size_t i = 0; i < l->lines.n; i++) {
		size_t len;
		const char *f = line_pkg(l->lines.v[i], file_line, &len);

		if (field_names(f, len, pkg)) {
			free(l->lines.v[i]);
			l->changed = true;
		} else {
			l->lines.v[k++] = l->lines.v[i];
		}
	}
	l->lines.n = k;
	if (l->lines.v)
		l->lines.v[k] = NULL;
}

/* Reads INFO_DIR/<pkg>.<member> of the tree; 0 with *has false when the
 * package has none. */
static int info_read(struct pkgimg_ctx *ctx, int rootfd, const char *pkg, const char *member,
		     struct sbuf *out, bool *has)
{
	char *path = xasprintf(INFO_DIR "/%s.%s", pkg, member);
	int fd = openat(rootfd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), r = 0;

	*has = false;
	if (fd < 0) {
		if (errno != ENOENT)
			r = pkgimg_err(ctx, -errno, "%s: [triggers] cannot open '%s': %m", pkg, path);
		goto out;
	}
	for (;;) {
		char buf[65536];
		ssize_t n = read(fd, buf, sizeof buf);

		if (n == 0)
			break;
		if (n < 0) {
			r = pkgimg_err(ctx, -errno, "%s: [triggers] cannot read '%s': %m", pkg, path);
			goto out;
		}
		sbuf_add(out, buf, (size_t)n);
	}
	if (!out->buf)
		sbuf_add(out, "", 0);
	*has = true;
out:
	if (fd >= 0)
		close(fd);
	free(path);
	return r;
}

/* A trigger name as dpkg takes it (printable, no blanks), and one pkgimg
 * can name a file after: not empty, no '/' unless a file trigger's path,
 * not "." or "..", not one of dpkg's own files there. */
static bool trig_name_ok(struct blob n)
{
	if (!n.len || (n.len <= 2 && n.ptr[0] == '.' && (n.len == 1 || n.ptr[1] == '.')))
		return false;
	for (size_t i = 0; i < n.len; i++)
		if ((unsigned char)n.ptr[i] <= ' ' || (unsigned char)n.ptr[i] >= 0177 ||
		    (n.ptr[i] == '/' && n.ptr[0] != '/'))
			return false;
	return !blob_eq_str(n, "File") && !blob_eq_str(n, "Unincorp") && !blob_eq_str(n, "Lock");
}

/* Adds pkg's interests (its triggers control file) to the state. */
static int add_interests(struct pkgimg_ctx *ctx, struct trig_state *s, const char *pkg,
			 const char *ci)
{
	struct blob b = BLOB_STR(ci), line;

	while (blob_line(&b, &line)) {
		struct blob rest = blob_trim(line), cmd, name;
		bool noawait;
		char *n;

		if (!rest.len || rest.ptr[0] == '#')
			continue;
		cmd = blob_word(&rest);
		name = blob_trim(rest);
		if (!blob_eq_str(cmd, "interest") && !blob_eq_str(cmd, "interest-await") &&
		    !blob_eq_str(cmd, "interest-noawait"))
			continue;	/* activate*: dpkg --configure reads them */
		if (!trig_name_ok(name))
			return pkgimg_err(ctx, -PKGIMG_E_PARSE,
					  "%s: [triggers] the triggers control file has an invalid "
					  "trigger name '" BLOB_FMT "'", pkg, BLOB_ARG(name));
		noawait = blob_eq_str(cmd, "interest-noawait");
		n = blob_dup(name);
		if (n[0] == '/') {
			strv_push(&s->file.lines, xasprintf("%s %s%s", n, pkg, noawait ? "/noawait" : ""));
			s->file.changed = true;
		} else {
			struct trig_lines *l = explicit_get(s, n);

			strv_push(&l->lines, xasprintf("%s%s", pkg, noawait ? "/noawait" : ""));
			l->changed = true;
		}
		free(n);
	}
	return 0;
}

/* The file triggers of `interests` (File lines of the image below) that
 * pkg's files (its .list) activate: an interest in a path or in a
 * directory above it. */
static void activate_files(struct trig_state *s, const struct strv *interests, const char *list)
{
	struct blob b = BLOB_STR(list), line;

	while (blob_line(&b, &line)) {
		for (size_t i = 0; i < interests->n; i++) {
			const char *p = interests->v[i];
			size_t plen = strcspn(p, " ");

			if (line.len >= plen && !memcmp(line.ptr, p, plen) &&
			    (line.len == plen || line.ptr[plen] == '/')) {
				char *name = xstrndup(p, plen);

				strv_add_unique(&s->fired, name);
				free(name);
			}
		}
	}
}

static int write_one(struct pkgimg_ctx *ctx, int dirfd, const char *name, const struct sbuf *text)
{
	int r = fs_write_file(ctx, dirfd, name, text->buf ? text->buf : "", text->len, 0644);

	return r < 0 ? pkgimg_err_wrap(ctx, r, "dpkg database: [triggers] " TRIG_DIR "/%s", name) : 0;
}

static int state_write(struct pkgimg_ctx *ctx, int rootfd, const struct trig_state *s,
		       const struct debtrig_below *below)
{
	struct sbuf text = SBUF_INIT;
	const char *dummy;
	int dirfd = -1, r;

	r = fs_open_parent(ctx, "dpkg database", "triggers", rootfd, TRIG_DIR "/x", true, NULL,
			   &dirfd, &dummy);
	if (r < 0)
		goto out;
	if (s->file.changed) {
		lines_join(&s->file.lines, &text);
		r = write_one(ctx, dirfd, "File", &text);
	}
	for (size_t i = 0; r == 0 && i < s->nex; i++) {
		if (!s->ex[i].changed)
			continue;
		sbuf_reset(&text);
		lines_join(&s->ex[i].lines, &text);
		r = write_one(ctx, dirfd, s->ex[i].name, &text);
	}
	if (r == 0 && (s->fired.n || !below->unincorp)) {
		sbuf_reset(&text);
		sbuf_adds(&text, below->unincorp ? below->unincorp : "");
		if (text.len && text.buf[text.len - 1] != '\n')
			sbuf_addc(&text, '\n');
		for (size_t i = 0; i < s->fired.n; i++)
			sbuf_addf(&text, "%s -\n", s->fired.v[i]);
		r = write_one(ctx, dirfd, "Unincorp", &text);
	}
out:
	if (dirfd >= 0)
		close(dirfd);
	sbuf_free(&text);
	return r;
}

int debtrig_write(struct pkgimg_ctx *ctx, int rootfd, const struct debtrig_below *below,
		  const struct debinst_pkg *pkgs, int n)
{
	static const struct debtrig_below none = { NULL, NULL, NULL };
	struct trig_state s = { 0 };
	struct strv interests = { 0 };	/* File of the image below, without this layer's packages */
	struct sbuf text = SBUF_INIT;
	char **names = xcalloc((size_t)n + 1, sizeof *names);
	int r = 0;

	if (!below)
		below = &none;
	lines_load(&s.file.lines, below->file);
	for (char **e = below->explicit; e && e[0] && e[1]; e += 2)
		lines_load(&explicit_get(&s, e[0])->lines, e[1]);
	for (int i = 0; i < n; i++)
		names[i] = pkgs[i].multiarch_same ? xasprintf("%s:%s", pkgs[i].name, pkgs[i].arch)
						  : xstrdup(pkgs[i].name);
	for (int i = 0; i < n; i++) {
		lines_drop_pkg(&s.file, names[i], true);
		for (size_t k = 0; k < s.nex; k++)
			lines_drop_pkg(&s.ex[k], names[i], false);
	}
	for (size_t i = 0; i < s.file.lines.n; i++)
		strv_add(&interests, s.file.lines.v[i]);
	for (int i = 0; i < n; i++) {
		bool has;

		sbuf_reset(&text);
		r = info_read(ctx, rootfd, names[i], "triggers", &text, &has);
		if (r == 0 && has)
			r = add_interests(ctx, &s, names[i], text.buf);
		if (r < 0)
			goto out;
		if (!interests.n)
			continue;
		sbuf_reset(&text);
		r = info_read(ctx, rootfd, names[i], "list", &text, &has);
		if (r < 0)
			goto out;
		if (has)
			activate_files(&s, &interests, text.buf);
	}
	strv_sort(&s.fired);
	r = state_write(ctx, rootfd, &s, below);
out:
	for (size_t i = 0; i < s.nex; i++) {
		free(s.ex[i].name);
		strv_free(&s.ex[i].lines);
	}
	free(s.ex);
	strv_free(&s.file.lines);
	strv_free(&s.fired);
	strv_free(&interests);
	strv_free_null(names);
	sbuf_free(&text);
	return r;
}

void debtrig_below_free(struct debtrig_below *b)
{
	free(b->file);
	free(b->unincorp);
	strv_free_null(b->explicit);
	memset(b, 0, sizeof *b);
}
