/* directory.c - what the LDAP sink does to the directory for each event:
 * users and role groups (sink_ldap.h). */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* strdup, strcasecmp, explicit_bzero under -std=c11 */
#endif

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sink_ldap.h"

/* ---- the view of one event ---- */

static const scimsync_attr *find_attr(const scimsync_event *ev,
				      const char *name)
{
	size_t i;

	for (i = 0; ev->attrs != NULL && i < ev->n_attrs; i++)
		if (ev->attrs[i].name != NULL &&
		    strcasecmp(ev->attrs[i].name, name) == 0)
			return &ev->attrs[i];
	return NULL;
}

int lds_view_init(struct view *v, const scimsync_event *ev, scimsync_err *err)
{
	const scimsync_attr *dn = find_attr(ev, "dn");

	memset(v, 0, sizeof(*v));
	v->ev = ev;
	v->id = ev->resource_id;
	if (v->id == NULL || *v->id == '\0')
		return su_fail(err, SCIMSYNC_EFAIL,
			       "%s event without a user id", ev->type);
	if (dn != NULL && dn->n_values > 1)
		return su_fail(err, SCIMSYNC_EFAIL,
			       "the mapping rendered %zu DNs for user %s",
			       dn->n_values, v->id);
	if (dn != NULL && dn->n_values == 1 && dn->values[0][0] != '\0')
		v->dn = dn->values[0];
	v->active = !lds_json_top_false(ev->resource_json,
					ev->resource_json_len, "active");
	v->reactivated = strcmp(ev->type, "user.reactivated") == 0;
	if ((v->marker = lds_cat(MARKER_PREFIX, v->id, NULL)) == NULL)
		return su_fail(err, SCIMSYNC_ERETRY, "out of memory");
	return SCIMSYNC_OK;
}

void lds_view_free(struct view *v)
{
	free(v->marker);
	v->marker = NULL;
}

/* ---- entries of users ---- */

/* Is dn right below option delete's DN? Such an entry is a deleted
 * user's, kept: events about the user from before its deletion (a
 * replayed dead letter, say) leave it there. */
static bool in_delete_ou(scimsync_sink *s, const char *dn)
{
	struct dn_parts d;
	bool in;

	if (s->delete_to == NULL || lds_dn_split(dn, &d, NULL) != SCIMSYNC_OK)
		return false;
	in = lds_dn_equal(d.parent, s->delete_to);
	lds_dn_parts_free(&d);
	return in;
}

/* The attributes to read of a user entry (free the array only: the names
 * are the event's and the sink's). */
static char **user_attrs(scimsync_sink *s, const scimsync_event *ev)
{
	size_t n = 0, i, k = 0;
	char **out;

	for (i = 0; s->managed != NULL && s->managed[i] != NULL; i++)
		n++;
	n += ev->n_attrs + 4;
	if ((out = calloc(n, sizeof(*out))) == NULL)
		return NULL;
	out[k++] = (char *)"objectClass";
	out[k++] = s->id_attr;
	if (s->deactivate == DEACT_ATTRIBUTE)
		out[k++] = s->deact_attr;
	for (i = 0; ev->attrs != NULL && i < ev->n_attrs; i++)
		if (strcasecmp(ev->attrs[i].name, "dn") != 0)
			out[k++] = (char *)ev->attrs[i].name;
	for (i = 0; s->managed != NULL && s->managed[i] != NULL; i++)
		out[k++] = s->managed[i];
	out[k] = NULL;
	return out;
}

/* ---- role groups ---- */

static const char *member_attr(const scimsync_sink *s)
{
	return s->unique ? "uniqueMember" : "member";
}

static const char *group_class(const scimsync_sink *s)
{
	return s->unique ? "groupOfUniqueNames" : "groupOfNames";
}

static char *group_dn(const scimsync_sink *s, const char *role)
{
	char *esc = lds_dn_escape(role), *dn = NULL;

	if (esc != NULL)
		dn = lds_cat("cn=", esc, ",", s->roles_base, NULL);
	free(esc);
	return dn;
}

