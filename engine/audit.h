/* audit.h - the audit log: one JSON line per SCIM or admin operation,
 * plus an SQLite index of the same records that the admin API queries by
 * tenant, time range and resource id.
 *
 * audit_write copies the record into a queue and returns at once; one
 * audit thread appends the JSON lines to the file and inserts the rows
 * into the database, many records per transaction. A request never waits
 * for the audit disk.
 *
 * Captured bodies (per tenant, opt-in) go to the database only, never to
 * the JSON-lines file, and are deleted once their expiry passes. They are
 * redacted by the caller with audit_redact_body before audit_write sees
 * them. Token secrets and passwords never reach this module.
 *
 * Threads: every function is safe from any thread, except that
 * audit_close must not race with the others. */
#ifndef SCIMSYNC_AUDIT_H
#define SCIMSYNC_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

typedef struct audit_log audit_log;

typedef struct audit_opts {
	const char *path;    /* JSON-lines file (append, 0600), or NULL */
	const char *db_path; /* SQLite index, or NULL: no queries */
	int retention_days;  /* rows older than this leave the database;
				0: keep forever. The file is never trimmed
				(logrotate's job). */
} audit_opts;

typedef struct audit_rec {
	int64_t time_ms;	  /* when the request arrived (Unix ms) */
	const char *kind;	  /* "scim" or "admin" */
	const char *tenant;	  /* or NULL (not authenticated) */
	const char *token_name;	  /* or NULL */
	const char *token_prefix; /* or NULL; never the secret */
	const char *client;	  /* "addr:port" */
	const char *method;
	const char *path;	   /* without the query string */
	const char *resource_type; /* "User", "Group", "Bulk", "Tenant",
				      "Token", ... or NULL */
	const char *resource_id;   /* or NULL */
	int status;		   /* HTTP status; 0: the client went away */
	double duration_ms;
	const char *detail; /* or NULL: a short note ("token revoked") */
	/* Captured bodies (already redacted), or NULL. Database only. */
	const char *request_body;
	size_t request_body_len;
	const char *response_body;
	size_t response_body_len;
	int64_t body_expires_ms; /* when the bodies are deleted */
} audit_rec;

/* Open the file and/or the database (created with its schema if absent)
 * and start the audit thread. *out is new (audit_close). On error -1 with
 * the reason in errbuf. */
int audit_open(audit_log **out, const audit_opts *o, char *errbuf,
	       size_t errlen);

/* Queue a copy of r (borrowed). Never blocks on disk. NULL a: no-op. */
void audit_write(audit_log *a, const audit_rec *r);

/* Wait (at most timeout_ms) until every record queued before the call is
 * in the file and the database. 0, or -1 on timeout. */
int audit_flush(audit_log *a, int timeout_ms);

typedef struct audit_query {
	const char *tenant;	 /* or NULL: all */
	const char *resource_id; /* or NULL */
	const char *kind;	 /* "scim", "admin" or NULL */
	int64_t since_ms;	 /* inclusive; 0: no bound */
	int64_t until_ms;	 /* exclusive; 0: no bound */
	int64_t before_seq;	 /* only rows with seq < this; 0: no bound
				    (paging: pass the last seq you got) */
	int limit;		 /* 1..1000; 0: 100 */
	bool with_bodies;	 /* include request_body/response_body */
} audit_query;

/* Matching rows, newest first, as a new JSON array of objects with the
 * keys of the JSON line ("time", "kind", "tenant", "token_name",
 * "token_prefix", "client", "method", "path", "resource_type",
 * "resource_id", "status", "duration_ms", "detail") plus "seq" and, when
 * asked and still kept, "request_body"/"response_body" (strings).
 * Flushes first, so a record written before the call is seen. -1 with
 * errbuf when there is no database or it fails. */
int audit_query_run(audit_log *a, const audit_query *q, json_t **out,
		    char *errbuf, size_t errlen);

/* Delete rows older than the retention and bodies past their expiry, as
 * of now_ms (the audit thread also does this hourly). Returns rows
 * deleted or -1. */
int audit_purge(audit_log *a, int64_t now_ms);

/* Drain the queue, stop the thread, close everything. NULL: no-op. */
void audit_close(audit_log *a);

/* A body made safe to keep: a new NUL-terminated string (free()), or NULL
 * on allocation failure. JSON bodies are re-serialised with the values of
 * every member whose name contains "password" or "secret" (any case, any
 * depth), of PATCH operations whose "path" names such an attribute, and of
 * every string that looks like a bearer token ("scim_..." or
 * "Bearer ...") replaced by "[redacted]". A body that is not JSON, or is
 * longer than max_len, is replaced by a one-line note giving its size. */
char *audit_redact_body(const char *body, size_t len, size_t max_len);

#endif
