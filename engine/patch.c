/* patch.c - SCIM PATCH (RFC 7644 §3.5.2).
 *
 * Paths are parsed by scim_path, value filters matched by filter.c,
 * attribute definitions come from schema.h; this file only decides what
 * each operation does to the JSON. After all operations the resource is
 * run through scim_resource_normalize (SCIM_NORM_PATCHED), so the result
 * is checked exactly like a PUT body.
 *
 * Choices where the RFC leaves room or real IdPs disagree with it:
 *  - remove of an attribute or sub-attribute that is already absent
 *    succeeds (the end state is what was asked for). A value filter that
 *    matches nothing is 400 noTarget (RFC 7644 Table 9), as is remove
 *    without a path and add/replace through a filter that matches nothing
 *    and cannot be turned into a new element. Group members are the
 *    exception: removing a non-member succeeds, because Entra retries
 *    member removals and members are rows, not values here.
 *  - add/replace with a value filter that matches nothing creates a new
 *    element from the filter's `eq` terms plus the value (Entra sends
 *    replace emails[type eq "work"].value for users without one).
 *  - replace on a single-valued complex attribute merges sub-attributes
 *    (RFC 7644 §3.5.2.3); replace on a multi-valued one replaces the array.
 *  - keys of a path-less value that name readOnly or unknown attributes
 *    are ignored (IdPs echo id and meta); an explicit path to a readOnly
 *    attribute is 400 mutability.
 *  - a JSON null value unassigns the target.
 *  - a primary=true value added or replaced makes the other values of the
 *    same attribute primary=false (RFC 7644 §3.5.2). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "filter.h"
#include "patch.h"
#include "scim_path.h"

/* Limits against hostile input. */
#define PATCH_MAX_OPS 1000
#define PATCH_MAX_VALUES 10000

typedef enum patch_kind { PATCH_ADD, PATCH_REPLACE, PATCH_REMOVE } patch_kind;

typedef struct patch_ctx {
	const scim_restype *rt;
	json_t *res;
	scim_member_delta *members;
	scim_error *err;
} patch_ctx;

static int apply_value_object(patch_ctx *c, patch_kind kind, const char *prefix,
			      const json_t *value);

/* ---- JSON helpers ---------------------------------------------------- */

/* Remove every member of obj whose key equals name ignoring case. */
static void obj_del_ci(json_t *obj, const char *name)
{
	const char *key;
	json_t *v;
	void *tmp;

	if (!json_is_object(obj))
		return;
	json_object_foreach_safe (obj, tmp, key, v) {
		if (strcasecmp(key, name) == 0)
			json_object_del(obj, key);
	}
}

/* Set obj[name] = v (stolen), dropping other spellings of name. */
static int obj_set_canon(json_t *obj, const char *name, json_t *v)
{
	if (v == NULL)
		return -1;
	obj_del_ci(obj, name);
	return json_object_set_new(obj, name, v);
}

static int oom(scim_error *err)
{
	return scim_error_set(err, 500, NULL, "out of memory");
}

/* New string: a canonical serialisation of v, used as a hash key. */
static char *dump_key(const json_t *v)
{
	return json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
}

/* ---- Value coercion --------------------------------------------------- */

static json_t *coerce_multi(const scim_attr *a, const json_t *v,
			    const char *where, scim_error *err);

/* New reference: v as one value of attribute a (one element if a is
 * multi-valued), with the coercions scim_resource_normalize applies:
 * "True"/"false" strings for booleans, a bare string for a complex
 * attribute with a `value` sub-attribute, sub-attribute names in canonical
 * case; unknown and readOnly sub-attributes and nulls dropped. NULL with
 * err (400 invalidValue) if v has the wrong type. */
