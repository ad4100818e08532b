/* yaml_json.c - YAML into jansson values, via libyaml's event parser. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "yaml_json.h"

#define YJ_MAX_DEPTH 64
#define YJ_MAX_PATH 1024

typedef struct yj {
	yaml_parser_t parser;
	const char *name;
	char *errbuf;
	size_t errlen;
	/* Only for yaml_to_json_pos: the text, the position map being built
	 * (NULL: not wanted), and the JSON Pointer of the current node. */
	const char *text;
	size_t textlen;
	json_t *pos;
	char path[YJ_MAX_PATH];
	size_t pathlen;
} yj;

/* Append "/" and seg (JSON Pointer escaped) to y->path; returns the old
 * length to restore, or (size_t)-1 when the path would not fit. */
static size_t yj_path_push(yj *y, const char *seg)
{
	size_t old = y->pathlen, n = old;

	if (y->pos == NULL)
		return old;
	if (n + 1 >= sizeof(y->path))
		return (size_t)-1;
	y->path[n++] = '/';
	for (; *seg; seg++) {
		const char *rep = *seg == '~'	? "~0"
				  : *seg == '/' ? "~1"
						: NULL;
		size_t k = rep ? 2 : 1;

		if (n + k >= sizeof(y->path))
			return (size_t)-1;
		if (rep) {
			y->path[n++] = rep[0];
			y->path[n++] = rep[1];
		} else {
			y->path[n++] = *seg;
		}
	}
	y->path[n] = '\0';
	y->pathlen = n;
	return old;
}

static void yj_path_pop(yj *y, size_t old)
{
	if (y->pos == NULL || old == (size_t)-1)
		return;
	y->pathlen = old;
	y->path[old] = '\0';
}

/* Record where a scalar's content starts: after the quote of a quoted
 * scalar, on the first content line of a block scalar. */
static void yj_record(yj *y, const yaml_event_t *ev)
{
	size_t line = ev->start_mark.line, col = ev->start_mark.column;
	size_t i = ev->start_mark.index;

	if (y->pos == NULL)
		return;
	switch (ev->data.scalar.style) {
	case YAML_SINGLE_QUOTED_SCALAR_STYLE:
	case YAML_DOUBLE_QUOTED_SCALAR_STYLE:
		col++;
		break;
	case YAML_LITERAL_SCALAR_STYLE:
	case YAML_FOLDED_SCALAR_STYLE:
		while (i < y->textlen && y->text[i] != '\n')
			i++;
		if (i < y->textlen) {
			i++;
			line++;
			col = 0;
			while (i < y->textlen && y->text[i] == ' ') {
				i++;
				col++;
			}
		}
		break;
	default:
		break;
	}
	json_object_set_new(
		y->pos, y->path,
		json_pack("[II]", (json_int_t)line + 1, (json_int_t)col + 1));
}

static int yj_fail(yj *y, const yaml_mark_t *mark, const char *what)
{
	snprintf(y->errbuf, y->errlen, "%s:%zu:%zu: %s", y->name,
		 mark->line + 1, mark->column + 1, what);
	return -1;
}

static int yj_parser_fail(yj *y)
{
	char what[200];

	snprintf(what, sizeof(what), "%s%s%s",
		 y->parser.problem ? y->parser.problem : "syntax error",
		 y->parser.context ? " " : "",
		 y->parser.context ? y->parser.context : "");
	return yj_fail(y, &y->parser.problem_mark, what);
}

static int yj_next(yj *y, yaml_event_t *ev)
{
	if (!yaml_parser_parse(&y->parser, ev))
		return yj_parser_fail(y);
	return 0;
}

/* A plain scalar's JSON type, as YAML 1.2's core schema would have it. */
static json_t *yj_plain_scalar(const char *s, size_t len)
{
	char *end;

	if (len == 0 || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 ||
	    strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0)
		return json_null();
	if (strcmp(s, "true") == 0 || strcmp(s, "True") == 0 ||
	    strcmp(s, "TRUE") == 0)
		return json_true();
	if (strcmp(s, "false") == 0 || strcmp(s, "False") == 0 ||
	    strcmp(s, "FALSE") == 0)
		return json_false();
	if ((s[0] >= '0' && s[0] <= '9') ||
	    ((s[0] == '-' || s[0] == '+') && s[1] >= '0' && s[1] <= '9')) {
		long long v;
		double d;

		errno = 0;
		v = strtoll(s, &end, 10);
		if (errno == 0 && *end == '\0')
			return json_integer(v);
		errno = 0;
		d = strtod(s, &end);
		if (errno == 0 && *end == '\0')
			return json_real(d);
	}
	return json_stringn(s, len);
}