/* The DNs of the role groups member is in (new, NULL-terminated). */
static int groups_of(scimsync_sink *s, const char *member, char ***out,
		     scimsync_err *err)
{
	char *attrs[] = {(char *)"1.1", NULL};
	char *f1 = lds_eq_filter(member_attr(s), member), *filter = NULL;
	LDAPMessage *res = NULL, *e;
	char **v = NULL, *dn;
	int rc, n, k = 0;

	*out = NULL;
	if (f1 != NULL)
		filter = lds_cat("(&(objectClass=", group_class(s), ")", f1,
				 ")", NULL);
	free(f1);
	if (filter == NULL)
		return su_fail(err, SCIMSYNC_ERETRY, "out of memory");
	rc = ldap_search_ext_s(s->ld, s->roles_base, LDAP_SCOPE_SUBTREE, filter,
			       attrs, 0, NULL, NULL, &s->tv, 0, &res);
	free(filter);
	if (rc == LDAP_NO_SUCH_OBJECT) {
		ldap_msgfree(res);
		return su_fail(
			err, SCIMSYNC_EFAIL,
			"roles_base %s does not exist: create it, or fix "
			"option 'roles_base'",
			s->roles_base);
	}
	if (rc != LDAP_SUCCESS) {
		ldap_msgfree(res);
		return lds_fail_rc(s, rc, err, "search %s for the groups of %s",
				   s->roles_base, member);
	}
	n = ldap_count_entries(s->ld, res);
	if ((v = calloc((size_t)(n > 0 ? n : 0) + 1, sizeof(*v))) == NULL) {
		ldap_msgfree(res);
		return su_fail(err, SCIMSYNC_ERETRY, "out of memory");
	}
	for (e = ldap_first_entry(s->ld, res); e != NULL && k < n;
	     e = ldap_next_entry(s->ld, e)) {
		if ((dn = ldap_get_dn(s->ld, e)) == NULL)
			continue;
		v[k] = strdup(dn);
		ldap_memfree(dn);
		if (v[k] == NULL) {
			su_free_strv(v);
			ldap_msgfree(res);
			return su_fail(err, SCIMSYNC_ERETRY, "out of memory");
		}
		k++;
	}
	ldap_msgfree(res);
	*out = v;
	return SCIMSYNC_OK;
}

/* Put member into the group of role, making the group on the first
 * grant. */
static int group_add_member(scimsync_sink *s, const char *role,
			    const char *member, scimsync_err *err)
{
	struct modlist ml = {0}, add = {0};
	const char *classes[2] = {"top", group_class(s)};
	char *gdn = group_dn(s, role);
	int rc = SCIMSYNC_OK, lrc, attempt;

	if (gdn == NULL)
		return su_fail(err, SCIMSYNC_ERETRY, "out of memory");
	lds_modlist_add1(&ml, LDAP_MOD_ADD, member_attr(s), member);
	lds_modlist_add(&add, LDAP_MOD_ADD, "objectClass", classes, 2);
	lds_modlist_add1(&add, LDAP_MOD_ADD, "cn", role);
	lds_modlist_add1(&add, LDAP_MOD_ADD, member_attr(s), member);
	if (ml.oom || add.oom) {
		rc = su_fail(err, SCIMSYNC_ERETRY, "out of memory");
		goto out;
	}
	for (attempt = 0; attempt < 2; attempt++) {
		lrc = ldap_modify_ext_s(s->ld, gdn, ml.mods, NULL, NULL);
		if (lrc == LDAP_SUCCESS || lrc == LDAP_TYPE_OR_VALUE_EXISTS)
			goto out;
		if (lrc != LDAP_NO_SUCH_OBJECT) {
			rc = lds_fail_rc(s, lrc, err, "add %s to %s", member,
					 gdn);
			goto out;
		}
		lrc = ldap_add_ext_s(s->ld, gdn, add.mods, NULL, NULL);
		if (lrc == LDAP_SUCCESS) {
			LOG(s, SCIMSYNC_LOG_INFO, "created role group %s", gdn);
			goto out;
		}
		if (lrc == LDAP_NO_SUCH_OBJECT) {
			rc = su_fail(err, SCIMSYNC_EFAIL,
				     "roles_base %s does not exist: create it, "
				     "or fix option 'roles_base'",
				     s->roles_base);
			goto out;
		}
		if (lrc != LDAP_ALREADY_EXISTS) {
			rc = lds_fail_rc(s, lrc, err, "create role group %s",
					 gdn);
			goto out;
		}
		/* Made meanwhile: add the member to it. */
	}
	rc = su_fail(err, SCIMSYNC_ERETRY, "role group %s: made and gone", gdn);
out:
	lds_modlist_free(&ml);
	lds_modlist_free(&add);
	free(gdn);
	return rc;
}

/* Take member out of the group gdn; a group left without members is
 * deleted (groupOfNames must have one). Absent group or member: done. */
