/* outbox.h - the durable outbox: lifecycle events, each sink's cursor and
 * its dead letters, kept as engine records in the store (types
 * SCIMSYNC_RES_EVENT, _CURSOR and _DEAD under the tenant "#system").
 *
 * An event is appended by the writer inside the transaction of the change
 * it describes, so it commits with the change or not at all. Its position
 * is the store's seq, which grows in commit order (one writer). A sink's
 * dispatcher reads events after its cursor in seq order and moves the
 * cursor once they are applied; events every sink has passed are pruned.
 *
 * Threads: like the store: reads on any connection, writes on the
 * writer's (inside a job). */
#ifndef SCIMSYNC_OUTBOX_H
#define SCIMSYNC_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include <scimsync/store.h>

#define OUTBOX_TENANT "#system"

/* Append ev (a JSON object; borrowed) as the record id (unique: the
 * event's key, or a fresh id for a replay of it). */
int outbox_append(const scimsync_store_plugin *p, scimsync_store_conn *c,
		  const char *id, const json_t *ev, scimsync_err *err);

/* Each event with seq > after, ascending, at most limit (< 0: all):
 * cb(seq, json, len, payload) with the event's text borrowed for the
 * call. */
typedef int (*outbox_cb)(int64_t seq, const char *json, size_t len,
			 void *payload);
int outbox_read(const scimsync_store_plugin *p, scimsync_store_conn *c,
		int64_t after, int64_t limit, outbox_cb cb, void *payload,
		scimsync_err *err);

/* How many events have seq > after. */
int outbox_count(const scimsync_store_plugin *p, scimsync_store_conn *c,
		 int64_t after, int64_t *out, scimsync_err *err);

/* A sink's cursor (0 when it has none yet). */
int outbox_cursor_get(const scimsync_store_plugin *p, scimsync_store_conn *c,
		      const char *sink, int64_t *out, scimsync_err *err);
int outbox_cursor_set(const scimsync_store_plugin *p, scimsync_store_conn *c,
		      const char *sink, int64_t seq, scimsync_err *err);

/* Keep the event text (borrowed) of seq as a dead letter of sink, with
 * the reason. */
int outbox_dead_put(const scimsync_store_plugin *p, scimsync_store_conn *c,
		    const char *sink, int64_t seq, const char *event_json,
		    size_t len, const char *reason, int64_t time_ms,
		    scimsync_err *err);
/* The dead letters of sink, oldest first, as a new array of
 * {"seq", "time_ms", "reason", "event": {...}}. */
int outbox_dead_list(const scimsync_store_plugin *p, scimsync_store_conn *c,
		     const char *sink, json_t **out, scimsync_err *err);
int outbox_dead_count(const scimsync_store_plugin *p, scimsync_store_conn *c,
		      const char *sink, int64_t *out, scimsync_err *err);
/* Forget one dead letter (after a replay); ENOTFOUND if absent. */
int outbox_dead_del(const scimsync_store_plugin *p, scimsync_store_conn *c,
		    const char *sink, int64_t seq, scimsync_err *err);

/* Delete up to max events with seq <= upto (every sink has passed them).
 * *deleted says how many. */
int outbox_prune(const scimsync_store_plugin *p, scimsync_store_conn *c,
		 int64_t upto, int max, int *deleted, scimsync_err *err);

#endif
