/* check_mapping.c - mapping files: loading, extends, errors, and what the
 * shipped mappings make of the sample users and groups. */
#include "config.h"

#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mapping.h"
#include "mapset.h"
#include "yaml_json.h"

#define DATA TEST_DATADIR "/mapping/"
#define MAPPINGS TEST_DATADIR "/../../mappings/"

static const char *const shipped[] = {
	"ldap-inetorgperson.yaml",
	"entra.yaml",
	"okta.yaml",
	"onelogin.yaml",
	"postgres.yaml",
	"webhook.yaml",
	"roles.yaml",
	NULL,
};

static mapping *load_ok(const char *path)
{
	mapping *m = NULL;
	mapping_error err;
	char buf[768];

	if (mapping_load(&m, path, &err) < 0)
		ck_abort_msg("%s",
			     mapping_error_format(buf, sizeof(buf), &err));
	return m;
}

static json_t *resource(const char *name)
{
	char path[512];
	json_error_t jerr;
	json_t *r;

	snprintf(path, sizeof(path), DATA "%s", name);
	r = json_load_file(path, 0, &jerr);
	ck_assert_msg(r != NULL, "%s: %s", path, jerr.text);
	return r;
}

/* What mapfile (under mappings/ or, with a '/', a full path) makes of
 * the sample resource resname, as a new {attr: [values]} object. */
static json_t *eval(const char *mapfile, mapping_section sec,
		    const char *resname, const char *event_type)
{
	char path[512], buf[768];
	mapping *m;
	mapping_error err;
	json_t *res = resource(resname), *ev = NULL, *out = NULL;

	if (strchr(mapfile, '/'))
		snprintf(path, sizeof(path), "%s", mapfile);
	else
		snprintf(path, sizeof(path), MAPPINGS "%s", mapfile);
	m = load_ok(path);
	if (event_type)
		ev = json_pack("{ss}", "type", event_type);
	if (mapping_eval(&out, m, sec, res, ev, &err) < 0)
		ck_abort_msg("%s",
			     mapping_error_format(buf, sizeof(buf), &err));
	json_decref(ev);
	json_decref(res);
	mapping_free(m);
	return out;
}

/* attr has exactly the values given (NULL-terminated). */
static void assert_values(const json_t *obj, const char *attr, ...)
{
	const json_t *vals = json_object_get(obj, attr);
	va_list ap;
	const char *want;
	size_t i = 0;
	char *dump = json_dumps(obj, JSON_COMPACT);

	ck_assert_msg(json_is_array(vals), "%s missing in %s", attr, dump);
	va_start(ap, attr);
	while ((want = va_arg(ap, const char *)) != NULL) {
		const char *got = json_string_value(json_array_get(vals, i));

		ck_assert_msg(got && strcmp(got, want) == 0,
			      "%s[%zu]: want '%s', got '%s' in %s", attr, i,
			      want, got ? got : "(none)", dump);
		i++;
	}
	va_end(ap);
	ck_assert_msg(json_array_size(vals) == i, "%s: %zu values, want %zu",
		      attr, json_array_size(vals), i);
	free(dump);
}

/* obj has exactly these attributes, in this order (NULL-terminated). */
static void assert_keys(const json_t *obj, ...)
{
	va_list ap;
	const char *want, *key;
	json_t *v;
	size_t n = 0, i;
	char *dump = json_dumps(obj, JSON_COMPACT);

	va_start(ap, obj);
	while ((want = va_arg(ap, const char *)) != NULL) {
		const char *at = NULL;

		i = 0;
		json_object_foreach ((json_t *)obj, key, v) {
			if (i++ == n) {
				at = key;
				break;
			}
		}
		key = at;
		ck_assert_msg(key && strcmp(key, want) == 0,
			      "attribute %zu: want %s, got %s in %s", n, want,
			      key ? key : "(none)", dump);
		n++;
	}
	va_end(ap);
	ck_assert_msg(json_object_size(obj) == n,
		      "%zu attributes, want %zu: %s", json_object_size(obj), n,
		      dump);
	free(dump);
}

static void load_fails(const char *path, mapping_error *err)
{
	mapping *m = (mapping *)1;

	ck_assert_int_eq(mapping_load(&m, path, err), -1);
	ck_assert(m == NULL);
}

START_TEST(shipped_files_load)
{
	size_t i;

	for (i = 0; shipped[i]; i++) {
		char path[512];
		mapping *m;

		snprintf(path, sizeof(path), MAPPINGS "%s", shipped[i]);
		m = load_ok(path);
		ck_assert_str_eq(mapping_path(m), path);
		mapping_free(m);
	}
}
END_TEST