static int group_remove_member(scimsync_sink *s, const char *gdn,
			       const char *member, scimsync_err *err)
{
	char *attrs[] = {(char *)member_attr(s), NULL};
	struct modlist ml = {0};
	struct found g = {0};
	struct berval **vals = NULL;
	int rc, lrc, i;
	bool only_member = true;

	lds_modlist_add1(&ml, LDAP_MOD_DELETE, member_attr(s), member);
	if (ml.oom) {
		lds_modlist_free(&ml);
		return su_fail(err, SCIMSYNC_ERETRY, "out of memory");
	}
	lrc = ldap_modify_ext_s(s->ld, gdn, ml.mods, NULL, NULL);
	lds_modlist_free(&ml);
	if (lrc == LDAP_SUCCESS || lrc == LDAP_NO_SUCH_OBJECT ||
	    lrc == LDAP_NO_SUCH_ATTRIBUTE)
		return SCIMSYNC_OK;
	rc = lds_fail_rc(s, lrc, err, "remove %s from %s", member, gdn);
	if (lrc != LDAP_OBJECT_CLASS_VIOLATION)
		return rc;
	/* The last member, probably: then the group goes. */
	if ((rc = lds_read_entry(s, gdn, attrs, &g, err)) != SCIMSYNC_OK)
		return rc;
	vals = lds_found_values(s, &g, member_attr(s));
	for (i = 0; vals != NULL && vals[i] != NULL; i++) {
		char *m = strndup(vals[i]->bv_val, vals[i]->bv_len);

		if (m == NULL || !lds_dn_equal(m, member))
			only_member = false;
		free(m);
	}
	ldap_value_free_len(vals);
	lds_found_free(&g);
	if (!only_member)
		return lds_fail_rc(s, lrc, err, "remove %s from %s", member,
				   gdn);
	lrc = ldap_delete_ext_s(s->ld, gdn, NULL, NULL);
	if (lrc != LDAP_SUCCESS && lrc != LDAP_NO_SUCH_OBJECT)
		return lds_fail_rc(
			s, lrc, err,
			"delete role group %s (its last member left)", gdn);
	LOG(s, SCIMSYNC_LOG_INFO, "deleted role group %s: its last member left",
	    gdn);
	if (err != NULL) {
		err->code = SCIMSYNC_OK;
		err->message[0] = '\0';
	}
	return SCIMSYNC_OK;
}

/* After a user entry moved from old to new: its role memberships follow
 * (directories with the refint overlay have done it already). */
static int groups_follow(scimsync_sink *s, const char *old, const char *new,
			 scimsync_err *err)
{
	struct modlist both = {0}, del = {0}, add = {0};
	char **groups = NULL;
	int rc, lrc;
	size_t i;

	if (s->roles_base == NULL)
		return SCIMSYNC_OK;
	if ((rc = groups_of(s, old, &groups, err)) != SCIMSYNC_OK)
		return rc;
	lds_modlist_add1(&both, LDAP_MOD_DELETE, member_attr(s), old);
	lds_modlist_add1(&both, LDAP_MOD_ADD, member_attr(s), new);
	lds_modlist_add1(&del, LDAP_MOD_DELETE, member_attr(s), old);
	lds_modlist_add1(&add, LDAP_MOD_ADD, member_attr(s), new);
	if (both.oom || del.oom || add.oom)
		rc = su_fail(err, SCIMSYNC_ERETRY, "out of memory");
	for (i = 0; rc == SCIMSYNC_OK && groups[i] != NULL; i++) {
		lrc = ldap_modify_ext_s(s->ld, groups[i], both.mods, NULL,
					NULL);
		if (lrc == LDAP_TYPE_OR_VALUE_EXISTS)
			lrc = ldap_modify_ext_s(s->ld, groups[i], del.mods,
						NULL, NULL);
		else if (lrc == LDAP_NO_SUCH_ATTRIBUTE)
			lrc = ldap_modify_ext_s(s->ld, groups[i], add.mods,
						NULL, NULL);
		if (lrc != LDAP_SUCCESS && lrc != LDAP_NO_SUCH_ATTRIBUTE &&
		    lrc != LDAP_TYPE_OR_VALUE_EXISTS &&
		    lrc != LDAP_NO_SUCH_OBJECT)
			rc = lds_fail_rc(s, lrc, err,
					 "move member %s to %s in %s", old, new,
					 groups[i]);
	}
	lds_modlist_free(&both);
	lds_modlist_free(&del);
	lds_modlist_free(&add);
	su_free_strv(groups);
	return rc;
}

/* ---- users ---- */

static bool has_value(struct berval **vals, const char *v, bool nocase)
{
	size_t i;

	for (i = 0; vals != NULL && vals[i] != NULL; i++)
		if (nocase ? lds_bv_is_nocase(vals[i], v)
			   : lds_bv_is(vals[i], v))
			return true;
	return false;
}

/* The entry's values are exactly a's (as sets; rendered duplicates
 * without case count once). */
static bool same_values(struct berval **cur, const scimsync_attr *a)
{
	size_t i, distinct = 0;

	for (i = 0; i < a->n_values; i++) {
		if (lds_seen_nocase(a->values, i, a->values[i]))
			continue;
		distinct++;
		if (!has_value(cur, a->values[i], false))
			return false;
	}
	return (size_t)ldap_count_values_len(cur) == distinct;
}

/* The mapping must leave the sink's own attributes alone. */
static int check_reserved(scimsync_sink *s, const struct view *v,
			  scimsync_err *err)
{
	if (find_attr(v->ev, s->id_attr) != NULL)
		return su_fail(err, SCIMSYNC_EFAIL,
			       "the mapping renders '%s', which the sink keeps "
			       "the SCIM id in: map it elsewhere or set option "
			       "'id_attr'",
			       s->id_attr);
	if (s->deactivate == DEACT_ATTRIBUTE &&
	    find_attr(v->ev, s->deact_attr) != NULL)
		return su_fail(
			err, SCIMSYNC_EFAIL,
			"the mapping renders '%s', which the sink sets to "
			"deactivate users (option 'deactivate_attr')",
			s->deact_attr);
	return SCIMSYNC_OK;
}

