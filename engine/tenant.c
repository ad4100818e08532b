/* tenant.c - tenants and their SCIM bearer tokens (see tenant.h). */
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
#include "tenant.h"

#define TOK_BUCKETS 256
#define TEN_BUCKETS 64
#define TOUCH_GRANULARITY_MS 1000

static unsigned hash_str(const char *s)
{
	unsigned h = 2166136261u;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

typedef struct tok_entry {
	struct tok_entry *next;
	char prefix[TOKEN_PREFIX_LEN + 1];
	char tenant[TENANT_NAME_MAX + 1];
	char name[64];
	unsigned char hash[SHA256_DIGEST_LENGTH];
	int64_t expires_ms; /* 0: never */
	int64_t revoked_ms; /* 0: live */
	int64_t loaded_ms;
	_Atomic int64_t last_used_ms;
	char last_client[64]; /* under touch_mu */
	bool dirty;	      /* under touch_mu */
} tok_entry;

typedef struct ten_entry {
	struct ten_entry *next;
	char name[TENANT_NAME_MAX + 1];
	double rate, burst;
	bool capture;
	int days;
	int64_t loaded_ms;
} ten_entry;

struct tenant_reg {
	const scimsync_config *cfg;
	const scimsync_store_plugin *p;
	scimsync_store *s;
	writer *w;
	mapset *maps;	       /* tenants' own files as "tenant/name" */
	pthread_rwlock_t lock; /* the two maps */
	tok_entry *tok[TOK_BUCKETS];
	ten_entry *ten[TEN_BUCKETS];
	pthread_mutex_t touch_mu; /* last_client, dirty */
	pthread_mutex_t intern_mu;
	struct interned *interned[TEN_BUCKETS];
};

typedef struct interned {
	struct interned *next;
	char name[];
} interned;

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

static bool is_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return n > 0;
}

static void hex_encode(char *out, const unsigned char *in, size_t n)
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
	if (strlen(in) != 2 * n || !is_hex(in, 2 * n))
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

static int64_t jint(const json_t *o, const char *k)
{
	const json_t *v = json_object_get(o, k);

	return json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
}

