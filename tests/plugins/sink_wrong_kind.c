/* A sink descriptor that says it is a store: rejected by the sink
 * loader. */
#include "sink_fixture.h"

static const scimsync_sink_plugin desc = {
	.header = SCIMSYNC_PLUGIN_HEADER_INIT(
		SCIMSYNC_SINK_ABI_MAJOR, SCIMSYNC_SINK_ABI_MINOR,
		scimsync_sink_plugin, SCIMSYNC_PLUGIN_STORE, "wrong_kind", "0"),
	SINK_FIXTURE_CALLBACKS};

SINK_FIXTURE_ENTRY(desc)
