/* check_schema.c - schema tables, lookups, rendering, normalisation,
 * projection and the string/time helpers. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "schema.h"
#include "scim_error.h"
#include "strutil.h"

#ifndef TEST_DATADIR
#define TEST_DATADIR "tests/data"
#endif

#define ENT SCIM_URN_ENTERPRISE_USER

static json_t *parse(const char *text)
{
	json_error_t jerr;
	json_t *j = json_loads(text, 0, &jerr);

	ck_assert_msg(j != NULL, "bad test JSON: %s at %d:%d", jerr.text,
		      jerr.line, jerr.column);
	return j;
}

static void assert_json_eq(const json_t *got, const json_t *want)
{
	char *g, *w;

	if (json_equal(got, want))
		return;
	g = json_dumps(got, JSON_SORT_KEYS | JSON_COMPACT);
	w = json_dumps(want, JSON_SORT_KEYS | JSON_COMPACT);
	ck_abort_msg("JSON differs:\n got  %s\n want %s", g, w);
	free(g);
	free(w);
}

/* Borrowed value at a dotted path of object keys, or NULL. */
static json_t *jpath(json_t *j, const char *path)
{
	const char *dot;
	char key[64];
	size_t n;

	while (j != NULL && *path != '\0') {
		dot = strchr(path, '.');
		n = dot != NULL ? (size_t)(dot - path) : strlen(path);
		ck_assert_uint_lt(n, sizeof(key));
		memcpy(key, path, n);
		key[n] = '\0';
		j = json_object_get(j, key);
		path += n + (dot != NULL);
	}
	return j;
}

/* ---- Lookups -------------------------------------------------------- */

START_TEST(test_restypes)
{
	const scim_restype *u = scim_restype_user();
	const scim_restype *g = scim_restype_group();

	ck_assert_int_eq(u->id, SCIM_RT_USER);
	ck_assert_int_eq(g->id, SCIM_RT_GROUP);
	ck_assert_str_eq(u->endpoint, "/Users");
	ck_assert_str_eq(g->endpoint, "/Groups");
	ck_assert_str_eq(u->core->id, SCIM_URN_USER);
	ck_assert_ptr_eq(u->extensions[0], scim_schema_by_urn(ENT));
	ck_assert_ptr_null(u->extensions[1]);
	ck_assert_ptr_null(g->extensions[0]);
	ck_assert_ptr_eq(scim_restype_by_endpoint("Users"), u);
	ck_assert_ptr_eq(scim_restype_by_endpoint("gRoUpS"), g);
	ck_assert_ptr_null(scim_restype_by_endpoint("/Users"));
	ck_assert_ptr_null(scim_restype_by_endpoint("User"));
	ck_assert_ptr_null(scim_restype_by_endpoint(""));
}
END_TEST

START_TEST(test_schema_all_and_by_urn)
{
	const scim_schema *const *all = scim_schema_all();
	size_t n;

	for (n = 0; all[n] != NULL; n++)
		ck_assert_ptr_ne(all[n], scim_schema_common());
	ck_assert_uint_eq(n, 3);
	ck_assert_ptr_eq(scim_schema_by_urn(
				 "URN:ietf:params:scim:schemas:core:2.0:user"),
			 scim_restype_user()->core);
	ck_assert_ptr_eq(scim_schema_by_urn(SCIM_URN_GROUP),
			 scim_restype_group()->core);
	ck_assert_ptr_null(scim_schema_by_urn(SCIM_URN_USER ":userName"));
	ck_assert_ptr_null(scim_schema_by_urn("urn:nope"));
}
END_TEST

START_TEST(test_find_unqualified)
{
	const scim_restype *u = scim_restype_user();
	const scim_schema *s = NULL;
	const scim_attr *a;

	a = scim_schema_find(u, NULL, "USERNAME", &s);
	ck_assert_ptr_nonnull(a);
	ck_assert_str_eq(a->name, "userName");
	ck_assert_ptr_eq(s, u->core);
	ck_assert(a->required);
	ck_assert(!a->case_exact);
	ck_assert_int_eq(a->uniqueness, SCIM_UNIQ_SERVER);

	a = scim_schema_find(u, NULL, "id", &s);
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_eq(s, scim_schema_common());
	ck_assert(a->case_exact);
	ck_assert_int_eq(a->returned, SCIM_RET_ALWAYS);
	ck_assert_int_eq(a->mutability, SCIM_MUT_READONLY);

	a = scim_schema_find(u, NULL, "externalid", NULL);
	ck_assert_str_eq(a->name, "externalId");
	ck_assert(a->case_exact);

	/* Extension attributes are found unqualified, too. */
	a = scim_schema_find(u, NULL, "Department", &s);
	ck_assert_ptr_nonnull(a);
	ck_assert_str_eq(a->name, "department");
	ck_assert_str_eq(s->id, ENT);

	a = scim_schema_find(u, NULL, "password", NULL);
	ck_assert_int_eq(a->mutability, SCIM_MUT_WRITEONLY);
	ck_assert_int_eq(a->returned, SCIM_RET_NEVER);

	a = scim_schema_find(u, NULL, "groups", NULL);
	ck_assert(a->multi_valued);
	ck_assert_int_eq(a->mutability, SCIM_MUT_READONLY);

	ck_assert_ptr_null(scim_schema_find(u, NULL, "members", NULL));
	ck_assert_ptr_null(scim_schema_find(u, NULL, "nope", NULL));
	ck_assert_ptr_null(scim_schema_find(u, NULL, "name.givenName", NULL));
}
END_TEST

