/* dpkg's trigger state for packages pkgimg unpacked itself
 * (var/lib/dpkg/triggers/): what `dpkg --unpack` records and pkgimg's
 * compose step does not.
 *
 * dpkg registers a package's trigger interests when it unpacks it (its
 * `triggers` control file: "interest[-await|-noawait] NAME"): a file trigger
 * (NAME starts with '/') as a line "NAME PKG[/noawait]" of triggers/File, an
 * explicit one as a line "PKG[/noawait]" of triggers/NAME.  And while it
 * unpacks a package's files it activates the file triggers of installed
 * packages whose interest is one of those paths or a directory above them.
 * pkgimg does both here for the packages of one layer, over the state the
 * layers below left: the interests go into the layer's copies of those
 * files, the activations into triggers/Unincorp ("NAME -" lines, dpkg's
 * deferred activations), which the next `dpkg --configure -a` reads, marks
 * the interested packages triggers-pending and runs their postinst
 * `triggered`.  So a man page in layer 2 runs man-db's trigger installed in
 * layer 1, a certificate dropped under /usr/share/ca-certificates runs
 * update-ca-certificates. */
#ifndef PKGIMG_INSTALLERS_DEBTRIG_H
#define PKGIMG_INSTALLERS_DEBTRIG_H

struct pkgimg_ctx;
struct debinst_pkg;

/* var/lib/dpkg/triggers/ as the image below the layer shows it. */
struct debtrig_below {
	char *file;		/* triggers/File, NULL when none */
	char *unincorp;		/* triggers/Unincorp, NULL when none */
	char **explicit;	/* name, content, name, content, ..., NULL */
};

/* Registers the interests of pkgs[0..n) (their info/<pkg>.triggers in the
 * tree at rootfd) over `below` (may be NULL: an empty image), and the file
 * triggers of packages below that the packages' files (info/<pkg>.list)
 * activate; writes the files that changed into the tree's
 * var/lib/dpkg/triggers/ (and an empty Unincorp when the image has none,
 * which tells dpkg its interests are registered). */
int debtrig_write(struct pkgimg_ctx *ctx, int rootfd, const struct debtrig_below *below,
		  const struct debinst_pkg *pkgs, int n);
void debtrig_below_free(struct debtrig_below *b);

#endif
