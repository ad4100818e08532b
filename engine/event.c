/* event.c - lifecycle events from committed changes (see event.h). */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "event.h"
#include "mapping.h"
#include "outbox.h"
#include "scim_server.h"
#include "strutil.h"
#include "tenant.h"

#define ROLES_MAPPING "roles"

void scim_change_clear(scim_change *ch)
{
	json_decref(ch->before);
	json_decref(ch->after);
	json_decref(ch->added);
	json_decref(ch->removed);
	json_decref(ch->groups);
	memset(ch, 0, sizeof(*ch));
}

typedef struct emit_ctx {
	struct scim_srv *srv;
	const char *tenant;
	const scimsync_store_plugin *p;
	scimsync_store_conn *c;
	int64_t now_ms;
	mapset_ref *roles_ref;
	const mapping *roles; /* NULL: no role events */
	json_t *role_cache;   /* group id -> roles (after the change) */
	scim_error *err;
} emit_ctx;

static int64_t version_of(const json_t *res)
{
	const char *v = json_string_value(
		json_object_get(json_object_get(res, "meta"), "version"));

	while (v && *v && (*v < '0' || *v > '9'))
		v++;
	return v && *v ? strtoll(v, NULL, 10) : 0;
}

/* Append one event. extra (stolen, may be NULL) adds members. */
static int emit(emit_ctx *x, const char *type, const char *rtype,
		const char *id, const json_t *resource, json_t *extra)
{
	char key[37];
	scimsync_err serr = {0};
	json_t *ev;
	int rc;

	scim_new_uuid(key);
	ev = json_pack("{s:s,s:s,s:s,s:I,s:s,s:s,s:I}", "key", key, "type",
		       type, "tenant", x->tenant, "time_ms",
		       (json_int_t)x->now_ms, "resource_type", rtype,
		       "resource_id", id, "version",
		       (json_int_t)version_of(resource));
	if (ev == NULL) {
		json_decref(extra);
		return scim_error_set(x->err, 500, NULL, "out of memory");
	}
	if (extra) {
		json_object_update(ev, extra);
		json_decref(extra);
	}
	json_object_set(ev, "resource",
			resource ? (json_t *)resource : json_null());
	rc = outbox_append(x->p, x->c, key, ev, &serr);
	json_decref(ev);
	if (rc != SCIMSYNC_OK)
		return scim_store_error(x->err, &serr, "outbox");
	return 0;
}

/* ---- Changed paths ---- */

static bool skip_key(const char *k)
{
	return strcmp(k, "meta") == 0 || strcmp(k, "id") == 0 ||
	       strcmp(k, "schemas") == 0 || strcmp(k, "groups") == 0 ||
	       strcmp(k, "members") == 0 || strcmp(k, "password") == 0;
}

static void diff_one(json_t *out, const char *key, const json_t *a,
		     const json_t *b)
{
	const char *sub;
	json_t *v;
	char path[512];
	bool urn = strchr(key, ':') != NULL;

	if (json_equal(a, b))
		return;
	if (!json_is_object(a) || !json_is_object(b) ||
	    (a == NULL || b == NULL)) {
		json_array_append_new(out, json_string(key));
		return;
	}
	/* A complex attribute or an extension: name the sub-attributes. */
	json_object_foreach ((json_t *)a, sub, v) {
		if (!json_equal(v, json_object_get(b, sub))) {
			snprintf(path, sizeof(path), "%s%s%s", key,
				 urn ? ":" : ".", sub);
			json_array_append_new(out, json_string(path));
		}
	}
	json_object_foreach ((json_t *)b, sub, v) {
		if (json_object_get(a, sub) == NULL) {
			snprintf(path, sizeof(path), "%s%s%s", key,
				 urn ? ":" : ".", sub);
			json_array_append_new(out, json_string(path));
		}
	}
}