/* The attributes of v's new entry: the mapped ones, the marker, and the
 * deactivation attribute when v's user is inactive. */
static void add_mods(scimsync_sink *s, const struct view *v, struct modlist *ml)
{
	const scimsync_event *ev = v->ev;
	size_t i;

	for (i = 0; ev->attrs != NULL && i < ev->n_attrs; i++)
		if (strcasecmp(ev->attrs[i].name, "dn") != 0)
			lds_modlist_add(ml, LDAP_MOD_ADD, ev->attrs[i].name,
					ev->attrs[i].values,
					ev->attrs[i].n_values);
	lds_modlist_add1(ml, LDAP_MOD_ADD, s->id_attr, v->marker);
	if (s->deactivate == DEACT_ATTRIBUTE && !v->active)
		lds_modlist_add1(ml, LDAP_MOD_ADD, s->deact_attr,
				 s->deact_value);
}

static int add_user(scimsync_sink *s, const struct view *v, const char *dn)
{
	struct modlist ml = {0};
	int lrc;

	add_mods(s, v, &ml);
	lrc = ml.oom ? LDAP_NO_MEMORY
		     : ldap_add_ext_s(s->ld, dn, ml.mods, NULL, NULL);
	lds_modlist_free(&ml);
	return lrc;
}

/* ---- pipelined adds (apply_many) ---- */

/* When all a user.created event needs is the add of a new entry (the
 * batch's prefetch says the user has none, and the entry stays where its
 * DN says), send that add without waiting and return its message id, for
 * lds_user_add_wait; else -1: apply the event as usual. */
int lds_user_add_send(scimsync_sink *s, const struct view *v)
{
	struct dn_parts want = {0};
	struct modlist ml = {0};
	scimsync_err ignored;
	char *target = NULL;
	int msgid = -1;

	if (v->ev->type == NULL || strcmp(v->ev->type, "user.created") != 0 ||
	    v->dn == NULL || (s->deactivate == DEACT_MOVE && !v->active) ||
	    check_reserved(s, v, &ignored) != SCIMSYNC_OK ||
	    lds_dn_split(v->dn, &want, &ignored) != SCIMSYNC_OK)
		goto out;
	if ((target = lds_cat(want.rdn, ",", want.parent, NULL)) == NULL ||
	    !lds_prefetch_absent(s, v->marker))
		goto out;
	add_mods(s, v, &ml);
	if (ml.oom || ldap_add_ext(s->ld, target, ml.mods, NULL, NULL,
				   &msgid) != LDAP_SUCCESS)
		msgid = -1;
out:
	lds_modlist_free(&ml);
	lds_dn_parts_free(&want);
	free(target);
	return msgid;
}

/* The outcome of lds_user_add_send's add. An entry of that name already
 * there is what apply would have met too: the event then converges as
 * usual (adopt, or a conflict). */
int lds_user_add_wait(scimsync_sink *s, const struct view *v, int msgid,
		      scimsync_err *err)
{
	LDAPMessage *res = NULL;
	int rc, code = LDAP_OTHER;

	rc = ldap_result(s->ld, msgid, LDAP_MSG_ALL, &s->tv, &res);
	if (rc == 0) {
		ldap_msgfree(res);
		return lds_fail_rc(s, LDAP_TIMEOUT, err, "add %s", v->dn);
	}
	if (rc < 0) {
		ldap_get_option(s->ld, LDAP_OPT_RESULT_CODE, &code);
		return lds_fail_rc(s, code, err, "add %s", v->dn);
	}
	rc = ldap_parse_result(s->ld, res, &code, NULL, NULL, NULL, NULL, 1);
	if (rc != LDAP_SUCCESS)
		return lds_fail_rc(s, rc, err, "add %s", v->dn);
	if (code == LDAP_SUCCESS)
		return SCIMSYNC_OK;
	if (code == LDAP_ALREADY_EXISTS)
		return lds_user_converge(s, v, err);
	return lds_fail_rc(s, code, err, "add %s", v->dn);
}

/* Done with a move of the entry dn from old: the role memberships that
 * name old name dn (directories with the refint overlay have done it),
 * and the note that says so goes. */
