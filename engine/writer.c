/* writer.c - the group-commit writer (see writer.h and DESIGN.md,
 * "Concurrency and durability").
 *
 * The queue is a singly linked list of caller-owned jobs under one mutex;
 * the writer thread sleeps on a condition variable while it is empty. A
 * batch is detached from the queue under the mutex and run without it, so
 * submitters never wait for a transaction.
 *
 * Failure policy: a job that returns nonzero is rolled back to its
 * savepoint alone. If the store fails at the transaction level (begin,
 * savepoint, release, rollback_to or commit) the batch's state is no longer
 * known, so the whole transaction is rolled back and every job in the batch
 * gets done(committed=0).
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif
#ifndef _GNU_SOURCE
#define _POSIX_C_SOURCE 200809L /* strdup, mkdtemp, ... under -std=c11 */
#endif

#include "writer.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WRITER_DEFAULT_BATCH 256

struct writer {
	const scimsync_store_plugin *p;
	scimsync_store_conn *c;
	pthread_t thread;
	int max_batch;

	pthread_mutex_t mu; /* guards everything below */
	pthread_cond_t cv;  /* signalled on submit and stop */
	writer_job *head, *tail;
	int stopping;
	uint64_t batches, jobs;
	char last_error[300];
	void (*on_commit)(void *arg); /* under mu */
	void *on_commit_arg;
};

void writer_on_commit(writer *w, void (*fn)(void *arg), void *arg)
{
	pthread_mutex_lock(&w->mu);
	w->on_commit = fn;
	w->on_commit_arg = arg;
	pthread_mutex_unlock(&w->mu);
}

static void note_error(writer *w, const char *what, const scimsync_err *err)
{
	pthread_mutex_lock(&w->mu);
	snprintf(w->last_error, sizeof(w->last_error), "%s: %s", what,
		 err->message);
	pthread_mutex_unlock(&w->mu);
}

/* Savepoint, run, release or rollback_to. Returns 0, or the store's code
 * when the transaction is broken (and the batch must be rolled back). */
static int run_job(writer *w, writer_job *j)
{
	const scimsync_store_plugin *p = w->p;
	scimsync_err err = {0, ""};
	int rc;

	if ((rc = p->savepoint(w->c, &err)) != SCIMSYNC_OK) {
		j->run_rc = rc;
		note_error(w, "savepoint", &err);
		return rc;
	}
	j->run_rc = j->run(j, p, w->c);
	if (j->run_rc == 0) {
		if ((rc = p->release(w->c, &err)) != SCIMSYNC_OK) {
			note_error(w, "release", &err);
			return rc;
		}
	} else if ((rc = p->rollback_to(w->c, &err)) != SCIMSYNC_OK) {
		note_error(w, "rollback to savepoint", &err);
		return rc;
	}
	return SCIMSYNC_OK;
}

/* Run a detached batch of n jobs in one transaction, count it, then call
 * every done. */
static void run_batch(writer *w, writer_job *batch, uint64_t n)
{
	const scimsync_store_plugin *p = w->p;
	scimsync_err err = {0, ""};
	writer_job *j, *next;
	int rc, committed = 0;
	void (*on_commit)(void *arg);
	void *on_commit_arg;

	rc = p->begin(w->c, &err);
	if (rc != SCIMSYNC_OK)
		note_error(w, "begin", &err);
	for (j = batch; j != NULL; j = j->next) {
		if (rc != SCIMSYNC_OK)
			j->run_rc = rc; /* never ran */
		else
			rc = run_job(w, j);
	}
	if (rc == SCIMSYNC_OK) {
		if ((rc = p->commit(w->c, &err)) == SCIMSYNC_OK)
			committed = 1;
		else
			note_error(w, "commit", &err);
	}
	if (!committed && p->rollback(w->c, &err) != SCIMSYNC_OK)
		note_error(w, "rollback", &err);

	pthread_mutex_lock(&w->mu);
	w->batches++;
	w->jobs += n;
	on_commit = w->on_commit;
	on_commit_arg = w->on_commit_arg;
	pthread_mutex_unlock(&w->mu);
	if (committed && on_commit)
		on_commit(on_commit_arg);

	/* done may free the job: read next first. */
	for (j = batch; j != NULL; j = next) {
		next = j->next;
		j->next = NULL;
		j->done(j, j->run_rc, committed);
	}
}

