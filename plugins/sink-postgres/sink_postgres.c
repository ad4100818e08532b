/* sink_postgres.c - the PostgreSQL sink: IdP users, groups and roles
 * mirrored into rows of PostgreSQL tables with libpq
 * (include/scimsync/sink.h).
 *
 * Rows. Every mapping attribute is a column and holds the attribute's
 * first value; the values go as text parameters of unspecified type, so
 * the server casts them to the column's type ('false' into a boolean).
 * An attribute whose name starts with '_' is an instruction, never a
 * column: `_table` (in the mapping's user or group section) names the
 * table instead of option users_table / groups_table, and `_roles_table`
 * (user section) instead of roles_table, so a tenant's own mapping file
 * can send it to tables of its own.
 *
 * Users and groups are upserted (INSERT ... ON CONFLICT (key) DO UPDATE)
 * on their key columns (options key, group_key). With version_column
 * the resource's version is written too, and an update only lands on a
 * row whose version is not newer: a stale update replayed (a dead letter,
 * a redelivery after a crash) cannot undo a later change of a row that
 * is there (see the README for what it cannot catch), and the same
 * event twice writes the same row. user.created and group.created are
 * the exception: they upsert whatever the row holds, as a re-created
 * resource (a new SCIM id with the same externalId, say) starts again
 * at version 1. Deletion deletes the row by key, or (delete: mark) sets
 * deleted_column. Role events add and remove (key..., role) rows.
 *
 * Transactions: apply_many applies a batch in one transaction, sent as
 * one pipeline (one round trip) when libpq has pipeline mode. When event
 * k fails, the transaction is rolled back, events 0..k-1 are applied and
 * committed again, and k's error is reported: the engine retries or
 * dead-letters exactly that one.
 *
 * Results: connection trouble, serialization failures, deadlocks, lock
 * and statement timeouts, a server out of resources or shutting down
 * are "retry" (the connection is dropped and made again on the next
 * call when it is over); what the server refuses about an event (data,
 * constraints, an unknown table or column) is "fail", with the SQLSTATE
 * and the server's message.
 *
 * Secrets: the conninfo may hold a password and is never logged (host,
 * port and database are, as libpq reports them); the password of
 * option password_file / password_env goes to libpq alone.
 *
 * Threads: one connection per sink state, used from the dispatcher
 * thread only (sink.h); nothing global.
 */
#include "config.h"

#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* strdup, strtok_r, explicit_bzero under -std=c11 */
#endif

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sink_postgres.h"

#define SINK_EXPORT __attribute__((visibility("default")))

/* ---- options ---- */

static void pg_sink_close(scimsync_sink *s);

static int set_ms(int *out, const char *key, const char *v, long min, long max,
		  scimsync_err *err)
{
	long n;
	int rc = su_opt_long(&n, key, v, min, max, "milliseconds", err);

	if (rc == SCIMSYNC_OK)
		*out = (int)n;
	return rc;
}

/* A table name: one to three non-empty parts joined by '.' ("" when
 * empty_ok: none). */
static int set_table(char **out, const char *key, const char *v, bool empty_ok,
		     scimsync_err *err)
{
	size_t dots = 0;
	bool ok = v != NULL && (*v != '\0' || empty_ok);

	for (const char *p = v; ok && *p; p++) {
		if (*p == '.') {
			dots++;
			ok = p != v && p[1] != '\0' && p[1] != '.';
		}
	}
	if (!ok || dots > 2)
		return su_fail(err, SCIMSYNC_EFAIL,
			       "option '%s': not a table name "
			       "([schema.]table): '%s'",
			       key, v != NULL ? v : "");
	return su_opt_str(out, key, v, empty_ok, err);
}