static int finish_move(scimsync_sink *s, const char *dn, const char *old,
		       const char *note, scimsync_err *err)
{
	struct modlist ml = {0};
	int rc = SCIMSYNC_OK, lrc;

	if (!lds_dn_equal(old, dn))
		rc = groups_follow(s, old, dn, err);
	if (rc != SCIMSYNC_OK || note == NULL)
		return rc;
	lds_modlist_add1(&ml, LDAP_MOD_DELETE, s->id_attr, note);
	lrc = ml.oom ? LDAP_NO_MEMORY
		     : ldap_modify_ext_s(s->ld, dn, ml.mods, NULL, NULL);
	lds_modlist_free(&ml);
	if (lrc != LDAP_SUCCESS && lrc != LDAP_NO_SUCH_ATTRIBUTE)
		return lds_fail_rc(s, lrc, err, "remove the move note of %s",
				   dn);
	return SCIMSYNC_OK;
}

/* The moves of entry f that were cut short (by a lost connection, say)
 * before its role memberships followed: see move_entry. */
static int finish_moves(scimsync_sink *s, const struct found *f,
			scimsync_err *err)
{
	struct berval **ids = lds_found_values(s, f, s->id_attr);
	int rc = SCIMSYNC_OK;
	size_t i;

	for (i = 0; rc == SCIMSYNC_OK && ids != NULL && ids[i] != NULL; i++) {
		char *note;

		if (!lds_bv_has_prefix(ids[i], MOVED_PREFIX))
			continue;
		if ((note = strndup(ids[i]->bv_val, ids[i]->bv_len)) == NULL) {
			rc = su_fail(err, SCIMSYNC_ERETRY, "out of memory");
			break;
		}
		rc = finish_move(s, f->dn, note + strlen(MOVED_PREFIX), note,
				 err);
		free(note);
	}
	ldap_value_free_len(ids);
	return rc;
}

/* Rename/move cur to rdn under parent (deleteoldrdn 0: the attribute
 * update that follows replaces the naming values). Into a move target
 * (into_ou), where a namesake may already wait, the marker joins the RDN
 * on a clash. *out: the new DN.
 *
 * With role groups, the entry first gets a note "scimsync-moved:<cur>"
 * in id_attr, removed once the groups name the new DN: a move cut short
 * between the two is finished by the next event of the user. */
static int move_entry(scimsync_sink *s, const struct view *v, const char *cur,
		      const char *rdn, const char *parent, bool into_ou,
		      char **out, scimsync_err *err)
{
	struct modlist ml = {0};
	char *esc = NULL, *alt = NULL, *note = NULL;
	int lrc, rc;

	*out = NULL;
	if (s->roles_base != NULL) {
		lds_modlist_add1(
			&ml, LDAP_MOD_ADD, s->id_attr,
			note = lds_modlist_own(
				&ml, lds_cat(MOVED_PREFIX, cur, NULL)));
		lrc = ml.oom ? LDAP_NO_MEMORY
			     : ldap_modify_ext_s(s->ld, cur, ml.mods, NULL,
						 NULL);
		if (lrc != LDAP_SUCCESS && lrc != LDAP_TYPE_OR_VALUE_EXISTS) {
			rc = lds_fail_rc(s, lrc, err, "note the move of %s",
					 cur);
			goto out;
		}
	}
	lrc = ldap_rename_s(s->ld, cur, rdn, parent, 0, NULL, NULL);
	if (lrc == LDAP_SUCCESS) {
		*out = lds_cat(rdn, ",", parent, NULL);
	} else if (lrc != LDAP_ALREADY_EXISTS) {
		rc = lds_fail_rc(s, lrc, err, "move %s to %s,%s", cur, rdn,
				 parent);
		goto out;
	} else if (!into_ou) {
		rc = su_fail(err, SCIMSYNC_EFAIL,
			     "cannot rename %s to %s,%s for SCIM user %s: an "
			     "entry of that name exists",
			     cur, rdn, parent, v->id);
		goto out;
	} else {
		if ((esc = lds_dn_escape(v->marker)) == NULL ||
		    (alt = lds_cat(rdn, "+", s->id_attr, "=", esc, NULL)) ==
			    NULL) {
			rc = su_fail(err, SCIMSYNC_ERETRY, "out of memory");
			goto out;
		}
		lrc = ldap_rename_s(s->ld, cur, alt, parent, 0, NULL, NULL);
		if (lrc != LDAP_SUCCESS) {
			rc = lds_fail_rc(s, lrc, err, "move %s under %s", cur,
					 parent);
			goto out;
		}
		*out = lds_cat(alt, ",", parent, NULL);
	}
	if (*out == NULL)
		rc = su_fail(err, SCIMSYNC_ERETRY, "out of memory");
	else
		rc = finish_move(s, *out, cur, note, err);
out:
	lds_modlist_free(&ml);
	free(esc);
	free(alt);
	return rc;
}

