/* A bounded first pass over a YAML text, before libyaml composes a document
 * of it (its composer slows down with nesting): the nesting depth, anchors,
 * aliases and a second document, which neither a lockfile nor a build spec
 * has.  The readers (core/lockfile.c, core/spec.c) word the refusal. */
#ifndef PKGIMG_CORE_YAMLSCAN_H
#define PKGIMG_CORE_YAMLSCAN_H

#include <stddef.h>
#include <yaml.h>

enum yscan_kind {
	YSCAN_OK,		/* nothing refused (a syntax error is left to the parser,
				   which meets it at the same place) */
	YSCAN_SECOND_DOC,
	YSCAN_ALIAS,
	YSCAN_ANCHOR,
	YSCAN_DEPTH,		/* nested deeper than max_depth */
};

struct yscan {
	enum yscan_kind kind;
	yaml_mark_t mark;	/* where */
	char name[65];		/* the anchor's or alias's name, cut */
};

void yscan_run(const char *text, size_t len, int max_depth, struct yscan *out);

/* The line and column (0-based) of byte off of text. */
yaml_mark_t yscan_mark_of(const char *text, size_t off);

#endif