/* Named mappings added, replaced and removed at run time (tenants' own
 * files): a user's reference survives replacement and removal. */
START_TEST(mapset_put_replace_remove)
{
	mapset_entry e = {"ldap", MAPPINGS "ldap-inetorgperson.yaml"};
	mapset *ms;
	mapset_ref *held, *r;
	char err[1024];

	ck_assert_msg(mapset_new(&ms, &e, 1, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(mapset_count(ms), 1);
	ck_assert_ptr_null(mapset_acquire(ms, "acme/ldap"));
	ck_assert_int_eq(mapset_put(ms, "acme/ldap", MAPPINGS "entra.yaml", err,
				    sizeof(err)),
			 0);
	ck_assert_int_eq(mapset_count(ms), 2);
	ck_assert_uint_eq(mapset_generation(ms, "acme/ldap"), 1);
	held = mapset_acquire(ms, "acme/ldap");
	ck_assert_ptr_nonnull(held);
	ck_assert_str_eq(mapping_path(mapset_ref_mapping(held)),
			 MAPPINGS "entra.yaml");
	/* Replace: new users get the new file, the holder keeps the old. */
	ck_assert_int_eq(mapset_put(ms, "acme/ldap", MAPPINGS "okta.yaml", err,
				    sizeof(err)),
			 0);
	ck_assert_uint_eq(mapset_generation(ms, "acme/ldap"), 2);
	r = mapset_acquire(ms, "acme/ldap");
	ck_assert_str_eq(mapping_path(mapset_ref_mapping(r)),
			 MAPPINGS "okta.yaml");
	ck_assert_str_eq(mapping_path(mapset_ref_mapping(held)),
			 MAPPINGS "entra.yaml");
	mapset_release(ms, r);
	/* A broken file changes nothing and says why. */
	ck_assert_int_lt(mapset_put(ms, "acme/ldap", DATA "nonexistent.yaml",
				    err, sizeof(err)),
			 0);
	ck_assert_msg(strstr(err, "acme/ldap"), "%s", err);
	ck_assert_uint_eq(mapset_generation(ms, "acme/ldap"), 2);
	/* Remove: gone for new users; the holder's version still works. */
	ck_assert_int_eq(mapset_remove(ms, "acme/ldap"), 0);
	ck_assert_int_lt(mapset_remove(ms, "acme/ldap"), 0);
	ck_assert_ptr_null(mapset_acquire(ms, "acme/ldap"));
	ck_assert_int_eq(mapset_count(ms), 1);
	ck_assert_str_eq(mapping_path(mapset_ref_mapping(held)),
			 MAPPINGS "entra.yaml");
	mapset_release(ms, held);
	ck_assert_int_eq(mapset_reload(ms, NULL, NULL), 0);
	ck_assert_uint_eq(mapset_generation(ms, "ldap"), 2);
	mapset_free(ms);
}
END_TEST

START_TEST(ldap_entra_user)
{
	json_t *o = eval("ldap-inetorgperson.yaml", MAPPING_USER,
			 "entra-user.json", NULL);

	assert_keys(o, "objectClass", "dn", "uid", "cn", "sn", "givenName",
		    "displayName", "mail", "telephoneNumber", "mobile", "title",
		    "preferredLanguage", "employeeNumber", "departmentNumber",
		    NULL);
	assert_values(o, "objectClass", "top", "person", "organizationalPerson",
		      "inetOrgPerson", NULL);
	assert_values(o, "dn", "uid=adele.vance,ou=people,dc=example,dc=org",
		      NULL);
	assert_values(o, "uid", "adele.vance", NULL);
	assert_values(o, "cn", "Adele Vance", NULL);
	assert_values(o, "sn", "Vance", NULL);
	assert_values(o, "givenName", "Adele", NULL);
	assert_values(o, "displayName", "Adele Vance", NULL);
	/* Listed twice (work, then all): written once. */
	assert_values(o, "mail", "Adele.Vance@contoso.com", NULL);
	assert_values(o, "telephoneNumber", "+1 425 555 0109", NULL);
	assert_values(o, "mobile", "+1 425 555 0110", NULL);
	assert_values(o, "title", "Retail Manager", NULL);
	assert_values(o, "preferredLanguage", "en-US", NULL);
	assert_values(o, "employeeNumber", "E1042", NULL);
	assert_values(o, "departmentNumber", "Retail", NULL);
	json_decref(o);
}
END_TEST

START_TEST(ldap_okta_user_multivalued_mail)
{
	json_t *o = eval("ldap-inetorgperson.yaml", MAPPING_USER,
			 "okta-user.json", NULL);

	/* Work first, then every other address. */
	assert_values(o, "mail", "isabella.kim@acme.com",
		      "bella.kim@example.net", NULL);
	/* No work phone, no preferredLanguage: not sent at all. */
	ck_assert(json_object_get(o, "telephoneNumber") == NULL);
	ck_assert(json_object_get(o, "preferredLanguage") == NULL);
	json_decref(o);
}
END_TEST

START_TEST(entra_extends_ldap)
{
	json_t *o = eval("entra.yaml", MAPPING_USER, "entra-user.json", NULL);

	assert_keys(o, "objectClass", "dn", "uid", "cn", "sn", "givenName",
		    "displayName", "mail", "telephoneNumber", "mobile", "title",
		    "preferredLanguage", "employeeNumber", "departmentNumber",
		    "street", "l", "st", "postalCode", "c", NULL);
	assert_values(o, "dn", "uid=adele.vance,ou=people,dc=example,dc=org",
		      NULL);
	assert_values(o, "uid", "adele.vance", NULL);
	assert_values(o, "mail", "Adele.Vance@contoso.com", NULL);
	assert_values(o, "employeeNumber", "E1042", NULL);
	assert_values(o, "street", "One Microsoft Way", NULL);
	assert_values(o, "l", "Redmond", NULL);
	assert_values(o, "st", "WA", NULL);
	assert_values(o, "postalCode", "98052", NULL);
	assert_values(o, "c", "US", NULL);
	json_decref(o);
}
END_TEST

START_TEST(okta_extends_ldap)
{
	json_t *o = eval("okta.yaml", MAPPING_USER, "okta-user.json", NULL);

	assert_keys(o, "objectClass", "dn", "uid", "cn", "sn", "givenName",
		    "displayName", "mail", "mobile", "title",
		    "preferredLanguage", "employeeNumber", "departmentNumber",
		    NULL);
	assert_values(o, "dn", "uid=isabella.kim,ou=people,dc=example,dc=org",
		      NULL);
	assert_values(o, "cn", "Isabella Kim", NULL);
	assert_values(o, "sn", "Kim", NULL);
	/* The home address stays out of the directory. */
	assert_values(o, "mail", "isabella.kim@acme.com", NULL);
	assert_values(o, "mobile", "+1 415 555 0134", NULL);
	assert_values(o, "preferredLanguage", "en-US", NULL);
	assert_values(o, "employeeNumber", "10774", NULL);
	assert_values(o, "departmentNumber", "Engineering", NULL);
	json_decref(o);
}
END_TEST

START_TEST(onelogin_extends_ldap)
{
	json_t *o =
		eval("onelogin.yaml", MAPPING_USER, "onelogin-user.json", NULL);

	/* mobile: ~ removed the inherited attribute. */
	assert_keys(o, "objectClass", "dn", "uid", "cn", "sn", "givenName",
		    "displayName", "mail", "telephoneNumber", "title",
		    "departmentNumber", NULL);
	assert_values(o, "uid", "marcus.oyelaran", NULL);
	assert_values(o, "cn", "Marcus Oyelaran", NULL);
	assert_values(o, "displayName", "Marcus Oyelaran", NULL);
	assert_values(o, "sn", "Oyelaran", NULL);
	assert_values(o, "mail", "marcus.oyelaran@acme.com",
		      "m.oyelaran@acme-labs.com", NULL);
	assert_values(o, "telephoneNumber", "+44 20 7946 0321", NULL);
	assert_values(o, "title", "Security Analyst", NULL);
	assert_values(o, "departmentNumber", "Security", NULL);
	json_decref(o);
	/* Nothing but userName: cn and sn fall back to it, the rest is
	 * left out (no lone space from the empty name parts). */
	o = eval("onelogin.yaml", MAPPING_USER, "minimal-user.json", NULL);
	assert_keys(o, "objectClass", "dn", "uid", "cn", "sn", "mail", NULL);
	assert_values(o, "uid", "solo", NULL);
	assert_values(o, "cn", "Solo@acme.com", NULL);
	assert_values(o, "sn", "Solo@acme.com", NULL);
	assert_values(o, "mail", "Solo@acme.com", NULL);
	json_decref(o);
}
END_TEST

START_TEST(ldap_group)
{
	json_t *o = eval("ldap-inetorgperson.yaml", MAPPING_GROUP, "group.json",
			 NULL);

	assert_keys(o, "objectClass", "dn", "cn", "member", NULL);
	assert_values(o, "dn", "cn=Acme-Admins,ou=groups,dc=example,dc=org",
		      NULL);
	assert_values(o, "member", "2819c223-7f76-453a-919d-413861904646",
		      "9a7b1c3e-0d44-4a5e-8f1b-2c6a77d0e511", NULL);
	json_decref(o);
	/* No members: no member attribute. */
	o = eval("ldap-inetorgperson.yaml", MAPPING_GROUP, "group-other.json",
		 NULL);
	assert_keys(o, "objectClass", "dn", "cn", NULL);
	json_decref(o);
}
END_TEST

START_TEST(postgres_user_and_event)
{
	json_t *o =
		eval("postgres.yaml", MAPPING_USER, "entra-user.json", NULL);

	assert_keys(o, "scim_id", "external_id", "user_name", "email",
		    "given_name", "family_name", "display_name", "active",
		    "department", NULL);
	assert_values(o, "scim_id", "2819c223-7f76-453a-919d-413861904646",
		      NULL);
	assert_values(o, "external_id", "adele.vance", NULL);
	assert_values(o, "user_name", "Adele.Vance@contoso.com", NULL);
	assert_values(o, "email", "adele.vance@contoso.com", NULL);
	assert_values(o, "given_name", "Adele", NULL);
	assert_values(o, "family_name", "Vance", NULL);
	assert_values(o, "display_name", "Adele Vance", NULL);
	assert_values(o, "active", "true", NULL);
	assert_values(o, "department", "Retail", NULL);
	json_decref(o);
	o = eval("postgres.yaml", MAPPING_USER, "entra-user.json",
		 "user.deactivated");
	assert_values(o, "active", "false", NULL);
	json_decref(o);
	/* OneLogin: no displayName, no name.formatted. */
	o = eval("postgres.yaml", MAPPING_USER, "onelogin-user.json", NULL);
	ck_assert(json_object_get(o, "display_name") == NULL);
	assert_values(o, "email", "marcus.oyelaran@acme.com", NULL);
	json_decref(o);
}
END_TEST

START_TEST(webhook_user)
{
	json_t *o = eval("webhook.yaml", MAPPING_USER, "okta-user.json",
			 "user.created");

	assert_values(o, "event", "user.created", NULL);
	assert_values(o, "emails", "isabella.kim@acme.com",
		      "bella.kim@example.net", NULL);
	assert_values(o, "active", "true", NULL);
	ck_assert(json_object_get(o, "managerId") == NULL);
	json_decref(o);
	o = eval("webhook.yaml", MAPPING_USER, "entra-user.json", NULL);
	ck_assert(json_object_get(o, "event") == NULL);
	assert_values(o, "managerId", "26f0ad54-4b5e-4f3c-9c4d-7d0ac3b07e6a",
		      NULL);
	assert_values(o, "phoneNumbers", "+1 425 555 0109", "+1 425 555 0110",
		      NULL);
	assert_values(o, "subjectHash",
		      "76c208b5e21324e9443669eeeb90db1cbadc1e44d8166c3927c4f5d3"
		      "aa44ae37",
		      NULL);
	json_decref(o);
}
END_TEST

static json_t *roles_of(const char *mapfile, const char *resname)
{
	mapping *m = load_ok(mapfile);
	json_t *res = resource(resname), *roles = NULL;
	mapping_error err;
	char buf[768];

	if (mapping_roles(&roles, m, res, &err) < 0)
		ck_abort_msg("%s",
			     mapping_error_format(buf, sizeof(buf), &err));
	json_decref(res);
	mapping_free(m);
	return roles;
}

START_TEST(roles_from_groups)
{
	json_t *r = roles_of(MAPPINGS "roles.yaml", "group.json");
	json_t *w = json_pack("{so}", "r", r);

	/* Both rules say org:admin: once. */
	assert_values(w, "r", "org:admin", NULL);
	json_decref(w);
	r = roles_of(MAPPINGS "roles.yaml", "group-developers.json");
	w = json_pack("{so}", "r", r);
	assert_values(w, "r", "team:developers", "org:developer", NULL);
	json_decref(w);
	/* Neither rule knows the group: no role. */
	r = roles_of(MAPPINGS "roles.yaml", "group-other.json");
	ck_assert_int_eq(json_array_size(r), 0);
	json_decref(r);
	/* A file without role: maps every group to none. */
	r = roles_of(MAPPINGS "ldap-inetorgperson.yaml", "group.json");
	ck_assert_int_eq(json_array_size(r), 0);
	json_decref(r);
}
END_TEST

START_TEST(extends_overrides)
{
	json_t *o =
		eval(DATA "child.yaml", MAPPING_USER, "okta-user.json", NULL);
	mapping *m;

	/* b replaced in place, c removed, d appended; duplicate and empty
	 * values dropped. */
	assert_keys(o, "a", "b", "d", NULL);
	assert_values(o, "a", "A=isabella.kim@acme.com", NULL);
	assert_values(o, "b", "child-B", NULL);
	assert_values(o, "d", "D1", "D2", NULL);
	json_decref(o);
	m = load_ok(DATA "child.yaml");
	ck_assert(!mapping_has_roles(m));
	ck_assert_uint_eq(mapping_attr_count(m, MAPPING_USER), 3);
	ck_assert_uint_eq(mapping_attr_count(m, MAPPING_GROUP), 1);
	ck_assert_str_eq(mapping_attr_name(m, MAPPING_USER, 2), "d");
	ck_assert(mapping_attr_name(m, MAPPING_USER, 3) == NULL);
	mapping_free(m);
	m = load_ok(DATA "parent.yaml");
	ck_assert(mapping_has_roles(m));
	mapping_free(m);
	/* Two levels, through a relative path with "..". */
	o = eval(DATA "grandchild.yaml", MAPPING_USER, "okta-user.json", NULL);
	assert_keys(o, "a", "b", "d", NULL);
	assert_values(o, "a", "grand-A", NULL);
	json_decref(o);
}
END_TEST

START_TEST(extends_cycles_and_depth)
{
	mapping_error err;
	mapping *m;

	load_fails(DATA "cycle-a.yaml", &err);
	ck_assert_msg(strstr(err.message, "cycle"), "%s", err.message);
	ck_assert_str_eq(err.attr, "extends");
	load_fails(DATA "self.yaml", &err);
	ck_assert_msg(strstr(err.message, "cycle"), "%s", err.message);
	/* deep0 has 10 ancestors, deep2 has 8 (the limit). */
	load_fails(DATA "deep0.yaml", &err);
	ck_assert_msg(strstr(err.message, "deep"), "%s", err.message);
	m = load_ok(DATA "deep2.yaml");
	ck_assert_uint_eq(mapping_attr_count(m, MAPPING_USER), 9);
	ck_assert_str_eq(mapping_attr_name(m, MAPPING_USER, 0), "a10");
	mapping_free(m);
	/* A parent that cannot be read is the child's error, at extends:. */
	load_fails(DATA "missing-parent.yaml", &err);
	ck_assert_str_eq(err.file, DATA "missing-parent.yaml");
	ck_assert_str_eq(err.attr, "extends");
	ck_assert_int_eq(err.line, 2);
	ck_assert_int_eq(err.column, 10);
	ck_assert_msg(strstr(err.message, "no-such-file.yaml"), "%s",
		      err.message);
}
END_TEST

START_TEST(compile_errors_name_file_attr_line_column)
{
	mapping_error err;
	char buf[768];

	load_fails(DATA "bad-template.yaml", &err);
	mapping_error_format(buf, sizeof(buf), &err);
	ck_assert_str_eq(err.file, DATA "bad-template.yaml");
	ck_assert_str_eq(err.attr, "user.mail[1]");
	ck_assert_int_eq(err.line, 6);
	/* The template starts at column 8; the error is inside it. */
	ck_assert_msg(err.column > 8 && err.column < 48, "%s", buf);
	ck_assert_msg(strstr(buf, "bad-template.yaml:6:") &&
			      strstr(buf, ": user.mail[1]: "),
		      "%s", buf);

	load_fails(DATA "bad-template-role.yaml", &err);
	ck_assert_str_eq(err.attr, "role");
	ck_assert_int_eq(err.line, 1);
	ck_assert_msg(err.column >= 8, "%d", err.column);

	load_fails(DATA "bad-yaml.yaml", &err);
	ck_assert_int_eq(err.line, 3);
	ck_assert(err.column > 0);
	ck_assert_str_eq(err.attr, "");

	load_fails(DATA "unknown-section.yaml", &err);
	ck_assert_str_eq(err.attr, "users");
	ck_assert_int_eq(err.line, 3);
	ck_assert_int_eq(err.column, 1);

	load_fails(DATA "not-a-template.yaml", &err);
	ck_assert_str_eq(err.attr, "user.cn");

	load_fails(DATA "no-such-mapping.yaml", &err);
	ck_assert_msg(strstr(err.message, "No such file"), "%s", err.message);
}
END_TEST

START_TEST(missing_attributes_give_no_value)
{
	json_t *o = eval(DATA "scalars.yaml", MAPPING_USER,
			 "onelogin-user.json", NULL);

	/* Numbers and booleans are constant text; nickName, costCenter and
	 * event.type (no event) render nothing and are left out. */
	assert_keys(o, "n", "t", NULL);
	assert_values(o, "n", "42", NULL);
	assert_values(o, "t", "true", NULL);
	json_decref(o);
	o = eval(DATA "scalars.yaml", MAPPING_USER, "onelogin-user.json",
		 "user.updated");
	assert_keys(o, "n", "t", "event", NULL);
	assert_values(o, "event", "user.updated", NULL);
	json_decref(o);
}
END_TEST

START_TEST(yaml_positions)
{
	const char *text = "user:\n"
			   "  cn: '{{ x }}'\n"
			   "  mail:\n"
			   "    - plain\n"
			   "    - \"dq\"\n"
			   "  a/b~c: |\n"
			   "      block\n"
			   "role: x\n";
	json_t *doc = NULL, *pos = NULL;
	char err[256];

	ck_assert_int_eq(yaml_to_json_pos(&doc, &pos, text, strlen(text),
					  "t.yaml", err, sizeof(err)),
			 0);
	ck_assert_int_eq(json_integer_value(json_array_get(
				 json_object_get(pos, "/user/cn"), 0)),
			 2);
	/* After the quote. */
	ck_assert_int_eq(json_integer_value(json_array_get(
				 json_object_get(pos, "/user/cn"), 1)),
			 8);
	ck_assert_int_eq(json_integer_value(json_array_get(
				 json_object_get(pos, "/user/mail/0"), 1)),
			 7);
	ck_assert_int_eq(json_integer_value(json_array_get(
				 json_object_get(pos, "/user/mail/1"), 0)),
			 5);
	ck_assert_int_eq(json_integer_value(json_array_get(
				 json_object_get(pos, "/user/mail/1"), 1)),
			 8);
	/* A block scalar's content starts on the next line. */
	ck_assert_int_eq(json_integer_value(json_array_get(
				 json_object_get(pos, "/user/a~1b~0c"), 0)),
			 7);
	ck_assert_int_eq(json_integer_value(json_array_get(
				 json_object_get(pos, "/user/a~1b~0c"), 1)),
			 7);
	ck_assert_int_eq(json_integer_value(json_array_get(
				 json_object_get(pos, "/role"), 0)),
			 8);
	ck_assert_str_eq(json_string_value(json_object_get(
				 json_object_get(doc, "user"), "cn")),
			 "{{ x }}");
	json_decref(doc);
	json_decref(pos);
	/* Errors leave both NULL. */
	ck_assert_int_eq(yaml_to_json_pos(&doc, &pos, "a: [", 4, "t.yaml", err,
					  sizeof(err)),
			 -1);
	ck_assert(doc == NULL && pos == NULL);
}
END_TEST

static Suite *mapping_suite(void)
{
	Suite *s = suite_create("mapping");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, shipped_files_load);
	tcase_add_test(tc, mapset_put_replace_remove);
	tcase_add_test(tc, ldap_entra_user);
	tcase_add_test(tc, ldap_okta_user_multivalued_mail);
	tcase_add_test(tc, entra_extends_ldap);
	tcase_add_test(tc, okta_extends_ldap);
	tcase_add_test(tc, onelogin_extends_ldap);
	tcase_add_test(tc, ldap_group);
	tcase_add_test(tc, postgres_user_and_event);
	tcase_add_test(tc, webhook_user);
	tcase_add_test(tc, roles_from_groups);
	tcase_add_test(tc, extends_overrides);
	tcase_add_test(tc, extends_cycles_and_depth);
	tcase_add_test(tc, compile_errors_name_file_attr_line_column);
	tcase_add_test(tc, missing_attributes_give_no_value);
	tcase_add_test(tc, yaml_positions);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(mapping_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