START_TEST(test_find_qualified)
{
	const scim_restype *u = scim_restype_user();
	const scim_restype *g = scim_restype_group();
	const scim_schema *s = NULL;
	const scim_attr *a;

	a = scim_schema_find(u, "urn:ietf:params:scim:schemas:core:2.0:USER",
			     "emails", &s);
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_eq(s, u->core);
	/* The core URN covers the common attributes. */
	a = scim_schema_find(u, SCIM_URN_USER, "meta", &s);
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_eq(s, scim_schema_common());
	/* An extension URN covers only that extension. */
	ck_assert_ptr_null(scim_schema_find(u, ENT, "userName", NULL));
	ck_assert_ptr_null(scim_schema_find(u, ENT, "id", NULL));
	a = scim_schema_find(u, ENT, "MANAGER", &s);
	ck_assert_str_eq(a->name, "manager");
	ck_assert_int_eq(a->type, SCIM_T_COMPLEX);
	ck_assert_str_eq(s->id, ENT);
	/* The core URN does not reach extension attributes. */
	ck_assert_ptr_null(
		scim_schema_find(u, SCIM_URN_USER, "department", NULL));
	/* A Group has no enterprise extension. */
	ck_assert_ptr_null(scim_schema_find(g, ENT, "department", NULL));
	ck_assert_ptr_null(scim_schema_find(g, NULL, "department", NULL));
	ck_assert_ptr_null(scim_schema_find(u, "urn:x", "userName", NULL));

	a = scim_schema_find(g, NULL, "displayname", &s);
	ck_assert_ptr_eq(s, g->core);
	ck_assert(a->required);
	ck_assert(!a->case_exact);
}
END_TEST

START_TEST(test_sub_attrs)
{
	const scim_restype *u = scim_restype_user();
	const scim_restype *g = scim_restype_group();
	const scim_attr *a, *sub;

	a = scim_schema_find(u, NULL, "name", NULL);
	sub = scim_attr_sub(a, "GIVENNAME");
	ck_assert_ptr_nonnull(sub);
	ck_assert_str_eq(sub->name, "givenName");
	ck_assert_ptr_null(scim_attr_sub(a, "value"));

	a = scim_schema_find(u, NULL, "emails", NULL);
	ck_assert(a->multi_valued);
	sub = scim_attr_sub(a, "value");
	ck_assert(!sub->case_exact);
	sub = scim_attr_sub(a, "primary");
	ck_assert_int_eq(sub->type, SCIM_T_BOOLEAN);
	sub = scim_attr_sub(a, "type");
	ck_assert_ptr_nonnull(sub->canonical_values);
	ck_assert_str_eq(sub->canonical_values[0], "work");

	a = scim_schema_find(u, NULL, "x509certificates", NULL);
	ck_assert_int_eq(scim_attr_sub(a, "value")->type, SCIM_T_BINARY);

	a = scim_schema_find(u, NULL, "meta", NULL);
	sub = scim_attr_sub(a, "lastmodified");
	ck_assert_str_eq(sub->name, "lastModified");
	ck_assert_int_eq(sub->type, SCIM_T_DATETIME);

	a = scim_schema_find(g, NULL, "members", NULL);
	sub = scim_attr_sub(a, "Value");
	ck_assert_int_eq(sub->mutability, SCIM_MUT_IMMUTABLE);
	sub = scim_attr_sub(a, "$REF");
	ck_assert_int_eq(sub->type, SCIM_T_REFERENCE);
	ck_assert_str_eq(sub->reference_types[0], "User");
	ck_assert_str_eq(sub->reference_types[1], "Group");

	a = scim_schema_find(u, ENT, "manager", NULL);
	ck_assert_int_eq(scim_attr_sub(a, "displayName")->mutability,
			 SCIM_MUT_READONLY);

	/* Not complex: no sub-attributes. */
	ck_assert_ptr_null(scim_attr_sub(
		scim_schema_find(u, NULL, "userName", NULL), "x"));
	ck_assert_ptr_null(scim_attr_sub(NULL, "x"));
}
END_TEST

START_TEST(test_match_urn)
{
	const scim_restype *u = scim_restype_user();
	const char *rest = NULL;
	const scim_schema *s;

	s = scim_schema_match_urn(u, SCIM_URN_USER ":name.givenName", &rest);
	ck_assert_ptr_eq(s, u->core);
	ck_assert_str_eq(rest, "name.givenName");

	s = scim_schema_match_urn(
		u, "URN:IETF:params:scim:schemas:extension:enterprise:2.0:user",
		&rest);
	ck_assert_str_eq(s->id, ENT);
	ck_assert_str_eq(rest, "");

	s = scim_schema_match_urn(u, ENT ":manager.value", &rest);
	ck_assert_str_eq(s->id, ENT);
	ck_assert_str_eq(rest, "manager.value");

	ck_assert_ptr_null(scim_schema_match_urn(u, SCIM_URN_USER "x", &rest));
	ck_assert_ptr_null(scim_schema_match_urn(u, "userName", &rest));
	ck_assert_ptr_null(
		scim_schema_match_urn(scim_restype_group(), ENT, &rest));
}
END_TEST

/* ---- Rendering ------------------------------------------------------ */

static json_t *find_by_name(json_t *arr, const char *name)
{
	size_t i;
	json_t *v;

	json_array_foreach (arr, i, v) {
		if (strcmp(json_string_value(json_object_get(v, "name")),
			   name) == 0)
			return v;
	}
	return NULL;
}