static json_t *coerce_one(const scim_attr *a, const json_t *v,
			  const char *where, scim_error *err)
{
	const char *key;
	json_t *sv, *out;

	if (a->type == SCIM_T_COMPLEX) {
		if (json_is_string(v) && scim_attr_sub(a, "value") != NULL) {
			out = json_object();
			if (out == NULL ||
			    json_object_set_new(out, "value",
						json_deep_copy(v)) != 0) {
				json_decref(out);
				oom(err);
				return NULL;
			}
			return out;
		}
		if (!json_is_object(v)) {
			scim_error_set(err, 400, SCIM_ERR_INVALID_VALUE,
				       "'%s' must be a complex value (object)",
				       where);
			return NULL;
		}
		out = json_object();
		if (out == NULL) {
			oom(err);
			return NULL;
		}
		json_object_foreach ((json_t *)v, key, sv) {
			const scim_attr *s = scim_attr_sub(a, key);
			json_t *cv;

			if (s == NULL || s->mutability == SCIM_MUT_READONLY ||
			    json_is_null(sv))
				continue;
			if (s->multi_valued)
				cv = coerce_multi(s, sv, s->name, err);
			else
				cv = coerce_one(s, sv, s->name, err);
			if (cv == NULL ||
			    obj_set_canon(out, s->name, cv) != 0) {
				if (cv != NULL)
					oom(err);
				json_decref(out);
				return NULL;
			}
		}
		return out;
	}

	switch (a->type) {
	case SCIM_T_BOOLEAN:
		if (json_is_boolean(v))
			return json_deep_copy(v);
		if (json_is_string(v) &&
		    strcasecmp(json_string_value(v), "true") == 0)
			return json_true();
		if (json_is_string(v) &&
		    strcasecmp(json_string_value(v), "false") == 0)
			return json_false();
		break;
	case SCIM_T_INTEGER:
		if (json_is_integer(v))
			return json_deep_copy(v);
		break;
	case SCIM_T_DECIMAL:
		if (json_is_number(v))
			return json_deep_copy(v);
		break;
	default:
		if (json_is_string(v))
			return json_deep_copy(v);
		break;
	}
	scim_error_set(err, 400, SCIM_ERR_INVALID_VALUE,
		       "'%s' must be of type %s", where,
		       scim_type_name(a->type));
	return NULL;
}

/* New array: v (an array, or one value) as the values of multi-valued a. */
static json_t *coerce_multi(const scim_attr *a, const json_t *v,
			    const char *where, scim_error *err)
{
	json_t *out, *cv;
	size_t i;

	out = json_array();
	if (out == NULL) {
		oom(err);
		return NULL;
	}
	if (!json_is_array(v)) {
		cv = coerce_one(a, v, where, err);
		if (cv == NULL || json_array_append_new(out, cv) != 0) {
			if (cv != NULL)
				oom(err);
			json_decref(out);
			return NULL;
		}
		return out;
	}
	if (json_array_size(v) > PATCH_MAX_VALUES) {
		json_decref(out);
		scim_error_set(err, 400, SCIM_ERR_INVALID_VALUE,
			       "'%s': more than %d values", where,
			       PATCH_MAX_VALUES);
		return NULL;
	}
	for (i = 0; i < json_array_size(v); i++) {
		const json_t *e = json_array_get(v, i);

		if (json_is_null(e))
			continue;
		cv = coerce_one(a, e, where, err);
		if (cv == NULL || json_array_append_new(out, cv) != 0) {
			if (cv != NULL)
				oom(err);
			json_decref(out);
			return NULL;
		}
	}
	return out;
}

/* New reference: v as the value of a (array for multi-valued); for a
 * single-valued attribute an array of one element is unwrapped. *is_null
 * is set (and NULL returned without error) when v unassigns a. */
static json_t *coerce_attr(const scim_attr *a, const json_t *v,
			   const char *where, bool *is_null, scim_error *err)
{
	*is_null = false;
	if (json_is_null(v) || (json_is_array(v) && json_array_size(v) == 0)) {
		*is_null = true;
		return NULL;
	}
	if (a->multi_valued)
		return coerce_multi(a, v, where, err);
	if (json_is_array(v)) {
		if (json_array_size(v) != 1) {
			scim_error_set(err, 400, SCIM_ERR_INVALID_VALUE,
				       "'%s' is single-valued", where);
			return NULL;
		}
		v = json_array_get(v, 0);
		if (json_is_null(v)) {
			*is_null = true;
			return NULL;
		}
	}
	return coerce_one(a, v, where, err);
}

/* ---- Complex values --------------------------------------------------- */

/* Set dst.sub = v (stolen; NULL unassigns). check: dst existed before the
 * operation, so an immutable sub-attribute may not change. */
static int set_sub(json_t *dst, const scim_attr *parent, const scim_attr *sub,
		   json_t *v, bool check, scim_error *err)
{
	json_t *cur = scim_json_get_ci(dst, sub->name);

	if (check && sub->mutability == SCIM_MUT_IMMUTABLE && cur != NULL &&
	    (v == NULL || !json_equal(cur, v))) {
		json_decref(v);
		return scim_error_set(err, 400, SCIM_ERR_MUTABILITY,
				      "'%s.%s' is immutable", parent->name,
				      sub->name);
	}
	if (v == NULL) {
		obj_del_ci(dst, sub->name);
		return 0;
	}
	if (obj_set_canon(dst, sub->name, v) != 0)
		return oom(err);
	return 0;
}

/* Merge the (coerced) sub-attributes of src into dst. */
static int merge_complex(const scim_attr *a, json_t *dst, const json_t *src,
			 bool check, scim_error *err)
{
	const char *key;
	json_t *v;

	json_object_foreach ((json_t *)src, key, v) {
		const scim_attr *s = scim_attr_sub(a, key);

		if (s == NULL)
			continue;
		if (set_sub(dst, a, s, json_incref(v), check, err) != 0)
			return -1;
	}
	return 0;
}

