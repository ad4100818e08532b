/* tenant_admin.c - the admin operations on tenants and tokens (see
 * tenant.h): validation, records, and what the admin API answers. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "log.h"
#include "mapping.h"
#include "strutil.h"
#include "tenant_int.h"

/* ---- Rendering ---- */

static json_t *time_or_null(int64_t ms)
{
	char buf[32];

	if (ms <= 0 || scim_time_format(buf, ms) < 0)
		return json_null();
	return json_string(buf);
}

/* An integer when whole (1000, not 1000.0). */
static json_t *json_num(double v)
{
	if (v == (double)(json_int_t)v)
		return json_integer((json_int_t)v);
	return json_real(v);
}

static json_t *tenant_render(tenant_call *c, const json_t *rec)
{
	ten_entry t = {0};
	json_t *o = json_object();

	tenant_settings_of(c->reg, rec, &t);
	json_object_set_new(o, "name", json_string(tenant_jstr(rec, "name")));
	json_object_set_new(o, "description",
			    json_string(tenant_jstr(rec, "description")));
	json_object_set_new(o, "created",
			    time_or_null(tenant_jint(rec, "created_ms")));
	json_object_set_new(o, "scim_base_url", json_string(c->scim_base_url));
	json_object_set_new(o, "rate_limit",
			    json_pack("{s:o,s:o}", "requests_per_second",
				      json_num(t.rate), "burst",
				      json_num(t.burst)));
	json_object_set_new(o, "audit_bodies",
			    json_pack("{s:b,s:i}", "enabled", t.capture,
				      "retention_days", t.days));
	json_object_set_new(
		o, "mappings",
		json_is_object(json_object_get(rec, "mappings"))
			? json_deep_copy(json_object_get(rec, "mappings"))
			: json_object());
	return o;
}

/* The token's record with the fresher in-memory last use merged in. */
static json_t *token_render(tenant_call *c, const json_t *rec)
{
	const char *prefix = tenant_jstr(rec, "id");
	int64_t last = tenant_jint(rec, "last_used_ms");
	char client[64];
	int64_t expires = tenant_jint(rec, "expires_ms"),
		revoked = tenant_jint(rec, "revoked_ms");
	json_t *o = json_object();
	tok_entry *e;

	snprintf(client, sizeof(client), "%s", tenant_jstr(rec, "last_client"));
	pthread_rwlock_rdlock(&c->reg->lock);
	e = *tenant_tok_slot(c->reg, prefix);
	if (e && atomic_load(&e->last_used_ms) > last) {
		last = atomic_load(&e->last_used_ms);
		pthread_mutex_lock(&c->reg->touch_mu);
		memcpy(client, e->last_client, sizeof(client));
		pthread_mutex_unlock(&c->reg->touch_mu);
	}
	pthread_rwlock_unlock(&c->reg->lock);
	json_object_set_new(o, "id", json_string(prefix));
	json_object_set_new(o, "tenant",
			    json_string(tenant_jstr(rec, "tenant")));
	json_object_set_new(o, "name", json_string(tenant_jstr(rec, "name")));
	json_object_set_new(o, "created",
			    time_or_null(tenant_jint(rec, "created_ms")));
	json_object_set_new(o, "expires", time_or_null(expires));
	json_object_set_new(o, "revoked", time_or_null(revoked));
	json_object_set_new(o, "last_used", time_or_null(last));
	json_object_set_new(o, "last_client",
			    client[0] ? json_string(client) : json_null());
	json_object_set_new(o, "status",
			    json_string(revoked ? "revoked"
					: expires && expires <= c->now_ms
						? "expired"
						: "active"));
	return o;
}

static int fail(tenant_call *c, int status, const char *fmt, const char *arg)
{
	snprintf(c->errbuf, c->errlen, fmt, arg);
	return status;
}

static int store_fail(tenant_call *c)
{
	return fail(c, 503, "%s", "the store is unavailable; try again");
}