/* The modifications that make entry f hold what v says. */
static void user_mods(scimsync_sink *s, const struct view *v,
		      const struct found *f, struct modlist *ml)
{
	const scimsync_event *ev = v->ev;
	struct berval **cur;
	size_t i, k;

	for (i = 0; ev->attrs != NULL && i < ev->n_attrs; i++) {
		const scimsync_attr *a = &ev->attrs[i];

		if (strcasecmp(a->name, "dn") == 0)
			continue;
		cur = lds_found_values(s, f, a->name);
		if (strcasecmp(a->name, "objectClass") == 0) {
			/* Only ever added: other tools' classes stay. */
			for (k = 0; k < a->n_values; k++)
				if (!has_value(cur, a->values[k], true))
					lds_modlist_add1(ml, LDAP_MOD_ADD,
							 "objectClass",
							 a->values[k]);
		} else if (!same_values(cur, a)) {
			lds_modlist_add(ml, LDAP_MOD_REPLACE, a->name,
					a->values, a->n_values);
		}
		ldap_value_free_len(cur);
	}
	for (i = 0; s->managed != NULL && s->managed[i] != NULL; i++) {
		if (find_attr(ev, s->managed[i]) != NULL)
			continue;
		cur = lds_found_values(s, f, s->managed[i]);
		if (cur != NULL)
			lds_modlist_add(ml, LDAP_MOD_DELETE, s->managed[i],
					NULL, 0);
		ldap_value_free_len(cur);
	}
	cur = lds_found_values(s, f, s->id_attr);
	if (!has_value(cur, v->marker, true))
		lds_modlist_add1(ml, LDAP_MOD_ADD, s->id_attr, v->marker);
	ldap_value_free_len(cur);
	if (s->deactivate == DEACT_ATTRIBUTE) {
		cur = lds_found_values(s, f, s->deact_attr);
		if (!v->active && (ldap_count_values_len(cur) != 1 ||
				   !lds_bv_is(cur[0], s->deact_value)))
			lds_modlist_add1(ml, LDAP_MOD_REPLACE, s->deact_attr,
					 s->deact_value);
		else if (v->active && v->reactivated && cur != NULL)
			lds_modlist_add(ml, LDAP_MOD_DELETE, s->deact_attr,
					NULL, 0);
		ldap_value_free_len(cur);
	}
}

/* deactivate=remove_roles: an inactive user leaves every role group,
 * with its roles remembered on its entry first; an active one with
 * remembered roles gets them back, then the memo goes. */
static int user_roles(scimsync_sink *s, const struct view *v,
		      const struct found *f, const char *dn, scimsync_err *err)
{
	struct berval **ids = lds_found_values(s, f, s->id_attr);
	struct modlist ml = {0};
	char **groups = NULL;
	int rc = SCIMSYNC_OK, lrc;
	size_t i;

	if (!v->active) {
		if ((rc = groups_of(s, dn, &groups, err)) != SCIMSYNC_OK)
			goto out;
		for (i = 0; groups[i] != NULL; i++) {
			char *role = lds_dn_first_value(groups[i]), *memo;

			memo = role != NULL ? lds_cat(MEMO_PREFIX, role, NULL)
					    : NULL;
			free(role);
			if (lds_modlist_own(&ml, memo) != NULL &&
			    !has_value(ids, memo, true))
				lds_modlist_add1(&ml, LDAP_MOD_ADD, s->id_attr,
						 memo);
		}
	} else {
		for (i = 0; ids != NULL && ids[i] != NULL; i++) {
			char *role;

			if (!lds_bv_has_prefix(ids[i], MEMO_PREFIX))
				continue;
			role = strndup(ids[i]->bv_val + strlen(MEMO_PREFIX),
				       ids[i]->bv_len - strlen(MEMO_PREFIX));
			if (role == NULL) {
				rc = su_fail(err, SCIMSYNC_ERETRY,
					     "out of memory");
				goto out;
			}
			rc = group_add_member(s, role, dn, err);
			free(role);
			if (rc != SCIMSYNC_OK)
				goto out;
			lds_modlist_add1(
				&ml, LDAP_MOD_DELETE, s->id_attr,
				lds_modlist_own(&ml, strndup(ids[i]->bv_val,
							     ids[i]->bv_len)));
		}
	}
	if (ml.oom) {
		rc = su_fail(err, SCIMSYNC_ERETRY, "out of memory");
		goto out;
	}
	if (ml.n > 0) {
		lrc = ldap_modify_ext_s(s->ld, dn, ml.mods, NULL, NULL);
		if (lrc != LDAP_SUCCESS && lrc != LDAP_TYPE_OR_VALUE_EXISTS &&
		    lrc != LDAP_NO_SUCH_ATTRIBUTE) {
			rc = lds_fail_rc(s, lrc, err,
					 "remember the roles of %s in %s", dn,
					 s->id_attr);
			goto out;
		}
	}
	for (i = 0; !v->active && groups[i] != NULL; i++)
		if ((rc = group_remove_member(s, groups[i], dn, err)) !=
		    SCIMSYNC_OK)
			goto out;
out:
	ldap_value_free_len(ids);
	su_free_strv(groups);
	lds_modlist_free(&ml);
	return rc;
}

/* user.created, .updated, .deactivated, .reactivated: make the entry
 * what the event says the user is. */
