/* mapset.h - the daemon's named mapping files, reloadable on SIGHUP.
 *
 * Each name ("ldap", "webhook") maps to a compiled mapping file. A reload
 * compiles every file again; one that fails keeps its previous version
 * active (and the failure is reported), one that loads replaces it
 * atomically. Users take a reference for as long as they evaluate, so a
 * reload never frees a mapping in use and never stops a request.
 *
 * Threads: every function is safe from any thread. */
#ifndef SCIMSYNC_MAPSET_H
#define SCIMSYNC_MAPSET_H

#include <stddef.h>

#include "mapping.h"

typedef struct mapset mapset;

/* A name and the path of its mapping file. */
typedef struct mapset_entry {
	const char *name;
	const char *path;
} mapset_entry;

/* Load every entry (n of them; borrowed). Any failure fails the whole
 * call with "mapping 'NAME': FILE:LINE:COLUMN: ATTR: MESSAGE" in errbuf.
 * *out is new (mapset_free). */
int mapset_new(mapset **out, const mapset_entry *entries, size_t n,
	       char *errbuf, size_t errlen);

/* Compile path and make it the mapping named name (new, or replacing the
 * current version; users of the old one keep it until they release it).
 * On failure nothing changes and errbuf says why, as mapset_new. */
int mapset_put(mapset *ms, const char *name, const char *path, char *errbuf,
	       size_t errlen);

/* Forget the mapping named name (its users keep their reference). 0, or
 * -1 if there is no such name. */
int mapset_remove(mapset *ms, const char *name);

/* Recompile every file. Returns how many failed (those keep their
 * previous version). report(line, payload) is called once per entry with
 * a readable line saying what happened. */
int mapset_reload(mapset *ms,
		  void (*report)(int ok, const char *line, void *payload),
		  void *payload);

/* A counted reference to one loaded version of a mapping file. */
typedef struct mapset_ref mapset_ref;

/* The current version of the mapping named name, referenced: the caller
 * releases it with mapset_release, also after a reload has replaced it.
 * NULL if there is no such name. */
mapset_ref *mapset_acquire(mapset *ms, const char *name);
/* The mapping of a reference (borrowed; valid until released). */
const mapping *mapset_ref_mapping(const mapset_ref *r);
void mapset_release(mapset *ms, mapset_ref *r);

/* How many times the mapping named name has been (re)loaded successfully
 * (1 after mapset_new); 0 if unknown. For tests and logs. */
unsigned mapset_generation(mapset *ms, const char *name);

size_t mapset_count(mapset *ms);

/* Frees the set; every acquired mapping must have been released. */
void mapset_free(mapset *ms);

#endif
