/* webhook_body.c - what the webhook sink sends (sink_webhook.h): the JSON
 * body of a delivery, built with jansson from the event's fields and its
 * mapped attributes, with the engine's JSON text of the resource spliced
 * in; the HMAC-SHA256 signature over timestamp "." body
 * (OpenSSL EVP_MAC); secrets read from files or the environment; and the
 * text helpers that keep error messages printable, valid UTF-8.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/params.h>

#include "sink_webhook.h"

/* ---- errors and text ---- */

int64_t whk_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The length of the valid UTF-8 sequence at p (at most n bytes), or 0.
 * Strict as jansson is (no overlongs, surrogates or values past
 * U+10FFFF): the admin API turns err->message into a JSON string, and
 * jansson refuses anything else. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
	size_t len, i;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		len = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		len = 4;
	else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	if ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] > 0x9f) ||
	    (p[0] == 0xf0 && p[1] < 0x90) || (p[0] == 0xf4 && p[1] > 0x8f))
		return 0;
	return len;
}

/* At most BODY_QUOTE bytes of p[0..n) into out (NUL-terminated, cap >
 * BODY_QUOTE + 3): control characters become spaces (so a body cannot
 * forge log lines), runs of white space one space, bytes that are not
 * UTF-8 '?'; "..." when cut. */
void whk_quote(char *out, size_t cap, const char *p, size_t n)
{
	const unsigned char *u = (const unsigned char *)p;
	size_t i = 0, o = 0, limit = cap > 4 ? cap - 4 : 0, len;

	if (limit > BODY_QUOTE)
		limit = BODY_QUOTE;
	while (i < n && (u[i] <= ' ' || u[i] == 0x7f))
		i++;
	while (i < n && o < limit) {
		if (u[i] < ' ' || u[i] == 0x7f || u[i] == ' ') {
			if (o > 0 && out[o - 1] != ' ')
				out[o++] = ' ';
			i++;
			continue;
		}
		len = utf8_len(u + i, n - i);
		if (len == 0) {
			out[o++] = '?';
			i++;
			continue;
		}
		if (o + len > limit)
			break;
		memcpy(out + o, u + i, len);
		o += len;
		i += len;
	}
	while (o > 0 && out[o - 1] == ' ')
		o--;
	if (i < n && cap >= 4) {
		/* Cut: say so (trailing white space does not count). */
		size_t j = i;

		while (j < n && (u[j] <= ' ' || u[j] == 0x7f))
			j++;
		if (j < n) {
			memcpy(out + o, "...", 3);
			o += 3;
		}
	}
	if (cap > 0)
		out[o] = '\0';
}

/* Can v go into a header line as it is (printable ASCII only: no CR or
 * LF to start another header)? */
bool whk_header_safe(const char *v)
{
	if (v == NULL || *v == '\0')
		return false;
	for (; *v; v++)
		if ((unsigned char)*v < 0x20 || (unsigned char)*v >= 0x7f)
			return false;
	return true;
}

/* ---- secrets ---- */

void whk_secret_free(struct secret *sec)
{
	explicit_bzero(sec->buf, sizeof(sec->buf));
	sec->len = 0;
	sec->loaded = false;
	free(sec->path);
	free(sec->env);
	sec->path = sec->env = NULL;
}

/* From the environment once; from the file whenever it is not the file
 * read last time (inode, size, mtime), so a key replaced in the file
 * (rename or rewrite) is used from the next delivery on. */
int whk_secret_load(struct secret *sec, bool *changed, scimsync_err *err)
{
	char tmp[SECRET_MAX + 1];
	struct stat st = {0};
	size_t n = 0;
	int rc;

	*changed = false;
	if (sec->path == NULL && (sec->loaded || sec->env == NULL))
		return SCIMSYNC_OK;
	if (sec->path != NULL) {
		if (stat(sec->path, &st) != 0)
			return su_fail(err, SCIMSYNC_EFAIL,
				       "option '%s': cannot read %s: %s",
				       sec->option, sec->path, strerror(errno));
		if (sec->loaded && st.st_dev == sec->dev &&
		    st.st_ino == sec->ino && st.st_size == sec->size &&
		    st.st_mtim.tv_sec == sec->mtime.tv_sec &&
		    st.st_mtim.tv_nsec == sec->mtime.tv_nsec)
			return SCIMSYNC_OK;
		if (!S_ISREG(st.st_mode))
			return su_fail(err, SCIMSYNC_EFAIL,
				       "option '%s': %s is not a regular file",
				       sec->option, sec->path);
	}
	rc = su_read_secret(sec->env, sec->option, sec->path, sec->option, tmp,
			    sizeof(tmp), &n, err);
	if (rc == SCIMSYNC_OK) {
		memcpy(sec->buf, tmp, n + 1);
		sec->len = n;
		sec->loaded = *changed = true;
		if (sec->path != NULL) {
			sec->dev = st.st_dev;
			sec->ino = st.st_ino;
			sec->size = st.st_size;
			sec->mtime = st.st_mtim;
		}
	}
	explicit_bzero(tmp, sizeof(tmp));
	return rc;
}

