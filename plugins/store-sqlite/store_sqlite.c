/* store_sqlite.c - the embedded SQLite store (include/scimsync/store.h).
 *
 * One database file in WAL mode: readers run beside the single writer.
 * Every connection prepares each statement it uses once (lazily, with
 * SQLITE_PREPARE_PERSISTENT) and reuses it; statements are reset and their
 * bindings cleared before a function returns, so nothing borrowed from the
 * caller outlives the call.
 *
 * Membership is one row per (group, member); added_seq orders the rows of a
 * group by insertion and is max+1 within the group, found through the
 * members_order index, so adding to a 100,000-member group is one index
 * probe and one row insert, as for an empty group.
 *
 * No foreign keys: the membership rows name their member by (tenant,
 * member_type, member_id) and are removed explicitly by del(), which keeps
 * deletes to two indexed DELETEs and no hidden cascades.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif
#ifndef _GNU_SOURCE
#define _POSIX_C_SOURCE 200809L /* strdup, mkdtemp, ... under -std=c11 */
#endif

#include <scimsync/store.h>

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sqlite3.h>

#define STORE_NAME "sqlite"
#define SCHEMA_VERSION 1
#define SAVEPOINT_NAME "scimsync_req"
/* members(only_ids) with up to this many ids uses a cached IN (...)
 * statement; more ids scan the group and filter. */
#define MEMBERS_IN_MAX 8

enum stmt_id {
	ST_GET,
	ST_INSERT,
	ST_UPDATE,
	ST_DELETE,
	ST_DELETE_AS_GROUP,
	ST_DELETE_AS_MEMBER,
	ST_TYPE_OF,
	ST_MEMBER_ADD,
	ST_MEMBER_REMOVE,
	ST_MEMBER_CLEAR,
	ST_MEMBERS,
	ST_GROUPS_OF,
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_SAVEPOINT,
	ST_RELEASE,
	ST_ROLLBACK_TO,
	ST_READ_BEGIN,
	ST_READ_END,
	/* list and count, one per scimsync_index (NONE, ID, USERNAME,
	 * EXTERNALID, DISPLAYNAME) */
	ST_LIST,
	ST_COUNT = ST_LIST + 5,
	ST_MAX = ST_COUNT + 5
};

#define RES_COLS                                                               \
	"seq, tenant, type, id, version, user_name_key, external_id, "         \
	"display_key, display, json"

#define LIST_SQL(cond)                                                         \
	"SELECT " RES_COLS                                                     \
	" FROM resources WHERE tenant = ?1 AND type = ?2 " cond                \
	" AND seq > ?4 ORDER BY seq LIMIT ?5 OFFSET ?6"
#define COUNT_SQL(cond)                                                        \
	"SELECT count(*) FROM resources WHERE tenant = ?1 AND type = ?2 " cond \
	" AND seq > ?4"

#define MEMBERS_SQL_HEAD                                                       \
	"SELECT m.group_id, m.member_id, m.member_type, r.display "            \
	"FROM members m LEFT JOIN resources r ON r.tenant = m.tenant "         \
	"AND r.type = m.member_type AND r.id = m.member_id "                   \
	"WHERE m.tenant = ?1 AND m.group_id = ?2"

