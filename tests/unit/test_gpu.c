/* test_gpu.c - runtime/gpu.c: the ld.so cache reader (against glibc's own
 * `ldconfig -p` on this host's cache; the three layouts glibc writes, made
 * here; every truncation and some corruptions of them), gpu_attach_prepare
 * over a fake driver tree (PKGIMG_GPU_ROOT: device nodes made with mknod as
 * 1:3 like /dev/null, a shell nvidia-smi, a fake libcuda and an ld.so cache
 * written here), its errors, and end to end in the sandbox over a busybox
 * image.  On a host with an NVIDIA driver (and no override) also the real
 * one: `nvidia-smi -L` and cuInit() inside the sandbox.
 *
 * The attach checks need root (mknod, the sandbox); without it, or without
 * namespaces or busybox, they print "skip - NAME: WHY".  Busybox is
 * /bin/busybox or $PKGIMG_TEST_BUSYBOX.  Output: "ok - NAME" / "not ok -
 * NAME" (+ "# detail"), then "N passed, N failed, N skipped". */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "core/ctx.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/str.h"
#include "runtime/gpu.h"
#include "runtime/sandbox.h"

#include "tests/unit/check.h"

#define LIBDIR "/usr/lib/x86_64-linux-gnu"
#define SB_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static int skipped;
static char base[256];		/* the test's temp dir */
static const char *busybox;

static void skip(const char *name, const char *why)
{
	printf("skip - %s: %s\n", name, why);
	skipped++;
	fflush(stdout);
}

static __attribute__((noreturn)) void die(const char *what, const char *msg)
{
	fprintf(stderr, "test_gpu: %s: %s\n", what, msg);
	exit(2);
}

static char *path_of(const char *rel)
{
	return xasprintf("%s/%s", base, rel);
}

static void mkdir_p(const char *path)
{
	struct pkgimg_ctx ctx;

	pkgimg_ctx_init(&ctx);
	if (fs_mkdirs(&ctx, AT_FDCWD, path, 0755) < 0)
		die(path, ctx.errmsg);
}

static void write_bytes(const char *path, const void *data, size_t len, mode_t mode)
{
	struct pkgimg_ctx ctx;
	char *dir = xstrdup(path);

	*strrchr(dir, '/') = 0;
	mkdir_p(dir);
	free(dir);
	pkgimg_ctx_init(&ctx);
	if (fs_write_file(&ctx, AT_FDCWD, path, data, len, mode) < 0)
		die(path, ctx.errmsg);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	write_bytes(path, text, strlen(text), mode);
}

static void make_link(const char *target, const char *path)
{
	if (symlink(target, path) < 0)
		die(path, strerror(errno));
}

/* The file's content, "" when it cannot be read. */
static char *read_file(const char *path)
{
	struct sbuf s = SBUF_INIT;

	if (fs_read_file(NULL, AT_FDCWD, path, &s) < 0)
		sbuf_reset(&s);
	sbuf_adds(&s, "");
	return sbuf_detach(&s);
}

static void rm_rf(const char *path)
{
	fs_rm_rf(NULL, AT_FDCWD, path);
}

