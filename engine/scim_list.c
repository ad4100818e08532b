/* scim_list.c - list and search Users and Groups: filter (pushed down to a
 * store index where possible), sortBy/sortOrder, index paging and cursor
 * paging (RFC 9865), attributes/excludedAttributes. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filter.h"
#include "log.h"
#include "scim_list.h"
#include "scim_path.h"
#include "scim_render.h"
#include "scim_resource.h"
#include "strutil.h"

/* ---- Cursors: opaque to clients, "c1." + the last seq seen ---- */

static void cursor_encode(char out[40], int64_t seq)
{
	snprintf(out, 40, "c1.%llx", (unsigned long long)seq);
}

static int cursor_decode(const char *s, int64_t *seq)
{
	char *end;
	unsigned long long v;

	if (*s == '\0') {
		*seq = 0;
		return 0;
	}
	if (strncmp(s, "c1.", 3) != 0 || s[3] == '\0')
		return -1;
	errno = 0;
	v = strtoull(s + 3, &end, 16);
	if (errno || *end != '\0' || v > (unsigned long long)INT64_MAX)
		return -1;
	*seq = (int64_t)v;
	return 0;
}

/* ---- What a filter needs of membership ---- */

typedef struct need {
	bool members_all;   /* evaluate against every member */
	json_t *member_ids; /* or only these ids (array of strings) */
	bool groups;	    /* users: the filter reads `groups` */
} need;

static void need_visit(const scim_filter_cmp *cmp, void *payload)
{
	need *n = payload;

	if (cmp->urn && scim_strcasecmp(cmp->urn, SCIM_URN_GROUP) != 0 &&
	    scim_strcasecmp(cmp->urn, SCIM_URN_USER) != 0)
		return;
	if (scim_strcasecmp(cmp->attr, "groups") == 0) {
		n->groups = true;
		return;
	}
	if (scim_strcasecmp(cmp->attr, "members") != 0)
		return;
	if (cmp->op == SCIM_OP_EQ && !cmp->negated &&
	    json_is_string(cmp->value) &&
	    (cmp->sub == NULL || scim_strcasecmp(cmp->sub, "value") == 0))
		json_array_append(n->member_ids, (json_t *)cmp->value);
	else
		n->members_all = true;
}

static void count_visit(const scim_filter_cmp *cmp, void *payload)
{
	(void)cmp;
	(*(int *)payload)++;
}

/* ---- Sorting ---- */

typedef struct hit {
	char *text; /* the stored JSON, copied */
	size_t len;
	char *id;
	int64_t seq;
	const json_t *key; /* sorting: the sort value (a reference), or NULL */
} hit;

static const json_t *sort_key(const scim_path *sp, json_t *res)
{
	json_t *container = scim_path_container(sp, res, false), *v;

	if (container == NULL || sp->attr_name == NULL)
		return NULL;
	v = json_object_get(container, sp->attr_name);
	if (json_is_array(v)) {
		json_t *first = json_array_get(v, 0), *e;
		size_t i;

		json_array_foreach (v, i, e)
			if (json_is_true(json_object_get(e, "primary"))) {
				first = e;
				break;
			}
		v = first;
		if (sp->sub_name == NULL && json_is_object(v))
			v = json_object_get(v, "value");
	}
	if (sp->sub_name && json_is_object(v))
		v = json_object_get(v, sp->sub_name);
	if (v == NULL || json_is_null(v) || json_is_object(v) ||
	    json_is_array(v))
		return NULL;
	return v;
}

/* qsort has no context argument; each worker thread sorts on its own. */
static _Thread_local int sort_desc;
static _Thread_local bool sort_case_exact;

static int key_cmp(const json_t *a, const json_t *b)
{
	if (json_is_number(a) && json_is_number(b)) {
		double x = json_number_value(a), y = json_number_value(b);

		return x < y ? -1 : x > y;
	}
	if (json_is_boolean(a) && json_is_boolean(b))
		return (int)json_is_true(a) - (int)json_is_true(b);
	if (json_is_string(a) && json_is_string(b))
		return sort_case_exact ? strcmp(json_string_value(a),
						json_string_value(b))
				       : scim_strcasecmp(json_string_value(a),
							 json_string_value(b));
	return json_typeof(a) - json_typeof(b);
}