static bool is_primary(const json_t *e)
{
	return json_is_true(scim_json_get_ci(e, "primary"));
}

/* RFC 7644 §3.5.2: setting primary=true on one value clears it on the
 * others. winner: the value that keeps it (NULL: nothing to do). */
static void primary_only(json_t *arr, const json_t *winner)
{
	size_t i;

	if (winner == NULL)
		return;
	for (i = 0; i < json_array_size(arr); i++) {
		json_t *e = json_array_get(arr, i);

		if (e != winner && is_primary(e))
			obj_set_canon(e, "primary", json_false());
	}
}

/* Append the values of add to arr, skipping exact duplicates (of arr's
 * values or of each other). *winner: the last appended primary value. */
static int append_unique(json_t *arr, const json_t *add, json_t **winner,
			 scim_error *err)
{
	size_t n_old = json_array_size(arr), n = n_old + json_array_size(add);
	json_t *seen = json_object();
	size_t i;
	int rc = 0;

	if (seen == NULL)
		return oom(err);
	for (i = 0; i < n && rc == 0; i++) {
		bool old = i < n_old;
		json_t *e = old ? json_array_get(arr, i)
				: json_array_get(add, i - n_old);
		char *k = dump_key(e);

		if (k == NULL) {
			rc = oom(err);
			break;
		}
		if (json_object_get(seen, k) == NULL) {
			if (json_object_set_new(seen, k, json_true()) != 0 ||
			    (!old && json_array_append(arr, e) != 0))
				rc = oom(err);
			else if (!old && is_primary(e))
				*winner = e;
		}
		free(k);
	}
	json_decref(seen);
	return rc;
}

/* ---- Group members: a delta instead of the JSON array ----------------- */

void scim_member_delta_init(scim_member_delta *d)
{
	d->remove_all = false;
	d->add = json_array();
	d->remove = json_array();
}

void scim_member_delta_clear(scim_member_delta *d)
{
	json_decref(d->add);
	json_decref(d->remove);
	d->add = NULL;
	d->remove = NULL;
	d->remove_all = false;
}

static int delta_ready(scim_member_delta *d, scim_error *err)
{
	if (d->add == NULL)
		d->add = json_array();
	if (d->remove == NULL)
		d->remove = json_array();
	if (d->add == NULL || d->remove == NULL)
		return oom(err);
	return 0;
}

/* New array of member objects {"value": id[, "type": t]} from v: an array
 * of objects or one object, each with a string "value". */
static json_t *member_list(const json_t *v, scim_error *err)
{
	json_t *out = json_array();
	size_t i, n;

	if (out == NULL) {
		oom(err);
		return NULL;
	}
	if (json_is_null(v))
		return out;
	n = json_is_array(v) ? json_array_size(v) : 1;
	if (n > PATCH_MAX_VALUES) {
		json_decref(out);
		scim_error_set(err, 400, SCIM_ERR_INVALID_VALUE,
			       "more than %d members in one operation",
			       PATCH_MAX_VALUES);
		return NULL;
	}
	for (i = 0; i < n; i++) {
		const json_t *e = json_is_array(v) ? json_array_get(v, i) : v;
		const json_t *id = scim_json_get_ci(e, "value");
		const json_t *type = scim_json_get_ci(e, "type");
		json_t *m;

		if (!json_is_string(id) || json_string_length(id) == 0) {
			json_decref(out);
			scim_error_set(err, 400, SCIM_ERR_INVALID_VALUE,
				       "each member must be an object with a "
				       "string \"value\" (the member id)");
			return NULL;
		}
		m = json_pack("{sO}", "value", id);
		if (m != NULL && json_is_string(type))
			json_object_set(m, "type", (json_t *)type);
		if (m == NULL || json_array_append_new(out, m) != 0) {
			json_decref(out);
			oom(err);
			return NULL;
		}
	}
	return out;
}

static const char *member_id(const json_t *m)
{
	return json_string_value(
		json_is_string(m) ? m : json_object_get(m, "value"));
}

/* New object used as a set: the ids of the members or id strings in arr. */
static json_t *id_set(const json_t *arr)
{
	json_t *set = json_object();
	size_t i;

	for (i = 0; set != NULL && i < json_array_size(arr); i++) {
		const char *id = member_id(json_array_get(arr, i));

		if (id != NULL && json_object_set_new(set, id, json_true())) {
			json_decref(set);
			set = NULL;
		}
	}
	return set;
}

/* New array: the elements of arr whose id is not in set. */
static json_t *without_ids(const json_t *arr, const json_t *set)
{
	json_t *out = json_array();
	size_t i;

	for (i = 0; out != NULL && i < json_array_size(arr); i++) {
		json_t *e = json_array_get(arr, i);
		const char *id = member_id(e);

		if (id != NULL && json_object_get(set, id) != NULL)
			continue;
		if (json_array_append(out, e) != 0) {
			json_decref(out);
			out = NULL;
		}
	}
	return out;
}