/* The attribute paths that differ between a and b (new array). */
static json_t *changed_paths(const json_t *a, const json_t *b)
{
	json_t *out = json_array(), *v;
	const char *k;

	json_object_foreach ((json_t *)a, k, v) {
		if (!skip_key(k))
			diff_one(out, k, v, json_object_get(b, k));
	}
	json_object_foreach ((json_t *)b, k, v) {
		if (!skip_key(k) && json_object_get(a, k) == NULL)
			json_array_append_new(out, json_string(k));
	}
	return out;
}

static bool active_of(const json_t *user)
{
	return !json_is_false(json_object_get(user, "active"));
}

/* ---- Store reads ---- */

static int json_cb(const scimsync_resource *r, void *payload)
{
	json_t **out = payload;

	*out = json_loadb(r->json, r->json_len, 0, NULL);
	return 0;
}

/* The stored resource, or NULL (absent or unreadable). New reference. */
static json_t *load(emit_ctx *x, int type, const char *id)
{
	scimsync_err serr = {0};
	json_t *o = NULL;

	if (x->p->get(x->c, x->tenant, type, id, json_cb, &o, &serr) !=
	    SCIMSYNC_OK) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static int ids_cb(const scimsync_member *m, void *payload)
{
	json_array_append_new(payload, json_string(m->group_id));
	return 0;
}

/* The groups user id is a direct member of, now (new array). */
static json_t *groups_of(emit_ctx *x, const char *uid)
{
	scimsync_err serr = {0};
	json_t *ids = json_array();

	if (x->p->groups_of(x->c, x->tenant, uid, ids_cb, ids, &serr) !=
	    SCIMSYNC_OK) {
		json_decref(ids);
		return NULL;
	}
	return ids;
}

/* ---- Roles ---- */

/* The roles a group (its stored form) maps to: new array. */
static json_t *roles_of(emit_ctx *x, const json_t *group)
{
	mapping_error merr;
	json_t *out = NULL;

	if (x->roles == NULL || group == NULL ||
	    mapping_roles(&out, x->roles, group, &merr) < 0) {
		json_decref(out);
		return json_array();
	}
	return out;
}

/* The roles of group gid as it is now (borrowed, cached). */
static const json_t *roles_of_id(emit_ctx *x, const char *gid)
{
	json_t *r = json_object_get(x->role_cache, gid), *g;

	if (r)
		return r;
	g = load(x, SCIMSYNC_RES_GROUP, gid);
	r = roles_of(x, g);
	json_decref(g);
	json_object_set_new(x->role_cache, gid, r);
	return r;
}

static bool has_string(const json_t *arr, const char *s)
{
	size_t i;
	json_t *v;

	json_array_foreach (arr, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
			return true;
	return false;
}

/* Does a group in gs (the user's groups now) other than gid grant role? */
static bool held_elsewhere(emit_ctx *x, const json_t *gs, const char *role,
			   const char *gid)
{
	size_t i;
	json_t *g;

	json_array_foreach (gs, i, g) {
		const char *other = json_string_value(g);

		if (strcmp(other, gid) != 0 &&
		    has_string(roles_of_id(x, other), role))
			return true;
	}
	return false;
}

static int emit_role(emit_ctx *x, const char *type, const char *uid,
		     const char *role, const char *gid, const json_t *user)
{
	json_t *loaded = NULL;
	int rc;

	if (user == NULL)
		user = loaded = load(x, SCIMSYNC_RES_USER, uid);
	rc = emit(x, type, "User", uid, user,
		  json_pack("{s:s,s:s,s:s}", "role", role, "user_id", uid,
			    "group_id", gid));
	json_decref(loaded);
	return rc;
}

static bool is_user(emit_ctx *x, const char *id)
{
	json_t *u = load(x, SCIMSYNC_RES_USER, id);

	json_decref(u);
	return u != NULL;
}

/* For each user in ids: grant (or revoke) each role of roles that no
 * other group of the user grants. */
static int roles_for_members(emit_ctx *x, const json_t *ids,
			     const json_t *roles, const char *gid, bool grant)
{
	size_t i, j;
	json_t *m, *r;

	if (json_array_size(roles) == 0)
		return 0;
	json_array_foreach (ids, i, m) {
		const char *uid = json_string_value(m);
		json_t *gs;
		int rc = 0;

		if (uid == NULL || !is_user(x, uid))
			continue;	/* a nested group grants nothing */
		gs = groups_of(x, uid); /* once per user, not per role */
		json_array_foreach (roles, j, r) {
			const char *role = json_string_value(r);

			if (held_elsewhere(x, gs, role, gid))
				continue;
			rc = emit_role(x,
				       grant ? "role.granted" : "role.revoked",
				       uid, role, gid, NULL);
			if (rc < 0)
				break;
		}
		json_decref(gs);
		if (rc < 0)
			return -1;
	}
	return 0;
}

/* Members of group gid now (new array of ids). */
static int members_cb(const scimsync_member *m, void *payload)
{
	json_array_append_new(payload, json_string(m->member_id));
	return 0;
}

static json_t *members_now(emit_ctx *x, const char *gid)
{
	scimsync_err serr = {0};
	json_t *ids = json_array();

	if (x->p->members(x->c, x->tenant, gid, NULL, 0, members_cb, ids,
			  &serr) != SCIMSYNC_OK) {
		json_decref(ids);
		return json_array();
	}
	return ids;
}

/* roles in a but not in b (new array). */
static json_t *minus(const json_t *a, const json_t *b)
{
	json_t *out = json_array(), *v;
	size_t i;

	json_array_foreach (a, i, v)
		if (!has_string(b, json_string_value(v)))
			json_array_append(out, v);
	return out;
}

/* ---- Users and groups ---- */

static int user_events(emit_ctx *x, const char *id, const scim_change *ch)
{
	json_t *paths;
	size_t i;
	json_t *g;
	int rc = 0;

	switch (ch->kind) {
	case SCIM_CHANGE_CREATE:
		return emit(x, "user.created", "User", id, ch->after, NULL);
	case SCIM_CHANGE_UPDATE:
		paths = changed_paths(ch->before, ch->after);
		for (i = 0; i < json_array_size(paths); i++)
			if (strcmp(json_string_value(json_array_get(paths, i)),
				   "active") == 0) {
				json_array_remove(paths, i);
				break;
			}
		if (json_array_size(paths) > 0)
			rc = emit(x, "user.updated", "User", id, ch->after,
				  json_pack("{s:O}", "changed", paths));
		json_decref(paths);
		if (rc == 0 && active_of(ch->before) != active_of(ch->after))
			rc = emit(x,
				  active_of(ch->after) ? "user.reactivated"
						       : "user.deactivated",
				  "User", id, ch->after, NULL);
		return rc;
	case SCIM_CHANGE_DELETE: {
		json_t *held = json_array();

		/* Out of each group first, then the roles, then the user. */
		json_array_foreach (ch->groups, i, g) {
			const char *gid = json_string_value(g);
			json_t *grp = load(x, SCIMSYNC_RES_GROUP, gid);
			json_t *roles = roles_of(x, grp);
			size_t j;
			json_t *r;

			rc = emit(x, "group.members_removed", "Group", gid, grp,
				  json_pack("{s:[s]}", "members", id));
			json_array_foreach (roles, j, r)
				if (!has_string(held, json_string_value(r)))
					json_array_append(held, r);
			json_decref(roles);
			json_decref(grp);
			if (rc < 0)
				break;
		}
		json_array_foreach (held, i, g) {
			if (rc < 0)
				break;
			rc = emit_role(x, "role.revoked", id,
				       json_string_value(g), "", ch->before);
		}
		json_decref(held);
		if (rc == 0)
			rc = emit(x, "user.deleted", "User", id, ch->before,
				  NULL);
		return rc;
	}
	default:
		return 0;
	}
}

static int group_events(emit_ctx *x, const char *id, const scim_change *ch)
{
	json_t *rb = NULL, *ra = NULL, *paths = NULL;
	int rc = 0;

	switch (ch->kind) {
	case SCIM_CHANGE_CREATE:
		rc = emit(x, "group.created", "Group", id, ch->after,
			  json_pack("{s:O}", "members",
				    ch->added ? ch->added : json_array()));
		if (rc == 0 && json_array_size(ch->added) > 0)
			rc = emit(x, "group.members_added", "Group", id,
				  ch->after,
				  json_pack("{s:O}", "members", ch->added));
		if (rc == 0 && x->roles) {
			ra = roles_of(x, ch->after);
			rc = roles_for_members(x, ch->added, ra, id, true);
		}
		break;
	case SCIM_CHANGE_UPDATE:
		paths = changed_paths(ch->before, ch->after);
		if (json_array_size(paths) > 0)
			rc = emit(x, "group.updated", "Group", id, ch->after,
				  json_pack("{s:O}", "changed", paths));
		if (rc == 0 && json_array_size(ch->removed) > 0)
			rc = emit(x, "group.members_removed", "Group", id,
				  ch->after,
				  json_pack("{s:O}", "members", ch->removed));
		if (rc == 0 && json_array_size(ch->added) > 0)
			rc = emit(x, "group.members_added", "Group", id,
				  ch->after,
				  json_pack("{s:O}", "members", ch->added));
		if (rc == 0 && x->roles) {
			json_t *gone, *came, *stay;

			rb = roles_of(x, ch->before);
			ra = roles_of(x, ch->after);
			/* Removed members lose the old roles; added ones
			 * gain the new; those who stay gain and lose what a
			 * rename changed. */
			rc = roles_for_members(x, ch->removed, rb, id, false);
			if (rc == 0)
				rc = roles_for_members(x, ch->added, ra, id,
						       true);
			gone = minus(rb, ra);
			came = minus(ra, rb);
			if (rc == 0 && (json_array_size(gone) > 0 ||
					json_array_size(came) > 0)) {
				json_t *now = members_now(x, id);
				json_t *m;
				size_t i;

				stay = json_array();
				json_array_foreach (now, i, m)
					if (!has_string(ch->added,
							json_string_value(m)))
						json_array_append(stay, m);
				rc = roles_for_members(x, stay, gone, id,
						       false);
				if (rc == 0)
					rc = roles_for_members(x, stay, came,
							       id, true);
				json_decref(stay);
				json_decref(now);
			}
			json_decref(gone);
			json_decref(came);
		}
		break;
	case SCIM_CHANGE_DELETE:
		if (x->roles) {
			rb = roles_of(x, ch->before);
			rc = roles_for_members(x, ch->removed, rb, id, false);
		}
		if (rc == 0)
			rc = emit(x, "group.deleted", "Group", id, ch->before,
				  json_pack("{s:O}", "members",
					    ch->removed ? ch->removed
							: json_array()));
		break;
	default:
		break;
	}
	json_decref(paths);
	json_decref(rb);
	json_decref(ra);
	return rc;
}

int event_emit(struct scim_srv *srv, const char *tenant, const scim_restype *rt,
	       const char *id, const scim_change *ch,
	       const scimsync_store_plugin *p, scimsync_store_conn *c,
	       scim_error *err)
{
	struct timespec ts;
	emit_ctx x = {srv, tenant, p, c, 0, NULL, NULL, NULL, err};
	int rc;

	if (ch->kind == SCIM_CHANGE_NONE)
		return 0;
	clock_gettime(CLOCK_REALTIME, &ts);
	x.now_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	x.roles_ref =
		tenant_mapping_acquire(srv->tenants, tenant, ROLES_MAPPING);
	x.roles = x.roles_ref ? mapset_ref_mapping(x.roles_ref) : NULL;
	if (x.roles && !mapping_has_roles(x.roles))
		x.roles = NULL;
	x.role_cache = json_object();
	rc = rt->id == SCIM_RT_USER ? user_events(&x, id, ch)
				    : group_events(&x, id, ch);
	json_decref(x.role_cache);
	if (x.roles_ref)
		mapset_release(srv->maps, x.roles_ref);
	return rc;
}