START_TEST(test_render_user_schema)
{
	json_t *j = scim_schema_to_json(scim_restype_user()->core,
					"https://h/scim/v2");
	json_t *attrs, *a, *sub;

	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(json_string_value(json_object_get(j, "id")),
			 SCIM_URN_USER);
	ck_assert_str_eq(json_string_value(json_object_get(j, "name")), "User");
	ck_assert_str_eq(json_string_value(jpath(j, "meta.resourceType")),
			 "Schema");
	ck_assert_str_eq(json_string_value(json_object_get(
				 json_object_get(j, "meta"), "location")),
			 "https://h/scim/v2/Schemas/" SCIM_URN_USER);
	attrs = json_object_get(j, "attributes");
	ck_assert_uint_eq(json_array_size(attrs),
			  scim_restype_user()->core->n_attrs);
	ck_assert_ptr_null(find_by_name(attrs, "id"));

	a = find_by_name(attrs, "userName");
	ck_assert_str_eq(json_string_value(json_object_get(a, "type")),
			 "string");
	ck_assert(json_is_true(json_object_get(a, "required")));
	ck_assert(json_is_false(json_object_get(a, "caseExact")));
	ck_assert(json_is_false(json_object_get(a, "multiValued")));
	ck_assert_str_eq(json_string_value(json_object_get(a, "uniqueness")),
			 "server");
	ck_assert_str_eq(json_string_value(json_object_get(a, "mutability")),
			 "readWrite");

	a = find_by_name(attrs, "password");
	ck_assert_str_eq(json_string_value(json_object_get(a, "mutability")),
			 "writeOnly");
	ck_assert_str_eq(json_string_value(json_object_get(a, "returned")),
			 "never");

	a = find_by_name(attrs, "profileUrl");
	ck_assert_str_eq(json_string_value(json_object_get(a, "type")),
			 "reference");
	ck_assert_str_eq(json_string_value(json_array_get(
				 json_object_get(a, "referenceTypes"), 0)),
			 "external");

	a = find_by_name(attrs, "phoneNumbers");
	ck_assert(json_is_true(json_object_get(a, "multiValued")));
	ck_assert_str_eq(json_string_value(json_object_get(a, "type")),
			 "complex");
	sub = find_by_name(json_object_get(a, "subAttributes"), "type");
	ck_assert_ptr_nonnull(sub);
	ck_assert_uint_eq(
		json_array_size(json_object_get(sub, "canonicalValues")), 6);
	sub = find_by_name(json_object_get(a, "subAttributes"), "primary");
	ck_assert_str_eq(json_string_value(json_object_get(sub, "type")),
			 "boolean");

	a = find_by_name(attrs, "groups");
	ck_assert_str_eq(json_string_value(json_object_get(a, "mutability")),
			 "readOnly");
	json_decref(j);
}
END_TEST

START_TEST(test_render_group_enterprise)
{
	json_t *j, *a, *sub;

	j = scim_schema_to_json(scim_restype_group()->core, "");
	a = find_by_name(json_object_get(j, "attributes"), "members");
	sub = find_by_name(json_object_get(a, "subAttributes"), "value");
	ck_assert_str_eq(json_string_value(json_object_get(sub, "mutability")),
			 "immutable");
	a = find_by_name(json_object_get(j, "attributes"), "displayName");
	ck_assert(json_is_false(json_object_get(a, "caseExact")));
	ck_assert_str_eq(json_string_value(jpath(j, "meta.location")),
			 "/Schemas/" SCIM_URN_GROUP);
	json_decref(j);

	j = scim_schema_to_json(scim_schema_by_urn(ENT), "https://h");
	ck_assert_str_eq(json_string_value(json_object_get(j, "name")),
			 "EnterpriseUser");
	a = find_by_name(json_object_get(j, "attributes"), "manager");
	sub = find_by_name(json_object_get(a, "subAttributes"), "$ref");
	ck_assert_str_eq(json_string_value(json_object_get(sub, "type")),
			 "reference");
	json_decref(j);
}
END_TEST

START_TEST(test_render_restype)
{
	json_t *j = scim_restype_to_json(scim_restype_user(), "https://h/v2");
	json_t *ext;

	ck_assert_str_eq(json_string_value(json_object_get(j, "id")), "User");
	ck_assert_str_eq(json_string_value(json_object_get(j, "endpoint")),
			 "/Users");
	ck_assert_str_eq(json_string_value(json_object_get(j, "schema")),
			 SCIM_URN_USER);
	ext = json_array_get(json_object_get(j, "schemaExtensions"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(ext, "schema")),
			 ENT);
	ck_assert(json_is_false(json_object_get(ext, "required")));
	ck_assert_str_eq(json_string_value(jpath(j, "meta.location")),
			 "https://h/v2/ResourceTypes/User");
	ck_assert_str_eq(json_string_value(jpath(j, "meta.resourceType")),
			 "ResourceType");
	json_decref(j);

	j = scim_restype_to_json(scim_restype_group(), "https://h/v2");
	ck_assert_str_eq(json_string_value(json_object_get(j, "endpoint")),
			 "/Groups");
	ck_assert_str_eq(json_string_value(json_object_get(j, "schema")),
			 SCIM_URN_GROUP);
	json_decref(j);
}
END_TEST

