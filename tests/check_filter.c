/* check_filter.c - filter expressions and attribute paths.
 *
 * Most cases are data in tests/data/filter/:
 *   cases.txt, group_cases.txt  EXPECT<TAB>FILTER against user.json and
 *                               group.json
 *   invalid.txt                 filters that must be 400 invalidFilter
 *   paths.txt, paths_invalid.txt  attribute paths
 * The rest (error details, visitor, index hints, limits, garbage) is code. */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filter.h"
#include "scim_path.h"

#ifndef TEST_DATADIR
#define TEST_DATADIR "tests/data"
#endif

#define URN_E SCIM_URN_ENTERPRISE_USER

/* ---- Helpers -------------------------------------------------------- */

static json_t *load_json(const char *name)
{
	char path[512];
	json_error_t jerr;
	json_t *j;

	snprintf(path, sizeof(path), "%s/filter/%s", TEST_DATADIR, name);
	j = json_load_file(path, 0, &jerr);
	ck_assert_msg(j != NULL, "%s: %s", path, jerr.text);
	return j;
}

/* Lines of a data file, without newline, comments and blank lines. */
struct lines {
	char **v;
	size_t n;
	int *lineno;
};

static void lines_load(struct lines *l, const char *name)
{
	char path[512], buf[8192];
	FILE *fp;
	int no = 0;

	memset(l, 0, sizeof(*l));
	snprintf(path, sizeof(path), "%s/filter/%s", TEST_DATADIR, name);
	fp = fopen(path, "r");
	ck_assert_msg(fp != NULL, "cannot open %s", path);
	while (fgets(buf, sizeof(buf), fp) != NULL) {
		size_t len = strlen(buf);

		no++;
		while (len > 0 &&
		       (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
			buf[--len] = '\0';
		if (len == 0 || buf[0] == '#')
			continue;
		l->v = realloc(l->v, (l->n + 1) * sizeof(*l->v));
		l->lineno = realloc(l->lineno, (l->n + 1) * sizeof(int));
		ck_assert(l->v != NULL && l->lineno != NULL);
		l->v[l->n] = strdup(buf);
		l->lineno[l->n] = no;
		l->n++;
	}
	fclose(fp);
}

static void lines_free(struct lines *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	free(l->lineno);
}

/* Split s at tabs in place into at most max fields; returns the count.
 * The last field takes the rest of the line. */
static size_t split_tabs(char *s, char **f, size_t max)
{
	size_t n = 0;

	while (n + 1 < max) {
		char *t = strchr(s, '\t');

		if (t == NULL)
			break;
		*t = '\0';
		f[n++] = s;
		s = t + 1;
	}
	f[n++] = s;
	return n;
}

/* Parse text on rt; ck-fail with the error detail if it doesn't parse. */
static scim_filter *must_parse(const scim_restype *rt, const char *text)
{
	scim_filter *f = NULL;
	scim_error err;

	scim_error_clear(&err);
	ck_assert_msg(scim_filter_parse(&f, rt, text, &err) == 0,
		      "'%s' did not parse: %s", text, err.detail);
	ck_assert_ptr_nonnull(f);
	return f;
}

/* Parse text expecting 400 invalidFilter; returns the detail. */
static void must_fail(const scim_restype *rt, const char *text, scim_error *err)
{
	scim_filter *f = NULL;

	scim_error_clear(err);
	ck_assert_msg(scim_filter_parse(&f, rt, text, err) == -1,
		      "'%s' parsed but should not", text);
	ck_assert_ptr_null(f);
	ck_assert_int_eq(err->status, 400);
	ck_assert_str_eq(err->scim_type, SCIM_ERR_INVALID_FILTER);
	ck_assert_msg(err->detail[0] != '\0', "no detail for '%s'", text);
}

static bool match_text(const scim_restype *rt, const char *text,
		       const json_t *res)
{
	scim_filter *f = must_parse(rt, text);
	bool r = scim_filter_match(f, res);

	scim_filter_free(f);
	return r;
}

static void run_cases(const char *file, const char *json_file,
		      const scim_restype *rt, size_t min_cases)
{
	struct lines l;
	json_t *res = load_json(json_file);
	size_t i, failures = 0;

	lines_load(&l, file);
	ck_assert_uint_ge(l.n, min_cases);
	for (i = 0; i < l.n; i++) {
		char *fld[2];
		scim_filter *f = NULL;
		scim_error err;
		bool want, got;

		ck_assert_msg(split_tabs(l.v[i], fld, 2) == 2, "%s:%d: no tab",
			      file, l.lineno[i]);
		ck_assert_msg(strcmp(fld[0], "0") == 0 ||
				      strcmp(fld[0], "1") == 0,
			      "%s:%d: bad EXPECT", file, l.lineno[i]);
		want = fld[0][0] == '1';
		scim_error_clear(&err);
		if (scim_filter_parse(&f, rt, fld[1], &err) != 0) {
			fprintf(stderr, "%s:%d: '%s' did not parse: %s\n", file,
				l.lineno[i], fld[1], err.detail);
			failures++;
			continue;
		}
		got = scim_filter_match(f, res);
		if (got != want) {
			fprintf(stderr, "%s:%d: '%s' gave %d, expected %d\n",
				file, l.lineno[i], fld[1], got, want);
			failures++;
		}
		scim_filter_free(f);
	}
	lines_free(&l);
	json_decref(res);
	ck_assert_msg(failures == 0, "%zu %s cases failed", failures, file);
}

/* ---- Data-driven matching ------------------------------------------- */

START_TEST(test_user_cases)
{
	run_cases("cases.txt", "user.json", scim_restype_user(), 250);
}
END_TEST

START_TEST(test_group_cases)
{
	run_cases("group_cases.txt", "group.json", scim_restype_group(), 20);
}
END_TEST

START_TEST(test_invalid_cases)
{
	struct lines l;
	size_t i, failures = 0;

	lines_load(&l, "invalid.txt");
	ck_assert_uint_ge(l.n, 80);
	for (i = 0; i < l.n; i++) {
		scim_filter *f = NULL;
		scim_error err;
		int rc;

		scim_error_clear(&err);
		rc = scim_filter_parse(&f, scim_restype_user(), l.v[i], &err);
		if (rc != -1 || f != NULL || err.status != 400 ||
		    err.scim_type == NULL ||
		    strcmp(err.scim_type, SCIM_ERR_INVALID_FILTER) != 0 ||
		    strstr(err.detail, "at position ") == NULL) {
			fprintf(stderr,
				"invalid.txt:%d: '%s' rc=%d detail=%s\n",
				l.lineno[i], l.v[i], rc, err.detail);
			failures++;
		}
		scim_filter_free(f);
	}
	lines_free(&l);
	ck_assert_msg(failures == 0, "%zu invalid.txt cases failed", failures);
}
END_TEST

/* ---- Error details -------------------------------------------------- */

START_TEST(test_error_details)
{
	static const struct {
		const char *text, *detail;
	} t[] = {
		{"userName xx \"x\"",
		 "expected comparison operator at position 9"},
		{"userName", "expected comparison operator at position 8"},
		{"", "expected attribute path at position 0"},
		{"   ", "expected attribute path at position 3"},
		{"userName eq", "expected space after operator at position 11"},
		{"userName eq ", "expected value (string, number, true, false "
				 "or null) at position 12"},
		{"userName eq \"x", "unterminated string at position 12"},
		{"userName eq \"x\" and",
		 "expected attribute path at position 19"},
		{"(userName pr", "expected ')' at position 12"},
		{"userName pr)", "unbalanced ')' at position 11"},
		{"emails[type eq \"w\"", "expected ']' at position 18"},
		{"emails[type eq \"w\"].value eq \"x\"",
		 "expected 'and', 'or' or end of filter at position 19"},
		{"emails[value[type pr]]",
		 "nested value filter not allowed at position 12"},
		{"active gt true", "operator 'gt' not allowed on boolean "
				   "attribute at position 7"},
		{"userName lt null",
		 "operator 'lt' needs a string or number value at position 12"},
		{"userName eq \"x\"y",
		 "expected space after value at position 15"},
		{"userName eq 01", "invalid number at position 12"},
		{"urn:ietf:params:scim:schemas:core:2.0:User:",
		 "expected attribute name after URN at position 43"},
		{"name.", "expected sub-attribute name at position 5"},
	};
	size_t i;
	scim_error err;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		must_fail(scim_restype_user(), t[i].text, &err);
		ck_assert_msg(strcmp(err.detail, t[i].detail) == 0,
			      "'%s': got '%s', want '%s'", t[i].text,
			      err.detail, t[i].detail);
	}
}
END_TEST

START_TEST(test_invalid_utf8)
{
	scim_error err;

	must_fail(scim_restype_user(), "userName eq \"\xff\"", &err);
	ck_assert_ptr_nonnull(strstr(err.detail, "UTF-8"));
	must_fail(scim_restype_user(), "userName eq \"\xc3\"", &err);
	must_fail(scim_restype_user(), "userName eq \"\xed\xa0\x80\"", &err);
	must_fail(scim_restype_user(), "userName eq \"\xc0\xaf\"", &err);
	/* valid UTF-8 outside a string is still a syntax error */
	must_fail(scim_restype_user(), "\xc3\xa9 pr", &err);
	ck_assert_str_eq(err.detail, "expected attribute path at position 0");
}
END_TEST

START_TEST(test_parse_sub_nul)
{
	static const char text[] = "type eq \"work\"\0 or type pr";
	const scim_attr *emails =
		scim_schema_find(scim_restype_user(), NULL, "emails", NULL);
	scim_filter *f = NULL;
	scim_error err;

	ck_assert_ptr_nonnull(emails);
	/* an embedded NUL inside len is an error, not an early end */
	ck_assert_int_eq(scim_filter_parse_sub(&f, scim_restype_user(), emails,
					       text, sizeof(text) - 1, &err),
			 -1);
	ck_assert_ptr_null(f);
	ck_assert_str_eq(err.scim_type, SCIM_ERR_INVALID_FILTER);
	/* only len bytes are read */
	ck_assert_int_eq(scim_filter_parse_sub(&f, scim_restype_user(), emails,
					       "type eq \"work\"]garbage", 14,
					       &err),
			 0);
	scim_filter_free(f);
}
END_TEST

/* ---- Value filters on elements -------------------------------------- */

START_TEST(test_parse_sub)
{
	const scim_restype *u = scim_restype_user(), *g = scim_restype_group();
	const scim_attr *emails = scim_schema_find(u, NULL, "emails", NULL);
	const scim_attr *members = scim_schema_find(g, NULL, "members", NULL);
	static const char t1[] = "type eq \"work\" and value co \"@x\"";
	static const char t2[] = "value eq \"id\"";
	json_t *e1 =
		json_pack("{s:s, s:s}", "type", "work", "value", "a@x.org");
	json_t *e2 =
		json_pack("{s:s, s:s}", "type", "home", "value", "a@x.org");
	json_t *e3 = json_pack("{s:s, s:s}", "TYPE", "WORK", "Value", "A@X");
	json_t *m1 = json_pack("{s:s}", "value", "id");
	json_t *m2 = json_pack("{s:s}", "value", "other");
	json_t *str = json_string("id");
	scim_filter *f = NULL;
	scim_error err;

	ck_assert_ptr_nonnull(emails);
	ck_assert_ptr_nonnull(members);
	ck_assert_int_eq(
		scim_filter_parse_sub(&f, u, emails, t1, sizeof(t1) - 1, &err),
		0);
	ck_assert(scim_filter_match(f, e1));
	ck_assert(!scim_filter_match(f, e2));
	ck_assert(scim_filter_match(f, e3)); /* keys and values fold */
	ck_assert(!scim_filter_match(f, str));
	ck_assert(!scim_filter_match(f, NULL));
	scim_filter_free(f);

	ck_assert_int_eq(
		scim_filter_parse_sub(&f, g, members, t2, sizeof(t2) - 1, &err),
		0);
	ck_assert(scim_filter_match(f, m1));
	ck_assert(!scim_filter_match(f, m2));
	scim_filter_free(f);

	/* nested brackets and URNs are not allowed in a value filter */
	ck_assert_int_eq(
		scim_filter_parse_sub(&f, u, emails, "value[x pr]", 11, &err),
		-1);
	ck_assert_str_eq(err.scim_type, SCIM_ERR_INVALID_FILTER);
	ck_assert_int_eq(scim_filter_parse_sub(&f, u, emails, "", 0, &err), -1);
	ck_assert_int_eq(scim_filter_parse_sub(&f, u, emails, "emails[type pr]",
					       15, &err),
			 -1);
	ck_assert_str_eq(err.detail,
			 "nested value filter not allowed at position 6");

	json_decref(e1);
	json_decref(e2);
	json_decref(e3);
	json_decref(m1);
	json_decref(m2);
	json_decref(str);
}
END_TEST

START_TEST(test_noncanonical_keys)
{
	json_t *res =
		json_pack("{s:s, s:[{s:s, s:s}], s:{s:s}}", "USERNAME", "Alice",
			  "Emails", "TYPE", "work", "VALUE", "a@x",
			  "URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:"
			  "ENTERPRISE:2.0:USER",
			  "DEPARTMENT", "R&D");
	const scim_restype *u = scim_restype_user();

	ck_assert(match_text(u, "userName eq \"alice\"", res));
	ck_assert(match_text(u, "emails[type eq \"work\" and value eq \"a@x\"]",
			     res));
	ck_assert(match_text(u, "emails.value sw \"A@\"", res));
	ck_assert(match_text(u, URN_E ":department eq \"r&d\"", res));
	ck_assert(match_text(u, "department eq \"R&D\"", res));
	ck_assert(!match_text(u, "department eq \"R\"", res));
	json_decref(res);
}
END_TEST

START_TEST(test_odd_json)
{
	/* values of unexpected JSON types must not match nor crash */
	json_t *res = json_loads(
		"{\"userName\": 5, \"active\": \"yes\", \"emails\": "
		"[[\"a@x\"], \"b@x\", null, {}], \"name\": \"x\", "
		"\"meta\": {\"lastModified\": []}, \"title\": [1, true]}",
		0, NULL);
	const scim_restype *u = scim_restype_user();

	ck_assert_ptr_nonnull(res);
	ck_assert(!match_text(u, "userName eq \"5\"", res));
	ck_assert(!match_text(u, "userName eq 5", res));
	ck_assert(!match_text(u, "active eq true", res));
	ck_assert(match_text(u, "emails eq \"b@x\"", res));
	ck_assert(!match_text(u, "emails eq \"a@x\"", res));
	ck_assert(match_text(u, "emails pr", res));
	ck_assert(!match_text(u, "emails[type pr]", res));
	ck_assert(!match_text(u, "name.givenName pr", res));
	ck_assert(!match_text(u, "meta.lastModified pr", res));
	ck_assert(!match_text(
		u, "meta.lastModified gt \"2000-01-01T00:00:00Z\"", res));
	ck_assert(!match_text(u, "title eq \"1\"", res));
	json_decref(res);

	res = json_string("not an object");
	ck_assert(!match_text(u, "userName pr", res));
	ck_assert(match_text(u, "not (userName pr)", res));
	json_decref(res);
}
END_TEST

/* ---- Visitor -------------------------------------------------------- */

struct vrec {
	char buf[2048];
};

static void vcb(const scim_filter_cmp *c, void *payload)
{
	struct vrec *r = payload;
	char *val = c->value ? json_dumps(c->value, JSON_ENCODE_ANY) : NULL;
	size_t n = strlen(r->buf);

	snprintf(r->buf + n, sizeof(r->buf) - n, "%s|%s|%s|%d|%s|%d|%d\n",
		 c->urn ? c->urn : "-", c->attr ? c->attr : "-",
		 c->sub ? c->sub : "-", (int)c->op, val ? val : "-", c->negated,
		 c->in_value_filter);
	free(val);
}

START_TEST(test_visitor)
{
	scim_filter *f = must_parse(
		scim_restype_user(),
		"USERNAME eq \"a\" and not (EMAILS[Type eq \"work\" and not "
		"(value co \"@x\")] or " URN_E ":manager.value pr) or "
		"meta.lastModified gt \"2011-05-13T04:42:34Z\" or foo.bar eq 1"
		" or urn:x:y:baz lt 2.5 or active eq false");
	struct vrec r;
	static const char want[] = SCIM_URN_USER
		"|userName|-|0|\"a\"|0|0\n" SCIM_URN_USER
		"|emails|type|0|\"work\"|1|1\n" SCIM_URN_USER
		"|emails|value|2|\"@x\"|0|1\n" URN_E "|manager|value|5|-|1|0\n"
		"urn:scimsync:common|meta|lastModified|6|"
		"\"2011-05-13T04:42:34Z\"|0|0\n"
		"-|foo|bar|0|1|0|0\n"
		"urn:x:y|baz|-|8|2.5|0|0\n" SCIM_URN_USER
		"|active|-|0|false|0|0\n";

	memset(&r, 0, sizeof(r));
	scim_filter_visit(f, vcb, &r);
	ck_assert_str_eq(r.buf, want);
	scim_filter_free(f);

	/* a value filter parsed on its own reports its parent */
	{
		const scim_attr *members = scim_schema_find(
			scim_restype_group(), NULL, "members", NULL);

		ck_assert_int_eq(scim_filter_parse_sub(&f, scim_restype_group(),
						       members, "VALUE eq null",
						       13, NULL),
				 0);
		memset(&r, 0, sizeof(r));
		scim_filter_visit(f, vcb, &r);
		ck_assert_str_eq(r.buf,
				 SCIM_URN_GROUP "|members|value|0|null|0|1\n");
		scim_filter_free(f);
	}
	/* NULL arguments are harmless */
	scim_filter_visit(NULL, vcb, &r);
}
END_TEST

/* ---- Index hint ----------------------------------------------------- */

START_TEST(test_index_hint)
{
	static const struct {
		int group;
		const char *text, *attr, *value; /* attr NULL: no hint */
	} t[] = {
		{0, "userName eq \"bjensen\"", "userName", "bjensen"},
		{0, "USERNAME EQ \"bjensen\"", "userName", "bjensen"},
		{0, "id eq \"x\"", "id", "x"},
		{0, "externalId eq \"e1\"", "externalId", "e1"},
		{0, SCIM_URN_USER ":userName eq \"u\"", "userName", "u"},
		{0, "title pr and userName eq \"u\"", "userName", "u"},
		{0, "title pr and (active eq true and (externalId eq \"e\"))",
		 "externalId", "e"},
		{0, "userName eq \"a\" and id eq \"b\"", "userName", "a"},
		{0, "displayName eq \"x\"", NULL, NULL},
		{0, "userName eq \"a\" or id eq \"b\"", NULL, NULL},
		{0, "not (userName eq \"a\")", NULL, NULL},
		{0, "title pr and not (userName eq \"a\")", NULL, NULL},
		{0, "title pr and (userName eq \"a\" or title pr)", NULL, NULL},
		{0, "userName ne \"a\"", NULL, NULL},
		{0, "userName co \"a\"", NULL, NULL},
		{0, "userName eq 5", NULL, NULL},
		{0, "userName eq null", NULL, NULL},
		{0, "emails[value eq \"a\"]", NULL, NULL},
		{0, "emails.value eq \"a\"", NULL, NULL},
		{0, "name.givenName eq \"a\"", NULL, NULL},
		{0, URN_E ":employeeNumber eq \"1\"", NULL, NULL},
		{1, "displayName eq \"Tour Guides\"", "displayName",
		 "Tour Guides"},
		{1, "id eq \"g\" and members[value eq \"u\"]", "id", "g"},
		{1, "members[value eq \"u\"] and externalId eq \"e\"",
		 "externalId", "e"},
		{1, "userName eq \"u\"", NULL, NULL},
		{1, "members[value eq \"u\"]", NULL, NULL},
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		scim_filter *f = must_parse(t[i].group ? scim_restype_group()
						       : scim_restype_user(),
					    t[i].text);
		const char *a = NULL, *v = NULL;
		bool got = scim_filter_index_hint(f, &a, &v);

		ck_assert_msg(got == (t[i].attr != NULL), "'%s': hint %d",
			      t[i].text, got);
		if (got) {
			ck_assert_str_eq(a, t[i].attr);
			ck_assert_str_eq(v, t[i].value);
		}
		scim_filter_free(f);
	}
	ck_assert(!scim_filter_index_hint(NULL, NULL, NULL));
}
END_TEST

/* ---- Limits and garbage --------------------------------------------- */

static char *repeat(const char *prefix, const char *unit, size_t n,
		    const char *mid, const char *unit2, size_t n2)
{
	size_t len = strlen(prefix) + strlen(unit) * n + strlen(mid) +
		     strlen(unit2) * n2 + 1,
	       i;
	char *s = malloc(len), *p = s;

	ck_assert_ptr_nonnull(s);
	p += sprintf(p, "%s", prefix);
	for (i = 0; i < n; i++)
		p += sprintf(p, "%s", unit);
	p += sprintf(p, "%s", mid);
	for (i = 0; i < n2; i++)
		p += sprintf(p, "%s", unit2);
	return s;
}

START_TEST(test_limits)
{
	const scim_restype *u = scim_restype_user();
	json_t *res = load_json("user.json");
	scim_error err;
	scim_filter *f;
	char *s, *t;

	/* length */
	s = repeat("userName eq \"", "x", SCIM_FILTER_MAX_LEN - 14, "\"", "",
		   0);
	ck_assert_uint_eq(strlen(s), SCIM_FILTER_MAX_LEN - 0);
	f = must_parse(u, s);
	ck_assert(!scim_filter_match(f, res));
	scim_filter_free(f);
	free(s);
	s = repeat("userName eq \"", "x", SCIM_FILTER_MAX_LEN - 13, "\"", "",
		   0);
	must_fail(u, s, &err);
	ck_assert_ptr_nonnull(strstr(err.detail, "longer than"));
	free(s);

	/* parentheses: MAX_DEPTH levels parse, one more doesn't */
	s = repeat("", "(", SCIM_FILTER_MAX_DEPTH, "title pr", ")",
		   SCIM_FILTER_MAX_DEPTH);
	f = must_parse(u, s);
	ck_assert(scim_filter_match(f, res));
	scim_filter_free(f);
	free(s);
	s = repeat("", "(", SCIM_FILTER_MAX_DEPTH + 1, "title pr", ")",
		   SCIM_FILTER_MAX_DEPTH + 1);
	must_fail(u, s, &err);
	ck_assert_ptr_nonnull(strstr(err.detail, "nested too deeply"));
	free(s);

	/* not ( ... ) counts the same; an even number cancels out */
	s = repeat("", "not (", SCIM_FILTER_MAX_DEPTH, "title pr", ")",
		   SCIM_FILTER_MAX_DEPTH);
	f = must_parse(u, s);
	ck_assert(scim_filter_match(f, res));
	scim_filter_free(f);
	free(s);
	s = repeat("", "not (", SCIM_FILTER_MAX_DEPTH + 1, "title pr", ")",
		   SCIM_FILTER_MAX_DEPTH + 1);
	must_fail(u, s, &err);
	free(s);

	/* brackets count too */
	s = repeat("", "(", SCIM_FILTER_MAX_DEPTH - 1, "emails[type pr]", ")",
		   SCIM_FILTER_MAX_DEPTH - 1);
	f = must_parse(u, s);
	ck_assert(scim_filter_match(f, res));
	scim_filter_free(f);
	free(s);
	s = repeat("", "(", SCIM_FILTER_MAX_DEPTH, "emails[type pr]", ")",
		   SCIM_FILTER_MAX_DEPTH);
	must_fail(u, s, &err);
	free(s);
	s = repeat("emails[", "(", SCIM_FILTER_MAX_DEPTH, "type pr", ")",
		   SCIM_FILTER_MAX_DEPTH);
	t = malloc(strlen(s) + 2);
	ck_assert_ptr_nonnull(t);
	sprintf(t, "%s]", s);
	must_fail(u, t, &err);
	ck_assert_ptr_nonnull(strstr(err.detail, "nested too deeply"));
	free(t);
	free(s);

	/* 2000 opening parentheses: rejected early, no deep recursion */
	s = repeat("", "(", 2000, "title pr", ")", 2000);
	must_fail(u, s, &err);
	free(s);
	s = repeat("", "not(", 1000, "title pr", ")", 0);
	must_fail(u, s, &err);
	free(s);

	/* long chains are built flat: 400 terms fit in 4096 bytes */
	s = repeat("id pr", " and id pr", 400, "", "", 0);
	ck_assert_uint_le(strlen(s), SCIM_FILTER_MAX_LEN);
	f = must_parse(u, s);
	ck_assert(scim_filter_match(f, res));
	scim_filter_free(f);
	free(s);
	s = repeat("title eq \"x\"", " or title eq \"x\"", 230, " or title pr",
		   "", 0);
	f = must_parse(u, s);
	ck_assert(scim_filter_match(f, res));
	scim_filter_free(f);
	free(s);
	s = repeat("a pr", " and a pr or a pr", 230, "", "", 0);
	f = must_parse(u, s);
	ck_assert(!scim_filter_match(f, res));
	scim_filter_free(f);
	free(s);

	/* 5000 terms: too long, and must not crash on the way */
	s = repeat("title pr", " and title pr", 5000, "", "", 0);
	must_fail(u, s, &err);
	free(s);
	s = repeat("x pr", " and x pr", 5000, "", "", 0);
	ck_assert_int_eq(scim_filter_parse_sub(&f, u, NULL, s, strlen(s), &err),
			 -1);
	free(s);

	json_decref(res);
}
END_TEST

/* Deterministic xorshift so failures reproduce. */
static uint32_t rnd_state = 2463534242u;

static uint32_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 17;
	rnd_state ^= rnd_state << 5;
	return rnd_state;
}

