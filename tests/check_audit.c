/* check_audit.c - the audit log: JSON lines, the SQLite index and its
 * queries, body capture and expiry, retention, redaction, many writers. */
#include "config.h"

#include <check.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>

#include "audit.h"
#include "strutil.h"

#define T0 INT64_C(1795334462123) /* 2026-11-22T08:01:02.123Z */
#define DAY INT64_C(86400000)

/* One directory for the whole run (made and removed in the parent, so it
 * goes even when a test fails in its forked child). */
static char tmpdir[64];

static int rm_entry(const char *path, const struct stat *sb, int flag,
		    struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void dir_setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/check_audit.XXXXXX");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		abort();
	}
}

static void dir_teardown(void)
{
	nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void tpath(char out[static 256], const char *name)
{
	snprintf(out, 256, "%s/%s", tmpdir, name);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static audit_log *open_log(const char *file, const char *db, int retention)
{
	char p[256], d[256], err[256] = "";
	audit_opts o = {NULL, NULL, retention};
	audit_log *a = NULL;

	if (file != NULL) {
		tpath(p, file);
		o.path = p;
	}
	if (db != NULL) {
		tpath(d, db);
		o.db_path = d;
	}
	ck_assert_msg(audit_open(&a, &o, err, sizeof(err)) == 0, "open: %s",
		      err);
	ck_assert_ptr_nonnull(a);
	return a;
}

static audit_rec base_rec(int64_t t)
{
	audit_rec r;

	memset(&r, 0, sizeof(r));
	r.time_ms = t;
	r.kind = "scim";
	r.tenant = "acme";
	r.token_name = "okta";
	r.token_prefix = "0a1b2c";
	r.client = "127.0.0.1:40000";
	r.method = "GET";
	r.path = "/scim/v2/Users";
	r.resource_type = "User";
	r.status = 200;
	r.duration_ms = 1.5;
	return r;
}

static char *slurp(const char *name, size_t *len)
{
	char p[256];
	FILE *f;
	char *buf;
	long n;

	tpath(p, name);
	f = fopen(p, "rb");
	ck_assert_ptr_nonnull(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	if (len != NULL)
		*len = (size_t)n;
	return buf;
}

/* Lines in the file; each must be a JSON object. */
static size_t count_lines(const char *name)
{
	char *buf = slurp(name, NULL), *line, *save = NULL;
	size_t n = 0;

	ck_assert(buf[0] == '\0' || buf[strlen(buf) - 1] == '\n');
	for (line = strtok_r(buf, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		json_t *o = json_loads(line, 0, NULL);

		ck_assert_msg(json_is_object(o), "not a JSON line: %s", line);
		json_decref(o);
		n++;
	}
	free(buf);
	return n;
}

static json_t *query(audit_log *a, const audit_query *q)
{
	char err[256] = "";
	json_t *out = NULL;

	ck_assert_msg(audit_query_run(a, q, &out, err, sizeof(err)) == 0,
		      "query: %s", err);
	ck_assert(json_is_array(out));
	return out;
}

static json_int_t row_seq(const json_t *row)
{
	return json_integer_value(json_object_get(row, "seq"));
}

static const char *row_str(const json_t *row, const char *key)
{
	return json_string_value(json_object_get(row, key));
}

/* Every row matching q (its before_seq and limit ignored), by pages of
 * `page`, checking that seq strictly decreases across pages. */
static size_t count_paged(audit_log *a, audit_query q, int page)
{
	json_int_t last = 0;
	size_t total = 0, n, i;
	json_t *rows, *row;

	q.before_seq = 0;
	q.limit = page;
	for (;;) {
		rows = query(a, &q);
		n = json_array_size(rows);
		ck_assert_uint_le(n, (size_t)page);
		json_array_foreach (rows, i, row) {
			if (last != 0)
				ck_assert_int_lt(row_seq(row), last);
			last = row_seq(row);
		}
		json_decref(rows);
		total += n;
		if (n == 0)
			return total;
		q.before_seq = last;
	}
}

static long long db_count(const char *db, const char *sql)
{
	char p[256];
	sqlite3 *h;
	sqlite3_stmt *st;
	long long n;

	tpath(p, db);
	ck_assert_int_eq(sqlite3_open_v2(p, &h, SQLITE_OPEN_READONLY, NULL),
			 SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(h);
	return n;
}

/* ---- The JSON-lines file ---- */

START_TEST(file_lines_in_order_without_bodies)
{
	static const char *const keys[] = {
		"time",		 "kind",	"tenant", "token_name",
		"token_prefix",	 "client",	"method", "path",
		"resource_type", "resource_id", "status", "duration_ms",
		"detail"};
	audit_log *a = open_log("a.log", NULL, 0);
	audit_rec r = base_rec(T0);
	char p[256], when[32], *buf, *line, *save = NULL;
	json_t *o, *rows = NULL;
	struct stat sb;
	size_t i = 0;
	void *it;
	char err[128] = "";

	r.method = "POST";
	r.resource_id = "2819c223";
	r.status = 201;
	r.duration_ms = 12.3456;
	r.detail = "created";
	r.request_body = "{\"userName\":\"BODYMARK-REQ\"}";
	r.request_body_len = strlen(r.request_body);
	r.response_body = "{\"id\":\"BODYMARK-RESP\"}";
	r.response_body_len = strlen(r.response_body);
	r.body_expires_ms = T0 + DAY;
	audit_write(a, &r);
	/* Unauthenticated: no tenant, token, resource or detail. */
	r = base_rec(T0 + 1000);
	r.tenant = r.token_name = r.token_prefix = NULL;
	r.resource_type = NULL;
	r.status = 401;
	r.duration_ms = 0.0004;
	audit_write(a, &r);
	/* Bytes that need escaping, and invalid UTF-8. */
	r = base_rec(T0 + 2000);
	r.tenant = "a\"b\\c\n\x01";
	r.path = "/Users/\xff\xc3\xa9";
	r.status = 0;
	r.duration_ms = -2.5;
	audit_write(a, &r);
	ck_assert_int_eq(audit_flush(a, 5000), 0);

	/* No database: no queries. */
	ck_assert_int_eq(audit_query_run(a, NULL, &rows, err, sizeof(err)), -1);
	ck_assert_ptr_null(rows);
	ck_assert_str_ne(err, "");
	ck_assert_int_eq(audit_purge(a, T0), -1);

	tpath(p, "a.log");
	ck_assert_int_eq(stat(p, &sb), 0);
	ck_assert_int_eq(sb.st_mode & 0777, 0600);
	buf = slurp("a.log", NULL);
	ck_assert_ptr_null(strstr(buf, "BODYMARK"));
	ck_assert_ptr_null(strstr(buf, "body"));
	ck_assert_ptr_nonnull(strstr(buf,
				     "\"status\":201,\"duration_ms\":12.346,"
				     "\"detail\":\"created\"}\n"));
	ck_assert_ptr_nonnull(strstr(buf, "\"duration_ms\":0.000}\n"));
	ck_assert_ptr_nonnull(strstr(buf, "\"duration_ms\":-2.500}\n"));

	line = strtok_r(buf, "\n", &save);
	ck_assert_ptr_nonnull(line);
	ck_assert_str_eq(line,
			 "{\"time\":\"2026-11-22T08:01:02.123Z\",\"kind\":"
			 "\"scim\",\"tenant\":\"acme\",\"token_name\":\"okta\","
			 "\"token_prefix\":\"0a1b2c\",\"client\":\"127.0.0.1:"
			 "40000\",\"method\":\"POST\",\"path\":\"/scim/v2/"
			 "Users\",\"resource_type\":\"User\",\"resource_id\":"
			 "\"2819c223\",\"status\":201,\"duration_ms\":12.346,"
			 "\"detail\":\"created\"}");
	o = json_loads(line, 0, NULL);
	ck_assert_ptr_nonnull(o);
	for (it = json_object_iter(o); it; it = json_object_iter_next(o, it))
		ck_assert_str_eq(json_object_iter_key(it), keys[i++]);
	ck_assert_uint_eq(i, sizeof(keys) / sizeof(keys[0]));
	json_decref(o);

	line = strtok_r(NULL, "\n", &save);
	o = json_loads(line, 0, NULL);
	ck_assert_ptr_nonnull(o);
	scim_time_format(when, T0 + 1000);
	ck_assert_str_eq(row_str(o, "time"), when);
	ck_assert_ptr_null(json_object_get(o, "tenant"));
	ck_assert_ptr_null(json_object_get(o, "token_name"));
	ck_assert_ptr_null(json_object_get(o, "token_prefix"));
	ck_assert_ptr_null(json_object_get(o, "resource_type"));
	ck_assert_ptr_null(json_object_get(o, "resource_id"));
	ck_assert_ptr_null(json_object_get(o, "detail"));
	ck_assert_int_eq(json_integer_value(json_object_get(o, "status")), 401);
	json_decref(o);

	line = strtok_r(NULL, "\n", &save);
	o = json_loads(line, 0, NULL);
	ck_assert_ptr_nonnull(o);
	ck_assert_str_eq(row_str(o, "tenant"), "a\"b\\c\n\x01");
	ck_assert_str_eq(row_str(o, "path"), "/Users/?\xc3\xa9");
	json_decref(o);
	ck_assert_ptr_null(strtok_r(NULL, "\n", &save));
	free(buf);
	audit_close(a);

	/* Reopened: appended, not truncated. */
	a = open_log("a.log", NULL, 0);
	r = base_rec(T0 + 3000);
	audit_write(a, &r);
	audit_close(a);
	ck_assert_uint_eq(count_lines("a.log"), 4);
}
END_TEST

/* ---- Queries ---- */

/* 30 records, i = 0..29: time T0 + i s, tenant "acme" for i < 10 else
 * "globex", kind "admin" when i % 4 == 0, resource "r-0" when i % 3 == 0
 * else "r-1", detail "i=<i>". */
static void populate(audit_log *a)
{
	char detail[16];

	for (int i = 0; i < 30; i++) {
		audit_rec r = base_rec(T0 + i * 1000);

		snprintf(detail, sizeof(detail), "i=%d", i);
		r.tenant = i < 10 ? "acme" : "globex";
		r.kind = i % 4 == 0 ? "admin" : "scim";
		r.resource_id = i % 3 == 0 ? "r-0" : "r-1";
		r.detail = detail;
		r.status = 200 + i;
		r.duration_ms = i + 0.25;
		audit_write(a, &r);
	}
}

static int row_i(const json_t *row)
{
	const char *d = row_str(row, "detail");

	ck_assert_ptr_nonnull(d);
	return atoi(d + 2);
}

/* The rows' i, which must be strictly decreasing, each satisfying pred,
 * and as many as the i in 0..29 that satisfy it (limit permitting). */
static void expect_rows(json_t *rows, int (*pred)(int), size_t limit)
{
	size_t want = 0, i;
	json_t *row;
	int prev = 30;

	for (int k = 0; k < 30; k++)
		want += pred(k) != 0;
	ck_assert_uint_eq(json_array_size(rows), want < limit ? want : limit);
	json_array_foreach (rows, i, row) {
		int k = row_i(row);

		ck_assert_int_lt(k, prev);
		ck_assert_msg(pred(k), "row i=%d should not match", k);
		prev = k;
	}
	json_decref(rows);
}

static int p_acme(int i)
{
	return i < 10;
}
static int p_r0(int i)
{
	return i % 3 == 0;
}
static int p_admin(int i)
{
	return i % 4 == 0;
}
static int p_range(int i)
{
	return i >= 5 && i < 15;
}
static int p_acme_admin(int i)
{
	return i < 10 && i % 4 == 0;
}
static int p_globex_r0_range(int i)
{
	return i >= 10 && i % 3 == 0 && i >= 12 && i < 25;
}
static int p_all(int i)
{
	(void)i;
	return 1;
}
static int p_none(int i)
{
	(void)i;
	return 0;
}

START_TEST(query_filters)
{
	audit_log *a = open_log("q.log", "q.db", 0);
	audit_query q;
	json_t *rows, *row;
	char when[32];

	populate(a);
	/* No flush: the query flushes first. */
	memset(&q, 0, sizeof(q));
	rows = query(a, &q);
	ck_assert_uint_eq(json_array_size(rows), 30);
	/* Newest first, every key of the line plus seq, no bodies. */
	row = json_array_get(rows, 0);
	ck_assert_int_eq(row_i(row), 29);
	scim_time_format(when, T0 + 29000);
	ck_assert_str_eq(row_str(row, "time"), when);
	ck_assert_str_eq(row_str(row, "kind"), "scim");
	ck_assert_str_eq(row_str(row, "tenant"), "globex");
	ck_assert_str_eq(row_str(row, "token_name"), "okta");
	ck_assert_str_eq(row_str(row, "token_prefix"), "0a1b2c");
	ck_assert_str_eq(row_str(row, "client"), "127.0.0.1:40000");
	ck_assert_str_eq(row_str(row, "method"), "GET");
	ck_assert_str_eq(row_str(row, "path"), "/scim/v2/Users");
	ck_assert_str_eq(row_str(row, "resource_type"), "User");
	ck_assert_str_eq(row_str(row, "resource_id"), "r-1");
	ck_assert_int_eq(json_integer_value(json_object_get(row, "status")),
			 229);
	ck_assert_double_eq_tol(
		json_real_value(json_object_get(row, "duration_ms")), 29.25,
		1e-9);
	ck_assert(json_is_integer(json_object_get(row, "seq")));
	ck_assert_ptr_null(json_object_get(row, "request_body"));
	ck_assert_ptr_null(json_object_get(row, "response_body"));
	ck_assert_int_gt(row_seq(row),
			 row_seq(json_array_get(rows, 1))); /* newest first */
	json_decref(rows);

	memset(&q, 0, sizeof(q));
	q.tenant = "acme";
	expect_rows(query(a, &q), p_acme, 100);
	memset(&q, 0, sizeof(q));
	q.resource_id = "r-0";
	expect_rows(query(a, &q), p_r0, 100);
	memset(&q, 0, sizeof(q));
	q.kind = "admin";
	expect_rows(query(a, &q), p_admin, 100);
	memset(&q, 0, sizeof(q));
	q.since_ms = T0 + 5000;	 /* inclusive */
	q.until_ms = T0 + 15000; /* exclusive */
	expect_rows(query(a, &q), p_range, 100);
	memset(&q, 0, sizeof(q));
	q.tenant = "acme";
	q.kind = "admin";
	expect_rows(query(a, &q), p_acme_admin, 100);
	memset(&q, 0, sizeof(q));
	q.tenant = "globex";
	q.resource_id = "r-0";
	q.since_ms = T0 + 12000;
	q.until_ms = T0 + 25000;
	expect_rows(query(a, &q), p_globex_r0_range, 100);
	memset(&q, 0, sizeof(q));
	q.limit = 4;
	expect_rows(query(a, &q), p_all, 4);
	memset(&q, 0, sizeof(q));
	q.tenant = "initech";
	expect_rows(query(a, &q), p_none, 100);

	/* Paging with before_seq: everything once, newest first. */
	memset(&q, 0, sizeof(q));
	ck_assert_uint_eq(count_paged(a, q, 7), 30);
	q.tenant = "globex";
	ck_assert_uint_eq(count_paged(a, q, 3), 20);
	memset(&q, 0, sizeof(q));
	q.limit = 5;
	rows = query(a, &q);
	q.before_seq = row_seq(json_array_get(rows, 4));
	json_decref(rows);
	rows = query(a, &q);
	ck_assert_uint_eq(json_array_size(rows), 5);
	ck_assert_int_eq(row_i(json_array_get(rows, 0)), 24);
	ck_assert_int_eq(row_i(json_array_get(rows, 4)), 20);
	json_decref(rows);
	audit_close(a);

	/* Reopened: still there, and seq goes on growing. */
	a = open_log("q.log", "q.db", 0);
	memset(&q, 0, sizeof(q));
	q.limit = 1;
	rows = query(a, &q);
	ck_assert_int_eq(row_i(json_array_get(rows, 0)), 29);
	{
		json_int_t last = row_seq(json_array_get(rows, 0));
		audit_rec r = base_rec(T0 + 99000);

		json_decref(rows);
		r.detail = "i=99";
		audit_write(a, &r);
		rows = query(a, &q);
		ck_assert_int_eq(row_i(json_array_get(rows, 0)), 99);
		ck_assert_int_gt(row_seq(json_array_get(rows, 0)), last);
		json_decref(rows);
	}
	audit_close(a);
	ck_assert_uint_eq(count_lines("q.log"), 31);
}
END_TEST

START_TEST(query_limits)
{
	audit_log *a = open_log(NULL, "l.db", 0);
	audit_query q;
	json_t *rows;

	for (int i = 0; i < 1200; i++) {
		audit_rec r = base_rec(T0 + i);

		audit_write(a, &r);
	}
	memset(&q, 0, sizeof(q));
	rows = query(a, &q); /* 0: 100 */
	ck_assert_uint_eq(json_array_size(rows), 100);
	json_decref(rows);
	q.limit = 5000;
	rows = query(a, &q);
	ck_assert_uint_eq(json_array_size(rows), 1000);
	json_decref(rows);
	q.limit = -3;
	rows = query(a, &q);
	ck_assert_uint_eq(json_array_size(rows), 1);
	json_decref(rows);
	rows = query(a, NULL);
	ck_assert_uint_eq(json_array_size(rows), 100);
	json_decref(rows);
	memset(&q, 0, sizeof(q));
	ck_assert_uint_eq(count_paged(a, q, 1000), 1200);
	audit_close(a);
}
END_TEST

/* ---- Bodies ---- */

static json_t *row_by_resource(json_t *rows, const char *id)
{
	size_t i;
	json_t *row;

	json_array_foreach (rows, i, row) {
		const char *r = row_str(row, "resource_id");

		if (r != NULL && strcmp(r, id) == 0)
			return row;
	}
	ck_abort_msg("no row for %s", id);
	return NULL;
}

START_TEST(bodies_only_when_asked_and_until_expiry)
{
	audit_log *a = open_log("b.log", "b.db", 0);
	int64_t now = now_ms();
	audit_rec r;
	audit_query q;
	json_t *rows, *row;
	size_t i;
	char *buf;

	r = base_rec(now);
	r.resource_id = "A";
	r.request_body = "{\"userName\":\"bob\"}TRAILING";
	r.request_body_len = strlen("{\"userName\":\"bob\"}");
	r.response_body = "{\"id\":\"A\"}";
	r.response_body_len = strlen(r.response_body);
	r.body_expires_ms = now + 3600000;
	audit_write(a, &r);
	r = base_rec(now);
	r.resource_id = "B";
	audit_write(a, &r);
	r = base_rec(now);
	r.resource_id = "C";
	r.response_body = "{\"id\":\"C\"}";
	r.response_body_len = strlen(r.response_body);
	r.body_expires_ms = now + 7200000;
	audit_write(a, &r);
	r = base_rec(now);
	r.resource_id = "D"; /* already expired, not purged yet */
	r.request_body = "{\"userName\":\"dan\"}";
	r.request_body_len = strlen(r.request_body);
	r.body_expires_ms = now - 1000;
	audit_write(a, &r);

	memset(&q, 0, sizeof(q));
	rows = query(a, &q);
	ck_assert_uint_eq(json_array_size(rows), 4);
	json_array_foreach (rows, i, row) {
		ck_assert_ptr_null(json_object_get(row, "request_body"));
		ck_assert_ptr_null(json_object_get(row, "response_body"));
	}
	json_decref(rows);

	q.with_bodies = true;
	rows = query(a, &q);
	ck_assert_uint_eq(json_array_size(rows), 4);
	row = row_by_resource(rows, "A");
	ck_assert_str_eq(row_str(row, "request_body"),
			 "{\"userName\":\"bob\"}");
	ck_assert_str_eq(row_str(row, "response_body"), "{\"id\":\"A\"}");
	row = row_by_resource(rows, "B");
	ck_assert_ptr_null(json_object_get(row, "request_body"));
	ck_assert_ptr_null(json_object_get(row, "response_body"));
	ck_assert_str_eq(row_str(row, "tenant"), "acme");
	row = row_by_resource(rows, "C");
	ck_assert_ptr_null(json_object_get(row, "request_body"));
	ck_assert_str_eq(row_str(row, "response_body"), "{\"id\":\"C\"}");
	row = row_by_resource(rows, "D");
	ck_assert_ptr_null(json_object_get(row, "request_body"));
	json_decref(rows);

	/* Past A's expiry: A's and D's bodies go, C's stays, rows stay. */
	ck_assert_int_eq(audit_purge(a, now + 3600001), 2);
	rows = query(a, &q);
	ck_assert_uint_eq(json_array_size(rows), 4);
	row = row_by_resource(rows, "A");
	ck_assert_ptr_null(json_object_get(row, "request_body"));
	ck_assert_ptr_null(json_object_get(row, "response_body"));
	row = row_by_resource(rows, "C");
	ck_assert_str_eq(row_str(row, "response_body"), "{\"id\":\"C\"}");
	json_decref(rows);
	ck_assert_int_eq(audit_purge(a, now + 7200001), 1);
	ck_assert_int_eq(audit_purge(a, now + 7200001), 0);
	audit_close(a);

	ck_assert_int_eq(db_count("b.db", "SELECT count(*) FROM audit_bodies"),
			 0);
	ck_assert_int_eq(db_count("b.db", "SELECT count(*) FROM audit_records"),
			 4);
	/* Never in the file. */
	buf = slurp("b.log", NULL);
	ck_assert_ptr_null(strstr(buf, "userName"));
	ck_assert_ptr_null(strstr(buf, "\"id\""));
	free(buf);
	ck_assert_uint_eq(count_lines("b.log"), 4);
}
END_TEST

/* ---- Retention ---- */

START_TEST(retention_purge)
{
	audit_log *a = open_log(NULL, "r.db", 7);
	int64_t now = now_ms();
	audit_rec r;
	audit_query q;
	json_t *rows;

	r = base_rec(now - 8 * DAY);
	r.resource_id = "old";
	r.request_body = "{\"a\":1}";
	r.request_body_len = 7;
	r.body_expires_ms = now + DAY;
	audit_write(a, &r);
	r = base_rec(now - 6 * DAY);
	r.resource_id = "mid";
	audit_write(a, &r);
	r = base_rec(now);
	r.resource_id = "new";
	audit_write(a, &r);
	ck_assert_int_eq(audit_flush(a, 5000), 0);
	ck_assert_int_eq(db_count("r.db", "SELECT count(*) FROM audit_records"),
			 3);

	/* The old row and its body (not yet expired, but its row is gone). */
	ck_assert_int_eq(audit_purge(a, now), 2);
	memset(&q, 0, sizeof(q));
	rows = query(a, &q);
	ck_assert_uint_eq(json_array_size(rows), 2);
	ck_assert_str_eq(row_str(json_array_get(rows, 0), "resource_id"),
			 "new");
	ck_assert_str_eq(row_str(json_array_get(rows, 1), "resource_id"),
			 "mid");
	json_decref(rows);
	ck_assert_int_eq(db_count("r.db", "SELECT count(*) FROM audit_bodies"),
			 0);
	/* Two days later "mid" is past the 7 days too. */
	ck_assert_int_eq(audit_purge(a, now + 2 * DAY), 1);
	ck_assert_int_eq(audit_purge(a, now + 2 * DAY), 0);
	audit_close(a);

	/* 0: kept forever. */
	a = open_log(NULL, "r0.db", 0);
	r = base_rec(now - 3650 * DAY);
	audit_write(a, &r);
	ck_assert_int_eq(audit_flush(a, 5000), 0);
	ck_assert_int_eq(audit_purge(a, now), 0);
	rows = query(a, NULL);
	ck_assert_uint_eq(json_array_size(rows), 1);
	json_decref(rows);
	audit_close(a);
}
END_TEST

/* ---- Redaction ---- */

static void expect_redacted(const char *in, const char *want)
{
	char *out = audit_redact_body(in, strlen(in), 65536);

	ck_assert_ptr_nonnull(out);
	ck_assert_str_eq(out, want);
	free(out);
}

/* A token sent in a URL never reaches the log whole. */
START_TEST(token_in_path_is_cut)
{
	audit_log *a = open_log("p.log", NULL, 0);
	audit_rec r = base_rec(T0);
	char *buf;

	r.path = "/api/v1/tenants/acme/scim/tokens/"
		 "scim_0a1b2c3d4e5f_SECRETSECRETSECRET/x";
	r.detail = "scim_abc_SECRET2SECRET2 and scim_nothex_keep";
	audit_write(a, &r);
	ck_assert_int_eq(audit_flush(a, 5000), 0);
	buf = slurp("p.log", NULL);
	ck_assert_ptr_null(strstr(buf, "SECRET"));
	ck_assert_ptr_nonnull(
		strstr(buf, "/scim/tokens/scim_0a1b2c3d4e5f_***/x\""));
	ck_assert_ptr_nonnull(strstr(buf, "scim_abc_*** and scim_nothex_keep"));
	free(buf);
	audit_close(a);
}
END_TEST

START_TEST(redact_nested_names)
{
	expect_redacted(
		"{\"userName\":\"bob\",\"Password\":\"p1\",\"creds\":{"
		"\"clientSecret\":\"s\",\"list\":[{\"newPASSWORD\":{\"deep\":"
		"1}},\"plain\"]},\"active\":true,\"secretQ\":null}",
		"{\"userName\":\"bob\",\"Password\":\"[redacted]\",\"creds\":{"
		"\"clientSecret\":\"[redacted]\",\"list\":[{\"newPASSWORD\":"
		"\"[redacted]\"},\"plain\"]},\"active\":true,\"secretQ\":"
		"\"[redacted]\"}");
	expect_redacted("[{\"password\":\"x\"},\"Bearer y\",1]",
			"[{\"password\":\"[redacted]\"},\"[redacted]\",1]");
	/* Compact, in the original order, UTF-8 kept. */
	expect_redacted(
		"{ \"b\" : 1 ,\n \"a\" : [ 1 , 2 ], \"n\": \"Zo\xc3\xab\" }",
		"{\"b\":1,\"a\":[1,2],\"n\":\"Zo\xc3\xab\"}");
}
END_TEST

START_TEST(redact_patch_operations)
{
	expect_redacted(
		"{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:"
		"PatchOp\"],\"Operations\":["
		"{\"op\":\"replace\",\"path\":\"password\",\"value\":"
		"\"hunter2\"},"
		"{\"op\":\"add\",\"path\":\"userName\",\"value\":\"bob\"},"
		"{\"op\":\"replace\",\"value\":{\"password\":\"p2\","
		"\"displayName\":\"d\"}},"
		"{\"op\":\"Replace\",\"Path\":\"urn:ietf:params:scim:schemas:"
		"core:2.0:User:PassWord\",\"Value\":[\"x\"]},"
		"{\"op\":\"add\",\"path\":\"x509Certificates\",\"value\":{"
		"\"secretKey\":\"k\",\"display\":\"c\"}},"
		"{\"op\":\"remove\",\"path\":\"password\"}]}",
		"{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:"
		"PatchOp\"],\"Operations\":["
		"{\"op\":\"replace\",\"path\":\"password\",\"value\":"
		"\"[redacted]\"},"
		"{\"op\":\"add\",\"path\":\"userName\",\"value\":\"bob\"},"
		"{\"op\":\"replace\",\"value\":{\"password\":\"[redacted]\","
		"\"displayName\":\"d\"}},"
		"{\"op\":\"Replace\",\"Path\":\"urn:ietf:params:scim:schemas:"
		"core:2.0:User:PassWord\",\"Value\":\"[redacted]\"},"
		"{\"op\":\"add\",\"path\":\"x509Certificates\",\"value\":{"
		"\"secretKey\":\"[redacted]\",\"display\":\"c\"}},"
		"{\"op\":\"remove\",\"path\":\"password\"}]}");
}
END_TEST

START_TEST(redact_token_strings)
{
	expect_redacted(
		"{\"note\":\"scim_0a1B_s3cr3t\",\"auth\":\"Bearer abc.def\","
		"\"low\":\"bEaReR x\",\"notHex\":\"scim_xyz_abc\",\"short\":"
		"\"scim_0a1b\",\"bare\":\"scim_\",\"word\":\"bearer\","
		"\"mid\":\"my scim_00_x\",\"list\":[\"BEARER q\",\"ok\",["
		"\"scim_ff_x\"]],\"n\":7}",
		"{\"note\":\"[redacted]\",\"auth\":\"[redacted]\",\"low\":"
		"\"[redacted]\",\"notHex\":\"scim_xyz_abc\",\"short\":"
		"\"scim_0a1b\",\"bare\":\"scim_\",\"word\":\"bearer\","
		"\"mid\":\"my scim_00_x\",\"list\":[\"[redacted]\",\"ok\",["
		"\"[redacted]\"]],\"n\":7}");
}
END_TEST

static void expect_note(const char *in, size_t len, size_t max,
			const char *want)
{
	char *out = audit_redact_body(in, len, max);

	ck_assert_ptr_nonnull(out);
	ck_assert_str_eq(out, want);
	free(out);
}

START_TEST(redact_not_json_oversize_empty)
{
	static const char buf[] = "{\"a\":1}garbage";

	expect_note("hello", 5, 100, "[body not JSON: 5 bytes, not kept]");
	/* Scalars are not bodies. */
	expect_note("42", 2, 100, "[body not JSON: 2 bytes, not kept]");
	expect_note("\"str\"", 5, 100, "[body not JSON: 5 bytes, not kept]");
	expect_note("{\"a\":", 5, 100, "[body not JSON: 5 bytes, not kept]");
	expect_note("{\"a\":1} x", 9, 100,
		    "[body not JSON: 9 bytes, not kept]");
	expect_note(buf, sizeof(buf) - 1, 100,
		    "[body not JSON: 14 bytes, not kept]");
	/* len bounds the body; it need not be NUL-terminated. */
	expect_note(buf, 7, 100, "{\"a\":1}");
	expect_note("{\"password\":\"0123\"}", 19, 10,
		    "[body of 19 bytes exceeds the capture limit of 10 bytes, "
		    "not kept]");
	expect_note("{\"password\":\"0123\"}", 19, 19,
		    "{\"password\":\"[redacted]\"}");
	expect_note("", 0, 100, "");
	expect_note(NULL, 0, 100, "");
	expect_note("{}", 0, 0, "");
}
END_TEST

/* ---- Threads ---- */

#define N_WRITERS 4
#define PER_WRITER 2000

struct writer_arg {
	audit_log *a;
	int id;
};

static void *writer_main(void *p)
{
	struct writer_arg *w = p;
	char tenant[16], rid[32];

	snprintf(tenant, sizeof(tenant), "thr%d", w->id);
	for (int i = 0; i < PER_WRITER; i++) {
		audit_rec r = base_rec(T0 + i);

		snprintf(rid, sizeof(rid), "thr%d-%d", w->id, i);
		r.tenant = tenant;
		r.resource_id = rid;
		if (i % 10 == 0) {
			r.request_body = "{\"x\":1}";
			r.request_body_len = 7;
			r.body_expires_ms = T0 + DAY;
		}
		audit_write(w->a, &r);
	}
	return NULL;
}

struct reader_arg {
	audit_log *a;
	atomic_int stop;
	int queries, failures;
};

static void *reader_main(void *p)
{
	struct reader_arg *rd = p;
	audit_query q;
	json_t *rows;
	char err[128];

	memset(&q, 0, sizeof(q));
	q.limit = 50;
	while (!atomic_load(&rd->stop)) {
		if (audit_query_run(rd->a, &q, &rows, err, sizeof(err)) == 0)
			json_decref(rows);
		else
			rd->failures++;
		rd->queries++;
	}
	return NULL;
}

START_TEST(many_writers)
{
	audit_log *a = open_log("m.log", "m.db", 0);
	struct writer_arg w[N_WRITERS];
	pthread_t th[N_WRITERS], rth;
	struct reader_arg rd = {.a = a};
	audit_query q;
	char tenant[16];

	ck_assert_int_eq(pthread_create(&rth, NULL, reader_main, &rd), 0);
	for (int i = 0; i < N_WRITERS; i++) {
		w[i].a = a;
		w[i].id = i;
		ck_assert_int_eq(
			pthread_create(&th[i], NULL, writer_main, &w[i]), 0);
	}
	for (int i = 0; i < N_WRITERS; i++)
		pthread_join(th[i], NULL);
	ck_assert_int_eq(audit_flush(a, 30000), 0);
	atomic_store(&rd.stop, 1);
	pthread_join(rth, NULL);
	ck_assert_int_eq(rd.failures, 0);
	ck_assert_int_gt(rd.queries, 0);

	ck_assert_uint_eq(count_lines("m.log"), N_WRITERS * PER_WRITER);
	memset(&q, 0, sizeof(q));
	ck_assert_uint_eq(count_paged(a, q, 1000), N_WRITERS * PER_WRITER);
	for (int i = 0; i < N_WRITERS; i++) {
		snprintf(tenant, sizeof(tenant), "thr%d", i);
		q.tenant = tenant;
		ck_assert_uint_eq(count_paged(a, q, 1000), PER_WRITER);
	}
	memset(&q, 0, sizeof(q));
	q.resource_id = "thr3-1999";
	{
		json_t *rows = query(a, &q);

		ck_assert_uint_eq(json_array_size(rows), 1);
		ck_assert_str_eq(row_str(json_array_get(rows, 0), "tenant"),
				 "thr3");
		json_decref(rows);
	}
	audit_close(a);
	ck_assert_int_eq(db_count("m.db", "SELECT count(*) FROM audit_bodies"),
			 N_WRITERS * PER_WRITER / 10);
}
END_TEST

START_TEST(close_drains_the_queue)
{
	audit_log *a = open_log("c.log", "c.db", 0);

	for (int i = 0; i < 5000; i++) {
		audit_rec r = base_rec(T0 + i);

		if (i % 100 == 0) {
			r.response_body = "{\"id\":\"x\"}";
			r.response_body_len = 10;
			r.body_expires_ms = INT64_MAX;
		}
		audit_write(a, &r);
	}
	audit_close(a); /* no flush */
	ck_assert_uint_eq(count_lines("c.log"), 5000);
	ck_assert_int_eq(db_count("c.db", "SELECT count(*) FROM audit_records"),
			 5000);
	ck_assert_int_eq(db_count("c.db", "SELECT count(*) FROM audit_bodies"),
			 50);
}
END_TEST

/* A record over the queue's byte cap is dropped and counted, reported on
 * stderr, and neither blocks the writer nor stalls audit_flush. */
START_TEST(dropped_record_is_counted_not_waited_for)
{
	size_t big = (size_t)257 << 20; /* over the 256 MiB cap */
	char *body = calloc(1, big), p[256], *log, *s;
	int saved = dup(2), fd, n = 0;
	audit_log *a;
	audit_rec r;
	json_t *rows;

	ck_assert_ptr_nonnull(body);
	tpath(p, "drop.err");
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(dup2(fd, 2), 2);
	close(fd);

	a = open_log("d.log", "d.db", 0);
	r = base_rec(T0);
	r.resource_id = "before";
	audit_write(a, &r);
	r.resource_id = "big";
	r.request_body = body;
	r.request_body_len = big;
	r.body_expires_ms = INT64_MAX;
	audit_write(a, &r); /* reported at once */
	audit_write(a, &r); /* within the second: reported at close */
	r = base_rec(T0 + 1);
	r.resource_id = "after";
	audit_write(a, &r);
	ck_assert_int_eq(audit_flush(a, 5000), 0);
	rows = query(a, NULL);
	ck_assert_uint_eq(json_array_size(rows), 2);
	ck_assert_str_eq(row_str(json_array_get(rows, 0), "resource_id"),
			 "after");
	ck_assert_str_eq(row_str(json_array_get(rows, 1), "resource_id"),
			 "before");
	json_decref(rows);
	audit_close(a);
	fflush(stderr);
	ck_assert_int_eq(dup2(saved, 2), 2);
	close(saved);
	free(body);

	ck_assert_uint_eq(count_lines("d.log"), 2);
	log = slurp("drop.err", NULL);
	for (s = log; (s = strstr(s, "audit queue full: dropped 1 record\n"));
	     s++)
		n++;
	ck_assert_msg(n == 2, "stderr: %s", log);
	free(log);
}
END_TEST

/* ---- Edges ---- */

START_TEST(null_and_errors)
{
	audit_rec r = base_rec(T0);
	audit_opts o = {NULL, NULL, 0};
	audit_log *a = (audit_log *)&o; /* must be reset */
	char err[256] = "", p[256];
	json_t *rows = NULL;

	audit_write(NULL, &r);
	audit_close(NULL);
	ck_assert_int_eq(audit_flush(NULL, 10), 0);
	ck_assert_int_eq(audit_purge(NULL, T0), -1);
	ck_assert_int_eq(audit_query_run(NULL, NULL, &rows, err, sizeof(err)),
			 -1);
	ck_assert_ptr_null(rows);

	o.path = "/nonexistent-dir/audit.log";
	ck_assert_int_eq(audit_open(&a, &o, err, sizeof(err)), -1);
	ck_assert_ptr_null(a);
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent-dir/audit.log"));
	o.path = NULL;
	o.db_path = "/nonexistent-dir/audit.db";
	err[0] = '\0';
	ck_assert_int_eq(audit_open(&a, &o, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent-dir/audit.db"));
	/* Not a database. */
	tpath(p, "junk.db");
	{
		FILE *f = fopen(p, "w");

		ck_assert_ptr_nonnull(f);
		fputs("this is not an SQLite database, not at all\n", f);
		fclose(f);
	}
	o.db_path = p;
	err[0] = '\0';
	ck_assert_int_eq(audit_open(&a, &o, err, sizeof(err)), -1);
	ck_assert_str_ne(err, "");
	o.db_path = NULL;
	o.retention_days = -1;
	ck_assert_int_eq(audit_open(&a, &o, err, sizeof(err)), -1);

	/* Nothing to write to: records are accepted and let go. */
	o.retention_days = 0;
	ck_assert_int_eq(audit_open(&a, &o, err, sizeof(err)), 0);
	audit_write(a, &r);
	ck_assert_int_eq(audit_flush(a, 5000), 0);
	ck_assert_int_eq(audit_flush(a, 0), 0);
	audit_close(a);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("audit");
	TCase *tc = tcase_create("audit");
	SRunner *sr;
	int failed;

	dir_setup();
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, file_lines_in_order_without_bodies);
	tcase_add_test(tc, query_filters);
	tcase_add_test(tc, query_limits);
	tcase_add_test(tc, bodies_only_when_asked_and_until_expiry);
	tcase_add_test(tc, retention_purge);
	tcase_add_test(tc, redact_nested_names);
	tcase_add_test(tc, redact_patch_operations);
	tcase_add_test(tc, redact_token_strings);
	tcase_add_test(tc, token_in_path_is_cut);
	tcase_add_test(tc, redact_not_json_oversize_empty);
	tcase_add_test(tc, many_writers);
	tcase_add_test(tc, close_drains_the_queue);
	tcase_add_test(tc, dropped_record_is_counted_not_waited_for);
	tcase_add_test(tc, null_and_errors);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	dir_teardown();
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