static int set_option(scimsync_sink *s, const char *k, const char *v,
		      scimsync_err *err)
{
	if (strcmp(k, "conninfo") == 0)
		return su_opt_str(&s->conninfo, k, v, false, err);
	if (strcmp(k, "password_file") == 0)
		return su_opt_str(&s->pw_file, k, v, false, err);
	if (strcmp(k, "password_env") == 0)
		return su_opt_str(&s->pw_env, k, v, false, err);
	if (strcmp(k, "connect_timeout_ms") == 0)
		return set_ms(&s->connect_timeout_ms, k, v, 1, 600000, err);
	if (strcmp(k, "statement_timeout_ms") == 0)
		return set_ms(&s->statement_timeout_ms, k, v, 0, 86400000, err);
	if (strcmp(k, "pipeline") == 0)
		return su_opt_bool(&s->pipeline, k, v, err);
	if (strcmp(k, "users_table") == 0)
		return set_table(&s->users_table, k, v, false, err);
	if (strcmp(k, "groups_table") == 0)
		return set_table(&s->groups_table, k, v, true, err);
	if (strcmp(k, "roles_table") == 0)
		return set_table(&s->roles_table, k, v, true, err);
	if (strcmp(k, "key") == 0)
		return su_opt_list(&s->key, k, v, KEY_MAX, false, NULL, err);
	if (strcmp(k, "group_key") == 0)
		return su_opt_list(&s->group_key, k, v, KEY_MAX, false, NULL,
				   err);
	if (strcmp(k, "version_column") == 0)
		return su_opt_str(&s->version_column, k, v, true, err);
	if (strcmp(k, "managed_columns") == 0)
		return su_opt_list(&s->managed, k, v, 1000, true, NULL, err);
	if (strcmp(k, "delete") == 0) {
		if (v != NULL && strcmp(v, "delete") == 0)
			s->del = DEL_DELETE;
		else if (v != NULL && strcmp(v, "mark") == 0)
			s->del = DEL_MARK;
		else
			return su_fail(err, SCIMSYNC_EFAIL,
				       "option 'delete': expected delete or "
				       "mark, got '%s'",
				       v != NULL ? v : "");
		return SCIMSYNC_OK;
	}
	if (strcmp(k, "deleted_column") == 0)
		return su_opt_str(&s->deleted_column, k, v, false, err);
	if (strcmp(k, "role_column") == 0)
		return su_opt_str(&s->role_column, k, v, false, err);
	return su_fail(err, SCIMSYNC_EFAIL,
		       "unknown option '%s' (known: conninfo, password_file, "
		       "password_env, connect_timeout_ms, "
		       "statement_timeout_ms, pipeline, users_table, "
		       "groups_table, roles_table, key, group_key, "
		       "version_column, managed_columns, delete, "
		       "deleted_column, role_column)",
		       k);
}

/* Defaults for what the options left unset. */
static int set_defaults(scimsync_sink *s, scimsync_err *err)
{
	int rc = SCIMSYNC_OK;

	if (s->users_table == NULL)
		rc = su_opt_str(&s->users_table, "users_table", "scim_users",
				false, err);
	if (rc == SCIMSYNC_OK && s->groups_table == NULL)
		rc = su_opt_str(&s->groups_table, "groups_table", "scim_groups",
				false, err);
	if (rc == SCIMSYNC_OK && s->roles_table == NULL)
		rc = su_opt_str(&s->roles_table, "roles_table",
				"scim_user_roles", false, err);
	if (rc == SCIMSYNC_OK && s->key == NULL)
		rc = su_opt_list(&s->key, "key", "scim_id", KEY_MAX, false,
				 NULL, err);
	if (rc == SCIMSYNC_OK && s->group_key == NULL)
		rc = su_opt_list(&s->group_key, "group_key", "scim_id", KEY_MAX,
				 false, NULL, err);
	if (rc == SCIMSYNC_OK && s->version_column == NULL)
		rc = su_opt_str(&s->version_column, "version_column",
				"scim_version", false, err);
	if (rc == SCIMSYNC_OK && s->deleted_column == NULL)
		rc = su_opt_str(&s->deleted_column, "deleted_column",
				"deleted_at", false, err);
	if (rc == SCIMSYNC_OK && s->role_column == NULL)
		rc = su_opt_str(&s->role_column, "role_column", "role", false,
				err);
	if (rc == SCIMSYNC_OK && s->version_column[0] == '\0') {
		free(s->version_column);
		s->version_column = NULL; /* versions off */
	}
	return rc;
}

