/* check_tmpl.c - the template language (engine/tmpl*.c) and
 * scim_path_get.
 *
 * Most cases are data: tests/data/tmpl/cases.txt, rendered against
 * tests/data/tmpl/user.json (see the head of cases.txt for the format).
 * The rest check what data cannot say: positions with file offsets,
 * bounds, reuse of a compiled template, the path helper. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <jansson.h>

#include "scim_path.h"
#include "tmpl.h"

#ifndef TEST_DATADIR
#define TEST_DATADIR "tests/data"
#endif

static json_t *user;
static json_t *event;

static void setup(void)
{
	json_error_t je;

	user = json_load_file(TEST_DATADIR "/tmpl/user.json", 0, &je);
	ck_assert_msg(user != NULL, "user.json: %s", je.text);
	event = json_pack("{s:s, s:{s:s}}", "type", "create", "actor", "name",
			  "entra");
	ck_assert_ptr_nonnull(event);
}

static void teardown(void)
{
	json_decref(user);
	json_decref(event);
}

/* Render src (compiled for Users) to a JSON array text; NULL on error
 * with err filled. New string. */
static char *render(const char *src, tmpl_error *err)
{
	tmpl *t;
	json_t *out;
	char *s;

	if (tmpl_compile(&t, src, strlen(src), scim_restype_user(), "m.yaml", 1,
			 1, err) < 0)
		return NULL;
	if (tmpl_render(&out, t, user, event, err) < 0) {
		tmpl_free(t);
		return NULL;
	}
	s = json_dumps(out, JSON_COMPACT | JSON_ENCODE_ANY);
	json_decref(out);
	tmpl_free(t);
	return s;
}

static void expect(const char *src, const char *want)
{
	tmpl_error err;
	char *got = render(src, &err);

	ck_assert_msg(got != NULL, "%s: error %d:%d %s", src, err.line,
		      err.column, err.message);
	ck_assert_msg(strcmp(got, want) == 0, "%s: got %s, want %s", src, got,
		      want);
	free(got);
}