static void try_parse(const scim_restype *rt, const char *s, size_t len,
		      const json_t *res)
{
	scim_filter *f = NULL;
	scim_error err;
	char *z = malloc(len + 1);

	ck_assert_ptr_nonnull(z);
	memcpy(z, s, len);
	z[len] = '\0';
	scim_error_clear(&err);
	if (scim_filter_parse(&f, rt, z, &err) == 0) {
		ck_assert_ptr_nonnull(f);
		(void)scim_filter_match(f, res);
		(void)scim_filter_index_hint(f, NULL, NULL);
		scim_filter_free(f);
	} else {
		ck_assert_ptr_null(f);
		ck_assert_int_eq(err.status, 400);
		ck_assert_str_eq(err.scim_type, SCIM_ERR_INVALID_FILTER);
	}
	free(z);
}

START_TEST(test_garbage)
{
	static const char alphabet[] = "()[]\" \t.:$\\abcdeilnoprstuqvwxyz"
				       "AEON0123456789-_eqnecoswewprgtgeltle";
	const scim_restype *u = scim_restype_user();
	json_t *res = load_json("user.json");
	struct lines l;
	char buf[256];
	size_t i, j, n, parsed = 0;

	/* random bytes */
	for (i = 0; i < 20000; i++) {
		n = rnd() % 64;
		for (j = 0; j < n; j++)
			buf[j] = (char)(1 + rnd() % 255);
		try_parse(u, buf, n, res);
	}
	/* random tokens from the filter alphabet */
	for (i = 0; i < 20000; i++) {
		n = rnd() % 64;
		for (j = 0; j < n; j++)
			buf[j] = alphabet[rnd() % (sizeof(alphabet) - 1)];
		try_parse(u, buf, n, res);
	}
	/* mutations of valid filters: flip, drop and duplicate bytes */
	lines_load(&l, "cases.txt");
	for (i = 0; i < l.n * 40; i++) {
		const char *src = strchr(l.v[i % l.n], '\t') + 1;
		size_t len = strlen(src), k;

		if (len >= sizeof(buf) / 2)
			continue;
		memcpy(buf, src, len);
		for (k = 0; k < 1 + rnd() % 3; k++) {
			size_t at = len ? rnd() % len : 0;

			switch (rnd() % 3) {
			case 0:
				buf[at] = alphabet[rnd() %
						   (sizeof(alphabet) - 1)];
				break;
			case 1:
				if (len > 0) {
					memmove(buf + at, buf + at + 1,
						len - at - 1);
					len--;
				}
				break;
			default:
				if (len + 1 < sizeof(buf)) {
					memmove(buf + at + 1, buf + at,
						len - at);
					len++;
				}
				break;
			}
		}
		try_parse(u, buf, len, res);
		{
			scim_filter *f = NULL;

			memcpy(buf + len, "", 1);
			if (scim_filter_parse(&f, u, buf, NULL) == 0)
				parsed++;
			scim_filter_free(f);
		}
	}
	lines_free(&l);
	/* the mutations are not all rejected (they do exercise matching) */
	ck_assert_uint_gt(parsed, 1000);
	json_decref(res);
}
END_TEST

