/* fixture.h - a do-nothing store for the loader tests (check_store.c).
 *
 * Each store_<case>.c fills a descriptor from FIXTURE_CALLBACKS, changes
 * the one thing its case is about and exports FIXTURE_ENTRY. Only open
 * does anything: it succeeds with a static dummy store.
 */
#ifndef SCIMSYNC_TEST_FIXTURE_H
#define SCIMSYNC_TEST_FIXTURE_H

#include <stdio.h>

#include <scimsync/store.h>

#define FX_UNUSED __attribute__((unused))

struct scimsync_store {
	int unused;
};

static scimsync_store fx_store;

static FX_UNUSED int fx_nop(scimsync_err *err)
{
	if (err != NULL) {
		err->code = SCIMSYNC_EFAIL;
		snprintf(err->message, sizeof(err->message),
			 "fixture: not implemented");
	}
	return SCIMSYNC_EFAIL;
}

static FX_UNUSED int fx_open(scimsync_store **out, const scimsync_host *host,
			     const scimsync_option *options, scimsync_err *err)
{
	(void)host;
	(void)options;
	(void)err;
	*out = &fx_store;
	return SCIMSYNC_OK;
}

static FX_UNUSED void fx_close(scimsync_store *s)
{
	(void)s;
}

static FX_UNUSED int fx_conn_open(scimsync_store_conn **out, scimsync_store *s,
				  int writer, scimsync_err *err)
{
	(void)s;
	(void)writer;
	*out = NULL;
	return fx_nop(err);
}

static FX_UNUSED void fx_conn_close(scimsync_store_conn *c)
{
	(void)c;
}

static FX_UNUSED int fx_get(scimsync_store_conn *c, const char *tenant,
			    int type, const char *id, scimsync_resource_cb cb,
			    void *payload, scimsync_err *err)
{
	(void)c, (void)tenant, (void)type, (void)id, (void)cb, (void)payload;
	return fx_nop(err);
}

static FX_UNUSED int fx_list(scimsync_store_conn *c, const scimsync_query *q,
			     scimsync_resource_cb cb, void *payload,
			     scimsync_err *err)
{
	(void)c, (void)q, (void)cb, (void)payload;
	return fx_nop(err);
}

static FX_UNUSED int fx_count(scimsync_store_conn *c, const scimsync_query *q,
			      int64_t *out, scimsync_err *err)
{
	(void)c, (void)q;
	*out = 0;
	return fx_nop(err);
}

static FX_UNUSED int fx_members(scimsync_store_conn *c, const char *tenant,
				const char *group_id,
				const char *const *only_ids, size_t n_only,
				scimsync_member_cb cb, void *payload,
				scimsync_err *err)
{
	(void)c, (void)tenant, (void)group_id, (void)only_ids, (void)n_only;
	(void)cb, (void)payload;
	return fx_nop(err);
}

static FX_UNUSED int fx_groups_of(scimsync_store_conn *c, const char *tenant,
				  const char *member_id, scimsync_member_cb cb,
				  void *payload, scimsync_err *err)
{
	(void)c, (void)tenant, (void)member_id, (void)cb, (void)payload;
	return fx_nop(err);
}

static FX_UNUSED int fx_tx(scimsync_store_conn *c, scimsync_err *err)
{
	(void)c;
	return fx_nop(err);
}

static FX_UNUSED int fx_put(scimsync_store_conn *c, const scimsync_resource *r,
			    int create, scimsync_err *err)
{
	(void)c, (void)r, (void)create;
	return fx_nop(err);
}

static FX_UNUSED int fx_del(scimsync_store_conn *c, const char *tenant,
			    int type, const char *id, scimsync_err *err)
{
	(void)c, (void)tenant, (void)type, (void)id;
	return fx_nop(err);
}

static FX_UNUSED int fx_member(scimsync_store_conn *c, const char *tenant,
			       const char *group_id, const char *member_id,
			       scimsync_err *err)
{
	(void)c, (void)tenant, (void)group_id, (void)member_id;
	return fx_nop(err);
}

static FX_UNUSED int fx_member_clear(scimsync_store_conn *c, const char *tenant,
				     const char *group_id, scimsync_err *err)
{
	(void)c, (void)tenant, (void)group_id;
	return fx_nop(err);
}

#define FIXTURE_HEADER                                                         \
	SCIMSYNC_PLUGIN_HEADER_INIT(                                           \
		SCIMSYNC_STORE_ABI_MAJOR, SCIMSYNC_STORE_ABI_MINOR,            \
		scimsync_store_plugin, SCIMSYNC_PLUGIN_STORE, "fixture", "0")

/* Every callback, with open and members chosen by the caller. */
#define FIXTURE_CALLBACKS_WITH(open_fn, members_fn)                            \
	.open = (open_fn), .close = fx_close, .conn_open = fx_conn_open,       \
	.conn_close = fx_conn_close, .get = fx_get, .list = fx_list,           \
	.count = fx_count, .members = (members_fn), .groups_of = fx_groups_of, \
	.begin = fx_tx, .commit = fx_tx, .rollback = fx_tx,                    \
	.savepoint = fx_tx, .release = fx_tx, .rollback_to = fx_tx,            \
	.put = fx_put, .del = fx_del, .member_add = fx_member,                 \
	.member_remove = fx_member, .member_clear = fx_member_clear

#define FIXTURE_CALLBACKS FIXTURE_CALLBACKS_WITH(fx_open, fx_members)

/* Defines the entry symbol returning desc's header. */
#define FIXTURE_ENTRY(desc)                                                    \
	const scimsync_plugin_header *scimsync_plugin_entry(void);             \
	const scimsync_plugin_header *scimsync_plugin_entry(void)              \
	{                                                                      \
		return &(desc).header;                                         \
	}

#endif
