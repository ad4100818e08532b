/* mapping.c - load mapping files (with extends:), compile their templates,
 * and render them against SCIM resources. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mapping.h"
#include "schema.h"
#include "tmpl.h"
#include "yaml_json.h"

/* One target attribute: its name and the templates whose values it gets. */
typedef struct mapping_attr {
	char *name;
	tmpl **tmpls;
	size_t ntmpls;
} mapping_attr;

typedef struct mapping_list {
	mapping_attr *attrs;
	size_t n;
} mapping_list;

struct mapping {
	char *path;
	mapping_list sec[2]; /* MAPPING_USER, MAPPING_GROUP */
	mapping_attr role;   /* ntmpls == 0 and !has_role: no role: */
	int has_role;
};

static const char *const section_names[2] = {"user", "group"};

static void copy_str(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src ? src : "");
}

static int map_fail(mapping_error *err, const char *file, int line, int column,
		    const char *attr, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

static int map_fail(mapping_error *err, const char *file, int line, int column,
		    const char *attr, const char *fmt, ...)
{
	va_list ap;

	copy_str(err->file, sizeof(err->file), file);
	err->line = line;
	err->column = column;
	copy_str(err->attr, sizeof(err->attr), attr);
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return -1;
}

char *mapping_error_format(char *buf, size_t len, const mapping_error *err)
{
	char where[320];

	if (err->line > 0)
		snprintf(where, sizeof(where), "%s:%d:%d", err->file, err->line,
			 err->column);
	else
		snprintf(where, sizeof(where), "%s", err->file);
	snprintf(buf, len, "%s%s%s%s%s", where, where[0] ? ": " : "", err->attr,
		 err->attr[0] ? ": " : "", err->message);
	return buf;
}

static void attr_clear(mapping_attr *a)
{
	size_t i;

	for (i = 0; i < a->ntmpls; i++)
		tmpl_free(a->tmpls[i]);
	free(a->tmpls);
	free(a->name);
	a->tmpls = NULL;
	a->ntmpls = 0;
	a->name = NULL;
}

void mapping_free(mapping *m)
{
	size_t s, i;

	if (m == NULL)
		return;
	for (s = 0; s < 2; s++) {
		for (i = 0; i < m->sec[s].n; i++)
			attr_clear(&m->sec[s].attrs[i]);
		free(m->sec[s].attrs);
	}
	attr_clear(&m->role);
	free(m->path);
	free(m);
}

/* A yaml_json error "PATH:LINE:COLUMN: what" into err. */
static int yaml_fail(mapping_error *err, const char *path, const char *msg)
{
	size_t plen = strlen(path);
	int line = 0, column = 0, used = 0;

	if (strncmp(msg, path, plen) == 0 &&
	    sscanf(msg + plen, ":%d:%d: %n", &line, &column, &used) == 2 &&
	    used > 0)
		return map_fail(err, path, line, column, "", "%s",
				msg + plen + used);
	if (strncmp(msg, path, plen) == 0 && msg[plen] == ':')
		return map_fail(err, path, 0, 0, "", "%s", msg + plen + 2);
	return map_fail(err, path, 0, 0, "", "%s", msg);
}

/* Append "/" and seg, JSON Pointer escaped, to buf. */
static void ptr_append(char *buf, size_t len, const char *seg)
{
	size_t n = strlen(buf);

	if (n + 1 >= len)
		return;
	buf[n++] = '/';
	for (; *seg && n + 2 < len; seg++) {
		if (*seg == '~' || *seg == '/') {
			buf[n++] = '~';
			buf[n++] = *seg == '~' ? '0' : '1';
		} else {
			buf[n++] = *seg;
		}
	}
	buf[n] = '\0';
}

/* Where the scalar at /a/b[/i] starts, from the YAML position map. */
static void position(const json_t *pos, const char *a, const char *b, long idx,
		     int *line, int *column)
{
	char ptr[512] = "";
	const json_t *p;

	ptr_append(ptr, sizeof(ptr), a);
	if (b != NULL)
		ptr_append(ptr, sizeof(ptr), b);
	if (idx >= 0) {
		char num[32];

		snprintf(num, sizeof(num), "%ld", idx);
		ptr_append(ptr, sizeof(ptr), num);
	}
	p = json_object_get(pos, ptr);
	*line = (int)json_integer_value(json_array_get(p, 0));
	*column = (int)json_integer_value(json_array_get(p, 1));
}

/* The template text of a scalar: strings as they are, numbers and
 * booleans as constant text. NULL (with err) for anything else. */
static const char *template_text(const json_t *v, char *buf, size_t len)
{
	if (json_is_string(v))
		return json_string_value(v);
	if (json_is_integer(v)) {
		snprintf(buf, len, "%" JSON_INTEGER_FORMAT,
			 json_integer_value(v));
		return buf;
	}
	if (json_is_real(v)) {
		snprintf(buf, len, "%.17g", json_real_value(v));
		return buf;
	}
	if (json_is_boolean(v))
		return json_is_true(v) ? "true" : "false";
	return NULL;
}

typedef struct load_ctx {
	const char *path; /* the file being read, as given */
	const json_t *pos;
	const scim_restype *rt;
} load_ctx;

/* Compile value (a template string or a list of them) found at key path
 * sec.key into a; a->name is left alone. */
static int compile_value(mapping_attr *a, const load_ctx *c, const char *sec,
			 const char *key, const json_t *value,
			 mapping_error *err)
{
	char attr[128];
	size_t n = json_is_array(value) ? json_array_size(value) : 1, i;

	if (key != NULL)
		snprintf(attr, sizeof(attr), "%s.%s", sec, key);
	else
		snprintf(attr, sizeof(attr), "%s", sec);
	a->tmpls = calloc(n ? n : 1, sizeof(*a->tmpls));
	if (a->tmpls == NULL)
		return map_fail(err, c->path, 0, 0, attr, "out of memory");
	for (i = 0; i < n; i++) {
		const json_t *v =
			json_is_array(value) ? json_array_get(value, i) : value;
		long idx = json_is_array(value) ? (long)i : -1;
		char num[64], where[160];
		const char *src = template_text(v, num, sizeof(num));
		int line = 0, column = 0;
		tmpl_error te;

		position(c->pos, sec, key, idx, &line, &column);
		if (idx >= 0)
			snprintf(where, sizeof(where), "%s[%ld]", attr, idx);
		else
			snprintf(where, sizeof(where), "%s", attr);
		if (src == NULL) {
			return map_fail(err, c->path, line, column, where,
					"must be a template string or a list "
					"of template strings");
		}
		memset(&te, 0, sizeof(te));
		if (tmpl_compile(&a->tmpls[i], src, strlen(src), c->rt, c->path,
				 line > 0 ? line : 1, column > 0 ? column : 1,
				 &te) < 0) {
			a->tmpls[i] = NULL;
			return map_fail(err, c->path, line > 0 ? te.line : 0,
					line > 0 ? te.column : 0, where, "%s",
					te.message);
		}
		a->ntmpls = i + 1;
	}
	return 0;
}

static mapping_attr *list_find(mapping_list *l, const char *name)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->attrs[i].name, name) == 0)
			return &l->attrs[i];
	return NULL;
}

