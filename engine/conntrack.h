/* conntrack.h - the open connections of one event loop, so those still
 * open (idle keep-alives) when the loop stops are freed: libevhtp leaves
 * them to the process's end, which LeakSanitizer reports.
 *
 * Threads: a list belongs to the thread that runs its loop; conn_track is
 * called from its accept hook there, conn_free_all once the loop is done. */
#ifndef SCIMSYNC_CONNTRACK_H
#define SCIMSYNC_CONNTRACK_H

#include <event2/event.h>
#include <evhtp/evhtp.h>

typedef struct conn_node conn_node;

/* Add conn to the list *head; its end-of-connection hook takes it off. */
void conn_track(conn_node **head, evhtp_connection_t *conn);

/* Free every connection still on *head, then run base once so the
 * bufferevents whose free was deferred are finalised. base may be NULL. */
void conn_free_all(conn_node **head, struct event_base *base);

#endif
