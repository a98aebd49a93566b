/* A wheel file: its zip, its .dist-info directory, its METADATA (see
 * pyspec/wheelfile.c). */
#ifndef PKGIMG_PYSPEC_WHEELFILE_H
#define PKGIMG_PYSPEC_WHEELFILE_H

#include "pyspec/wheeltags.h"

struct archive;
struct archive_entry;
struct pkgimg_ctx;
struct sbuf;

/* Opens the zip at path for reading; messages name thing and phase. */
int wheel_zip_open(struct pkgimg_ctx *ctx, const char *path, const char *thing,
		   const char *phase, struct archive **out);
/* An entry's name: UTF-8 when the zip says so, else the bytes as stored. */
const char *wheel_entry_name(struct archive_entry *e);
/* Checks that info ("<name>-<version>.dist-info") names the project and
 * version of the wheel's file name wn (PEP 503 names, PEP 440 versions). */
int wheel_check_info_name(struct pkgimg_ctx *ctx, const char *thing, const struct wheel_name *wn,
			  const char *info);

/* Appends the METADATA file of a wheel (filename as in wheel_install_opts) (<name>-<ver>.dist-info/METADATA,
 * the only .dist-info dir of the zip, named after the file name's project)
 * to *out, for the resolver when the index has no PEP 658 metadata.  Not
 * checked against RECORD (wheel_install does that). */
int wheel_read_metadata(struct pkgimg_ctx *ctx, const char *wheel_path, const char *filename,
			struct sbuf *out);

#endif
