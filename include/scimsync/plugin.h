/* scimsync/plugin.h - what every scimsync plugin (store or sink) shares.
 *
 * A plugin is a shared object that exports exactly one symbol,
 * SCIMSYNC_PLUGIN_ENTRY_SYMBOL, a function returning a pointer to a const,
 * static descriptor. The descriptor starts with a scimsync_plugin_header so
 * the loader can check the ABI before it reads anything else.
 *
 * Versioning (after Varnish VMODs and SQLite extensions): the ABI major
 * changes when anything existing changes; the minor when something is added
 * at the end of a struct. The loader accepts a plugin with the same major
 * and a minor no newer than its own, and reads optional fields only when the
 * plugin's struct_size covers them.
 *
 * Ownership: everything the host passes to a plugin function is borrowed
 * for the duration of that call. Everything a plugin creates it frees
 * itself, in the function the ABI names for it (close for open). Memory is
 * never freed on the other side of the boundary.
 *
 * Change log
 *   2026-11-22  1.0  first version: store plugins.
 */
#ifndef SCIMSYNC_PLUGIN_H
#define SCIMSYNC_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SCIMSYNC_PLUGIN_ENTRY_SYMBOL "scimsync_plugin_entry"

typedef enum scimsync_plugin_kind {
	SCIMSYNC_PLUGIN_STORE = 1,
	SCIMSYNC_PLUGIN_SINK = 2
} scimsync_plugin_kind;

/* Result codes shared by every plugin function that returns int. */
enum {
	SCIMSYNC_OK = 0,
	SCIMSYNC_ENOTFOUND = -1, /* no such resource / member */
	SCIMSYNC_ECONFLICT = -2, /* a uniqueness constraint would break */
	SCIMSYNC_ERETRY = -3,	 /* transient: busy, timeout, unreachable */
	SCIMSYNC_EFAIL = -4,	 /* permanent: bad data, broken setup */
	SCIMSYNC_ESTOPPED = -5	 /* a callback asked to stop iterating */
};

/* Caller-allocated error: filling it never allocates. */
typedef struct scimsync_err {
	int code;	   /* one of the codes above */
	char message[256]; /* for logs; never contains secrets */
} scimsync_err;

/* Log levels of scimsync_host.log. */
enum {
	SCIMSYNC_LOG_ERROR = 0,
	SCIMSYNC_LOG_WARN = 1,
	SCIMSYNC_LOG_INFO = 2,
	SCIMSYNC_LOG_DEBUG = 3
};

/* Services the host offers plugins, so plugins link nothing of the host.
 * Borrowed; valid from open to close. Check struct_size before using a
 * field added after 1.0. */
typedef struct scimsync_host {
	size_t struct_size;
	/* Write one log line, prefixed with the plugin's name. Thread-safe. */
	void (*log)(int level, const char *plugin, const char *fmt, ...)
		__attribute__((format(printf, 3, 4)));
} scimsync_host;

/* A key/value option from the config file ("path" -> "/var/lib/x.db"). */
typedef struct scimsync_option {
	const char *key;
	const char *value;
} scimsync_option;

/* First member of every plugin descriptor. Fill with
 * SCIMSYNC_PLUGIN_HEADER_INIT so the versions cannot be got wrong. */
typedef struct scimsync_plugin_header {
	uint16_t abi_major;
	uint16_t abi_minor;
	uint32_t struct_size; /* sizeof the whole descriptor */
	uint32_t kind;	      /* scimsync_plugin_kind */
	const char *name;     /* "sqlite", "ldap", ... */
	const char *version;  /* the plugin's own version, for logs */
} scimsync_plugin_header;

#define SCIMSYNC_PLUGIN_HEADER_INIT(major, minor, desc_type, kind_, name_,     \
				    version_)                                  \
	{                                                                      \
		(major), (minor), (uint32_t)sizeof(desc_type), (kind_),        \
			(name_), (version_)                                    \
	}

/* The entry symbol a plugin exports. Returns a pointer to its static
 * descriptor (never NULL); the pointer stays valid while loaded. */
typedef const scimsync_plugin_header *(*scimsync_plugin_entry_fn)(void);

#ifdef __cplusplus
}
#endif

#endif
