/* sink_postgres.h - the PostgreSQL sink's insides, shared by its files:
 *   sink_postgres.c  options, what each event does (a plan), the ABI
 *   pg_sql.c         the connection, errors, SQL text, prepared
 *                    statements and running a batch of plans
 * Not installed; nothing here leaves the .so (only the entry symbol is
 * exported). Everything shared is named pgs_ (libpq owns PQ and pg_).
 */
#ifndef SCIMSYNC_SINK_POSTGRES_H
#define SCIMSYNC_SINK_POSTGRES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include <scimsync/sink.h>

#include "sink_util.h"

#define SINK_NAME "postgres"
#define SINK_VERSION "0.1"

#define PASSWORD_MAX 1024
#define STMT_CACHE_MAX 64 /* prepared statements per connection */
#define KEY_MAX 8	  /* columns in a key */

/* What option delete says. */
enum del_mode { DEL_DELETE, DEL_MARK };

/* What a plan does (one statement each). */
enum plan_kind {
	PLAN_NONE,   /* nothing: an event this sink ignores */
	PLAN_UPSERT, /* INSERT ... ON CONFLICT DO UPDATE */
	PLAN_DELETE, /* DELETE by key */
	PLAN_MARK,   /* UPDATE deleted_column, version by key */
	PLAN_GRANT,  /* INSERT a role row ... ON CONFLICT DO NOTHING */
	PLAN_REVOKE  /* DELETE a role row */
};

/* One event as one statement. Parameter i ($i+1) is column cols[i] with
 * value vals[i]; what the columns mean depends on the kind:
 *   UPSERT  cols are the row's columns (key columns among them); nulls
 *           are set to NULL; conflict names the ON CONFLICT target;
 *           guard: only over a row whose version is not newer
 *   DELETE  cols[0..n_key) the key, then the version when guard
 *   MARK    cols[0..n_key) the key, then deleted_column, then the
 *           version when ver is set (guard: as for DELETE)
 *   GRANT, REVOKE  cols[0..n_key) the user's key, then the role column
 * Strings are borrowed from the event and the sink, or inline. */
struct plan {
	enum plan_kind kind;
	const char *table; /* unquoted, maybe schema-qualified */
	const char **cols;
	const char **vals;
	size_t n;
	const char **nulls;
	size_t n_nulls;
	size_t n_key;
	char *const *conflict; /* NULL-ended */
	const char *ver;       /* the version column, or NULL */
	bool guard;	       /* WHERE the row's version is not newer */
	char verbuf[24];
	char timebuf[40];
};

/* A prepared statement on the current connection. */
struct stmt {
	bool used;
	uint64_t hash;
	char *sig; /* what it does: kind, table, columns */
	char name[16];
};

/* A sink state: options, then the connection (one per state, used from
 * the dispatcher thread only). */
struct scimsync_sink {
	const scimsync_host *host; /* borrowed until close */

	/* options */
	char *conninfo; /* never logged: it may hold a password */
	char *pw_file;	/* or */
	char *pw_env;	/* where the password is read, per connect */
	int connect_timeout_ms;
	int statement_timeout_ms; /* 0: none */
	bool pipeline;		  /* libpq pipeline mode for a batch */
	char *users_table;
	char *groups_table; /* "": group events ignored */
	char *roles_table;  /* "": role events ignored */
	char **key;	    /* the users' key columns, NULL-ended */
	char **group_key;
	char *version_column; /* NULL: no versions */
	char **managed;	      /* NULL-ended, or NULL */
	enum del_mode del;
	char *deleted_column;
	char *role_column;

	/* connection */
	PGconn *pg;
	bool down; /* lost, not yet reconnected (for the log) */
	bool ever_up;
	struct stmt cache[STMT_CACHE_MAX];
	unsigned next_stmt;
};

/* The host's log, when the host has one (checked by struct_size). */
#define LOG(s, level, ...) SU_LOG((s)->host, SINK_NAME, level, __VA_ARGS__)

/* pg_sql.c: the int results are SCIMSYNC_OK or another SCIMSYNC_ code,
 * with err filled. */
int pgs_read_password(const scimsync_sink *s, char *buf, size_t cap,
		      scimsync_err *err);
void pgs_conn_drop(scimsync_sink *s);
int pgs_conn_open(scimsync_sink *s, scimsync_err *err);
int pgs_exec_simple(scimsync_sink *s, const char *sql, scimsync_err *err);
/* Run plans[0..n) in one transaction. On failure *failed is the index of
 * the plan that failed, or n when the COMMIT did. */
int pgs_run_batch(scimsync_sink *s, const struct plan *plans, size_t n,
		  size_t *failed, scimsync_err *err);

#endif
