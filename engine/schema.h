/* schema.h - SCIM schemas as data (RFC 7643 §2, §4, §7, §8.7).
 *
 * The core User, Group and Enterprise User schemas are static tables of
 * scim_attr. Everything that needs to know about an attribute (type,
 * caseExact, mutability, returned, uniqueness) asks these tables: the filter
 * evaluator, PATCH, validation, projection and the /Schemas endpoint, which
 * renders the same tables, so what is served is what is enforced.
 *
 * Attribute names are matched case-insensitively (RFC 7643 §2.1); lookups
 * return the canonical definition whose `name` has the canonical case. */
#ifndef SCIMSYNC_SCHEMA_H
#define SCIMSYNC_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "scim_error.h"

#define SCIM_URN_USER "urn:ietf:params:scim:schemas:core:2.0:User"
#define SCIM_URN_GROUP "urn:ietf:params:scim:schemas:core:2.0:Group"
#define SCIM_URN_ENTERPRISE_USER                                               \
	"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
#define SCIM_URN_LIST "urn:ietf:params:scim:api:messages:2.0:ListResponse"
#define SCIM_URN_ERROR "urn:ietf:params:scim:api:messages:2.0:Error"
#define SCIM_URN_PATCH "urn:ietf:params:scim:api:messages:2.0:PatchOp"
#define SCIM_URN_SEARCH "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
#define SCIM_URN_BULK_REQ "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
#define SCIM_URN_BULK_RESP "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
#define SCIM_URN_SPC                                                           \
	"urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
#define SCIM_URN_RESTYPE "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
#define SCIM_URN_SCHEMA "urn:ietf:params:scim:schemas:core:2.0:Schema"

typedef enum scim_type {
	SCIM_T_STRING,
	SCIM_T_BOOLEAN,
	SCIM_T_DECIMAL,
	SCIM_T_INTEGER,
	SCIM_T_DATETIME,
	SCIM_T_BINARY,
	SCIM_T_REFERENCE,
	SCIM_T_COMPLEX
} scim_type;

typedef enum scim_mutability {
	SCIM_MUT_READWRITE,
	SCIM_MUT_READONLY,
	SCIM_MUT_IMMUTABLE,
	SCIM_MUT_WRITEONLY
} scim_mutability;

typedef enum scim_returned {
	SCIM_RET_DEFAULT,
	SCIM_RET_ALWAYS,
	SCIM_RET_NEVER,
	SCIM_RET_REQUEST
} scim_returned;

typedef enum scim_uniqueness {
	SCIM_UNIQ_NONE,
	SCIM_UNIQ_SERVER,
	SCIM_UNIQ_GLOBAL
} scim_uniqueness;

typedef struct scim_attr scim_attr;
struct scim_attr {
	const char *name; /* canonical case */
	scim_type type;
	bool multi_valued;
	bool required;
	bool case_exact;
	scim_mutability mutability;
	scim_returned returned;
	scim_uniqueness uniqueness;
	const char *description;
	const char *const *canonical_values; /* NULL-terminated, or NULL */
	const char *const *reference_types;  /* NULL-terminated, or NULL */
	const scim_attr *sub_attrs;	     /* for SCIM_T_COMPLEX */
	size_t n_sub_attrs;
};

typedef struct scim_schema {
	const char *id; /* URN */
	const char *name;
	const char *description;
	const scim_attr *attrs;
	size_t n_attrs;
} scim_schema;

typedef enum scim_rtype_id {
	SCIM_RT_USER = 1,
	SCIM_RT_GROUP = 2
} scim_rtype_id;

typedef struct scim_restype {
	scim_rtype_id id;
	const char *name;     /* "User" */
	const char *endpoint; /* "/Users" */
	const char *description;
	const scim_schema *core;
	const scim_schema *const *extensions; /* NULL-terminated */
} scim_restype;

/* Resource types and schemas; borrowed, static, never freed. */
const scim_restype *scim_restype_user(void);
const scim_restype *scim_restype_group(void);
/* By endpoint name without slash ("Users"), case-insensitive; NULL if none. */
const scim_restype *scim_restype_by_endpoint(const char *endpoint);
/* All schemas served at /Schemas, NULL-terminated. */
const scim_schema *const *scim_schema_all(void);
const scim_schema *scim_schema_by_urn(const char *urn); /* case-insensitive */

/* The common attributes every resource has (id, externalId, meta and its
 * sub-attributes) as a pseudo-schema, so paths like meta.lastModified
 * resolve like any other. */
