/* scim_list.h - listing and searching (RFC 7644 §3.4.2, §3.4.3; cursor
 * pagination per RFC 9865): filter, sortBy/sortOrder, startIndex/count,
 * cursor/count, attributes/excludedAttributes. */
#ifndef SCIMSYNC_SCIM_LIST_H
#define SCIMSYNC_SCIM_LIST_H

#include <event2/buffer.h>
#include <jansson.h>

#include "scim_server.h"

typedef struct scim_list_req {
	const char *filter;	/* or NULL */
	const char *sort_by;	/* or NULL */
	const char *sort_order; /* "ascending" | "descending" | NULL */
	long long start_index;	/* 1-based; <1 treated as 1 */
	long long count;	/* -1: server default */
	const char *cursor; /* NULL: index paging; "" starts a cursor walk */
	const char *attributes;
	const char *excluded;
} scim_list_req;

/* Run the query on the calling worker's reader and append the
 * ListResponse to out. -1 with err (400 invalidFilter, invalidCursor, ...). */
int scim_list_run(struct evbuffer *out, scim_srv *srv, const char *tenant,
		  const scim_restype *rt, const scim_list_req *lr,
		  scim_error *err);

/* GET /Users, GET /Groups (from query parameters) and POST .../.search
 * (from a SearchRequest body). */
void scim_handle_list(scim_srv *srv, evhtp_request_t *req, const char *tenant,
		      const scim_restype *rt, scim_query *q);
void scim_handle_search(scim_srv *srv, evhtp_request_t *req, const char *tenant,
			const scim_restype *rt);

#endif
