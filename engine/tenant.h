/* tenant.h - tenants and their SCIM bearer tokens.
 *
 * A tenant is a namespace: every store call of a SCIM request carries the
 * tenant its token belongs to, so nothing of another tenant can be read,
 * changed or detected. Tenant and token records are kept in the store
 * itself (resource types SCIMSYNC_RES_TENANT and SCIMSYNC_RES_TOKEN under
 * the reserved tenant TENANT_SYSTEM), so they are as durable as the data
 * and shared by every node on one store.
 *
 * Tokens are "scim_<prefix>_<secret>": a 12-hex-digit prefix (the token's
 * id, looked up by the store's id index) and 256 bits of secret from the
 * OS (OpenSSL RAND_bytes), hex. Only the prefix and the SHA-256 of the
 * whole token are stored; the plaintext exists once, in the answer to the
 * create call.
 *
 * An in-memory cache by prefix serves authentication; it is filled from
 * the store on a miss and re-read after TENANT_CACHE_TTL_MS, so another
 * node's revocation is seen within that time. A revocation made through
 * this node updates the cache before the admin call returns: every worker
 * refuses the token from then on. Last-used time and client address are
 * kept in memory and written back to the store at most every few seconds
 * (tenant_reg_flush), not once per request.
 *
 * Threads: every function is safe from any thread. The admin calls block
 * until their write is durable (they run a job on the writer); call them
 * from the admin thread, never from a libevhtp worker. */
#ifndef SCIMSYNC_TENANT_H
#define SCIMSYNC_TENANT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include <scimsync/store.h>

#include "conf.h"
#include "mapset.h"
#include "writer.h"

#define TENANT_SYSTEM "#system" /* the store tenant of engine records */
#define TENANT_NAME_MAX 63
#define TOKEN_PREFIX_LEN 12
#define TENANT_CACHE_TTL_MS 30000

typedef struct tenant_reg tenant_reg;

/* What a request learns from its bearer token. */
typedef struct tenant_auth {
	char tenant[TENANT_NAME_MAX + 1];
	char token_name[64];
	char token_prefix[TOKEN_PREFIX_LEN + 1];
	double rate, burst; /* rate 0: no limit */
	bool capture_bodies;
	int body_retention_days;
} tenant_auth;

typedef enum tenant_auth_rc {
	TENANT_AUTH_OK = 0,
	TENANT_AUTH_UNKNOWN = -1, /* no such token (or not our format) */
	TENANT_AUTH_EXPIRED = -2,
	TENANT_AUTH_REVOKED = -3,
	TENANT_AUTH_ERROR = -4 /* the store failed: answer 503 */
} tenant_auth_rc;

/* Start the registry on the store (borrowed until tenant_reg_free; w
 * runs its writes). When cfg has a static token, its tenant is created
 * if absent. Every tenant's own mapping files are compiled into maps (as
 * "tenant/name"; NULL: none), and a file that fails stops the start like
 * the config's own. On error -1 with errbuf. */
int tenant_reg_new(tenant_reg **out, const scimsync_config *cfg,
		   const scimsync_store_plugin *p, scimsync_store *s, writer *w,
		   mapset *maps, scimsync_store_conn *reader, char *errbuf,
		   size_t errlen);

/* The mapping named name for tenant: its own file if it set one, else
 * the config's of that name; NULL if neither. Release with
 * mapset_release on the same set. */
mapset_ref *tenant_mapping_acquire(tenant_reg *r, const char *tenant,
				   const char *name);

/* Free (call tenant_reg_flush first, while the writer runs). NULL:
 * no-op. */
void tenant_reg_free(tenant_reg *r);

/* Check the bearer token [tok, tok+len) at now_ms, reading the store on
 * reader (the calling worker's connection) on a cache miss. client is the
 * caller's address (no port), kept as the token's last client. On OK *out
 * is filled; otherwise out->token_prefix/token_name/tenant say which
 * token was refused, when known, for the log (never the secret). */
tenant_auth_rc tenant_authenticate(tenant_reg *r, scimsync_store_conn *reader,
				   const char *tok, size_t len,
				   const char *client, int64_t now_ms,
				   tenant_auth *out);

/* The tenant name as a string that lives as long as r (so a request whose
 * client went away may still finish its write), or NULL if out of memory. */
const char *tenant_intern(tenant_reg *r, const char *name);

/* Write pending last-used times to the store (one writer job). */
void tenant_reg_flush(tenant_reg *r);

/* ---- Admin operations (admin thread) ----
 *
 * Each returns an HTTP status (200, 201, 400, 404, 409, 500, 503) and, on
 * success, *out as a new JSON document for the admin API; on failure
 * errbuf says why in words fit for the API's error body. reader is the
 * admin thread's own store connection. */
typedef struct tenant_call {
	tenant_reg *reg;
	scimsync_store_conn *reader;
	const char *scim_base_url; /* for answers */
	int64_t now_ms;
	char *errbuf;
	size_t errlen;
} tenant_call;

int tenant_list(tenant_call *c, json_t **out);
/* body: {"name", "description"?, "rate_limit"?, "audit_bodies"?,
 * "mappings"?: {NAME: "/FILE" or null}} */
int tenant_create(tenant_call *c, const json_t *body, json_t **out);
int tenant_show(tenant_call *c, const char *name, json_t **out);
int tenant_update(tenant_call *c, const char *name, const json_t *body,
		  json_t **out);
/* Delete the tenant with all its users, groups, memberships and tokens. */
int tenant_delete(tenant_call *c, const char *name, json_t **out);

int token_list(tenant_call *c, const char *tenant, json_t **out);
/* body: {"name", "expires_in_days"? | "expires"?}. *out holds the
 * plaintext token, once. */
int token_create(tenant_call *c, const char *tenant, const json_t *body,
		 json_t **out);
int token_show(tenant_call *c, const char *tenant, const char *id,
	       json_t **out);
int token_revoke(tenant_call *c, const char *tenant, const char *id,
		 json_t **out);

/* True if name is a valid tenant name (1..63 of a-z 0-9 '-', not
 * starting with '-'). */
bool tenant_name_valid(const char *name);

#endif