/* Validate the settings members of body into rec (the stored record). */
static int apply_settings(tenant_call *c, const json_t *body, json_t *rec)
{
	const json_t *v;

	v = json_object_get(body, "description");
	if (v) {
		if (!json_is_string(v) || json_string_length(v) > 1024)
			return fail(c, 400, "%s",
				    "'description' must be a string of at "
				    "most 1024 bytes");
		json_object_set(rec, "description", (json_t *)v);
	}
	v = json_object_get(body, "rate_limit");
	if (v && json_is_null(v)) {
		json_object_del(rec, "rate_limit"); /* back to the default */
	} else if (v) {
		/* Members not given keep their current (or default) value. */
		const json_t *rps = json_object_get(v, "requests_per_second");
		const json_t *burst = json_object_get(v, "burst");
		ten_entry cur = {0};
		double dr, db;

		tenant_settings_of(c->reg, rec, &cur);
		if (!json_is_object(v) || (rps == NULL && burst == NULL) ||
		    json_object_size(v) != (size_t)(!!rps + !!burst) ||
		    (rps &&
		     (!json_is_number(rps) || json_number_value(rps) < 0 ||
		      json_number_value(rps) > 1e9)) ||
		    (burst &&
		     (!json_is_number(burst) || json_number_value(burst) < 1 ||
		      json_number_value(burst) > 1e9)))
			return fail(c, 400, "%s",
				    "'rate_limit' must be "
				    "{\"requests_per_second\": N >= 0, "
				    "\"burst\": N >= 1} (either may be left "
				    "out), or null for the default");
		dr = rps ? json_number_value(rps) : cur.rate;
		db = burst ? json_number_value(burst)
		     : rps ? (dr >= 1 ? 2 * dr : 1)
			   : cur.burst;
		json_object_set_new(rec, "rate_limit",
				    json_pack("{s:f,s:f}",
					      "requests_per_second", dr,
					      "burst", db));
	}
	v = json_object_get(body, "mappings");
	if (v) {
		json_t *maps = json_object_get(rec, "mappings");
		const char *name;
		json_t *file;

		if (!json_is_object(v))
			return fail(c, 400, "%s",
				    "'mappings' must be {\"NAME\": \"/FILE\" "
				    "or null, ...}");
		if (!json_is_object(maps)) {
			maps = json_object();
			json_object_set_new(rec, "mappings", maps);
		}
		json_object_foreach ((json_t *)v, name, file) {
			const char *path = json_string_value(file);
			size_t n = strlen(name);
			mapping_error merr;
			mapping *m;
			char msg[700];

			if (n == 0 || n > 32 ||
			    strspn(name,
				   "abcdefghijklmnopqrstuvwxyz0123456789_-") !=
				    n)
				return fail(c, 400,
					    "mapping name '%s' must be 1 to 32 "
					    "of a-z 0-9 _ -",
					    name);
			if (json_is_null(file)) {
				json_object_del(maps, name);
				continue;
			}
			if (path == NULL || path[0] != '/')
				return fail(c, 400,
					    "mapping '%s' must be an absolute "
					    "path (the daemon reads it)",
					    name);
			if (mapping_load(&m, path, &merr) < 0) {
				mapping_error_format(msg, sizeof(msg), &merr);
				return fail(c, 400, "%s", msg);
			}
			mapping_free(m);
			json_object_set(maps, name, file);
		}
	}
	v = json_object_get(body, "audit_bodies");
	if (v) {
		const json_t *en = json_object_get(v, "enabled");
		const json_t *days = json_object_get(v, "retention_days");

		if (!json_is_object(v) || !json_is_boolean(en) ||
		    (days &&
		     (!json_is_integer(days) || json_integer_value(days) < 1 ||
		      json_integer_value(days) > 3650)))
			return fail(c, 400, "%s",
				    "'audit_bodies' must be {\"enabled\": "
				    "true|false, \"retention_days\": 1..3650}");
		json_object_set_new(
			rec, "audit_bodies",
			json_pack("{s:b,s:I}", "enabled", json_is_true(en),
				  "retention_days",
				  (json_int_t)(days ? json_integer_value(days)
						    : 7)));
	}
	return 0;
}

