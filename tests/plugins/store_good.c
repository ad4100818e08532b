/* A correct store descriptor: loads. */
#include "fixture.h"

static const scimsync_store_plugin desc = {.header = FIXTURE_HEADER,
					   FIXTURE_CALLBACKS};

FIXTURE_ENTRY(desc)
