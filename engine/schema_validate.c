/* schema_validate.c - normalise client input against the schema tables,
 * and project resources for output (RFC 7643 §2, RFC 7644 §3.4.2.5).
 *
 * Normalising builds a new object from the input and only replaces the
 * caller's contents once everything has been checked, so on error the
 * resource is left as it was given. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema.h"
#include "strutil.h"

#define PATH_MAX_LEN 256

/* ---- Normalisation -------------------------------------------------- */

typedef struct norm_ctx {
	scim_norm_mode mode;
	scim_error *err;
} norm_ctx;

static int oom(scim_error *err)
{
	return scim_error_set(err, 500, NULL, "out of memory");
}

static const scim_attr *sub_value_attr(const scim_attr *a)
{
	return scim_attr_sub(a, "value");
}

/* Normalise a simple (non-complex) value v of attribute a. Stores a new
 * reference in *out. */
static int norm_simple(const norm_ctx *c, const scim_attr *a, json_t *v,
		       const char *path, json_t **out)
{
	int64_t ms;

	switch (a->type) {
	case SCIM_T_STRING:
	case SCIM_T_REFERENCE:
	case SCIM_T_BINARY:
		if (!json_is_string(v))
			return scim_error_set(
				c->err, 400, SCIM_ERR_INVALID_VALUE,
				"attribute '%s' must be a string", path);
		break;
	case SCIM_T_BOOLEAN:
		if (json_is_string(v)) {
			if (scim_strcasecmp(json_string_value(v), "true") ==
			    0) {
				*out = json_true();
				return 0;
			}
			if (scim_strcasecmp(json_string_value(v), "false") ==
			    0) {
				*out = json_false();
				return 0;
			}
		}
		if (!json_is_boolean(v))
			return scim_error_set(
				c->err, 400, SCIM_ERR_INVALID_VALUE,
				"attribute '%s' must be a boolean", path);
		break;
	case SCIM_T_INTEGER:
		if (!json_is_integer(v))
			return scim_error_set(
				c->err, 400, SCIM_ERR_INVALID_VALUE,
				"attribute '%s' must be an integer", path);
		break;
	case SCIM_T_DECIMAL:
		if (!json_is_number(v))
			return scim_error_set(
				c->err, 400, SCIM_ERR_INVALID_VALUE,
				"attribute '%s' must be a number", path);
		break;
	case SCIM_T_DATETIME:
		if (!json_is_string(v) ||
		    scim_time_parse(json_string_value(v), &ms) != 0)
			return scim_error_set(
				c->err, 400, SCIM_ERR_INVALID_VALUE,
				"attribute '%s' must be a dateTime "
				"(e.g. 2026-01-02T03:04:05Z)",
				path);
		break;
	case SCIM_T_COMPLEX:
		break;
	}
	*out = json_incref(v);
	return 0;
}

static int norm_single(const norm_ctx *c, const scim_attr *a, json_t *v,
		       const char *path, bool in_array, json_t **out);

/* Normalise the members of object v as sub-attributes of complex a. */
static int norm_complex(const norm_ctx *c, const scim_attr *a, json_t *v,
			const char *path, bool in_array, json_t **out)
{
	const scim_attr *sub, *va;
	const char *key;
	json_t *o, *val, *nv;
	char sub_path[PATH_MAX_LEN];

	va = sub_value_attr(a);
	if (json_is_string(v) && va != NULL) {
		/* Entra's "manager": "id" for {"value": "id"}. */
		if (json_string_length(v) == 0) {
			*out = NULL;
			return 0;
		}
		*out = json_pack("{s:O}", va->name, v);
		return *out == NULL ? oom(c->err) : 0;
	}
	if (!json_is_object(v))
		return scim_error_set(c->err, 400, SCIM_ERR_INVALID_VALUE,
				      "attribute '%s' must be a complex value",
				      path);
	o = json_object();
	if (o == NULL)
		return oom(c->err);
	json_object_foreach (v, key, val) {
		sub = scim_attr_sub(a, key);
		if (sub == NULL || json_is_null(val))
			continue; /* unknown or absent */
		snprintf(sub_path, sizeof(sub_path), "%s.%s", path, sub->name);
		if (norm_single(c, sub, val, sub_path, false, &nv) != 0) {
			json_decref(o);
			return -1;
		}
		if (nv != NULL && json_object_set_new(o, sub->name, nv) != 0) {
			json_decref(o);
			return oom(c->err);
		}
	}
	/* {"value": ""} on a singular complex (manager) means no value. */
	if (!in_array && va != NULL) {
		val = json_object_get(o, va->name);
		if (json_is_string(val) && json_string_length(val) == 0) {
			json_decref(o);
			*out = NULL;
			return 0;
		}
	}
	if (json_object_size(o) == 0) {
		json_decref(o);
		*out = NULL;
		return 0;
	}
	*out = o;
	return 0;
}

