/* patch.h - SCIM PATCH (RFC 7644 §3.5.2).
 *
 * Applies a PatchOp request to a resource: add/replace/remove, with and
 * without path, value-filter paths, sub-attribute and extension paths.
 * All operations apply to the resource in memory; the caller writes the
 * result only if every operation succeeded, so a request is atomic.
 *
 * Tolerates what real IdPs send: op names in any case ("Replace"),
 * path-less replace/add whose value keys are themselves paths
 * ("name.givenName", "urn:...:enterprise:2.0:User:employeeNumber"),
 * string booleans ("False"), replace on emails[type eq "work"].value that
 * creates the element when none matches, remove of members with a value
 * array (Entra), a bare string for manager. */
#ifndef SCIMSYNC_PATCH_H
#define SCIMSYNC_PATCH_H

#include <stdbool.h>

#include <jansson.h>

#include "schema.h"
#include "scim_error.h"

/* Group members are rows in the store, not a JSON array: for groups PATCH
 * turns member operations into this delta, in net effect, instead of
 * touching res. The store applies it as: if remove_all, remove every
 * member; remove each id in `remove`; add each member in `add`. */
typedef struct scim_member_delta {
	bool remove_all;
	json_t *add;	/* array of member objects {"value": id, ...}; owned */
	json_t *remove; /* array of id strings; owned */
} scim_member_delta;

void scim_member_delta_init(scim_member_delta *d);
void scim_member_delta_clear(scim_member_delta *d);

/* Apply the PatchOp body (borrowed) to res (modified in place; on error
 * res may be partly modified, so pass a copy). members: for groups, where
 * member operations go (must be initialised); NULL to patch a members
 * array inside res like any attribute. Errors: 400 invalidSyntax (bad
 * body or op), invalidPath (bad path), noTarget (remove without a path;
 * a value filter that matches nothing, except for group members;
 * add/replace through such a filter that cannot be turned into a new
 * element), mutability (readOnly or, once set, immutable attributes),
 * invalidFilter (member filters other than `value eq`), invalidValue
 * (wrong type). Removing an attribute that is already absent, or a group
 * member that is not one, succeeds: IdPs retry.
 * On error the delta may be partly filled too: discard both. */
int scim_patch_apply(const scim_restype *rt, json_t *res, const json_t *body,
		     scim_member_delta *members, scim_error *err);

#endif
