/* scim_server.c - the SCIM HTTP front end: routing, authentication,
 * discovery documents, replies, worker threads and graceful shutdown. */
#include "config.h"

#include <ctype.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "admin.h"
#include "audit.h"
#include "bulk.h"
#include "conntrack.h"
#include "dispatch.h"
#include "log.h"
#include "plugin_load.h"
#include "ratelimit.h"
#include "scim_list.h"
#include "scim_resource.h"
#include "scim_server.h"
#include "strutil.h"
#include "tenant.h"

static _Thread_local scim_worker *worker_self;

/* What the audit line of a request needs, from arrival to the end. */
typedef struct scim_reqctx {
	scim_srv *srv;
	int64_t start_ms;
	struct timespec start;
	const char *tenant; /* set once authenticated (interned) */
	tenant_auth auth;   /* the token's tenant, name, prefix, limits */
	const char *detail; /* for the audit line: why it was refused */
	int status;	    /* the status sent (scim_send) */
	char *req_body;	    /* captured (redacted) bodies, or NULL */
	char *resp_body;
	bool audited; /* the audit line is written (at the reply) */
} scim_reqctx;

#define CAPTURE_MAX_BYTES (256 * 1024)

/* The request the calling worker is routing (for scim_async_submit). */
static _Thread_local scim_reqctx *route_ctx;

scim_worker *scim_worker_self(void)
{
	return worker_self;
}

/* ---- Query strings ---- */

static int hexdig(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Percent-decode [s, s+len) into a new string ('+' is a space). */
static char *pct_decode(const char *s, size_t len)
{
	char *out = malloc(len + 1), *o = out;

	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '%') {
			int hi, lo;

			if (i + 2 >= len ||
			    (hi = hexdig((unsigned char)s[i + 1])) < 0 ||
			    (lo = hexdig((unsigned char)s[i + 2])) < 0) {
				free(out);
				return NULL;
			}
			*o++ = (char)(hi << 4 | lo);
			i += 2;
		} else if (s[i] == '+') {
			*o++ = ' ';
		} else {
			*o++ = s[i];
		}
	}
	*o = '\0';
	return out;
}

int scim_query_parse(scim_query *q, const char *raw)
{
	const char *p = raw;

	memset(q, 0, sizeof(*q));
	while (p && *p) {
		const char *amp = strchr(p, '&');
		const char *end = amp ? amp : p + strlen(p);
		const char *eq = memchr(p, '=', (size_t)(end - p));
		char *name, *value;

		if (end > p) {
			if (q->n == SCIM_MAX_PARAMS)
				return -1;
			name = pct_decode(p, (size_t)((eq ? eq : end) - p));
			value = eq ? pct_decode(eq + 1, (size_t)(end - eq - 1))
				   : strdup("");
			if (name == NULL || value == NULL) {
				free(name);
				free(value);
				return -1;
			}
			q->name[q->n] = name;
			q->value[q->n] = value;
			q->n++;
		}
		p = amp ? amp + 1 : NULL;
	}
	return 0;
}

void scim_query_clear(scim_query *q)
{
	for (int i = 0; i < q->n; i++) {
		free(q->name[i]);
		free(q->value[i]);
	}
	q->n = 0;
}

const char *scim_query_get(const scim_query *q, const char *name, bool *present)
{
	for (int i = 0; i < q->n; i++)
		if (scim_strcasecmp(q->name[i], name) == 0) {
			if (present)
				*present = true;
			return q->value[i];
		}
	if (present)
		*present = false;
	return NULL;
}

/* ---- Replies ---- */

static evhtp_res on_request_fini(evhtp_request_t *req, void *arg);

/* A body captured for the audit database: redacted, bounded. */
static void audit_request(scim_reqctx *rc, evhtp_request_t *req, int status);

static char *capture(struct evbuffer *b)
{
	size_t len = b ? evbuffer_get_length(b) : 0;

	if (len > CAPTURE_MAX_BYTES)
		return audit_redact_body("", len, 0);
	return audit_redact_body(len ? (const char *)evbuffer_pullup(b, -1)
				     : "",
				 len, CAPTURE_MAX_BYTES);
}

void scim_send(evhtp_request_t *req, int status)
{
	/* libevhtp 1.2.18 does not keep the status it sent: note it in the
	 * request's context (the argument of our end-of-request hook) for
	 * the audit log. */
	if (req->hooks &&
	    req->hooks->on_request_fini ==
		    (evhtp_hook_request_fini_cb)on_request_fini &&
	    req->hooks->on_request_fini_arg) {
		scim_reqctx *rc = req->hooks->on_request_fini_arg;

		rc->status = status;
		if (rc->tenant && rc->auth.capture_bodies &&
		    rc->req_body == NULL) {
			rc->req_body = capture(req->buffer_in);
			rc->resp_body = capture(req->buffer_out);
		}
		/* Audited as the reply leaves, so an audit query made after
		 * the client has its answer finds the request. */
		if (!rc->audited) {
			audit_request(rc, req, status);
			rc->audited = true;
		}
	}
	evhtp_send_reply(req, status);
}

void scim_client_addr(evhtp_request_t *req, char *buf, size_t len,
		      bool with_port)
{
	const struct sockaddr *sa = req && req->conn ? req->conn->saddr : NULL;
	char a[INET6_ADDRSTRLEN];

	if (sa && sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;

		inet_ntop(AF_INET, &in->sin_addr, a, sizeof(a));
		if (with_port)
			snprintf(buf, len, "%s:%u", a, ntohs(in->sin_port));
		else
			snprintf(buf, len, "%s", a);
	} else if (sa && sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;

		inet_ntop(AF_INET6, &in6->sin6_addr, a, sizeof(a));
		if (with_port)
			snprintf(buf, len, "[%s]:%u", a, ntohs(in6->sin6_port));
		else
			snprintf(buf, len, "%s", a);
	} else {
		snprintf(buf, len, "-");
	}
}

const char *scim_header(evhtp_request_t *req, const char *name)
{
	return evhtp_kv_find(req->headers_in, name);
}

static void add_header(evhtp_request_t *req, const char *k, const char *v)
{
	evhtp_headers_add_header(req->headers_out,
				 evhtp_header_new(k, v, 0, 1));
}

void scim_reply_text(evhtp_request_t *req, int status, const char *text,
		     size_t len)
{
	if (text) {
		add_header(req, "Content-Type", SCIM_CONTENT_TYPE);
		evbuffer_add(req->buffer_out, text, len);
	}
	scim_send(req, status);
}