/* Normalise a value v of attribute a (the whole value: an array for a
 * multi-valued attribute). *out is a new reference, or NULL if the value
 * counts as absent. */
static int norm_multi(const norm_ctx *c, const scim_attr *a, json_t *v,
		      const char *path, json_t **out)
{
	json_t *arr, *elem, *nv, *prim;
	size_t i, n_primary = 0;
	char elem_path[PATH_MAX_LEN];
	bool single = !json_is_array(v);

	arr = json_array();
	if (arr == NULL)
		return oom(c->err);
	for (i = 0; i < (single ? 1 : json_array_size(v)); i++) {
		elem = single ? v : json_array_get(v, i);
		if (json_is_null(elem))
			continue;
		snprintf(elem_path, sizeof(elem_path), "%s[%zu]", path, i);
		if (json_is_array(elem)) {
			json_decref(arr);
			return scim_error_set(
				c->err, 400, SCIM_ERR_INVALID_VALUE,
				"attribute '%s' must not be an array",
				elem_path);
		}
		if (norm_single(c, a, elem, elem_path, true, &nv) != 0) {
			json_decref(arr);
			return -1;
		}
		if (nv == NULL)
			continue;
		prim = json_object_get(nv, "primary");
		if (json_is_true(prim) && ++n_primary > 1) {
			json_decref(nv);
			json_decref(arr);
			return scim_error_set(
				c->err, 400, SCIM_ERR_INVALID_VALUE,
				"attribute '%s.primary': at most one value of "
				"'%s' may be primary",
				elem_path, a->name);
		}
		if (json_array_append_new(arr, nv) != 0) {
			json_decref(arr);
			return oom(c->err);
		}
	}
	if (json_array_size(arr) == 0) {
		/* RFC 7643 §2.5: an empty array is the same as unassigned. */
		json_decref(arr);
		arr = NULL;
	}
	*out = arr;
	return 0;
}

/* Normalise v for attribute a. If in_array, v is one element of a
 * multi-valued attribute and is normalised as a singular value. */
static int norm_single(const norm_ctx *c, const scim_attr *a, json_t *v,
		       const char *path, bool in_array, json_t **out)
{
	*out = NULL;
	if (json_is_null(v))
		return 0;
	if (a->multi_valued && !in_array)
		return norm_multi(c, a, v, path, out);
	if (json_is_array(v))
		return scim_error_set(c->err, 400, SCIM_ERR_INVALID_VALUE,
				      "attribute '%s' is single-valued", path);
	if (a->type == SCIM_T_COMPLEX)
		return norm_complex(c, a, v, path, in_array, out);
	return norm_simple(c, a, v, path, out);
}

/* Normalise top-level attribute a of value v into dst (under a's
 * canonical name). prefix is "" or "urn:...:" for error paths. */
static int norm_top(const norm_ctx *c, const scim_attr *a, json_t *v,
		    const char *prefix, json_t *dst)
{
	char path[PATH_MAX_LEN];
	json_t *nv;

	if (a->mutability == SCIM_MUT_READONLY && c->mode != SCIM_NORM_PATCHED)
		return 0; /* id, meta, groups: the server's to set */
	snprintf(path, sizeof(path), "%s%s", prefix, a->name);
	if (norm_single(c, a, v, path, false, &nv) != 0)
		return -1;
	if (nv == NULL) {
		json_object_del(dst, a->name);
		return 0;
	}
	if (json_object_set_new(dst, a->name, nv) != 0)
		return oom(c->err);
	return 0;
}

