/* core/lockfile.c and core/spec.c are bounded and the lockfile is checked:
 * a nesting past the depth limit and an input past the size limit are
 * refused quickly with LINE:COL; every malformed value of a lockfile
 * (packages not a list, another platform, a base that is no image, a
 * negative size, a short sha256, an unknown ecosystem, an empty name...) is
 * refused with the key and its LINE:COL; a lockfile of 3000 layers loads in
 * linear time; a spec mapping of many keys finds its duplicate quickly.
 * Prints "ok - NAME" / "not ok - NAME" (+ "# detail"); exits non-zero on a
 * failure. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ctx.h"
#include "core/error.h"
#include "core/lockfile.h"
#include "core/spec.h"
#include "core/str.h"

#include "tests/unit/check.h"

static struct pkgimg_ctx ctx;

#define SHA "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

/* A lockfile of one apt package; the fields are replaced by the tests. */
static char *lock_text(const char *platform, const char *base, const char *packages,
		       const char *size, const char *sha, const char *eco, const char *name)
{
	struct sbuf sb = SBUF_INIT;

	sbuf_addf(&sb, "version: 1\nplatform: %s\nbase: %s\nsources: []\nlayers:\n"
		  "- step: 'apt: hello'\n", platform, base);
	if (packages) {
		sbuf_addf(&sb, "  packages: %s\n", packages);
	} else {
		sbuf_addf(&sb, "  packages:\n  - ecosystem: %s\n    name: %s\n    version: \"1.0\"\n"
			  "    arch: amd64\n    url: http://127.0.0.1/hello.deb\n    sha256: %s\n"
			  "    size: %s\n    requested_by: hello\n", eco, name, sha, size);
	}
	return sbuf_detach(&sb);
}

static int parse(const char *text, struct lockfile *lf)
{
	return lockfile_parse(&ctx, "t.lock", text, strlen(text), lf);
}

/* The text is refused with a message holding each of the words. */
static void refused(const char *name, char *text, const char *w1, const char *w2)
{
	struct lockfile lf = { 0 };
	int r = parse(text, &lf);

	check(r == -PKGIMG_E_PARSE && strstr(ctx.errmsg, w1) && (!w2 || strstr(ctx.errmsg, w2)),
	      name, "r=%d msg=%s", r, ctx.errmsg);
	if (r == 0)
		lockfile_free(&lf);
	free(text);
}

static void test_valid(void)
{
	char *t = lock_text("linux/amd64", "scratch", NULL, "10", SHA, "apt", "hello");
	struct lockfile lf = { 0 };
	int r = parse(t, &lf);

	check(r == 0 && lf.nlayers == 1 && lf.layers[0].npkgs == 1 &&
	      lf.layers[0].pkgs[0].size == 10, "valid: a small lockfile reads", "r=%d %s", r,
	      ctx.errmsg);
	if (r == 0)
		lockfile_free(&lf);
	free(t);
	t = lock_text("linux/amd64", "sha256:" SHA, "[]", NULL, NULL, NULL, NULL);
	r = parse(t, &lf);
	check(r == 0 && !strcmp(lf.base, "sha256:" SHA), "valid: an image id as the base, no "
	      "packages", "r=%d %s", r, ctx.errmsg);
	if (r == 0)
		lockfile_free(&lf);
	free(t);
}

