/* writer_bench.c - durable single-row inserts through the group-commit
 * writer, and the cost of a membership add against the group's size.
 *
 *   writer_bench inserts PLUGIN.so DIR SUBMITTERS SECONDS [SYNCHRONOUS]
 *     SUBMITTERS threads each loop: submit one job inserting a small user
 *     row, wait for its done, repeat (as HTTP workers would). Prints
 *     jobs/s, commits and jobs per commit.
 *   writer_bench members PLUGIN.so DIR N
 *     Fills a group with N members, then times adding members to it and to
 *     an empty group (in one transaction each, so fsync is left out).
 *
 * Build from the top of the tree (after make builds the plugin):
 *   gcc -std=c11 -O2 -pthread -D_GNU_SOURCE -I. -Iinclude -Iengine \
 *     engine/plugin_load.c engine/writer.c contrib/bench/writer_bench.c \
 *     -ldl -o writer_bench
 *   ./writer_bench inserts plugins/store-sqlite/.libs/store_sqlite.so \
 *     /var/tmp 16 5
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif
#ifndef _GNU_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <scimsync/store.h>

#include "plugin_load.h"
#include "writer.h"

static const scimsync_store_plugin *P;
static scimsync_store *S;
static volatile int stop_flag;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int put_user(scimsync_store_conn *c, const char *id)
{
	char json[200];
	scimsync_resource r;
	scimsync_err err;

	memset(&r, 0, sizeof(r));
	snprintf(json, sizeof(json),
		 "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:"
		 "User\"],\"id\":\"%s\",\"userName\":\"%s@example.org\"}",
		 id, id);
	r.tenant = "bench";
	r.type = SCIMSYNC_RES_USER;
	r.id = id;
	r.json = json;
	r.json_len = strlen(json);
	r.version = 1;
	r.user_name_key = id;
	r.display = id;
	return P->put(c, &r, 1, &err);
}

struct bjob {
	writer_job job; /* first */
	char id[48];
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int finished, ok;
};

static int bjob_run(writer_job *job, const scimsync_store_plugin *p,
		    scimsync_store_conn *c)
{
	(void)p;
	return put_user(c, ((struct bjob *)job)->id);
}

static void bjob_done(writer_job *job, int run_rc, int committed)
{
	struct bjob *b = (struct bjob *)job;

	pthread_mutex_lock(&b->mu);
	b->finished = 1;
	b->ok = run_rc == 0 && committed;
	pthread_cond_signal(&b->cv);
	pthread_mutex_unlock(&b->mu);
}

struct submitter {
	pthread_t t;
	writer *w;
	int no;
	long done, failed;
};

static void *submitter_main(void *arg)
{
	struct submitter *sb = arg;
	struct bjob b;

	memset(&b, 0, sizeof(b));
	pthread_mutex_init(&b.mu, NULL);
	pthread_cond_init(&b.cv, NULL);
	b.job.run = bjob_run;
	b.job.done = bjob_done;
	while (!stop_flag) {
		snprintf(b.id, sizeof(b.id), "s%d-%ld", sb->no, sb->done);
		b.finished = 0;
		writer_submit(sb->w, &b.job);
		pthread_mutex_lock(&b.mu);
		while (!b.finished)
			pthread_cond_wait(&b.cv, &b.mu);
		pthread_mutex_unlock(&b.mu);
		if (b.ok)
			sb->done++;
		else
			sb->failed++;
	}
	pthread_cond_destroy(&b.cv);
	pthread_mutex_destroy(&b.mu);
	return NULL;
}

static int bench_inserts(int nsub, double seconds)
{
	struct submitter *sb = calloc((size_t)nsub, sizeof(*sb));
	uint64_t batches, jobs;
	char errbuf[256];
	long done = 0, failed = 0;
	writer *w;
	double t0, t1;
	int i;

	if (sb == NULL)
		die("out of memory");
	if (writer_start(&w, P, S, 0, errbuf, sizeof(errbuf)) != 0)
		die("%s", errbuf);
	t0 = now();
	for (i = 0; i < nsub; i++) {
		sb[i].w = w;
		sb[i].no = i;
		pthread_create(&sb[i].t, NULL, submitter_main, &sb[i]);
	}
	/* the measuring period (timing, not synchronisation) */
	while (now() - t0 < seconds) {
		struct timespec ts = {0, 10 * 1000 * 1000};

		nanosleep(&ts, NULL);
	}
	stop_flag = 1;
	for (i = 0; i < nsub; i++) {
		pthread_join(sb[i].t, NULL);
		done += sb[i].done;
		failed += sb[i].failed;
	}
	t1 = now();
	writer_stats(w, &batches, &jobs);
	writer_stop(w);
	printf("submitters %d: %ld jobs in %.2f s = %.0f jobs/s, %llu "
	       "commits (%.0f/s), %.1f jobs/commit, %ld failed\n",
	       nsub, done, t1 - t0, (double)done / (t1 - t0),
	       (unsigned long long)batches, (double)batches / (t1 - t0),
	       batches ? (double)jobs / (double)batches : 0.0, failed);
	free(sb);
	return failed != 0;
}

