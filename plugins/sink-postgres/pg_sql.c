/* pg_sql.c - the PostgreSQL sink's connection, errors, SQL text, prepared
 * statements and batches (sink_postgres.h).
 *
 * Every wait on the server has a deadline: the connection is made with
 * PQconnectStartParams/PQconnectPoll and used in non-blocking mode, so a
 * server that stops answering (frozen, a dead network) costs at most
 * connect_timeout_ms to connect, and statement_timeout_ms plus
 * connect_timeout_ms of silence later, before the connection is dropped
 * and the events retried. A blocking PQexec would hang the dispatcher.
 */
#include "config.h"

#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* strdup, explicit_bzero under -std=c11 */
#endif

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sink_postgres.h"

/* ---- small things ---- */

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* libpq's messages span lines ("...failed: Connection refused\n\tIs the
 * server running..."): one line for a log and the admin API. */
static void flatten(char *dst, size_t cap, const char *src)
{
	size_t n = 0;
	bool space = false;

	for (; src != NULL && *src != '\0' && n + 1 < cap; src++) {
		if (*src == '\n' || *src == '\t' || *src == '\r' ||
		    *src == ' ') {
			space = n > 0;
			continue;
		}
		if (space && n + 2 < cap)
			dst[n++] = ' ';
		space = false;
		dst[n++] = *src;
	}
	dst[n] = '\0';
}

/* "host:port/dbname" of the connection, for messages: never the
 * conninfo, which may hold a password. */
static const char *where(const scimsync_sink *s, char *buf, size_t cap)
{
	const char *h = s->pg != NULL ? PQhost(s->pg) : NULL;
	const char *p = s->pg != NULL ? PQport(s->pg) : NULL;
	const char *d = s->pg != NULL ? PQdb(s->pg) : NULL;

	snprintf(buf, cap, "%s:%s/%s", h != NULL && *h ? h : "?",
		 p != NULL && *p ? p : "?", d != NULL && *d ? d : "?");
	return buf;
}

/* How long the server may say nothing before the connection is taken
 * for dead. */
static int io_timeout_ms(const scimsync_sink *s)
{
	return (s->statement_timeout_ms > 0 ? s->statement_timeout_ms : 60000) +
	       s->connect_timeout_ms;
}

/* Wait for the socket until deadline: 1 ready, 0 timed out, -1 error. */
static int sock_wait(PGconn *pg, bool rd, bool wr, int64_t deadline)
{
	struct pollfd p;
	int rc;

	p.fd = PQsocket(pg);
	p.events = (short)((rd ? POLLIN : 0) | (wr ? POLLOUT : 0));
	p.revents = 0;
	if (p.fd < 0)
		return -1;
	for (;;) {
		int64_t left = deadline - mono_ms();

		if (left <= 0)
			return 0;
		rc = poll(&p, 1, left > 60000 ? 60000 : (int)left);
		if (rc > 0)
			return 1;
		if (rc < 0 && errno != EINTR)
			return -1;
	}
}

/* ---- the password ---- */

/* The password into buf (the caller wipes it); "" with neither option:
 * libpq then finds one (~/.pgpass, PGPASSWORD) or needs none. */
int pgs_read_password(const scimsync_sink *s, char *buf, size_t cap,
		      scimsync_err *err)
{
	buf[0] = '\0';
	if (s->pw_env == NULL && s->pw_file == NULL)
		return SCIMSYNC_OK;
	return su_read_secret(s->pw_env, "password_env", s->pw_file,
			      "password_file", buf, cap, NULL, err);
}

/* ---- prepared statements ---- */

static void cache_reset(scimsync_sink *s)
{
	for (size_t i = 0; i < STMT_CACHE_MAX; i++) {
		free(s->cache[i].sig);
		memset(&s->cache[i], 0, sizeof(s->cache[i]));
	}
}

static bool cache_full(const scimsync_sink *s)
{
	for (size_t i = 0; i < STMT_CACHE_MAX; i++)
		if (!s->cache[i].used)
			return false;
	return true;
}

