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

/* How a read can be answered from the stored text. */
typedef enum scim_render_mode {
	SCIM_RENDER_PARSED = 0,	  /* a projection: go through jansson */
	SCIM_RENDER_FULL,	  /* stored text + computed attribute */
	SCIM_RENDER_NO_COMPUTED,  /* stored text as it is */
	SCIM_RENDER_COMPUTED_ONLY /* schemas, id and the computed attribute */
} scim_render_mode;

/* The mode for a read with these attributes/excludedAttributes: FULL when
 * neither is given, NO_COMPUTED when excluded names only the computed
 * attribute (a user's groups, a group's members), COMPUTED_ONLY when
 * attributes names only it, PARSED otherwise. */
scim_render_mode scim_render_mode_for(const scim_restype *rt,
				      const char *attributes,
				      const char *excluded);

/* Append a stored resource (json, len bytes: a JSON object) rendered in
 * mode (not PARSED), reading the computed attribute from c. Returns 0, or
 * -1 with err. */
int scim_render_stored(struct evbuffer *out, scim_srv *srv,
		       const scimsync_store_plugin *p, scimsync_store_conn *c,
		       const char *tenant, const scim_restype *rt,
		       const char *json, size_t len, const char *id,
		       scim_render_mode mode, scim_error *err);

#endif
