/* pkgimg images | inspect IMAGE | tag IMAGE NAME | gc */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cli/cli.h"
#include "core/str.h"

static int only_json_flag(struct cli *c, int argc, char **argv, const char *usage)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'J' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	int opt;

	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (opt == 'J') {
			c->ctx.flags |= PKGIMG_F_JSON;
		} else if (opt == 'h') {
			printf("usage: %s\n", usage);
			return 1;
		} else {
			return 2;
		}
	}
	return 0;
}

static void human(uint64_t n, char *buf, size_t len)
{
	if (n >= 1000000000ULL)
		snprintf(buf, len, "%.1f GB", (double)n / 1e9);
	else if (n >= 1000000ULL)
		snprintf(buf, len, "%.1f MB", (double)n / 1e6);
	else
		snprintf(buf, len, "%.1f kB", (double)n / 1e3);
}

int cmd_images(struct cli *c, int argc, char **argv)
{
	struct store_image *imgs = NULL;
	int n = 0, r, rc;

	rc = only_json_flag(c, argc, argv, "pkgimg images [--json]");
	if (rc)
		return rc == 1 ? 0 : rc;
	if (optind < argc)
		return cli_usage(c, "images: unexpected argument '%s'", argv[optind]);
	rc = cli_open_store(c);
	if (rc)
		return rc;
	r = store_list_images(&c->ctx, &c->st, &imgs, &n);
	if (r < 0)
		return cli_fail(c, r);
	if (c->ctx.flags & PKGIMG_F_JSON) {
		json_t *arr = json_array();

		for (int i = 0; i < n; i++) {
			json_t *tags = json_array();

			for (char **t = imgs[i].tags; t && *t; t++)
				json_array_append_new(tags, json_string(*t));
			json_array_append_new(arr, json_pack("{s:s, s:o, s:s, s:I, s:i}",
				"id", imgs[i].key, "tags", tags, "step", imgs[i].step ? imgs[i].step : "",
				"size", (json_int_t)imgs[i].size, "layers", imgs[i].nlayers));
		}
		json_dumpf(arr, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(arr);
	} else {
		printf("%-20s %-19s %7s %10s  %s\n", "TAG", "ID", "LAYERS", "SIZE", "TOP STEP");
		for (int i = 0; i < n; i++) {
			char size[32];
			struct sbuf tags = SBUF_INIT;

			for (char **t = imgs[i].tags; t && *t; t++)
				sbuf_addf(&tags, "%s%s", tags.len ? "," : "", *t);
			human(imgs[i].size, size, sizeof size);
			printf("%-20s %-19.19s %7d %10s  %.60s\n", tags.len ? tags.buf : "<none>",
			       imgs[i].key, imgs[i].nlayers, size, imgs[i].step ? imgs[i].step : "");
			sbuf_free(&tags);
		}
	}
	store_images_free(imgs, n);
	return 0;
}

/* A config list as JSON: null when never set. */
static json_t *cfg_list(char **v)
{
	json_t *a;

	if (!v)
		return json_null();
	a = json_array();
	for (char **e = v; *e; e++)
		json_array_append_new(a, json_string(*e));
	return a;
}

int cmd_inspect(struct cli *c, int argc, char **argv)
{
	char key[STORE_KEY_MAX], **chain = NULL;
	int n = 0, r, rc;
	json_t *layers, *j;

	rc = only_json_flag(c, argc, argv, "pkgimg inspect IMAGE [--json]");
	if (rc)
		return rc == 1 ? 0 : rc;
	if (optind + 1 != argc)
		return cli_usage(c, "inspect: give exactly one image (tag, id or id prefix)");
	rc = cli_open_store(c);
	if (rc)
		return rc;
	r = store_resolve(&c->ctx, &c->st, argv[optind], key);
	if (r == 0)
		r = store_layer_chain(&c->ctx, &c->st, key, &chain, &n);
	if (r < 0)
		return cli_fail(c, r);
	layers = json_array();
	/* bottom layer first, as an image's layers are listed */
	for (int i = n - 1; i >= 0 && r == 0; i--) {
		struct layer_meta m = { 0 };

		r = store_layer_read(&c->ctx, &c->st, chain[i], &m);
		if (r == 0)
			json_array_append_new(layers, json_pack("{s:s, s:s, s:I}", "key", m.key,
				"step", m.step ? m.step : "", "size", (json_int_t)m.size));
		layer_meta_free(&m);
	}
	for (int i = 0; i < n; i++)
		free(chain[i]);
	free(chain);
	if (r < 0) {
		json_decref(layers);
		return cli_fail(c, r);
	}
	{
		struct image_config cfg = { 0 };
		json_t *env = json_array(), *ep = cfg_list(NULL), *cmd = cfg_list(NULL);

		r = store_image_config(&c->ctx, &c->st, key, &cfg);
		if (r < 0) {
			json_decref(layers);
			json_decref(env);
			return cli_fail(c, r);
		}
		for (char **e = cfg.env; e && *e; e++)
			json_array_append_new(env, json_string(*e));
		json_decref(ep);
		json_decref(cmd);
		ep = cfg_list(cfg.entrypoint);
		cmd = cfg_list(cfg.cmd);
		j = json_pack("{s:s, s:o, s:{s:o, s:o, s:o, s:o}}", "id", key, "layers", layers,
			      "config", "env", env, "workdir",
			      cfg.workdir ? json_string(cfg.workdir) : json_null(),
			      "entrypoint", ep, "cmd", cmd);
		if (cfg.user)	/* only a pulled image's config has one */
			json_object_set_new(json_object_get(j, "config"), "user",
					    json_string(cfg.user));
		image_config_free(&cfg);
	}
	if (c->ctx.flags & PKGIMG_F_JSON) {
		json_dumpf(j, stdout, JSON_INDENT(2));
		putchar('\n');
	} else {
		size_t i;
		json_t *l;

		json_t *cfg = json_object_get(j, "config"), *v;
		char *dump;

		printf("id: %s\nlayers:\n", key);
		json_array_foreach(layers, i, l) {
			char size[32];

			human((uint64_t)json_integer_value(json_object_get(l, "size")), size, sizeof size);
			printf("  %s %9s  %s\n", json_string_value(json_object_get(l, "key")), size,
			       json_string_value(json_object_get(l, "step")));
		}
		json_array_foreach(json_object_get(cfg, "env"), i, v)
			printf("%s%s\n", i ? "     " : "env: ", json_string_value(v));
		if (json_is_string(json_object_get(cfg, "workdir")))
			printf("workdir: %s\n", json_string_value(json_object_get(cfg, "workdir")));
		if (json_is_string(json_object_get(cfg, "user")))
			printf("user: %s\n", json_string_value(json_object_get(cfg, "user")));
		if (json_is_array(json_object_get(cfg, "entrypoint"))) {
			dump = json_dumps(json_object_get(cfg, "entrypoint"), JSON_COMPACT);
			printf("entrypoint: %s\n", dump);
			free(dump);
		}
		if (json_is_array(json_object_get(cfg, "cmd"))) {
			dump = json_dumps(json_object_get(cfg, "cmd"), JSON_COMPACT);
			printf("cmd: %s\n", dump);
			free(dump);
		}
	}
	json_decref(j);
	return 0;
}

int cmd_tag(struct cli *c, int argc, char **argv)
{
	char key[STORE_KEY_MAX];
	int r, rc;

	rc = only_json_flag(c, argc, argv, "pkgimg tag IMAGE NAME");
	if (rc)
		return rc == 1 ? 0 : rc;
	if (optind + 2 != argc)
		return cli_usage(c, "tag: usage: pkgimg tag IMAGE NAME");
	rc = cli_open_store(c);
	if (rc)
		return rc;
	r = store_resolve(&c->ctx, &c->st, argv[optind], key);
	if (r == 0)
		r = store_tag_set(&c->ctx, &c->st, argv[optind + 1], key);
	if (r < 0)
		return cli_fail(c, r);
	printf("%s\n", key);
	return 0;
}

int cmd_gc(struct cli *c, int argc, char **argv)
{
	struct store_gc_stats s = { 0 };
	int r, rc;

	rc = only_json_flag(c, argc, argv, "pkgimg gc [--json]");
	if (rc)
		return rc == 1 ? 0 : rc;
	rc = cli_open_store(c);
	if (rc)
		return rc;
	r = store_gc(&c->ctx, &c->st, &s);
	if (r < 0)
		return cli_fail(c, r);
	if (c->ctx.flags & PKGIMG_F_JSON)
		printf("{\"layers\": %d, \"blobs\": %d, \"bytes\": %llu}\n", s.layers, s.blobs,
		       (unsigned long long)s.bytes);
	else
		printf("removed %d layers and %d blobs, %.1f MB freed\n", s.layers, s.blobs,
		       (double)s.bytes / 1e6);
	return 0;
}
