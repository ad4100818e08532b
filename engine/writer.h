/* writer.h - the group-commit writer.
 *
 * One thread owns the store's writer connection. Requests hand it a job and
 * go on (the HTTP request is paused, not the worker thread). When woken the
 * writer takes every queued job (up to max_batch), and runs them in one
 * transaction:
 *
 *   begin; for each job: savepoint, run, release (or rollback_to); commit
 *
 * and then calls each job's done. Alone, a request pays one commit; under
 * load one commit (one fsync) covers every request that queued meanwhile.
 * A job that fails is rolled back to its savepoint alone; the others in the
 * batch still commit.
 *
 * Threads: writer_submit is safe from any thread. run and done are called
 * on the writer thread only, in submission order.
 */
#ifndef SCIMSYNC_WRITER_H
#define SCIMSYNC_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include <scimsync/store.h>

typedef struct writer writer;
typedef struct writer_job writer_job;

/* A unit of write work, owned by the submitter. Embed it in the request's
 * own state (container_of style); it must stay valid until done is called,
 * and may be freed from inside done. */
struct writer_job {
	/* Runs on the writer thread inside the batch transaction, between a
	 * savepoint and its release. Return 0 to keep the work, nonzero to
	 * roll back to the savepoint (the job's own failure; other jobs are
	 * unaffected). p and c are borrowed for the call. */
	int (*run)(writer_job *job, const scimsync_store_plugin *p,
		   scimsync_store_conn *c);
	/* Called on the writer thread exactly once per job, after the batch
	 * committed (committed=1) or failed to commit (committed=0: the
	 * whole batch rolled back; every job in it gets this). run_rc is
	 * what run returned; for a job that could not run (the transaction
	 * failed before its turn, or its savepoint failed) it is the store's
	 * error code (typically SCIMSYNC_ERETRY or SCIMSYNC_EFAIL). Must be
	 * cheap and must not block: typically it schedules the request's
	 * resumption on its own event loop (event_active). */
	void (*done)(writer_job *job, int run_rc, int committed);
	writer_job *next; /* private */
	int run_rc;	  /* private */
};

/* Open the writer connection on s (borrowed, with p, until writer_stop)
 * and start the writer thread. max_batch bounds the jobs per transaction
 * (<= 0: 256). Returns 0 and *out, or a negative code with the reason in
 * errbuf (errlen bytes). */
int writer_start(writer **out, const scimsync_store_plugin *p,
		 scimsync_store *s, int max_batch, char *errbuf, size_t errlen);

/* Call fn(arg) on the writer thread after every batch that committed,
 * before the batch's done callbacks (to wake outbox readers). NULL turns
 * it off. fn must be cheap and must not block. */
void writer_on_commit(writer *w, void (*fn)(void *arg), void *arg);

/* Queue job (borrowed until its done). Thread-safe; holds a mutex for a
 * few instructions and never waits for the writer. Not after writer_stop
 * has begun. */
void writer_submit(writer *w, writer_job *job);

/* Run fn(arg, p, c) on the writer inside its own savepoint and wait until
 * its batch is durable. Returns what fn returned (non-zero: its work was
 * rolled back), or SCIMSYNC_ERETRY if the batch did not commit. Blocks
 * the caller: not from the writer thread nor from a libevhtp worker. */
typedef int (*writer_sync_fn)(void *arg, const scimsync_store_plugin *p,
			      scimsync_store_conn *c);
int writer_run_sync(writer *w, writer_sync_fn fn, void *arg);

/* Run and commit every job queued so far, stop the thread, close the
 * connection and free w. NULL is a no-op. */
void writer_stop(writer *w);

/* Transactions attempted and jobs finished (done called) so far. */
void writer_stats(writer *w, uint64_t *batches, uint64_t *jobs);

/* Copy the last begin/commit/rollback failure ("" if none) to buf. For
 * logs: the writer itself never prints. */
void writer_last_error(writer *w, char *buf, size_t len);

#endif
