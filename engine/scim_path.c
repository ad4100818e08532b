/* scim_path.c - SCIM attribute paths (RFC 7644 §3.5.2, §3.10).
 *
 *   PATH      = attrPath / valuePath [subAttr]
 *   attrPath  = [URI ":"] ATTRNAME *1subAttr
 *   valuePath = attrPath "[" valFilter "]"
 *
 * Representation choices (see scim_path.h for the fields):
 *  - A bare schema URN ("urn:ietf:params:scim:schemas:extension:
 *    enterprise:2.0:User") is a path to the whole extension object:
 *    schema is set, attr and attr_name are NULL, and scim_path_container
 *    returns the extension object. A bare core URN likewise has schema =
 *    the core schema, attr_name NULL, and its container is the resource.
 *  - A name qualified with a known URN but unknown in that schema keeps
 *    schema set (so the container is still right), attr NULL.
 *  - A name qualified with an unknown URN ("urn:x:y:foo.bar") has schema
 *    NULL, attr NULL and attr_name the qualified name as written
 *    ("urn:x:y:foo"), sub_name "bar".
 *  - Leading and trailing blanks are ignored; positions in error details
 *    count from the start of the text as given, also for errors inside
 *    the value filter.
 *  - Sub-attribute names are canonicalised when known; an unknown one
 *    (or one of a simple attribute) is kept as written with sub NULL.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scim_path.h"
#include "strutil.h"

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_namechar(char c)
{
	return is_alpha(c) || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Length of ATTRNAME (ALPHA *nameChar, or "$ref") at s; 0 if none. */
static size_t name_len(const char *s)
{
	size_t n = 0;

	if (s[0] == '$')
		return scim_strncasecmp(s, "$ref", 4) == 0 && !is_namechar(s[4])
			       ? 4
			       : 0;
	if (!is_alpha(s[0]))
		return 0;
	while (is_namechar(s[n]))
		n++;
	return n;
}

/* Index of the "]" closing the value filter that starts after s[open],
 * skipping string literals; 0 if there is none. */
static size_t find_close(const char *s, size_t open)
{
	size_t i = open + 1;
	bool in_str = false;

	for (; s[i] != '\0'; i++) {
		if (in_str) {
			if (s[i] == '\\' && s[i + 1] != '\0')
				i++;
			else if (s[i] == '"')
				in_str = false;
		} else if (s[i] == '"') {
			in_str = true;
		} else if (s[i] == ']') {
			return i;
		}
	}
	return 0;
}

/* Add off to the " at position N" of a detail from the filter parser,
 * which counts from the start of the value filter. */
static void shift_position(scim_error *err, size_t off)
{
	static const char key[] = " at position ";
	char *at, *num, *end, tail[sizeof(err->detail)];
	unsigned long long n;

	if (err == NULL || (at = strstr(err->detail, key)) == NULL)
		return;
	num = at + sizeof(key) - 1;
	n = strtoull(num, &end, 10);
	if (end == num)
		return;
	snprintf(tail, sizeof(tail), "%s", end);
	snprintf(num, sizeof(err->detail) - (size_t)(num - err->detail),
		 "%llu%s", n + off, tail);
}

static int path_err(scim_error *err, const char *what, size_t pos)
{
	return scim_error_set(err, 400, SCIM_ERR_INVALID_PATH,
			      "%s at position %zu", what, pos);
}

void scim_path_free(scim_path *p)
{
	if (p == NULL)
		return;
	free(p->attr_name);
	free(p->sub_name);
	scim_filter_free(p->filter);
	free(p);
}

/* Set p->sub/sub_name from the n bytes at s. */
static int set_sub(scim_path *p, const char *s, size_t n)
{
	char *w = strndup(s, n);

	if (w == NULL)
		return -1;
	p->sub = scim_attr_sub(p->attr, w);
	if (p->sub != NULL) {
		free(w);
		w = strndup(p->sub->name, strlen(p->sub->name));
		if (w == NULL)
			return -1;
	}
	p->sub_name = w;
	return 0;
}