/* The options together make sense. */
static int check_options(scimsync_sink *s, scimsync_err *err)
{
	PQconninfoOption *ci;
	char *msg = NULL, pw[PASSWORD_MAX];
	bool has_pw = false;
	int rc;

	if (s->conninfo == NULL)
		return su_fail(err, SCIMSYNC_EFAIL,
			       "option 'conninfo' is required (a libpq "
			       "connection string or postgresql:// URI)");
	/* libpq's message would quote the string, password and all. */
	if ((ci = PQconninfoParse(s->conninfo, &msg)) == NULL) {
		PQfreemem(msg);
		return su_fail(err, SCIMSYNC_EFAIL,
			       "option 'conninfo': not a libpq connection "
			       "string or URI (not shown: it may hold a "
			       "password)");
	}
	for (PQconninfoOption *o = ci; o->keyword != NULL; o++)
		if (strcmp(o->keyword, "password") == 0 && o->val != NULL)
			has_pw = true;
	PQconninfoFree(ci);
	if (has_pw)
		LOG(s, SCIMSYNC_LOG_WARN,
		    "option 'conninfo' holds a password: prefer "
		    "password_file or password_env");
	if (s->pw_file != NULL && s->pw_env != NULL)
		return su_fail(err, SCIMSYNC_EFAIL,
			       "options 'password_file' and 'password_env': "
			       "set one");
	rc = pgs_read_password(s, pw, sizeof(pw), err);
	explicit_bzero(pw, sizeof(pw));
	if (rc != SCIMSYNC_OK)
		return rc;
	if ((rc = set_defaults(s, err)) != SCIMSYNC_OK)
		return rc;
	if (su_strv_has(s->key, s->version_column) ||
	    su_strv_has(s->group_key, s->version_column))
		return su_fail(err, SCIMSYNC_EFAIL,
			       "option 'version_column': %s is a key column",
			       s->version_column);
	if (su_strv_has(s->key, s->role_column))
		return su_fail(err, SCIMSYNC_EFAIL,
			       "option 'role_column': %s is a key column",
			       s->role_column);
	if (s->del == DEL_MARK &&
	    (su_strv_has(s->key, s->deleted_column) ||
	     (s->version_column != NULL &&
	      strcmp(s->version_column, s->deleted_column) == 0)))
		return su_fail(err, SCIMSYNC_EFAIL,
			       "option 'deleted_column': %s is a key or the "
			       "version column",
			       s->deleted_column);
	return SCIMSYNC_OK;
}

/* ---- events as plans ---- */

/* The first value of ev's attribute name, or NULL. */
static const char *attr_value(const scimsync_event *ev, const char *name)
{
	for (size_t i = 0; i < ev->n_attrs; i++)
		if (ev->attrs[i].n_values > 0 &&
		    strcmp(ev->attrs[i].name, name) == 0)
			return ev->attrs[i].values[0];
	return NULL;
}

static void plan_free(struct plan *p)
{
	free(p->cols);
	free(p->vals);
	free(p->nulls);
	memset(p, 0, sizeof(*p));
}

static int plan_alloc(struct plan *p, size_t cols, size_t nulls,
		      scimsync_err *err)
{
	p->cols = calloc(cols + 1, sizeof(*p->cols));
	p->vals = calloc(cols + 1, sizeof(*p->vals));
	p->nulls = calloc(nulls + 1, sizeof(*p->nulls));
	if (p->cols == NULL || p->vals == NULL || p->nulls == NULL) {
		plan_free(p);
		return su_fail(err, SCIMSYNC_ERETRY, "out of memory");
	}
	return SCIMSYNC_OK;
}

static void plan_col(struct plan *p, const char *col, const char *val)
{
	p->cols[p->n] = col;
	p->vals[p->n++] = val;
}

/* The key columns and their rendered values into p: a key that did not
 * render leaves the event nothing to identify its row by. */
static int plan_key(struct plan *p, const scimsync_event *ev, char *const *key,
		    const char *opt, scimsync_err *err)
{
	for (size_t i = 0; key[i] != NULL; i++) {
		const char *v = attr_value(ev, key[i]);

		if (v == NULL)
			return su_fail(err, SCIMSYNC_EFAIL,
				       "key column '%s' has no value for %s "
				       "%s: the sink's mapping renders none "
				       "(see option '%s')",
				       key[i],
				       ev->resource_type ? ev->resource_type
							 : "resource",
				       ev->resource_id ? ev->resource_id : "?",
				       opt);
		plan_col(p, key[i], v);
	}
	p->n_key = p->n;
	return SCIMSYNC_OK;
}

/* The table of an event: its mapping's `_table`-like attribute, else the
 * option ("": ignore the event). */
static const char *table_of(const scimsync_event *ev, const char *attr,
			    const char *opt)
{
	const char *t = attr_value(ev, attr);

	return t != NULL && *t != '\0' ? t : opt;
}