START_TEST(test_render_spc)
{
	scim_spc_limits l = {.bulk_max_operations = 100,
			     .bulk_max_payload = 1048576,
			     .filter_max_results = 200,
			     .etag = true,
			     .sort = false,
			     .change_password = false};
	json_t *j = scim_spc_to_json(&l, "https://h/v2");
	json_t *auth;

	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(json_string_value(json_array_get(
				 json_object_get(j, "schemas"), 0)),
			 SCIM_URN_SPC);
	ck_assert(json_is_string(json_object_get(j, "documentationUri")));
	ck_assert(json_is_true(jpath(j, "patch.supported")));
	ck_assert(json_is_true(jpath(j, "bulk.supported")));
	ck_assert_int_eq(json_integer_value(jpath(j, "bulk.maxOperations")),
			 100);
	ck_assert_int_eq(json_integer_value(jpath(j, "bulk.maxPayloadSize")),
			 1048576);
	ck_assert_int_eq(json_integer_value(jpath(j, "filter.maxResults")),
			 200);
	ck_assert(json_is_true(jpath(j, "filter.supported")));
	ck_assert(json_is_false(jpath(j, "changePassword.supported")));
	ck_assert(json_is_false(jpath(j, "sort.supported")));
	ck_assert(json_is_true(jpath(j, "etag.supported")));
	auth = json_array_get(json_object_get(j, "authenticationSchemes"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(auth, "type")),
			 "oauthbearertoken");
	ck_assert(json_is_true(json_object_get(auth, "primary")));
	ck_assert_str_eq(json_string_value(jpath(j, "meta.location")),
			 "https://h/v2/ServiceProviderConfig");
	json_decref(j);

	l.sort = true;
	l.change_password = true;
	j = scim_spc_to_json(&l, "");
	ck_assert(json_is_true(jpath(j, "sort.supported")));
	ck_assert(json_is_true(jpath(j, "changePassword.supported")));
	json_decref(j);
}
END_TEST

/* ---- Normalisation: data-driven cases ------------------------------- */

static json_t *norm_cases;

static void load_norm_cases(void)
{
	json_error_t jerr;

	norm_cases =
		json_load_file(TEST_DATADIR "/schema/normalize.json", 0, &jerr);
	if (norm_cases == NULL) {
		fprintf(stderr, "cannot load %s: %s (line %d)\n",
			TEST_DATADIR "/schema/normalize.json", jerr.text,
			jerr.line);
		exit(1);
	}
}

static scim_norm_mode mode_of(const char *m)
{
	if (strcmp(m, "replace") == 0)
		return SCIM_NORM_REPLACE;
	if (strcmp(m, "patched") == 0)
		return SCIM_NORM_PATCHED;
	ck_assert_str_eq(m, "create");
	return SCIM_NORM_CREATE;
}

START_TEST(test_normalize_case)
{
	json_t *c = json_array_get(norm_cases, (size_t)_i);
	const char *name = json_string_value(json_object_get(c, "name"));
	const char *rtn = json_string_value(json_object_get(c, "rt"));
	const scim_restype *rt = scim_restype_by_endpoint(
		strcmp(rtn, "User") == 0 ? "Users" : "Groups");
	json_t *res = json_deep_copy(json_object_get(c, "input"));
	json_t *before = json_deep_copy(res);
	json_t *want = json_object_get(c, "expect");
	json_t *werr = json_object_get(c, "error");
	scim_error err;
	int rc;

	ck_assert_ptr_nonnull(rt);
	scim_error_clear(&err);
	rc = scim_resource_normalize(
		rt, res, mode_of(json_string_value(json_object_get(c, "mode"))),
		json_object_get(c, "old"), &err);
	if (want != NULL) {
		ck_assert_msg(rc == 0, "%s: unexpected error %d %s", name,
			      err.status, err.detail);
		assert_json_eq(res, want);
		/* Idempotent: normalising the output changes nothing. */
		rc = scim_resource_normalize(rt, res, SCIM_NORM_PATCHED, NULL,
					     &err);
		ck_assert_int_eq(rc, 0);
		assert_json_eq(res, want);
	} else {
		ck_assert_msg(rc == -1, "%s: no error", name);
		ck_assert_int_eq(err.status, json_integer_value(json_object_get(
						     werr, "status")));
		ck_assert_str_eq(
			err.scim_type,
			json_string_value(json_object_get(werr, "scimType")));
		ck_assert_msg(
			strstr(err.detail, json_string_value(json_object_get(
						   werr, "detail"))) != NULL,
			"%s: detail '%s'", name, err.detail);
		/* On error the input is left alone. */
		assert_json_eq(res, before);
	}
	json_decref(res);
	json_decref(before);
}
END_TEST

/* ---- Normalisation: explicit cases ---------------------------------- */

START_TEST(test_normalize_not_object)
{
	json_t *j = json_string("x");
	scim_error err;

	ck_assert_int_eq(scim_resource_normalize(scim_restype_user(), j,
						 SCIM_NORM_CREATE, NULL, &err),
			 -1);
	ck_assert_int_eq(err.status, 400);
	ck_assert_str_eq(err.scim_type, SCIM_ERR_INVALID_SYNTAX);
	json_decref(j);
}
END_TEST

START_TEST(test_normalize_patched_keeps_readonly)
{
	json_t *j = parse("{\"userName\":\"a\",\"id\":\"42\","
			  "\"groups\":[{\"value\":\"g\",\"display\":\"G\"}]}");
	scim_error err;

	ck_assert_int_eq(scim_resource_normalize(scim_restype_user(), j,
						 SCIM_NORM_PATCHED, NULL, &err),
			 0);
	ck_assert_str_eq(json_string_value(json_object_get(j, "id")), "42");
	ck_assert_uint_eq(json_array_size(json_object_get(j, "groups")), 1);
	json_decref(j);

	j = parse("{\"userName\":\"a\",\"id\":\"42\"}");
	ck_assert_int_eq(scim_resource_normalize(scim_restype_user(), j,
						 SCIM_NORM_REPLACE, NULL, &err),
			 0);
	ck_assert_ptr_null(json_object_get(j, "id"));
	json_decref(j);
}
END_TEST

/* A resource type with immutable attributes, to exercise the mutability
 * check (the RFC tables have immutable sub-attributes of multi-valued
 * attributes only, which a PUT may replace wholesale). */
