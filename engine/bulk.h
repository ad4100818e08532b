/* bulk.h - POST /Bulk (RFC 7644 §3.7): bulkId references (in paths and
 * in data, including group members), failOnErrors, maxOperations and
 * maxPayloadSize. All write operations of one request run in one writer
 * job, so a Bulk request costs one durable commit. */
#ifndef SCIMSYNC_BULK_H
#define SCIMSYNC_BULK_H

#include "scim_server.h"

void scim_handle_bulk(scim_srv *srv, evhtp_request_t *req, const char *tenant);

#endif