/* Make the set's "tenant/name" entries what rec says (after a commit).
 * old: the record before (or NULL). Failures are logged: the file
 * compiled a moment ago. */
void tenant_maps_sync(tenant_reg *r, const char *tenant, const json_t *old,
		      const json_t *rec)
{
	const json_t *was = old ? json_object_get(old, "mappings") : NULL;
	const json_t *now = rec ? json_object_get(rec, "mappings") : NULL;
	const char *name;
	json_t *file;
	char key[TENANT_NAME_MAX + 40], err[1024];

	if (r->maps == NULL)
		return;
	json_object_foreach ((json_t *)was, name, file) {
		if (json_object_get(now, name) == NULL) {
			snprintf(key, sizeof(key), "%s/%s", tenant, name);
			mapset_remove(r->maps, key);
		}
	}
	json_object_foreach ((json_t *)now, name, file) {
		const json_t *before = json_object_get(was, name);

		if (before && json_equal(before, file))
			continue;
		snprintf(key, sizeof(key), "%s/%s", tenant, name);
		if (mapset_put(r->maps, key, json_string_value(file), err,
			       sizeof(err)) < 0)
			log_msg(LOG_ERR, "mapping", "%s", err);
		else
			log_msg(LOG_INFO, "mapping",
				"tenant %s uses %s for '%s'", tenant,
				json_string_value(file), name);
	}
}

/* ---- Admin: tenants ---- */

/* {key: [render(r) for r in recs sorted by cmp]}; steals recs. */
static json_t *render_sorted(tenant_call *c, json_t *recs,
			     int (*cmp)(const void *, const void *),
			     json_t *(*render)(tenant_call *, const json_t *),
			     const char *key)
{
	size_t n = json_array_size(recs), i;
	const json_t **v = calloc(n + 1, sizeof(*v));
	json_t *arr = json_array();

	for (i = 0; v && i < n; i++)
		v[i] = json_array_get(recs, i);
	if (v)
		qsort(v, n, sizeof(*v), cmp);
	for (i = 0; v && i < n; i++)
		json_array_append_new(arr, render(c, v[i]));
	free(v);
	json_decref(recs);
	return json_pack("{s:o}", key, arr);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(tenant_jstr(*(json_t *const *)a, "name"),
		      tenant_jstr(*(json_t *const *)b, "name"));
}

int tenant_list(tenant_call *c, json_t **out)
{
	json_t *recs;

	if (tenant_rec_list(c->reg, c->reader, TENANT_SYSTEM,
			    SCIMSYNC_RES_TENANT, SCIMSYNC_IDX_NONE, NULL,
			    &recs) != 0)
		return store_fail(c);
	*out = render_sorted(c, recs, by_name, tenant_render, "tenants");
	return 200;
}

/* Delete every resource of one type of tenant (and their memberships).
 * Returns how many, or -1. */
static int64_t purge_type(tenant_reg *r, scimsync_store_conn *c,
			  const char *tenant, int type, int index,
			  const char *value)
{
	json_t *recs = NULL;
	const char *store_tenant =
		type == SCIMSYNC_RES_TOKEN ? TENANT_SYSTEM : tenant;
	scimsync_err err = {0};
	size_t i;
	json_t *o;

	if (tenant_rec_list(r, c, store_tenant, type, index, value, &recs) != 0)
		return -1;
	json_array_foreach (recs, i, o) {
		if (r->p->del(c, store_tenant, type, tenant_jstr(o, "__id"),
			      &err) != SCIMSYNC_OK) {
			log_msg(LOG_ERR, "tenant", "cannot delete: %s",
				err.message);
			json_decref(recs);
			return -1;
		}
	}
	i = json_array_size(recs);
	json_decref(recs);
	return (int64_t)i;
}

typedef struct create_arg {
	tenant_call *call;
	json_t *rec;
} create_arg;

