/* plugin_load.h - find, dlopen and check scimsync plugins.
 *
 * A plugin is loaded with RTLD_NOW | RTLD_LOCAL and accepted only when its
 * descriptor is of the expected kind, has our ABI major and a minor no
 * newer than ours, a struct_size covering at least the 1.0 descriptor, a
 * name, and every required callback. On any failure the object is
 * dlclose'd and errbuf receives one line naming the plugin, its path and
 * the reason, e.g.
 *   plugin 'x' (/usr/lib/scimsync/store_x.so): ABI major 2, this
 *   scimsyncd supports 1
 */
#ifndef SCIMSYNC_PLUGIN_LOAD_H
#define SCIMSYNC_PLUGIN_LOAD_H

#include <stddef.h>

#include <scimsync/sink.h>
#include <scimsync/store.h>

/* Load a store plugin.
 *
 * name_or_path: with a '/', the shared object's path, opened as is;
 * otherwise a plugin name, looked up as <plugin_dir>/store_<name>.so and
 * then <plugin_dir>/store-<name>/.libs/store_<name>.so (a build tree's
 * plugins/ directory). plugin_dir NULL means the installed plugin
 * directory (SCIMSYNC_PLUGINDIR).
 *
 * On success returns 0, *out is the plugin's descriptor (borrowed from the
 * plugin: valid until plugin_unload) and *handle_out the handle to pass to
 * plugin_unload. On failure returns a negative code (SCIMSYNC_EFAIL), sets
 * *out and *handle_out to NULL and writes the reason to errbuf (errlen
 * bytes, always NUL-terminated when errlen > 0). */
int plugin_load_store(const scimsync_store_plugin **out, void **handle_out,
		      const char *name_or_path, const char *plugin_dir,
		      char *errbuf, size_t errlen);

/* Load a sink plugin: as plugin_load_store, for kind SCIMSYNC_PLUGIN_SINK
 * and the sink ABI, looking a name up as <plugin_dir>/sink_<name>.so and
 * then <plugin_dir>/sink-<name>/.libs/sink_<name>.so. Required: open,
 * close, apply; health and apply_many are optional (PLUGIN_SINK_HAS). */
int plugin_load_sink(const scimsync_sink_plugin **out, void **handle_out,
		     const char *name_or_path, const char *plugin_dir,
		     char *errbuf, size_t errlen);

/* An optional sink entry is used only when the plugin's descriptor is
 * large enough to hold it and sets it: PLUGIN_SINK_HAS(p, apply_many). */
#define PLUGIN_SINK_HAS(p, field)                                              \
	((p)->header.struct_size >=                                            \
		 offsetof(scimsync_sink_plugin, field) + sizeof((p)->field) && \
	 (p)->field != NULL)

/* dlclose a handle from plugin_load_*; NULL is a no-op. Every object the
 * plugin created must have been released first. */
void plugin_unload(void *handle);

#endif