START_TEST(test_null_args)
{
	scim_filter *f = (scim_filter *)&f;
	scim_error err;

	ck_assert_int_eq(scim_filter_parse(&f, scim_restype_user(), NULL, &err),
			 -1);
	ck_assert_ptr_null(f);
	ck_assert_str_eq(err.scim_type, SCIM_ERR_INVALID_FILTER);
	/* no error struct: still fails cleanly */
	ck_assert_int_eq(scim_filter_parse(&f, scim_restype_user(), "x", NULL),
			 -1);
	ck_assert(!scim_filter_match(NULL, NULL));
	scim_filter_free(NULL);
	/* no resource type: every attribute is unknown, syntax still checked */
	f = must_parse(NULL, "userName eq \"x\" and emails[type pr]");
	ck_assert(!scim_filter_match(f, json_null()));
	scim_filter_free(f);
	must_fail(NULL, "userName eq", &err);
}
END_TEST

/* ---- Paths ---------------------------------------------------------- */

static const char *schema_label(const scim_schema *s)
{
	if (s == NULL)
		return "-";
	if (s == scim_schema_common())
		return "common";
	return s->id;
}

START_TEST(test_path_cases)
{
	struct lines l;
	size_t i, failures = 0;

	lines_load(&l, "paths.txt");
	ck_assert_uint_ge(l.n, 30);
	for (i = 0; i < l.n; i++) {
		char *fld[7];
		scim_path *p = NULL;
		scim_error err;
		const scim_restype *rt;
		char got[512];

		ck_assert_msg(split_tabs(l.v[i], fld, 7) == 7,
			      "paths.txt:%d: want 7 fields", l.lineno[i]);
		rt = fld[0][0] == 'G' ? scim_restype_group()
				      : scim_restype_user();
		scim_error_clear(&err);
		if (scim_path_parse(&p, rt, fld[1], &err) != 0) {
			fprintf(stderr, "paths.txt:%d: '%s': %s\n", l.lineno[i],
				fld[1], err.detail);
			failures++;
			continue;
		}
		snprintf(got, sizeof(got), "%s\t%s\t%s\t%d\t%d",
			 schema_label(p->schema),
			 p->attr_name ? p->attr_name : "-",
			 p->sub_name ? p->sub_name : "-", p->filter != NULL,
			 p->attr != NULL);
		{
			char want[512];

			snprintf(want, sizeof(want), "%s\t%s\t%s\t%s\t%s",
				 fld[2], fld[3], fld[4], fld[5], fld[6]);
			if (strcmp(got, want) != 0) {
				fprintf(stderr, "paths.txt:%d: '%s': got %s\n",
					l.lineno[i], fld[1], got);
				failures++;
			}
		}
		/* sub is set exactly when the sub-attribute is known */
		if (p->attr != NULL && p->sub_name != NULL &&
		    strcmp(p->sub_name, "nosuch") != 0 && p->sub == NULL) {
			fprintf(stderr, "paths.txt:%d: sub not resolved\n",
				l.lineno[i]);
			failures++;
		}
		scim_path_free(p);
	}
	lines_free(&l);
	ck_assert_msg(failures == 0, "%zu paths.txt cases failed", failures);
}
END_TEST

