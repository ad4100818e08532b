/* dispatch.c - one dispatcher per configured sink (see dispatch.h). */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "dispatch.h"
#include "log.h"
#include "mapping.h"
#include "outbox.h"
#include "plugin_load.h"
#include "scim_server.h"
#include "strutil.h"
#include "tenant.h"

#define LATENCY_RING 4096
#define CURSOR_EVERY_MS 250
#define HEALTH_EVERY_MS 10000
#define ROLES_MAPPING "roles"

typedef struct sink_rt {
	dispatch_set *set;
	const scimsync_sink_conf *conf;
	const scimsync_sink_plugin *plugin;
	void *handle;
	scimsync_sink *state;
	scimsync_store_conn *reader;
	pthread_t thread;
	bool started;

	pthread_mutex_t mu; /* everything below */
	pthread_cond_t cv;
	bool wake, stop;
	const char *status; /* "idle", "delivering", "retrying" */
	int64_t cursor;
	uint64_t delivered, retries, failed;
	char last_error[256];
	int64_t last_error_ms;
	double lat[LATENCY_RING]; /* commit -> applied, ms */
	size_t n_lat;
	char health[300]; /* the plugin's last health answer, or "" */
	int64_t health_ms;
} sink_rt;

struct dispatch_set {
	struct scim_srv *srv;
	size_t n;
	sink_rt *sinks;
	pthread_mutex_t admin_mu; /* admin_reader */
	scimsync_store_conn *admin_reader;
	/* dispatch_prune's last pass (main thread only): nothing to do
	 * while the slowest cursor stays there and that pass emptied it. */
	int64_t pruned_upto;
	bool prune_more;
};

static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void set_error(sink_rt *s, const char *msg)
{
	pthread_mutex_lock(&s->mu);
	snprintf(s->last_error, sizeof(s->last_error), "%s", msg);
	s->last_error_ms = wall_ms();
	pthread_mutex_unlock(&s->mu);
}

/* Wait on the sink's condition until woken, stopped or ms pass. Returns
 * true when stopping. */
static bool wait_ms(sink_rt *s, int64_t ms, bool until_woken)
{
	struct timespec until;
	bool stop;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (ms % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&s->mu);
	while (!s->stop && !(until_woken && s->wake))
		if (pthread_cond_timedwait(&s->cv, &s->mu, &until) == ETIMEDOUT)
			break;
	if (until_woken)
		s->wake = false;
	stop = s->stop;
	pthread_mutex_unlock(&s->mu);
	return stop;
}

/* ---- Events as the ABI passes them ---- */

/* One outbox event, parsed, with its ABI view. */
typedef struct prepared {
	int64_t seq;
	json_t *ev;    /* the event */
	json_t *attrs; /* rendered mapping {name: [values]} or NULL */
	char *ev_text; /* the event text (a copy: the store's is borrowed) */
	size_t ev_len;
	char *res_text;
	scimsync_event abi;
	const char **strs; /* every string array of abi, one block */
	scimsync_attr *av;
	bool skip;	/* not for this sink */
	char fail[256]; /* set: cannot be delivered (mapping error) */
} prepared;

static void prepared_clear(prepared *pe)
{
	json_decref(pe->ev);
	json_decref(pe->attrs);
	free(pe->ev_text);
	free(pe->res_text);
	free(pe->strs);
	free(pe->av);
	memset(pe, 0, sizeof(*pe));
}

static bool tenant_allowed(const scimsync_sink_conf *c, const char *tenant)
{
	if (c->tenants == NULL)
		return true;
	for (char **t = c->tenants; *t; t++)
		if (strcmp(*t, tenant) == 0)
			return true;
	return false;
}

/* Pointers to the strings of a JSON array, into *p (advanced). */
static const char *const *strs_of(const json_t *arr, const char ***p, size_t *n)
{
	const char *const *start = *p;
	size_t i;
	json_t *v;

	*n = 0;
	json_array_foreach (arr, i, v)
		if (json_is_string(v)) {
			*(*p)++ = json_string_value(v);
			(*n)++;
		}
	return *n ? start : NULL;
}

static const char *str_or_null(const json_t *ev, const char *k)
{
	const char *s = json_string_value(json_object_get(ev, k));

	return s && *s ? s : NULL;
}