void scim_reply_buffer(evhtp_request_t *req, int status, struct evbuffer *body,
		       const char *etag)
{
	if (etag)
		add_header(req, "ETag", etag);
	add_header(req, "Content-Type", SCIM_CONTENT_TYPE);
	evbuffer_add_buffer(req->buffer_out, body);
	scim_send(req, status);
}

void scim_reply_json(evhtp_request_t *req, int status, json_t *body,
		     const char *etag, const char *location)
{
	char *text = NULL;

	if (etag)
		add_header(req, "ETag", etag);
	if (location)
		add_header(req, "Location", location);
	if (body) {
		text = json_dumps(body, JSON_COMPACT);
		json_decref(body);
		if (text == NULL) {
			scim_send(req, 500);
			return;
		}
	}
	scim_reply_text(req, status, text, text ? strlen(text) : 0);
	free(text);
}

json_t *scim_error_json(const scim_error *err)
{
	char status[8];
	json_t *e;

	snprintf(status, sizeof(status), "%d", err->status ? err->status : 500);
	e = json_pack("{s:[s],s:s,s:s}", "schemas", SCIM_URN_ERROR, "status",
		      status, "detail",
		      err->detail[0] ? err->detail : "internal error");
	if (err->scim_type)
		json_object_set_new(e, "scimType", json_string(err->scim_type));
	return e;
}

void scim_reply_error(evhtp_request_t *req, const scim_error *err)
{
	int status = err->status ? err->status : 500;

	if (status == 401)
		add_header(req, "WWW-Authenticate", "Bearer realm=\"scim\"");
	scim_reply_json(req, status, scim_error_json(err), NULL, NULL);
}

void scim_reply_error_allow(evhtp_request_t *req, const scim_error *err,
			    const char *allow)
{
	add_header(req, "Allow", allow);
	scim_reply_error(req, err);
}

int scim_store_error(scim_error *err, const scimsync_err *serr,
		     const char *what)
{
	switch (serr->code) {
	case SCIMSYNC_ENOTFOUND:
		return scim_error_set(err, 404, NULL, "%s not found", what);
	case SCIMSYNC_ECONFLICT:
		return scim_error_set(err, 409, SCIM_ERR_UNIQUENESS, "%s: %s",
				      what, serr->message);
	case SCIMSYNC_ERETRY:
		log_msg(LOG_WARN, "store", "%s: %s", what, serr->message);
		return scim_error_set(err, 503, NULL,
				      "the store is busy; retry later");
	default:
		log_msg(LOG_ERR, "store", "%s: %s", what, serr->message);
		return scim_error_set(err, 500, NULL, "internal error");
	}
}

void scim_read_begin(scim_srv *srv, scimsync_store_conn *c)
{
	scimsync_err serr = {0};

	if (SCIM_STORE_HAS(srv->sp, read_begin) &&
	    srv->sp->read_begin(c, &serr) != 0)
		log_msg(LOG_WARN, "store", "read snapshot: %s", serr.message);
}

void scim_read_end(scim_srv *srv, scimsync_store_conn *c)
{
	scimsync_err serr = {0};

	if (SCIM_STORE_HAS(srv->sp, read_end) &&
	    srv->sp->read_end(c, &serr) != 0)
		log_msg(LOG_WARN, "store", "read snapshot end: %s",
			serr.message);
}

/* ---- Request bodies ---- */

/* Depth of JSON nesting, scanning bytes (strings skipped): refuses deep
 * documents before the parser recurses into them. */
static int json_depth_ok(const char *buf, size_t len, int max_depth)
{
	int depth = 0, in_str = 0;

	for (size_t i = 0; i < len; i++) {
		char c = buf[i];

		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = 0;
			continue;
		}
		if (c == '"')
			in_str = 1;
		else if (c == '{' || c == '[') {
			if (++depth > max_depth)
				return 0;
		} else if (c == '}' || c == ']')
			depth--;
	}
	return 1;
}

json_t *scim_json_parse(const char *buf, size_t len, int max_depth,
			scim_error *err)
{
	json_error_t jerr;
	json_t *v;

	if (len == 0) {
		scim_error_set(err, 400, SCIM_ERR_INVALID_SYNTAX,
			       "the request body is empty");
		return NULL;
	}
	if (!json_depth_ok(buf, len, max_depth)) {
		scim_error_set(err, 400, SCIM_ERR_INVALID_SYNTAX,
			       "JSON nested deeper than %d levels", max_depth);
		return NULL;
	}
	v = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (v == NULL) {
		scim_error_set(err, 400, SCIM_ERR_INVALID_SYNTAX,
			       "invalid JSON at line %d column %d: %s",
			       jerr.line, jerr.column, jerr.text);
		return NULL;
	}
	if (!json_is_object(v)) {
		json_decref(v);
		scim_error_set(err, 400, SCIM_ERR_INVALID_SYNTAX,
			       "the request body must be a JSON object");
		return NULL;
	}
	return v;
}

#define TOO_LARGE_MARK "X-Scimsync-Body-Discarded"

/* The largest body any endpoint accepts. */
static size_t body_cap(const scim_srv *srv)
{
	return srv->cfg->max_body_bytes > srv->cfg->bulk_max_payload
		       ? srv->cfg->max_body_bytes
		       : srv->cfg->bulk_max_payload;
}

/* Bodies over the cap are read and thrown away rather than stored, so the
 * handler can still answer 413 with a SCIM error (libevhtp's own limit
 * drops the connection without a reply). */
static evhtp_res on_body(evhtp_request_t *req, struct evbuffer *buf, void *arg)
{
	scim_srv *srv = arg;
	size_t have = evbuffer_get_length(req->buffer_in);
	size_t len = evbuffer_get_length(buf);

	if (have + len > body_cap(srv) ||
	    evhtp_kv_find(req->headers_in, TOO_LARGE_MARK) != NULL) {
		if (evhtp_kv_find(req->headers_in, TOO_LARGE_MARK) == NULL)
			evhtp_headers_add_header(
				req->headers_in,
				evhtp_header_new(TOO_LARGE_MARK, "1", 0, 0));
		evbuffer_drain(req->buffer_in, have);
		evbuffer_drain(buf, len);
	}
	return EVHTP_RES_OK;
}

/* libevhtp 1.2.18 hands its query-string callback only the part of the
 * request line that arrived in the current read, so a long URL split
 * across TCP segments (or TLS records) is truncated, or the connection is
 * closed without an answer. Until a request's header block is complete we
 * therefore hold the bytes back and run the parser on the whole of it.
 * Bodies are not affected; they are accumulated correctly. */
#define HEADER_WAIT_MAX (64 * 1024)

/* libevhtp's own read callback: the same function for every connection. */
static _Atomic(bufferevent_data_cb) evhtp_readcb;

