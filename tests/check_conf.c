/* check_conf.c - the YAML reader and scimsyncd's configuration file. */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "log.h"
#include "yaml_json.h"

static json_t *yaml(const char *text, char *err, size_t errlen)
{
	json_t *v = NULL;

	err[0] = '\0';
	if (yaml_to_json(&v, text, strlen(text), "t.yaml", err, errlen) < 0)
		return NULL;
	return v;
}

START_TEST(yaml_scalars_typed)
{
	char err[256];
	json_t *v = yaml("# comment\na: 1\nb: -2.5\nc: true\nd: ~\ne: hello\n"
			 "f: '1'\ng: \"true\"\nh: [x, 2]\ni: {j: k}\n",
			 err, sizeof(err));

	ck_assert_msg(v != NULL, "%s", err);
	ck_assert(json_integer_value(json_object_get(v, "a")) == 1);
	ck_assert(json_real_value(json_object_get(v, "b")) == -2.5);
	ck_assert(json_is_true(json_object_get(v, "c")));
	ck_assert(json_is_null(json_object_get(v, "d")));
	ck_assert_str_eq(json_string_value(json_object_get(v, "e")), "hello");
	/* Quoted scalars stay strings. */
	ck_assert_str_eq(json_string_value(json_object_get(v, "f")), "1");
	ck_assert_str_eq(json_string_value(json_object_get(v, "g")), "true");
	ck_assert_int_eq(json_array_size(json_object_get(v, "h")), 2);
	ck_assert_str_eq(json_string_value(
				 json_object_get(json_object_get(v, "i"), "j")),
			 "k");
	json_decref(v);
}
END_TEST

START_TEST(yaml_errors_name_line_and_column)
{
	char err[256];

	ck_assert(yaml("a: 1\nb: [1, 2\n", err, sizeof(err)) == NULL);
	ck_assert_msg(strncmp(err, "t.yaml:", 7) == 0, "%s", err);
	ck_assert(yaml("a: 1\na: 2\n", err, sizeof(err)) == NULL);
	ck_assert_msg(strstr(err, "t.yaml:2:") && strstr(err, "duplicate"),
		      "%s", err);
	ck_assert(yaml("a: &x 1\nb: *x\n", err, sizeof(err)) == NULL);
	ck_assert_msg(strstr(err, "aliases"), "%s", err);
	ck_assert(yaml("a: 1\n---\nb: 2\n", err, sizeof(err)) == NULL);
	ck_assert_msg(strstr(err, "one document"), "%s", err);
}
END_TEST

START_TEST(yaml_empty_and_deep)
{
	char err[256], deep[400];
	json_t *v = yaml("", err, sizeof(err));

	ck_assert(json_is_object(v));
	json_decref(v);
	v = yaml("# only a comment\n", err, sizeof(err));
	ck_assert(json_is_object(v));
	json_decref(v);
	/* 100 nested flow sequences: refused, not a stack overflow. */
	memset(deep, '[', 100);
	memset(deep + 100, ']', 100);
	deep[200] = '\0';
	ck_assert(yaml(deep, err, sizeof(err)) == NULL);
	ck_assert_msg(strstr(err, "deeply"), "%s", err);
}
END_TEST

static scimsync_config *conf(const char *text, char *err, size_t errlen)
{
	scimsync_config *c = NULL;

	err[0] = '\0';
	if (conf_load_string(&c, text, "c.yaml", err, errlen) < 0)
		return NULL;
	return c;
}

