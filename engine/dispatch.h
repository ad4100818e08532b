/* dispatch.h - one dispatcher per configured sink: reads the outbox after
 * the sink's cursor, renders the tenant's mapping for the sink, calls the
 * plugin, and moves the cursor.
 *
 * A plugin's SCIMSYNC_ERETRY keeps the event and backs off exponentially
 * with full jitter (retry.initial_ms doubling up to retry.max_ms);
 * SCIMSYNC_EFAIL moves the event to the sink's dead letters and goes on.
 * Delivery is at least once: the cursor is stored after a batch is
 * applied, so a crash in between delivers the batch again (the events
 * keep their keys). Events of one resource reach a sink in commit order
 * because the whole outbox does.
 *
 * Threads: a thread per sink; the functions below are for the main and
 * admin threads. */
#ifndef SCIMSYNC_DISPATCH_H
#define SCIMSYNC_DISPATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include <scimsync/sink.h>

struct scim_srv;
typedef struct dispatch_set dispatch_set;

/* Load and open every sink of srv->cfg and start its dispatcher. One
 * failing sink fails the start with a line naming it. */
int dispatch_start(dispatch_set **out, struct scim_srv *srv, char *errbuf,
		   size_t errlen);

/* New events committed: wake the dispatchers. (The writer's on-commit
 * hook; arg is the set.) */
void dispatch_notify(void *set);

/* Stop every dispatcher (each finishes the event in hand and stores its
 * cursor), close the plugins. NULL: no-op. */
void dispatch_stop(dispatch_set *d);

/* Delete outbox events every sink has passed (at most max). */
void dispatch_prune(dispatch_set *d, int max);

/* Each sink's state as a new JSON array: name, plugin, state, cursor,
 * lag (events after the cursor), delivered, retries, failed,
 * dead_letters, last_error, last_error_time, latency_ms {p50, p99} of
 * commit -> applied. */
json_t *dispatch_status(dispatch_set *d);

/* One sink's object as above plus "dead": its dead letters; NULL if
 * there is no such sink. */
json_t *dispatch_sink_show(dispatch_set *d, const char *name);

/* Is there a sink of that name (-1: no), and does it take tenant's
 * events (1; 0: its tenants list leaves tenant out; tenant NULL: 1)? */
int dispatch_sink_takes(dispatch_set *d, const char *name, const char *tenant);

/* Put sink's dead letter seq (0: every one) back into the outbox for that
 * sink only, and forget it. A stale one (its resource deleted since, or
 * changed since when the event carries its state) stays a dead letter
 * unless force, counted in *stale. Returns how many were put back, or -1
 * with errbuf. */
int dispatch_replay(dispatch_set *d, const char *name, int64_t seq, bool force,
		    int *stale, char *errbuf, size_t errlen);

/* Export every user and group of tenant to sink name as created events
 * (users, then groups with their members, then roles). Returns how many
 * events, or -1 with errbuf. */
int dispatch_resync(dispatch_set *d, const char *name, const char *tenant,
		    char *errbuf, size_t errlen);

#endif
