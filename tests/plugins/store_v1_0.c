/* A plugin built against ABI 1.0: its descriptor ends at member_clear, so
 * the 1.1 entries (read_begin, read_end) lie beyond its struct_size and
 * must be treated as absent. Loaded. */
#include <stddef.h>

#include "fixture.h"

static const scimsync_store_plugin desc = {
	.header = {SCIMSYNC_STORE_ABI_MAJOR, 0,
		   (uint32_t)offsetof(scimsync_store_plugin, read_begin),
		   SCIMSYNC_PLUGIN_STORE, "v1_0", "0"},
	FIXTURE_CALLBACKS};

FIXTURE_ENTRY(desc)