static void *writer_main(void *arg)
{
	writer *w = arg;
	writer_job *batch, *last;
	uint64_t n;

	pthread_setname_np(pthread_self(), "scim-writer");
	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (w->head == NULL && !w->stopping)
			pthread_cond_wait(&w->cv, &w->mu);
		if (w->head == NULL)
			break; /* stopping, and the queue is drained */
		batch = last = w->head;
		for (n = 1; n < (uint64_t)w->max_batch && last->next != NULL;
		     n++)
			last = last->next;
		w->head = last->next;
		if (w->head == NULL)
			w->tail = NULL;
		last->next = NULL;
		pthread_mutex_unlock(&w->mu);
		run_batch(w, batch, n);
		pthread_mutex_lock(&w->mu);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

int writer_start(writer **out, const scimsync_store_plugin *p,
		 scimsync_store *s, int max_batch, char *errbuf, size_t errlen)
{
	scimsync_err err = {0, ""};
	writer *w;
	int rc;

	*out = NULL;
	if ((w = calloc(1, sizeof(*w))) == NULL) {
		snprintf(errbuf, errlen, "writer: out of memory");
		return SCIMSYNC_EFAIL;
	}
	w->p = p;
	w->max_batch = max_batch > 0 ? max_batch : WRITER_DEFAULT_BATCH;
	if ((rc = p->conn_open(&w->c, s, 1, &err)) != SCIMSYNC_OK) {
		snprintf(errbuf, errlen, "writer: open connection: %s",
			 err.message);
		free(w);
		return rc != 0 ? rc : SCIMSYNC_EFAIL;
	}
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	if ((rc = pthread_create(&w->thread, NULL, writer_main, w)) != 0) {
		snprintf(errbuf, errlen, "writer: cannot start thread: %s",
			 strerror(rc));
		p->conn_close(w->c);
		pthread_cond_destroy(&w->cv);
		pthread_mutex_destroy(&w->mu);
		free(w);
		return SCIMSYNC_EFAIL;
	}
	*out = w;
	return SCIMSYNC_OK;
}

void writer_submit(writer *w, writer_job *job)
{
	job->next = NULL;
	job->run_rc = 0;
	pthread_mutex_lock(&w->mu);
	if (w->tail != NULL)
		w->tail->next = job;
	else
		w->head = job;
	w->tail = job;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

void writer_stop(writer *w)
{
	if (w == NULL)
		return;
	pthread_mutex_lock(&w->mu);
	w->stopping = 1;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
	w->p->conn_close(w->c);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w);
}

void writer_stats(writer *w, uint64_t *batches, uint64_t *jobs)
{
	pthread_mutex_lock(&w->mu);
	if (batches != NULL)
		*batches = w->batches;
	if (jobs != NULL)
		*jobs = w->jobs;
	pthread_mutex_unlock(&w->mu);
}

void writer_last_error(writer *w, char *buf, size_t len)
{
	if (len == 0)
		return;
	pthread_mutex_lock(&w->mu);
	snprintf(buf, len, "%s", w->last_error);
	pthread_mutex_unlock(&w->mu);
}

typedef struct sync_job {
	writer_job job; /* first */
	writer_sync_fn fn;
	void *arg;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int finished, committed, rc;
} sync_job;

static int sync_job_run(writer_job *job, const scimsync_store_plugin *p,
			scimsync_store_conn *c)
{
	sync_job *j = (sync_job *)job;

	j->rc = j->fn(j->arg, p, c);
	return j->rc;
}

static void sync_job_done(writer_job *job, int run_rc, int committed)
{
	sync_job *j = (sync_job *)job;

	(void)run_rc;
	pthread_mutex_lock(&j->mu);
	j->committed = committed;
	j->finished = 1;
	pthread_cond_signal(&j->cv);
	pthread_mutex_unlock(&j->mu);
}

int writer_run_sync(writer *w, writer_sync_fn fn, void *arg)
{
	sync_job j = {.fn = fn, .arg = arg};

	j.job.run = sync_job_run;
	j.job.done = sync_job_done;
	pthread_mutex_init(&j.mu, NULL);
	pthread_cond_init(&j.cv, NULL);
	writer_submit(w, &j.job);
	pthread_mutex_lock(&j.mu);
	while (!j.finished)
		pthread_cond_wait(&j.cv, &j.mu);
	pthread_mutex_unlock(&j.mu);
	pthread_mutex_destroy(&j.mu);
	pthread_cond_destroy(&j.cv);
	if (j.rc == 0 && !j.committed)
		return SCIMSYNC_ERETRY;
	return j.rc;
}
