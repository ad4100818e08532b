/* plugin_load.c - find, dlopen and check scimsync plugins.
 *
 * Everything is shared by the plugin kinds (plugin_load_kind): finding the
 * file, the header checks, the error lines. A kind contributes only a
 * kind_info: its file prefix, ABI version, 1.0 descriptor size and a
 * function naming the first required callback its descriptor lacks.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif
#ifndef _GNU_SOURCE
#define _POSIX_C_SOURCE 200809L /* strdup, mkdtemp, ... under -std=c11 */
#endif

#include "plugin_load.h"

#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#ifndef SCIMSYNC_PLUGINDIR
#define SCIMSYNC_PLUGINDIR "/usr/local/lib/scimsync"
#endif

/* What the loader expects of one plugin kind. */
struct kind_info {
	uint32_t kind;
	const char *prefix; /* file name prefix and word for messages */
	uint16_t abi_major;
	uint16_t abi_minor;
	size_t min_size; /* size of the kind's 1.0 descriptor */
	/* The first required callback h's descriptor lacks, or NULL; called
	 * only once struct_size >= min_size is known. */
	const char *(*missing)(const scimsync_plugin_header *h);
};

/* The size of a descriptor up to and including field: a 1.0 descriptor
 * ends with its last 1.0 field, and later minors only append, so this
 * stays the 1.0 size when fields are added. */
#define DESC_SIZE_THROUGH(type, field)                                         \
	(offsetof(type, field) + sizeof(((type *)0)->field))

#define REQUIRE(f)                                                             \
	do {                                                                   \
		if (p->f == NULL)                                              \
			return #f;                                             \
	} while (0)

/* The first required 1.0 callback the store descriptor lacks, or NULL. */
static const char *store_missing(const scimsync_plugin_header *h)
{
	/* The header is the first member, and struct_size was checked. */
	const scimsync_store_plugin *p = (const scimsync_store_plugin *)h;

	REQUIRE(open);
	REQUIRE(close);
	REQUIRE(conn_open);
	REQUIRE(conn_close);
	REQUIRE(get);
	REQUIRE(list);
	REQUIRE(count);
	REQUIRE(members);
	REQUIRE(groups_of);
	REQUIRE(begin);
	REQUIRE(commit);
	REQUIRE(rollback);
	REQUIRE(savepoint);
	REQUIRE(release);
	REQUIRE(rollback_to);
	REQUIRE(put);
	REQUIRE(del);
	REQUIRE(member_add);
	REQUIRE(member_remove);
	REQUIRE(member_clear);
	return NULL;
}

/* The first required 1.0 callback the sink descriptor lacks, or NULL. */
static const char *sink_missing(const scimsync_plugin_header *h)
{
	const scimsync_sink_plugin *p = (const scimsync_sink_plugin *)h;

	REQUIRE(open);
	REQUIRE(close);
	REQUIRE(apply);
	return NULL;
}

#undef REQUIRE

static const struct kind_info store_kind = {
	.kind = SCIMSYNC_PLUGIN_STORE,
	.prefix = "store",
	.abi_major = SCIMSYNC_STORE_ABI_MAJOR,
	.abi_minor = SCIMSYNC_STORE_ABI_MINOR,
	.min_size = DESC_SIZE_THROUGH(scimsync_store_plugin, member_clear),
	.missing = store_missing,
};

static const struct kind_info sink_kind = {
	.kind = SCIMSYNC_PLUGIN_SINK,
	.prefix = "sink",
	.abi_major = SCIMSYNC_SINK_ABI_MAJOR,
	.abi_minor = SCIMSYNC_SINK_ABI_MINOR,
	.min_size = DESC_SIZE_THROUGH(scimsync_sink_plugin, apply),
	.missing = sink_missing,
};