static struct stmt *cache_find(scimsync_sink *s, uint64_t hash, const char *sig)
{
	for (size_t i = 0; i < STMT_CACHE_MAX; i++)
		if (s->cache[i].used && s->cache[i].hash == hash &&
		    strcmp(s->cache[i].sig, sig) == 0)
			return &s->cache[i];
	return NULL;
}

/* A new entry for sig (taken over), named s1, s2...; NULL when the
 * cache is full (sig is then still the caller's). */
static struct stmt *cache_add(scimsync_sink *s, uint64_t hash, char *sig)
{
	for (size_t i = 0; i < STMT_CACHE_MAX; i++) {
		struct stmt *st = &s->cache[i];

		if (st->used)
			continue;
		st->used = true;
		st->hash = hash;
		st->sig = sig;
		snprintf(st->name, sizeof(st->name), "s%u", ++s->next_stmt);
		return st;
	}
	return NULL;
}

static void cache_forget(struct stmt *st)
{
	free(st->sig);
	memset(st, 0, sizeof(*st));
}

static uint64_t fnv1a(const char *p)
{
	uint64_t h = 14695981039346656037ULL;

	for (; *p; p++) {
		h ^= (unsigned char)*p;
		h *= 1099511628211ULL;
	}
	return h;
}

/* ---- the connection ---- */

void pgs_conn_drop(scimsync_sink *s)
{
	if (s->pg != NULL)
		PQfinish(s->pg);
	s->pg = NULL;
	/* Prepared statements die with their session. */
	cache_reset(s);
	s->next_stmt = 0;
}

/* The connection is gone: say so once, drop it. */
static void conn_lost(scimsync_sink *s, const char *why)
{
	char w[300];

	if (s->pg != NULL && s->ever_up && !s->down)
		LOG(s, SCIMSYNC_LOG_WARN,
		    "connection to %s lost (%s); events wait and are retried",
		    where(s, w, sizeof(w)), why);
	s->down = s->ever_up;
	pgs_conn_drop(s);
}

/* Give up on a connection being made: a retry, whatever the cause (see
 * pgs_conn_open). */
static int conn_retry(scimsync_sink *s, scimsync_err *err)
{
	pgs_conn_drop(s);
	s->down = s->down || s->ever_up;
	if (err != NULL)
		err->code = SCIMSYNC_ERETRY;
	return SCIMSYNC_ERETRY;
}

/* PQconnectPoll until connected or the deadline. */
static int conn_poll(scimsync_sink *s, scimsync_err *err)
{
	PostgresPollingStatusType st = PGRES_POLLING_WRITING;
	int64_t deadline = mono_ms() + s->connect_timeout_ms;
	char msg[256], w[300];
	int r;

	for (;;) {
		if (st == PGRES_POLLING_OK)
			return SCIMSYNC_OK;
		if (st == PGRES_POLLING_FAILED)
			break;
		r = sock_wait(s->pg, st == PGRES_POLLING_READING,
			      st == PGRES_POLLING_WRITING, deadline);
		if (r == 0)
			return su_fail(err, SCIMSYNC_ERETRY,
				       "connect to %s: no answer within %d ms",
				       where(s, w, sizeof(w)),
				       s->connect_timeout_ms);
		if (r < 0)
			break;
		st = PQconnectPoll(s->pg);
	}
	flatten(msg, sizeof(msg), PQerrorMessage(s->pg));
	return su_fail(err, SCIMSYNC_ERETRY, "connect to %s: %s",
		       where(s, w, sizeof(w)), msg[0] ? msg : "failed");
}

/* Connect, unless connected. Every failure is a retry: a server that is
 * down comes back, and a wrong password holds up every event alike, so
 * the events wait (visible in the sink's status) rather than all
 * becoming dead letters; the password is read again on every connect,
 * so fixing the file fixes the sink without a restart. */
