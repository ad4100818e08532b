/* ABI major one above the loader's: rejected. */
#include "sink_fixture.h"

static const scimsync_sink_plugin desc = {
	.header = SCIMSYNC_PLUGIN_HEADER_INIT(
		SCIMSYNC_SINK_ABI_MAJOR + 1, 0, scimsync_sink_plugin,
		SCIMSYNC_PLUGIN_SINK, "wrong_major", "0"),
	SINK_FIXTURE_CALLBACKS};

SINK_FIXTURE_ENTRY(desc)
