/* tenant.c - tenants and their SCIM bearer tokens (see tenant.h): the
 * registry, its cache, authentication and last-use write-back. The admin
 * operations are in tenant_admin.c. */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "log.h"
#include "mapping.h"
#include "strutil.h"
#include "tenant_int.h"

#define TOUCH_GRANULARITY_MS 1000

static unsigned hash_str(const char *s)
{
	unsigned h = 2166136261u;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

const char *tenant_intern(tenant_reg *r, const char *name)
{
	interned **pp = &r->interned[hash_str(name) % TEN_BUCKETS];
	size_t n = strlen(name);
	const char *out = NULL;

	pthread_mutex_lock(&r->intern_mu);
	while (*pp && strcmp((*pp)->name, name) != 0)
		pp = &(*pp)->next;
	if (*pp == NULL && (*pp = malloc(sizeof(interned) + n + 1)) != NULL) {
		(*pp)->next = NULL;
		memcpy((*pp)->name, name, n + 1);
	}
	if (*pp)
		out = (*pp)->name;
	pthread_mutex_unlock(&r->intern_mu);
	return out;
}

bool tenant_name_valid(const char *name)
{
	size_t n = name ? strlen(name) : 0;

	if (n == 0 || n > TENANT_NAME_MAX || name[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = name[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		      ch == '-'))
			return false;
	}
	return true;
}

bool tenant_is_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return n > 0;
}

void tenant_hex_encode(char *out, const unsigned char *in, size_t n)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

