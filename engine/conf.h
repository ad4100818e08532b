/* conf.h - scimsyncd's configuration file (YAML, comments allowed).
 *
 * See contrib/scimsyncd.yaml for every key with its default. Unknown keys
 * are errors, so a typo never silently falls back to a default. */
#ifndef SCIMSYNC_CONF_H
#define SCIMSYNC_CONF_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include <scimsync/plugin.h>

/* One configured sink (sinks: {name: {...}}). */
typedef struct scimsync_sink_conf {
	char *name;		  /* the key: for logs and the admin API */
	char *plugin;		  /* name (sink_<name>.so) or path */
	char *mapping;		  /* mapping name rendering attrs, or NULL */
	char **tenants;		  /* NULL-terminated; NULL: every tenant */
	scimsync_option *options; /* key NULL terminates */
	int retry_initial_ms;	  /* first backoff; default 200 */
	int retry_max_ms;	  /* backoff cap; default 60000 */
	int batch;		  /* events per apply_many; default 256 */
} scimsync_sink_conf;

typedef struct scimsync_config {
	/* listen */
	char *listen_address; /* default 127.0.0.1 */
	int port;	      /* default 8080 */
	int threads;	      /* worker threads; default: number of CPUs */
	int backlog;	      /* default 1024 */
	char *tls_cert;	      /* PEM files; both or neither */
	char *tls_key;
	char *base_url; /* for meta.location; default
			   http(s)://addr:port/scim/v2 */
	int log_level;

	/* store */
	char *store_plugin;		/* name ("sqlite") or path to a .so */
	char *plugin_dir;		/* default SCIMSYNC_PLUGINDIR */
	scimsync_option *store_options; /* key NULL terminates */

	/* limits */
	size_t max_body_bytes;	 /* default 1 MiB */
	int max_json_depth;	 /* default 64 */
	int max_filter_length;	 /* default 4096 */
	int max_results;	 /* largest count served; default 1000 */
	int default_count;	 /* count when none given; default 100 */
	int bulk_max_operations; /* default 1000 */
	size_t bulk_max_payload; /* default 1 MiB */
	int write_batch;	 /* most requests per group commit; 256 */

	/* mapping files by name ("ldap" -> path, made absolute relative to
	 * the config file's folder); key NULL terminates */
	scimsync_option *mappings;

	/* rate_limit: per-token token bucket; rate 0 turns it off */
	double rate_per_second; /* default 1000 */
	double rate_burst;	/* default 2000 */

	/* audit: one JSON line per operation, appended to this file, and
	 * the same records in an SQLite file for admin API queries */
	char *audit_path;	  /* NULL: no audit log file */
	char *audit_db;		  /* NULL: no audit queries */
	int audit_retention_days; /* database rows; default 90; 0 forever */

	/* admin: the admin API listener and its credential */
	char *admin_address;		    /* default 127.0.0.1 */
	int admin_port;			    /* default 8081; 0 disables */
	unsigned char admin_token_hash[32]; /* SHA-256 of the admin token */
	bool has_admin_token;

	/* sinks: where lifecycle events go; n_sinks of them */
	scimsync_sink_conf *sinks;
	size_t n_sinks;

	/* auth: an optional static bearer token from the config file, for
	 * the tenant named here (created at start if absent). Tokens made
	 * with the admin API need none of this. */
	char *tenant;		      /* default "default" */
	unsigned char token_hash[32]; /* SHA-256 of the bearer token */
	bool has_token;
} scimsync_config;

/* Load and validate. On success *out is new (conf_free). On error -1 and
 * a message naming file, line and column where known. */
int conf_load_file(scimsync_config **out, const char *path, char *errbuf,
		   size_t errlen);
int conf_load_string(scimsync_config **out, const char *text, const char *name,
		     char *errbuf, size_t errlen);
void conf_free(scimsync_config *c);

#endif
