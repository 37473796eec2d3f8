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
	int status; /* set before on_committed: 0 stored, <0 failed (STORE_DAMAGED:
		     * a stored value of the document fails its checksum) */
} store_job_t;

typedef struct store_opts {
	uint64_t map_size;     /* LMDB map size in bytes */
	uint64_t compact_after; /* log entries per document before compaction; 0 = never */
	/* Called on the writer thread, once per job, after the batch holding it
	 * committed durably (or failed: job->status < 0). */
	void (*on_committed)(void *ctx, store_job_t *job);
	void *ctx;
	/* For the offline tools (quire store): no writer thread, so no
	 * store_submit. read_only: LMDB opened read-only and the directory not
	 * locked (usable while a server runs); offline: writable through
	 * store_drop only, with the directory locked. */
	int read_only, offline;
} store_opts_t;

typedef struct store_stats {
	uint64_t commits, updates, bytes, compactions, failures;
	uint64_t damaged; /* reads that found a damaged value (record.h) */
} store_stats_t;

/* Opens (creating if needed) the environment in dir, and locks the directory
 * (DIR/quire.lock, flock) for this process unless opts->read_only: a second
 * writer fails here. On failure returns NULL and writes a message into
 * err. */
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

/* The offline tools (quire store). */
typedef struct store_doc_report {
	const char *name; /* not NUL-terminated */
	size_t name_len;
	uint64_t records, bytes; /* log records and their update bytes */
	uint64_t unsealed;	 /* records written before checksums (not checked) */
	const char *problem;	 /* NULL: sound */
} store_doc_report_t;

typedef struct store_check_totals {
	uint64_t docs, records, bytes, unsealed, damaged;
	uint64_t orphans; /* log records of no document */
} store_check_totals_t;

/* Reads every document in one read transaction: the checksum of each value,
 * and whether its log merges. on_doc is called once per document. Returns 0
 * (whatever damage was found: see t->damaged), or -1 when the store cannot
 * be read (message in err). */
int store_check(store_t *s, void (*on_doc)(void *ctx, const store_doc_report_t *r), void *ctx, store_check_totals_t *t,
		char *err, size_t errlen);

/* Deletes a document: its docs record and its log (only the docs record when
 * that is damaged: its id cannot be trusted). Needs opts.offline. *found: 0
 * no such document, 1 deleted, 2 only its damaged docs record deleted.
 * Returns 0 or -1 (message in err). */
int store_drop(store_t *s, const char *name, size_t len, int *found, uint64_t *records, char *err, size_t errlen);

/* Appends update upd (checked to be a Yjs v1 update) to the log of document
 * name, creating it if need be, in one transaction. Needs opts.offline.
 * Returns 0 or -1 (message in err). */
int store_put(store_t *s, const char *name, size_t len, const uint8_t *upd, size_t n, char *err, size_t errlen);

/* Stops accepting jobs, commits every queued job (calling on_committed for
 * each), joins the writer and closes the environment. *final (if given)
 * gets the statistics as they ended. */
void store_close(store_t *s, store_stats_t *final);

#endif
