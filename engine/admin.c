/* admin.c - the admin API listener (see admin.h and README.md). */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <evhtp/evhtp.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "admin.h"
#include "log.h"
#include "scim_server.h"
#include "strutil.h"

#define ADMIN_MAX_BODY (64 * 1024)
#define ADMIN_PREFIX "/api/v1"

struct admin_srv {
	const scimsync_config *cfg;
	tenant_reg *reg;
	audit_log *audit;
	dispatch_set *sinks; /* or NULL */
	const scimsync_store_plugin *p;
	scimsync_store *store;
	scimsync_store_conn *reader;
	const char *scim_base_url;
	struct event_base *base;
	evhtp_t *htp;
	pthread_t thread;
	bool running;
	conn_node *conns; /* admin thread only */
};

/* What one admin request did, for its reply and its audit line. */
typedef struct admin_req {
	admin_srv *a;
	evhtp_request_t *req;
	struct timespec start;
	int64_t start_ms;
	const char *method;
	char path[512];
	char tenant[TENANT_NAME_MAX + 1];
	const char *resource_type;
	char resource_id[64];
	const char *detail;
	bool audited; /* false for health and audit queries */
	char err[512];
} admin_req;

static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int finish(admin_req *ar, int status, json_t *body)
{
	evhtp_request_t *req = ar->req;
	char *text;

	if (body == NULL)
		body = json_pack("{s:i,s:s}", "status", status, "error",
				 ar->err[0] ? ar->err : "error");
	text = json_dumps(body, JSON_INDENT(2) | JSON_PRESERVE_ORDER |
					JSON_REAL_PRECISION(12));
	json_decref(body);
	if (text) {
		evbuffer_add(req->buffer_out, text, strlen(text));
		evbuffer_add(req->buffer_out, "\n", 1);
		free(text);
	}
	evhtp_headers_add_header(
		req->headers_out,
		evhtp_header_new("Content-Type", "application/json", 0, 0));
	evhtp_headers_add_header(
		req->headers_out,
		evhtp_header_new("Cache-Control", "no-store", 0, 0));
	evhtp_request_set_keepalive(req, 0);
	evhtp_send_reply(req, (evhtp_res)status);

	if (ar->audited && ar->a->audit) {
		struct timespec now;
		char client[64];
		audit_rec r = {0};

		clock_gettime(CLOCK_MONOTONIC, &now);
		scim_client_addr(req, client, sizeof(client), true);
		r.time_ms = ar->start_ms;
		r.kind = "admin";
		r.tenant = ar->tenant[0] ? ar->tenant : NULL;
		r.token_name = "admin";
		r.client = client;
		r.method = ar->method;
		r.path = ar->path;
		r.resource_type = ar->resource_type;
		r.resource_id = ar->resource_id[0] ? ar->resource_id : NULL;
		r.status = status;
		r.duration_ms = (double)(now.tv_sec - ar->start.tv_sec) * 1e3 +
				(double)(now.tv_nsec - ar->start.tv_nsec) / 1e6;
		r.detail = status < 400 ? ar->detail
			   : ar->err[0] ? ar->err
					: NULL;
		audit_write(ar->a->audit, &r);
	}
	return 0;
}

static int fail(admin_req *ar, int status, const char *fmt, const char *arg)
{
	snprintf(ar->err, sizeof(ar->err), fmt, arg);
	return finish(ar, status, NULL);
}

/* The request body as a JSON object (an empty body is {}), or NULL after
 * answering 400/413. */
static json_t *body_object(admin_req *ar)
{
	struct evbuffer *in = ar->req->buffer_in;
	size_t len = in ? evbuffer_get_length(in) : 0;
	json_error_t jerr;
	json_t *o;

	if (len > ADMIN_MAX_BODY) {
		fail(ar, 413, "%s", "the body is larger than 64 KiB");
		return NULL;
	}
	if (len == 0)
		return json_object();
	o = json_loadb((const char *)evbuffer_pullup(in, -1), len,
		       JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(o)) {
		json_decref(o);
		fail(ar, 400, "the body must be a JSON object (%s)",
		     o ? "not an object" : jerr.text);
		return NULL;
	}
	return o;
}

