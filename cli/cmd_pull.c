/* pkgimg pull REF [--tag NAME] [--platform OS/ARCH[/VARIANT]] [--json] */
#include <getopt.h>
#include <stdio.h>

#include <jansson.h>

#include "cli/cli.h"
#include "image/pull.h"

#define PULL_USAGE "pkgimg pull REF [--tag NAME] [--platform OS/ARCH[/VARIANT]] " \
	"[--insecure-registry HOST[:PORT]] [--json]"

int cmd_pull(struct cli *c, int argc, char **argv)
{
	enum { O_TAG = 256, O_PLATFORM, O_JSON, O_INSECURE };
	static const struct option opts[] = {
		{ "tag", required_argument, NULL, O_TAG },
		{ "platform", required_argument, NULL, O_PLATFORM },
		{ "json", no_argument, NULL, O_JSON },
		{ "insecure-registry", required_argument, NULL, O_INSECURE },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct pull_opts po = { 0 };
	struct pull_result res = { 0 };
	int opt, r, rc;

	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case O_TAG: po.tag = optarg; break;
		case O_PLATFORM: po.platform = optarg; break;
		case O_JSON: c->ctx.flags |= PKGIMG_F_JSON; break;
		case O_INSECURE: po.insecure_registry = optarg; break;
		case 'h':
			printf("usage: %s\n"
			       "  REF          oci:DIR[:TAG]   an OCI image layout (TAG: its ref.name)\n"
			       "               docker-archive:FILE[:NAME:TAG]   docker save's tarball\n"
			       "               docker://HOST[:PORT]/REPO[:TAG|@DIGEST], or HOST/REPO:TAG:\n"
			       "               a registry (anonymous; blobs kept in the store)\n"
			       "  --tag NAME   name the pulled image in the store\n"
			       "  --platform OS/ARCH[/VARIANT]   the manifest to take from a\n"
			       "               multi-platform index (default: this machine's)\n"
			       "  --insecure-registry HOST[:PORT]   speak plain HTTP to that registry\n"
			       "  --json       print {image, layers, made, platform}\n"
			       "The image id is the manifest digest; layers built on the image chain\n"
			       "from it. Every blob is checked against its digest as it is read.\n",
			       PULL_USAGE);
			return 0;
		default:
			return 2;
		}
	}
	if (optind + 1 != argc)
		return cli_usage(c, "pull: %s; usage: %s",
			optind >= argc ? "no image given" : "give exactly one image", PULL_USAGE);
	rc = cli_open_store(c);
	if (rc)
		return rc;
	r = image_pull(&c->ctx, &c->st, argv[optind], &po, &res);
	if (r < 0) {
		rc = cli_fail(c, r);
		goto out;
	}
	if (c->ctx.flags & PKGIMG_F_JSON) {
		json_t *j = json_pack("{s:s, s:i, s:i, s:o}", "image", res.id, "layers", res.nlayers,
				      "made", res.made, "platform",
				      res.platform ? json_string(res.platform) : json_null());

		json_dumpf(j, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(j);
	} else {
		if (!(c->ctx.flags & PKGIMG_F_QUIET))
			fprintf(stderr, "%s: %d layer%s, %s\n", argv[optind], res.nlayers,
				res.nlayers == 1 ? "" : "s", res.made ? "pulled" :
				"already in the store");
		printf("%s\n", res.id);
	}
out:
	pull_result_free(&res);
	return rc;
}
