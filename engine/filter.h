/* filter.h - SCIM filter expressions (RFC 7644 §3.4.2.2).
 *
 * The whole grammar: eq ne co sw ew pr gt ge lt le, and/or/not with
 * precedence (not > and > or) and parentheses, complex attribute filters
 * (emails[type eq "work" and value co "x"]), sub-attributes, URN-qualified
 * paths. Attribute names and operators are case-insensitive. A filter is
 * parsed once into a tree, then matched against any number of resources.
 *
 * Comparison follows the attribute definitions in schema.h: caseExact
 * strings compare bytes, others compare case-insensitively; dateTime
 * compares as instants; integer/decimal as numbers; boolean only eq/ne.
 * A comparison on a multi-valued attribute matches if any value matches.
 * An attribute the schemas do not define is compared by JSON type (strings
 * case-insensitively) when the resource has it, and never matches when it
 * does not. `ne` is "not eq" (so it matches an absent attribute);
 * `attr eq null` means absent. */
#ifndef SCIMSYNC_FILTER_H
#define SCIMSYNC_FILTER_H

#include <stdbool.h>

#include <jansson.h>

#include "schema.h"
#include "scim_error.h"

/* Limits against hostile input; exceeding one is 400 invalidFilter. */
#define SCIM_FILTER_MAX_LEN 4096
#define SCIM_FILTER_MAX_DEPTH 32

typedef enum scim_filter_op {
	SCIM_OP_EQ,
	SCIM_OP_NE,
	SCIM_OP_CO,
	SCIM_OP_SW,
	SCIM_OP_EW,
	SCIM_OP_PR,
	SCIM_OP_GT,
	SCIM_OP_GE,
	SCIM_OP_LT,
	SCIM_OP_LE
} scim_filter_op;

typedef struct scim_filter scim_filter;

/* Parse text (NUL-terminated) as a filter on resources of type rt.
 * On success *out is a new filter owned by the caller (scim_filter_free).
 * On error returns -1 with err = 400 invalidFilter and a detail that
 * names the position and what was expected. */
int scim_filter_parse(scim_filter **out, const scim_restype *rt,
		      const char *text, scim_error *err);

/* Parse a value filter: the text between [ and ] of a value path, whose
 * attribute names are sub-attributes of `parent` (a complex attribute of
 * rt). `len` bytes of text are read. Used by scim_path and the mapping
 * language. */
int scim_filter_parse_sub(scim_filter **out, const scim_restype *rt,
			  const scim_attr *parent, const char *text, size_t len,
			  scim_error *err);

void scim_filter_free(scim_filter *f);

/* Does the resource (or, for a value filter, the element of the
 * multi-valued attribute) match? json is borrowed. */
bool scim_filter_match(const scim_filter *f, const json_t *json);

/* What one comparison in a filter looks like, for the visitor. */
typedef struct scim_filter_cmp {
	const char *urn;  /* schema URN of the attribute, or NULL */
	const char *attr; /* canonical top-level attribute name */
	const char *sub;  /* sub-attribute name, or NULL */
	scim_filter_op op;
	const json_t *value;  /* the literal (NULL for pr); borrowed */
	bool negated;	      /* under an odd number of `not` */
	bool in_value_filter; /* inside attr[ ... ]: attr is the parent */
} scim_filter_cmp;

/* Call cb for every comparison in f, depth first, left to right. */
void scim_filter_visit(const scim_filter *f,
		       void (*cb)(const scim_filter_cmp *cmp, void *payload),
		       void *payload);

/* Index pushdown: if f is `attr eq "value"`, or an `and` with such a term
 * (at any depth of nested `and`s), where attr is one of id, userName,
 * externalId (users), displayName (groups), return true and set *attr
 * (canonical name) and *value (borrowed from f). Only a string literal
 * qualifies. The caller still evaluates the whole filter. */
bool scim_filter_index_hint(const scim_filter *f, const char **attr,
			    const char **value);

#endif