START_TEST(conf_defaults)
{
	char err[256];
	scimsync_config *c = conf("", err, sizeof(err));

	ck_assert_msg(c != NULL, "%s", err);
	ck_assert_str_eq(c->listen_address, "127.0.0.1");
	ck_assert_int_eq(c->port, 8080);
	ck_assert_int_ge(c->threads, 1);
	ck_assert_str_eq(c->store_plugin, "sqlite");
	ck_assert_int_eq(c->max_results, 1000);
	ck_assert_int_eq(c->default_count, 100);
	ck_assert_int_eq(c->log_level, LOG_INFO);
	ck_assert(!c->has_token);
	ck_assert(c->store_options[0].key == NULL);
	/* No admin credential: no admin listener. */
	ck_assert(!c->has_admin_token);
	ck_assert_str_eq(c->admin_address, "127.0.0.1");
	ck_assert_int_eq(c->admin_port, 8081);
	ck_assert(c->audit_path == NULL && c->audit_db == NULL);
	ck_assert_int_eq(c->audit_retention_days, 90);
	conf_free(c);
}
END_TEST

START_TEST(conf_sinks)
{
	char err[256];
	scimsync_config *c = NULL;

	ck_assert_msg(
		conf_load_string(&c,
				 "sinks:\n"
				 "  ldap:\n"
				 "    plugin: ldap\n"
				 "    mapping: ldap\n"
				 "    tenants: [acme, pilot]\n"
				 "    retry: {initial_ms: 100, max_ms: 5000}\n"
				 "    batch: 10\n"
				 "    options: {url: 'ldap://x', tls: true}\n"
				 "  hook: {plugin: /x/sink_webhook.so}\n",
				 "s.yaml", err, sizeof(err)) == 0,
		"%s", err);
	ck_assert_uint_eq(c->n_sinks, 2);
	ck_assert_str_eq(c->sinks[0].name, "ldap");
	ck_assert_str_eq(c->sinks[0].plugin, "ldap");
	ck_assert_str_eq(c->sinks[0].mapping, "ldap");
	ck_assert_str_eq(c->sinks[0].tenants[1], "pilot");
	ck_assert_ptr_null(c->sinks[0].tenants[2]);
	ck_assert_int_eq(c->sinks[0].retry_initial_ms, 100);
	ck_assert_int_eq(c->sinks[0].retry_max_ms, 5000);
	ck_assert_int_eq(c->sinks[0].batch, 10);
	ck_assert_str_eq(c->sinks[0].options[1].key, "tls");
	ck_assert_str_eq(c->sinks[0].options[1].value, "true");
	ck_assert_str_eq(c->sinks[1].plugin, "/x/sink_webhook.so");
	ck_assert_ptr_null(c->sinks[1].tenants);
	ck_assert_ptr_null(c->sinks[1].mapping);
	ck_assert_int_eq(c->sinks[1].retry_initial_ms, 200);
	ck_assert_int_eq(c->sinks[1].retry_max_ms, 60000);
	ck_assert_int_eq(c->sinks[1].batch, 256);
	conf_free(c);
}
END_TEST

START_TEST(conf_admin_and_audit)
{
	char err[256];
	scimsync_config *c = NULL;

	ck_assert_msg(
		conf_load_string(
			&c,
			"admin:\n  listen: {address: 10.0.0.1, port: 9001}\n"
			"  token_sha256: "
			"ffeeddccbbaa99887766554433221100ffeeddccbbaa9988776655"
			"4"
			"433221100\n"
			"audit: {path: a.log, database: /abs/a.db, "
			"retention_days: 7}\n",
			"/etc/scimsync/s.yaml", err, sizeof(err)) == 0,
		"%s", err);
	ck_assert_str_eq(c->admin_address, "10.0.0.1");
	ck_assert_int_eq(c->admin_port, 9001);
	ck_assert(c->has_admin_token);
	ck_assert_int_eq(c->admin_token_hash[0], 0xff);
	ck_assert_int_eq(c->admin_token_hash[31], 0x00);
	ck_assert_str_eq(c->audit_path, "/etc/scimsync/a.log");
	ck_assert_str_eq(c->audit_db, "/abs/a.db");
	ck_assert_int_eq(c->audit_retention_days, 7);
	conf_free(c);
}
END_TEST