static int create_fn(tenant_reg *r, scimsync_store_conn *c, void *arg)
{
	create_arg *a = arg;
	const char *name = tenant_jstr(a->rec, "name");
	int rc = tenant_rec_put(r, c, SCIMSYNC_RES_TENANT, name, NULL, a->rec,
				1);

	if (rc == SCIMSYNC_ECONFLICT)
		return fail(a->call, 409, "tenant '%s' exists", name);
	if (rc != SCIMSYNC_OK)
		return 503;
	/* Leftovers of a deleted tenant of that name (a write that was in
	 * flight while it was deleted) must not come back with the name. */
	if (purge_type(r, c, name, SCIMSYNC_RES_USER, SCIMSYNC_IDX_NONE, NULL) <
		    0 ||
	    purge_type(r, c, name, SCIMSYNC_RES_GROUP, SCIMSYNC_IDX_NONE,
		       NULL) < 0 ||
	    purge_type(r, c, name, SCIMSYNC_RES_TOKEN, SCIMSYNC_IDX_EXTERNALID,
		       name) < 0)
		return 503;
	return 0;
}

int tenant_create(tenant_call *c, const json_t *body, json_t **out)
{
	const char *name = json_string_value(json_object_get(body, "name"));
	static const char *const known[] = {"name",	  "description",
					    "rate_limit", "audit_bodies",
					    "mappings",	  NULL};
	create_arg a = {c, NULL};
	const char *k;
	json_t *v;
	int rc;

	json_object_foreach ((json_t *)body, k, v) {
		int ok = 0;

		for (int i = 0; known[i]; i++)
			ok |= strcmp(k, known[i]) == 0;
		if (!ok)
			return fail(c, 400, "unknown member '%s'", k);
	}
	if (!tenant_name_valid(name))
		return fail(c, 400, "%s",
			    "'name' must be 1 to 63 characters of a-z, 0-9 "
			    "and '-', not starting with '-'");
	a.rec = json_pack("{s:s,s:s,s:I}", "name", name, "description", "",
			  "created_ms", (json_int_t)c->now_ms);
	if (a.rec == NULL)
		return store_fail(c);
	rc = apply_settings(c, body, a.rec);
	if (rc == 0)
		rc = tenant_run_write(c->reg, create_fn, &a);
	if (rc == 0) {
		tenant_cache_forget(c->reg, name);
		tenant_maps_sync(c->reg, name, NULL, a.rec);
		*out = tenant_render(c, a.rec);
		log_msg(LOG_INFO, "admin", "tenant %s created", name);
		rc = 201;
	} else if (rc == 503) {
		store_fail(c);
	}
	json_decref(a.rec);
	return rc;
}

static int count_of(tenant_call *c, const char *tenant, int type, int index,
		    const char *value, int64_t *out)
{
	scimsync_query q = {.tenant = tenant,
			    .type = type,
			    .index = index,
			    .index_value = value,
			    .limit = -1};
	scimsync_err err = {0};

	return c->reg->p->count(c->reader, &q, out, &err) == SCIMSYNC_OK ? 0
									 : -1;
}

int tenant_show(tenant_call *c, const char *name, json_t **out)
{
	json_t *rec, *toks, *o;
	int64_t users = 0, groups = 0, active = 0;
	size_t i;
	int rc;

	if (!tenant_name_valid(name))
		return fail(c, 404, "no such tenant: %s", name);
	rc = tenant_rec_get(c->reg, c->reader, SCIMSYNC_RES_TENANT, name, &rec);
	if (rc == 404)
		return fail(c, 404, "no such tenant: %s", name);
	if (rc != 0)
		return store_fail(c);
	if (count_of(c, name, SCIMSYNC_RES_USER, SCIMSYNC_IDX_NONE, NULL,
		     &users) < 0 ||
	    count_of(c, name, SCIMSYNC_RES_GROUP, SCIMSYNC_IDX_NONE, NULL,
		     &groups) < 0 ||
	    tenant_rec_list(c->reg, c->reader, TENANT_SYSTEM,
			    SCIMSYNC_RES_TOKEN, SCIMSYNC_IDX_EXTERNALID, name,
			    &toks) != 0) {
		json_decref(rec);
		return store_fail(c);
	}
	json_array_foreach (toks, i, o) {
		int64_t exp = tenant_jint(o, "expires_ms");

		if (!tenant_jint(o, "revoked_ms") &&
		    (exp == 0 || exp > c->now_ms))
			active++;
	}
	json_decref(toks);
	*out = tenant_render(c, rec);
	json_object_set_new(*out, "users", json_integer(users));
	json_object_set_new(*out, "groups", json_integer(groups));
	json_object_set_new(*out, "active_tokens", json_integer(active));
	json_decref(rec);
	return 200;
}