static const scim_attr imm_subs[] = {
	{.name = "value",
	 .type = SCIM_T_STRING,
	 .mutability = SCIM_MUT_IMMUTABLE},
	{.name = "label", .type = SCIM_T_STRING},
	{.name = "secret", .type = SCIM_T_STRING, .returned = SCIM_RET_NEVER},
	{.name = "extra", .type = SCIM_T_STRING, .returned = SCIM_RET_REQUEST},
};
static const scim_attr imm_attrs[] = {
	{.name = "serial",
	 .type = SCIM_T_STRING,
	 .required = true,
	 .mutability = SCIM_MUT_IMMUTABLE,
	 .case_exact = true},
	{.name = "owner",
	 .type = SCIM_T_COMPLEX,
	 .sub_attrs = imm_subs,
	 .n_sub_attrs = 4},
	{.name = "size", .type = SCIM_T_INTEGER},
	{.name = "weight", .type = SCIM_T_DECIMAL},
	{.name = "note", .type = SCIM_T_STRING, .returned = SCIM_RET_REQUEST},
};
static const scim_schema imm_schema = {.id = "urn:example:Device",
				       .name = "Device",
				       .attrs = imm_attrs,
				       .n_attrs = 5};
static const scim_schema *const imm_exts[] = {NULL};
static const scim_restype imm_rt = {.id = 99,
				    .name = "Device",
				    .endpoint = "/Devices",
				    .core = &imm_schema,
				    .extensions = imm_exts};

START_TEST(test_normalize_immutable)
{
	json_t *old = parse("{\"serial\":\"S1\",\"owner\":{\"value\":\"o1\"}}");
	json_t *j;
	scim_error err;

	j = parse("{\"SERIAL\":\"S1\",\"owner\":{\"value\":\"o1\","
		  "\"label\":\"x\"}}");
	ck_assert_int_eq(scim_resource_normalize(&imm_rt, j, SCIM_NORM_REPLACE,
						 old, &err),
			 0);
	ck_assert_str_eq(json_string_value(json_object_get(j, "serial")), "S1");
	json_decref(j);

	/* caseExact: a change of case is a change. */
	j = parse("{\"serial\":\"s1\"}");
	ck_assert_int_eq(scim_resource_normalize(&imm_rt, j, SCIM_NORM_REPLACE,
						 old, &err),
			 -1);
	ck_assert_int_eq(err.status, 400);
	ck_assert_str_eq(err.scim_type, SCIM_ERR_MUTABILITY);
	ck_assert_ptr_nonnull(strstr(err.detail, "'serial'"));
	/* ... but CREATE does not compare. */
	ck_assert_int_eq(scim_resource_normalize(&imm_rt, j, SCIM_NORM_CREATE,
						 old, &err),
			 0);
	json_decref(j);

	j = parse("{\"serial\":\"S1\",\"owner\":\"o2\"}");
	ck_assert_int_eq(scim_resource_normalize(&imm_rt, j, SCIM_NORM_REPLACE,
						 old, &err),
			 -1);
	ck_assert_str_eq(err.scim_type, SCIM_ERR_MUTABILITY);
	ck_assert_ptr_nonnull(strstr(err.detail, "'owner.value'"));
	json_decref(j);

	/* Not set in old: may be set now. */
	json_object_del(old, "owner");
	j = parse("{\"serial\":\"S1\",\"owner\":\"o2\"}");
	ck_assert_int_eq(scim_resource_normalize(&imm_rt, j, SCIM_NORM_REPLACE,
						 old, &err),
			 0);
	json_decref(j);
	json_decref(old);
}
END_TEST

START_TEST(test_normalize_numbers)
{
	json_t *j;
	scim_error err;

	j = parse("{\"serial\":\"S\",\"size\":3,\"weight\":2}");
	ck_assert_int_eq(scim_resource_normalize(&imm_rt, j, SCIM_NORM_CREATE,
						 NULL, &err),
			 0);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "size")), 3);
	json_decref(j);
	j = parse("{\"serial\":\"S\",\"weight\":2.5}");
	ck_assert_int_eq(scim_resource_normalize(&imm_rt, j, SCIM_NORM_CREATE,
						 NULL, &err),
			 0);
	json_decref(j);
	j = parse("{\"serial\":\"S\",\"size\":2.5}");
	ck_assert_int_eq(scim_resource_normalize(&imm_rt, j, SCIM_NORM_CREATE,
						 NULL, &err),
			 -1);
	ck_assert_ptr_nonnull(strstr(err.detail, "'size' must be an integer"));
	json_decref(j);
	j = parse("{\"serial\":\"S\",\"weight\":\"2.5\"}");
	ck_assert_int_eq(scim_resource_normalize(&imm_rt, j, SCIM_NORM_CREATE,
						 NULL, &err),
			 -1);
	ck_assert_ptr_nonnull(strstr(err.detail, "'weight' must be a number"));
	json_decref(j);
}
END_TEST

/* ---- Projection ----------------------------------------------------- */

static const char *full_user =
	"{\"schemas\":[\"" SCIM_URN_USER "\",\"" ENT "\"],"
	"\"id\":\"u1\",\"externalId\":\"e1\",\"userName\":\"bjensen\","
	"\"password\":\"hash\",\"active\":true,"
	"\"name\":{\"givenName\":\"Barbara\",\"familyName\":\"Jensen\"},"
	"\"emails\":[{\"value\":\"a@x\",\"type\":\"work\"},"
	"{\"value\":\"b@x\",\"type\":\"home\"}],"
	"\"meta\":{\"resourceType\":\"User\",\"version\":\"W/\\\"1\\\"\"},"
	"\"" ENT "\":{\"department\":\"R&D\",\"costCenter\":\"42\"}}";

static json_t *project(const char *attrs, const char *excl)
{
	json_t *j = parse(full_user);
	scim_error err;

	ck_assert_int_eq(scim_resource_project(scim_restype_user(), j, attrs,
					       excl, &err),
			 0);
	return j;
}

