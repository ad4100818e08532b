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

static void ref_put_locked(mapref *r);

typedef struct mapslot {
	char *name;
	char *path;
	mapref *cur;
	unsigned generation;
} mapslot;

/* mu guards the slot array and each slot's current version (readers and
 * writers); wmu serialises the writers (put, remove, reload), so a reload
 * may walk the array without mu while it compiles. Slots are pointers so
 * they do not move when the array grows. */
struct mapset {
	pthread_mutex_t mu, wmu;
	mapslot **slots;
	size_t n, cap;
};

static void slot_free(mapslot *sl)
{
	if (sl == NULL)
		return;
	ref_put_locked(sl->cur);
	free(sl->name);
	free(sl->path);
	free(sl);
}

static mapslot *find(mapset *ms, const char *name)
{
	for (size_t i = 0; i < ms->n; i++)
		if (strcmp(ms->slots[i]->name, name) == 0)
			return ms->slots[i];
	return NULL;
}

static void ref_put_locked(mapref *r)
{
	/* (the set's mutex held, or the set private to the caller) */
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

/* Compile path into a new counted version, or -1 with errbuf. */
static int compile(mapref **out, const char *name, const char *path,
		   char *errbuf, size_t errlen)
{
	mapping_error merr;
	mapping *m;
	char msg[700];

	*out = NULL;
	if (mapping_load(&m, path, &merr) < 0) {
		snprintf(errbuf, errlen, "mapping '%s': %s", name,
			 mapping_error_format(msg, sizeof(msg), &merr));
		return -1;
	}
	if ((*out = ref_new(m)) == NULL) {
		mapping_free(m);
		snprintf(errbuf, errlen, "out of memory");
		return -1;
	}
	return 0;
}

int mapset_new(mapset **out, const mapset_entry *entries, size_t n,
	       char *errbuf, size_t errlen)
{
	mapset *ms = calloc(1, sizeof(*ms));

	*out = NULL;
	if (ms == NULL) {
		snprintf(errbuf, errlen, "out of memory");
		return -1;
	}
	pthread_mutex_init(&ms->mu, NULL);
	pthread_mutex_init(&ms->wmu, NULL);
	for (size_t i = 0; i < n; i++)
		if (mapset_put(ms, entries[i].name, entries[i].path, errbuf,
			       errlen) < 0) {
			mapset_free(ms);
			return -1;
		}
	*out = ms;
	return 0;
}

int mapset_put(mapset *ms, const char *name, const char *path, char *errbuf,
	       size_t errlen)
{
	mapslot *sl, *fresh = NULL;
	mapref *r;
	int rc = -1;

	pthread_mutex_lock(&ms->wmu);
	if (compile(&r, name, path, errbuf, errlen) < 0)
		goto out;
	pthread_mutex_lock(&ms->mu);
	sl = find(ms, name);
	if (sl == NULL) {
		if (ms->n == ms->cap) {
			size_t cap = ms->cap ? ms->cap * 2 : 8;
			mapslot **v = realloc(ms->slots, cap * sizeof(*v));

			if (v == NULL)
				goto oom;
			ms->slots = v;
			ms->cap = cap;
		}
		fresh = calloc(1, sizeof(*fresh));
		if (fresh == NULL || (fresh->name = strdup(name)) == NULL ||
		    (fresh->path = strdup(path)) == NULL)
			goto oom;
		fresh->cur = r;
		fresh->generation = 1;
		ms->slots[ms->n++] = fresh;
	} else {
		char *p = strdup(path);

		if (p == NULL)
			goto oom;
		free(sl->path);
		sl->path = p;
		ref_put_locked(sl->cur);
		sl->cur = r;
		sl->generation++;
	}
	pthread_mutex_unlock(&ms->mu);
	rc = 0;
	goto out;
oom:
	/* fresh never holds r here (it is set last), so r is ours to drop. */
	slot_free(fresh);
	ref_put_locked(r);
	pthread_mutex_unlock(&ms->mu);
	snprintf(errbuf, errlen, "out of memory");
out:
	pthread_mutex_unlock(&ms->wmu);
	return rc;
}

int mapset_remove(mapset *ms, const char *name)
{
	int rc = -1;

	pthread_mutex_lock(&ms->wmu);
	pthread_mutex_lock(&ms->mu);
	for (size_t i = 0; i < ms->n; i++)
		if (strcmp(ms->slots[i]->name, name) == 0) {
			slot_free(ms->slots[i]);
			ms->slots[i] = ms->slots[--ms->n];
			rc = 0;
			break;
		}
	pthread_mutex_unlock(&ms->mu);
	pthread_mutex_unlock(&ms->wmu);
	return rc;
}

int mapset_reload(mapset *ms,
		  void (*report)(int ok, const char *line, void *payload),
		  void *payload)
{
	int failed = 0;

	pthread_mutex_lock(&ms->wmu);
	for (size_t i = 0; i < ms->n; i++) {
		mapslot *sl = ms->slots[i];
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
	pthread_mutex_unlock(&ms->wmu);
	return failed;
}

mapset_ref *mapset_acquire(mapset *ms, const char *name)
{
	mapslot *sl;
	mapref *r = NULL;

	pthread_mutex_lock(&ms->mu);
	sl = find(ms, name);
	if (sl) {
		r = sl->cur;
		r->refs++;
	}
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
	mapslot *sl;
	unsigned g = 0;

	pthread_mutex_lock(&ms->mu);
	sl = find(ms, name);
	if (sl)
		g = sl->generation;
	pthread_mutex_unlock(&ms->mu);
	return g;
}

size_t mapset_count(mapset *ms)
{
	size_t n;

	pthread_mutex_lock(&ms->mu);
	n = ms->n;
	pthread_mutex_unlock(&ms->mu);
	return n;
}

void mapset_free(mapset *ms)
{
	if (ms == NULL)
		return;
	for (size_t i = 0; i < ms->n; i++)
		slot_free(ms->slots[i]);
	free(ms->slots);
	pthread_mutex_destroy(&ms->mu);
	pthread_mutex_destroy(&ms->wmu);
	free(ms);
}
