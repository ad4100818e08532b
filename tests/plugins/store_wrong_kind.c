/* Says it is a sink: rejected by the store loader. */
#include "fixture.h"

static const scimsync_store_plugin desc = {
	.header = SCIMSYNC_PLUGIN_HEADER_INIT(
		SCIMSYNC_STORE_ABI_MAJOR, SCIMSYNC_STORE_ABI_MINOR,
		scimsync_store_plugin, SCIMSYNC_PLUGIN_SINK, "wrong_kind", "0"),
	FIXTURE_CALLBACKS};

FIXTURE_ENTRY(desc)