typedef struct update_arg {
	tenant_call *call;
	const char *name;
	const json_t *body;
	json_t *rec; /* out */
	json_t *old; /* out: the record before */
} update_arg;

static int update_fn(tenant_reg *r, scimsync_store_conn *c, void *arg)
{
	update_arg *a = arg;
	int rc = tenant_rec_get(r, c, SCIMSYNC_RES_TENANT, a->name, &a->rec);

	if (rc == 404)
		return fail(a->call, 404, "no such tenant: %s", a->name);
	if (rc != 0)
		return 503;
	a->old = json_deep_copy(a->rec);
	rc = apply_settings(a->call, a->body, a->rec);
	if (rc != 0)
		return rc;
	return tenant_rec_put(r, c, SCIMSYNC_RES_TENANT, a->name, NULL, a->rec,
			      0) == SCIMSYNC_OK
		       ? 0
		       : 503;
}

int tenant_update(tenant_call *c, const char *name, const json_t *body,
		  json_t **out)
{
	update_arg a = {c, name, body, NULL, NULL};
	const char *k;
	json_t *v;
	int rc;

	if (!tenant_name_valid(name))
		return fail(c, 404, "no such tenant: %s", name);
	json_object_foreach ((json_t *)body, k, v) {
		if (strcmp(k, "description") != 0 &&
		    strcmp(k, "rate_limit") != 0 &&
		    strcmp(k, "audit_bodies") != 0 &&
		    strcmp(k, "mappings") != 0)
			return fail(c, 400,
				    "'%s' cannot be changed (description, "
				    "rate_limit, audit_bodies and mappings "
				    "can)",
				    k);
	}
	rc = tenant_run_write(c->reg, update_fn, &a);
	if (rc == 0) {
		ten_entry t = {0}, **np;

		/* Every worker sees the new limits from the next request. */
		tenant_settings_of(c->reg, a.rec, &t);
		pthread_rwlock_wrlock(&c->reg->lock);
		c->reg->gen++;
		np = tenant_ten_slot(c->reg, name);
		if (*np) {
			(*np)->rate = t.rate;
			(*np)->burst = t.burst;
			(*np)->capture = t.capture;
			(*np)->days = t.days;
		}
		pthread_rwlock_unlock(&c->reg->lock);
		tenant_maps_sync(c->reg, name, a.old, a.rec);
		*out = tenant_render(c, a.rec);
		log_msg(LOG_INFO, "admin", "tenant %s updated", name);
		rc = 200;
	} else if (rc == 503) {
		store_fail(c);
	}
	json_decref(a.old);
	json_decref(a.rec);
	return rc;
}

typedef struct delete_arg {
	tenant_call *call;
	const char *name;
	int64_t users, groups, tokens;
	json_t *old; /* out: the tenant's record */
} delete_arg;