static int yj_value(yj *y, yaml_event_t *ev, json_t **out, int depth);

static int yj_mapping(yj *y, json_t **out, int depth)
{
	json_t *obj = json_object();
	yaml_event_t ev;

	for (;;) {
		json_t *val = NULL;
		char *key;
		yaml_mark_t mark;
		size_t saved;

		if (yj_next(y, &ev) < 0)
			goto fail;
		if (ev.type == YAML_MAPPING_END_EVENT) {
			yaml_event_delete(&ev);
			break;
		}
		if (ev.type != YAML_SCALAR_EVENT) {
			yj_fail(y, &ev.start_mark,
				"mapping keys must be scalars");
			yaml_event_delete(&ev);
			goto fail;
		}
		mark = ev.start_mark;
		key = strndup((const char *)ev.data.scalar.value,
			      ev.data.scalar.length);
		yaml_event_delete(&ev);
		if (key == NULL)
			goto fail;
		if (json_object_get(obj, key) != NULL) {
			char what[160];

			snprintf(what, sizeof(what), "duplicate key '%.100s'",
				 key);
			free(key);
			yj_fail(y, &mark, what);
			goto fail;
		}
		if (yj_next(y, &ev) < 0) {
			free(key);
			goto fail;
		}
		saved = yj_path_push(y, key);
		/* Where the key is, until a scalar value says where it is. */
		if (y->pos != NULL)
			json_object_set_new(
				y->pos, y->path,
				json_pack("[II]", (json_int_t)mark.line + 1,
					  (json_int_t)mark.column + 1));
		if (yj_value(y, &ev, &val, depth + 1) < 0) {
			free(key);
			goto fail;
		}
		yj_path_pop(y, saved);
		json_object_set_new(obj, key, val);
		free(key);
	}
	*out = obj;
	return 0;
fail:
	json_decref(obj);
	return -1;
}

static int yj_sequence(yj *y, json_t **out, int depth)
{
	json_t *arr = json_array();
	yaml_event_t ev;

	for (;;) {
		json_t *val = NULL;
		char idx[32];
		size_t saved;

		if (yj_next(y, &ev) < 0)
			goto fail;
		if (ev.type == YAML_SEQUENCE_END_EVENT) {
			yaml_event_delete(&ev);
			break;
		}
		snprintf(idx, sizeof(idx), "%zu", json_array_size(arr));
		saved = yj_path_push(y, idx);
		if (yj_value(y, &ev, &val, depth + 1) < 0)
			goto fail;
		yj_path_pop(y, saved);
		json_array_append_new(arr, val);
	}
	*out = arr;
	return 0;
fail:
	json_decref(arr);
	return -1;
}

