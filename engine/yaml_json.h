/* yaml_json.h - read YAML (config and mapping files) into jansson values,
 * so the engine has one object model.
 *
 * Plain scalars become JSON true/false (true, false), null (null, ~, empty),
 * integers or reals when they look like numbers, else strings; quoted
 * scalars are always strings. Anchors and aliases are refused (they buy
 * nothing here and allow exponential documents). Mapping keys must be
 * scalars and unique. */
#ifndef SCIMSYNC_YAML_JSON_H
#define SCIMSYNC_YAML_JSON_H

#include <stddef.h>

#include <jansson.h>

/* Parse len bytes of YAML (one document; empty → empty object). On success
 * *out is a new reference. On error returns -1 and writes
 * "NAME:LINE:COLUMN: what" into errbuf. */
int yaml_to_json(json_t **out, const char *text, size_t len, const char *name,
		 char *errbuf, size_t errlen);

/* Read a whole file and parse it (name in errors = path). */
int yaml_file_to_json(json_t **out, const char *path, char *errbuf,
		      size_t errlen);

/* As yaml_to_json, and also where each scalar sits in the text: *pos_out
 * is a new object mapping the scalar's JSON Pointer ("/user/mail/1") to
 * [line, column], 1-based, of its first content character (after the
 * quote of a quoted scalar; the first content line of a block scalar).
 * Inside a scalar, line/column offsets are exact for plain, quoted and
 * literal single-line text; escapes and folding make them approximate.
 * A mapping or sequence value is located by its key.
 * On error *out and *pos_out are NULL. */
int yaml_to_json_pos(json_t **out, json_t **pos_out, const char *text,
		     size_t len, const char *name, char *errbuf, size_t errlen);

/* yaml_file_to_json with the position map of yaml_to_json_pos. */
int yaml_file_to_json_pos(json_t **out, json_t **pos_out, const char *path,
			  char *errbuf, size_t errlen);

#endif
