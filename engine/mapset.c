/* mapset.c - the daemon's named mapping files, reloadable on SIGHUP. */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mapset.h"

/* One loaded version of a file, counted: the set holds one reference to
 * the current version, each user one more. */
typedef struct mapset_ref mapref;
struct mapset_ref {
	mapping *m;
	unsigned refs;
};

typedef struct mapslot {
	char *name;
	char *path;
	mapref *cur;
	unsigned generation;
} mapslot;

struct mapset {
	pthread_mutex_t mu;
	mapslot *slots;
	size_t n;
};

static void ref_put_locked(mapref *r)
{
	if (r && --r->refs == 0) {
		mapping_free(r->m);
		free(r);
	}
}

static mapref *ref_new(mapping *m)
{
	mapref *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->m = m;
	r->refs = 1;
	return r;
}

int mapset_new(mapset **out, const mapset_entry *entries, size_t n,
	       char *errbuf, size_t errlen)
{
	mapset *ms = calloc(1, sizeof(*ms));

	*out = NULL;
	if (ms == NULL ||
	    (n && (ms->slots = calloc(n, sizeof(mapslot))) == NULL)) {
		free(ms);
		snprintf(errbuf, errlen, "out of memory");
		return -1;
	}
	pthread_mutex_init(&ms->mu, NULL);
	for (size_t i = 0; i < n; i++) {
		mapslot *sl = &ms->slots[i];
		mapping_error merr;
		mapping *m;
		char msg[700];

		sl->name = strdup(entries[i].name);
		sl->path = strdup(entries[i].path);
		ms->n++;
		if (mapping_load(&m, sl->path, &merr) < 0) {
			snprintf(errbuf, errlen, "mapping '%s': %s", sl->name,
				 mapping_error_format(msg, sizeof(msg), &merr));
			mapset_free(ms);
			return -1;
		}
		sl->cur = ref_new(m);
		if (sl->cur == NULL) {
			mapping_free(m);
			snprintf(errbuf, errlen, "out of memory");
			mapset_free(ms);
			return -1;
		}
		sl->generation = 1;
	}
	*out = ms;
	return 0;
}

int mapset_reload(mapset *ms,
		  void (*report)(int ok, const char *line, void *payload),
		  void *payload)
{
	int failed = 0;

	for (size_t i = 0; i < ms->n; i++) {
		mapslot *sl = &ms->slots[i];
		mapping_error merr;
		mapping *m;
		mapref *r = NULL, *old;
		char line[900], msg[700];

		/* Compile outside the lock: requests keep the old version
		 * meanwhile. */
		if (mapping_load(&m, sl->path, &merr) < 0 ||
		    (r = ref_new(m)) == NULL) {
			if (r == NULL && merr.message[0] == '\0')
				snprintf(merr.message, sizeof(merr.message),
					 "out of memory");
			snprintf(line, sizeof(line),
				 "mapping '%s': reload failed, the previous "
				 "version stays active: %s",
				 sl->name,
				 mapping_error_format(msg, sizeof(msg), &merr));
			failed++;
			if (report)
				report(0, line, payload);
			continue;
		}
		pthread_mutex_lock(&ms->mu);
		old = sl->cur;
		sl->cur = r;
		sl->generation++;
		ref_put_locked(old);
		pthread_mutex_unlock(&ms->mu);
		snprintf(line, sizeof(line),
			 "mapping '%s' (%s) reloaded: %zu user and %zu group "
			 "attributes%s",
			 sl->name, sl->path,
			 mapping_attr_count(m, MAPPING_USER),
			 mapping_attr_count(m, MAPPING_GROUP),
			 mapping_has_roles(m) ? ", roles" : "");
		if (report)
			report(1, line, payload);
	}
	return failed;
}

static mapslot *find(mapset *ms, const char *name)
{
	for (size_t i = 0; i < ms->n; i++)
		if (strcmp(ms->slots[i].name, name) == 0)
			return &ms->slots[i];
	return NULL;
}

mapset_ref *mapset_acquire(mapset *ms, const char *name)
{
	mapslot *sl = find(ms, name);
	mapref *r;

	if (sl == NULL)
		return NULL;
	pthread_mutex_lock(&ms->mu);
	r = sl->cur;
	r->refs++;
	pthread_mutex_unlock(&ms->mu);
	return r;
}

const mapping *mapset_ref_mapping(const mapset_ref *r)
{
	return r->m;
}

void mapset_release(mapset *ms, mapset_ref *r)
{
	if (r == NULL)
		return;
	pthread_mutex_lock(&ms->mu);
	ref_put_locked(r);
	pthread_mutex_unlock(&ms->mu);
}

unsigned mapset_generation(mapset *ms, const char *name)
{
	mapslot *sl = find(ms, name);
	unsigned g;

	if (sl == NULL)
		return 0;
	pthread_mutex_lock(&ms->mu);
	g = sl->generation;
	pthread_mutex_unlock(&ms->mu);
	return g;
}

size_t mapset_count(const mapset *ms)
{
	return ms->n;
}

void mapset_free(mapset *ms)
{
	if (ms == NULL)
		return;
	for (size_t i = 0; i < ms->n; i++) {
		ref_put_locked(ms->slots[i].cur);
		free(ms->slots[i].name);
		free(ms->slots[i].path);
	}
	free(ms->slots);
	pthread_mutex_destroy(&ms->mu);
	free(ms);
}