int pgs_conn_open(scimsync_sink *s, scimsync_err *err)
{
	const char *kw[5], *val[5];
	char pw[PASSWORD_MAX], sql[64], w[300];
	int k = 0, rc;

	if (s->pg != NULL && PQstatus(s->pg) == CONNECTION_OK)
		return SCIMSYNC_OK;
	if (s->pg != NULL)
		conn_lost(s, "connection bad");
	rc = pgs_read_password(s, pw, sizeof(pw), err);
	if (rc != SCIMSYNC_OK)
		return conn_retry(s, err);
	/* dbname first: the conninfo expands in its place, and what comes
	 * after it wins. */
	kw[k] = "dbname";
	val[k++] = s->conninfo;
	if (pw[0] != '\0') {
		kw[k] = "password";
		val[k++] = pw;
	}
	kw[k] = "client_encoding"; /* the engine's strings are UTF-8 */
	val[k++] = "UTF8";
	kw[k] = "fallback_application_name";
	val[k++] = "scimsync";
	kw[k] = NULL;
	val[k] = NULL;
	s->pg = PQconnectStartParams(kw, val, 1);
	explicit_bzero(pw, sizeof(pw));
	if (s->pg == NULL) {
		su_fail(err, SCIMSYNC_ERETRY, "out of memory");
		return conn_retry(s, err);
	}
	if (PQstatus(s->pg) == CONNECTION_BAD) {
		char msg[256];

		flatten(msg, sizeof(msg), PQerrorMessage(s->pg));
		su_fail(err, SCIMSYNC_ERETRY, "connect to %s: %s",
			where(s, w, sizeof(w)), msg[0] ? msg : "failed");
		return conn_retry(s, err);
	}
	if (conn_poll(s, err) != SCIMSYNC_OK)
		return conn_retry(s, err);
	if (PQsetnonblocking(s->pg, 1) != 0) {
		su_fail(err, SCIMSYNC_ERETRY, "%s: cannot go non-blocking",
			where(s, w, sizeof(w)));
		return conn_retry(s, err);
	}
	snprintf(sql, sizeof(sql), "SET statement_timeout = %d",
		 s->statement_timeout_ms);
	if (pgs_exec_simple(s, sql, err) != SCIMSYNC_OK)
		return conn_retry(s, err);
	LOG(s, SCIMSYNC_LOG_INFO, "%s %s as %s (PostgreSQL %d)",
	    s->ever_up ? "reconnected to" : "connected to",
	    where(s, w, sizeof(w)), PQuser(s->pg), PQserverVersion(s->pg));
	s->down = false;
	s->ever_up = true;
	return SCIMSYNC_OK;
}

/* ---- results ---- */

/* Send what libpq holds: 0 done, else a retry with err set. */
static int flush_out(scimsync_sink *s, scimsync_err *err)
{
	int64_t deadline = mono_ms() + io_timeout_ms(s);
	char msg[256], w[300];
	int r;

	while ((r = PQflush(s->pg)) == 1) {
		/* Read while waiting: a server blocked on sending us results
		 * would never read the rest. */
		r = sock_wait(s->pg, true, true, deadline);
		if (r == 0)
			return su_fail(err, SCIMSYNC_ERETRY,
				       "%s takes no data for %d ms",
				       where(s, w, sizeof(w)),
				       io_timeout_ms(s));
		if (r < 0 || !PQconsumeInput(s->pg))
			break;
	}
	if (r == 0)
		return SCIMSYNC_OK;
	flatten(msg, sizeof(msg), PQerrorMessage(s->pg));
	return su_fail(err, SCIMSYNC_ERETRY, "send to %s: %s",
		       where(s, w, sizeof(w)), msg);
}

/* The next result into *res (NULL: the end of a command's results).
 * SCIMSYNC_OK, or a retry (no answer, connection broken) with err set:
 * the connection is then unusable. */
static int next_result(scimsync_sink *s, PGresult **res, scimsync_err *err)
{
	int64_t deadline = mono_ms() + io_timeout_ms(s);
	char msg[256], w[300];
	int r;

	*res = NULL;
	while (PQisBusy(s->pg)) {
		r = sock_wait(s->pg, true, false, deadline);
		if (r == 0)
			return su_fail(err, SCIMSYNC_ERETRY,
				       "no answer from %s within %d ms",
				       where(s, w, sizeof(w)),
				       io_timeout_ms(s));
		/* Not PQgetResult after this: it would block. */
		if (r < 0 || !PQconsumeInput(s->pg)) {
			flatten(msg, sizeof(msg), PQerrorMessage(s->pg));
			return su_fail(err, SCIMSYNC_ERETRY, "%s: %s",
				       where(s, w, sizeof(w)),
				       msg[0] ? msg : "connection broken");
		}
	}
	*res = PQgetResult(s->pg);
	return SCIMSYNC_OK;
}

