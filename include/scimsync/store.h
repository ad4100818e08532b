/* scimsync/store.h - the store plugin ABI.
 *
 * A store keeps SCIM resources (as JSON text), their group memberships (as
 * rows, never as a JSON array) and, per resource, a version and an
 * insertion sequence number. The engine does all SCIM logic (validation,
 * filters the store cannot answer, PATCH); the store answers by id, by the
 * indexed attributes and in insertion order, and makes writes durable.
 *
 * Threads: the engine opens one connection per worker thread for reads and
 * exactly one writer connection. A connection is used by one thread at a
 * time; different connections are used concurrently. The writer groups
 * the writes of many requests into one transaction (begin, then for each
 * request savepoint ... release or rollback_to, then commit), so commit()
 * must return only when the transaction is durable (on disk).
 *
 * Ownership: strings and records passed in are borrowed for the call.
 * Records passed to a callback are borrowed for the duration of the
 * callback; copy what you keep. Callbacks are never NULL. A callback
 * returning non-zero stops the iteration and the function returns
 * SCIMSYNC_ESTOPPED. A callback must not call back into the store.
 *
 * Strings are UTF-8. Keys used for case-insensitive uniqueness and lookup
 * (user_name_key, display_key, and index values for those attributes) are
 * folded by the engine before they reach the store: the store compares
 * bytes.
 *
 * Change log
 *   2026-11-22  1.0  first version.
 *   2026-11-22  1.1  optional read_begin/read_end (read snapshots).
 *   2026-11-22  1.2  resource types 3 (tenant) and 4 (token): engine
 *                    records, kept under the tenant "#system" like any
 *                    other resource. No new entry points.
 *   2026-11-22  1.3  resource types 5 (outbox event), 6 (sink cursor)
 *                    and 7 (dead letter), the same way. A store's seq
 *                    must grow in commit order (one writer makes that
 *                    so): the outbox is read in seq order.
 */
#ifndef SCIMSYNC_STORE_H
#define SCIMSYNC_STORE_H

#include <scimsync/plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SCIMSYNC_STORE_ABI_MAJOR 1
#define SCIMSYNC_STORE_ABI_MINOR 3

/* A store treats every type alike (an opaque small integer); the engine
 * keeps its own records (tenants, tokens, the outbox) as types 3 to 7
 * under the tenant "#system", which no SCIM client can name. */
typedef enum scimsync_res_type {
	SCIMSYNC_RES_USER = 1,
	SCIMSYNC_RES_GROUP = 2,
	SCIMSYNC_RES_TENANT = 3, /* since 1.2 */
	SCIMSYNC_RES_TOKEN = 4,
	SCIMSYNC_RES_EVENT = 5, /* since 1.3 */
	SCIMSYNC_RES_CURSOR = 6,
	SCIMSYNC_RES_DEAD = 7
} scimsync_res_type;

/* Attributes a store indexes for equality lookups. */
typedef enum scimsync_index {
	SCIMSYNC_IDX_NONE = 0,
	SCIMSYNC_IDX_ID = 1,
	SCIMSYNC_IDX_USERNAME = 2,   /* value is the folded key */
	SCIMSYNC_IDX_EXTERNALID = 3, /* exact */
	SCIMSYNC_IDX_DISPLAYNAME = 4 /* value is the folded key */
} scimsync_index;

typedef struct scimsync_resource {
	const char *tenant;
	int type; /* scimsync_res_type */
	const char *id;
	const char *json; /* the full resource (with meta), not NUL-bounded */
	size_t json_len;  /* length of json in bytes */
	int64_t version;  /* 1 at creation, +1 on every change */
	int64_t seq;	  /* set by the store: insertion order, never reused */
	const char *user_name_key; /* users: folded userName; else NULL */
	const char *external_id;   /* or NULL */
	const char *display_key;   /* folded displayName (groups), or NULL */
	const char *display;	   /* display text for members.display */
} scimsync_resource;

typedef struct scimsync_member {
	const char *group_id;
	const char *member_id;
	int member_type; /* scimsync_res_type of the member */
	const char
		*display; /* the member's (or group's, in groups_of) display */
} scimsync_member;

typedef struct scimsync_query {
	const char *tenant;
	int type;		 /* scimsync_res_type */
	int index;		 /* scimsync_index */
	const char *index_value; /* with index != NONE */
	int64_t after_seq;	 /* only resources with seq > after_seq */
	int64_t offset;		 /* skip this many (after after_seq) */
	int64_t limit;		 /* at most this many; < 0: no limit */
} scimsync_query;

typedef int (*scimsync_resource_cb)(const scimsync_resource *r, void *payload);
typedef int (*scimsync_member_cb)(const scimsync_member *m, void *payload);

typedef struct scimsync_store scimsync_store;		/* plugin-defined */
typedef struct scimsync_store_conn scimsync_store_conn; /* plugin-defined */