static const char *const stmt_sql[ST_MAX] = {
	[ST_GET] = "SELECT " RES_COLS " FROM resources "
		   "WHERE tenant = ?1 AND type = ?2 AND id = ?3",
	[ST_INSERT] = "INSERT INTO resources (tenant, type, id, version, "
		      "user_name_key, external_id, display_key, display, json) "
		      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
	[ST_UPDATE] = "UPDATE resources SET version = ?4, user_name_key = ?5, "
		      "external_id = ?6, display_key = ?7, display = ?8, "
		      "json = ?9 WHERE tenant = ?1 AND type = ?2 AND id = ?3",
	[ST_DELETE] = "DELETE FROM resources "
		      "WHERE tenant = ?1 AND type = ?2 AND id = ?3",
	[ST_DELETE_AS_GROUP] = "DELETE FROM members "
			       "WHERE tenant = ?1 AND group_id = ?2",
	/* INDEXED BY: without ANALYZE statistics the planner would walk
	 * the tenant's primary key range instead. */
	[ST_DELETE_AS_MEMBER] = "DELETE FROM members INDEXED BY members_member "
				"WHERE tenant = ?1 "
				"AND member_id = ?2 AND member_type = ?3",
	[ST_TYPE_OF] = "SELECT type FROM resources WHERE tenant = ?1 "
		       "AND type IN (1, 2) AND id = ?2 ORDER BY type",
	[ST_MEMBER_ADD] =
		"INSERT INTO members (tenant, group_id, member_id, "
		"member_type, added_seq) "
		"SELECT ?1, ?2, ?3, ?4, coalesce(max(added_seq), 0) + 1 "
		"FROM members WHERE tenant = ?1 AND group_id = ?2 "
		"ON CONFLICT (tenant, group_id, member_id) DO NOTHING",
	[ST_MEMBER_REMOVE] = "DELETE FROM members WHERE tenant = ?1 "
			     "AND group_id = ?2 AND member_id = ?3",
	[ST_MEMBER_CLEAR] = "DELETE FROM members "
			    "WHERE tenant = ?1 AND group_id = ?2",
	[ST_MEMBERS] = MEMBERS_SQL_HEAD " ORDER BY m.added_seq",
	[ST_GROUPS_OF] = "SELECT m.group_id, m.member_id, m.member_type, "
			 "r.display FROM members m INDEXED BY members_member "
			 "CROSS JOIN resources r "
			 "ON r.tenant = m.tenant AND r.type = 2 "
			 "AND r.id = m.group_id "
			 "WHERE m.tenant = ?1 AND m.member_id = ?2 "
			 "ORDER BY r.seq",
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_SAVEPOINT] = "SAVEPOINT " SAVEPOINT_NAME,
	[ST_RELEASE] = "RELEASE " SAVEPOINT_NAME,
	[ST_ROLLBACK_TO] = "ROLLBACK TO " SAVEPOINT_NAME,
	/* A deferred transaction on a reader: its snapshot is taken at the
	 * first read and held until the end (one WAL read lock, not one per
	 * statement). */
	[ST_READ_BEGIN] = "BEGIN DEFERRED",
	[ST_READ_END] = "COMMIT",
	/* ?3 (the index value) is bound but unused without an index, so
	 * every variant takes the same parameters. */
	[ST_LIST + SCIMSYNC_IDX_NONE] = LIST_SQL(""),
	[ST_LIST + SCIMSYNC_IDX_ID] = LIST_SQL("AND id = ?3"),
	[ST_LIST + SCIMSYNC_IDX_USERNAME] = LIST_SQL("AND user_name_key = ?3"),
	[ST_LIST + SCIMSYNC_IDX_EXTERNALID] = LIST_SQL("AND external_id = ?3"),
	[ST_LIST + SCIMSYNC_IDX_DISPLAYNAME] = LIST_SQL("AND display_key = ?3"),
	[ST_COUNT + SCIMSYNC_IDX_NONE] = COUNT_SQL(""),
	[ST_COUNT + SCIMSYNC_IDX_ID] = COUNT_SQL("AND id = ?3"),
	[ST_COUNT + SCIMSYNC_IDX_USERNAME] =
		COUNT_SQL("AND user_name_key = ?3"),
	[ST_COUNT + SCIMSYNC_IDX_EXTERNALID] =
		COUNT_SQL("AND external_id = ?3"),
	[ST_COUNT + SCIMSYNC_IDX_DISPLAYNAME] =
		COUNT_SQL("AND display_key = ?3"),
};

static const char schema_sql[] =
	"CREATE TABLE IF NOT EXISTS resources ("
	" seq INTEGER PRIMARY KEY AUTOINCREMENT,"
	" tenant TEXT NOT NULL,"
	" type INTEGER NOT NULL,"
	" id TEXT NOT NULL,"
	" version INTEGER NOT NULL,"
	" user_name_key TEXT,"
	" external_id TEXT,"
	" display_key TEXT,"
	" display TEXT,"
	" json TEXT NOT NULL,"
	" UNIQUE (tenant, type, id),"
	" UNIQUE (tenant, type, user_name_key));"
	"CREATE INDEX IF NOT EXISTS resources_external_id"
	" ON resources (tenant, type, external_id);"
	"CREATE INDEX IF NOT EXISTS resources_display_key"
	" ON resources (tenant, type, display_key);"
	"CREATE INDEX IF NOT EXISTS resources_seq"
	" ON resources (tenant, type, seq);"
	"CREATE TABLE IF NOT EXISTS members ("
	" tenant TEXT NOT NULL,"
	" group_id TEXT NOT NULL,"
	" member_id TEXT NOT NULL,"
	" member_type INTEGER NOT NULL,"
	" added_seq INTEGER NOT NULL,"
	" PRIMARY KEY (tenant, group_id, member_id)) WITHOUT ROWID;"
	"CREATE INDEX IF NOT EXISTS members_order"
	" ON members (tenant, group_id, added_seq);"
	"CREATE INDEX IF NOT EXISTS members_member"
	" ON members (tenant, member_id);";

struct scimsync_store {
	const scimsync_host *host;
	char *path;
	const char *synchronous; /* static string: OFF, NORMAL, FULL, EXTRA */
	long cache_size_kb;	 /* 0: SQLite's default */
	long busy_timeout_ms;
	long mmap_size_mb; /* memory-mapped I/O; 0: off */
};

struct scimsync_store_conn {
	scimsync_store *s;
	sqlite3 *db;
	int writer;
	sqlite3_stmt *st[ST_MAX];
	sqlite3_stmt *members_in[MEMBERS_IN_MAX]; /* [n-1]: n ids */
};

/* ---- errors ---- */

