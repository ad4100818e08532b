/* scim_path.h - SCIM attribute paths (RFC 7644 §3.5.2, §3.10).
 *
 *   PATH = attrPath / valuePath [subAttr]
 *   attrPath = [URI ":"] ATTRNAME *1subAttr
 *   valuePath = attrPath "[" valFilter "]"
 *
 * e.g. userName, name.givenName, emails[type eq "work"].value,
 * members[value eq "2819c223"],
 * urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value
 *
 * Shared by PATCH, attributes/excludedAttributes, sortBy and the mapping
 * language, so a path means the same thing everywhere. */
#ifndef SCIMSYNC_SCIM_PATH_H
#define SCIMSYNC_SCIM_PATH_H

#include <jansson.h>

#include "filter.h"
#include "schema.h"
#include "scim_error.h"

typedef struct scim_path {
	const scim_schema *schema; /* schema the attribute is in (NULL if
				      unknown); for common attrs (id, meta,
				      externalId) scim_schema_common() */
	const scim_attr *attr;	   /* top-level definition, NULL if unknown */
	char *attr_name;	   /* canonical if known, else as written */
	scim_filter *filter;	   /* value filter inside [], or NULL */
	const scim_attr *sub;	   /* sub-attribute definition, or NULL */
	char *sub_name;		   /* sub-attribute name, or NULL */
} scim_path;

/* Parse text as a path on resources of type rt. *out is new, owned by the
 * caller (scim_path_free). Unknown attribute names are not an error here
 * (attr stays NULL); syntax errors are 400 invalidPath, errors inside
 * the value filter 400 invalidFilter. */
int scim_path_parse(scim_path **out, const scim_restype *rt, const char *text,
		    scim_error *err);

/* Same, for `len` bytes of text (no NUL needed). */
int scim_path_parse_n(scim_path **out, const scim_restype *rt, const char *text,
		      size_t len, scim_error *err);

void scim_path_free(scim_path *p);

/* Where the path's top-level attribute lives in a resource: the resource
 * itself for core and common attributes, the object under the extension
 * URN key for extension attributes. Borrowed; NULL if the extension
 * object is absent (and create is false). With create, a missing
 * extension object is added to res. */
json_t *scim_path_container(const scim_path *p, json_t *res, bool create);

/* The JSON key of the path's schema container in a resource (the
 * extension URN), or NULL for core/common attributes. */
const char *scim_path_container_key(const scim_path *p);

/* The value(s) the path selects in resource res, as a new reference, or
 * NULL if there are none. Names compare case-insensitively.
 *  - no value filter, no sub-attribute: the attribute's value as stored
 *    (an array for a multi-valued attribute); for a bare schema URN, the
 *    extension object (or the resource itself for the core schema);
 *  - a sub-attribute and no value filter: the sub-attribute of a complex
 *    value, or for a multi-valued one a new array of the sub-attribute of
 *    each element that has it (NULL if none has);
 *  - a value filter: a new array of the matching elements (a single
 *    complex value counts as a one-element array), or of their
 *    sub-attribute when the path has one; NULL if nothing matches.
 * res is borrowed and not modified. */
json_t *scim_path_get(const scim_path *p, const json_t *res);

#endif
