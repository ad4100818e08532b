/* sink_webhook.c - placeholder while the sink is written. */
#include "config.h"

#include <stdio.h>

#include <scimsync/sink.h>

static int stub_open(scimsync_sink **out, const scimsync_host *host,
		     const scimsync_option *options, scimsync_err *err)
{
	(void)out;
	(void)host;
	(void)options;
	err->code = SCIMSYNC_EFAIL;
	snprintf(err->message, sizeof(err->message), "not built yet");
	return SCIMSYNC_EFAIL;
}

static void stub_close(scimsync_sink *s)
{
	(void)s;
}

static int stub_apply(scimsync_sink *s, const scimsync_event *ev,
		      scimsync_err *err)
{
	(void)s;
	(void)ev;
	(void)err;
	return SCIMSYNC_EFAIL;
}

static const scimsync_sink_plugin desc = {
	.header = SCIMSYNC_PLUGIN_HEADER_INIT(
		SCIMSYNC_SINK_ABI_MAJOR, SCIMSYNC_SINK_ABI_MINOR,
		scimsync_sink_plugin, SCIMSYNC_PLUGIN_SINK, "webhook", "0"),
	.open = stub_open,
	.close = stub_close,
	.apply = stub_apply,
};

const scimsync_plugin_header *scimsync_plugin_entry(void);
const scimsync_plugin_header *scimsync_plugin_entry(void)
{
	return &desc.header;
}
