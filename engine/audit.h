/* audit.h - the audit log: one JSON line per operation.
 *
 *   {"time":"2026-11-22T09:01:02.123Z","tenant":"default",
 *    "token_prefix":"89f61607","client":"127.0.0.1:51234","method":"POST",
 *    "path":"/scim/v2/Users","resource_type":"User","resource_id":"...",
 *    "status":201,"duration_ms":3.2}
 *
 * Never a token secret (only the prefix of a scim_<prefix>_<secret>
 * token), never a request body. Lines are appended with one write(2)
 * each, so they stay whole across threads and processes. */
#ifndef SCIMSYNC_AUDIT_H
#define SCIMSYNC_AUDIT_H

#include <stddef.h>
#include <stdint.h>

typedef struct audit_log audit_log;

typedef struct audit_rec {
	int64_t time_ms;	  /* when the request arrived */
	const char *tenant;	  /* or NULL (not authenticated) */
	const char *token_prefix; /* or NULL */
	const char *client;	  /* "addr:port" */
	const char *method;
	const char *path;	   /* without the query string */
	const char *resource_type; /* "User", "Group", "Bulk", ... or NULL */
	const char *resource_id;   /* or NULL */
	int status;		   /* HTTP status; 0: the client went away */
	double duration_ms;
} audit_rec;

/* Open (create, append, mode 0600) the log at path. *out is new. */
int audit_open(audit_log **out, const char *path, char *errbuf, size_t errlen);
/* Append one record (borrowed). Thread-safe. */
void audit_write(audit_log *a, const audit_rec *r);
void audit_close(audit_log *a);

#endif
