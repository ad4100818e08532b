/* sink_ldap.c - the LDAP sink: IdP users and roles mirrored into an LDAP
 * directory with OpenLDAP's libldap (include/scimsync/sink.h).
 *
 * Users. Every user event carries the mapping rendered against the user as
 * it was at that commit (a `dn` and the entry's attributes), and the SCIM
 * resource, whose top-level `active` says whether the user is enabled.
 * apply makes the directory match that state ("converge"): it finds the
 * user's entry, moves or renames it when its DN should differ, and sends
 * only the attributes that differ from what the entry holds. Replaying an
 * event, or a run of them, ends in the same directory.
 *
 * Finding an entry: no state is kept in the plugin or on disk. On add the
 * sink writes the SCIM id into the entry, as the value "scimsync:<id>" of
 * option id_attr (default description, which every inetOrgPerson may hold
 * and no shipped mapping writes), and finds the entry by it afterwards with
 * a subtree search of option base (default: the server's naming contexts).
 * So a userName change that changes the RDN is a modrdn of the same entry,
 * a move to ou=disabled and back is found again, and an entry that already
 * exists at the mapped DN without an id is adopted (an existing directory);
 * one that carries another user's id is a conflict (fail). Index id_attr
 * for equality on the server (`index description eq`).
 *
 * Roles: role.granted / role.revoked keep cn=<role>,<roles_base>, a
 * groupOfNames (or groupOfUniqueNames) made on the first grant; the group
 * of the last member is deleted, as groupOfNames needs a member. A rename
 * or move of a user rewrites its member values (unless refint does). SCIM
 * groups (group.* events) are not mirrored.
 *
 * Deactivation (option deactivate): `attribute` sets deactivate_attr
 * (ppolicy's pwdAccountLockedTime = 000001010000Z, locked until an
 * administrator unlocks) and removes it on reactivation; `move:<dn>` keeps
 * the entry under that DN while the user is inactive; `remove_roles` takes
 * the entry out of every role group and remembers the roles on the entry
 * itself, as id_attr values "scimsync-role:<role>", to put it back on
 * reactivation. Deletion (option delete): `delete`, or `move:<dn>`.
 *
 * Results: connection loss, timeouts, busy/unavailable servers and failed
 * binds are "retry" (the connection is dropped and made again on the next
 * call); what the directory refuses for an event (schema, syntax, access,
 * a missing parent) is "fail", with the server's diagnostic message.
 *
 * Threads: one connection per sink state, used from the dispatcher thread
 * only (sink.h); nothing global.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* strdup, strcasecmp, explicit_bzero under -std=c11 */
#endif

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sink_ldap.h"

#define SINK_EXPORT __attribute__((visibility("default")))

/* ---- options ---- */

static void ldap_sink_close(scimsync_sink *s);

