/* schema.c - lookups in the schema tables and their JSON rendering for
 * the discovery endpoints (RFC 7643 §5, §6, §7). The tables themselves
 * are in schema_data.c. */
#include <string.h>

#include "schema.h"
#include "strutil.h"

/* ---- Lookups -------------------------------------------------------- */

const scim_restype *scim_restype_by_endpoint(const char *endpoint)
{
	const scim_restype *rts[2];
	size_t i;

	if (endpoint == NULL)
		return NULL;
	rts[0] = scim_restype_user();
	rts[1] = scim_restype_group();
	for (i = 0; i < 2; i++) {
		/* rt->endpoint is "/Users"; compare without the slash. */
		if (scim_strcasecmp(rts[i]->endpoint + 1, endpoint) == 0)
			return rts[i];
	}
	return NULL;
}

const scim_schema *scim_schema_by_urn(const char *urn)
{
	const scim_schema *const *s;

	if (urn == NULL)
		return NULL;
	for (s = scim_schema_all(); *s != NULL; s++) {
		if (scim_strcasecmp((*s)->id, urn) == 0)
			return *s;
	}
	return NULL;
}

static const scim_attr *attr_in(const scim_attr *attrs, size_t n,
				const char *name)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (scim_strcasecmp(attrs[i].name, name) == 0)
			return &attrs[i];
	}
	return NULL;
}

static const scim_attr *attr_in_schema(const scim_schema *s, const char *name,
				       const scim_schema **schema_out)
{
	const scim_attr *a = attr_in(s->attrs, s->n_attrs, name);

	if (a != NULL && schema_out != NULL)
		*schema_out = s;
	return a;
}

const scim_attr *scim_schema_find(const scim_restype *rt, const char *urn,
				  const char *name,
				  const scim_schema **schema_out)
{
	const scim_schema *const *ext;
	const scim_attr *a;

	if (rt == NULL || name == NULL)
		return NULL;
	if (urn == NULL || scim_strcasecmp(urn, rt->core->id) == 0) {
		a = attr_in_schema(rt->core, name, schema_out);
		if (a == NULL)
			a = attr_in_schema(scim_schema_common(), name,
					   schema_out);
		if (a != NULL || urn != NULL)
			return a;
	}
	for (ext = rt->extensions; *ext != NULL; ext++) {
		if (urn != NULL && scim_strcasecmp(urn, (*ext)->id) != 0)
			continue;
		a = attr_in_schema(*ext, name, schema_out);
		if (a != NULL || urn != NULL)
			return a;
	}
	return NULL;
}

const scim_attr *scim_attr_sub(const scim_attr *parent, const char *name)
{
	if (parent == NULL || name == NULL || parent->type != SCIM_T_COMPLEX)
		return NULL;
	return attr_in(parent->sub_attrs, parent->n_sub_attrs, name);
}

/* Does text start with urn (case-insensitively) followed by ':' or end? */
static bool urn_prefix(const char *text, const char *urn, const char **rest)
{
	size_t n = strlen(urn);

	if (scim_strncasecmp(text, urn, n) != 0)
		return false;
	if (text[n] == '\0') {
		*rest = text + n;
		return true;
	}
	if (text[n] == ':') {
		*rest = text + n + 1;
		return true;
	}
	return false;
}

const scim_schema *scim_schema_match_urn(const scim_restype *rt,
					 const char *text, const char **rest)
{
	const scim_schema *best = NULL;
	const scim_schema *const *ext;
	const char *r = NULL, *tmp;

	if (rt == NULL || text == NULL)
		return NULL;
	/* Longest match wins, in case one URN is a prefix of another. */
	if (urn_prefix(text, rt->core->id, &tmp)) {
		best = rt->core;
		r = tmp;
	}
	for (ext = rt->extensions; *ext != NULL; ext++) {
		if (urn_prefix(text, (*ext)->id, &tmp) &&
		    (best == NULL || strlen((*ext)->id) > strlen(best->id))) {
			best = *ext;
			r = tmp;
		}
	}
	if (best != NULL && rest != NULL)
		*rest = r;
	return best;
}

