/* conntrack.c - the open connections of one event loop (conntrack.h). */
#include "config.h"

#include <stdlib.h>

#include "conntrack.h"

struct conn_node {
	evhtp_connection_t *conn;
	conn_node **head;
	conn_node *prev, *next;
};

static evhtp_res on_conn_fini(evhtp_connection_t *conn, void *arg)
{
	conn_node *n = arg;

	(void)conn;
	if (n->prev)
		n->prev->next = n->next;
	else
		*n->head = n->next;
	if (n->next)
		n->next->prev = n->prev;
	free(n);
	return EVHTP_RES_OK;
}

void conn_track(conn_node **head, evhtp_connection_t *conn)
{
	conn_node *n = calloc(1, sizeof(*n));

	if (n == NULL)
		return; /* untracked: freed at exit at worst */
	n->conn = conn;
	n->head = head;
	n->next = *head;
	if (*head)
		(*head)->prev = n;
	*head = n;
	evhtp_connection_set_hook(conn, evhtp_hook_on_connection_fini,
				  (evhtp_hook)on_conn_fini, n);
}

void conn_free_all(conn_node **head, struct event_base *base)
{
	while (*head) {
		conn_node *n = *head;

		evhtp_connection_free(n->conn);
		if (*head == n) /* the hook did not run */
			on_conn_fini(NULL, n);
	}
	/* A bufferevent freed with callbacks pending finishes in a deferred
	 * callback: let the loop run it once, or it leaks. */
	if (base)
		event_base_loop(base, EVLOOP_NONBLOCK);
}