static void prepare(sink_rt *s, prepared *pe, int64_t seq, const char *json,
		    size_t len)
{
	struct scim_srv *srv = s->set->srv;
	const json_t *resource;
	const char *type, *tenant, *only;
	size_t nstr = 0, i, k;
	const char **p;
	json_t *v;

	memset(pe, 0, sizeof(*pe));
	pe->seq = seq;
	/* The text is kept whatever happens: a dead letter stores it. */
	pe->ev_text = strndup(json, len);
	pe->ev_len = pe->ev_text ? len : 0;
	pe->ev = json_loadb(json, len, 0, NULL);
	tenant = json_string_value(json_object_get(pe->ev, "tenant"));
	type = json_string_value(json_object_get(pe->ev, "type"));
	only = str_or_null(pe->ev, "only_sink");
	if (pe->ev == NULL || tenant == NULL || type == NULL ||
	    !json_is_string(json_object_get(pe->ev, "resource_type"))) {
		snprintf(pe->fail, sizeof(pe->fail),
			 "outbox event %" PRId64 " is unreadable", seq);
		return;
	}
	if (!tenant_allowed(s->conf, tenant) ||
	    (only && strcmp(only, s->conf->name) != 0)) {
		pe->skip = true;
		return;
	}
	resource = json_object_get(pe->ev, "resource");
	if (s->conf->mapping) {
		mapset_ref *ref = tenant_mapping_acquire(srv->tenants, tenant,
							 s->conf->mapping);
		json_t *evobj = json_pack("{s:s}", "type", type);
		mapping_error merr;

		if (ref == NULL) {
			snprintf(pe->fail, sizeof(pe->fail),
				 "no mapping '%s' for tenant %s",
				 s->conf->mapping, tenant);
		} else if (mapping_eval(
				   &pe->attrs, mapset_ref_mapping(ref),
				   strcmp(json_string_value(json_object_get(
						  pe->ev, "resource_type")),
					  "Group") == 0
					   ? MAPPING_GROUP
					   : MAPPING_USER,
				   resource, evobj, &merr) < 0) {
			char msg[700];

			snprintf(pe->fail, sizeof(pe->fail), "mapping: %s",
				 mapping_error_format(msg, sizeof(msg), &merr));
		}
		json_decref(evobj);
		if (ref)
			mapset_release(srv->maps, ref);
		if (pe->fail[0])
			return;
	}
	pe->res_text = json_dumps(resource ? resource : json_null(),
				  JSON_COMPACT | JSON_ENCODE_ANY |
					  JSON_PRESERVE_ORDER);
	/* One block for every string pointer the event needs. */
	nstr = json_array_size(json_object_get(pe->ev, "changed")) +
	       json_array_size(json_object_get(pe->ev, "members"));
	json_object_foreach (pe->attrs, type, v)
		nstr += json_array_size(v);
	pe->strs = calloc(nstr + 1, sizeof(*pe->strs));
	pe->av = calloc(json_object_size(pe->attrs) + 1, sizeof(*pe->av));
	if (pe->strs == NULL || pe->av == NULL || pe->ev_text == NULL ||
	    pe->res_text == NULL) {
		snprintf(pe->fail, sizeof(pe->fail), "out of memory");
		return;
	}
	p = pe->strs;
	pe->abi.struct_size = sizeof(pe->abi);
	pe->abi.seq = seq;
	pe->abi.key = json_string_value(json_object_get(pe->ev, "key"));
	pe->abi.type = json_string_value(json_object_get(pe->ev, "type"));
	pe->abi.tenant = tenant;
	pe->abi.time_ms =
		json_integer_value(json_object_get(pe->ev, "time_ms"));
	pe->abi.resource_type =
		json_string_value(json_object_get(pe->ev, "resource_type"));
	pe->abi.resource_id =
		json_string_value(json_object_get(pe->ev, "resource_id"));
	pe->abi.version =
		json_integer_value(json_object_get(pe->ev, "version"));
	pe->abi.changed = strs_of(json_object_get(pe->ev, "changed"), &p,
				  &pe->abi.n_changed);
	pe->abi.members = strs_of(json_object_get(pe->ev, "members"), &p,
				  &pe->abi.n_members);
	pe->abi.role = str_or_null(pe->ev, "role");
	pe->abi.user_id = str_or_null(pe->ev, "user_id");
	pe->abi.group_id = str_or_null(pe->ev, "group_id");
	k = 0;
	json_object_foreach (pe->attrs, type, v) {
		pe->av[k].name = type;
		pe->av[k].values = strs_of(v, &p, &i);
		pe->av[k].n_values = i;
		if (i > 0)
			k++;
	}
	pe->abi.attrs = k ? pe->av : NULL;
	pe->abi.n_attrs = k;
	pe->abi.resource_json = pe->res_text;
	pe->abi.resource_json_len = strlen(pe->res_text);
	pe->abi.event_json = pe->ev_text;
	pe->abi.event_json_len = pe->ev_len;
}

/* ---- Writes the dispatcher makes ---- */

typedef struct cursor_arg {
	const char *sink;
	int64_t seq;
} cursor_arg;

static int cursor_fn(void *arg, const scimsync_store_plugin *p,
		     scimsync_store_conn *c)
{
	cursor_arg *a = arg;
	scimsync_err err = {0};

	return outbox_cursor_set(p, c, a->sink, a->seq, &err);
}

static int store_cursor(sink_rt *s, int64_t seq)
{
	cursor_arg a = {s->conf->name, seq};

	return writer_run_sync(s->set->srv->writer, cursor_fn, &a);
}

typedef struct dead_arg {
	const char *sink;
	const prepared *pe;
	const char *json;
	size_t len;
	const char *reason;
} dead_arg;

static int dead_fn(void *arg, const scimsync_store_plugin *p,
		   scimsync_store_conn *c)
{
	dead_arg *a = arg;
	scimsync_err err = {0};

	return outbox_dead_put(p, c, a->sink, a->pe->seq, a->json, a->len,
			       a->reason, wall_ms(), &err);
}

