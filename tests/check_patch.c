/* check_patch.c - SCIM PATCH (engine/patch.c).
 *
 * Data-driven cases live in tests/data/patch/<case>/:
 *   before.json  the stored resource (a Group if its schemas say so)
 *   patch.json   the PatchOp body
 *   after.json   the expected resource, or
 *   error.txt    the expected error: "<status> <scimType>"
 *   delta.json   optional: pass a member delta (groups) and expect
 *                {"remove_all": b, "add": [...], "remove": [...]}
 * Case names start with the IdP or RFC section they come from. The C
 * tests below cover the member delta and hostile input. */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "patch.h"

#ifndef TEST_DATADIR
#define TEST_DATADIR "tests/data"
#endif
#define PATCH_DIR TEST_DATADIR "/patch"

#define MAX_CASES 256

static char *case_names[MAX_CASES];
static int n_cases;

/* ---- Helpers ---------------------------------------------------------- */

static json_t *load_json(const char *dir, const char *file, bool required)
{
	char path[1024];
	json_error_t jerr;
	json_t *j;

	snprintf(path, sizeof(path), "%s/%s/%s", PATCH_DIR, dir, file);
	j = json_load_file(path, JSON_DECODE_ANY, &jerr);
	if (j == NULL && required)
		ck_abort_msg("%s: %s (line %d)", path, jerr.text, jerr.line);
	return j;
}

static bool load_text(const char *dir, const char *file, char *buf, size_t size)
{
	char path[1024];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s/%s", PATCH_DIR, dir, file);
	f = fopen(path, "r");
	if (f == NULL)
		return false;
	n = fread(buf, 1, size - 1, f);
	fclose(f);
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return true;
}

static const scim_restype *restype_of(const json_t *res)
{
	json_t *schemas = json_object_get(res, "schemas");
	size_t i;

	for (i = 0; i < json_array_size(schemas); i++) {
		const char *s = json_string_value(json_array_get(schemas, i));

		if (s != NULL && strcmp(s, SCIM_URN_GROUP) == 0)
			return scim_restype_group();
	}
	return scim_restype_user();
}

static json_t *delta_json(const scim_member_delta *d)
{
	return json_pack("{sbsOsO}", "remove_all", d->remove_all, "add", d->add,
			 "remove", d->remove);
}

static char *dump(const json_t *j)
{
	return json_dumps(j, JSON_INDENT(1) | JSON_SORT_KEYS);
}

/* Apply body (JSON text) to res with rt; returns rc. */
static int apply_text(const scim_restype *rt, json_t *res, const char *body,
		      scim_member_delta *d, scim_error *err)
{
	json_error_t jerr;
	json_t *b = json_loads(body, JSON_DECODE_ANY, &jerr);
	int rc;

	ck_assert_msg(b != NULL, "bad test body: %s: %s", body, jerr.text);
	scim_error_clear(err);
	rc = scim_patch_apply(rt, res, b, d, err);
	json_decref(b);
	return rc;
}

static const char *PATCH_HEAD =
	"{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],"
	"\"Operations\":";

/* Apply a PatchOp body whose Operations array is the JSON text ops. */
static int patch_ops(const scim_restype *rt, json_t *res, const char *ops,
		     scim_member_delta *d, scim_error *err)
{
	char buf[8192];

	snprintf(buf, sizeof(buf), "%s%s}", PATCH_HEAD, ops);
	return apply_text(rt, res, buf, d, err);
}

static json_t *group(void)
{
	return json_pack("{s[s]sssss[{ss}]}", "schemas", SCIM_URN_GROUP, "id",
			 "g1", "displayName", "Tour Guides", "members", "value",
			 "existing");
}

static json_t *user(void)
{
	return json_pack("{s[s]ssss}", "schemas", SCIM_URN_USER, "id", "u1",
			 "userName", "bjensen");
}

/* ---- Data-driven cases ------------------------------------------------ */