static const scim_attr *ext_attr(const scim_schema *ext, const char *name)
{
	size_t i;

	for (i = 0; i < ext->n_attrs; i++) {
		if (scim_strcasecmp(ext->attrs[i].name, name) == 0)
			return &ext->attrs[i];
	}
	return NULL;
}

/* Normalise the extension object v (schema ext) into out[ext->id],
 * merging with what is there already. */
static int norm_extension(const norm_ctx *c, const scim_schema *ext, json_t *v,
			  json_t *out)
{
	json_t *eo, *val;
	const char *key;
	const scim_attr *a;
	char prefix[PATH_MAX_LEN];

	if (json_is_null(v))
		return 0;
	if (!json_is_object(v))
		return scim_error_set(c->err, 400, SCIM_ERR_INVALID_VALUE,
				      "attribute '%s' must be an object",
				      ext->id);
	eo = json_object_get(out, ext->id);
	if (eo == NULL) {
		eo = json_object();
		if (eo == NULL || json_object_set_new(out, ext->id, eo) != 0)
			return oom(c->err);
	}
	snprintf(prefix, sizeof(prefix), "%s:", ext->id);
	json_object_foreach (v, key, val) {
		a = ext_attr(ext, key);
		if (a == NULL)
			continue; /* unknown attribute: dropped */
		if (norm_top(c, a, val, prefix, eo) != 0)
			return -1;
	}
	return 0;
}

static bool values_equal(const scim_attr *a, const json_t *x, const json_t *y)
{
	if (json_is_string(x) && json_is_string(y) && !a->case_exact &&
	    (a->type == SCIM_T_STRING || a->type == SCIM_T_REFERENCE))
		return scim_strcasecmp(json_string_value(x),
				       json_string_value(y)) == 0;
	return json_equal(x, y);
}

/* Check the immutable attributes of schema s: those in old_obj (the
 * stored values) must not be changed by new_obj. Sub-attributes of
 * multi-valued attributes are not checked: their values have no identity,
 * so a PUT that replaces members adds and removes values rather than
 * changing one. */
static int check_immutable(const norm_ctx *c, const scim_schema *s,
			   const json_t *old_obj, const json_t *new_obj,
			   const char *prefix)
{
	const scim_attr *a, *sub;
	const json_t *ov, *nv;
	size_t i, k;

	if (!json_is_object(old_obj) || !json_is_object(new_obj))
		return 0;
	for (i = 0; i < s->n_attrs; i++) {
		a = &s->attrs[i];
		ov = json_object_get(old_obj, a->name);
		nv = json_object_get(new_obj, a->name);
		if (ov == NULL || json_is_null(ov) || nv == NULL)
			continue;
		if (a->mutability == SCIM_MUT_IMMUTABLE &&
		    !values_equal(a, ov, nv))
			return scim_error_set(c->err, 400, SCIM_ERR_MUTABILITY,
					      "attribute '%s%s' is immutable",
					      prefix, a->name);
		if (a->type != SCIM_T_COMPLEX || a->multi_valued ||
		    !json_is_object(ov) || !json_is_object(nv))
			continue;
		for (k = 0; k < a->n_sub_attrs; k++) {
			sub = &a->sub_attrs[k];
			if (sub->mutability != SCIM_MUT_IMMUTABLE)
				continue;
			if (json_object_get(ov, sub->name) != NULL &&
			    json_object_get(nv, sub->name) != NULL &&
			    !values_equal(sub, json_object_get(ov, sub->name),
					  json_object_get(nv, sub->name)))
				return scim_error_set(
					c->err, 400, SCIM_ERR_MUTABILITY,
					"attribute '%s%s.%s' is immutable",
					prefix, a->name, sub->name);
		}
	}
	return 0;
}

static int check_required(const norm_ctx *c, const scim_schema *s,
			  const json_t *obj, const char *prefix)
{
	const json_t *v;
	size_t i;

	for (i = 0; i < s->n_attrs; i++) {
		if (!s->attrs[i].required)
			continue;
		v = json_object_get(obj, s->attrs[i].name);
		if (v == NULL ||
		    (json_is_string(v) && json_string_length(v) == 0))
			return scim_error_set(c->err, 400,
					      SCIM_ERR_INVALID_VALUE,
					      "attribute '%s%s' is required",
					      prefix, s->attrs[i].name);
	}
	return 0;
}

