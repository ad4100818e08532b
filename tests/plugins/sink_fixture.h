/* sink_fixture.h - a sink that counts, for the sink loader tests
 * (check_sink.c).
 *
 * Each sink_<case>.c fills a descriptor from SINK_FIXTURE_CALLBACKS,
 * changes the one thing its case is about and exports SINK_FIXTURE_ENTRY.
 *
 * The sink keeps its state in memory (one per open: two sinks configured
 * with the same plugin must not share anything). Options: "reject" names
 * an event type apply fails permanently; "retry" one it asks to retry;
 * any other option fails open, naming it. apply counts the events and the
 * attribute values it saw and keeps the last key; health reports them in
 * its message, which is how the tests look inside.
 */
#ifndef SCIMSYNC_TEST_SINK_FIXTURE_H
#define SCIMSYNC_TEST_SINK_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <scimsync/sink.h>

#define SFX_UNUSED __attribute__((unused))

struct scimsync_sink {
	const scimsync_host *host;
	char reject[64];
	char retry[64];
	char last_key[64];
	long events;
	long values;
};

static SFX_UNUSED int sfx_err(scimsync_err *err, int code, const char *what,
			      const char *arg)
{
	err->code = code;
	snprintf(err->message, sizeof(err->message), "fixture: %s%s%s%s", what,
		 arg != NULL ? " '" : "", arg != NULL ? arg : "",
		 arg != NULL ? "'" : "");
	return code;
}

static SFX_UNUSED int sfx_open(scimsync_sink **out, const scimsync_host *host,
			       const scimsync_option *options,
			       scimsync_err *err)
{
	scimsync_sink *s;
	const scimsync_option *o;

	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return sfx_err(err, SCIMSYNC_ERETRY, "out of memory", NULL);
	s->host = host;
	for (o = options; o != NULL && o->key != NULL; o++) {
		if (strcmp(o->key, "reject") == 0) {
			snprintf(s->reject, sizeof(s->reject), "%s", o->value);
		} else if (strcmp(o->key, "retry") == 0) {
			snprintf(s->retry, sizeof(s->retry), "%s", o->value);
		} else {
			free(s);
			return sfx_err(err, SCIMSYNC_EFAIL, "unknown option",
				       o->key);
		}
	}
	if (host != NULL && host->log != NULL)
		host->log(SCIMSYNC_LOG_INFO, "fixture", "opened");
	*out = s;
	return SCIMSYNC_OK;
}

static SFX_UNUSED void sfx_close(scimsync_sink *s)
{
	free(s);
}

static SFX_UNUSED int sfx_apply(scimsync_sink *s, const scimsync_event *ev,
				scimsync_err *err)
{
	size_t i;

	if (ev->type == NULL || ev->key == NULL)
		return sfx_err(err, SCIMSYNC_EFAIL, "event without type or key",
			       NULL);
	if (strcmp(ev->type, s->reject) == 0)
		return sfx_err(err, SCIMSYNC_EFAIL, "rejects", ev->type);
	if (strcmp(ev->type, s->retry) == 0)
		return sfx_err(err, SCIMSYNC_ERETRY, "retry", ev->type);
	for (i = 0; i < ev->n_attrs; i++)
		s->values += (long)ev->attrs[i].n_values;
	snprintf(s->last_key, sizeof(s->last_key), "%s", ev->key);
	s->events++;
	return SCIMSYNC_OK;
}

static SFX_UNUSED int sfx_health(scimsync_sink *s, scimsync_err *err)
{
	err->code = SCIMSYNC_OK;
	snprintf(err->message, sizeof(err->message),
		 "events %ld, values %ld, last key %s", s->events, s->values,
		 s->last_key);
	return SCIMSYNC_OK;
}

static SFX_UNUSED int sfx_apply_many(scimsync_sink *s,
				     const scimsync_event *const *evs, size_t n,
				     size_t *done, scimsync_err *err)
{
	int rc;

	for (*done = 0; *done < n; (*done)++)
		if ((rc = sfx_apply(s, evs[*done], err)) != SCIMSYNC_OK)
			return rc;
	return SCIMSYNC_OK;
}

#define SINK_FIXTURE_HEADER                                                    \
	SCIMSYNC_PLUGIN_HEADER_INIT(                                           \
		SCIMSYNC_SINK_ABI_MAJOR, SCIMSYNC_SINK_ABI_MINOR,              \
		scimsync_sink_plugin, SCIMSYNC_PLUGIN_SINK, "fixture", "0")

/* The required callbacks, with apply chosen by the caller. */
#define SINK_FIXTURE_REQUIRED_WITH(apply_fn)                                   \
	.open = sfx_open, .close = sfx_close, .apply = (apply_fn)

/* Every callback, the optional ones too. */
#define SINK_FIXTURE_CALLBACKS                                                 \
	SINK_FIXTURE_REQUIRED_WITH(sfx_apply), .health = sfx_health,           \
					       .apply_many = sfx_apply_many

/* Defines the entry symbol returning desc's header. */
#define SINK_FIXTURE_ENTRY(desc)                                               \
	const scimsync_plugin_header *scimsync_plugin_entry(void);             \
	const scimsync_plugin_header *scimsync_plugin_entry(void)              \
	{                                                                      \
		return &(desc).header;                                         \
	}

#endif