START_TEST(test_case)
{
	const char *name = case_names[_i];
	json_t *before = load_json(name, "before.json", true);
	json_t *patch = load_json(name, "patch.json", true);
	json_t *after = load_json(name, "after.json", false);
	json_t *want_delta = load_json(name, "delta.json", false);
	const scim_restype *rt = restype_of(before);
	json_t *res = json_deep_copy(before);
	scim_member_delta d;
	scim_error err;
	char want_err[128];
	bool expect_error =
		load_text(name, "error.txt", want_err, sizeof(want_err));
	int rc;

	ck_assert_msg(after != NULL || expect_error,
		      "%s: needs after.json or error.txt", name);
	scim_error_clear(&err);
	scim_member_delta_init(&d);
	rc = scim_patch_apply(rt, res, patch, want_delta ? &d : NULL, &err);
	if (expect_error) {
		char got[128];

		snprintf(got, sizeof(got), "%d %s", err.status,
			 err.scim_type ? err.scim_type : "-");
		ck_assert_msg(rc == -1, "%s: expected error %s, got success",
			      name, want_err);
		ck_assert_msg(strcmp(got, want_err) == 0,
			      "%s: expected %s, got %s (%s)", name, want_err,
			      got, err.detail);
		ck_assert_msg(err.detail[0] != '\0', "%s: empty detail", name);
	} else {
		ck_assert_msg(rc == 0, "%s: unexpected error %d %s: %s", name,
			      err.status, err.scim_type ? err.scim_type : "-",
			      err.detail);
		if (!json_equal(res, after)) {
			char *g = dump(res), *w = dump(after);

			ck_abort_msg("%s: result differs\n got: %s\nwant: %s",
				     name, g, w);
		}
	}
	if (want_delta != NULL && !expect_error) {
		json_t *got = delta_json(&d);

		if (!json_equal(got, want_delta)) {
			char *g = dump(got), *w = dump(want_delta);

			ck_abort_msg("%s: delta differs\n got: %s\nwant: %s",
				     name, g, w);
		}
		json_decref(got);
	}
	scim_member_delta_clear(&d);
	json_decref(before);
	json_decref(patch);
	json_decref(after);
	json_decref(want_delta);
	json_decref(res);
}
END_TEST

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void find_cases(void)
{
	DIR *dir = opendir(PATCH_DIR);
	struct dirent *de;

	if (dir == NULL)
		return;
	while ((de = readdir(dir)) != NULL && n_cases < MAX_CASES) {
		char path[1024];
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		/* a case is a directory with a patch.json (not README.md) */
		snprintf(path, sizeof(path), "%s/%s/patch.json", PATCH_DIR,
			 de->d_name);
		f = fopen(path, "r");
		if (f == NULL)
			continue;
		fclose(f);
		case_names[n_cases++] = strdup(de->d_name);
	}
	closedir(dir);
	qsort(case_names, (size_t)n_cases, sizeof(case_names[0]), cmp_names);
}

/* ---- Member delta ------------------------------------------------------ */

START_TEST(test_delta_add_then_remove)
{
	const char *ops;
	json_t *g = group();
	scim_member_delta d;
	scim_error err;

	scim_member_delta_init(&d);
	ops = "[{\"op\":\"add\",\"path\":\"members\",\"value\":"
	      "[{\"value\":\"a\"},{\"value\":\"b\"}]},"
	      "{\"op\":\"remove\",\"path\":\"members[value eq \\\"a\\\"]\"}]";
	ck_assert_int_eq(patch_ops(scim_restype_group(), g, ops, &d, &err), 0);
	ck_assert(!d.remove_all);
	ck_assert_int_eq(json_array_size(d.add), 1);
	ck_assert_str_eq(json_string_value(json_object_get(
				 json_array_get(d.add, 0), "value")),
			 "b");
	ck_assert_int_eq(json_array_size(d.remove), 1);
	ck_assert_str_eq(json_string_value(json_array_get(d.remove, 0)), "a");
	/* res is not touched: members stay as stored */
	ck_assert_int_eq(json_array_size(json_object_get(g, "members")), 1);
	scim_member_delta_clear(&d);
	json_decref(g);
}
END_TEST

