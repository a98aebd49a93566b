/* Strings: length-carrying slices (blob), a growable buffer (sbuf), and
 * allocation that aborts on out-of-memory, as libsolv's solv_* do, so small
 * allocations are never checked by their callers. */
#ifndef PKGIMG_STR_H
#define PKGIMG_STR_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <string.h>

/* ASCII character classes, the same whatever the locale (<ctype.h> is not:
 * the CLI sets LC_CTYPE, and package metadata is ASCII by its specs). */
static inline char ascii_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static inline bool ascii_isdigit(char c)
{
	return c >= '0' && c <= '9';
}

static inline bool ascii_isalpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static inline bool ascii_isalnum(char c)
{
	return ascii_isdigit(c) || ascii_isalpha(c);
}

/* C's isspace() in the C locale: ' ', \t, \n, \v, \f, \r. */
static inline bool ascii_isspace(char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

/* Python's str.isspace() and re's \s on ASCII: C's isspace() and the
 * separators 0x1c to 0x1f. */
static inline bool ascii_ispyspace(char c)
{
	unsigned char u = (unsigned char)c;

	return u == ' ' || (u >= '\t' && u <= '\r') || (u >= 0x1c && u <= 0x1f);
}

/* Python's \w on UTF-8 text, near enough: ASCII letters, digits, '_', and
 * any non-ASCII byte (identifiers and names may be Unicode). */
static inline bool ascii_ispyword(char c)
{
	return ascii_isalnum(c) || c == '_' || (unsigned char)c >= 0x80;
}

/* The separators of Python packaging: '-', '_', '.' (PEP 440's version
 * separators; runs of them in a name, PEP 503, normalise to one '-'). */
static inline bool ascii_ispysep(char c)
{
	return c == '-' || c == '_' || c == '.';
}

/* The value of a hex digit (either case), or -1. */
static inline int ascii_hexval(char c)
{
	if (ascii_isdigit(c))
		return c - '0';
	c = ascii_lower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* s[0..n) are lowercase hex digits (as a sha256 is written in the store,
 * in a lock and in a Release file; uppercase is refused). */
bool hex_is_lower(const char *s, size_t n);
/* s (NULL allowed) is 64 lowercase hex digits: a sha256 digest. */
bool hex_is64(const char *s);

struct blob {
	const char *ptr;
	size_t len;
};

#define BLOB_NULL ((struct blob){ NULL, 0 })
#define BLOB_STR(s) ((struct blob){ (s), strlen(s) })
#define BLOB_FMT "%.*s"
#define BLOB_ARG(b) (int)(b).len, (b).ptr

bool blob_eq_str(struct blob b, const char *s);
/* The same, ASCII letters compared without case. */
bool blob_ieq_str(struct blob b, const char *s);
bool blob_ends_with(struct blob b, const char *suffix);
struct blob blob_trim(struct blob b);
/* Splits b at the first c: *head gets what comes before, b what comes after.
 * Returns false (head = all of b, b empty) when c does not occur. */
bool blob_split(struct blob *b, char c, struct blob *head);
/* Next whitespace-separated word of *b, or an empty blob at the end. */
struct blob blob_word(struct blob *b);
/* The next line of *b into *line, without its "\n" and a "\r" before it;
 * *b moves past it.  false when b is empty (the end). */
bool blob_line(struct blob *b, struct blob *line);
char *blob_dup(struct blob b);

struct sbuf {
	char *buf;	/* always NUL-terminated once anything was added */
	size_t len;
	size_t cap;
};

#define SBUF_INIT { NULL, 0, 0 }

void sbuf_grow(struct sbuf *s, size_t extra);
void sbuf_add(struct sbuf *s, const void *data, size_t len);
void sbuf_adds(struct sbuf *s, const char *str);
void sbuf_addc(struct sbuf *s, char c);
/* Appends code point cp as UTF-8 (1 to 4 bytes; cp must be a valid
 * Unicode scalar value, the caller decides what replaces the others). */
void sbuf_add_utf8(struct sbuf *s, uint32_t cp);
void sbuf_addf(struct sbuf *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void sbuf_reset(struct sbuf *s);
void sbuf_free(struct sbuf *s);
/* Hands the buffer to the caller (never NULL) and resets s. */
char *sbuf_detach(struct sbuf *s);

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A growable array of owned strings. */
struct strv {
	char **v;
	size_t n;
	size_t cap;
};

bool str_starts_with(const char *s, const char *prefix);
bool str_ends_with(const char *s, const char *suffix);
/* The same, ASCII letters compared without case ("X.WHL" ends with ".whl"). */
bool str_iends_with(const char *s, const char *suffix);

/* strcmp() of the two strings a and b point to: the comparison of an
 * array of char * for qsort() and bsearch(). */
int str_cmp_ptr(const void *a, const void *b);

void strv_push(struct strv *sv, char *owned);
void strv_add(struct strv *sv, const char *s);
/* strv_add() unless sv has s already (a linear search: short lists). */
void strv_add_unique(struct strv *sv, const char *s);
void strv_sort(struct strv *sv);
void strv_free(struct strv *sv);
/* Frees a NULL-terminated array of owned strings (NULL is fine). */
void strv_free_null(char **v);

/* Control characters (below 0x20, and DEL) written as C escapes: \t \n \r
 * as such, the others \xHH ("\x1b"), so a name from an archive cannot
 * drive the terminal or forge a line of a message.  Writes into dst (cap
 * bytes, NUL-terminated; cut before an escape that does not fit).
 * keep_nl: '\n' stays (a message of several lines).  Backslashes stay as
 * they are, so escaping an escaped text again changes nothing. */
void str_escape_ctl(char *dst, size_t cap, const char *src, bool keep_nl);
/* The same, allocated, nothing kept: for a name put into a message. */
char *str_escape(const char *s);

/* A size: decimal bytes with an optional K, M, G or T suffix (powers of
 * 1024, "KiB"/"KB" spellings too).  0, or -EINVAL (bad text or overflow). */
int str_parse_size(const char *s, uint64_t *out);

#endif