START_TEST(test_project_default)
{
	json_t *j = project(NULL, NULL);
	json_t *want = parse(full_user);

	json_object_del(want, "password");
	assert_json_eq(j, want);
	json_decref(j);
	j = project("", " , ");
	assert_json_eq(j, want);
	json_decref(j);
	json_decref(want);
}
END_TEST

START_TEST(test_project_attributes)
{
	json_t *j, *want;

	j = project("userName", NULL);
	want = parse("{\"schemas\":[\"" SCIM_URN_USER "\",\"" ENT "\"],"
		     "\"id\":\"u1\",\"userName\":\"bjensen\"}");
	assert_json_eq(j, want);
	json_decref(j);
	json_decref(want);

	j = project("NAME.givenName, emails.TYPE,password", NULL);
	want = parse("{\"schemas\":[\"" SCIM_URN_USER "\",\"" ENT "\"],"
		     "\"id\":\"u1\",\"name\":{\"givenName\":\"Barbara\"},"
		     "\"emails\":[{\"type\":\"work\"},{\"type\":\"home\"}]}");
	assert_json_eq(j, want);
	json_decref(j);
	json_decref(want);

	j = project(ENT ":department," SCIM_URN_USER ":externalId,meta", NULL);
	want = parse("{\"schemas\":[\"" SCIM_URN_USER "\",\"" ENT "\"],"
		     "\"id\":\"u1\",\"externalId\":\"e1\","
		     "\"meta\":{\"resourceType\":\"User\","
		     "\"version\":\"W/\\\"1\\\"\"},"
		     "\"" ENT "\":{\"department\":\"R&D\"}}");
	assert_json_eq(j, want);
	json_decref(j);
	json_decref(want);

	/* A bare extension URN keeps the whole extension object. */
	j = project(
		"urn:ietf:params:scim:schemas:extension:ENTERPRISE:2.0:User",
		NULL);
	want = parse("{\"schemas\":[\"" SCIM_URN_USER "\",\"" ENT "\"],"
		     "\"id\":\"u1\","
		     "\"" ENT
		     "\":{\"department\":\"R&D\",\"costCenter\":\"42\"}}");
	assert_json_eq(j, want);
	json_decref(j);
	json_decref(want);

	/* Unknown names only: just the always-returned attributes. */
	j = project("nope,name.nope", NULL);
	want = parse("{\"schemas\":[\"" SCIM_URN_USER "\",\"" ENT "\"],"
		     "\"id\":\"u1\"}");
	assert_json_eq(j, want);
	json_decref(j);
	json_decref(want);
}
END_TEST

START_TEST(test_project_excluded)
{
	json_t *j, *want;

	j = project(NULL, "emails, name.givenName,id,schemas,meta,"
			  "urn:ietf:params:scim:schemas:extension:enterprise:"
			  "2.0:User:costcenter");
	want = parse("{\"schemas\":[\"" SCIM_URN_USER "\",\"" ENT "\"],"
		     "\"id\":\"u1\",\"externalId\":\"e1\","
		     "\"userName\":\"bjensen\",\"active\":true,"
		     "\"name\":{\"familyName\":\"Jensen\"},"
		     "\"" ENT "\":{\"department\":\"R&D\"}}");
	assert_json_eq(j, want);
	json_decref(j);
	json_decref(want);

	/* Emptied objects go away; so does an excluded extension. */
	j = project(NULL, "name.givenName,name.familyName," ENT);
	ck_assert_ptr_null(json_object_get(j, "name"));
	ck_assert_ptr_null(json_object_get(j, ENT));
	ck_assert_ptr_nonnull(json_object_get(j, "userName"));
	ck_assert_ptr_null(json_object_get(j, "password"));
	json_decref(j);

	j = project(NULL, ENT ":department," ENT ":costCenter");
	ck_assert_ptr_null(json_object_get(j, ENT));
	json_decref(j);
}
END_TEST

START_TEST(test_project_group)
{
	json_t *j = parse("{\"schemas\":[\"" SCIM_URN_GROUP "\"],\"id\":\"g\","
			  "\"displayName\":\"G\",\"members\":[{\"value\":\"u\","
			  "\"display\":\"U\"}]}");
	scim_error err;

	ck_assert_int_eq(scim_resource_project(scim_restype_group(), j, NULL,
					       "members", &err),
			 0);
	ck_assert_ptr_null(json_object_get(j, "members"));
	ck_assert_str_eq(json_string_value(json_object_get(j, "displayName")),
			 "G");
	ck_assert_int_eq(scim_resource_project(scim_restype_group(), j,
					       "members", NULL, &err),
			 0);
	ck_assert_ptr_null(json_object_get(j, "displayName"));
	ck_assert_str_eq(json_string_value(json_object_get(j, "id")), "g");
	json_decref(j);
}
END_TEST

START_TEST(test_project_returned)
{
	const char *doc = "{\"serial\":\"S\",\"note\":\"n\","
			  "\"owner\":{\"value\":\"o\",\"secret\":\"x\","
			  "\"extra\":\"e\"}}";
	json_t *j, *want;
	scim_error err;

	/* returned=never sub-attributes go; request ones only on request. */
	j = parse(doc);
	ck_assert_int_eq(scim_resource_project(&imm_rt, j, NULL, NULL, &err),
			 0);
	want = parse("{\"serial\":\"S\",\"owner\":{\"value\":\"o\"}}");
	assert_json_eq(j, want);
	json_decref(j);
	json_decref(want);

	j = parse(doc);
	ck_assert_int_eq(scim_resource_project(&imm_rt, j,
					       "note,owner.extra,owner.secret",
					       NULL, &err),
			 0);
	want = parse("{\"note\":\"n\",\"owner\":{\"extra\":\"e\"}}");
	assert_json_eq(j, want);
	json_decref(j);
	json_decref(want);
}
END_TEST