/* ---- the signature ---- */

int whk_sign(scimsync_sink *s, const char *ts, const char *body, size_t len,
	     char hex[65], scimsync_err *err)
{
	static const char digits[] = "0123456789abcdef";
	unsigned char mac[EVP_MAX_MD_SIZE];
	size_t n = 0, i;
	EVP_MAC_CTX *ctx;
	OSSL_PARAM params[2];
	int ok;

	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
						     (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if ((ctx = EVP_MAC_CTX_new(s->mac)) == NULL)
		return su_fail(err, SCIMSYNC_ERETRY, "out of memory");
	/* timestamp "." body, fed in pieces: no copy of a large body. */
	ok = EVP_MAC_init(ctx, (const unsigned char *)s->key.buf, s->key.len,
			  params) == 1 &&
	     EVP_MAC_update(ctx, (const unsigned char *)ts, strlen(ts)) == 1 &&
	     EVP_MAC_update(ctx, (const unsigned char *)".", 1) == 1 &&
	     EVP_MAC_update(ctx, (const unsigned char *)body, len) == 1 &&
	     EVP_MAC_final(ctx, mac, &n, sizeof(mac)) == 1 && n == 32;
	EVP_MAC_CTX_free(ctx);
	if (!ok)
		return su_fail(err, SCIMSYNC_ERETRY,
			       "HMAC-SHA256 failed (OpenSSL)");
	for (i = 0; i < n; i++) {
		hex[2 * i] = digits[mac[i] >> 4];
		hex[2 * i + 1] = digits[mac[i] & 15];
	}
	hex[2 * n] = '\0';
	explicit_bzero(mac, sizeof(mac));
	return SCIMSYNC_OK;
}

/* ---- the body ---- */

/* Set o[k] = v (stolen); false when v is NULL or the set fails (out of
 * memory: every input string came out of jansson, so is valid UTF-8). */
static bool put(json_t *o, const char *k, json_t *v)
{
	return v != NULL && json_object_set_new(o, k, v) == 0;
}

/* "2026-11-22T10:00:00.123Z" */
static json_t *rfc3339(int64_t ms)
{
	int64_t sec = ms / 1000, frac = ms % 1000;
	time_t t;
	struct tm tm;
	char buf[80];

	if (frac < 0) {
		frac += 1000;
		sec--;
	}
	t = (time_t)sec;
	if (gmtime_r(&t, &tm) == NULL)
		return json_null();
	snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		 tm.tm_min, tm.tm_sec, (int)frac);
	return json_string(buf);
}

static json_t *attributes(const scimsync_event *ev)
{
	json_t *o = json_object(), *vals;
	size_t i, j;

	if (o == NULL)
		return NULL;
	for (i = 0; i < ev->n_attrs; i++) {
		const scimsync_attr *a = &ev->attrs[i];

		if ((vals = json_array()) == NULL)
			goto oom;
		for (j = 0; j < a->n_values; j++)
			if (json_array_append_new(
				    vals, json_string(a->values[j])) != 0) {
				json_decref(vals);
				goto oom;
			}
		if (json_object_set_new(o, a->name, vals) != 0)
			goto oom;
	}
	return o;
oom:
	json_decref(o);
	return NULL;
}

