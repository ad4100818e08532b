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

#endif
