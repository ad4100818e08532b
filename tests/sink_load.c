/* sink_load.c - load a sink plugin with the engine's loader and feed it
 * hand-made events; run by tests/sink_example.sh against
 * contrib/sink-example built out of tree.
 *
 *   sink_load events SO OUT
 *       Check that bad options fail open, then open SO with path=OUT and
 *       fsync=true, apply events 1-3 one by one and 4-5 with apply_many,
 *       ask health, close. The caller checks OUT.
 *   sink_load apply SO OUT PAUSE SEQ
 *       Open with path=OUT, pause_file=PAUSE, apply event SEQ (1-7) and
 *       ask health. Exit 0 when both are done, 2 when both say retry.
 *   sink_load faults SO OUT
 *       An event too small for ABI 1.0 in a batch (EFAIL, the ones before
 *       it written), then a batch cut short by RLIMIT_FSIZE (ERETRY, the
 *       whole lines kept, the partial one removed). OUT ends up with the
 *       lines of seq 6, 7, 6, 7.
 *
 * Prints what it does and why it fails; exit 1 on anything unexpected.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif
#ifndef _GNU_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <scimsync/sink.h>

#include "plugin_load.h"

#define N_EVENTS 7

static char last_log[512];

static void drv_log(int level, const char *plugin, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void drv_log(int level, const char *plugin, const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(last_log, sizeof(last_log), "[%d] %s: ", level, plugin);
	if (n < 0 || (size_t)n >= sizeof(last_log))
		return;
	va_start(ap, fmt);
	vsnprintf(last_log + n, sizeof(last_log) - (size_t)n, fmt, ap);
	va_end(ap);
	fprintf(stderr, "log %s\n", last_log);
}

static const scimsync_host host = {sizeof(scimsync_host), drv_log};

static int failures;

static void check(int ok, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void check(int ok, const char *fmt, ...)
{
	va_list ap;

	if (ok)
		return;
	failures++;
	fputs("FAIL: ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
}

/* ---- the events (tests/sink_example.sh expects exactly these) ---- */

static const char *const u1_cn[] = {"Zo\xc3\xab \"Z\" O'Brien"};
static const char *const u1_mail[] = {"zoe@example.com", "z@example.com"};
static const char *const u1_desc[] = {
	"line1\nline2\\back\ttab\x01"
	"ctl\x7f end \xe2\x82\xac \xf0\x9f\x94\x91"};
static const char *const u1_uid[] = {"z\xff"
				     "bad"};
static const scimsync_attr u1_attrs[] = {{"cn", u1_cn, 1},
					 {"mail", u1_mail, 2},
					 {"description", u1_desc, 1},
					 {"uid", u1_uid, 1}};
static const char *const g1_cn[] = {"Admins"};
static const char *const g1_member[] = {"uid=u-1,ou=people",
					"uid=u-2,ou=people"};
static const scimsync_attr g1_attrs[] = {{"cn", g1_cn, 1},
					 {"member", g1_member, 2}};
static const char *const g1_members[] = {"u-1", "u-2"};
static const char *const u1_changed[] = {"name.givenName", "emails"};

static const char ev1_json[] =
	"{\"type\":\"user.created\",\"id\":\"u-1\",\"note\":\"caf\\u00e9\"}";
static const char ev3_json[] = "{\n  \"type\": \"user.updated\",\r\n"
			       "  \"changed\": [\"emails\"]\n}";
/* Not NUL-terminated where the length ends: the sink must use it. */
static const char ev5_json[] = "{\"type\":\"user.deleted\"}GARBAGE";
#define EV5_JSON_LEN 23

static void event_init(scimsync_event *ev, int64_t seq, const char *key,
		       const char *type, const char *rtype, const char *rid,
		       int64_t version)
{
	memset(ev, 0, sizeof(*ev));
	ev->struct_size = sizeof(*ev);
	ev->seq = seq;
	ev->key = key;
	ev->type = type;
	ev->tenant = "acme";
	ev->time_ms = INT64_C(1795334462000) + seq;
	ev->resource_type = rtype;
	ev->resource_id = rid;
	ev->version = version;
	ev->resource_json = "{}";
	ev->resource_json_len = 2;
}