const scim_schema *scim_schema_common(void);

/* Find an attribute of resource type rt. urn: the schema URN it was
 * qualified with, or NULL for an unqualified name (searched in the core
 * schema, then the common attributes, then each extension). Returns a
 * borrowed definition, NULL if unknown. *schema_out (if not NULL) receives
 * the schema it belongs to (for common attributes: scim_schema_common()). */
const scim_attr *scim_schema_find(const scim_restype *rt, const char *urn,
				  const char *name,
				  const scim_schema **schema_out);

/* Sub-attribute of a complex attribute, case-insensitive; NULL if unknown. */
const scim_attr *scim_attr_sub(const scim_attr *parent, const char *name);

/* If text starts with the URN of one of rt's schemas (core or extension,
 * case-insensitive) followed by ':' or the end, return that schema and set
 * *rest to what follows the ':' (or to "" at the end). Otherwise NULL. */
const scim_schema *scim_schema_match_urn(const scim_restype *rt,
					 const char *text, const char **rest);

/* The RFC 7643 name of a type: "string", "dateTime", "complex", ... */
const char *scim_type_name(scim_type t);

/* Value of key in obj: the exact key if present, else the first key that
 * matches ignoring ASCII case (RFC 7643 §2.1: attribute names are
 * case-insensitive). Borrowed; NULL if obj is not an object or lacks it. */
json_t *scim_json_get_ci(const json_t *obj, const char *key);

/* ---- Rendering (discovery endpoints) -------------------------------- */

/* New reference: the RFC 7643 §7 representation of a schema, with
 * meta.location built from base_url (e.g. "https://h/scim/v2"). */
json_t *scim_schema_to_json(const scim_schema *s, const char *base_url);
/* New reference: RFC 7643 §6 ResourceType representation. */
json_t *scim_restype_to_json(const scim_restype *rt, const char *base_url);

/* What the service provider supports, for /ServiceProviderConfig. */
typedef struct scim_spc_limits {
	int bulk_max_operations;
	long bulk_max_payload;
	int filter_max_results;
	bool etag;
	bool sort;
	bool change_password;
} scim_spc_limits;
json_t *scim_spc_to_json(const scim_spc_limits *l, const char *base_url);

/* ---- Validation and normalisation of client input ------------------- */

/* Modes for scim_resource_normalize. */
typedef enum scim_norm_mode {
	SCIM_NORM_CREATE,  /* POST: readOnly dropped, required enforced */
	SCIM_NORM_REPLACE, /* PUT: as CREATE, plus immutable checked vs old */
	SCIM_NORM_PATCHED  /* after PATCH: types/required checked */
} scim_norm_mode;

/* Normalise a client-supplied resource in place: attribute names to
 * canonical case (including extension URN keys and sub-attributes); JSON
 * nulls removed (treated as absent); string booleans "True"/"false" turned
 * into booleans, numeric strings left alone; a bare string where a complex
 * attribute with a `value` sub-attribute is expected (Entra's manager)
 * wrapped as {"value": s}; a single value for a multi-valued attribute
 * wrapped in an array; unknown attributes and unknown schema URN keys
 * dropped; readOnly attributes dropped (id, meta, groups); types checked
 * (400 invalidValue with the path in detail); required attributes enforced
 * (400 invalidValue); at most one primary=true per multi-valued attribute.
 * For SCIM_NORM_REPLACE, `old` is the stored resource: an immutable
 * attribute that has a value in old and a different one in res gives
 * 400 mutability. `schemas` is rewritten to the core URN plus the URN of
 * each extension present. Returns 0, or -1 with err filled. */
int scim_resource_normalize(const scim_restype *rt, json_t *res,
			    scim_norm_mode mode, const json_t *old,
			    scim_error *err);

/* Apply `returned` rules and attributes/excludedAttributes (RFC 7644
 * §3.4.2.5) to res in place: returned=never removed always; returned=always
 * kept always (id, schemas, ...); attributes (if not NULL/empty) keeps only
 * the listed ones (plus always ones); excludedAttributes removes listed
 * ones unless returned=always. Lists are comma-separated attribute paths,
 * possibly URN-qualified and with sub-attributes ("name.givenName").
 * Returns 0, or -1 with err (400 invalidPath is not used: unknown names
 * are ignored, as most providers do). */
int scim_resource_project(const scim_restype *rt, json_t *res,
			  const char *attributes, const char *excluded,
			  scim_error *err);

#endif
