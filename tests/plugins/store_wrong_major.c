/* ABI major one above the loader's: rejected. */
#include "fixture.h"

static const scimsync_store_plugin desc = {
	.header = SCIMSYNC_PLUGIN_HEADER_INIT(
		SCIMSYNC_STORE_ABI_MAJOR + 1, 0, scimsync_store_plugin,
		SCIMSYNC_PLUGIN_STORE, "wrong_major", "0"),
	FIXTURE_CALLBACKS};

FIXTURE_ENTRY(desc)