/* Net effect of adding the members in list: no longer removed, added once. */
static int delta_add(scim_member_delta *d, const json_t *list, scim_error *err)
{
	json_t *ids = id_set(list), *have = id_set(d->add), *rm = NULL;
	size_t i;
	int rc = 0;

	if (ids == NULL || have == NULL ||
	    (rm = without_ids(d->remove, ids)) == NULL) {
		rc = oom(err);
		goto out;
	}
	json_decref(d->remove);
	d->remove = rm;
	for (i = 0; i < json_array_size(list); i++) {
		json_t *m = json_array_get(list, i);
		const char *id = member_id(m);

		if (json_object_get(have, id) != NULL)
			continue;
		if (json_object_set_new(have, id, json_true()) != 0 ||
		    json_array_append(d->add, m) != 0) {
			rc = oom(err);
			goto out;
		}
	}
out:
	json_decref(ids);
	json_decref(have);
	return rc;
}

/* Net effect of removing the ids (or members) in list. */
static int delta_remove(scim_member_delta *d, const json_t *list,
			scim_error *err)
{
	json_t *ids = id_set(list), *have = id_set(d->remove), *add = NULL;
	size_t i;
	int rc = 0;

	if (ids == NULL || have == NULL ||
	    (add = without_ids(d->add, ids)) == NULL) {
		rc = oom(err);
		goto out;
	}
	json_decref(d->add);
	d->add = add;
	/* After remove_all every current member goes anyway. */
	for (i = 0; !d->remove_all && i < json_array_size(list); i++) {
		const char *id = member_id(json_array_get(list, i));
		json_t *s;

		if (json_object_get(have, id) != NULL)
			continue;
		s = json_string(id);
		if (s == NULL || json_object_set_new(have, id, json_true()) ||
		    json_array_append_new(d->remove, s) != 0) {
			rc = oom(err);
			goto out;
		}
	}
out:
	json_decref(ids);
	json_decref(have);
	return rc;
}

static void delta_remove_all(scim_member_delta *d)
{
	d->remove_all = true;
	json_array_clear(d->add);
	json_array_clear(d->remove);
}

/* Collects the ids of `value eq "id"` terms of a members filter. */
typedef struct member_filter {
	json_t *ids;
	bool bad;
} member_filter;

static void member_filter_cb(const scim_filter_cmp *cmp, void *payload)
{
	member_filter *mf = payload;

	if (!cmp->in_value_filter || cmp->sub == NULL ||
	    strcasecmp(cmp->sub, "value") != 0 || cmp->op != SCIM_OP_EQ ||
	    cmp->negated || !json_is_string(cmp->value)) {
		mf->bad = true;
		return;
	}
	if (json_array_append_new(mf->ids, json_deep_copy(cmp->value)) != 0)
		mf->bad = true;
}

static int member_op(patch_ctx *c, patch_kind kind, const scim_path *p,
		     const json_t *value)
{
	scim_member_delta *d = c->members;
	member_filter mf = {NULL, false};
	json_t *list, *ids;
	size_t i;
	int rc;

	if (delta_ready(d, c->err) != 0)
		return -1;
	if (p->sub_name != NULL)
		return scim_error_set(c->err, 400, SCIM_ERR_INVALID_PATH,
				      "sub-attributes of members cannot be "
				      "patched; add or remove whole members");
	if (p->filter != NULL) {
		if (kind != PATCH_REMOVE)
			return scim_error_set(c->err, 400,
					      SCIM_ERR_INVALID_PATH,
					      "a members value filter is only "
					      "supported for remove; use path "
					      "\"members\" to add");
		mf.ids = json_array();
		if (mf.ids == NULL)
			return oom(c->err);
		scim_filter_visit(p->filter, member_filter_cb, &mf);
		if (mf.bad || json_array_size(mf.ids) == 0) {
			json_decref(mf.ids);
			return scim_error_set(c->err, 400,
					      SCIM_ERR_INVALID_FILTER,
					      "members filter must be value eq "
					      "\"id\" terms joined by or");
		}
		/* Keep only ids the filter really selects (an `and` of two
		 * different ids selects nothing). */
		ids = json_array();
		for (i = 0; ids != NULL && i < json_array_size(mf.ids); i++) {
			json_t *id = json_array_get(mf.ids, i);
			json_t *m = json_pack("{sO}", "value", id);

			if (m != NULL && scim_filter_match(p->filter, m))
				json_array_append(ids, id);
			json_decref(m);
		}
		json_decref(mf.ids);
		if (ids == NULL)
			return oom(c->err);
		rc = delta_remove(d, ids, c->err);
		json_decref(ids);
		return rc;
	}
	if (kind == PATCH_REMOVE && (value == NULL || json_is_null(value))) {
		delta_remove_all(d);
		return 0;
	}
	list = member_list(value, c->err);
	if (list == NULL)
		return -1;
	switch (kind) {
	case PATCH_REPLACE:
		delta_remove_all(d);
		/* fall through */
	case PATCH_ADD:
		rc = delta_add(d, list, c->err);
		break;
	default:
		rc = delta_remove(d, list, c->err);
		break;
	}
	json_decref(list);
	return rc;
}