/* Merge the section object into l: a key overrides the inherited
 * attribute in place, a new key is appended, null removes. */
static int load_section(mapping_list *l, const load_ctx *c, const char *sec,
			const json_t *obj, mapping_error *err)
{
	const char *key;
	json_t *value;
	int line, column;

	if (obj == NULL || json_is_null(obj))
		return 0;
	if (!json_is_object(obj)) {
		position(c->pos, sec, NULL, -1, &line, &column);
		return map_fail(err, c->path, line, column, sec,
				"must be a mapping of target attribute to "
				"template");
	}
	json_object_foreach ((json_t *)obj, key, value) {
		mapping_attr fresh = {NULL, NULL, 0}, *old = list_find(l, key);

		if (key[0] == '\0')
			return map_fail(err, c->path, 0, 0, sec,
					"empty attribute name");
		if (json_is_null(value)) {
			if (old != NULL) {
				size_t at = (size_t)(old - l->attrs);

				attr_clear(old);
				memmove(old, old + 1,
					(l->n - at - 1) * sizeof(*old));
				l->n--;
			}
			continue;
		}
		if (compile_value(&fresh, c, sec, key, value, err) < 0) {
			attr_clear(&fresh);
			return -1;
		}
		if (old != NULL) {
			fresh.name = old->name;
			old->name = NULL;
			attr_clear(old);
			*old = fresh;
			continue;
		}
		fresh.name = strdup(key);
		if (fresh.name == NULL) {
			attr_clear(&fresh);
			return map_fail(err, c->path, 0, 0, sec,
					"out of memory");
		}
		{
			mapping_attr *na =
				realloc(l->attrs, (l->n + 1) * sizeof(*na));

			if (na == NULL) {
				attr_clear(&fresh);
				return map_fail(err, c->path, 0, 0, sec,
						"out of memory");
			}
			l->attrs = na;
			l->attrs[l->n++] = fresh;
		}
	}
	return 0;
}

