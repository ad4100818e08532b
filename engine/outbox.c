/* outbox.c - the durable outbox as engine records (see outbox.h). */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "outbox.h"

static int put_record(const scimsync_store_plugin *p, scimsync_store_conn *c,
		      int type, const char *id, const char *external_id,
		      const char *text, int create, scimsync_err *err)
{
	scimsync_resource r = {0};

	r.tenant = OUTBOX_TENANT;
	r.type = type;
	r.id = id;
	r.json = text;
	r.json_len = strlen(text);
	r.version = 1;
	r.external_id = external_id;
	return p->put(c, &r, create, err);
}

int outbox_append(const scimsync_store_plugin *p, scimsync_store_conn *c,
		  const char *id, const json_t *ev, scimsync_err *err)
{
	char *text;
	int rc;

	if ((text = json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER)) ==
	    NULL) {
		snprintf(err->message, sizeof(err->message),
			 "outbox: cannot serialise an event");
		return err->code = SCIMSYNC_EFAIL;
	}
	rc = put_record(p, c, SCIMSYNC_RES_EVENT, id, NULL, text, 1, err);
	free(text);
	return rc;
}

typedef struct read_ctx {
	outbox_cb cb;
	void *payload;
} read_ctx;

static int read_cb(const scimsync_resource *r, void *payload)
{
	read_ctx *rc = payload;

	return rc->cb(r->seq, r->json, r->json_len, rc->payload);
}

int outbox_read(const scimsync_store_plugin *p, scimsync_store_conn *c,
		int64_t after, int64_t limit, outbox_cb cb, void *payload,
		scimsync_err *err)
{
	scimsync_query q = {.tenant = OUTBOX_TENANT,
			    .type = SCIMSYNC_RES_EVENT,
			    .after_seq = after,
			    .limit = limit};
	read_ctx rc = {cb, payload};

	return p->list(c, &q, read_cb, &rc, err);
}

int outbox_count(const scimsync_store_plugin *p, scimsync_store_conn *c,
		 int64_t after, int64_t *out, scimsync_err *err)
{
	scimsync_query q = {.tenant = OUTBOX_TENANT,
			    .type = SCIMSYNC_RES_EVENT,
			    .after_seq = after,
			    .limit = -1};

	return p->count(c, &q, out, err);
}

static int json_cb(const scimsync_resource *r, void *payload)
{
	json_t **out = payload;

	*out = json_loadb(r->json, r->json_len, 0, NULL);
	return 0;
}

int outbox_cursor_get(const scimsync_store_plugin *p, scimsync_store_conn *c,
		      const char *sink, int64_t *out, scimsync_err *err)
{
	json_t *rec = NULL;
	int rc = p->get(c, OUTBOX_TENANT, SCIMSYNC_RES_CURSOR, sink, json_cb,
			&rec, err);

	*out = 0;
	if (rc == SCIMSYNC_ENOTFOUND)
		return SCIMSYNC_OK;
	if (rc == SCIMSYNC_OK)
		*out = json_integer_value(json_object_get(rec, "seq"));
	json_decref(rec);
	return rc;
}

int outbox_cursor_set(const scimsync_store_plugin *p, scimsync_store_conn *c,
		      const char *sink, int64_t seq, scimsync_err *err)
{
	char text[128];
	int rc;

	snprintf(text, sizeof(text), "{\"seq\":%" PRId64 "}", seq);
	rc = put_record(p, c, SCIMSYNC_RES_CURSOR, sink, NULL, text, 0, err);
	if (rc == SCIMSYNC_ENOTFOUND)
		rc = put_record(p, c, SCIMSYNC_RES_CURSOR, sink, NULL, text, 1,
				err);
	return rc;
}

static void dead_id(char *out, size_t len, const char *sink, int64_t seq)
{
	snprintf(out, len, "%s:%020" PRId64, sink, seq);
}