/* ---- Operations on a parsed path ------------------------------------- */

/* Filter eq terms as a new element, for add/replace that matches nothing. */
typedef struct new_elem {
	const scim_attr *parent;
	json_t *elem;
} new_elem;

static void new_elem_cb(const scim_filter_cmp *cmp, void *payload)
{
	new_elem *ne = payload;
	const scim_attr *s;

	if (!cmp->in_value_filter || cmp->op != SCIM_OP_EQ || cmp->negated ||
	    cmp->sub == NULL || cmp->value == NULL)
		return;
	s = scim_attr_sub(ne->parent, cmp->sub);
	if (s != NULL)
		json_object_set_new(ne->elem, s->name,
				    json_deep_copy(cmp->value));
}

/* Remove from arr the elements that are empty objects. */
static void drop_empty(json_t *arr)
{
	size_t i = json_array_size(arr);

	while (i-- > 0) {
		json_t *e = json_array_get(arr, i);

		if (json_is_object(e) && json_object_size(e) == 0)
			json_array_remove(arr, i);
	}
}

/* Does element e hold every sub-attribute of pattern with an equal value
 * (Entra: remove members/emails with a value array)? */
static bool elem_matches(const json_t *e, const json_t *pattern)
{
	const char *key;
	json_t *v;

	if (!json_is_object(pattern) || !json_is_object(e))
		return json_equal((json_t *)e, (json_t *)pattern);
	if (json_object_size(pattern) == 0)
		return false;
	json_object_foreach ((json_t *)pattern, key, v) {
		if (!json_equal(scim_json_get_ci(e, key), v))
			return false;
	}
	return true;
}

static int op_remove(patch_ctx *c, const scim_path *p, json_t *cont,
		     const json_t *value)
{
	const scim_attr *a = p->attr;
	json_t *cur = scim_json_get_ci(cont, a->name);
	size_t i;

	if (cur == NULL && p->filter != NULL)
		return scim_error_set(c->err, 400, SCIM_ERR_NO_TARGET,
				      "no value of '%s' matches the filter",
				      a->name);
	if (cur == NULL)
		return 0; /* already absent: idempotent */
	if (p->filter == NULL && p->sub == NULL) {
		json_t *pats;
		bool is_null;

		if (!a->multi_valued || value == NULL || json_is_null(value) ||
		    !json_is_array(cur)) {
			obj_del_ci(cont, a->name);
			return 0;
		}
		pats = coerce_attr(a, value, a->name, &is_null, c->err);
		if (pats == NULL)
			return is_null ? 0 : -1;
		i = json_array_size(cur);
		while (i-- > 0) {
			size_t j;

			for (j = 0; j < json_array_size(pats); j++) {
				if (elem_matches(json_array_get(cur, i),
						 json_array_get(pats, j))) {
					json_array_remove(cur, i);
					break;
				}
			}
		}
		json_decref(pats);
	} else if (!a->multi_valued) {
		/* name.givenName */
		obj_del_ci(cur, p->sub->name);
		if (json_is_object(cur) && json_object_size(cur) == 0)
			obj_del_ci(cont, a->name);
		return 0;
	} else {
		size_t matched = 0;

		if (!json_is_array(cur))
			return 0;
		i = json_array_size(cur);
		while (i-- > 0) {
			json_t *e = json_array_get(cur, i);

			if (p->filter != NULL &&
			    !scim_filter_match(p->filter, e))
				continue;
			matched++;
			if (p->sub != NULL)
				obj_del_ci(e, p->sub->name);
			else
				json_array_remove(cur, i);
		}
		if (matched == 0 && p->filter != NULL)
			return scim_error_set(c->err, 400, SCIM_ERR_NO_TARGET,
					      "no value of '%s' matches the "
					      "filter",
					      a->name);
		drop_empty(cur);
	}
	if (json_array_size(cur) == 0)
		obj_del_ci(cont, a->name);
	return 0;
}

