/* conn.c - results, the connection and reading entries for the LDAP sink
 * (sink_ldap.h). */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* strdup, strcasecmp, explicit_bzero under -std=c11 */
#endif

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sink_ldap.h"

/* ---- errors and logging ---- */

void lds_conn_drop(scimsync_sink *s)
{
	lds_prefetch_clear(s); /* what it read may be changed by now */
	if (s->ld != NULL)
		ldap_unbind_ext_s(s->ld, NULL, NULL);
	s->ld = NULL;
}

/* Does rc mean the connection is gone or unusable (make a new one)? */
static bool rc_conn_lost(int rc)
{
	switch (rc) {
	case LDAP_SERVER_DOWN:
	case LDAP_CONNECT_ERROR:
	case LDAP_TIMEOUT:
	case LDAP_LOCAL_ERROR:
	case LDAP_ENCODING_ERROR:
	case LDAP_DECODING_ERROR:
	case LDAP_UNAVAILABLE: /* shutting down */
		return true;
	default:
		return false;
	}
}

/* Transient (retry) or permanent (fail)? A server that is down, slow,
 * busy, shutting down, out of resources or failing inside is transient;
 * what it refuses about the request itself is not: schema and syntax
 * violations, a missing parent, access rights, unwillingness (a
 * read-only replica, say, stays one). */
static int rc_code(int rc)
{
	if (rc_conn_lost(rc))
		return SCIMSYNC_ERETRY;
	switch (rc) {
	case LDAP_NO_MEMORY:
	case LDAP_BUSY:
	case LDAP_OTHER: /* slapd: internal errors, a full database */
	case LDAP_OPERATIONS_ERROR:
	case LDAP_TIMELIMIT_EXCEEDED:
	case LDAP_ADMINLIMIT_EXCEEDED:
	case LDAP_CONFIDENTIALITY_REQUIRED:
	case LDAP_STRONG_AUTH_REQUIRED:
		return SCIMSYNC_ERETRY;
	default:
		return SCIMSYNC_EFAIL;
	}
}

int lds_fail_rc(scimsync_sink *s, int rc, scimsync_err *err, const char *fmt,
		...) __attribute__((format(printf, 4, 5)));

/* An LDAP result code as a sink result: err gets "<what>: <error>
 * (<server's diagnostic>)"; a lost connection is dropped. */
int lds_fail_rc(scimsync_sink *s, int rc, scimsync_err *err, const char *fmt,
		...)
{
	char what[160];
	char *diag = NULL, *matched = NULL;
	int code = rc_code(rc);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	/* Client-side errors (< 0) leave an older message behind. */
	if (rc > 0 && s->ld != NULL) {
		ldap_get_option(s->ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diag);
		if (rc == LDAP_NO_SUCH_OBJECT)
			ldap_get_option(s->ld, LDAP_OPT_MATCHED_DN, &matched);
	}
	su_fail(err, code, "%s: %s%s%s%s%s%s", what, ldap_err2string(rc),
		diag != NULL && *diag ? " (" : "", diag != NULL ? diag : "",
		diag != NULL && *diag ? ")" : "",
		matched != NULL ? "; the nearest entry that exists: " : "",
		matched != NULL ? (*matched ? matched : "none") : "");
	ldap_memfree(diag);
	ldap_memfree(matched);
	if (rc_conn_lost(rc)) {
		if (s->ld != NULL && s->ever_up && !s->down)
			LOG(s, SCIMSYNC_LOG_WARN,
			    "connection to %s lost (%s); events wait and are "
			    "retried",
			    s->url, ldap_err2string(rc));
		s->down = true;
		lds_conn_drop(s);
	}
	return code;
}

/* ---- the connection ---- */

/* What else a failed first request over ldaps:// may mean. */
static const char *tls_hint(const scimsync_sink *s, int rc)
{
	return s->tls && !s->start_tls && rc == LDAP_SERVER_DOWN
		       ? " (or its certificate is not trusted: see tls_ca_file)"
		       : "";
}

