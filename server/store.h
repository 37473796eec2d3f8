/* store: the only module that touches LMDB.
 *
 * One LMDB environment in the data directory holds, per document, an
 * append-only log of Yjs updates keyed (doc id, sequence) and a metadata
 * record. Writes go through a single writer thread that commits many updates
 * per transaction (group commit, one fsync per batch) and only then hands the
 * jobs back through the on_committed callback. Reads (store_load) may run on
 * any thread and never block on the writer.
 *
 * Compaction: when a document's log holds more than compact_after entries
 * the writer merges the whole log into one snapshot update and replaces the
 * entries in the same transaction that appended the last one.
 *
 * Every value carries a checksum (record.h), checked whenever it is read: a
 * damaged document is refused (STORE_DAMAGED) and never compacted.
 */
#ifndef QUIRE_STORE_H
#define QUIRE_STORE_H

#include <stddef.h>
#include <stdint.h>

typedef struct store store_t;

typedef struct store_job {
	struct store_job *next; /* owned by the store while queued */
	const char *doc;	/* document name; must stay valid until committed */
	size_t doc_len;
	uint8_t *data; /* the update; owned by the caller */
	size_t len;
	int status; /* set before on_committed: 0 stored, <0 failed */
} store_job_t;

typedef struct store_opts {
	uint64_t map_size;     /* LMDB map size in bytes */
	uint64_t compact_after; /* log entries per document before compaction; 0 = never */
	/* Called on the writer thread, once per job, after the batch holding it
	 * committed durably (or failed: job->status < 0). */
	void (*on_committed)(void *ctx, store_job_t *job);
	void *ctx;
} store_opts_t;

typedef struct store_stats {
	uint64_t commits, updates, bytes, compactions, failures;
	uint64_t damaged; /* reads that found a damaged value (record.h) */
} store_stats_t;

/* Opens (creating if needed) the environment in dir. On failure returns NULL
 * and writes a message into err. */
store_t *store_open(const char *dir, const store_opts_t *opts, char *err, size_t errlen);

/* Queues a job for the writer thread. Returns 0, or -1 once store_close began
 * (the job is then not queued and on_committed is not called). */
int store_submit(store_t *s, store_job_t *job);

/* Loads a document: the merged update of its whole log. *found = 0 and an
 * empty update (00 00) when the document was never written. Returns 0, or
 * STORE_DAMAGED when a stored value of the document fails its checksum
 * (record.h: nothing of it is returned), or -1 on another error; the message
 * is in err. The caller free()s *out. */
#define STORE_DAMAGED (-2)
int store_load(store_t *s, const char *doc, size_t doc_len, uint8_t **out, size_t *out_len,
	       int *found, char *err, size_t errlen);

void store_get_stats(store_t *s, store_stats_t *out);

/* 1 once LMDB reported a fatal error (a failed write of its meta page, the
 * commit point): from then on every transaction fails with MDB_PANIC until the
 * process restarts, and a restart recovers the last committed state. */
int store_fatal(store_t *s);

/* Stops accepting jobs, commits every queued job (calling on_committed for
 * each), joins the writer and closes the environment. *final (if given)
 * gets the statistics as they ended. */
void store_close(store_t *s, store_stats_t *final);

#endif