static int delete_fn(tenant_reg *r, scimsync_store_conn *c, void *arg)
{
	delete_arg *a = arg;
	scimsync_err err = {0};
	int rc;

	if (tenant_rec_get(r, c, SCIMSYNC_RES_TENANT, a->name, &a->old) == 503)
		return 503;
	rc = r->p->del(c, TENANT_SYSTEM, SCIMSYNC_RES_TENANT, a->name, &err);

	if (rc == SCIMSYNC_ENOTFOUND)
		return fail(a->call, 404, "no such tenant: %s", a->name);
	if (rc != SCIMSYNC_OK)
		return 503;
	a->users = purge_type(r, c, a->name, SCIMSYNC_RES_USER,
			      SCIMSYNC_IDX_NONE, NULL);
	a->groups = purge_type(r, c, a->name, SCIMSYNC_RES_GROUP,
			       SCIMSYNC_IDX_NONE, NULL);
	a->tokens = purge_type(r, c, a->name, SCIMSYNC_RES_TOKEN,
			       SCIMSYNC_IDX_EXTERNALID, a->name);
	return a->users < 0 || a->groups < 0 || a->tokens < 0 ? 503 : 0;
}

int tenant_delete(tenant_call *c, const char *name, json_t **out)
{
	delete_arg a = {c, name, 0, 0, 0, NULL};
	int rc;

	if (!tenant_name_valid(name))
		return fail(c, 404, "no such tenant: %s", name);
	if (c->reg->cfg->has_token && strcmp(name, c->reg->cfg->tenant) == 0)
		return fail(c, 409,
			    "tenant '%s' holds the config file's static token "
			    "(auth.tenant); remove auth.token_sha256 from the "
			    "config and restart first",
			    name);
	rc = tenant_run_write(c->reg, delete_fn, &a);
	if (rc != 0) {
		json_decref(a.old);
		return rc == 503 ? store_fail(c) : rc;
	}
	tenant_cache_forget(c->reg, name);
	tenant_maps_sync(c->reg, name, a.old, NULL);
	json_decref(a.old);
	log_msg(LOG_INFO, "admin",
		"tenant %s deleted with %lld users, %lld groups, %lld tokens",
		name, (long long)a.users, (long long)a.groups,
		(long long)a.tokens);
	*out = json_pack("{s:s,s:I,s:I,s:I}", "deleted", name, "users",
			 (json_int_t)a.users, "groups", (json_int_t)a.groups,
			 "tokens", (json_int_t)a.tokens);
	return 200;
}

/* ---- Admin: tokens ---- */

static int tenant_exists(tenant_call *c, const char *name)
{
	json_t *rec;
	int rc;

	if (!tenant_name_valid(name))
		return fail(c, 404, "no such tenant: %s", name);
	rc = tenant_rec_get(c->reg, c->reader, SCIMSYNC_RES_TENANT, name, &rec);
	json_decref(rec);
	if (rc == 404)
		return fail(c, 404, "no such tenant: %s", name);
	return rc == 0 ? 0 : store_fail(c);
}

static int by_created(const void *a, const void *b)
{
	int64_t x = tenant_jint(*(json_t *const *)a, "created_ms"),
		y = tenant_jint(*(json_t *const *)b, "created_ms");

	return x < y ? -1 : x > y;
}

int token_list(tenant_call *c, const char *tenant, json_t **out)
{
	json_t *recs;
	int rc = tenant_exists(c, tenant);

	if (rc != 0)
		return rc;
	if (tenant_rec_list(c->reg, c->reader, TENANT_SYSTEM,
			    SCIMSYNC_RES_TOKEN, SCIMSYNC_IDX_EXTERNALID, tenant,
			    &recs) != 0)
		return store_fail(c);
	*out = render_sorted(c, recs, by_created, token_render, "tokens");
	return 200;
}

typedef struct token_arg {
	tenant_call *call;
	const char *tenant;
	json_t *rec;
	char plain[5 + TOKEN_PREFIX_LEN + 1 + 64 + 1];
} token_arg;