/* A DN option, checked. */
static int set_dn(char **out, const char *key, const char *v, scimsync_err *err)
{
	LDAPDN ldn = NULL;

	if (v == NULL || *v == '\0' ||
	    ldap_str2dn(v, &ldn, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS ||
	    ldn == NULL) {
		ldap_dnfree(ldn);
		return su_fail(err, SCIMSYNC_EFAIL,
			       "option '%s': not a DN: '%s'", key,
			       v != NULL ? v : "");
	}
	ldap_dnfree(ldn);
	return su_opt_str(out, key, v, false, err);
}

/* An attribute description: a name (letter, then letters, digits,
 * hyphens) or an OID. */
static int attr_name_ok(const char *key, const char *v, scimsync_err *err)
{
	const char *p;
	bool ok = v != NULL && *v != '\0';

	for (p = v; ok && *p; p++)
		ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		     (*p >= '0' && *p <= '9') || *p == '-' || *p == '.';
	if (!ok)
		return su_fail(err, SCIMSYNC_EFAIL,
			       "option '%s': not an attribute name: '%s'", key,
			       v != NULL ? v : "");
	return SCIMSYNC_OK;
}

static int set_attr(char **out, const char *key, const char *v,
		    scimsync_err *err)
{
	int rc = attr_name_ok(key, v, err);

	return rc != SCIMSYNC_OK ? rc : su_opt_str(out, key, v, false, err);
}

/* "delete" or "move:<dn>" / "attribute", "remove_roles" or "move:<dn>". */
static int set_mode(const char *key, const char *v, const char *a,
		    const char *b, int *mode, char **to, scimsync_err *err)
{
	if (v != NULL && strcmp(v, a) == 0) {
		*mode = 0;
	} else if (v != NULL && b != NULL && strcmp(v, b) == 0) {
		*mode = 1;
	} else if (v != NULL && strncmp(v, "move:", 5) == 0) {
		*mode = 2;
		return set_dn(to, key, v + 5, err);
	} else {
		return su_fail(err, SCIMSYNC_EFAIL,
			       "option '%s': expected %s%s%s or move:<dn>, got "
			       "'%s'",
			       key, a, b != NULL ? ", " : "",
			       b != NULL ? b : "", v != NULL ? v : "");
	}
	free(*to);
	*to = NULL;
	return SCIMSYNC_OK;
}

static int set_managed(scimsync_sink *s, const char *v, scimsync_err *err)
{
	return su_opt_list(&s->managed, "managed_attrs", v, 1000, false,
			   attr_name_ok, err);
}

static int set_timeout(scimsync_sink *s, const char *v, scimsync_err *err)
{
	long n;
	int rc = su_opt_long(&n, "timeout_ms", v, 1, 600000, "milliseconds",
			     err);

	if (rc == SCIMSYNC_OK)
		s->timeout_ms = (int)n;
	return rc;
}

static int set_option(scimsync_sink *s, const char *k, const char *v,
		      scimsync_err *err)
{
	int mode = 0, rc;

	if (strcmp(k, "url") == 0)
		return su_opt_str(&s->url, k, v, false, err);
	if (strcmp(k, "bind_dn") == 0)
		return set_dn(&s->bind_dn, k, v, err);
	if (strcmp(k, "bind_password_file") == 0)
		return su_opt_str(&s->pw_file, k, v, false, err);
	if (strcmp(k, "bind_password_env") == 0)
		return su_opt_str(&s->pw_env, k, v, false, err);
	if (strcmp(k, "start_tls") == 0)
		return su_opt_bool(&s->start_tls, k, v, err);
	if (strcmp(k, "tls_ca_file") == 0)
		return su_opt_str(&s->tls_ca_file, k, v, false, err);
	if (strcmp(k, "tls_verify") == 0)
		return su_opt_bool(&s->tls_verify, k, v, err);
	if (strcmp(k, "timeout_ms") == 0)
		return set_timeout(s, v, err);
	if (strcmp(k, "base") == 0)
		return set_dn(&s->base, k, v, err);
	if (strcmp(k, "id_attr") == 0)
		return set_attr(&s->id_attr, k, v, err);
	if (strcmp(k, "roles_base") == 0)
		return set_dn(&s->roles_base, k, v, err);
	if (strcmp(k, "role_class") == 0) {
		if (v != NULL && strcasecmp(v, "groupOfNames") == 0)
			s->unique = false;
		else if (v != NULL && strcasecmp(v, "groupOfUniqueNames") == 0)
			s->unique = true;
		else
			return su_fail(
				err, SCIMSYNC_EFAIL,
				"option 'role_class': expected "
				"groupOfNames or groupOfUniqueNames, got "
				"'%s'",
				v != NULL ? v : "");
		return SCIMSYNC_OK;
	}
	if (strcmp(k, "delete") == 0)
		return set_mode(k, v, "delete", NULL, &mode, &s->delete_to,
				err);
	if (strcmp(k, "deactivate") == 0) {
		rc = set_mode(k, v, "attribute", "remove_roles", &mode,
			      &s->deact_to, err);
		s->deactivate = mode == 0   ? DEACT_ATTRIBUTE
				: mode == 1 ? DEACT_REMOVE_ROLES
					    : DEACT_MOVE;
		return rc;
	}
	if (strcmp(k, "deactivate_attr") == 0)
		return set_attr(&s->deact_attr, k, v, err);
	if (strcmp(k, "deactivate_value") == 0)
		return su_opt_str(&s->deact_value, k, v, false, err);
	if (strcmp(k, "managed_attrs") == 0)
		return set_managed(s, v, err);
	return su_fail(err, SCIMSYNC_EFAIL,
		       "unknown option '%s' (known: url, bind_dn, "
		       "bind_password_file, bind_password_env, start_tls, "
		       "tls_ca_file, tls_verify, timeout_ms, base, id_attr, "
		       "roles_base, role_class, delete, deactivate, "
		       "deactivate_attr, deactivate_value, managed_attrs)",
		       k);
}

/* The options together make sense. */
static int check_options(scimsync_sink *s, scimsync_err *err)
{
	LDAPURLDesc *lud = NULL;
	char pw[PASSWORD_MAX];
	int rc;
	bool ldaps;
	FILE *f;

	if (s->url == NULL)
		return su_fail(err, SCIMSYNC_EFAIL,
			       "option 'url' is required (ldap://host:389 or "
			       "ldaps://host:636)");
	if (ldap_url_parse(s->url, &lud) != LDAP_URL_SUCCESS || lud == NULL ||
	    (strcasecmp(lud->lud_scheme, "ldap") != 0 &&
	     strcasecmp(lud->lud_scheme, "ldaps") != 0 &&
	     strcasecmp(lud->lud_scheme, "ldapi") != 0)) {
		ldap_free_urldesc(lud);
		return su_fail(err, SCIMSYNC_EFAIL,
			       "option 'url': not an ldap://, ldaps:// or "
			       "ldapi:// URL: '%s'",
			       s->url);
	}
	ldaps = strcasecmp(lud->lud_scheme, "ldaps") == 0;
	ldap_free_urldesc(lud);
	if (ldaps && s->start_tls)
		return su_fail(err, SCIMSYNC_EFAIL,
			       "option 'start_tls': an ldaps:// URL is TLS "
			       "already");
	s->tls = ldaps || s->start_tls;
	if (s->tls_ca_file != NULL) {
		if (!s->tls)
			return su_fail(
				err, SCIMSYNC_EFAIL,
				"option 'tls_ca_file': set start_tls: true "
				"or use an ldaps:// URL");
		if ((f = fopen(s->tls_ca_file, "re")) == NULL)
			return su_fail(
				err, SCIMSYNC_EFAIL,
				"option 'tls_ca_file': cannot read %s: %s",
				s->tls_ca_file, strerror(errno));
		fclose(f);
	}
	if (s->pw_file != NULL && s->pw_env != NULL)
		return su_fail(err, SCIMSYNC_EFAIL,
			       "options 'bind_password_file' and "
			       "'bind_password_env': set one");
	if (s->bind_dn == NULL && (s->pw_file != NULL || s->pw_env != NULL))
		return su_fail(err, SCIMSYNC_EFAIL,
			       "a bind password without option 'bind_dn'");
	if (s->bind_dn != NULL && s->pw_file == NULL && s->pw_env == NULL)
		return su_fail(err, SCIMSYNC_EFAIL,
			       "option 'bind_dn' needs 'bind_password_file' or "
			       "'bind_password_env'");
	if (s->bind_dn != NULL) {
		rc = su_read_secret(s->pw_env, "bind_password_env", s->pw_file,
				    "bind_password_file", pw, sizeof(pw), NULL,
				    err);
		explicit_bzero(pw, sizeof(pw));
		if (rc != SCIMSYNC_OK)
			return rc;
	}
	/* The delete OU holds deleted users for good (events about them
	 * leave them there): inactive ones must live elsewhere. */
	if (s->delete_to != NULL && s->deact_to != NULL &&
	    lds_dn_equal(s->delete_to, s->deact_to))
		return su_fail(err, SCIMSYNC_EFAIL,
			       "options 'delete' and 'deactivate' move to "
			       "the same DN %s: deleted and inactive users "
			       "must be told apart",
			       s->delete_to);
	/* Entries are looked for under base: moved ones too. */
	if (s->base != NULL && s->delete_to != NULL &&
	    !lds_dn_under(s->delete_to, s->base))
		return su_fail(err, SCIMSYNC_EFAIL,
			       "option 'delete': %s is not under option "
			       "'base' (%s), where entries are looked for",
			       s->delete_to, s->base);
	if (s->base != NULL && s->deact_to != NULL &&
	    !lds_dn_under(s->deact_to, s->base))
		return su_fail(err, SCIMSYNC_EFAIL,
			       "option 'deactivate': %s is not under option "
			       "'base' (%s), where entries are looked for",
			       s->deact_to, s->base);
	if (s->deactivate == DEACT_REMOVE_ROLES && s->roles_base == NULL)
		return su_fail(err, SCIMSYNC_EFAIL,
			       "option 'deactivate': remove_roles needs option "
			       "'roles_base'");
	if (s->id_attr == NULL &&
	    su_opt_str(&s->id_attr, "id_attr", "description", false, err) !=
		    SCIMSYNC_OK)
		return SCIMSYNC_ERETRY;
	if (s->deact_attr == NULL &&
	    su_opt_str(&s->deact_attr, "deactivate_attr",
		       "pwdAccountLockedTime", false, err) != SCIMSYNC_OK)
		return SCIMSYNC_ERETRY;
	if (s->deact_value == NULL &&
	    su_opt_str(&s->deact_value, "deactivate_value", "000001010000Z",
		       false, err) != SCIMSYNC_OK)
		return SCIMSYNC_ERETRY;
	return SCIMSYNC_OK;
}

/* What a batch's one search reads (lds_prefetch): "*", and the
 * attributes the sink compares that "*" may leave out. */
static int set_pf_attrs(scimsync_sink *s, scimsync_err *err)
{
	size_t n = 0, k = 0;

	while (s->managed != NULL && s->managed[n] != NULL)
		n++;
	if ((s->pf_attrs = calloc(n + 4, sizeof(char *))) == NULL)
		return su_fail(err, SCIMSYNC_ERETRY, "out of memory");
	s->pf_attrs[k++] = (char *)"*";
	s->pf_attrs[k++] = s->id_attr;
	s->pf_attrs[k++] = s->deact_attr;
	for (size_t i = 0; i < n; i++)
		s->pf_attrs[k++] = s->managed[i];
	return SCIMSYNC_OK;
}

/* ---- the ABI ---- */

static int ldap_sink_open(scimsync_sink **out, const scimsync_host *host,
			  const scimsync_option *options, scimsync_err *err)
{
	const scimsync_option *o;
	scimsync_sink *s;
	int rc = SCIMSYNC_OK;

	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return su_fail(err, SCIMSYNC_ERETRY, "out of memory");
	s->host = host;
	s->tls_verify = true;
	s->timeout_ms = 5000;
	s->deactivate = DEACT_ATTRIBUTE;
	for (o = options; o != NULL && o->key != NULL && rc == SCIMSYNC_OK; o++)
		rc = set_option(s, o->key, o->value, err);
	if (rc == SCIMSYNC_OK)
		rc = check_options(s, err);
	if (rc == SCIMSYNC_OK)
		rc = set_pf_attrs(s, err);
	if (rc != SCIMSYNC_OK) {
		ldap_sink_close(s);
		return rc;
	}
	s->tv.tv_sec = s->timeout_ms / 1000;
	s->tv.tv_usec = (s->timeout_ms % 1000) * 1000;
	LOG(s, SCIMSYNC_LOG_INFO,
	    "%s%s as %s; users found by %s; roles %s%s; deactivate: %s%s; "
	    "delete: %s%s",
	    s->url, s->start_tls ? " (StartTLS)" : "",
	    s->bind_dn != NULL ? s->bind_dn : "anonymous", s->id_attr,
	    s->roles_base != NULL ? "under " : "not mirrored",
	    s->roles_base != NULL ? s->roles_base : "",
	    s->deactivate == DEACT_ATTRIBUTE ? s->deact_attr
	    : s->deactivate == DEACT_MOVE    ? "move to "
					     : "remove_roles",
	    s->deactivate == DEACT_MOVE ? s->deact_to : "",
	    s->delete_to != NULL ? "move to " : "delete",
	    s->delete_to != NULL ? s->delete_to : "");
	*out = s;
	return SCIMSYNC_OK;
}

static void ldap_sink_close(scimsync_sink *s)
{
	if (s == NULL)
		return;
	lds_conn_drop(s);
	free(s->url);
	free(s->bind_dn);
	free(s->pw_file);
	free(s->pw_env);
	free(s->tls_ca_file);
	free(s->base);
	free(s->id_attr);
	free(s->roles_base);
	free(s->delete_to);
	free(s->deact_to);
	free(s->deact_attr);
	free(s->deact_value);
	free(s->pf_attrs); /* its strings are the options' */
	su_free_strv(s->managed);
	su_free_strv(s->contexts);
	free(s);
}

/* Is ev at least a 1.0 event? */
static bool event_ok(const scimsync_event *ev)
{
	return ev != NULL &&
	       ev->struct_size >= offsetof(scimsync_event, event_json_len) +
					  sizeof(ev->event_json_len);
}

static int ldap_sink_apply(scimsync_sink *s, const scimsync_event *ev,
			   scimsync_err *err)
{
	struct view v;
	int rc;

	if (!event_ok(ev))
		return su_fail(err, SCIMSYNC_EFAIL,
			       "event smaller than a 1.0 event");
	if (ev->type == NULL || strncmp(ev->type, "group.", 6) == 0)
		return SCIMSYNC_OK; /* SCIM groups are not mirrored */
	if (strncmp(ev->type, "user.", 5) != 0 &&
	    strncmp(ev->type, "role.", 5) != 0) {
		LOG(s, SCIMSYNC_LOG_DEBUG, "event %s ignored", ev->type);
		return SCIMSYNC_OK;
	}
	if (strncmp(ev->type, "role.", 5) == 0 && s->roles_base == NULL)
		return SCIMSYNC_OK;
	if ((rc = lds_view_init(&v, ev, err)) == SCIMSYNC_OK &&
	    (rc = lds_conn_open(s, err)) == SCIMSYNC_OK) {
		if (strcmp(ev->type, "user.deleted") == 0)
			rc = lds_user_delete(s, &v, err);
		else if (strcmp(ev->type, "role.granted") == 0)
			rc = lds_role_event(s, &v, true, err);
		else if (strcmp(ev->type, "role.revoked") == 0)
			rc = lds_role_event(s, &v, false, err);
		else
			rc = lds_user_converge(s, &v, err);
	}
	lds_view_free(&v);
	return rc;
}

/* At most this many adds in flight. */
#define PIPELINE_MAX 64

/* From evs[0] on, the run of user.created events that need only an add
 * (lds_user_add_send): their adds are all sent, then their results are
 * read in order. Returns how many are done from the first; *rc is the
 * result of the next one (SCIMSYNC_OK when all are). The adds after a
 * failed one are read and not counted: they come again, and converge. */
static size_t add_run(scimsync_sink *s, const scimsync_event *const *evs,
		      size_t n, int *rc, scimsync_err *err)
{
	struct view v[PIPELINE_MAX];
	int id[PIPELINE_MAX];
	scimsync_err ignored;
	size_t k = 0, j, ok = 0;

	*rc = SCIMSYNC_OK;
	while (k < n && k < PIPELINE_MAX && s->ld != NULL) {
		if (!event_ok(evs[k]) || evs[k]->type == NULL ||
		    strcmp(evs[k]->type, "user.created") != 0)
			break;
		if (lds_view_init(&v[k], evs[k], &ignored) != SCIMSYNC_OK ||
		    (id[k] = lds_user_add_send(s, &v[k])) < 0) {
			lds_view_free(&v[k]);
			break;
		}
		k++;
	}
	for (j = 0; j < k; j++) {
		if (*rc == SCIMSYNC_OK) {
			*rc = lds_user_add_wait(s, &v[j], id[j], err);
			if (*rc == SCIMSYNC_OK)
				ok++;
		} else if (s->ld != NULL) {
			LDAPMessage *res = NULL;

			/* Read, so that no answer stays queued on the
			 * connection; one that does not come in time costs
			 * the connection. */
			if (ldap_result(s->ld, id[j], LDAP_MSG_ALL, &s->tv,
					&res) <= 0)
				lds_conn_drop(s);
			ldap_msgfree(res);
		}
		lds_view_free(&v[j]);
	}
	return ok;
}

/* A batch. The entries of the users it is about are read in one search
 * first (lds_prefetch); a run of new users is then added with the adds
 * pipelined (add_run), and every other event is applied as apply would,
 * without its own search where the prefetch knows the answer. A run of
 * user.created events took a search and an add, each waiting for its
 * answer, per user before. */
static int ldap_sink_apply_many(scimsync_sink *s,
				const scimsync_event *const *evs, size_t n,
				size_t *done, scimsync_err *err)
{
	int rc;
	size_t i = 0, run;

	if ((rc = lds_conn_open(s, err)) == SCIMSYNC_OK) {
		lds_prefetch(s, evs, n);
		while (i < n) {
			run = add_run(s, evs + i, n - i, &rc, err);
			i += run;
			if (rc != SCIMSYNC_OK)
				break;
			/* A full window: the next may be a new user too.
			 * Else evs[i] is one add_run cannot take. */
			if (run == PIPELINE_MAX || i == n)
				continue;
			if ((rc = ldap_sink_apply(s, evs[i], err)) !=
			    SCIMSYNC_OK)
				break;
			i++;
		}
		lds_prefetch_clear(s);
	}
	*done = i;
	return rc;
}

static int ldap_sink_health(scimsync_sink *s, scimsync_err *err)
{
	char *attrs[] = {(char *)"1.1", NULL};
	LDAPMessage *res = NULL;
	int rc;

	if ((rc = lds_conn_open(s, err)) != SCIMSYNC_OK)
		return rc;
	rc = ldap_search_ext_s(s->ld, "", LDAP_SCOPE_BASE, "(objectClass=*)",
			       attrs, 0, NULL, NULL, &s->tv, 1, &res);
	ldap_msgfree(res);
	if (rc != LDAP_SUCCESS) {
		lds_fail_rc(s, rc, err, "read the root DSE of %s", s->url);
		err->code = SCIMSYNC_ERETRY;
		return SCIMSYNC_ERETRY;
	}
	return su_fail(err, SCIMSYNC_OK, "connected to %s as %s", s->url,
		       s->bind_dn != NULL ? s->bind_dn : "anonymous");
}

static const scimsync_sink_plugin ldap_sink = {
	.header = SCIMSYNC_PLUGIN_HEADER_INIT(
		SCIMSYNC_SINK_ABI_MAJOR, SCIMSYNC_SINK_ABI_MINOR,
		scimsync_sink_plugin, SCIMSYNC_PLUGIN_SINK, SINK_NAME,
		SINK_VERSION),
	.open = ldap_sink_open,
	.close = ldap_sink_close,
	.apply = ldap_sink_apply,
	.health = ldap_sink_health,
	.apply_many = ldap_sink_apply_many,
};

SINK_EXPORT const scimsync_plugin_header *scimsync_plugin_entry(void);

SINK_EXPORT const scimsync_plugin_header *scimsync_plugin_entry(void)
{
	return &ldap_sink.header;
}