/* Build the normalised form of res into out. */
static int normalize_into(const norm_ctx *c, const scim_restype *rt,
			  json_t *res, json_t *out)
{
	const char *key, *rest;
	const scim_schema *s;
	const scim_attr *a;
	json_t *v, *tmp;
	int rc;

	json_object_foreach (res, key, v) {
		if (scim_strcasecmp(key, "schemas") == 0 || json_is_null(v))
			continue; /* schemas is rebuilt at the end */
		s = scim_schema_match_urn(rt, key, &rest);
		if (s != NULL && s != rt->core && rest[0] == '\0') {
			if (norm_extension(c, s, v, out) != 0)
				return -1;
			continue;
		}
		if (s != NULL && s != rt->core) {
			/* "urn:...:enterprise:2.0:User:department": x */
			tmp = json_object();
			if (tmp == NULL || json_object_set(tmp, rest, v) != 0) {
				json_decref(tmp);
				return oom(c->err);
			}
			rc = norm_extension(c, s, tmp, out);
			json_decref(tmp);
			if (rc != 0)
				return -1;
			continue;
		}
		a = scim_schema_find(rt, rt->core->id, s != NULL ? rest : key,
				     NULL);
		if (a == NULL)
			continue; /* unknown attribute: dropped */
		if (norm_top(c, a, v, "", out) != 0)
			return -1;
	}
	return 0;
}

/* Drop empty extension objects and rebuild schemas. */
static int finish_schemas(const scim_restype *rt, json_t *out, scim_error *err)
{
	const scim_schema *const *e;
	json_t *schemas, *eo;

	schemas = json_array();
	if (schemas == NULL ||
	    json_array_append_new(schemas, json_string(rt->core->id)) != 0) {
		json_decref(schemas);
		return oom(err);
	}
	for (e = rt->extensions; *e != NULL; e++) {
		eo = json_object_get(out, (*e)->id);
		if (eo == NULL)
			continue;
		if (json_object_size(eo) == 0) {
			json_object_del(out, (*e)->id);
			continue;
		}
		if (json_array_append_new(schemas, json_string((*e)->id)) !=
		    0) {
			json_decref(schemas);
			return oom(err);
		}
	}
	/* schemas goes first, as in every RFC example. */
	eo = json_object();
	if (eo == NULL || json_object_set_new(eo, "schemas", schemas) != 0 ||
	    json_object_update(eo, out) != 0 || json_object_clear(out) != 0 ||
	    json_object_update(out, eo) != 0) {
		json_decref(eo);
		return oom(err);
	}
	json_decref(eo);
	return 0;
}

int scim_resource_normalize(const scim_restype *rt, json_t *res,
			    scim_norm_mode mode, const json_t *old,
			    scim_error *err)
{
	norm_ctx c = {.mode = mode, .err = err};
	const scim_schema *const *e;
	char prefix[PATH_MAX_LEN];
	json_t *out;

	if (rt == NULL || !json_is_object(res))
		return scim_error_set(err, 400, SCIM_ERR_INVALID_SYNTAX,
				      "the resource must be a JSON object");
	out = json_object();
	if (out == NULL)
		return oom(err);
	if (normalize_into(&c, rt, res, out) != 0 ||
	    finish_schemas(rt, out, err) != 0)
		goto fail;
	if (check_required(&c, rt->core, out, "") != 0)
		goto fail;
	for (e = rt->extensions; *e != NULL; e++) {
		snprintf(prefix, sizeof(prefix), "%s:", (*e)->id);
		if (json_object_get(out, (*e)->id) != NULL &&
		    check_required(&c, *e, json_object_get(out, (*e)->id),
				   prefix) != 0)
			goto fail;
	}
	if (mode == SCIM_NORM_REPLACE && json_is_object(old)) {
		if (check_immutable(&c, rt->core, old, out, "") != 0 ||
		    check_immutable(&c, scim_schema_common(), old, out, "") !=
			    0)
			goto fail;
		for (e = rt->extensions; *e != NULL; e++) {
			snprintf(prefix, sizeof(prefix), "%s:", (*e)->id);
			if (check_immutable(&c, *e,
					    json_object_get(old, (*e)->id),
					    json_object_get(out, (*e)->id),
					    prefix) != 0)
				goto fail;
		}
	}
	if (json_object_clear(res) != 0 || json_object_update(res, out) != 0) {
		oom(err);
		goto fail;
	}
	json_decref(out);
	return 0;
fail:
	json_decref(out);
	return -1;
}