START_TEST(test_path_invalid)
{
	struct lines l;
	size_t i, failures = 0;

	lines_load(&l, "paths_invalid.txt");
	ck_assert_uint_ge(l.n, 20);
	for (i = 0; i < l.n; i++) {
		char *fld[2];
		scim_path *p = NULL;
		scim_error err;
		int rc;

		ck_assert(split_tabs(l.v[i], fld, 2) == 2);
		scim_error_clear(&err);
		rc = scim_path_parse(&p, scim_restype_user(), fld[1], &err);
		if (rc != -1 || p != NULL || err.status != 400 ||
		    err.scim_type == NULL ||
		    strcmp(err.scim_type, fld[0]) != 0) {
			fprintf(stderr,
				"paths_invalid.txt:%d: '%s' rc=%d %s %s\n",
				l.lineno[i], fld[1], rc,
				err.scim_type ? err.scim_type : "-",
				err.detail);
			failures++;
		}
		scim_path_free(p);
	}
	lines_free(&l);
	ck_assert_msg(failures == 0, "%zu paths_invalid.txt cases failed",
		      failures);
}
END_TEST

START_TEST(test_path_details)
{
	scim_path *p = NULL;
	scim_error err;

	/* positions inside the value filter count from the path's start */
	ck_assert_int_eq(scim_path_parse(&p, scim_restype_user(),
					 "emails[type xx \"work\"].value",
					 &err),
			 -1);
	ck_assert_str_eq(err.detail,
			 "expected comparison operator at position 12");
	ck_assert_int_eq(
		scim_path_parse(&p, scim_restype_user(), "name.", &err), -1);
	ck_assert_str_eq(err.detail,
			 "expected sub-attribute name at position 5");
	ck_assert_int_eq(scim_path_parse(&p, scim_restype_user(), "", &err),
			 -1);
	ck_assert_str_eq(err.scim_type, SCIM_ERR_INVALID_PATH);
	ck_assert_int_eq(scim_path_parse(&p, scim_restype_user(), NULL, &err),
			 -1);
	ck_assert_int_eq(
		scim_path_parse(&p, scim_restype_user(), "userName\xff", &err),
		-1);
	ck_assert_str_eq(err.scim_type, SCIM_ERR_INVALID_PATH);
	/* parse_n reads only len bytes */
	ck_assert_int_eq(scim_path_parse_n(&p, scim_restype_user(),
					   "name.givenName,emails", 14, &err),
			 0);
	ck_assert_str_eq(p->attr_name, "name");
	ck_assert_str_eq(p->sub_name, "givenName");
	scim_path_free(p);
	scim_path_free(NULL);
}
END_TEST