/* ---- The loop ---- */

typedef struct batch {
	prepared *v;
	size_t n;
} batch;

static void note_latency(sink_rt *s, const prepared *pe)
{
	double ms = (double)(wall_ms() - pe->abi.time_ms);

	pthread_mutex_lock(&s->mu);
	s->lat[s->n_lat++ % LATENCY_RING] = ms < 0 ? 0 : ms;
	s->delivered++;
	s->cursor = pe->seq;
	pthread_mutex_unlock(&s->mu);
}

/* Move pe to the dead letters (retrying the store write until it works
 * or we stop). */
static bool dead_letter(sink_rt *s, const prepared *pe, const char *reason)
{
	dead_arg a = {s->conf->name, pe, pe->ev_text ? pe->ev_text : "{}",
		      pe->ev_text ? pe->ev_len : 2, reason};

	log_msg(LOG_WARN, s->conf->name,
		"event %" PRId64 " (%s) failed for good, kept as a dead "
		"letter: %s",
		pe->seq, pe->abi.type ? pe->abi.type : "?", reason);
	set_error(s, reason);
	while (writer_run_sync(s->set->srv->writer, dead_fn, &a) != 0) {
		/* The event stays where it is until the store takes it: the
		 * sink is held up, and says why. */
		log_msg(LOG_ERR, s->conf->name,
			"event %" PRId64 ": the store refused the dead letter; "
			"trying again in 1 s",
			pe->seq);
		set_error(s, "the store refused a dead letter");
		if (wait_ms(s, 1000, false))
			return false;
	}
	pthread_mutex_lock(&s->mu);
	s->failed++;
	s->cursor = pe->seq;
	pthread_mutex_unlock(&s->mu);
	return true;
}

/* The target's own wish (ABI 1.1 retry_after), when longer than our
 * backoff: at most RETRY_AFTER_MAX_MS, so a bogus header cannot park a
 * sink for days. */
#define RETRY_AFTER_MAX_MS (3600 * 1000)
static int64_t honour_retry_after(sink_rt *s, int64_t wait)
{
	int64_t want;

	if (!PLUGIN_SINK_HAS(s->plugin, retry_after))
		return wait;
	want = s->plugin->retry_after(s->state);
	if (want > RETRY_AFTER_MAX_MS)
		want = RETRY_AFTER_MAX_MS;
	return want > wait ? want : wait;
}

/* Deliver b->v[from..], backing off on retry. Returns false when stopped
 * before the batch was through. */
static bool deliver(sink_rt *s, batch *b)
{
	const scimsync_sink_plugin *pl = s->plugin;
	bool many = PLUGIN_SINK_HAS(pl, apply_many);
	int64_t delay = s->conf->retry_initial_ms;
	size_t i = 0;

	while (i < b->n) {
		prepared *pe = &b->v[i];
		scimsync_err err = {0};
		size_t done = 0, n = 0;
		int rc;

		if (pe->skip) {
			pthread_mutex_lock(&s->mu);
			s->cursor = pe->seq;
			pthread_mutex_unlock(&s->mu);
			i++;
			continue;
		}
		if (pe->fail[0]) {
			if (!dead_letter(s, pe, pe->fail))
				return false;
			i++;
			continue;
		}
		if (many) {
			const scimsync_event *evs[256];

			while (i + n < b->n && n < 256 && !b->v[i + n].skip &&
			       !b->v[i + n].fail[0]) {
				evs[n] = &b->v[i + n].abi;
				n++;
			}
			rc = pl->apply_many(s->state, evs, n, &done, &err);
			/* A plugin that reports an error with every event
			 * done has broken the ABI's rule: the error is the
			 * last event's, so that one is retried or kept. */
			if (rc == SCIMSYNC_OK || done > n)
				done = n;
			if (rc != SCIMSYNC_OK && done == n)
				done = n - 1;
		} else {
			rc = pl->apply(s->state, &pe->abi, &err);
			done = rc == SCIMSYNC_OK ? 1 : 0;
		}
		for (size_t k = 0; k < done; k++)
			note_latency(s, &b->v[i + k]);
		i += done;
		if (rc == SCIMSYNC_OK) {
			delay = s->conf->retry_initial_ms;
			continue;
		}
		pe = &b->v[i];
		if (rc == SCIMSYNC_EFAIL) {
			if (!dead_letter(s, pe,
					 err.message[0] ? err.message
							: "failed"))
				return false;
			i++;
			continue;
		}
		/* Retry: back off with full jitter, then the same event. */
		{
			uint32_t r = 0;
			int64_t wait;

			RAND_bytes((unsigned char *)&r, sizeof(r));
			wait = delay / 2 +
			       (int64_t)(r % (uint32_t)(delay / 2 + 1));
			wait = honour_retry_after(s, wait);
			set_error(s, err.message[0] ? err.message
						    : "retry requested");
			pthread_mutex_lock(&s->mu);
			s->retries++;
			s->status = "retrying";
			pthread_mutex_unlock(&s->mu);
			log_msg(LOG_INFO, s->conf->name,
				"event %" PRId64 " will be retried in %" PRId64
				" ms: %s",
				pe->seq, wait, err.message);
			if (wait_ms(s, wait, false))
				return false;
			delay = delay * 2 > s->conf->retry_max_ms
					? s->conf->retry_max_ms
					: delay * 2;
			pthread_mutex_lock(&s->mu);
			s->status = "delivering";
			pthread_mutex_unlock(&s->mu);
		}
	}
	return true;
}