static void set_err(scimsync_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_err(scimsync_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
}

static int fail(scimsync_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(scimsync_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL) {
		err->code = code;
		va_start(ap, fmt);
		vsnprintf(err->message, sizeof(err->message), fmt, ap);
		va_end(ap);
	}
	return code;
}

/* Map an SQLite result code (extended codes are on) to ours. */
static int sq_fail(scimsync_err *err, sqlite3 *db, int rc, const char *what)
{
	int code;

	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		code = SCIMSYNC_ERETRY;
		break;
	case SQLITE_CONSTRAINT:
		code = (rc == SQLITE_CONSTRAINT_UNIQUE ||
			rc == SQLITE_CONSTRAINT_PRIMARYKEY)
			       ? SCIMSYNC_ECONFLICT
			       : SCIMSYNC_EFAIL;
		break;
	default:
		code = SCIMSYNC_EFAIL;
		break;
	}
	set_err(err, code, "%s: %s", what,
		db != NULL ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
	return code;
}

static void host_log(const scimsync_store *s, int level, const char *fmt,
		     const char *arg)
{
	if (s->host == NULL ||
	    s->host->struct_size <
		    offsetof(scimsync_host, log) + sizeof(s->host->log) ||
	    s->host->log == NULL)
		return;
	s->host->log(level, STORE_NAME, fmt, arg);
}

/* ---- statements ---- */

static int stmt_get(scimsync_store_conn *c, enum stmt_id id, sqlite3_stmt **out,
		    scimsync_err *err)
{
	int rc;

	*out = NULL;
	if (c->st[id] == NULL) {
		rc = sqlite3_prepare_v3(c->db, stmt_sql[id], -1,
					SQLITE_PREPARE_PERSISTENT, &c->st[id],
					NULL);
		if (rc != SQLITE_OK)
			return sq_fail(err, c->db, rc, "prepare");
	}
	*out = c->st[id];
	return SCIMSYNC_OK;
}

/* Reset and unbind, so no borrowed pointer stays in the statement. */
static void stmt_done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

static void bind_text(sqlite3_stmt *st, int i, const char *v)
{
	if (v == NULL)
		sqlite3_bind_null(st, i);
	else
		sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
}

/* Step a statement that returns no rows (or whose rows are ignored). */
static int stmt_exec(scimsync_store_conn *c, sqlite3_stmt *st, const char *what,
		     scimsync_err *err)
{
	int rc;

	do
		rc = sqlite3_step(st);
	while (rc == SQLITE_ROW);
	if (rc != SQLITE_DONE) {
		rc = sq_fail(err, c->db, rc, what);
		stmt_done(st);
		return rc;
	}
	stmt_done(st);
	return SCIMSYNC_OK;
}

static int exec_id(scimsync_store_conn *c, enum stmt_id id, const char *what,
		   scimsync_err *err)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = stmt_get(c, id, &st, err)) != SCIMSYNC_OK)
		return rc;
	return stmt_exec(c, st, what, err);
}

static const char *col_text(sqlite3_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st, i);
}

/* Iterate rows of a resource query and hand each to cb. */
static int each_resource(scimsync_store_conn *c, sqlite3_stmt *st,
			 scimsync_resource_cb cb, void *payload, int *nrows,
			 scimsync_err *err)
{
	scimsync_resource r;
	int rc;

	*nrows = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&r, 0, sizeof(r));
		r.seq = sqlite3_column_int64(st, 0);
		r.tenant = col_text(st, 1);
		r.type = sqlite3_column_int(st, 2);
		r.id = col_text(st, 3);
		r.version = sqlite3_column_int64(st, 4);
		r.user_name_key = col_text(st, 5);
		r.external_id = col_text(st, 6);
		r.display_key = col_text(st, 7);
		r.display = col_text(st, 8);
		r.json = col_text(st, 9);
		r.json_len = (size_t)sqlite3_column_bytes(st, 9);
		if (r.json == NULL)
			r.json = "";
		(*nrows)++;
		if (cb(&r, payload) != 0) {
			stmt_done(st);
			return fail(err, SCIMSYNC_ESTOPPED,
				    "stopped by callback");
		}
	}
	if (rc != SQLITE_DONE) {
		rc = sq_fail(err, c->db, rc, "read resources");
		stmt_done(st);
		return rc;
	}
	stmt_done(st);
	return SCIMSYNC_OK;
}

/* One member row: group_id, member_id, member_type, display. */
static void member_from_row(sqlite3_stmt *st, scimsync_member *m)
{
	m->group_id = col_text(st, 0);
	m->member_id = col_text(st, 1);
	m->member_type = sqlite3_column_int(st, 2);
	m->display = col_text(st, 3);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Iterate member rows; with filter (sorted, n_filter entries) only the
 * rows whose member_id is in it. */
static int each_member(scimsync_store_conn *c, sqlite3_stmt *st,
		       const char *const *filter, size_t n_filter,
		       scimsync_member_cb cb, void *payload, scimsync_err *err)
{
	scimsync_member m;
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		member_from_row(st, &m);
		if (m.member_id == NULL)
			continue;
		if (filter != NULL && bsearch(&m.member_id, filter, n_filter,
					      sizeof(*filter), cmp_str) == NULL)
			continue;
		if (cb(&m, payload) != 0) {
			stmt_done(st);
			return fail(err, SCIMSYNC_ESTOPPED,
				    "stopped by callback");
		}
	}
	if (rc != SQLITE_DONE) {
		rc = sq_fail(err, c->db, rc, "read members");
		stmt_done(st);
		return rc;
	}
	stmt_done(st);
	return SCIMSYNC_OK;
}