static void test_invalid(void)
{
	refused("packages: a string is refused with the key and line:col",
		lock_text("linux/amd64", "scratch", "\"oops\"", NULL, NULL, NULL, NULL),
		"t.lock:7:13:", "'packages' must be a list");
	refused("platform: another one names it and the host's",
		lock_text("linux/arm64", "scratch", NULL, "10", SHA, "apt", "hello"),
		"t.lock:2:11: [lock] 'platform' is linux/arm64", "this host is linux/amd64");
	refused("base: a path is not debian-slim, scratch or an image id",
		lock_text("linux/amd64", "../../etc", NULL, "10", SHA, "apt", "hello"),
		"t.lock:3:7: [lock] 'base' is '../../etc'", "debian-slim, scratch or an image id");
	refused("base: a short image id",
		lock_text("linux/amd64", "sha256:abc", NULL, "10", SHA, "apt", "hello"),
		"t.lock:3:7:", "'base'");
	refused("size: negative",
		lock_text("linux/amd64", "scratch", NULL, "-5", SHA, "apt", "hello"),
		"t.lock:14:11:", "'size' is '-5'");
	refused("size: not a number",
		lock_text("linux/amd64", "scratch", NULL, "12k", SHA, "apt", "hello"),
		"t.lock:14:11:", "'size' is '12k'");
	refused("size: past 2^63",
		lock_text("linux/amd64", "scratch", NULL, "99999999999999999999", SHA, "apt",
			  "hello"), "t.lock:14:11:", "'size'");
	refused("sha256: 63 hex digits",
		lock_text("linux/amd64", "scratch", NULL, "10", SHA + 1, "apt", "hello"),
		"t.lock:13:13:", "malformed sha256");
	refused("sha256: upper case",
		lock_text("linux/amd64", "scratch", NULL, "10",
			  "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "apt",
			  "hello"), "t.lock:13:13:", "malformed sha256");
	refused("ecosystem: an unknown one",
		lock_text("linux/amd64", "scratch", NULL, "10", SHA, "rpm", "hello"),
		"t.lock:8:16:", "'ecosystem' is 'rpm'");
	refused("name: empty",
		lock_text("linux/amd64", "scratch", NULL, "10", SHA, "apt", "''"),
		"t.lock:9:11:", "'name' is empty");
	refused("name: a list",
		lock_text("linux/amd64", "scratch", NULL, "10", SHA, "apt", "[a, b]"),
		"t.lock:9:11:", "'name' must be a string, not a list");
	refused("version: '2' is refused",
		xstrdup("version: 2\nplatform: linux/amd64\nbase: scratch\nlayers: []\n"),
		"t.lock:1:10:", "version '2'");
	refused("version: '1x' is refused",
		xstrdup("version: 1x\nplatform: linux/amd64\nbase: scratch\nlayers: []\n"),
		"t.lock:1:10:", "version '1x'");
	refused("layers: missing",
		xstrdup("version: 1\nplatform: linux/amd64\nbase: scratch\n"),
		"t.lock:1:1:", "missing 'layers'");
	refused("layers: an item that is not a mapping",
		xstrdup("version: 1\nplatform: linux/amd64\nbase: scratch\nlayers: [x]\n"),
		"t.lock:4:10:", "layer 1 must be a mapping");
	refused("sources: a mapping",
		xstrdup("version: 1\nplatform: linux/amd64\nbase: scratch\nsources: {a: b}\n"
			"layers: []\n"), "t.lock:4:10:", "'sources' must be a list");
	refused("sources: an unknown type",
		xstrdup("version: 1\nplatform: linux/amd64\nbase: scratch\nsources:\n"
			"- {type: svn, uri: x}\nlayers: []\n"), "t.lock:5:10:", "'type' is 'svn'");
	refused("sources: an apt source's digest",
		xstrdup("version: 1\nplatform: linux/amd64\nbase: scratch\nsources:\n"
			"- {type: apt, uri: x, suite: s, components: [main], inrelease_sha256: 12,"
			" date: d}\nlayers: []\n"), "t.lock:5:", "'inrelease_sha256'");
	refused("anchors and aliases are refused",
		xstrdup("version: 1\nplatform: linux/amd64\nbase: scratch\nlayers:\n- &a {step: x,"
			" packages: []}\n- *a\n"), "t.lock:5:3:", "anchor");
	refused("a second document is refused",
		xstrdup("version: 1\nplatform: linux/amd64\nbase: scratch\nlayers: []\n---\n"
			"a: 1\n"), "t.lock:5:1:", "second YAML document");
	refused("a NUL in a value is refused",
		xstrdup("version: 1\nplatform: \"linux/amd64\\0x\"\nbase: scratch\nlayers: []\n"),
		"t.lock:2:11:", "NUL");
}

/* n levels of '[' on one line, closed. */
static char *nested(const char *prefix, int n)
{
	struct sbuf sb = SBUF_INIT;

	sbuf_adds(&sb, prefix);
	for (int i = 0; i < n; i++)
		sbuf_addc(&sb, '[');
	for (int i = 0; i < n; i++)
		sbuf_addc(&sb, ']');
	sbuf_addc(&sb, '\n');
	return sbuf_detach(&sb);
}