static int read_cb(int64_t seq, const char *json, size_t len, void *payload)
{
	void **ctx = payload;
	sink_rt *s = ctx[0];
	batch *b = ctx[1];

	prepare(s, &b->v[b->n++], seq, json, len);
	return 0;
}

/* When idle, at most every HEALTH_EVERY_MS: ask the plugin whether its
 * target is reachable (on this thread, as the ABI promises). */
static void check_health(sink_rt *s)
{
	scimsync_err err = {0};
	int rc;

	if (!PLUGIN_SINK_HAS(s->plugin, health) ||
	    wall_ms() - s->health_ms < HEALTH_EVERY_MS)
		return;
	rc = s->plugin->health(s->state, &err);
	pthread_mutex_lock(&s->mu);
	s->health_ms = wall_ms();
	snprintf(s->health, sizeof(s->health), "%s%s%s",
		 rc == SCIMSYNC_OK ? "ok" : "unreachable",
		 err.message[0] ? ": " : "", err.message);
	pthread_mutex_unlock(&s->mu);
}

static void *sink_main(void *arg)
{
	sink_rt *s = arg;
	const scimsync_store_plugin *sp = s->set->srv->sp;
	int64_t stored, stored_at = 0;
	bool more;
	char name[16];

	snprintf(name, sizeof(name), "sink-%.10s", s->conf->name);
	pthread_setname_np(pthread_self(), name);
	pthread_mutex_lock(&s->mu);
	stored = s->cursor;
	pthread_mutex_unlock(&s->mu);
	/* One batch array for the thread's life: prepared_clear leaves
	 * each entry as calloc did. */
	size_t cap = (size_t)s->conf->batch;
	batch b = {calloc(cap, sizeof(prepared)), 0};

	for (;;) {
		void *ctx[2] = {s, &b};
		scimsync_err err = {0};
		int64_t cursor;
		bool ok = true;
		int rc;

		pthread_mutex_lock(&s->mu);
		cursor = s->cursor;
		pthread_mutex_unlock(&s->mu);
		if (b.v == NULL)
			rc = SCIMSYNC_ERETRY;
		else
			rc = outbox_read(sp, s->reader, cursor, (int64_t)cap,
					 read_cb, ctx, &err);
		if (rc == SCIMSYNC_OK && b.n > 0) {
			pthread_mutex_lock(&s->mu);
			s->status = "delivering";
			pthread_mutex_unlock(&s->mu);
			ok = deliver(s, &b);
		} else if (rc != SCIMSYNC_OK) {
			set_error(s, err.message[0] ? err.message
						    : "cannot read the outbox");
		}
		for (size_t i = 0; i < b.n; i++)
			prepared_clear(&b.v[i]);
		pthread_mutex_lock(&s->mu);
		cursor = s->cursor;
		pthread_mutex_unlock(&s->mu);
		/* Store the cursor when caught up, when stopping, or at most
		 * every CURSOR_EVERY_MS while busy: each store is a commit,
		 * and a crash then repeats at most that much (same keys). */
		more = rc == SCIMSYNC_OK && b.n == cap;
		b.n = 0;
		if (cursor != stored &&
		    (!more || !ok ||
		     wall_ms() - stored_at >= CURSOR_EVERY_MS) &&
		    store_cursor(s, cursor) == 0) {
			stored = cursor;
			stored_at = wall_ms();
		}
		if (!ok)
			break;
		if (more)
			continue;
		pthread_mutex_lock(&s->mu);
		s->status = "idle";
		pthread_mutex_unlock(&s->mu);
		check_health(s);
		if (wait_ms(s, rc == SCIMSYNC_OK ? 1000 : 500, true))
			break;
	}
	free(b.v);
	pthread_mutex_lock(&s->mu);
	s->status = "stopped";
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

/* ---- Life ---- */

void dispatch_notify(void *set)
{
	dispatch_set *d = set;

	for (size_t i = 0; d && i < d->n; i++) {
		sink_rt *s = &d->sinks[i];

		pthread_mutex_lock(&s->mu);
		s->wake = true;
		pthread_cond_signal(&s->cv);
		pthread_mutex_unlock(&s->mu);
	}
}

int dispatch_start(dispatch_set **out, struct scim_srv *srv, char *errbuf,
		   size_t errlen)
{
	const scimsync_config *cfg = srv->cfg;
	dispatch_set *d = calloc(1, sizeof(*d));
	scimsync_err err = {0};

	*out = NULL;
	if (d == NULL ||
	    (d->sinks = calloc(cfg->n_sinks + 1, sizeof(sink_rt))) == NULL) {
		free(d);
		snprintf(errbuf, errlen, "out of memory");
		return -1;
	}
	d->srv = srv;
	pthread_mutex_init(&d->admin_mu, NULL);
	if (srv->sp->conn_open(&d->admin_reader, srv->store, 0, &err) != 0) {
		snprintf(errbuf, errlen, "sinks: store connection: %s",
			 err.message);
		dispatch_stop(d);
		return -1;
	}
	for (size_t i = 0; i < cfg->n_sinks; i++) {
		sink_rt *s = &d->sinks[i];
		const scimsync_sink_conf *sc = &cfg->sinks[i];
		char why[600];

		s->set = d;
		s->conf = sc;
		s->status = "starting";
		pthread_mutex_init(&s->mu, NULL);
		pthread_cond_init(&s->cv, NULL);
		d->n++;
		if (sc->mapping) {
			/* Checked only: each event takes its own reference
			 * (a tenant's file of that name wins). */
			mapset_ref *chk =
				mapset_acquire(srv->maps, sc->mapping);

			if (chk == NULL) {
				snprintf(errbuf, errlen,
					 "sink '%s': no mapping named '%s' in "
					 "'mappings'",
					 sc->name, sc->mapping);
				dispatch_stop(d);
				return -1;
			}
			mapset_release(srv->maps, chk);
		}
		if (plugin_load_sink(&s->plugin, &s->handle, sc->plugin,
				     cfg->plugin_dir, why, sizeof(why)) < 0) {
			snprintf(errbuf, errlen, "sink '%s': %s", sc->name,
				 why);
			dispatch_stop(d);
			return -1;
		}
		if (s->plugin->open(&s->state, scim_host_services(),
				    sc->options, &err) != SCIMSYNC_OK) {
			snprintf(errbuf, errlen,
				 "sink '%s' (plugin %s): open failed: %s",
				 sc->name, s->plugin->header.name, err.message);
			s->state = NULL;
			dispatch_stop(d);
			return -1;
		}
		if (srv->sp->conn_open(&s->reader, srv->store, 0, &err) != 0 ||
		    outbox_cursor_get(srv->sp, s->reader, sc->name, &s->cursor,
				      &err) != 0) {
			snprintf(errbuf, errlen, "sink '%s': store: %s",
				 sc->name, err.message);
			dispatch_stop(d);
			return -1;
		}
		if (pthread_create(&s->thread, NULL, sink_main, s) != 0) {
			snprintf(errbuf, errlen, "sink '%s': no thread",
				 sc->name);
			dispatch_stop(d);
			return -1;
		}
		s->started = true;
		log_msg(LOG_INFO, "sink",
			"'%s' (plugin %s %s) delivering from outbox position "
			"%" PRId64,
			sc->name, s->plugin->header.name,
			s->plugin->header.version, s->cursor);
	}
	*out = d;
	return 0;
}

void dispatch_stop(dispatch_set *d)
{
	if (d == NULL)
		return;
	for (size_t i = 0; i < d->n; i++) {
		sink_rt *s = &d->sinks[i];

		pthread_mutex_lock(&s->mu);
		s->stop = true;
		pthread_cond_signal(&s->cv);
		pthread_mutex_unlock(&s->mu);
	}
	for (size_t i = 0; i < d->n; i++) {
		sink_rt *s = &d->sinks[i];

		if (s->started)
			pthread_join(s->thread, NULL);
		if (s->state)
			s->plugin->close(s->state);
		if (s->reader)
			d->srv->sp->conn_close(s->reader);
		if (s->handle)
			plugin_unload(s->handle);
		pthread_mutex_destroy(&s->mu);
		pthread_cond_destroy(&s->cv);
	}
	if (d->admin_reader)
		d->srv->sp->conn_close(d->admin_reader);
	pthread_mutex_destroy(&d->admin_mu);
	free(d->sinks);
	free(d);
}

/* ---- Pruning ---- */

typedef struct prune_arg {
	int64_t upto;
	int max, deleted;
} prune_arg;

static int prune_fn(void *arg, const scimsync_store_plugin *p,
		    scimsync_store_conn *c)
{
	prune_arg *a = arg;
	scimsync_err err = {0};

	return outbox_prune(p, c, a->upto, a->max, &a->deleted, &err);
}

void dispatch_prune(dispatch_set *d, int max)
{
	prune_arg a = {INT64_MAX, max, 0};

	if (d == NULL || d->n == 0)
		return;
	for (size_t i = 0; i < d->n; i++) {
		pthread_mutex_lock(&d->sinks[i].mu);
		if (d->sinks[i].cursor < a.upto)
			a.upto = d->sinks[i].cursor;
		pthread_mutex_unlock(&d->sinks[i].mu);
	}
	/* An idle server would otherwise commit every few seconds. */
	if (a.upto <= 0 || (a.upto == d->pruned_upto && !d->prune_more))
		return;
	if (writer_run_sync(d->srv->writer, prune_fn, &a) != 0)
		return;
	d->pruned_upto = a.upto;
	d->prune_more = a.deleted >= max;
	if (a.deleted > 0)
		log_msg(LOG_DEBUG, "sink", "pruned %d delivered events",
			a.deleted);
}

/* ---- Admin ---- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static sink_rt *find(dispatch_set *d, const char *name)
{
	for (size_t i = 0; d && i < d->n; i++)
		if (strcmp(d->sinks[i].conf->name, name) == 0)
			return &d->sinks[i];
	return NULL;
}

int dispatch_sink_takes(dispatch_set *d, const char *name, const char *tenant)
{
	sink_rt *s = find(d, name);

	if (s == NULL)
		return -1;
	return tenant == NULL || tenant_allowed(s->conf, tenant);
}

static json_t *sink_json(dispatch_set *d, sink_rt *s)
{
	const scimsync_store_plugin *sp = d->srv->sp;
	int64_t lag = -1, dead = -1, cursor;
	scimsync_err err = {0};
	double *lat, p50 = 0, p99 = 0;
	size_t n;
	char when[32] = "";
	json_t *o;

	pthread_mutex_lock(&s->mu);
	cursor = s->cursor;
	n = s->n_lat < LATENCY_RING ? s->n_lat : LATENCY_RING;
	lat = malloc((n + 1) * sizeof(*lat));
	if (lat)
		memcpy(lat, s->lat, n * sizeof(*lat));
	o = json_pack("{s:s,s:s,s:s,s:I,s:I,s:I,s:I}", "name", s->conf->name,
		      "plugin", s->plugin ? s->plugin->header.name : "",
		      "state", s->status, "cursor", (json_int_t)cursor,
		      "delivered", (json_int_t)s->delivered, "retries",
		      (json_int_t)s->retries, "failed", (json_int_t)s->failed);
	json_object_set_new(o, "last_error",
			    s->last_error[0] ? json_string(s->last_error)
					     : json_null());
	json_object_set_new(o, "health",
			    s->health[0] ? json_string(s->health)
					 : json_null());
	if (s->last_error_ms)
		scim_time_format(when, s->last_error_ms);
	json_object_set_new(o, "last_error_time",
			    when[0] ? json_string(when) : json_null());
	pthread_mutex_unlock(&s->mu);
	pthread_mutex_lock(&d->admin_mu);
	outbox_count(sp, d->admin_reader, cursor, &lag, &err);
	outbox_dead_count(sp, d->admin_reader, s->conf->name, &dead, &err);
	pthread_mutex_unlock(&d->admin_mu);
	json_object_set_new(o, "lag", json_integer(lag));
	json_object_set_new(o, "dead_letters", json_integer(dead));
	if (lat && n > 0) {
		qsort(lat, n, sizeof(*lat), cmp_double);
		p50 = lat[n / 2];
		p99 = lat[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1];
	}
	free(lat);
	json_object_set_new(o, "latency_ms",
			    json_pack("{s:f,s:f,s:I}", "p50", p50, "p99", p99,
				      "samples", (json_int_t)n));
	return o;
}

json_t *dispatch_status(dispatch_set *d)
{
	json_t *arr = json_array();

	for (size_t i = 0; d && i < d->n; i++)
		json_array_append_new(arr, sink_json(d, &d->sinks[i]));
	return arr;
}

json_t *dispatch_sink_show(dispatch_set *d, const char *name)
{
	sink_rt *s = find(d, name);
	scimsync_err err = {0};
	json_t *o, *dead = NULL;

	if (s == NULL)
		return NULL;
	o = sink_json(d, s);
	pthread_mutex_lock(&d->admin_mu);
	outbox_dead_list(d->srv->sp, d->admin_reader, name, &dead, &err);
	pthread_mutex_unlock(&d->admin_mu);
	json_object_set_new(o, "dead", dead ? dead : json_array());
	return o;
}

typedef struct replay_arg {
	const char *sink;
	json_t *dead; /* the dead letters to put back */
	bool force;   /* stale ones too */
	int n;
	int stale; /* left where they are: see replay_is_stale */
} replay_arg;