int lds_user_converge(scimsync_sink *s, const struct view *v, scimsync_err *err)
{
	struct dn_parts want = {0};
	struct found f = {0};
	struct modlist ml = {0};
	char **attrs = NULL, *target = NULL, *cur = NULL, *moved = NULL;
	const char *parent;
	bool into_ou;
	int rc, lrc;
	struct berval **ids;
	size_t i;

	if (v->dn == NULL)
		return su_fail(err, SCIMSYNC_EFAIL,
			       "mapping rendered no dn for user %s", v->id);
	if ((rc = check_reserved(s, v, err)) != SCIMSYNC_OK)
		return rc;
	if ((rc = lds_dn_split(v->dn, &want, err)) == SCIMSYNC_EFAIL)
		return su_fail(err, rc,
			       "mapping rendered an invalid dn for user %s: "
			       "'%.150s'",
			       v->id, v->dn);
	if (rc != SCIMSYNC_OK)
		return rc;
	into_ou = s->deactivate == DEACT_MOVE && !v->active;
	parent = into_ou ? s->deact_to : want.parent;
	if ((target = lds_cat(want.rdn, ",", parent, NULL)) == NULL ||
	    (attrs = user_attrs(s, v->ev)) == NULL) {
		rc = su_fail(err, SCIMSYNC_ERETRY, "out of memory");
		goto out;
	}
	if ((rc = lds_find_user(s, v, attrs, &f, err)) != SCIMSYNC_OK)
		goto out;
	if (f.e == NULL) {
		lrc = add_user(s, v, target);
		if (lrc == LDAP_SUCCESS)
			goto out; /* new: no roles to take away */
		if (lrc != LDAP_ALREADY_EXISTS) {
			rc = lds_fail_rc(s, lrc, err, "add %s", target);
			goto out;
		}
		/* An entry of that name: adopt it, unless it is another
		 * SCIM user's. */
		if ((rc = lds_read_entry(s, target, attrs, &f, err)) !=
		    SCIMSYNC_OK)
			goto out;
		if (f.e == NULL) {
			rc = su_fail(err, SCIMSYNC_ERETRY,
				     "%s: exists, then does not", target);
			goto out;
		}
		ids = lds_found_values(s, &f, s->id_attr);
		for (i = 0; ids != NULL && ids[i] != NULL; i++)
			if (lds_bv_has_prefix(ids[i], MARKER_PREFIX) &&
			    !lds_bv_is_nocase(ids[i], v->marker))
				break;
		if (ids != NULL && ids[i] != NULL)
			rc = su_fail(err, SCIMSYNC_EFAIL,
				     "%s already exists for another SCIM user "
				     "(%s: %.*s), not %s",
				     target, s->id_attr, (int)ids[i]->bv_len,
				     ids[i]->bv_val, v->id);
		ldap_value_free_len(ids);
		if (rc != SCIMSYNC_OK)
			goto out;
		LOG(s, SCIMSYNC_LOG_INFO,
		    "adopting the existing entry %s for SCIM user %s", target,
		    v->id);
	}
	if (in_delete_ou(s, f.dn)) {
		LOG(s, SCIMSYNC_LOG_DEBUG,
		    "%s for SCIM user %s: %s is in the delete OU (a stale "
		    "event): done",
		    v->ev->type, v->id, f.dn);
		goto out;
	}
	if ((rc = finish_moves(s, &f, err)) != SCIMSYNC_OK)
		goto out;
	if ((cur = strdup(f.dn)) == NULL) {
		rc = su_fail(err, SCIMSYNC_ERETRY, "out of memory");
		goto out;
	}
	if (!lds_dn_is(s, cur, want.rdn, parent, v->marker)) {
		if ((rc = move_entry(s, v, cur, want.rdn, parent, into_ou,
				     &moved, err)) != SCIMSYNC_OK)
			goto out;
		LOG(s, SCIMSYNC_LOG_DEBUG, "moved %s to %s", cur, moved);
		free(cur);
		cur = moved;
		moved = NULL;
	}
	user_mods(s, v, &f, &ml);
	if (ml.oom) {
		rc = su_fail(err, SCIMSYNC_ERETRY, "out of memory");
		goto out;
	}
	if (ml.n > 0) {
		lrc = ldap_modify_ext_s(s->ld, cur, ml.mods, NULL, NULL);
		if (lrc != LDAP_SUCCESS) {
			rc = lds_fail_rc(s, lrc, err, "modify %s", cur);
			goto out;
		}
	}
	if (s->deactivate == DEACT_REMOVE_ROLES)
		rc = user_roles(s, v, &f, cur, err);
out:
	lds_modlist_free(&ml);
	lds_found_free(&f);
	lds_dn_parts_free(&want);
	free(attrs);
	free(target);
	free(cur);
	free(moved);
	return rc;
}

