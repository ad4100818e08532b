/* Loads, but open fails with a message. */
#include "fixture.h"

static int open_fails(scimsync_store **out, const scimsync_host *host,
		      const scimsync_option *options, scimsync_err *err)
{
	(void)host;
	(void)options;
	*out = NULL;
	err->code = SCIMSYNC_EFAIL;
	snprintf(err->message, sizeof(err->message),
		 "fixture: open fails on purpose");
	return SCIMSYNC_EFAIL;
}

static const scimsync_store_plugin desc = {
	.header = FIXTURE_HEADER,
	FIXTURE_CALLBACKS_WITH(open_fails, fx_members)};

FIXTURE_ENTRY(desc)