/* Missing values last in either order; ties in insertion order. */
static int hit_cmp(const void *pa, const void *pb)
{
	const hit *a = pa, *b = pb;
	int c;

	if (a->key == NULL || b->key == NULL) {
		if (a->key != b->key)
			return a->key == NULL ? 1 : -1;
	} else if ((c = key_cmp(a->key, b->key)) != 0) {
		return sort_desc ? -c : c;
	}
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* ---- The scan ---- */

typedef struct scan {
	scim_srv *srv;
	const scimsync_store_plugin *p;
	scimsync_store_conn *c;
	const char *tenant;
	const scim_restype *rt;
	scim_filter *filter;
	bool exact; /* the store's index answers the filter exactly */
	need need;
	const char *const *only_ids;
	size_t n_only;
	scim_path *sort;
	/* window */
	long long skip;	   /* matches to skip before keeping */
	long long keep;	   /* matches to keep (-1: all, for sorting) */
	long long matched; /* matches seen */
	bool count_all;	   /* go on counting past the window */
	int64_t after_seq; /* cursor: matches up to here count, not shown */
	long long total;   /* every match, for totalResults */
	hit *hits;
	size_t n_hits, cap_hits;
	int64_t last_seq; /* seq of the last kept hit */
	bool more;	  /* a match exists after the window */
	scim_error *err;
	int failed;
} scan;

static int members_cb(const scimsync_member *m, void *payload)
{
	json_t *arr = payload;

	json_array_append_new(
		arr, json_pack("{s:s,s:s}", "value", m->member_id, "type",
			       m->member_type == SCIMSYNC_RES_GROUP ? "Group"
								    : "User"));
	return 0;
}

/* Give res what the filter reads of membership. */
static int scan_prepare(scan *s, json_t *res)
{
	const char *id = json_string_value(json_object_get(res, "id"));
	scimsync_err serr = {0};

	if (s->rt->id == SCIM_RT_USER) {
		if (s->need.groups)
			return scim_resource_attach(res, s->srv, s->p, s->c,
						    s->tenant, s->rt, false,
						    s->err);
		return 0;
	}
	if (s->need.members_all)
		return scim_resource_attach(res, s->srv, s->p, s->c, s->tenant,
					    s->rt, true, s->err);
	if (s->n_only > 0 && id) {
		json_t *arr = json_array();

		if (s->p->members(s->c, s->tenant, id, s->only_ids, s->n_only,
				  members_cb, arr, &serr) != 0) {
			json_decref(arr);
			return scim_store_error(s->err, &serr, "members");
		}
		json_object_set_new(res, "members", arr);
	}
	return 0;
}

static int scan_cb(const scimsync_resource *r, void *payload)
{
	scan *s = payload;
	json_t *res = NULL;
	hit *h;

	if (s->keep >= 0 && s->matched >= s->skip + s->keep && !s->count_all &&
	    s->more)
		return 1; /* window full and we know there is more */
	if ((s->filter && !s->exact) || s->sort) {
		res = json_loadb(r->json, r->json_len, 0, NULL);
		if (res == NULL)
			return 0; /* an unreadable row matches nothing */
	}
	if (s->filter && !s->exact) {
		if (scan_prepare(s, res) < 0) {
			json_decref(res);
			s->failed = 1;
			return 1;
		}
		if (!scim_filter_match(s->filter, res)) {
			json_decref(res);
			return 0;
		}
		/* What the filter needed is not part of the answer. */
		json_object_del(res, s->rt->id == SCIM_RT_GROUP ? "members"
								: "groups");
	}
	s->total++;
	if (r->seq <= s->after_seq) {
		json_decref(res); /* before the cursor */
		return 0;
	}
	s->matched++;
	if (s->matched <= s->skip ||
	    (s->keep >= 0 && s->matched > s->skip + s->keep)) {
		if (s->matched > s->skip)
			s->more = true;
		json_decref(res);
		return 0;
	}
	if (s->n_hits == s->cap_hits) {
		size_t cap = s->cap_hits ? s->cap_hits * 2 : 64;
		hit *nh = realloc(s->hits, cap * sizeof(*nh));

		if (nh == NULL) {
			json_decref(res);
			scim_error_set(s->err, 500, NULL, "out of memory");
			s->failed = 1;
			return 1;
		}
		s->hits = nh;
		s->cap_hits = cap;
	}
	h = &s->hits[s->n_hits++];
	memset(h, 0, sizeof(*h));
	h->id = strdup(r->id);
	h->seq = r->seq;
	if (s->sort) {
		/* Sorting sees every match: keep only its key and id, and
		 * fetch the page's resources once the order is known. */
		h->key = sort_key(s->sort, res);
		json_incref((json_t *)h->key);
	} else {
		h->text = malloc(r->json_len + 1);
		if (h->text) {
			memcpy(h->text, r->json, r->json_len);
			h->text[r->json_len] = '\0';
		}
		h->len = r->json_len;
	}
	json_decref(res);
	s->last_seq = r->seq;
	if ((h->text == NULL && !s->sort) || h->id == NULL) {
		scim_error_set(s->err, 500, NULL, "out of memory");
		s->failed = 1;
		return 1;
	}
	return 0;
}

static int copy_text_cb(const scimsync_resource *r, void *payload)
{
	hit *h = payload;

	h->text = malloc(r->json_len + 1);
	if (h->text == NULL)
		return 1;
	memcpy(h->text, r->json, r->json_len);
	h->text[r->json_len] = '\0';
	h->len = r->json_len;
	return 0;
}

static void scan_free(scan *s)
{
	for (size_t i = 0; i < s->n_hits; i++) {
		json_decref((json_t *)s->hits[i].key);
		free(s->hits[i].text);
		free(s->hits[i].id);
	}
	free(s->hits);
	free((void *)s->only_ids);
	json_decref(s->need.member_ids);
	scim_filter_free(s->filter);
	scim_path_free(s->sort);
}

int scim_list_run(struct evbuffer *out, scim_srv *srv, const char *tenant,
		  const scim_restype *rt, const scim_list_req *lr,
		  scim_error *err)
{
	const scimsync_config *cfg = srv->cfg;
	scim_worker *w = scim_worker_self();
	scan s = {.srv = srv,
		  .p = srv->sp,
		  .c = w->reader,
		  .tenant = tenant,
		  .rt = rt,
		  .err = err};
	scimsync_query q = {.tenant = tenant,
			    .type = rt->id == SCIM_RT_USER ? SCIMSYNC_RES_USER
							   : SCIMSYNC_RES_GROUP,
			    .limit = -1};
	long long start = lr->start_index < 1 ? 1 : lr->start_index;
	long long count = lr->count < 0 ? cfg->default_count : lr->count;
	bool cursor_mode = lr->cursor != NULL;
	bool with_computed = true;
	scim_render_mode mode;
	struct evbuffer *items;
	size_t n = 0;
	char *folded = NULL;
	scimsync_err serr = {0};
	int64_t total = 0;
	int rc;

	if (count > cfg->max_results)
		count = cfg->max_results;
	s.need.member_ids = json_array();
	if (lr->filter && *lr->filter) {
		const char *attr, *value;
		int n_cmp = 0;

		if ((int)strlen(lr->filter) > cfg->max_filter_length) {
			scan_free(&s);
			return scim_error_set(err, 400, SCIM_ERR_INVALID_FILTER,
					      "the filter is longer than %d "
					      "characters",
					      cfg->max_filter_length);
		}
		if (scim_filter_parse(&s.filter, rt, lr->filter, err) < 0) {
			scan_free(&s);
			return -1;
		}
		scim_filter_visit(s.filter, need_visit, &s.need);
		scim_filter_visit(s.filter, count_visit, &n_cmp);
		if (!s.need.members_all &&
		    json_array_size(s.need.member_ids) > 0) {
			size_t i, nids = json_array_size(s.need.member_ids);
			const char **ids = calloc(nids, sizeof(*ids));
			json_t *v;

			json_array_foreach (s.need.member_ids, i, v)
				ids[i] = json_string_value(v);
			s.only_ids = ids;
			s.n_only = nids;
		}
		if (scim_filter_index_hint(s.filter, &attr, &value)) {
			if (strcmp(attr, "id") == 0) {
				q.index = SCIMSYNC_IDX_ID;
				q.index_value = value;
			} else if (strcmp(attr, "externalId") == 0) {
				q.index = SCIMSYNC_IDX_EXTERNALID;
				q.index_value = value;
			} else if (strcmp(attr, "userName") == 0) {
				q.index = SCIMSYNC_IDX_USERNAME;
				q.index_value = folded = scim_str_fold(value);
			} else if (strcmp(attr, "displayName") == 0) {
				q.index = SCIMSYNC_IDX_DISPLAYNAME;
				q.index_value = folded = scim_str_fold(value);
			}
			/* A lone `attr eq "v"` is what the index answers. */
			s.exact = q.index != SCIMSYNC_IDX_NONE && n_cmp == 1;
		}
	}
	if (lr->sort_by && *lr->sort_by) {
		if (cursor_mode) {
			scan_free(&s);
			free(folded);
			return scim_error_set(err, 400, SCIM_ERR_INVALID_VALUE,
					      "sortBy cannot be combined with "
					      "cursor pagination");
		}
		if (scim_path_parse(&s.sort, rt, lr->sort_by, err) < 0) {
			scan_free(&s);
			free(folded);
			return -1;
		}
		sort_desc = lr->sort_order &&
			    scim_strcasecmp(lr->sort_order, "descending") == 0;
		sort_case_exact = s.sort->sub	 ? s.sort->sub->case_exact
				  : s.sort->attr ? s.sort->attr->case_exact
						 : false;
	}
	if (cursor_mode && cursor_decode(lr->cursor, &q.after_seq) < 0) {
		scan_free(&s);
		free(folded);
		return scim_error_set(
			err, 400, "invalidCursor",
			"the cursor is not one this server issued");
	}

	if (s.filter == NULL && s.sort == NULL) {
		/* The store pages for us. */
		scimsync_query cq = q;

		cq.after_seq = 0;
		if (srv->sp->count(w->reader, &cq, &total, &serr) != 0) {
			scan_free(&s);
			free(folded);
			return scim_store_error(err, &serr, "list");
		}
		q.offset = cursor_mode ? 0 : start - 1;
		q.limit = count + (cursor_mode ? 1 : 0);
		s.keep = count;
		rc = srv->sp->list(w->reader, &q, scan_cb, &s, &serr);
	} else {
		/* One pass from the start: totalResults counts every match,
		 * the page takes those after the cursor or startIndex. */
		s.skip = cursor_mode || s.sort ? 0 : start - 1;
		s.keep = s.sort ? -1 : count;
		s.count_all = true;
		s.after_seq = q.after_seq;
		q.after_seq = 0;
		rc = srv->sp->list(w->reader, &q, scan_cb, &s, &serr);
		total = s.total;
	}
	free(folded);
	if (s.failed || (rc != 0 && rc != SCIMSYNC_ESTOPPED)) {
		if (!s.failed)
			scim_store_error(err, &serr, "list");
		scan_free(&s);
		return -1;
	}
	if (s.sort) {
		qsort(s.hits, s.n_hits, sizeof(*s.hits), hit_cmp);
	}

	/* Assemble the page: stored text as it is where no projection is
	 * asked for, otherwise through jansson. */
	mode = scim_render_mode_for(rt, lr->attributes, lr->excluded);
	if (rt->id == SCIM_RT_GROUP && mode == SCIM_RENDER_PARSED) {
		if (lr->attributes && *lr->attributes)
			with_computed = scim_attr_list_mentions(lr->attributes,
								"members");
		else if (lr->excluded && *lr->excluded)
			with_computed = !scim_attr_list_mentions(lr->excluded,
								 "members");
	}
	items = evbuffer_new();
	{
		size_t from = s.sort ? (size_t)(start - 1) : 0;

		/* Sorted: the page's resources are read now, by id. */
		for (size_t i = from;
		     s.sort && i < s.n_hits && (long long)(i - from) < count;
		     i++) {
			hit *h = &s.hits[i];

			if (srv->sp->get(w->reader, tenant, q.type, h->id,
					 copy_text_cb, h, &serr) != 0 ||
			    h->text == NULL) {
				evbuffer_free(items);
				scan_free(&s);
				return scim_store_error(err, &serr, "list");
			}
		}

		for (size_t i = from; i < s.n_hits && (long long)n < count;
		     i++, n++) {
			hit *h = &s.hits[i];

			if (n > 0)
				evbuffer_add(items, ",", 1);
			if (mode != SCIM_RENDER_PARSED) {
				rc = scim_render_stored(
					items, srv, srv->sp, w->reader, tenant,
					rt, h->text, h->len, h->id, mode, err);
			} else {
				json_t *res =
					json_loadb(h->text, h->len, 0, NULL);
				char *text = NULL;

				rc = res ? 0
					 : scim_error_set(err, 500, NULL,
							  "stored %s is "
							  "unreadable",
							  rt->name);
				if (rc == 0)
					rc = scim_resource_attach(
						res, srv, srv->sp, w->reader,
						tenant, rt, with_computed, err);
				if (rc == 0)
					rc = scim_resource_project(
						rt, res, lr->attributes,
						lr->excluded, err);
				if (rc == 0 &&
				    (text = json_dumps(res, JSON_COMPACT)))
					evbuffer_add(items, text, strlen(text));
				free(text);
				json_decref(res);
			}
			if (rc < 0) {
				evbuffer_free(items);
				scan_free(&s);
				return -1;
			}
			s.last_seq = h->seq;
		}
		if (cursor_mode && (long long)s.n_hits > count)
			s.more = true;
	}
	evbuffer_add_printf(out,
			    "{\"schemas\":[\"%s\"],\"totalResults\":%lld,"
			    "\"itemsPerPage\":%zu,",
			    SCIM_URN_LIST, (long long)total, n);
	if (cursor_mode) {
		if (s.more && n > 0) {
			char cur[40];

			cursor_encode(cur, s.last_seq);
			evbuffer_add_printf(out, "\"nextCursor\":\"%s\",", cur);
		}
	} else {
		evbuffer_add_printf(out, "\"startIndex\":%lld,", start);
	}
	evbuffer_add(out, "\"Resources\":[", 13);
	evbuffer_add_buffer(out, items);
	evbuffer_add(out, "]}", 2);
	evbuffer_free(items);
	scan_free(&s);
	return 0;
}

/* ---- HTTP ---- */

static int parse_int(const char *s, long long *out)
{
	char *end;

	errno = 0;
	*out = strtoll(s, &end, 10);
	return errno || end == s || *end != '\0' ? -1 : 0;
}

static void list_reply(scim_srv *srv, evhtp_request_t *req, const char *tenant,
		       const scim_restype *rt, const scim_list_req *lr)
{
	struct evbuffer *out = evbuffer_new();
	scimsync_store_conn *c = scim_worker_self()->reader;
	scim_error err;
	int rc;

	/* One snapshot: the count and the page agree. */
	scim_read_begin(srv, c);
	rc = scim_list_run(out, srv, tenant, rt, lr, &err);
	scim_read_end(srv, c);
	if (rc < 0)
		scim_reply_error(req, &err);
	else
		scim_reply_buffer(req, 200, out, NULL);
	evbuffer_free(out);
}

void scim_handle_list(scim_srv *srv, evhtp_request_t *req, const char *tenant,
		      const scim_restype *rt, scim_query *q)
{
	scim_list_req lr = {.count = -1, .start_index = 1};
	const char *v;
	bool has_cursor;
	scim_error err;

	lr.filter = scim_query_get(q, "filter", NULL);
	lr.sort_by = scim_query_get(q, "sortBy", NULL);
	lr.sort_order = scim_query_get(q, "sortOrder", NULL);
	lr.attributes = scim_query_get(q, "attributes", NULL);
	lr.excluded = scim_query_get(q, "excludedAttributes", NULL);
	lr.cursor = scim_query_get(q, "cursor", &has_cursor);
	if ((v = scim_query_get(q, "startIndex", NULL)) && *v &&
	    parse_int(v, &lr.start_index) < 0) {
		scim_error_set(&err, 400, SCIM_ERR_INVALID_VALUE,
			       "startIndex must be an integer");
		scim_reply_error(req, &err);
		return;
	}
	if ((v = scim_query_get(q, "count", NULL)) && *v) {
		if (parse_int(v, &lr.count) < 0) {
			scim_error_set(&err, 400, SCIM_ERR_INVALID_VALUE,
				       "count must be an integer");
			scim_reply_error(req, &err);
			return;
		}
		if (lr.count < 0)
			lr.count = 0;
	}
	list_reply(srv, req, tenant, rt, &lr);
}

/* "attributes": ["a", "b"] → "a,b" (new string). */
static char *join_attrs(const json_t *v, scim_error *err, const char *what)
{
	size_t i, len = 0;
	json_t *e;
	char *s;

	if (v == NULL || json_is_null(v))
		return NULL;
	if (json_is_string(v))
		return strdup(json_string_value(v));
	if (!json_is_array(v)) {
		scim_error_set(err, 400, SCIM_ERR_INVALID_VALUE,
			       "%s must be an array of strings", what);
		return (char *)-1;
	}
	json_array_foreach (v, i, e) {
		if (!json_is_string(e)) {
			scim_error_set(err, 400, SCIM_ERR_INVALID_VALUE,
				       "%s must be an array of strings", what);
			return (char *)-1;
		}
		len += json_string_length(e) + 1;
	}
	s = calloc(1, len + 1);
	json_array_foreach (v, i, e) {
		if (i)
			strcat(s, ",");
		strcat(s, json_string_value(e));
	}
	return s;
}

void scim_handle_search(scim_srv *srv, evhtp_request_t *req, const char *tenant,
			const scim_restype *rt)
{
	scim_list_req lr = {.count = -1, .start_index = 1};
	json_t *body;
	const json_t *v;
	char *attrs = NULL, *excl = NULL;
	scim_error err;

	body = scim_body_parse(srv, req, srv->cfg->max_body_bytes, &err);
	if (body == NULL) {
		scim_reply_error(req, &err);
		return;
	}
#define STR_FIELD(name, field)                                                 \
	do {                                                                   \
		v = scim_json_get_ci(body, name);                              \
		if (v && !json_is_null(v)) {                                   \
			if (!json_is_string(v)) {                              \
				scim_error_set(&err, 400,                      \
					       SCIM_ERR_INVALID_VALUE,         \
					       "%s must be a string", name);   \
				goto fail;                                     \
			}                                                      \
			lr.field = json_string_value(v);                       \
		}                                                              \
	} while (0)
#define INT_FIELD(name, field)                                                 \
	do {                                                                   \
		v = scim_json_get_ci(body, name);                              \
		if (v && !json_is_null(v)) {                                   \
			if (!json_is_integer(v)) {                             \
				scim_error_set(&err, 400,                      \
					       SCIM_ERR_INVALID_VALUE,         \
					       "%s must be an integer", name); \
				goto fail;                                     \
			}                                                      \
			lr.field = json_integer_value(v);                      \
		}                                                              \
	} while (0)
	STR_FIELD("filter", filter);
	STR_FIELD("sortBy", sort_by);
	STR_FIELD("sortOrder", sort_order);
	STR_FIELD("cursor", cursor);
	INT_FIELD("startIndex", start_index);
	INT_FIELD("count", count);
#undef STR_FIELD
#undef INT_FIELD
	if (lr.count < -1)
		lr.count = 0;
	attrs = join_attrs(scim_json_get_ci(body, "attributes"), &err,
			   "attributes");
	if (attrs == (char *)-1) {
		attrs = NULL;
		goto fail;
	}
	excl = join_attrs(scim_json_get_ci(body, "excludedAttributes"), &err,
			  "excludedAttributes");
	if (excl == (char *)-1) {
		excl = NULL;
		goto fail;
	}
	lr.attributes = attrs;
	lr.excluded = excl;
	list_reply(srv, req, tenant, rt, &lr);
	free(attrs);
	free(excl);
	json_decref(body);
	return;
fail:
	free(attrs);
	free(excl);
	json_decref(body);
	scim_reply_error(req, &err);
}