static int parse(scim_path *p, const scim_restype *rt, const char *buf,
		 size_t start, size_t end, scim_error *err)
{
	size_t pos = start, n, qual = start, close;
	const scim_schema *urn_schema = NULL, *found = NULL;
	bool unknown_urn = false;
	char *name;

	if (end - pos >= 4 && scim_strncasecmp(buf + pos, "urn:", 4) == 0) {
		const char *rest = NULL;

		if (rt != NULL)
			urn_schema =
				scim_schema_match_urn(rt, buf + pos, &rest);
		if (urn_schema != NULL && rest != NULL) {
			if (*rest == '\0') {
				if (rest[-1] == ':')
					return path_err(
						err, "expected attribute name",
						end);
				/* bare URN: the whole schema container */
				p->schema = urn_schema;
				return 0;
			}
			pos = (size_t)(rest - buf);
		} else {
			size_t i, colon = pos + 3;

			for (i = pos; i < end && buf[i] != '['; i++)
				if (buf[i] == ':')
					colon = i;
			unknown_urn = true;
			urn_schema = NULL;
			pos = colon + 1;
		}
	}
	n = name_len(buf + pos);
	if (n == 0)
		return path_err(err, "expected attribute name", pos);
	name = strndup(buf + pos, n);
	if (name == NULL)
		goto oom;
	if (urn_schema != NULL)
		p->attr = scim_schema_find(rt, urn_schema->id, name, &found);
	else if (!unknown_urn && rt != NULL)
		p->attr = scim_schema_find(rt, NULL, name, &found);
	p->schema = p->attr != NULL ? found : urn_schema;
	free(name);
	if (p->attr != NULL)
		p->attr_name = strndup(p->attr->name, strlen(p->attr->name));
	else if (unknown_urn)
		p->attr_name = strndup(buf + qual, pos + n - qual);
	else
		p->attr_name = strndup(buf + pos, n);
	if (p->attr_name == NULL)
		goto oom;
	pos += n;

	if (buf[pos] == '.') {
		n = name_len(buf + pos + 1);
		if (n == 0)
			return path_err(err, "expected sub-attribute name",
					pos + 1);
		if (set_sub(p, buf + pos + 1, n) < 0)
			goto oom;
		pos += 1 + n;
		if (buf[pos] == '[')
			return path_err(err,
					"unexpected '[' after "
					"sub-attribute",
					pos);
	}
	if (buf[pos] == '[') {
		close = find_close(buf, pos);
		if (close == 0 || close >= end)
			return path_err(err, "expected ']'", end);
		if (p->attr != NULL && p->attr->type != SCIM_T_COMPLEX)
			return path_err(err,
					"value filter on an attribute "
					"that is not complex",
					pos);
		if (scim_filter_parse_sub(&p->filter, rt, p->attr,
					  buf + pos + 1, close - pos - 1,
					  err) < 0) {
			shift_position(err, pos + 1);
			return -1;
		}
		pos = close + 1;
		if (buf[pos] == '.') {
			n = name_len(buf + pos + 1);
			if (n == 0)
				return path_err(err,
						"expected sub-attribute name",
						pos + 1);
			if (set_sub(p, buf + pos + 1, n) < 0)
				goto oom;
			pos += 1 + n;
		}
	}
	if (pos != end)
		return path_err(err, "unexpected character", pos);
	return 0;
oom:
	return scim_error_set(err, 500, NULL, "out of memory");
}

