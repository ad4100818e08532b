/* Same major, a minor newer than the loader's: rejected. */
#include "sink_fixture.h"

static const scimsync_sink_plugin desc = {
	.header = SCIMSYNC_PLUGIN_HEADER_INIT(
		SCIMSYNC_SINK_ABI_MAJOR, SCIMSYNC_SINK_ABI_MINOR + 1,
		scimsync_sink_plugin, SCIMSYNC_PLUGIN_SINK, "newer_minor", "0"),
	SINK_FIXTURE_CALLBACKS};

SINK_FIXTURE_ENTRY(desc)