/* The server's naming contexts into s->contexts. */
static int read_contexts(scimsync_sink *s, scimsync_err *err)
{
	char *attrs[] = {(char *)"namingContexts", NULL};
	LDAPMessage *res = NULL, *e;
	struct berval **vals = NULL;
	char **out;
	int rc, n, i;

	rc = ldap_search_ext_s(s->ld, "", LDAP_SCOPE_BASE, "(objectClass=*)",
			       attrs, 0, NULL, NULL, &s->tv, 1, &res);
	if (rc != LDAP_SUCCESS) {
		ldap_msgfree(res);
		return lds_fail_rc(s, rc, err, "read the root DSE of %s%s",
				   s->url, tls_hint(s, rc));
	}
	e = ldap_first_entry(s->ld, res);
	if (e != NULL)
		vals = ldap_get_values_len(s->ld, e, "namingContexts");
	n = ldap_count_values_len(vals);
	out = calloc((size_t)n + 1, sizeof(*out));
	for (i = 0; out != NULL && i < n; i++)
		if ((out[i] = strndup(vals[i]->bv_val, vals[i]->bv_len)) ==
		    NULL) {
			su_free_strv(out);
			out = NULL;
		}
	ldap_value_free_len(vals);
	ldap_msgfree(res);
	if (out == NULL)
		return su_fail(err, SCIMSYNC_ERETRY, "out of memory");
	if (n == 0) {
		free(out);
		return su_fail(
			err, SCIMSYNC_ERETRY,
			"%s lists no naming contexts in its root DSE: set "
			"option 'base' to where the users are",
			s->url);
	}
	su_free_strv(s->contexts);
	s->contexts = out;
	return SCIMSYNC_OK;
}

/* Give up on a connection being made: a retry, whatever the code (see
 * conn_open). */
static int conn_retry(scimsync_sink *s, scimsync_err *err)
{
	lds_conn_drop(s);
	s->down = s->down || s->ever_up;
	if (err != NULL)
		err->code = SCIMSYNC_ERETRY;
	return SCIMSYNC_ERETRY;
}

/* Connect and bind, unless connected. Every failure is a retry: a server
 * that is down comes back, and a wrong password or certificate is a
 * setup problem that holds up every event alike, so the events wait
 * (visible in the sink's status) rather than all becoming dead letters;
 * the password is read again on every connect, so rotating the file
 * fixes it without a restart. */
int lds_conn_open(scimsync_sink *s, scimsync_err *err)
{
	char pw[PASSWORD_MAX];
	struct berval cred;
	int rc, v3 = LDAP_VERSION3, req, zero = 0;
	char *attrs[] = {(char *)"1.1", NULL};
	LDAPMessage *res = NULL;

	if (s->ld != NULL)
		return SCIMSYNC_OK;
	rc = ldap_initialize(&s->ld, s->url);
	if (rc != LDAP_SUCCESS) {
		s->ld = NULL;
		su_fail(err, SCIMSYNC_ERETRY, "ldap_initialize %s: %s", s->url,
			ldap_err2string(rc));
		return conn_retry(s, err);
	}
	ldap_set_option(s->ld, LDAP_OPT_PROTOCOL_VERSION, &v3);
	ldap_set_option(s->ld, LDAP_OPT_NETWORK_TIMEOUT, &s->tv);
	ldap_set_option(s->ld, LDAP_OPT_TIMEOUT, &s->tv);
	ldap_set_option(s->ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF);
	ldap_set_option(s->ld, LDAP_OPT_RESTART, LDAP_OPT_ON);
	if (s->tls) {
		req = s->tls_verify ? LDAP_OPT_X_TLS_DEMAND
				    : LDAP_OPT_X_TLS_NEVER;
		ldap_set_option(s->ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &req);
		if (s->tls_ca_file != NULL)
			ldap_set_option(s->ld, LDAP_OPT_X_TLS_CACERTFILE,
					s->tls_ca_file);
		rc = ldap_set_option(s->ld, LDAP_OPT_X_TLS_NEWCTX, &zero);
		if (rc != LDAP_OPT_SUCCESS) {
			su_fail(err, SCIMSYNC_ERETRY,
				"TLS setup for %s failed (tls_ca_file?)",
				s->url);
			return conn_retry(s, err);
		}
	}
	if (s->start_tls) {
		rc = ldap_start_tls_s(s->ld, NULL, NULL);
		if (rc != LDAP_SUCCESS) {
			/* libldap says only "Connect error" when the
			 * certificate is refused. */
			lds_fail_rc(s, rc, err, "StartTLS with %s%s", s->url,
				    rc == LDAP_CONNECT_ERROR
					    ? " (is its certificate trusted? "
					      "see tls_ca_file)"
					    : "");
			return conn_retry(s, err);
		}
	}
	if (s->bind_dn != NULL) {
		rc = su_read_secret(s->pw_env, "bind_password_env", s->pw_file,
				    "bind_password_file", pw, sizeof(pw), NULL,
				    err);
		if (rc == SCIMSYNC_OK) {
			cred.bv_val = pw;
			cred.bv_len = strlen(pw);
			rc = ldap_sasl_bind_s(s->ld, s->bind_dn,
					      LDAP_SASL_SIMPLE, &cred, NULL,
					      NULL, NULL);
			if (rc != LDAP_SUCCESS)
				lds_fail_rc(s, rc, err, "bind to %s as %s%s",
					    s->url, s->bind_dn,
					    tls_hint(s, rc));
		}
		explicit_bzero(pw, sizeof(pw));
		if (rc != LDAP_SUCCESS)
			return conn_retry(s, err);
	}
	/* The naming contexts (the first round trip of an anonymous
	 * connection), or a look at the root DSE. */
	if (s->base == NULL) {
		if (read_contexts(s, err) != SCIMSYNC_OK)
			return conn_retry(s, err);
	} else {
		rc = ldap_search_ext_s(s->ld, "", LDAP_SCOPE_BASE,
				       "(objectClass=*)", attrs, 0, NULL, NULL,
				       &s->tv, 1, &res);
		ldap_msgfree(res);
		if (rc != LDAP_SUCCESS) {
			lds_fail_rc(s, rc, err, "read the root DSE of %s%s",
				    s->url, tls_hint(s, rc));
			return conn_retry(s, err);
		}
	}
	if (s->down || !s->ever_up)
		LOG(s, SCIMSYNC_LOG_INFO, "%s %s as %s",
		    s->ever_up ? "reconnected to" : "connected to", s->url,
		    s->bind_dn != NULL ? s->bind_dn : "anonymous");
	s->down = false;
	s->ever_up = true;
	return SCIMSYNC_OK;
}

