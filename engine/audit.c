/* audit.c - the audit log (see audit.h).
 *
 * audit_write copies a record into one malloc'd block and appends it to a
 * queue under a mutex; the audit thread detaches the whole queue, appends
 * one JSON line per record to the file (one write() each), then inserts
 * the rows, and any captured bodies, in one SQLite transaction. The queue
 * is capped (records and bytes): past the cap a record is dropped and
 * counted, and the drops are logged at most once a second, so a request
 * never waits for the audit disk.
 *
 * Counters: `queued` counts the records accepted, `done` those the thread
 * has finished with (written, or failed and logged). audit_flush waits on
 * a condition variable until done reaches the value queued had when it
 * was called.
 *
 * Locks, never nested: mu guards the queue and the counters; wmu the write
 * connection and its statements (the thread's batches and audit_purge);
 * rmu the read connection (audit_query_run). With WAL the reader does not
 * wait for the writer.
 *
 * Strings are made valid UTF-8 when copied (a byte that does not start a
 * well-formed sequence becomes '?'), so the file, the database and the
 * query results always hold valid JSON text.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>

#include "audit.h"
#include "log.h"
#include "strutil.h"

#define AUDIT_QUEUE_MAX 100000			  /* records waiting */
#define AUDIT_QUEUE_MAX_BYTES ((size_t)256 << 20) /* bytes waiting */
#define AUDIT_PURGE_EVERY_MS INT64_C(3600000)
#define AUDIT_BUSY_TIMEOUT_MS 5000
#define AUDIT_QUERY_FLUSH_MS 2000
#define AUDIT_LOG_EVERY_MS INT64_C(1000) /* drop and error reports */
#define AUDIT_DAY_MS INT64_C(86400000)
#define AUDIT_DURATION_MAX 1e12 /* ms; beyond this, clamped */
#define REDACTED "[redacted]"

/* The string members of audit_rec, in the order of the JSON line (detail
 * comes after status and duration_ms there, and last here). */
static const struct {
	const char *name;
	size_t off;
} str_fields[] = {
	{"kind", offsetof(audit_rec, kind)},
	{"tenant", offsetof(audit_rec, tenant)},
	{"token_name", offsetof(audit_rec, token_name)},
	{"token_prefix", offsetof(audit_rec, token_prefix)},
	{"client", offsetof(audit_rec, client)},
	{"method", offsetof(audit_rec, method)},
	{"path", offsetof(audit_rec, path)},
	{"resource_type", offsetof(audit_rec, resource_type)},
	{"resource_id", offsetof(audit_rec, resource_id)},
	{"detail", offsetof(audit_rec, detail)},
};
#define N_STR_FIELDS (sizeof(str_fields) / sizeof(str_fields[0]))
#define DETAIL_FIELD (N_STR_FIELDS - 1)

/* A queued record: the struct, then every string it points to. */
typedef struct qrec {
	struct qrec *next;
	audit_rec r;
	char data[];
} qrec;

struct audit_log {
	int fd; /* -1: no file */
	char *path;
	int retention_days;

	pthread_mutex_t wmu; /* guards wdb and its statements */
	sqlite3 *wdb;	     /* NULL: no database */
	sqlite3_stmt *ins_rec, *ins_body;

	pthread_mutex_t rmu; /* guards rdb */
	sqlite3 *rdb;

	pthread_t thread;
	pthread_mutex_t mu;	 /* guards everything below */
	pthread_cond_t work;	 /* queue not empty, or stopping */
	pthread_cond_t progress; /* done advanced */
	qrec *head, *tail;
	size_t qlen, qbytes;
	uint64_t queued, done;
	bool stopping;
	uint64_t dropped;	/* not reported yet */
	int64_t drop_report_ms; /* monotonic time of the last report */

	/* The audit thread's own: rate limit of its error reports. */
	int64_t err_report_ms;
	uint64_t err_suppressed;
};

static const char *rec_str(const audit_rec *r, size_t i)
{
	const char *s;

	memcpy(&s, (const char *)r + str_fields[i].off, sizeof(s));
	return s;
}

static void rec_set_str(audit_rec *r, size_t i, const char *s)
{
	memcpy((char *)r + str_fields[i].off, &s, sizeof(s));
}

