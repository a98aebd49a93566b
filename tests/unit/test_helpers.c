/* Unit tests of the small helpers issue 16 gathered in one place each (they
 * were static copies in two to eight files): core/str's string, hex, line
 * and character-class helpers, core/fs's path helpers, core/tree's overlay
 * marks, and runtime/sandbox's one default environment of a command in an
 * image.  Each check pins the behaviour every former copy's callers rely
 * on. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "core/fs.h"
#include "core/str.h"
#include "core/tree.h"
#include "runtime/sandbox.h"
#include "tests/unit/check.h"

static void test_str(void)
{
	const char *v[] = { "b", "a", "c" };
	struct strv sv = { 0 };

	check(str_ends_with("x.tar.zst", ".tar.zst") && !str_ends_with("zst", ".tar.zst") &&
	      !str_ends_with("X.WHL", ".whl"), "str_ends_with: exact suffix", " ");
	check(str_iends_with("X.WHL", ".whl") && !str_iends_with("x.whl.txt", ".whl"),
	      "str_iends_with: ASCII case ignored", " ");
	check(str_starts_with("info-x", "info-") && !str_starts_with("inf", "info-"),
	      "str_starts_with", " ");
	check(blob_ends_with((struct blob){ "a.condaXX", 7 }, ".conda") &&
	      !blob_ends_with((struct blob){ "a.conda", 6 }, ".conda"),
	      "blob_ends_with: only the blob's bytes count", " ");
	qsort(v, 3, sizeof *v, str_cmp_ptr);
	check(!strcmp(v[0], "a") && !strcmp(v[1], "b") && !strcmp(v[2], "c"),
	      "str_cmp_ptr sorts char *", "%s %s %s", v[0], v[1], v[2]);
	strv_add_unique(&sv, "x");
	strv_add_unique(&sv, "y");
	strv_add_unique(&sv, "x");
	check(sv.n == 2 && !sv.v[2], "strv_add_unique: no repeat, NULL-terminated", "n=%zu", sv.n);
	strv_free(&sv);
}

static void test_hex(void)
{
	char h[65];

	memset(h, 'a', 64);
	h[64] = 0;
	check(hex_is64(h), "hex_is64: 64 lowercase digits", " ");
	h[3] = 'A';
	check(!hex_is64(h), "hex_is64: uppercase refused (the store writes lowercase)", " ");
	h[3] = 0;
	check(!hex_is64(h) && !hex_is64(NULL), "hex_is64: short, NULL refused", " ");
	check(hex_is_lower("09af", 4) && !hex_is_lower("09ag", 4) && !hex_is_lower("0\0", 2),
	      "hex_is_lower: a NUL byte is not hex (release.c's strchr copy took it)", " ");
}

static void test_lines(void)
{
	struct blob b = BLOB_STR("a\r\nb\n\nc"), l;
	const char *want[] = { "a", "b", "", "c" };
	size_t n = 0;
	bool same = true;

	while (blob_line(&b, &l)) {
		same = same && n < 4 && blob_eq_str(l, want[n]);
		n++;
	}
	check(same && n == 4, "blob_line: \\n cuts, a \\r before it dropped, no line after the last \\n",
	      "n=%zu", n);
	b = (struct blob)BLOB_STR("x\n");
	n = 0;
	while (blob_line(&b, &l))
		n++;
	check(n == 1, "blob_line: a final \\n ends the last line", "n=%zu", n);
}

static void test_classes(void)
{
	check(ascii_ispyspace('\x1c') && ascii_ispyspace('\v') && !ascii_ispyspace('\x80') &&
	      !ascii_isspace('\x1c') && ascii_isspace('\f') && ascii_isspace('\v') &&
	      !ascii_isspace('\x7f'),
	      "ascii_isspace is C's, ascii_ispyspace Python's (0x1c-0x1f too)", " ");
	check(ascii_ispyword('_') && ascii_ispyword('\xc3') && !ascii_ispyword('-'),
	      "ascii_ispyword: \\w, non-ASCII bytes included", " ");
	check(ascii_ispysep('-') && ascii_ispysep('_') && ascii_ispysep('.') && !ascii_ispysep('+'),
	      "ascii_ispysep: - _ .", " ");
}

static void test_paths(void)
{
	char *j = path_join("", "a"), *k = path_join("d", "a"), *abs = path_abs("/x/y");

	check(!strcmp(path_base("a/b/c"), "c") && !strcmp(path_base("c"), "c"), "path_base", " ");
	check(!strcmp(j, "a") && !strcmp(k, "d/a"), "path_join: the root's child has no slash",
	      "%s %s", j, k);
	check(!strcmp(abs, "/x/y"), "path_abs: an absolute path as it is", "%s", abs);
	free(abs);
	abs = path_abs("rel");
	check(abs[0] == '/' && str_ends_with(abs, "/rel"), "path_abs: a relative one under the cwd",
	      "%s", abs);
	check(fs_exists("/") && !fs_exists("/nonexistent-pkgimg-helper"), "fs_exists", " ");
	free(abs);
	free(j);
	free(k);
}

static void test_tree_marks(void)
{
	struct stat sb = { 0 };

	sb.st_mode = S_IFCHR | 0600;
	sb.st_rdev = makedev(0, 0);
	check(tree_is_whiteout(&sb), "tree_is_whiteout: a 0:0 character device", " ");
	sb.st_rdev = makedev(1, 3);
	check(!tree_is_whiteout(&sb), "tree_is_whiteout: /dev/null is not one", " ");
}

static bool has(char *const *env, const char *kv)
{
	for (; env && *env; env++)
		if (!strcmp(*env, kv))
			return true;
	return false;
}

static void test_default_env(void)
{
	char *image[] = { "PATH=/opt/bin", "FOO=1", NULL };
	struct strv env = { 0 };

	setenv("TERM", "", 1);
	sandbox_default_env(&env, SANDBOX_ENV_ALL, NULL);
	check(env.n == 4 && !strcmp(env.v[0], "PATH=" SANDBOX_DEFAULT_PATH) &&
	      !strcmp(env.v[1], "HOME=/root") && !strcmp(env.v[2], "LANG=C.UTF-8") &&
	      !strcmp(env.v[3], "TERM=xterm"),
	      "default env: PATH, HOME, LANG, TERM (xterm when the caller's is empty)", "n=%zu",
	      env.n);
	strv_free(&env);
	setenv("TERM", "vt100", 1);
	sandbox_default_env(&env, SANDBOX_ENV_BASE | SANDBOX_ENV_TERM, image);
	check(env.n == 3 && !has(env.v, "PATH=" SANDBOX_DEFAULT_PATH) && has(env.v, "TERM=vt100"),
	      "default env: what the image sets is left out; TERM is the caller's", "n=%zu", env.n);
	strv_free(&env);
	sandbox_default_env(&env, SANDBOX_ENV_PATH | SANDBOX_ENV_LANG, NULL);
	check(env.n == 2 && !strcmp(env.v[0], "PATH=" SANDBOX_DEFAULT_PATH) &&
	      !strcmp(env.v[1], "LANG=C.UTF-8"),
	      "default env: only the variables asked for (the OCI config's PATH and LANG)", "n=%zu",
	      env.n);
	strv_free(&env);
}

int main(void)
{
	test_str();
	test_hex();
	test_lines();
	test_classes();
	test_paths();
	test_tree_marks();
	test_default_env();
	printf("# %d passed, %d failed\n", passed, failures);
	return failures ? 1 : 0;
}
