/* Installing .deb files into a layer; see installers/deb.h.
 *
 * The outer ar archive and the nested control.tar.* / data.tar.* are read with
 * libarchive (the nested archive reads its bytes from the outer one).
 * data.tar's entries are written by installers/extract.c, the secure walk
 * every format shares (through directory fds, nothing followed, bounded);
 * what is dpkg's stays here: where a shipped path goes (merged /usr, a
 * conffile's .dpkg-new), the .list and md5sums, the info directory. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/ctx.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/hash.h"
#include "core/str.h"
#include "core/arc.h"
#include "installers/deb.h"
#include "installers/extract.h"

#define DEB_BUF		65536
#define DEB_MEMBER_MAX	(64u << 20)	/* largest control member read into memory */
#define DEB_INFO_DIR	"var/lib/dpkg/info"

/* First path components that live under usr/ on a merged-/usr system. */
static const char *const merged_dirs[] = {
	"bin", "sbin", "lib", "lib32", "lib64", "libx32", NULL
};

/* The control members dpkg keeps in its info directory. */
static const struct info_member {
	const char *name;
	mode_t mode;
} info_members[] = {
	{ "preinst", 0755 }, { "postinst", 0755 }, { "prerm", 0755 },
	{ "postrm", 0755 }, { "config", 0755 }, { "templates", 0644 },
	{ "triggers", 0644 }, { "shlibs", 0644 }, { "symbols", 0644 },
	{ "conffiles", 0644 }, { "md5sums", 0644 },
};
#define N_INFO (sizeof info_members / sizeof info_members[0])
#define INFO_CONFFILES 9
#define INFO_MD5SUMS 10

/* dpkg's status field order (lib/dpkg/parse.c, fieldinfos[]); fields not in
 * this table follow in the order of the control file. */
static const char *const dpkg_fields[] = {
	"Package", "Essential", "Protected", "Status", "Priority", "Section",
	"Installed-Size", "Origin", "Maintainer", "Bugs", "Architecture",
	"Multi-Arch", "Source", "Version", "Config-Version", "Replaces",
	"Provides", "Depends", "Pre-Depends", "Recommends", "Suggests", "Breaks",
	"Conflicts", "Enhances", "Conffiles", "Filename", "Size", "MD5sum",
	"MSDOS-Filename", "Description", "Triggers-Pending", "Triggers-Awaited",
	NULL
};

/* ---- control-file stanzas ---- */

struct field {
	struct blob name;
	struct blob value;	/* after "Name:" and blanks, continuation lines kept */
};

struct fields {
	struct field *v;
	size_t n, cap;
};

static bool line_blank(struct blob l)
{
	for (size_t i = 0; i < l.len; i++)
		if (l.ptr[i] != ' ' && l.ptr[i] != '\t' && l.ptr[i] != '\r')
			return false;
	return true;
}

/* The next stanza of *b (blank lines around it skipped), without its final
 * newline; an empty blob at the end. */
static struct blob next_stanza(struct blob *b)
{
	struct blob st = { b->ptr, 0 }, line;

	while (b->len) {
		struct blob save = *b;

		blob_split(b, '\n', &line);
		if (!line_blank(line)) {
			*b = save;
			break;
		}
	}
	st.ptr = b->ptr;
	while (b->len) {
		blob_split(b, '\n', &line);
		if (line_blank(line))
			break;
		st.len = (size_t)(line.ptr + line.len - st.ptr);
	}
	return st;
}

static bool field_name_is(struct blob name, const char *s)
{
	return name.len == strlen(s) && strncasecmp(name.ptr, s, name.len) == 0;
}

/* Splits a stanza into its fields.  Returns false on a line that is neither
 * "Name: value" nor a continuation line. */
static bool stanza_parse(struct blob st, struct fields *f)
{
	struct blob line;

	f->n = 0;
	while (st.len) {
		const char *colon;
		struct field *cur;

		blob_split(&st, '\n', &line);
		if (line.len && line.ptr[0] == '#')
			continue;
		if (line.len && (line.ptr[0] == ' ' || line.ptr[0] == '\t')) {
			if (!f->n)
				return false;
			cur = &f->v[f->n - 1];
			cur->value.len = (size_t)(line.ptr + line.len - cur->value.ptr);
			continue;
		}
		colon = line.len ? memchr(line.ptr, ':', line.len) : NULL;
		if (!colon || colon == line.ptr)
			return false;
		if (f->n == f->cap) {
			f->cap = f->cap ? 2 * f->cap : 32;
			f->v = xrealloc(f->v, f->cap * sizeof *f->v);
		}
		cur = &f->v[f->n++];
		cur->name.ptr = line.ptr;
		cur->name.len = (size_t)(colon - line.ptr);
		cur->value.ptr = colon + 1;
		cur->value.len = (size_t)(line.ptr + line.len - cur->value.ptr);
		while (cur->value.len && (cur->value.ptr[0] == ' ' || cur->value.ptr[0] == '\t')) {
			cur->value.ptr++;
			cur->value.len--;
		}
	}
	for (size_t i = 0; i < f->n; i++) {
		struct blob *v = &f->v[i].value;

		while (v->len && (v->ptr[v->len - 1] == ' ' || v->ptr[v->len - 1] == '\t' ||
				  v->ptr[v->len - 1] == '\r' || v->ptr[v->len - 1] == '\n'))
			v->len--;
	}
	return true;
}

static const struct field *fields_get(const struct fields *f, const char *name)
{
	for (size_t i = 0; i < f->n; i++)
		if (field_name_is(f->v[i].name, name))
			return &f->v[i];
	return NULL;
}

static char *fields_dup(const struct fields *f, const char *name)
{
	const struct field *fl = fields_get(f, name);

	return fl ? blob_dup(fl->value) : NULL;
}