/* Call one tenant.h operation and answer with what it says. */
static int answer(admin_req *ar, int status, json_t *out)
{
	if (status >= 400) {
		json_decref(out);
		return finish(ar, status, NULL);
	}
	return finish(ar, status, out);
}

static int handle_audit(admin_req *ar, const scim_query *q, const char *tenant)
{
	audit_query aq = {0};
	const char *v;
	json_t *entries = NULL;

	ar->audited = false;
	aq.tenant = tenant ? tenant : scim_query_get(q, "tenant", NULL);
	aq.resource_id = scim_query_get(q, "resource_id", NULL);
	aq.kind = scim_query_get(q, "kind", NULL);
	if ((v = scim_query_get(q, "since", NULL)) &&
	    scim_time_parse(v, &aq.since_ms) < 0)
		return fail(ar, 400, "%s", "'since' must be an RFC 3339 time");
	if ((v = scim_query_get(q, "until", NULL)) &&
	    scim_time_parse(v, &aq.until_ms) < 0)
		return fail(ar, 400, "%s", "'until' must be an RFC 3339 time");
	if ((v = scim_query_get(q, "before", NULL)))
		aq.before_seq = strtoll(v, NULL, 10);
	if ((v = scim_query_get(q, "limit", NULL))) {
		aq.limit = atoi(v);
		if (aq.limit < 1 || aq.limit > 1000)
			return fail(ar, 400, "%s",
				    "'limit' must be from 1 to 1000");
	}
	v = scim_query_get(q, "bodies", NULL);
	aq.with_bodies = v && (strcmp(v, "1") == 0 || strcmp(v, "true") == 0);
	if (ar->a->audit == NULL ||
	    audit_query_run(ar->a->audit, &aq, &entries, ar->err,
			    sizeof(ar->err)) < 0) {
		if (ar->a->audit == NULL)
			snprintf(ar->err, sizeof(ar->err),
				 "no audit database is configured "
				 "(audit.database)");
		return finish(ar, 404, NULL);
	}
	return finish(ar, 200, json_pack("{s:o}", "entries", entries));
}

/* /sinks, /sinks/{name}, /sinks/{name}/replay, /sinks/{name}/resync */
static int handle_sinks(admin_req *ar, htp_method m, char seg[6][128], int nseg)
{
	dispatch_set *d = ar->a->sinks;
	json_t *body, *out;
	int n;

	ar->resource_type = "Sink";
	if (nseg >= 2)
		snprintf(ar->resource_id, sizeof(ar->resource_id), "%s",
			 seg[1]);
	if (nseg == 1) {
		if (m != htp_method_GET)
			return fail(ar, 405, "%s", "sinks takes GET");
		ar->audited = false;
		return finish(ar, 200,
			      json_pack("{s:o}", "sinks", dispatch_status(d)));
	}
	if (nseg == 2) {
		if (m != htp_method_GET)
			return fail(ar, 405, "%s", "a sink takes GET");
		ar->audited = false;
		out = dispatch_sink_show(d, seg[1]);
		if (out == NULL)
			return fail(ar, 404, "no such sink: %s", seg[1]);
		return finish(ar, 200, out);
	}
	if (nseg != 3 ||
	    (strcmp(seg[2], "replay") != 0 && strcmp(seg[2], "resync") != 0))
		return fail(ar, 404, "%s", "no such endpoint");
	if (m != htp_method_POST)
		return fail(ar, 405, "%s", "replay and resync take POST");
	if (dispatch_sink_takes(d, seg[1], NULL) < 0)
		return fail(ar, 404, "no such sink: %s", seg[1]);
	if ((body = body_object(ar)) == NULL)
		return 0;
	if (strcmp(seg[2], "replay") == 0) {
		const json_t *seq = json_object_get(body, "seq");
		const json_t *force = json_object_get(body, "force");
		int stale = 0;

		ar->detail = "dead letters replayed";
		if (seq && !json_is_integer(seq)) {
			json_decref(body);
			return fail(ar, 400, "%s",
				    "'seq' must be a dead letter's seq "
				    "(or absent: all)");
		}
		if (force && !json_is_boolean(force)) {
			json_decref(body);
			return fail(ar, 400, "%s", "'force' must be a boolean");
		}
		n = dispatch_replay(
			d, seg[1], seq ? json_integer_value(seq) : 0,
			json_is_true(force), &stale, ar->err, sizeof(ar->err));
		json_decref(body);
		if (n < 0)
			return finish(ar, 503, NULL);
		return finish(
			ar, 200,
			json_pack("{s:i,s:i}", "replayed", n, "stale", stale));
	}
	{
		const char *tenant =
			json_string_value(json_object_get(body, "tenant"));

		ar->detail = "tenant re-sync";
		if (tenant == NULL || !tenant_name_valid(tenant)) {
			json_decref(body);
			return fail(ar, 400, "%s",
				    "give {\"tenant\": \"NAME\"} to export");
		}
		snprintf(ar->tenant, sizeof(ar->tenant), "%s", tenant);
		if (dispatch_sink_takes(d, seg[1], tenant) != 1) {
			json_decref(body);
			snprintf(ar->err, sizeof(ar->err),
				 "sink %s does not take tenant %s (see its "
				 "tenants: in the config)",
				 seg[1], ar->tenant);
			return finish(ar, 400, NULL);
		}
		n = dispatch_resync(d, seg[1], tenant, ar->err,
				    sizeof(ar->err));
		json_decref(body);
		if (n < 0)
			return finish(ar, 503, NULL);
		return finish(ar, 200, json_pack("{s:i}", "events", n));
	}
}

