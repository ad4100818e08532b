/* A descriptor without a name: rejected. */
#include "sink_fixture.h"

static const scimsync_sink_plugin desc = {
	.header = SCIMSYNC_PLUGIN_HEADER_INIT(
		SCIMSYNC_SINK_ABI_MAJOR, SCIMSYNC_SINK_ABI_MINOR,
		scimsync_sink_plugin, SCIMSYNC_PLUGIN_SINK, "", "0"),
	SINK_FIXTURE_CALLBACKS};

SINK_FIXTURE_ENTRY(desc)