/* libevhtp's parser refuses a request line or header line longer than
 * its 8 KiB buffer by closing the connection without a word. */
#define LINE_MAX_BYTES 8000

/* Answer status and close, without libevhtp: the request never parsed.
 * libevhtp frees the connection once the answer is written (its write
 * callback finds no request). */
static void shim_refuse(struct bufferevent *bev, int status, const char *reason,
			const char *detail)
{
	char body[256], head[256];
	int blen = snprintf(body, sizeof(body),
			    "{\"schemas\":[\"%s\"],\"status\":\"%d\","
			    "\"detail\":\"%s\"}",
			    SCIM_URN_ERROR, status, detail);
	int hlen = snprintf(head, sizeof(head),
			    "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
			    "Content-Length: %d\r\nConnection: close\r\n\r\n",
			    status, reason, SCIM_CONTENT_TYPE, blen);

	bufferevent_disable(bev, EV_READ);
	evbuffer_drain(bufferevent_get_input(bev), (size_t)-1);
	bufferevent_write(bev, head, (size_t)hlen);
	bufferevent_write(bev, body, (size_t)blen);
}

/* 0 if every line of the header block in (up to its end, or all of in)
 * fits libevhtp's parser; otherwise 414 (request line) or 431. */
static int header_lines_check(struct evbuffer *in, size_t upto)
{
	const char *p = (const char *)evbuffer_pullup(in, (ssize_t)upto);
	size_t start = 0;

	for (size_t i = 0; i <= upto; i++) {
		if (i < upto && p[i] != '\n')
			continue;
		if (i - start > LINE_MAX_BYTES)
			return start == 0 ? 414 : 431;
		start = i + 1;
	}
	return 0;
}

static void shim_readcb(struct bufferevent *bev, void *ctx)
{
	evhtp_connection_t *conn = ctx;
	struct evbuffer *in = bufferevent_get_input(bev);
	bool new_message = conn->request == NULL ||
			   (conn->request->flags & EVHTP_REQ_FLAG_FINISHED);

	if (new_message) {
		struct evbuffer_ptr end =
			evbuffer_search(in, "\r\n\r\n", 4, NULL);
		size_t len = evbuffer_get_length(in);
		int bad;

		if (end.pos < 0 && len < HEADER_WAIT_MAX &&
		    header_lines_check(in, len) == 0)
			return; /* the rest of the headers is on its way */
		bad = end.pos < 0 && len >= HEADER_WAIT_MAX
			      ? 431
			      : header_lines_check(
					in,
					end.pos < 0 ? len : (size_t)end.pos);
		if (bad == 414) {
			shim_refuse(bev, 414, "URI Too Long",
				    "the request line is longer than 8000 "
				    "bytes; use POST .search for long filters");
			return;
		}
		if (bad == 431) {
			shim_refuse(bev, 431, "Request Header Fields Too Large",
				    "a header line is longer than 8000 bytes, "
				    "or the headers than 64 KiB");
			return;
		}
	}
	atomic_load (&evhtp_readcb)(bev, ctx);
}

static void track_conn(evhtp_connection_t *conn)
{
	scim_worker *w = scim_worker_self();

	if (w)
		conn_track(&w->conns, conn);
}

static evhtp_res on_accept(evhtp_connection_t *conn, void *arg)
{
	bufferevent_data_cb rcb, wcb;
	bufferevent_event_cb ecb;
	void *cbarg;

	track_conn(conn);

	evhtp_connection_set_hook(conn, evhtp_hook_on_read, (evhtp_hook)on_body,
				  arg);
	bufferevent_getcb(conn->bev, &rcb, &wcb, &ecb, &cbarg);
	if (rcb != NULL && rcb != shim_readcb) {
		atomic_store(&evhtp_readcb, rcb);
		bufferevent_setcb(conn->bev, shim_readcb, wcb, ecb, cbarg);
	}
	return EVHTP_RES_OK;
}

/* Was the body of req larger than max_len (even if discarded)? */
static bool body_too_large(evhtp_request_t *req, size_t max_len)
{
	const char *cl = scim_header(req, "Content-Length");

	return evhtp_kv_find(req->headers_in, TOO_LARGE_MARK) != NULL ||
	       evbuffer_get_length(req->buffer_in) > max_len ||
	       (cl && strtoull(cl, NULL, 10) > max_len);
}

int scim_body_check_size(evhtp_request_t *req, size_t max_len, scim_error *err)
{
	if (body_too_large(req, max_len))
		return scim_error_set(err, 413, NULL,
				      "the request body is larger than %zu "
				      "bytes",
				      max_len);
	return 0;
}

json_t *scim_body_parse(scim_srv *srv, evhtp_request_t *req, size_t max_len,
			scim_error *err)
{
	size_t len = evbuffer_get_length(req->buffer_in);
	const char *buf;

	if (scim_body_check_size(req, max_len, err) < 0)
		return NULL;
	buf = (const char *)evbuffer_pullup(req->buffer_in, -1);
	return scim_json_parse(buf, len, srv->cfg->max_json_depth, err);
}

/* ---- Discovery ---- */

static char *dump_list(json_t *resources)
{
	json_t *list = json_pack(
		"{s:[s],s:I,s:I,s:I,s:o}", "schemas", SCIM_URN_LIST,
		"totalResults", (json_int_t)json_array_size(resources),
		"itemsPerPage", (json_int_t)json_array_size(resources),
		"startIndex", (json_int_t)1, "Resources", resources);
	char *s = json_dumps(list, JSON_COMPACT);

	json_decref(list);
	return s;
}

