/* Debian's own bytecode as Debian installs it.  Maintainer scripts run with
 * SOURCE_DATE_EPOCH set (see image/install.c), and Python's py_compile then
 * writes checked-hash pycs; dpkg on a Debian system runs py3compile without
 * it and gets timestamp pycs (PEP 552 flags 0, the source's mtime and size,
 * both from the .deb).  The code object is the same in both, so the header
 * alone tells them apart: this rewrites it. */
#ifndef PKGIMG_IMAGE_APTPYC_H
#define PKGIMG_IMAGE_APTPYC_H

#include <stddef.h>

struct pkgimg_ctx;

/* Every checked-hash X/__pycache__/M.TAG[.opt-N].pyc under `upper` (what
 * the scripts wrote) whose source X/M.py the image (trees[0..n), top first,
 * upper among them) has as a regular file gets the timestamp header of that
 * source. *converted (may be NULL) counts them. */
int image_apt_pyc_timestamps(struct pkgimg_ctx *ctx, const char *what, const char *upper,
			     char **trees, int n, size_t *converted);

#endif