/* Consumes ev (always deleted). */
static int yj_value(yj *y, yaml_event_t *ev, json_t **out, int depth)
{
	yaml_event_type_t type = ev->type;
	int rc = -1;

	if (depth > YJ_MAX_DEPTH) {
		yj_fail(y, &ev->start_mark, "nested too deeply");
		yaml_event_delete(ev);
		return -1;
	}
	switch (type) {
	case YAML_SCALAR_EVENT: {
		const char *s = (const char *)ev->data.scalar.value;
		size_t len = ev->data.scalar.length;

		if (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
			*out = yj_plain_scalar(s, len);
		else
			*out = json_stringn(s, len);
		rc = *out ? 0 : yj_fail(y, &ev->start_mark, "invalid UTF-8");
		if (rc == 0)
			yj_record(y, ev);
		yaml_event_delete(ev);
		return rc;
	}
	case YAML_MAPPING_START_EVENT:
		yaml_event_delete(ev);
		return yj_mapping(y, out, depth);
	case YAML_SEQUENCE_START_EVENT:
		yaml_event_delete(ev);
		return yj_sequence(y, out, depth);
	case YAML_ALIAS_EVENT:
		yj_fail(y, &ev->start_mark, "aliases are not supported");
		break;
	default:
		yj_fail(y, &ev->start_mark, "unexpected YAML event");
		break;
	}
	yaml_event_delete(ev);
	return -1;
}

static int yj_parse(json_t **out, json_t *pos, const char *text, size_t len,
		    const char *name, char *errbuf, size_t errlen)
{
	yj y = {.name = name ? name : "<yaml>",
		.errbuf = errbuf,
		.errlen = errlen,
		.text = text,
		.textlen = len,
		.pos = pos};
	yaml_event_t ev;
	json_t *doc = NULL;
	int rc = -1;

	*out = NULL;
	if (!yaml_parser_initialize(&y.parser)) {
		snprintf(errbuf, errlen, "%s: out of memory", y.name);
		return -1;
	}
	yaml_parser_set_input_string(&y.parser, (const unsigned char *)text,
				     len);
	/* STREAM-START, then DOCUMENT-START or STREAM-END. */
	if (yj_next(&y, &ev) < 0)
		goto done;
	yaml_event_delete(&ev);
	if (yj_next(&y, &ev) < 0)
		goto done;
	if (ev.type == YAML_STREAM_END_EVENT) {
		yaml_event_delete(&ev);
		*out = json_object();
		rc = 0;
		goto done;
	}
	yaml_event_delete(&ev);
	if (yj_next(&y, &ev) < 0 || yj_value(&y, &ev, &doc, 0) < 0)
		goto done;
	if (json_is_null(doc)) {
		json_decref(doc);
		doc = json_object();
	}
	if (yj_next(&y, &ev) < 0) /* DOCUMENT-END */
		goto done;
	yaml_event_delete(&ev);
	if (yj_next(&y, &ev) < 0)
		goto done;
	if (ev.type != YAML_STREAM_END_EVENT) {
		yj_fail(&y, &ev.start_mark, "only one document is allowed");
		yaml_event_delete(&ev);
		goto done;
	}
	yaml_event_delete(&ev);
	*out = doc;
	doc = NULL;
	rc = 0;
done:
	json_decref(doc);
	yaml_parser_delete(&y.parser);
	return rc;
}

/* Read path whole and parse it; with pos_out, also the position map. */
static int yj_file(json_t **out, json_t **pos_out, const char *path,
		   char *errbuf, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0, cap = 0;
	int rc;

	*out = NULL;
	if (f == NULL) {
		snprintf(errbuf, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	for (;;) {
		size_t n;

		if (cap - len < 4096) {
			char *nb;

			cap = cap ? cap * 2 : 8192;
			if (cap > (64u << 20) ||
			    (nb = realloc(buf, cap)) == NULL) {
				snprintf(errbuf, errlen, "%s: too large", path);
				free(buf);
				fclose(f);
				return -1;
			}
			buf = nb;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		snprintf(errbuf, errlen, "%s: read error", path);
		free(buf);
		fclose(f);
		return -1;
	}
	fclose(f);
	if (pos_out != NULL)
		rc = yaml_to_json_pos(out, pos_out, buf ? buf : "", len, path,
				      errbuf, errlen);
	else
		rc = yaml_to_json(out, buf ? buf : "", len, path, errbuf,
				  errlen);
	free(buf);
	return rc;
}

int yaml_file_to_json(json_t **out, const char *path, char *errbuf,
		      size_t errlen)
{
	return yj_file(out, NULL, path, errbuf, errlen);
}

int yaml_file_to_json_pos(json_t **out, json_t **pos_out, const char *path,
			  char *errbuf, size_t errlen)
{
	*pos_out = NULL;
	return yj_file(out, pos_out, path, errbuf, errlen);
}

int yaml_to_json(json_t **out, const char *text, size_t len, const char *name,
		 char *errbuf, size_t errlen)
{
	return yj_parse(out, NULL, text, len, name, errbuf, errlen);
}

int yaml_to_json_pos(json_t **out, json_t **pos_out, const char *text,
		     size_t len, const char *name, char *errbuf, size_t errlen)
{
	json_t *pos = json_object();
	int rc;

	*pos_out = NULL;
	if (pos == NULL) {
		*out = NULL;
		snprintf(errbuf, errlen, "%s: out of memory",
			 name ? name : "<yaml>");
		return -1;
	}
	rc = yj_parse(out, pos, text, len, name, errbuf, errlen);
	if (rc < 0)
		json_decref(pos);
	else
		*pos_out = pos;
	return rc;
}
