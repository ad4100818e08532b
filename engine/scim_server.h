/* scim_server.h - the SCIM HTTP front end (libevhtp) and what its modules
 * share: the server context, per-worker state, and reply helpers.
 *
 * Threads: the main thread accepts and handles signals; N libevhtp worker
 * threads parse, authenticate, validate and serialise, and read from the
 * store on their own connection; the writer thread (writer.h) applies
 * writes. A write request is paused on its worker, runs on the writer, and
 * is resumed on its worker once its batch is durable. */
#ifndef SCIMSYNC_SCIM_SERVER_H
#define SCIMSYNC_SCIM_SERVER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include <evhtp/evhtp.h>
#include <jansson.h>

#include <scimsync/store.h>

#include "conf.h"
#include "mapset.h"
#include "schema.h"
#include "scim_error.h"
#include "writer.h"

#define SCIM_BASE_PATH "/scim/v2"
#define SCIM_CONTENT_TYPE "application/scim+json"

typedef struct scim_srv {
	scimsync_config *cfg;
	const scimsync_store_plugin *sp;
	void *plugin_handle;
	scimsync_store *store;
	writer *writer;
	mapset *maps;		 /* mapping files by name, reloaded on SIGHUP */
	struct ratelimit *rl;	 /* per-token limits, or NULL */
	struct audit_log *audit; /* or NULL */
	struct tenant_reg *tenants;
	struct admin_srv *admin;    /* or NULL (no admin.token_sha256) */
	struct event *flush_ev;	    /* writes back tokens' last use */
	bool outbox_on;		    /* sinks configured: writes emit events */
	struct dispatch_set *sinks; /* one dispatcher per sink, or NULL */
	char *base_url; /* no trailing slash: http://127.0.0.1:8080/scim/v2 */
	char *spc_text; /* discovery documents, serialised once at start */
	char *schemas_text;
	char *restypes_text;
	json_t *schemas_by_urn;	  /* urn (lower case) -> text (string) */
	json_t *restypes_by_name; /* name (lower case) -> text (string) */
	evhtp_t *htp;
	struct event_base *base;
	atomic_int inflight;
	atomic_bool stopping;
} scim_srv;

#include "conntrack.h"

/* State of one worker thread. */
typedef struct scim_worker {
	scim_srv *srv;
	struct event_base *base;
	scimsync_store_conn *reader;
	conn_node *conns; /* open connections, freed at exit if still open */
} scim_worker;

/* The worker state of the calling thread (NULL outside workers). */
scim_worker *scim_worker_self(void);

/* A decoded query string: name=value pairs, percent-decoded. */
#define SCIM_MAX_PARAMS 24
typedef struct scim_query {
	int n;
	char *name[SCIM_MAX_PARAMS];
	char *value[SCIM_MAX_PARAMS];
} scim_query;

/* Parse raw (may be NULL). Returns -1 on malformed escapes or too many
 * parameters. Free with scim_query_clear. */
int scim_query_parse(scim_query *q, const char *raw);
void scim_query_clear(scim_query *q);
/* Value of the first parameter named name (case-insensitive) or NULL;
 * *present (if not NULL) tells whether it appeared at all. */
const char *scim_query_get(const scim_query *q, const char *name,
			   bool *present);

/* ---- Replies (worker thread) ---- */

/* Send the response as it stands with status (every reply goes through
 * here, so the status is known at the end of the request). */
void scim_send(evhtp_request_t *req, int status);

/* Send body (stolen; NULL for none) with status, Content-Type
 * application/scim+json, and optional ETag and Location headers. */
void scim_reply_json(evhtp_request_t *req, int status, json_t *body,
		     const char *etag, const char *location);
/* Send the contents of body (moved out; body is left empty) with status,
 * the SCIM content type and an optional ETag. */
void scim_reply_buffer(evhtp_request_t *req, int status, struct evbuffer *body,
		       const char *etag);
/* Send a pre-serialised body (borrowed). */
void scim_reply_text(evhtp_request_t *req, int status, const char *text,
		     size_t len);
/* Send err as a SCIM error body (RFC 7644 §3.12). */
void scim_reply_error(evhtp_request_t *req, const scim_error *err);
/* Send a 405 err with an Allow header listing the allowed methods. */
void scim_reply_error_allow(evhtp_request_t *req, const scim_error *err,
			    const char *allow);
/* New reference: the SCIM error document for err. */
json_t *scim_error_json(const scim_error *err);

/* Parse a request body as a JSON object within the configured limits
 * (size, depth, UTF-8). Returns a new reference or NULL with err set. */
json_t *scim_body_parse(scim_srv *srv, evhtp_request_t *req, size_t max_len,
			scim_error *err);
/* -1 with err = 413 if req's body was larger than max_len. */
int scim_body_check_size(evhtp_request_t *req, size_t max_len, scim_error *err);
/* Same for a buffer. */
json_t *scim_json_parse(const char *buf, size_t len, int max_depth,
			scim_error *err);

/* The client's address of req, with ":port" if with_port. */
void scim_client_addr(evhtp_request_t *req, char *buf, size_t len,
		      bool with_port);

/* "GET", "POST", ... for the audit log ("OTHER" for the rest). */
const char *scim_method_name(htp_method m);

/* Header value or NULL. */
const char *scim_header(evhtp_request_t *req, const char *name);

/* Map a store error to a SCIM error (500 never shows the store's text). */
int scim_store_error(scim_error *err, const scimsync_err *serr,
		     const char *what);

/* An optional store entry (added after 1.0) is used only when the plugin's
 * descriptor is large enough to hold it and sets it. */
#define SCIM_STORE_HAS(p, field)                                               \
	((p)->header.struct_size >= offsetof(scimsync_store_plugin, field) +   \
					    sizeof((p)->field) &&              \
	 (p)->field != NULL)

/* Open and close a read snapshot on a reader (no-ops when the store has
 * none). A failure to open is not fatal: reads then run unsnapshotted. */
void scim_read_begin(scim_srv *srv, scimsync_store_conn *c);
void scim_read_end(scim_srv *srv, scimsync_store_conn *c);

/* The services plugins get from the host (logging), for every plugin. */
const scimsync_host *scim_host_services(void);

/* ---- Lifecycle ---- */
int scim_srv_start(scim_srv **out, scimsync_config *cfg, char *errbuf,
		   size_t errlen);
/* Run until SIGTERM/SIGINT, then finish in-flight requests. */
int scim_srv_run(scim_srv *srv);
void scim_srv_free(scim_srv *srv);

#endif