static void test_limits(void)
{
	char *t = nested("version: 1\nplatform: linux/amd64\nbase: scratch\nlayers: ", 100000);
	struct lockfile lf = { 0 };
	struct spec s = { 0 };
	int64_t t0 = pkgimg_now_ms(), ms;
	int r = parse(t, &lf);

	ms = pkgimg_now_ms() - t0;
	check(r == -PKGIMG_E_PARSE && strstr(ctx.errmsg, "t.lock:4:40: [lock] nested more than 32 "
					    "levels") && ms < 1000,
	      "depth: a lockfile nested 100k levels is refused at once, with line:col",
	      "r=%d %lld ms %s", r, (long long)ms, ctx.errmsg);
	free(t);
	t = nested("steps: ", 100000);
	t0 = pkgimg_now_ms();
	r = spec_parse_text(&ctx, "/tmp/p.yaml", t, strlen(t), &s);
	ms = pkgimg_now_ms() - t0;
	check(r == -PKGIMG_E_USAGE && strstr(ctx.errmsg, "/tmp/p.yaml:1:39: [spec] nested more "
					    "than 32 levels") && ms < 1000,
	      "depth: a spec nested 100k levels is refused at once, with line:col",
	      "r=%d %lld ms %s", r, (long long)ms, ctx.errmsg);
	if (r == 0)
		spec_free(&s);
	free(t);

	t = xmalloc(LOCKFILE_MAX_BYTES + 2);
	memset(t, '#', LOCKFILE_MAX_BYTES + 1);
	memcpy(t, "# x\n#", 5);
	t[LOCKFILE_MAX_BYTES + 1] = 0;
	r = lockfile_parse(&ctx, "t.lock", t, LOCKFILE_MAX_BYTES + 1, &lf);
	check(r == -PKGIMG_E_PARSE && strstr(ctx.errmsg, "t.lock:2:67108861: [lock] the lockfile "
					    "is larger than 64 MiB"),
	      "size: a lockfile past the limit is refused, with line:col", "r=%d %s", r,
	      ctx.errmsg);
	free(t);
	t = xmalloc(SPEC_MAX_BYTES + 2);
	memset(t, '#', SPEC_MAX_BYTES + 1);
	t[SPEC_MAX_BYTES + 1] = 0;
	r = spec_parse_text(&ctx, "/tmp/p.yaml", t, SPEC_MAX_BYTES + 1, &s);
	check(r == -PKGIMG_E_USAGE && strstr(ctx.errmsg, "/tmp/p.yaml:1:1048577: [spec] the spec is "
					    "larger than 1024 KiB"),
	      "size: a spec past the limit is refused, with line:col", "r=%d %s", r, ctx.errmsg);
	if (r == 0)
		spec_free(&s);
	free(t);
}

static void test_linear(void)
{
	int64_t ms[2];
	int n[2] = { 300, 3000 };

	for (int k = 0; k < 2; k++) {
		struct sbuf sb = SBUF_INIT;
		struct lockfile lf = { 0 };
		int64_t t0;
		int r;

		sbuf_adds(&sb, "version: 1\nplatform: linux/amd64\nbase: scratch\nlayers:\n");
		for (int i = 0; i < n[k]; i++)
			sbuf_addf(&sb, "- step: 'apt: p%d'\n  packages:\n  - ecosystem: apt\n"
				  "    name: p%d\n    version: \"1\"\n    arch: amd64\n    url: u\n"
				  "    sha256: " SHA "\n    size: 1\n    requested_by: p\n", i, i);
		t0 = pkgimg_now_ms();
		r = lockfile_parse(&ctx, "t.lock", sb.buf, sb.len, &lf);
		ms[k] = pkgimg_now_ms() - t0;
		check(r == 0 && lf.nlayers == n[k], n[k] == 300 ? "linear: 300 layers read"
		      : "linear: 3000 layers read", "r=%d %s", r, ctx.errmsg);
		if (r == 0)
			lockfile_free(&lf);
		sbuf_free(&sb);
	}
	printf("# lockfile_parse: 300 layers %lld ms, 3000 layers %lld ms\n", (long long)ms[0],
	       (long long)ms[1]);
	check(ms[1] < 2000 && ms[1] <= 30 * (ms[0] + 2), "linear: 10x the layers, about 10x the "
	      "time", "%lld ms, %lld ms", (long long)ms[0], (long long)ms[1]);
}

static void test_spec_many_keys(void)
{
	struct sbuf sb = SBUF_INIT;
	struct spec s = { 0 };
	int64_t t0, ms;
	int r;

	sbuf_adds(&sb, "steps:\n- env:\n");
	for (int i = 0; i < 60000; i++)
		sbuf_addf(&sb, "    K%d: v\n", i);
	sbuf_adds(&sb, "    K7: again\n");
	t0 = pkgimg_now_ms();
	r = spec_parse_text(&ctx, "/tmp/p.yaml", sb.buf, sb.len, &s);
	ms = pkgimg_now_ms() - t0;
	check(r == -PKGIMG_E_USAGE && strstr(ctx.errmsg, "/tmp/p.yaml:60003:5: [spec] duplicate "
					    "key 'K7'") && strstr(ctx.errmsg, "first at 10:5") &&
	      ms < 3000, "spec: a duplicate among 60000 keys is found quickly, first at its place",
	      "r=%d %lld ms %s", r, (long long)ms, ctx.errmsg);
	if (r == 0)
		spec_free(&s);
	sbuf_free(&sb);
}

int main(void)
{
	pkgimg_ctx_init(&ctx);
	ctx.arch = "amd64";
	test_valid();
	test_invalid();
	test_limits();
	test_linear();
	test_spec_many_keys();
	printf("%d passed, %d failed\n", passed, failures);
	return failures ? 1 : 0;
}
