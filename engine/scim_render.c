/* scim_render.c - answer reads from the stored JSON text. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scim_render.h"
#include "strutil.h"

/* Append the characters of s escaped for a JSON string, no quotes. */
static void render_escaped(struct evbuffer *out, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const char *run = s;

	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		char esc[6] = {'\\', 'u', '0', '0', hex[ch >> 4], hex[ch & 15]};

		if (ch >= 0x20 && ch != '"' && ch != '\\')
			continue;
		evbuffer_add(out, run, (size_t)(s - run));
		run = s + 1;
		if (ch == '"' || ch == '\\') {
			esc[1] = (char)ch;
			evbuffer_add(out, esc, 2);
		} else {
			evbuffer_add(out, esc, 6);
		}
	}
	evbuffer_add(out, run, (size_t)(s - run));
}

void scim_render_str(struct evbuffer *out, const char *s)
{
	evbuffer_add(out, "\"", 1);
	render_escaped(out, s);
	evbuffer_add(out, "\"", 1);
}

typedef struct render_ctx {
	struct evbuffer *out;
	scim_srv *srv;
	bool user; /* rendering a user's groups (else a group's members) */
	size_t n;
} render_ctx;

static int render_member(const scimsync_member *m, void *payload)
{
	render_ctx *rc = payload;
	const char *id = rc->user ? m->group_id : m->member_id;
	bool group = rc->user || m->member_type == SCIMSYNC_RES_GROUP;

	if (rc->n++ > 0)
		evbuffer_add(rc->out, ",", 1);
	evbuffer_add(rc->out, "{\"value\":", 9);
	scim_render_str(rc->out, id);
	evbuffer_add_printf(rc->out, ",\"$ref\":\"%s%s/", rc->srv->base_url,
			    group ? "/Groups" : "/Users");
	render_escaped(rc->out, id);
	evbuffer_add(rc->out, "\"", 1);
	if (m->display) {
		evbuffer_add(rc->out, ",\"display\":", 11);
		scim_render_str(rc->out, m->display);
	}
	evbuffer_add_printf(rc->out, ",\"type\":\"%s\"}",
			    rc->user ? "direct"
			    : group  ? "Group"
				     : "User");
	return 0;
}

int scim_render_stored(struct evbuffer *out, scim_srv *srv,
		       const scimsync_store_plugin *p, scimsync_store_conn *c,
		       const char *tenant, const scim_restype *rt,
		       const char *json, size_t len, const char *id,
		       scim_render_mode mode, scim_error *err)
{
	bool user = rt->id == SCIM_RT_USER;
	render_ctx rc = {.srv = srv, .user = user};
	scimsync_err serr = {0};
	struct evbuffer *arr;
	int r;

	while (len > 0 && (json[len - 1] == ' ' || json[len - 1] == '\n'))
		len--;
	if (len < 2 || json[0] != '{' || json[len - 1] != '}')
		return scim_error_set(err, 500, NULL, "stored %s is unreadable",
				      rt->name);
	if (mode == SCIM_RENDER_NO_COMPUTED) {
		evbuffer_add(out, json, len);
		return 0;
	}
	arr = evbuffer_new();
	rc.out = arr;
	r = user ? p->groups_of(c, tenant, id, render_member, &rc, &serr)
		 : p->members(c, tenant, id, NULL, 0, render_member, &rc,
			      &serr);
	if (r != 0) {
		evbuffer_free(arr);
		return scim_store_error(err, &serr, "membership");
	}
	if (mode == SCIM_RENDER_COMPUTED_ONLY) {
		/* What a projection to the computed attribute keeps: schemas
		 * and id (returned always). The stored document is small: the
		 * computed attribute is not in it. */
		json_t *doc = json_loadb(json, len, 0, NULL);
		char *schemas =
			doc ? json_dumps(json_object_get(doc, "schemas"),
					 JSON_COMPACT | JSON_ENCODE_ANY)
			    : NULL;

		evbuffer_add_printf(out, "{\"schemas\":%s,\"id\":",
				    schemas ? schemas : "[]");
		scim_render_str(out, id);
		free(schemas);
		json_decref(doc);
	} else {
		evbuffer_add(out, json, len - 1);
	}
	if (rc.n > 0) {
		evbuffer_add_printf(out, ",\"%s\":[",
				    user ? "groups" : "members");
		evbuffer_add_buffer(out, arr);
		evbuffer_add(out, "]", 1);
	}
	evbuffer_add(out, "}", 1);
	evbuffer_free(arr);
	return 0;
}

/* Is item (one entry of an attribute list) the name attr, bare or
 * URN-qualified? */
static bool item_is(const char *item, size_t n, const char *attr)
{
	const char *last = item;

	for (size_t i = 0; i < n; i++)
		if (item[i] == ':')
			last = item + i + 1;
	n -= (size_t)(last - item);
	return n == strlen(attr) && scim_strncasecmp(last, attr, n) == 0;
}

/* Does the list hold at least one item, and only the name attr? */
static bool only_names(const char *list, const char *attr)
{
	const char *p = list;
	bool any = false;

	while (p && *p) {
		size_t n;

		while (*p == ' ' || *p == ',')
			p++;
		n = strcspn(p, ",");
		while (n > 0 && p[n - 1] == ' ')
			n--;
		if (n == 0)
			break;
		if (!item_is(p, n, attr))
			return false;
		any = true;
		p += n;
	}
	return any;
}

scim_render_mode scim_render_mode_for(const scim_restype *rt,
				      const char *attributes,
				      const char *excluded)
{
	const char *computed = rt->id == SCIM_RT_USER ? "groups" : "members";
	bool has_attrs = attributes && *attributes;
	bool has_excl = excluded && *excluded;

	if (!has_attrs && !has_excl)
		return SCIM_RENDER_FULL;
	if (has_attrs && !has_excl && only_names(attributes, computed))
		return SCIM_RENDER_COMPUTED_ONLY;
	if (!has_attrs && only_names(excluded, computed))
		return SCIM_RENDER_NO_COMPUTED;
	return SCIM_RENDER_PARSED;
}
