/* A required callback (members) is NULL: rejected. */
#include "fixture.h"

static const scimsync_store_plugin desc = {
	.header = FIXTURE_HEADER, FIXTURE_CALLBACKS_WITH(fx_open, NULL)};

FIXTURE_ENTRY(desc)