START_TEST(test_delta_remove_then_add)
{
	const char *ops;
	json_t *g = group();
	scim_member_delta d;
	scim_error err;

	scim_member_delta_init(&d);
	ops = "[{\"op\":\"Remove\",\"path\":\"members\",\"value\":"
	      "[{\"value\":\"a\"}]},"
	      "{\"op\":\"Add\",\"path\":\"members\",\"value\":"
	      "[{\"value\":\"a\",\"type\":\"User\"}]}]";
	ck_assert_int_eq(patch_ops(scim_restype_group(), g, ops, &d, &err), 0);
	ck_assert_int_eq(json_array_size(d.remove), 0);
	ck_assert_int_eq(json_array_size(d.add), 1);
	ck_assert_str_eq(json_string_value(json_object_get(
				 json_array_get(d.add, 0), "type")),
			 "User");
	scim_member_delta_clear(&d);
	json_decref(g);
}
END_TEST

START_TEST(test_delta_replace_and_remove_all)
{
	const char *ops;
	json_t *g = group();
	scim_member_delta d;
	scim_error err;

	scim_member_delta_init(&d);
	ops = "[{\"op\":\"add\",\"path\":\"members\",\"value\":"
	      "[{\"value\":\"x\"}]},"
	      "{\"op\":\"remove\",\"path\":\"members\",\"value\":"
	      "[{\"value\":\"y\"}]},"
	      "{\"op\":\"replace\",\"path\":\"members\",\"value\":"
	      "[{\"value\":\"a\"},{\"value\":\"a\"},{\"value\":\"b\"}]}]";
	ck_assert_int_eq(patch_ops(scim_restype_group(), g, ops, &d, &err), 0);
	ck_assert(d.remove_all);
	ck_assert_int_eq(json_array_size(d.remove), 0);
	ck_assert_int_eq(json_array_size(d.add), 2); /* a once, b */
	/* then remove everything */
	ops = "[{\"op\":\"remove\",\"path\":\"members\"}]";
	ck_assert_int_eq(patch_ops(scim_restype_group(), g, ops, &d, &err), 0);
	ck_assert(d.remove_all);
	ck_assert_int_eq(json_array_size(d.add), 0);
	/* after remove_all, removing one id adds nothing to remove */
	ops = "[{\"op\":\"remove\",\"path\":\"members[value eq \\\"q\\\"]\"}]";
	ck_assert_int_eq(patch_ops(scim_restype_group(), g, ops, &d, &err), 0);
	ck_assert_int_eq(json_array_size(d.remove), 0);
	scim_member_delta_clear(&d);
	json_decref(g);
}
END_TEST

START_TEST(test_delta_or_filter)
{
	const char *ops;
	json_t *g = group();
	scim_member_delta d;
	scim_error err;

	scim_member_delta_init(&d);
	ops = "[{\"op\":\"remove\",\"path\":"
	      "\"members[value eq \\\"a\\\" or value eq \\\"b\\\"]\"}]";
	ck_assert_int_eq(patch_ops(scim_restype_group(), g, ops, &d, &err), 0);
	ck_assert_int_eq(json_array_size(d.remove), 2);
	/* `and` of two different ids selects nothing */
	ops = "[{\"op\":\"remove\",\"path\":"
	      "\"members[value eq \\\"c\\\" and value eq \\\"d\\\"]\"}]";
	ck_assert_int_eq(patch_ops(scim_restype_group(), g, ops, &d, &err), 0);
	ck_assert_int_eq(json_array_size(d.remove), 2);
	scim_member_delta_clear(&d);
	json_decref(g);
}
END_TEST

START_TEST(test_delta_bad_filter)
{
	static const char *const bad[] = {
		"members[value ne \\\"a\\\"]",
		"members[value co \\\"a\\\"]",
		"members[type eq \\\"User\\\"]",
		"members[not (value eq \\\"a\\\")]",
		"members[value pr]",
	};
	json_t *g = group();
	scim_member_delta d;
	scim_error err;
	char ops[512];
	size_t i;

	scim_member_delta_init(&d);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(ops, sizeof(ops),
			 "[{\"op\":\"remove\",\"path\":\"%s\"}]", bad[i]);
		ck_assert_int_eq(
			patch_ops(scim_restype_group(), g, ops, &d, &err), -1);
		ck_assert_int_eq(err.status, 400);
		ck_assert_msg(strcmp(err.scim_type, SCIM_ERR_INVALID_FILTER) ==
				      0,
			      "%s: %s", bad[i], err.scim_type);
	}
	ck_assert_int_eq(json_array_size(d.remove), 0);
	scim_member_delta_clear(&d);
	json_decref(g);
}
END_TEST

