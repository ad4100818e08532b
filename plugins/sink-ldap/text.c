/* text.c - strings, DNs, filters and modification lists for the LDAP
 * sink (sink_ldap.h). */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* strdup, strcasecmp, explicit_bzero under -std=c11 */
#endif

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sink_ldap.h"

/* ---- strings ---- */

/* The concatenation of the strings up to NULL (new), or NULL. */
char *lds_cat(const char *first, ...)
{
	va_list ap;
	const char *p;
	size_t n = 0;
	char *out, *o;

	va_start(ap, first);
	for (p = first; p != NULL; p = va_arg(ap, const char *))
		n += strlen(p);
	va_end(ap);
	if ((out = malloc(n + 1)) == NULL)
		return NULL;
	o = out;
	va_start(ap, first);
	for (p = first; p != NULL; p = va_arg(ap, const char *)) {
		n = strlen(p);
		memcpy(o, p, n);
		o += n;
	}
	va_end(ap);
	*o = '\0';
	return out;
}

/* v escaped as an RFC 4514 attribute value (new), or NULL. */
char *lds_dn_escape(const char *v)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = strlen(v), i;
	char *out = malloc(3 * n + 1), *o = out;

	if (out == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];

		if (c < 0x20 || c == 0x7f) {
			*o++ = '\\';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
			continue;
		}
		if (strchr(",+\"\\<>;=", c) != NULL ||
		    (i == 0 && (c == '#' || c == ' ')) ||
		    (i == n - 1 && c == ' '))
			*o++ = '\\';
		*o++ = (char)c;
	}
	*o = '\0';
	return out;
}

/* "(attr=value)" with value escaped per RFC 4515 (new), or NULL. */
char *lds_eq_filter(const char *attr, const char *value)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = strlen(value), i;
	char *out = malloc(strlen(attr) + 3 * n + 4), *o = out;

	if (out == NULL)
		return NULL;
	*o++ = '(';
	memcpy(o, attr, strlen(attr));
	o += strlen(attr);
	*o++ = '=';
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)value[i];

		if (c == '*' || c == '(' || c == ')' || c == '\\') {
			*o++ = '\\';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
		} else {
			*o++ = (char)c;
		}
	}
	*o++ = ')';
	*o = '\0';
	return out;
}

bool lds_bv_is(const struct berval *bv, const char *s)
{
	size_t n = strlen(s);

	return bv->bv_len == n && memcmp(bv->bv_val, s, n) == 0;
}

bool lds_bv_is_nocase(const struct berval *bv, const char *s)
{
	size_t n = strlen(s);

	return bv->bv_len == n && strncasecmp(bv->bv_val, s, n) == 0;
}

bool lds_bv_has_prefix(const struct berval *bv, const char *prefix)
{
	size_t n = strlen(prefix);

	return bv->bv_len >= n && strncasecmp(bv->bv_val, prefix, n) == 0;
}

/* The top-level member `key` of the JSON object text p (n bytes) is
 * `false`. Not a parser: it skips strings and nesting, which is all it
 * takes to read one boolean of the engine's own JSON. */
bool lds_json_top_false(const char *p, size_t n, const char *key)
{
	size_t i = 0, klen = strlen(key), start, end, j;
	int depth = 0;
	bool want_key = false;

	while (p != NULL && i < n) {
		char c = p[i];

		if (c == '"') {
			start = ++i;
			while (i < n && p[i] != '"')
				i += p[i] == '\\' ? 2 : 1;
			if (i >= n)
				return false;
			end = i++;
			if (depth == 1 && want_key) {
				for (j = i; j < n && strchr(" \t\r\n", p[j]);)
					j++;
				if (j < n && p[j] == ':' &&
				    end - start == klen &&
				    memcmp(p + start, key, klen) == 0) {
					for (j++;
					     j < n && strchr(" \t\r\n", p[j]);)
						j++;
					return n - j >= 5 &&
					       memcmp(p + j, "false", 5) == 0;
				}
			}
			want_key = false;
			continue;
		}
		if (c == '{' || c == '[') {
			depth++;
			want_key = depth == 1 && c == '{';
		} else if (c == '}' || c == ']') {
			depth--;
		} else if (c == ',' && depth == 1) {
			want_key = true;
		}
		i++;
	}
	return false;
}

/* ---- DNs ---- */

void lds_dn_parts_free(struct dn_parts *d)
{
	free(d->rdn);
	free(d->parent);
	d->rdn = d->parent = NULL;
}