/* ---- reading entries ---- */

void lds_found_free(struct found *f)
{
	ldap_msgfree(f->res);
	free(f->dn);
	memset(f, 0, sizeof(*f));
}

/* f's values of attr (ldap_value_free_len), or NULL. */
struct berval **lds_found_values(scimsync_sink *s, const struct found *f,
				 const char *attr)
{
	return f->e != NULL ? ldap_get_values_len(s->ld, f->e, attr) : NULL;
}

static int found_take(scimsync_sink *s, LDAPMessage *res, struct found *f,
		      scimsync_err *err)
{
	char *dn;

	f->res = res;
	f->e = ldap_first_entry(s->ld, res);
	if (f->e == NULL)
		return SCIMSYNC_OK;
	if ((dn = ldap_get_dn(s->ld, f->e)) == NULL ||
	    (f->dn = strdup(dn)) == NULL) {
		ldap_memfree(dn);
		lds_found_free(f);
		return su_fail(err, SCIMSYNC_ERETRY, "out of memory");
	}
	ldap_memfree(dn);
	return SCIMSYNC_OK;
}

/* The entry at dn with attrs, or f->e NULL when there is none. */
int lds_read_entry(scimsync_sink *s, const char *dn, char **attrs,
		   struct found *f, scimsync_err *err)
{
	LDAPMessage *res = NULL;
	int rc;

	memset(f, 0, sizeof(*f));
	rc = ldap_search_ext_s(s->ld, dn, LDAP_SCOPE_BASE, "(objectClass=*)",
			       attrs, 0, NULL, NULL, &s->tv, 1, &res);
	if (rc == LDAP_NO_SUCH_OBJECT) {
		ldap_msgfree(res);
		return SCIMSYNC_OK;
	}
	if (rc != LDAP_SUCCESS) {
		ldap_msgfree(res);
		return lds_fail_rc(s, rc, err, "read %s", dn);
	}
	return found_take(s, res, f, err);
}

/* ---- prefetch: one search for the users of a batch ---- */

static int pf_cmp(const void *a, const void *b)
{
	return strcasecmp(((const struct prefetched *)a)->marker,
			  ((const struct prefetched *)b)->marker);
}

static struct prefetched *pf_lookup(scimsync_sink *s, const char *marker)
{
	struct prefetched key = {.marker = (char *)marker};

	if (s->pf.n == 0)
		return NULL;
	return bsearch(&key, s->pf.v, s->pf.n, sizeof(key), pf_cmp);
}

