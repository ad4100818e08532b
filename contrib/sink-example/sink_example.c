/* sink_example.c - an example scimsync sink: every event as one JSON line.
 *
 * Copy this file to start your own sink. It appends each lifecycle event
 * to a file as one line of JSON (JSON Lines), written by hand: a sink
 * needs no JSON library, the engine hands it plain strings.
 *
 * Options (sinks.<name>.options in scimsyncd's config):
 *   path        the file to append to (required; created 0640 if absent)
 *   fsync       true: fsync after every apply / apply_many batch, so an
 *               event reported done is on disk (default false)
 *   pause_file  while this file exists, apply answers "retry": touch it
 *               to rehearse an outage of the target, remove it to end it
 *   reject_type events of this type ("group.deleted", say) are refused
 *               for good ("fail"): to see dead letters and replays
 *
 * One line per event, keys in this order:
 *   {"seq":12,"key":"...","type":"user.created","tenant":"acme",
 *    "resource_type":"User","resource_id":"...","version":1,
 *    "time_ms":1795334462123,"changed":[...],"members":[...],
 *    "role":null,"user_id":null,"group_id":null,
 *    "attrs":{"cn":["Ann Example"],"mail":["ann@example.com"]},
 *    "event":{...the engine's event JSON...}}
 *
 * Every line (every batch, with apply_many) goes out in one write() on a
 * file opened O_APPEND: the kernel appends it whole, so a crash of
 * scimsyncd leaves no half line. A write cut short (disk full) is undone
 * back to the last whole line and reported as retry. Power loss can still
 * cut the tail of the file unless fsync is on. Delivery is at least once:
 * after a crash (or a failed fsync) an event may be appended again, and
 * readers drop repeats by "key". A target with state of its own would make
 * apply idempotent instead: upsert by key, or ignore an event whose "version"
 * is not newer than what it holds.
 *
 * Threads: scimsyncd calls open and close on its main thread and apply,
 * apply_many and health on the sink's own dispatcher thread, one call at
 * a time per state; everything here lives in the state, no globals.
 *
 * Build: see Makefile (cc -shared -fPIC `pkg-config --cflags scimsync`).
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <scimsync/sink.h>

#define SINK_NAME "example"
#define SINK_VERSION "1.0"

/* Only the entry symbol leaves the .so (built with -fvisibility=hidden). */
#define SINK_EXPORT __attribute__((visibility("default")))

/* A growing byte buffer, reused from one event to the next. */
struct buf {
	char *p;
	size_t len;
	size_t cap;
	bool oom; /* an append failed: the contents are incomplete */
};

struct scimsync_sink {
	const scimsync_host *host; /* borrowed until close */
	char *path;
	char *pause_file;  /* or NULL */
	char *reject_type; /* or NULL */
	bool fsync;
	bool paused; /* the pause file existed last time we looked */
	int fd;
	struct buf out;
};

/* ---- errors and logging ---- */

static int fail(scimsync_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Fill err (a fixed buffer: never allocates) and return code. */
static int fail(scimsync_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL) {
		err->code = code;
		va_start(ap, fmt);
		vsnprintf(err->message, sizeof(err->message), fmt, ap);
		va_end(ap);
	}
	return code;
}

/* The host's log, when the host has one: check struct_size before using
 * a host service, so a plugin also runs under an older host. */
#define LOG(s, level, ...)                                                     \
	do {                                                                   \
		const scimsync_host *h_ = (s)->host;                           \
		if (h_ != NULL &&                                              \
		    h_->struct_size >=                                         \
			    offsetof(scimsync_host, log) + sizeof(h_->log) &&  \
		    h_->log != NULL)                                           \
			h_->log((level), SINK_NAME, __VA_ARGS__);              \
	} while (0)

/* ---- JSON, by hand ---- */