START_TEST(test_delta_bad_member)
{
	static const char *const bad[] = {
		"[{\"display\":\"x\"}]",
		"[{\"value\":7}]",
		"[\"id\"]",
		"[{\"value\":\"\"}]",
		"42",
		"[null]",
	};
	json_t *g = group();
	scim_member_delta d;
	scim_error err;
	char ops[512];
	size_t i;

	scim_member_delta_init(&d);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(ops, sizeof(ops),
			 "[{\"op\":\"add\",\"path\":\"members\",\"value\":%s}]",
			 bad[i]);
		ck_assert_int_eq(
			patch_ops(scim_restype_group(), g, ops, &d, &err), -1);
		ck_assert_str_eq(err.scim_type, SCIM_ERR_INVALID_VALUE);
	}
	ck_assert_int_eq(json_array_size(d.add), 0);
	scim_member_delta_clear(&d);
	json_decref(g);
}
END_TEST

START_TEST(test_delta_pathless_and_display)
{
	const char *ops;
	json_t *g = group();
	scim_member_delta d;
	scim_error err;
	json_t *m;

	scim_member_delta_init(&d);
	ops = "[{\"op\":\"add\",\"value\":{\"displayName\":\"New\","
	      "\"members\":[{\"value\":\"u\",\"display\":\"d\","
	      "\"type\":\"User\"}]}}]";
	ck_assert_int_eq(patch_ops(scim_restype_group(), g, ops, &d, &err), 0);
	ck_assert_str_eq(json_string_value(json_object_get(g, "displayName")),
			 "New");
	ck_assert_int_eq(json_array_size(d.add), 1);
	m = json_array_get(d.add, 0);
	ck_assert_str_eq(json_string_value(json_object_get(m, "value")), "u");
	ck_assert_ptr_null(json_object_get(m, "display"));
	ck_assert_str_eq(json_string_value(json_object_get(m, "type")), "User");
	/* member sub-attribute paths are refused */
	ops = "[{\"op\":\"replace\",\"path\":\"members.value\","
	      "\"value\":\"x\"}]";
	ck_assert_int_eq(patch_ops(scim_restype_group(), g, ops, &d, &err), -1);
	ck_assert_str_eq(err.scim_type, SCIM_ERR_INVALID_PATH);
	scim_member_delta_clear(&d);
	/* clear twice, and init after clear, are safe */
	scim_member_delta_clear(&d);
	scim_member_delta_init(&d);
	scim_member_delta_clear(&d);
	json_decref(g);
}
END_TEST

START_TEST(test_members_without_delta)
{
	const char *ops;
	/* members == NULL: a Group's members array is patched in res. */
	json_t *g = group();
	scim_error err;
	json_t *ms;

	ops = "[{\"op\":\"add\",\"path\":\"members\",\"value\":"
	      "[{\"value\":\"n\"}]}]";
	ck_assert_int_eq(patch_ops(scim_restype_group(), g, ops, NULL, &err),
			 0);
	ms = json_object_get(g, "members");
	ck_assert_int_eq(json_array_size(ms), 2);
	ops = "[{\"op\":\"remove\",\"path\":\"members\",\"value\":"
	      "[{\"value\":\"existing\"}]}]";
	ck_assert_int_eq(patch_ops(scim_restype_group(), g, ops, NULL, &err),
			 0);
	ms = json_object_get(g, "members");
	ck_assert_int_eq(json_array_size(ms), 1);
	ck_assert_str_eq(json_string_value(json_object_get(
				 json_array_get(ms, 0), "value")),
			 "n");
	json_decref(g);
}
END_TEST

