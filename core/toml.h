/* TOML 1.0 (https://toml.io/en/v1.0.0) read into a tree, for pyproject.toml,
 * pylock.toml (PEP 751) and uv.lock.  Hostile input is bounded: at most
 * TOML_MAX_BYTES of text and TOML_MAX_DEPTH levels of nesting; every rule
 * of the spec that a document can break (redefined keys and tables,
 * appending to a static array, invalid escapes, leading zeros, bad dates,
 * control characters, invalid UTF-8) is an error naming the line and
 * column. */
#ifndef PKGIMG_CORE_TOML_H
#define PKGIMG_CORE_TOML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pkgimg_ctx;

#define TOML_MAX_BYTES	(64u << 20)
#define TOML_MAX_DEPTH	64

enum toml_type {
	TOML_TABLE,
	TOML_ARRAY,
	TOML_STRING,
	TOML_INT,
	TOML_FLOAT,
	TOML_BOOL,
	TOML_DATETIME,		/* offset/local date-time, local date, local time */
};

struct toml_value {
	enum toml_type type;
	char *s;		/* STRING: the decoded UTF-8 text; DATETIME: as
				 * written, with 'T' for a space separator */
	int64_t i;		/* INT */
	double f;		/* FLOAT (inf, nan included) */
	bool b;			/* BOOL */
	/* TABLE: n keys (decoded) and their values, in document order;
	 * ARRAY: n items (keys NULL) */
	char **keys;
	struct toml_value *items;
	size_t n;
	unsigned line;		/* where it was defined (1-based), for messages */
};

/* Parses text[0..len) (what: the file's name, for messages).  On success
 * *out is the root table; on error -PKGIMG_E_PARSE with "WHAT:LINE:COL:
 * [parse] …" on ctx and *out untouched. */
int toml_parse(struct pkgimg_ctx *ctx, const char *what, const char *text, size_t len,
	       struct toml_value *out);
/* Reads and parses a file (at most TOML_MAX_BYTES). */
int toml_parse_file(struct pkgimg_ctx *ctx, const char *path, struct toml_value *out);
void toml_free(struct toml_value *v);

/* t's value for key, or NULL (t not a table, or no such key). */
const struct toml_value *toml_get(const struct toml_value *t, const char *key);
/* Follows dotted keys from t ("project.optional-dependencies"; a key
 * with a dot in it cannot be named this way: use toml_get). */
const struct toml_value *toml_path(const struct toml_value *t, const char *dotted);
/* v's text when v is a string, else NULL. */
const char *toml_str(const struct toml_value *v);
/* The name of a type, for messages ("table", "array", "string", …). */
const char *toml_type_name(enum toml_type t);

#endif