static bool name_ok(const char *s, bool arch)
{
	if (!s || !*s)
		return false;
	if (!arch && !((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		       (*s >= '0' && *s <= '9')))
		return false;
	for (; *s; s++) {
		char c = *s;

		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')
			continue;
		if (!arch && ((c >= 'A' && c <= 'Z') || c == '+' || c == '.' || c == '_'))
			continue;
		return false;
	}
	return true;
}

/* ---- paths ---- */

/* Length of the first component of path when it is one of merged_dirs. */
static size_t merged_top(const char *path)
{
	size_t n = strcspn(path, "/");

	for (int i = 0; merged_dirs[i]; i++)
		if (strlen(merged_dirs[i]) == n && !strncmp(path, merged_dirs[i], n))
			return n;
	return 0;
}


/* ---- a set of strings (the paths already listed) ---- */

struct strset {
	char **slot;
	size_t cap, n;
};

static size_t str_hash(const char *s)
{
	size_t h = 1469598103934665603ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

/* Adds s; false when it was there already. */
static bool strset_add(struct strset *set, const char *s)
{
	size_t i;

	if (2 * (set->n + 1) > set->cap) {
		struct strset big = { NULL, set->cap ? 2 * set->cap : 256, 0 };

		big.slot = xcalloc(big.cap, sizeof *big.slot);
		for (i = 0; i < set->cap; i++) {
			if (set->slot[i]) {
				size_t j = str_hash(set->slot[i]) & (big.cap - 1);

				while (big.slot[j])
					j = (j + 1) & (big.cap - 1);
				big.slot[j] = set->slot[i];
			}
		}
		free(set->slot);
		set->slot = big.slot;
		set->cap = big.cap;
	}
	for (i = str_hash(s) & (set->cap - 1); set->slot[i]; i = (i + 1) & (set->cap - 1))
		if (!strcmp(set->slot[i], s))
			return false;
	set->slot[i] = xstrdup(s);
	set->n++;
	return true;
}

static void strset_free(struct strset *set)
{
	for (size_t i = 0; i < set->cap; i++)
		free(set->slot[i]);
	free(set->slot);
	memset(set, 0, sizeof *set);
}

/* ---- unpacking ---- */

struct unpack {
	struct pkgimg_ctx *ctx;
	const char *thing;		/* basename of the .deb, for messages */
	int rootfd;
	bool merged_usr;

	struct sbuf member[N_INFO];
	bool have[N_INFO];
	struct sbuf control_raw;
	bool have_control;
	struct blob stanza;		/* inside control_raw */
	struct fields fields;
	struct strv conffiles;		/* "/etc/x" */

	struct sbuf list;		/* the .list file */
	struct strset listed;
	bool md5_compute;
	struct sbuf md5sums;		/* computed when the package has none */
	struct strv md5_path, md5_hex;	/* for hard links to hashed files */

	struct sbuf tmp;
	struct extract_opts xo;		/* data.tar's policy (deb_xopts) */
	struct extract x;		/* its walk; x.limit: arc_unpack_limit, 0 until known */
};

static int nested_open(struct unpack *u, struct arc_member *m, const char *member,
		       struct archive **out)
{
	struct archive *in = archive_read_new();
	int r = 0;

	if (!in)
		return pkgimg_err(u->ctx, -ENOMEM, "%s: [read] %s: out of memory", u->thing, member);
	archive_read_support_filter_all(in);
	archive_read_support_format_tar(in);
	if (archive_read_open(in, m, NULL, arc_member_read, NULL) != ARCHIVE_OK) {
		r = pkgimg_err(u->ctx, -PKGIMG_E_ARCHIVE, "%s: [read] %s: %s", u->thing, member,
			       archive_error_string(in));
		archive_read_free(in);
		goto out;
	}
	*out = in;
out:
	return r;
}

static bool is_conffile(struct unpack *u, const char *ship)
{
	for (size_t i = 0; i < u->conffiles.n; i++)
		if (!strcmp(u->conffiles.v[i] + 1, ship))
			return true;
	return false;
}

/* Where the shipped path `ship` is written in the layer: under usr/ for
 * merged /usr (unless keep_top), with ".dpkg-new" for a conffile. */
static void disk_path(struct unpack *u, const char *ship, bool keep_top, bool conff,
		      struct sbuf *out)
{
	sbuf_reset(out);
	if (u->merged_usr && !keep_top && merged_top(ship))
		sbuf_adds(out, "usr/");
	sbuf_adds(out, ship);
	if (conff)
		sbuf_adds(out, ".dpkg-new");
}


/* A path from the package (a member's name, a link's target, a conffile):
 * fs_path_norm's rules, and a missing or empty one refused ("./" is the
 * package's root, "" nothing).  0 or -PKGIMG_E_UNSAFE with *why set. */
static int deb_path_norm(const char *raw, struct sbuf *out, const char **why)
{
	if (!raw || !*raw) {
		*why = "empty path";
		return -PKGIMG_E_UNSAFE;
	}
	return fs_path_norm(raw, false, out, why) ? 0 : -PKGIMG_E_UNSAFE;
}

static void list_add(struct unpack *u, const char *ship)
{
	sbuf_reset(&u->tmp);
	sbuf_addc(&u->tmp, '/');
	sbuf_adds(&u->tmp, ship);
	if (strset_add(&u->listed, u->tmp.buf)) {
		sbuf_add(&u->list, u->tmp.buf, u->tmp.len);
		sbuf_addc(&u->list, '\n');
	}
}

static int deb_too_big(void *arg, uint64_t limit)
{
	struct unpack *u = arg;
	uint64_t declared = u->x.declared;

	if (declared)
		return pkgimg_err(u->ctx, -PKGIMG_E_ARCHIVE, "%s: [unpack] the package unpacks to "
				  "more than %llu bytes, but its control file declares Installed-Size: "
				  "%llu KiB; refused (a broken or hostile package).  The bound is "
				  "max(4 x Installed-Size, Installed-Size + PKGIMG_UNPACK_SLACK); set "
				  "PKGIMG_UNPACK_SLACK=SIZE (bytes, K/M/G) to allow more",
				  u->thing, (unsigned long long)limit,
				  (unsigned long long)(declared >> 10));
	return pkgimg_err(u->ctx, -PKGIMG_E_ARCHIVE, "%s: [unpack] the package unpacks to more "
			  "than %llu bytes (%d x its size + PKGIMG_UNPACK_SLACK; it declares no "
			  "Installed-Size); refused (a broken or hostile package); set "
			  "PKGIMG_UNPACK_SLACK=SIZE (bytes, K/M/G) to allow more", u->thing,
			  (unsigned long long)limit, ARC_RATIO);
}


/* extract_opts.place: where a shipped path is written (merged /usr, a
 * conffile's .dpkg-new), each entry listed in the .list on the way. */
static void deb_place(void *arg, const char *ship, struct archive_entry *e, bool link_target,
		      struct sbuf *disk)
{
	struct unpack *u = arg;
	const char *hl = archive_entry_hardlink(e);
	mode_t type = archive_entry_filetype(e);
	bool keep_top = false, conff;

	if (link_target) {
		conff = is_conffile(u, ship);
	} else {
		list_add(u, ship);
		/* The /bin -> usr/bin symlinks themselves stay where they are. */
		keep_top = !hl && type == AE_IFLNK && merged_top(ship) == strlen(ship);
		conff = (hl || type != AE_IFDIR) && is_conffile(u, ship);
	}
	disk_path(u, ship, keep_top, conff, disk);
}

/* extract_opts.file_done: md5sums, when the package ships none. */
static void deb_file_done(void *arg, const char *ship, const char *hex)
{
	struct unpack *u = arg;

	if (!hex)
		return;
	sbuf_addf(&u->md5sums, "%s  %s\n", hex, ship);
	strv_add(&u->md5_path, ship);
	strv_add(&u->md5_hex, hex);
}

/* extract_opts.link_done: a hard link has its target's md5. */
static void deb_link_done(void *arg, const char *ship, const char *target)
{
	struct unpack *u = arg;

	if (!u->md5_compute)
		return;
	for (size_t i = 0; i < u->md5_path.n; i++) {
		if (!strcmp(u->md5_path.v[i], target)) {
			sbuf_addf(&u->md5sums, "%s  %s\n", u->md5_hex.v[i], ship);
			break;
		}
	}
}

/* dpkg's way with data.tar (DEB_EXTRACT_FLAGS) and the hooks above. */
static void deb_xopts(struct unpack *u)
{
	u->xo = (struct extract_opts){
		.flags = DEB_EXTRACT_FLAGS,
		.phase = "unpack",
		.noun = "package",
		.fix = "",
		.hash = u->md5_compute ? "md5" : NULL,
		.arg = u,
		.place = deb_place,
		.file_done = deb_file_done,
		.link_done = deb_link_done,
		.too_big = deb_too_big,
	};
}

static int unpack_data(struct unpack *u, struct archive *outer, const char *member)
{
	struct arc_member *m = xmalloc(sizeof *m);
	struct archive *in = NULL;
	char *what = NULL;
	int r;

	m->outer = outer;
	r = nested_open(u, m, member, &in);
	if (r < 0)
		goto out;
	sbuf_adds(&u->list, "/.\n");
	strset_add(&u->listed, "/.");
	deb_xopts(u);
	what = xasprintf("'%s'", member);
	r = extract_all(&u->x, in, what);
out:
	if (in)
		archive_read_free(in);
	free(what);
	free(m);
	return r;
}

/* Reads the conffiles member: one absolute path a line, optionally after a
 * flag ("remove-on-upgrade /etc/x").  Conffiles flagged remove-on-upgrade are
 * not shipped and are left out of the list. */
static int parse_conffiles(struct unpack *u)
{
	struct blob b = { u->member[INFO_CONFFILES].buf, u->member[INFO_CONFFILES].len }, line;
	struct sbuf norm = SBUF_INIT;
	int r = 0;

	while (b.len) {
		struct blob path, flag = BLOB_NULL;
		const char *why;
		char *s;

		blob_split(&b, '\n', &line);
		line = blob_trim(line);
		if (!line.len)
			continue;
		path = line;
		if (line.ptr[0] != '/') {
			flag = blob_word(&path);
			path = blob_trim(path);
			if (!blob_eq_str(flag, "remove-on-upgrade")) {
				r = pkgimg_err(u->ctx, -PKGIMG_E_PARSE,
					       "%s: [control] conffiles: unknown flag '" BLOB_FMT "'",
					       u->thing, BLOB_ARG(flag));
				goto out;
			}
		}
		if (!path.len || path.ptr[0] != '/') {
			r = pkgimg_err(u->ctx, -PKGIMG_E_PARSE,
				       "%s: [control] conffiles: '" BLOB_FMT "' is not an absolute path",
				       u->thing, BLOB_ARG(path));
			goto out;
		}
		if (flag.len)
			continue;
		s = blob_dup(path);
		r = deb_path_norm(s + 1, &norm, &why);
		if (r == 0 && !norm.len) {
			r = -PKGIMG_E_UNSAFE;
			why = "it is the root";
		}
		if (r < 0) {
			r = pkgimg_err(u->ctx, r, "%s: [control] conffiles: refusing '%s': %s",
				       u->thing, s, why);
			free(s);
			goto out;
		}
		free(s);
		strv_push(&u->conffiles, xasprintf("/%s", norm.buf));
	}
out:
	sbuf_free(&norm);
	return r;
}

static int unpack_control(struct unpack *u, struct archive *outer, const char *member)
{
	struct arc_member *m = xmalloc(sizeof *m);
	struct archive *in = NULL;
	struct archive_entry *e;
	struct sbuf name = SBUF_INIT;
	int r, ar;

	m->outer = outer;
	r = nested_open(u, m, member, &in);
	if (r < 0)
		goto out;
	while ((ar = archive_read_next_header(in, &e)) == ARCHIVE_OK || ar == ARCHIVE_WARN) {
		const char *why;
		struct sbuf *dst = NULL;

		if (archive_entry_filetype(e) != AE_IFREG || archive_entry_hardlink(e))
			continue;
		if (deb_path_norm(archive_entry_pathname(e), &name, &why) < 0)
			continue;
		if (!strcmp(name.buf, "control")) {
			dst = &u->control_raw;
			u->have_control = true;
		}
		for (size_t i = 0; i < N_INFO && !dst; i++) {
			if (!strcmp(name.buf, info_members[i].name)) {
				dst = &u->member[i];
				u->have[i] = true;
			}
		}
		if (!dst)
			continue;
		r = arc_read_small(u->ctx, u->thing, "read", in, name.buf, DEB_MEMBER_MAX,
				   "the .deb is corrupt, download it again", dst);
		if (r < 0)
			goto out;
	}
	if (ar != ARCHIVE_EOF) {
		r = pkgimg_err(u->ctx, -PKGIMG_E_ARCHIVE, "%s: [read] %s: %s", u->thing, member,
			       archive_error_string(in));
		goto out;
	}
	if (!u->have_control) {
		r = pkgimg_err(u->ctx, -PKGIMG_E_ARCHIVE, "%s: [control] %s has no control file",
			       u->thing, member);
		goto out;
	}
	{
		struct blob b = { u->control_raw.buf, u->control_raw.len };

		u->stanza = next_stanza(&b);
	}
	if (!u->stanza.len || !stanza_parse(u->stanza, &u->fields)) {
		r = pkgimg_err(u->ctx, -PKGIMG_E_PARSE, "%s: [control] the control file is malformed",
			       u->thing);
		goto out;
	}
	if (u->have[INFO_CONFFILES])
		r = parse_conffiles(u);
out:
	if (in)
		archive_read_free(in);
	sbuf_free(&name);
	free(m);
	return r;
}

/* Writes the control members dpkg keeps, the .list and (when the package has
 * none) a computed md5sums into var/lib/dpkg/info/<base>.<member>. */
static int write_info(struct unpack *u, const char *base)
{
	const char *dummy;
	int dirfd = -1, r;

	r = fs_open_parent(u->ctx, u->thing, "control", u->rootfd, DEB_INFO_DIR "/x", true, NULL,
			   &dirfd, &dummy);
	if (r < 0)
		goto out;
	for (size_t i = 0; i < N_INFO + 2 && r == 0; i++) {
		const char *suffix, *data;
		size_t len;
		mode_t mode = 0644;
		char *fn;

		if (i < N_INFO) {
			if (!u->have[i])
				continue;
			suffix = info_members[i].name;
			data = u->member[i].buf;
			len = u->member[i].len;
			mode = info_members[i].mode;
		} else if (i == N_INFO) {
			if (u->have[INFO_MD5SUMS] || !u->md5sums.len)
				continue;
			suffix = "md5sums";
			data = u->md5sums.buf;
			len = u->md5sums.len;
		} else {
			suffix = "list";
			data = u->list.buf;
			len = u->list.len;
		}
		fn = xasprintf("%s.%s", base, suffix);
		r = fs_write_file(u->ctx, dirfd, fn, data, len, mode);
		if (r < 0) {
			r = pkgimg_err_wrap(u->ctx, r, "%s: [control] %s", u->thing, DEB_INFO_DIR);
		} else {
			/* generated, so of no time: mtime 0, as every layer's
			 * generated files (same bytes in every store) */
			static const struct timespec zero[2] = { { 0, 0 }, { 0, 0 } };

			if (utimensat(dirfd, fn, zero, AT_SYMLINK_NOFOLLOW) < 0)
				r = pkgimg_err(u->ctx, -errno, "%s: [control] %s/%s: %m", u->thing,
					       DEB_INFO_DIR, fn);
		}
		free(fn);
	}
out:
	if (dirfd >= 0)
		close(dirfd);
	return r;
}

static void unpack_free(struct unpack *u)
{
	for (size_t i = 0; i < N_INFO; i++)
		sbuf_free(&u->member[i]);
	sbuf_free(&u->control_raw);
	free(u->fields.v);
	strv_free(&u->conffiles);
	sbuf_free(&u->list);
	strset_free(&u->listed);
	sbuf_free(&u->md5sums);
	strv_free(&u->md5_path);
	strv_free(&u->md5_hex);
	extract_free(&u->x);
	sbuf_free(&u->tmp);
}

static int check_debian_binary(struct unpack *u, struct archive *outer)
{
	char buf[64];
	la_ssize_t n = archive_read_data(outer, buf, sizeof buf - 1);

	if (n < 0)
		return pkgimg_err(u->ctx, -PKGIMG_E_ARCHIVE, "%s: [read] debian-binary: %s",
				  u->thing, archive_error_string(outer));
	buf[n] = 0;
	buf[strcspn(buf, "\n")] = 0;
	if (strncmp(buf, "2.", 2))
		return pkgimg_err(u->ctx, -PKGIMG_E_ARCHIVE,
				  "%s: [read] unsupported .deb format version '%s' (expected 2.x)",
				  u->thing, buf);
	return 0;
}

/* Fills out from the parsed control stanza. */
/* A debinst_pkg from a parsed control stanza and its conffiles. */
static int pkg_from_fields(struct pkgimg_ctx *ctx, const char *thing, const struct fields *f,
			   struct blob stanza, char *const *conffiles, size_t nconf,
			   struct debinst_pkg *p)
{
	char *ma = NULL, *isz = NULL;
	int r = 0;

	memset(p, 0, sizeof *p);
	p->name = fields_dup(f, "Package");
	p->version = fields_dup(f, "Version");
	p->arch = fields_dup(f, "Architecture");
	if (!name_ok(p->name, false) || !name_ok(p->arch, true) || !p->version ||
	    !*p->version || strpbrk(p->version, " \t\n")) {
		r = pkgimg_err(ctx, -PKGIMG_E_PARSE,
			       "%s: [control] missing or invalid %s field",
			       thing, !name_ok(p->name, false) ? "Package" :
			       !name_ok(p->arch, true) ? "Architecture" : "Version");
		goto out;
	}
	ma = fields_dup(f, "Multi-Arch");
	p->multiarch_same = ma && !strcmp(ma, "same");
	isz = fields_dup(f, "Installed-Size");
	if (isz) {
		char *end;
		unsigned long long v = strtoull(isz, &end, 10);

		if (end != isz && !*end)
			p->installed_size = v;
	}
	p->control = blob_dup(stanza);
	p->conffiles = xcalloc(nconf + 1, sizeof *p->conffiles);
	for (size_t i = 0; i < nconf; i++)
		p->conffiles[i] = xstrdup(conffiles[i]);
out:
	if (r < 0)
		debinst_pkg_free(p);
	free(ma);
	free(isz);
	return r;
}

static int fill_pkg(struct unpack *u, struct debinst_pkg *p)
{
	return pkg_from_fields(u->ctx, u->thing, &u->fields, u->stanza, u->conffiles.v,
			       u->conffiles.n, p);
}

int debinst_pkg_save(struct pkgimg_ctx *ctx, int dirfd, const char *path,
		     const struct debinst_pkg *p)
{
	struct sbuf s = SBUF_INIT;
	int r;

	sbuf_addf(&s, "%s\n\n", p->control);
	for (char **c = p->conffiles; c && *c; c++)
		sbuf_addf(&s, "%s\n", *c);
	r = fs_write_file(ctx, dirfd, path, s.buf, s.len, 0644);
	sbuf_free(&s);
	return r;
}

int debinst_pkg_load(struct pkgimg_ctx *ctx, int dirfd, const char *path, const char *thing,
		     struct debinst_pkg *out)
{
	struct sbuf s = SBUF_INIT;
	struct fields f = { 0 };
	struct strv conf = { 0 };
	struct blob all, stanza, line;
	const char *sep;
	int r;

	r = fs_read_file(ctx, dirfd, path, &s);
	if (r < 0)
		goto out;
	sep = s.len ? memmem(s.buf, s.len, "\n\n", 2) : NULL;
	if (!sep) {
		r = pkgimg_err(ctx, -PKGIMG_E_PARSE, "%s: [unpack] %s is damaged; remove it",
			       thing, path);
		goto out;
	}
	stanza = (struct blob){ s.buf, (size_t)(sep - s.buf) };
	all = (struct blob){ sep + 2, s.len - (size_t)(sep + 2 - s.buf) };
	while (all.len) {
		blob_split(&all, '\n', &line);
		if (line.len)
			strv_push(&conf, blob_dup(line));
	}
	if (!stanza_parse(stanza, &f)) {
		r = pkgimg_err(ctx, -PKGIMG_E_PARSE, "%s: [unpack] %s is damaged; remove it",
			       thing, path);
		goto out;
	}
	r = pkg_from_fields(ctx, thing, &f, stanza, conf.v, conf.n, out);
out:
	free(f.v);
	strv_free(&conf);
	sbuf_free(&s);
	return r;
}

int debinst_unpack(struct pkgimg_ctx *ctx, int rootfd, const char *deb_path,
		   int merged_usr, struct debinst_pkg *out)
{
	return debinst_unpack_blob(ctx, rootfd, deb_path, NULL, merged_usr, out);
}

int debinst_unpack_blob(struct pkgimg_ctx *ctx, int rootfd, const char *deb_path,
			const char *sha256, int merged_usr, struct debinst_pkg *out)
{
	struct unpack *u = xcalloc(1, sizeof *u);
	struct debinst_pkg p;
	struct archive *outer;
	struct arc_blob *blob = NULL;
	struct archive_entry *e;
	const char *slash = strrchr(deb_path, '/');
	enum { WANT_BINARY, WANT_CONTROL, WANT_DATA, DONE } state = WANT_BINARY;
	char *base = NULL;
	int r = 0, ar;

	memset(&p, 0, sizeof p);
	u->ctx = ctx;
	u->thing = slash ? slash + 1 : deb_path;
	u->rootfd = rootfd;
	u->merged_usr = merged_usr;
	extract_init(&u->x, ctx, u->thing, rootfd, &u->xo);
	outer = archive_read_new();
	if (!outer) {
		r = pkgimg_err(ctx, -ENOMEM, "%s: [read] out of memory", u->thing);
		goto out;
	}
	archive_read_support_format_ar(outer);
	r = arc_blob_open(ctx, u->thing, "read", outer, deb_path, sha256, 0, &blob);
	if (r < 0)
		goto out;
	while (state != DONE &&
	       ((ar = archive_read_next_header(outer, &e)) == ARCHIVE_OK || ar == ARCHIVE_WARN)) {
		const char *name = archive_entry_pathname(e);

		if (!name)
			name = "";
		if (state == WANT_BINARY) {
			if (strcmp(name, "debian-binary")) {
				r = pkgimg_err(ctx, -PKGIMG_E_ARCHIVE,
					       "%s: [read] not a Debian package: first member is '%s', not 'debian-binary'",
					       u->thing, name);
				goto out;
			}
			r = check_debian_binary(u, outer);
			if (r < 0)
				goto out;
			state = WANT_CONTROL;
		} else if (name[0] == '_') {
			continue;	/* reserved for local use, dpkg skips them */
		} else if (state == WANT_CONTROL && !strncmp(name, "control.tar", 11)) {
			r = unpack_control(u, outer, name);
			if (r < 0)
				goto out;
			u->md5_compute = !u->have[INFO_MD5SUMS];
			r = fill_pkg(u, &p);
			if (r < 0)
				goto out;
			u->x.declared = p.installed_size << 10;
			u->x.limit = arc_unpack_limit(ctx, u->x.declared, (uint64_t)blob->size);
			state = WANT_DATA;
		} else if (state == WANT_DATA && !strncmp(name, "data.tar", 8)) {
			r = unpack_data(u, outer, name);
			if (r < 0)
				goto out;
			state = DONE;
		} else {
			r = pkgimg_err(ctx, -PKGIMG_E_ARCHIVE,
				       "%s: [read] unexpected member '%s' (expected %s)", u->thing, name,
				       state == WANT_CONTROL ? "control.tar" : "data.tar");
			goto out;
		}
	}
	if (state != DONE) {
		if (ar != ARCHIVE_EOF)
			r = pkgimg_err(ctx, -PKGIMG_E_ARCHIVE, "%s: [read] %s", u->thing,
				       archive_error_string(outer));
		else
			r = pkgimg_err(ctx, -PKGIMG_E_ARCHIVE, "%s: [read] truncated package: no %s member",
				       u->thing, state == WANT_DATA ? "data.tar" :
				       state == WANT_CONTROL ? "control.tar" : "debian-binary");
		goto out;
	}
	r = arc_blob_verify(ctx, u->thing, blob);
	if (r < 0)
		goto out;
	base = p.multiarch_same ? xasprintf("%s:%s", p.name, p.arch) : xstrdup(p.name);
	r = write_info(u, base);
	if (r < 0)
		goto out;
	r = extract_finish(&u->x);	/* after write_info: into listed directories */
	if (r < 0)
		goto out;
	*out = p;
	memset(&p, 0, sizeof p);
out:
	if (outer)
		archive_read_free(outer);
	arc_blob_close(blob);
	debinst_pkg_free(&p);
	free(base);
	unpack_free(u);
	free(u);
	return r;
}

void debinst_pkg_free(struct debinst_pkg *p)
{
	if (!p)
		return;
	free(p->name);
	free(p->arch);
	free(p->version);
	free(p->control);
	if (p->conffiles)
		for (char **c = p->conffiles; *c; c++)
			free(*c);
	free(p->conffiles);
	memset(p, 0, sizeof *p);
}

/* ---- the status file ---- */

struct st_entry {
	char *name, *arch;
	bool ma_same;
	bool dropped;
	char *text;		/* the stanza, no trailing newline */
	size_t idx;
};

static int st_cmp(const void *a, const void *b)
{
	const struct st_entry *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (!c)
		c = strcmp(x->arch, y->arch);
	if (!c)
		c = x->idx < y->idx ? -1 : x->idx > y->idx;
	return c;
}

static bool dep_field(const char *name)
{
	static const char *const deps[] = {
		"Replaces", "Provides", "Depends", "Pre-Depends", "Recommends",
		"Suggests", "Breaks", "Conflicts", "Enhances", NULL
	};

	for (int i = 0; deps[i]; i++)
		if (!strcmp(name, deps[i]))
			return true;
	return false;
}

static bool dep_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '-' || c == '.' || c == '_' || c == ':';
}

static void skip_ws(const char **p, const char *end)
{
	while (*p < end && (**p == ' ' || **p == '\t' || **p == '\n' || **p == '\r'))
		(*p)++;
}

/* Rewrites a dependency field the way dpkg writes it ("a (>= 1) | b, c");
 * false when it does not parse (the caller keeps it as it is). */
static bool dep_canon(struct blob v, struct sbuf *out)
{
	const char *p = v.ptr, *end = v.ptr + v.len;

	sbuf_reset(out);
	for (;;) {
		const char *s;

		skip_ws(&p, end);
		s = p;
		while (p < end && dep_name_char(*p))
			p++;
		if (p == s)
			return false;
		sbuf_add(out, s, (size_t)(p - s));
		skip_ws(&p, end);
		if (p < end && *p == '(') {
			const char *op;

			p++;
			skip_ws(&p, end);
			if (end - p >= 2 && (!strncmp(p, "<<", 2) || !strncmp(p, ">>", 2) ||
					     !strncmp(p, "<=", 2) || !strncmp(p, ">=", 2))) {
				op = p[0] == '<' ? (p[1] == '<' ? "<<" : "<=") :
						   (p[1] == '>' ? ">>" : ">=");
				p += 2;
			} else if (p < end && (*p == '<' || *p == '>' || *p == '=')) {
				op = *p == '<' ? "<=" : *p == '>' ? ">=" : "=";
				p++;
			} else {
				return false;
			}
			skip_ws(&p, end);
			s = p;
			while (p < end && *p != ')' && *p != ' ' && *p != '\t' && *p != '\n')
				p++;
			if (p == s)
				return false;
			sbuf_addf(out, " (%s %.*s)", op, (int)(p - s), s);
			skip_ws(&p, end);
			if (p >= end || *p != ')')
				return false;
			p++;
			skip_ws(&p, end);
		}
		if (p == end)
			return true;
		if (*p == '|')
			sbuf_adds(out, " | ");
		else if (*p == ',')
			sbuf_adds(out, ", ");
		else
			return false;
		p++;
	}
}

static bool field_known(struct blob name)
{
	for (int i = 0; dpkg_fields[i]; i++)
		if (field_name_is(name, dpkg_fields[i]))
			return true;
	return false;
}

static void emit_field(struct sbuf *out, const char *name, struct blob value)
{
	sbuf_adds(out, name);
	sbuf_addc(out, ':');
	if (value.len && value.ptr[0] != '\n')
		sbuf_addc(out, ' ');
	sbuf_add(out, value.ptr, value.len);
	sbuf_addc(out, '\n');
}

/* Finds a conffile in the layer (as shipped or under usr/ for merged /usr),
 * moves "<path>.dpkg-new" into place, and gives the md5 of the result, or
 * "newconffile" when there is nothing to hash. */
static int conffile_install(struct pkgimg_ctx *ctx, int rootfd, const char *pkg,
			    const char *path, char *hex)
{
	char *alt = NULL, *newname = NULL;
	const char *rel = path + 1, *name;
	int dirfd = -1, fd = -1, r;
	struct hasher h;

	strcpy(hex, "newconffile");
	r = fs_open_parent(ctx, pkg, "status", rootfd, rel, false, NULL, &dirfd, &name);
	if (r == -PKGIMG_E_UNSAFE && merged_top(rel)) {
		alt = xasprintf("usr/%s", rel);
		r = fs_open_parent(ctx, pkg, "status", rootfd, alt, false, NULL, &dirfd, &name);
	}
	if (r == -ENOENT) {
		r = 0;
		goto out;
	}
	if (r < 0)
		goto out;
	newname = xasprintf("%s.dpkg-new", name);
	if (renameat(dirfd, newname, dirfd, name) < 0 && errno != ENOENT) {
		r = pkgimg_err(ctx, -errno, "%s: [status] cannot install the conffile '%s': %m",
			       pkg, path);
		goto out;
	}
	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		goto out;	/* not there, or a symlink: nothing to hash */
	if (hasher_init(&h, "md5") < 0) {
		r = pkgimg_err(ctx, -ENOSYS, "%s: [status] md5 is not available", pkg);
		goto out;
	}
	for (;;) {
		char buf[DEB_BUF];
		ssize_t n = read(fd, buf, sizeof buf);

		if (n == 0)
			break;
		if (n < 0) {
			r = pkgimg_err(ctx, -errno, "%s: [status] cannot read the conffile '%s': %m",
				       pkg, path);
			hasher_free(&h);
			goto out;
		}
		hasher_update(&h, buf, (size_t)n);
	}
	hasher_final_hex(&h, hex);
out:
	if (fd >= 0)
		close(fd);
	if (dirfd >= 0)
		close(dirfd);
	free(alt);
	free(newname);
	return r;
}

/* The version an upgrade replaces, as dpkg records it in the new entry:
 * the old entry's Version when it was configured ("install ok installed"),
 * else its own Config-Version; NULL when there is none. */
static char *old_config_version(const struct fields *old)
{
	const struct field *st = fields_get(old, "Status");
	size_t n;

	if (!st)
		return NULL;
	n = st->value.len;
	if (n >= 9 && !memcmp(st->value.ptr + n - 9, "installed", 9))
		return fields_dup(old, "Version");
	return fields_dup(old, "Config-Version");
}

/* The hash the old entry's Conffiles give `path` (" PATH HASH [flags]"
 * lines), into hex; false when it lists no such conffile. */
static bool old_conffile_hash(const struct fields *old, const char *path, char hex[HASH_HEX_MAX])
{
	const struct field *cf = fields_get(old, "Conffiles");
	struct blob b, line;
	size_t plen = strlen(path);

	if (!cf)
		return false;
	b = cf->value;
	while (b.len) {
		struct blob tok;

		blob_split(&b, '\n', &line);
		while (line.len && (line.ptr[0] == ' ' || line.ptr[0] == '\t')) {
			line.ptr++;
			line.len--;
		}
		if (line.len <= plen + 1 || memcmp(line.ptr, path, plen) || line.ptr[plen] != ' ')
			continue;
		line.ptr += plen + 1;
		line.len -= plen + 1;
		blob_split(&line, ' ', &tok);
		if (!tok.len || tok.len >= HASH_HEX_MAX)
			return false;
		memcpy(hex, tok.ptr, tok.len);
		hex[tok.len] = 0;
		return true;
	}
	return false;
}

/* The status entry of an unpacked package, fields in dpkg's order.  old:
 * the entry of the version it upgrades (the layers below), or an empty
 * blob: unpacked over it, the entry keeps what dpkg keeps from it, the
 * last configured version (Config-Version, which `dpkg --configure` hands
 * the postinst) and the hashes of the conffiles both versions have (so an
 * unchanged conffile takes the new version's content). */
static int status_stanza(struct pkgimg_ctx *ctx, int rootfd, const struct debinst_pkg *p,
			 const char *state, struct blob old, struct sbuf *out)
{
	struct fields f = { NULL, 0, 0 }, of = { NULL, 0, 0 };
	struct sbuf canon = SBUF_INIT;
	struct blob ctl;
	bool upgrade = old.len && !strcmp(state, "unpacked");
	int r = 0;

	if (upgrade && !stanza_parse(old, &of)) {
		r = pkgimg_err(ctx, -PKGIMG_E_PARSE, "%s: [status] the entry of the version below "
			       "is malformed", p->name);
		goto out;
	}
	ctl.ptr = p->control ? p->control : "";
	ctl.len = strlen(ctl.ptr);
	if (!stanza_parse(ctl, &f)) {
		r = pkgimg_err(ctx, -PKGIMG_E_PARSE, "%s: [status] the control stanza is malformed",
			       p->name);
		goto out;
	}
	for (int i = 0; dpkg_fields[i]; i++) {
		const char *fn = dpkg_fields[i];
		const struct field *fl;

		if (!strcmp(fn, "Package")) {
			sbuf_addf(out, "Package: %s\n", p->name);
			continue;
		}
		if (!strcmp(fn, "Status")) {
			sbuf_addf(out, "Status: install ok %s\n", state);
			continue;
		}
		if (!strcmp(fn, "Conffiles")) {
			if (!p->conffiles || !p->conffiles[0])
				continue;
			sbuf_adds(out, "Conffiles:\n");
			for (char **c = p->conffiles; *c; c++) {
				char hex[HASH_HEX_MAX];

				strcpy(hex, "newconffile");
				if (!strcmp(state, "installed")) {
					r = conffile_install(ctx, rootfd, p->name, *c, hex);
					if (r < 0)
						goto out;
				} else if (upgrade) {
					old_conffile_hash(&of, *c, hex);
				}
				sbuf_addf(out, " %s %s\n", *c, hex);
			}
			continue;
		}
		if (!strcmp(fn, "Config-Version")) {
			char *cv = upgrade ? old_config_version(&of) : NULL;

			if (cv && *cv)
				sbuf_addf(out, "Config-Version: %s\n", cv);
			free(cv);
			continue;
		}
		/* Only dpkg itself writes these. */
		if (!strcmp(fn, "Filename") ||
		    !strcmp(fn, "Size") || !strcmp(fn, "MD5sum") ||
		    !strcmp(fn, "MSDOS-Filename") || !strncmp(fn, "Triggers-", 9))
			continue;
		fl = fields_get(&f, fn);
		if (!fl || !fl->value.len)
			continue;
		if ((!strcmp(fn, "Essential") || !strcmp(fn, "Protected")) &&
		    !blob_eq_str(fl->value, "yes"))
			continue;
		if (!strcmp(fn, "Multi-Arch") && blob_eq_str(fl->value, "no"))
			continue;
		if (dep_field(fn) && dep_canon(fl->value, &canon))
			emit_field(out, fn, (struct blob){ canon.buf, canon.len });
		else
			emit_field(out, fn, fl->value);
	}
	for (size_t i = 0; i < f.n; i++) {
		char *name;

		if (field_known(f.v[i].name))
			continue;
		name = blob_dup(f.v[i].name);
		emit_field(out, name, f.v[i].value);
		free(name);
	}
	while (out->len && out->buf[out->len - 1] == '\n')
		out->buf[--out->len] = 0;
out:
	free(f.v);
	free(of.v);
	sbuf_free(&canon);
	return r;
}

char *debinst_upgraded_version(const char *parent_status, const struct debinst_pkg *p)
{
	struct blob b = BLOB_STR(parent_status ? parent_status : ""), st;
	struct fields f = { NULL, 0, 0 };
	char *out = NULL;

	while (!out && (st = next_stanza(&b)).len) {
		char *name, *arch, *ma;
		bool same;

		if (!stanza_parse(st, &f))
			continue;
		name = fields_dup(&f, "Package");
		arch = fields_dup(&f, "Architecture");
		ma = fields_dup(&f, "Multi-Arch");
		same = name && !strcmp(name, p->name) &&
		       !(ma && !strcmp(ma, "same") && p->multiarch_same && arch && p->arch &&
			 strcmp(arch, p->arch));
		if (same) {
			out = old_config_version(&f);
			if (!out)
				out = xstrdup("");	/* there, never configured */
		}
		free(name);
		free(arch);
		free(ma);
	}
	free(f.v);
	if (out && !*out) {
		free(out);
		out = NULL;
	}
	return out;
}

/* Creates an empty (or given) file when it is missing. */
static int ensure_file(struct pkgimg_ctx *ctx, int dirfd, const char *name, const char *data)
{
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	int r = 0;

	if (fd < 0)
		return errno == EEXIST ? 0 :
		       pkgimg_err(ctx, -errno, "dpkg database: [status] cannot create '%s': %m", name);
	r = fs_write_all(fd, data, strlen(data));
	if (r == 0 && fchmod(fd, 0644) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r < 0) {
		unlinkat(dirfd, name, 0);
		r = pkgimg_err(ctx, r, "dpkg database: [status] cannot write '%s': %s", name,
			       strerror(-r));
	}
	return r;
}

static int ensure_dir(struct pkgimg_ctx *ctx, int dirfd, const char *name)
{
	struct stat st;

	if (mkdirat(dirfd, name, 0755) == 0)
		return fchmodat(dirfd, name, 0755, 0) < 0 ?
		       pkgimg_err(ctx, -errno, "dpkg database: [status] cannot chmod '%s': %m", name) : 0;
	if (errno == EEXIST && fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISDIR(st.st_mode))
		return 0;
	return pkgimg_err(ctx, errno == EEXIST ? -ENOTDIR : -errno,
			  "dpkg database: [status] cannot create the directory '%s': %s", name,
			  strerror(errno == EEXIST ? ENOTDIR : errno));
}

int debinst_write_status(struct pkgimg_ctx *ctx, int rootfd, const char *parent_status,
			 struct debinst_pkg *pkgs, int n, const char *state, const char *arch)
{
	struct st_entry *ent = NULL;
	size_t nent = 0, cap = 0, count = 0, nparent;
	struct fields f = { NULL, 0, 0 };
	struct sbuf out = SBUF_INIT, text = SBUF_INIT;
	struct blob b = BLOB_STR(parent_status ? parent_status : ""), st;
	bool fresh = !blob_trim(b).len;
	const char *dummy;
	int dirfd = -1, infofd = -1, r = 0;

	if (!state || (strcmp(state, "unpacked") && strcmp(state, "installed"))) {
		r = pkgimg_err(ctx, -PKGIMG_E_USAGE,
			       "dpkg database: [status] invalid state '%s' (unpacked or installed)",
			       state ? state : "");
		goto out;
	}
	if (!arch)
		arch = ctx->arch;
	while ((st = next_stanza(&b)).len) {
		struct st_entry *x;
		char *ma;

		count++;
		if (!stanza_parse(st, &f) || !fields_get(&f, "Package")) {
			r = pkgimg_err(ctx, -PKGIMG_E_PARSE,
				       "dpkg database: [status] entry %zu of the parent status is malformed",
				       count);
			goto out;
		}
		if (nent == cap) {
			cap = cap ? 2 * cap : 256;
			ent = xrealloc(ent, cap * sizeof *ent);
		}
		x = &ent[nent];
		memset(x, 0, sizeof *x);
		x->idx = nent++;
		x->name = fields_dup(&f, "Package");
		x->arch = fields_dup(&f, "Architecture");
		if (!x->arch)
			x->arch = xstrdup("");
		ma = fields_dup(&f, "Multi-Arch");
		x->ma_same = ma && !strcmp(ma, "same");
		free(ma);
		x->text = blob_dup(st);
	}
	nparent = nent;
	for (int i = 0; i < n; i++) {
		struct debinst_pkg *p = &pkgs[i];
		struct st_entry *x;
		struct blob old = { "", 0 };

		/* dpkg keeps one instance of a name, several only when all
		 * of them are Multi-Arch: same (each of another arch). */
		for (size_t j = 0; j < nent; j++)
			if (!ent[j].dropped && !strcmp(ent[j].name, p->name) &&
			    !(ent[j].ma_same && p->multiarch_same && strcmp(ent[j].arch, p->arch))) {
				ent[j].dropped = true;
				if (j < nparent)
					old = (struct blob)BLOB_STR(ent[j].text);
			}
		sbuf_reset(&text);
		r = status_stanza(ctx, rootfd, p, state, old, &text);
		if (r < 0)
			goto out;
		if (nent == cap) {
			cap = cap ? 2 * cap : 256;
			ent = xrealloc(ent, cap * sizeof *ent);
		}
		x = &ent[nent];
		memset(x, 0, sizeof *x);
		x->idx = nent++;
		x->name = xstrdup(p->name);
		x->arch = xstrdup(p->arch ? p->arch : "");
		x->ma_same = p->multiarch_same;
		x->text = sbuf_detach(&text);
	}
	if (nent)
		qsort(ent, nent, sizeof *ent, st_cmp);
	for (size_t j = 0; j < nent; j++) {
		if (ent[j].dropped)
			continue;
		sbuf_adds(&out, ent[j].text);
		sbuf_adds(&out, "\n\n");
	}

	r = fs_open_parent(ctx, "dpkg database", "status", rootfd, DEB_INFO_DIR "/x", true, NULL,
			   &infofd, &dummy);
	if (r < 0)
		goto out;
	r = fs_open_parent(ctx, "dpkg database", "status", rootfd, "var/lib/dpkg/status", true,
			   NULL, &dirfd, &dummy);
	if (r < 0)
		goto out;
	r = fs_write_file(ctx, dirfd, "status", out.buf ? out.buf : "", out.len, 0644);
	if (r < 0) {
		r = pkgimg_err_wrap(ctx, r, "dpkg database: [status] var/lib/dpkg");
		goto out;
	}
	r = ensure_dir(ctx, dirfd, "triggers");
	if (r == 0)
		r = ensure_dir(ctx, dirfd, "updates");
	/* The layers below have their own; an empty file here would hide them.
	 * (available and statoverride: dpkg reads them when they are there
	 * and writes them only when it has something to say, so a tree it or
	 * mmdebstrap configures has none.) */
	if (r == 0 && fresh) {
		r = ensure_file(ctx, dirfd, "diversions", "");
		if (r == 0)
			r = ensure_file(ctx, infofd, "format", "1\n");
		if (r == 0 && arch && *arch) {
			char *a = xasprintf("%s\n", arch);

			r = ensure_file(ctx, dirfd, "arch", a);
			free(a);
		}
	}
out:
	if (dirfd >= 0)
		close(dirfd);
	if (infofd >= 0)
		close(infofd);
	for (size_t j = 0; j < nent; j++) {
		free(ent[j].name);
		free(ent[j].arch);
		free(ent[j].text);
	}
	free(ent);
	free(f.v);
	sbuf_free(&out);
	sbuf_free(&text);
	return r;
}

/* ---- merged /usr ---- */

int debinst_merged_usr_links(struct pkgimg_ctx *ctx, int rootfd)
{
	static const char *const dirs[] = { "usr", "usr/bin", "usr/sbin", "usr/lib", "usr/lib64", NULL };
	static const char *const links[][2] = {
		{ "bin", "usr/bin" }, { "sbin", "usr/sbin" }, { "lib", "usr/lib" }, { "lib64", "usr/lib64" },
	};
	int r = 0;

	for (int i = 0; dirs[i] && r == 0; i++) {
		const char *name;
		int dirfd;

		r = fs_open_parent(ctx, "merged /usr", "setup", rootfd, dirs[i], true, NULL, &dirfd,
				   &name);
		if (r < 0)
			break;
		r = ensure_dir(ctx, dirfd, name);
		close(dirfd);
	}
	for (size_t i = 0; i < sizeof links / sizeof links[0] && r == 0; i++) {
		char buf[64];
		ssize_t len;

		if (symlinkat(links[i][1], rootfd, links[i][0]) == 0)
			continue;
		if (errno != EEXIST) {
			r = pkgimg_err(ctx, -errno, "merged /usr: [setup] cannot create '%s' -> '%s': %m",
				       links[i][0], links[i][1]);
			break;
		}
		len = readlinkat(rootfd, links[i][0], buf, sizeof buf - 1);
		if (len >= 0) {
			buf[len] = 0;
			if (!strcmp(buf, links[i][1]) || (buf[0] == '/' && !strcmp(buf + 1, links[i][1])))
				continue;
		}
		r = pkgimg_err(ctx, -EEXIST,
			       "merged /usr: [setup] cannot create '%s' -> '%s': '%s' exists and is not that symlink",
			       links[i][0], links[i][1], links[i][0]);
	}
	return r;
}