/* Transient (retry) or permanent (fail), by SQLSTATE; *lost: the
 * session is over (connection trouble, the server shutting down). No
 * SQLSTATE is libpq's own error: the connection, most likely. */
static int sqlstate_code(const char *st, bool *lost)
{
	*lost = false;
	if (st == NULL || strlen(st) != 5 || strncmp(st, "08", 2) == 0 ||
	    strcmp(st, "57P01") == 0 || strcmp(st, "57P02") == 0 ||
	    strcmp(st, "57P03") == 0) {
		*lost = true;
		return SCIMSYNC_ERETRY;
	}
	if (strcmp(st, "40001") == 0 || strcmp(st, "40P01") == 0 ||
	    strncmp(st, "53", 2) == 0 || strcmp(st, "55P03") == 0 ||
	    strcmp(st, "57014") == 0)
		return SCIMSYNC_ERETRY;
	return SCIMSYNC_EFAIL;
}

/* A failed result as a sink result: "SQLSTATE: message (detail)". */
static int result_error(scimsync_sink *s, const PGresult *res, bool *lost,
			scimsync_err *err)
{
	const char *st = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	const char *prim = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	const char *det = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
	int code = sqlstate_code(st, lost);
	char m[256], d[256], w[300];

	if (st == NULL || prim == NULL) {
		const char *e = PQresultErrorMessage(res);

		flatten(m, sizeof(m),
			e != NULL && *e ? e : PQerrorMessage(s->pg));
		return su_fail(err, code, "%s: %s", where(s, w, sizeof(w)),
			       m[0] ? m : PQresStatus(PQresultStatus(res)));
	}
	flatten(m, sizeof(m), prim);
	flatten(d, sizeof(d), det);
	return su_fail(err, code, "%s: %s%s%s%s", st, m, d[0] ? " (" : "", d,
		       d[0] ? ")" : "");
}

int pgs_exec_simple(scimsync_sink *s, const char *sql, scimsync_err *err)
{
	PGresult *res;
	int rc, code = SCIMSYNC_OK;
	bool lost = false;

	if (!PQsendQuery(s->pg, sql)) {
		char msg[256], w[300];

		flatten(msg, sizeof(msg), PQerrorMessage(s->pg));
		su_fail(err, SCIMSYNC_ERETRY, "%s: %s", where(s, w, sizeof(w)),
			msg);
		conn_lost(s, msg);
		return SCIMSYNC_ERETRY;
	}
	if ((rc = flush_out(s, err)) != SCIMSYNC_OK) {
		conn_lost(s, err->message);
		return rc;
	}
	for (;;) {
		if ((rc = next_result(s, &res, err)) != SCIMSYNC_OK) {
			conn_lost(s, err->message);
			return rc;
		}
		if (res == NULL)
			break;
		if (PQresultStatus(res) != PGRES_COMMAND_OK &&
		    PQresultStatus(res) != PGRES_TUPLES_OK &&
		    code == SCIMSYNC_OK)
			code = result_error(s, res, &lost, err);
		PQclear(res);
	}
	if (lost)
		conn_lost(s, err->message);
	return code;
}

/* ---- SQL text ---- */

/* A growing string; oom remembers a failed allocation. */
struct sbuf {
	char *p;
	size_t n, cap;
	bool oom;
};

static void sb_put(struct sbuf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->n + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		char *p;

		while (b->n + n + 1 > cap)
			cap *= 2;
		if ((p = realloc(b->p, cap)) == NULL) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = '\0';
}

static void sb_add(struct sbuf *b, const char *s)
{
	sb_put(b, s, strlen(s));
}

static void sb_param(struct sbuf *b, size_t i)
{
	char num[24];

	snprintf(num, sizeof(num), "$%zu", i + 1);
	sb_add(b, num);
}