/* add/replace on name, userName, emails (no filter, no sub-attribute). */
static int op_set_attr(patch_ctx *c, patch_kind kind, const scim_path *p,
		       json_t *cont, const json_t *value)
{
	const scim_attr *a = p->attr;
	json_t *cur = scim_json_get_ci(cont, a->name), *v, *winner = NULL;
	bool is_null;
	int rc = 0;

	v = coerce_attr(a, value, a->name, &is_null, c->err);
	if (v == NULL) {
		if (!is_null)
			return -1;
		if (kind == PATCH_REPLACE)
			obj_del_ci(cont, a->name);
		return 0;
	}
	if (a->multi_valued && kind == PATCH_ADD) {
		if (!json_is_array(cur)) {
			cur = json_array();
			if (obj_set_canon(cont, a->name, cur) != 0) {
				json_decref(v);
				return oom(c->err);
			}
		}
		rc = append_unique(cur, v, &winner, c->err);
		if (rc == 0)
			primary_only(cur, winner);
	} else if (!a->multi_valued && a->type == SCIM_T_COMPLEX &&
		   json_is_object(cur)) {
		rc = merge_complex(a, cur, v, true, c->err);
	} else {
		/* A whole new value: two primaries in it are the client's
		 * error, reported by normalize. */
		rc = obj_set_canon(cont, a->name, json_incref(v));
		if (rc != 0)
			oom(c->err);
	}
	json_decref(v);
	return rc;
}

/* add/replace with a sub-attribute or a value filter. */
static int op_set_in(patch_ctx *c, const scim_path *p, json_t *cont,
		     const json_t *value)
{
	const scim_attr *a = p->attr;
	const char *where = p->sub != NULL ? p->sub->name : a->name;
	json_t *cur = scim_json_get_ci(cont, a->name), *v = NULL,
	       *winner = NULL;
	bool is_null = false, hit = false;
	size_t i;
	int rc = 0;

	if (p->sub != NULL) {
		v = coerce_attr(p->sub, value, where, &is_null, c->err);
	} else if (json_is_null(value)) {
		is_null = true;
	} else {
		v = coerce_one(a, value, where, c->err);
		if (v != NULL && !json_is_object(v)) {
			json_decref(v);
			return scim_error_set(c->err, 400,
					      SCIM_ERR_INVALID_VALUE,
					      "'%s' needs an object", where);
		}
	}
	if (v == NULL && !is_null)
		return -1;

	if (!a->multi_valued) {
		/* name.givenName: create the parent object if needed */
		if (!json_is_object(cur)) {
			if (is_null)
				return 0;
			cur = json_object();
			if (obj_set_canon(cont, a->name, cur) != 0) {
				json_decref(v);
				return oom(c->err);
			}
		}
		return set_sub(cur, a, p->sub, v, true, c->err);
	}

	if (!json_is_array(cur)) {
		cur = json_array();
		if (obj_set_canon(cont, a->name, cur) != 0) {
			json_decref(v);
			return oom(c->err);
		}
	}
	for (i = 0; i < json_array_size(cur) && rc == 0; i++) {
		json_t *e = json_array_get(cur, i);

		if (!json_is_object(e) ||
		    (p->filter != NULL && !scim_filter_match(p->filter, e)))
			continue;
		hit = true;
		if (p->sub != NULL)
			rc = set_sub(e, a, p->sub, json_incref(v), true,
				     c->err);
		else if (v != NULL)
			rc = merge_complex(a, e, v, true, c->err);
		else
			json_object_clear(e); /* null: unassign the values */
		if (rc == 0 && is_primary(e))
			winner = e;
	}
	if (rc == 0 && !hit && !is_null) {
		/* Nothing matched: a new value from the filter's eq terms. */
		new_elem ne = {a, json_object()};

		if (ne.elem == NULL) {
			rc = oom(c->err);
		} else {
			if (p->filter != NULL) {
				scim_filter_visit(p->filter, new_elem_cb, &ne);
				if (!scim_filter_match(p->filter, ne.elem))
					rc = scim_error_set(
						c->err, 400, SCIM_ERR_NO_TARGET,
						"no value of '%s' matches the "
						"filter",
						a->name);
			}
			if (rc == 0 && p->sub != NULL)
				rc = set_sub(ne.elem, a, p->sub, json_incref(v),
					     false, c->err);
			else if (rc == 0)
				rc = merge_complex(a, ne.elem, v, false,
						   c->err);
			if (rc == 0 && json_array_append(cur, ne.elem) != 0)
				rc = oom(c->err);
			if (rc == 0 && is_primary(ne.elem))
				winner = ne.elem;
			json_decref(ne.elem);
		}
	}
	json_decref(v);
	if (rc != 0)
		return rc;
	primary_only(cur, winner);
	drop_empty(cur);
	if (json_array_size(cur) == 0)
		obj_del_ci(cont, a->name);
	return 0;
}

static bool is_group_members(const patch_ctx *c, const scim_path *p)
{
	return c->members != NULL && c->rt->id == SCIM_RT_GROUP &&
	       p->schema == c->rt->core &&
	       strcasecmp(p->attr->name, "members") == 0;
}

/* Apply one operation to a parsed path. strict: the path was given
 * explicitly (errors for readOnly/unknown) rather than as a key of a
 * path-less value (such keys are skipped). */