static void events_init(scimsync_event ev[N_EVENTS])
{
	event_init(&ev[0], 1, "acme:1", "user.created", "User", "u-1", 1);
	ev[0].attrs = u1_attrs;
	ev[0].n_attrs = 4;
	ev[0].event_json = ev1_json;
	ev[0].event_json_len = sizeof(ev1_json) - 1;

	event_init(&ev[1], 2, "acme:2", "group.created", "Group", "g-1", 1);
	ev[1].members = g1_members;
	ev[1].n_members = 2;
	ev[1].attrs = g1_attrs;
	ev[1].n_attrs = 2;
	ev[1].event_json = "{\"type\":\"group.created\"}";
	ev[1].event_json_len = strlen(ev[1].event_json);

	event_init(&ev[2], 3, "acme:3", "user.updated", "User", "u-1", 2);
	ev[2].changed = u1_changed;
	ev[2].n_changed = 2;
	ev[2].attrs = u1_attrs;
	ev[2].n_attrs = 2;
	ev[2].event_json = ev3_json;
	ev[2].event_json_len = sizeof(ev3_json) - 1;

	event_init(&ev[3], 4, "acme:4", "role.granted", "User", "u-1", 2);
	ev[3].role = "admin";
	ev[3].user_id = "u-1";
	ev[3].group_id = "g-1";
	ev[3].event_json = "{\"type\":\"role.granted\"}";
	ev[3].event_json_len = strlen(ev[3].event_json);

	event_init(&ev[4], 5, "acme:5", "user.deleted", "User", "u-2", 3);
	ev[4].event_json = ev5_json;
	ev[4].event_json_len = EV5_JSON_LEN;

	event_init(&ev[5], 6, "acme:6", "user.created", "User", "u-3", 1);
	ev[5].event_json = "{\"type\":\"user.created\"}";
	ev[5].event_json_len = strlen(ev[5].event_json);

	event_init(&ev[6], 7, "acme:7", "user.created", "User", "u-4", 1);
	ev[6].event_json = "{\"type\":\"user.created\"}";
	ev[6].event_json_len = strlen(ev[6].event_json);
}

/* ---- the scenarios ---- */

static const scimsync_sink_plugin *load(const char *so, void **handle)
{
	const scimsync_sink_plugin *p;
	char err[512];

	if (plugin_load_sink(&p, handle, so, NULL, err, sizeof(err)) != 0) {
		printf("FAIL: %s\n", err);
		exit(1);
	}
	check(strcmp(p->header.name, "example") == 0, "name '%s'",
	      p->header.name);
	check(PLUGIN_SINK_HAS(p, health), "no health");
	check(PLUGIN_SINK_HAS(p, apply_many), "no apply_many");
	return p;
}

/* open with opts must fail, with a message containing want. */
static void open_fails(const scimsync_sink_plugin *p,
		       const scimsync_option *opts, const char *want)
{
	scimsync_sink *s = (void *)1;
	scimsync_err e;
	int rc;

	memset(&e, 0, sizeof(e));
	rc = p->open(&s, &host, opts, &e);
	printf("open refused: %s\n", e.message);
	check(rc == SCIMSYNC_EFAIL && e.code == SCIMSYNC_EFAIL,
	      "open: rc %d, want EFAIL", rc);
	check(s == NULL, "open failed but set *out");
	check(strstr(e.message, want) != NULL, "'%s' lacks '%s'", e.message,
	      want);
}