static int dir_entries(const char *path)
{
	struct dirent *de;
	DIR *d = opendir(path);
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

/* ---- ld.so caches, written here ---- */

struct cent {
	int32_t flags;
	const char *name, *path;
	uint64_t hwcap;
};

enum layout { LAYOUT_NEW, LAYOUT_BOTH, LAYOUT_OLD };
static const char *const layout_names[] = { "new", "old+new", "old" };

static void put32(struct sbuf *s, uint32_t v)
{
	sbuf_add(s, &v, sizeof v);
}

static void put64(struct sbuf *s, uint64_t v)
{
	sbuf_add(s, &v, sizeof v);
}

/* glibc's layouts (elf/cache.c save_cache): the old table, padding to 8,
 * the new header and table, then the strings (offsets from the new header;
 * the old table's from its own end).  An odd count keeps the padding. */
static void cache_write(struct sbuf *out, const struct cent *e, size_t n, enum layout lay)
{
	struct sbuf str = SBUF_INIT;
	uint32_t *koff = xcalloc(n + 1, sizeof *koff), *voff = xcalloc(n + 1, sizeof *voff);
	size_t newsize = 48 + n * 24, oldend = 16 + n * 12;
	size_t pad = ((oldend + 7) & ~(size_t)7) - oldend, i;
	uint32_t sbase;

	sbuf_adds(&str, "");
	for (i = 0; i < n; i++) {
		koff[i] = (uint32_t)str.len;
		sbuf_add(&str, e[i].name, strlen(e[i].name) + 1);
		voff[i] = (uint32_t)str.len;
		sbuf_add(&str, e[i].path, strlen(e[i].path) + 1);
	}
	sbuf_adds(out, "");
	if (lay != LAYOUT_NEW) {
		sbuf_add(out, "ld.so-1.7.0", 11);
		sbuf_addc(out, 0);
		put32(out, (uint32_t)n);
		sbase = lay == LAYOUT_BOTH ? (uint32_t)(pad + newsize) : 0;
		for (i = 0; i < n; i++) {
			put32(out, (uint32_t)e[i].flags);
			put32(out, sbase + koff[i]);
			put32(out, sbase + voff[i]);
		}
		if (lay == LAYOUT_BOTH)
			for (i = 0; i < pad; i++)
				sbuf_addc(out, 0);
	}
	if (lay != LAYOUT_OLD) {
		sbuf_add(out, "glibc-ld.so.cache1.1", 20);
		put32(out, (uint32_t)n);
		put32(out, (uint32_t)str.len);
		sbuf_addc(out, __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? 2 : 3);
		sbuf_add(out, "\0\0\0", 3);
		put32(out, 0);		/* no extension directory */
		put32(out, 0);
		put32(out, 0);
		put32(out, 0);
		for (i = 0; i < n; i++) {
			put32(out, (uint32_t)e[i].flags);
			put32(out, (uint32_t)newsize + koff[i]);
			put32(out, (uint32_t)newsize + voff[i]);
			put32(out, 0);
			put64(out, e[i].hwcap);
		}
	}
	sbuf_add(out, str.buf, str.len);
	sbuf_free(&str);
	free(koff);
	free(voff);
}

/* Collects "flags name => path [hwcap]" lines. */
static int collect(void *arg, const struct gpu_ldcache_entry *e)
{
	sbuf_addf(arg, "%04x %s => %s %llx\n", (unsigned)e->flags, e->name, e->path,
		  (unsigned long long)e->hwcap);
	return 0;
}

/* Parses a copy of exactly len bytes (so that the sanitizer build sees any
 * read past them). */
static int parse_copy(struct pkgimg_ctx *ctx, const char *data, size_t len, struct sbuf *lines)
{
	char *copy = xmalloc(len ? len : 1);
	struct sbuf none = SBUF_INIT;
	int r;

	memcpy(copy, data, len);
	r = gpu_ldcache_parse(ctx, "test.cache", copy, len, collect, lines ? lines : &none);
	free(copy);
	sbuf_free(&none);
	return r;
}

static const struct cent layout_entries[] = {
	{ 0x0303, "libcuda.so.1", LIBDIR "/libcuda.so.1", 0 },
	{ 0x0003, "libcuda.so.1", "/usr/lib/i386-linux-gnu/libcuda.so.1", 0 },
	{ 0x0303, "libz.so.1", "/lib/x86_64-linux-gnu/libz.so.1", 0 },
	{ 0x0303, "libnvidia-ml.so.1", LIBDIR "/glibc-hwcaps/x86-64-v3/libnvidia-ml.so.1",
	  0x4000000000000000ull },
	{ 0x0a03, "libfoo.so", "/usr/lib/aarch64-linux-gnu/libfoo.so", 0 },
};
#define NLAYOUT (sizeof layout_entries / sizeof layout_entries[0])

static void t_ldcache_layouts(void)
{
	struct pkgimg_ctx ctx;
	int lay, r;

	pkgimg_ctx_init(&ctx);
	for (lay = LAYOUT_NEW; lay <= LAYOUT_OLD; lay++) {
		struct sbuf cache = SBUF_INIT, got = SBUF_INIT, want = SBUF_INIT;
		char name[128];
		size_t i;

		cache_write(&cache, layout_entries, NLAYOUT, (enum layout)lay);
		for (i = 0; i < NLAYOUT; i++)
			sbuf_addf(&want, "%04x %s => %s %llx\n", (unsigned)layout_entries[i].flags,
				  layout_entries[i].name, layout_entries[i].path,
				  lay == LAYOUT_OLD ? 0ull : (unsigned long long)layout_entries[i].hwcap);
		r = parse_copy(&ctx, cache.buf, cache.len, &got);
		snprintf(name, sizeof name, "ld.so cache, %s layout: every entry, in order, with its "
			 "flags%s", layout_names[lay], lay == LAYOUT_OLD ? "" : " and hwcap");
		check(r == 0 && got.buf && !strcmp(got.buf, want.buf), name,
		      "r=%d %s got:\n%s\nwant:\n%s", r, ctx.errmsg, got.buf ? got.buf : "", want.buf);
		sbuf_free(&cache);
		sbuf_free(&got);
		sbuf_free(&want);
	}
	{
		struct sbuf cache = SBUF_INIT, got = SBUF_INIT;

		cache_write(&cache, NULL, 0, LAYOUT_NEW);
		r = parse_copy(&ctx, cache.buf, cache.len, &got);
		check(r == 0 && got.len == 0, "an empty ld.so cache has no entries", "r=%d %s", r,
		      ctx.errmsg);
		sbuf_free(&cache);
		sbuf_free(&got);
	}
	check(gpu_ldcache_native(0x0303) && !gpu_ldcache_native(0x0003) &&
	      !gpu_ldcache_native(0x0a03) && !gpu_ldcache_native(0x0800),
	      "this machine's ABI is libc6,x86-64 (not i386, x32 or arm64)", "%s", "");
}

static void t_ldcache_corrupt(void)
{
	struct pkgimg_ctx ctx;
	struct sbuf cache = SBUF_INIT;
	int lay, r;
	char *file;

	pkgimg_ctx_init(&ctx);
	for (lay = LAYOUT_NEW; lay <= LAYOUT_OLD; lay++) {
		size_t len, bad = (size_t)-1;
		int badr = 0;
		char name[128];

		sbuf_reset(&cache);
		cache_write(&cache, layout_entries, NLAYOUT, (enum layout)lay);
		/* the strings come last: any cut loses at least a NUL */
		for (len = 0; len < cache.len && bad == (size_t)-1; len++) {
			r = parse_copy(&ctx, cache.buf, len, NULL);
			if (r != -PKGIMG_E_PARSE || !strstr(ctx.errmsg, "test.cache: [gpu]") ||
			    !strstr(ctx.errmsg, "ldconfig")) {
				bad = len;
				badr = r;
			}
		}
		snprintf(name, sizeof name, "ld.so cache, %s layout: each of its %zu truncations is "
			 "an error that names the file and the fix", layout_names[lay], cache.len);
		check(bad == (size_t)-1, name, "at %zu bytes: r=%d %s", bad, badr, ctx.errmsg);
	}

	sbuf_reset(&cache);
	cache_write(&cache, layout_entries, NLAYOUT, LAYOUT_NEW);
	{
		char *c = xmalloc(cache.len);
		uint32_t v;

		memcpy(c, cache.buf, cache.len);
		v = 0xffffffffu;
		memcpy(c + 20, &v, 4);
		r = parse_copy(&ctx, c, cache.len, NULL);
		check(r == -PKGIMG_E_PARSE && strstr(ctx.errmsg, "4294967295 entries"),
		      "an entry count past the end is an error", "r=%d %s", r, ctx.errmsg);

		memcpy(c, cache.buf, cache.len);
		v = 0xfffffff0u;
		memcpy(c + 48 + 24 + 4, &v, 4);		/* entry 2's name */
		r = parse_copy(&ctx, c, cache.len, NULL);
		check(r == -PKGIMG_E_PARSE && strstr(ctx.errmsg, "entry 2 of 5") &&
		      strstr(ctx.errmsg, "its name"),
		      "a string offset past the end is an error naming the entry", "r=%d %s", r,
		      ctx.errmsg);

		memcpy(c, cache.buf, cache.len);
		c[cache.len - 1] = 'x';
		r = parse_copy(&ctx, c, cache.len, NULL);
		check(r == -PKGIMG_E_PARSE, "a last string without its NUL is an error", "r=%d %s",
		      r, ctx.errmsg);

		memcpy(c, cache.buf, cache.len);
		c[28] = __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? 3 : 2;
		r = parse_copy(&ctx, c, cache.len, NULL);
		check(r == -PKGIMG_E_PARSE && strstr(ctx.errmsg, "byte order"),
		      "a cache of the other byte order is an error", "r=%d %s", r, ctx.errmsg);

		memcpy(c, cache.buf, cache.len);
		c[0] = 'G';
		r = parse_copy(&ctx, c, cache.len, NULL);
		check(r == -PKGIMG_E_PARSE && strstr(ctx.errmsg, "not an ld.so cache"),
		      "a file of another kind is not an ld.so cache", "r=%d %s", r, ctx.errmsg);
		free(c);
	}
	sbuf_reset(&cache);
	cache_write(&cache, layout_entries, NLAYOUT, LAYOUT_BOTH);
	{
		char *c = xmalloc(cache.len);
		uint32_t v = 0x7fffffffu;

		memcpy(c, cache.buf, cache.len);
		memcpy(c + 12, &v, 4);
		r = parse_copy(&ctx, c, cache.len, NULL);
		check(r == -PKGIMG_E_PARSE && strstr(ctx.errmsg, "2147483647 entries"),
		      "an old-format entry count past the end is an error", "r=%d %s", r,
		      ctx.errmsg);
		free(c);
	}

	file = path_of("truncated.cache");
	write_bytes(file, cache.buf, cache.len / 2, 0644);
	r = gpu_ldcache_read(&ctx, file, collect, &cache);
	check(r == -PKGIMG_E_PARSE && strstr(ctx.errmsg, file) && strstr(ctx.errmsg, "ldconfig"),
	      "a truncated cache file: an error naming it", "r=%d %s", r, ctx.errmsg);
	unlink(file);
	r = gpu_ldcache_read(&ctx, file, collect, &cache);
	check(r == -PKGIMG_E_NOTFOUND && strstr(ctx.errmsg, file) && strstr(ctx.errmsg, "ldconfig"),
	      "a missing cache file: not found, run ldconfig", "r=%d %s", r, ctx.errmsg);
	free(file);
	sbuf_free(&cache);
}

/* The host's cache: what `ldconfig -p` lists, and every truncation of it. */
static void t_ldcache_host(void)
{
	static const char *const ldconfigs[] = { "/sbin/ldconfig", "/usr/sbin/ldconfig" };
	struct pkgimg_ctx ctx;
	struct sbuf data = SBUF_INIT, got = SBUF_INIT, want = SBUF_INIT;
	const char *ldconfig = NULL;
	char line[8192], *libc_ours = NULL, *libc_theirs = NULL;
	size_t i, len, n_ok = 0, n_err = 0, n_other = 0, count = 0, nlines = 0;
	int r, header = -1;
	char *cmd = NULL;
	FILE *p;

	pkgimg_ctx_init(&ctx);
	for (i = 0; i < sizeof ldconfigs / sizeof ldconfigs[0]; i++)
		if (access(ldconfigs[i], X_OK) == 0)
			ldconfig = ldconfigs[i];
	if (!ldconfig || fs_read_file(NULL, AT_FDCWD, "/etc/ld.so.cache", &data) < 0) {
		skip("the host's ld.so cache as ldconfig -p lists it",
		     "no ldconfig or no /etc/ld.so.cache here");
		goto out;
	}
	/* ours: "NAME => PATH" per entry */
	r = gpu_ldcache_parse(&ctx, "/etc/ld.so.cache", data.buf, data.len, collect, &got);
	{
		struct sbuf plain = SBUF_INIT;
		const char *s = got.buf ? got.buf : "";

		while (*s) {
			const char *nl = strchr(s, '\n'), *sp = strchr(s, ' ');
			const char *last = memrchr(s, ' ', (size_t)(nl - s));
			unsigned flags = (unsigned)strtoul(s, NULL, 16);
			struct blob entry = { sp + 1, (size_t)(last - sp - 1) };

			sbuf_addf(&plain, BLOB_FMT "\n", BLOB_ARG(entry));
			if (!strncmp(entry.ptr, "libc.so.6 => ", 13) &&
			    gpu_ldcache_native((int32_t)flags) && !libc_ours)
				libc_ours = blob_dup((struct blob){ entry.ptr + 13, entry.len - 13 });
			count++;
			s = nl + 1;
		}
		sbuf_free(&got);
		got = plain;
	}
	/* theirs: "\tNAME (DESC) => PATH" */
	cmd = xasprintf("%s -p 2>/dev/null", ldconfig);
	p = popen(cmd, "r");
	while (p && fgets(line, sizeof line, p)) {
		char *arrow = strstr(line, ") => "), *open = strstr(line, " (");
		size_t n = strcspn(line, "\n");

		line[n] = 0;
		if (header < 0 && strstr(line, " libs found in cache"))
			header = atoi(line);
		if (line[0] != '\t' || !arrow || !open)
			continue;
		*open = 0;
		*arrow = 0;
		sbuf_addf(&want, "%s => %s\n", line + 1, arrow + 5);
		nlines++;
#ifdef __x86_64__
		{
			int theirs = !strncmp(open + 2, "libc6,x86-64", 12) &&
				     (open[14] == 0 || open[14] == ',');

			if (!strcmp(line + 1, "libc.so.6") && theirs && !libc_theirs)
				libc_theirs = xstrdup(arrow + 5);
		}
#endif
	}
	if (p)
		pclose(p);
	check(r == 0 && want.len > 0 && got.buf && !strcmp(got.buf, want.buf) &&
	      (header < 0 || (size_t)header == count),
	      "the host's ld.so cache: the same entries, in the same order, as ldconfig -p",
	      "r=%d %s; ours %zu entries, ldconfig %zu lines (header %d); ours:\n%.2000s\n"
	      "theirs:\n%.2000s", r, ctx.errmsg, count, nlines, header,
	      got.buf ? got.buf : "", want.buf ? want.buf : "");
#ifdef __x86_64__
	check(libc_ours && libc_theirs && !strcmp(libc_ours, libc_theirs),
	      "libc.so.6 for this ABI: where ldconfig -p says it is", "ours %s, ldconfig %s",
	      libc_ours ? libc_ours : "(none)", libc_theirs ? libc_theirs : "(none)");
#endif
	/* every truncation: an error or (a cut in the trailing extension) fine,
	 * never anything else */
	for (len = 0; len < data.len; len++) {
		r = parse_copy(&ctx, data.buf, len, NULL);
		if (r == 0)
			n_ok++;
		else if (r == -PKGIMG_E_PARSE)
			n_err++;
		else
			n_other++;
	}
	check(n_other == 0 && n_err > data.len / 2 && parse_copy(&ctx, data.buf, 47, NULL) ==
	      -PKGIMG_E_PARSE && parse_copy(&ctx, data.buf, data.len / 2, NULL) == -PKGIMG_E_PARSE,
	      "every truncation of the host's cache parses or is a parse error (no crash)",
	      "%zu bytes: %zu fine, %zu parse errors, %zu other", data.len, n_ok, n_err, n_other);
out:
	free(cmd);
	free(libc_ours);
	free(libc_theirs);
	sbuf_free(&data);
	sbuf_free(&got);
	sbuf_free(&want);
}

/* ---- a fake driver tree ---- */

static const char fake_smi[] =
	"#!/bin/sh\n"
	"# what nvidia-smi prints for the queries pkgimg makes\n"
	"if [ \"$1\" = -L ]; then\n"
	"\techo 'GPU 0: NVIDIA H200 (UUID: GPU-fake)'\n"
	"\texit 0\n"
	"fi\n"
	"cat <<'EOF'\n"
	"Thu Nov 28 09:00:00 2026\n"
	"+-----------------------------------------------------------------------------------------+\n"
	"| NVIDIA-SMI 580.65.06              Driver Version: 580.65.06      CUDA Version: 13.0     |\n"
	"+-----------------------------------------+------------------------+----------------------+\n"
	"|   0  NVIDIA H200                    On  |   00000000:00:05.0 Off |                    0 |\n"
	"+-----------------------------------------+------------------------+----------------------+\n"
	"EOF\n";

static const char fake_cuda[] = "FAKE libcuda 580.65.06\n";

static void make_node(const char *root, const char *rel)
{
	char *p = xasprintf("%s/%s", root, rel), *dir = xstrdup(p);

	*strrchr(dir, '/') = 0;
	mkdir_p(dir);
	if (mknod(p, S_IFCHR | 0666, makedev(1, 3)) < 0)
		die(p, strerror(errno));
	chmod(p, 0666);
	free(dir);
	free(p);
}

static void root_file(const char *root, const char *rel, const char *text, mode_t mode)
{
	char *p = xasprintf("%s/%s", root, rel);

	write_file(p, text, mode);
	free(p);
}

static void root_link(const char *root, const char *rel, const char *target)
{
	char *p = xasprintf("%s/%s", root, rel);

	make_link(target, p);
	free(p);
}

static void write_cache(const char *root, const struct cent *e, size_t n)
{
	struct sbuf c = SBUF_INIT;
	char *p = xasprintf("%s/etc/ld.so.cache", root);

	cache_write(&c, e, n, LAYOUT_NEW);
	write_bytes(p, c.buf, c.len, 0644);
	sbuf_free(&c);
	free(p);
}

/* The driver as a host has it, with what must be left out: an i386
 * libcuda listed first, a glibc-hwcaps variant, a link that climbs out of
 * the tree, a stale entry, a library of no interest. */
static const struct cent fake_entries[] = {
	{ 0x0003, "libcuda.so.1", "/usr/lib/i386-linux-gnu/libcuda.so.1", 0 },
	{ 0x0303, "libcuda.so.1", "/lib/x86_64-linux-gnu/libcuda.so.1", 0 },
	{ 0x0303, "libcuda.so", LIBDIR "/libcuda.so", 0 },
	{ 0x0303, "libnvidia-ptxjitcompiler.so.1",
	  LIBDIR "/glibc-hwcaps/x86-64-v3/libnvidia-ptxjitcompiler.so.1", 0x4000000000000001ull },
	{ 0x0303, "libnvidia-ptxjitcompiler.so.1", LIBDIR "/libnvidia-ptxjitcompiler.so.1", 0 },
	{ 0x0303, "libnvidia-ml.so.1", "/lib/x86_64-linux-gnu/libnvidia-ml.so.1", 0 },
	{ 0x0303, "libnvidia-cfg.so.1", LIBDIR "/libnvidia-cfg.so.1", 0 },
	{ 0x0303, "libnvidia-opencl.so.1", LIBDIR "/libnvidia-opencl.so.1", 0 },
	{ 0x0303, "libz.so.1", LIBDIR "/libz.so.1", 0 },
};

static void make_fake_root(const char *root)
{
	static const char *const nodes[] = {
		"dev/nvidiactl", "dev/nvidia-uvm", "dev/nvidia0", "dev/nvidia1", "dev/nvidia10",
		"dev/nvidia2", "dev/nvidia-caps/nvidia-cap2", "dev/nvidia-caps/nvidia-cap1",
	};
	size_t i;

	for (i = 0; i < sizeof nodes / sizeof nodes[0]; i++)
		make_node(root, nodes[i]);
	root_file(root, "dev/nvidiafoo", "not a GPU\n", 0644);
	root_file(root, "proc/driver/nvidia/version",
		  "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  580.65.06  Release "
		  "Build  (dvs-builder@U16-I3-B03-4-3)  Tue Jul 22 2025\n"
		  "GCC version:  gcc version 12.2.0 (Debian 12.2.0-14)\n", 0444);
	root_file(root, "usr/bin/nvidia-smi", fake_smi, 0755);
	root_file(root, "usr/bin/nvidia-debugdump", "#!/bin/sh\necho debugdump\n", 0755);
	root_file(root, "usr/bin/nvidia-persistenced", "not executable\n", 0644);
	/* merged /usr: /lib -> usr/lib, so the cache's /lib paths go through it */
	root_link(root, "lib", "usr/lib");
	root_file(root, LIBDIR "/libcuda.so.580.65.06", fake_cuda, 0644);
	root_link(root, LIBDIR "/libcuda.so.1", "libcuda.so.580.65.06");
	root_link(root, LIBDIR "/libcuda.so", "libcuda.so.1");
	root_file(root, "usr/lib/i386-linux-gnu/libcuda.so.1", "i386\n", 0644);
	root_file(root, LIBDIR "/libnvidia-ptxjitcompiler.so.580.65.06", "ptxjit\n", 0644);
	root_link(root, LIBDIR "/libnvidia-ptxjitcompiler.so.1",
		  "libnvidia-ptxjitcompiler.so.580.65.06");
	root_file(root, LIBDIR "/glibc-hwcaps/x86-64-v3/libnvidia-ptxjitcompiler.so.1",
		  "v3\n", 0644);
	root_file(root, LIBDIR "/libnvidia-ml.so.580.65.06", "nvml\n", 0644);
	/* absolute: resolved in the tree, not on the host */
	root_link(root, LIBDIR "/libnvidia-ml.so.1", LIBDIR "/libnvidia-ml.so.580.65.06");
	/* climbs out: stays in the tree, where there is no such file */
	root_link(root, LIBDIR "/libnvidia-cfg.so.1", "../../../../../../../../../../etc/hostname");
	root_file(root, LIBDIR "/libz.so.1", "zlib\n", 0644);
	write_cache(root, fake_entries, sizeof fake_entries / sizeof fake_entries[0]);
}

/* "src -> dst (ro|rw)" per bind, the src with the root and the attach dir
 * spelled ROOT and DIR. */
static char *describe_binds(const struct gpu_attach *a, const char *root)
{
	struct sbuf s = SBUF_INIT;
	int i;

	sbuf_adds(&s, "");
	for (i = 0; i < a->nbinds; i++) {
		const char *src = a->binds[i].src;

		if (a->dir && !strncmp(src, a->dir, strlen(a->dir)))
			sbuf_addf(&s, "DIR%s", src + strlen(a->dir));
		else if (!strncmp(src, root, strlen(root)))
			sbuf_addf(&s, "ROOT%s", src + strlen(root));
		else
			sbuf_adds(&s, src);
		sbuf_addf(&s, " -> %s (%s)\n", a->binds[i].dst, a->binds[i].readonly ? "ro" : "rw");
	}
	return sbuf_detach(&s);
}

/* "name" or "name -> target" per entry of dir, sorted. */
static char *describe_dir(const char *dir)
{
	struct strv names = { 0 };
	struct sbuf s = SBUF_INIT;
	struct dirent *de;
	DIR *d = opendir(dir);
	size_t i;

	sbuf_adds(&s, "");
	if (!d)
		return sbuf_detach(&s);
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			strv_add(&names, de->d_name);
	closedir(d);
	strv_sort(&names);
	for (i = 0; i < names.n; i++) {
		char *p = xasprintf("%s/%s", dir, names.v[i]), link[512];
		struct stat st;
		ssize_t n;

		if (lstat(p, &st) == 0 && S_ISLNK(st.st_mode) &&
		    (n = readlink(p, link, sizeof link - 1)) > 0) {
			link[n] = 0;
			sbuf_addf(&s, "%s -> %s\n", names.v[i], link);
		} else if (lstat(p, &st) == 0 && S_ISREG(st.st_mode)) {
			sbuf_addf(&s, "%s (%lld bytes, %o)\n", names.v[i], (long long)st.st_size,
				  (unsigned)(st.st_mode & 07777));
		} else {
			sbuf_addf(&s, "%s (?)\n", names.v[i]);
		}
		free(p);
	}
	strv_free(&names);
	return sbuf_detach(&s);
}

static const char want_binds[] =
	"ROOT/dev/nvidiactl -> /dev/nvidiactl (rw)\n"
	"ROOT/dev/nvidia-uvm -> /dev/nvidia-uvm (rw)\n"
	"ROOT/dev/nvidia0 -> /dev/nvidia0 (rw)\n"
	"ROOT/dev/nvidia1 -> /dev/nvidia1 (rw)\n"
	"ROOT/dev/nvidia2 -> /dev/nvidia2 (rw)\n"
	"ROOT/dev/nvidia10 -> /dev/nvidia10 (rw)\n"
	"ROOT/dev/nvidia-caps/nvidia-cap1 -> /dev/nvidia-caps/nvidia-cap1 (rw)\n"
	"ROOT/dev/nvidia-caps/nvidia-cap2 -> /dev/nvidia-caps/nvidia-cap2 (rw)\n"
	"DIR/lib64 -> /usr/local/nvidia/lib64 (ro)\n"
	"ROOT" LIBDIR "/libcuda.so.580.65.06 -> /usr/local/nvidia/lib64/libcuda.so.580.65.06 (ro)\n"
	"ROOT" LIBDIR "/libnvidia-ptxjitcompiler.so.580.65.06 -> "
	"/usr/local/nvidia/lib64/libnvidia-ptxjitcompiler.so.580.65.06 (ro)\n"
	"ROOT" LIBDIR "/libnvidia-ml.so.580.65.06 -> "
	"/usr/local/nvidia/lib64/libnvidia-ml.so.580.65.06 (ro)\n"
	"ROOT/usr/bin/nvidia-smi -> /usr/bin/nvidia-smi (ro)\n"
	"ROOT/usr/bin/nvidia-debugdump -> /usr/bin/nvidia-debugdump (ro)\n"
	"DIR/ld.so.conf -> /etc/ld.so.conf.d/000-pkgimg-nvidia.conf (ro)\n";

static const char want_libdir[] =
	"libcuda.so -> libcuda.so.1\n"
	"libcuda.so.1 -> libcuda.so.580.65.06\n"
	"libcuda.so.580.65.06 (0 bytes, 644)\n"
	"libnvidia-ml.so -> libnvidia-ml.so.1\n"
	"libnvidia-ml.so.1 -> libnvidia-ml.so.580.65.06\n"
	"libnvidia-ml.so.580.65.06 (0 bytes, 644)\n"
	"libnvidia-ptxjitcompiler.so -> libnvidia-ptxjitcompiler.so.1\n"
	"libnvidia-ptxjitcompiler.so.1 -> libnvidia-ptxjitcompiler.so.580.65.06\n"
	"libnvidia-ptxjitcompiler.so.580.65.06 (0 bytes, 644)\n";

static char fake_root[300], scratch[300];

static void t_attach_fake(void)
{
	struct pkgimg_ctx ctx;
	struct gpu_info info;
	struct gpu_attach a;
	char *got, *dir, *p, *conf;
	int r, i, escaped = 0;

	pkgimg_ctx_init(&ctx);
	setenv(GPU_ROOT_ENV, fake_root, 1);
	r = gpu_detect(&ctx, "--gpu", &info);
	check(r == 0 && !strcmp(info.driver, "580.65.06") && !strcmp(info.cuda, "13.0") &&
	      !strcmp(info.root, fake_root),
	      "gpu_detect on the fake tree: driver 580.65.06, CUDA 13.0", "r=%d %s driver=%s cuda=%s",
	      r, ctx.errmsg, r == 0 ? info.driver : "", r == 0 ? info.cuda : "");
	if (r == 0)
		gpu_info_free(&info);

	memset(&a, 0, sizeof a);
	r = gpu_attach_prepare(&ctx, scratch, &a);
	check(r == 0, "gpu_attach_prepare on the fake tree", "r=%d %s", r, ctx.errmsg);
	if (r < 0)
		return;
	got = describe_binds(&a, fake_root);
	check(!strcmp(got, want_binds),
	      "binds: devices (rw), the library dir then each library, the tools, the ld.so "
	      "config (ro), in mount order; i386, hwcap, stale, escaping and unrelated entries "
	      "left out", "got:\n%s\nwant:\n%s", got, want_binds);
	free(got);
	for (i = 0; i < a.nbinds; i++)
		if (strstr(a.binds[i].src, "hostname") || strncmp(a.binds[i].src, "/", 1))
			escaped = 1;
	check(!escaped, "no bind source outside the tree (the climbing link stays inside)", "%s", "");

	dir = xasprintf("%s/lib64", a.dir);
	got = describe_dir(dir);
	check(!strcmp(got, want_libdir),
	      "the library dir: an empty mount point per library, soname and unversioned links",
	      "got:\n%s\nwant:\n%s", got, want_libdir);
	free(got);
	free(dir);

	p = xasprintf("%s/ld.so.conf", a.dir);
	conf = read_file(p);
	check(!strcmp(conf, "/usr/local/nvidia/lib64\n"), "the ld.so config names the dir",
	      "'%s'", conf);
	free(conf);
	free(p);

	{
		struct sbuf e = SBUF_INIT;

		sbuf_adds(&e, "");
		for (i = 0; a.env && a.env[i]; i++)
			sbuf_addf(&e, "%s\n", a.env[i]);
		check(!strcmp(e.buf, "LD_LIBRARY_PATH=/usr/local/nvidia/lib64\n"
			      "NVIDIA_VISIBLE_DEVICES=all\n"
			      "NVIDIA_DRIVER_CAPABILITIES=compute,utility\n"),
		      "env: LD_LIBRARY_PATH, NVIDIA_VISIBLE_DEVICES, NVIDIA_DRIVER_CAPABILITIES",
		      "%s", e.buf);
		sbuf_free(&e);
	}
	check(!strncmp(a.dir, scratch, strlen(scratch)) && a.dir[strlen(scratch)] == '/',
	      "the scratch dir is under the given parent", "%s", a.dir);
	dir = xstrdup(a.dir);
	gpu_attach_free(&a);
	check(access(dir, F_OK) < 0 && dir_entries(scratch) == 0 && a.nbinds == 0 && !a.binds,
	      "gpu_attach_free removes the scratch dir", "%s: %d entries left in %s", dir,
	      dir_entries(scratch), scratch);
	free(dir);
}

static void t_attach_errors(void)
{
	struct pkgimg_ctx ctx;
	struct gpu_attach a, marker;
	char *nogpu = path_of("nogpu"), *half = path_of("half"), *p;
	int r;

	pkgimg_ctx_init(&ctx);
	mkdir_p(nogpu);
	setenv(GPU_ROOT_ENV, nogpu, 1);
	memset(&marker, 0x5a, sizeof marker);
	a = marker;
	r = gpu_attach_prepare(&ctx, scratch, &a);
	p = xasprintf("%s/dev/nvidiactl is missing", nogpu);
	check(r == -PKGIMG_E_NOTFOUND && !strncmp(ctx.errmsg, "--gpu: ", 7) &&
	      strstr(ctx.errmsg, "no NVIDIA GPU") && strstr(ctx.errmsg, p) &&
	      strstr(ctx.errmsg, "install the NVIDIA driver") && strstr(ctx.errmsg, "drop --gpu") &&
	      !memcmp(&a, &marker, sizeof a) && dir_entries(scratch) == 0,
	      "no GPU: --gpu, what is missing and the fix; nothing written or left",
	      "r=%d %s", r, ctx.errmsg);
	free(p);

	/* a driver and nvidia-smi, but no ld.so cache; then one without libcuda */
	make_node(half, "dev/nvidiactl");
	root_file(half, "usr/bin/nvidia-smi", fake_smi, 0755);
	setenv(GPU_ROOT_ENV, half, 1);
	r = gpu_attach_prepare(&ctx, scratch, &a);
	check(r == -PKGIMG_E_NOTFOUND && strstr(ctx.errmsg, "--gpu") &&
	      strstr(ctx.errmsg, "/etc/ld.so.cache") && strstr(ctx.errmsg, "ldconfig") &&
	      dir_entries(scratch) == 0,
	      "no ld.so cache: an error naming it and ldconfig; the scratch dir removed",
	      "r=%d %s (%d entries in scratch)", r, ctx.errmsg, dir_entries(scratch));
	write_cache(half, fake_entries + 6, 3);
	r = gpu_attach_prepare(&ctx, scratch, &a);
	check(r == -PKGIMG_E_NOTFOUND && strstr(ctx.errmsg, "no libcuda.so") &&
	      strstr(ctx.errmsg, "drop --gpu") && dir_entries(scratch) == 0,
	      "an ld.so cache without libcuda: an error with the fix", "r=%d %s", r, ctx.errmsg);
	p = xasprintf("%s/etc/ld.so.cache", half);
	write_file(p, "glibc-ld.so.cache1.1 but cut short", 0644);
	r = gpu_attach_prepare(&ctx, scratch, &a);
	check(r == -PKGIMG_E_PARSE && strstr(ctx.errmsg, p) && dir_entries(scratch) == 0,
	      "a corrupt ld.so cache: a parse error naming it", "r=%d %s", r, ctx.errmsg);
	free(p);
	unsetenv(GPU_ROOT_ENV);
	free(nogpu);
	free(half);
}

/* ---- in the sandbox ---- */

static void copy_file(const char *src, const char *dst, mode_t mode)
{
	struct sbuf s = SBUF_INIT;

	if (fs_read_file(NULL, AT_FDCWD, src, &s) < 0)
		die(src, strerror(errno));
	write_bytes(dst, s.buf, s.len, mode);
	sbuf_free(&s);
}

/* Runs argv (or fn) over the layer with the attach's binds and env; the
 * command's stdout and stderr in *out.  Returns sandbox_run's result. */
static int run_attached(const struct gpu_attach *a, const char *layer, char *const *argv,
			int (*fn)(struct pkgimg_ctx *, char *const *, void *), int *status,
			char **out, char *err, size_t errlen)
{
	struct pkgimg_ctx ctx;
	struct sandbox_opts o;
	struct strv env = { 0 };
	const char *lowers[1] = { layer };
	char *outp = path_of("sandbox.out");
	int fd, r, i;

	pkgimg_ctx_init(&ctx);
	strv_add(&env, SB_PATH);
	strv_add(&env, "HOME=/root");
	for (i = 0; a->env[i]; i++)
		strv_add(&env, a->env[i]);
	fd = open(outp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		die(outp, strerror(errno));
	if (fd <= 2) {
		int fd2 = fcntl(fd, F_DUPFD_CLOEXEC, 3);

		close(fd);
		fd = fd2;
	}
	memset(&o, 0, sizeof o);
	o.lowers = lowers;
	o.nlowers = 1;
	o.scratch = scratch;
	o.argv = argv;
	o.env = env.v;
	o.binds = a->binds;
	o.nbinds = a->nbinds;
	o.network = 1;
	o.output_fd = fd;
	o.fn = fn;
	*status = -1;
	fflush(stdout);
	r = sandbox_run(&ctx, &o, status);
	close(fd);
	*out = read_file(outp);
	snprintf(err, errlen, "%s", ctx.errmsg);
	strv_free(&env);
	free(outp);
	return r;
}

static char *make_busybox_layer(const char *rel)
{
	static const char *const applets[] = {
		"sh", "cat", "echo", "test", "readlink", "ls", "env", "touch", "head", "grep",
	};
	char *layer = path_of(rel), *p;
	size_t i;

	p = xasprintf("%s/bin/busybox", layer);
	copy_file(busybox, p, 0755);
	free(p);
	for (i = 0; i < sizeof applets / sizeof applets[0]; i++) {
		p = xasprintf("%s/bin/%s", layer, applets[i]);
		make_link("busybox", p);
		free(p);
	}
	/* no /etc/ld.so.conf.d, no /usr/local, no /usr/bin: the mount points come
	 * from the sandbox */
	p = xasprintf("%s/etc/os-release", layer);
	write_file(p, "ID=pkgimg-test\n", 0644);
	free(p);
	return layer;
}

static const char e2e_script[] =
	"nvidia-smi -L\n"
	"test -c /dev/nvidiactl && echo ctl=chr\n"
	"test -c /dev/nvidia0 && echo dev0=chr\n"
	"test -c /dev/nvidia-uvm && echo uvm=chr\n"
	"test -c /dev/nvidia-caps/nvidia-cap1 && echo cap1=chr\n"
	"cat /dev/nvidia0 && echo dev0=read\n"
	"readlink -f /usr/local/nvidia/lib64/libcuda.so.1\n"
	"readlink -f /usr/local/nvidia/lib64/libcuda.so\n"
	"cat /usr/local/nvidia/lib64/libcuda.so.1\n"
	"test -r /usr/local/nvidia/lib64/libcuda.so.1 && echo lib=readable\n"
	"(echo x >> /usr/local/nvidia/lib64/libcuda.so.1) 2>/dev/null || echo lib=not-writable\n"
	"touch /usr/local/nvidia/lib64/new 2>/dev/null || echo libdir=read-only\n"
	"cat /etc/ld.so.conf.d/000-pkgimg-nvidia.conf\n"
	"echo LD_LIBRARY_PATH=$LD_LIBRARY_PATH\n"
	"echo NVIDIA_VISIBLE_DEVICES=$NVIDIA_VISIBLE_DEVICES\n"
	"nvidia-debugdump\n";

static const char e2e_want[] =
	"GPU 0: NVIDIA H200 (UUID: GPU-fake)\n"
	"ctl=chr\n"
	"dev0=chr\n"
	"uvm=chr\n"
	"cap1=chr\n"
	"dev0=read\n"
	"/usr/local/nvidia/lib64/libcuda.so.580.65.06\n"
	"/usr/local/nvidia/lib64/libcuda.so.580.65.06\n"
	"FAKE libcuda 580.65.06\n"
	"lib=readable\n"
	"lib=not-writable\n"
	"libdir=read-only\n"
	"/usr/local/nvidia/lib64\n"
	"LD_LIBRARY_PATH=/usr/local/nvidia/lib64\n"
	"NVIDIA_VISIBLE_DEVICES=all\n"
	"debugdump\n";

/* Returns false when namespaces are unavailable (the caller skips). */
static bool t_sandbox_fake(void)
{
	char *argv[] = { "sh", "-c", (char *)e2e_script, NULL };
	struct pkgimg_ctx ctx;
	struct gpu_attach a;
	char err[8192], *out = NULL, *layer, *lib, *libtext;
	int r, status;
	bool ran = true;

	pkgimg_ctx_init(&ctx);
	setenv(GPU_ROOT_ENV, fake_root, 1);
	r = gpu_attach_prepare(&ctx, scratch, &a);
	unsetenv(GPU_ROOT_ENV);
	if (r < 0) {
		check(false, "end to end on the fake tree", "prepare: r=%d %s", r, ctx.errmsg);
		return true;
	}
	layer = make_busybox_layer("image");
	r = run_attached(&a, layer, argv, NULL, &status, &out, err, sizeof err);
	if (r < 0 && strstr(err, "unshare")) {
		skip("end to end on the fake tree", "namespaces are not available here");
		ran = false;
		goto out;
	}
	check(r == 0 && status == 0 && !strcmp(out, e2e_want),
	      "in the sandbox: nvidia-smi -L, the device nodes, libcuda.so.1 -> the library "
	      "(readable, read-only), the ld.so config, LD_LIBRARY_PATH",
	      "r=%d status=%d err='%s'\nout:\n%s\nwant:\n%s", r, status, err, out, e2e_want);
	lib = xasprintf("%s" LIBDIR "/libcuda.so.580.65.06", fake_root);
	libtext = read_file(lib);
	check(!strcmp(libtext, fake_cuda) && dir_entries(layer) == 2,
	      "the host's library and the image's layer are untouched",
	      "library '%s', %d entries in the layer", libtext, dir_entries(layer));
	free(libtext);
	free(lib);
out:
	gpu_attach_free(&a);
	check(dir_entries(scratch) == 0, "the scratch parent is left empty", "%d entries",
	      dir_entries(scratch));
	free(out);
	free(layer);
	return ran;
}

/* ---- the real driver ---- */

typedef int (*cu_init_fn)(unsigned);
typedef int (*cu_count_fn)(int *);
typedef int (*cu_get_fn)(int *, int);
typedef int (*cu_name_fn)(char *, int, int);

/* In the sandbox, as the command (a fork of this test, so its stdio is
 * ours: it writes with dprintf): cuInit() through the attached libcuda. */
static __attribute__((unused)) int cuda_probe(struct pkgimg_ctx *ctx, char *const *env, void *arg)
{
	void *h = dlopen(GPU_LIB_DIR "/libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
	cu_init_fn init;
	cu_count_fn count;
	cu_get_fn get;
	cu_name_fn name;
	char devname[256] = "";
	int n = -1, dev = -1, rc;

	(void)ctx;
	(void)env;
	(void)arg;
	if (!h) {
		dprintf(1, "dlopen: %s\n", dlerror());
		return 1;
	}
	init = (cu_init_fn)dlsym(h, "cuInit");
	count = (cu_count_fn)dlsym(h, "cuDeviceGetCount");
	get = (cu_get_fn)dlsym(h, "cuDeviceGet");
	name = (cu_name_fn)dlsym(h, "cuDeviceGetName");
	if (!init || !count || !get || !name) {
		dprintf(1, "dlsym: %s\n", dlerror());
		return 1;
	}
	rc = init(0);
	if (rc == 0)
		rc = count(&n);
	if (rc == 0 && n > 0)
		rc = get(&dev, 0);
	if (rc == 0 && n > 0)
		rc = name(devname, sizeof devname, dev);
	dprintf(1, "cuInit=%d devices=%d name=%s\n", rc, n, devname);
	return rc == 0 && n > 0 ? 0 : 1;
}

struct want_libs {
	const char *const *names;
	char **paths;
	size_t n;
};

static int find_libs(void *arg, const struct gpu_ldcache_entry *e)
{
	struct want_libs *w = arg;

	for (size_t i = 0; i < w->n; i++)
		if (!w->paths[i] && !e->hwcap && gpu_ldcache_native(e->flags) &&
		    !strcmp(e->name, w->names[i]))
			w->paths[i] = xstrdup(e->path);
	return 0;
}

/* An image of the host's glibc (what nvidia-smi and the driver's libraries
 * need), found through the host's ld.so cache. */
static char *make_glibc_layer(const char *rel)
{
	static const char *const names[] = {
		"libc.so.6", "libm.so.6", "libdl.so.2", "libpthread.so.0", "librt.so.1",
		"libgcc_s.so.1", "ld-linux-x86-64.so.2",
	};
	char *paths[sizeof names / sizeof names[0]] = { 0 };
	struct want_libs w = { names, paths, sizeof names / sizeof names[0] };
	char *layer = path_of(rel), *p;
	size_t i;

	gpu_ldcache_read(NULL, "/etc/ld.so.cache", find_libs, &w);
	if (!paths[w.n - 1])
		paths[w.n - 1] = xstrdup("/lib64/ld-linux-x86-64.so.2");
	for (i = 0; i < w.n; i++) {
		char *real = paths[i] ? realpath(paths[i], NULL) : NULL;

		if (real) {
			p = xasprintf("%s/lib/x86_64-linux-gnu/%s", layer, names[i]);
			copy_file(real, p, 0755);
			free(p);
			p = xasprintf("%s/lib64/%s", layer, names[i]);
			copy_file(real, p, 0755);
			free(p);
		}
		free(real);
		free(paths[i]);
	}
	p = xasprintf("%s/etc/os-release", layer);
	write_file(p, "ID=pkgimg-test-glibc\n", 0644);
	free(p);
	return layer;
}

static void t_real_gpu(void)
{
	char *smi_argv[] = { "nvidia-smi", "-L", NULL };
	struct pkgimg_ctx ctx;
	struct gpu_attach a;
	char err[8192], *out = NULL, *layer = NULL, *binds = NULL;
	int r, status;

	if (access("/dev/nvidiactl", F_OK) < 0) {
		skip("the real GPU in the sandbox", "no NVIDIA driver on this host");
		return;
	}
	pkgimg_ctx_init(&ctx);
	unsetenv(GPU_ROOT_ENV);
	r = gpu_attach_prepare(&ctx, scratch, &a);
	check(r == 0, "gpu_attach_prepare on this host's driver", "r=%d %s", r, ctx.errmsg);
	if (r < 0)
		return;
	binds = describe_binds(&a, "/");
	printf("# driver %s, CUDA %s, nvidia-smi %s; binds:\n", a.info.driver, a.info.cuda,
	       a.info.smi);
	for (char *s = binds, *nl; *s; s = nl + 1) {
		nl = strchr(s, '\n');
		printf("#   %.*s\n", (int)(nl - s), s);
	}
	layer = make_glibc_layer("glibc-image");
	r = run_attached(&a, layer, smi_argv, NULL, &status, &out, err, sizeof err);
	check(r == 0 && status == 0 && !strncmp(out, "GPU 0: ", 7),
	      "the real driver: nvidia-smi -L in the sandbox lists the GPU",
	      "r=%d status=%d err='%s' out='%s'", r, status, err, out);
	printf("# %s", out);
	free(out);
	out = NULL;
#if defined(__SANITIZE_ADDRESS__)
	skip("the real driver: cuInit() in the sandbox", "not under AddressSanitizer");
#else
	char *probe_argv[] = { "cuda-probe", NULL };

	r = run_attached(&a, layer, probe_argv, cuda_probe, &status, &out, err, sizeof err);
	check(r == 0 && status == 0 && strstr(out, "cuInit=0 devices="),
	      "the real driver: cuInit() through the attached libcuda.so.1 finds the GPU",
	      "r=%d status=%d err='%s' out='%s'", r, status, err, out);
	printf("# %s", out);
#endif
	free(out);
	free(layer);
	free(binds);
	gpu_attach_free(&a);
}

int main(void)
{
	const char *tmp = getenv("TMPDIR"), *why = NULL;
	char *p;

	setvbuf(stdout, NULL, _IOLBF, 0);
	/* not /tmp: it may be a tmpfs (no user xattrs for the sandbox's overlay
	 * on old kernels) or mounted nodev */
	snprintf(base, sizeof base, "%s/pkgimg-test-gpu-XXXXXX", tmp && *tmp ? tmp : "/var/tmp");
	if (!mkdtemp(base))
		die(base, strerror(errno));
	snprintf(fake_root, sizeof fake_root, "%s/gpu", base);
	snprintf(scratch, sizeof scratch, "%s/scratch", base);
	mkdir_p(scratch);
	unsetenv(GPU_ROOT_ENV);

	t_ldcache_layouts();
	t_ldcache_corrupt();
	t_ldcache_host();

	busybox = access("/bin/busybox", X_OK) == 0 ? "/bin/busybox" : getenv("PKGIMG_TEST_BUSYBOX");
	if (geteuid() != 0)
		why = "needs root (mknod, the sandbox)";
	if (why) {
		skip("gpu_attach_prepare on a fake driver tree", why);
		skip("gpu_attach_prepare errors", why);
		skip("end to end on the fake tree", why);
		skip("the real GPU in the sandbox", why);
		goto done;
	}
	make_fake_root(fake_root);
	t_attach_fake();
	t_attach_errors();
	if (!busybox || access(busybox, X_OK) < 0)
		skip("end to end on the fake tree", "busybox-static not installed");
	else if (!t_sandbox_fake()) {
		skip("the real GPU in the sandbox", "namespaces are not available here");
		goto done;
	}
	t_real_gpu();
done:
	p = xasprintf("%s", base);
	if (!failures)
		rm_rf(p);
	else
		printf("# left %s for inspection\n", p);
	free(p);
	printf("%d passed, %d failed, %d skipped\n", passed, failures, skipped);
	return failures ? 1 : 0;
}
