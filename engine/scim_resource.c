/* scim_resource.c - create, read, replace, patch and delete Users and
 * Groups (RFC 7644 §3.3-3.6), with meta, ETags and group membership rows. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "patch.h"
#include "scim_render.h"
#include "scim_resource.h"
#include "strutil.h"

void scim_etag(char out[32], int64_t version)
{
	snprintf(out, 32, "W/\"%lld\"", (long long)version);
}

void scim_op_clear(scim_op *op)
{
	free(op->id);
	json_decref(op->body);
	free(op->if_match);
	json_decref(op->resource);
	free(op->text);
	json_decref(op->members);
	op->text = NULL;
	op->members = NULL;
	op->prepared = false;
	op->id = NULL;
	op->body = NULL;
	op->if_match = NULL;
	op->resource = NULL;
	scim_change_clear(&op->change);
}

/* ---- What a write changed (for events) ---- */

static int id_list_cb(const scimsync_member *m, void *payload)
{
	json_array_append_new(payload, json_string(m->member_id));
	return 0;
}

static int group_list_cb(const scimsync_member *m, void *payload)
{
	json_array_append_new(payload, json_string(m->group_id));
	return 0;
}

/* Members of group gid now, all or only those among only (an array of
 * id strings or {"value": id} objects): a new array of ids. */
static json_t *member_ids(const scimsync_store_plugin *p,
			  scimsync_store_conn *c, const char *tenant,
			  const char *gid, const json_t *only)
{
	scimsync_err serr = {0};
	json_t *out = json_array(), *v;
	const char **ids = NULL;
	size_t n = 0, i;

	if (only) {
		if (json_array_size(only) == 0)
			return out;
		ids = calloc(json_array_size(only), sizeof(*ids));
		json_array_foreach (only, i, v) {
			const char *s =
				json_is_string(v)
					? json_string_value(v)
					: json_string_value(
						  json_object_get(v, "value"));

			if (ids && s)
				ids[n++] = s;
		}
	}
	if (p->members(c, tenant, gid, ids, n, id_list_cb, out, &serr) !=
	    SCIMSYNC_OK)
		json_array_clear(out);
	free(ids);
	return out;
}

/* The ids of list (strings or {"value": id}; NULL: none) not in not_in
 * (strings; NULL: none), each once, in list's order: a new array.
 * Linear: the ids seen are the keys of a hash (a group may have 100,000
 * members). */
static json_t *ids_minus(const json_t *list, const json_t *not_in)
{
	json_t *out = json_array(), *seen = json_object(), *v;
	size_t i;

	json_array_foreach (not_in, i, v)
		if (json_is_string(v))
			json_object_set(seen, json_string_value(v),
					json_true());
	json_array_foreach (list, i, v) {
		const char *s = json_is_string(v)
					? json_string_value(v)
					: json_string_value(
						  json_object_get(v, "value"));

		if (s == NULL || json_object_get(seen, s) != NULL)
			continue;
		json_object_set(seen, s, json_true());
		json_array_append_new(out, json_string(s));
	}
	json_decref(seen);
	return out;
}

