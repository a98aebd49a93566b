/* An apt layer's upgrades of packages in the layers below, done as dpkg
 * does them (image/aptupg.c). */
#ifndef PKGIMG_IMAGE_APTUPG_H
#define PKGIMG_IMAGE_APTUPG_H

#include "image/layers.h"
#include "installers/deb.h"

/* For each of the layer's packages pkgs[0..n) (composed into b's tree),
 * *olds[i] gets the version it upgrades (debinst_upgraded_version over
 * parent_status) or NULL; and for each upgrade, the old version's files
 * that no package of the image lists any more get whiteouts in the tree
 * (dpkg's removal of obsolete files; directories are left).  Free *olds
 * with image_apt_olds_free. */
int image_apt_upgrades(const struct layer_build *b, const char *parent_status,
		       const struct debinst_pkg *pkgs, int n, char ***olds);
/* The prerm and postrm of each upgraded version (olds[i] set), from the
 * layers below into upper/var/lib/dpkg/tmp.old/INFO.SCRIPT, where the
 * configure pass runs them ("upgrade NEW") and removes them. */
int image_apt_old_scripts(const struct layer_build *b, const char *upper,
			  const struct debinst_pkg *pkgs, char *const *olds, int n);
void image_apt_olds_free(char **olds, int n);

#endif
