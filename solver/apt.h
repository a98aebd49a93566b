/* apt sources, signed Release files and Packages indexes (the Debian side of
 * the solver).  See DESIGN.md "Ecosystem specifics / apt". */
#ifndef PKGIMG_SOLVER_APT_H
#define PKGIMG_SOLVER_APT_H

#include <stdbool.h>
#include <stdint.h>

#include "core/str.h"

struct pkgimg_ctx;
struct store;

struct apt_source {
	char *uri;		/* without trailing '/' */
	char *suite;
	char **components;	/* NULL-terminated */
	char *signed_by;	/* keyring path, or an inline armored key block, or NULL */
	char *origin;		/* where it came from: "/etc/apt/sources.list.d/x.sources:3" */
};

struct apt_sources {
	struct apt_source *v;
	int n;
};

/* The host's /etc/apt/sources.list and sources.list.d/ (one-line .list and
 * deb822 .sources), "deb" entries only, Enabled: no skipped.  `etc` is the
 * apt configuration dir (normally "/etc/apt"; tests pass another). */
int apt_sources_load_host(struct pkgimg_ctx *ctx, const char *etc, struct apt_sources *out);
/* "URI SUITE COMPONENT..." as given to --apt-source. */
int apt_sources_add_line(struct pkgimg_ctx *ctx, const char *line, struct apt_sources *out);
void apt_sources_free(struct apt_sources *s);

/* A verified Release file (from InRelease or Release + Release.gpg). */
struct apt_release {
	char *text;		/* the signed Release text */
	char inrelease_sha256[65];	/* digest of the file as fetched */
	char *date;		/* Date: */
	char *valid_until;	/* Valid-Until: or NULL */
	char *codename, *suite;
	bool not_automatic;	/* NotAutomatic: yes (apt's pin 1, e.g. experimental) */
	bool but_automatic_upgrades;	/* ButAutomaticUpgrades: yes (pin 100, backports) */
	/* SHA256 section, parsed */
	struct apt_release_file {
		char *path;	/* "main/binary-amd64/Packages.xz" */
		char sha256[65];
		uint64_t size;
	} *files;
	int nfiles;
};

/* Parses the Release fields and its SHA256 list (no signature check). */
int apt_release_parse(struct pkgimg_ctx *ctx, const char *what, const char *text,
		      struct apt_release *rel);
void apt_release_free(struct apt_release *rel);

/* Verifies a clearsigned InRelease (RFC 4880 §7) against the keyring: on
 * success *signed_text is the canonical message (owned).  With keyring NULL
 * the text is only extracted (for bytes verified before). */
int apt_verify_inrelease(struct pkgimg_ctx *ctx, const char *what, const char *data,
			 size_t len, const char *keyring, char **signed_text);
/* Verifies Release against a detached (armored or binary) Release.gpg. */
int apt_verify_detached(struct pkgimg_ctx *ctx, const char *what, const char *data,
			size_t len, const char *sig, size_t siglen, const char *keyring);

/* Time check: Valid-Until in the past is an error naming the date. */
int apt_release_check_valid(struct pkgimg_ctx *ctx, const char *what,
			    const struct apt_release *rel, int64_t now);

#endif