static int need_writer(scimsync_store_conn *c, scimsync_err *err)
{
	if (!c->writer)
		return fail(err, SCIMSYNC_EFAIL, "write on a read connection");
	return SCIMSYNC_OK;
}

/* ---- open / close ---- */

static int parse_long(const char *v, long min, long max, long *out)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (errno != 0 || end == v || *end != '\0' || n < min || n > max)
		return -1;
	*out = n;
	return 0;
}

static int parse_options(scimsync_store *s, const scimsync_option *options,
			 scimsync_err *err)
{
	static const char *const sync_modes[] = {"OFF", "NORMAL", "FULL",
						 "EXTRA"};
	const scimsync_option *o;
	size_t i;

	s->synchronous = "FULL";
	s->busy_timeout_ms = 5000;
	s->mmap_size_mb = 0;
	for (o = options; o != NULL && o->key != NULL; o++) {
		const char *v = o->value != NULL ? o->value : "";

		if (strcmp(o->key, "path") == 0) {
			if (*v == '\0')
				return fail(err, SCIMSYNC_EFAIL,
					    "option 'path' is empty");
			free(s->path);
			if ((s->path = strdup(v)) == NULL)
				return fail(err, SCIMSYNC_EFAIL,
					    "out of memory");
		} else if (strcmp(o->key, "synchronous") == 0) {
			for (i = 0;
			     i < sizeof(sync_modes) / sizeof(sync_modes[0]);
			     i++)
				if (strcasecmp(v, sync_modes[i]) == 0)
					break;
			if (i == sizeof(sync_modes) / sizeof(sync_modes[0]))
				return fail(err, SCIMSYNC_EFAIL,
					    "option 'synchronous': '%.64s' is "
					    "not OFF, NORMAL, FULL or EXTRA",
					    v);
			s->synchronous = sync_modes[i];
		} else if (strcmp(o->key, "cache_size_kb") == 0) {
			if (parse_long(v, 1, LONG_MAX / 2, &s->cache_size_kb) !=
			    0)
				return fail(err, SCIMSYNC_EFAIL,
					    "option 'cache_size_kb': '%.64s' "
					    "is not a positive integer",
					    v);
		} else if (strcmp(o->key, "mmap_size_mb") == 0) {
			if (parse_long(v, 0, 1L << 20, &s->mmap_size_mb) != 0)
				return fail(err, SCIMSYNC_EFAIL,
					    "option 'mmap_size_mb': '%.64s' is "
					    "not an integer >= 0",
					    v);
		} else if (strcmp(o->key, "busy_timeout_ms") == 0) {
			if (parse_long(v, 0, INT_MAX, &s->busy_timeout_ms) != 0)
				return fail(err, SCIMSYNC_EFAIL,
					    "option 'busy_timeout_ms': "
					    "'%.64s' is not an integer >= 0",
					    v);
		} else {
			host_log(s, SCIMSYNC_LOG_WARN, "unknown option '%s'",
				 o->key);
		}
	}
	if (s->path == NULL)
		return fail(err, SCIMSYNC_EFAIL, "option 'path' is required");
	return SCIMSYNC_OK;
}