static int version_cb(const scimsync_resource *r, void *payload)
{
	*(int64_t *)payload = r->version;
	return 0;
}

/* Would putting ev back take its target back in time? When the resource
 * is gone since (deleted, or its tenant), anything but a deletion would
 * make it again; when it has a newer version, an event that carries its
 * state (created, updated, (de/re)activated) would overwrite the newer
 * one in a target that keeps no versions (an LDAP directory). Role and
 * membership events are about the user's groups, not its version. When
 * the store cannot tell, the event is not stale. */
static bool replay_is_stale(const scimsync_store_plugin *p,
			    scimsync_store_conn *c, const json_t *ev)
{
	static const char *const stateful[] = {"user.created",
					       "user.updated",
					       "user.deactivated",
					       "user.reactivated",
					       "group.created",
					       "group.updated",
					       NULL};
	const char *type = json_string_value(json_object_get(ev, "type"));
	const char *tenant = json_string_value(json_object_get(ev, "tenant"));
	const char *rtype =
		json_string_value(json_object_get(ev, "resource_type"));
	const char *id = json_string_value(json_object_get(ev, "resource_id"));
	int64_t now = 0;
	scimsync_err err = {0};
	int kind, rc;

	if (type == NULL || tenant == NULL || rtype == NULL || id == NULL ||
	    strcmp(type, "user.deleted") == 0 ||
	    strcmp(type, "group.deleted") == 0)
		return false;
	kind = strcmp(rtype, "User") == 0    ? SCIMSYNC_RES_USER
	       : strcmp(rtype, "Group") == 0 ? SCIMSYNC_RES_GROUP
					     : 0;
	if (kind == 0)
		return false;
	rc = p->get(c, tenant, kind, id, version_cb, &now, &err);
	if (rc == SCIMSYNC_ENOTFOUND)
		return true;
	if (rc != SCIMSYNC_OK)
		return false;
	for (size_t i = 0; stateful[i] != NULL; i++)
		if (strcmp(type, stateful[i]) == 0)
			return now > json_integer_value(
					     json_object_get(ev, "version"));
	return false;
}