/* Is name a column the sink writes itself (not from the mapping)? */
static bool own_column(const scimsync_sink *s, const char *name, bool user)
{
	return (s->version_column != NULL &&
		strcmp(name, s->version_column) == 0) ||
	       (user && s->del == DEL_MARK &&
		strcmp(name, s->deleted_column) == 0);
}

static void version_text(struct plan *p, const scimsync_event *ev)
{
	snprintf(p->verbuf, sizeof(p->verbuf), "%" PRId64, ev->version);
}

/* user.created/updated/... and group.created/updated. */
static int plan_upsert(scimsync_sink *s, const scimsync_event *ev, bool user,
		       bool created, struct plan *p, scimsync_err *err)
{
	char *const *key = user ? s->key : s->group_key;
	size_t n_managed = 0;
	int rc;

	p->table =
		table_of(ev, "_table", user ? s->users_table : s->groups_table);
	if (*p->table == '\0')
		return SCIMSYNC_OK; /* groups (or users) not mirrored */
	while (user && s->managed != NULL && s->managed[n_managed] != NULL)
		n_managed++;
	if ((rc = plan_alloc(p, ev->n_attrs + 1, n_managed + 1, err)) !=
	    SCIMSYNC_OK)
		return rc;
	for (size_t i = 0; key[i] != NULL; i++)
		if (attr_value(ev, key[i]) == NULL)
			return plan_key(p, ev, key, user ? "key" : "group_key",
					err);
	for (size_t i = 0; i < ev->n_attrs; i++) {
		const scimsync_attr *a = &ev->attrs[i];

		if (a->n_values > 0 && a->name[0] != '_' &&
		    !own_column(s, a->name, user))
			plan_col(p, a->name, a->values[0]);
	}
	if (s->version_column != NULL) {
		version_text(p, ev);
		plan_col(p, s->version_column, p->verbuf);
	}
	/* What the sink owns and the mapping did not render is cleared. */
	for (size_t i = 0; i < n_managed; i++)
		if (!own_column(s, s->managed[i], user) &&
		    attr_value(ev, s->managed[i]) == NULL &&
		    s->managed[i][0] != '_')
			p->nulls[p->n_nulls++] = s->managed[i];
	if (user && created && s->del == DEL_MARK)
		p->nulls[p->n_nulls++] = s->deleted_column;
	p->kind = PLAN_UPSERT;
	p->conflict = key;
	p->ver = s->version_column;
	p->guard = s->version_column != NULL && !created;
	return SCIMSYNC_OK;
}

/* user.deleted (delete or mark) and group.deleted (delete). */
static int plan_delete(scimsync_sink *s, const scimsync_event *ev, bool user,
		       struct plan *p, scimsync_err *err)
{
	bool mark = user && s->del == DEL_MARK;
	int64_t ms = ev->time_ms;
	time_t secs = (time_t)(ms / 1000);
	struct tm tm;
	int rc;

	p->table =
		table_of(ev, "_table", user ? s->users_table : s->groups_table);
	if (*p->table == '\0')
		return SCIMSYNC_OK;
	if ((rc = plan_alloc(p, KEY_MAX + 2, 0, err)) != SCIMSYNC_OK ||
	    (rc = plan_key(p, ev, user ? s->key : s->group_key,
			   user ? "key" : "group_key", err)) != SCIMSYNC_OK)
		return rc;
	if (mark) {
		/* Text the server casts to the column's type: timestamptz,
		 * timestamp or text alike. */
		gmtime_r(&secs, &tm);
		strftime(p->timebuf, sizeof(p->timebuf), "%Y-%m-%d %H:%M:%S",
			 &tm);
		snprintf(p->timebuf + strlen(p->timebuf),
			 sizeof(p->timebuf) - strlen(p->timebuf), ".%03d+00",
			 (int)(ms % 1000));
		plan_col(p, s->deleted_column, p->timebuf);
	}
	if (s->version_column != NULL) {
		version_text(p, ev);
		plan_col(p, s->version_column, p->verbuf);
	}
	p->kind = mark ? PLAN_MARK : PLAN_DELETE;
	p->ver = s->version_column;
	/* A stale deletion (the key now names a newer row) leaves it. */
	p->guard = s->version_column != NULL;
	return SCIMSYNC_OK;
}

static int plan_role(scimsync_sink *s, const scimsync_event *ev, bool grant,
		     struct plan *p, scimsync_err *err)
{
	int rc;