START_TEST(test_path_filter_and_container)
{
	const scim_restype *u = scim_restype_user();
	json_t *res = load_json("user.json"), *c, *emails;
	scim_path *p = NULL;
	scim_error err;
	size_t i, n, hits = 0;

	/* the value filter selects elements */
	ck_assert_int_eq(
		scim_path_parse(&p, u, "emails[type eq \"work\"].value", &err),
		0);
	ck_assert_ptr_null(scim_path_container_key(p));
	c = scim_path_container(p, res, false);
	ck_assert_ptr_eq(c, res);
	emails = json_object_get(c, p->attr_name);
	for (i = 0; i < json_array_size(emails); i++) {
		json_t *el = json_array_get(emails, i);

		if (scim_filter_match(p->filter, el)) {
			hits++;
			ck_assert_str_eq(json_string_value(json_object_get(
						 el, p->sub_name)),
					 "bjensen@example.com");
		}
	}
	ck_assert_uint_eq(hits, 1);
	scim_path_free(p);

	/* extension attribute: container is the extension object */
	ck_assert_int_eq(scim_path_parse(&p, u, URN_E ":manager.value", &err),
			 0);
	ck_assert_str_eq(scim_path_container_key(p), URN_E);
	c = scim_path_container(p, res, false);
	ck_assert_ptr_eq(c, json_object_get(res, URN_E));
	ck_assert_ptr_nonnull(json_object_get(c, "manager"));
	scim_path_free(p);

	/* unqualified extension attribute resolves to the extension too */
	ck_assert_int_eq(scim_path_parse(&p, u, "costCenter", &err), 0);
	ck_assert_str_eq(scim_path_container_key(p), URN_E);
	scim_path_free(p);

	/* bare extension URN: the whole extension object */
	ck_assert_int_eq(scim_path_parse(&p, u, URN_E, &err), 0);
	ck_assert_ptr_null(p->attr);
	ck_assert_ptr_null(p->attr_name);
	ck_assert_ptr_null(p->filter);
	ck_assert_ptr_eq(scim_path_container(p, res, false),
			 json_object_get(res, URN_E));
	json_object_del(res, URN_E);
	ck_assert_ptr_null(scim_path_container(p, res, false));
	c = scim_path_container(p, res, true);
	ck_assert(json_is_object(c));
	ck_assert_ptr_eq(c, json_object_get(res, URN_E));
	ck_assert_ptr_eq(scim_path_container(p, res, true), c);
	scim_path_free(p);

	/* extension key matched case-insensitively */
	json_object_del(res, URN_E);
	json_object_set_new(res,
			    "URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:"
			    "ENTERPRISE:2.0:USER",
			    json_pack("{s:s}", "department", "D"));
	ck_assert_int_eq(scim_path_parse(&p, u, "department", &err), 0);
	n = json_object_size(res);
	c = scim_path_container(p, res, true);
	ck_assert_str_eq(json_string_value(json_object_get(c, "department")),
			 "D");
	ck_assert_uint_eq(json_object_size(res), n); /* nothing added */
	/* an extension key that isn't an object is not a container */
	json_object_set_new(res,
			    "URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:"
			    "ENTERPRISE:2.0:USER",
			    json_string("x"));
	ck_assert_ptr_null(scim_path_container(p, res, true));
	ck_assert_ptr_null(scim_path_container(p, NULL, true));
	scim_path_free(p);

	/* common attribute: the resource itself */
	ck_assert_int_eq(scim_path_parse(&p, u, "meta.lastModified", &err), 0);
	ck_assert_ptr_eq(p->schema, scim_schema_common());
	ck_assert_ptr_null(scim_path_container_key(p));
	ck_assert_ptr_eq(scim_path_container(p, res, true), res);
	ck_assert_int_eq(p->sub->type, SCIM_T_DATETIME);
	scim_path_free(p);

	/* Group members filter matches one member */
	{
		json_t *g = load_json("group.json");
		json_t *m = json_object_get(g, "members");

		ck_assert_int_eq(scim_path_parse(&p, scim_restype_group(),
						 "members[value eq "
						 "\"2819c223-7f76-453a-919d-"
						 "413861904646\"]",
						 &err),
				 0);
		ck_assert(scim_filter_match(p->filter, json_array_get(m, 0)));
		ck_assert(!scim_filter_match(p->filter, json_array_get(m, 1)));
		scim_path_free(p);
		json_decref(g);
	}
	json_decref(res);
}
END_TEST

static Suite *filter_suite(void)
{
	Suite *s = suite_create("filter");
	TCase *tc = tcase_create("filter");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_user_cases);
	tcase_add_test(tc, test_group_cases);
	tcase_add_test(tc, test_invalid_cases);
	tcase_add_test(tc, test_error_details);
	tcase_add_test(tc, test_invalid_utf8);
	tcase_add_test(tc, test_parse_sub_nul);
	tcase_add_test(tc, test_parse_sub);
	tcase_add_test(tc, test_noncanonical_keys);
	tcase_add_test(tc, test_odd_json);
	tcase_add_test(tc, test_visitor);
	tcase_add_test(tc, test_index_hint);
	tcase_add_test(tc, test_limits);
	tcase_add_test(tc, test_garbage);
	tcase_add_test(tc, test_null_args);
	suite_add_tcase(s, tc);

	tc = tcase_create("path");
	tcase_add_test(tc, test_path_cases);
	tcase_add_test(tc, test_path_invalid);
	tcase_add_test(tc, test_path_details);
	tcase_add_test(tc, test_path_filter_and_container);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(filter_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