/* ---- strutil -------------------------------------------------------- */

START_TEST(test_strcasecmp)
{
	ck_assert_int_eq(scim_strcasecmp("userName", "USERNAME"), 0);
	ck_assert_int_lt(scim_strcasecmp("a", "B"), 0);
	ck_assert_int_gt(scim_strcasecmp("b", "A"), 0);
	ck_assert_int_lt(scim_strcasecmp("ab", "abc"), 0);
	ck_assert_int_ne(scim_strcasecmp("\xc3\x89", "\xc3\xa9"), 0);
	ck_assert_int_eq(scim_strncasecmp("userNameX", "USERNAMEy", 8), 0);
	ck_assert_int_ne(scim_strncasecmp("userNameX", "USERNAMEy", 9), 0);
	ck_assert_int_ne(scim_strncasecmp("ab", "abc", 3), 0);
	ck_assert(scim_strn_equal_ci("Users", "usersXYZ", 5));
	ck_assert(!scim_strn_equal_ci("User", "usersXYZ", 5));
	ck_assert(!scim_strn_equal_ci("Users!", "usersXYZ", 5));
}
END_TEST

static void assert_fold(const char *in, const char *want)
{
	char *got = scim_str_fold(in);

	ck_assert_ptr_nonnull(got);
	ck_assert_str_eq(got, want);
	free(got);
}

START_TEST(test_fold)
{
	assert_fold("BJensen@Example.COM", "bjensen@example.com");
	assert_fold("", "");
	/* Latin-1: ÉÀÞ -> éàþ, × and ß unchanged */
	assert_fold("\xc3\x89\xc3\x80\xc3\x9e\xc3\x97\xc3\x9f",
		    "\xc3\xa9\xc3\xa0\xc3\xbe\xc3\x97\xc3\x9f");
	/* Latin Extended-A: Ł Ž Ÿ Ā -> ł ž ÿ ā */
	assert_fold("\xc5\x81\xc5\xbd\xc5\xb8\xc4\x80",
		    "\xc5\x82\xc5\xbe\xc3\xbf\xc4\x81");
	/* Greek: ΣΊΣΥΦΟΣ -> σίσυφοσ (final sigma folds too) */
	assert_fold("\xce\xa3\xce\x8a\xce\xa3\xce\xa5\xce\xa6\xce\x9f\xce\xa3",
		    "\xcf\x83\xce\xaf\xcf\x83\xcf\x85\xcf\x86\xce\xbf\xcf\x83");
	assert_fold("\xcf\x82", "\xcf\x83");
	/* Cyrillic: ЁЛКА Ґ -> ёлка ґ */
	assert_fold("\xd0\x81\xd0\x9b\xd0\x9a\xd0\x90 \xd2\x90",
		    "\xd1\x91\xd0\xbb\xd0\xba\xd0\xb0 \xd2\x91");
	/* Already lower, 3-byte and invalid sequences are copied. */
	assert_fold("\xc3\xa9\xe2\x82\xac\xff\xc3",
		    "\xc3\xa9\xe2\x82\xac\xff\xc3");
	assert_fold("A\xc3\x89", "a\xc3\xa9");
}
END_TEST