	p->table = table_of(ev, "_roles_table", s->roles_table);
	if (*p->table == '\0')
		return SCIMSYNC_OK;
	if (ev->role == NULL)
		return su_fail(err, SCIMSYNC_EFAIL, "%s without a role",
			       ev->type);
	if ((rc = plan_alloc(p, KEY_MAX + 1, 0, err)) != SCIMSYNC_OK ||
	    (rc = plan_key(p, ev, s->key, "key", err)) != SCIMSYNC_OK)
		return rc;
	plan_col(p, s->role_column, ev->role);
	p->kind = grant ? PLAN_GRANT : PLAN_REVOKE;
	return SCIMSYNC_OK;
}

/* What ev does, as p (kind PLAN_NONE: nothing). */
static int plan_event(scimsync_sink *s, const scimsync_event *ev,
		      struct plan *p, scimsync_err *err)
{
	const char *t = ev->type;

	memset(p, 0, sizeof(*p));
	if (ev->struct_size < offsetof(scimsync_event, event_json_len) +
				      sizeof(ev->event_json_len))
		return su_fail(err, SCIMSYNC_EFAIL,
			       "event smaller than a 1.0 event");
	if (t == NULL)
		return SCIMSYNC_OK;
	if (strcmp(t, "user.created") == 0)
		return plan_upsert(s, ev, true, true, p, err);
	if (strcmp(t, "user.updated") == 0 ||
	    strcmp(t, "user.deactivated") == 0 ||
	    strcmp(t, "user.reactivated") == 0)
		return plan_upsert(s, ev, true, false, p, err);
	if (strcmp(t, "user.deleted") == 0)
		return plan_delete(s, ev, true, p, err);
	if (strcmp(t, "role.granted") == 0 || strcmp(t, "role.revoked") == 0)
		return plan_role(s, ev, t[5] == 'g', p, err);
	if (strcmp(t, "group.created") == 0 || strcmp(t, "group.updated") == 0)
		return plan_upsert(s, ev, false, t[6] == 'c', p, err);
	if (strcmp(t, "group.deleted") == 0)
		return plan_delete(s, ev, false, p, err);
	if (strncmp(t, "group.members_", 14) != 0)
		LOG(s, SCIMSYNC_LOG_DEBUG, "event %s ignored", t);
	return SCIMSYNC_OK;
}

/* ---- applying plans ---- */

static bool any_work(const struct plan *plans, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (plans[i].kind != PLAN_NONE)
			return true;
	return false;
}

static int apply_range(scimsync_sink *s, const struct plan *plans, size_t n,
		       size_t *done, scimsync_err *err);

/* The COMMIT failed (a deferred constraint, a serialization failure):
 * no one event is to blame, so each goes alone until one fails. */
static int apply_singly(scimsync_sink *s, const struct plan *plans, size_t n,
			size_t *done, scimsync_err *err)
{
	size_t failed;
	int rc;

	for (*done = 0; *done < n; (*done)++)
		if (plans[*done].kind != PLAN_NONE &&
		    (rc = pgs_run_batch(s, &plans[*done], 1, &failed, err)) !=
			    SCIMSYNC_OK)
			return rc;
	return SCIMSYNC_OK;
}

/* plans[0..n) in one transaction; when plan k fails, 0..k-1 again
 * without it, and k's error. */
static int apply_range(scimsync_sink *s, const struct plan *plans, size_t n,
		       size_t *done, scimsync_err *err)
{
	scimsync_err first;
	size_t failed = 0;
	int rc, rc2;

	*done = 0;
	if (!any_work(plans, n)) {
		*done = n;
		return SCIMSYNC_OK;
	}
	rc = pgs_run_batch(s, plans, n, &failed, err);
	if (rc == SCIMSYNC_OK) {
		*done = n;
		return rc;
	}
	if (failed >= n)
		return n == 1 ? rc : apply_singly(s, plans, n, done, err);
	if (failed == 0)
		return rc;
	first = *err;
	rc2 = apply_range(s, plans, failed, done, err);
	if (rc2 != SCIMSYNC_OK)
		return rc2;
	*err = first;
	return rc;
}

/* ---- the ABI ---- */