/* A fresh token and its record; the prefix may collide (retried). */
static int token_mint(token_arg *a)
{
	unsigned char rnd[TOKEN_PREFIX_LEN / 2 + 32];
	unsigned char hash[SHA256_DIGEST_LENGTH];
	char prefix[TOKEN_PREFIX_LEN + 1], secret[65], hhex[65];

	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return -1;
	tenant_hex_encode(prefix, rnd, TOKEN_PREFIX_LEN / 2);
	tenant_hex_encode(secret, rnd + TOKEN_PREFIX_LEN / 2, 32);
	OPENSSL_cleanse(rnd, sizeof(rnd));
	snprintf(a->plain, sizeof(a->plain), "scim_%s_%s", prefix, secret);
	OPENSSL_cleanse(secret, sizeof(secret));
	SHA256((const unsigned char *)a->plain, strlen(a->plain), hash);
	tenant_hex_encode(hhex, hash, sizeof(hash));
	json_object_set_new(a->rec, "id", json_string(prefix));
	json_object_set_new(a->rec, "hash", json_string(hhex));
	return 0;
}

static int token_create_fn(tenant_reg *r, scimsync_store_conn *c, void *arg)
{
	token_arg *a = arg;
	json_t *ten;
	int rc = tenant_rec_get(r, c, SCIMSYNC_RES_TENANT, a->tenant, &ten);

	json_decref(ten);
	if (rc == 404)
		return fail(a->call, 404, "no such tenant: %s", a->tenant);
	if (rc != 0)
		return 503;
	for (int tries = 0; tries < 8; tries++) {
		if (token_mint(a) < 0)
			return 503;
		rc = tenant_rec_put(r, c, SCIMSYNC_RES_TOKEN,
				    tenant_jstr(a->rec, "id"), a->tenant,
				    a->rec, 1);
		if (rc != SCIMSYNC_ECONFLICT)
			return rc == SCIMSYNC_OK ? 0 : 503;
	}
	return 503;
}

int token_create(tenant_call *c, const char *tenant, const json_t *body,
		 json_t **out)
{
	const json_t *name = json_object_get(body, "name");
	const json_t *in_days = json_object_get(body, "expires_in_days");
	const json_t *at = json_object_get(body, "expires");
	token_arg a = {c, tenant, NULL, ""};
	int64_t expires = 0;
	const char *k;
	json_t *v;
	int rc;

	json_object_foreach ((json_t *)body, k, v) {
		if (strcmp(k, "name") != 0 && strcmp(k, "expires_in_days") &&
		    strcmp(k, "expires") != 0)
			return fail(c, 400, "unknown member '%s'", k);
	}
	if (!tenant_name_valid(tenant))
		return fail(c, 404, "no such tenant: %s", tenant);
	if (!json_is_string(name) || json_string_length(name) == 0 ||
	    json_string_length(name) > 63)
		return fail(c, 400, "%s",
			    "'name' must be a string of 1 to 63 bytes "
			    "(e.g. okta-prod)");
	if (in_days && at)
		return fail(c, 400, "%s",
			    "give 'expires_in_days' or 'expires', not both");
	if (in_days && !json_is_null(in_days)) {
		if (!json_is_number(in_days) ||
		    json_number_value(in_days) <= 0 ||
		    json_number_value(in_days) > 36500)
			return fail(c, 400, "%s",
				    "'expires_in_days' must be a number "
				    "from 0 (exclusive) to 36500");
		expires = c->now_ms +
			  (int64_t)(json_number_value(in_days) * 86400000.0);
	} else if (at && !json_is_null(at)) {
		if (!json_is_string(at) ||
		    scim_time_parse(json_string_value(at), &expires) < 0)
			return fail(c, 400, "%s",
				    "'expires' must be an RFC 3339 time");
		if (expires <= c->now_ms)
			return fail(c, 400, "%s", "'expires' is in the past");
	}
	a.rec = json_pack("{s:s,s:s,s:s,s:s,s:I,s:I,s:I,s:I,s:s}", "id", "",
			  "tenant", tenant, "name", json_string_value(name),
			  "hash", "", "created_ms", (json_int_t)c->now_ms,
			  "expires_ms", (json_int_t)expires, "revoked_ms",
			  (json_int_t)0, "last_used_ms", (json_int_t)0,
			  "last_client", "");
	if (a.rec == NULL)
		return store_fail(c);
	rc = tenant_run_write(c->reg, token_create_fn, &a);
	if (rc == 0) {
		*out = token_render(c, a.rec);
		json_object_set_new(*out, "token", json_string(a.plain));
		json_object_set_new(*out, "scim_base_url",
				    json_string(c->scim_base_url));
		log_msg(LOG_INFO, "admin",
			"token %s (%s) created for tenant %s",
			tenant_jstr(a.rec, "id"), json_string_value(name),
			tenant);
		rc = 201;
	} else if (rc == 503) {
		store_fail(c);
	}
	OPENSSL_cleanse(a.plain, sizeof(a.plain));
	json_decref(a.rec);
	return rc;
}