START_TEST(conf_full)
{
	char err[256];
	scimsync_config *c =
		conf("listen:\n  address: 0.0.0.0\n  port: 9443\n  threads: 4\n"
		     "  tls: {cert: /c.pem, key: /k.pem}\n"
		     "base_url: https://scim.example.org/scim/v2\n"
		     "log_level: debug\n"
		     "store:\n  plugin: /x/store_sqlite.so\n  options:\n"
		     "    path: /var/db\n    busy_timeout_ms: 500\n"
		     "limits: {max_results: 50, default_count: 500, "
		     "bulk_max_operations: 10}\n"
		     "auth:\n  tenant: acme\n  token_sha256: "
		     "00112233445566778899aabbccddeeff00112233445566778899AABBC"
		     "CDDEEFF\n",
		     err, sizeof(err));

	ck_assert_msg(c != NULL, "%s", err);
	ck_assert_str_eq(c->listen_address, "0.0.0.0");
	ck_assert_int_eq(c->port, 9443);
	ck_assert_int_eq(c->threads, 4);
	ck_assert_str_eq(c->tls_cert, "/c.pem");
	ck_assert_str_eq(c->tls_key, "/k.pem");
	ck_assert_str_eq(c->base_url, "https://scim.example.org/scim/v2");
	ck_assert_int_eq(c->log_level, LOG_DEBUG);
	ck_assert_str_eq(c->store_options[0].key, "path");
	ck_assert_str_eq(c->store_options[0].value, "/var/db");
	ck_assert_str_eq(c->store_options[1].key, "busy_timeout_ms");
	ck_assert_str_eq(c->store_options[1].value, "500");
	ck_assert(c->store_options[2].key == NULL);
	ck_assert_int_eq(c->max_results, 50);
	/* The default page never exceeds the maximum. */
	ck_assert_int_eq(c->default_count, 50);
	ck_assert_int_eq(c->bulk_max_operations, 10);
	ck_assert_str_eq(c->tenant, "acme");
	ck_assert(c->has_token);
	ck_assert_int_eq(c->token_hash[0], 0x00);
	ck_assert_int_eq(c->token_hash[31], 0xff);
	conf_free(c);
}
END_TEST

START_TEST(conf_mappings_relative_to_the_file)
{
	char err[256];
	scimsync_config *c = NULL;

	ck_assert_msg(conf_load_string(&c,
				       "mappings:\n  ldap: maps/ldap.yaml\n"
				       "  hook: /abs/webhook.yaml\n",
				       "/etc/scimsync/scimsyncd.yaml", err,
				       sizeof(err)) == 0,
		      "%s", err);
	ck_assert_str_eq(c->mappings[0].key, "ldap");
	ck_assert_str_eq(c->mappings[0].value, "/etc/scimsync/maps/ldap.yaml");
	ck_assert_str_eq(c->mappings[1].key, "hook");
	ck_assert_str_eq(c->mappings[1].value, "/abs/webhook.yaml");
	ck_assert(c->mappings[2].key == NULL);
	conf_free(c);
	ck_assert(conf_load_string(&c, "mappings: [a]\n", "c.yaml", err,
				   sizeof(err)) < 0);
	ck_assert_msg(strstr(err, "'mappings'"), "%s", err);
	ck_assert(conf_load_string(&c, "mappings: {x: ''}\n", "c.yaml", err,
				   sizeof(err)) < 0);
	ck_assert_msg(strstr(err, "mappings.x"), "%s", err);
}
END_TEST