static int pg_sink_open(scimsync_sink **out, const scimsync_host *host,
			const scimsync_option *options, scimsync_err *err)
{
	const scimsync_option *o;
	scimsync_sink *s;
	int rc = SCIMSYNC_OK;

	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return su_fail(err, SCIMSYNC_ERETRY, "out of memory");
	s->host = host;
	s->connect_timeout_ms = 5000;
	s->statement_timeout_ms = 10000;
	s->pipeline = true;
	s->del = DEL_DELETE;
	for (o = options; o != NULL && o->key != NULL && rc == SCIMSYNC_OK; o++)
		rc = set_option(s, o->key, o->value, err);
	if (rc == SCIMSYNC_OK)
		rc = check_options(s, err);
	if (rc != SCIMSYNC_OK) {
		pg_sink_close(s);
		return rc;
	}
	LOG(s, SCIMSYNC_LOG_INFO,
	    "users into %s by %s%s, groups %s%s, roles %s%s; versions %s%s; "
	    "delete: %s%s%s",
	    s->users_table, s->key[0], s->key[1] != NULL ? ",..." : "",
	    s->groups_table[0] ? "into " : "not mirrored", s->groups_table,
	    s->roles_table[0] ? "into " : "not mirrored", s->roles_table,
	    s->version_column ? "in " : "off",
	    s->version_column ? s->version_column : "",
	    s->del == DEL_MARK ? "mark " : "delete",
	    s->del == DEL_MARK ? s->deleted_column : "",
	    s->pipeline ? "; pipelined" : "");
	*out = s;
	return SCIMSYNC_OK;
}

static void pg_sink_close(scimsync_sink *s)
{
	if (s == NULL)
		return;
	pgs_conn_drop(s);
	free(s->conninfo);
	free(s->pw_file);
	free(s->pw_env);
	free(s->users_table);
	free(s->groups_table);
	free(s->roles_table);
	su_free_strv(s->key);
	su_free_strv(s->group_key);
	free(s->version_column);
	su_free_strv(s->managed);
	free(s->deleted_column);
	free(s->role_column);
	free(s);
}

static int pg_sink_apply_many(scimsync_sink *s,
			      const scimsync_event *const *evs, size_t n,
			      size_t *done, scimsync_err *err)
{
	struct plan *plans;
	scimsync_err perr = {0};
	size_t k;
	int rc, prc = SCIMSYNC_OK;

	*done = 0;
	if (n == 0)
		return SCIMSYNC_OK;
	if ((plans = calloc(n, sizeof(*plans))) == NULL)
		return su_fail(err, SCIMSYNC_ERETRY, "out of memory");
	for (k = 0; k < n; k++)
		if ((prc = plan_event(s, evs[k], &plans[k], &perr)) !=
		    SCIMSYNC_OK)
			break;
	/* Up to the first event that cannot be planned, then its error. */
	rc = apply_range(s, plans, k, done, err);
	if (rc == SCIMSYNC_OK && k < n) {
		*done = k;
		*err = perr;
		rc = prc;
	}
	for (size_t i = 0; i < n; i++)
		plan_free(&plans[i]);
	free(plans);
	return rc;
}

static int pg_sink_apply(scimsync_sink *s, const scimsync_event *ev,
			 scimsync_err *err)
{
	size_t done = 0;

	return pg_sink_apply_many(s, &ev, 1, &done, err);
}

static int pg_sink_health(scimsync_sink *s, scimsync_err *err)
{
	int rc;

	if ((rc = pgs_conn_open(s, err)) != SCIMSYNC_OK ||
	    (rc = pgs_exec_simple(s, "SELECT 1", err)) != SCIMSYNC_OK) {
		err->code = SCIMSYNC_ERETRY;
		return SCIMSYNC_ERETRY;
	}
	return su_fail(err, SCIMSYNC_OK, "connected to %s:%s/%s as %s",
		       PQhost(s->pg), PQport(s->pg), PQdb(s->pg),
		       PQuser(s->pg));
}

static const scimsync_sink_plugin pg_sink = {
	.header = SCIMSYNC_PLUGIN_HEADER_INIT(
		SCIMSYNC_SINK_ABI_MAJOR, SCIMSYNC_SINK_ABI_MINOR,
		scimsync_sink_plugin, SCIMSYNC_PLUGIN_SINK, SINK_NAME,
		SINK_VERSION),
	.open = pg_sink_open,
	.close = pg_sink_close,
	.apply = pg_sink_apply,
	.health = pg_sink_health,
	.apply_many = pg_sink_apply_many,
};

SINK_EXPORT const scimsync_plugin_header *scimsync_plugin_entry(void);

SINK_EXPORT const scimsync_plugin_header *scimsync_plugin_entry(void)
{
	return &pg_sink.header;
}
