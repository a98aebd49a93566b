/* Strings: blobs, growable buffers, aborting allocation (see core/str.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#include "core/str.h"

static void oom(void)
{
	/* The one exit in the engine: there is nothing sane left to do. */
	fputs("pkgimg: out of memory\n", stderr);
	abort();
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		oom();
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (!p)
		oom();
	return p;
}

void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		oom();
	return p;
}

char *xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = 0;
	return p;
}

char *xasprintf(const char *fmt, ...)
{
	struct sbuf s = SBUF_INIT;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	sbuf_grow(&s, (size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(s.buf, (size_t)n + 1, fmt, ap);
	va_end(ap);
	s.len = (size_t)n;
	return s.buf;
}

bool blob_ieq_str(struct blob b, const char *s)
{
	size_t n = strlen(s);

	if (b.len != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (ascii_lower(b.ptr[i]) != ascii_lower(s[i]))
			return false;
	return true;
}

bool blob_eq_str(struct blob b, const char *s)
{
	size_t n = strlen(s);

	return b.len == n && memcmp(b.ptr, s, n) == 0;
}

bool blob_line(struct blob *b, struct blob *line)
{
	const char *nl;

	if (!b->len)
		return false;
	nl = memchr(b->ptr, '\n', b->len);
	line->ptr = b->ptr;
	line->len = nl ? (size_t)(nl - b->ptr) : b->len;
	b->ptr += line->len + (nl ? 1 : 0);
	b->len -= line->len + (nl ? 1 : 0);
	if (line->len && line->ptr[line->len - 1] == '\r')
		line->len--;
	return true;
}

bool blob_ends_with(struct blob b, const char *suffix)
{
	size_t n = strlen(suffix);

	return b.len >= n && !memcmp(b.ptr + b.len - n, suffix, n);
}

bool str_starts_with(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

bool str_ends_with(const char *s, const char *suffix)
{
	return blob_ends_with(BLOB_STR(s), suffix);
}

bool str_iends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !strcasecmp(s + n - m, suffix);
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

struct blob blob_trim(struct blob b)
{
	while (b.len && is_space(b.ptr[0])) {
		b.ptr++;
		b.len--;
	}
	while (b.len && is_space(b.ptr[b.len - 1]))
		b.len--;
	return b;
}

bool blob_split(struct blob *b, char c, struct blob *head)
{
	const char *p = b->len ? memchr(b->ptr, c, b->len) : NULL;

	if (!p) {
		*head = *b;
		b->ptr += b->len;
		b->len = 0;
		return false;
	}
	head->ptr = b->ptr;
	head->len = (size_t)(p - b->ptr);
	b->len -= head->len + 1;
	b->ptr = p + 1;
	return true;
}

struct blob blob_word(struct blob *b)
{
	struct blob w;

	while (b->len && is_space(b->ptr[0])) {
		b->ptr++;
		b->len--;
	}
	w.ptr = b->ptr;
	w.len = 0;
	while (w.len < b->len && !is_space(b->ptr[w.len]))
		w.len++;
	b->ptr += w.len;
	b->len -= w.len;
	return w;
}

char *blob_dup(struct blob b)
{
	return xstrndup(b.ptr ? b.ptr : "", b.len);
}

void sbuf_grow(struct sbuf *s, size_t extra)
{
	size_t need = s->len + extra + 1;

	if (need <= s->cap)
		return;
	if (s->cap * 2 > need)
		need = s->cap * 2;
	s->buf = xrealloc(s->buf, need);
	s->cap = need;
}

void sbuf_add(struct sbuf *s, const void *data, size_t len)
{
	sbuf_grow(s, len);
	if (len)
		memcpy(s->buf + s->len, data, len);
	s->len += len;
	s->buf[s->len] = 0;
}

void sbuf_adds(struct sbuf *s, const char *str)
{
	sbuf_add(s, str, strlen(str));
}

void sbuf_addc(struct sbuf *s, char c)
{
	sbuf_add(s, &c, 1);
}

void sbuf_add_utf8(struct sbuf *s, uint32_t cp)
{
	if (cp < 0x80) {
		sbuf_addc(s, (char)cp);
	} else if (cp < 0x800) {
		sbuf_addc(s, (char)(0xc0 | (cp >> 6)));
		sbuf_addc(s, (char)(0x80 | (cp & 0x3f)));
	} else if (cp < 0x10000) {
		sbuf_addc(s, (char)(0xe0 | (cp >> 12)));
		sbuf_addc(s, (char)(0x80 | ((cp >> 6) & 0x3f)));
		sbuf_addc(s, (char)(0x80 | (cp & 0x3f)));
	} else {
		sbuf_addc(s, (char)(0xf0 | (cp >> 18)));
		sbuf_addc(s, (char)(0x80 | ((cp >> 12) & 0x3f)));
		sbuf_addc(s, (char)(0x80 | ((cp >> 6) & 0x3f)));
		sbuf_addc(s, (char)(0x80 | (cp & 0x3f)));
	}
}

void sbuf_addf(struct sbuf *s, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	sbuf_grow(s, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(s->buf + s->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	s->len += (size_t)n;
}

void sbuf_reset(struct sbuf *s)
{
	s->len = 0;
	if (s->buf)
		s->buf[0] = 0;
}

void sbuf_free(struct sbuf *s)
{
	free(s->buf);
	s->buf = NULL;
	s->len = s->cap = 0;
}

char *sbuf_detach(struct sbuf *s)
{
	char *p = s->buf ? s->buf : xstrdup("");

	s->buf = NULL;
	s->len = s->cap = 0;
	return p;
}

void strv_push(struct strv *sv, char *owned)
{
	if (sv->n + 1 >= sv->cap) {
		sv->cap = sv->cap ? sv->cap * 2 : 8;
		sv->v = xrealloc(sv->v, sv->cap * sizeof *sv->v);
	}
	sv->v[sv->n++] = owned;
	sv->v[sv->n] = NULL;
}

void strv_add(struct strv *sv, const char *s)
{
	strv_push(sv, xstrdup(s));
}

void strv_add_unique(struct strv *sv, const char *s)
{
	for (size_t i = 0; i < sv->n; i++)
		if (!strcmp(sv->v[i], s))
			return;
	strv_add(sv, s);
}

int str_cmp_ptr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void strv_sort(struct strv *sv)
{
	if (sv->n > 1)
		qsort(sv->v, sv->n, sizeof *sv->v, str_cmp_ptr);
}

void strv_free(struct strv *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	sv->v = NULL;
	sv->n = sv->cap = 0;
}

void strv_free_null(char **v)
{
	for (char **e = v; e && *e; e++)
		free(*e);
	free(v);
}

bool hex_is_lower(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!ascii_isdigit(s[i]) && !(s[i] >= 'a' && s[i] <= 'f'))
			return false;
	return true;
}

bool hex_is64(const char *s)
{
	return s && strlen(s) == 64 && hex_is_lower(s, 64);
}

int str_parse_size(const char *s, uint64_t *out)
{
	static const char units[] = "KMGT";
	uint64_t v = 0;
	const char *p = s, *u;
	int shift = 0;

	if (!s || !ascii_isdigit(*s))
		return -EINVAL;
	for (; ascii_isdigit(*p); p++) {
		if (v > (UINT64_MAX - 9) / 10)
			return -EINVAL;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (*p) {
		if (!(u = strchr(units, *p & ~0x20)))
			return -EINVAL;
		shift = 10 * (int)(u - units + 1);
		p++;
		if (*p == 'i' || *p == 'I')
			p++;
		if (*p == 'B' || *p == 'b')
			p++;
		if (*p)
			return -EINVAL;
	}
	if (shift && v > (UINT64_MAX >> shift))
		return -EINVAL;
	*out = v << shift;
	return 0;
}

void str_escape_ctl(char *dst, size_t cap, const char *src, bool keep_nl)
{
	size_t n = 0;

	if (!cap)
		return;
	for (const unsigned char *p = (const unsigned char *)src; *p; p++) {
		char esc[5];
		size_t k;

		if ((*p >= 0x20 && *p != 0x7f) || (*p == '\n' && keep_nl)) {
			esc[0] = (char)*p;
			k = 1;
		} else if (*p == '\n' || *p == '\t' || *p == '\r') {
			esc[0] = '\\';
			esc[1] = *p == '\n' ? 'n' : *p == '\t' ? 't' : 'r';
			k = 2;
		} else {
			snprintf(esc, sizeof esc, "\\x%02x", *p);
			k = 4;
		}
		if (n + k >= cap)
			break;
		memcpy(dst + n, esc, k);
		n += k;
	}
	dst[n] = 0;
}

char *str_escape(const char *s)
{
	size_t cap = strlen(s) * 4 + 1;
	char *out = xmalloc(cap);

	str_escape_ctl(out, cap, s, false);
	return out;
}
