/* A correct sink descriptor with every callback: loads, and works. */
#include "sink_fixture.h"

static const scimsync_sink_plugin desc = {.header = SINK_FIXTURE_HEADER,
					  SINK_FIXTURE_CALLBACKS};

SINK_FIXTURE_ENTRY(desc)