void lds_prefetch_clear(scimsync_sink *s)
{
	size_t i;

	for (i = 0; i < s->pf.n_res; i++)
		ldap_msgfree(s->pf.res[i]);
	for (i = 0; i < s->pf.n; i++)
		free(s->pf.v[i].marker);
	free(s->pf.res);
	free(s->pf.v);
	memset(&s->pf, 0, sizeof(s->pf));
}

/* Is ev about a user's entry (found by marker)? */
static bool pf_wants(const scimsync_event *ev)
{
	return ev->type != NULL && ev->resource_id != NULL &&
	       (strncmp(ev->type, "user.", 5) == 0 ||
		strncmp(ev->type, "role.", 5) == 0);
}

/* The markers of the users the events of evs are about, each once. Only
 * the first event to look a user up gets the batch's answer (pf_find,
 * lds_prefetch_absent): an entry an earlier event of the batch may have
 * changed is read again. */
static int pf_markers(scimsync_sink *s, const scimsync_event *const *evs,
		      size_t n)
{
	size_t i, k;

	if ((s->pf.v = calloc(n, sizeof(*s->pf.v))) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		if (!pf_wants(evs[i]))
			continue;
		if ((s->pf.v[s->pf.n].marker = lds_cat(
			     MARKER_PREFIX, evs[i]->resource_id, NULL)) == NULL)
			return -1;
		s->pf.n++;
	}
	qsort(s->pf.v, s->pf.n, sizeof(*s->pf.v), pf_cmp);
	for (i = k = 0; i < s->pf.n; i++) {
		if (k > 0 &&
		    strcasecmp(s->pf.v[i].marker, s->pf.v[k - 1].marker) == 0)
			free(s->pf.v[i].marker);
		else
			s->pf.v[k++] = s->pf.v[i];
	}
	s->pf.n = k;
	return 0;
}

/* (|(id_attr=m1)(id_attr=m2)...) over the prefetch's markers. */
static char *pf_filter(scimsync_sink *s)
{
	size_t i, len = 4, at = 0;
	char **parts, *out = NULL;

	if ((parts = calloc(s->pf.n, sizeof(*parts))) == NULL)
		return NULL;
	for (i = 0; i < s->pf.n; i++) {
		if ((parts[i] = lds_eq_filter(s->id_attr, s->pf.v[i].marker)) ==
		    NULL)
			goto out;
		len += strlen(parts[i]);
	}
	if ((out = malloc(len)) == NULL)
		goto out;
	out[at++] = '(';
	out[at++] = '|';
	for (i = 0; i < s->pf.n; i++) {
		memcpy(out + at, parts[i], strlen(parts[i]));
		at += strlen(parts[i]);
	}
	out[at++] = ')';
	out[at] = '\0';
out:
	for (i = 0; i < s->pf.n; i++)
		free(parts[i]);
	free(parts);
	return out;
}

/* Note each entry of res under the markers it carries. */
static void pf_take(scimsync_sink *s, LDAPMessage *res)
{
	LDAPMessage *e;
	struct berval **ids;
	size_t i;

	for (e = ldap_first_entry(s->ld, res); e != NULL;
	     e = ldap_next_entry(s->ld, e)) {
		ids = ldap_get_values_len(s->ld, e, s->id_attr);
		for (i = 0; ids != NULL && ids[i] != NULL; i++) {
			struct prefetched *p;
			char *m;

			if (!lds_bv_has_prefix(ids[i], MARKER_PREFIX) ||
			    (m = strndup(ids[i]->bv_val, ids[i]->bv_len)) ==
				    NULL)
				continue;
			p = pf_lookup(s, m);
			free(m);
			if (p == NULL)
				continue;
			if (p->e != NULL && p->e != e)
				p->ambiguous = true;
			p->e = e;
		}
		ldap_value_free_len(ids);
	}
}

/* Read, in one subtree search per base, the entries of the users the
 * events of a batch are about, for lds_find_user to answer from. A
 * failure only means each event searches for itself, as without. The
 * entries are read with s->pf_attrs: every user attribute, and those the
 * events look at that "*" does not return (operational ones, such as
 * pwdAccountLockedTime, or a managed pwdPolicySubentry). */
