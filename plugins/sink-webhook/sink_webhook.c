/* sink_webhook.c - the webhook sink: every lifecycle event POSTed as
 * signed JSON to an HTTP(S) endpoint, with libcurl
 * (include/scimsync/sink.h; the format is in README.md next to this file).
 *
 * One delivery is one POST of the event (or, with option batch, of the
 * events the engine hands over at once) with headers that name it:
 * Idempotency-Key / X-Scimsync-Event-Id (the event's key, the same on every
 * redelivery, so a receiver can drop repeats), X-Scimsync-Timestamp (when
 * this attempt was signed) and X-Scimsync-Signature, "v1=" and the hex
 * HMAC-SHA256 of timestamp "." body under the shared secret. Each attempt
 * is signed afresh, so a receiver may refuse old timestamps (replays).
 *
 * Results: 2xx is done; 408, 429, 5xx and every transport failure
 * (refused, DNS, timeout, TLS, reset) are "retry", the engine backs off
 * and sends the same event again; a Retry-After on a 429 or 503 reaches
 * the engine through retry_after. A redirect that is not followed, and
 * any other 4xx, are "fail": the event becomes a dead letter with the
 * status and the start of the response body. Response bodies are read up
 * to max_response_bytes, then the transfer is cut: the status line and
 * headers decide, and a receiver cannot make the daemon buffer a large
 * body.
 *
 * health does not probe: any request would reach the receiver's endpoint
 * (a HEAD or OPTIONS may have effects there, and must be handled by it).
 * It reports the last delivery's outcome instead.
 *
 * Threads: one CURL easy handle per sink state, used from the dispatcher
 * thread only, and kept between deliveries so its connection is reused
 * (keep-alive); libcurl's global init once per process (pthread_once);
 * nothing else global.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "sink_webhook.h"

#define SINK_EXPORT __attribute__((visibility("default")))

/* libcurl's process-wide init: not thread-safe before 7.84, so once, from
 * whichever open comes first. Never cleaned up (the .so is nodelete). */
static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;