int outbox_dead_put(const scimsync_store_plugin *p, scimsync_store_conn *c,
		    const char *sink, int64_t seq, const char *event_json,
		    size_t len, const char *reason, int64_t time_ms,
		    scimsync_err *err)
{
	json_t *ev = json_loadb(event_json, len, 0, NULL);
	json_t *rec =
		json_pack("{s:I,s:I,s:s,s:o}", "seq", (json_int_t)seq,
			  "time_ms", (json_int_t)time_ms, "reason",
			  reason ? reason : "", "event", ev ? ev : json_null());
	char id[128], *text = rec ? json_dumps(rec, JSON_COMPACT) : NULL;
	int rc;

	json_decref(rec);
	if (text == NULL) {
		snprintf(err->message, sizeof(err->message),
			 "outbox: cannot serialise a dead letter");
		return err->code = SCIMSYNC_EFAIL;
	}
	dead_id(id, sizeof(id), sink, seq);
	rc = put_record(p, c, SCIMSYNC_RES_DEAD, id, sink, text, 1, err);
	if (rc == SCIMSYNC_ECONFLICT) /* the same event failed again */
		rc = put_record(p, c, SCIMSYNC_RES_DEAD, id, sink, text, 0,
				err);
	free(text);
	return rc;
}

static int dead_list_cb(const scimsync_resource *r, void *payload)
{
	json_t *o = json_loadb(r->json, r->json_len, 0, NULL);

	if (o)
		json_array_append_new(payload, o);
	return 0;
}

int outbox_dead_list(const scimsync_store_plugin *p, scimsync_store_conn *c,
		     const char *sink, json_t **out, scimsync_err *err)
{
	scimsync_query q = {.tenant = OUTBOX_TENANT,
			    .type = SCIMSYNC_RES_DEAD,
			    .index = SCIMSYNC_IDX_EXTERNALID,
			    .index_value = sink,
			    .limit = -1};
	int rc;

	*out = json_array();
	rc = p->list(c, &q, dead_list_cb, *out, err);
	if (rc != SCIMSYNC_OK) {
		json_decref(*out);
		*out = NULL;
	}
	return rc;
}

int outbox_dead_count(const scimsync_store_plugin *p, scimsync_store_conn *c,
		      const char *sink, int64_t *out, scimsync_err *err)
{
	scimsync_query q = {.tenant = OUTBOX_TENANT,
			    .type = SCIMSYNC_RES_DEAD,
			    .index = SCIMSYNC_IDX_EXTERNALID,
			    .index_value = sink,
			    .limit = -1};

	return p->count(c, &q, out, err);
}

int outbox_dead_del(const scimsync_store_plugin *p, scimsync_store_conn *c,
		    const char *sink, int64_t seq, scimsync_err *err)
{
	char id[128];

	dead_id(id, sizeof(id), sink, seq);
	return p->del(c, OUTBOX_TENANT, SCIMSYNC_RES_DEAD, id, err);
}

typedef struct prune_ctx {
	int64_t upto;
	json_t *ids;
} prune_ctx;

static int prune_cb(const scimsync_resource *r, void *payload)
{
	prune_ctx *pc = payload;

	if (r->seq > pc->upto)
		return 1; /* ascending: nothing further qualifies */
	json_array_append_new(pc->ids, json_string(r->id));
	return 0;
}

int outbox_prune(const scimsync_store_plugin *p, scimsync_store_conn *c,
		 int64_t upto, int max, int *deleted, scimsync_err *err)
{
	scimsync_query q = {.tenant = OUTBOX_TENANT,
			    .type = SCIMSYNC_RES_EVENT,
			    .limit = max};
	prune_ctx pc = {upto, json_array()};
	size_t i;
	json_t *id;
	int rc;

	*deleted = 0;
	rc = p->list(c, &q, prune_cb, &pc, err);
	if (rc == SCIMSYNC_ESTOPPED)
		rc = SCIMSYNC_OK;
	json_array_foreach (pc.ids, i, id) {
		if (rc != SCIMSYNC_OK)
			break;
		rc = p->del(c, OUTBOX_TENANT, SCIMSYNC_RES_EVENT,
			    json_string_value(id), err);
		if (rc == SCIMSYNC_OK)
			(*deleted)++;
	}
	json_decref(pc.ids);
	return rc;
}