static int replay_fn(void *arg, const scimsync_store_plugin *p,
		     scimsync_store_conn *c)
{
	replay_arg *a = arg;
	scimsync_err err = {0};
	size_t i;
	json_t *dl;

	json_array_foreach (a->dead, i, dl) {
		json_t *ev = json_object_get(dl, "event");
		char id[80];
		int rc;

		if (!json_is_object(ev))
			continue;
		if (!a->force && replay_is_stale(p, c, ev)) {
			a->stale++;
			continue;
		}
		/* The same event (same key), for this sink only, under a
		 * record id of its own. */
		json_object_set_new(ev, "only_sink", json_string(a->sink));
		snprintf(
			id, sizeof(id), "replay-%" PRId64 "-%" PRId64,
			(int64_t)json_integer_value(json_object_get(dl, "seq")),
			wall_ms());
		rc = outbox_append(p, c, id, ev, &err);
		if (rc == SCIMSYNC_OK)
			rc = outbox_dead_del(
				p, c, a->sink,
				json_integer_value(json_object_get(dl, "seq")),
				&err);
		if (rc != SCIMSYNC_OK)
			return rc;
		a->n++;
	}
	return 0;
}

int dispatch_replay(dispatch_set *d, const char *name, int64_t seq, bool force,
		    int *stale, char *errbuf, size_t errlen)
{
	replay_arg a = {name, NULL, force, 0, 0};
	scimsync_err err = {0};
	json_t *all = NULL, *keep;
	size_t i;
	json_t *dl;
	int rc;

	if (find(d, name) == NULL) {
		snprintf(errbuf, errlen, "no such sink: %s", name);
		return -1;
	}
	pthread_mutex_lock(&d->admin_mu);
	rc = outbox_dead_list(d->srv->sp, d->admin_reader, name, &all, &err);
	pthread_mutex_unlock(&d->admin_mu);
	if (rc != SCIMSYNC_OK) {
		snprintf(errbuf, errlen, "store: %s", err.message);
		return -1;
	}
	keep = json_array();
	json_array_foreach (all, i, dl)
		if (seq == 0 ||
		    json_integer_value(json_object_get(dl, "seq")) == seq)
			json_array_append(keep, dl);
	json_decref(all);
	a.dead = keep;
	if (json_array_size(keep) > 0 &&
	    writer_run_sync(d->srv->writer, replay_fn, &a) != 0) {
		json_decref(keep);
		snprintf(errbuf, errlen, "the store refused the replay");
		return -1;
	}
	json_decref(keep);
	dispatch_notify(d);
	*stale = a.stale;
	return a.n;
}

