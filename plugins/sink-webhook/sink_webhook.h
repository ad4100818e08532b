/* sink_webhook.h - the webhook sink's insides, shared by its files:
 *   sink_webhook.c  options, the ABI (open, close, apply, apply_many,
 *                   health, retry_after) and the HTTP transport (libcurl)
 *   webhook_body.c  request bodies (jansson), the signature (OpenSSL
 *                   HMAC-SHA256), secrets read from files, small text
 *                   helpers
 * Not installed; nothing here leaves the .so (only the entry symbol is
 * exported). Everything shared is named whk_.
 */
#ifndef SCIMSYNC_SINK_WEBHOOK_H
#define SCIMSYNC_SINK_WEBHOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/evp.h>

#include <scimsync/sink.h>

#include "sink_util.h"

#define SINK_NAME "webhook"
#define SINK_VERSION "0.1"

/* A secret (HMAC key, bearer token) is at most this long. */
#define SECRET_MAX 4096
/* How much of a response body error messages quote. */
#define BODY_QUOTE 200
/* Redirects followed at most, when follow_redirects is on. */
#define MAX_REDIRECTS 5

/* A secret read from a file (re-read when the file changes, so a key can
 * be rotated without a restart) or from the environment (read once). The
 * bytes are wiped when replaced or freed; never logged. */
struct secret {
	const char *option; /* "secret_file", ... for messages */
	char *path;	    /* the file, */
	char *env;	    /* or the environment variable; or neither */
	bool loaded;
	char buf[SECRET_MAX + 1]; /* the secret, NUL-terminated */
	size_t len;		  /* its length (a key may hold NULs) */
	/* what the file was when buf was read */
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
};

/* The response being read: its start is kept for error messages, the
 * rest only counted, up to max_response_bytes. */
struct response {
	char quote[512]; /* raw: white space runs shrink when quoted */
	size_t n_quote;
	size_t total; /* body bytes received */
	bool cut;     /* more than max_response_bytes: transfer aborted */
	char retry_after[64]; /* the Retry-After value, or "" */
	char location[512];   /* the Location value, or "" */
};

/* A sink state: options, then the connection (one CURL easy handle, kept
 * so connections are reused; used from the dispatcher thread only). */
struct scimsync_sink {
	const scimsync_host *host; /* borrowed until close */

	/* options */
	char *url;
	char *safe_url; /* for logs and messages: no userinfo or query */
	struct secret key;
	char *ca_file;
	bool tls_verify;
	long connect_timeout_ms;
	long timeout_ms;
	bool follow_redirects;
	size_t max_response_bytes;
	bool include_resource;
	bool batch;
	struct secret bearer;
	char *auth; /* "Authorization: Bearer <token>", made when it is read */
	char *user_agent;

	/* transport */
	CURL *curl;
	char curl_err[CURL_ERROR_SIZE];
	struct response resp;
	EVP_MAC *mac; /* HMAC, fetched once */

	/* state between calls (dispatcher thread only) */
	int64_t retry_after_ms; /* the target's wish, for retry_after */
	bool failing;		/* the last delivery did not get through */
	char last[300];		/* the last delivery's outcome, for health */
	int last_rc;
	int64_t last_ms;
};

/* The host's log, when the host has one (checked by struct_size). */
#define LOG(s, level, ...) SU_LOG((s)->host, SINK_NAME, level, __VA_ARGS__)

/* webhook_body.c */
int64_t whk_now_ms(void);
void whk_quote(char *out, size_t cap, const char *p, size_t n);
bool whk_header_safe(const char *v);

/* The body for one event, or {"events": [...]} for several (batch):
 * *body is a new string (free), *len its length. SCIMSYNC_OK or
 * SCIMSYNC_ERETRY (out of memory). */
int whk_body(const scimsync_sink *s, const scimsync_event *const *evs, size_t n,
	     bool batch, char **body, size_t *len, scimsync_err *err);

/* lowercase hex HMAC-SHA256(key, ts "." body) into hex[65]. */
int whk_sign(scimsync_sink *s, const char *ts, const char *body, size_t len,
	     char hex[65], scimsync_err *err);

/* Secrets: load (again, when the file changed) and free. */
/* Read sec (again, when its file changed since: one stat per call);
 * *changed says whether it did. */
int whk_secret_load(struct secret *sec, bool *changed, scimsync_err *err);
void whk_secret_free(struct secret *sec);

#endif