static void curl_init(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ---- options ---- */

static void webhook_close(scimsync_sink *s);

static int set_option(scimsync_sink *s, const char *k, const char *v,
		      scimsync_err *err)
{
	long n = 0;
	int rc;

	if (strcmp(k, "url") == 0)
		return su_opt_str(&s->url, k, v, false, err);
	if (strcmp(k, "secret_file") == 0)
		return su_opt_str(&s->key.path, k, v, false, err);
	if (strcmp(k, "secret_env") == 0)
		return su_opt_str(&s->key.env, k, v, false, err);
	if (strcmp(k, "ca_file") == 0)
		return su_opt_str(&s->ca_file, k, v, false, err);
	if (strcmp(k, "tls_verify") == 0)
		return su_opt_bool(&s->tls_verify, k, v, err);
	if (strcmp(k, "follow_redirects") == 0)
		return su_opt_bool(&s->follow_redirects, k, v, err);
	if (strcmp(k, "include_resource") == 0)
		return su_opt_bool(&s->include_resource, k, v, err);
	if (strcmp(k, "batch") == 0)
		return su_opt_bool(&s->batch, k, v, err);
	if (strcmp(k, "bearer_token_file") == 0)
		return su_opt_str(&s->bearer.path, k, v, false, err);
	if (strcmp(k, "user_agent") == 0) {
		if (v != NULL && !whk_header_safe(v))
			return su_fail(err, SCIMSYNC_EFAIL,
				       "option 'user_agent': printable ASCII "
				       "only");
		return su_opt_str(&s->user_agent, k, v, false, err);
	}
	if (strcmp(k, "connect_timeout_ms") == 0)
		return su_opt_long(&s->connect_timeout_ms, k, v, 1, 600000,
				   "milliseconds", err);
	if (strcmp(k, "timeout_ms") == 0)
		return su_opt_long(&s->timeout_ms, k, v, 1, 3600000,
				   "milliseconds", err);
	if (strcmp(k, "max_response_bytes") == 0) {
		rc = su_opt_long(&n, k, v, 0, 1073741824, "bytes", err);
		s->max_response_bytes = (size_t)n;
		return rc;
	}
	return su_fail(err, SCIMSYNC_EFAIL,
		       "unknown option '%s' (known: url, secret_file, "
		       "secret_env, ca_file, tls_verify, connect_timeout_ms, "
		       "timeout_ms, follow_redirects, max_response_bytes, "
		       "include_resource, batch, bearer_token_file, "
		       "user_agent)",
		       k);
}

/* url is http(s)://host...; s->safe_url is it without user, password,
 * query or fragment (which may hold credentials), for logs. */
static int check_url(scimsync_sink *s, scimsync_err *err)
{
	char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL;
	CURLU *u;
	size_t n;
	int rc = SCIMSYNC_OK;

	if (s->url == NULL)
		return su_fail(err, SCIMSYNC_EFAIL,
			       "option 'url' is required (http://... or "
			       "https://...)");
	if ((u = curl_url()) == NULL)
		return su_fail(err, SCIMSYNC_ERETRY, "out of memory");
	/* The URL itself is not echoed: it may carry a password. */
	if (curl_url_set(u, CURLUPART_URL, s->url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    host == NULL || *host == '\0') {
		rc = su_fail(err, SCIMSYNC_EFAIL,
			     "option 'url': not an http:// or https:// URL "
			     "with a host");
		goto out;
	}
	if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) {
		rc = su_fail(err, SCIMSYNC_EFAIL,
			     "option 'url': expected http:// or https://, "
			     "got %.20s://",
			     scheme);
		goto out;
	}
	if (curl_url_get(u, CURLUPART_PORT, &port, 0) != CURLUE_OK)
		port = NULL; /* none given */
	if (curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK)
		path = NULL;
	n = strlen(scheme) + strlen(host) + (port ? strlen(port) : 0) +
	    (path ? strlen(path) : 0) + 8;
	if ((s->safe_url = malloc(n)) == NULL) {
		rc = su_fail(err, SCIMSYNC_ERETRY, "out of memory");
		goto out;
	}
	snprintf(s->safe_url, n, "%s://%s%s%s%s", scheme, host, port ? ":" : "",
		 port ? port : "", path ? path : "");
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(path);
	curl_url_cleanup(u);
	return rc;
}

/* The options together make sense; the secrets are read. */
/* The key, and the bearer token with its header line: read at open,
 * and again before a delivery when their file changed. */
static int load_secrets(scimsync_sink *s, scimsync_err *err)
{
	bool changed;
	size_t n;
	int rc;

	if ((rc = whk_secret_load(&s->key, &changed, err)) != SCIMSYNC_OK ||
	    (rc = whk_secret_load(&s->bearer, &changed, err)) != SCIMSYNC_OK ||
	    !changed)
		return rc;
	if (!whk_header_safe(s->bearer.buf))
		return su_fail(err, SCIMSYNC_EFAIL,
			       "option 'bearer_token_file': the token in %s is "
			       "not printable ASCII on one line",
			       s->bearer.path);
	if (s->auth != NULL) {
		explicit_bzero(s->auth, strlen(s->auth));
		free(s->auth);
	}
	n = s->bearer.len + sizeof("Authorization: Bearer ");
	if ((s->auth = malloc(n)) == NULL)
		return su_fail(err, SCIMSYNC_ERETRY, "out of memory");
	snprintf(s->auth, n, "Authorization: Bearer %s", s->bearer.buf);
	return SCIMSYNC_OK;
}

static int check_options(scimsync_sink *s, scimsync_err *err)
{
	FILE *f;
	int rc;

	if ((rc = check_url(s, err)) != SCIMSYNC_OK)
		return rc;
	if (s->key.path != NULL && s->key.env != NULL)
		return su_fail(err, SCIMSYNC_EFAIL,
			       "options 'secret_file' and 'secret_env': set "
			       "one");
	if (s->key.path == NULL && s->key.env == NULL)
		return su_fail(err, SCIMSYNC_EFAIL,
			       "option 'secret_file' or 'secret_env' is "
			       "required: the key that signs every delivery "
			       "(HMAC-SHA256)");
	if (s->key.env != NULL)
		s->key.option = "secret_env";
	if ((rc = load_secrets(s, err)) != SCIMSYNC_OK)
		return rc;
	if (s->ca_file != NULL) {
		if ((f = fopen(s->ca_file, "re")) == NULL)
			return su_fail(err, SCIMSYNC_EFAIL,
				       "option 'ca_file': cannot read %s: %s",
				       s->ca_file, strerror(errno));
		fclose(f);
	}
	if (s->user_agent == NULL &&
	    su_opt_str(&s->user_agent, "user_agent",
		       "scimsync-webhook/" PACKAGE_VERSION, false,
		       err) != SCIMSYNC_OK)
		return SCIMSYNC_ERETRY;
	return SCIMSYNC_OK;
}

/* ---- the transport ---- */

/* A response body: its start kept for messages, the rest counted; past
 * max_response_bytes the transfer is aborted (returning less than was
 * given makes libcurl stop with CURLE_WRITE_ERROR). */
static size_t on_body(char *p, size_t size, size_t nmemb, void *ud)
{
	scimsync_sink *s = ud;
	struct response *r = &s->resp;
	size_t n = size * nmemb, allowed, keep;

	allowed = s->max_response_bytes > r->total
			  ? s->max_response_bytes - r->total
			  : 0;
	keep = sizeof(r->quote) - 1 - r->n_quote;
	if (keep > n)
		keep = n;
	if (keep > allowed)
		keep = allowed;
	memcpy(r->quote + r->n_quote, p, keep);
	r->n_quote += keep;
	if (n > allowed) {
		r->cut = true;
		r->total += allowed;
		return 0;
	}
	r->total += n;
	return n;
}

/* The value of header name (lower case) in line p[0..n), into out. */
static bool header_value(const char *p, size_t n, const char *name, char *out,
			 size_t cap)
{
	size_t k = strlen(name), i;

	if (n <= k || p[k] != ':' || strncasecmp(p, name, k) != 0)
		return false;
	p += k + 1;
	n -= k + 1;
	while (n > 0 && (*p == ' ' || *p == '\t')) {
		p++;
		n--;
	}
	while (n > 0 && (p[n - 1] == '\r' || p[n - 1] == '\n' ||
			 p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	for (i = 0; i < n && i + 1 < cap; i++)
		out[i] = p[i];
	out[i] = '\0';
	return true;
}

/* Response headers: the ones the result depends on. A status line starts
 * a response (the next one, when redirects are followed): forget what
 * the previous one said. */
static size_t on_header(char *p, size_t size, size_t nmemb, void *ud)
{
	scimsync_sink *s = ud;
	struct response *r = &s->resp;
	size_t n = size * nmemb;

	if (n >= 5 && strncmp(p, "HTTP/", 5) == 0)
		memset(r, 0, sizeof(*r));
	else if (!header_value(p, n, "retry-after", r->retry_after,
			       sizeof(r->retry_after)))
		header_value(p, n, "location", r->location,
			     sizeof(r->location));
	return n;
}

/* Retry-After: delta-seconds or an HTTP date, in ms from now (0: none or
 * unreadable). */
static int64_t retry_after_ms(const char *v)
{
	const char *p;
	int64_t ms;
	time_t t;

	if (*v == '\0')
		return 0;
	for (p = v; *p >= '0' && *p <= '9'; p++)
		;
	if (*p == '\0') {
		/* The engine caps the wait at an hour; so do we, before
		 * anything can overflow. */
		if (p - v > 7)
			return (int64_t)3600 * 1000;
		return (int64_t)strtol(v, NULL, 10) * 1000;
	}
	if ((t = curl_getdate(v, NULL)) == (time_t)-1)
		return 0;
	ms = (int64_t)t * 1000 - whk_now_ms();
	return ms > 0 ? ms : 0;
}

/* A curl_slist_append that frees the list when it fails. */
static bool add_header(struct curl_slist **h, const char *line)
{
	struct curl_slist *n = curl_slist_append(*h, line);

	if (n == NULL) {
		curl_slist_free_all(*h);
		*h = NULL;
		return false;
	}
	*h = n;
	return true;
}

static void free_headers(struct curl_slist *h)
{
	struct curl_slist *i;

	/* The bearer token is not left in freed memory. */
	for (i = h; i != NULL; i = i->next)
		if (strncmp(i->data, "Authorization:", 14) == 0)
			explicit_bzero(i->data, strlen(i->data));
	curl_slist_free_all(h);
}

/* The request's headers (NULL: out of memory). n_batch 0: one event. */
static struct curl_slist *make_headers(scimsync_sink *s,
				       const scimsync_event *first,
				       size_t n_batch, const char *idem,
				       const char *ts, const char *sig)
{
	struct curl_slist *h = NULL;
	char line[600];
	bool ok;

	snprintf(line, sizeof(line), "Idempotency-Key: %s", idem);
	ok = add_header(&h, "Content-Type: application/json") &&
	     add_header(&h, line);
	snprintf(line, sizeof(line), "X-Scimsync-Event-Id: %s", first->key);
	ok = ok && add_header(&h, line);
	if (n_batch == 0)
		snprintf(line, sizeof(line), "X-Scimsync-Event-Type: %s",
			 first->type);
	else
		snprintf(line, sizeof(line), "X-Scimsync-Batch-Size: %zu",
			 n_batch);
	ok = ok && add_header(&h, line);
	snprintf(line, sizeof(line), "X-Scimsync-Timestamp: %s", ts);
	ok = ok && add_header(&h, line);
	snprintf(line, sizeof(line), "X-Scimsync-Signature: v1=%s", sig);
	/* "Expect:" (empty) stops libcurl from waiting for a 100 Continue
	 * before larger bodies: one round trip less, and receivers that do
	 * not answer 100 do not cost a second. */
	ok = ok && add_header(&h, line) && add_header(&h, "Expect:");
	if (ok && s->auth != NULL)
		ok = add_header(&h, s->auth);
	return ok ? h : NULL;
}

/* What the transfer's outcome means for the event(s). */
static int classify(scimsync_sink *s, CURLcode crc, scimsync_err *err)
{
	char q[BODY_QUOTE + 8], loc[BODY_QUOTE + 8];
	const char *text;
	long status = 0;
	int code;

	curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &status);
	/* Aborted by on_body: the response is all there but its body. */
	if (crc != CURLE_OK && !(crc == CURLE_WRITE_ERROR && s->resp.cut)) {
		text = s->curl_err[0] ? s->curl_err : curl_easy_strerror(crc);
		whk_quote(q, sizeof(q), text, strlen(text));
		/* A redirect loop, or to a scheme other than http(s), is
		 * the receiver's setup: as a 3xx not followed. */
		code = crc == CURLE_TOO_MANY_REDIRECTS ||
				       crc == CURLE_UNSUPPORTED_PROTOCOL
			       ? SCIMSYNC_EFAIL
			       : SCIMSYNC_ERETRY;
		return su_fail(err, code, "%s", q);
	}
	whk_quote(q, sizeof(q), s->resp.quote, s->resp.n_quote);
	if (status >= 200 && status <= 299)
		return su_fail(err, SCIMSYNC_OK, "HTTP %ld", status);
	if (status >= 300 && status <= 399 && !s->follow_redirects) {
		/* Location as the receiver sent it: libcurl's resolved
		 * redirect URL would carry the configured URL's user and
		 * password into the message. */
		whk_quote(loc, sizeof(loc), s->resp.location,
			  strlen(s->resp.location));
		return su_fail(err, SCIMSYNC_EFAIL,
			       "redirect to %s not followed (HTTP %ld; "
			       "option follow_redirects is off)",
			       loc[0] ? loc : "(no Location)", status);
	}
	if (status == 408 || status == 429 || (status >= 500 && status <= 599))
		code = SCIMSYNC_ERETRY;
	else if (status >= 300 && status <= 499)
		code = SCIMSYNC_EFAIL;
	else /* 1xx as a final answer, or nothing readable */
		return su_fail(err, SCIMSYNC_ERETRY,
			       "HTTP %ld: not an answer to a POST", status);
	if (status == 429 || status == 503)
		s->retry_after_ms = retry_after_ms(s->resp.retry_after);
	return su_fail(err, code, "HTTP %ld%s%s", status, q[0] ? ": " : "", q);
}

/* Remember the outcome for health, and log when deliveries start or stop
 * failing (the engine logs every retry itself). */
static void note_outcome(scimsync_sink *s, int rc, const scimsync_err *err,
			 double secs)
{
	if (rc == SCIMSYNC_OK)
		snprintf(s->last, sizeof(s->last), "%s in %" PRId64 " ms",
			 err->message, (int64_t)(secs * 1000));
	else
		snprintf(s->last, sizeof(s->last), "%s", err->message);
	s->last_rc = rc;
	s->last_ms = whk_now_ms();
	if (rc == SCIMSYNC_ERETRY && !s->failing) {
		LOG(s, SCIMSYNC_LOG_WARN,
		    "POST %s: %s; events wait and are retried", s->safe_url,
		    err->message);
		s->failing = true;
	} else if (rc != SCIMSYNC_ERETRY && s->failing) {
		LOG(s, SCIMSYNC_LOG_INFO, "POST %s answers again (%s)",
		    s->safe_url, err->message);
		s->failing = false;
	}
}

/* POST body, signed; about first (and n_batch - 1 more, when n_batch >
 * 0). */
static int post(scimsync_sink *s, const char *body, size_t len,
		const scimsync_event *first, size_t n_batch, const char *idem,
		scimsync_err *err)
{
	struct curl_slist *h;
	char ts[24], sig[65];
	double secs = 0;
	CURLcode crc;
	int rc;

	s->retry_after_ms = 0;
	/* A secret file that changed is read again; one that cannot be
	 * read is a retry: the file may be being replaced. */
	if (load_secrets(s, err) != SCIMSYNC_OK) {
		err->code = SCIMSYNC_ERETRY;
		note_outcome(s, SCIMSYNC_ERETRY, err, 0);
		return SCIMSYNC_ERETRY;
	}
	snprintf(ts, sizeof(ts), "%lld", (long long)time(NULL));
	if ((rc = whk_sign(s, ts, body, len, sig, err)) != SCIMSYNC_OK)
		return rc;
	if ((h = make_headers(s, first, n_batch, idem, ts, sig)) == NULL)
		return su_fail(err, SCIMSYNC_ERETRY, "out of memory");
	memset(&s->resp, 0, sizeof(s->resp));
	s->curl_err[0] = '\0';
	if (curl_easy_setopt(s->curl, CURLOPT_HTTPHEADER, h) != CURLE_OK ||
	    curl_easy_setopt(s->curl, CURLOPT_POSTFIELDSIZE_LARGE,
			     (curl_off_t)len) != CURLE_OK ||
	    curl_easy_setopt(s->curl, CURLOPT_POSTFIELDS, body) != CURLE_OK) {
		free_headers(h);
		return su_fail(err, SCIMSYNC_ERETRY, "out of memory");
	}
	crc = curl_easy_perform(s->curl);
	/* Nothing in the handle points at freed memory between calls. */
	curl_easy_setopt(s->curl, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(s->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
	curl_easy_setopt(s->curl, CURLOPT_POSTFIELDS, "");
	free_headers(h);
	rc = classify(s, crc, err);
	curl_easy_getinfo(s->curl, CURLINFO_TOTAL_TIME, &secs);
	LOG(s, SCIMSYNC_LOG_DEBUG,
	    "event %" PRId64 " %s%s%zu: %s (%.0f ms, %zu bytes sent, %zu "
	    "read%s)",
	    first->seq, first->key, n_batch ? " batch of " : "",
	    n_batch ? n_batch : (size_t)1, err->message, secs * 1000, len,
	    s->resp.total, s->resp.cut ? ", cut" : "");
	note_outcome(s, rc, err, secs);
	return rc;
}

/* The event can be sent at all: a 1.0 event or newer, with a key and a
 * type that fit in a header line. */
static int check_event(const scimsync_event *ev, scimsync_err *err)
{
	if (ev == NULL ||
	    ev->struct_size < offsetof(scimsync_event, event_json_len) +
				      sizeof(ev->event_json_len))
		return su_fail(err, SCIMSYNC_EFAIL,
			       "event smaller than a 1.0 event");
	if (!whk_header_safe(ev->key) || strlen(ev->key) > 200)
		return su_fail(err, SCIMSYNC_EFAIL,
			       "event %" PRId64 ": its key cannot go into a "
			       "header",
			       ev->seq);
	if (!whk_header_safe(ev->type) || strlen(ev->type) > 200)
		return su_fail(err, SCIMSYNC_EFAIL,
			       "event %" PRId64 ": its type cannot go into a "
			       "header",
			       ev->seq);
	return SCIMSYNC_OK;
}

/* A batch's Idempotency-Key: "batch-" and the SHA-256 of its events'
 * keys, so the same events make the same key and any other batch (the
 * events of a refused batch sent one by one, a longer batch after a
 * restart) another one. */
static int batch_key(const scimsync_event *const *evs, size_t n, char out[71],
		     scimsync_err *err)
{
	static const char digits[] = "0123456789abcdef";
	unsigned char md[32];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	bool ok = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);

	for (size_t i = 0; ok && i < n; i++)
		ok = EVP_DigestUpdate(ctx, evs[i]->key,
				      strlen(evs[i]->key) + 1) == 1;
	ok = ok && EVP_DigestFinal_ex(ctx, md, &mdlen) == 1 && mdlen == 32;
	EVP_MD_CTX_free(ctx);
	if (!ok)
		return su_fail(err, SCIMSYNC_ERETRY, "SHA-256 failed");
	memcpy(out, "batch-", 6);
	for (size_t i = 0; i < 32; i++) {
		out[6 + 2 * i] = digits[md[i] >> 4];
		out[7 + 2 * i] = digits[md[i] & 15];
	}
	out[70] = '\0';
	return SCIMSYNC_OK;
}

/* POST evs[0..n), which check_event has passed: one event, or a batch
 * body. */
static int send_events(scimsync_sink *s, const scimsync_event *const *evs,
		       size_t n, bool batch, scimsync_err *err)
{
	char *body = NULL, key[71];
	const char *idem = evs[0]->key;
	size_t len = 0;
	int rc;

	if (batch) {
		if ((rc = batch_key(evs, n, key, err)) != SCIMSYNC_OK)
			return rc;
		idem = key;
	}
	if ((rc = whk_body(s, evs, n, batch, &body, &len, err)) != SCIMSYNC_OK)
		return rc;
	rc = post(s, body, len, evs[0], batch ? n : 0, idem, err);
	free(body);
	return rc;
}

/* ---- the ABI ---- */

static int setup_curl(scimsync_sink *s, scimsync_err *err)
{
	CURLcode c = CURLE_OK;

#define SET(opt, val)                                                          \
	do {                                                                   \
		if (c == CURLE_OK &&                                           \
		    (c = curl_easy_setopt(s->curl, opt, val)) != CURLE_OK)     \
			return su_fail(err, SCIMSYNC_EFAIL,                    \
				       "libcurl refuses %s: %s", #opt,         \
				       curl_easy_strerror(c));                 \
	} while (0)

	if ((s->curl = curl_easy_init()) == NULL)
		return su_fail(err, SCIMSYNC_ERETRY, "curl_easy_init failed");
	SET(CURLOPT_URL, s->url);
	/* Timeouts without SIGALRM: the daemon has other threads. (libcurl
	 * then leaves SIGPIPE alone too: scimsyncd ignores it, as a host
	 * must for TLS writes to a closed connection.) */
	SET(CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
	SET(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
	SET(CURLOPT_REDIR_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	SET(CURLOPT_POST, 1L);
	SET(CURLOPT_FOLLOWLOCATION, s->follow_redirects ? 1L : 0L);
	SET(CURLOPT_MAXREDIRS, (long)MAX_REDIRECTS);
	/* A followed 301/302 still POSTs (libcurl would switch to GET, as
	 * browsers do); a 303 means "done, look there", so GET. */
	SET(CURLOPT_POSTREDIR,
	    (long)(CURL_REDIR_POST_301 | CURL_REDIR_POST_302));
	SET(CURLOPT_CONNECTTIMEOUT_MS, s->connect_timeout_ms);
	SET(CURLOPT_TIMEOUT_MS, s->timeout_ms);
	SET(CURLOPT_TCP_KEEPALIVE, 1L);
	SET(CURLOPT_SSL_VERIFYPEER, s->tls_verify ? 1L : 0L);
	SET(CURLOPT_SSL_VERIFYHOST, s->tls_verify ? 2L : 0L);
	if (s->ca_file != NULL)
		SET(CURLOPT_CAINFO, s->ca_file);
	SET(CURLOPT_USERAGENT, s->user_agent);
	SET(CURLOPT_WRITEFUNCTION, on_body);
	SET(CURLOPT_WRITEDATA, s);
	SET(CURLOPT_HEADERFUNCTION, on_header);
	SET(CURLOPT_HEADERDATA, s);
	SET(CURLOPT_ERRORBUFFER, s->curl_err);
#undef SET
	return SCIMSYNC_OK;
}

static int webhook_open(scimsync_sink **out, const scimsync_host *host,
			const scimsync_option *options, scimsync_err *err)
{
	const scimsync_option *o;
	scimsync_sink *s;
	int rc = SCIMSYNC_OK;

	*out = NULL;
	pthread_once(&curl_once, curl_init);
	if (curl_init_rc != CURLE_OK)
		return su_fail(err, SCIMSYNC_EFAIL, "curl_global_init: %s",
			       curl_easy_strerror(curl_init_rc));
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return su_fail(err, SCIMSYNC_ERETRY, "out of memory");
	s->host = host;
	s->key.option = "secret_file";
	s->bearer.option = "bearer_token_file";
	s->tls_verify = true;
	s->connect_timeout_ms = 5000;
	s->timeout_ms = 10000;
	s->max_response_bytes = 65536;
	s->include_resource = true;
	for (o = options; o != NULL && o->key != NULL && rc == SCIMSYNC_OK; o++)
		rc = set_option(s, o->key, o->value, err);
	if (rc == SCIMSYNC_OK)
		rc = check_options(s, err);
	if (rc == SCIMSYNC_OK &&
	    (s->mac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL)
		rc = su_fail(err, SCIMSYNC_EFAIL, "OpenSSL has no HMAC");
	if (rc == SCIMSYNC_OK)
		rc = setup_curl(s, err);
	if (rc != SCIMSYNC_OK) {
		webhook_close(s);
		return rc;
	}
	LOG(s, SCIMSYNC_LOG_INFO,
	    "POST to %s, signed with the key from %s %s%s; %s; timeout %ld ms "
	    "(connect %ld ms); %s; resources %s",
	    s->safe_url, s->key.option,
	    s->key.path != NULL ? s->key.path : s->key.env,
	    s->bearer.path != NULL ? ", with a bearer token" : "",
	    s->batch ? "batches" : "one event per request", s->timeout_ms,
	    s->connect_timeout_ms,
	    s->follow_redirects ? "redirects followed"
				: "redirects not followed",
	    s->include_resource ? "included" : "left out");
	if (!s->tls_verify)
		LOG(s, SCIMSYNC_LOG_WARN,
		    "tls_verify is false: the receiver's certificate is not "
		    "checked, anyone in the path can read and answer");
	*out = s;
	return SCIMSYNC_OK;
}

static void webhook_close(scimsync_sink *s)
{
	if (s == NULL)
		return;
	if (s->curl != NULL)
		curl_easy_cleanup(s->curl);
	EVP_MAC_free(s->mac);
	whk_secret_free(&s->key);
	whk_secret_free(&s->bearer);
	free(s->url);
	free(s->safe_url);
	if (s->auth != NULL) {
		explicit_bzero(s->auth, strlen(s->auth));
		free(s->auth);
	}
	free(s->ca_file);
	free(s->user_agent);
	free(s);
}

static int webhook_apply(scimsync_sink *s, const scimsync_event *ev,
			 scimsync_err *err)
{
	int rc = check_event(ev, err);

	return rc != SCIMSYNC_OK ? rc : send_events(s, &ev, 1, false, err);
}

/* Several events. Not batching: one request each, in order. Batching:
 * the events up to the first that cannot be sent at all (check_event) in
 * one request; when the receiver refuses that for good (4xx) and it held
 * several events, they go again one per request (as batches of one), so
 * only the event(s) the receiver refuses become dead letters, not every
 * event that shared a batch with one (a 413 for a batch too large goes
 * through too). */
static int webhook_apply_many(scimsync_sink *s,
			      const scimsync_event *const *evs, size_t n,
			      size_t *done, scimsync_err *err)
{
	scimsync_err bad_err = {0};
	size_t i, m;
	int rc = SCIMSYNC_OK;

	*done = 0;
	if (!s->batch) {
		for (i = 0; i < n; i++)
			if ((rc = webhook_apply(s, evs[i], err)) != SCIMSYNC_OK)
				break;
		*done = i;
		return rc;
	}
	for (m = 0; m < n && check_event(evs[m], &bad_err) == SCIMSYNC_OK; m++)
		;
	if (m > 0)
		rc = send_events(s, evs, m, true, err);
	if (rc == SCIMSYNC_EFAIL && m > 1) {
		LOG(s, SCIMSYNC_LOG_INFO,
		    "a batch of %zu events was refused (%s); sending them one "
		    "by one",
		    m, err->message);
		for (i = 0; i < m; i++)
			if ((rc = send_events(s, evs + i, 1, true, err)) !=
			    SCIMSYNC_OK) {
				*done = i;
				return rc;
			}
	} else if (rc != SCIMSYNC_OK) {
		return rc;
	}
	*done = m;
	if (m < n) {
		*err = bad_err;
		return SCIMSYNC_EFAIL;
	}
	return SCIMSYNC_OK;
}

/* No probe (see the top of this file): the last delivery's outcome. */
static int webhook_health(scimsync_sink *s, scimsync_err *err)
{
	int64_t ago;

	if (s->last_ms == 0)
		return su_fail(err, SCIMSYNC_OK,
			       "nothing sent yet (no probe: any request "
			       "would reach the receiver)");
	ago = (whk_now_ms() - s->last_ms) / 1000;
	return su_fail(err,
		       s->last_rc == SCIMSYNC_ERETRY ? SCIMSYNC_ERETRY
						     : SCIMSYNC_OK,
		       "last delivery %" PRId64 " s ago: %s", ago, s->last);
}

static int64_t webhook_retry_after(scimsync_sink *s)
{
	int64_t ms = s->retry_after_ms;

	s->retry_after_ms = 0; /* once */
	return ms;
}

static const scimsync_sink_plugin webhook_sink = {
	.header = SCIMSYNC_PLUGIN_HEADER_INIT(
		SCIMSYNC_SINK_ABI_MAJOR, SCIMSYNC_SINK_ABI_MINOR,
		scimsync_sink_plugin, SCIMSYNC_PLUGIN_SINK, SINK_NAME,
		SINK_VERSION),
	.open = webhook_open,
	.close = webhook_close,
	.apply = webhook_apply,
	.health = webhook_health,
	.apply_many = webhook_apply_many,
	.retry_after = webhook_retry_after,
};

SINK_EXPORT const scimsync_plugin_header *scimsync_plugin_entry(void);

SINK_EXPORT const scimsync_plugin_header *scimsync_plugin_entry(void)
{
	return &webhook_sink.header;
}