int lds_dn_split(const char *dn, struct dn_parts *out, scimsync_err *err)
{
	LDAPDN ldn = NULL;
	char *r = NULL, *p = NULL;
	int rc;

	out->rdn = out->parent = NULL;
	rc = ldap_str2dn(dn, &ldn, LDAP_DN_FORMAT_LDAPV3);
	if (rc != LDAP_SUCCESS || ldn == NULL || ldn[0] == NULL) {
		ldap_dnfree(ldn);
		return su_fail(err, SCIMSYNC_EFAIL, "not a valid DN: '%.150s'",
			       dn);
	}
	rc = ldap_rdn2str(ldn[0], &r, LDAP_DN_FORMAT_LDAPV3 | LDAP_DN_PRETTY);
	if (rc == LDAP_SUCCESS && ldn[1] != NULL)
		rc = ldap_dn2str(&ldn[1], &p,
				 LDAP_DN_FORMAT_LDAPV3 | LDAP_DN_PRETTY);
	ldap_dnfree(ldn);
	if (rc == LDAP_SUCCESS) {
		out->rdn = strdup(r);
		out->parent = strdup(p != NULL ? p : "");
	}
	ldap_memfree(r);
	ldap_memfree(p);
	if (rc != LDAP_SUCCESS)
		return su_fail(err, SCIMSYNC_EFAIL, "not a valid DN: '%.150s'",
			       dn);
	if (out->rdn == NULL || out->parent == NULL) {
		lds_dn_parts_free(out);
		return su_fail(err, SCIMSYNC_ERETRY, "out of memory");
	}
	return SCIMSYNC_OK;
}

/* Same DN? Compared in LDAPv3 normal form, ignoring case: the naming
 * attributes scimsync maps (uid, cn) match without case. */