START_TEST(conf_rejects_mistakes)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
		{"lisen: {port: 1}\n", "unknown key 'lisen'"},
		{"listen: {prot: 1}\n", "unknown key 'listen.prot'"},
		{"listen: {port: 70000}\n", "listen.port"},
		{"listen: {port: '80'}\n", "listen.port"},
		{"listen: {threads: 0}\n", "listen.threads"},
		{"listen: {tls: {cert: /c.pem}}\n", "both"},
		{"log_level: loud\n", "log_level"},
		{"auth: {token_sha256: abc}\n", "64 hex"},
		{"auth: {token_sha256: "
		 "zz112233445566778899aabbccddeeff00112233445566778899aabbccdde"
		 "eff}\n",
		 "64 hex"},
		{"store: {options: [a]}\n", "store.options"},
		{"store: {options: {path: [a]}}\n", "store.options.path"},
		{"limits: 5\n", "'limits' must be a mapping"},
		{"admin: {token_sha256: abc}\n", "admin.token_sha256"},
		{"admin: {listen: {port: -1}}\n", "admin.listen.port"},
		{"admin: {listn: {}}\n", "unknown key 'admin.listn'"},
		{"audit: {retention_days: -1}\n", "audit.retention_days"},
		{"audit: {databse: x}\n", "unknown key 'audit.databse'"},
		{"sinks: {x: {mapping: y}}\n", "sinks.x.plugin' is required"},
		{"sinks: {X: {plugin: y}}\n", "sink name 'X'"},
		{"sinks: {x: {plugin: y, tenants: a}}\n", "sinks.x.tenants"},
		{"sinks: {x: {plugin: y, retry: {max_ms: 0}}}\n",
		 "sinks.x.retry.max_ms"},
		{"sinks: {x: {plugin: y, colour: red}}\n",
		 "unknown key 'sinks.x.colour'"},
		{"- a\n- b\n", "top level"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char err[256];
		scimsync_config *c = conf(cases[i].text, err, sizeof(err));

		ck_assert_msg(c == NULL, "accepted: %s", cases[i].text);
		ck_assert_msg(strstr(err, cases[i].want) != NULL,
			      "'%s' gave '%s', want '%s'", cases[i].text, err,
			      cases[i].want);
		ck_assert_msg(strncmp(err, "c.yaml", 6) == 0, "%s", err);
	}
}
END_TEST

START_TEST(conf_example_file_loads)
{
	char err[512];
	scimsync_config *c = NULL;

	ck_assert_msg(
		conf_load_file(&c, TEST_DATADIR "/../../contrib/scimsyncd.yaml",
			       err, sizeof(err)) == 0,
		"%s", err);
	ck_assert_str_eq(c->store_options[0].key, "path");
	conf_free(c);
	ck_assert(conf_load_file(&c, "/nonexistent/x.yaml", err, sizeof(err)) <
		  0);
	ck_assert_msg(strstr(err, "/nonexistent/x.yaml"), "%s", err);
}
END_TEST

START_TEST(log_levels)
{
	ck_assert_int_eq(log_level_parse("error"), LOG_ERR);
	ck_assert_int_eq(log_level_parse("warn"), LOG_WARN);
	ck_assert_int_eq(log_level_parse("info"), LOG_INFO);
	ck_assert_int_eq(log_level_parse("debug"), LOG_DEBUG);
	ck_assert_int_eq(log_level_parse("verbose"), -1);
}
END_TEST

static Suite *conf_suite(void)
{
	Suite *s = suite_create("conf");
	TCase *tc = tcase_create("yaml");

	tcase_add_test(tc, yaml_scalars_typed);
	tcase_add_test(tc, yaml_errors_name_line_and_column);
	tcase_add_test(tc, yaml_empty_and_deep);
	suite_add_tcase(s, tc);
	tc = tcase_create("config");
	tcase_add_test(tc, conf_defaults);
	tcase_add_test(tc, conf_full);
	tcase_add_test(tc, conf_admin_and_audit);
	tcase_add_test(tc, conf_sinks);
	tcase_add_test(tc, conf_rejects_mistakes);
	tcase_add_test(tc, conf_mappings_relative_to_the_file);
	tcase_add_test(tc, conf_example_file_loads);
	tcase_add_test(tc, log_levels);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(conf_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
