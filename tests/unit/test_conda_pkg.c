/* Unit tests of installers/conda_pkg.c on real packages and on packages
 * built here with libarchive's writers.
 *
 * Real packages (tests/fixtures/conda/, under $PKGIMG_SRC when set, else the
 * current directory, the repository root under `make check`): zlib 1.2.11
 * h7b6447c_3 of Anaconda's defaults in both formats (conda's own test data)
 * and _r-mutex 1.0.1 (noarch: generic, from mamba's test channel).  The
 * record written for zlib is compared, key by key and JSON type by JSON
 * type, with rattler's real record libzlib-1.2.13-h53f4e23_5.json.
 * Intentional differences with that record (it is rattler's, which leaves
 * out keys whose value is None or empty):
 *   - our record has package_tarball_full_path and requested_spec (null when
 *     not requested), which conda and micromamba write;
 *   - arch and platform are there because zlib 1.2.11's index.json has them
 *     (index.json's fields are copied as they are, as conda does);
 *   - the softlink entries of paths_data: this zlib's .tar.bz2 holds the
 *     two libz.so links as empty files (and its .conda as links with an
 *     empty target), so they are copied as files, as conda would.
 * Synthetic packages: a noarch: python package with an entry point, a
 * package with a binary and a text placeholder, an old package without
 * paths.json, and malicious or corrupt ones.  When python3 is on the host it
 * checks that the record's bytes are json.dumps(indent=2, sort_keys=True) and
 * runs the entry point script (with the host python, not installed into).
 * Prints "ok - NAME" / "not ok - NAME" (+ "# detail"); exits non-zero on a
 * failure.  CONDA_TEST_KEEP=1 keeps the scratch dir. */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/ctx.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/hash.h"
#include "core/str.h"
#include "installers/conda_pkg.h"

#include "tests/unit/check.h"

#define PH "/opt/anaconda1anaconda2anaconda3"
#define ZLIB_CONDA "defaults-zlib-packages_conda/linux-64/zlib-1.2.11-h7b6447c_3.conda"
#define ZLIB_BZ2 "defaults-zlib-packages_conda/linux-64/zlib-1.2.11-h7b6447c_3.tar.bz2"
#define RMUTEX "r-mutex-noarch-package_mamba/noarch/_r-mutex-1.0.1-anacondar_1.tar.bz2"
#define REAL_RECORD "conda-meta-records_rattler/libzlib-1.2.13-h53f4e23_5.json"

static char work[] = "/var/tmp/pkgimg-test-conda-XXXXXX";
static char warned[2048];
static bool have_python;

/* ---- helpers ---- */

static char *P(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *P(const char *fmt, ...)
{
	static char buf[16][1024];
	static int i;
	char rel[900];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rel, sizeof rel, fmt, ap);
	va_end(ap);
	i = (i + 1) % 16;
	snprintf(buf[i], sizeof buf[i], "%s/%s", work, rel);
	return buf[i];
}

static const char *fixture(const char *rel)
{
	static char buf[4][2048];
	static int i;
	const char *src = getenv("PKGIMG_SRC");

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof buf[i], "%s%stests/fixtures/conda/%s", src ? src : "",
		 src ? "/" : "", rel);
	return buf[i];
}

static void on_warn(void *arg, const char *msg)
{
	(void)arg;
	snprintf(warned, sizeof warned, "%s", msg);
}

static void ctx_new(struct pkgimg_ctx *ctx)
{
	pkgimg_ctx_init(ctx);
	ctx->warn = on_warn;
	warned[0] = 0;
}

static char *slurp_n(const char *path, size_t *len)
{
	struct sbuf s = SBUF_INIT;

	if (fs_read_file(NULL, AT_FDCWD, path, &s) < 0)
		return NULL;
	if (len)
		*len = s.len;
	return sbuf_detach(&s);
}

static char *slurp(const char *path)
{
	return slurp_n(path, NULL);
}

static void spew(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (f) {
		fwrite(data, 1, len, f);
		fclose(f);
	}
}

static int mode_of(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0 ? (int)(st.st_mode & 07777) : -1;
}

static bool exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

