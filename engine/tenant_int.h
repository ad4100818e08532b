/* tenant_int.h - what tenant.c (registry, cache, authentication) and
 * tenant_admin.c (the admin operations) share. Private to those two. */
#ifndef SCIMSYNC_TENANT_INT_H
#define SCIMSYNC_TENANT_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/sha.h>

#include "tenant.h"

#define TOK_BUCKETS 256
#define TEN_BUCKETS 64

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
	/* Bumped (under lock) by every admin change to the cache; a load
	 * that read the store before the bump is discarded and redone, so
	 * it cannot put back a token that was just revoked or deleted. */
	uint64_t gen;
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

/* Integer and string members of a record (0 and "" when absent). */
int64_t tenant_jint(const json_t *o, const char *k);
const char *tenant_jstr(const json_t *o, const char *k);
bool tenant_is_hex(const char *s, size_t n);
/* 2n hex digits and a NUL into out. */
void tenant_hex_encode(char *out, const unsigned char *in, size_t n);

/* The engine record (type, id): 0 and *out new, 404, or 503. */
int tenant_rec_get(tenant_reg *r, scimsync_store_conn *c, int type,
		   const char *id, json_t **out);
/* Insert (create) or replace a record, bumping its "version"; a store
 * code. */
int tenant_rec_put(tenant_reg *r, scimsync_store_conn *c, int type,
		   const char *id, const char *external_id, json_t *rec,
		   int create);
/* Every record of (tenant, type[, index = value]) as a new array; each
 * element has its id as "__id". 0 or 503. */
int tenant_rec_list(tenant_reg *r, scimsync_store_conn *c, const char *tenant,
		    int type, int index, const char *value, json_t **out);

/* Run fn on the writer inside a savepoint and wait until it is durable.
 * fn returns 0 to keep its work, or a status (>= 400) to roll it back.
 * Returns fn's status, or 503 if the batch did not commit. */
typedef int (*sync_fn)(tenant_reg *r, scimsync_store_conn *c, void *arg);
int tenant_run_write(tenant_reg *r, sync_fn fn, void *arg);

/* Cache slots (lock held by the caller). */
tok_entry **tenant_tok_slot(tenant_reg *r, const char *prefix);
ten_entry **tenant_ten_slot(tenant_reg *r, const char *name);
/* A tenant record's effective settings into e. */
void tenant_settings_of(const tenant_reg *r, const json_t *rec, ten_entry *e);
/* Drop a tenant and its tokens from the cache. */
void tenant_cache_forget(tenant_reg *r, const char *name);
/* Make the mapping set's "tenant/name" entries what rec says (old: the
 * record before, or NULL; rec NULL: the tenant is gone). */
void tenant_maps_sync(tenant_reg *r, const char *tenant, const json_t *old,
		      const json_t *rec);

#endif