static void buf_add(struct buf *b, const char *p, size_t n)
{
	char *np;
	size_t ncap;

	if (b->oom)
		return;
	if (n > b->cap - b->len) {
		ncap = b->cap != 0 ? b->cap : 1024;
		while (ncap - b->len < n) {
			if (ncap > SIZE_MAX / 2) {
				b->oom = true;
				return;
			}
			ncap *= 2;
		}
		if ((np = realloc(b->p, ncap)) == NULL) {
			b->oom = true;
			return;
		}
		b->p = np;
		b->cap = ncap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void buf_puts(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

static void buf_int(struct buf *b, int64_t v)
{
	char tmp[24];
	int n = snprintf(tmp, sizeof(tmp), "%" PRId64, v);

	buf_add(b, tmp, (size_t)n);
}

/* The length of the valid UTF-8 sequence at s (at most n bytes), or 0 if
 * it is not one (overlong, surrogate, beyond U+10FFFF, cut short). */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	size_t len, i;
	uint32_t c;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		c = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		c = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		c = s[0] & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && c < 0x800) || (len == 4 && c < 0x10000) ||
	    (c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff)
		return 0;
	return len;
}

/* s (n bytes) as a JSON string: quotes, backslashes and control
 * characters escaped, UTF-8 kept as is; a byte that is not valid UTF-8
 * becomes U+FFFD, so the line is always valid JSON. */
static void json_strn(struct buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, run = 0, k;
	char esc[6];

	buf_add(b, "\"", 1);
	while (i < n) {
		const char *rep = NULL;
		size_t replen = 2;

		switch (u[i]) {
		case '"':
			rep = "\\\"";
			break;
		case '\\':
			rep = "\\\\";
			break;
		case '\n':
			rep = "\\n";
			break;
		case '\r':
			rep = "\\r";
			break;
		case '\t':
			rep = "\\t";
			break;
		case '\b':
			rep = "\\b";
			break;
		case '\f':
			rep = "\\f";
			break;
		default:
			if (u[i] < 0x20) {
				memcpy(esc, "\\u00", 4);
				esc[4] = hex[u[i] >> 4];
				esc[5] = hex[u[i] & 0xf];
				rep = esc;
				replen = 6;
			} else if ((k = utf8_seq(u + i, n - i)) == 0) {
				rep = "\\ufffd";
				replen = 6;
			} else {
				i += k; /* plain text: copied in runs */
				run += k;
				continue;
			}
		}
		buf_add(b, (const char *)u + i - run, run);
		run = 0;
		buf_add(b, rep, replen);
		i++;
	}
	buf_add(b, (const char *)u + i - run, run);
	buf_add(b, "\"", 1);
}

/* A C string, or null. */
static void json_str(struct buf *b, const char *s)
{
	if (s == NULL)
		buf_puts(b, "null");
	else
		json_strn(b, s, strlen(s));
}

static void json_str_array(struct buf *b, const char *const *v, size_t n)
{
	size_t i;

	buf_add(b, "[", 1);
	for (i = 0; v != NULL && i < n; i++) {
		if (i > 0)
			buf_add(b, ",", 1);
		json_str(b, v[i]);
	}
	buf_add(b, "]", 1);
}

/* "key": with the comma before every key but the first. */
static void json_key(struct buf *b, const char *key)
{
	if (b->len > 0 && b->p[b->len - 1] != '{')
		buf_add(b, ",", 1);
	json_str(b, key);
	buf_add(b, ":", 1);
}

/* Append ev as one line (with its '\n') to b. */
static void render(struct buf *b, const scimsync_event *ev)
{
	size_t i, start;

	buf_add(b, "{", 1);
	json_key(b, "seq");
	buf_int(b, ev->seq);
	json_key(b, "key");
	json_str(b, ev->key);
	json_key(b, "type");
	json_str(b, ev->type);
	json_key(b, "tenant");
	json_str(b, ev->tenant);
	json_key(b, "resource_type");
	json_str(b, ev->resource_type);
	json_key(b, "resource_id");
	json_str(b, ev->resource_id);
	json_key(b, "version");
	buf_int(b, ev->version);
	json_key(b, "time_ms");
	buf_int(b, ev->time_ms);
	json_key(b, "changed");
	json_str_array(b, ev->changed, ev->n_changed);
	json_key(b, "members");
	json_str_array(b, ev->members, ev->n_members);
	json_key(b, "role");
	json_str(b, ev->role);
	json_key(b, "user_id");
	json_str(b, ev->user_id);
	json_key(b, "group_id");
	json_str(b, ev->group_id);

	json_key(b, "attrs");
	buf_add(b, "{", 1);
	for (i = 0; ev->attrs != NULL && i < ev->n_attrs; i++) {
		json_key(b, ev->attrs[i].name != NULL ? ev->attrs[i].name : "");
		json_str_array(b, ev->attrs[i].values, ev->attrs[i].n_values);
	}
	buf_add(b, "}", 1);

	/* The engine's own JSON, verbatim (it is not NUL-terminated: use the
	 * length). Valid JSON has raw line breaks only as whitespace, so
	 * turning them into spaces keeps it one line and the same JSON. */
	json_key(b, "event");
	if (ev->event_json == NULL || ev->event_json_len == 0) {
		buf_puts(b, "null");
	} else {
		start = b->len;
		buf_add(b, ev->event_json, ev->event_json_len);
		for (i = start; !b->oom && i < b->len; i++)
			if (b->p[i] == '\n' || b->p[i] == '\r')
				b->p[i] = ' ';
	}
	buf_add(b, "}\n", 2);
}

/* ---- the file ---- */

/* Is the sink paused? Logs when a pause starts and ends. */
static int check_pause(scimsync_sink *s, scimsync_err *err)
{
	bool paused;

	if (s->pause_file == NULL)
		return SCIMSYNC_OK;
	paused = access(s->pause_file, F_OK) == 0;
	if (paused != s->paused) {
		s->paused = paused;
		if (paused)
			LOG(s, SCIMSYNC_LOG_WARN, "paused: %s exists",
			    s->pause_file);
		else
			LOG(s, SCIMSYNC_LOG_INFO, "resumed: %s is gone",
			    s->pause_file);
	}
	if (paused)
		return fail(err, SCIMSYNC_ERETRY, "paused: %s exists",
			    s->pause_file);
	return SCIMSYNC_OK;
}

/* Write s->out (whole lines) in one write(). On a short write (disk full)
 * the rest is tried again; if that fails too, the file is cut back to the
 * last whole line written and *lines_done says how many lines made it.
 * Returns SCIMSYNC_OK or SCIMSYNC_ERETRY with err set. */
static int write_lines(scimsync_sink *s, size_t *lines_done, scimsync_err *err)
{
	size_t left = s->out.len, written = 0, i, keep = 0;
	ssize_t n;
	off_t end;
	int e = 0;

	while (left > 0) {
		n = write(s->fd, s->out.p + written, left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			e = n < 0 ? errno : EIO;
			break;
		}
		written += (size_t)n;
		left -= (size_t)n;
	}
	*lines_done = 0;
	for (i = 0; i < written; i++)
		if (s->out.p[i] == '\n') {
			keep = i + 1;
			(*lines_done)++;
		}
	if (left == 0)
		return SCIMSYNC_OK;
	/* O_APPEND: after our write the offset is the end of our bytes.
	 * (This assumes one writer per file: give each sink its own.) */
	if (written > keep && (end = lseek(s->fd, 0, SEEK_CUR)) >= 0 &&
	    (size_t)end >= written - keep &&
	    ftruncate(s->fd, end - (off_t)(written - keep)) != 0)
		LOG(s, SCIMSYNC_LOG_ERROR,
		    "%s: cannot remove a partial line: %s", s->path,
		    strerror(errno));
	return fail(err, SCIMSYNC_ERETRY, "write %s: %s", s->path, strerror(e));
}

static int sync_file(scimsync_sink *s, scimsync_err *err)
{
	if (s->fsync && fsync(s->fd) != 0)
		return fail(err, SCIMSYNC_ERETRY, "fsync %s: %s", s->path,
			    strerror(errno));
	return SCIMSYNC_OK;
}

/* Render evs into s->out, one line each, up to the first event that
 * cannot be rendered: then SCIMSYNC_EFAIL, *rendered says which one and
 * s->out holds the lines of the ones before. SCIMSYNC_ERETRY when memory
 * ran out (s->out is then incomplete). */
static int render_all(scimsync_sink *s, const scimsync_event *const *evs,
		      size_t n, size_t *rendered, scimsync_err *err)
{
	size_t i;
	int rc = SCIMSYNC_OK;

	s->out.len = 0;
	s->out.oom = false;
	for (i = 0; i < n; i++) {
		/* Every field read here is in the 1.0 event; a field added
		 * later would be read only when struct_size covers it. */
		if (evs[i] == NULL ||
		    evs[i]->struct_size <
			    offsetof(scimsync_event, event_json_len) +
				    sizeof(evs[i]->event_json_len)) {
			rc = fail(err, SCIMSYNC_EFAIL,
				  "event %zu of %zu: smaller than a 1.0 event",
				  i + 1, n);
			break;
		}
		render(&s->out, evs[i]);
	}
	*rendered = i;
	if (s->out.oom)
		return fail(err, SCIMSYNC_ERETRY, "out of memory");
	return rc;
}

/* ---- the ABI ---- */

static void ex_close(scimsync_sink *s);

static int set_bool(bool *out, const char *key, const char *v,
		    scimsync_err *err)
{
	if (v != NULL && strcmp(v, "true") == 0)
		*out = true;
	else if (v != NULL && strcmp(v, "false") == 0)
		*out = false;
	else
		return fail(err, SCIMSYNC_EFAIL,
			    "option '%s': expected true or false, got '%s'",
			    key, v != NULL ? v : "");
	return SCIMSYNC_OK;
}

static int set_str(char **out, const char *key, const char *v,
		   scimsync_err *err)
{
	if (v == NULL || *v == '\0')
		return fail(err, SCIMSYNC_EFAIL, "option '%s': empty", key);
	free(*out);
	if ((*out = strdup(v)) == NULL)
		return fail(err, SCIMSYNC_ERETRY, "out of memory");
	return SCIMSYNC_OK;
}

static int ex_open(scimsync_sink **out, const scimsync_host *host,
		   const scimsync_option *options, scimsync_err *err)
{
	const scimsync_option *o;
	scimsync_sink *s;
	int rc = SCIMSYNC_OK;

	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return fail(err, SCIMSYNC_ERETRY, "out of memory");
	s->host = host;
	s->fd = -1;
	for (o = options; o != NULL && o->key != NULL && rc == SCIMSYNC_OK;
	     o++) {
		if (strcmp(o->key, "path") == 0)
			rc = set_str(&s->path, o->key, o->value, err);
		else if (strcmp(o->key, "pause_file") == 0)
			rc = set_str(&s->pause_file, o->key, o->value, err);
		else if (strcmp(o->key, "reject_type") == 0)
			rc = set_str(&s->reject_type, o->key, o->value, err);
		else if (strcmp(o->key, "fsync") == 0)
			rc = set_bool(&s->fsync, o->key, o->value, err);
		else
			rc = fail(err, SCIMSYNC_EFAIL,
				  "unknown option '%s' (known: path, fsync, "
				  "pause_file, reject_type)",
				  o->key);
	}
	if (rc == SCIMSYNC_OK && s->path == NULL)
		rc = fail(err, SCIMSYNC_EFAIL,
			  "option 'path' is required: the file to append "
			  "events to");
	if (rc == SCIMSYNC_OK) {
		s->fd = open(s->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
			     0640);
		if (s->fd < 0)
			rc = fail(err, SCIMSYNC_EFAIL,
				  "option 'path': cannot open %s for "
				  "appending: %s",
				  s->path, strerror(errno));
	}
	if (rc != SCIMSYNC_OK) {
		ex_close(s);
		return rc;
	}
	LOG(s, SCIMSYNC_LOG_INFO, "appending events to %s%s", s->path,
	    s->fsync ? " (fsync)" : "");
	*out = s;
	return SCIMSYNC_OK;
}

static void ex_close(scimsync_sink *s)
{
	if (s == NULL)
		return;
	if (s->fd >= 0)
		close(s->fd);
	free(s->path);
	free(s->pause_file);
	free(s->reject_type);
	free(s->out.p);
	free(s);
}

static int ex_apply_many(scimsync_sink *s, const scimsync_event *const *evs,
			 size_t n, size_t *done, scimsync_err *err)
{
	size_t rendered, lines, k;
	int rc, render_rc;

	*done = 0;
	if ((rc = check_pause(s, err)) != SCIMSYNC_OK)
		return rc;
	/* Stop before the first event of the refused type. */
	for (k = 0; s->reject_type != NULL && k < n; k++)
		if (evs[k]->type != NULL &&
		    strcmp(evs[k]->type, s->reject_type) == 0)
			break;
	if (s->reject_type != NULL && k == 0 && n > 0)
		return fail(err, SCIMSYNC_EFAIL,
			    "rejected: %s events are refused (reject_type)",
			    s->reject_type);
	if (s->reject_type != NULL && k < n) {
		rc = ex_apply_many(s, evs, k, done, err);
		if (rc == SCIMSYNC_OK)
			rc = fail(err, SCIMSYNC_EFAIL,
				  "rejected: %s events are refused "
				  "(reject_type)",
				  s->reject_type);
		return rc;
	}
	render_rc = render_all(s, evs, n, &rendered, err);
	if (render_rc == SCIMSYNC_ERETRY)
		return render_rc;
	/* The events before one that cannot be rendered are written, and
	 * *done points at it; err already says why it fails. */
	if (s->out.len > 0) {
		if ((rc = write_lines(s, &lines, err)) != SCIMSYNC_OK) {
			*done = lines;
			return rc;
		}
		if ((rc = sync_file(s, err)) != SCIMSYNC_OK)
			return rc;
	}
	*done = rendered;
	return render_rc;
}

static int ex_apply(scimsync_sink *s, const scimsync_event *ev,
		    scimsync_err *err)
{
	size_t done;

	return ex_apply_many(s, &ev, 1, &done, err);
}

static int ex_health(scimsync_sink *s, scimsync_err *err)
{
	struct stat st;
	int rc;

	if ((rc = check_pause(s, err)) != SCIMSYNC_OK)
		return rc;
	if (fstat(s->fd, &st) != 0)
		return fail(err, SCIMSYNC_ERETRY, "%s: %s", s->path,
			    strerror(errno));
	if (st.st_nlink == 0)
		return fail(err, SCIMSYNC_ERETRY,
			    "%s was removed: events go to a deleted file",
			    s->path);
	return fail(err, SCIMSYNC_OK, "appending to %s (%lld bytes)", s->path,
		    (long long)st.st_size);
}

static const scimsync_sink_plugin example_sink = {
	.header = SCIMSYNC_PLUGIN_HEADER_INIT(
		SCIMSYNC_SINK_ABI_MAJOR, SCIMSYNC_SINK_ABI_MINOR,
		scimsync_sink_plugin, SCIMSYNC_PLUGIN_SINK, SINK_NAME,
		SINK_VERSION),
	.open = ex_open,
	.close = ex_close,
	.apply = ex_apply,
	.health = ex_health,
	.apply_many = ex_apply_many,
};

SINK_EXPORT const scimsync_plugin_header *scimsync_plugin_entry(void);

SINK_EXPORT const scimsync_plugin_header *scimsync_plugin_entry(void)
{
	return &example_sink.header;
}
