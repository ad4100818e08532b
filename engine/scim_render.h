/* scim_render.h - answer reads from the stored JSON text.
 *
 * A resource is stored as the compact JSON of what a GET returns minus its
 * computed attribute (a user's `groups`, a group's `members`). When a read
 * asks for no projection, the answer is that text with the computed
 * attribute spliced in as text: nothing is parsed or re-serialised, and a
 * 100,000-member group costs its bytes, not 100,000 JSON objects. */
#ifndef SCIMSYNC_SCIM_RENDER_H
#define SCIMSYNC_SCIM_RENDER_H

#include <stdbool.h>
#include <stddef.h>

#include <event2/buffer.h>

#include "scim_server.h"

/* Append s as a JSON string literal, quotes included. s is UTF-8. */
void scim_render_str(struct evbuffer *out, const char *s);

/* Append a stored resource (json, len bytes: a JSON object) with its
 * computed attribute read from c (a user's groups; a group's members when
 * with_computed). Returns 0, or -1 with err (nothing useful appended). */
int scim_render_stored(struct evbuffer *out, scim_srv *srv,
		       const scimsync_store_plugin *p, scimsync_store_conn *c,
		       const char *tenant, const scim_restype *rt,
		       const char *json, size_t len, const char *id,
		       bool with_computed, scim_error *err);

/* Can a read with these attributes/excludedAttributes be answered from
 * the stored text? True when attributes is empty and excluded names
 * nothing but the computed attribute; *with_computed says whether that
 * attribute is wanted. */
bool scim_render_plain(const scim_restype *rt, const char *attributes,
		       const char *excluded, bool *with_computed);

#endif