static int hex_decode(unsigned char *out, const char *in, size_t n)
{
	if (strlen(in) != 2 * n || !tenant_is_hex(in, 2 * n))
		return -1;
	for (size_t i = 0; i < n; i++) {
		int hi = in[2 * i] <= '9' ? in[2 * i] - '0'
					  : in[2 * i] - 'a' + 10;
		int lo = in[2 * i + 1] <= '9' ? in[2 * i + 1] - '0'
					      : in[2 * i + 1] - 'a' + 10;

		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

int64_t tenant_jint(const json_t *o, const char *k)
{
	const json_t *v = json_object_get(o, k);

	return json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
}

const char *tenant_jstr(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "";
}

/* ---- Store access ---- */

static int json_cb(const scimsync_resource *r, void *payload)
{
	json_t **out = payload;

	*out = json_loadb(r->json, r->json_len, 0, NULL);
	return 0;
}

/* The record (type, id) of the system tenant: 0 and *out new, 404, or
 * 503 when the store fails. */
int tenant_rec_get(tenant_reg *r, scimsync_store_conn *c, int type,
		   const char *id, json_t **out)
{
	scimsync_err err = {0};
	int rc;

	*out = NULL;
	rc = r->p->get(c, TENANT_SYSTEM, type, id, json_cb, out, &err);
	if (rc == SCIMSYNC_ENOTFOUND)
		return 404;
	if (rc != SCIMSYNC_OK || *out == NULL) {
		log_msg(LOG_ERR, "tenant", "store read failed: %s",
			err.message);
		json_decref(*out);
		*out = NULL;
		return 503;
	}
	return 0;
}

int tenant_rec_put(tenant_reg *r, scimsync_store_conn *c, int type,
		   const char *id, const char *external_id, json_t *rec,
		   int create)
{
	scimsync_resource res = {0};
	scimsync_err err = {0};
	char *text;
	int rc;

	res.version = tenant_jint(rec, "version") + 1;
	json_object_set_new(rec, "version", json_integer(res.version));
	text = json_dumps(rec, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (text == NULL)
		return SCIMSYNC_EFAIL;
	res.tenant = TENANT_SYSTEM;
	res.type = type;
	res.id = id;
	res.json = text;
	res.json_len = strlen(text);
	res.external_id = external_id;
	rc = r->p->put(c, &res, create, &err);
	if (rc != SCIMSYNC_OK && rc != SCIMSYNC_ECONFLICT)
		log_msg(LOG_ERR, "tenant", "store write failed: %s",
			err.message);
	free(text);
	return rc;
}

/* Every record matching (tenant, type, index) as a new JSON array. */
static int list_cb(const scimsync_resource *r, void *payload)
{
	json_t *arr = payload;
	json_t *o = json_loadb(r->json, r->json_len, 0, NULL);

	if (o == NULL) /* a bare id list (SCIM resources are objects too) */
		return 0;
	json_object_set_new(o, "__id", json_string(r->id));
	json_array_append_new(arr, o);
	return 0;
}

int tenant_rec_list(tenant_reg *r, scimsync_store_conn *c, const char *tenant,
		    int type, int index, const char *value, json_t **out)
{
	scimsync_query q = {.tenant = tenant,
			    .type = type,
			    .index = index,
			    .index_value = value,
			    .limit = -1};
	scimsync_err err = {0};

	*out = json_array();
	if (*out == NULL)
		return 503;
	if (r->p->list(c, &q, list_cb, *out, &err) != SCIMSYNC_OK) {
		log_msg(LOG_ERR, "tenant", "store list failed: %s",
			err.message);
		json_decref(*out);
		*out = NULL;
		return 503;
	}
	return 0;
}

/* tenant_run_write: writer_run_sync with the registry passed along, and
 * a batch that did not commit reported as 503. */
typedef struct sync_call {
	tenant_reg *reg;
	sync_fn fn;
	void *arg;
} sync_call;

static int sync_call_run(void *arg, const scimsync_store_plugin *p,
			 scimsync_store_conn *c)
{
	sync_call *x = arg;

	(void)p;
	return x->fn(x->reg, c, x->arg);
}

int tenant_run_write(tenant_reg *r, sync_fn fn, void *arg)
{
	sync_call x = {r, fn, arg};
	int rc = writer_run_sync(r->w, sync_call_run, &x);

	return rc == SCIMSYNC_ERETRY ? 503 : rc;
}

/* ---- The cache ---- */

tok_entry **tenant_tok_slot(tenant_reg *r, const char *prefix)
{
	tok_entry **pp = &r->tok[hash_str(prefix) % TOK_BUCKETS];

	while (*pp && strcmp((*pp)->prefix, prefix) != 0)
		pp = &(*pp)->next;
	return pp;
}

ten_entry **tenant_ten_slot(tenant_reg *r, const char *name)
{
	ten_entry **pp = &r->ten[hash_str(name) % TEN_BUCKETS];

	while (*pp && strcmp((*pp)->name, name) != 0)
		pp = &(*pp)->next;
	return pp;
}

/* Effective settings of a tenant record. */
void tenant_settings_of(const tenant_reg *r, const json_t *rec, ten_entry *e)
{
	const json_t *rl = json_object_get(rec, "rate_limit");
	const json_t *ab = json_object_get(rec, "audit_bodies");

	e->rate = r->cfg->rate_per_second;
	e->burst = r->cfg->rate_burst;
	if (json_is_object(rl)) {
		e->rate = json_number_value(
			json_object_get(rl, "requests_per_second"));
		e->burst = json_number_value(json_object_get(rl, "burst"));
	}
	e->capture = json_is_true(json_object_get(ab, "enabled"));
	e->days =
		json_is_object(ab) ? (int)tenant_jint(ab, "retention_days") : 7;
}

/* Replace the cached token prefix (and its tenant) by what the store
 * holds; a token or tenant the store lacks leaves the cache. Caller holds
 * no lock. 0, 404, 503, or 1: an admin change raced the read, call
 * again. */
static int cache_load(tenant_reg *r, scimsync_store_conn *c, const char *prefix,
		      int64_t now_ms)
{
	json_t *tok = NULL, *ten = NULL;
	tok_entry *e = NULL, **tp;
	ten_entry *t = NULL, **np;
	uint64_t gen;
	int rc;

	pthread_rwlock_rdlock(&r->lock);
	gen = r->gen;
	pthread_rwlock_unlock(&r->lock);
	rc = tenant_rec_get(r, c, SCIMSYNC_RES_TOKEN, prefix, &tok);

	if (rc == 0)
		rc = tenant_rec_get(r, c, SCIMSYNC_RES_TENANT,
				    tenant_jstr(tok, "tenant"), &ten);
	if (rc == 503) {
		json_decref(tok);
		return 503;
	}
	if (rc == 0) {
		e = calloc(1, sizeof(*e));
		t = calloc(1, sizeof(*t));
		if (e == NULL || t == NULL ||
		    hex_decode(e->hash, tenant_jstr(tok, "hash"),
			       SHA256_DIGEST_LENGTH) < 0) {
			free(e);
			free(t);
			json_decref(tok);
			json_decref(ten);
			return 503;
		}
		snprintf(e->prefix, sizeof(e->prefix), "%s", prefix);
		snprintf(e->tenant, sizeof(e->tenant), "%s",
			 tenant_jstr(tok, "tenant"));
		snprintf(e->name, sizeof(e->name), "%s",
			 tenant_jstr(tok, "name"));
		e->expires_ms = tenant_jint(tok, "expires_ms");
		e->revoked_ms = tenant_jint(tok, "revoked_ms");
		e->loaded_ms = now_ms;
		atomic_init(&e->last_used_ms, tenant_jint(tok, "last_used_ms"));
		snprintf(e->last_client, sizeof(e->last_client), "%s",
			 tenant_jstr(tok, "last_client"));
		snprintf(t->name, sizeof(t->name), "%s", e->tenant);
		tenant_settings_of(r, ten, t);
		t->loaded_ms = now_ms;
	}
	json_decref(tok);
	json_decref(ten);

	pthread_rwlock_wrlock(&r->lock);
	if (r->gen != gen) {
		/* An admin change landed while we read: what we read may be
		 * older than it. Read again. */
		pthread_rwlock_unlock(&r->lock);
		free(e);
		free(t);
		return 1;
	}
	tp = tenant_tok_slot(r, prefix);
	if (*tp) {
		tok_entry *old = *tp;

		/* Keep what this node saw since the old load. */
		if (e) {
			int64_t lu = atomic_load(&old->last_used_ms);

			if (lu > atomic_load(&e->last_used_ms)) {
				atomic_store(&e->last_used_ms, lu);
				pthread_mutex_lock(&r->touch_mu);
				memcpy(e->last_client, old->last_client,
				       sizeof(e->last_client));
				e->dirty = old->dirty;
				pthread_mutex_unlock(&r->touch_mu);
			}
			e->next = old->next;
			*tp = e;
		} else {
			*tp = old->next;
		}
		free(old);
	} else if (e) {
		*tp = e;
	}
	if (t) {
		np = tenant_ten_slot(r, t->name);
		if (*np) {
			t->next = (*np)->next;
			free(*np);
		}
		*np = t;
	}
	pthread_rwlock_unlock(&r->lock);
	return e ? 0 : 404;
}

/* Drop a tenant and its tokens from the cache. */
void tenant_cache_forget(tenant_reg *r, const char *name)
{
	pthread_rwlock_wrlock(&r->lock);
	r->gen++;
	for (int b = 0; b < TOK_BUCKETS; b++) {
		tok_entry **pp = &r->tok[b];

		while (*pp) {
			if (strcmp((*pp)->tenant, name) == 0) {
				tok_entry *dead = *pp;

				*pp = dead->next;
				free(dead);
			} else {
				pp = &(*pp)->next;
			}
		}
	}
	{
		ten_entry **np = tenant_ten_slot(r, name);

		if (*np) {
			ten_entry *dead = *np;

			*np = dead->next;
			free(dead);
		}
	}
	pthread_rwlock_unlock(&r->lock);
}

/* ---- Authentication ---- */

typedef enum { LOOK_MISS, LOOK_DONE } look_rc;

static look_rc lookup(tenant_reg *r, const char *prefix,
		      const unsigned char hash[SHA256_DIGEST_LENGTH],
		      const char *client, int64_t now_ms, tenant_auth *out,
		      tenant_auth_rc *rc)
{
	tok_entry *e;
	ten_entry *t;

	pthread_rwlock_rdlock(&r->lock);
	e = *tenant_tok_slot(r, prefix);
	t = e ? *tenant_ten_slot(r, e->tenant) : NULL;
	if (e == NULL || t == NULL ||
	    now_ms - e->loaded_ms > TENANT_CACHE_TTL_MS ||
	    now_ms - t->loaded_ms > TENANT_CACHE_TTL_MS) {
		pthread_rwlock_unlock(&r->lock);
		return LOOK_MISS;
	}
	snprintf(out->tenant, sizeof(out->tenant), "%s", e->tenant);
	snprintf(out->token_name, sizeof(out->token_name), "%s", e->name);
	if (CRYPTO_memcmp(hash, e->hash, SHA256_DIGEST_LENGTH) != 0)
		*rc = TENANT_AUTH_UNKNOWN;
	else if (e->revoked_ms && e->revoked_ms <= now_ms)
		*rc = TENANT_AUTH_REVOKED;
	else if (e->expires_ms && e->expires_ms <= now_ms)
		*rc = TENANT_AUTH_EXPIRED;
	else
		*rc = TENANT_AUTH_OK;
	if (*rc == TENANT_AUTH_OK) {
		out->rate = t->rate;
		out->burst = t->burst;
		out->capture_bodies = t->capture;
		out->body_retention_days = t->days;
		if (now_ms - atomic_load(&e->last_used_ms) >=
		    TOUCH_GRANULARITY_MS) {
			atomic_store(&e->last_used_ms, now_ms);
			pthread_mutex_lock(&r->touch_mu);
			snprintf(e->last_client, sizeof(e->last_client), "%s",
				 client ? client : "");
			e->dirty = true;
			pthread_mutex_unlock(&r->touch_mu);
		}
	}
	pthread_rwlock_unlock(&r->lock);
	return LOOK_DONE;
}

tenant_auth_rc tenant_authenticate(tenant_reg *r, scimsync_store_conn *reader,
				   const char *tok, size_t len,
				   const char *client, int64_t now_ms,
				   tenant_auth *out)
{
	unsigned char hash[SHA256_DIGEST_LENGTH];
	char prefix[TOKEN_PREFIX_LEN + 1];
	tenant_auth_rc rc = TENANT_AUTH_UNKNOWN;

	memset(out, 0, sizeof(*out));
	SHA256((const unsigned char *)tok, len, hash);
	if (len > 5 + TOKEN_PREFIX_LEN + 1 && memcmp(tok, "scim_", 5) == 0 &&
	    tok[5 + TOKEN_PREFIX_LEN] == '_' &&
	    tenant_is_hex(tok + 5, TOKEN_PREFIX_LEN)) {
		memcpy(prefix, tok + 5, TOKEN_PREFIX_LEN);
		prefix[TOKEN_PREFIX_LEN] = '\0';
		memcpy(out->token_prefix, prefix, sizeof(prefix));
		if (lookup(r, prefix, hash, client, now_ms, out, &rc) ==
		    LOOK_DONE)
			return rc;
		int loaded = 1;

		for (int tries = 0; loaded == 1 && tries < 8; tries++)
			loaded = cache_load(r, reader, prefix, now_ms);
		switch (loaded) {
		case 0:
			if (lookup(r, prefix, hash, client, now_ms, out, &rc) ==
			    LOOK_DONE)
				return rc;
			return TENANT_AUTH_UNKNOWN;
		case 404:
			return TENANT_AUTH_UNKNOWN;
		default:
			return TENANT_AUTH_ERROR;
		}
	}
	/* The config file's static token, if there is one. */
	if (r->cfg->has_token && CRYPTO_memcmp(hash, r->cfg->token_hash,
					       SHA256_DIGEST_LENGTH) == 0) {
		ten_entry *t;

		snprintf(out->tenant, sizeof(out->tenant), "%s",
			 r->cfg->tenant);
		snprintf(out->token_name, sizeof(out->token_name), "config");
		/* A static token of the scim_<prefix>_<secret> shape names its
		 * prefix in the audit log too. */
		if (len > 5 && memcmp(tok, "scim_", 5) == 0) {
			size_t n = 0;

			while (5 + n < len && n < TOKEN_PREFIX_LEN &&
			       tok[5 + n] != '_')
				n++;
			if (n > 0 && 5 + n < len && tok[5 + n] == '_') {
				memcpy(out->token_prefix, tok + 5, n);
				out->token_prefix[n] = '\0';
			}
		}
		out->rate = r->cfg->rate_per_second;
		out->burst = r->cfg->rate_burst;
		pthread_rwlock_rdlock(&r->lock);
		t = *tenant_ten_slot(r, r->cfg->tenant);
		if (t) {
			out->rate = t->rate;
			out->burst = t->burst;
			out->capture_bodies = t->capture;
			out->body_retention_days = t->days;
		}
		pthread_rwlock_unlock(&r->lock);
		return TENANT_AUTH_OK;
	}
	return TENANT_AUTH_UNKNOWN;
}

/* ---- Last-used write-back ---- */

typedef struct touch {
	char prefix[TOKEN_PREFIX_LEN + 1];
	int64_t last_used_ms;
	char client[64];
} touch;

typedef struct touch_list {
	touch *v;
	size_t n;
} touch_list;

static int flush_fn(tenant_reg *r, scimsync_store_conn *c, void *arg)
{
	touch_list *tl = arg;

	for (size_t i = 0; i < tl->n; i++) {
		json_t *rec;

		if (tenant_rec_get(r, c, SCIMSYNC_RES_TOKEN, tl->v[i].prefix,
				   &rec) != 0)
			continue; /* deleted meanwhile */
		if (tl->v[i].last_used_ms > tenant_jint(rec, "last_used_ms")) {
			json_object_set_new(
				rec, "last_used_ms",
				json_integer(tl->v[i].last_used_ms));
			json_object_set_new(rec, "last_client",
					    json_string(tl->v[i].client));
			if (tenant_rec_put(r, c, SCIMSYNC_RES_TOKEN,
					   tl->v[i].prefix,
					   tenant_jstr(rec, "tenant"), rec,
					   0) != SCIMSYNC_OK) {
				json_decref(rec);
				return 503;
			}
		}
		json_decref(rec);
	}
	return 0;
}

void tenant_reg_flush(tenant_reg *r)
{
	touch_list tl = {0};
	size_t cap = 0;

	if (r == NULL)
		return;
	pthread_rwlock_rdlock(&r->lock);
	pthread_mutex_lock(&r->touch_mu);
	for (int b = 0; b < TOK_BUCKETS; b++)
		for (tok_entry *e = r->tok[b]; e; e = e->next) {
			if (!e->dirty)
				continue;
			if (tl.n == cap) {
				size_t ncap = cap ? cap * 2 : 16;
				touch *nv = realloc(tl.v, ncap * sizeof(*nv));

				if (nv == NULL)
					goto out;
				tl.v = nv;
				cap = ncap;
			}
			memcpy(tl.v[tl.n].prefix, e->prefix, sizeof(e->prefix));
			tl.v[tl.n].last_used_ms = atomic_load(&e->last_used_ms);
			memcpy(tl.v[tl.n].client, e->last_client,
			       sizeof(e->last_client));
			tl.n++;
			e->dirty = false;
		}
out:
	pthread_mutex_unlock(&r->touch_mu);
	pthread_rwlock_unlock(&r->lock);
	if (tl.n > 0 && tenant_run_write(r, flush_fn, &tl) != 0)
		log_msg(LOG_WARN, "tenant",
			"could not record last-used times of %zu tokens", tl.n);
	free(tl.v);
}

mapset_ref *tenant_mapping_acquire(tenant_reg *r, const char *tenant,
				   const char *name)
{
	char key[TENANT_NAME_MAX + 40];
	mapset_ref *ref;

	if (r->maps == NULL)
		return NULL;
	snprintf(key, sizeof(key), "%s/%s", tenant, name);
	ref = mapset_acquire(r->maps, key);
	return ref ? ref : mapset_acquire(r->maps, name);
}

/* ---- Life ---- */

static int ensure_fn(tenant_reg *r, scimsync_store_conn *c, void *arg)
{
	json_t *rec = arg;
	int rc = tenant_rec_put(r, c, SCIMSYNC_RES_TENANT,
				tenant_jstr(rec, "name"), NULL, rec, 1);

	return rc == SCIMSYNC_OK || rc == SCIMSYNC_ECONFLICT ? 0 : 503;
}

/* Every tenant's own mapping files into the set, at start. */
static int maps_load_all(tenant_reg *r, scimsync_store_conn *reader,
			 char *errbuf, size_t errlen)
{
	json_t *recs, *rec, *file;
	const char *name;
	size_t i;
	char key[TENANT_NAME_MAX + 40];

	if (r->maps == NULL)
		return 0;
	if (tenant_rec_list(r, reader, TENANT_SYSTEM, SCIMSYNC_RES_TENANT,
			    SCIMSYNC_IDX_NONE, NULL, &recs) != 0) {
		snprintf(errbuf, errlen, "cannot read the tenants");
		return -1;
	}
	json_array_foreach (recs, i, rec) {
		json_object_foreach (json_object_get(rec, "mappings"), name,
				     file) {
			snprintf(key, sizeof(key), "%s/%s",
				 tenant_jstr(rec, "name"), name);
			if (mapset_put(r->maps, key, json_string_value(file),
				       errbuf, errlen) < 0) {
				json_decref(recs);
				return -1;
			}
		}
	}
	json_decref(recs);
	return 0;
}

int tenant_reg_new(tenant_reg **out, const scimsync_config *cfg,
		   const scimsync_store_plugin *p, scimsync_store *s, writer *w,
		   mapset *maps, scimsync_store_conn *reader, char *errbuf,
		   size_t errlen)
{
	tenant_reg *r = calloc(1, sizeof(*r));

	*out = NULL;
	if (r == NULL) {
		snprintf(errbuf, errlen, "out of memory");
		return -1;
	}
	r->cfg = cfg;
	r->p = p;
	r->s = s;
	r->w = w;
	r->maps = maps;
	pthread_rwlock_init(&r->lock, NULL);
	pthread_mutex_init(&r->touch_mu, NULL);
	pthread_mutex_init(&r->intern_mu, NULL);
	if (cfg->has_token) {
		json_t *rec = NULL;
		struct timespec now;
		int rc;

		if (!tenant_name_valid(cfg->tenant)) {
			snprintf(errbuf, errlen,
				 "auth.tenant '%s' is not a valid tenant "
				 "name (a-z, 0-9, '-')",
				 cfg->tenant);
			tenant_reg_free(r);
			return -1;
		}
		rc = tenant_rec_get(r, reader, SCIMSYNC_RES_TENANT, cfg->tenant,
				    &rec);
		if (rc == 404) {
			clock_gettime(CLOCK_REALTIME, &now);
			rec = json_pack("{s:s,s:s,s:I}", "name", cfg->tenant,
					"description",
					"the tenant of auth.token_sha256",
					"created_ms",
					(json_int_t)now.tv_sec * 1000 +
						now.tv_nsec / 1000000);
			rc = tenant_run_write(r, ensure_fn, rec);
		}
		if (rc == 0) {
			ten_entry *t = calloc(1, sizeof(*t));

			/* The static token's tenant settings never expire
			 * from the cache: tenant_update refreshes them. */
			if (t) {
				snprintf(t->name, sizeof(t->name), "%s",
					 cfg->tenant);
				tenant_settings_of(r, rec, t);
				t->loaded_ms = INT64_MAX / 2;
				*tenant_ten_slot(r, t->name) = t;
			}
		}
		json_decref(rec);
		if (rc != 0) {
			snprintf(errbuf, errlen,
				 "cannot create tenant '%s' in the store",
				 cfg->tenant);
			tenant_reg_free(r);
			return -1;
		}
	}
	if (maps_load_all(r, reader, errbuf, errlen) < 0) {
		tenant_reg_free(r);
		return -1;
	}
	*out = r;
	return 0;
}

void tenant_reg_free(tenant_reg *r)
{
	if (r == NULL)
		return;
	for (int b = 0; b < TOK_BUCKETS; b++)
		while (r->tok[b]) {
			tok_entry *e = r->tok[b];

			r->tok[b] = e->next;
			free(e);
		}
	for (int b = 0; b < TEN_BUCKETS; b++)
		while (r->ten[b]) {
			ten_entry *t = r->ten[b];

			r->ten[b] = t->next;
			free(t);
		}
	for (int b = 0; b < TEN_BUCKETS; b++)
		while (r->interned[b]) {
			interned *i = r->interned[b];

			r->interned[b] = i->next;
			free(i);
		}
	pthread_rwlock_destroy(&r->lock);
	pthread_mutex_destroy(&r->touch_mu);
	pthread_mutex_destroy(&r->intern_mu);
	free(r);
}
