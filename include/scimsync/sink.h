/* scimsync/sink.h - the sink plugin ABI: where lifecycle events go.
 *
 * The engine turns every committed SCIM change into lifecycle events
 * (user.created, user.updated, user.deactivated, user.reactivated,
 * user.deleted, group.created, group.updated, group.deleted,
 * group.members_added, group.members_removed, role.granted,
 * role.revoked), keeps them in a durable outbox written in the same
 * transaction as the change, and feeds them to each configured sink in
 * commit order. For each event it renders the tenant's mapping for the
 * sink and hands the plugin the event with the mapped attributes as plain
 * strings: a plugin needs no JSON library (the raw JSON is there too).
 *
 * Delivery is at least once: after a crash an event may come again. Every
 * event carries an idempotency key and the resource's version so a target
 * can recognise a repeat or a stale event. The engine does all retrying,
 * backing off and dead-lettering: apply reports what happened and returns.
 *
 * Threads: each configured sink has one dispatcher thread. open and close
 * run on the main thread; apply, apply_many and health run on that sink's
 * dispatcher thread only, never two at a time for one sink state. Two
 * sinks configured with the same plugin get two states, used from two
 * threads: keep no mutable globals.
 *
 * Ownership: everything the engine passes (options, events, their
 * strings and arrays) is borrowed for the duration of the call; copy what
 * you keep. What open creates, close frees, exactly once.
 *
 * Building a plugin out of tree:
 *   cc -shared -fPIC $(pkg-config --cflags scimsync) -o sink_x.so x.c
 * export only SCIMSYNC_PLUGIN_ENTRY_SYMBOL (see contrib/sink-example/).
 *
 * Change log
 *   2026-11-22  1.0  first version.
 *   2026-11-22  1.1  retry_after: a target's own "come back in N ms"
 *                    (an HTTP Retry-After, say) reaches the backoff.
 */
#ifndef SCIMSYNC_SINK_H
#define SCIMSYNC_SINK_H

#include <scimsync/plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SCIMSYNC_SINK_ABI_MAJOR 1
#define SCIMSYNC_SINK_ABI_MINOR 1

/* One mapped target attribute: name and its values, in the mapping's
 * order (an attribute that rendered nothing is not passed). */
typedef struct scimsync_attr {
	const char *name;
	const char *const *values;
	size_t n_values;
} scimsync_attr;

/* One lifecycle event with what the tenant's mapping made of it. Grows
 * only at the end; read a field added later only when struct_size covers
 * it. */
typedef struct scimsync_event {
	size_t struct_size;
	int64_t seq;	  /* outbox position: increasing in commit order */
	const char *key;  /* idempotency key: the same on every redelivery */
	const char *type; /* "user.created", "role.granted", ... */
	const char *tenant;
	int64_t time_ms;	   /* when the change committed (Unix ms) */
	const char *resource_type; /* "User" or "Group" */
	const char *resource_id;
	int64_t version; /* the resource's version after the change (for
			    user.deleted/group.deleted: the last one) */

	/* user.updated, group.updated: the attribute paths that changed
	 * ("name.givenName", "emails", "urn:...:User:department"). */
	const char *const *changed;
	size_t n_changed;
	/* group.members_added/_removed, group.created with members,
	 * group.deleted: the member ids. */
	const char *const *members;
	size_t n_members;
	/* role.granted/role.revoked: the role, the user it concerns and
	 * the group that caused it (NULL otherwise). resource_* name the
	 * user. */
	const char *role;
	const char *user_id;
	const char *group_id;

	/* The mapping rendered against the resource as it now is (the user
	 * for user and role events, the group for group events): the
	 * `user:` or `group:` section of the sink's mapping file. */
	const scimsync_attr *attrs;
	size_t n_attrs;

	/* The SCIM resource as it now is (for deletions: as it was), and
	 * the whole event, both as JSON text; not NUL-terminated by
	 * contract, use the lengths. */
	const char *resource_json;
	size_t resource_json_len;
	const char *event_json;
	size_t event_json_len;
} scimsync_event;

typedef struct scimsync_sink scimsync_sink; /* plugin-defined */

typedef struct scimsync_sink_plugin {
	scimsync_plugin_header header; /* kind SCIMSYNC_PLUGIN_SINK */

	/* Create the sink's state from options (borrowed; an entry with
	 * key NULL ends them). host is borrowed until close. Connecting may
	 * be deferred to the first apply; fail here only for a broken
	 * setup (bad options), with a message naming the option. On
	 * success *out is released with close. */
	int (*open)(scimsync_sink **out, const scimsync_host *host,
		    const scimsync_option *options, scimsync_err *err);
	/* Release everything open created. Called once, after the
	 * dispatcher has stopped. */
	void (*close)(scimsync_sink *s);

	/* Apply one event. Return SCIMSYNC_OK when it is done (or was
	 * already: apply must be idempotent for a repeated key);
	 * SCIMSYNC_ERETRY when it may succeed later (target down, busy,
	 * timeout): the engine calls again with the same event after a
	 * backoff; SCIMSYNC_EFAIL when it never will (bad data, schema
	 * violation): the engine moves it to the sink's dead letters and
	 * goes on. err->message says why, for the log and the admin API. */
	int (*apply)(scimsync_sink *s, const scimsync_event *ev,
		     scimsync_err *err);

	/* ---- Optional (NULL, or beyond struct_size) ---- */

	/* Is the target reachable? SCIMSYNC_OK or SCIMSYNC_ERETRY, with a
	 * message either way. Called on the dispatcher thread while the
	 * sink is idle, at most every 10 s; the admin API's sink status
	 * shows the last answer. */
	int (*health)(scimsync_sink *s, scimsync_err *err);

	/* Apply up to n events in order (one transaction or round trip,
	 * say). *done is how many, from the first, are done; the return
	 * code and err are about event (*done) when *done < n. Used
	 * instead of apply when set. */
	int (*apply_many)(scimsync_sink *s, const scimsync_event *const *evs,
			  size_t n, size_t *done, scimsync_err *err);

	/* ---- Added in 1.1 (optional) ---- */

	/* Right after apply or apply_many returned SCIMSYNC_ERETRY: how
	 * long the target itself asked to be left alone, in ms (an HTTP
	 * 429's or 503's Retry-After, say), or 0 for no opinion. The engine
	 * waits at least that long (at most one hour) before the next try,
	 * and its own backoff otherwise. Called on the dispatcher thread. */
	int64_t (*retry_after)(scimsync_sink *s);
} scimsync_sink_plugin;

#ifdef __cplusplus
}
#endif

#endif
