/* admin.h - the admin API: tenants, tokens and audit queries, on a
 * listener of its own (loopback by default) with its own credential.
 *
 * One thread runs its own libevent base and serves one request at a time;
 * a write blocks that thread (not the SCIM workers) until the writer has
 * made it durable. The API is described in README.md, "Admin API". */
#ifndef SCIMSYNC_ADMIN_H
#define SCIMSYNC_ADMIN_H

#include <stddef.h>

#include <scimsync/store.h>

#include "audit.h"
#include "conf.h"
#include "dispatch.h"
#include "tenant.h"

typedef struct admin_srv admin_srv;

/* Bind cfg->admin_address:admin_port and start the thread. Everything
 * passed is borrowed until admin_stop. -1 with errbuf on failure. */
int admin_start(admin_srv **out, const scimsync_config *cfg, tenant_reg *reg,
		audit_log *audit, dispatch_set *sinks,
		const scimsync_store_plugin *p, scimsync_store *s,
		const char *scim_base_url, char *errbuf, size_t errlen);

/* Stop accepting, finish the request being served, join, free. NULL:
 * no-op. */
void admin_stop(admin_srv *a);

#endif