static int route(admin_req *ar, htp_method m, char seg[6][128], int nseg,
		 const scim_query *q)
{
	tenant_call c = {.reg = ar->a->reg,
			 .reader = ar->a->reader,
			 .scim_base_url = ar->a->scim_base_url,
			 .now_ms = wall_ms(),
			 .errbuf = ar->err,
			 .errlen = sizeof(ar->err)};
	json_t *out = NULL, *body;
	int st = 500;

	if (nseg == 1 && strcmp(seg[0], "audit") == 0) {
		if (m != htp_method_GET)
			return fail(ar, 405, "%s", "audit takes GET");
		return handle_audit(ar, q, NULL);
	}
	if (nseg >= 1 && strcmp(seg[0], "sinks") == 0)
		return handle_sinks(ar, m, seg, nseg);
	if (nseg < 1 || strcmp(seg[0], "tenants") != 0)
		return fail(ar, 404, "%s", "no such endpoint");
	ar->resource_type = "Tenant";
	if (nseg >= 2) {
		snprintf(ar->tenant, sizeof(ar->tenant), "%s", seg[1]);
		snprintf(ar->resource_id, sizeof(ar->resource_id), "%s",
			 seg[1]);
	}
	if (nseg == 1 && m == htp_method_GET) {
		st = tenant_list(&c, &out);
		return answer(ar, st, out);
	}
	if (nseg == 1 && m == htp_method_POST) {
		if ((body = body_object(ar)) == NULL)
			return 0;
		st = tenant_create(&c, body, &out);
		snprintf(ar->tenant, sizeof(ar->tenant), "%s",
			 json_string_value(json_object_get(body, "name"))
				 ? json_string_value(
					   json_object_get(body, "name"))
				 : "");
		memcpy(ar->resource_id, ar->tenant, sizeof(ar->tenant));
		ar->detail = "tenant created";
		json_decref(body);
		return answer(ar, st, out);
	}
	if (nseg == 1)
		return fail(ar, 405, "%s", "tenants takes GET or POST");
	if (nseg == 2 && m == htp_method_GET) {
		st = tenant_show(&c, seg[1], &out);
		return answer(ar, st, out);
	}
	if (nseg == 2 && m == htp_method_PATCH) {
		if ((body = body_object(ar)) == NULL)
			return 0;
		st = tenant_update(&c, seg[1], body, &out);
		ar->detail = "tenant updated";
		json_decref(body);
		return answer(ar, st, out);
	}
	if (nseg == 2 && m == htp_method_DELETE) {
		const char *confirm = scim_query_get(q, "confirm", NULL);

		if (confirm == NULL || strcmp(confirm, seg[1]) != 0)
			return fail(ar, 400,
				    "deleting a tenant removes all its users, "
				    "groups and tokens; repeat its name as "
				    "?confirm=%s",
				    seg[1]);
		ar->detail = "tenant deleted";
		st = tenant_delete(&c, seg[1], &out);
		return answer(ar, st, out);
	}
	if (nseg == 2)
		return fail(ar, 405, "%s",
			    "a tenant takes GET, PATCH or DELETE");
	if (nseg == 3 && strcmp(seg[2], "audit") == 0) {
		if (m != htp_method_GET)
			return fail(ar, 405, "%s", "audit takes GET");
		c.errbuf[0] = '\0';
		if ((st = tenant_show(&c, seg[1], &out)) != 200)
			return answer(ar, st, out);
		json_decref(out);
		return handle_audit(ar, q, seg[1]);
	}
	if (nseg < 4 || strcmp(seg[2], "scim") != 0 ||
	    strcmp(seg[3], "tokens") != 0 || nseg > 5)
		return fail(ar, 404, "%s", "no such endpoint");
	ar->resource_type = "Token";
	ar->resource_id[0] = '\0';
	if (nseg == 4 && m == htp_method_GET) {
		st = token_list(&c, seg[1], &out);
		return answer(ar, st, out);
	}
	if (nseg == 4 && m == htp_method_POST) {
		if ((body = body_object(ar)) == NULL)
			return 0;
		st = token_create(&c, seg[1], body, &out);
		json_decref(body);
		if (st < 400)
			snprintf(ar->resource_id, sizeof(ar->resource_id), "%s",
				 json_string_value(json_object_get(out, "id")));
		ar->detail = "token created";
		return answer(ar, st, out);
	}
	if (nseg == 4)
		return fail(ar, 405, "%s", "tokens takes GET or POST");
	snprintf(ar->resource_id, sizeof(ar->resource_id), "%s", seg[4]);
	if (m == htp_method_GET) {
		st = token_show(&c, seg[1], seg[4], &out);
		return answer(ar, st, out);
	}
	if (m == htp_method_DELETE) {
		ar->detail = "token revoked";
		st = token_revoke(&c, seg[1], seg[4], &out);
		return answer(ar, st, out);
	}
	return fail(ar, 405, "%s", "a token takes GET or DELETE");
}