static void set_err(char *errbuf, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_err(char *errbuf, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (errbuf == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(errbuf, errlen, fmt, ap);
	va_end(ap);
}

static int64_t clock_ms(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* An absolute CLOCK_MONOTONIC time, for pthread_cond_timedwait. */
static void mono_timespec(struct timespec *ts, int64_t mono_ms)
{
	ts->tv_sec = (time_t)(mono_ms / 1000);
	ts->tv_nsec = (long)(mono_ms % 1000) * 1000000L;
}

/* ---- Strings ---- */

static size_t utf8_seq_len(unsigned char c)
{
	if (c >= 0xC2 && c <= 0xDF)
		return 2;
	if (c >= 0xE0 && c <= 0xEF)
		return 3;
	if (c >= 0xF0 && c <= 0xF4)
		return 4;
	return 0;
}

/* Replace every byte of s[0..len) that does not start a well-formed UTF-8
 * sequence by '?'. */
static void utf8_fix(char *s, size_t len)
{
	size_t i = 0, n;

	while (i < len) {
		if ((unsigned char)s[i] < 0x80) {
			i++;
			continue;
		}
		n = utf8_seq_len((unsigned char)s[i]);
		if (n != 0 && n <= len - i && scim_is_valid_utf8(s + i, n))
			i += n;
		else
			s[i++] = '?';
	}
}

/* Copy n bytes of s and a NUL to *p, advance *p, return the copy. */
static const char *put_copy(char **p, const char *s, size_t n)
{
	char *d = *p;

	memcpy(d, s, n);
	d[n] = '\0';
	utf8_fix(d, n);
	*p += n + 1;
	return d;
}

static int size_add(size_t *total, size_t n)
{
	if (n == SIZE_MAX || n + 1 > SIZE_MAX - *total)
		return -1;
	*total += n + 1;
	return 0;
}

/* A duration in ms with exactly 3 decimals, locale-independent ("12.346",
 * "-0.500"), and the same value as a double. */
static double duration_fmt(double d, char out[static 48])
{
	long long t, u;

	if (!isfinite(d))
		d = 0;
	if (d > AUDIT_DURATION_MAX)
		d = AUDIT_DURATION_MAX;
	if (d < -AUDIT_DURATION_MAX)
		d = -AUDIT_DURATION_MAX;
	t = (long long)(d * 1000.0 + (d >= 0 ? 0.5 : -0.5));
	u = t < 0 ? -t : t;
	snprintf(out, 48, "%s%lld.%03lld", t < 0 ? "-" : "", u / 1000,
		 u % 1000);
	return (double)t / 1000.0;
}

/* A growing buffer for one JSON line. */
typedef struct sbuf {
	char *p;
	size_t len, cap;
	bool oom;
} sbuf;

static void sb_add(sbuf *b, const char *s, size_t n)
{
	char *np;
	size_t ncap;

	if (b->oom || n == 0)
		return;
	if (n > b->cap - b->len) {
		ncap = b->cap ? b->cap : 512;
		while (ncap - b->len < n) {
			if (ncap > SIZE_MAX / 2) {
				b->oom = true;
				return;
			}
			ncap *= 2;
		}
		if ((np = realloc(b->p, ncap)) == NULL) {
			b->oom = true;
			return;
		}
		b->p = np;
		b->cap = ncap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static void sb_cstr(sbuf *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

/* s as a JSON string; s is valid UTF-8 (see utf8_fix). */
static void sb_jstr(sbuf *b, const char *s)
{
	const char *run = s, *e;
	char esc[8];

	sb_add(b, "\"", 1);
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		sb_add(b, run, (size_t)(s - run));
		switch (c) {
		case '"':
			e = "\\\"";
			break;
		case '\\':
			e = "\\\\";
			break;
		case '\n':
			e = "\\n";
			break;
		case '\r':
			e = "\\r";
			break;
		case '\t':
			e = "\\t";
			break;
		case '\b':
			e = "\\b";
			break;
		case '\f':
			e = "\\f";
			break;
		default:
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			e = esc;
		}
		sb_cstr(b, e);
		run = s + 1;
	}
	sb_add(b, run, (size_t)(s - run));
	sb_add(b, "\"", 1);
}

static void sb_member(sbuf *b, const char *key, const char *v)
{
	if (v == NULL)
		return;
	sb_add(b, ",\"", 2);
	sb_cstr(b, key);
	sb_add(b, "\":", 2);
	sb_jstr(b, v);
}

/* The JSON line of r, with its '\n', in b (reset first). Never a body. */
static int line_build(sbuf *b, const audit_rec *r)
{
	char when[32], num[48];

	b->len = 0;
	b->oom = false;
	scim_time_format(when, r->time_ms);
	sb_cstr(b, "{\"time\":");
	sb_jstr(b, when);
	for (size_t i = 0; i < DETAIL_FIELD; i++)
		sb_member(b, str_fields[i].name, rec_str(r, i));
	snprintf(num, sizeof(num), ",\"status\":%d", r->status);
	sb_cstr(b, num);
	duration_fmt(r->duration_ms, num);
	sb_cstr(b, ",\"duration_ms\":");
	sb_cstr(b, num);
	sb_member(b, "detail", r->detail);
	sb_add(b, "}\n", 2);
	return b->oom ? -1 : 0;
}

/* ---- Reports ---- */

/* Drops not reported yet, if a report is due (mu held). */
static uint64_t drops_due(audit_log *a, bool force)
{
	int64_t now = clock_ms(CLOCK_MONOTONIC);
	uint64_t n = a->dropped;

	if (n == 0 || (!force && now - a->drop_report_ms < AUDIT_LOG_EVERY_MS))
		return 0;
	a->dropped = 0;
	a->drop_report_ms = now;
	return n;
}

static void drops_report(uint64_t n)
{
	if (n > 0)
		log_msg(LOG_WARN, "audit",
			"audit queue full: dropped %" PRIu64 " record%s", n,
			n == 1 ? "" : "s");
}

/* An error of the audit thread, at most once a second. */
static void thread_error(audit_log *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void thread_error(audit_log *a, const char *fmt, ...)
{
	int64_t now = clock_ms(CLOCK_MONOTONIC);
	char msg[512];
	va_list ap;

	if (now - a->err_report_ms < AUDIT_LOG_EVERY_MS) {
		a->err_suppressed++;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (a->err_suppressed > 0)
		log_msg(LOG_ERR, "audit", "%s (and %" PRIu64 " more errors)",
			msg, a->err_suppressed);
	else
		log_msg(LOG_ERR, "audit", "%s", msg);
	a->err_report_ms = now;
	a->err_suppressed = 0;
}

/* ---- Database ---- */

static const char schema_sql[] =
	"CREATE TABLE IF NOT EXISTS audit_records ("
	" seq INTEGER PRIMARY KEY AUTOINCREMENT,"
	" time_ms INTEGER NOT NULL,"
	" kind TEXT, tenant TEXT, token_name TEXT, token_prefix TEXT,"
	" client TEXT, method TEXT, path TEXT, resource_type TEXT,"
	" resource_id TEXT, status INTEGER NOT NULL,"
	" duration_ms REAL NOT NULL, detail TEXT);"
	"CREATE TABLE IF NOT EXISTS audit_bodies ("
	" seq INTEGER PRIMARY KEY,"
	" request_body TEXT, response_body TEXT,"
	" expires_ms INTEGER NOT NULL);"
	"CREATE INDEX IF NOT EXISTS audit_records_tenant_time"
	" ON audit_records (tenant, time_ms);"
	"CREATE INDEX IF NOT EXISTS audit_records_resource_id"
	" ON audit_records (resource_id);"
	"CREATE INDEX IF NOT EXISTS audit_records_time"
	" ON audit_records (time_ms);"
	"CREATE INDEX IF NOT EXISTS audit_bodies_expires"
	" ON audit_bodies (expires_ms);";

/* Columns bound ?1..?13: time_ms, the str_fields in order, status,
 * duration_ms. */
static const char insert_rec_sql[] =
	"INSERT INTO audit_records (time_ms, kind, tenant, token_name,"
	" token_prefix, client, method, path, resource_type, resource_id,"
	" detail, status, duration_ms)"
	" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)";

static const char insert_body_sql[] =
	"INSERT OR REPLACE INTO audit_bodies (seq, request_body,"
	" response_body, expires_ms) VALUES (?1, ?2, ?3, ?4)";

/* Open a connection with the busy timeout set. */
static int db_connect(sqlite3 **db, const char *path, int flags, char *errbuf,
		      size_t errlen)
{
	int rc = sqlite3_open_v2(path, db, flags, NULL);

	if (rc != SQLITE_OK) {
		set_err(errbuf, errlen, "audit database %s: %s", path,
			*db ? sqlite3_errmsg(*db) : sqlite3_errstr(rc));
		sqlite3_close(*db);
		*db = NULL;
		return -1;
	}
	sqlite3_busy_timeout(*db, AUDIT_BUSY_TIMEOUT_MS);
	return 0;
}

static int db_exec(sqlite3 *db, const char *path, const char *sql, char *errbuf,
		   size_t errlen)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		set_err(errbuf, errlen, "audit database %s: %s", path,
			msg ? msg : sqlite3_errmsg(db));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

/* WAL lets the query connection read beside the writer. A file system
 * without it still works, with readers and writer taking turns. */
static int db_wal(sqlite3 *db, const char *path, char *errbuf, size_t errlen)
{
	sqlite3_stmt *st;
	const unsigned char *mode;
	bool wal = false;
	int rc;

	if (sqlite3_prepare_v2(db, "PRAGMA journal_mode=WAL", -1, &st, NULL) !=
	    SQLITE_OK) {
		set_err(errbuf, errlen, "audit database %s: %s", path,
			sqlite3_errmsg(db));
		return -1;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		mode = sqlite3_column_text(st, 0);
		wal = mode && scim_strcasecmp((const char *)mode, "wal") == 0;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW) {
		set_err(errbuf, errlen, "audit database %s: %s", path,
			sqlite3_errmsg(db));
		return -1;
	}
	if (!wal)
		log_msg(LOG_WARN, "audit",
			"%s: WAL journal not available; queries will wait "
			"for the audit writer",
			path);
	return 0;
}

static int db_open(audit_log *a, const char *path, char *errbuf, size_t errlen)
{
	if (db_connect(&a->wdb, path,
		       SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, errbuf,
		       errlen) < 0 ||
	    db_wal(a->wdb, path, errbuf, errlen) < 0 ||
	    db_exec(a->wdb, path, "PRAGMA synchronous=NORMAL", errbuf, errlen) <
		    0 ||
	    db_exec(a->wdb, path, schema_sql, errbuf, errlen) < 0)
		return -1;
	if (sqlite3_prepare_v2(a->wdb, insert_rec_sql, -1, &a->ins_rec, NULL) !=
		    SQLITE_OK ||
	    sqlite3_prepare_v2(a->wdb, insert_body_sql, -1, &a->ins_body,
			       NULL) != SQLITE_OK) {
		set_err(errbuf, errlen, "audit database %s: %s", path,
			sqlite3_errmsg(a->wdb));
		return -1;
	}
	if (db_connect(&a->rdb, path, SQLITE_OPEN_READWRITE, errbuf, errlen) <
		    0 ||
	    db_exec(a->rdb, path, "PRAGMA query_only=ON", errbuf, errlen) < 0)
		return -1;
	return 0;
}

static int bind_str(sqlite3_stmt *st, int i, const char *s)
{
	return s ? sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC)
		 : sqlite3_bind_null(st, i);
}

static int bind_body(sqlite3_stmt *st, int i, const char *s, size_t len)
{
	return s ? sqlite3_bind_text64(st, i, s, len, SQLITE_STATIC,
				       SQLITE_UTF8)
		 : sqlite3_bind_null(st, i);
}

/* Run a bound statement to its end, then reset it (wmu held). */
static int stmt_run(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* One record and its bodies (wmu held, in a transaction). */
static int db_insert(audit_log *a, const audit_rec *r)
{
	sqlite3_stmt *st = a->ins_rec;
	char num[48];
	sqlite3_int64 seq;

	sqlite3_bind_int64(st, 1, r->time_ms);
	for (size_t i = 0; i < N_STR_FIELDS; i++)
		bind_str(st, 2 + (int)i, rec_str(r, i));
	sqlite3_bind_int(st, 12, r->status);
	sqlite3_bind_double(st, 13, duration_fmt(r->duration_ms, num));
	if (stmt_run(st) < 0)
		return -1;
	if (r->request_body == NULL && r->response_body == NULL)
		return 0;
	seq = sqlite3_last_insert_rowid(a->wdb);
	st = a->ins_body;
	sqlite3_bind_int64(st, 1, seq);
	bind_body(st, 2, r->request_body, r->request_body_len);
	bind_body(st, 3, r->response_body, r->response_body_len);
	sqlite3_bind_int64(st, 4, r->body_expires_ms);
	return stmt_run(st);
}

/* Every record of the batch in one transaction. A failed insert is
 * reported and the others still go in. */
static void db_write_batch(audit_log *a, const qrec *batch)
{
	char msg[300] = "";
	const char *what = NULL;

	pthread_mutex_lock(&a->wmu);
	if (sqlite3_exec(a->wdb, "BEGIN IMMEDIATE", NULL, NULL, NULL) !=
	    SQLITE_OK) {
		what = "begin";
		snprintf(msg, sizeof(msg), "%s", sqlite3_errmsg(a->wdb));
	} else {
		for (const qrec *q = batch; q != NULL; q = q->next) {
			if (db_insert(a, &q->r) == 0 || what != NULL)
				continue;
			what = "insert";
			snprintf(msg, sizeof(msg), "%s",
				 sqlite3_errmsg(a->wdb));
		}
		if (sqlite3_exec(a->wdb, "COMMIT", NULL, NULL, NULL) !=
		    SQLITE_OK) {
			what = "commit";
			snprintf(msg, sizeof(msg), "%s",
				 sqlite3_errmsg(a->wdb));
			sqlite3_exec(a->wdb, "ROLLBACK", NULL, NULL, NULL);
		}
	}
	pthread_mutex_unlock(&a->wmu);
	if (what != NULL)
		thread_error(a, "audit database: %s: %s", what, msg);
}

/* Run sql with ?1 bound to v, add the rows changed to *n (wmu held). */
static int db_delete(sqlite3 *db, const char *sql, int64_t v, int64_t *n)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(st, 1, v);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return -1;
	*n += sqlite3_changes(db);
	return 0;
}

/* Rows deleted (records and bodies), or -1 with the reason in msg. */
static int64_t db_purge(audit_log *a, int64_t now_ms, char *msg, size_t len)
{
	int64_t n = 0, cutoff;
	int rc = 0;

	pthread_mutex_lock(&a->wmu);
	if (sqlite3_exec(a->wdb, "BEGIN IMMEDIATE", NULL, NULL, NULL) !=
	    SQLITE_OK) {
		snprintf(msg, len, "%s", sqlite3_errmsg(a->wdb));
		pthread_mutex_unlock(&a->wmu);
		return -1;
	}
	if (a->retention_days > 0) {
		cutoff = now_ms - a->retention_days * AUDIT_DAY_MS;
		rc = db_delete(a->wdb,
			       "DELETE FROM audit_bodies WHERE seq IN"
			       " (SELECT seq FROM audit_records"
			       " WHERE time_ms < ?1)",
			       cutoff, &n);
		if (rc == 0)
			rc = db_delete(a->wdb,
				       "DELETE FROM audit_records"
				       " WHERE time_ms < ?1",
				       cutoff, &n);
	}
	if (rc == 0)
		rc = db_delete(a->wdb,
			       "DELETE FROM audit_bodies WHERE expires_ms < ?1",
			       now_ms, &n);
	if (rc == 0 &&
	    sqlite3_exec(a->wdb, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		rc = -1;
	if (rc != 0) {
		snprintf(msg, len, "%s", sqlite3_errmsg(a->wdb));
		sqlite3_exec(a->wdb, "ROLLBACK", NULL, NULL, NULL);
	}
	pthread_mutex_unlock(&a->wmu);
	return rc == 0 ? n : -1;
}

int audit_purge(audit_log *a, int64_t now_ms)
{
	char msg[300];
	int64_t n;

	if (a == NULL || a->wdb == NULL)
		return -1;
	n = db_purge(a, now_ms, msg, sizeof(msg));
	if (n < 0) {
		log_msg(LOG_ERR, "audit", "purge: %s", msg);
		return -1;
	}
	return n > INT32_MAX ? INT32_MAX : (int)n;
}

/* ---- The audit thread ---- */

static void file_write_batch(audit_log *a, const qrec *batch)
{
	sbuf b = {NULL, 0, 0, false};
	ssize_t w;

	for (const qrec *q = batch; q != NULL; q = q->next) {
		if (line_build(&b, &q->r) < 0) {
			thread_error(a, "%s: out of memory", a->path);
			continue;
		}
		do
			w = write(a->fd, b.p, b.len);
		while (w < 0 && errno == EINTR);
		if (w < 0)
			thread_error(a, "cannot append to %s: %s", a->path,
				     strerror(errno));
		else if ((size_t)w != b.len)
			thread_error(a, "short write to %s (%zd of %zu bytes)",
				     a->path, w, b.len);
	}
	free(b.p);
}

static void thread_purge(audit_log *a)
{
	char msg[300];
	int64_t n = db_purge(a, clock_ms(CLOCK_REALTIME), msg, sizeof(msg));

	if (n < 0)
		thread_error(a, "audit database: purge: %s", msg);
	else if (n > 0)
		log_msg(LOG_INFO, "audit", "purged %" PRId64 " old rows", n);
}

static void *audit_main(void *arg)
{
	audit_log *a = arg;
	int64_t next_purge = clock_ms(CLOCK_MONOTONIC); /* once at start */
	struct timespec ts;
	qrec *batch, *q, *next;
	uint64_t n, drops;

	pthread_setname_np(pthread_self(), "scim-audit");
	pthread_mutex_lock(&a->mu);
	for (;;) {
		if (a->wdb != NULL && !a->stopping &&
		    clock_ms(CLOCK_MONOTONIC) >= next_purge) {
			pthread_mutex_unlock(&a->mu);
			thread_purge(a);
			next_purge = clock_ms(CLOCK_MONOTONIC) +
				     AUDIT_PURGE_EVERY_MS;
			pthread_mutex_lock(&a->mu);
			continue;
		}
		if (a->head != NULL) {
			batch = a->head;
			n = a->qlen;
			a->head = a->tail = NULL;
			a->qlen = a->qbytes = 0;
			drops = drops_due(a, false);
			pthread_mutex_unlock(&a->mu);
			drops_report(drops);
			if (a->fd >= 0)
				file_write_batch(a, batch);
			if (a->wdb != NULL)
				db_write_batch(a, batch);
			for (q = batch; q != NULL; q = next) {
				next = q->next;
				free(q);
			}
			pthread_mutex_lock(&a->mu);
			a->done += n;
			pthread_cond_broadcast(&a->progress);
			continue;
		}
		if (a->stopping)
			break;
		if (a->wdb != NULL) {
			mono_timespec(&ts, next_purge);
			pthread_cond_timedwait(&a->work, &a->mu, &ts);
		} else {
			pthread_cond_wait(&a->work, &a->mu);
		}
	}
	pthread_mutex_unlock(&a->mu);
	return NULL;
}

/* ---- Open, write, flush, close ---- */

static void audit_free(audit_log *a)
{
	qrec *q, *next;

	sqlite3_finalize(a->ins_rec);
	sqlite3_finalize(a->ins_body);
	sqlite3_close(a->rdb);
	sqlite3_close(a->wdb); /* last: it checkpoints the WAL */
	if (a->fd >= 0)
		close(a->fd);
	for (q = a->head; q != NULL; q = next) {
		next = q->next;
		free(q);
	}
	pthread_cond_destroy(&a->progress);
	pthread_cond_destroy(&a->work);
	pthread_mutex_destroy(&a->mu);
	pthread_mutex_destroy(&a->rmu);
	pthread_mutex_destroy(&a->wmu);
	free(a->path);
	free(a);
}

int audit_open(audit_log **out, const audit_opts *o, char *errbuf,
	       size_t errlen)
{
	pthread_condattr_t ca;
	audit_log *a;
	int rc;

	if (out != NULL)
		*out = NULL;
	if (out == NULL || o == NULL) {
		set_err(errbuf, errlen, "audit: no options");
		return -1;
	}
	if (o->retention_days < 0) {
		set_err(errbuf, errlen, "audit: negative retention (%d days)",
			o->retention_days);
		return -1;
	}
	if ((a = calloc(1, sizeof(*a))) == NULL) {
		set_err(errbuf, errlen, "audit: out of memory");
		return -1;
	}
	a->fd = -1;
	a->retention_days = o->retention_days;
	a->drop_report_ms = clock_ms(CLOCK_MONOTONIC) - AUDIT_LOG_EVERY_MS;
	a->err_report_ms = a->drop_report_ms;
	pthread_mutex_init(&a->mu, NULL);
	pthread_mutex_init(&a->wmu, NULL);
	pthread_mutex_init(&a->rmu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&a->work, &ca);
	pthread_cond_init(&a->progress, &ca);
	pthread_condattr_destroy(&ca);

	if (o->path != NULL) {
		a->fd = open(o->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
			     0600);
		if (a->fd < 0) {
			set_err(errbuf, errlen, "audit log %s: %s", o->path,
				strerror(errno));
			audit_free(a);
			return -1;
		}
		if ((a->path = strdup(o->path)) == NULL) {
			set_err(errbuf, errlen, "audit: out of memory");
			audit_free(a);
			return -1;
		}
	}
	if (o->db_path != NULL && db_open(a, o->db_path, errbuf, errlen) < 0) {
		audit_free(a);
		return -1;
	}
	if ((rc = pthread_create(&a->thread, NULL, audit_main, a)) != 0) {
		set_err(errbuf, errlen, "audit: cannot start thread: %s",
			strerror(rc));
		audit_free(a);
		return -1;
	}
	*out = a;
	return 0;
}

/* Shrink, in place, every "scim_<hex>_<secret>" in s to
 * "scim_<hex>_***": a client that puts a token in a URL must not get it
 * into the log. */
static void redact_tokens(char *s)
{
	char *p = s;

	while ((p = strstr(p, "scim_")) != NULL) {
		char *q = p + 5, *end;

		while ((*q >= '0' && *q <= '9') || (*q >= 'a' && *q <= 'f'))
			q++;
		if (q == p + 5 || *q != '_') {
			p += 5;
			continue;
		}
		q++;
		end = q + strcspn(q, "/?&# ");
		if (end - q > 3) {
			memcpy(q, "***", 3);
			memmove(q + 3, end, strlen(end) + 1);
		}
		p = q;
	}
}

void audit_write(audit_log *a, const audit_rec *r)
{
	size_t lens[N_STR_FIELDS], size = sizeof(qrec);
	uint64_t drops;
	qrec *q = NULL;
	char *p;
	int bad = 0;

	if (a == NULL || r == NULL)
		return;
	for (size_t i = 0; i < N_STR_FIELDS; i++) {
		const char *s = rec_str(r, i);

		lens[i] = s ? strlen(s) : 0;
		if (s != NULL)
			bad |= size_add(&size, lens[i]);
	}
	if (r->request_body != NULL)
		bad |= size_add(&size, r->request_body_len);
	if (r->response_body != NULL)
		bad |= size_add(&size, r->response_body_len);
	if (bad == 0 && size <= AUDIT_QUEUE_MAX_BYTES)
		q = malloc(size);
	if (q != NULL) {
		q->next = NULL;
		q->r = *r;
		p = q->data;
		for (size_t i = 0; i < N_STR_FIELDS; i++) {
			const char *s = rec_str(r, i);

			rec_set_str(&q->r, i,
				    s ? put_copy(&p, s, lens[i]) : NULL);
			if (s != NULL)
				redact_tokens((char *)rec_str(&q->r, i));
		}
		if (r->request_body != NULL)
			q->r.request_body = put_copy(&p, r->request_body,
						     r->request_body_len);
		if (r->response_body != NULL)
			q->r.response_body = put_copy(&p, r->response_body,
						      r->response_body_len);
	}

	pthread_mutex_lock(&a->mu);
	if (q != NULL && a->qlen < AUDIT_QUEUE_MAX &&
	    size <= AUDIT_QUEUE_MAX_BYTES - a->qbytes) {
		if (a->tail != NULL)
			a->tail->next = q;
		else
			a->head = q;
		a->tail = q;
		a->qlen++;
		a->qbytes += size;
		a->queued++;
		q = NULL;
		pthread_cond_signal(&a->work);
	} else {
		a->dropped++;
	}
	drops = drops_due(a, false);
	pthread_mutex_unlock(&a->mu);
	free(q);
	drops_report(drops);
}

int audit_flush(audit_log *a, int timeout_ms)
{
	struct timespec ts;
	uint64_t target;
	int ok;

	if (a == NULL)
		return 0;
	mono_timespec(&ts, clock_ms(CLOCK_MONOTONIC) +
				   (timeout_ms > 0 ? timeout_ms : 0));
	pthread_mutex_lock(&a->mu);
	target = a->queued;
	while (a->done < target) {
		if (pthread_cond_timedwait(&a->progress, &a->mu, &ts) ==
		    ETIMEDOUT)
			break;
	}
	ok = a->done >= target;
	pthread_mutex_unlock(&a->mu);
	return ok ? 0 : -1;
}

void audit_close(audit_log *a)
{
	uint64_t drops;

	if (a == NULL)
		return;
	pthread_mutex_lock(&a->mu);
	a->stopping = true;
	pthread_cond_signal(&a->work);
	pthread_mutex_unlock(&a->mu);
	pthread_join(a->thread, NULL);
	pthread_mutex_lock(&a->mu);
	drops = drops_due(a, true);
	pthread_mutex_unlock(&a->mu);
	drops_report(drops);
	audit_free(a);
}

/* ---- Queries ---- */

/* A JSON string of a text column; invalid UTF-8 (a database not written
 * by this module) is mended rather than dropped. */
static json_t *column_string(sqlite3_stmt *st, int i)
{
	const char *s = (const char *)sqlite3_column_text(st, i);
	size_t n = (size_t)sqlite3_column_bytes(st, i);
	json_t *v;
	char *copy;

	if (s == NULL)
		return NULL;
	if ((v = json_stringn(s, n)) != NULL)
		return v;
	if ((copy = malloc(n + 1)) == NULL)
		return NULL;
	memcpy(copy, s, n);
	utf8_fix(copy, n);
	v = json_stringn(copy, n);
	free(copy);
	return v;
}

/* Columns: seq, time_ms, the str_fields in order, status, duration_ms,
 * then request_body, response_body when asked. */
static json_t *row_object(sqlite3_stmt *st, bool with_bodies)
{
	json_t *o = json_object();
	char when[32];
	int bad = 0, col;

	if (o == NULL)
		return NULL;
	bad |= json_object_set_new(o, "seq",
				   json_integer(sqlite3_column_int64(st, 0)));
	scim_time_format(when, sqlite3_column_int64(st, 1));
	bad |= json_object_set_new(o, "time", json_string(when));
	for (size_t i = 0; i < N_STR_FIELDS; i++) {
		col = 2 + (int)i;
		if (i == DETAIL_FIELD) {
			bad |= json_object_set_new(
				o, "status",
				json_integer(sqlite3_column_int(st, col + 1)));
			bad |= json_object_set_new(
				o, "duration_ms",
				json_real(sqlite3_column_double(st, col + 2)));
		}
		if (sqlite3_column_type(st, col) != SQLITE_NULL)
			bad |= json_object_set_new(o, str_fields[i].name,
						   column_string(st, col));
	}
	if (with_bodies) {
		col = 2 + (int)N_STR_FIELDS + 2;
		if (sqlite3_column_type(st, col) != SQLITE_NULL)
			bad |= json_object_set_new(o, "request_body",
						   column_string(st, col));
		if (sqlite3_column_type(st, col + 1) != SQLITE_NULL)
			bad |= json_object_set_new(o, "response_body",
						   column_string(st, col + 1));
	}
	if (bad != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static void sql_add(char *sql, size_t size, const char *s)
{
	size_t n = strlen(sql);

	snprintf(sql + n, size - n, "%s", s);
}

int audit_query_run(audit_log *a, const audit_query *q, json_t **out,
		    char *errbuf, size_t errlen)
{
	static const audit_query all = {0};
	char sql[1024] = "";
	sqlite3_stmt *st = NULL;
	json_t *arr = NULL, *row;
	int limit, k = 1, rc;

	if (out != NULL)
		*out = NULL;
	if (a == NULL || a->rdb == NULL) {
		set_err(errbuf, errlen, "audit: no database");
		return -1;
	}
	if (out == NULL) {
		set_err(errbuf, errlen, "audit: no output");
		return -1;
	}
	if (q == NULL)
		q = &all;
	limit = q->limit == 0 ? 100 : q->limit < 1 ? 1 : q->limit;
	if (limit > 1000)
		limit = 1000;
	audit_flush(a, AUDIT_QUERY_FLUSH_MS);

	sql_add(sql, sizeof(sql),
		"SELECT r.seq, r.time_ms, r.kind, r.tenant, r.token_name,"
		" r.token_prefix, r.client, r.method, r.path, r.resource_type,"
		" r.resource_id, r.detail, r.status, r.duration_ms");
	if (q->with_bodies)
		sql_add(sql, sizeof(sql),
			", b.request_body, b.response_body"
			" FROM audit_records r LEFT JOIN audit_bodies b"
			" ON b.seq = r.seq AND b.expires_ms >= ?");
	else
		sql_add(sql, sizeof(sql), " FROM audit_records r");
	sql_add(sql, sizeof(sql), " WHERE 1");
	if (q->tenant != NULL)
		sql_add(sql, sizeof(sql), " AND r.tenant = ?");
	if (q->resource_id != NULL)
		sql_add(sql, sizeof(sql), " AND r.resource_id = ?");
	if (q->kind != NULL)
		sql_add(sql, sizeof(sql), " AND r.kind = ?");
	if (q->since_ms != 0)
		sql_add(sql, sizeof(sql), " AND r.time_ms >= ?");
	if (q->until_ms != 0)
		sql_add(sql, sizeof(sql), " AND r.time_ms < ?");
	if (q->before_seq != 0)
		sql_add(sql, sizeof(sql), " AND r.seq < ?");
	sql_add(sql, sizeof(sql), " ORDER BY r.seq DESC LIMIT ?");

	pthread_mutex_lock(&a->rmu);
	if (sqlite3_prepare_v2(a->rdb, sql, -1, &st, NULL) != SQLITE_OK) {
		set_err(errbuf, errlen, "audit query: %s",
			sqlite3_errmsg(a->rdb));
		pthread_mutex_unlock(&a->rmu);
		return -1;
	}
	if (q->with_bodies)
		sqlite3_bind_int64(st, k++, clock_ms(CLOCK_REALTIME));
	if (q->tenant != NULL)
		bind_str(st, k++, q->tenant);
	if (q->resource_id != NULL)
		bind_str(st, k++, q->resource_id);
	if (q->kind != NULL)
		bind_str(st, k++, q->kind);
	if (q->since_ms != 0)
		sqlite3_bind_int64(st, k++, q->since_ms);
	if (q->until_ms != 0)
		sqlite3_bind_int64(st, k++, q->until_ms);
	if (q->before_seq != 0)
		sqlite3_bind_int64(st, k++, q->before_seq);
	sqlite3_bind_int(st, k, limit);

	if ((arr = json_array()) == NULL) {
		rc = SQLITE_NOMEM;
		goto done;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((row = row_object(st, q->with_bodies)) == NULL ||
		    json_array_append_new(arr, row) != 0) {
			rc = SQLITE_NOMEM;
			break;
		}
	}
done:
	if (rc == SQLITE_NOMEM)
		set_err(errbuf, errlen, "audit query: out of memory");
	else if (rc != SQLITE_DONE)
		set_err(errbuf, errlen, "audit query: %s",
			sqlite3_errmsg(a->rdb));
	sqlite3_finalize(st);
	pthread_mutex_unlock(&a->rmu);
	if (rc != SQLITE_DONE) {
		json_decref(arr);
		return -1;
	}
	*out = arr;
	return 0;
}

/* ---- Redaction ---- */

static bool contains_ci(const char *hay, const char *needle)
{
	size_t n = strlen(needle);

	for (; *hay != '\0'; hay++)
		if (scim_strncasecmp(hay, needle, n) == 0)
			return true;
	return false;
}

static bool sensitive_name(const char *name)
{
	return contains_ci(name, "password") || contains_ci(name, "secret");
}

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	       (c >= 'A' && c <= 'F');
}

/* "Bearer ..." (any case), or "scim_<hex>_...". */
static bool token_like(const json_t *v)
{
	const char *s;
	size_t len, i;

	if (!json_is_string(v))
		return false;
	s = json_string_value(v);
	len = json_string_length(v);
	if (len >= 7 && scim_strncasecmp(s, "bearer ", 7) == 0)
		return true;
	if (len < 7 || strncmp(s, "scim_", 5) != 0)
		return false;
	for (i = 5; i < len && is_hex(s[i]); i++)
		;
	return i > 5 && i < len && s[i] == '_';
}

/* The member of o named name, in any case (SCIM names are), or NULL. */
static void *member_ci(json_t *o, const char *name)
{
	void *it;

	for (it = json_object_iter(o); it != NULL;
	     it = json_object_iter_next(o, it))
		if (scim_strcasecmp(json_object_iter_key(it), name) == 0)
			return it;
	return NULL;
}

/* PATCH operations whose path names a password or secret: the value. */
static int redact_patch_ops(json_t *ops)
{
	json_t *op, *path;
	size_t i;
	void *it;

	json_array_foreach (ops, i, op) {
		if (!json_is_object(op) || (it = member_ci(op, "path")) == NULL)
			continue;
		path = json_object_iter_value(it);
		if (!json_is_string(path) ||
		    !sensitive_name(json_string_value(path)))
			continue;
		if ((it = member_ci(op, "value")) != NULL &&
		    json_object_iter_set_new(op, it, json_string(REDACTED)) !=
			    0)
			return -1;
	}
	return 0;
}

static int redact(json_t *v)
{
	json_t *m;
	size_t i;
	void *it;

	if (json_is_object(v)) {
		if ((it = member_ci(v, "Operations")) != NULL &&
		    json_is_array(json_object_iter_value(it)) &&
		    redact_patch_ops(json_object_iter_value(it)) < 0)
			return -1;
		for (it = json_object_iter(v); it != NULL;
		     it = json_object_iter_next(v, it)) {
			m = json_object_iter_value(it);
			if (sensitive_name(json_object_iter_key(it)) ||
			    token_like(m)) {
				if (json_object_iter_set_new(
					    v, it, json_string(REDACTED)) != 0)
					return -1;
			} else if (redact(m) < 0) {
				return -1;
			}
		}
	} else if (json_is_array(v)) {
		json_array_foreach (v, i, m) {
			if (token_like(m)) {
				if (json_array_set_new(
					    v, i, json_string(REDACTED)) != 0)
					return -1;
			} else if (redact(m) < 0) {
				return -1;
			}
		}
	}
	return 0;
}

char *audit_redact_body(const char *body, size_t len, size_t max_len)
{
	char note[160];
	json_error_t jerr;
	json_t *root;
	char *out;

	if (body == NULL || len == 0)
		return strdup("");
	if (len > max_len) {
		snprintf(note, sizeof(note),
			 "[body of %zu bytes exceeds the capture limit of %zu "
			 "bytes, not kept]",
			 len, max_len);
		return strdup(note);
	}
	/* Without JSON_DECODE_ANY: an object or an array. */
	if ((root = json_loadb(body, len, 0, &jerr)) == NULL) {
		snprintf(note, sizeof(note),
			 "[body not JSON: %zu bytes, not kept]", len);
		return strdup(note);
	}
	out = redact(root) == 0
		      ? json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER)
		      : NULL;
	json_decref(root);
	return out;
}