static void check(int rc, const char *what)
{
	if (rc != 0)
		die("%s failed (%d)", what, rc);
}

/* Seconds per add of `adds` members to group gid. */
static double time_adds(scimsync_store_conn *c, const char *gid,
			const char *prefix, int adds)
{
	scimsync_err err;
	char id[48];
	double t0;
	int i;

	check(P->begin(c, &err), "begin");
	for (i = 0; i < adds; i++) {
		snprintf(id, sizeof(id), "%s%d", prefix, i);
		check(put_user(c, id), "put");
	}
	t0 = now();
	for (i = 0; i < adds; i++) {
		snprintf(id, sizeof(id), "%s%d", prefix, i);
		check(P->member_add(c, "bench", gid, id, &err), "member_add");
	}
	t0 = now() - t0;
	check(P->commit(c, &err), "commit");
	return t0 / adds;
}

static int bench_members(int n)
{
	scimsync_store_conn *c;
	scimsync_resource g;
	scimsync_err err;
	double big, empty;
	const char *gids[] = {"big", "empty"};
	int i;

	check(P->conn_open(&c, S, 1, &err), "conn_open");
	check(P->begin(c, &err), "begin");
	for (i = 0; i < 2; i++) {
		memset(&g, 0, sizeof(g));
		g.tenant = "bench";
		g.type = SCIMSYNC_RES_GROUP;
		g.id = gids[i];
		g.json = "{}";
		g.json_len = 2;
		g.version = 1;
		g.display = gids[i];
		check(P->put(c, &g, 1, &err), "put group");
	}
	check(P->commit(c, &err), "commit");
	time_adds(c, "big", "fill", n);
	big = time_adds(c, "big", "b", 2000);
	empty = time_adds(c, "empty", "e", 2000);
	printf("member_add: %.1f us/add into a %d-member group, %.1f us/add "
	       "into an empty one\n",
	       big * 1e6, n, empty * 1e6);
	P->conn_close(c);
	return 0;
}

int main(int argc, char **argv)
{
	scimsync_option opts[3] = {{"path", NULL}, {NULL, NULL}, {NULL, NULL}};
	char errbuf[512], dir[256], db[300];
	scimsync_err err;
	void *handle;
	int rc;

	if (argc < 5 || (strcmp(argv[1], "members") != 0 &&
			 (strcmp(argv[1], "inserts") != 0 || argc < 6)))
		die("usage: %s inserts PLUGIN.so DIR SUBMITTERS SECONDS "
		    "[SYNCHRONOUS]\n       %s members PLUGIN.so DIR N",
		    argv[0], argv[0]);
	if (plugin_load_store(&P, &handle, argv[2], NULL, errbuf,
			      sizeof(errbuf)) != 0)
		die("%s", errbuf);
	snprintf(dir, sizeof(dir), "%s/writer_bench.XXXXXX", argv[3]);
	if (mkdtemp(dir) == NULL)
		die("mkdtemp %s failed", dir);
	snprintf(db, sizeof(db), "%s/bench.db", dir);
	opts[0].value = db;
	if (argc > 6) {
		opts[1].key = "synchronous";
		opts[1].value = argv[6];
	}
	if (P->open(&S, NULL, opts, &err) != 0)
		die("open: %s", err.message);
	if (strcmp(argv[1], "inserts") == 0)
		rc = bench_inserts(atoi(argv[4]), atof(argv[5]));
	else
		rc = bench_members(atoi(argv[4]));
	P->close(S);
	plugin_unload(handle);
	snprintf(errbuf, sizeof(errbuf), "%s-wal", db);
	unlink(errbuf);
	snprintf(errbuf, sizeof(errbuf), "%s-shm", db);
	unlink(errbuf);
	unlink(db);
	rmdir(dir);
	return rc;
}
