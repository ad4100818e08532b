/* Only the required callbacks (health and apply_many NULL): loads, and
 * PLUGIN_SINK_HAS says both are absent. */
#include "sink_fixture.h"

static const scimsync_sink_plugin desc = {
	.header = SCIMSYNC_PLUGIN_HEADER_INIT(
		SCIMSYNC_SINK_ABI_MAJOR, SCIMSYNC_SINK_ABI_MINOR,
		scimsync_sink_plugin, SCIMSYNC_PLUGIN_SINK, "required_only",
		"0"),
	SINK_FIXTURE_REQUIRED_WITH(sfx_apply)};

SINK_FIXTURE_ENTRY(desc)