/* An array of strings (n may be 0: []). */
static json_t *str_array(const char *const *v, size_t n)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a != NULL && i < n; i++)
		if (json_array_append_new(a, json_string(v[i])) != 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

/* A growable text: the body. */
struct text {
	char *p;
	size_t n, cap;
	bool oom;
};

static void text_add(struct text *t, const char *p, size_t n)
{
	char *q;
	size_t cap;

	if (t->oom)
		return;
	if (t->n + n + 1 > t->cap) {
		cap = t->cap ? t->cap : 4096;
		while (cap < t->n + n + 1)
			cap *= 2;
		if ((q = realloc(t->p, cap)) == NULL) {
			t->oom = true;
			return;
		}
		t->p = q;
		t->cap = cap;
	}
	memcpy(t->p + t->n, p, n);
	t->n += n;
	t->p[t->n] = '\0';
}

/* One event as the receiver sees it, appended to out. Built from the
 * event's ABI fields, which are the event JSON's, without parsing that
 * JSON again: it holds the resource, and parsing and writing it again
 * was most of this sink's CPU time (the engine has parsed it already).
 * The resource goes in as the engine's own JSON text (resource_json,
 * compact JSON that jansson wrote). SCIMSYNC_OK or SCIMSYNC_ERETRY (out
 * of memory). */
static int event_text(const scimsync_sink *s, const scimsync_event *ev,
		      struct text *out, scimsync_err *err)
{
	json_t *o;
	char *env;
	size_t n;
	bool ok;

	if ((o = json_object()) == NULL)
		return su_fail(err, SCIMSYNC_ERETRY, "out of memory");
	/* jansson keeps the order keys are set in. */
	ok = put(o, "id", json_string(ev->key)) &&
	     put(o, "type", json_string(ev->type)) &&
	     put(o, "tenant", json_string(ev->tenant ? ev->tenant : "")) &&
	     put(o, "time", rfc3339(ev->time_ms)) &&
	     put(o, "time_ms", json_integer(ev->time_ms)) &&
	     put(o, "seq", json_integer(ev->seq)) &&
	     put(o, "resource_type",
		 json_string(ev->resource_type ? ev->resource_type : "")) &&
	     put(o, "resource_id",
		 json_string(ev->resource_id ? ev->resource_id : "")) &&
	     put(o, "version", json_integer(ev->version));
	if (ok && ev->changed != NULL)
		ok = put(o, "changed", str_array(ev->changed, ev->n_changed));
	if (ok && ev->members != NULL)
		ok = put(o, "members", str_array(ev->members, ev->n_members));
	if (ok && ev->role != NULL)
		ok = put(o, "role", json_string(ev->role));
	if (ok && ev->user_id != NULL)
		ok = put(o, "user_id", json_string(ev->user_id));
	if (ok && ev->group_id != NULL)
		ok = put(o, "group_id", json_string(ev->group_id));
	ok = ok && put(o, "attributes", attributes(ev));
	env = ok ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (env == NULL)
		return su_fail(err, SCIMSYNC_ERETRY,
			       "out of memory building the body");
	n = strlen(env); /* "{...}": the resource goes before the '}' */
	if (s->include_resource) {
		text_add(out, env, n - 1);
		text_add(out, ",\"resource\":", 12);
		if (ev->resource_json != NULL && ev->resource_json_len > 0)
			text_add(out, ev->resource_json, ev->resource_json_len);
		else
			text_add(out, "null", 4);
		text_add(out, "}", 1);
	} else {
		text_add(out, env, n);
	}
	free(env);
	if (out->oom)
		return su_fail(err, SCIMSYNC_ERETRY,
			       "out of memory building the body");
	return SCIMSYNC_OK;
}

int whk_body(const scimsync_sink *s, const scimsync_event *const *evs, size_t n,
	     bool batch, char **body, size_t *len, scimsync_err *err)
{
	struct text t = {NULL, 0, 0, false};
	int rc = SCIMSYNC_OK;
	size_t i;

	*body = NULL;
	*len = 0;
	if (batch)
		text_add(&t, "{\"events\":[", 11);
	for (i = 0; i < n && rc == SCIMSYNC_OK; i++) {
		if (i > 0)
			text_add(&t, ",", 1);
		rc = event_text(s, evs[i], &t, err);
	}
	if (batch)
		text_add(&t, "]}", 2);
	if (rc == SCIMSYNC_OK && t.oom)
		rc = su_fail(err, SCIMSYNC_ERETRY, "out of memory");
	if (rc != SCIMSYNC_OK) {
		free(t.p);
		return rc;
	}
	*body = t.p;
	*len = t.n;
	return SCIMSYNC_OK;
}