static void sb_ident(struct sbuf *b, PGconn *pg, const char *name)
{
	char *q = PQescapeIdentifier(pg, name, strlen(name));

	if (q == NULL) {
		b->oom = true;
		return;
	}
	sb_add(b, q);
	PQfreemem(q);
}

/* app.users -> "app"."users": each part quoted. */
static void sb_table(struct sbuf *b, PGconn *pg, const char *t)
{
	const char *dot;
	char *part;

	while ((dot = strchr(t, '.')) != NULL) {
		if ((part = strndup(t, (size_t)(dot - t))) == NULL) {
			b->oom = true;
			return;
		}
		sb_ident(b, pg, part);
		free(part);
		sb_add(b, ".");
		t = dot + 1;
	}
	sb_ident(b, pg, t);
}

/* "<col> = $1 AND <col> = $2 ..." over cols[from..to). */
static void sb_where(struct sbuf *b, PGconn *pg, const struct plan *p,
		     size_t from, size_t to)
{
	for (size_t i = from; i < to; i++) {
		sb_add(b, i > from ? " AND " : " WHERE ");
		sb_ident(b, pg, p->cols[i]);
		sb_add(b, " = ");
		sb_param(b, i);
	}
}

/* " AND (t.<ver> IS NULL OR t.<ver> <= <rhs>)": the row is not newer. */
static void sb_guard(struct sbuf *b, PGconn *pg, const char *ver,
		     const char *lead, const char *rhs_prefix, size_t param)
{
	sb_add(b, lead);
	sb_add(b, "(t.");
	sb_ident(b, pg, ver);
	sb_add(b, " IS NULL OR t.");
	sb_ident(b, pg, ver);
	sb_add(b, " <= ");
	if (rhs_prefix != NULL) {
		sb_add(b, rhs_prefix);
		sb_ident(b, pg, ver);
	} else {
		sb_param(b, param);
	}
	sb_add(b, ")");
}

static void sql_upsert(struct sbuf *b, PGconn *pg, const struct plan *p)
{
	size_t i, set = 0;

	sb_add(b, "INSERT INTO ");
	sb_table(b, pg, p->table);
	sb_add(b, " AS t (");
	for (i = 0; i < p->n + p->n_nulls; i++) {
		sb_add(b, i ? ", " : "");
		sb_ident(b, pg, i < p->n ? p->cols[i] : p->nulls[i - p->n]);
	}
	sb_add(b, ") VALUES (");
	for (i = 0; i < p->n + p->n_nulls; i++) {
		sb_add(b, i ? ", " : "");
		if (i < p->n)
			sb_param(b, i);
		else
			sb_add(b, "NULL");
	}
	sb_add(b, ") ON CONFLICT (");
	for (i = 0; p->conflict[i] != NULL; i++) {
		sb_add(b, i ? ", " : "");
		sb_ident(b, pg, p->conflict[i]);
	}
	sb_add(b, ") DO ");
	for (i = 0; i < p->n + p->n_nulls; i++) {
		const char *c = i < p->n ? p->cols[i] : p->nulls[i - p->n];

		if (su_strv_has(p->conflict, c))
			continue;
		sb_add(b, set++ ? ", " : "UPDATE SET ");
		sb_ident(b, pg, c);
		sb_add(b, " = EXCLUDED.");
		sb_ident(b, pg, c);
	}
	if (set == 0)
		sb_add(b, "NOTHING");
	else if (p->guard)
		sb_guard(b, pg, p->ver, " WHERE ", "EXCLUDED.", 0);
}