static bool tracking(const scim_op *op)
{
	return op->srv && op->srv->outbox_on;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int store_type(const scim_restype *rt)
{
	return rt->id == SCIM_RT_USER ? SCIMSYNC_RES_USER : SCIMSYNC_RES_GROUP;
}

static char *location_of(scim_srv *srv, const char *endpoint, const char *id)
{
	size_t n = strlen(srv->base_url) + strlen(endpoint) + strlen(id) + 2;
	char *s = malloc(n);

	if (s)
		snprintf(s, n, "%s%s/%s", srv->base_url, endpoint, id);
	return s;
}

/* ---- Reading ---- */

typedef struct load_ctx {
	json_t *res;
	int64_t version;
} load_ctx;

static int load_cb(const scimsync_resource *r, void *payload)
{
	load_ctx *lc = payload;

	lc->res = json_loadb(r->json, r->json_len, 0, NULL);
	lc->version = r->version;
	return 0;
}

typedef struct attach_ctx {
	scim_srv *srv;
	json_t *arr;
	int as_groups; /* groups_of: the entries are groups */
} attach_ctx;

static int attach_cb(const scimsync_member *m, void *payload)
{
	attach_ctx *ac = payload;
	const char *id = ac->as_groups ? m->group_id : m->member_id;
	int group = ac->as_groups || m->member_type == SCIMSYNC_RES_GROUP;
	char *ref = location_of(ac->srv, group ? "/Groups" : "/Users", id);
	json_t *o = json_pack("{s:s,s:s}", "value", id, "$ref", ref ? ref : "");

	free(ref);
	if (m->display)
		json_object_set_new(o, "display", json_string(m->display));
	json_object_set_new(o, "type",
			    json_string(ac->as_groups ? "direct"
					: group	      ? "Group"
						      : "User"));
	json_array_append_new(ac->arr, o);
	return 0;
}

int scim_resource_attach(json_t *res, scim_srv *srv,
			 const scimsync_store_plugin *p, scimsync_store_conn *c,
			 const char *tenant, const scim_restype *rt,
			 bool with_members, scim_error *err)
{
	const char *id = json_string_value(json_object_get(res, "id"));
	attach_ctx ac = {srv, json_array(), rt->id == SCIM_RT_USER};
	scimsync_err serr = {0};
	int rc;

	if (id == NULL) {
		json_decref(ac.arr);
		return scim_error_set(err, 500, NULL,
				      "stored resource has no id");
	}
	if (rt->id == SCIM_RT_USER)
		rc = p->groups_of(c, tenant, id, attach_cb, &ac, &serr);
	else if (with_members)
		rc = p->members(c, tenant, id, NULL, 0, attach_cb, &ac, &serr);
	else {
		json_decref(ac.arr);
		return 0;
	}
	if (rc != 0) {
		json_decref(ac.arr);
		return scim_store_error(err, &serr, "membership");
	}
	if (json_array_size(ac.arr) > 0)
		json_object_set_new(
			res, rt->id == SCIM_RT_USER ? "groups" : "members",
			ac.arr);
	else
		json_decref(ac.arr);
	return 0;
}

/* The stored form of a resource (no computed attributes), or NULL with
 * err (404 when absent). *version_out gets its version. */
static json_t *load_stored(const scimsync_store_plugin *p,
			   scimsync_store_conn *c, const char *tenant,
			   const scim_restype *rt, const char *id,
			   int64_t *version_out, scim_error *err)
{
	load_ctx lc = {NULL, 0};
	scimsync_err serr = {0};
	int rc = p->get(c, tenant, store_type(rt), id, load_cb, &lc, &serr);

	if (rc == SCIMSYNC_ENOTFOUND) {
		scim_error_set(err, 404, NULL, "%s %s not found", rt->name, id);
		return NULL;
	}
	if (rc != 0) {
		scim_store_error(err, &serr, rt->name);
		return NULL;
	}
	if (lc.res == NULL) {
		scim_error_set(err, 500, NULL, "stored %s is unreadable",
			       rt->name);
		return NULL;
	}
	if (version_out)
		*version_out = lc.version;
	return lc.res;
}

int scim_resource_load(json_t **out, scim_srv *srv,
		       const scimsync_store_plugin *p, scimsync_store_conn *c,
		       const char *tenant, const scim_restype *rt,
		       const char *id, bool with_members, scim_error *err)
{
	json_t *res = load_stored(p, c, tenant, rt, id, NULL, err);

	*out = NULL;
	if (res == NULL)
		return -1;
	if (scim_resource_attach(res, srv, p, c, tenant, rt, with_members,
				 err) < 0) {
		json_decref(res);
		return -1;
	}
	*out = res;
	return 0;
}

/* ---- Writing ---- */

/* Does an If-Match value (a list of ETags or "*") match version? */
static bool etag_matches(const char *if_match, int64_t version)
{
	char want[32];
	const char *p = if_match;

	snprintf(want, sizeof(want), "%lld", (long long)version);
	while (*p) {
		const char *start, *end;

		while (*p == ' ' || *p == ',')
			p++;
		if (*p == '*')
			return true;
		if (strncmp(p, "W/", 2) == 0)
			p += 2;
		if (*p == '"')
			p++;
		start = p;
		while (*p && *p != '"' && *p != ',')
			p++;
		end = p;
		if ((size_t)(end - start) == strlen(want) &&
		    strncmp(start, want, (size_t)(end - start)) == 0)
			return true;
		while (*p && *p != ',')
			p++;
	}
	return false;
}

static int exists_cb(const scimsync_resource *r, void *payload)
{
	(void)r;
	(void)payload;
	return 0;
}

/* The stored resource an update starts from, with the If-Match check
 * done: NULL with op->err (404, 412) otherwise. */
static json_t *load_for_write(scim_op *op, const scimsync_store_plugin *p,
			      scimsync_store_conn *c, int64_t *version)
{
	json_t *old = load_stored(p, c, op->tenant, op->rt, op->id, version,
				  &op->err);

	if (old && op->if_match && !etag_matches(op->if_match, *version)) {
		json_decref(old);
		scim_error_set(&op->err, 412, NULL,
			       "If-Match does not match the current version");
		return NULL;
	}
	return old;
}

/* Pull the members array out of a group body, validating each entry and
 * checking that each member exists in the tenant (before any write).
 * *out: new array of {"value","type"} objects. */
/* Move the members array out of a group body into *out as {"value": id}
 * objects, checking each entry's shape (no store access). */
static int members_extract(json_t **out, json_t *res, scim_op *op,
			   const char *self_id)
{
	json_t *members = json_object_get(res, "members");
	json_t *arr = json_array(), *m;
	size_t i;

	*out = arr;
	if (members == NULL)
		return 0;
	json_incref(members);
	json_object_del(res, "members");
	json_array_foreach (members, i, m) {
		const char *v = json_string_value(json_object_get(m, "value"));

		if (v == NULL || *v == '\0') {
			json_decref(members);
			return scim_error_set(&op->err, 400,
					      SCIM_ERR_INVALID_VALUE,
					      "members[%zu].value must be a "
					      "resource id",
					      i);
		}
		if (self_id && strcmp(v, self_id) == 0) {
			json_decref(members);
			return scim_error_set(
				&op->err, 400, SCIM_ERR_INVALID_VALUE,
				"a group cannot be its own member");
		}
		json_array_append_new(arr, json_pack("{s:s}", "value", v));
	}
	json_decref(members);
	return 0;
}

/* Check that every member exists in the tenant, before any write. */
static int members_check(const json_t *members, scim_op *op,
			 const scimsync_store_plugin *p, scimsync_store_conn *c)
{
	size_t i;
	json_t *m;

	json_array_foreach (members, i, m) {
		const char *v = json_string_value(json_object_get(m, "value"));
		scimsync_err serr = {0};
		int rc = p->get(c, op->tenant, SCIMSYNC_RES_USER, v, exists_cb,
				NULL, &serr);

		if (rc == SCIMSYNC_ENOTFOUND)
			rc = p->get(c, op->tenant, SCIMSYNC_RES_GROUP, v,
				    exists_cb, NULL, &serr);
		if (rc == SCIMSYNC_ENOTFOUND)
			return scim_error_set(
				&op->err, 400, SCIM_ERR_INVALID_VALUE,
				"member '%.64s' does not exist", v);
		if (rc != 0)
			return scim_store_error(&op->err, &serr, "member");
	}
	return 0;
}

/* Both, for updates that run wholly on the writer. */
static int take_members(json_t **out, json_t *res, scim_op *op,
			const scimsync_store_plugin *p, scimsync_store_conn *c,
			const char *self_id)
{
	if (members_extract(out, res, op, self_id) < 0)
		return -1;
	return members_check(*out, op, p, c);
}

/* Fill a store record from a resource's JSON text and indexed keys. The
 * strings in keys are owned by the caller. */
typedef struct rec_keys {
	char *user_name_key;
	char *display_key;
} rec_keys;

static void rec_fill(scimsync_resource *r, rec_keys *k, const scim_op *op,
		     json_t *res, const char *id, int64_t version,
		     const char *json, size_t json_len)
{
	const char *un = json_string_value(json_object_get(res, "userName"));
	const char *dn = json_string_value(json_object_get(res, "displayName"));

	memset(r, 0, sizeof(*r));
	k->user_name_key =
		un && op->rt->id == SCIM_RT_USER ? scim_str_fold(un) : NULL;
	k->display_key =
		dn && op->rt->id == SCIM_RT_GROUP ? scim_str_fold(dn) : NULL;
	r->tenant = op->tenant;
	r->type = store_type(op->rt);
	r->id = id;
	r->json = json;
	r->json_len = json_len;
	r->version = version;
	r->user_name_key = k->user_name_key;
	r->external_id = json_string_value(json_object_get(res, "externalId"));
	r->display_key = k->display_key;
	r->display = dn ? dn : un;
}

static void rec_keys_free(rec_keys *k)
{
	free(k->user_name_key);
	free(k->display_key);
}

/* Set id and meta on res and serialise it: the stored form. New string,
 * or NULL (out of memory) with op->err set. */
static char *finalize(scim_op *op, json_t *res, const char *id, int64_t version,
		      const char *created)
{
	char now[32], etag[32];
	char *loc = location_of(op->srv, op->rt->endpoint, id);
	char *text;

	scim_time_format(now, now_ms());
	scim_etag(etag, version);
	json_object_set_new(res, "id", json_string(id));
	json_object_set_new(
		res, "meta",
		json_pack("{s:s,s:s,s:s,s:s,s:s}", "resourceType", op->rt->name,
			  "created", created ? created : now, "lastModified",
			  now, "location", loc ? loc : "", "version", etag));
	free(loc);
	text = json_dumps(res, JSON_COMPACT);
	if (text == NULL)
		scim_error_set(&op->err, 500, NULL, "out of memory");
	return text;
}

/* Write the finalized resource (res and its text); then the member rows. */
static int store_write(scim_op *op, const scimsync_store_plugin *p,
		       scimsync_store_conn *c, json_t *res, const char *text,
		       const char *id, int64_t version, int create,
		       const json_t *members, bool clear_members)
{
	scimsync_resource r;
	scimsync_err serr = {0};
	rec_keys k;
	size_t i;
	json_t *m;
	int rc;

	rec_fill(&r, &k, op, res, id, version, text, strlen(text));
	rc = p->put(c, &r, create, &serr);
	rec_keys_free(&k);
	if (rc == SCIMSYNC_ECONFLICT)
		return scim_error_set(&op->err, 409, SCIM_ERR_UNIQUENESS, "%s",
				      op->rt->id == SCIM_RT_USER
					      ? "userName is already taken"
					      : "id is already taken");
	if (rc != 0)
		return scim_store_error(&op->err, &serr, op->rt->name);
	if (clear_members && p->member_clear(c, op->tenant, id, &serr) != 0)
		return scim_store_error(&op->err, &serr, "members");
	json_array_foreach (members, i, m) {
		const char *v = json_string_value(json_object_get(m, "value"));

		rc = p->member_add(c, op->tenant, id, v, &serr);
		if (rc != 0)
			return scim_store_error(&op->err, &serr, "member");
	}
	return 0;
}

/* Set meta and write the resource; then the member rows. */
static int write_resource(scim_op *op, const scimsync_store_plugin *p,
			  scimsync_store_conn *c, json_t *res, const char *id,
			  int64_t version, const char *created, int create,
			  json_t *members, bool clear_members)
{
	char *text = finalize(op, res, id, version, created);
	int rc;

	if (text == NULL)
		return -1;
	rc = store_write(op, p, c, res, text, id, version, create, members,
			 clear_members);
	free(text);
	return rc;
}

int scim_op_prepare(scim_op *op)
{
	json_t *res = op->body;
	char id[37];

	if (op->method != SCIM_M_POST || op->prepared)
		return 0;
	if (scim_resource_normalize(op->rt, res, SCIM_NORM_CREATE, NULL,
				    &op->err) < 0)
		return -1;
	/* Passwords are write-only and never stored in clear. */
	json_object_del(res, "password");
	if (op->rt->id == SCIM_RT_GROUP &&
	    members_extract(&op->members, res, op, NULL) < 0)
		return -1;
	scim_new_uuid(id);
	op->text = finalize(op, res, id, 1, NULL);
	if (op->text == NULL)
		return -1;
	op->id = strdup(id);
	op->prepared = true;
	return 0;
}

static int op_create(scim_op *op, const scimsync_store_plugin *p,
		     scimsync_store_conn *c)
{
	if (scim_op_prepare(op) < 0)
		return -1;
	if (op->members && members_check(op->members, op, p, c) < 0)
		return -1;
	if (store_write(op, p, c, op->body, op->text, op->id, 1, 1, op->members,
			false) < 0)
		return -1;
	if (tracking(op)) {
		op->change.kind = SCIM_CHANGE_CREATE;
		op->change.after = json_incref(op->body);
		if (op->members)
			op->change.added = ids_minus(op->members, NULL);
	}
	op->status = 201;
	return 0;
}

static int op_replace(scim_op *op, const scimsync_store_plugin *p,
		      scimsync_store_conn *c)
{
	int64_t version;
	json_t *old = load_for_write(op, p, c, &version);
	json_t *res = op->body, *members = NULL, *meta, *old_ids = NULL;
	char *created = NULL;
	int rc = -1;

	if (old == NULL)
		return -1;
	if (scim_resource_normalize(op->rt, res, SCIM_NORM_REPLACE, old,
				    &op->err) < 0)
		goto out;
	json_object_del(res, "password");
	if (op->rt->id == SCIM_RT_GROUP &&
	    take_members(&members, res, op, p, c, op->id) < 0)
		goto out;
	meta = json_object_get(old, "meta");
	created = strdup(json_string_value(json_object_get(meta, "created"))
				 ?: "");
	if (tracking(op) && op->rt->id == SCIM_RT_GROUP)
		old_ids = member_ids(p, c, op->tenant, op->id, NULL);
	if (op->rt->id == SCIM_RT_USER) {
		/* Nothing changed: keep the version (IdPs PUT on every sync).
		 */
		json_t *cmp = json_deep_copy(old);

		json_object_set(res, "id", json_object_get(old, "id"));
		json_object_set(res, "meta", meta);
		if (json_equal(cmp, res)) {
			json_decref(cmp);
			op->status = 200;
			rc = 0;
			goto out;
		}
		json_decref(cmp);
	}
	rc = write_resource(op, p, c, res, op->id, version + 1, created, 0,
			    members, op->rt->id == SCIM_RT_GROUP);
	if (rc == 0)
		op->status = 200;
	if (rc == 0 && tracking(op)) {
		op->change.kind = SCIM_CHANGE_UPDATE;
		op->change.before = json_incref(old);
		op->change.after = json_incref(res);
		if (old_ids) {
			json_t *now = ids_minus(members, NULL);

			op->change.added = ids_minus(now, old_ids);
			op->change.removed = ids_minus(old_ids, now);
			json_decref(now);
		}
	}
out:
	free(created);
	json_decref(old_ids);
	json_decref(members);
	json_decref(old);
	return rc;
}

static int op_patch(scim_op *op, const scimsync_store_plugin *p,
		    scimsync_store_conn *c)
{
	int64_t version;
	json_t *old = load_for_write(op, p, c, &version);
	json_t *res = NULL, *adds = NULL, *meta, *m;
	json_t *touched = NULL, *was = NULL;
	scim_member_delta delta;
	char *created = NULL;
	scimsync_err serr = {0};
	size_t i;
	int rc = -1;
	bool is_group = op->rt->id == SCIM_RT_GROUP, members_changed;

	if (old == NULL)
		return -1;
	scim_member_delta_init(&delta);
	res = json_deep_copy(old);
	if (scim_patch_apply(op->rt, res, op->body, is_group ? &delta : NULL,
			     &op->err) < 0)
		goto out;
	/* The checks of a full write: types, required, canonical names. */
	if (scim_resource_normalize(op->rt, res, SCIM_NORM_PATCHED, old,
				    &op->err) < 0)
		goto out;
	json_object_del(res, "password");
	json_object_set(res, "id", json_object_get(old, "id"));
	meta = json_object_get(old, "meta");
	json_object_set(res, "meta", meta);
	members_changed = delta.remove_all || json_array_size(delta.add) > 0 ||
			  json_array_size(delta.remove) > 0;
	if (members_changed && json_array_size(delta.add) > 0) {
		/* Validate the new members before writing anything. */
		json_t *tmp = json_pack("{s:O}", "members", delta.add);

		rc = take_members(&adds, tmp, op, p, c, op->id);
		json_decref(tmp);
		if (rc < 0)
			goto out;
		rc = -1;
	}
	if (!members_changed && json_equal(old, res)) {
		op->status = 200; /* nothing changed: same version */
		rc = 0;
		goto out;
	}
	created = strdup(json_string_value(json_object_get(meta, "created"))
				 ?: "");
	if (tracking(op) && members_changed) {
		/* Which of the ids this PATCH touches are members before and
		 * after: the difference is what it added and removed. */
		touched = ids_minus(adds, NULL);
		json_array_extend(touched, delta.remove);
		if (delta.remove_all) {
			json_t *all =
				member_ids(p, c, op->tenant, op->id, NULL);

			json_array_extend(touched, all);
			json_decref(all);
		}
		was = member_ids(p, c, op->tenant, op->id, touched);
	}
	if (write_resource(op, p, c, res, op->id, version + 1, created, 0, NULL,
			   delta.remove_all) < 0)
		goto out;
	json_array_foreach (delta.remove, i, m) {
		if (p->member_remove(c, op->tenant, op->id,
				     json_string_value(m), &serr) != 0) {
			scim_store_error(&op->err, &serr, "member");
			goto out;
		}
	}
	json_array_foreach (adds, i, m) {
		if (p->member_add(
			    c, op->tenant, op->id,
			    json_string_value(json_object_get(m, "value")),
			    &serr) != 0) {
			scim_store_error(&op->err, &serr, "member");
			goto out;
		}
	}
	op->status = 200;
	rc = 0;
	if (tracking(op)) {
		op->change.kind = SCIM_CHANGE_UPDATE;
		op->change.before = json_incref(old);
		op->change.after = json_deep_copy(res);
		if (touched) {
			json_t *now =
				member_ids(p, c, op->tenant, op->id, touched);

			op->change.added = ids_minus(now, was);
			op->change.removed = ids_minus(was, now);
			json_decref(now);
		}
	}
out:
	if (rc == 0) {
		json_decref(op->resource);
		op->resource = res ? res : json_deep_copy(old);
		res = NULL;
	}
	json_decref(touched);
	json_decref(was);
	free(created);
	json_decref(adds);
	json_decref(res);
	json_decref(old);
	scim_member_delta_clear(&delta);
	return rc;
}

static int op_delete(scim_op *op, const scimsync_store_plugin *p,
		     scimsync_store_conn *c)
{
	int64_t version;
	json_t *old = load_for_write(op, p, c, &version);
	scimsync_err serr = {0};

	if (old == NULL)
		return -1;
	if (tracking(op)) {
		op->change.kind = SCIM_CHANGE_DELETE;
		op->change.before = old;
		old = NULL;
		if (op->rt->id == SCIM_RT_GROUP) {
			op->change.removed =
				member_ids(p, c, op->tenant, op->id, NULL);
		} else {
			op->change.groups = json_array();
			if (p->groups_of(c, op->tenant, op->id, group_list_cb,
					 op->change.groups, &serr) != 0)
				return scim_store_error(&op->err, &serr,
							"groups");
		}
	}
	json_decref(old);
	if (p->del(c, op->tenant, store_type(op->rt), op->id, &serr) != 0)
		return scim_store_error(&op->err, &serr, op->rt->name);
	op->status = 204;
	return 0;
}

int scim_op_run(scim_op *op, const scimsync_store_plugin *p,
		scimsync_store_conn *c)
{
	int rc;

	scim_error_clear(&op->err);
	scim_change_clear(&op->change);
	switch (op->method) {
	case SCIM_M_POST:
		rc = op_create(op, p, c);
		if (rc == 0) {
			op->resource = op->body;
			op->body = NULL;
		}
		break;
	case SCIM_M_PUT:
		rc = op_replace(op, p, c);
		if (rc == 0) {
			op->resource = op->body;
			op->body = NULL;
		}
		break;
	case SCIM_M_PATCH:
		rc = op_patch(op, p, c);
		break;
	case SCIM_M_DELETE:
		rc = op_delete(op, p, c);
		if (rc == 0 && tracking(op))
			rc = event_emit(op->srv, op->tenant, op->rt, op->id,
					&op->change, p, c, &op->err);
		return rc;
	case SCIM_M_GET:
	default:
		rc = scim_resource_load(&op->resource, op->srv, p, c,
					op->tenant, op->rt, op->id, true,
					&op->err);
		if (rc == 0)
			op->status = 200;
		return rc;
	}
	/* Events commit with the change, in the op's savepoint. */
	if (rc == 0 && tracking(op) &&
	    event_emit(op->srv, op->tenant, op->rt, op->id, &op->change, p, c,
		       &op->err) < 0)
		return -1;
	/* The answer shows the resource as a GET would, members included. */
	/* A user just created belongs to no group yet. */
	if (op->method == SCIM_M_POST && op->rt->id == SCIM_RT_USER)
		return rc;
	if (rc == 0 && op->resource && op->attach &&
	    scim_resource_attach(op->resource, op->srv, p, c, op->tenant,
				 op->rt, true, &op->err) < 0)
		return -1;
	return rc;
}

/* ---- HTTP ---- */

/* Does a comma-separated attribute list name attr (or a sub-attribute of
 * it, or it URN-qualified)? */
bool scim_attr_list_mentions(const char *list, const char *attr)
{
	size_t alen = strlen(attr);
	const char *p = list;

	while (p && *p) {
		size_t n = strcspn(p, ",");
		const char *item = p, *last = p;

		while (n > 0 && *item == ' ') {
			item++;
			n--;
		}
		/* URN-qualified: compare what follows the last ':'. */
		for (size_t i = 0; i < n; i++)
			if (item[i] == ':')
				last = item + i + 1;
		if (last > item) {
			n -= (size_t)(last - item);
			item = last;
		}
		if (n >= alen && scim_strncasecmp(item, attr, alen) == 0 &&
		    (n == alen || item[alen] == '.' || item[alen] == ' '))
			return true;
		p += strcspn(p, ",");
		if (*p == ',')
			p++;
	}
	return false;
}

/* Whether a response needs a group's members, given the query. */
static bool wants_members(const scim_query *q)
{
	const char *attrs = scim_query_get(q, "attributes", NULL);
	const char *excl = scim_query_get(q, "excludedAttributes", NULL);

	if (attrs && *attrs)
		return scim_attr_list_mentions(attrs, "members");
	return !(excl && scim_attr_list_mentions(excl, "members"));
}

typedef struct op_ctx {
	scim_op op;
	char *attributes;
	char *excluded;
	bool body_wanted; /* group PATCH: 204 unless attributes asked */
} op_ctx;

static void op_ctx_free(op_ctx *oc)
{
	scim_op_clear(&oc->op);
	free(oc->attributes);
	free(oc->excluded);
	free(oc);
}

static void op_async_run(scim_async *a, const scimsync_store_plugin *p,
			 scimsync_store_conn *c, void *arg, int *rc)
{
	op_ctx *oc = arg;

	(void)a;
	*rc = scim_op_run(&oc->op, p, c) == 0 ? 0 : 1;
}

static void reply_resource(evhtp_request_t *req, scim_srv *srv,
			   const scim_restype *rt, json_t *res, int status,
			   const char *attributes, const char *excluded,
			   bool with_location)
{
	const char *etag = json_string_value(
		json_object_get(json_object_get(res, "meta"), "version"));
	const char *loc = json_string_value(
		json_object_get(json_object_get(res, "meta"), "location"));
	char *etag_copy = etag ? strdup(etag) : NULL;
	char *loc_copy = loc && with_location ? strdup(loc) : NULL;
	scim_error err;

	(void)srv;
	if (scim_resource_project(rt, res, attributes, excluded, &err) < 0) {
		free(etag_copy);
		free(loc_copy);
		json_decref(res);
		scim_reply_error(req, &err);
		return;
	}
	scim_reply_json(req, status, res, etag_copy, loc_copy);
	free(etag_copy);
	free(loc_copy);
}

static void op_async_finish(evhtp_request_t *req, int run_rc, int committed,
			    void *arg)
{
	op_ctx *oc = arg;
	scim_op *op = &oc->op;
	scim_error err;

	if (req == NULL) {
		op_ctx_free(oc);
		return;
	}
	if (!committed) {
		scim_error_set(&err, 503, NULL,
			       "the change could not be committed; retry");
		scim_reply_error(req, &err);
	} else if (run_rc != 0) {
		scim_reply_error(req, &op->err);
	} else if (op->status == 204 ||
		   (op->method == SCIM_M_PATCH && !oc->body_wanted)) {
		const char *etag =
			op->resource
				? json_string_value(json_object_get(
					  json_object_get(op->resource, "meta"),
					  "version"))
				: NULL;

		scim_reply_json(req, 204, NULL, etag, NULL);
	} else {
		json_t *res = op->resource;

		op->resource = NULL;
		reply_resource(req, op->srv, op->rt, res, op->status,
			       oc->attributes, oc->excluded,
			       op->method == SCIM_M_POST);
	}
	op_ctx_free(oc);
}

typedef struct text_copy {
	char *json;
	size_t len;
	int64_t version;
} text_copy;

static int text_copy_cb(const scimsync_resource *r, void *payload)
{
	text_copy *t = payload;

	t->json = malloc(r->json_len + 1);
	if (t->json == NULL)
		return 1;
	memcpy(t->json, r->json, r->json_len);
	t->json[r->json_len] = '\0';
	t->len = r->json_len;
	t->version = r->version;
	return 0;
}

/* GET by id answered from the stored text (no projection asked for). */
static void handle_get_plain(scim_srv *srv, evhtp_request_t *req,
			     const char *tenant, const scim_restype *rt,
			     const char *id, scim_render_mode mode)
{
	scim_worker *w = scim_worker_self();
	const char *inm = scim_header(req, "If-None-Match");
	text_copy t = {0};
	scimsync_err serr = {0};
	struct evbuffer *out;
	char etag[32];
	scim_error err;
	int rc;

	scim_read_begin(srv, w->reader);
	rc = srv->sp->get(w->reader, tenant, store_type(rt), id, text_copy_cb,
			  &t, &serr);
	if (rc != 0 || t.json == NULL) {
		scim_read_end(srv, w->reader);
		if (rc == SCIMSYNC_ENOTFOUND)
			scim_error_set(&err, 404, NULL, "%s %s not found",
				       rt->name, id);
		else
			scim_store_error(&err, &serr, rt->name);
		free(t.json);
		scim_reply_error(req, &err);
		return;
	}
	scim_etag(etag, t.version);
	if (inm && etag_matches(inm, t.version)) {
		scim_read_end(srv, w->reader);
		free(t.json);
		scim_reply_json(req, 304, NULL, etag, NULL);
		return;
	}
	out = evbuffer_new();
	rc = scim_render_stored(out, srv, srv->sp, w->reader, tenant, rt,
				t.json, t.len, id, mode, &err);
	scim_read_end(srv, w->reader);
	if (rc < 0)
		scim_reply_error(req, &err);
	else
		scim_reply_buffer(req, 200, out, etag);
	evbuffer_free(out);
	free(t.json);
}

static void handle_get(scim_srv *srv, evhtp_request_t *req, const char *tenant,
		       const scim_restype *rt, const char *id, scim_query *q)
{
	scim_worker *w = scim_worker_self();
	const char *inm = scim_header(req, "If-None-Match");
	json_t *res;
	scim_error err;
	int rc;
	scim_render_mode mode = scim_render_mode_for(
		rt, scim_query_get(q, "attributes", NULL),
		scim_query_get(q, "excludedAttributes", NULL));

	if (mode != SCIM_RENDER_PARSED) {
		handle_get_plain(srv, req, tenant, rt, id, mode);
		return;
	}

	scim_read_begin(srv, w->reader);
	rc = scim_resource_load(&res, srv, srv->sp, w->reader, tenant, rt, id,
				rt->id == SCIM_RT_GROUP && wants_members(q),
				&err);
	scim_read_end(srv, w->reader);
	if (rc < 0) {
		scim_reply_error(req, &err);
		return;
	}
	if (inm) {
		const char *v = json_string_value(json_object_get(
			json_object_get(res, "meta"), "version"));
		const char *num = v ? strchr(v, '"') : NULL;

		if (num && etag_matches(inm, strtoll(num + 1, NULL, 10))) {
			scim_reply_json(req, 304, NULL, v, NULL);
			json_decref(res);
			return;
		}
	}
	reply_resource(req, srv, rt, res, 200,
		       scim_query_get(q, "attributes", NULL),
		       scim_query_get(q, "excludedAttributes", NULL), false);
}

void scim_handle_resource(scim_srv *srv, evhtp_request_t *req,
			  const char *tenant, const scim_restype *rt,
			  const char *id, scim_query *q)
{
	htp_method m = evhtp_request_get_method(req);
	scim_error err;
	op_ctx *oc;
	const char *v;

	if (id == NULL && m != htp_method_POST) {
		scim_error_set(&err, 405, NULL, "%s takes GET or POST",
			       rt->endpoint);
		scim_reply_error_allow(req, &err, "GET, POST");
		return;
	}
	if (id != NULL && m == htp_method_POST) {
		scim_error_set(&err, 405, NULL,
			       "POST goes to %s, not to a resource",
			       rt->endpoint);
		scim_reply_error_allow(req, &err, "GET, PUT, PATCH, DELETE");
		return;
	}
	if (m == htp_method_GET || m == htp_method_HEAD) {
		handle_get(srv, req, tenant, rt, id, q);
		return;
	}
	oc = calloc(1, sizeof(*oc));
	if (oc == NULL) {
		scim_send(req, 500);
		return;
	}
	oc->op.srv = srv;
	oc->op.tenant = tenant;
	oc->op.rt = rt;
	oc->op.id = id ? strdup(id) : NULL;
	if ((v = scim_header(req, "If-Match")) != NULL)
		oc->op.if_match = strdup(v);
	if ((v = scim_query_get(q, "attributes", NULL)) != NULL) {
		oc->attributes = strdup(v);
		oc->body_wanted = true;
	}
	if ((v = scim_query_get(q, "excludedAttributes", NULL)) != NULL)
		oc->excluded = strdup(v);
	oc->op.attach = true;
	switch (m) {
	case htp_method_POST:
		oc->op.method = SCIM_M_POST;
		break;
	case htp_method_PUT:
		oc->op.method = SCIM_M_PUT;
		break;
	case htp_method_PATCH:
		oc->op.method = SCIM_M_PATCH;
		/* Users get the resource back; groups 204 (Entra expects it,
		 * and a body would list every member). */
		if (rt->id == SCIM_RT_USER)
			oc->body_wanted = true;
		else
			oc->op.attach = oc->body_wanted && wants_members(q);
		break;
	case htp_method_DELETE:
		oc->op.method = SCIM_M_DELETE;
		break;
	default:
		op_ctx_free(oc);
		scim_error_set(&err, 405, NULL, "method not allowed");
		scim_reply_error_allow(req, &err, "GET, PUT, PATCH, DELETE");
		return;
	}
	if (oc->op.method != SCIM_M_DELETE) {
		oc->op.body = scim_body_parse(srv, req,
					      srv->cfg->max_body_bytes, &err);
		if (oc->op.body == NULL) {
			op_ctx_free(oc);
			scim_reply_error(req, &err);
			return;
		}
	}
	/* A create's validation and serialisation happen here, on the
	 * worker, so the writer only inserts and commits. */
	if (scim_op_prepare(&oc->op) < 0) {
		scim_reply_error(req, &oc->op.err);
		op_ctx_free(oc);
		return;
	}
	scim_async_submit(srv, req, op_async_run, op_async_finish, oc);
}
