/* The unit tests' reporting, shared by those that include it (each test is
 * one translation unit): "ok - NAME" or "not ok - NAME" and "# DETAIL" on one
 * line each, control characters escaped so a name cannot break the format
 * that tests/run.sh counts.  `passed` and `failures` count the checks. */
#ifndef PKGIMG_TESTS_CHECK_H
#define PKGIMG_TESTS_CHECK_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

static int passed, failures;

/* A test name on one line: control characters as \n, \t, \xHH. */
static void print_escaped(const char *s)
{
	for (; *s; s++) {
		if (*s == '\n')
			fputs("\\n", stdout);
		else if (*s == '\t')
			fputs("\\t", stdout);
		else if ((unsigned char)*s < 0x20)
			printf("\\x%02x", (unsigned char)*s);
		else
			putchar(*s);
	}
}

static void check(bool ok, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4), unused));
static void check(bool ok, const char *name, const char *fmt, ...)
{
	char detail[2048];
	va_list ap;

	if (ok)
		passed++;
	else
		failures++;
	printf("%s - ", ok ? "ok" : "not ok");
	print_escaped(name);
	printf("\n");
	if (!ok) {
		va_start(ap, fmt);
		vsnprintf(detail, sizeof detail, fmt, ap);
		va_end(ap);
		printf("# ");
		print_escaped(detail);
		printf("\n");
	}
	fflush(stdout);
}

#endif