void lds_prefetch(scimsync_sink *s, const scimsync_event *const *evs, size_t n)
{
	char *one[2] = {s->base, NULL};
	char **bases = s->base != NULL ? one : s->contexts;
	char *filter = NULL;
	size_t nb = 0, i;
	int lrc;

	lds_prefetch_clear(s);
	if (n < 2 || s->pf_attrs == NULL || pf_markers(s, evs, n) != 0 ||
	    s->pf.n < 2 || (filter = pf_filter(s)) == NULL)
		goto fail;
	while (bases != NULL && bases[nb] != NULL)
		nb++;
	if ((s->pf.res = calloc(nb, sizeof(*s->pf.res))) == NULL)
		goto fail;
	for (i = 0; i < nb; i++) {
		LDAPMessage *res = NULL;

		lrc = ldap_search_ext_s(s->ld, bases[i], LDAP_SCOPE_SUBTREE,
					filter, s->pf_attrs, 0, NULL, NULL,
					&s->tv, (int)(2 * s->pf.n), &res);
		if (lrc == LDAP_NO_SUCH_OBJECT && s->base == NULL) {
			ldap_msgfree(res);
			continue;
		}
		if (lrc != LDAP_SUCCESS) {
			ldap_msgfree(res);
			goto fail;
		}
		s->pf.res[s->pf.n_res++] = res;
		pf_take(s, res);
	}
	free(filter);
	return;
fail:
	free(filter);
	lds_prefetch_clear(s);
}

/* Does the prefetch say the user of marker has no entry? Then it is
 * about to get one: the answer is not given twice. */
bool lds_prefetch_absent(scimsync_sink *s, const char *marker)
{
	struct prefetched *p = pf_lookup(s, marker);

	if (p == NULL || p->ambiguous || p->used || p->e != NULL)
		return false;
	p->used = true;
	return true;
}

/* What the prefetch knows of v's entry: 1 (f filled, the entry borrowed),
 * 0 (ask the directory), -1 (out of memory). */
static int pf_find(scimsync_sink *s, const struct view *v, struct found *f)
{
	struct prefetched *p = pf_lookup(s, v->marker);
	char *dn;

	if (p == NULL || p->ambiguous || p->used)
		return 0;
	/* Once used, forgotten: the event may change the entry. */
	p->used = true;
	if (p->e == NULL)
		return 1;
	if ((dn = ldap_get_dn(s->ld, p->e)) == NULL ||
	    (f->dn = strdup(dn)) == NULL) {
		ldap_memfree(dn);
		return -1;
	}
	ldap_memfree(dn);
	f->e = p->e;
	return 1;
}

/* The entry that carries v's marker, searched under option base (or each
 * naming context). Two are an error to clear up by hand. */
int lds_find_user(scimsync_sink *s, const struct view *v, char **attrs,
		  struct found *f, scimsync_err *err)
{
	char *one[2] = {s->base, NULL};
	char **bases = s->base != NULL ? one : s->contexts;
	char *filter;
	LDAPMessage *res = NULL;
	int rc = SCIMSYNC_OK, lrc, n = 0;
	size_t i;

	memset(f, 0, sizeof(*f));
	switch (pf_find(s, v, f)) {
	case 1:
		return SCIMSYNC_OK;
	case -1:
		return su_fail(err, SCIMSYNC_ERETRY, "out of memory");
	default:
		break;
	}
	if ((filter = lds_eq_filter(s->id_attr, v->marker)) == NULL)
		return su_fail(err, SCIMSYNC_ERETRY, "out of memory");
	for (i = 0; bases != NULL && bases[i] != NULL; i++) {
		res = NULL;
		lrc = ldap_search_ext_s(s->ld, bases[i], LDAP_SCOPE_SUBTREE,
					filter, attrs, 0, NULL, NULL, &s->tv, 2,
					&res);
		if (lrc == LDAP_NO_SUCH_OBJECT && s->base == NULL) {
			ldap_msgfree(res);
			continue;
		}
		if (lrc == LDAP_SIZELIMIT_EXCEEDED ||
		    (lrc == LDAP_SUCCESS &&
		     (n = ldap_count_entries(s->ld, res)) > 1)) {
			ldap_msgfree(res);
			rc = su_fail(
				err, SCIMSYNC_EFAIL,
				"several entries under %s carry %s=%s (SCIM "
				"user %s): remove all but one",
				bases[i], s->id_attr, v->marker, v->id);
			break;
		}
		if (lrc != LDAP_SUCCESS) {
			ldap_msgfree(res);
			rc = lds_fail_rc(s, lrc, err, "search %s for %s",
					 bases[i], filter);
			break;
		}
		if (n == 1) {
			rc = found_take(s, res, f, err);
			break;
		}
		ldap_msgfree(res);
	}
	free(filter);
	return rc;
}
