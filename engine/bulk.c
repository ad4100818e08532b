/* bulk.c - POST /Bulk (RFC 7644 §3.7). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bulk.h"
#include "log.h"
#include "scim_resource.h"
#include "strutil.h"

#define BULKID_PREFIX "bulkId:"

typedef enum { B_PENDING, B_DONE, B_FAILED } bstate;

typedef struct bop {
	const char *method_text; /* as the client wrote it */
	scim_method method;
	const char *bulk_id; /* or NULL */
	const char *path;
	json_t *data; /* borrowed from the request */
	const char *version;
	bstate state;
	char *new_id;	/* created id (POST) */
	json_t *result; /* the response entry */
} bop;

typedef struct bulk_ctx {
	scim_srv *srv;
	const char *tenant;
	json_t *body;
	bop *ops;
	size_t n;
	long fail_on_errors; /* 0: never stop */
	long errors;
	json_t *results; /* in processing order */
	int fatal;	 /* a store failure: nothing is kept */
	scim_error fatal_err;
} bulk_ctx;

static json_t *op_error(const bop *o, const scim_error *err)
{
	char status[8];
	json_t *r;

	snprintf(status, sizeof(status), "%d", err->status);
	r = json_pack("{s:s,s:s,s:o}", "method", o->method_text, "status",
		      status, "response", scim_error_json(err));
	if (o->bulk_id)
		json_object_set_new(r, "bulkId", json_string(o->bulk_id));
	return r;
}

static bop *find_bulk_id(bulk_ctx *b, const char *id, size_t len)
{
	for (size_t i = 0; i < b->n; i++)
		if (b->ops[i].bulk_id && strlen(b->ops[i].bulk_id) == len &&
		    strncmp(b->ops[i].bulk_id, id, len) == 0)
			return &b->ops[i];
	return NULL;
}

/* Check a string for a bulkId reference: 0 none or resolved (then
 * *out is a new string with it replaced, or NULL if none), 1 waiting on
 * a pending op, -1 unresolvable (err set). */
static int subst_str(bulk_ctx *b, const char *s, char **out, scim_error *err)
{
	const char *at = strstr(s, BULKID_PREFIX), *id, *end;
	bop *ref;
	size_t n;

	*out = NULL;
	if (at == NULL)
		return 0;
	id = at + strlen(BULKID_PREFIX);
	end = id;
	while (*end && *end != '/' && *end != '"' && *end != '?')
		end++;
	ref = find_bulk_id(b, id, (size_t)(end - id));
	if (ref == NULL)
		return scim_error_set(err, 409, SCIM_ERR_INVALID_VALUE,
				      "unknown bulkId '%.*s'",
				      (int)(end - id > 64 ? 64 : end - id), id);
	if (ref->state == B_FAILED)
		return scim_error_set(
			err, 409, SCIM_ERR_INVALID_VALUE,
			"bulkId '%s' refers to a failed operation",
			ref->bulk_id);
	if (ref->state == B_PENDING || ref->new_id == NULL)
		return 1;
	n = (size_t)(at - s) + strlen(ref->new_id) + strlen(end) + 1;
	*out = malloc(n);
	snprintf(*out, n, "%.*s%s%s", (int)(at - s), s, ref->new_id, end);
	return 0;
}

/* Walk v, replacing resolved references in strings (in place). Returns
 * as subst_str does, for the whole of v. */
static int subst_json(bulk_ctx *b, json_t *v, scim_error *err, int depth);

/* One member of an object or array: a string is rewritten through set
 * (which stores the new string where e was), anything else walked. */
static int subst_elem(bulk_ctx *b, json_t *e, scim_error *err, int depth,
		      json_t **replacement)
{
	char *ns;
	int r;

	*replacement = NULL;
	if (!json_is_string(e))
		return subst_json(b, e, err, depth + 1);
	r = subst_str(b, json_string_value(e), &ns, err);
	if (ns) {
		*replacement = json_string(ns);
		free(ns);
	}
	return r;
}