/* ---- Re-sync: the tenant as created events, for one sink ---- */

typedef struct resync_arg {
	json_t *events; /* objects to append */
	int n;
} resync_arg;

static int resync_fn(void *arg, const scimsync_store_plugin *p,
		     scimsync_store_conn *c)
{
	resync_arg *a = arg;
	scimsync_err err = {0};
	size_t i;
	json_t *ev;

	json_array_foreach (a->events, i, ev) {
		int rc = outbox_append(
			p, c, json_string_value(json_object_get(ev, "key")), ev,
			&err);

		if (rc != SCIMSYNC_OK)
			return rc;
		a->n++;
	}
	return 0;
}

typedef struct collect {
	json_t *res;	 /* [{id, json}] */
	json_t *members; /* group id -> [member ids] */
} collect;

static int res_cb(const scimsync_resource *r, void *payload)
{
	json_t *o = json_loadb(r->json, r->json_len, 0, NULL);

	if (o)
		json_array_append_new(payload, o);
	return 0;
}

static int mem_cb(const scimsync_member *m, void *payload)
{
	json_array_append_new(payload, json_string(m->member_id));
	return 0;
}

static json_t *resync_event(const char *sink, const char *tenant,
			    const char *type, const char *rtype,
			    const json_t *res, json_t *extra)
{
	char key[44];
	const char *v = json_string_value(
		json_object_get(json_object_get(res, "meta"), "version"));
	json_t *ev;

	memcpy(key, "resync-", 7);
	scim_new_uuid(key + 7);
	while (v && *v && (*v < '0' || *v > '9'))
		v++;
	ev = json_pack("{s:s,s:s,s:s,s:I,s:s,s:s,s:I,s:s}", "key", key, "type",
		       type, "tenant", tenant, "time_ms", (json_int_t)wall_ms(),
		       "resource_type", rtype, "resource_id",
		       json_string_value(json_object_get(res, "id")) ?: "",
		       "version", (json_int_t)(v ? strtoll(v, NULL, 10) : 0),
		       "only_sink", sink);
	if (extra) {
		json_object_update(ev, extra);
		json_decref(extra);
	}
	json_object_set(ev, "resource", (json_t *)res);
	return ev;
}