static void errf(char *errbuf, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void errf(char *errbuf, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (errbuf == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(errbuf, errlen, fmt, ap);
	va_end(ap);
}

static const char *kind_word(uint32_t kind)
{
	switch (kind) {
	case SCIMSYNC_PLUGIN_STORE:
		return "store";
	case SCIMSYNC_PLUGIN_SINK:
		return "sink";
	default:
		return "unknown-kind";
	}
}

/* Find the file for a plugin name: path (PATH_MAX-ish buffer) is set to
 * the first candidate that exists. Returns 0, or -1 with the reason in
 * errbuf. */
static int plugin_path(char *path, size_t pathlen, const struct kind_info *k,
		       const char *name, const char *dir, char *errbuf,
		       size_t errlen)
{
	char alt[4096] = "";
	int n;

	if (strchr(name, '/') != NULL) {
		n = snprintf(path, pathlen, "%s", name);
		if (n < 0 || (size_t)n >= pathlen) {
			errf(errbuf, errlen, "plugin '%s': path too long",
			     name);
			return -1;
		}
		return 0;
	}
	if (*name == '\0' || strcmp(name, ".") == 0 ||
	    strcmp(name, "..") == 0) {
		errf(errbuf, errlen, "plugin '%s': not a plugin name", name);
		return -1;
	}
	if (dir == NULL || *dir == '\0')
		dir = SCIMSYNC_PLUGINDIR;
	n = snprintf(path, pathlen, "%s/%s_%s.so", dir, k->prefix, name);
	if (n < 0 || (size_t)n >= pathlen) {
		errf(errbuf, errlen, "plugin '%s': path too long", name);
		return -1;
	}
	if (access(path, F_OK) == 0)
		return 0;
	/* A build tree: plugins/store-sqlite/.libs/store_sqlite.so */
	n = snprintf(alt, sizeof(alt), "%s/%s-%s/.libs/%s_%s.so", dir,
		     k->prefix, name, k->prefix, name);
	if (n > 0 && (size_t)n < sizeof(alt) && (size_t)n < pathlen &&
	    access(alt, F_OK) == 0) {
		memcpy(path, alt, (size_t)n + 1);
		return 0;
	}
	errf(errbuf, errlen, "plugin '%s': not found (looked for %s and %s)",
	     name, path, alt);
	return -1;
}

/* dlopen path and check the header against k. Returns the handle and
 * *out, or NULL with the reason in errbuf (and nothing left open). */
static void *plugin_open(const scimsync_plugin_header **out,
			 const struct kind_info *k, const char *name,
			 const char *path, char *errbuf, size_t errlen)
{
	const scimsync_plugin_header *h;
	scimsync_plugin_entry_fn entry;
	const char *why;
	void *handle, *sym;

	*out = NULL;
	dlerror();
	handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (handle == NULL) {
		why = dlerror();
		errf(errbuf, errlen, "plugin '%s' (%s): cannot load: %s", name,
		     path, why != NULL ? why : "unknown error");
		return NULL;
	}
	dlerror();
	sym = dlsym(handle, SCIMSYNC_PLUGIN_ENTRY_SYMBOL);
	if (sym == NULL) {
		errf(errbuf, errlen,
		     "plugin '%s' (%s): no symbol '%s' (not a scimsync "
		     "plugin?)",
		     name, path, SCIMSYNC_PLUGIN_ENTRY_SYMBOL);
		goto fail;
	}
	/* POSIX guarantees a data pointer from dlsym converts to a function
	 * pointer; memcpy keeps -Wpedantic quiet about it. */
	memcpy(&entry, &sym, sizeof(entry));
	h = entry();
	if (h == NULL) {
		errf(errbuf, errlen, "plugin '%s' (%s): entry returned NULL",
		     name, path);
		goto fail;
	}
	if (h->kind != k->kind) {
		errf(errbuf, errlen,
		     "plugin '%s' (%s): a %s plugin (kind %u), expected a %s "
		     "plugin",
		     name, path, kind_word(h->kind), (unsigned)h->kind,
		     k->prefix);
		goto fail;
	}
	if (h->abi_major != k->abi_major) {
		errf(errbuf, errlen,
		     "plugin '%s' (%s): ABI major %u, this scimsyncd "
		     "supports %u",
		     name, path, (unsigned)h->abi_major,
		     (unsigned)k->abi_major);
		goto fail;
	}
	if (h->abi_minor > k->abi_minor) {
		errf(errbuf, errlen,
		     "plugin '%s' (%s): ABI %u.%u is newer than this "
		     "scimsyncd's %u.%u",
		     name, path, (unsigned)h->abi_major, (unsigned)h->abi_minor,
		     (unsigned)k->abi_major, (unsigned)k->abi_minor);
		goto fail;
	}
	if (h->struct_size < k->min_size) {
		errf(errbuf, errlen,
		     "plugin '%s' (%s): descriptor size %u is smaller than "
		     "the %u.0 %s descriptor (%zu)",
		     name, path, (unsigned)h->struct_size,
		     (unsigned)k->abi_major, k->prefix, k->min_size);
		goto fail;
	}
	if (h->name == NULL || h->name[0] == '\0') {
		errf(errbuf, errlen, "plugin '%s' (%s): descriptor has no name",
		     name, path);
		goto fail;
	}
	*out = h;
	return handle;
fail:
	dlclose(handle);
	return NULL;
}

/* Find, load and check a plugin of kind k: the body of every
 * plugin_load_<kind>. */
static int plugin_load_kind(const scimsync_plugin_header **out,
			    void **handle_out, const struct kind_info *k,
			    const char *name_or_path, const char *plugin_dir,
			    char *errbuf, size_t errlen)
{
	const scimsync_plugin_header *h;
	const char *missing;
	char path[4096];
	void *handle;

	*out = NULL;
	*handle_out = NULL;
	if (errbuf != NULL && errlen > 0)
		errbuf[0] = '\0';
	if (name_or_path == NULL) {
		errf(errbuf, errlen, "%s plugin: no name given", k->prefix);
		return SCIMSYNC_EFAIL;
	}
	if (plugin_path(path, sizeof(path), k, name_or_path, plugin_dir, errbuf,
			errlen) != 0)
		return SCIMSYNC_EFAIL;
	handle = plugin_open(&h, k, name_or_path, path, errbuf, errlen);
	if (handle == NULL)
		return SCIMSYNC_EFAIL;
	if ((missing = k->missing(h)) != NULL) {
		errf(errbuf, errlen,
		     "plugin '%s' (%s): required callback '%s' is missing",
		     name_or_path, path, missing);
		dlclose(handle);
		return SCIMSYNC_EFAIL;
	}
	*out = h;
	*handle_out = handle;
	return SCIMSYNC_OK;
}

int plugin_load_store(const scimsync_store_plugin **out, void **handle_out,
		      const char *name_or_path, const char *plugin_dir,
		      char *errbuf, size_t errlen)
{
	const scimsync_plugin_header *h = NULL;
	int rc;

	rc = plugin_load_kind(&h, handle_out, &store_kind, name_or_path,
			      plugin_dir, errbuf, errlen);
	/* The header is the first member of the descriptor. */
	*out = (const scimsync_store_plugin *)h;
	return rc;
}

int plugin_load_sink(const scimsync_sink_plugin **out, void **handle_out,
		     const char *name_or_path, const char *plugin_dir,
		     char *errbuf, size_t errlen)
{
	const scimsync_plugin_header *h = NULL;
	int rc;

	rc = plugin_load_kind(&h, handle_out, &sink_kind, name_or_path,
			      plugin_dir, errbuf, errlen);
	*out = (const scimsync_sink_plugin *)h;
	return rc;
}

void plugin_unload(void *handle)
{
	if (handle != NULL)
		dlclose(handle);
}