static int subst_json(bulk_ctx *b, json_t *v, scim_error *err, int depth)
{
	json_t *e, *repl;
	int rc = 0, r;

	if (depth > 64)
		return 0;
	if (json_is_object(v)) {
		const char *k;

		json_object_foreach (v, k, e) {
			if ((r = subst_elem(b, e, err, depth, &repl)) < 0)
				return -1;
			if (repl)
				json_object_set_new(v, k, repl);
			rc |= r;
		}
	} else if (json_is_array(v)) {
		size_t i;

		json_array_foreach (v, i, e) {
			if ((r = subst_elem(b, e, err, depth, &repl)) < 0)
				return -1;
			if (repl)
				json_array_set_new(v, i, repl);
			rc |= r;
		}
	}
	return rc;
}

/* Run one operation if its references are resolved. Returns 1 if it
 * must wait, 0 when it ran (o->state set). */
static int run_one(bulk_ctx *b, bop *o, const scimsync_store_plugin *p,
		   scimsync_store_conn *c)
{
	scim_op op = {.srv = b->srv, .tenant = b->tenant};
	scim_error err;
	char *path = NULL, *id;
	json_t *data = NULL;
	int r;

	scim_error_clear(&err);
	r = subst_str(b, o->path, &path, &err);
	if (r == 1)
		return 1;
	if (r == 0 && o->data) {
		data = json_deep_copy(o->data);
		r = subst_json(b, data, &err, 0);
		if (r == 1) {
			json_decref(data);
			free(path);
			return 1;
		}
	}
	if (r < 0)
		goto failed;
	{
		const char *pp = path ? path : o->path;
		const char *slash;
		char ep[32];
		size_t n;

		while (*pp == '/')
			pp++;
		slash = strchr(pp, '/');
		n = slash ? (size_t)(slash - pp) : strlen(pp);
		if (n >= sizeof(ep)) {
			scim_error_set(&err, 400, SCIM_ERR_INVALID_PATH,
				       "unknown path '%.64s'", o->path);
			goto failed;
		}
		memcpy(ep, pp, n);
		ep[n] = '\0';
		op.rt = scim_restype_by_endpoint(ep);
		id = slash ? (char *)slash + 1 : NULL;
		if (op.rt == NULL || (id && (*id == '\0' || strchr(id, '/')))) {
			scim_error_set(&err, 400, SCIM_ERR_INVALID_PATH,
				       "unknown path '%.64s'", o->path);
			goto failed;
		}
		if ((o->method == SCIM_M_POST) != (id == NULL)) {
			scim_error_set(&err, 400, SCIM_ERR_INVALID_PATH,
				       "%s needs a path %s", o->method_text,
				       o->method == SCIM_M_POST
					       ? "to a collection (/Users)"
					       : "to a resource (/Users/{id})");
			goto failed;
		}
		op.id = id ? strdup(id) : NULL;
	}
	op.method = o->method;
	op.body = data;
	data = NULL;
	op.if_match = o->version ? strdup(o->version) : NULL;
	if (o->method != SCIM_M_DELETE && !json_is_object(op.body)) {
		scim_error_set(&err, 400, SCIM_ERR_INVALID_SYNTAX,
			       "%s needs a data object", o->method_text);
		goto failed;
	}
	if (scim_op_run(&op, p, c) < 0) {
		err = op.err;
		if (err.status >= 500) {
			b->fatal = 1;
			b->fatal_err = err;
		}
		goto failed;
	}
	{
		char status[8];
		json_t *meta = json_object_get(op.resource, "meta");

		snprintf(status, sizeof(status), "%d", op.status);
		o->result = json_pack("{s:s,s:s}", "method", o->method_text,
				      "status", status);
		if (o->bulk_id)
			json_object_set_new(o->result, "bulkId",
					    json_string(o->bulk_id));
		if (json_object_get(meta, "location")) {
			json_object_set(o->result, "location",
					json_object_get(meta, "location"));
		} else if (op.id) { /* DELETE: where the resource was */
			char *loc = NULL;

			if (asprintf(&loc, "%s%s/%s", b->srv->base_url,
				     op.rt->endpoint, op.id) >= 0) {
				json_object_set_new(o->result, "location",
						    json_string(loc));
				free(loc);
			}
		}
		if (json_object_get(meta, "version"))
			json_object_set(o->result, "version",
					json_object_get(meta, "version"));
		if (op.method == SCIM_M_POST && op.id)
			o->new_id = strdup(op.id);
		o->state = B_DONE;
	}
	scim_op_clear(&op);
	free(path);
	return 0;
failed:
	json_decref(data);
	scim_op_clear(&op);
	free(path);
	o->result = op_error(o, &err);
	o->state = B_FAILED;
	b->errors++;
	return 0;
}