/* ---- Projection ----------------------------------------------------- */

/* One resolved entry of an attributes/excludedAttributes list. */
typedef struct proj_entry {
	const scim_schema *whole; /* a bare schema URN: all of it */
	const scim_attr *attr;	  /* top-level attribute */
	const scim_attr *sub;	  /* sub-attribute, or NULL for all of attr */
} proj_entry;

typedef struct proj_list {
	proj_entry *e;
	size_t n;
	bool given; /* the list had at least one non-blank entry */
} proj_list;

/* Resolve one entry of length len at text; unknown names are ignored. */
static void proj_resolve(const scim_restype *rt, const char *text, size_t len,
			 proj_list *l)
{
	char buf[PATH_MAX_LEN];
	const scim_schema *s;
	const scim_attr *a, *sub = NULL;
	const char *rest;
	char *dot;

	if (len >= sizeof(buf))
		return;
	memcpy(buf, text, len);
	buf[len] = '\0';
	l->given = true;
	s = scim_schema_match_urn(rt, buf, &rest);
	if (s != NULL && rest[0] == '\0') {
		l->e[l->n++] = (proj_entry){.whole = s};
		return;
	}
	if (s == NULL)
		rest = buf;
	dot = strchr(rest, '.');
	if (dot != NULL)
		*dot = '\0';
	a = scim_schema_find(rt, s != NULL ? s->id : NULL, rest, NULL);
	if (a == NULL)
		return;
	if (dot != NULL) {
		sub = scim_attr_sub(a, dot + 1);
		if (sub == NULL)
			return;
	}
	l->e[l->n++] = (proj_entry){.attr = a, .sub = sub};
}

static int proj_parse(const scim_restype *rt, const char *text, proj_list *l)
{
	const char *p, *start, *end;
	size_t n = 1;

	l->e = NULL;
	l->n = 0;
	l->given = false;
	if (text == NULL)
		return 0;
	for (p = text; *p != '\0'; p++)
		n += *p == ',';
	l->e = calloc(n, sizeof(*l->e));
	if (l->e == NULL)
		return -1;
	for (p = text;;) {
		start = p;
		while (*p != '\0' && *p != ',')
			p++;
		end = p;
		while (start < end && (*start == ' ' || *start == '\t'))
			start++;
		while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		if (end > start)
			proj_resolve(rt, start, (size_t)(end - start), l);
		if (*p == '\0')
			break;
		p++;
	}
	return 0;
}

/* How attribute a appears in list l. */
enum { LISTED_NO, LISTED_SUBS, LISTED_WHOLE };

static int proj_listed(const proj_list *l, const scim_schema *s,
		       const scim_attr *a)
{
	int r = LISTED_NO;
	size_t i;

	for (i = 0; i < l->n; i++) {
		if (l->e[i].whole != NULL) {
			if (l->e[i].whole == s)
				return LISTED_WHOLE;
			continue;
		}
		if (l->e[i].attr != a)
			continue;
		if (l->e[i].sub == NULL)
			return LISTED_WHOLE;
		r = LISTED_SUBS;
	}
	return r;
}

/* Does l name the whole of schema s by its bare URN? */
static bool proj_whole(const proj_list *l, const scim_schema *s)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		if (l->e[i].whole == s)
			return true;
	}
	return false;
}

static bool proj_sub_listed(const proj_list *l, const scim_attr *a,
			    const scim_attr *sub)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		if (l->e[i].attr == a && l->e[i].sub == sub)
			return true;
	}
	return false;
}

/* Apply to one complex value obj of attribute a: drop returned=never
 * sub-attributes, and with attrs (LISTED_SUBS) keep only listed ones
 * (plus returned=always), and remove sub-attributes excluded by excl. */