/* The text of p's statement (new), or NULL when out of memory. */
static char *plan_sql(PGconn *pg, const struct plan *p)
{
	struct sbuf b = {NULL, 0, 0, false};
	size_t k = p->n_key;

	switch (p->kind) {
	case PLAN_UPSERT:
		sql_upsert(&b, pg, p);
		break;
	case PLAN_DELETE:
	case PLAN_REVOKE:
		sb_add(&b, "DELETE FROM ");
		sb_table(&b, pg, p->table);
		sb_add(&b, " AS t");
		sb_where(&b, pg, p, 0, p->kind == PLAN_REVOKE ? p->n : k);
		if (p->guard)
			sb_guard(&b, pg, p->ver, " AND ", NULL, k);
		break;
	case PLAN_MARK:
		sb_add(&b, "UPDATE ");
		sb_table(&b, pg, p->table);
		sb_add(&b, " AS t SET ");
		sb_ident(&b, pg, p->cols[k]);
		sb_add(&b, " = ");
		sb_param(&b, k);
		if (p->ver != NULL) {
			sb_add(&b, ", ");
			sb_ident(&b, pg, p->ver);
			sb_add(&b, " = ");
			sb_param(&b, k + 1);
		}
		sb_where(&b, pg, p, 0, k);
		if (p->guard)
			sb_guard(&b, pg, p->ver, " AND ", NULL, k + 1);
		break;
	case PLAN_GRANT:
		sb_add(&b, "INSERT INTO ");
		sb_table(&b, pg, p->table);
		sb_add(&b, " (");
		for (size_t i = 0; i < p->n; i++) {
			sb_add(&b, i ? ", " : "");
			sb_ident(&b, pg, p->cols[i]);
		}
		sb_add(&b, ") VALUES (");
		for (size_t i = 0; i < p->n; i++) {
			sb_add(&b, i ? ", " : "");
			sb_param(&b, i);
		}
		sb_add(&b, ") ON CONFLICT DO NOTHING");
		break;
	default:
		break;
	}
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	return b.p;
}

/* What p's statement is, as a cache key (new), or NULL. Two plans with
 * the same signature have the same SQL text. */
static char *plan_sig(const struct plan *p)
{
	struct sbuf b = {NULL, 0, 0, false};
	char head[40];

	snprintf(head, sizeof(head), "%d %zu %d\x1e", (int)p->kind, p->n_key,
		 p->guard ? 1 : 0);
	sb_add(&b, head);
	sb_add(&b, p->table);
	sb_add(&b, "\x1e");
	for (size_t i = 0; i < p->n; i++) {
		sb_add(&b, p->cols[i]);
		sb_add(&b, "\x1f");
	}
	sb_add(&b, "\x1e");
	for (size_t i = 0; i < p->n_nulls; i++) {
		sb_add(&b, p->nulls[i]);
		sb_add(&b, "\x1f");
	}
	sb_add(&b, "\x1e");
	for (size_t i = 0; p->conflict != NULL && p->conflict[i] != NULL; i++) {
		sb_add(&b, p->conflict[i]);
		sb_add(&b, "\x1f");
	}
	sb_add(&b, "\x1e");
	sb_add(&b, p->ver != NULL ? p->ver : "");
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	return b.p;
}

/* ---- a batch ---- */

/* A command sent whose results are still to be read. */
enum item_kind { IT_BEGIN, IT_PREPARE, IT_EXEC, IT_COMMIT };
struct item {
	enum item_kind kind;
	size_t plan;	 /* IT_PREPARE, IT_EXEC */
	struct stmt *st; /* IT_PREPARE */
};

/* One batch on its way: with pipeline set, every command is sent before
 * any result is read (one round trip); without, each is read as sent. */
struct run {
	scimsync_sink *s;
	const struct plan *plans;
	size_t n;
	bool pipeline;
	struct item *q;
	size_t nq, cap, read;
	int code;      /* the first error's */
	size_t failed; /* its plan (n: the COMMIT) */
	bool lost;     /* the connection is unusable */
	bool overflow; /* cache full: unnamed statements */
	scimsync_err *err;
};

/* The first error of the batch is the one reported. */
static void run_error(struct run *r, size_t at, int code, const scimsync_err *e)
{
	if (r->code != SCIMSYNC_OK)
		return;
	r->code = code;
	r->failed = at;
	*r->err = *e;
	r->err->code = code;
}

static size_t item_plan(const struct run *r, const struct item *it)
{
	return it->kind == IT_BEGIN    ? 0
	       : it->kind == IT_COMMIT ? r->n
				       : it->plan;
}