static bool authorized(admin_srv *a, evhtp_request_t *req)
{
	const char *h = evhtp_kv_find(req->headers_in, "Authorization");
	unsigned char digest[SHA256_DIGEST_LENGTH];
	size_t len;

	if (h == NULL || scim_strncasecmp(h, "Bearer ", 7) != 0)
		return false;
	h += 7;
	while (*h == ' ')
		h++;
	len = strlen(h);
	while (len > 0 && h[len - 1] == ' ')
		len--;
	SHA256((const unsigned char *)h, len, digest);
	return CRYPTO_memcmp(digest, a->cfg->admin_token_hash,
			     sizeof(digest)) == 0;
}

static int serve(admin_srv *a, evhtp_request_t *req)
{
	admin_req ar = {.a = a, .req = req, .audited = true};
	const char *full =
		req->uri && req->uri->path ? req->uri->path->full : "";
	htp_method m = evhtp_request_get_method(req);
	char seg[6][128];
	int nseg = 0;
	const char *p;
	scim_query q;

	clock_gettime(CLOCK_MONOTONIC, &ar.start);
	ar.start_ms = wall_ms();
	ar.method = scim_method_name(m);
	snprintf(ar.path, sizeof(ar.path), "%s", full);
	if (strncmp(full, ADMIN_PREFIX "/", strlen(ADMIN_PREFIX) + 1) != 0) {
		ar.audited = false;
		return fail(&ar, 404, "%s",
			    "not an admin endpoint; the base is " ADMIN_PREFIX);
	}
	p = full + strlen(ADMIN_PREFIX);
	while (*p) {
		size_t n;

		while (*p == '/')
			p++;
		if (*p == '\0')
			break;
		n = strcspn(p, "/");
		if (nseg == 6 || n >= sizeof(seg[0]) || memchr(p, '%', n)) {
			ar.audited = false;
			return fail(&ar, 404, "%s", "no such endpoint");
		}
		memcpy(seg[nseg], p, n);
		seg[nseg++][n] = '\0';
		p += n;
	}
	if (nseg == 1 && strcmp(seg[0], "health") == 0) {
		ar.audited = false;
		return finish(&ar, 200,
			      json_pack("{s:s,s:s}", "status", "ok", "version",
					PACKAGE_VERSION));
	}
	if (!authorized(ar.a, req)) {
		log_msg(LOG_WARN, "admin", "refused %s %s: bad admin token",
			ar.method, ar.path);
		ar.audited = true;
		return fail(&ar, 401, "%s",
			    "send 'Authorization: Bearer <admin token>'");
	}
	if (scim_query_parse(&q, req->uri ? (const char *)req->uri->query_raw
					  : NULL) < 0) {
		scim_query_clear(&q);
		return fail(&ar, 400, "%s", "malformed query string");
	}
	route(&ar, m, seg, nseg, &q);
	scim_query_clear(&q);
	return 0;
}