static bool is_reg(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int open_root(const char *path)
{
	mkdir(path, 0755);
	return open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

static void file_sha(const char *path, char hex[65])
{
	size_t n = 0;
	char *d = slurp_n(path, &n);

	hash_sha256_hex(d ? d : "", d ? n : 0, hex);
	free(d);
}

static int name_cmp(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

/* One line per entry below dir: path, type, mode, size, sha256 or link
 * target (and mtime when asked), sorted by path. */
static void tree_sig(const char *dir, const char *rel, bool mtimes, struct sbuf *out)
{
	struct dirent **list;
	int n = scandir(dir, &list, NULL, name_cmp);

	for (int i = 0; i < n; i++) {
		const char *nm = list[i]->d_name;
		char path[2048], sub[1024];
		struct stat st;

		if (!strcmp(nm, ".") || !strcmp(nm, "..")) {
			free(list[i]);
			continue;
		}
		snprintf(path, sizeof path, "%s/%s", dir, nm);
		snprintf(sub, sizeof sub, "%s%s%s", rel, *rel ? "/" : "", nm);
		lstat(path, &st);
		sbuf_addf(out, "%s %o", sub, (unsigned)st.st_mode);
		if (mtimes)
			sbuf_addf(out, " t=%lld", (long long)st.st_mtime);
		if (S_ISLNK(st.st_mode)) {
			char t[1024];
			ssize_t k = readlink(path, t, sizeof t - 1);

			t[k > 0 ? k : 0] = 0;
			sbuf_addf(out, " -> %s\n", t);
		} else if (S_ISREG(st.st_mode)) {
			char hex[65];

			file_sha(path, hex);
			sbuf_addf(out, " %lld %s\n", (long long)st.st_size, hex);
		} else {
			sbuf_addc(out, '\n');
			if (S_ISDIR(st.st_mode))
				tree_sig(path, sub, mtimes, out);
		}
		free(list[i]);
	}
	if (n >= 0)
		free(list);
}

static size_t count_entries(const char *dir)
{
	struct sbuf s = SBUF_INIT;
	size_t n = 0;

	tree_sig(dir, "", false, &s);
	for (size_t i = 0; i < s.len; i++)
		n += s.buf[i] == '\n';
	sbuf_free(&s);
	return n;
}

/* Whether any file below dir contains needle. */
static bool tree_contains(const char *dir, const char *needle)
{
	struct dirent **list;
	int n = scandir(dir, &list, NULL, name_cmp);
	bool found = false;

	for (int i = 0; i < n; i++) {
		const char *nm = list[i]->d_name;
		char path[2048];
		struct stat st;

		if (strcmp(nm, ".") && strcmp(nm, "..")) {
			snprintf(path, sizeof path, "%s/%s", dir, nm);
			lstat(path, &st);
			if (S_ISDIR(st.st_mode)) {
				found |= tree_contains(path, needle);
			} else if (S_ISREG(st.st_mode)) {
				size_t len = 0;
				char *d = slurp_n(path, &len);

				if (d && memmem(d, len, needle, strlen(needle))) {
					printf("# '%s' found in %s\n", needle, path);
					found = true;
				}
				free(d);
			}
		}
		free(list[i]);
	}
	if (n >= 0)
		free(list);
	return found;
}

static bool no_tmp_left(const char *dir)
{
	struct dirent **list;
	int n = scandir(dir, &list, NULL, name_cmp);
	bool ok = true;

	for (int i = 0; i < n; i++) {
		if (strstr(list[i]->d_name, ".tmp-")) {
			printf("# left behind: %s/%s\n", dir, list[i]->d_name);
			ok = false;
		}
		free(list[i]);
	}
	if (n >= 0)
		free(list);
	return ok;
}

/* Runs argv, stdout into out; returns the exit status (or -1). */
static int run(char *const argv[], const char *env_kv, struct sbuf *out)
{
	int pfd[2], status;
	pid_t pid;
	char buf[4096];
	ssize_t n;

	if (pipe(pfd) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(pfd[1], 1);
		close(pfd[0]);
		close(pfd[1]);
		if (env_kv)
			putenv((char *)env_kv);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(pfd[1]);
	while ((n = read(pfd[0], buf, sizeof buf)) > 0)
		if (out)
			sbuf_add(out, buf, (size_t)n);
	close(pfd[0]);
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/* Whether the file's bytes are what conda's json.dumps(indent=2,
 * sort_keys=True) writes for its own content. */
static bool python_canonical(const char *path)
{
	char *argv[] = {
		"python3", "-c",
		"import json,sys\n"
		"d=open(sys.argv[1],'rb').read().decode()\n"
		"sys.exit(0 if json.dumps(json.loads(d), indent=2, sort_keys=True) == d else 1)\n",
		(char *)path, NULL
	};

	return run(argv, NULL, NULL) == 0;
}

/* ---- building packages ---- */

struct ent {
	const char *name;
	char type;		/* 'f' file, 'l' symlink, 'd' dir, 'h' hard link */
	const char *data;	/* content or target */
	size_t len;		/* 0: strlen(data) */
	int mode;
};

static void put_entry(struct archive *a, const struct ent *e)
{
	struct archive_entry *ae = archive_entry_new();
	size_t len = e->data ? (e->len ? e->len : strlen(e->data)) : 0;

	archive_entry_set_pathname(ae, e->name);
	archive_entry_set_mtime(ae, 1600000000, 0);
	switch (e->type) {
	case 'l':
		archive_entry_set_filetype(ae, AE_IFLNK);
		archive_entry_set_perm(ae, 0777);
		archive_entry_set_symlink(ae, e->data);
		len = 0;
		break;
	case 'd':
		archive_entry_set_filetype(ae, AE_IFDIR);
		archive_entry_set_perm(ae, 0755);
		len = 0;
		break;
	case 'h':
		archive_entry_set_filetype(ae, AE_IFREG);
		archive_entry_set_perm(ae, 0644);
		archive_entry_set_hardlink(ae, e->data);
		len = 0;
		break;
	default:
		archive_entry_set_filetype(ae, AE_IFREG);
		archive_entry_set_perm(ae, e->mode ? e->mode : 0644);
		archive_entry_set_size(ae, (la_int64_t)len);
	}
	archive_write_header(a, ae);
	if (len)
		archive_write_data(a, e->data, len);
	archive_entry_free(ae);
}

/* A tar of the entries for which want(name) holds; zstd or bzip2. */
static char *make_tar(const struct ent *ents, size_t n, bool zstd, int want_info, size_t *len)
{
	size_t cap = 8 << 20, used = 0;
	char *buf = malloc(cap);
	struct archive *a = archive_write_new();

	archive_write_set_format_pax_restricted(a);
	if (zstd)
		archive_write_add_filter_zstd(a);
	else
		archive_write_add_filter_bzip2(a);
	archive_write_open_memory(a, buf, cap, &used);
	for (size_t i = 0; i < n; i++) {
		bool info = !strncmp(ents[i].name, "info/", 5);

		if (want_info < 0 || info == (want_info == 1))
			put_entry(a, &ents[i]);
	}
	archive_write_close(a);
	archive_write_free(a);
	*len = used;
	return buf;
}

static void write_tarbz2(const char *path, const struct ent *ents, size_t n)
{
	size_t len;
	char *t = make_tar(ents, n, false, -1, &len);

	spew(path, t, len);
	free(t);
}

static void zip_add(struct archive *z, const char *name, const char *data, size_t len)
{
	struct archive_entry *ae = archive_entry_new();

	archive_entry_set_pathname(ae, name);
	archive_entry_set_filetype(ae, AE_IFREG);
	archive_entry_set_perm(ae, 0644);
	archive_entry_set_size(ae, (la_int64_t)len);
	archive_entry_set_mtime(ae, 1600000000, 0);
	archive_write_header(z, ae);
	archive_write_data(z, data, len);
	archive_entry_free(ae);
}

/* A .conda: metadata.json, info-<stem>.tar.zst, pkg-<stem>.tar.zst. */
static void write_conda(const char *path, const char *stem, const struct ent *ents, size_t n)
{
	struct archive *z = archive_write_new();
	size_t il, pl;
	char *info = make_tar(ents, n, true, 1, &il), *pkg = make_tar(ents, n, true, 0, &pl);
	char name[512];

	archive_write_set_format_zip(z);
	archive_write_zip_set_compression_store(z);
	archive_write_open_filename(z, path);
	zip_add(z, "metadata.json", "{\"conda_pkg_format_version\": 2}", 31);
	snprintf(name, sizeof name, "pkg-%s.tar.zst", stem);
	zip_add(z, name, pkg, pl);
	snprintf(name, sizeof name, "info-%s.tar.zst", stem);
	zip_add(z, name, info, il);
	archive_write_close(z);
	archive_write_free(z);
	free(info);
	free(pkg);
}

static char *sha_of(const char *data, size_t len)
{
	static char hex[8][65];
	static int i;

	i = (i + 1) % 8;
	hash_sha256_hex(data, len, hex[i]);
	return hex[i];
}

/* ---- JSON comparisons ---- */

static json_t *load_json(const char *path)
{
	return json_load_file(path, 0, NULL);
}

static const char *type_name(json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "object";
	case JSON_ARRAY: return "array";
	case JSON_STRING: return "string";
	case JSON_INTEGER: return "integer";
	case JSON_REAL: return "real";
	case JSON_TRUE: case JSON_FALSE: return "bool";
	default: return "null";
	}
}

/* Every key of want is in got with the same JSON type; keys of got not in
 * want must be listed in extra (NULL-terminated). */
static bool same_shape(json_t *got, json_t *want, const char *const *extra, struct sbuf *why)
{
	const char *k;
	json_t *v;
	bool ok = true;

	json_object_foreach(want, k, v) {
		json_t *g = json_object_get(got, k);

		if (!g) {
			sbuf_addf(why, "missing '%s'; ", k);
			ok = false;
		} else if (strcmp(type_name(g), type_name(v))) {
			sbuf_addf(why, "'%s' is %s, not %s; ", k, type_name(g), type_name(v));
			ok = false;
		}
	}
	json_object_foreach(got, k, v) {
		bool listed = json_object_get(want, k) != NULL;

		for (size_t i = 0; extra && extra[i] && !listed; i++)
			listed = !strcmp(extra[i], k);
		if (!listed) {
			sbuf_addf(why, "unexpected '%s'; ", k);
			ok = false;
		}
	}
	return ok;
}

static json_t *path_entry(json_t *rec, const char *path)
{
	json_t *paths = json_object_get(json_object_get(rec, "paths_data"), "paths"), *it;
	size_t i;

	json_array_foreach(paths, i, it)
		if (!strcmp(json_string_value(json_object_get(it, "_path")), path))
			return it;
	return NULL;
}

static const char *jstr(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "";
}

static bool files_are(json_t *rec, const char *const *want, struct sbuf *why)
{
	json_t *files = json_object_get(rec, "files");
	size_t n = 0;

	while (want[n])
		n++;
	if (json_array_size(files) != n) {
		sbuf_addf(why, "%zu files, want %zu", json_array_size(files), n);
		return false;
	}
	for (size_t i = 0; i < n; i++)
		if (strcmp(json_string_value(json_array_get(files, i)), want[i])) {
			sbuf_addf(why, "files[%zu] = %s, want %s", i,
				  json_string_value(json_array_get(files, i)), want[i]);
			return false;
		}
	return true;
}

/* ---- the tests ---- */

static const struct conda_pkg_info zlib_info = {
	.channel = "https://conda.anaconda.org/conda-forge/",
	.url = "https://conda.anaconda.org/conda-forge/linux-64/zlib-1.2.11-h7b6447c_3.conda",
	.fn = "zlib-1.2.11-h7b6447c_3.conda",
	.md5 = "cb23839f06da92ec92c6d2d2d5e0cb4a",
	.sha256 = "0000000000000000000000000000000000000000000000000000000000000000",
	.size = 105917,
	.requested_spec = "zlib",
};

static const char *const zlib_files[] = {
	"include/zconf.h", "include/zlib.h", "lib/libz.a", "lib/libz.so", "lib/libz.so.1",
	"lib/libz.so.1.2.11", "lib/pkgconfig/zlib.pc", NULL
};

static void test_extract_zlib(void)
{
	struct pkgimg_ctx ctx;
	struct sbuf a = SBUF_INIT, b = SBUF_INIT;
	int r;

	ctx_new(&ctx);
	r = conda_pkg_extract(&ctx, fixture(ZLIB_CONDA), NULL, P("x-conda"));
	check(r == 0, "extract: zlib .conda", "rc %d: %s", r, ctx.errmsg);
	check(strstr(warned, "empty target") != NULL,
	      "extract: the .conda's empty-target symlinks are reported", "warning [%s]", warned);
	ctx_new(&ctx);
	r = conda_pkg_extract(&ctx, fixture(ZLIB_BZ2), NULL, P("x-bz2"));
	check(r == 0, "extract: zlib .tar.bz2", "rc %d: %s", r, ctx.errmsg);
	tree_sig(P("x-conda"), "", false, &a);
	tree_sig(P("x-bz2"), "", false, &b);
	check(a.len > 0 && a.len == b.len && !memcmp(a.buf, b.buf, a.len),
	      "extract: .conda and .tar.bz2 give the same tree", ".conda:\n%s\n.tar.bz2:\n%s",
	      a.buf ? a.buf : "", b.buf ? b.buf : "");
	check(is_reg(P("x-conda/info/index.json")) && is_reg(P("x-conda/info/paths.json")) &&
	      is_reg(P("x-conda/lib/libz.so.1.2.11")),
	      "extract: info/ and pkg files are both there", "tree:\n%s", a.buf ? a.buf : "");
	check(mode_of(P("x-conda/lib/libz.so.1.2.11")) == 0644 &&
	      mode_of(P("x-conda/info/recipe/bld.bat")) == 0755 &&
	      mode_of(P("x-conda/include")) == 0755,
	      "extract: modes normalised to 0644/0755, exec bit kept", "%o %o %o",
	      mode_of(P("x-conda/lib/libz.so.1.2.11")), mode_of(P("x-conda/info/recipe/bld.bat")),
	      mode_of(P("x-conda/include")));
	check(no_tmp_left(work), "extract: no temporary directory left", "-");
	mkdir(P("x-busy"), 0755);
	spew(P("x-busy/f"), "x", 1);
	ctx_new(&ctx);
	r = conda_pkg_extract(&ctx, fixture(ZLIB_BZ2), NULL, P("x-busy"));
	check(r == -EEXIST && no_tmp_left(work) && exists(P("x-busy/f")),
	      "extract: into a non-empty directory is -EEXIST and leaves it", "rc %d: %s", r,
	      ctx.errmsg);
	sbuf_free(&a);
	sbuf_free(&b);
}

static void test_link_zlib(void)
{
	const struct conda_link_opts o = { "/opt/conda", NULL, 0 };
	const char *extra[] = { "arch", "platform", "package_tarball_full_path", "requested_spec", NULL };
	struct conda_linked l = { 0 }, l2 = { 0 }, l3 = { 0 };
	struct pkgimg_ctx ctx;
	struct sbuf why = SBUF_INIT, t1 = SBUF_INIT, t2 = SBUF_INIT;
	json_t *rec = NULL, *real = NULL, *pj = NULL;
	char *pc, *rec1 = NULL, *rec2 = NULL, hex[65];
	int rootfd = open_root(P("r1")), rootfd2 = open_root(P("r2")), rootfd3 = open_root(P("r3"));
	int r;

	ctx_new(&ctx);
	r = conda_pkg_link(&ctx, P("x-conda"), rootfd, &o, &zlib_info, &l);
	check(r == 0, "link zlib: rc 0", "rc %d: %s", r, ctx.errmsg);
	pc = slurp(P("r1/opt/conda/lib/pkgconfig/zlib.pc"));
	check(pc && !strncmp(pc, "prefix=/opt/conda\n", 18),
	      "link zlib: lib/pkgconfig/zlib.pc says prefix=/opt/conda", "[%s]", pc ? pc : "(missing)");
	free(pc);
	check(!tree_contains(P("r1/opt/conda/include"), "anaconda1anaconda2anaconda3") &&
	      !tree_contains(P("r1/opt/conda/lib"), "anaconda1anaconda2anaconda3"),
	      "link zlib: no placeholder left in any installed file (conda-meta records it)", "-");
	check(mode_of(P("r1/opt/conda/lib/libz.so.1.2.11")) == 0644 &&
	      mode_of(P("r1/opt/conda/lib")) == 0755 && is_reg(P("r1/opt/conda/include/zlib.h")),
	      "link zlib: files copied with their modes, directories 0755", "%o",
	      mode_of(P("r1/opt/conda/lib/libz.so.1.2.11")));
	{
		struct stat a, b;

		check(stat(P("r1/opt/conda/lib/libz.so.1.2.11"), &a) == 0 &&
		      stat(P("x-conda/lib/libz.so.1.2.11"), &b) == 0 && a.st_ino != b.st_ino &&
		      a.st_nlink == 1 && a.st_mtime == 0,
		      "link zlib: hardlink entries are copies (own inode), mtime 0", "-");
		check(stat(P("r1/opt"), &a) == 0 && a.st_mtime == 0 &&
		      stat(P("r1/opt/conda/conda-meta"), &b) == 0 && b.st_mtime == 0,
		      "link zlib: created directories get the mtime", "%lld %lld",
		      (long long)a.st_mtime, (long long)b.st_mtime);
	}
	check(l.record && !strcmp(l.record, "opt/conda/conda-meta/zlib-1.2.11-h7b6447c_3.json") &&
	      l.name && !strcmp(l.name, "zlib") && l.nfiles == 7 && !l.noarch,
	      "link zlib: conda_linked names the record and the files", "%s %zu",
	      l.record ? l.record : "-", l.nfiles);
	rec = load_json(P("r1/opt/conda/conda-meta/zlib-1.2.11-h7b6447c_3.json"));
	real = load_json(fixture(REAL_RECORD));
	check(rec && real, "record: written and valid JSON", "rec %p real %p", (void *)rec, (void *)real);
	if (!rec || !real)
		goto out;
	sbuf_reset(&why);
	check(same_shape(rec, real, extra, &why),
	      "record: the keys and JSON types of rattler's real record (+ conda's)", "%s", why.buf);
	{
		const char *pd_keys[] = { NULL };
		const char *entry_extra[] = { "prefix_placeholder", "file_mode", NULL };
		json_t *rp = json_array_get(json_object_get(json_object_get(real, "paths_data"), "paths"), 0);

		sbuf_reset(&why);
		check(same_shape(json_object_get(rec, "paths_data"), json_object_get(real, "paths_data"),
				 pd_keys, &why) &&
		      same_shape(path_entry(rec, "include/zlib.h"), rp, NULL, &why) &&
		      same_shape(path_entry(rec, "lib/pkgconfig/zlib.pc"), rp, entry_extra, &why) &&
		      same_shape(json_object_get(rec, "link"), json_object_get(real, "link"), NULL, &why),
		      "record: paths_data, its entries and link have the real record's shape", "%s",
		      why.buf);
	}
	check(!strcmp(jstr(rec, "name"), "zlib") && !strcmp(jstr(rec, "version"), "1.2.11") &&
	      !strcmp(jstr(rec, "build"), "h7b6447c_3") &&
	      json_integer_value(json_object_get(rec, "build_number")) == 3 &&
	      !strcmp(jstr(rec, "subdir"), "linux-64") &&
	      json_integer_value(json_object_get(rec, "timestamp")) == 1542814864621 &&
	      !strcmp(json_string_value(json_array_get(json_object_get(rec, "depends"), 0)),
		      "libgcc-ng >=7.3.0") &&
	      json_array_size(json_object_get(rec, "constrains")) == 0,
	      "record: index.json's fields", "-");
	check(!strcmp(jstr(rec, "channel"), zlib_info.channel) && !strcmp(jstr(rec, "url"), zlib_info.url) &&
	      !strcmp(jstr(rec, "fn"), zlib_info.fn) && !strcmp(jstr(rec, "md5"), zlib_info.md5) &&
	      !strcmp(jstr(rec, "sha256"), zlib_info.sha256) &&
	      json_integer_value(json_object_get(rec, "size")) == 105917 &&
	      !strcmp(jstr(rec, "requested_spec"), "zlib") &&
	      !strcmp(jstr(rec, "extracted_package_dir"), "/opt/conda/pkgs/zlib-1.2.11-h7b6447c_3") &&
	      !strcmp(jstr(rec, "package_tarball_full_path"), "/opt/conda/pkgs/zlib-1.2.11-h7b6447c_3.conda") &&
	      !strcmp(jstr(json_object_get(rec, "link"), "source"), "/opt/conda/pkgs/zlib-1.2.11-h7b6447c_3") &&
	      json_integer_value(json_object_get(json_object_get(rec, "link"), "type")) == 1 &&
	      json_integer_value(json_object_get(json_object_get(rec, "paths_data"), "paths_version")) == 1,
	      "record: the caller's fields and the derived host paths", "-");
	sbuf_reset(&why);
	check(files_are(rec, zlib_files, &why), "record: files sorted, prefix-relative", "%s", why.buf);
	{
		json_t *e = path_entry(rec, "lib/pkgconfig/zlib.pc"), *h = path_entry(rec, "include/zlib.h");

		file_sha(P("r1/opt/conda/lib/pkgconfig/zlib.pc"), hex);
		check(e && !strcmp(jstr(e, "prefix_placeholder"), PH) && !strcmp(jstr(e, "file_mode"), "text") &&
		      !strcmp(jstr(e, "sha256"), "5613df6f1a56c1c3e0c2aa3da9284b51de9682882a6a9ba7af68a07745cb3aac") &&
		      !strcmp(jstr(e, "sha256_in_prefix"), hex) && strcmp(hex, jstr(e, "sha256")) &&
		      json_integer_value(json_object_get(e, "size_in_bytes")) == 281 &&
		      !strcmp(jstr(e, "path_type"), "hardlink"),
		      "record: the rewritten file has placeholder, mode, sha256 and sha256_in_prefix", "%s",
		      hex);
		file_sha(P("r1/opt/conda/include/zlib.h"), hex);
		check(h && !strcmp(jstr(h, "sha256"), hex) && !strcmp(jstr(h, "sha256_in_prefix"), hex) &&
		      json_integer_value(json_object_get(h, "size_in_bytes")) == 96239 &&
		      !json_object_get(h, "prefix_placeholder"),
		      "record: an unchanged file's sha256 and sha256_in_prefix are its content's", "%s", hex);
		check(!strcmp(jstr(path_entry(rec, "lib/libz.so"), "path_type"), "softlink"),
		      "record: paths.json's softlink type is kept", "-");
	}
	if (have_python)
		check(python_canonical(P("r1/opt/conda/conda-meta/zlib-1.2.11-h7b6447c_3.json")),
		      "record: bytes are json.dumps(indent=2, sort_keys=True) (python3)", "-");

	/* determinism */
	ctx_new(&ctx);
	r = conda_pkg_link(&ctx, P("x-bz2"), rootfd2, &o, &zlib_info, &l2);
	rec1 = slurp(P("r1/opt/conda/conda-meta/zlib-1.2.11-h7b6447c_3.json"));
	rec2 = slurp(P("r2/opt/conda/conda-meta/zlib-1.2.11-h7b6447c_3.json"));
	check(r == 0 && rec1 && rec2 && !strcmp(rec1, rec2),
	      "determinism: two links (from the .conda and the .tar.bz2) write the same record bytes",
	      "rc %d: %s", r, ctx.errmsg);
	tree_sig(P("r1"), "", true, &t1);
	tree_sig(P("r2"), "", true, &t2);
	check(t1.len && t1.len == t2.len && !memcmp(t1.buf, t2.buf, t1.len),
	      "determinism: the same trees, modes and mtimes", "\n%s\n--\n%s", t1.buf, t2.buf);

	/* the package without paths.json (info/files + info/has_prefix) */
	ctx_new(&ctx);
	r = conda_pkg_extract(&ctx, fixture(ZLIB_BZ2), NULL, P("x-old"));
	unlink(P("x-old/info/paths.json"));
	if (r == 0)
		r = conda_pkg_link(&ctx, P("x-old"), rootfd3, &o, &zlib_info, &l3);
	pc = slurp(P("r3/opt/conda/lib/pkgconfig/zlib.pc"));
	json_decref(pj);
	pj = load_json(P("r3/opt/conda/conda-meta/zlib-1.2.11-h7b6447c_3.json"));
	sbuf_reset(&why);
	check(r == 0 && pc && !strncmp(pc, "prefix=/opt/conda\n", 18) && pj && files_are(pj, zlib_files, &why) &&
	      !strcmp(jstr(path_entry(pj, "lib/pkgconfig/zlib.pc"), "prefix_placeholder"), PH) &&
	      !strcmp(jstr(path_entry(pj, "include/zlib.h"), "sha256"),
		      jstr(path_entry(rec, "include/zlib.h"), "sha256")),
	      "old format: info/files + info/has_prefix link the same files, placeholder rewritten",
	      "rc %d: %s %s", r, ctx.errmsg, why.buf);
	free(pc);
out:
	conda_linked_free(&l);
	conda_linked_free(&l2);
	conda_linked_free(&l3);
	json_decref(rec);
	json_decref(real);
	json_decref(pj);
	free(rec1);
	free(rec2);
	sbuf_free(&why);
	sbuf_free(&t1);
	sbuf_free(&t2);
	close(rootfd);
	close(rootfd2);
	close(rootfd3);
}

static void test_rmutex(void)
{
	const struct conda_link_opts o = { NULL, NULL, 0 };
	const struct conda_pkg_info info = {
		.channel = "https://conda.anaconda.org/conda-forge/",
		.url = "https://conda.anaconda.org/conda-forge/noarch/_r-mutex-1.0.1-anacondar_1.tar.bz2",
		.fn = "_r-mutex-1.0.1-anacondar_1.tar.bz2",
		.md5 = "19f9db5f4f1b7f5ef5f6d67207f25f38",
		.size = 3566,
	};
	struct conda_linked l = { 0 };
	struct pkgimg_ctx ctx;
	json_t *rec;
	int rootfd = open_root(P("r-mutex")), r;

	ctx_new(&ctx);
	r = conda_pkg_extract(&ctx, fixture(RMUTEX), NULL, P("x-rmutex"));
	if (r == 0)
		r = conda_pkg_link(&ctx, P("x-rmutex"), rootfd, &o, &info, &l);
	rec = load_json(P("r-mutex/opt/conda/conda-meta/_r-mutex-1.0.1-anacondar_1.json"));
	check(r == 0 && rec && !strcmp(jstr(rec, "noarch"), "generic") &&
	      json_array_size(json_object_get(rec, "files")) == 0 &&
	      json_is_null(json_object_get(rec, "requested_spec")) && !json_object_get(rec, "sha256") &&
	      json_is_null(json_object_get(rec, "arch")) && l.noarch && !strcmp(l.noarch, "generic"),
	      "noarch generic: _r-mutex links (default prefix), its record lists no files",
	      "rc %d: %s", r, ctx.errmsg);
	json_decref(rec);
	conda_linked_free(&l);
	close(rootfd);
}

/* ---- a noarch: python package ---- */

static const char foo_init[] = "def main():\n    print('hello from foo')\n    return 3\n";
static const char foo_tool[] = "#!" PH "/bin/python\nprint('tool')\n";

static char foo_paths[2048];

static void build_foo(const char *path, bool conda_fmt, const char *extra_paths_entry)
{
	const char *index =
		"{\"build\": \"pyh_0\", \"build_number\": 0, \"depends\": [\"python >=3.8\"], "
		"\"license\": \"MIT\", \"name\": \"foo\", \"noarch\": \"python\", "
		"\"subdir\": \"noarch\", \"timestamp\": 1700000000000, \"version\": \"1.0\"}";
	const char *link =
		"{\"noarch\": {\"type\": \"python\", \"entry_points\": [\"foo-cli = foo:main\", "
		"\"foo-sub=foo.sub:run.go\"]}, \"package_metadata_version\": 1}";
	struct ent ents[] = {
		{ "info/index.json", 'f', index, 0, 0 },
		{ "info/paths.json", 'f', foo_paths, 0, 0 },
		{ "info/link.json", 'f', link, 0, 0 },
		{ "site-packages/foo/__init__.py", 'f', foo_init, 0, 0 },
		{ "site-packages/foo/sub.py", 'f', "", 0, 0 },
		{ "python-scripts/foo-tool", 'f', foo_tool, 0, 0755 },
	};

	snprintf(foo_paths, sizeof foo_paths,
		 "{\"paths\": [%s"
		 "{\"_path\": \"python-scripts/foo-tool\", \"file_mode\": \"text\", \"path_type\": \"hardlink\", "
		 "\"prefix_placeholder\": \"" PH "\", \"sha256\": \"%s\", \"size_in_bytes\": %zu}, "
		 "{\"_path\": \"site-packages/foo/__init__.py\", \"path_type\": \"hardlink\", \"sha256\": \"%s\", \"size_in_bytes\": %zu}, "
		 "{\"_path\": \"site-packages/foo/sub.py\", \"path_type\": \"hardlink\", \"sha256\": \"%s\", \"size_in_bytes\": 0}"
		 "], \"paths_version\": 1}",
		 extra_paths_entry ? extra_paths_entry : "",
		 sha_of(foo_tool, strlen(foo_tool)), strlen(foo_tool),
		 sha_of(foo_init, strlen(foo_init)), strlen(foo_init), sha_of("", 0));
	if (conda_fmt)
		write_conda(path, "foo-1.0-pyh_0", ents, sizeof ents / sizeof *ents);
	else
		write_tarbz2(path, ents, sizeof ents / sizeof *ents);
}

static const struct conda_pkg_info foo_info = {
	.channel = "https://conda.anaconda.org/conda-forge/",
	.url = "https://conda.anaconda.org/conda-forge/noarch/foo-1.0-pyh_0.conda",
	.fn = "foo-1.0-pyh_0.conda",
	.sha256 = "1111111111111111111111111111111111111111111111111111111111111111",
	.md5 = "22222222222222222222222222222222",
	.size = 1234,
};

static void test_noarch_python(void)
{
	const struct conda_link_opts o = { "/opt/conda", "3.12", 0 }, nopy = { "/opt/conda", NULL, 0 };
	const char *const want_files[] = {
		"bin/foo-cli", "bin/foo-sub", "bin/foo-tool",
		"lib/python3.12/site-packages/foo/__init__.py",
		"lib/python3.12/site-packages/foo/sub.py", NULL
	};
	const char *want_ep =
		"#!/opt/conda/bin/python\n"
		"# -*- coding: utf-8 -*-\n"
		"import re\n"
		"import sys\n"
		"\n"
		"from foo import main\n"
		"\n"
		"if __name__ == '__main__':\n"
		"    sys.argv[0] = re.sub(r'(-script\\.pyw?|\\.exe)?$', '', sys.argv[0])\n"
		"    sys.exit(main())\n";
	struct conda_linked l = { 0 };
	struct pkgimg_ctx ctx;
	struct sbuf why = SBUF_INIT;
	json_t *rec = NULL, *ep;
	char *s, hex[65];
	int rootfd = open_root(P("r-foo")), rootfd2 = open_root(P("r-foo-nopy")), r;

	build_foo(P("foo-1.0-pyh_0.conda"), true, NULL);
	ctx_new(&ctx);
	r = conda_pkg_extract(&ctx, P("foo-1.0-pyh_0.conda"), NULL, P("x-foo"));
	check(r == 0 && is_reg(P("x-foo/info/link.json")) && is_reg(P("x-foo/site-packages/foo/__init__.py")),
	      "noarch python: a .conda built with libarchive extracts", "rc %d: %s", r, ctx.errmsg);
	ctx_new(&ctx);
	r = conda_pkg_link(&ctx, P("x-foo"), rootfd2, &nopy, &foo_info, &l);
	check(r == -PKGIMG_E_USAGE && strstr(ctx.errmsg, "foo-1.0-pyh_0.conda: [install]") &&
	      strstr(ctx.errmsg, "python version") && count_entries(P("r-foo-nopy")) == 0,
	      "noarch python: without a python version, a usage error and nothing written",
	      "rc %d: %s", r, ctx.errmsg);
	ctx_new(&ctx);
	r = conda_pkg_link(&ctx, P("x-foo"), rootfd, &o, &foo_info, &l);
	check(r == 0, "noarch python: links with python 3.12", "rc %d: %s", r, ctx.errmsg);
	s = slurp(P("r-foo/opt/conda/lib/python3.12/site-packages/foo/__init__.py"));
	check(s && !strcmp(s, foo_init) && !exists(P("r-foo/opt/conda/site-packages")),
	      "noarch python: site-packages/ goes to lib/python3.12/site-packages/", "-");
	free(s);
	s = slurp(P("r-foo/opt/conda/bin/foo-tool"));
	check(s && !strcmp(s, "#!/opt/conda/bin/python\nprint('tool')\n") &&
	      mode_of(P("r-foo/opt/conda/bin/foo-tool")) == 0755,
	      "noarch python: python-scripts/ goes to bin/, placeholder rewritten, 0755", "[%s]",
	      s ? s : "(missing)");
	free(s);
	s = slurp(P("r-foo/opt/conda/bin/foo-cli"));
	check(s && !strcmp(s, want_ep) && mode_of(P("r-foo/opt/conda/bin/foo-cli")) == 0755,
	      "noarch python: entry point bin/foo-cli has conda's text, 0755", "[%s]", s ? s : "(missing)");
	free(s);
	s = slurp(P("r-foo/opt/conda/bin/foo-sub"));
	check(s && strstr(s, "\nfrom foo.sub import run\n") && strstr(s, "    sys.exit(run.go())\n"),
	      "noarch python: a dotted callable imports its first name", "[%s]", s ? s : "(missing)");
	free(s);
	rec = load_json(P("r-foo/opt/conda/conda-meta/foo-1.0-pyh_0.json"));
	sbuf_reset(&why);
	check(rec && files_are(rec, want_files, &why) && !strcmp(jstr(rec, "noarch"), "python") &&
	      l.nfiles == 5 && !strcmp(l.files[0], "bin/foo-cli"),
	      "noarch python: the record lists the relocated files and entry points", "%s", why.buf);
	ep = rec ? path_entry(rec, "bin/foo-cli") : NULL;
	file_sha(P("r-foo/opt/conda/bin/foo-cli"), hex);
	check(ep && !strcmp(jstr(ep, "path_type"), "unix_python_entry_point") &&
	      !strcmp(jstr(ep, "sha256"), hex) &&
	      json_integer_value(json_object_get(ep, "size_in_bytes")) == (json_int_t)strlen(want_ep),
	      "noarch python: the entry point's paths_data entry", "-");
	if (have_python) {
		struct sbuf out = SBUF_INIT;
		char *env = xasprintf("PYTHONPATH=%s", P("r-foo/opt/conda/lib/python3.12/site-packages"));
		char *argv[] = { "python3", P("r-foo/opt/conda/bin/foo-cli"), NULL };
		int st = run(argv, env, &out);

		check(st == 3 && out.buf && !strcmp(out.buf, "hello from foo\n"),
		      "noarch python: python3 runs the entry point (main's return is the exit status)",
		      "status %d out [%s]", st, out.buf ? out.buf : "");
		sbuf_free(&out);
		free(env);
	}

	/* conda_record_add: a .pyc compiled afterwards */
	{
		const char *pyc = "lib/python3.12/site-packages/foo/__pycache__/__init__.cpython-312.pyc";
		const struct conda_extra_file f[] = {
			{ pyc, "abababababababababababababababababababababababababababababababab", 77, NULL },
		};
		json_t *rec2, *e;

		ctx_new(&ctx);
		r = conda_record_add(&ctx, rootfd, &l, &o, f, 1);
		rec2 = load_json(P("r-foo/opt/conda/conda-meta/foo-1.0-pyh_0.json"));
		e = rec2 ? path_entry(rec2, pyc) : NULL;
		check(r == 0 && e && !strcmp(jstr(e, "path_type"), "pyc_file") &&
		      json_integer_value(json_object_get(e, "size_in_bytes")) == 77 &&
		      !strcmp(jstr(e, "sha256"), f[0].sha256) &&
		      json_array_size(json_object_get(rec2, "files")) == 6 &&
		      !strcmp(json_string_value(json_array_get(json_object_get(rec2, "files"), 4)), pyc) &&
		      !strcmp(json_string_value(json_object_get(json_array_get(json_object_get(
			      json_object_get(rec2, "paths_data"), "paths"), 4), "_path")), pyc),
		      "record_add: a .pyc is added to files and paths_data, sorted", "rc %d: %s", r,
		      ctx.errmsg);
		{
			struct stat st;

			check(stat(P("r-foo/opt/conda/conda-meta"), &st) == 0 && st.st_mtime == 0,
			      "record_add: conda-meta/ keeps the caller's mtime after the rewrite",
			      "%lld", (long long)st.st_mtime);
		}
		if (have_python)
			check(python_canonical(P("r-foo/opt/conda/conda-meta/foo-1.0-pyh_0.json")),
			      "record_add: the record stays json.dumps-canonical (python3)", "-");
		json_decref(rec2);
	}
	json_decref(rec);
	conda_linked_free(&l);
	sbuf_free(&why);
	close(rootfd);
	close(rootfd2);
}

/* ---- placeholders ---- */

static size_t bin_content(char *out)
{
	size_t n = 0;

#define ADD(s, len) (memcpy(out + n, s, len), n += len)
	ADD("\x7f" "ELF\0\1\2", 7);
	ADD(PH "/lib\0", strlen(PH) + 5);
	ADD("xx", 2);
	ADD(PH "/a:" PH "/b\0", 2 * strlen(PH) + 6);
	ADD("tail " PH "\nno NUL after a newline", strlen(PH) + 28);
	ADD("\0end", 4);
#undef ADD
	return n;
}

static size_t bin_expected(char *out, const char *pfx)
{
	size_t n = 0, pl = strlen(PH), nl = strlen(pfx);

#define ADD(s, len) (memcpy(out + n, s, len), n += len)
	ADD("\x7f" "ELF\0\1\2", 7);
	ADD(pfx, nl);
	ADD("/lib\0", 5);
	memset(out + n, 0, pl - nl);
	n += pl - nl;
	ADD("xx", 2);
	ADD(pfx, nl);
	ADD("/a:", 3);
	ADD(pfx, nl);
	ADD("/b\0", 3);
	memset(out + n, 0, 2 * (pl - nl));
	n += 2 * (pl - nl);
	ADD("tail " PH "\nno NUL after a newline", strlen(PH) + 28);
	ADD("\0end", 4);
#undef ADD
	return n;
}

static void build_bin(const char *path, const char *text)
{
	static char bin[1024], paths[4096];
	size_t bl = bin_content(bin);
	struct ent ents[] = {
		{ "info/index.json", 'f',
		  "{\"build\": \"0\", \"build_number\": 0, \"depends\": [], \"name\": \"bin\", "
		  "\"subdir\": \"linux-64\", \"version\": \"1.0\"}", 0, 0 },
		{ "info/paths.json", 'f', paths, 0, 0 },
		{ "lib/libbin.so", 'f', bin, bl, 0755 },
		{ "etc/conf.txt", 'f', text, 0, 0 },
		{ "lib/libbin.so.1", 'l', "libbin.so", 0, 0 },
	};

	snprintf(paths, sizeof paths,
		 "{\"paths\": ["
		 "{\"_path\": \"etc/conf.txt\", \"file_mode\": \"text\", \"path_type\": \"hardlink\", "
		 "\"prefix_placeholder\": \"" PH "\", \"sha256\": \"%s\", \"size_in_bytes\": %zu}, "
		 "{\"_path\": \"lib/libbin.so\", \"file_mode\": \"binary\", \"path_type\": \"hardlink\", "
		 "\"prefix_placeholder\": \"" PH "\", \"sha256\": \"%s\", \"size_in_bytes\": %zu}, "
		 "{\"_path\": \"lib/libbin.so.1\", \"path_type\": \"softlink\", \"sha256\": \"%s\", \"size_in_bytes\": %zu}"
		 "], \"paths_version\": 1}",
		 sha_of(text, strlen(text)), strlen(text), sha_of(bin, bl), bl, sha_of(bin, bl), bl);
	write_tarbz2(path, ents, sizeof ents / sizeof *ents);
}

static const struct conda_pkg_info bin_info = {
	.channel = "https://example.org/chan",
	.url = "https://example.org/chan/linux-64/bin-1.0-0.tar.bz2",
	.fn = "bin-1.0-0.tar.bz2",
	.size = 1,
};

static void test_placeholders(void)
{
	const struct conda_link_opts o = { "/opt/conda", NULL, 0 };
	char longp[200], want[1024], *got;
	struct conda_linked l = { 0 };
	struct conda_link_opts lo = { longp, NULL, 0 };
	struct pkgimg_ctx ctx;
	size_t wl, gl = 0, orig;
	char tmp[1024];
	json_t *rec;
	int rootfd = open_root(P("r-bin")), rootfd2 = open_root(P("r-bin-long")), r;

	build_bin(P("bin-1.0-0.tar.bz2"), "root=" PH "\nlib=" PH "/lib\n");
	ctx_new(&ctx);
	r = conda_pkg_extract(&ctx, P("bin-1.0-0.tar.bz2"), NULL, P("x-bin"));
	if (r == 0)
		r = conda_pkg_link(&ctx, P("x-bin"), rootfd, &o, &bin_info, &l);
	check(r == 0, "placeholders: package links", "rc %d: %s", r, ctx.errmsg);
	orig = bin_content(tmp);
	wl = bin_expected(want, "/opt/conda");
	got = slurp_n(P("r-bin/opt/conda/lib/libbin.so"), &gl);
	check(got && gl == orig && wl == orig && !memcmp(got, want, wl),
	      "placeholders: binary mode replaces inside NUL-terminated strings, pads, keeps the size",
	      "size %zu want %zu", gl, orig);
	check(mode_of(P("r-bin/opt/conda/lib/libbin.so")) == 0755,
	      "placeholders: a rewritten file keeps its exec bit", "%o",
	      mode_of(P("r-bin/opt/conda/lib/libbin.so")));
	free(got);
	got = slurp(P("r-bin/opt/conda/etc/conf.txt"));
	check(got && !strcmp(got, "root=/opt/conda\nlib=/opt/conda/lib\n"),
	      "placeholders: text mode replaces every occurrence", "[%s]", got ? got : "");
	free(got);
	{
		char t[256];
		ssize_t k = readlink(P("r-bin/opt/conda/lib/libbin.so.1"), t, sizeof t - 1);

		t[k > 0 ? k : 0] = 0;
		rec = load_json(P("r-bin/opt/conda/conda-meta/bin-1.0-0.json"));
		check(k > 0 && !strcmp(t, "libbin.so") && rec &&
		      !strcmp(jstr(path_entry(rec, "lib/libbin.so.1"), "sha256_in_prefix"),
			      sha_of("libbin.so", 9)) &&
		      !strcmp(jstr(path_entry(rec, "lib/libbin.so"), "file_mode"), "binary"),
		      "placeholders: symlinks stay symlinks; sha256_in_prefix of a link is its target's (rattler)",
		      "[%s]", t);
		json_decref(rec);
	}

	/* a prefix longer than the binary placeholder */
	memset(longp, 0, sizeof longp);
	strcpy(longp, "/opt/");
	memset(longp + 5, 'p', 40);
	ctx_new(&ctx);
	r = conda_pkg_link(&ctx, P("x-bin"), rootfd2, &lo, &bin_info, &l);
	check(r == -PKGIMG_E_USAGE && strstr(ctx.errmsg, "bin-1.0-0.tar.bz2: [install]") &&
	      strstr(ctx.errmsg, "longer than the placeholder") && strstr(ctx.errmsg, "at most 32") &&
	      count_entries(P("r-bin-long")) == 0,
	      "placeholders: a prefix longer than a binary placeholder is an error, nothing left",
	      "rc %d: %s; %zu entries left", r, ctx.errmsg, count_entries(P("r-bin-long")));

	/* text mode with a long prefix: conda's /usr/bin/env shebang */
	{
		const struct ent ents[] = {
			{ "info/index.json", 'f',
			  "{\"build\": \"0\", \"build_number\": 0, \"depends\": [], \"name\": \"sh\", "
			  "\"subdir\": \"linux-64\", \"version\": \"1\"}", 0, 0 },
			{ "info/files", 'f', "bin/tool\n", 0, 0 },
			{ "info/has_prefix", 'f', "bin/tool\n", 0, 0 },
			{ "bin/tool", 'f', "#!" PH "/bin/python3.12 -u\nprint('" PH "')\n", 0, 0755 },
		};
		const struct conda_pkg_info si = { .channel = "c", .url = "u", .fn = "sh-1-0.tar.bz2" };
		struct conda_linked l2 = { 0 };
		int rfd = open_root(P("r-sh"));

		memset(longp, 0, sizeof longp);
		strcpy(longp, "/opt/");
		memset(longp + 5, 'q', 130);
		write_tarbz2(P("sh-1-0.tar.bz2"), ents, 4);
		ctx_new(&ctx);
		r = conda_pkg_extract(&ctx, P("sh-1-0.tar.bz2"), NULL, P("x-sh"));
		if (r == 0)
			r = conda_pkg_link(&ctx, P("x-sh"), rfd, &lo, &si, &l2);
		got = slurp(P("r-sh/%s/bin/tool", longp + 1));
		snprintf(want, sizeof want, "#!/usr/bin/env python3.12 -u\nprint('%s')\n", longp);
		check(r == 0 && got && !strcmp(got, want),
		      "placeholders: a shebang over 127 bytes becomes #!/usr/bin/env (has_prefix, path only)",
		      "rc %d %s [%s]", r, ctx.errmsg, got ? got : "");
		free(got);
		conda_linked_free(&l2);
		close(rfd);
	}
	conda_linked_free(&l);
	close(rootfd);
	close(rootfd2);
}

/* ---- malicious and broken packages ---- */

static const char tiny_index[] =
	"{\"build\": \"0\", \"build_number\": 0, \"depends\": [], \"name\": \"evil\", \"version\": \"1\"}";

static void test_unsafe(void)
{
	const struct conda_link_opts o = { "/opt/conda", NULL, 0 };
	const struct conda_pkg_info ei = { .channel = "c", .url = "u", .fn = "evil-1-0.tar.bz2" };
	struct conda_linked l = { 0 };
	struct pkgimg_ctx ctx;
	int r, rootfd;

	mkdir(P("outside"), 0755);
	{
		const struct ent ents[] = {
			{ "info/index.json", 'f', tiny_index, 0, 0 },
			{ "../evil-dotdot", 'f', "x", 0, 0 },
		};

		write_tarbz2(P("evil-1-0.tar.bz2"), ents, 2);
		mkdir(P("sub"), 0755);
		ctx_new(&ctx);
		r = conda_pkg_extract(&ctx, P("evil-1-0.tar.bz2"), NULL, P("sub/x-evil1"));
		check(r == -PKGIMG_E_UNSAFE && strstr(ctx.errmsg, "evil-1-0.tar.bz2: [unpack]") &&
		      strstr(ctx.errmsg, "..") && !exists(P("sub/x-evil1")) && !exists(P("evil-dotdot")) &&
		      no_tmp_left(P("sub")),
		      "unsafe: a '..' entry is refused, nothing left", "rc %d: %s", r, ctx.errmsg);
	}
	{
		char abs[1100];
		struct ent ents[] = {
			{ "info/index.json", 'f', tiny_index, 0, 0 },
			{ abs, 'f', "x", 0, 0 },
		};

		snprintf(abs, sizeof abs, "%s", P("outside/evil-abs"));
		write_tarbz2(P("evil-1-0.tar.bz2"), ents, 2);
		ctx_new(&ctx);
		r = conda_pkg_extract(&ctx, P("evil-1-0.tar.bz2"), NULL, P("sub/x-evil2"));
		check(r == -PKGIMG_E_UNSAFE && strstr(ctx.errmsg, "absolute") &&
		      !exists(P("outside/evil-abs")) && !exists(P("sub/x-evil2")) && no_tmp_left(P("sub")),
		      "unsafe: an absolute entry is refused", "rc %d: %s", r, ctx.errmsg);
	}
	{
		const struct ent ents[] = {
			{ "info/index.json", 'f', tiny_index, 0, 0 },
			{ "lib", 'l', P("outside"), 0, 0 },
			{ "lib/evil-through-link", 'f', "x", 0, 0 },
		};

		write_tarbz2(P("evil-1-0.tar.bz2"), ents, 3);
		ctx_new(&ctx);
		r = conda_pkg_extract(&ctx, P("evil-1-0.tar.bz2"), NULL, P("sub/x-evil3"));
		check(r == -PKGIMG_E_UNSAFE && strstr(ctx.errmsg, "symlink") &&
		      !exists(P("outside/evil-through-link")) && !exists(P("sub/x-evil3")) &&
		      no_tmp_left(P("sub")),
		      "unsafe: an entry written through the archive's own symlink is refused",
		      "rc %d: %s", r, ctx.errmsg);
	}
	{
		const struct ent ents[] = {
			{ "info/index.json", 'f', tiny_index, 0, 0 },
			{ "info/paths.json", 'f',
			  "{\"paths\": [{\"_path\": \"a.txt\", \"path_type\": \"hardlink\"}, "
			  "{\"_path\": \"../../../outside/evil-paths\", \"path_type\": \"hardlink\"}], "
			  "\"paths_version\": 1}", 0, 0 },
			{ "a.txt", 'f', "a", 0, 0 },
		};

		write_tarbz2(P("evil-1-0.tar.bz2"), ents, 3);
		ctx_new(&ctx);
		r = conda_pkg_extract(&ctx, P("evil-1-0.tar.bz2"), NULL, P("x-evil4"));
		rootfd = open_root(P("r-evil"));
		if (r == 0)
			r = conda_pkg_link(&ctx, P("x-evil4"), rootfd, &o, &ei, &l);
		check(r == -PKGIMG_E_UNSAFE && strstr(ctx.errmsg, "evil-1-0.tar.bz2: [install]") &&
		      count_entries(P("r-evil")) == 0 && !exists(P("outside/evil-paths")),
		      "unsafe: a '..' path in info/paths.json is refused before anything is written",
		      "rc %d: %s", r, ctx.errmsg);
		close(rootfd);
	}
	{
		/* a symlink already in the root where the prefix goes */
		rootfd = open_root(P("r-evil2"));
		symlink(P("outside"), P("r-evil2/opt"));
		ctx_new(&ctx);
		r = conda_pkg_link(&ctx, P("x-rmutex"), rootfd, &o, &ei, &l);
		check(r == -PKGIMG_E_UNSAFE && count_entries(P("outside")) == 0,
		      "unsafe: a symlink in the root on the way to the prefix is not followed",
		      "rc %d: %s", r, ctx.errmsg);
		close(rootfd);
	}
	conda_linked_free(&l);
}

static void test_corrupt(void)
{
	const struct conda_link_opts o = { "/opt/conda", NULL, 0 };
	struct conda_linked l = { 0 };
	struct pkgimg_ctx ctx;
	size_t n = 0;
	char *d;
	int r, rootfd;

	mkdir(P("c"), 0755);
	d = slurp_n(fixture(ZLIB_CONDA), &n);
	spew(P("c/zlib-1.2.11-h7b6447c_3.conda"), d, n / 2);
	free(d);
	ctx_new(&ctx);
	r = conda_pkg_extract(&ctx, P("c/zlib-1.2.11-h7b6447c_3.conda"), NULL, P("c/x1"));
	check(r == -PKGIMG_E_ARCHIVE && strstr(ctx.errmsg, "zlib-1.2.11-h7b6447c_3.conda: [unpack]") &&
	      strstr(ctx.errmsg, "download") && !exists(P("c/x1")) && no_tmp_left(P("c")),
	      "corrupt: a truncated .conda is an archive error naming it, nothing left",
	      "rc %d: %s", r, ctx.errmsg);
	d = slurp_n(fixture(ZLIB_BZ2), &n);
	spew(P("c/zlib-1.2.11-h7b6447c_3.tar.bz2"), d, n / 2);
	free(d);
	ctx_new(&ctx);
	r = conda_pkg_extract(&ctx, P("c/zlib-1.2.11-h7b6447c_3.tar.bz2"), NULL, P("c/x2"));
	check(r == -PKGIMG_E_ARCHIVE && strstr(ctx.errmsg, "zlib-1.2.11-h7b6447c_3.tar.bz2: [unpack]") &&
	      !exists(P("c/x2")) && no_tmp_left(P("c")),
	      "corrupt: a truncated .tar.bz2 is an archive error naming it, nothing left",
	      "rc %d: %s", r, ctx.errmsg);
	spew(P("c/garbage-1-0.conda"), "this is not a zip file at all", 29);
	ctx_new(&ctx);
	r = conda_pkg_extract(&ctx, P("c/garbage-1-0.conda"), "garbage-1-0.conda", P("c/x3"));
	check(r == -PKGIMG_E_ARCHIVE && strstr(ctx.errmsg, "garbage-1-0.conda: [unpack]") &&
	      !exists(P("c/x3")) && no_tmp_left(P("c")),
	      "corrupt: garbage is an archive error, nothing left", "rc %d: %s", r, ctx.errmsg);
	{
		/* a zip without the pkg tar */
		struct archive *z = archive_write_new();

		archive_write_set_format_zip(z);
		archive_write_open_filename(z, P("c/nopkg-1-0.conda"));
		zip_add(z, "metadata.json", "{\"conda_pkg_format_version\": 2}", 31);
		archive_write_close(z);
		archive_write_free(z);
		ctx_new(&ctx);
		r = conda_pkg_extract(&ctx, P("c/nopkg-1-0.conda"), NULL, P("c/x4"));
		check(r == -PKGIMG_E_ARCHIVE && strstr(ctx.errmsg, "info-*.tar.zst") &&
		      !exists(P("c/x4")) && no_tmp_left(P("c")),
		      "corrupt: a .conda without its inner tars is refused", "rc %d: %s", r, ctx.errmsg);
	}
	ctx_new(&ctx);
	r = conda_pkg_extract(&ctx, P("c/garbage-1-0.conda"), "garbage-1-0.zip", P("c/x5"));
	check(r == -PKGIMG_E_USAGE, "corrupt: an unknown file ending is a usage error", "rc %d", r);

	/* failures while linking undo everything, replaced files included */
	r = conda_pkg_extract(&ctx, fixture(ZLIB_BZ2), NULL, P("c/x-zlib"));
	unlink(P("c/x-zlib/lib/pkgconfig/zlib.pc"));
	rootfd = open_root(P("c/r"));
	mkdir(P("c/r/opt"), 0755);
	mkdir(P("c/r/opt/conda"), 0755);
	mkdir(P("c/r/opt/conda/include"), 0755);
	spew(P("c/r/opt/conda/include/zlib.h"), "old", 3);
	ctx_new(&ctx);
	r = conda_pkg_link(&ctx, P("c/x-zlib"), rootfd, &o, &zlib_info, &l);
	d = slurp(P("c/r/opt/conda/include/zlib.h"));
	check(r == -PKGIMG_E_ARCHIVE && strstr(ctx.errmsg, "zlib-1.2.11-h7b6447c_3.conda: [install]") &&
	      strstr(ctx.errmsg, "lib/pkgconfig/zlib.pc") && strstr(ctx.errmsg, "extract") &&
	      d && !strcmp(d, "old") && count_entries(P("c/r")) == 4,
	      "rollback: a file missing from the extracted package undoes the link, the replaced file is back",
	      "rc %d: %s; %zu entries", r, ctx.errmsg, count_entries(P("c/r")));
	free(d);
	spew(P("c/x-zlib/lib/pkgconfig/zlib.pc"), "prefix=" PH "\n", strlen(PH) + 8);
	ctx_new(&ctx);
	r = conda_pkg_link(&ctx, P("c/x-zlib"), rootfd, &o, &zlib_info, &l);
	d = slurp(P("c/r/opt/conda/include/zlib.h"));
	check(r == -PKGIMG_E_CHECKSUM && strstr(ctx.errmsg, "lib/pkgconfig/zlib.pc") &&
	      d && !strcmp(d, "old") && count_entries(P("c/r")) == 4,
	      "rollback: a file not matching paths.json's sha256 is a checksum error, undone",
	      "rc %d: %s", r, ctx.errmsg);
	free(d);
	d = slurp_n(P("x-bz2/lib/pkgconfig/zlib.pc"), &n);
	spew(P("c/x-zlib/lib/pkgconfig/zlib.pc"), d, n);
	free(d);
	ctx_new(&ctx);
	r = conda_pkg_link(&ctx, P("c/x-zlib"), rootfd, &o, &zlib_info, &l);
	d = slurp(P("c/r/opt/conda/include/zlib.h"));
	{
		struct stat st;
		struct sbuf t = SBUF_INIT;

		tree_sig(P("c/r"), "", false, &t);
		check(r == 0 && d && n && strlen(d) == 96239 && strstr(warned, "replacing '/opt/conda/include/zlib.h'") &&
		      !strstr(t.buf, "pkgimg-bak") && stat(P("c/r/opt/conda/include"), &st) == 0 &&
		      st.st_mtime == 0,
		      "clobber: an existing file is replaced with a warning; directories written in get the mtime",
		      "rc %d: %s; warned [%s]", r, ctx.errmsg, warned);
		sbuf_free(&t);
	}
	free(d);
	conda_linked_free(&l);
	close(rootfd);
}

static void test_history(void)
{
	const struct conda_link_opts o = { "/opt/conda", NULL, 1700000000 };
	struct conda_linked pk[2] = {
		{ .name = "zlib", .version = "1.2.11", .build = "h7b6447c_3", .subdir = "linux-64",
		  .channel = "https://conda.anaconda.org/conda-forge/" },
		{ .name = "_r-mutex", .version = "1.0.1", .build = "anacondar_1", .subdir = "noarch",
		  .channel = "https://repo.anaconda.com/pkgs/main/noarch" },
	};
	struct conda_linked un = { .name = "old", .version = "1", .build = "0", .subdir = "linux-64",
				   .channel = "https://example.org/chan/" };
	const char *specs[] = { "zlib", "it's" };
	const struct conda_history h = {
		.time = 1700000000, .cmd = "pkgimg install --conda zlib", .conda_version = "23.11.0",
		.linked = pk, .nlinked = 2, .unlinked = &un, .nunlinked = 1,
		.update_specs = specs, .nupdate_specs = 2,
	};
	const char *block =
		"==> 2023-11-14 22:13:20 <==\n"
		"# cmd: pkgimg install --conda zlib\n"
		"# conda version: 23.11.0\n"
		"-https://example.org/chan/linux-64::old-1-0\n"
		"+conda-forge/linux-64::zlib-1.2.11-h7b6447c_3\n"
		"+defaults/noarch::_r-mutex-1.0.1-anacondar_1\n"
		"# update specs: ['zlib', \"it's\"]\n";
	struct pkgimg_ctx ctx;
	struct stat st;
	char *s, want[2048];
	int rootfd = open_root(P("r-hist")), r;

	ctx_new(&ctx);
	r = conda_prefix_init(&ctx, rootfd, &o);
	check(r == 0 && stat(P("r-hist/opt/conda/conda-meta/history"), &st) == 0 && st.st_size == 0 &&
	      st.st_mtime == 1700000000 && mode_of(P("r-hist/opt/conda/conda-meta")) == 0755,
	      "history: conda_prefix_init makes conda-meta/ and an empty history", "rc %d: %s", r,
	      ctx.errmsg);
	r = conda_history_append(&ctx, rootfd, &o, &h);
	s = slurp(P("r-hist/opt/conda/conda-meta/history"));
	check(r == 0 && s && !strcmp(s, block), "history: a block as conda writes it", "rc %d [%s]", r,
	      s ? s : "");
	free(s);
	r = conda_prefix_init(&ctx, rootfd, &o);
	s = slurp(P("r-hist/opt/conda/conda-meta/history"));
	check(r == 0 && s && !strcmp(s, block), "history: conda_prefix_init keeps an existing history",
	      "rc %d", r);
	free(s);
	r = conda_history_append(&ctx, rootfd, &o, &h);
	s = slurp(P("r-hist/opt/conda/conda-meta/history"));
	snprintf(want, sizeof want, "%s%s", block, block);
	check(r == 0 && s && !strcmp(s, want), "history: appending adds a second block", "rc %d", r);
	free(s);
	close(rootfd);
}

int main(void)
{
	char *argv[] = { "python3", "-c", "pass", NULL };

	if (!mkdtemp(work)) {
		perror("mkdtemp");
		return 1;
	}
	if (!exists(fixture(ZLIB_CONDA))) {
		printf("not ok - fixtures: %s is missing (set PKGIMG_SRC to the repository)\n",
		       fixture(ZLIB_CONDA));
		return 1;
	}
	have_python = run(argv, NULL, NULL) == 0;
	if (!have_python)
		printf("# python3 not found: the json.dumps and entry point checks are skipped\n");
	test_extract_zlib();
	test_link_zlib();
	test_rmutex();
	test_noarch_python();
	test_placeholders();
	test_unsafe();
	test_corrupt();
	test_history();
	if (!getenv("CONDA_TEST_KEEP"))
		fs_rm_rf(NULL, AT_FDCWD, work);
	else
		printf("# kept %s\n", work);
	printf("%d passed, %d failed\n", passed, failures);
	return failures ? 1 : 0;
}
