/* struct_size short of the 1.0 descriptor (as if built against a header
 * without member_clear): rejected. */
#include <stddef.h>

#include "fixture.h"

static const scimsync_store_plugin desc = {
	.header = {SCIMSYNC_STORE_ABI_MAJOR, SCIMSYNC_STORE_ABI_MINOR,
		   (uint32_t)offsetof(scimsync_store_plugin, member_clear),
		   SCIMSYNC_PLUGIN_STORE, "short_size", "0"},
	FIXTURE_CALLBACKS};

FIXTURE_ENTRY(desc)
