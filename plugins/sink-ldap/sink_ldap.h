/* sink_ldap.h - the LDAP sink's insides, shared by its files:
 *   sink_ldap.c  options and the ABI (open, close, apply, health)
 *   directory.c  what each event does to users and role groups
 *   conn.c       results, the connection, reading entries
 *   text.c       strings, DNs, filters, modification lists
 * Not installed; nothing here leaves the .so (only the entry symbol is
 * exported). Everything shared is named lds_ (libldap owns ldap_).
 */
#ifndef SCIMSYNC_SINK_LDAP_H
#define SCIMSYNC_SINK_LDAP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/time.h>

#include <lber.h>
#include <ldap.h>

#include <scimsync/sink.h>

#include "sink_util.h"

#define SINK_NAME "ldap"
#define SINK_VERSION "0.1"

#define MARKER_PREFIX "scimsync:"
#define MEMO_PREFIX "scimsync-role:"
#define MOVED_PREFIX "scimsync-moved:"
#define PASSWORD_MAX 1024

/* What option deactivate says. */
enum deact_mode { DEACT_ATTRIBUTE, DEACT_MOVE, DEACT_REMOVE_ROLES };

/* What one subtree search for a whole batch told about its users'
 * entries (lds_prefetch), so each event of the batch need not search
 * again: by marker, sorted. Only users that one event of the batch
 * touches are in it; it lives for one apply_many call. */
struct prefetched {
	char *marker;	/* MARKER_PREFIX id */
	LDAPMessage *e; /* the entry, in one of res; NULL: there is none */
	bool ambiguous; /* several entries: left to lds_find_user */
	bool used;	/* answered once: the event may change the entry */
};
struct prefetch {
	LDAPMessage **res; /* one search result per base; owns the entries */
	size_t n_res;
	struct prefetched *v;
	size_t n;
};

/* A sink state: options, then the connection (one per state, used from
 * the dispatcher thread only). */
struct scimsync_sink {
	const scimsync_host *host; /* borrowed until close */

	/* options */
	char *url;
	char *bind_dn;	   /* NULL: anonymous */
	char *pw_file;	   /* or */
	char *pw_env;	   /* where the bind password is read, per connect */
	bool start_tls;	   /* StartTLS on ldap:// */
	bool tls;	   /* start_tls or ldaps:// */
	bool tls_verify;   /* check the server's certificate */
	char *tls_ca_file; /* or NULL: the system's CAs */
	int timeout_ms;
	char *base;	  /* where users are looked for; NULL: contexts */
	char *id_attr;	  /* holds "scimsync:<id>" (and role memos) */
	char *roles_base; /* NULL: role events are not mirrored */
	bool unique;	  /* groupOfUniqueNames/uniqueMember */
	char *delete_to;  /* NULL: delete entries; else move them here */
	enum deact_mode deactivate;
	char *deact_to; /* DEACT_MOVE */
	char *deact_attr;
	char *deact_value;
	char **managed; /* attributes removed when not rendered; NULL-ended */
	/* What a batch's search reads: "*" and the attributes above that it
	 * may not return (operational ones); the strings are borrowed. */
	char **pf_attrs;

	/* connection */
	LDAP *ld;
	struct timeval tv;
	char **contexts; /* namingContexts, when base is unset */
	bool down;	 /* lost, not yet reconnected (for the log) */
	bool ever_up;

	struct prefetch pf; /* during apply_many only */
};

/* The host's log, when the host has one (checked by struct_size). */
#define LOG(s, level, ...) SU_LOG((s)->host, SINK_NAME, level, __VA_ARGS__)

/* A DN split into its first RDN and the rest (both new strings). */
struct dn_parts {
	char *rdn;
	char *parent; /* "" for a DN of one RDN */
};

/* LDAPMods for add/modify; the strings are borrowed (the event's, the
 * sink's) or owned by the list (modlist_own). */
struct modlist {
	LDAPMod **mods; /* NULL-terminated */
	size_t n, cap;
	char **owned;
	size_t n_owned;
	bool oom;
};

/* One event as the sink reads it (lds_view_init). */
struct view {
	const scimsync_event *ev;
	const char *id;	  /* the user's SCIM id */
	const char *dn;	  /* the mapped DN, or NULL */
	bool active;	  /* the user's `active` */
	bool reactivated; /* a user.reactivated event */
	char *marker;	  /* MARKER_PREFIX id */
};

/* One entry read from the directory (or none). */
struct found {
	LDAPMessage *res; /* owns e; NULL when e is the prefetch's */
	LDAPMessage *e;	  /* NULL: no such entry */
	char *dn;	  /* e's DN (new) */
};

/* text.c: results are new strings (free) or NULL when out of memory. */
char *lds_cat(const char *first, ...) __attribute__((sentinel));
char *lds_dn_escape(const char *v);
char *lds_eq_filter(const char *attr, const char *value);
bool lds_bv_is(const struct berval *bv, const char *s);
bool lds_bv_is_nocase(const struct berval *bv, const char *s);
bool lds_bv_has_prefix(const struct berval *bv, const char *prefix);
bool lds_json_top_false(const char *p, size_t n, const char *key);
int lds_dn_split(const char *dn, struct dn_parts *out, scimsync_err *err);
void lds_dn_parts_free(struct dn_parts *d);
bool lds_dn_equal(const char *a, const char *b);
bool lds_dn_under(const char *dn, const char *base);
bool lds_dn_is(scimsync_sink *s, const char *cur, const char *rdn,
	       const char *parent, const char *marker);
char *lds_dn_first_value(const char *dn);
bool lds_seen_nocase(const char *const *vals, size_t n, const char *v);
void lds_modlist_free(struct modlist *ml);
char *lds_modlist_own(struct modlist *ml, char *p);
void lds_modlist_add(struct modlist *ml, int op, const char *type,
		     const char *const *vals, size_t n);
void lds_modlist_add1(struct modlist *ml, int op, const char *type,
		      const char *val);

/* conn.c: the int results are SCIMSYNC_OK or another SCIMSYNC_ code,
 * with err filled. */
int lds_fail_rc(scimsync_sink *s, int rc, scimsync_err *err, const char *fmt,
		...) __attribute__((format(printf, 4, 5)));
void lds_conn_drop(scimsync_sink *s);
int lds_conn_open(scimsync_sink *s, scimsync_err *err);
void lds_found_free(struct found *f);
struct berval **lds_found_values(scimsync_sink *s, const struct found *f,
				 const char *attr);
int lds_read_entry(scimsync_sink *s, const char *dn, char **attrs,
		   struct found *f, scimsync_err *err);
int lds_find_user(scimsync_sink *s, const struct view *v, char **attrs,
		  struct found *f, scimsync_err *err);
void lds_prefetch(scimsync_sink *s, const scimsync_event *const *evs, size_t n);
void lds_prefetch_clear(scimsync_sink *s);
bool lds_prefetch_absent(scimsync_sink *s, const char *marker);

/* directory.c: one event each; SCIMSYNC_OK, _ERETRY or _EFAIL. */
int lds_view_init(struct view *v, const scimsync_event *ev, scimsync_err *err);
void lds_view_free(struct view *v);
int lds_user_converge(scimsync_sink *s, const struct view *v,
		      scimsync_err *err);
int lds_user_delete(scimsync_sink *s, const struct view *v, scimsync_err *err);
int lds_role_event(scimsync_sink *s, const struct view *v, bool grant,
		   scimsync_err *err);
int lds_user_add_send(scimsync_sink *s, const struct view *v);
int lds_user_add_wait(scimsync_sink *s, const struct view *v, int msgid,
		      scimsync_err *err);

#endif