json_t *scim_json_get_ci(const json_t *obj, const char *key)
{
	const char *k;
	json_t *v;

	if (key == NULL || !json_is_object(obj))
		return NULL;
	v = json_object_get(obj, key);
	if (v != NULL)
		return v;
	json_object_foreach ((json_t *)obj, k, v) {
		if (scim_strcasecmp(k, key) == 0)
			return v;
	}
	return NULL;
}

/* ---- Rendering ------------------------------------------------------ */

#ifndef SCIM_SPC_DOCUMENTATION_URI
#define SCIM_SPC_DOCUMENTATION_URI "https://www.rfc-editor.org/rfc/rfc7644"
#endif

const char *scim_type_name(scim_type t)
{
	switch (t) {
	case SCIM_T_STRING:
		return "string";
	case SCIM_T_BOOLEAN:
		return "boolean";
	case SCIM_T_DECIMAL:
		return "decimal";
	case SCIM_T_INTEGER:
		return "integer";
	case SCIM_T_DATETIME:
		return "dateTime";
	case SCIM_T_BINARY:
		return "binary";
	case SCIM_T_REFERENCE:
		return "reference";
	case SCIM_T_COMPLEX:
		return "complex";
	}
	return "string";
}

static const char *mutability_name(scim_mutability m)
{
	switch (m) {
	case SCIM_MUT_READWRITE:
		return "readWrite";
	case SCIM_MUT_READONLY:
		return "readOnly";
	case SCIM_MUT_IMMUTABLE:
		return "immutable";
	case SCIM_MUT_WRITEONLY:
		return "writeOnly";
	}
	return "readWrite";
}

static const char *returned_name(scim_returned r)
{
	switch (r) {
	case SCIM_RET_DEFAULT:
		return "default";
	case SCIM_RET_ALWAYS:
		return "always";
	case SCIM_RET_NEVER:
		return "never";
	case SCIM_RET_REQUEST:
		return "request";
	}
	return "default";
}

static const char *uniqueness_name(scim_uniqueness u)
{
	switch (u) {
	case SCIM_UNIQ_NONE:
		return "none";
	case SCIM_UNIQ_SERVER:
		return "server";
	case SCIM_UNIQ_GLOBAL:
		return "global";
	}
	return "none";
}

/* New array of the strings of a NULL-terminated list. */
static json_t *string_list(const char *const *list)
{
	json_t *arr = json_array();

	for (; arr != NULL && *list != NULL; list++)
		json_array_append_new(arr, json_string(*list));
	return arr;
}

static json_t *attr_to_json(const scim_attr *a)
{
	json_t *o, *subs;
	size_t i;

	o = json_object();
	if (o == NULL)
		return NULL;
	json_object_set_new(o, "name", json_string(a->name));
	json_object_set_new(o, "type", json_string(scim_type_name(a->type)));
	json_object_set_new(o, "multiValued", json_boolean(a->multi_valued));
	json_object_set_new(o, "description",
			    json_string(a->description ? a->description : ""));
	json_object_set_new(o, "required", json_boolean(a->required));
	if (a->type != SCIM_T_COMPLEX)
		json_object_set_new(o, "caseExact",
				    json_boolean(a->case_exact));
	if (a->canonical_values != NULL)
		json_object_set_new(o, "canonicalValues",
				    string_list(a->canonical_values));
	if (a->reference_types != NULL)
		json_object_set_new(o, "referenceTypes",
				    string_list(a->reference_types));
	json_object_set_new(o, "mutability",
			    json_string(mutability_name(a->mutability)));
	json_object_set_new(o, "returned",
			    json_string(returned_name(a->returned)));
	json_object_set_new(o, "uniqueness",
			    json_string(uniqueness_name(a->uniqueness)));
	if (a->type == SCIM_T_COMPLEX) {
		subs = json_array();
		for (i = 0; subs != NULL && i < a->n_sub_attrs; i++)
			json_array_append_new(subs,
					      attr_to_json(&a->sub_attrs[i]));
		json_object_set_new(o, "subAttributes", subs);
	}
	return o;
}

