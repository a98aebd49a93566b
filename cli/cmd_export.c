/* pkgimg export IMAGE (--oci DIR | --tar FILE | --dir DIR [--allow-devices]) [--tag NAME]
 * [--json] */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "image/oci.h"
#include "cli/cli.h"
#include "core/fs.h"
#include "core/str.h"

#define EXPORT_USAGE "pkgimg export IMAGE (--oci DIR | --tar FILE | --dir DIR [--allow-devices]) " \
	"[--tag NAME] [--json]"

int cmd_export(struct cli *c, int argc, char **argv)
{
	enum { O_OCI = 256, O_TAR, O_DIR, O_TAG, O_JSON, O_ALLOW_DEVICES };
	static const struct option opts[] = {
		{ "oci", required_argument, NULL, O_OCI },
		{ "tar", required_argument, NULL, O_TAR },
		{ "dir", required_argument, NULL, O_DIR },
		{ "tag", required_argument, NULL, O_TAG },
		{ "json", no_argument, NULL, O_JSON },
		{ "allow-devices", no_argument, NULL, O_ALLOW_DEVICES },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct oci_export_result res = { 0 };
	struct oci_export_opts eo = { 0 };
	const char *dest = NULL, *how = NULL, *image;
	char key[STORE_KEY_MAX], *path = NULL;
	int opt, r, rc = 0;

	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case O_OCI:
		case O_TAR:
		case O_DIR: {
			const char *name = opt == O_OCI ? "--oci" : opt == O_TAR ? "--tar" : "--dir";

			if (how)
				return cli_usage(c, "export: %s and %s: give one of --oci "
					"DIR, --tar FILE or --dir DIR", how, name);
			how = name;
			dest = optarg;
			break;
		}
		case O_TAG: eo.ref_name = optarg; break;
		case O_JSON: c->ctx.flags |= PKGIMG_F_JSON; break;
		case O_ALLOW_DEVICES: c->ctx.flags |= PKGIMG_F_ALLOW_DEVICES; break;
		case 'h':
			printf("usage: %s\n"
			       "  --oci DIR    an OCI image layout in DIR (new or empty)\n"
			       "  --tar FILE   the same layout as one tar archive (oci-archive)\n"
			       "  --dir DIR    the merged root filesystem in DIR (new or empty; 0700\n"
			       "               until complete, nothing left on failure); device nodes\n"
			       "               are refused, set-id bits dropped from group- or\n"
			       "               world-writable files\n"
			       "  --allow-devices  with --dir: write the image's device nodes too\n"
			       "  --tag NAME   the layout's reference name (default latest)\n"
			       "  --json       print {image, manifest, config, layers, path}\n",
			       EXPORT_USAGE);
			return 0;
		default:
			return 2;
		}
	}
	if (optind + 1 != argc)
		return cli_usage(c, "export: %s; usage: %s",
			optind >= argc ? "no image given" : "give exactly one image", EXPORT_USAGE);
	if (!how)
		return cli_usage(c, "export: where to? give one of --oci DIR, --tar FILE "
			"or --dir DIR");
	if ((c->ctx.flags & PKGIMG_F_ALLOW_DEVICES) && strcmp(how, "--dir"))
		return cli_usage(c, "export: --allow-devices goes with --dir (device "
			"nodes written onto the host); %s keeps them in the layers anyway", how);
	if (!*dest)
		return cli_usage(c, "export: %s needs a path", how);
	if (eo.ref_name && !strcmp(how, "--dir"))
		return cli_usage(c, "export: --tag names the image in an OCI layout; "
			"a --dir rootfs has no name (drop --tag, or use --oci/--tar)");
	if (eo.ref_name && !oci_ref_name_valid(eo.ref_name))
		return cli_usage(c, "export: --tag %s: not a valid OCI reference name; "
			"use letters and digits separated by one of . _ - : @ + or /", eo.ref_name);
	image = argv[optind];
	rc = cli_open_store(c);
	if (rc)
		return rc;
	r = store_resolve(&c->ctx, &c->st, image, key);
	if (r == 0) {
		if (!strcmp(how, "--oci"))
			r = oci_export_layout(&c->ctx, &c->st, key, dest, &eo, &res);
		else if (!strcmp(how, "--tar"))
			r = oci_export_archive(&c->ctx, &c->st, key, dest, &eo, &res);
		else
			r = oci_export_rootfs(&c->ctx, &c->st, key, dest);
	}
	if (r < 0) {
		rc = cli_fail(c, r);
		goto out;
	}
	path = path_abs(dest);
	if (c->ctx.flags & PKGIMG_F_JSON) {
		json_t *j, *layers = json_array();
		int rootfs = !strcmp(how, "--dir");

		for (int i = 0; i < res.nlayers && !rootfs; i++)
			json_array_append_new(layers, json_pack("{s:s, s:I, s:s}",
				"digest", res.layers[i].digest, "size", (json_int_t)res.layers[i].size,
				"key", res.layers[i].key));
		if (rootfs) {
			json_decref(layers);
			layers = json_null();
		}
		j = json_pack("{s:s, s:s, s:o, s:o, s:o, s:s}", "image", key, "format", how + 2,
			      "manifest", rootfs ? json_null() : json_string(res.manifest),
			      "config", rootfs ? json_null() : json_string(res.config),
			      "layers", layers, "path", path);
		json_dumpf(j, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(j);
	} else {
		if (!(c->ctx.flags & PKGIMG_F_QUIET)) {
			if (!strcmp(how, "--dir"))
				fprintf(stderr, "%s: rootfs written to %s\n", key, path);
			else
				fprintf(stderr, "%s: %d layer%s (%d in the store) written to %s\n", key,
					res.nlayers, res.nlayers == 1 ? "" : "s", res.nstore_layers, path);
		}
		printf("%s\n", strcmp(how, "--dir") ? res.manifest : key);
	}
out:
	oci_export_result_free(&res);
	free(path);
	return rc;
}