/* ---- Hostile and malformed input --------------------------------------- */

START_TEST(test_bad_bodies)
{
	static const struct {
		const char *body;
		const char *type;
	} bad[] = {
		{"[]", SCIM_ERR_INVALID_SYNTAX},
		{"\"x\"", SCIM_ERR_INVALID_SYNTAX},
		{"null", SCIM_ERR_INVALID_SYNTAX},
		{"{}", SCIM_ERR_INVALID_SYNTAX},
		{"{\"schemas\":\"urn:ietf:params:scim:api:messages:2.0:"
		 "PatchOp\",\"Operations\":[]}",
		 SCIM_ERR_INVALID_SYNTAX},
		{"{\"schemas\":[\"urn:x\"],\"Operations\":[{\"op\":\"add\","
		 "\"value\":{}}]}",
		 SCIM_ERR_INVALID_SYNTAX},
		{"{\"schemas\":[7],\"Operations\":[]}",
		 SCIM_ERR_INVALID_SYNTAX},
		{"{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:"
		 "PatchOp\"],\"Operations\":{}}",
		 SCIM_ERR_INVALID_SYNTAX},
		{"{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:"
		 "PatchOp\"],\"Operations\":[]}",
		 SCIM_ERR_INVALID_SYNTAX},
		{"{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:"
		 "PatchOp\"],\"Operations\":[7]}",
		 SCIM_ERR_INVALID_SYNTAX},
		{"{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:"
		 "PatchOp\"],\"Operations\":[{}]}",
		 SCIM_ERR_INVALID_SYNTAX},
		{"{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:"
		 "PatchOp\"],\"Operations\":[{\"op\":1}]}",
		 SCIM_ERR_INVALID_SYNTAX},
		{"{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:"
		 "PatchOp\"],\"Operations\":[{\"op\":\"add\",\"path\":5,"
		 "\"value\":1}]}",
		 SCIM_ERR_INVALID_PATH},
		{"{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:"
		 "PatchOp\"],\"Operations\":[{\"op\":\"add\",\"path\":"
		 "\"emails\",\"value\":42}]}",
		 SCIM_ERR_INVALID_VALUE},
		{"{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:"
		 "PatchOp\"],\"Operations\":[{\"op\":\"add\",\"value\":42}]}",
		 SCIM_ERR_INVALID_VALUE},
		{"{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:"
		 "PatchOp\"],\"Operations\":[{\"op\":\"replace\",\"path\":"
		 "\"name\",\"value\":[1,2]}]}",
		 SCIM_ERR_INVALID_VALUE},
		{"{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:"
		 "PatchOp\"],\"Operations\":[{\"op\":\"replace\",\"path\":"
		 "\"emails\",\"value\":[[{\"value\":\"a@b\"}]]}]}",
		 SCIM_ERR_INVALID_VALUE},
	};
	scim_error err;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *u = user();

		ck_assert_msg(apply_text(scim_restype_user(), u, bad[i].body,
					 NULL, &err) == -1,
			      "accepted: %s", bad[i].body);
		ck_assert_int_eq(err.status, 400);
		ck_assert_msg(strcmp(err.scim_type, bad[i].type) == 0,
			      "%s: want %s got %s (%s)", bad[i].body,
			      bad[i].type, err.scim_type, err.detail);
		json_decref(u);
	}
}
END_TEST

START_TEST(test_too_many_ops)
{
	json_t *ops = json_array(), *body, *u = user();
	scim_error err;
	int i;

	for (i = 0; i < 1001; i++)
		json_array_append_new(ops, json_pack("{ssssss}", "op",
						     "replace", "path",
						     "nickName", "value", "x"));
	body = json_pack("{s[s]so}", "schemas", SCIM_URN_PATCH, "Operations",
			 ops);
	ck_assert_int_eq(
		scim_patch_apply(scim_restype_user(), u, body, NULL, &err), -1);
	ck_assert_str_eq(err.scim_type, SCIM_ERR_INVALID_SYNTAX);
	ck_assert_ptr_null(json_object_get(u, "nickName"));
	/* 1000 is fine */
	json_array_remove(ops, 0);
	ck_assert_int_eq(
		scim_patch_apply(scim_restype_user(), u, body, NULL, &err), 0);
	ck_assert_str_eq(json_string_value(json_object_get(u, "nickName")),
			 "x");
	json_decref(body);
	json_decref(u);
}
END_TEST