/* role.granted for each user member of group gid and each role in rl,
 * once per (user, role) over the whole export (granted remembers). */
static void resync_roles(const char *sink, const char *tenant, const char *gid,
			 const json_t *mem, const json_t *rl,
			 const json_t *by_id, json_t *granted, json_t *events)
{
	size_t j, k;
	json_t *m, *role;

	json_array_foreach (mem, j, m) {
		const char *uid = json_string_value(m);
		json_t *user = json_object_get(by_id, uid);

		if (user == NULL)
			continue; /* a member that is a group grants nothing */
		json_array_foreach (rl, k, role) {
			char gk[600];

			snprintf(gk, sizeof(gk), "%s\n%s", uid,
				 json_string_value(role));
			if (json_object_get(granted, gk))
				continue;
			json_object_set_new(granted, gk, json_true());
			json_array_append_new(
				events,
				resync_event(sink, tenant, "role.granted",
					     "User", user,
					     json_pack("{s:s,s:s,s:s}", "role",
						       json_string_value(role),
						       "user_id", uid,
						       "group_id", gid)));
		}
	}
}

int dispatch_resync(dispatch_set *d, const char *name, const char *tenant,
		    char *errbuf, size_t errlen)
{
	const scimsync_store_plugin *p = d->srv->sp;
	scimsync_query q = {
		.tenant = tenant, .type = SCIMSYNC_RES_USER, .limit = -1};
	json_t *users = json_array(), *groups = json_array();
	json_t *events = json_array(), *granted = json_object();
	json_t *by_id = json_object(); /* user id -> user */
	scimsync_err err = {0};
	mapset_ref *roles = NULL;
	resync_arg a = {NULL, 0};
	size_t i, j;
	json_t *r;
	int rc, total = 0;

	if (dispatch_sink_takes(d, name, tenant) != 1) {
		snprintf(errbuf, errlen, "sink %s does not take tenant %s",
			 name, tenant);
		rc = -1;
		goto out;
	}
	pthread_mutex_lock(&d->admin_mu);
	rc = p->list(d->admin_reader, &q, res_cb, users, &err);
	q.type = SCIMSYNC_RES_GROUP;
	if (rc == SCIMSYNC_OK)
		rc = p->list(d->admin_reader, &q, res_cb, groups, &err);
	pthread_mutex_unlock(&d->admin_mu);
	if (rc != SCIMSYNC_OK) {
		snprintf(errbuf, errlen, "store: %s", err.message);
		rc = -1;
		goto out;
	}
	roles = tenant_mapping_acquire(d->srv->tenants, tenant, ROLES_MAPPING);
	json_array_foreach (users, i, r) {
		const char *uid = json_string_value(json_object_get(r, "id"));

		if (uid)
			json_object_set(by_id, uid, r);
	}
	json_array_foreach (users, i, r)
		json_array_append_new(events,
				      resync_event(name, tenant, "user.created",
						   "User", r, NULL));
	json_array_foreach (groups, i, r) {
		const char *gid = json_string_value(json_object_get(r, "id"));
		json_t *mem = json_array(), *rl = NULL;
		mapping_error merr;

		pthread_mutex_lock(&d->admin_mu);
		p->members(d->admin_reader, tenant, gid, NULL, 0, mem_cb, mem,
			   &err);
		pthread_mutex_unlock(&d->admin_mu);
		json_array_append_new(
			events,
			resync_event(name, tenant, "group.created", "Group", r,
				     json_pack("{s:O}", "members", mem)));
		if (json_array_size(mem) > 0)
			json_array_append_new(
				events,
				resync_event(
					name, tenant, "group.members_added",
					"Group", r,
					json_pack("{s:O}", "members", mem)));
		if (roles && mapping_roles(&rl, mapset_ref_mapping(roles), r,
					   &merr) == 0)
			resync_roles(name, tenant, gid, mem, rl, by_id, granted,
				     events);
		json_decref(rl);
		json_decref(mem);
	}
	/* Appended in chunks: one durable write per 500 events. */
	for (i = 0; i < json_array_size(events); i += 500) {
		a.events = json_array();
		a.n = 0;
		for (j = i; j < i + 500 && j < json_array_size(events); j++)
			json_array_append(a.events, json_array_get(events, j));
		rc = writer_run_sync(d->srv->writer, resync_fn, &a);
		json_decref(a.events);
		if (rc != 0) {
			snprintf(errbuf, errlen,
				 "the store refused the export after %d "
				 "events",
				 total);
			rc = -1;
			goto out;
		}
		total += a.n;
	}
	dispatch_notify(d);
	rc = total;
out:
	if (roles)
		mapset_release(d->srv->maps, roles);
	json_decref(users);
	json_decref(groups);
	json_decref(events);
	json_decref(granted);
	json_decref(by_id);
	return rc;
}
