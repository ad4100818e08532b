/* event.h - lifecycle events from committed changes.
 *
 * The engine, not the sinks, decides what a change means (DESIGN.md,
 * "Lifecycle events"):
 *
 *   POST /Users                         user.created
 *   PUT/PATCH /Users, attributes        user.updated (changed paths)
 *   active true -> false / false -> true user.deactivated / reactivated
 *   DELETE /Users                       group.members_removed (each group),
 *                                       role.revoked, user.deleted
 *   POST /Groups                        group.created, members_added
 *   PUT/PATCH /Groups                   group.updated, members_added,
 *                                       members_removed
 *   DELETE /Groups                      role.revoked, group.deleted
 *
 * Roles come from the tenant's mapping named "roles" (its own file, else
 * the config's; none: no role events): a user holds a role while at least
 * one group it is a direct member of maps to it. role.granted when the
 * first such group appears, role.revoked when the last one goes (a member
 * removed, a group renamed so it maps elsewhere, a group or the user
 * deleted).
 *
 * Events are appended to the outbox (outbox.h) by the writer inside the
 * op's savepoint, so they commit with the change or not at all. */
#ifndef SCIMSYNC_EVENT_H
#define SCIMSYNC_EVENT_H

#include <stdint.h>

#include <jansson.h>

#include <scimsync/store.h>

#include "schema.h"
#include "scim_error.h"

struct scim_srv;

typedef enum scim_change_kind {
	SCIM_CHANGE_NONE = 0, /* nothing changed: no event */
	SCIM_CHANGE_CREATE,
	SCIM_CHANGE_UPDATE,
	SCIM_CHANGE_DELETE
} scim_change_kind;

/* What one op changed, filled by the op (scim_resource.c). Owned. */
typedef struct scim_change {
	scim_change_kind kind;
	json_t *before;	 /* stored form before (update, delete) */
	json_t *after;	 /* stored form after (create, update) */
	json_t *added;	 /* groups: member ids added (array of strings) */
	json_t *removed; /* groups: member ids removed; group delete: all */
	json_t *groups;	 /* user delete: ids of the groups it was in */
} scim_change;

void scim_change_clear(scim_change *ch);

/* Append the events of ch on resource (rt, id) of tenant to the outbox,
 * on c (the writer, inside the op's savepoint; memberships there are
 * already as after the change). 0, or -1 with err. */
int event_emit(struct scim_srv *srv, const char *tenant, const scim_restype *rt,
	       const char *id, const scim_change *ch,
	       const scimsync_store_plugin *p, scimsync_store_conn *c,
	       scim_error *err);

#endif
