/* conf.c - scimsyncd's configuration file. */
#include "config.h"

#include "conf.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "yaml_json.h"

#ifndef SCIMSYNC_PLUGINDIR
#define SCIMSYNC_PLUGINDIR "/usr/local/lib/scimsync"
#endif

typedef struct cfg_ctx {
	const char *name;
	char *errbuf;
	size_t errlen;
} cfg_ctx;

static int cfg_fail(cfg_ctx *cx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int cfg_fail(cfg_ctx *cx, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(cx->errbuf, cx->errlen, "%s: ", cx->name);

	if (n < 0 || (size_t)n >= cx->errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(cx->errbuf + n, cx->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

/* Refuse keys of obj not in allowed (NULL-terminated). */
static int cfg_known_keys(cfg_ctx *cx, const json_t *obj, const char *where,
			  const char *const *allowed)
{
	const char *key;
	json_t *v;

	json_object_foreach ((json_t *)obj, key, v) {
		int ok = 0;

		for (const char *const *a = allowed; *a; a++)
			if (strcmp(*a, key) == 0)
				ok = 1;
		if (!ok)
			return cfg_fail(cx, "unknown key '%s%s%s'", where,
					*where ? "." : "", key);
	}
	return 0;
}

static int cfg_section(cfg_ctx *cx, const json_t *root, const char *name,
		       const json_t **out)
{
	const json_t *v = json_object_get(root, name);

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_object(v))
		return cfg_fail(cx, "'%s' must be a mapping", name);
	*out = v;
	return 0;
}

static int cfg_str(cfg_ctx *cx, const json_t *sec, const char *secname,
		   const char *key, char **out)
{
	const json_t *v = sec ? json_object_get(sec, key) : NULL;

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return cfg_fail(cx, "'%s.%s' must be a string", secname, key);
	free(*out);
	*out = strdup(json_string_value(v));
	return 0;
}

static int cfg_int(cfg_ctx *cx, const json_t *sec, const char *secname,
		   const char *key, long long min, long long max,
		   long long *out)
{
	const json_t *v = sec ? json_object_get(sec, key) : NULL;

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < min ||
	    json_integer_value(v) > max)
		return cfg_fail(cx,
				"'%s.%s' must be an integer from %lld to %lld",
				secname, key, min, max);
	*out = json_integer_value(v);
	return 0;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static void conf_defaults(scimsync_config *c)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	c->listen_address = strdup("127.0.0.1");
	c->port = 8080;
	c->threads = ncpu > 0 ? (int)ncpu : 2;
	c->backlog = 1024;
	c->log_level = LOG_INFO;
	c->store_plugin = strdup("sqlite");
	c->plugin_dir = strdup(SCIMSYNC_PLUGINDIR);
	c->max_body_bytes = 1 << 20;
	c->max_json_depth = 64;
	c->max_filter_length = 4096;
	c->max_results = 1000;
	c->default_count = 100;
	c->bulk_max_operations = 1000;
	c->bulk_max_payload = 1 << 20;
	c->write_batch = 256;
	c->tenant = strdup("default");
	c->rate_per_second = 1000;
	c->rate_burst = 2000;
	c->audit_retention_days = 90;
	c->admin_address = strdup("127.0.0.1");
	c->admin_port = 8081;
}

/* mappings: {name: file}. Relative files are taken relative to the
 * folder of the config file, so a config and its mappings move together. */
static int conf_mappings(scimsync_config *c, cfg_ctx *cx, const json_t *root)
{
	const json_t *maps = json_object_get(root, "mappings"), *v;
	const char *slash = strrchr(cx->name, '/');
	size_t i = 0, dirlen = slash ? (size_t)(slash - cx->name) + 1 : 0;
	const char *key;

	if (maps && !json_is_null(maps) && !json_is_object(maps))
		return cfg_fail(cx,
				"'mappings' must be a mapping of name: file");
	c->mappings = calloc((maps ? json_object_size(maps) : 0) + 1,
			     sizeof(*c->mappings));
	if (c->mappings == NULL)
		return cfg_fail(cx, "out of memory");
	if (maps == NULL || json_is_null(maps))
		return 0;
	json_object_foreach ((json_t *)maps, key, v) {
		const char *file = json_string_value(v);
		char *path;

		if (file == NULL || *file == '\0')
			return cfg_fail(cx, "'mappings.%s' must be a file name",
					key);
		if (file[0] == '/' || dirlen == 0)
			path = strdup(file);
		else if (asprintf(&path, "%.*s%s", (int)dirlen, cx->name,
				  file) < 0)
			path = NULL;
		c->mappings[i].key = strdup(key);
		c->mappings[i].value = path;
		i++;
		if (path == NULL)
			return cfg_fail(cx, "out of memory");
	}
	return 0;
}

static int cfg_number(cfg_ctx *cx, const json_t *sec, const char *secname,
		      const char *key, double min, double max, double *out)
{
	const json_t *v = sec ? json_object_get(sec, key) : NULL;

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_number(v) || json_number_value(v) < min ||
	    json_number_value(v) > max)
		return cfg_fail(cx, "'%s.%s' must be a number from %g to %g",
				secname, key, min, max);
	*out = json_number_value(v);
	return 0;
}

/* 64 hex digits into 32 bytes. */
static int cfg_sha256(cfg_ctx *cx, const char *hex, const char *what,
		      unsigned char out[32])
{
	if (strlen(hex) != 64)
		return cfg_fail(cx, "'%s' must be 64 hex digits", what);
	for (int i = 0; i < 32; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return cfg_fail(cx, "'%s' must be 64 hex digits", what);
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

/* A path relative to the config file's folder, made absolute (in place). */
static int cfg_relative(cfg_ctx *cx, char **path)
{
	const char *slash = strrchr(cx->name, '/');
	char *p = NULL;

	if (*path == NULL || (*path)[0] == '/' || slash == NULL)
		return 0;
	if (asprintf(&p, "%.*s/%s", (int)(slash - cx->name), cx->name, *path) <
	    0)
		return cfg_fail(cx, "out of memory");
	free(*path);
	*path = p;
	return 0;
}

/* rate_limit: {requests_per_second, burst};
 * audit: {path, database, retention_days}. */
static int conf_rate_audit(scimsync_config *c, cfg_ctx *cx, const json_t *root)
{
	static const char *const rate_keys[] = {"requests_per_second", "burst",
						NULL};
	static const char *const audit_keys[] = {"path", "database",
						 "retention_days", NULL};
	const json_t *rate, *audit;

	if (cfg_section(cx, root, "rate_limit", &rate) < 0 ||
	    cfg_section(cx, root, "audit", &audit) < 0 ||
	    (rate && cfg_known_keys(cx, rate, "rate_limit", rate_keys) < 0) ||
	    (audit && cfg_known_keys(cx, audit, "audit", audit_keys) < 0) ||
	    cfg_number(cx, rate, "rate_limit", "requests_per_second", 0, 1e9,
		       &c->rate_per_second) < 0 ||
	    cfg_number(cx, rate, "rate_limit", "burst", 1, 1e9,
		       &c->rate_burst) < 0 ||
	    cfg_str(cx, audit, "audit", "path", &c->audit_path) < 0 ||
	    cfg_str(cx, audit, "audit", "database", &c->audit_db) < 0)
		return -1;
	{
		long long days = c->audit_retention_days;

		if (cfg_int(cx, audit, "audit", "retention_days", 0, 36500,
			    &days) < 0)
			return -1;
		c->audit_retention_days = (int)days;
	}
	/* Relative to the config file, like mapping files. */
	return cfg_relative(cx, &c->audit_path) < 0 ||
			       cfg_relative(cx, &c->audit_db) < 0
		       ? -1
		       : 0;
}

/* admin: {listen: {address, port}, token_sha256}. */
static int conf_admin(scimsync_config *c, cfg_ctx *cx, const json_t *root)
{
	static const char *const admin_keys[] = {"listen", "token_sha256",
						 NULL};
	static const char *const listen_keys[] = {"address", "port", NULL};
	const json_t *admin, *listen = NULL;
	char *hash = NULL;
	long long n = c->admin_port;
	int rc = -1;

	if (cfg_section(cx, root, "admin", &admin) < 0)
		return -1;
	if (admin == NULL)
		return 0;
	if (cfg_known_keys(cx, admin, "admin", admin_keys) < 0 ||
	    cfg_section(cx, admin, "listen", &listen) < 0 ||
	    (listen &&
	     cfg_known_keys(cx, listen, "admin.listen", listen_keys) < 0) ||
	    cfg_str(cx, listen, "admin.listen", "address", &c->admin_address) <
		    0 ||
	    cfg_int(cx, listen, "admin.listen", "port", 0, 65535, &n) < 0 ||
	    cfg_str(cx, admin, "admin", "token_sha256", &hash) < 0)
		goto out;
	c->admin_port = (int)n;
	if (hash) {
		if (cfg_sha256(cx, hash, "admin.token_sha256",
			       c->admin_token_hash) < 0)
			goto out;
		c->has_admin_token = true;
	}
	rc = 0;
out:
	free(hash);
	return rc;
}

/* A mapping of scalars into a NULL-key-terminated option array. */
static int cfg_options(cfg_ctx *cx, const json_t *opts, const char *what,
		       scimsync_option **out)
{
	size_t i = 0, count = opts ? json_object_size(opts) : 0;
	const char *key;
	json_t *v;

	if (opts && !json_is_null(opts) && !json_is_object(opts))
		return cfg_fail(cx, "'%s' must be a mapping", what);
	*out = calloc(count + 1, sizeof(**out));
	if (*out == NULL)
		return cfg_fail(cx, "out of memory");
	if (opts == NULL || json_is_null(opts))
		return 0;
	json_object_foreach ((json_t *)opts, key, v) {
		char buf[64];
		const char *s = buf;

		if (json_is_string(v))
			s = json_string_value(v);
		else if (json_is_integer(v))
			snprintf(buf, sizeof(buf), "%lld",
				 (long long)json_integer_value(v));
		else if (json_is_boolean(v))
			s = json_is_true(v) ? "true" : "false";
		else
			return cfg_fail(cx, "'%s.%s' must be a scalar", what,
					key);
		(*out)[i].key = strdup(key);
		(*out)[i].value = strdup(s);
		i++;
	}
	return 0;
}

static void options_free(scimsync_option *o)
{
	if (o == NULL)
		return;
	for (scimsync_option *p = o; p->key; p++) {
		free((char *)p->key);
		free((char *)p->value);
	}
	free(o);
}

/* sinks: {name: {plugin, mapping, tenants, options, retry, batch}}. */
static int conf_sinks(scimsync_config *c, cfg_ctx *cx, const json_t *root)
{
	static const char *const sink_keys[] = {"plugin",  "mapping", "tenants",
						"options", "retry",   "batch",
						NULL};
	static const char *const retry_keys[] = {"initial_ms", "max_ms", NULL};
	const json_t *sinks, *v;
	const char *name;
	char what[160];

	if (cfg_section(cx, root, "sinks", &sinks) < 0)
		return -1;
	if (sinks == NULL)
		return 0;
	c->sinks = calloc(json_object_size(sinks) + 1, sizeof(*c->sinks));
	if (c->sinks == NULL)
		return cfg_fail(cx, "out of memory");
	json_object_foreach ((json_t *)sinks, name, v) {
		scimsync_sink_conf *sc = &c->sinks[c->n_sinks++];
		const json_t *retry = NULL, *tenants;
		long long n;

		sc->name = strdup(name);
		sc->retry_initial_ms = 200;
		sc->retry_max_ms = 60000;
		sc->batch = 256;
		snprintf(what, sizeof(what), "sinks.%s", name);
		if (strlen(name) == 0 || strlen(name) > 63 ||
		    strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_-") !=
			    strlen(name))
			return cfg_fail(cx,
					"sink name '%s' must be 1 to 63 of "
					"a-z 0-9 _ -",
					name);
		if (!json_is_object(v))
			return cfg_fail(cx, "'%s' must be a mapping", what);
		if (cfg_known_keys(cx, v, what, sink_keys) < 0 ||
		    cfg_str(cx, v, what, "plugin", &sc->plugin) < 0 ||
		    cfg_str(cx, v, what, "mapping", &sc->mapping) < 0 ||
		    cfg_section(cx, v, "retry", &retry) < 0 ||
		    (retry &&
		     cfg_known_keys(cx, retry, "retry", retry_keys) < 0))
			return -1;
		if (sc->plugin == NULL)
			return cfg_fail(cx, "'%s.plugin' is required", what);
		n = sc->batch;
		if (cfg_int(cx, v, what, "batch", 1, 10000, &n) < 0)
			return -1;
		sc->batch = (int)n;
		snprintf(what, sizeof(what), "sinks.%s.retry", name);
		n = sc->retry_initial_ms;
		if (cfg_int(cx, retry, what, "initial_ms", 1, 3600000, &n) < 0)
			return -1;
		sc->retry_initial_ms = (int)n;
		n = sc->retry_max_ms;
		if (cfg_int(cx, retry, what, "max_ms", 1, 86400000, &n) < 0)
			return -1;
		sc->retry_max_ms = (int)n;
		snprintf(what, sizeof(what), "sinks.%s", name);
		tenants = json_object_get(v, "tenants");
		if (tenants && !json_is_null(tenants)) {
			size_t i;
			json_t *t;

			if (!json_is_array(tenants))
				return cfg_fail(cx,
						"'%s.tenants' must be a list "
						"of tenant names",
						what);
			sc->tenants = calloc(json_array_size(tenants) + 1,
					     sizeof(char *));
			if (sc->tenants == NULL)
				return cfg_fail(cx, "out of memory");
			json_array_foreach (tenants, i, t) {
				if (!json_is_string(t))
					return cfg_fail(cx,
							"'%s.tenants' must be "
							"a list of tenant "
							"names",
							what);
				sc->tenants[i] = strdup(json_string_value(t));
			}
		}
		snprintf(what, sizeof(what), "sinks.%s.options", name);
		if (cfg_options(cx, json_object_get(v, "options"), what,
				&sc->options) < 0)
			return -1;
	}
	return 0;
}

static int conf_from_json(scimsync_config *c, cfg_ctx *cx, const json_t *root)
{
	static const char *const top_keys[] = {
		"listen", "base_url", "log_level", "store",
		"limits", "auth",     "mappings",  "rate_limit",
		"audit",  "admin",    "sinks",	   NULL};
	static const char *const listen_keys[] = {"address", "port", "threads",
						  "backlog", "tls",  NULL};
	static const char *const tls_keys[] = {"cert", "key", NULL};
	static const char *const store_keys[] = {"plugin", "plugin_dir",
						 "options", NULL};
	static const char *const limit_keys[] = {
		"max_body_bytes",   "max_json_depth", "max_filter_length",
		"max_results",	    "default_count",  "bulk_max_operations",
		"bulk_max_payload", "write_batch",    NULL};
	static const char *const auth_keys[] = {"tenant", "token_sha256", NULL};
	const json_t *listen, *tls, *store, *limits, *auth, *opts;
	char *level = NULL, *hash = NULL;
	long long n;

	if (!json_is_object(root))
		return cfg_fail(cx, "the top level must be a mapping");
	if (cfg_known_keys(cx, root, "", top_keys) < 0 ||
	    cfg_section(cx, root, "listen", &listen) < 0 ||
	    cfg_section(cx, root, "store", &store) < 0 ||
	    cfg_section(cx, root, "limits", &limits) < 0 ||
	    cfg_section(cx, root, "auth", &auth) < 0)
		return -1;
	if (listen && (cfg_known_keys(cx, listen, "listen", listen_keys) < 0 ||
		       cfg_section(cx, listen, "tls", &tls) < 0))
		return -1;
	if (!listen)
		tls = NULL;
	if ((tls && cfg_known_keys(cx, tls, "listen.tls", tls_keys) < 0) ||
	    (store && cfg_known_keys(cx, store, "store", store_keys) < 0) ||
	    (limits && cfg_known_keys(cx, limits, "limits", limit_keys) < 0) ||
	    (auth && cfg_known_keys(cx, auth, "auth", auth_keys) < 0))
		return -1;

	if (cfg_str(cx, listen, "listen", "address", &c->listen_address) < 0 ||
	    cfg_str(cx, tls, "listen.tls", "cert", &c->tls_cert) < 0 ||
	    cfg_str(cx, tls, "listen.tls", "key", &c->tls_key) < 0 ||
	    cfg_str(cx, root, "", "base_url", &c->base_url) < 0 ||
	    cfg_str(cx, root, "", "log_level", &level) < 0 ||
	    cfg_str(cx, store, "store", "plugin", &c->store_plugin) < 0 ||
	    cfg_str(cx, store, "store", "plugin_dir", &c->plugin_dir) < 0 ||
	    cfg_str(cx, auth, "auth", "tenant", &c->tenant) < 0 ||
	    cfg_str(cx, auth, "auth", "token_sha256", &hash) < 0)
		goto fail;

#define INT_OPT(sec, secname, key, min, max, field)                            \
	do {                                                                   \
		n = (long long)(field);                                        \
		if (cfg_int(cx, sec, secname, key, min, max, &n) < 0)          \
			goto fail;                                             \
		(field) = n;                                                   \
	} while (0)
	INT_OPT(listen, "listen", "port", 0, 65535, c->port);
	INT_OPT(listen, "listen", "threads", 1, 256, c->threads);
	INT_OPT(listen, "listen", "backlog", 1, 65535, c->backlog);
	INT_OPT(limits, "limits", "max_body_bytes", 1024, 1LL << 30,
		c->max_body_bytes);
	INT_OPT(limits, "limits", "max_json_depth", 4, 1000, c->max_json_depth);
	INT_OPT(limits, "limits", "max_filter_length", 16, 1 << 20,
		c->max_filter_length);
	INT_OPT(limits, "limits", "max_results", 1, 1000000, c->max_results);
	INT_OPT(limits, "limits", "default_count", 1, 1000000,
		c->default_count);
	INT_OPT(limits, "limits", "bulk_max_operations", 1, 100000,
		c->bulk_max_operations);
	INT_OPT(limits, "limits", "bulk_max_payload", 1024, 1LL << 30,
		c->bulk_max_payload);
	INT_OPT(limits, "limits", "write_batch", 1, 100000, c->write_batch);
#undef INT_OPT
	if (c->default_count > c->max_results)
		c->default_count = c->max_results;

	if (level) {
		c->log_level = log_level_parse(level);
		if (c->log_level < 0) {
			cfg_fail(cx, "'log_level' must be error, warn, info or "
				     "debug");
			goto fail;
		}
	}
	if ((c->tls_cert == NULL) != (c->tls_key == NULL)) {
		cfg_fail(cx, "'listen.tls' needs both 'cert' and 'key'");
		goto fail;
	}
	if (hash) {
		if (cfg_sha256(cx, hash, "auth.token_sha256", c->token_hash) <
		    0)
			goto fail;
		c->has_token = true;
	}

	opts = store ? json_object_get(store, "options") : NULL;
	if (cfg_options(cx, opts, "store.options", &c->store_options) < 0)
		goto fail;
	if (conf_mappings(c, cx, root) < 0 ||
	    conf_rate_audit(c, cx, root) < 0 || conf_admin(c, cx, root) < 0 ||
	    conf_sinks(c, cx, root) < 0)
		goto fail;
	free(level);
	free(hash);
	return 0;
fail:
	free(level);
	free(hash);
	return -1;
}

int conf_load_string(scimsync_config **out, const char *text, const char *name,
		     char *errbuf, size_t errlen)
{
	cfg_ctx cx = {name ? name : "<config>", errbuf, errlen};
	scimsync_config *c;
	json_t *root;

	*out = NULL;
	if (yaml_to_json(&root, text, strlen(text), cx.name, errbuf, errlen) <
	    0)
		return -1;
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		json_decref(root);
		return cfg_fail(&cx, "out of memory");
	}
	conf_defaults(c);
	if (conf_from_json(c, &cx, root) < 0) {
		json_decref(root);
		conf_free(c);
		return -1;
	}
	json_decref(root);
	*out = c;
	return 0;
}

int conf_load_file(scimsync_config **out, const char *path, char *errbuf,
		   size_t errlen)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long len;
	int rc;

	*out = NULL;
	if (f == NULL) {
		snprintf(errbuf, errlen, "%s: cannot open: %m", path);
		return -1;
	}
	if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 ||
	    len > (1 << 20) || fseek(f, 0, SEEK_SET) != 0) {
		fclose(f);
		snprintf(errbuf, errlen, "%s: unreadable or larger than 1 MiB",
			 path);
		return -1;
	}
	buf = malloc((size_t)len + 1);
	if (buf == NULL || fread(buf, 1, (size_t)len, f) != (size_t)len) {
		free(buf);
		fclose(f);
		snprintf(errbuf, errlen, "%s: read error", path);
		return -1;
	}
	buf[len] = '\0';
	fclose(f);
	rc = conf_load_string(out, buf, path, errbuf, errlen);
	free(buf);
	return rc;
}

void conf_free(scimsync_config *c)
{
	if (c == NULL)
		return;
	free(c->listen_address);
	free(c->tls_cert);
	free(c->tls_key);
	free(c->base_url);
	free(c->store_plugin);
	free(c->plugin_dir);
	options_free(c->store_options);
	options_free(c->mappings);
	for (size_t i = 0; c->sinks && i < c->n_sinks; i++) {
		scimsync_sink_conf *sc = &c->sinks[i];

		free(sc->name);
		free(sc->plugin);
		free(sc->mapping);
		for (char **t = sc->tenants; t && *t; t++)
			free(*t);
		free(sc->tenants);
		options_free(sc->options);
	}
	free(c->sinks);
	free(c->audit_path);
	free(c->audit_db);
	free(c->admin_address);
	free(c->tenant);
	free(c);
}
