/* struct_size short of the 1.0 descriptor (ends before apply): rejected. */
#include <stddef.h>

#include "sink_fixture.h"

static const scimsync_sink_plugin desc = {
	.header = {SCIMSYNC_SINK_ABI_MAJOR, SCIMSYNC_SINK_ABI_MINOR,
		   (uint32_t)offsetof(scimsync_sink_plugin, apply),
		   SCIMSYNC_PLUGIN_SINK, "short_size", "0"},
	SINK_FIXTURE_CALLBACKS};

SINK_FIXTURE_ENTRY(desc)