START_TEST(test_huge_values)
{
	json_t *emails = json_array(), *body, *u = user();
	scim_error err;
	int i;

	/* 9000 distinct emails, each twice: appended once each, quickly */
	for (i = 0; i < 18000; i++) {
		char v[64];

		snprintf(v, sizeof(v), "u%d@example.com", i % 9000);
		json_array_append_new(emails, json_pack("{ss}", "value", v));
	}
	body = json_pack("{s[s]s[{sssssO}]}", "schemas", SCIM_URN_PATCH,
			 "Operations", "op", "add", "path", "emails", "value",
			 emails);
	/* more than 10000 values in one operation: refused */
	ck_assert_int_eq(
		scim_patch_apply(scim_restype_user(), u, body, NULL, &err), -1);
	ck_assert_str_eq(err.scim_type, SCIM_ERR_INVALID_VALUE);
	json_decref(body);
	while (json_array_size(emails) > 10000)
		json_array_remove(emails, json_array_size(emails) - 1);
	body = json_pack("{s[s]s[{sssssO}]}", "schemas", SCIM_URN_PATCH,
			 "Operations", "op", "add", "path", "emails", "value",
			 emails);
	ck_assert_int_eq(
		scim_patch_apply(scim_restype_user(), u, body, NULL, &err), 0);
	ck_assert_int_eq(json_array_size(json_object_get(u, "emails")), 9000);
	json_decref(body);
	json_decref(emails);
	json_decref(u);
}
END_TEST

START_TEST(test_error_names_operation)
{
	const char *ops;
	json_t *u = user();
	scim_error err;

	ops = "[{\"op\":\"replace\",\"path\":\"nickName\",\"value\":\"a\"},"
	      "{\"op\":\"copy\",\"path\":\"nickName\"}]";
	ck_assert_int_eq(patch_ops(scim_restype_user(), u, ops, NULL, &err),
			 -1);
	ck_assert_str_eq(err.scim_type, SCIM_ERR_INVALID_SYNTAX);
	ck_assert_msg(strstr(err.detail, "Operations[1]") != NULL, "%s",
		      err.detail);
	ck_assert_msg(strstr(err.detail, "copy") != NULL, "%s", err.detail);
	json_decref(u);
}
END_TEST

static Suite *patch_suite(void)
{
	Suite *s = suite_create("patch");
	TCase *tc = tcase_create("cases");
	TCase *tm = tcase_create("members");
	TCase *th = tcase_create("hostile");

	tcase_add_loop_test(tc, test_case, 0, n_cases);
	suite_add_tcase(s, tc);
	tcase_add_test(tm, test_delta_add_then_remove);
	tcase_add_test(tm, test_delta_remove_then_add);
	tcase_add_test(tm, test_delta_replace_and_remove_all);
	tcase_add_test(tm, test_delta_or_filter);
	tcase_add_test(tm, test_delta_bad_filter);
	tcase_add_test(tm, test_delta_bad_member);
	tcase_add_test(tm, test_delta_pathless_and_display);
	tcase_add_test(tm, test_members_without_delta);
	suite_add_tcase(s, tm);
	tcase_add_test(th, test_bad_bodies);
	tcase_add_test(th, test_too_many_ops);
	tcase_add_test(th, test_huge_values);
	tcase_add_test(th, test_error_names_operation);
	tcase_set_timeout(th, 30);
	suite_add_tcase(s, th);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed, i;

	find_cases();
	if (n_cases < 20) {
		fprintf(stderr, "check_patch: only %d cases found in %s\n",
			n_cases, PATCH_DIR);
		return 1;
	}
	sr = srunner_create(patch_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	for (i = 0; i < n_cases; i++)
		free(case_names[i]);
	return failed == 0 ? 0 : 1;
}
