/* scim_resource.h - SCIM resource operations (RFC 7644 §3.3-3.6) on the
 * store: create, read, replace, patch, delete, for Users and Groups.
 *
 * A write is a scim_op run on the writer thread inside the batch
 * transaction. Each op checks everything it can before its first write,
 * so a failing op leaves nothing behind (the writer also rolls back to the
 * op's savepoint). Bulk runs many ops in one job. */
#ifndef SCIMSYNC_SCIM_RESOURCE_H
#define SCIMSYNC_SCIM_RESOURCE_H

#include <stdbool.h>

#include <evhtp/evhtp.h>
#include <jansson.h>

#include "event.h"
#include "scim_server.h"

typedef enum scim_method {
	SCIM_M_GET,
	SCIM_M_POST,
	SCIM_M_PUT,
	SCIM_M_PATCH,
	SCIM_M_DELETE
} scim_method;

typedef struct scim_op {
	scim_srv *srv;
	const char *tenant;
	const scim_restype *rt;
	scim_method method;
	char *id;	/* PUT, PATCH, DELETE, GET; owned */
	json_t *body;	/* POST, PUT, PATCH; owned */
	char *if_match; /* If-Match header or Bulk "version"; owned */
	bool attach;	/* add groups/members to op->resource */
	/* POST, filled by scim_op_prepare */
	bool prepared;
	char *text;	 /* the stored form; owned */
	json_t *members; /* group members to add; owned */
	/* results */
	int status;	  /* 200, 201, 204 */
	json_t *resource; /* the resource after the op; owned */
	scim_error err;
	scim_change change; /* what it changed, for events (outbox on) */
} scim_op;

void scim_op_clear(scim_op *op);

/* The part of a create that needs no store: validate and normalise the
 * body, assign the id and meta, serialise. Run it on a worker so the
 * writer only inserts; scim_op_run does it itself if it was not done.
 * No-op for other methods. -1 with op->err. */
int scim_op_prepare(scim_op *op);

/* Run op on connection c of plugin p (the writer's, inside a savepoint).
 * Returns 0 with op->status and op->resource set, or -1 with op->err
 * set; on -1 nothing was written. */
int scim_op_run(scim_op *op, const scimsync_store_plugin *p,
		scimsync_store_conn *c);

/* Read one resource with its computed attributes (groups of a user;
 * members of a group unless with_members is false). *out is new.
 * -1 with err (404 when absent). */
int scim_resource_load(json_t **out, scim_srv *srv,
		       const scimsync_store_plugin *p, scimsync_store_conn *c,
		       const char *tenant, const scim_restype *rt,
		       const char *id, bool with_members, scim_error *err);

/* Attach computed attributes to a resource parsed from the store: for
 * users `groups`, for groups `members` (if with_members), reading from c. */
int scim_resource_attach(json_t *res, scim_srv *srv,
			 const scimsync_store_plugin *p, scimsync_store_conn *c,
			 const char *tenant, const scim_restype *rt,
			 bool with_members, scim_error *err);

/* Does a comma-separated attribute list (attributes=...) name attr, a
 * sub-attribute of it, or it URN-qualified? Case-insensitive. */
bool scim_attr_list_mentions(const char *list, const char *attr);

/* The weak ETag of a version: W/"<version>" (out: 32 bytes). */
void scim_etag(char out[32], int64_t version);

/* HTTP handlers for /Users, /Users/{id}, /Groups, /Groups/{id}. id is
 * NULL for the collection. Called on a worker thread. */
void scim_handle_resource(scim_srv *srv, evhtp_request_t *req,
			  const char *tenant, const scim_restype *rt,
			  const char *id, scim_query *q);

/* Submit a job to the writer and pause req until it is durable; then
 * `finish` runs on the worker thread with the request (NULL if the
 * client went away meanwhile, to free arg). Used by resources and Bulk. */
typedef struct scim_async scim_async;
typedef void (*scim_async_run)(scim_async *a, const scimsync_store_plugin *p,
			       scimsync_store_conn *c, void *arg, int *rc);
typedef void (*scim_async_finish)(evhtp_request_t *req, int run_rc,
				  int committed, void *arg);
void scim_async_submit(scim_srv *srv, evhtp_request_t *req, scim_async_run run,
		       scim_async_finish finish, void *arg);

#endif