START_TEST(test_utf8)
{
	ck_assert(scim_is_valid_utf8("", 0));
	ck_assert(scim_is_valid_utf8("plain", 5));
	ck_assert(
		scim_is_valid_utf8("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9));
	ck_assert(scim_is_valid_utf8("a\0b", 3));
	ck_assert(!scim_is_valid_utf8("\xc3", 1));	       /* truncated */
	ck_assert(!scim_is_valid_utf8("\xc3\xa9", 1));	       /* cut by len */
	ck_assert(!scim_is_valid_utf8("\xc0\xaf", 2));	       /* overlong */
	ck_assert(!scim_is_valid_utf8("\xe0\x80\xaf", 3));     /* overlong */
	ck_assert(!scim_is_valid_utf8("\xed\xa0\x80", 3));     /* surrogate */
	ck_assert(!scim_is_valid_utf8("\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
	ck_assert(!scim_is_valid_utf8("\xff", 1));
	ck_assert(!scim_is_valid_utf8("\x80", 1));
	ck_assert(!scim_is_valid_utf8("\xe2\x82x", 3));
}
END_TEST

START_TEST(test_time_format)
{
	char buf[32];

	ck_assert_int_eq(scim_time_format(buf, 0), 0);
	ck_assert_str_eq(buf, "1970-01-01T00:00:00.000Z");
	ck_assert_int_eq(scim_time_format(buf, INT64_C(1795334462123)), 0);
	ck_assert_str_eq(buf, "2026-11-22T08:01:02.123Z");
	ck_assert_int_eq(scim_time_format(buf, -1), 0);
	ck_assert_str_eq(buf, "1969-12-31T23:59:59.999Z");
	ck_assert_int_eq(scim_time_format(buf, INT64_C(951782400000)), 0);
	ck_assert_str_eq(buf, "2000-02-29T00:00:00.000Z");
	ck_assert_int_eq(scim_time_format(buf, INT64_C(253402300799999)), 0);
	ck_assert_str_eq(buf, "9999-12-31T23:59:59.999Z");
	ck_assert_int_eq(scim_time_format(buf, INT64_C(253402300800000)), -1);
	ck_assert_str_eq(buf, "");
	ck_assert_int_eq(scim_time_format(buf, INT64_MIN), -1);
}
END_TEST

START_TEST(test_time_parse)
{
	int64_t ms = 0;

	ck_assert_int_eq(scim_time_parse("2026-11-22T08:01:02.123Z", &ms), 0);
	ck_assert_int_eq(ms, INT64_C(1795334462123));
	ck_assert_int_eq(scim_time_parse("2026-11-22T08:01:02Z", &ms), 0);
	ck_assert_int_eq(ms, INT64_C(1795334462000));
	ck_assert_int_eq(scim_time_parse("2026-11-22t08:01:02z", &ms), 0);
	ck_assert_int_eq(ms, INT64_C(1795334462000));
	ck_assert_int_eq(scim_time_parse("2026-11-22T09:31:02.1+01:30", &ms),
			 0);
	ck_assert_int_eq(ms, INT64_C(1795334462100));
	ck_assert_int_eq(
		scim_time_parse("2026-11-22T03:01:02.123456-05:00", &ms), 0);
	ck_assert_int_eq(ms, INT64_C(1795334462123));
	ck_assert_int_eq(scim_time_parse("2026-11-22T08:01:02", &ms), 0);
	ck_assert_int_eq(ms, INT64_C(1795334462000));
	ck_assert_int_eq(scim_time_parse("2024-02-29T00:00:00Z", &ms), 0);
	ck_assert_int_eq(scim_time_parse("1969-12-31T23:59:59.999Z", &ms), 0);
	ck_assert_int_eq(ms, -1);
	/* A leap second is accepted (and lands on the next second). */
	ck_assert_int_eq(scim_time_parse("2016-12-31T23:59:60Z", &ms), 0);
	ck_assert_int_eq(ms, INT64_C(1483228800000));

	ms = 42;
	ck_assert_int_eq(scim_time_parse("2023-02-29T00:00:00Z", &ms), -1);
	ck_assert_int_eq(scim_time_parse("2026-13-01T00:00:00Z", &ms), -1);
	ck_assert_int_eq(scim_time_parse("2026-11-31T00:00:00Z", &ms), -1);
	ck_assert_int_eq(scim_time_parse("2026-11-22T24:00:00Z", &ms), -1);
	ck_assert_int_eq(scim_time_parse("2026-11-22T08:60:00Z", &ms), -1);
	ck_assert_int_eq(scim_time_parse("2026-11-22T08:01:61Z", &ms), -1);
	ck_assert_int_eq(scim_time_parse("2026-11-22T08:01:02.Z", &ms), -1);
	ck_assert_int_eq(scim_time_parse("2026-11-22T08:01:02+0100", &ms), -1);
	ck_assert_int_eq(scim_time_parse("2026-11-22T08:01:02+24:00", &ms), -1);
	ck_assert_int_eq(scim_time_parse("2026-11-22 08:01:02Z", &ms), -1);
	ck_assert_int_eq(scim_time_parse("2026-11-22", &ms), -1);
	ck_assert_int_eq(scim_time_parse("2026-11-22T08:01:02Zjunk", &ms), -1);
	ck_assert_int_eq(scim_time_parse("", &ms), -1);
	ck_assert_int_eq(scim_time_parse(NULL, &ms), -1);
	ck_assert_int_eq(ms, 42);
}
END_TEST

START_TEST(test_time_round_trip)
{
	static const int64_t samples[] = {0,
					  1,
					  999,
					  86399999,
					  -86400000,
					  INT64_C(951868799999),
					  INT64_C(4102444800000),
					  INT64_C(-62167219200000)};
	char buf[32];
	int64_t back;
	size_t i;

	for (i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
		ck_assert_int_eq(scim_time_format(buf, samples[i]), 0);
		ck_assert_int_eq(scim_time_parse(buf, &back), 0);
		ck_assert_int_eq(back, samples[i]);
	}
	ck_assert_str_eq(buf, "0000-01-01T00:00:00.000Z");
}
END_TEST

static Suite *schema_suite(void)
{
	Suite *s = suite_create("schema");
	TCase *tc;

	tc = tcase_create("lookup");
	tcase_add_test(tc, test_restypes);
	tcase_add_test(tc, test_schema_all_and_by_urn);
	tcase_add_test(tc, test_find_unqualified);
	tcase_add_test(tc, test_find_qualified);
	tcase_add_test(tc, test_sub_attrs);
	tcase_add_test(tc, test_match_urn);
	suite_add_tcase(s, tc);

	tc = tcase_create("render");
	tcase_add_test(tc, test_render_user_schema);
	tcase_add_test(tc, test_render_group_enterprise);
	tcase_add_test(tc, test_render_restype);
	tcase_add_test(tc, test_render_spc);
	suite_add_tcase(s, tc);

	tc = tcase_create("normalize");
	tcase_add_loop_test(tc, test_normalize_case, 0,
			    (int)json_array_size(norm_cases));
	tcase_add_test(tc, test_normalize_not_object);
	tcase_add_test(tc, test_normalize_patched_keeps_readonly);
	tcase_add_test(tc, test_normalize_immutable);
	tcase_add_test(tc, test_normalize_numbers);
	suite_add_tcase(s, tc);

	tc = tcase_create("project");
	tcase_add_test(tc, test_project_default);
	tcase_add_test(tc, test_project_attributes);
	tcase_add_test(tc, test_project_excluded);
	tcase_add_test(tc, test_project_group);
	tcase_add_test(tc, test_project_returned);
	suite_add_tcase(s, tc);

	tc = tcase_create("strutil");
	tcase_add_test(tc, test_strcasecmp);
	tcase_add_test(tc, test_fold);
	tcase_add_test(tc, test_utf8);
	tcase_add_test(tc, test_time_format);
	tcase_add_test(tc, test_time_parse);
	tcase_add_test(tc, test_time_round_trip);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	load_norm_cases();
	sr = srunner_create(schema_suite());
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	json_decref(norm_cases);
	return failed != 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