/* Open a handle with this store's per-connection settings. */
static int db_open(scimsync_store *s, sqlite3 **out, scimsync_err *err)
{
	char sql[160];
	sqlite3 *db = NULL;
	int rc;

	*out = NULL;
	rc = sqlite3_open_v2(s->path, &db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				     SQLITE_OPEN_NOMUTEX,
			     NULL);
	if (rc != SQLITE_OK) {
		set_err(err, SCIMSYNC_EFAIL, "open %.160s: %s", s->path,
			db != NULL ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		sqlite3_close(db);
		return SCIMSYNC_EFAIL;
	}
	sqlite3_extended_result_codes(db, 1);
	sqlite3_busy_timeout(db, (int)s->busy_timeout_ms);
	snprintf(sql, sizeof(sql), "PRAGMA synchronous=%s;", s->synchronous);
	rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	if (rc == SQLITE_OK && s->cache_size_kb > 0) {
		snprintf(sql, sizeof(sql), "PRAGMA cache_size=-%ld;",
			 s->cache_size_kb);
		rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	}
	/* Optionally read through a memory map instead of a pread(2) per
	 * page: measured ~7% more GET/s at 100,000 users, but the mapped
	 * pages count in the process's RSS (1 GB at 200,000 users), which
	 * operators read as memory use. Off by default. Writes still go
	 * through write(2) and fsync. */
	if (rc == SQLITE_OK && s->mmap_size_mb > 0) {
		snprintf(sql, sizeof(sql), "PRAGMA mmap_size=%lld;",
			 (long long)s->mmap_size_mb << 20);
		rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	}
	if (rc != SQLITE_OK) {
		rc = sq_fail(err, db, rc, "configure connection");
		sqlite3_close(db);
		return rc;
	}
	*out = db;
	return SCIMSYNC_OK;
}

static int int_pragma(sqlite3 *db, const char *sql, int *out)
{
	sqlite3_stmt *st;
	int rc;

	rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return rc;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*out = sqlite3_column_int(st, 0);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	return rc;
}

/* WAL mode, then the schema, in one immediate transaction so two
 * processes opening a new file at once do not race. */
static int schema_setup(scimsync_store *s, scimsync_err *err)
{
	sqlite3 *db;
	char *msg = NULL;
	char sql[64];
	int rc, version = 0;

	if ((rc = db_open(s, &db, err)) != SCIMSYNC_OK)
		return rc;
	rc = sqlite3_exec(db, "PRAGMA journal_mode=WAL;", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		rc = sq_fail(err, db, rc, "set WAL mode");
		goto out;
	}
	if ((rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL)) !=
		    SQLITE_OK ||
	    (rc = int_pragma(db, "PRAGMA user_version", &version)) !=
		    SQLITE_OK) {
		rc = sq_fail(err, db, rc, "read schema version");
		goto out;
	}
	if (version > SCHEMA_VERSION) {
		rc = fail(err, SCIMSYNC_EFAIL,
			  "%.160s: schema version %d is newer than this "
			  "plugin's (%d)",
			  s->path, version, SCHEMA_VERSION);
		goto out;
	}
	rc = sqlite3_exec(db, schema_sql, NULL, NULL, &msg);
	if (rc == SQLITE_OK && version != SCHEMA_VERSION) {
		snprintf(sql, sizeof(sql), "PRAGMA user_version=%d;",
			 SCHEMA_VERSION);
		rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
	}
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, "COMMIT", NULL, NULL, &msg);
	if (rc != SQLITE_OK)
		rc = sq_fail(err, db, rc, "create schema");
	else
		rc = SCIMSYNC_OK;
out:
	sqlite3_free(msg);
	if (!sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(db);
	return rc;
}

static void store_close(scimsync_store *s)
{
	if (s == NULL)
		return;
	free(s->path);
	free(s);
}

static int store_open(scimsync_store **out, const scimsync_host *host,
		      const scimsync_option *options, scimsync_err *err)
{
	scimsync_store *s;
	int rc;

	*out = NULL;
	if (!sqlite3_threadsafe())
		return fail(err, SCIMSYNC_EFAIL,
			    "libsqlite3 is built without thread support");
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return fail(err, SCIMSYNC_EFAIL, "out of memory");
	s->host = host;
	if ((rc = parse_options(s, options, err)) != SCIMSYNC_OK ||
	    (rc = schema_setup(s, err)) != SCIMSYNC_OK) {
		store_close(s);
		return rc;
	}
	*out = s;
	return SCIMSYNC_OK;
}

static void conn_close(scimsync_store_conn *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < ST_MAX; i++)
		sqlite3_finalize(c->st[i]);
	for (i = 0; i < MEMBERS_IN_MAX; i++)
		sqlite3_finalize(c->members_in[i]);
	if (c->db != NULL && !sqlite3_get_autocommit(c->db))
		sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(c->db);
	free(c);
}

static int conn_open(scimsync_store_conn **out, scimsync_store *s, int writer,
		     scimsync_err *err)
{
	scimsync_store_conn *c;
	int rc;

	*out = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return fail(err, SCIMSYNC_EFAIL, "out of memory");
	c->s = s;
	c->writer = writer != 0;
	if ((rc = db_open(s, &c->db, err)) != SCIMSYNC_OK) {
		free(c);
		return rc;
	}
	/* Readers never write, even by mistake. */
	if (!c->writer && (rc = sqlite3_exec(c->db, "PRAGMA query_only=1;",
					     NULL, NULL, NULL)) != SQLITE_OK) {
		rc = sq_fail(err, c->db, rc, "configure reader");
		conn_close(c);
		return rc;
	}
	*out = c;
	return SCIMSYNC_OK;
}

/* ---- reads ---- */

static int res_get(scimsync_store_conn *c, const char *tenant, int type,
		   const char *id, scimsync_resource_cb cb, void *payload,
		   scimsync_err *err)
{
	sqlite3_stmt *st;
	int rc, n;

	if ((rc = stmt_get(c, ST_GET, &st, err)) != SCIMSYNC_OK)
		return rc;
	bind_text(st, 1, tenant);
	sqlite3_bind_int(st, 2, type);
	bind_text(st, 3, id);
	if ((rc = each_resource(c, st, cb, payload, &n, err)) != SCIMSYNC_OK)
		return rc;
	if (n == 0)
		return fail(err, SCIMSYNC_ENOTFOUND, "no such resource");
	return SCIMSYNC_OK;
}

static int query_stmt(scimsync_store_conn *c, const scimsync_query *q,
		      enum stmt_id base, sqlite3_stmt **out, scimsync_err *err)
{
	sqlite3_stmt *st;
	int rc;