/* The token record id of tenant, or a status. */
static int token_get(tenant_call *c, scimsync_store_conn *conn,
		     const char *tenant, const char *id, json_t **rec)
{
	int rc;

	*rec = NULL;
	if (strlen(id) != TOKEN_PREFIX_LEN ||
	    !tenant_is_hex(id, TOKEN_PREFIX_LEN))
		return fail(c, 404, "no such token: %s", id);
	rc = tenant_rec_get(c->reg, conn, SCIMSYNC_RES_TOKEN, id, rec);
	if (rc == 0 && strcmp(tenant_jstr(*rec, "tenant"), tenant) != 0) {
		json_decref(*rec);
		*rec = NULL;
		rc = 404;
	}
	if (rc == 404)
		return fail(c, 404, "no such token: %s", id);
	return rc == 0 ? 0 : 503;
}

int token_show(tenant_call *c, const char *tenant, const char *id, json_t **out)
{
	json_t *rec;
	int rc = tenant_exists(c, tenant);

	if (rc != 0)
		return rc;
	rc = token_get(c, c->reader, tenant, id, &rec);
	if (rc == 503)
		return store_fail(c);
	if (rc != 0)
		return rc;
	*out = token_render(c, rec);
	json_decref(rec);
	return 200;
}

typedef struct revoke_arg {
	tenant_call *call;
	const char *tenant, *id;
	json_t *rec;
} revoke_arg;

static int revoke_fn(tenant_reg *r, scimsync_store_conn *c, void *arg)
{
	revoke_arg *a = arg;
	int rc = token_get(a->call, c, a->tenant, a->id, &a->rec);

	if (rc != 0)
		return rc;
	if (tenant_jint(a->rec, "revoked_ms"))
		return 0; /* already */
	json_object_set_new(a->rec, "revoked_ms",
			    json_integer(a->call->now_ms));
	return tenant_rec_put(r, c, SCIMSYNC_RES_TOKEN, a->id, a->tenant,
			      a->rec, 0) == SCIMSYNC_OK
		       ? 0
		       : 503;
}

int token_revoke(tenant_call *c, const char *tenant, const char *id,
		 json_t **out)
{
	revoke_arg a = {c, tenant, id, NULL};
	int rc = tenant_exists(c, tenant);
	tok_entry *e;

	if (rc != 0)
		return rc;
	rc = tenant_run_write(c->reg, revoke_fn, &a);
	if (rc == 503) {
		json_decref(a.rec);
		return store_fail(c);
	}
	if (rc != 0) {
		json_decref(a.rec);
		return rc;
	}
	/* Durable; now no worker accepts it any more. */
	pthread_rwlock_wrlock(&c->reg->lock);
	c->reg->gen++;
	e = *tenant_tok_slot(c->reg, id);
	if (e)
		e->revoked_ms = tenant_jint(a.rec, "revoked_ms");
	pthread_rwlock_unlock(&c->reg->lock);
	log_msg(LOG_INFO, "admin", "token %s (%s) of tenant %s revoked", id,
		tenant_jstr(a.rec, "name"), tenant);
	*out = token_render(c, a.rec);
	json_decref(a.rec);
	return 200;
}