/* Read the results of the oldest command not read. */
static void collect_one(struct run *r)
{
	struct item *it = &r->q[r->read++];
	scimsync_err e = {0};
	PGresult *res;
	bool lost = false, ok = true;
	int rc;

	for (;;) {
		if ((rc = next_result(r->s, &res, &e)) != SCIMSYNC_OK) {
			r->lost = true;
			run_error(r, item_plan(r, it), rc, &e);
			ok = false;
			break;
		}
		if (res == NULL)
			break;
		switch (PQresultStatus(res)) {
		case PGRES_COMMAND_OK:
		case PGRES_TUPLES_OK:
			break;
		case PGRES_PIPELINE_ABORTED: /* after an earlier error */
			ok = false;
			break;
		default:
			ok = false;
			rc = result_error(r->s, res, &lost, &e);
			r->lost = r->lost || lost;
			run_error(r, item_plan(r, it), rc, &e);
			break;
		}
		PQclear(res);
	}
	if (it->kind == IT_PREPARE && !ok)
		cache_forget(it->st);
}

static bool queue(struct run *r, enum item_kind kind, size_t plan,
		  struct stmt *st)
{
	if (r->nq == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 64;
		struct item *q = realloc(r->q, cap * sizeof(*q));

		if (q == NULL)
			return false;
		r->q = q;
		r->cap = cap;
	}
	r->q[r->nq].kind = kind;
	r->q[r->nq].plan = plan;
	r->q[r->nq].st = st;
	r->nq++;
	return true;
}

/* libpq refused to send (or queue) a command: the connection. */
static void send_failed(struct run *r, size_t at)
{
	scimsync_err e;
	char msg[256], w[300];

	flatten(msg, sizeof(msg), PQerrorMessage(r->s->pg));
	su_fail(&e, SCIMSYNC_ERETRY, "send to %s: %s",
		where(r->s, w, sizeof(w)), msg[0] ? msg : "failed");
	r->lost = true;
	run_error(r, at, SCIMSYNC_ERETRY, &e);
}

/* Without pipeline: send what is queued and read it now. */
static void settle(struct run *r)
{
	scimsync_err e = {0};

	if (r->pipeline || r->code != SCIMSYNC_OK)
		return;
	if (flush_out(r->s, &e) != SCIMSYNC_OK) {
		r->lost = true;
		run_error(r, item_plan(r, &r->q[r->nq - 1]), SCIMSYNC_ERETRY,
			  &e);
		return;
	}
	while (r->read < r->nq)
		collect_one(r);
}

static void send_cmd(struct run *r, enum item_kind kind, const char *sql)
{
	size_t at = kind == IT_COMMIT ? r->n : 0;

	if (r->code != SCIMSYNC_OK)
		return;
	if (!PQsendQueryParams(r->s->pg, sql, 0, NULL, NULL, NULL, NULL, 0)) {
		send_failed(r, at);
		return;
	}
	if (!queue(r, kind, 0, NULL)) {
		scimsync_err e;

		su_fail(&e, SCIMSYNC_ERETRY, "out of memory");
		r->lost = true; /* results we cannot track: start over */
		run_error(r, at, SCIMSYNC_ERETRY, &e);
		return;
	}
	settle(r);
}

/* Plan i: by its prepared statement (made first if new), or unnamed when
 * the cache is full. */
static void send_plan(struct run *r, size_t i)
{
	const struct plan *p = &r->plans[i];
	scimsync_sink *s = r->s;
	struct stmt *st = NULL;
	scimsync_err e;
	char *sig, *sql = NULL;
	uint64_t h;
	bool ok;

	if (r->code != SCIMSYNC_OK || p->kind == PLAN_NONE)
		return;
	if ((sig = plan_sig(p)) == NULL)
		goto oom;
	h = fnv1a(sig);
	if ((st = cache_find(s, h, sig)) != NULL) {
		free(sig);
	} else {
		if ((sql = plan_sql(s->pg, p)) == NULL) {
			free(sig);
			goto oom;
		}
		if ((st = cache_add(s, h, sig)) == NULL) {
			free(sig);
			r->overflow = true;
		} else if (!PQsendPrepare(s->pg, st->name, sql, (int)p->n,
					  NULL)) {
			cache_forget(st);
			free(sql);
			send_failed(r, i);
			return;
		} else if (!queue(r, IT_PREPARE, i, st)) {
			free(sql);
			goto oom;
		} else {
			settle(r);
			if (r->code != SCIMSYNC_OK) {
				free(sql);
				return;
			}
		}
	}
	if (st != NULL)
		ok = PQsendQueryPrepared(s->pg, st->name, (int)p->n, p->vals,
					 NULL, NULL, 0);
	else
		ok = PQsendQueryParams(s->pg, sql, (int)p->n, NULL, p->vals,
				       NULL, NULL, 0);
	free(sql);
	if (!ok) {
		send_failed(r, i);
		return;
	}
	if (!queue(r, IT_EXEC, i, NULL))
		goto oom;
	settle(r);
	return;
oom:
	su_fail(&e, SCIMSYNC_ERETRY, "out of memory");
	r->lost = true;
	run_error(r, i, SCIMSYNC_ERETRY, &e);
}