	*out = NULL;
	if (q->index < SCIMSYNC_IDX_NONE || q->index > SCIMSYNC_IDX_DISPLAYNAME)
		return fail(err, SCIMSYNC_EFAIL, "unknown index %d", q->index);
	if (q->index != SCIMSYNC_IDX_NONE && q->index_value == NULL)
		return fail(err, SCIMSYNC_EFAIL, "index %d without a value",
			    q->index);
	if ((rc = stmt_get(c, base + q->index, &st, err)) != SCIMSYNC_OK)
		return rc;
	bind_text(st, 1, q->tenant);
	sqlite3_bind_int(st, 2, q->type);
	bind_text(st, 3, q->index_value);
	sqlite3_bind_int64(st, 4, q->after_seq);
	*out = st;
	return SCIMSYNC_OK;
}

static int res_list(scimsync_store_conn *c, const scimsync_query *q,
		    scimsync_resource_cb cb, void *payload, scimsync_err *err)
{
	sqlite3_stmt *st;
	int rc, n;

	if ((rc = query_stmt(c, q, ST_LIST, &st, err)) != SCIMSYNC_OK)
		return rc;
	sqlite3_bind_int64(st, 5, q->limit < 0 ? -1 : q->limit);
	sqlite3_bind_int64(st, 6, q->offset < 0 ? 0 : q->offset);
	return each_resource(c, st, cb, payload, &n, err);
}

static int res_count(scimsync_store_conn *c, const scimsync_query *q,
		     int64_t *out, scimsync_err *err)
{
	sqlite3_stmt *st;
	int rc;

	*out = 0;
	if ((rc = query_stmt(c, q, ST_COUNT, &st, err)) != SCIMSYNC_OK)
		return rc;
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		rc = sq_fail(err, c->db, rc, "count");
		stmt_done(st);
		return rc;
	}
	*out = sqlite3_column_int64(st, 0);
	stmt_done(st);
	return SCIMSYNC_OK;
}

/* The cached statement for members(only_ids) with n ids, 1 <= n <= max. */
static int members_in_stmt(scimsync_store_conn *c, size_t n, sqlite3_stmt **out,
			   scimsync_err *err)
{
	char sql[sizeof(MEMBERS_SQL_HEAD) + 64 + 6 * MEMBERS_IN_MAX];
	size_t i, len;
	int rc;

	*out = NULL;
	if (c->members_in[n - 1] == NULL) {
		len = (size_t)snprintf(sql, sizeof(sql),
				       "%s AND m.member_id IN (",
				       MEMBERS_SQL_HEAD);
		for (i = 0; i < n; i++)
			len += (size_t)snprintf(sql + len, sizeof(sql) - len,
						"%s?%zu", i ? "," : "", i + 3);
		snprintf(sql + len, sizeof(sql) - len,
			 ") ORDER BY m.added_seq");
		rc = sqlite3_prepare_v3(c->db, sql, -1,
					SQLITE_PREPARE_PERSISTENT,
					&c->members_in[n - 1], NULL);
		if (rc != SQLITE_OK)
			return sq_fail(err, c->db, rc, "prepare");
	}
	*out = c->members_in[n - 1];
	return SCIMSYNC_OK;
}

static int res_members(scimsync_store_conn *c, const char *tenant,
		       const char *group_id, const char *const *only_ids,
		       size_t n_only, scimsync_member_cb cb, void *payload,
		       scimsync_err *err)
{
	const char **sorted = NULL;
	sqlite3_stmt *st;
	size_t i;
	int rc;

	if (only_ids != NULL && n_only == 0)
		return SCIMSYNC_OK;
	if (only_ids != NULL && n_only <= MEMBERS_IN_MAX) {
		if ((rc = members_in_stmt(c, n_only, &st, err)) != SCIMSYNC_OK)
			return rc;
		for (i = 0; i < n_only; i++)
			bind_text(st, (int)i + 3, only_ids[i]);
	} else {
		if ((rc = stmt_get(c, ST_MEMBERS, &st, err)) != SCIMSYNC_OK)
			return rc;
		if (only_ids != NULL) {
			sorted = malloc(n_only * sizeof(*sorted));
			if (sorted == NULL)
				return fail(err, SCIMSYNC_EFAIL,
					    "out of memory");
			memcpy(sorted, only_ids, n_only * sizeof(*sorted));
			qsort(sorted, n_only, sizeof(*sorted), cmp_str);
		}
	}
	bind_text(st, 1, tenant);
	bind_text(st, 2, group_id);
	rc = each_member(c, st, sorted, n_only, cb, payload, err);
	free(sorted);
	return rc;
}

static int res_groups_of(scimsync_store_conn *c, const char *tenant,
			 const char *member_id, scimsync_member_cb cb,
			 void *payload, scimsync_err *err)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = stmt_get(c, ST_GROUPS_OF, &st, err)) != SCIMSYNC_OK)
		return rc;
	bind_text(st, 1, tenant);
	bind_text(st, 2, member_id);
	return each_member(c, st, NULL, 0, cb, payload, err);
}

/* ---- read snapshots ---- */