static int apply_path(patch_ctx *c, patch_kind kind, const scim_path *p,
		      const json_t *value, bool strict)
{
	const scim_attr *a = p->attr;
	json_t *cont, *old = NULL, *now;
	const char *ext;
	int rc;

	if (a == NULL || (p->sub_name != NULL && p->sub == NULL)) {
		if (!strict)
			return 0;
		return scim_error_set(c->err, 400, SCIM_ERR_INVALID_PATH,
				      "unknown attribute '%s%s%s'",
				      p->attr_name ? p->attr_name : "",
				      p->sub_name ? "." : "",
				      p->sub_name ? p->sub_name : "");
	}
	if (is_group_members(c, p))
		return member_op(c, kind, p, value);
	if (a->mutability == SCIM_MUT_READONLY ||
	    (p->sub != NULL && p->sub->mutability == SCIM_MUT_READONLY)) {
		if (!strict)
			return 0;
		return scim_error_set(c->err, 400, SCIM_ERR_MUTABILITY,
				      "'%s%s%s' is readOnly", a->name,
				      p->sub ? "." : "",
				      p->sub ? p->sub->name : "");
	}
	if (p->filter != NULL &&
	    (!a->multi_valued || a->type != SCIM_T_COMPLEX))
		return scim_error_set(c->err, 400, SCIM_ERR_INVALID_PATH,
				      "a value filter needs a multi-valued "
				      "complex attribute, '%s' is not",
				      a->name);
	if (p->sub != NULL && a->type != SCIM_T_COMPLEX)
		return scim_error_set(c->err, 400, SCIM_ERR_INVALID_PATH,
				      "'%s' has no sub-attributes", a->name);

	cont = scim_path_container(p, c->res, kind != PATCH_REMOVE);
	if (cont == NULL)
		return kind == PATCH_REMOVE ? 0 : oom(c->err);
	if (a->mutability == SCIM_MUT_IMMUTABLE) {
		now = scim_json_get_ci(cont, a->name);
		if (now != NULL && (old = json_deep_copy(now)) == NULL)
			return oom(c->err);
	}

	if (kind == PATCH_REMOVE)
		rc = op_remove(c, p, cont, value);
	else if (p->filter == NULL && p->sub == NULL)
		rc = op_set_attr(c, kind, p, cont, value);
	else
		rc = op_set_in(c, p, cont, value);

	if (rc == 0 && old != NULL &&
	    !json_equal(old, scim_json_get_ci(cont, a->name)))
		rc = scim_error_set(c->err, 400, SCIM_ERR_MUTABILITY,
				    "'%s' is immutable", a->name);
	json_decref(old);
	/* An extension object left empty goes away. */
	ext = scim_path_container_key(p);
	if (rc == 0 && ext != NULL && json_object_size(cont) == 0)
		obj_del_ci(c->res, ext);
	return rc;
}

/* Parse text (a path, or a key of a path-less value) and apply. */
static int apply_text(patch_ctx *c, patch_kind kind, const char *text,
		      const json_t *value, bool strict)
{
	const scim_schema *s;
	const char *rest;
	scim_path *p = NULL;
	int rc;

	if (strcasecmp(text, "schemas") == 0)
		return 0; /* rewritten by normalize */
	s = scim_schema_match_urn(c->rt, text, &rest);
	if (s != NULL && *rest == '\0') {
		/* A bare schema URN: its value holds that schema's
		 * attributes ({"urn:...:enterprise:2.0:User": {...}}). */
		if (kind == PATCH_REMOVE || json_is_null(value)) {
			if (s == c->rt->core)
				return scim_error_set(c->err, 400,
						      SCIM_ERR_INVALID_PATH,
						      "cannot remove the core "
						      "schema");
			if (kind == PATCH_ADD && json_is_null(value))
				return 0;
			obj_del_ci(c->res, s->id);
			return 0;
		}
		if (!json_is_object(value))
			return scim_error_set(c->err, 400,
					      SCIM_ERR_INVALID_VALUE,
					      "the value of '%s' must be an "
					      "object",
					      s->id);
		return apply_value_object(c, kind, s->id, value);
	}
	if (s == NULL && strncasecmp(text, "urn:", 4) == 0 && !strict)
		return 0; /* a schema we do not serve: ignored like normalize */
	if (scim_path_parse(&p, c->rt, text, c->err) != 0)
		return -1;
	rc = apply_path(c, kind, p, value, strict);
	scim_path_free(p);
	return rc;
}

/* Path-less add/replace: each key of value is an attribute name or path
 * (prefix: the schema URN they are relative to, or NULL). */
