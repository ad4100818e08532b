/* tmpl.h - the Liquid-like template language of mapping files.
 *
 *   uid:  '{{ userName | split: "@" | first | downcase }}'
 *   mail: '{{ emails[type eq "work"].value | default: userName }}'
 *
 * A template is compiled once (when its mapping file loads) into an
 * instruction tree and rendered many times; rendering never re-parses,
 * never crashes, and is bounded (loop iterations, output size, steps).
 *
 * Expressions: SCIM attribute paths on the resource (shared with the SCIM
 * filter and PATCH code: sub-attributes, value filters, extension URNs),
 * variables from {% assign %}, {% capture %} and {% for %} (with forloop),
 * the `event` object given to tmpl_render, and literals ("s", 'q', 12, 1.5,
 * true, false, nil, empty). Missing attributes are nil (render as "").
 *
 * Output: a template renders to a list of values. Text and output tags
 * concatenate into one string value; a template that is exactly one output
 * tag whose result is an array renders one value per element (so LDAP
 * `mail` or a role list can be multi-valued). An empty string result is
 * no value at all. */
#ifndef SCIMSYNC_TMPL_H
#define SCIMSYNC_TMPL_H

#include <stddef.h>

#include <jansson.h>

#include "schema.h"

/* Bounds on a render, against runaway templates. */
#define TMPL_MAX_OUTPUT (64 * 1024) /* bytes of one rendered value */
#define TMPL_MAX_STEPS 100000	    /* instructions + loop iterations */
#define TMPL_MAX_VALUES 1000	    /* values of one render */

typedef struct tmpl tmpl;

/* Where and why compiling or rendering failed. Filling it never
 * allocates. line and column are 1-based in the file the template came
 * from (tmpl_compile adds its line/column offsets). */
typedef struct tmpl_error {
	char file[128];
	int line;
	int column;
	char message[256]; /* "expected '}}' after filter arguments" */
} tmpl_error;

/* Compile src (len bytes) for resources of type rt (NULL: untyped, paths
 * resolve without a schema). file/line/column say where src starts in
 * its file, for errors. Unknown filters and tags, unbalanced tags and bad
 * syntax are compile errors. *out is new (tmpl_free). */
int tmpl_compile(tmpl **out, const char *src, size_t len,
		 const scim_restype *rt, const char *file, int line, int column,
		 tmpl_error *err);

void tmpl_free(tmpl *t);

/* Render t against resource (a SCIM resource object, borrowed) and event
 * (an object or NULL, reachable as `event`; borrowed). *out is a new JSON
 * array of strings (zero or more values). Returns 0; -1 with err only
 * when a bound was hit (the partial output is discarded). */
int tmpl_render(json_t **out, const tmpl *t, const json_t *resource,
		const json_t *event, tmpl_error *err);

/* Convenience: render to one string (values joined by ","), new, or NULL
 * with err. */
char *tmpl_render_string(const tmpl *t, const json_t *resource,
			 const json_t *event, tmpl_error *err);

/* Is this a filter name the language knows? (for tooling) */
int tmpl_filter_known(const char *name);

#endif