static void bulk_run(scim_async *a, const scimsync_store_plugin *p,
		     scimsync_store_conn *c, void *arg, int *rc)
{
	bulk_ctx *b = arg;
	size_t pending = b->n;

	(void)a;
	while (pending > 0 && !b->fatal) {
		size_t ran = 0;

		for (size_t i = 0; i < b->n && !b->fatal; i++) {
			bop *o = &b->ops[i];

			if (o->state != B_PENDING)
				continue;
			if (o->result) { /* failed validation up front */
				o->state = B_FAILED;
				b->errors++;
			} else if (run_one(b, o, p, c) == 1) {
				continue;
			}
			json_array_append(b->results, o->result);
			ran++;
			pending--;
			if (b->fail_on_errors > 0 &&
			    b->errors >= b->fail_on_errors) {
				pending = 0;
				break;
			}
		}
		if (ran == 0 && pending > 0) {
			/* Everything left waits on something that waits. */
			for (size_t i = 0; i < b->n; i++) {
				bop *o = &b->ops[i];
				scim_error err;

				if (o->state != B_PENDING)
					continue;
				scim_error_set(&err, 409,
					       SCIM_ERR_INVALID_VALUE,
					       "circular bulkId reference");
				o->result = op_error(o, &err);
				o->state = B_FAILED;
				json_array_append(b->results, o->result);
			}
			pending = 0;
		}
	}
	*rc = b->fatal ? 1 : 0;
}

static void bulk_free(bulk_ctx *b)
{
	for (size_t i = 0; i < b->n; i++) {
		free(b->ops[i].new_id);
		json_decref(b->ops[i].result);
	}
	free(b->ops);
	json_decref(b->results);
	json_decref(b->body);
	free(b);
}

static void bulk_finish(evhtp_request_t *req, int run_rc, int committed,
			void *arg)
{
	bulk_ctx *b = arg;
	scim_error err;

	if (req == NULL) {
		bulk_free(b);
		return;
	}
	if (!committed || run_rc != 0) {
		if (b->fatal)
			err = b->fatal_err;
		else
			scim_error_set(&err, 503, NULL,
				       "the Bulk request could not be "
				       "committed; retry");
		scim_reply_error(req, &err);
	} else {
		json_t *resp =
			json_pack("{s:[s],s:O}", "schemas", SCIM_URN_BULK_RESP,
				  "Operations", b->results);

		scim_reply_json(req, 200, resp, NULL, NULL);
	}
	bulk_free(b);
}