static int run_events(const char *so, const char *out)
{
	const scimsync_option none[] = {{NULL, NULL}};
	const scimsync_option unknown[] = {
		{"path", out}, {"colour", "blue"}, {NULL, NULL}};
	const scimsync_option missing_dir[] = {
		{"path", "/nonexistent-scimsync-dir/events.jsonl"},
		{NULL, NULL}};
	const scimsync_option a_dir[] = {{"path", "/"}, {NULL, NULL}};
	const scimsync_option bad_bool[] = {
		{"path", out}, {"fsync", "yes"}, {NULL, NULL}};
	const scimsync_option opts[] = {
		{"path", out}, {"fsync", "true"}, {NULL, NULL}};
	scimsync_event ev[N_EVENTS];
	const scimsync_event *batch[2];
	const scimsync_sink_plugin *p;
	scimsync_sink *s = NULL;
	scimsync_err e;
	size_t done = 99;
	void *handle;
	int i, rc;

	p = load(so, &handle);
	events_init(ev);

	open_fails(p, NULL, "option 'path' is required");
	open_fails(p, none, "option 'path' is required");
	open_fails(p, unknown, "unknown option 'colour'");
	open_fails(p, missing_dir,
		   "cannot open /nonexistent-scimsync-dir/events.jsonl");
	open_fails(p, a_dir, "cannot open /");
	open_fails(p, bad_bool, "option 'fsync': expected true or false");

	memset(&e, 0, sizeof(e));
	last_log[0] = '\0';
	rc = p->open(&s, &host, opts, &e);
	check(rc == SCIMSYNC_OK, "open: %d %s", rc, e.message);
	if (rc != SCIMSYNC_OK)
		return 1;
	check(strstr(last_log, "[2] example: appending events to ") != NULL &&
		      strstr(last_log, "(fsync)") != NULL,
	      "open logged '%s'", last_log);

	for (i = 0; i < 3; i++) {
		rc = p->apply(s, &ev[i], &e);
		check(rc == SCIMSYNC_OK, "apply %d: %d %s", i + 1, rc,
		      e.message);
	}
	batch[0] = &ev[3];
	batch[1] = &ev[4];
	rc = p->apply_many(s, batch, 2, &done, &e);
	check(rc == SCIMSYNC_OK && done == 2, "apply_many: %d, done %zu, %s",
	      rc, done, e.message);
	/* An empty batch is fine and writes nothing. */
	rc = p->apply_many(s, batch, 0, &done, &e);
	check(rc == SCIMSYNC_OK && done == 0, "apply_many(0): %d", rc);

	memset(&e, 0, sizeof(e));
	rc = p->health(s, &e);
	printf("health: %d %s\n", rc, e.message);
	check(rc == SCIMSYNC_OK, "health: %d %s", rc, e.message);

	p->close(s);
	plugin_unload(handle);
	return failures == 0 ? 0 : 1;
}

static int run_apply(const char *so, const char *out, const char *pause,
		     const char *seq_arg)
{
	const scimsync_option opts[] = {
		{"path", out}, {"pause_file", pause}, {NULL, NULL}};
	scimsync_event ev[N_EVENTS];
	const scimsync_sink_plugin *p;
	scimsync_sink *s = NULL;
	scimsync_err e, he;
	int seq = atoi(seq_arg), rc, hrc;
	void *handle;

	if (seq < 1 || seq > N_EVENTS) {
		printf("FAIL: no event %s\n", seq_arg);
		return 1;
	}
	p = load(so, &handle);
	events_init(ev);
	memset(&e, 0, sizeof(e));
	rc = p->open(&s, &host, opts, &e);
	check(rc == SCIMSYNC_OK, "open: %d %s", rc, e.message);
	if (rc != SCIMSYNC_OK)
		return 1;
	memset(&e, 0, sizeof(e));
	rc = p->apply(s, &ev[seq - 1], &e);
	printf("apply %d: %s%s%s\n", seq,
	       rc == SCIMSYNC_OK       ? "ok"
	       : rc == SCIMSYNC_ERETRY ? "retry"
				       : "fail",
	       rc != SCIMSYNC_OK ? ": " : "",
	       rc != SCIMSYNC_OK ? e.message : "");
	check(rc == SCIMSYNC_OK || rc == SCIMSYNC_ERETRY, "apply: %d", rc);
	check(rc == SCIMSYNC_OK || e.code == rc, "err.code %d, rc %d", e.code,
	      rc);
	memset(&he, 0, sizeof(he));
	hrc = p->health(s, &he);
	printf("health: %s\n", he.message);
	check(hrc == rc, "health %d, apply %d", hrc, rc);
	if (rc == SCIMSYNC_ERETRY) {
		size_t done = 99;
		const scimsync_event *batch[1] = {&ev[seq - 1]};

		check(p->apply_many(s, batch, 1, &done, &e) ==
				      SCIMSYNC_ERETRY &&
			      done == 0,
		      "apply_many while paused: done %zu", done);
	}
	p->close(s);
	plugin_unload(handle);
	if (failures > 0)
		return 1;
	return rc == SCIMSYNC_OK ? 0 : 2;
}

