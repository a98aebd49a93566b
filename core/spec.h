/* The build spec (pkgimg.yaml): a base, an optional Python version and a list
 * of steps, each a mapping with exactly one step key (apt, pip, conda, env,
 * run, add, python_source, workdir, entrypoint, cmd) plus that step's options
 * (and gpu, force_build on any step).  The parser is strict: lists must be
 * lists, unknown or misplaced keys, duplicates, anchors, aliases and second
 * documents are refused, each with "PATH:LINE:COL: [spec] ..." and the fix. */
#ifndef PKGIMG_SPEC_H
#define PKGIMG_SPEC_H

#include <stdbool.h>
#include <stddef.h>

#include "core/str.h"

struct pkgimg_ctx;

/* What the parser accepts (hostile input is bounded); past either it
 * refuses the spec with the line and column. */
#define SPEC_MAX_BYTES	(1u << 20)
#define SPEC_MAX_DEPTH	32

enum spec_kind {
	SPEC_APT,
	SPEC_PIP,
	SPEC_CONDA,
	SPEC_ENV,
	SPEC_RUN,
	SPEC_ADD,
	SPEC_PYTHON_SOURCE,
	SPEC_WORKDIR,
	SPEC_ENTRYPOINT,
	SPEC_CMD,
};

struct spec_step {
	enum spec_kind kind;
	int line, col;			/* 1-based, of the step's step key */
	struct strv items;		/* apt: packages; pip: requirements; conda: packages;
					   run: shell commands; python_source: module names;
					   entrypoint, cmd: argv (may be empty: clears it) */
	char *index_url;		/* pip: index_url, or NULL */
	struct strv extra_index_urls;	/* pip: extra_index_url (a string or a list) */
	struct strv find_links;		/* pip: find_links (a string or a list), as written */
	struct strv requirements;	/* pip: requirements (a string or a list), made
					   absolute relative to the spec's directory */
	struct strv requirements_raw;	/* the same, as written in the spec */
	char *project;			/* pip: {project: DIR}: its pyproject.toml's
					   dependencies (made absolute relative to
					   the spec's directory), or NULL */
	char *project_raw;		/* the same, as written */
	struct strv extras, groups;	/* pip: {extras: [..], groups: [..]} */
	bool pre;			/* pip: pre: true */
	char *index_strategy;		/* pip: first-index|unsafe-best-match, or NULL */
	struct strv channels;		/* conda: channels */
	char *conda_prefix;		/* conda: prefix (absolute), or NULL */
	struct strv env;		/* env: "K=V" in the mapping's order */
	char *src, *dst;		/* add: src made absolute relative to the spec's
					   directory; dst absolute in the image, as written */
	char *src_raw;			/* add: src as written in the spec */
	char *path;			/* workdir: absolute, as written */
	char *gpu;			/* gpu: TYPE (any step), NULL when absent */
	bool force_build;		/* force_build: true (any step) */
};

struct spec {
	char *path;			/* as given */
	char *dir;			/* its directory, absolute */
	char *context;			/* the build context, a real path: the files the
					   spec names (add's src, python_source modules,
					   pip's requirements) must be in it; dir's real
					   path unless spec_set_context() widened it */
	char *base;			/* "debian-slim" when absent */
	char *python;			/* "3.11" or NULL */
	struct spec_step *steps;
	size_t nsteps;
};

/* Reads and parses path.  Returns 0, -errno (cannot read it) or
 * -PKGIMG_E_USAGE (the spec is wrong: the message on ctx says where and how
 * to fix it).  *out is written only on success; free it with spec_free(). */
int spec_parse(struct pkgimg_ctx *ctx, const char *path, struct spec *out);
/* The same for text already read; path names it in messages and gives the
 * directory that relative paths (add's src, pip's requirements) start from. */
int spec_parse_text(struct pkgimg_ctx *ctx, const char *path, const char *text, size_t len,
		    struct spec *out);
void spec_free(struct spec *s);

/* Sets the build context (pkgimg build --context DIR) to dir's real path.
 * Returns 0, or -errno (-ENOTDIR) with a message. */
int spec_set_context(struct pkgimg_ctx *ctx, struct spec *s, const char *dir);
/* The real path of raw (as written in a step: absolute, or relative to the
 * spec's directory), which must be inside the build context (symlinks are
 * followed, and must stay inside too).  what names it ("add: src").
 * Returns 0 and *out (malloc'd); -EXDEV when it leaves the context, or
 * -errno; the message reads "[spec] WHAT 'raw' ..." with the fix (move it
 * in, or --context DIR): the caller puts the step's PATH:LINE:COL before it. */
int spec_path(struct pkgimg_ctx *ctx, const struct spec *s, const char *what, const char *raw,
	      char **out);

/* "apt", "pip", ..., "python_source", ... "cmd". */
const char *spec_kind_name(enum spec_kind kind);

/* The canonical one-line text of a step, used in layer keys, layer.yaml and
 * the build's output: "apt: git curl", "pip: torch==2.2.1 --index-url URL
 * --extra-index-url URL --find-links URL --pre --index-strategy S -r FILE
 * --project DIR --extra X --group G",
 * "conda: numpy python=3.12 -c conda-forge --prefix /opt/x", "env: A=1 B=2",
 * "run: echo a && echo b", "add: ./data -> /data" (src and -r FILE as written),
 * "python_source: mod", "workdir: /app", "entrypoint: [\"/bin/sh\", \"-c\"]",
 * "cmd: [\"python3\", \"app.py\"]"; plus " [gpu: H100]" when gpu is set.
 * force_build is not part of it.  A word that is empty, starts with '"',
 * holds a control character (or, except in run, a space) is written as a
 * JSON string, so that different steps never give the same text.  Returns a
 * malloc'd string. */
char *spec_step_text(const struct spec *s, const struct spec_step *st);

#endif
