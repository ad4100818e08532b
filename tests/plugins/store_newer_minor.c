/* Same major, a minor newer than the loader's: rejected. */
#include "fixture.h"

static const scimsync_store_plugin desc = {
	.header = SCIMSYNC_PLUGIN_HEADER_INIT(
		SCIMSYNC_STORE_ABI_MAJOR, SCIMSYNC_STORE_ABI_MINOR + 1,
		scimsync_store_plugin, SCIMSYNC_PLUGIN_STORE, "newer_minor",
		"0"),
	FIXTURE_CALLBACKS};

FIXTURE_ENTRY(desc)