bool lds_dn_equal(const char *a, const char *b)
{
	char *na = NULL, *nb = NULL;
	bool eq;

	if (ldap_dn_normalize(a, LDAP_DN_FORMAT_LDAPV3, &na,
			      LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS ||
	    ldap_dn_normalize(b, LDAP_DN_FORMAT_LDAPV3, &nb,
			      LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS)
		eq = strcasecmp(a, b) == 0;
	else
		eq = strcasecmp(na, nb) == 0;
	ldap_memfree(na);
	ldap_memfree(nb);
	return eq;
}

/* Is dn base itself or below it? */
bool lds_dn_under(const char *dn, const char *base)
{
	char *nd = NULL, *nb = NULL;
	size_t ld, lb;
	bool under = false;

	if (ldap_dn_normalize(dn, LDAP_DN_FORMAT_LDAPV3, &nd,
			      LDAP_DN_FORMAT_LDAPV3) == LDAP_SUCCESS &&
	    ldap_dn_normalize(base, LDAP_DN_FORMAT_LDAPV3, &nb,
			      LDAP_DN_FORMAT_LDAPV3) == LDAP_SUCCESS &&
	    nd != NULL && nb != NULL) {
		ld = strlen(nd);
		lb = strlen(nb);
		under = lb == 0 || (ld == lb && strcasecmp(nd, nb) == 0) ||
			(ld > lb && nd[ld - lb - 1] == ',' &&
			 strcasecmp(nd + ld - lb, nb) == 0);
	}
	ldap_memfree(nd);
	ldap_memfree(nb);
	return under;
}

static bool ava_equal(const LDAPAVA *a, const LDAPAVA *b)
{
	return a->la_attr.bv_len == b->la_attr.bv_len &&
	       strncasecmp(a->la_attr.bv_val, b->la_attr.bv_val,
			   a->la_attr.bv_len) == 0 &&
	       a->la_value.bv_len == b->la_value.bv_len &&
	       strncasecmp(a->la_value.bv_val, b->la_value.bv_val,
			   a->la_value.bv_len) == 0;
}

/* Is cur the entry named by rdn under parent? Its RDN may carry the
 * sink's marker as an extra value (see move_entry). */
bool lds_dn_is(scimsync_sink *s, const char *cur, const char *rdn,
	       const char *parent, const char *marker)
{
	LDAPDN c = NULL;
	LDAPRDN w = NULL;
	char *rest = NULL, *wtxt = NULL;
	bool ok = false;
	size_t i, j;

	if ((wtxt = lds_cat(rdn, ",", parent, NULL)) != NULL &&
	    lds_dn_equal(cur, wtxt)) {
		free(wtxt);
		return true;
	}
	free(wtxt);
	if (ldap_str2dn(cur, &c, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS ||
	    c == NULL || c[0] == NULL ||
	    ldap_str2rdn(rdn, &w, &rest, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS)
		goto out;
	/* Every AVA of the wanted RDN is in cur's, and cur's others are
	 * the marker. */
	ok = true;
	for (i = 0; ok && w[i] != NULL; i++) {
		bool found = false;

		for (j = 0; !found && c[0][j] != NULL; j++)
			found = ava_equal(w[i], c[0][j]);
		ok = found;
	}
	for (j = 0; ok && c[0][j] != NULL; j++) {
		bool found = false;

		for (i = 0; !found && w[i] != NULL; i++)
			found = ava_equal(w[i], c[0][j]);
		if (!found)
			ok = lds_bv_is_nocase(&c[0][j]->la_attr, s->id_attr) &&
			     lds_bv_is_nocase(&c[0][j]->la_value, marker);
	}
	if (ok) {
		char *cp = NULL;

		ok = ldap_dn2str(&c[1], &cp, LDAP_DN_FORMAT_LDAPV3) ==
			     LDAP_SUCCESS &&
		     lds_dn_equal(cp != NULL ? cp : "", parent);
		ldap_memfree(cp);
	}
out:
	ldap_dnfree(c);
	ldap_rdnfree(w);
	return ok;
}

/* The value of the first RDN of dn (new), or NULL. */
char *lds_dn_first_value(const char *dn)
{
	LDAPDN ldn = NULL;
	char *out = NULL;

	if (ldap_str2dn(dn, &ldn, LDAP_DN_FORMAT_LDAPV3) == LDAP_SUCCESS &&
	    ldn != NULL && ldn[0] != NULL && ldn[0][0] != NULL)
		out = strndup(ldn[0][0]->la_value.bv_val,
			      ldn[0][0]->la_value.bv_len);
	ldap_dnfree(ldn);
	return out;
}

/* ---- modification lists ---- */

bool lds_seen_nocase(const char *const *vals, size_t n, const char *v)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcasecmp(vals[i], v) == 0)
			return true;
	return false;
}

void lds_modlist_free(struct modlist *ml)
{
	size_t i;

	for (i = 0; i < ml->n; i++) {
		free(ml->mods[i]->mod_values);
		free(ml->mods[i]);
	}
	free(ml->mods);
	for (i = 0; i < ml->n_owned; i++)
		free(ml->owned[i]);
	free(ml->owned);
	memset(ml, 0, sizeof(*ml));
}

/* Keep p (new) until the list is freed; returns p (NULL when out of
 * memory, with p freed). */
char *lds_modlist_own(struct modlist *ml, char *p)
{
	char **no;

	if (p == NULL) {
		ml->oom = true;
		return NULL;
	}
	if ((no = realloc(ml->owned, (ml->n_owned + 1) * sizeof(*no))) ==
	    NULL) {
		free(p);
		ml->oom = true;
		return NULL;
	}
	ml->owned = no;
	ml->owned[ml->n_owned++] = p;
	return p;
}

/* Add one modification: op on type with vals[0..n) (duplicates, without
 * case, dropped: the directory refuses a value given twice); vals NULL
 * for a delete of the whole attribute. */
void lds_modlist_add(struct modlist *ml, int op, const char *type,
		     const char *const *vals, size_t n)
{
	LDAPMod *m, **nm;
	size_t i, k = 0;

	if (ml->oom)
		return;
	if (ml->n + 2 > ml->cap) {
		size_t ncap = ml->cap ? ml->cap * 2 : 16;

		if ((nm = realloc(ml->mods, ncap * sizeof(*nm))) == NULL) {
			ml->oom = true;
			return;
		}
		ml->mods = nm;
		ml->cap = ncap;
	}
	if ((m = calloc(1, sizeof(*m))) == NULL) {
		ml->oom = true;
		return;
	}
	m->mod_op = op;
	m->mod_type = (char *)type;
	if (vals != NULL) {
		if ((m->mod_values = calloc(n + 1, sizeof(char *))) == NULL) {
			free(m);
			ml->oom = true;
			return;
		}
		for (i = 0; i < n; i++)
			if (!lds_seen_nocase((const char *const *)m->mod_values,
					     k, vals[i]))
				m->mod_values[k++] = (char *)vals[i];
	}
	ml->mods[ml->n++] = m;
	ml->mods[ml->n] = NULL;
}

void lds_modlist_add1(struct modlist *ml, int op, const char *type,
		      const char *val)
{
	lds_modlist_add(ml, op, type, &val, 1);
}

/* ---- string vectors ---- */
