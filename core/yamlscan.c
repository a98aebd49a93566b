/* A bounded first pass over a YAML text (see core/yamlscan.h). */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/yamlscan.h"

yaml_mark_t yscan_mark_of(const char *text, size_t off)
{
	yaml_mark_t m = { off, 0, 0 };
	const char *p = text, *end = text + off, *nl;

	while ((nl = memchr(p, '\n', (size_t)(end - p)))) {
		m.line++;
		p = nl + 1;
	}
	m.column = (size_t)(end - p);
	return m;
}

static void yscan_set(struct yscan *out, enum yscan_kind kind, const yaml_event_t *ev,
		      const yaml_char_t *name)
{
	out->kind = kind;
	out->mark = ev->start_mark;
	snprintf(out->name, sizeof out->name, "%s", name ? (const char *)name : "");
}

void yscan_run(const char *text, size_t len, int max_depth, struct yscan *out)
{
	yaml_parser_t yp;
	yaml_event_t ev;
	int depth = 0, docs = 0;
	bool done = false;

	memset(out, 0, sizeof *out);
	yaml_parser_initialize(&yp);
	yaml_parser_set_input_string(&yp, (const unsigned char *)text, len);
	while (!done && out->kind == YSCAN_OK && yaml_parser_parse(&yp, &ev)) {
		const yaml_char_t *anchor = NULL;

		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (++docs > 1)
				yscan_set(out, YSCAN_SECOND_DOC, &ev, NULL);
			break;
		case YAML_ALIAS_EVENT:
			yscan_set(out, YSCAN_ALIAS, &ev, ev.data.alias.anchor);
			break;
		case YAML_SCALAR_EVENT:
			anchor = ev.data.scalar.anchor;
			break;
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			anchor = ev.type == YAML_SEQUENCE_START_EVENT
				? ev.data.sequence_start.anchor : ev.data.mapping_start.anchor;
			if (++depth > max_depth)
				yscan_set(out, YSCAN_DEPTH, &ev, NULL);
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			depth--;
			break;
		default:
			break;
		}
		if (anchor && out->kind == YSCAN_OK)
			yscan_set(out, YSCAN_ANCHOR, &ev, anchor);
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&yp);
}