/* user.deleted: delete the entry, or move it to option delete's DN. */
int lds_user_delete(scimsync_sink *s, const struct view *v, scimsync_err *err)
{
	char *attrs[] = {s->id_attr, NULL};
	struct dn_parts have = {0};
	struct found f = {0};
	char **groups = NULL, *moved = NULL;
	int rc, lrc;
	size_t i;

	if ((rc = lds_find_user(s, v, attrs, &f, err)) != SCIMSYNC_OK ||
	    f.e == NULL)
		goto out; /* no entry: done */
	if ((rc = finish_moves(s, &f, err)) != SCIMSYNC_OK)
		goto out;
	/* Out of its role groups (role.revoked came first; this is for
	 * what the sink did not make). */
	if (s->roles_base != NULL) {
		if ((rc = groups_of(s, f.dn, &groups, err)) != SCIMSYNC_OK)
			goto out;
		for (i = 0; groups[i] != NULL; i++)
			if ((rc = group_remove_member(s, groups[i], f.dn,
						      err)) != SCIMSYNC_OK)
				goto out;
	}
	if (s->delete_to == NULL) {
		lrc = ldap_delete_ext_s(s->ld, f.dn, NULL, NULL);
		if (lrc != LDAP_SUCCESS && lrc != LDAP_NO_SUCH_OBJECT)
			rc = lds_fail_rc(s, lrc, err, "delete %s", f.dn);
		goto out;
	}
	if ((rc = lds_dn_split(f.dn, &have, err)) != SCIMSYNC_OK)
		goto out;
	if (!lds_dn_equal(have.parent, s->delete_to))
		rc = move_entry(s, v, f.dn, have.rdn, s->delete_to, true,
				&moved, err);
out:
	su_free_strv(groups);
	lds_dn_parts_free(&have);
	lds_found_free(&f);
	free(moved);
	return rc;
}

/* role.granted / role.revoked: the user's membership in the role's
 * group. */
int lds_role_event(scimsync_sink *s, const struct view *v, bool grant,
		   scimsync_err *err)
{
	char *attrs[] = {s->id_attr, NULL};
	struct modlist ml = {0};
	struct found f = {0};
	struct berval **ids = NULL;
	const char *member;
	char *memo = NULL, *gdn = NULL;
	int rc, lrc;

	if (s->roles_base == NULL)
		return SCIMSYNC_OK; /* roles are not mirrored */
	if (v->ev->role == NULL)
		return su_fail(err, SCIMSYNC_EFAIL, "%s event without a role",
			       v->ev->type);
	if ((rc = lds_find_user(s, v, attrs, &f, err)) != SCIMSYNC_OK)
		return rc;
	if ((rc = finish_moves(s, &f, err)) != SCIMSYNC_OK) {
		lds_found_free(&f);
		return rc;
	}
	member = f.e != NULL ? f.dn : v->dn;
	if (member == NULL) {
		lds_found_free(&f);
		return su_fail(err, SCIMSYNC_EFAIL,
			       "mapping rendered no dn for user %s", v->id);
	}
	if ((memo = lds_cat(MEMO_PREFIX, v->ev->role, NULL)) == NULL ||
	    (gdn = group_dn(s, v->ev->role)) == NULL) {
		rc = su_fail(err, SCIMSYNC_ERETRY, "out of memory");
		goto out;
	}
	ids = lds_found_values(s, &f, s->id_attr);
	if (grant && s->deactivate == DEACT_REMOVE_ROLES && !v->active) {
		/* Inactive: remembered, granted on reactivation. */
		if (f.e != NULL && !has_value(ids, memo, true)) {
			lds_modlist_add1(&ml, LDAP_MOD_ADD, s->id_attr, memo);
			lrc = ml.oom ? LDAP_NO_MEMORY
				     : ldap_modify_ext_s(s->ld, f.dn, ml.mods,
							 NULL, NULL);
			if (lrc != LDAP_SUCCESS &&
			    lrc != LDAP_TYPE_OR_VALUE_EXISTS)
				rc = lds_fail_rc(s, lrc, err,
						 "remember role %s on %s",
						 v->ev->role, f.dn);
		}
		goto out;
	}
	if (grant) {
		if (!in_delete_ou(s, member))
			rc = group_add_member(s, v->ev->role, member, err);
		goto out;
	}
	if (f.e != NULL && has_value(ids, memo, true)) {
		lds_modlist_add1(&ml, LDAP_MOD_DELETE, s->id_attr, memo);
		lrc = ml.oom ? LDAP_NO_MEMORY
			     : ldap_modify_ext_s(s->ld, f.dn, ml.mods, NULL,
						 NULL);
		if (lrc != LDAP_SUCCESS && lrc != LDAP_NO_SUCH_ATTRIBUTE) {
			rc = lds_fail_rc(s, lrc, err, "forget role %s on %s",
					 v->ev->role, f.dn);
			goto out;
		}
	}
	rc = group_remove_member(s, gdn, member, err);
out:
	ldap_value_free_len(ids);
	lds_modlist_free(&ml);
	lds_found_free(&f);
	free(memo);
	free(gdn);
	return rc;
}