static int apply_value_object(patch_ctx *c, patch_kind kind, const char *prefix,
			      const json_t *value)
{
	const char *key;
	json_t *v;
	char buf[512];
	int n;

	json_object_foreach ((json_t *)value, key, v) {
		const char *text = key;

		if (strcasecmp(key, "schemas") == 0)
			continue; /* rewritten by normalize */
		if (prefix != NULL) {
			n = snprintf(buf, sizeof(buf), "%s:%s", prefix, key);
			if (n < 0 || (size_t)n >= sizeof(buf))
				return scim_error_set(
					c->err, 400, SCIM_ERR_INVALID_PATH,
					"attribute name too long");
			text = buf;
		}
		if (apply_text(c, kind, text, v, false) != 0)
			return -1;
	}
	return 0;
}

/* ---- The request ------------------------------------------------------ */

static int apply_op(patch_ctx *c, const json_t *op)
{
	const json_t *jop, *jpath, *value;
	const char *name, *path = NULL;
	patch_kind kind;

	if (!json_is_object(op))
		return scim_error_set(c->err, 400, SCIM_ERR_INVALID_SYNTAX,
				      "an operation must be an object");
	jop = scim_json_get_ci(op, "op");
	name = json_string_value(jop);
	if (name == NULL)
		return scim_error_set(c->err, 400, SCIM_ERR_INVALID_SYNTAX,
				      "missing \"op\"");
	if (strcasecmp(name, "add") == 0)
		kind = PATCH_ADD;
	else if (strcasecmp(name, "replace") == 0)
		kind = PATCH_REPLACE;
	else if (strcasecmp(name, "remove") == 0)
		kind = PATCH_REMOVE;
	else
		return scim_error_set(c->err, 400, SCIM_ERR_INVALID_SYNTAX,
				      "unknown op \"%.40s\" (add, replace or "
				      "remove)",
				      name);

	jpath = scim_json_get_ci(op, "path");
	if (jpath != NULL && !json_is_null(jpath)) {
		if (!json_is_string(jpath))
			return scim_error_set(c->err, 400,
					      SCIM_ERR_INVALID_PATH,
					      "\"path\" must be a string");
		if (json_string_length(jpath) > 0)
			path = json_string_value(jpath);
	}
	value = scim_json_get_ci(op, "value");

	if (kind != PATCH_REMOVE && value == NULL)
		return scim_error_set(c->err, 400, SCIM_ERR_INVALID_VALUE,
				      "%s needs a \"value\"", name);
	if (path == NULL) {
		if (kind == PATCH_REMOVE)
			return scim_error_set(c->err, 400, SCIM_ERR_NO_TARGET,
					      "remove needs a \"path\"");
		if (!json_is_object(value))
			return scim_error_set(c->err, 400,
					      SCIM_ERR_INVALID_VALUE,
					      "%s without a path needs an "
					      "object value",
					      name);
		return apply_value_object(c, kind, NULL, value);
	}
	return apply_text(c, kind, path, value, true);
}

static bool has_patch_schema(const json_t *body)
{
	const json_t *schemas = scim_json_get_ci(body, "schemas");
	size_t i;

	for (i = 0; i < json_array_size(schemas); i++) {
		const char *s = json_string_value(json_array_get(schemas, i));

		if (s != NULL && strcasecmp(s, SCIM_URN_PATCH) == 0)
			return true;
	}
	return false;
}

int scim_patch_apply(const scim_restype *rt, json_t *res, const json_t *body,
		     scim_member_delta *members, scim_error *err)
{
	patch_ctx c = {rt, res, members, err};
	const json_t *ops;
	size_t i;

	if (rt == NULL || !json_is_object(res))
		return scim_error_set(err, 500, NULL, "no resource to patch");
	if (!json_is_object(body))
		return scim_error_set(err, 400, SCIM_ERR_INVALID_SYNTAX,
				      "a PatchOp body must be an object");
	if (!has_patch_schema(body))
		return scim_error_set(err, 400, SCIM_ERR_INVALID_SYNTAX,
				      "\"schemas\" must contain "
				      "\"" SCIM_URN_PATCH "\"");
	ops = scim_json_get_ci(body, "Operations");
	if (!json_is_array(ops) || json_array_size(ops) == 0)
		return scim_error_set(err, 400, SCIM_ERR_INVALID_SYNTAX,
				      "\"Operations\" must be a non-empty "
				      "array");
	if (json_array_size(ops) > PATCH_MAX_OPS)
		return scim_error_set(err, 400, SCIM_ERR_INVALID_SYNTAX,
				      "at most %d operations per request",
				      PATCH_MAX_OPS);
	for (i = 0; i < json_array_size(ops); i++) {
		if (apply_op(&c, json_array_get(ops, i)) != 0) {
			if (err != NULL && err->status == 400) {
				char d[sizeof(err->detail)];
				int n = snprintf(d, sizeof(d),
						 "Operations[%zu]: %.200s", i,
						 err->detail);

				if (n > 0)
					memcpy(err->detail, d, sizeof(d));
			}
			return -1;
		}
	}
	return scim_resource_normalize(rt, res, SCIM_NORM_PATCHED, NULL, err);
}