static int read_begin(scimsync_store_conn *c, scimsync_err *err)
{
	if (c->writer)
		return SCIMSYNC_OK; /* the writer reads its own transaction */
	return exec_id(c, ST_READ_BEGIN, "read begin", err);
}

static int read_end(scimsync_store_conn *c, scimsync_err *err)
{
	if (c->writer)
		return SCIMSYNC_OK;
	return exec_id(c, ST_READ_END, "read end", err);
}

/* ---- transactions ---- */

static int tx_begin(scimsync_store_conn *c, scimsync_err *err)
{
	int rc;

	if ((rc = need_writer(c, err)) != SCIMSYNC_OK)
		return rc;
	return exec_id(c, ST_BEGIN, "begin", err);
}

static int tx_commit(scimsync_store_conn *c, scimsync_err *err)
{
	int rc;

	if ((rc = need_writer(c, err)) != SCIMSYNC_OK)
		return rc;
	return exec_id(c, ST_COMMIT, "commit", err);
}

static int tx_rollback(scimsync_store_conn *c, scimsync_err *err)
{
	int rc;

	if ((rc = need_writer(c, err)) != SCIMSYNC_OK)
		return rc;
	/* An error may already have rolled the transaction back. */
	if (sqlite3_get_autocommit(c->db))
		return SCIMSYNC_OK;
	return exec_id(c, ST_ROLLBACK, "rollback", err);
}

static int tx_savepoint(scimsync_store_conn *c, scimsync_err *err)
{
	int rc;

	if ((rc = need_writer(c, err)) != SCIMSYNC_OK)
		return rc;
	return exec_id(c, ST_SAVEPOINT, "savepoint", err);
}

static int tx_release(scimsync_store_conn *c, scimsync_err *err)
{
	int rc;

	if ((rc = need_writer(c, err)) != SCIMSYNC_OK)
		return rc;
	return exec_id(c, ST_RELEASE, "release", err);
}

/* Undo the request's work and end its savepoint (ROLLBACK TO keeps the
 * savepoint open; RELEASE pops it so the next request starts afresh). */
static int tx_rollback_to(scimsync_store_conn *c, scimsync_err *err)
{
	int rc;

	if ((rc = need_writer(c, err)) != SCIMSYNC_OK)
		return rc;
	if ((rc = exec_id(c, ST_ROLLBACK_TO, "rollback to savepoint", err)) !=
	    SCIMSYNC_OK)
		return rc;
	return exec_id(c, ST_RELEASE, "release", err);
}

/* ---- writes ---- */

static int res_put(scimsync_store_conn *c, const scimsync_resource *r,
		   int create, scimsync_err *err)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = need_writer(c, err)) != SCIMSYNC_OK)
		return rc;
	if (r->tenant == NULL || r->id == NULL ||
	    (r->json == NULL && r->json_len > 0))
		return fail(err, SCIMSYNC_EFAIL,
			    "put: tenant, id and json are required");
	if (r->json_len > INT_MAX)
		return fail(err, SCIMSYNC_EFAIL, "put: resource too large");
	rc = stmt_get(c, create ? ST_INSERT : ST_UPDATE, &st, err);
	if (rc != SCIMSYNC_OK)
		return rc;
	bind_text(st, 1, r->tenant);
	sqlite3_bind_int(st, 2, r->type);
	bind_text(st, 3, r->id);
	sqlite3_bind_int64(st, 4, r->version);
	bind_text(st, 5, r->user_name_key);
	bind_text(st, 6, r->external_id);
	bind_text(st, 7, r->display_key);
	bind_text(st, 8, r->display);
	sqlite3_bind_text(st, 9, r->json != NULL ? r->json : "",
			  (int)r->json_len, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		stmt_done(st);
		if (!create && sqlite3_changes(c->db) == 0)
			return fail(err, SCIMSYNC_ENOTFOUND,
				    "no such resource");
		return SCIMSYNC_OK;
	}
	if ((rc & 0xff) == SQLITE_CONSTRAINT &&
	    strstr(sqlite3_errmsg(c->db), "user_name_key") != NULL) {
		rc = fail(err, SCIMSYNC_ECONFLICT,
			  "userName is already taken in the tenant");
	} else if (rc == SQLITE_CONSTRAINT_UNIQUE) {
		rc = fail(err, SCIMSYNC_ECONFLICT,
			  "id is already taken in the tenant");
	} else {
		rc = sq_fail(err, c->db, rc, create ? "insert" : "update");
	}
	stmt_done(st);
	return rc;
}