typedef struct scimsync_store_plugin {
	scimsync_plugin_header header; /* kind SCIMSYNC_PLUGIN_STORE */

	/* Create the store's state from options (borrowed; NULL-terminated by
	 * an entry with key NULL). host is borrowed until close. On success
	 * *out is owned by the engine and released with close. */
	int (*open)(scimsync_store **out, const scimsync_host *host,
		    const scimsync_option *options, scimsync_err *err);
	/* Release everything open created. Called once, after every
	 * connection is closed. */
	void (*close)(scimsync_store *s);

	/* A connection; writer != 0 for the single writer connection. Owned
	 * by the caller, released with conn_close. */
	int (*conn_open)(scimsync_store_conn **out, scimsync_store *s,
			 int writer, scimsync_err *err);
	void (*conn_close)(scimsync_store_conn *c);

	/* ---- Reads (any connection; on the writer they see the open
	 * transaction) ---- */

	/* One resource by id: cb called once, or SCIMSYNC_ENOTFOUND. */
	int (*get)(scimsync_store_conn *c, const char *tenant, int type,
		   const char *id, scimsync_resource_cb cb, void *payload,
		   scimsync_err *err);
	/* Resources matching q in ascending seq order. */
	int (*list)(scimsync_store_conn *c, const scimsync_query *q,
		    scimsync_resource_cb cb, void *payload, scimsync_err *err);
	/* How many match q, ignoring offset and limit. */
	int (*count)(scimsync_store_conn *c, const scimsync_query *q,
		     int64_t *out, scimsync_err *err);
	/* Members of a group, in the order they were added. only_ids
	 * (borrowed, n_only entries) restricts to those member ids; NULL
	 * for all. */
	int (*members)(scimsync_store_conn *c, const char *tenant,
		       const char *group_id, const char *const *only_ids,
		       size_t n_only, scimsync_member_cb cb, void *payload,
		       scimsync_err *err);
	/* Groups the resource member_id belongs to (directly); m->display
	 * is the group's display. */
	int (*groups_of)(scimsync_store_conn *c, const char *tenant,
			 const char *member_id, scimsync_member_cb cb,
			 void *payload, scimsync_err *err);

	/* ---- Writes (writer connection only) ---- */
	int (*begin)(scimsync_store_conn *c, scimsync_err *err);
	/* Durable when it returns SCIMSYNC_OK. */
	int (*commit)(scimsync_store_conn *c, scimsync_err *err);
	int (*rollback)(scimsync_store_conn *c, scimsync_err *err);
	/* One request's work inside the batch; not nested. */
	int (*savepoint)(scimsync_store_conn *c, scimsync_err *err);
	int (*release)(scimsync_store_conn *c, scimsync_err *err);
	int (*rollback_to)(scimsync_store_conn *c, scimsync_err *err);

	/* Insert (create != 0) or replace the resource r (r->seq ignored).
	 * SCIMSYNC_ECONFLICT if the id, or for users the user_name_key, is
	 * taken in the tenant; SCIMSYNC_ENOTFOUND when replacing a resource
	 * that does not exist. */
	int (*put)(scimsync_store_conn *c, const scimsync_resource *r,
		   int create, scimsync_err *err);
	/* Delete a resource and every membership row naming it (as group or
	 * as member). SCIMSYNC_ENOTFOUND if absent. */
	int (*del)(scimsync_store_conn *c, const char *tenant, int type,
		   const char *id, scimsync_err *err);
	/* Add member_id (a user or group of the same tenant) to group_id.
	 * Adding an existing member is SCIMSYNC_OK; a member that does not
	 * exist in the tenant is SCIMSYNC_ENOTFOUND. */
	int (*member_add)(scimsync_store_conn *c, const char *tenant,
			  const char *group_id, const char *member_id,
			  scimsync_err *err);
	/* Remove one member; removing a non-member is SCIMSYNC_OK. */
	int (*member_remove)(scimsync_store_conn *c, const char *tenant,
			     const char *group_id, const char *member_id,
			     scimsync_err *err);
	/* Remove every member of group_id. */
	int (*member_clear)(scimsync_store_conn *c, const char *tenant,
			    const char *group_id, scimsync_err *err);

	/* ---- Added in 1.1; optional (NULL, or beyond struct_size) ---- */

	/* A read snapshot on a reader connection: every read between
	 * read_begin and read_end sees the same committed state (a GET's
	 * resource and its memberships, a list and its count). Cheap; one
	 * per request. On the writer connection both are no-ops. */
	int (*read_begin)(scimsync_store_conn *c, scimsync_err *err);
	int (*read_end)(scimsync_store_conn *c, scimsync_err *err);
} scimsync_store_plugin;

#ifdef __cplusplus
}
#endif

#endif