void scim_handle_bulk(scim_srv *srv, evhtp_request_t *req, const char *tenant)
{
	const scimsync_config *cfg = srv->cfg;
	size_t len = evbuffer_get_length(req->buffer_in);
	bulk_ctx *b;
	const json_t *ops, *schemas, *foe;
	json_t *o;
	scim_error err;
	size_t i;

	if (scim_body_check_size(req, cfg->bulk_max_payload, &err) < 0) {
		scim_error_set(&err, 413, NULL,
			       "the Bulk request is larger than maxPayloadSize "
			       "(%zu bytes)",
			       cfg->bulk_max_payload);
		scim_reply_error(req, &err);
		return;
	}
	b = calloc(1, sizeof(*b));
	b->srv = srv;
	b->tenant = tenant;
	b->results = json_array();
	b->body = scim_json_parse(
		(const char *)evbuffer_pullup(req->buffer_in, -1), len,
		cfg->max_json_depth, &err);
	if (b->body == NULL)
		goto fail;
	schemas = scim_json_get_ci(b->body, "schemas");
	{
		bool ok = false;

		json_array_foreach ((json_t *)schemas, i, o)
			if (json_is_string(o) &&
			    scim_strcasecmp(json_string_value(o),
					    SCIM_URN_BULK_REQ) == 0)
				ok = true;
		if (!ok) {
			scim_error_set(
				&err, 400, SCIM_ERR_INVALID_SYNTAX,
				"schemas must contain " SCIM_URN_BULK_REQ);
			goto fail;
		}
	}
	ops = scim_json_get_ci(b->body, "Operations");
	if (!json_is_array(ops)) {
		scim_error_set(&err, 400, SCIM_ERR_INVALID_SYNTAX,
			       "Operations must be an array");
		goto fail;
	}
	if (json_array_size(ops) > (size_t)cfg->bulk_max_operations) {
		scim_error_set(&err, 413, NULL,
			       "the Bulk request has %zu operations; "
			       "maxOperations is %d",
			       json_array_size(ops), cfg->bulk_max_operations);
		goto fail;
	}
	foe = scim_json_get_ci(b->body, "failOnErrors");
	if (foe && !json_is_null(foe)) {
		if (!json_is_integer(foe) || json_integer_value(foe) < 1) {
			scim_error_set(&err, 400, SCIM_ERR_INVALID_VALUE,
				       "failOnErrors must be a positive "
				       "integer");
			goto fail;
		}
		b->fail_on_errors = (long)json_integer_value(foe);
	}
	b->n = json_array_size(ops);
	b->ops = calloc(b->n ? b->n : 1, sizeof(*b->ops));
	json_array_foreach ((json_t *)ops, i, o) {
		bop *bo = &b->ops[i];
		const char *m =
			json_string_value(scim_json_get_ci(o, "method"));
		const json_t *bid = scim_json_get_ci(o, "bulkId");
		scim_error oe;

		bo->method_text = m ? m : "";
		bo->path = json_string_value(scim_json_get_ci(o, "path"));
		bo->data = (json_t *)scim_json_get_ci(o, "data");
		bo->version = json_string_value(scim_json_get_ci(o, "version"));
		bo->bulk_id = json_string_value(bid);
		if (!json_is_object(o)) {
			scim_error_set(&oe, 400, SCIM_ERR_INVALID_SYNTAX,
				       "operation %zu is not an object", i);
		} else if (m && scim_strcasecmp(m, "POST") == 0) {
			bo->method = SCIM_M_POST;
		} else if (m && scim_strcasecmp(m, "PUT") == 0) {
			bo->method = SCIM_M_PUT;
		} else if (m && scim_strcasecmp(m, "PATCH") == 0) {
			bo->method = SCIM_M_PATCH;
		} else if (m && scim_strcasecmp(m, "DELETE") == 0) {
			bo->method = SCIM_M_DELETE;
		} else {
			scim_error_set(&oe, 400, SCIM_ERR_INVALID_SYNTAX,
				       "method must be POST, PUT, PATCH or "
				       "DELETE");
			bo->result = op_error(bo, &oe);
			continue;
		}
		if (!json_is_object(o)) {
			bo->result = op_error(bo, &oe);
		} else if (bo->path == NULL) {
			scim_error_set(&oe, 400, SCIM_ERR_INVALID_SYNTAX,
				       "path is required");
			bo->result = op_error(bo, &oe);
		} else if (bo->method == SCIM_M_POST && bo->bulk_id == NULL) {
			scim_error_set(&oe, 400, SCIM_ERR_INVALID_SYNTAX,
				       "bulkId is required with POST");
			bo->result = op_error(bo, &oe);
		} else if (bid && (!json_is_string(bid) || !*bo->bulk_id)) {
			scim_error_set(&oe, 400, SCIM_ERR_INVALID_SYNTAX,
				       "bulkId must be a non-empty string");
			bo->bulk_id = NULL;
			bo->result = op_error(bo, &oe);
		}
	}
	for (i = 0; i < b->n; i++)
		for (size_t j = i + 1; j < b->n; j++)
			if (b->ops[i].bulk_id && b->ops[j].bulk_id &&
			    strcmp(b->ops[i].bulk_id, b->ops[j].bulk_id) == 0) {
				scim_error_set(&err, 400,
					       SCIM_ERR_INVALID_SYNTAX,
					       "bulkId '%.64s' is used twice",
					       b->ops[i].bulk_id);
				goto fail;
			}
	scim_async_submit(srv, req, bulk_run, bulk_finish, b);
	return;
fail:
	bulk_free(b);
	scim_reply_error(req, &err);
}