static void proj_complex_obj(json_t *obj, const scim_attr *a,
			     const proj_list *attrs, bool only_listed,
			     const proj_list *excl)
{
	const char *key;
	json_t *val, *tmp;
	const scim_attr *sub;

	json_object_foreach_safe (obj, tmp, key, val) {
		sub = scim_attr_sub(a, key);
		if (sub == NULL)
			continue; /* not ours to judge */
		if (sub->returned == SCIM_RET_NEVER ||
		    (sub->returned != SCIM_RET_ALWAYS &&
		     ((only_listed && !proj_sub_listed(attrs, a, sub)) ||
		      proj_sub_listed(excl, a, sub) ||
		      (sub->returned == SCIM_RET_REQUEST &&
		       !proj_sub_listed(attrs, a, sub)))))
			json_object_del(obj, key);
	}
}

/* Apply sub-attribute rules to the value v of a (object or array of
 * objects). Returns true if the value became empty. */
static bool proj_complex(json_t *v, const scim_attr *a, const proj_list *attrs,
			 bool only_listed, const proj_list *excl)
{
	json_t *elem;
	size_t i;

	if (json_is_object(v)) {
		proj_complex_obj(v, a, attrs, only_listed, excl);
		return json_object_size(v) == 0;
	}
	if (!json_is_array(v))
		return false;
	for (i = 0; i < json_array_size(v);) {
		elem = json_array_get(v, i);
		if (json_is_object(elem)) {
			proj_complex_obj(elem, a, attrs, only_listed, excl);
			if (json_object_size(elem) == 0) {
				json_array_remove(v, i);
				continue;
			}
		}
		i++;
	}
	return json_array_size(v) == 0;
}

/* Project the attributes of schema s found in obj. Returns true if obj
 * became empty. */
static bool proj_object(json_t *obj, const scim_schema *s,
			const scim_restype *rt, const proj_list *attrs,
			const proj_list *excl)
{
	const char *key;
	json_t *val, *tmp;
	const scim_attr *a;
	const scim_schema *owner;
	int how;

	json_object_foreach_safe (obj, tmp, key, val) {
		if (scim_strcasecmp(key, "schemas") == 0)
			continue;
		a = scim_schema_find(rt, s->id, key, &owner);
		if (a == NULL)
			continue; /* extension objects, unknown: elsewhere */
		if (a->returned == SCIM_RET_NEVER) {
			json_object_del(obj, key);
			continue;
		}
		if (a->returned == SCIM_RET_ALWAYS)
			continue;
		how = attrs->given ? proj_listed(attrs, owner, a)
				   : LISTED_WHOLE;
		if (how == LISTED_NO ||
		    (a->returned == SCIM_RET_REQUEST &&
		     proj_listed(attrs, owner, a) == LISTED_NO) ||
		    proj_listed(excl, owner, a) == LISTED_WHOLE) {
			json_object_del(obj, key);
			continue;
		}
		if (a->type == SCIM_T_COMPLEX &&
		    proj_complex(val, a, attrs, how == LISTED_SUBS, excl))
			json_object_del(obj, key);
	}
	return json_object_size(obj) == 0;
}

int scim_resource_project(const scim_restype *rt, json_t *res,
			  const char *attributes, const char *excluded,
			  scim_error *err)
{
	proj_list attrs, excl;
	const char *key, *rest;
	const scim_schema *s;
	json_t *val, *tmp;
	const proj_list all = {.given = false};

	if (rt == NULL || !json_is_object(res))
		return scim_error_set(err, 500, NULL,
				      "resource is not a JSON object");
	if (proj_parse(rt, attributes, &attrs) != 0)
		return oom(err);
	if (proj_parse(rt, excluded, &excl) != 0) {
		free(attrs.e);
		return oom(err);
	}
	proj_object(res, rt->core, rt, &attrs, &excl);
	json_object_foreach_safe (res, tmp, key, val) {
		s = scim_schema_match_urn(rt, key, &rest);
		if (s == NULL || s == rt->core || rest[0] != '\0' ||
		    !json_is_object(val))
			continue;
		/* An extension object: listing its URN keeps all of it. */
		if (proj_whole(&excl, s) ||
		    proj_object(val, s, rt,
				proj_whole(&attrs, s) ? &all : &attrs, &excl))
			json_object_del(res, key);
	}
	free(attrs.e);
	free(excl.e);
	return 0;
}