static const char *jstr(const json_t *o, const char *k)
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
static int rec_get(tenant_reg *r, scimsync_store_conn *c, int type,
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

static int rec_put(tenant_reg *r, scimsync_store_conn *c, int type,
		   const char *id, const char *external_id, json_t *rec,
		   int create)
{
	scimsync_resource res = {0};
	scimsync_err err = {0};
	char *text;
	int rc;

	res.version = jint(rec, "version") + 1;
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

static int rec_list(tenant_reg *r, scimsync_store_conn *c, const char *tenant,
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

/* Run fn on the writer inside a savepoint and wait until it is durable.
 * fn returns 0 to keep its work, or a status (>= 400) to roll it back. */
typedef int (*sync_fn)(tenant_reg *r, scimsync_store_conn *c, void *arg);

typedef struct sync_job {
	writer_job job; /* first */
	tenant_reg *reg;
	sync_fn fn;
	void *arg;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool finished;
	int status;
	int committed;
} sync_job;

static int sync_run(writer_job *job, const scimsync_store_plugin *p,
		    scimsync_store_conn *c)
{
	sync_job *j = (sync_job *)job;

	(void)p;
	j->status = j->fn(j->reg, c, j->arg);
	return j->status;
}

static void sync_done(writer_job *job, int run_rc, int committed)
{
	sync_job *j = (sync_job *)job;

	(void)run_rc;
	pthread_mutex_lock(&j->mu);
	j->committed = committed;
	j->finished = true;
	pthread_cond_signal(&j->cv);
	pthread_mutex_unlock(&j->mu);
}

static int run_write(tenant_reg *r, sync_fn fn, void *arg)
{
	sync_job j = {.reg = r, .fn = fn, .arg = arg};
	int status;

	j.job.run = sync_run;
	j.job.done = sync_done;
	pthread_mutex_init(&j.mu, NULL);
	pthread_cond_init(&j.cv, NULL);
	writer_submit(r->w, &j.job);
	pthread_mutex_lock(&j.mu);
	while (!j.finished)
		pthread_cond_wait(&j.cv, &j.mu);
	pthread_mutex_unlock(&j.mu);
	pthread_mutex_destroy(&j.mu);
	pthread_cond_destroy(&j.cv);
	status = j.status;
	if (status == 0 && !j.committed)
		status = 503;
	return status;
}

/* ---- The cache ---- */

static tok_entry **tok_slot(tenant_reg *r, const char *prefix)
{
	tok_entry **pp = &r->tok[hash_str(prefix) % TOK_BUCKETS];

	while (*pp && strcmp((*pp)->prefix, prefix) != 0)
		pp = &(*pp)->next;
	return pp;
}

static ten_entry **ten_slot(tenant_reg *r, const char *name)
{
	ten_entry **pp = &r->ten[hash_str(name) % TEN_BUCKETS];

	while (*pp && strcmp((*pp)->name, name) != 0)
		pp = &(*pp)->next;
	return pp;
}

/* Effective settings of a tenant record. */
static void ten_settings(const tenant_reg *r, const json_t *rec, ten_entry *e)
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
	e->days = json_is_object(ab) ? (int)jint(ab, "retention_days") : 7;
}

/* Replace the cached token prefix (and its tenant) by what the store
 * holds; a token or tenant the store lacks leaves the cache. Caller holds
 * no lock. 0, 404, or 503. */
static int cache_load(tenant_reg *r, scimsync_store_conn *c, const char *prefix,
		      int64_t now_ms)
{
	json_t *tok = NULL, *ten = NULL;
	tok_entry *e = NULL, **tp;
	ten_entry *t = NULL, **np;
	int rc = rec_get(r, c, SCIMSYNC_RES_TOKEN, prefix, &tok);

	if (rc == 0)
		rc = rec_get(r, c, SCIMSYNC_RES_TENANT, jstr(tok, "tenant"),
			     &ten);
	if (rc == 503) {
		json_decref(tok);
		return 503;
	}
	if (rc == 0) {
		e = calloc(1, sizeof(*e));
		t = calloc(1, sizeof(*t));
		if (e == NULL || t == NULL ||
		    hex_decode(e->hash, jstr(tok, "hash"),
			       SHA256_DIGEST_LENGTH) < 0) {
			free(e);
			free(t);
			json_decref(tok);
			json_decref(ten);
			return 503;
		}
		snprintf(e->prefix, sizeof(e->prefix), "%s", prefix);
		snprintf(e->tenant, sizeof(e->tenant), "%s",
			 jstr(tok, "tenant"));
		snprintf(e->name, sizeof(e->name), "%s", jstr(tok, "name"));
		e->expires_ms = jint(tok, "expires_ms");
		e->revoked_ms = jint(tok, "revoked_ms");
		e->loaded_ms = now_ms;
		atomic_init(&e->last_used_ms, jint(tok, "last_used_ms"));
		snprintf(e->last_client, sizeof(e->last_client), "%s",
			 jstr(tok, "last_client"));
		snprintf(t->name, sizeof(t->name), "%s", e->tenant);
		ten_settings(r, ten, t);
		t->loaded_ms = now_ms;
	}
	json_decref(tok);
	json_decref(ten);

	pthread_rwlock_wrlock(&r->lock);
	tp = tok_slot(r, prefix);
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
		np = ten_slot(r, t->name);
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
static void cache_forget_tenant(tenant_reg *r, const char *name)
{
	pthread_rwlock_wrlock(&r->lock);
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
		ten_entry **np = ten_slot(r, name);

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
	e = *tok_slot(r, prefix);
	t = e ? *ten_slot(r, e->tenant) : NULL;
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
	    is_hex(tok + 5, TOKEN_PREFIX_LEN)) {
		memcpy(prefix, tok + 5, TOKEN_PREFIX_LEN);
		prefix[TOKEN_PREFIX_LEN] = '\0';
		memcpy(out->token_prefix, prefix, sizeof(prefix));
		if (lookup(r, prefix, hash, client, now_ms, out, &rc) ==
		    LOOK_DONE)
			return rc;
		switch (cache_load(r, reader, prefix, now_ms)) {
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
		t = *ten_slot(r, r->cfg->tenant);
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

		if (rec_get(r, c, SCIMSYNC_RES_TOKEN, tl->v[i].prefix, &rec) !=
		    0)
			continue; /* deleted meanwhile */
		if (tl->v[i].last_used_ms > jint(rec, "last_used_ms")) {
			json_object_set_new(
				rec, "last_used_ms",
				json_integer(tl->v[i].last_used_ms));
			json_object_set_new(rec, "last_client",
					    json_string(tl->v[i].client));
			if (rec_put(r, c, SCIMSYNC_RES_TOKEN, tl->v[i].prefix,
				    jstr(rec, "tenant"), rec,
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
	if (tl.n > 0 && run_write(r, flush_fn, &tl) != 0)
		log_msg(LOG_WARN, "tenant",
			"could not record last-used times of %zu tokens", tl.n);
	free(tl.v);
}

/* ---- Admin: rendering ---- */

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

	ten_settings(c->reg, rec, &t);
	json_object_set_new(o, "name", json_string(jstr(rec, "name")));
	json_object_set_new(o, "description",
			    json_string(jstr(rec, "description")));
	json_object_set_new(o, "created",
			    time_or_null(jint(rec, "created_ms")));
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
	const char *prefix = jstr(rec, "id");
	int64_t last = jint(rec, "last_used_ms");
	char client[64];
	int64_t expires = jint(rec, "expires_ms"),
		revoked = jint(rec, "revoked_ms");
	json_t *o = json_object();
	tok_entry *e;

	snprintf(client, sizeof(client), "%s", jstr(rec, "last_client"));
	pthread_rwlock_rdlock(&c->reg->lock);
	e = *tok_slot(c->reg, prefix);
	if (e && atomic_load(&e->last_used_ms) > last) {
		last = atomic_load(&e->last_used_ms);
		pthread_mutex_lock(&c->reg->touch_mu);
		memcpy(client, e->last_client, sizeof(client));
		pthread_mutex_unlock(&c->reg->touch_mu);
	}
	pthread_rwlock_unlock(&c->reg->lock);
	json_object_set_new(o, "id", json_string(prefix));
	json_object_set_new(o, "tenant", json_string(jstr(rec, "tenant")));
	json_object_set_new(o, "name", json_string(jstr(rec, "name")));
	json_object_set_new(o, "created",
			    time_or_null(jint(rec, "created_ms")));
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

		ten_settings(c->reg, rec, &cur);
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
static void maps_sync(tenant_reg *r, const char *tenant, const json_t *old,
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

/* ---- Admin: tenants ---- */

static int by_name(const void *a, const void *b)
{
	return strcmp(jstr(*(json_t *const *)a, "name"),
		      jstr(*(json_t *const *)b, "name"));
}

int tenant_list(tenant_call *c, json_t **out)
{
	json_t *recs, *arr;
	size_t n, i;
	json_t **v;

	if (rec_list(c->reg, c->reader, TENANT_SYSTEM, SCIMSYNC_RES_TENANT,
		     SCIMSYNC_IDX_NONE, NULL, &recs) != 0)
		return store_fail(c);
	n = json_array_size(recs);
	v = calloc(n + 1, sizeof(*v));
	arr = json_array();
	for (i = 0; v && i < n; i++)
		v[i] = json_array_get(recs, i);
	if (v)
		qsort(v, n, sizeof(*v), by_name);
	for (i = 0; v && i < n; i++)
		json_array_append_new(arr, tenant_render(c, v[i]));
	free(v);
	json_decref(recs);
	*out = json_pack("{s:o}", "tenants", arr);
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

	if (rec_list(r, c, store_tenant, type, index, value, &recs) != 0)
		return -1;
	json_array_foreach (recs, i, o) {
		if (r->p->del(c, store_tenant, type, jstr(o, "__id"), &err) !=
		    SCIMSYNC_OK) {
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
	const char *name = jstr(a->rec, "name");
	int rc = rec_put(r, c, SCIMSYNC_RES_TENANT, name, NULL, a->rec, 1);

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
		rc = run_write(c->reg, create_fn, &a);
	if (rc == 0) {
		cache_forget_tenant(c->reg, name);
		maps_sync(c->reg, name, NULL, a.rec);
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
	rc = rec_get(c->reg, c->reader, SCIMSYNC_RES_TENANT, name, &rec);
	if (rc == 404)
		return fail(c, 404, "no such tenant: %s", name);
	if (rc != 0)
		return store_fail(c);
	if (count_of(c, name, SCIMSYNC_RES_USER, SCIMSYNC_IDX_NONE, NULL,
		     &users) < 0 ||
	    count_of(c, name, SCIMSYNC_RES_GROUP, SCIMSYNC_IDX_NONE, NULL,
		     &groups) < 0 ||
	    rec_list(c->reg, c->reader, TENANT_SYSTEM, SCIMSYNC_RES_TOKEN,
		     SCIMSYNC_IDX_EXTERNALID, name, &toks) != 0) {
		json_decref(rec);
		return store_fail(c);
	}
	json_array_foreach (toks, i, o) {
		int64_t exp = jint(o, "expires_ms");

		if (!jint(o, "revoked_ms") && (exp == 0 || exp > c->now_ms))
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
	int rc = rec_get(r, c, SCIMSYNC_RES_TENANT, a->name, &a->rec);

	if (rc == 404)
		return fail(a->call, 404, "no such tenant: %s", a->name);
	if (rc != 0)
		return 503;
	a->old = json_deep_copy(a->rec);
	rc = apply_settings(a->call, a->body, a->rec);
	if (rc != 0)
		return rc;
	return rec_put(r, c, SCIMSYNC_RES_TENANT, a->name, NULL, a->rec, 0) ==
			       SCIMSYNC_OK
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
	rc = run_write(c->reg, update_fn, &a);
	if (rc == 0) {
		ten_entry t = {0}, **np;

		/* Every worker sees the new limits from the next request. */
		ten_settings(c->reg, a.rec, &t);
		pthread_rwlock_wrlock(&c->reg->lock);
		np = ten_slot(c->reg, name);
		if (*np) {
			(*np)->rate = t.rate;
			(*np)->burst = t.burst;
			(*np)->capture = t.capture;
			(*np)->days = t.days;
		}
		pthread_rwlock_unlock(&c->reg->lock);
		maps_sync(c->reg, name, a.old, a.rec);
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

	if (rec_get(r, c, SCIMSYNC_RES_TENANT, a->name, &a->old) == 503)
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
	rc = run_write(c->reg, delete_fn, &a);
	if (rc != 0) {
		json_decref(a.old);
		return rc == 503 ? store_fail(c) : rc;
	}
	cache_forget_tenant(c->reg, name);
	maps_sync(c->reg, name, a.old, NULL);
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
	rc = rec_get(c->reg, c->reader, SCIMSYNC_RES_TENANT, name, &rec);
	json_decref(rec);
	if (rc == 404)
		return fail(c, 404, "no such tenant: %s", name);
	return rc == 0 ? 0 : store_fail(c);
}

static int by_created(const void *a, const void *b)
{
	int64_t x = jint(*(json_t *const *)a, "created_ms"),
		y = jint(*(json_t *const *)b, "created_ms");

	return x < y ? -1 : x > y;
}

int token_list(tenant_call *c, const char *tenant, json_t **out)
{
	json_t *recs, *arr;
	json_t **v;
	size_t n, i;
	int rc = tenant_exists(c, tenant);

	if (rc != 0)
		return rc;
	if (rec_list(c->reg, c->reader, TENANT_SYSTEM, SCIMSYNC_RES_TOKEN,
		     SCIMSYNC_IDX_EXTERNALID, tenant, &recs) != 0)
		return store_fail(c);
	n = json_array_size(recs);
	v = calloc(n + 1, sizeof(*v));
	arr = json_array();
	for (i = 0; v && i < n; i++)
		v[i] = json_array_get(recs, i);
	if (v)
		qsort(v, n, sizeof(*v), by_created);
	for (i = 0; v && i < n; i++)
		json_array_append_new(arr, token_render(c, v[i]));
	free(v);
	json_decref(recs);
	*out = json_pack("{s:o}", "tokens", arr);
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
	hex_encode(prefix, rnd, TOKEN_PREFIX_LEN / 2);
	hex_encode(secret, rnd + TOKEN_PREFIX_LEN / 2, 32);
	OPENSSL_cleanse(rnd, sizeof(rnd));
	snprintf(a->plain, sizeof(a->plain), "scim_%s_%s", prefix, secret);
	OPENSSL_cleanse(secret, sizeof(secret));
	SHA256((const unsigned char *)a->plain, strlen(a->plain), hash);
	hex_encode(hhex, hash, sizeof(hash));
	json_object_set_new(a->rec, "id", json_string(prefix));
	json_object_set_new(a->rec, "hash", json_string(hhex));
	return 0;
}

static int token_create_fn(tenant_reg *r, scimsync_store_conn *c, void *arg)
{
	token_arg *a = arg;
	json_t *ten;
	int rc = rec_get(r, c, SCIMSYNC_RES_TENANT, a->tenant, &ten);

	json_decref(ten);
	if (rc == 404)
		return fail(a->call, 404, "no such tenant: %s", a->tenant);
	if (rc != 0)
		return 503;
	for (int tries = 0; tries < 8; tries++) {
		if (token_mint(a) < 0)
			return 503;
		rc = rec_put(r, c, SCIMSYNC_RES_TOKEN, jstr(a->rec, "id"),
			     a->tenant, a->rec, 1);
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
	rc = run_write(c->reg, token_create_fn, &a);
	if (rc == 0) {
		*out = token_render(c, a.rec);
		json_object_set_new(*out, "token", json_string(a.plain));
		json_object_set_new(*out, "scim_base_url",
				    json_string(c->scim_base_url));
		log_msg(LOG_INFO, "admin",
			"token %s (%s) created for tenant %s",
			jstr(a.rec, "id"), json_string_value(name), tenant);
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
	if (strlen(id) != TOKEN_PREFIX_LEN || !is_hex(id, TOKEN_PREFIX_LEN))
		return fail(c, 404, "no such token: %s", id);
	rc = rec_get(c->reg, conn, SCIMSYNC_RES_TOKEN, id, rec);
	if (rc == 0 && strcmp(jstr(*rec, "tenant"), tenant) != 0) {
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
	if (jint(a->rec, "revoked_ms"))
		return 0; /* already */
	json_object_set_new(a->rec, "revoked_ms",
			    json_integer(a->call->now_ms));
	return rec_put(r, c, SCIMSYNC_RES_TOKEN, a->id, a->tenant, a->rec, 0) ==
			       SCIMSYNC_OK
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
	rc = run_write(c->reg, revoke_fn, &a);
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
	e = *tok_slot(c->reg, id);
	if (e)
		e->revoked_ms = jint(a.rec, "revoked_ms");
	pthread_rwlock_unlock(&c->reg->lock);
	log_msg(LOG_INFO, "admin", "token %s (%s) of tenant %s revoked", id,
		jstr(a.rec, "name"), tenant);
	*out = token_render(c, a.rec);
	json_decref(a.rec);
	return 200;
}

/* ---- Life ---- */

static int ensure_fn(tenant_reg *r, scimsync_store_conn *c, void *arg)
{
	json_t *rec = arg;
	int rc = rec_put(r, c, SCIMSYNC_RES_TENANT, jstr(rec, "name"), NULL,
			 rec, 1);

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
	if (rec_list(r, reader, TENANT_SYSTEM, SCIMSYNC_RES_TENANT,
		     SCIMSYNC_IDX_NONE, NULL, &recs) != 0) {
		snprintf(errbuf, errlen, "cannot read the tenants");
		return -1;
	}
	json_array_foreach (recs, i, rec) {
		json_object_foreach (json_object_get(rec, "mappings"), name,
				     file) {
			snprintf(key, sizeof(key), "%s/%s", jstr(rec, "name"),
				 name);
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
		rc = rec_get(r, reader, SCIMSYNC_RES_TENANT, cfg->tenant, &rec);
		if (rc == 404) {
			clock_gettime(CLOCK_REALTIME, &now);
			rec = json_pack("{s:s,s:s,s:I}", "name", cfg->tenant,
					"description",
					"the tenant of auth.token_sha256",
					"created_ms",
					(json_int_t)now.tv_sec * 1000 +
						now.tv_nsec / 1000000);
			rc = run_write(r, ensure_fn, rec);
		}
		if (rc == 0) {
			ten_entry *t = calloc(1, sizeof(*t));

			/* The static token's tenant settings never expire
			 * from the cache: tenant_update refreshes them. */
			if (t) {
				snprintf(t->name, sizeof(t->name), "%s",
					 cfg->tenant);
				ten_settings(r, rec, t);
				t->loaded_ms = INT64_MAX / 2;
				*ten_slot(r, t->name) = t;
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
