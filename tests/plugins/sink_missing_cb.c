/* A required callback (apply) is NULL: rejected. */
#include "sink_fixture.h"

static const scimsync_sink_plugin desc = {.header = SINK_FIXTURE_HEADER,
					  SINK_FIXTURE_REQUIRED_WITH(NULL),
					  .health = sfx_health,
					  .apply_many = sfx_apply_many};

SINK_FIXTURE_ENTRY(desc)