/* ---- Data-driven cases ----------------------------------------------- */

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	ck_assert_msg(f != NULL, "cannot open %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void run_case(const char *name, const char *src, const char *want)
{
	tmpl *t = NULL;
	tmpl_error err;
	json_t *out = NULL;
	int rc;

	rc = tmpl_compile(&t, src, strlen(src), scim_restype_user(), "m.yaml",
			  1, 1, &err);
	if (strncmp(want, "!compile ", 9) == 0) {
		int line, col, off = 0;

		ck_assert_msg(rc < 0, "%s: compiled, expected an error", name);
		ck_assert_msg(sscanf(want + 9, "%d:%d %n", &line, &col, &off) ==
					      2 &&
				      off > 0,
			      "%s: bad expectation", name);
		ck_assert_msg(err.line == line && err.column == col,
			      "%s: error at %d:%d (%s), want %d:%d", name,
			      err.line, err.column, err.message, line, col);
		ck_assert_msg(strstr(err.message, want + 9 + off) != NULL,
			      "%s: message '%s' lacks '%s'", name, err.message,
			      want + 9 + off);
		ck_assert_str_eq(err.file, "m.yaml");
		return;
	}
	ck_assert_msg(rc == 0, "%s: %d:%d %s", name, err.line, err.column,
		      err.message);
	rc = tmpl_render(&out, t, user, event, &err);
	if (strncmp(want, "!render ", 8) == 0) {
		ck_assert_msg(rc < 0, "%s: rendered, expected an error", name);
		ck_assert_ptr_null(out);
		ck_assert_msg(strstr(err.message, want + 8) != NULL,
			      "%s: message '%s' lacks '%s'", name, err.message,
			      want + 8);
		ck_assert_int_gt(err.line, 0);
	} else {
		json_error_t je;
		json_t *exp = json_loads(want, 0, &je);

		ck_assert_msg(exp != NULL, "%s: bad expectation %s", name,
			      want);
		ck_assert_msg(rc == 0, "%s: render error %d:%d %s", name,
			      err.line, err.column, err.message);
		if (!json_equal(out, exp)) {
			char *g = json_dumps(out, JSON_COMPACT);

			ck_abort_msg("%s: got %s, want %s", name, g, want);
		}
		json_decref(exp);
		json_decref(out);
	}
	tmpl_free(t);
}

START_TEST(test_cases)
{
	char *buf = read_file(TEST_DATADIR "/tmpl/cases.txt"), *p = buf;
	int n = 0;

	while ((p = strstr(p, "=== ")) != NULL) {
		char *name = p + 4, *src, *sep, *want, *end;

		if (p != buf && p[-1] != '\n' && p[-1] != '\0') {
			p += 4;
			continue;
		}
		src = strchr(name, '\n');
		ck_assert_ptr_nonnull(src);
		*src++ = '\0';
		sep = strstr(src, "\n---\n");
		ck_assert_msg(sep != NULL, "%s: no ---", name);
		*sep = '\0';
		want = sep + 5;
		end = strchr(want, '\n');
		if (end != NULL)
			*end = '\0';
		run_case(name, src, want);
		n++;
		p = end != NULL ? end + 1 : want + strlen(want);
	}
	ck_assert_int_ge(n, 80);
	free(buf);
}
END_TEST

/* ---- Positions, bounds, API ------------------------------------------ */

START_TEST(test_error_offsets)
{
	tmpl *t;
	tmpl_error err;
	const char *src = "ab {{ x | nope }}";
	const char *src2 = "ab\n  {% if %}";

	/* the template starts at line 12, column 9 of its file */
	ck_assert_int_eq(tmpl_compile(&t, src, strlen(src), scim_restype_user(),
				      "ldap.yaml", 12, 9, &err),
			 -1);
	ck_assert_str_eq(err.file, "ldap.yaml");
	ck_assert_int_eq(err.line, 12);
	ck_assert_int_eq(err.column, 9 + 10);
	/* on later lines the column counts from the line start */
	ck_assert_int_eq(tmpl_compile(&t, src2, strlen(src2),
				      scim_restype_user(), "ldap.yaml", 12, 9,
				      &err),
			 -1);
	ck_assert_int_eq(err.line, 13);
	ck_assert_int_eq(err.column, 9);
	ck_assert_ptr_nonnull(strstr(err.message, "expected a value"));
	/* len bounds the source: the rest is not read */
	ck_assert_int_eq(tmpl_compile(&t, "{{ userName }}garbage {{", 14,
				      scim_restype_user(), "f", 1, 1, &err),
			 0);
	ck_assert_ptr_nonnull(t);
	{
		char *s = tmpl_render_string(t, user, NULL, &err);

		ck_assert_str_eq(s, "Adele.Vance@contoso.com");
		free(s);
	}
	tmpl_free(t);
}
END_TEST

START_TEST(test_render_error_position)
{
	tmpl *t;
	tmpl_error err;
	json_t *out = (json_t *)1;
	const char *src = "x\n  {% for i in (1..99999999) %}{% endfor %}";

	ck_assert_int_eq(tmpl_compile(&t, src, strlen(src), scim_restype_user(),
				      "g.yaml", 5, 3, &err),
			 0);
	ck_assert_int_eq(tmpl_render(&out, t, user, event, &err), -1);
	ck_assert_ptr_null(out);
	ck_assert_str_eq(err.file, "g.yaml");
	ck_assert_int_eq(err.line, 6);
	ck_assert_ptr_nonnull(strstr(err.message, "steps"));
	tmpl_free(t);
}
END_TEST

START_TEST(test_max_values)
{
	char *src = malloc(8 * 1024);
	size_t n = 0;
	int i;
	tmpl_error err;

	ck_assert_ptr_nonnull(src);
	n += (size_t)sprintf(src + n, "{{ \"");
	for (i = 0; i < TMPL_MAX_VALUES + 1; i++)
		n += (size_t)sprintf(src + n, "%s%d", i ? "," : "", i % 10);
	sprintf(src + n, "\" | split: \",\" }}");
	ck_assert_ptr_null(render(src, &err));
	ck_assert_ptr_nonnull(strstr(err.message, "values"));
	/* exactly the maximum is fine */
	n = (size_t)sprintf(src, "{{ \"");
	for (i = 0; i < TMPL_MAX_VALUES; i++)
		n += (size_t)sprintf(src + n, "%s%d", i ? "," : "", i % 10);
	sprintf(src + n, "\" | split: \",\" | size }} {{ \"\" }}");
	{
		char *got = render(src, &err);

		ck_assert_ptr_nonnull(got);
		ck_assert_str_eq(got, "[\"1000 \"]");
		free(got);
	}
	free(src);
}
END_TEST

START_TEST(test_depth_limits)
{
	char *src = malloc(64 * 1024);
	size_t n = 0;
	int i;
	tmpl_error err;
	tmpl *t;

	ck_assert_ptr_nonnull(src);
	for (i = 0; i < 100; i++)
		n += (size_t)sprintf(src + n, "{%% if true %%}");
	for (i = 0; i < 100; i++)
		n += (size_t)sprintf(src + n, "{%% endif %%}");
	ck_assert_int_eq(tmpl_compile(&t, src, n, NULL, "d", 1, 1, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.message, "nested deeper"));
	n = (size_t)sprintf(src, "{{ 1");
	for (i = 0; i < 100; i++)
		n += (size_t)sprintf(src + n, " | plus: 1");
	n += (size_t)sprintf(src + n, " }}");
	ck_assert_int_eq(tmpl_compile(&t, src, n, NULL, "d", 1, 1, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.message, "filters"));
	/* 60 levels are fine */
	n = 0;
	for (i = 0; i < 60; i++)
		n += (size_t)sprintf(src + n, "{%% if true %%}");
	n += (size_t)sprintf(src + n, "deep");
	for (i = 0; i < 60; i++)
		n += (size_t)sprintf(src + n, "{%% endif %%}");
	ck_assert_int_eq(tmpl_compile(&t, src, n, NULL, "d", 1, 1, &err), 0);
	{
		char *s = tmpl_render_string(t, user, NULL, &err);

		ck_assert_str_eq(s, "deep");
		free(s);
	}
	tmpl_free(t);
	free(src);
}
END_TEST

START_TEST(test_reuse_and_untyped)
{
	tmpl *t;
	tmpl_error err;
	const char *src =
		"{% assign n = 0 %}{% for e in emails %}{% assign n = "
		"n | plus: 1 %}{% endfor %}{{ n }} {{ event.type }}";
	char *a, *b;
	json_t *other = json_pack("{s:[{s:s}]}", "emails", "value", "x");

	/* untyped: paths resolve without a schema */
	ck_assert_int_eq(
		tmpl_compile(&t, src, strlen(src), NULL, "u", 1, 1, &err), 0);
	a = tmpl_render_string(t, user, event, &err);
	b = tmpl_render_string(t, other, NULL, &err);
	ck_assert_str_eq(a, "2 create");
	ck_assert_str_eq(b, "1 ");
	free(a);
	free(b);
	a = tmpl_render_string(t, user, event, &err);
	ck_assert_str_eq(a, "2 create"); /* no state kept between renders */
	free(a);
	tmpl_free(t);
	json_decref(other);
	/* multi-valued joined by tmpl_render_string */
	ck_assert_int_eq(tmpl_compile(&t, "{{ emails.value | sort }}", 25,
				      scim_restype_user(), "u", 1, 1, &err),
			 0);
	a = tmpl_render_string(t, user, NULL, &err);
	ck_assert_str_eq(a, "AdeleV@contoso.com,adele@example.org");
	free(a);
	tmpl_free(t);
}
END_TEST

START_TEST(test_filter_known)
{
	static const char *const names[] = {"downcase",
					    "upcase",
					    "capitalize",
					    "strip",
					    "lstrip",
					    "rstrip",
					    "append",
					    "prepend",
					    "replace",
					    "replace_first",
					    "remove",
					    "remove_first",
					    "split",
					    "first",
					    "last",
					    "join",
					    "size",
					    "slice",
					    "truncate",
					    "default",
					    "date",
					    "escape",
					    "url_encode",
					    "sha256",
					    "sha1",
					    "map",
					    "compact",
					    "uniq",
					    "sort",
					    "reverse",
					    "concat",
					    "plus",
					    "minus",
					    "times",
					    "divided_by",
					    "modulo",
					    "abs",
					    "at_least",
					    "at_most",
					    "strip_newlines",
					    "truncatewords",
					    "base64_encode",
					    "base64_decode",
					    "escape_once",
					    NULL};
	int i;

	for (i = 0; names[i] != NULL; i++)
		ck_assert_msg(tmpl_filter_known(names[i]), "%s", names[i]);
	ck_assert(!tmpl_filter_known("bogus"));
	ck_assert(!tmpl_filter_known(""));
	ck_assert(!tmpl_filter_known(NULL));
}
END_TEST

START_TEST(test_misc_expect)
{
	/* string arguments survive all delimiters */
	expect("{{ \"%}\" | append: '}}' | append: \"|\" }}", "[\"%}}}|\"]");
	/* no user attribute shadows forloop outside a loop */
	expect("[{{ forloop.index }}]", "[\"[]\"]");
	/* an object renders as JSON */
	expect("{{ name | size }}", "[\"3\"]");
	expect("{{ emails[type eq \"work\"] | map: \"value\" }}",
	       "[\"AdeleV@contoso.com\"]");
}
END_TEST

/* ---- scim_path_get --------------------------------------------------- */

static json_t *path_get(const char *text)
{
	scim_path *p;
	scim_error serr;
	json_t *v;

	ck_assert_int_eq(scim_path_parse(&p, scim_restype_user(), text, &serr),
			 0);
	v = scim_path_get(p, user);
	scim_path_free(p);
	return v;
}

static void path_is(const char *text, const char *want)
{
	json_t *v = path_get(text);
	char *s;

	if (want == NULL) {
		ck_assert_msg(v == NULL, "%s: expected nothing", text);
		return;
	}
	ck_assert_msg(v != NULL, "%s: nothing", text);
	s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	ck_assert_msg(strcmp(s, want) == 0, "%s: got %s, want %s", text, s,
		      want);
	free(s);
	json_decref(v);
}

START_TEST(test_path_get)
{
	path_is("userName", "\"Adele.Vance@contoso.com\"");
	path_is("name.givenName", "\"Adele\"");
	path_is("NAME.GIVENNAME", "\"Adele\"");
	path_is("emails.value",
		"[\"AdeleV@contoso.com\",\"adele@example.org\"]");
	path_is("emails[type eq \"work\"].value", "[\"AdeleV@contoso.com\"]");
	path_is("emails[type eq \"home\"].value", NULL);
	path_is("emails[type eq \"other\"]",
		"[{\"value\":\"adele@example.org\",\"type\":\"other\"}]");
	path_is("emails.display", NULL);
	path_is("nickName", NULL);
	path_is("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:"
		"manager.value",
		"\"26118915-6090-4610-87e4-49d8ca9f808d\"");
	path_is("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:"
		"department",
		"\"Retail\"");
	path_is("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:"
		"costCenter",
		NULL);
	{
		json_t *ext = path_get("urn:ietf:params:scim:schemas:"
				       "extension:enterprise:2.0:User");

		ck_assert(json_is_object(ext));
		ck_assert_str_eq(json_string_value(json_object_get(
					 ext, "employeeNumber")),
				 "701984");
		json_decref(ext);
	}
	ck_assert_ptr_null(scim_path_get(NULL, user));
}
END_TEST

static Suite *tmpl_suite(void)
{
	Suite *s = suite_create("tmpl");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_cases);
	tcase_add_test(tc, test_error_offsets);
	tcase_add_test(tc, test_render_error_position);
	tcase_add_test(tc, test_max_values);
	tcase_add_test(tc, test_depth_limits);
	tcase_add_test(tc, test_reuse_and_untyped);
	tcase_add_test(tc, test_filter_known);
	tcase_add_test(tc, test_misc_expect);
	tcase_add_test(tc, test_path_get);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(tmpl_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