static char *lower_dup(const char *s)
{
	char *d = strdup(s);

	for (char *p = d; p && *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return d;
}

static int build_discovery(scim_srv *srv)
{
	const scimsync_config *c = srv->cfg;
	scim_spc_limits lim = {
		.bulk_max_operations = c->bulk_max_operations,
		.bulk_max_payload = (long)c->bulk_max_payload,
		.filter_max_results = c->max_results,
		.etag = true,
		.sort = true,
		.change_password = false,
	};
	json_t *spc = scim_spc_to_json(&lim, srv->base_url);
	json_t *schemas = json_array(), *restypes = json_array();
	const scim_restype *rts[] = {scim_restype_user(), scim_restype_group()};

	if (spc == NULL)
		return -1;
	/* RFC 9865 §4: what pagination the provider offers. */
	json_object_set_new(
		spc, "pagination",
		json_pack("{s:b,s:b,s:s,s:i,s:i}", "cursor", 1, "index", 1,
			  "defaultPaginationMethod", "index", "defaultPageSize",
			  c->default_count, "maxPageSize", c->max_results));
	srv->spc_text = json_dumps(spc, JSON_COMPACT);
	json_decref(spc);

	srv->schemas_by_urn = json_object();
	for (const scim_schema *const *s = scim_schema_all(); *s; s++) {
		json_t *j = scim_schema_to_json(*s, srv->base_url);
		char *key = lower_dup((*s)->id);
		char *text = json_dumps(j, JSON_COMPACT);

		json_object_set_new(srv->schemas_by_urn, key,
				    json_string(text));
		json_array_append_new(schemas, j);
		free(key);
		free(text);
	}
	srv->schemas_text = dump_list(schemas);

	srv->restypes_by_name = json_object();
	for (size_t i = 0; i < 2; i++) {
		json_t *j = scim_restype_to_json(rts[i], srv->base_url);
		char *key = lower_dup(rts[i]->name);
		char *text = json_dumps(j, JSON_COMPACT);

		json_object_set_new(srv->restypes_by_name, key,
				    json_string(text));
		json_array_append_new(restypes, j);
		free(key);
		free(text);
	}
	srv->restypes_text = dump_list(restypes);
	return srv->spc_text && srv->schemas_text && srv->restypes_text ? 0
									: -1;
}

static void reply_discovery_item(evhtp_request_t *req, json_t *by_key,
				 const char *key, const char *what)
{
	char *k = lower_dup(key);
	json_t *v = json_object_get(by_key, k);
	scim_error err;

	free(k);
	if (v == NULL) {
		scim_error_set(&err, 404, NULL, "no such %s", what);
		scim_reply_error(req, &err);
		return;
	}
	scim_reply_text(req, 200, json_string_value(v), json_string_length(v));
}

/* ---- Authentication ---- */

/* The tenant the request's bearer token belongs to (in rc->auth), or
 * NULL with err. The log says why a token was refused; the client only
 * learns that it was. */
static const char *authenticate(scim_srv *srv, evhtp_request_t *req,
				scim_reqctx *rc, scim_error *err)
{
	const char *h = scim_header(req, "Authorization");
	char client[64];
	struct timespec now;
	size_t len;
	tenant_auth_rc arc;

	if (h == NULL || scim_strncasecmp(h, "Bearer ", 7) != 0) {
		scim_error_set(err, 401, NULL,
			       "authentication required: send "
			       "'Authorization: Bearer <token>'");
		rc->detail = "no bearer token";
		return NULL;
	}
	h += 7;
	while (*h == ' ')
		h++;
	len = strlen(h);
	while (len > 0 && h[len - 1] == ' ')
		len--;
	scim_client_addr(req, client, sizeof(client), false);
	clock_gettime(CLOCK_REALTIME, &now);
	arc = tenant_authenticate(
		srv->tenants, scim_worker_self()->reader, h, len, client,
		(int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000, &rc->auth);
	switch (arc) {
	case TENANT_AUTH_OK:
		rc->tenant = tenant_intern(srv->tenants, rc->auth.tenant);
		if (rc->tenant == NULL)
			scim_error_set(err, 503, NULL, "out of memory");
		return rc->tenant;
	case TENANT_AUTH_ERROR:
		scim_error_set(err, 503, NULL,
			       "cannot check the token now; retry");
		rc->detail = "token check failed (store)";
		return NULL;
	case TENANT_AUTH_EXPIRED:
		rc->detail = "token expired";
		break;
	case TENANT_AUTH_REVOKED:
		rc->detail = "token revoked";
		break;
	default:
		rc->detail = "unknown token";
		break;
	}
	scim_error_set(err, 401, NULL, "invalid bearer token");
	return NULL;
}

/* Refused tokens are limited per client address (AUTH_FAIL_RATE a
 * second, AUTH_FAIL_BURST at once): past that, a guessing or misconfigured
 * client gets 429 with Retry-After instead of 401, and no log line each
 * (the audit line still says it). Good tokens never count here. */
#define AUTH_FAIL_RATE 5.0
#define AUTH_FAIL_BURST 20.0

static void refused_limit(scim_srv *srv, evhtp_request_t *req, scim_reqctx *rc,
			  scim_error *err)
{
	char key[RATELIMIT_KEY_MAX + 1];
	struct timespec now;
	int wait;

	key[0] = '!'; /* never a token prefix or tenant name */
	scim_client_addr(req, key + 1, sizeof(key) - 1, false);
	clock_gettime(CLOCK_MONOTONIC, &now);
	wait = ratelimit_take_at(
		srv->rl, key, strlen(key), AUTH_FAIL_RATE, AUTH_FAIL_BURST,
		(int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000);
	if (wait > 0) {
		char after[16];

		snprintf(after, sizeof(after), "%d", wait);
		add_header(req, "Retry-After", after);
		scim_error_set(err, 429, NULL,
			       "too many refused requests from this address; "
			       "retry after %d s",
			       wait);
		rc->detail = "refused token, rate limited";
	}
}

/* Which token was refused and why (never its secret). */
static void log_refusal(evhtp_request_t *req, const scim_reqctx *rc)
{
	char client[64];

	scim_client_addr(req, client, sizeof(client), false);
	log_msg(LOG_INFO, "auth", "refused a request from %s: %s%s%s%s%s%s",
		client, rc->detail, rc->auth.token_prefix[0] ? " scim_" : "",
		rc->auth.token_prefix[0] ? rc->auth.token_prefix : "",
		rc->auth.token_prefix[0] ? "_..." : "",
		rc->auth.token_name[0] ? " name " : "", rc->auth.token_name);
}

/* ---- Routing ---- */

const char *scim_method_name(htp_method m)
{
	switch (m) {
	case htp_method_GET:
		return "GET";
	case htp_method_POST:
		return "POST";
	case htp_method_PUT:
		return "PUT";
	case htp_method_PATCH:
		return "PATCH";
	case htp_method_DELETE:
		return "DELETE";
	case htp_method_HEAD:
		return "HEAD";
	default:
		return "OTHER";
	}
}

static void reply_status(evhtp_request_t *req, int status, const char *stype,
			 const char *detail)
{
	scim_error err;

	scim_error_set(&err, status, stype, "%s", detail);
	scim_reply_error(req, &err);
}

static void reply_405(evhtp_request_t *req, const char *allow,
		      const char *detail)
{
	add_header(req, "Allow", allow);
	reply_status(req, 405, NULL, detail);
}

static void route(scim_srv *srv, evhtp_request_t *req)
{
	const char *full =
		req->uri && req->uri->path ? req->uri->path->full : NULL;
	htp_method m = evhtp_request_get_method(req);
	char seg[3][512];
	int nseg = 0;
	const char *p;
	scim_query q;
	scim_error err;
	const char *tenant;
	const scim_restype *rt;
	scim_reqctx fallback = {.srv = srv};
	scim_reqctx *rc = route_ctx ? route_ctx : &fallback;

	if (full == NULL || strncmp(full, SCIM_BASE_PATH, 8) != 0 ||
	    (full[8] != '/' && full[8] != '\0')) {
		reply_status(
			req, 404, NULL,
			"not a SCIM endpoint; the base is " SCIM_BASE_PATH);
		return;
	}
	/* Split what follows the base into at most 3 decoded segments. */
	p = full + 8;
	while (*p) {
		const char *end;
		char *dec;

		while (*p == '/')
			p++;
		if (*p == '\0')
			break;
		end = strchr(p, '/');
		if (end == NULL)
			end = p + strlen(p);
		if (nseg == 3 || (size_t)(end - p) >= sizeof(seg[0])) {
			reply_status(req, 404, NULL, "no such endpoint");
			return;
		}
		dec = pct_decode(p, (size_t)(end - p));
		if (dec == NULL || strlen(dec) >= sizeof(seg[0])) {
			free(dec);
			reply_status(req, 400, SCIM_ERR_INVALID_SYNTAX,
				     "malformed percent-encoding in the path");
			return;
		}
		strcpy(seg[nseg++], dec);
		free(dec);
		p = end;
	}
	if (scim_query_parse(&q, req->uri ? (const char *)req->uri->query_raw
					  : NULL) < 0) {
		scim_query_clear(&q);
		reply_status(req, 400, SCIM_ERR_INVALID_SYNTAX,
			     "malformed query string");
		return;
	}

	/* Discovery: no token needed. */
	if (nseg >= 1 &&
	    (scim_strcasecmp(seg[0], "ServiceProviderConfig") == 0 ||
	     scim_strcasecmp(seg[0], "Schemas") == 0 ||
	     scim_strcasecmp(seg[0], "ResourceTypes") == 0)) {
		if (m != htp_method_GET && m != htp_method_HEAD)
			reply_405(req, "GET",
				  "discovery endpoints are read-only");
		else if (scim_strcasecmp(seg[0], "ServiceProviderConfig") == 0)
			nseg == 1 ? scim_reply_text(req, 200, srv->spc_text,
						    strlen(srv->spc_text))
				  : reply_status(req, 404, NULL,
						 "no such endpoint");
		else if (scim_strcasecmp(seg[0], "Schemas") == 0)
			nseg == 1 ? scim_reply_text(req, 200, srv->schemas_text,
						    strlen(srv->schemas_text))
			: nseg == 2
				? reply_discovery_item(req, srv->schemas_by_urn,
						       seg[1], "schema")
				: reply_status(req, 404, NULL,
					       "no such endpoint");
		else
			nseg == 1
				? scim_reply_text(req, 200, srv->restypes_text,
						  strlen(srv->restypes_text))
			: nseg == 2
				? reply_discovery_item(req,
						       srv->restypes_by_name,
						       seg[1], "resource type")
				: reply_status(req, 404, NULL,
					       "no such endpoint");
		scim_query_clear(&q);
		return;
	}

	tenant = authenticate(srv, req, rc, &err);
	if (tenant == NULL) {
		if (err.status == 401)
			refused_limit(srv, req, rc, &err);
		if (err.status == 401)
			log_refusal(req, rc);
		scim_reply_error(req, &err);
		scim_query_clear(&q);
		return;
	}
	if (rc->auth.rate > 0) {
		struct timespec now;
		const char *key = rc->auth.token_prefix[0]
					  ? rc->auth.token_prefix
					  : rc->auth.tenant;
		int wait;

		clock_gettime(CLOCK_MONOTONIC, &now);
		wait = ratelimit_take_at(srv->rl, key, strlen(key),
					 rc->auth.rate, rc->auth.burst,
					 (int64_t)now.tv_sec * 1000 +
						 now.tv_nsec / 1000000);
		if (wait > 0) {
			char after[16];

			snprintf(after, sizeof(after), "%d", wait);
			add_header(req, "Retry-After", after);
			scim_error_set(&err, 429, NULL,
				       "too many requests for this token; "
				       "retry after %d s",
				       wait);
			rc->detail = "rate limited";
			scim_reply_error(req, &err);
			scim_query_clear(&q);
			return;
		}
	}
	if (nseg == 1 && scim_strcasecmp(seg[0], "Bulk") == 0) {
		if (m == htp_method_POST)
			scim_handle_bulk(srv, req, tenant);
		else
			reply_405(req, "POST", "Bulk takes POST");
		scim_query_clear(&q);
		return;
	}
	if (nseg == 1 && scim_strcasecmp(seg[0], "Me") == 0) {
		reply_status(req, 501, NULL, "/Me is not supported");
		scim_query_clear(&q);
		return;
	}
	rt = nseg >= 1 ? scim_restype_by_endpoint(seg[0]) : NULL;
	if (rt == NULL || nseg > 2) {
		reply_status(req, 404, NULL, "no such endpoint");
		scim_query_clear(&q);
		return;
	}
	if (nseg == 2 && strcmp(seg[1], ".search") == 0) {
		if (m == htp_method_POST)
			scim_handle_search(srv, req, tenant, rt);
		else
			reply_405(req, "POST", ".search takes POST");
	} else if (nseg == 1 && (m == htp_method_GET || m == htp_method_HEAD)) {
		scim_handle_list(srv, req, tenant, rt, &q);
	} else {
		scim_handle_resource(srv, req, tenant, rt,
				     nseg == 2 ? seg[1] : NULL, &q);
	}
	scim_query_clear(&q);
}

/* The resource type and id a request was about, for the audit log:
 * /scim/v2/Users/{id}, or the Location of what a POST created. */
static void audit_target(evhtp_request_t *req, const char *path, char type[32],
			 char id[128])
{
	const char *p = path, *loc;
	size_t n;

	type[0] = id[0] = '\0';
	if (strncmp(p, SCIM_BASE_PATH, strlen(SCIM_BASE_PATH)) != 0)
		return;
	p += strlen(SCIM_BASE_PATH);
	while (*p == '/')
		p++;
	n = strcspn(p, "/");
	if (n == 0 || n >= 32)
		return;
	snprintf(type, 32, "%.*s", (int)n, p);
	if (strcmp(type, "Users") == 0)
		strcpy(type, "User");
	else if (strcmp(type, "Groups") == 0)
		strcpy(type, "Group");
	p += n;
	if (*p == '/' && p[1] && p[1] != '.')
		snprintf(id, 128, "%s", p + 1);
	else if ((loc = evhtp_kv_find(req->headers_out, "Location")) != NULL &&
		 strrchr(loc, '/'))
		snprintf(id, 128, "%s", strrchr(loc, '/') + 1);
}

static void audit_request(scim_reqctx *rc, evhtp_request_t *req, int status)
{
	char client[64] = "-", type[32], id[128];
	const char *path =
		req && req->uri && req->uri->path ? req->uri->path->full : "";
	struct timespec now;
	audit_rec r = {0};

	if (rc == NULL || rc->srv->audit == NULL)
		return;
	if (req)
		scim_client_addr(req, client, sizeof(client), true);
	audit_target(req, path, type, id);
	clock_gettime(CLOCK_MONOTONIC, &now);
	r.time_ms = rc->start_ms;
	r.kind = "scim";
	/* A refused token's tenant too, when known: who is knocking. */
	r.tenant = rc->tenant		? rc->tenant
		   : rc->auth.tenant[0] ? rc->auth.tenant
					: NULL;
	r.token_name = rc->auth.token_name[0] ? rc->auth.token_name : NULL;
	r.token_prefix =
		rc->auth.token_prefix[0] ? rc->auth.token_prefix : NULL;
	r.client = client;
	r.method = req ? scim_method_name(evhtp_request_get_method(req)) : NULL;
	r.path = path;
	r.resource_type = type[0] ? type : NULL;
	r.resource_id = id[0] ? id : NULL;
	r.status = status;
	r.duration_ms = (double)(now.tv_sec - rc->start.tv_sec) * 1e3 +
			(double)(now.tv_nsec - rc->start.tv_nsec) / 1e6;
	r.detail = rc->detail;
	if (rc->req_body || rc->resp_body) {
		r.request_body = rc->req_body;
		r.request_body_len = rc->req_body ? strlen(rc->req_body) : 0;
		r.response_body = rc->resp_body;
		r.response_body_len = rc->resp_body ? strlen(rc->resp_body) : 0;
		r.body_expires_ms =
			rc->start_ms +
			(int64_t)rc->auth.body_retention_days * 86400000;
	}
	audit_write(rc->srv->audit, &r);
}

static evhtp_res on_request_fini(evhtp_request_t *req, void *arg)
{
	scim_reqctx *rc = arg;
	scim_srv *srv = rc->srv;

	if (!rc->audited)
		audit_request(rc, req, rc->status);
	free(rc->req_body);
	free(rc->resp_body);
	free(rc);
	atomic_fetch_sub(&srv->inflight, 1);
	return EVHTP_RES_OK;
}

static void on_request(evhtp_request_t *req, void *arg)
{
	scim_srv *srv = arg;

	scim_reqctx *rc = calloc(1, sizeof(*rc));
	struct timespec wall;

	if (rc == NULL) {
		scim_send(req, 503);
		return;
	}
	rc->srv = srv;
	clock_gettime(CLOCK_MONOTONIC, &rc->start);
	clock_gettime(CLOCK_REALTIME, &wall);
	rc->start_ms = (int64_t)wall.tv_sec * 1000 + wall.tv_nsec / 1000000;
	atomic_fetch_add(&srv->inflight, 1);
	evhtp_request_set_hook(req, evhtp_hook_on_request_fini,
			       (evhtp_hook)on_request_fini, rc);
	if (htparser_get_major(req->conn->parser) != 1 ||
	    htparser_get_minor(req->conn->parser) > 1) {
		/* libevhtp then answers in HTTP/1.0 rather than echoing the
		 * version it does not speak. */
		req->proto = EVHTP_PROTO_INVALID;
		reply_status(req, 505, NULL,
			     "only HTTP/1.0 and HTTP/1.1 are "
			     "supported");
		return;
	}
	if (log_get_level() >= LOG_DEBUG)
		log_msg(LOG_DEBUG, "http", "%s %s",
			scim_method_name(evhtp_request_get_method(req)),
			req->uri && req->uri->path ? req->uri->path->full
						   : "?");
	route_ctx = rc;
	route(srv, req);
	route_ctx = NULL;
}

/* ---- Async writes: pause on the worker, run on the writer, resume ---- */

struct scim_async {
	writer_job job; /* first: the writer hands us back this pointer */
	scim_srv *srv;
	scim_reqctx *rctx;    /* the request's audit context */
	evhtp_request_t *req; /* NULL once the client is gone */
	struct event *resume;
	scim_async_run run;
	scim_async_finish finish;
	void *arg;
	int run_rc;
	int committed;
};

static evhtp_res async_req_gone(evhtp_request_t *req, void *arg)
{
	scim_async *a = arg;

	a->req = NULL;
	/* The client went away before its write was durable: status 0. */
	if (a->rctx) {
		if (!a->rctx->audited)
			audit_request(a->rctx, req, 0);
		free(a->rctx->req_body);
		free(a->rctx->resp_body);
		free(a->rctx);
	}
	a->rctx = NULL;
	/* Still in flight: the write goes on, and async_resume ends it
	 * (shutdown waits for that, else a and its resume event would be
	 * left behind on a stopped worker). */
	return EVHTP_RES_OK;
}

static int async_job_run(writer_job *job, const scimsync_store_plugin *p,
			 scimsync_store_conn *c)
{
	scim_async *a = (scim_async *)job;
	int rc = 0;

	a->run(a, p, c, a->arg, &rc);
	return rc;
}

static void async_job_done(writer_job *job, int run_rc, int committed)
{
	scim_async *a = (scim_async *)job;

	a->run_rc = run_rc;
	a->committed = committed;
	/* Back to the worker thread that owns the request. */
	event_active(a->resume, EV_TIMEOUT, 1);
}

static void async_resume(evutil_socket_t fd, short what, void *arg)
{
	scim_async *a = arg;
	evhtp_request_t *req = a->req;

	(void)fd;
	(void)what;
	if (!a->committed) {
		char why[256];

		writer_last_error(a->srv->writer, why, sizeof(why));
		log_msg(LOG_ERR, "store", "a write batch did not commit: %s",
			why[0] ? why : "(no detail)");
	}
	if (req) {
		/* The reply is sent now; the fini hook must not touch a. */
		evhtp_request_set_hook(req, evhtp_hook_on_request_fini,
				       (evhtp_hook)on_request_fini, a->rctx);
		a->finish(req, a->run_rc, a->committed, a->arg);
		evhtp_request_resume(req);
	} else {
		a->finish(NULL, a->run_rc, a->committed, a->arg);
		atomic_fetch_sub(&a->srv->inflight, 1); /* see async_req_gone */
	}
	event_free(a->resume);
	free(a);
}

void scim_async_submit(scim_srv *srv, evhtp_request_t *req, scim_async_run run,
		       scim_async_finish finish, void *arg)
{
	scim_worker *w = scim_worker_self();
	scim_async *a = calloc(1, sizeof(*a));

	if (a == NULL || w == NULL) {
		free(a);
		finish(req, -1, 0, arg);
		return;
	}
	a->srv = srv;
	a->rctx = route_ctx;
	a->req = req;
	a->run = run;
	a->finish = finish;
	a->arg = arg;
	a->job.run = async_job_run;
	a->job.done = async_job_done;
	a->resume = event_new(w->base, -1, 0, async_resume, a);
	evhtp_request_set_hook(req, evhtp_hook_on_request_fini,
			       (evhtp_hook)async_req_gone, a);
	evhtp_request_pause(req);
	writer_submit(srv->writer, &a->job);
}

/* ---- Workers ---- */

static void worker_init(evhtp_t *htp, evthr_t *thr, void *arg)
{
	scim_srv *srv = arg;
	scim_worker *w = calloc(1, sizeof(*w));
	scimsync_err serr = {0};

	(void)htp;
	pthread_setname_np(pthread_self(), "scim-http");
	w->srv = srv;
	w->base = evthr_get_base(thr);
	if (srv->sp->conn_open(&w->reader, srv->store, 0, &serr) != 0) {
		log_msg(LOG_ERR, "store", "cannot open a read connection: %s",
			serr.message);
		abort();
	}
	worker_self = w;
}

static void worker_exit(evhtp_t *htp, evthr_t *thr, void *arg)
{
	scim_srv *srv = arg;
	scim_worker *w = worker_self;

	(void)htp;
	(void)thr;
	if (w) {
		/* Connections still open (idle keep-alives). */
		conn_free_all(&w->conns, w->base);
		srv->sp->conn_close(w->reader);
		free(w);
		worker_self = NULL;
	}
}

/* ---- Lifecycle ---- */

static void host_log(int level, const char *plugin, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, plugin, fmt, ap);
	va_end(ap);
}

static const scimsync_host host_services = {
	.struct_size = sizeof(scimsync_host),
	.log = host_log,
};

const scimsync_host *scim_host_services(void)
{
	return &host_services;
}

int scim_srv_start(scim_srv **out, scimsync_config *cfg, char *errbuf,
		   size_t errlen)
{
	scim_srv *srv = calloc(1, sizeof(*srv));
	scimsync_err serr = {0};
	char buf[512];

	*out = NULL;
	if (srv == NULL)
		return -1;
	/* Before any event base exists: the admin thread's and the workers'
	 * bases are woken from other threads. */
	evthread_use_pthreads();
	srv->cfg = cfg;
	if (cfg->base_url) {
		srv->base_url = strdup(cfg->base_url);
		size_t l = strlen(srv->base_url);
		while (l > 0 && srv->base_url[l - 1] == '/')
			srv->base_url[--l] = '\0';
	} else {
		snprintf(buf, sizeof(buf), "%s://%s:%d%s",
			 cfg->tls_cert ? "https" : "http", cfg->listen_address,
			 cfg->port, SCIM_BASE_PATH);
		srv->base_url = strdup(buf);
	}
	{
		size_t n = 0;
		mapset_entry *ents;

		while (cfg->mappings && cfg->mappings[n].key)
			n++;
		ents = calloc(n + 1, sizeof(*ents));
		for (size_t i = 0; ents && i < n; i++) {
			ents[i].name = cfg->mappings[i].key;
			ents[i].path = cfg->mappings[i].value;
		}
		if (ents == NULL ||
		    mapset_new(&srv->maps, ents, n, errbuf, errlen) < 0) {
			free(ents);
			goto fail;
		}
		free(ents);
		if (n > 0)
			log_msg(LOG_INFO, "mapping",
				"%zu mapping file(s) loaded; SIGHUP reloads "
				"them",
				n);
	}
	/* Limits are per token, sized by its tenant (the config's rate_limit
	 * is the default), so the table exists even when the default is 0. */
	if (ratelimit_new(&srv->rl,
			  cfg->rate_per_second > 0 ? cfg->rate_per_second : 1,
			  cfg->rate_burst) < 0) {
		snprintf(errbuf, errlen, "cannot set up rate limits");
		goto fail;
	}
	if (cfg->audit_path || cfg->audit_db) {
		audit_opts ao = {.path = cfg->audit_path,
				 .db_path = cfg->audit_db,
				 .retention_days = cfg->audit_retention_days};

		if (audit_open(&srv->audit, &ao, errbuf, errlen) < 0)
			goto fail;
	}
	if (build_discovery(srv) < 0) {
		snprintf(errbuf, errlen, "cannot build discovery documents");
		goto fail;
	}
	if (plugin_load_store(&srv->sp, &srv->plugin_handle, cfg->store_plugin,
			      cfg->plugin_dir, errbuf, errlen) < 0)
		goto fail;
	if (srv->sp->open(&srv->store, &host_services, cfg->store_options,
			  &serr) != 0) {
		snprintf(errbuf, errlen, "store plugin '%s': open failed: %s",
			 cfg->store_plugin, serr.message);
		goto fail;
	}
	if (writer_start(&srv->writer, srv->sp, srv->store, cfg->write_batch,
			 errbuf, errlen) < 0)
		goto fail;
	{
		scimsync_store_conn *c = NULL;
		int rc = srv->sp->conn_open(&c, srv->store, 0, &serr);

		if (rc != 0) {
			snprintf(errbuf, errlen, "store: %s", serr.message);
			goto fail;
		}
		rc = tenant_reg_new(&srv->tenants, cfg, srv->sp, srv->store,
				    srv->writer, srv->maps, c, errbuf, errlen);
		srv->sp->conn_close(c);
		if (rc < 0)
			goto fail;
	}
	if (cfg->n_sinks > 0) {
		/* Writes emit events from now on; the dispatchers are woken
		 * by every commit. */
		srv->outbox_on = true;
		if (dispatch_start(&srv->sinks, srv, errbuf, errlen) < 0)
			goto fail;
		writer_on_commit(srv->writer, dispatch_notify, srv->sinks);
	}
	if (cfg->has_admin_token && cfg->admin_port > 0 &&
	    admin_start(&srv->admin, cfg, srv->tenants, srv->audit, srv->sinks,
			srv->sp, srv->store, srv->base_url, errbuf, errlen) < 0)
		goto fail;

	srv->base = event_base_new();
	srv->htp = evhtp_new(srv->base, NULL);
	if (srv->htp == NULL) {
		snprintf(errbuf, errlen, "cannot create the HTTP server");
		goto fail;
	}
	evhtp_set_post_accept_cb(srv->htp, on_accept, srv);
	if (cfg->tls_cert) {
		evhtp_ssl_cfg_t ssl = {0};

		ssl.pemfile = cfg->tls_cert;
		ssl.privfile = cfg->tls_key;
		ssl.ssl_opts = SSL_OP_NO_SSLv2 | SSL_OP_NO_SSLv3 |
			       SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1;
		ssl.scache_type = evhtp_ssl_scache_type_internal;
		ssl.scache_timeout = 1024;
		if (evhtp_ssl_init(srv->htp, &ssl) != 0) {
			snprintf(
				errbuf, errlen,
				"TLS: cannot load certificate '%s' or key '%s'",
				cfg->tls_cert, cfg->tls_key);
			goto fail;
		}
	}
	evhtp_set_gencb(srv->htp, on_request, srv);
	if (evhtp_use_threads_wexit(srv->htp, worker_init, worker_exit,
				    cfg->threads, srv) != 0) {
		snprintf(errbuf, errlen, "cannot start worker threads");
		goto fail;
	}
	if (evhtp_bind_socket(srv->htp, cfg->listen_address,
			      (uint16_t)cfg->port, cfg->backlog) != 0) {
		snprintf(errbuf, errlen, "cannot listen on %s:%d: %m",
			 cfg->listen_address, cfg->port);
		goto fail;
	}
	log_msg(LOG_INFO, "http",
		"listening on %s://%s:%d (%d worker threads); "
		"SCIM base %s",
		cfg->tls_cert ? "https" : "http", cfg->listen_address,
		cfg->port, cfg->threads, srv->base_url);
	*out = srv;
	return 0;
fail:
	scim_srv_free(srv);
	return -1;
}

static void on_drain_tick(evutil_socket_t fd, short what, void *arg);

typedef struct drain_state {
	scim_srv *srv;
	struct event *tick;
	int ticks_left;
} drain_state;

static void on_drain_tick(evutil_socket_t fd, short what, void *arg)
{
	drain_state *d = arg;
	int n = atomic_load(&d->srv->inflight);

	(void)fd;
	(void)what;
	if (n <= 0 || --d->ticks_left <= 0) {
		if (n > 0)
			log_msg(LOG_WARN, "http",
				"%d requests still in flight after the "
				"shutdown deadline",
				n);
		event_base_loopexit(d->srv->base, NULL);
		return;
	}
	struct timeval tv = {0, 20000};
	evtimer_add(d->tick, &tv);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	drain_state *d = arg;
	struct timeval tv = {0, 0};

	(void)what;
	if (atomic_exchange(&d->srv->stopping, true))
		return;
	log_msg(LOG_INFO, "http",
		"%s: no longer accepting; finishing in-flight requests",
		sig == SIGTERM ? "SIGTERM" : "SIGINT");
	evhtp_unbind_socket(d->srv->htp);
	/* Wait for in-flight requests, polling with a 30 s deadline. */
	d->ticks_left = 1500;
	evtimer_add(d->tick, &tv);
}

static void reload_report(int ok, const char *line, void *payload)
{
	(void)payload;
	log_msg(ok ? LOG_INFO : LOG_ERR, "mapping", "%s", line);
}

/* SIGHUP: recompile the mapping files. Runs on the main thread; requests
 * on the workers go on, and a file that fails keeps its last version. */
static void on_sighup(evutil_socket_t sig, short what, void *arg)
{
	scim_srv *srv = arg;
	int failed;

	(void)sig;
	(void)what;
	if (mapset_count(srv->maps) == 0) {
		log_msg(LOG_INFO, "mapping",
			"SIGHUP: no mapping files configured");
		return;
	}
	failed = mapset_reload(srv->maps, reload_report, NULL);
	log_msg(failed ? LOG_WARN : LOG_INFO, "mapping",
		"SIGHUP: %zu mapping file(s) reloaded, %d kept their previous "
		"version",
		mapset_count(srv->maps) - (size_t)failed, failed);
}

/* Every few seconds: tokens' last use goes back to the store. */
static void on_flush_tick(evutil_socket_t fd, short what, void *arg)
{
	scim_srv *srv = arg;

	(void)fd;
	(void)what;
	tenant_reg_flush(srv->tenants);
	dispatch_prune(srv->sinks, 2000);
}

int scim_srv_run(scim_srv *srv)
{
	drain_state d = {.srv = srv};
	struct event *sigterm, *sigint, *sighup;
	struct timeval every = {5, 0};

	srv->flush_ev =
		event_new(srv->base, -1, EV_PERSIST, on_flush_tick, srv);
	if (srv->flush_ev)
		evtimer_add(srv->flush_ev, &every);
	d.tick = evtimer_new(srv->base, on_drain_tick, &d);
	sigterm = evsignal_new(srv->base, SIGTERM, on_signal, &d);
	sigint = evsignal_new(srv->base, SIGINT, on_signal, &d);
	sighup = evsignal_new(srv->base, SIGHUP, on_sighup, srv);
	event_add(sigterm, NULL);
	event_add(sigint, NULL);
	event_add(sighup, NULL);
	signal(SIGPIPE, SIG_IGN);
	event_base_dispatch(srv->base);
	event_free(sigterm);
	event_free(sigint);
	event_free(sighup);
	event_free(d.tick);
	log_msg(LOG_INFO, "http", "stopped");
	return 0;
}

void scim_srv_free(scim_srv *srv)
{
	if (srv == NULL)
		return;
	/* The admin thread and the dispatchers first: they submit writes. */
	admin_stop(srv->admin);
	if (srv->writer)
		writer_on_commit(srv->writer, NULL, NULL);
	dispatch_stop(srv->sinks);
	if (srv->flush_ev)
		event_free(srv->flush_ev);
	if (srv->writer)
		tenant_reg_flush(srv->tenants);
	/* Drain queued writes first: their completions are delivered to
	 * the worker threads, which must still exist. */
	if (srv->writer)
		writer_stop(srv->writer);
	if (srv->htp) {
		evhtp_unbind_socket(srv->htp);
		evhtp_free(srv->htp); /* stops and joins the worker threads */
	}
	if (srv->store)
		srv->sp->close(srv->store);
	if (srv->plugin_handle)
		plugin_unload(srv->plugin_handle);
	tenant_reg_free(srv->tenants);
	mapset_free(srv->maps);
	ratelimit_free(srv->rl);
	audit_close(srv->audit);
	if (srv->base)
		event_base_free(srv->base);
	free(srv->base_url);
	free(srv->spc_text);
	free(srv->schemas_text);
	free(srv->restypes_text);
	json_decref(srv->schemas_by_urn);
	json_decref(srv->restypes_by_name);
	free(srv);
}