static int res_del(scimsync_store_conn *c, const char *tenant, int type,
		   const char *id, scimsync_err *err)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = need_writer(c, err)) != SCIMSYNC_OK ||
	    (rc = stmt_get(c, ST_DELETE, &st, err)) != SCIMSYNC_OK)
		return rc;
	bind_text(st, 1, tenant);
	sqlite3_bind_int(st, 2, type);
	bind_text(st, 3, id);
	if ((rc = stmt_exec(c, st, "delete", err)) != SCIMSYNC_OK)
		return rc;
	if (sqlite3_changes(c->db) == 0)
		return fail(err, SCIMSYNC_ENOTFOUND, "no such resource");

	if (type == SCIMSYNC_RES_GROUP) {
		if ((rc = stmt_get(c, ST_DELETE_AS_GROUP, &st, err)) !=
		    SCIMSYNC_OK)
			return rc;
		bind_text(st, 1, tenant);
		bind_text(st, 2, id);
		if ((rc = stmt_exec(c, st, "delete members", err)) !=
		    SCIMSYNC_OK)
			return rc;
	}
	if ((rc = stmt_get(c, ST_DELETE_AS_MEMBER, &st, err)) != SCIMSYNC_OK)
		return rc;
	bind_text(st, 1, tenant);
	bind_text(st, 2, id);
	sqlite3_bind_int(st, 3, type);
	return stmt_exec(c, st, "delete memberships", err);
}

/* The type of resource id in the tenant (0 if none); were an id both a
 * user and a group, which the engine never makes, the user wins. */
static int type_of(scimsync_store_conn *c, const char *tenant, const char *id,
		   int *out, scimsync_err *err)
{
	sqlite3_stmt *st;
	int rc;

	*out = 0;
	if ((rc = stmt_get(c, ST_TYPE_OF, &st, err)) != SCIMSYNC_OK)
		return rc;
	bind_text(st, 1, tenant);
	bind_text(st, 2, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*out = sqlite3_column_int(st, 0);
	} else if (rc != SQLITE_DONE) {
		rc = sq_fail(err, c->db, rc, "look up member");
		stmt_done(st);
		return rc;
	}
	stmt_done(st);
	return SCIMSYNC_OK;
}

static int member_add(scimsync_store_conn *c, const char *tenant,
		      const char *group_id, const char *member_id,
		      scimsync_err *err)
{
	sqlite3_stmt *st;
	int rc, type;

	if ((rc = need_writer(c, err)) != SCIMSYNC_OK)
		return rc;
	if ((rc = type_of(c, tenant, group_id, &type, err)) != SCIMSYNC_OK)
		return rc;
	if (type != SCIMSYNC_RES_GROUP)
		return fail(err, SCIMSYNC_ENOTFOUND, "no such group");
	if ((rc = type_of(c, tenant, member_id, &type, err)) != SCIMSYNC_OK)
		return rc;
	if (type == 0)
		return fail(err, SCIMSYNC_ENOTFOUND,
			    "member does not exist in the tenant");
	if ((rc = stmt_get(c, ST_MEMBER_ADD, &st, err)) != SCIMSYNC_OK)
		return rc;
	bind_text(st, 1, tenant);
	bind_text(st, 2, group_id);
	bind_text(st, 3, member_id);
	sqlite3_bind_int(st, 4, type);
	return stmt_exec(c, st, "add member", err);
}

static int member_remove(scimsync_store_conn *c, const char *tenant,
			 const char *group_id, const char *member_id,
			 scimsync_err *err)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = need_writer(c, err)) != SCIMSYNC_OK ||
	    (rc = stmt_get(c, ST_MEMBER_REMOVE, &st, err)) != SCIMSYNC_OK)
		return rc;
	bind_text(st, 1, tenant);
	bind_text(st, 2, group_id);
	bind_text(st, 3, member_id);
	return stmt_exec(c, st, "remove member", err);
}

static int member_clear(scimsync_store_conn *c, const char *tenant,
			const char *group_id, scimsync_err *err)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = need_writer(c, err)) != SCIMSYNC_OK ||
	    (rc = stmt_get(c, ST_MEMBER_CLEAR, &st, err)) != SCIMSYNC_OK)
		return rc;
	bind_text(st, 1, tenant);
	bind_text(st, 2, group_id);
	return stmt_exec(c, st, "clear members", err);
}

/* ---- the descriptor ---- */

static const scimsync_store_plugin store_sqlite = {
	.header = SCIMSYNC_PLUGIN_HEADER_INIT(
		SCIMSYNC_STORE_ABI_MAJOR, SCIMSYNC_STORE_ABI_MINOR,
		scimsync_store_plugin, SCIMSYNC_PLUGIN_STORE, STORE_NAME,
		"0.1.0"),
	.open = store_open,
	.close = store_close,
	.conn_open = conn_open,
	.conn_close = conn_close,
	.get = res_get,
	.list = res_list,
	.count = res_count,
	.members = res_members,
	.groups_of = res_groups_of,
	.begin = tx_begin,
	.commit = tx_commit,
	.rollback = tx_rollback,
	.savepoint = tx_savepoint,
	.release = tx_release,
	.rollback_to = tx_rollback_to,
	.put = res_put,
	.del = res_del,
	.member_add = member_add,
	.member_remove = member_remove,
	.member_clear = member_clear,
	.read_begin = read_begin,
	.read_end = read_end,
};

const scimsync_plugin_header *scimsync_plugin_entry(void)
	__attribute__((visibility("default")));

const scimsync_plugin_header *scimsync_plugin_entry(void)
{
	return &store_sqlite.header;
}