static long long file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

static int run_faults(const char *so, const char *out)
{
	const scimsync_option opts[] = {{"path", out}, {NULL, NULL}};
	scimsync_event ev[N_EVENTS], small;
	const scimsync_event *batch[3];
	const scimsync_sink_plugin *p;
	scimsync_sink *s = NULL;
	struct rlimit old, lim;
	long long s1, s2, line;
	scimsync_err e;
	size_t done;
	void *handle;
	int rc;

	p = load(so, &handle);
	events_init(ev);
	memset(&e, 0, sizeof(e));
	rc = p->open(&s, &host, opts, &e);
	check(rc == SCIMSYNC_OK, "open: %d %s", rc, e.message);
	if (rc != SCIMSYNC_OK)
		return 1;
	check(p->apply(s, &ev[5], &e) == SCIMSYNC_OK, "apply 6: %s", e.message);
	s1 = file_size(out);

	/* An event from a (hypothetical) engine older than 1.0's event. */
	small = ev[0];
	small.struct_size = offsetof(scimsync_event, attrs);
	batch[0] = &ev[6];
	batch[1] = &small;
	batch[2] = &ev[0];
	done = 99;
	memset(&e, 0, sizeof(e));
	rc = p->apply_many(s, batch, 3, &done, &e);
	printf("apply_many with a short event: %d, done %zu: %s\n", rc, done,
	       e.message);
	check(rc == SCIMSYNC_EFAIL && e.code == SCIMSYNC_EFAIL && done == 1,
	      "want EFAIL and done 1");
	check(strstr(e.message, "event 2 of 3") != NULL, "message '%s'",
	      e.message);
	s2 = file_size(out);
	line = s2 - s1; /* the line of seq 7; seq 6's is as long */
	check(s1 > 0 && line == s1, "sizes %lld, %lld", s1, s2);

	/* Room for one more line and a half: the batch of two is cut. */
	signal(SIGXFSZ, SIG_IGN);
	check(getrlimit(RLIMIT_FSIZE, &old) == 0, "getrlimit");
	lim = old;
	lim.rlim_cur = (rlim_t)(s2 + line + line / 2);
	check(setrlimit(RLIMIT_FSIZE, &lim) == 0, "setrlimit");
	batch[0] = &ev[5];
	batch[1] = &ev[6];
	done = 99;
	memset(&e, 0, sizeof(e));
	rc = p->apply_many(s, batch, 2, &done, &e);
	printf("apply_many past RLIMIT_FSIZE: %d, done %zu: %s\n", rc, done,
	       e.message);
	check(rc == SCIMSYNC_ERETRY && done == 1, "want ERETRY and done 1");
	check(strstr(e.message, "write ") != NULL, "message '%s'", e.message);
	check(file_size(out) == s2 + line, "size %lld, want %lld",
	      file_size(out), s2 + line);
	check(setrlimit(RLIMIT_FSIZE, &old) == 0, "setrlimit back");

	/* The engine retries from the event that was not done. */
	rc = p->apply_many(s, batch + 1, 1, &done, &e);
	check(rc == SCIMSYNC_OK && done == 1, "retry: %d %s", rc, e.message);
	p->close(s);
	plugin_unload(handle);
	return failures == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "events") == 0)
		return run_events(argv[2], argv[3]);
	if (argc == 6 && strcmp(argv[1], "apply") == 0)
		return run_apply(argv[2], argv[3], argv[4], argv[5]);
	if (argc == 4 && strcmp(argv[1], "faults") == 0)
		return run_faults(argv[2], argv[3]);
	fprintf(stderr, "usage: sink_load events SO OUT\n"
			"       sink_load apply SO OUT PAUSE SEQ\n"
			"       sink_load faults SO OUT\n");
	return 1;
}