static json_t *meta_new(const char *resource_type, const char *base_url,
			const char *collection, const char *id)
{
	json_t *meta = json_object();

	if (meta == NULL)
		return NULL;
	json_object_set_new(meta, "resourceType", json_string(resource_type));
	json_object_set_new(meta, "location",
			    json_sprintf("%s/%s%s%s", base_url ? base_url : "",
					 collection, id ? "/" : "",
					 id ? id : ""));
	return meta;
}

static json_t *schemas_new(const char *urn)
{
	json_t *arr = json_array();

	if (arr != NULL)
		json_array_append_new(arr, json_string(urn));
	return arr;
}

json_t *scim_schema_to_json(const scim_schema *s, const char *base_url)
{
	json_t *o, *attrs;
	size_t i;

	if (s == NULL)
		return NULL;
	o = json_object();
	if (o == NULL)
		return NULL;
	json_object_set_new(o, "schemas", schemas_new(SCIM_URN_SCHEMA));
	json_object_set_new(o, "id", json_string(s->id));
	json_object_set_new(o, "name", json_string(s->name));
	json_object_set_new(o, "description", json_string(s->description));
	attrs = json_array();
	for (i = 0; attrs != NULL && i < s->n_attrs; i++)
		json_array_append_new(attrs, attr_to_json(&s->attrs[i]));
	json_object_set_new(o, "attributes", attrs);
	json_object_set_new(o, "meta",
			    meta_new("Schema", base_url, "Schemas", s->id));
	return o;
}

json_t *scim_restype_to_json(const scim_restype *rt, const char *base_url)
{
	const scim_schema *const *ext;
	json_t *o, *exts, *e;

	if (rt == NULL)
		return NULL;
	o = json_object();
	if (o == NULL)
		return NULL;
	json_object_set_new(o, "schemas", schemas_new(SCIM_URN_RESTYPE));
	json_object_set_new(o, "id", json_string(rt->name));
	json_object_set_new(o, "name", json_string(rt->name));
	json_object_set_new(o, "endpoint", json_string(rt->endpoint));
	json_object_set_new(o, "description", json_string(rt->description));
	json_object_set_new(o, "schema", json_string(rt->core->id));
	if (rt->extensions[0] != NULL) {
		exts = json_array();
		for (ext = rt->extensions; exts != NULL && *ext != NULL;
		     ext++) {
			e = json_pack("{s:s, s:b}", "schema", (*ext)->id,
				      "required", 0);
			json_array_append_new(exts, e);
		}
		json_object_set_new(o, "schemaExtensions", exts);
	}
	json_object_set_new(
		o, "meta",
		meta_new("ResourceType", base_url, "ResourceTypes", rt->name));
	return o;
}

json_t *scim_spc_to_json(const scim_spc_limits *l, const char *base_url)
{
	json_t *o, *auth;

	if (l == NULL)
		return NULL;
	auth = json_pack(
		"[{s:s, s:s, s:s, s:b}]", "type", "oauthbearertoken", "name",
		"OAuth Bearer Token", "description",
		"Authentication scheme using the OAuth Bearer Token Standard",
		"primary", 1);
	o = json_pack("{s:[s], s:s, s:{s:b}, s:{s:b, s:i, s:I}, s:{s:b, s:i},"
		      " s:{s:b}, s:{s:b}, s:{s:b}, s:o}",
		      "schemas", SCIM_URN_SPC, "documentationUri",
		      SCIM_SPC_DOCUMENTATION_URI, "patch", "supported", 1,
		      "bulk", "supported", 1, "maxOperations",
		      l->bulk_max_operations, "maxPayloadSize",
		      (json_int_t)l->bulk_max_payload, "filter", "supported", 1,
		      "maxResults", l->filter_max_results, "changePassword",
		      "supported", (int)l->change_password, "sort", "supported",
		      (int)l->sort, "etag", "supported", (int)l->etag,
		      "authenticationSchemes", auth);
	if (o == NULL)
		return NULL;
	json_object_set_new(o, "meta",
			    meta_new("ServiceProviderConfig", base_url,
				     "ServiceProviderConfig", NULL));
	return o;
}