int scim_path_parse_n(scim_path **out, const scim_restype *rt, const char *text,
		      size_t len, scim_error *err)
{
	scim_path *p;
	char *buf;
	size_t start = 0, end = len;
	int rc;

	*out = NULL;
	if (text == NULL)
		return scim_error_set(err, 400, SCIM_ERR_INVALID_PATH,
				      "missing path");
	if (len > SCIM_FILTER_MAX_LEN)
		return scim_error_set(err, 400, SCIM_ERR_INVALID_PATH,
				      "path longer than %d bytes",
				      SCIM_FILTER_MAX_LEN);
	if (memchr(text, '\0', len) != NULL || !scim_is_valid_utf8(text, len))
		return scim_error_set(err, 400, SCIM_ERR_INVALID_PATH,
				      "path is not valid UTF-8 text");
	while (start < end && is_blank(text[start]))
		start++;
	while (end > start && is_blank(text[end - 1]))
		end--;
	if (start == end)
		return scim_error_set(err, 400, SCIM_ERR_INVALID_PATH,
				      "empty path");
	buf = strndup(text, len);
	p = calloc(1, sizeof(*p));
	if (buf == NULL || p == NULL) {
		free(buf);
		free(p);
		return scim_error_set(err, 500, NULL, "out of memory");
	}
	/* Cut at the end of the trimmed text, so that nothing past it is
	 * read as part of the path. */
	buf[end] = '\0';
	rc = parse(p, rt, buf, start, end, err);
	free(buf);
	if (rc < 0) {
		scim_path_free(p);
		return -1;
	}
	*out = p;
	return 0;
}

int scim_path_parse(scim_path **out, const scim_restype *rt, const char *text,
		    scim_error *err)
{
	return scim_path_parse_n(out, rt, text, text ? strlen(text) : 0, err);
}

static bool is_extension_schema(const scim_schema *s)
{
	return s != NULL && s != scim_schema_common() &&
	       s != scim_restype_user()->core &&
	       s != scim_restype_group()->core;
}

const char *scim_path_container_key(const scim_path *p)
{
	if (p == NULL || !is_extension_schema(p->schema))
		return NULL;
	return p->schema->id;
}

json_t *scim_path_container(const scim_path *p, json_t *res, bool create)
{
	const char *key = scim_path_container_key(p), *k;
	json_t *v;

	if (!json_is_object(res))
		return NULL;
	if (key == NULL)
		return res;
	v = json_object_get(res, key);
	if (v == NULL) {
		json_t *el;

		json_object_foreach (res, k, el) {
			if (scim_strcasecmp(k, key) == 0) {
				v = el;
				break;
			}
		}
	}
	if (json_is_object(v))
		return v;
	if (v != NULL || !create)
		return NULL;
	v = json_object();
	if (v == NULL || json_object_set_new(res, key, v) < 0)
		return NULL;
	return v;
}

/* Append the sub-attribute (or, without one, the element itself) of el
 * to arr, if present. Returns -1 only when out of memory. */
static int get_append(json_t *arr, const json_t *el, const char *sub)
{
	json_t *v = sub != NULL ? scim_json_get_ci(el, sub) : (json_t *)el;

	if (v == NULL || json_is_null(v))
		return 0;
	return json_array_append(arr, v);
}

json_t *scim_path_get(const scim_path *p, const json_t *res)
{
	json_t *c, *v, *arr;
	size_t i;

	if (p == NULL)
		return NULL;
	c = scim_path_container(p, (json_t *)res, false);
	if (c == NULL)
		return NULL;
	if (p->attr_name == NULL)
		return json_incref(c);
	v = scim_json_get_ci(c, p->attr_name);
	if (v == NULL || json_is_null(v))
		return NULL;
	if (p->filter == NULL && p->sub_name == NULL)
		return json_incref(v);
	if (p->filter == NULL && !json_is_array(v)) {
		v = json_is_object(v) ? scim_json_get_ci(v, p->sub_name) : NULL;
		return v != NULL && !json_is_null(v) ? json_incref(v) : NULL;
	}
	if ((arr = json_array()) == NULL)
		return NULL;
	if (json_is_array(v)) {
		for (i = 0; i < json_array_size(v); i++) {
			const json_t *el = json_array_get(v, i);

			if (p->filter != NULL &&
			    (!json_is_object(el) ||
			     !scim_filter_match(p->filter, el)))
				continue;
			if (p->sub_name != NULL && !json_is_object(el))
				continue;
			if (get_append(arr, el, p->sub_name) < 0)
				goto fail;
		}
	} else if (json_is_object(v) && scim_filter_match(p->filter, v)) {
		if (get_append(arr, v, p->sub_name) < 0)
			goto fail;
	}
	if (json_array_size(arr) > 0)
		return arr;
fail:
	json_decref(arr);
	return NULL;
}
