/* Installing .deb files into a layer: unpack data.tar.* with libarchive
 * (securely: no "..", no absolute paths, nothing written through a symlink,
 * nothing outside the layer), and keep the dpkg database real:
 * var/lib/dpkg/status, info/<pkg>.list, .md5sums, .conffiles, maintainer
 * scripts (and the other control members dpkg keeps: triggers, shlibs,
 * symbols, templates, config).
 *
 * Merged /usr: when `merged_usr` is set, paths under bin/, sbin/ and lib*, are
 * written under usr/ (the layer that creates the base also creates the
 * /bin -> usr/bin, ... symlinks with debinst_merged_usr_links()).  The .list
 * files keep the paths the package ships, as dpkg does on a merged system.
 *
 * Conffiles are unpacked as "<path>.dpkg-new" and recorded with the hash
 * "newconffile", exactly as dpkg leaves a package it has unpacked; running
 * `dpkg --configure -a` in the sandbox then moves them into place. */
#ifndef PKGIMG_INSTALLERS_DEB_H
#define PKGIMG_INSTALLERS_DEB_H

#include <stdint.h>

struct pkgimg_ctx;
struct sbuf;

/* How data.tar is written by installers/extract.h's walk, dpkg's way:
 * owners, modes and nanosecond times as shipped, directories' modes and
 * times set last, what stands in an entry's way replaced, devices made. */
#define DEB_EXTRACT_FLAGS (EXTRACT_OWNERS | EXTRACT_PERMS | EXTRACT_NSEC | EXTRACT_DIR_ATTRS | \
			   EXTRACT_REPLACE | EXTRACT_NODES)

struct debinst_pkg {
	char *name;		/* Package */
	char *arch;		/* Architecture */
	char *version;
	int multiarch_same;	/* Multi-Arch: same → info files named name:arch */
	char *control;		/* the control stanza as shipped (no trailing blank line) */
	char **conffiles;	/* NULL-terminated absolute paths (those shipped:
				 * "remove-on-upgrade" entries are left out) */
	uint64_t installed_size;
};

/* Unpacks the .deb at deb_path into the tree at rootfd/rootpath, and writes
 * its control members to var/lib/dpkg/info/ in that tree.  `out` is filled on
 * success (free with debinst_pkg_free). */
int debinst_unpack(struct pkgimg_ctx *ctx, int rootfd, const char *deb_path,
		   int merged_usr, struct debinst_pkg *out);
/* The same for a blob of the store: its sha256 is taken while it is read
 * and must be `sha256` (else -PKGIMG_E_CHECKSUM, out untouched).  What the
 * package writes is bounded by its Installed-Size (arc_unpack_limit). */
int debinst_unpack_blob(struct pkgimg_ctx *ctx, int rootfd, const char *deb_path,
			const char *sha256, int merged_usr, struct debinst_pkg *out);
void debinst_pkg_free(struct debinst_pkg *p);

/* What debinst_unpack() returned, kept in a file next to a cached unpacked
 * tree (the control stanza, a blank line, the conffiles) and read back. */
int debinst_pkg_save(struct pkgimg_ctx *ctx, int dirfd, const char *path,
		     const struct debinst_pkg *p);
int debinst_pkg_load(struct pkgimg_ctx *ctx, int dirfd, const char *path, const char *thing,
		     struct debinst_pkg *out);

/* Writes var/lib/dpkg/status in the tree at rootfd: the entries of
 * parent_status (the status file of the layers below; may be NULL) plus one
 * entry per package with "Status: install ok <state>" (state "unpacked" or
 * "installed"), sorted by package name then arch, as dpkg writes it.  With
 * "installed", each conffile's "<path>.dpkg-new" is moved into place and its
 * md5 recorded (as `dpkg --configure` would).  Also creates the other files
 * dpkg expects (triggers/, updates/; and when parent_status is NULL or empty,
 * diversions, info/format, arch: over a parent they would hide the
 * parent's; no available or statoverride, which dpkg writes only when it
 * has something to put there). */
int debinst_write_status(struct pkgimg_ctx *ctx, int rootfd, const char *parent_status,
			 struct debinst_pkg *pkgs, int n, const char *state, const char *arch);

/* The version of p's package that parent_status (the status file of the
 * layers below) has configured, which installing p upgrades (dpkg's
 * "upgrade OLD" of the maintainer scripts): its Version when installed,
 * else its Config-Version; NULL when p is not there or was never
 * configured.  The entry is found by dpkg's rule for one instance of a
 * name (Multi-Arch: same instances of other architectures are others). */
char *debinst_upgraded_version(const char *parent_status, const struct debinst_pkg *p);

/* Creates bin -> usr/bin, sbin -> usr/sbin, lib -> usr/lib, lib64 -> usr/lib64
 * (and the usr/ dirs) in the tree at rootfd. */
int debinst_merged_usr_links(struct pkgimg_ctx *ctx, int rootfd);

#endif
