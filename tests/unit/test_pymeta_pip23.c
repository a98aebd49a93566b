/* pymeta_extra_pip23_differs: where pip 23.0-23.2 (safe_extra, packaging
 * 21.3) take an extra otherwise than PEP 685; the cases pip itself answers
 * in tests/integration/47-pypi-extras-pip23.sh, and the spellings where
 * both agree. */
#include <stdlib.h>
#include <string.h>

#include "core/ctx.h"
#include "pyspec/pymeta.h"
#include "check.h"

/* Whether pip 23 differs for metadata `meta` (header lines) and [raw]. */
static int differs(const char *meta, const char *raw)
{
	char *text = NULL, *why;
	struct pymeta m;
	int r;

	if (asprintf(&text, "Metadata-Version: 2.1\nName: p\nVersion: 1.0\n%s", meta) < 0)
		return -1;
	if (pymeta_parse(NULL, "METADATA", text, strlen(text), &m) < 0) {
		free(text);
		return -1;
	}
	why = pymeta_extra_pip23_differs(&m, raw);
	r = why != NULL;
	free(why);
	pymeta_free(&m);
	free(text);
	return r;
}

int main(void)
{
	static const struct {
		const char *meta, *raw;
		int want;
	} cases[] = {
		/* declared in another spelling: pip 23 "does not provide the extra" */
		{ "Provides-Extra: use_chardet_on_py3\n", "use-chardet-on-py3", 1 },
		{ "Provides-Extra: foo-bar\n", "foo_bar", 1 },
		{ "Provides-Extra: foo-bar\n", "Foo.Bar", 1 },
		/* a marker spelled otherwise: false to packaging 21.3 */
		{ "Provides-Extra: foo-bar\nRequires-Dist: click; extra == 'foo_bar'\n", "foo-bar", 1 },
		{ "Provides-Extra: FooBar\nRequires-Dist: click; extra == 'FooBar'\n", "foobar", 1 },
		{ "Provides-Extra: foo-bar\nRequires-Dist: click; 'foo_bar' == extra\n", "foo-bar", 1 },
		/* the same to both */
		{ "Provides-Extra: foo-bar\nRequires-Dist: click; extra == 'foo-bar'\n", "foo-bar", 0 },
		{ "Provides-Extra: foo_bar\nRequires-Dist: click; extra == 'foo_bar'\n", "foo_bar", 0 },
		{ "Provides-Extra: socks\nRequires-Dist: pysocks; extra == 'socks'\n", "SOCKS", 0 },
		{ "Provides-Extra: FooBar\n", "foobar", 0 },	/* both lowercase it */
		{ "Provides-Extra: a\nRequires-Dist: x; extra == 'other_one'\n", "a", 0 },
		{ "", "ghost", 0 },				/* not declared: both say so */
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int got = differs(cases[i].meta, cases[i].raw);
		char name[512];

		snprintf(name, sizeof name, "pip 23 %s [%s] with %s", cases[i].want ? "differs for" :
			 "agrees on", cases[i].raw, *cases[i].meta ? cases[i].meta : "no extra");
		check(got == cases[i].want, name, "got %d", got);
	}
	printf("# %d checks, %d failed\n", passed + failures, failures);
	return failures ? 1 : 0;
}