/* Send the Sync, then read every result and the Sync's. */
static void pipeline_finish(struct run *r)
{
	scimsync_err e = {0};
	PGresult *res;

	if (!PQpipelineSync(r->s->pg)) {
		send_failed(r, r->n);
		return;
	}
	if (flush_out(r->s, &e) != SCIMSYNC_OK) {
		r->lost = true;
		run_error(r, r->n, SCIMSYNC_ERETRY, &e);
		return;
	}
	while (r->read < r->nq && !r->lost)
		collect_one(r);
	while (!r->lost) {
		if (next_result(r->s, &res, &e) != SCIMSYNC_OK) {
			r->lost = true;
			run_error(r, r->n, SCIMSYNC_ERETRY, &e);
			break;
		}
		if (res != NULL && PQresultStatus(res) == PGRES_PIPELINE_SYNC) {
			PQclear(res);
			break;
		}
		PQclear(res);
	}
	if (!r->lost && !PQexitPipelineMode(r->s->pg))
		send_failed(r, r->n);
}

/* After a failed batch: end the transaction (unless the connection is
 * gone, which ends it too). */
static void run_cleanup(struct run *r)
{
	scimsync_err e = {0};

	if (r->lost) {
		conn_lost(r->s, r->err->message);
		return;
	}
	/* Prepares that were queued but never read (a non-pipelined run
	 * stops at the first error) were never sent. */
	for (size_t i = r->read; i < r->nq; i++)
		if (r->q[i].kind == IT_PREPARE)
			cache_forget(r->q[i].st);
	if (PQtransactionStatus(r->s->pg) != PQTRANS_IDLE)
		pgs_exec_simple(r->s, "ROLLBACK", &e);
}

int pgs_run_batch(scimsync_sink *s, const struct plan *plans, size_t n,
		  size_t *failed, scimsync_err *err)
{
	struct run r = {s, plans,	n, false, NULL,	 0,  0,
			0, SCIMSYNC_OK, 0, false, false, err};
	int rc;

	*failed = 0;
	if ((rc = pgs_conn_open(s, err)) != SCIMSYNC_OK)
		return rc;
	if (PQtransactionStatus(s->pg) != PQTRANS_IDLE &&
	    (rc = pgs_exec_simple(s, "ROLLBACK", err)) != SCIMSYNC_OK)
		return rc;
	/* A full cache starts over, between batches. */
	if (cache_full(s)) {
		if ((rc = pgs_exec_simple(s, "DEALLOCATE ALL", err)) !=
		    SCIMSYNC_OK)
			return rc;
		cache_reset(s);
	}
	r.pipeline = s->pipeline && PQenterPipelineMode(s->pg) == 1;
	send_cmd(&r, IT_BEGIN, "BEGIN");
	for (size_t i = 0; i < n; i++)
		send_plan(&r, i);
	send_cmd(&r, IT_COMMIT, "COMMIT");
	if (r.pipeline)
		pipeline_finish(&r);
	if (r.code != SCIMSYNC_OK) {
		*failed = r.failed;
		run_cleanup(&r);
	} else if (r.overflow) {
		LOG(s, SCIMSYNC_LOG_DEBUG,
		    "more than %d statement shapes: some ran unprepared",
		    STMT_CACHE_MAX);
	}
	free(r.q);
	return r.code;
}
