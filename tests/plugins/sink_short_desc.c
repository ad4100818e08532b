/* A descriptor whose struct_size ends right after apply (as if built
 * against a header without the optional entries): loads, and health and
 * apply_many, though set, lie beyond struct_size and count as absent. */
#include <stddef.h>

#include "sink_fixture.h"

static const scimsync_sink_plugin desc = {
	.header = {SCIMSYNC_SINK_ABI_MAJOR, 0,
		   (uint32_t)offsetof(scimsync_sink_plugin, health),
		   SCIMSYNC_PLUGIN_SINK, "short_desc", "0"},
	SINK_FIXTURE_CALLBACKS};

SINK_FIXTURE_ENTRY(desc)