static int load_role(mapping *m, const load_ctx *c, const json_t *value,
		     mapping_error *err)
{
	mapping_attr fresh = {NULL, NULL, 0};

	attr_clear(&m->role);
	m->has_role = 0;
	if (json_is_null(value))
		return 0;
	if (compile_value(&fresh, c, "role", NULL, value, err) < 0) {
		attr_clear(&fresh);
		return -1;
	}
	m->role = fresh;
	m->has_role = 1;
	return 0;
}

/* extends: relative to the directory of the file that says it. */
static int resolve_relative(char *buf, size_t len, const char *from,
			    const char *rel)
{
	const char *slash = strrchr(from, '/');
	int n;

	if (rel[0] == '/' || slash == NULL)
		n = snprintf(buf, len, "%s", rel);
	else
		n = snprintf(buf, len, "%.*s/%s", (int)(slash - from), from,
			     rel);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

static int load_into(mapping *m, const char *path, int depth, char **chain,
		     mapping_error *err)
{
	static const char *const known[] = {"extends", "description", "user",
					    "group",   "role",	      NULL};
	char errbuf[512], *real;
	json_t *doc = NULL, *pos = NULL, *v;
	const char *key;
	load_ctx c = {path, NULL, NULL};
	int i, rc = -1, line, column;

	real = realpath(path, NULL);
	if (real == NULL)
		return map_fail(err, path, 0, 0, "", "%s", strerror(errno));
	chain[depth] = real;
	if (yaml_file_to_json_pos(&doc, &pos, path, errbuf, sizeof(errbuf)) <
	    0) {
		yaml_fail(err, path, errbuf);
		goto done;
	}
	c.pos = pos;
	if (!json_is_object(doc)) {
		map_fail(err, path, 1, 1, "",
			 "a mapping file is a YAML mapping (user:, group:, "
			 "role:)");
		goto done;
	}
	json_object_foreach (doc, key, v) {
		for (i = 0; known[i]; i++)
			if (strcmp(key, known[i]) == 0)
				break;
		if (known[i] == NULL) {
			position(pos, key, NULL, -1, &line, &column);
			map_fail(err, path, line, column, key,
				 "unknown section (expected extends, "
				 "description, user, group or role)");
			goto done;
		}
	}
	v = json_object_get(doc, "extends");
	if (v != NULL && !json_is_null(v)) {
		char parent[PATH_MAX], *preal;

		position(pos, "extends", NULL, -1, &line, &column);
		if (!json_is_string(v) || json_string_length(v) == 0) {
			map_fail(err, path, line, column, "extends",
				 "must be a file name");
			goto done;
		}
		if (depth + 1 > MAPPING_MAX_EXTENDS) {
			map_fail(err, path, line, column, "extends",
				 "extends nested more than %d deep",
				 MAPPING_MAX_EXTENDS);
			goto done;
		}
		if (resolve_relative(parent, sizeof(parent), path,
				     json_string_value(v)) < 0) {
			map_fail(err, path, line, column, "extends",
				 "path too long");
			goto done;
		}
		/* A parent that cannot be opened, or one already being
		 * loaded, is this file's error; a parent's own errors stay
		 * its own. */
		preal = realpath(parent, NULL);
		if (preal == NULL) {
			map_fail(err, path, line, column, "extends",
				 "%.80s: %s", json_string_value(v),
				 strerror(errno));
			goto done;
		}
		for (i = 0; i <= depth; i++)
			if (strcmp(chain[i], preal) == 0)
				break;
		free(preal);
		if (i <= depth) {
			if (i == depth)
				map_fail(err, path, line, column, "extends",
					 "extends cycle: a file cannot extend "
					 "itself");
			else
				map_fail(err, path, line, column, "extends",
					 "extends cycle: %.80s already extends "
					 "this file",
					 json_string_value(v));
			goto done;
		}
		if (load_into(m, parent, depth + 1, chain, err) < 0)
			goto done;
	}
	c.rt = scim_restype_user();
	if (load_section(&m->sec[MAPPING_USER], &c, "user",
			 json_object_get(doc, "user"), err) < 0)
		goto done;
	c.rt = scim_restype_group();
	if (load_section(&m->sec[MAPPING_GROUP], &c, "group",
			 json_object_get(doc, "group"), err) < 0)
		goto done;
	v = json_object_get(doc, "role");
	if (v != NULL && load_role(m, &c, v, err) < 0)
		goto done;
	rc = 0;
done:
	json_decref(doc);
	json_decref(pos);
	free(real);
	chain[depth] = NULL;
	return rc;
}

int mapping_load(mapping **out, const char *path, mapping_error *err)
{
	char *chain[MAPPING_MAX_EXTENDS + 1] = {NULL};
	mapping *m;

	*out = NULL;
	memset(err, 0, sizeof(*err));
	m = calloc(1, sizeof(*m));
	if (m == NULL || (m->path = strdup(path)) == NULL) {
		free(m);
		return map_fail(err, path, 0, 0, "", "out of memory");
	}
	if (load_into(m, path, 0, chain, err) < 0) {
		mapping_free(m);
		return -1;
	}
	*out = m;
	return 0;
}

/* Append the strings of vals to values, but not those already there: a
 * multi-valued target gets each value once (LDAP refuses duplicates). */
static void append_unique(json_t *values, const json_t *vals)
{
	size_t i, j;
	json_t *v;

	json_array_foreach ((json_t *)vals, i, v) {
		int seen = 0;

		for (j = 0; j < json_array_size(values) && !seen; j++)
			seen = json_equal(json_array_get(values, j), v);
		if (!seen)
			json_array_append(values, v);
	}
}

/* Render every template of a into values (an array, appended to; each
 * value once). */
static int render_attr(json_t *values, const mapping_attr *a, const char *sec,
		       const json_t *resource, const json_t *event,
		       mapping_error *err)
{
	size_t i;

	for (i = 0; i < a->ntmpls; i++) {
		json_t *vals = NULL;
		tmpl_error te;
		char attr[160];

		memset(&te, 0, sizeof(te));
		if (tmpl_render(&vals, a->tmpls[i], resource, event, &te) < 0) {
			if (a->name != NULL)
				snprintf(attr, sizeof(attr), "%s.%s", sec,
					 a->name);
			else
				snprintf(attr, sizeof(attr), "%s", sec);
			return map_fail(err, te.file, te.line, te.column, attr,
					"%s", te.message);
		}
		append_unique(values, vals);
		json_decref(vals);
	}
	return 0;
}

int mapping_eval(json_t **out, const mapping *m, mapping_section sec,
		 const json_t *resource, const json_t *event,
		 mapping_error *err)
{
	const mapping_list *l;
	json_t *obj;
	size_t i;

	*out = NULL;
	memset(err, 0, sizeof(*err));
	if (sec != MAPPING_USER && sec != MAPPING_GROUP)
		return map_fail(err, m->path, 0, 0, "", "no such section");
	l = &m->sec[sec];
	obj = json_object();
	if (obj == NULL)
		return map_fail(err, m->path, 0, 0, "", "out of memory");
	for (i = 0; i < l->n; i++) {
		json_t *values = json_array();

		if (values == NULL ||
		    render_attr(values, &l->attrs[i], section_names[sec],
				resource, event, err) < 0) {
			if (values == NULL)
				map_fail(err, m->path, 0, 0, "",
					 "out of memory");
			json_decref(values);
			json_decref(obj);
			return -1;
		}
		if (json_array_size(values) > 0)
			json_object_set_new(obj, l->attrs[i].name, values);
		else
			json_decref(values);
	}
	*out = obj;
	return 0;
}

int mapping_roles(json_t **out, const mapping *m, const json_t *group,
		  mapping_error *err)
{
	json_t *roles = json_array();

	*out = NULL;
	memset(err, 0, sizeof(*err));
	if (roles == NULL)
		return map_fail(err, m->path, 0, 0, "role", "out of memory");
	if (render_attr(roles, &m->role, "role", group, NULL, err) < 0) {
		json_decref(roles);
		return -1;
	}
	*out = roles;
	return 0;
}

size_t mapping_attr_count(const mapping *m, mapping_section sec)
{
	if (sec != MAPPING_USER && sec != MAPPING_GROUP)
		return 0;
	return m->sec[sec].n;
}

const char *mapping_attr_name(const mapping *m, mapping_section sec, size_t i)
{
	if ((sec != MAPPING_USER && sec != MAPPING_GROUP) || i >= m->sec[sec].n)
		return NULL;
	return m->sec[sec].attrs[i].name;
}

int mapping_has_roles(const mapping *m)
{
	return m->has_role;
}

const char *mapping_path(const mapping *m)
{
	return m->path;
}