static void on_request(evhtp_request_t *req, void *arg)
{
	serve(arg, req);
}

static evhtp_res on_accept(evhtp_connection_t *conn, void *arg)
{
	admin_srv *a = arg;

	conn_track(&a->conns, conn);
	return EVHTP_RES_OK;
}

static void *admin_main(void *arg)
{
	admin_srv *a = arg;

#ifdef __GLIBC__
	pthread_setname_np(pthread_self(), "scim-admin");
#endif
	event_base_dispatch(a->base);
	return NULL;
}

int admin_start(admin_srv **out, const scimsync_config *cfg, tenant_reg *reg,
		audit_log *audit, dispatch_set *sinks,
		const scimsync_store_plugin *p, scimsync_store *s,
		const char *scim_base_url, char *errbuf, size_t errlen)
{
	admin_srv *a = calloc(1, sizeof(*a));
	scimsync_err err = {0};

	*out = NULL;
	if (a == NULL) {
		snprintf(errbuf, errlen, "out of memory");
		return -1;
	}
	a->cfg = cfg;
	a->reg = reg;
	a->audit = audit;
	a->sinks = sinks;
	a->p = p;
	a->store = s;
	a->scim_base_url = scim_base_url;
	if (p->conn_open(&a->reader, s, 0, &err) != SCIMSYNC_OK) {
		snprintf(errbuf, errlen, "admin: store connection: %s",
			 err.message);
		goto fail;
	}
	a->base = event_base_new();
	a->htp = a->base ? evhtp_new(a->base, NULL) : NULL;
	if (a->htp == NULL) {
		snprintf(errbuf, errlen, "admin: cannot create the listener");
		goto fail;
	}
	evhtp_set_gencb(a->htp, on_request, a);
	evhtp_set_post_accept_cb(a->htp, on_accept, a);
	if (evhtp_bind_socket(a->htp, cfg->admin_address,
			      (uint16_t)cfg->admin_port, 64) < 0) {
		snprintf(errbuf, errlen, "admin: cannot listen on %s:%d: %m",
			 cfg->admin_address, cfg->admin_port);
		goto fail;
	}
	if (pthread_create(&a->thread, NULL, admin_main, a) != 0) {
		snprintf(errbuf, errlen, "admin: cannot start its thread");
		goto fail;
	}
	a->running = true;
	log_msg(LOG_INFO, "admin", "admin API on http://%s:%d" ADMIN_PREFIX,
		cfg->admin_address, cfg->admin_port);
	*out = a;
	return 0;
fail:
	admin_stop(a);
	return -1;
}

void admin_stop(admin_srv *a)
{
	if (a == NULL)
		return;
	if (a->running) {
		event_base_loopbreak(a->base);
		pthread_join(a->thread, NULL);
	}
	/* The thread is gone: its connections are ours to free. */
	conn_free_all(&a->conns, a->base);
	if (a->htp) {
		evhtp_unbind_socket(a->htp);
		evhtp_free(a->htp);
	}
	if (a->base)
		event_base_free(a->base);
	if (a->reader)
		a->p->conn_close(a->reader);
	free(a);
}
