/* LMDB storage with a group-committing writer thread. See store.h. */
#include "store.h"

#include "hash.h"
#include "log.h"
#include "record.h"
#include "quire/doc.h"
#include "quire/update.h"

#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BATCH_MAX_JOBS 1024
#define BATCH_MAX_BYTES (8u << 20)

/* A damaged value (record.h): its checksum differs or its form is wrong.
 * Outside LMDB's error codes (-30799..-30780) and errno's (positive). */
#define E_DAMAGED (-1000)

/* Writer-thread cache of a document's log position. */
typedef struct doc_info {
	struct doc_info *next;
	uint64_t id, next_seq, entries;
	uint64_t sealed_from; /* first sealed sequence (record.h) */
	size_t name_len;
	char name[];
} doc_info_t;

struct store {
	MDB_env *env;
	int lock_fd; /* DATA_DIR/quire.lock, held (flock) while open; -1 read-only */
	MDB_dbi dbi_docs, dbi_log, dbi_meta;
	store_opts_t opts;

	pthread_t writer;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	store_job_t *head, *tail;
	int stopping;

	/* writer-thread only */
	doc_info_t *docs[1024];
	uint64_t next_doc_id;

	pthread_mutex_t stats_mu;
	store_stats_t stats;
	int fatal; /* under stats_mu: LMDB reported a fatal error (store_fatal) */
};

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static size_t hash_name(const char *s, size_t n) { return (size_t)(hash_fnv1a(s, n, 0) % 1024); }

/* Looks a document up by name: d->id = 0 when it was never written;
 * E_DAMAGED when its docs value is damaged. */
static int lookup_doc(MDB_txn *txn, MDB_dbi dbi, const char *name, size_t len, record_doc_t *d)
{
	MDB_val k = {len, (void *)name}, v;
	int rc = mdb_get(txn, dbi, &k, &v);
	if (rc == MDB_NOTFOUND) {
		memset(d, 0, sizeof *d);
		return 0;
	}
	if (rc)
		return rc;
	return record_doc_decode(v.mv_data, v.mv_size, name, len, d) ? E_DAMAGED : 0;
}

static int put_doc(MDB_txn *txn, MDB_dbi dbi, const char *name, size_t len, const record_doc_t *d)
{
	uint8_t val[RECORD_DOC_LEN];
	record_doc_encode(val, d, name, len);
	MDB_val k = {len, (void *)name}, v = {sizeof val, val};
	return mdb_put(txn, dbi, &k, &v, 0);
}

/* Finds (or creates, inside the write txn) the writer's record of a doc. */
static int writer_doc(store_t *s, MDB_txn *txn, const char *name, size_t len, doc_info_t **out)
{
	size_t b = hash_name(name, len);
	for (doc_info_t *d = s->docs[b]; d; d = d->next)
		if (d->name_len == len && memcmp(d->name, name, len) == 0) {
			*out = d;
			return 0;
		}
	record_doc_t rec;
	int rc = lookup_doc(txn, s->dbi_docs, name, len, &rec);
	if (rc)
		return rc;
	uint64_t id = rec.id;
	doc_info_t *d = calloc(1, sizeof *d + len);
	if (!d)
		return ENOMEM;
	memcpy(d->name, name, len);
	d->name_len = len;
	if (id == 0) {
		id = s->next_doc_id++;
		uint8_t idb[8];
		rec = (record_doc_t){.id = id, .created_ms = now_ms(), .sealed_from = 1};
		if ((rc = put_doc(txn, s->dbi_docs, name, len, &rec)))
			goto fail;
		record_put_be64(idb, s->next_doc_id);
		MDB_val mk = {11, "next_doc_id"}, mv = {8, idb};
		if ((rc = mdb_put(txn, s->dbi_meta, &mk, &mv, 0)))
			goto fail;
		d->next_seq = 1;
	} else {
		/* count the log and find its end (compaction keeps it short) */
		MDB_cursor *c;
		if ((rc = mdb_cursor_open(txn, s->dbi_log, &c)))
			goto fail;
		uint8_t kb[16];
		record_put_be64(kb, id);
		record_put_be64(kb + 8, 0);
		MDB_val k = {16, kb}, v;
		d->next_seq = 1;
		for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0;
		     rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
			if (k.mv_size != 16 || record_get_be64(k.mv_data) != id)
				break;
			d->next_seq = record_get_be64((uint8_t *)k.mv_data + 8) + 1;
			d->entries++;
		}
		mdb_cursor_close(c);
		if (rc && rc != MDB_NOTFOUND)
			goto fail;
		rc = 0;
		if (rec.sealed_from == RECORD_NOT_SEALED) {
			/* written before checksums: seal from this append on */
			rec.sealed_from = d->next_seq;
			if ((rc = put_doc(txn, s->dbi_docs, name, len, &rec)))
				goto fail;
		}
	}
	d->id = id;
	d->sealed_from = rec.sealed_from;
	d->next = s->docs[b];
	s->docs[b] = d;
	*out = d;
	return 0;
fail:
	free(d);
	return rc;
}

/* A document's log as read by collect_log: its updates as (pointer, length)
 * arrays valid within the transaction. */
typedef struct log_view {
	const uint8_t **ptrs;
	size_t *lens, n;
	uint64_t last_seq; /* of the last record */
	uint64_t bad_seq;  /* E_DAMAGED: the record that fails its checksum */
	uint64_t unsealed; /* records before sealed_from (not checked) */
} log_view_t;

static void log_view_free(log_view_t *lv)
{
	free(lv->ptrs);
	free(lv->lens);
	lv->ptrs = NULL;
	lv->lens = NULL;
}

/* Collects the log of doc id, checking the checksum of every value from
 * sequence sealed_from on: E_DAMAGED (lv->bad_seq set) when one fails. On
 * success the caller frees lv with log_view_free. */
static int collect_log(MDB_txn *txn, MDB_dbi dbi, uint64_t id, uint64_t sealed_from, log_view_t *lv)
{
	memset(lv, 0, sizeof *lv);
	MDB_cursor *c;
	int rc = mdb_cursor_open(txn, dbi, &c);
	if (rc)
		return rc;
	size_t cap = 0;
	uint8_t kb[16];
	record_put_be64(kb, id);
	record_put_be64(kb + 8, 0);
	MDB_val k = {16, kb}, v;
	for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		if (k.mv_size != 16 || record_get_be64(k.mv_data) != id)
			break;
		if (lv->n == cap) {
			cap = cap ? cap * 2 : 16;
			const uint8_t **np = realloc(lv->ptrs, cap * sizeof *np);
			if (np)
				lv->ptrs = np;
			size_t *nl = np ? realloc(lv->lens, cap * sizeof *nl) : NULL;
			if (!nl) {
				rc = ENOMEM;
				break;
			}
			lv->lens = nl;
		}
		uint64_t seq = record_get_be64((uint8_t *)k.mv_data + 8);
		const uint8_t **p = &lv->ptrs[lv->n];
		size_t *l = &lv->lens[lv->n];
		*p = v.mv_data;
		*l = v.mv_size;
		if (seq < sealed_from) {
			lv->unsealed++;
		} else if (record_log_open(v.mv_data, v.mv_size, id, seq, p, l)) {
			lv->bad_seq = seq;
			rc = E_DAMAGED;
			break;
		}
		lv->n++;
		lv->last_seq = seq;
	}
	mdb_cursor_close(c);
	if (rc && rc != MDB_NOTFOUND) {
		log_view_free(lv);
		return rc;
	}
	return 0;
}

/* Deletes every log record of doc id; *count (optional) how many. */
static int delete_log(MDB_txn *txn, MDB_dbi dbi, uint64_t id, uint64_t *count)
{
	MDB_cursor *c;
	int rc = mdb_cursor_open(txn, dbi, &c);
	if (rc)
		return rc;
	uint8_t kb[16];
	record_put_be64(kb, id);
	record_put_be64(kb + 8, 0);
	MDB_val k = {16, kb}, v;
	for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		if (k.mv_size != 16 || record_get_be64(k.mv_data) != id)
			break;
		if ((rc = mdb_cursor_del(c, 0)))
			break;
		if (count)
			(*count)++;
	}
	mdb_cursor_close(c);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/* Appends the log value of (id, seq), sealed. Only documents
 * sealed from their first sequence or from a sequence before seq reach
 * here: writer_doc seals a document at its first append. */
static int put_log(MDB_txn *txn, MDB_dbi dbi, uint64_t id, uint64_t seq, const uint8_t *upd, size_t n)
{
	uint8_t kb[16];
	record_put_be64(kb, id);
	record_put_be64(kb + 8, seq);
	MDB_val k = {16, kb}, v = {RECORD_LOG_HDR + n, NULL};
	/* never over a record: appends take a new sequence, and compaction
	 * deleted the log before it puts the snapshot (MDB_KEYEXIST fails the
	 * batch rather than lose a record) */
	int rc = mdb_put(txn, dbi, &k, &v, MDB_RESERVE | MDB_NOOVERWRITE);
	if (rc)
		return rc;
	record_log_seal(v.mv_data, id, seq, upd, n);
	if (n)
		memcpy((uint8_t *)v.mv_data + RECORD_LOG_HDR, upd, n);
	return 0;
}

/* Replaces the whole log of d by one merged snapshot at its last sequence. */
static int compact(store_t *s, MDB_txn *txn, doc_info_t *d)
{
	log_view_t lv;
	int rc = collect_log(txn, s->dbi_log, d->id, d->sealed_from, &lv);
	if (rc == E_DAMAGED) {
		/* merging would seal the damage into the snapshot: the batch is
		 * written again without this document's updates (write_batch) */
		log_error("store: compaction of document %.*s: log record %llu fails its checksum", (int)d->name_len,
			  d->name, (unsigned long long)lv.bad_seq);
		return rc;
	}
	if (rc)
		return rc;
	uint64_t last = lv.last_seq;
	uint8_t *merged = NULL;
	size_t mlen = 0;
	int err = qc_update_merge(lv.ptrs, lv.lens, lv.n, &merged, &mlen);
	log_view_free(&lv);
	if (err != QC_OK) {
		log_warn("store: compaction of document %.*s skipped: %s", (int)d->name_len, d->name,
			 qc_strerror(err));
		return 0;
	}
	/* Integrate the merged log once so the snapshot is what Yjs would store:
	 * deleted content garbage-collected, adjacent items merged. */
	qc_doc *doc = qc_doc_new(NULL);
	uint8_t *snap = NULL;
	size_t snap_len = 0;
	if (doc && qc_doc_load(doc, merged, mlen) == QC_OK &&
	    qc_doc_encode_state(doc, NULL, 0, &snap, &snap_len) == QC_OK && snap_len <= mlen) {
		free(merged);
		merged = malloc(snap_len ? snap_len : 1);
		if (merged) {
			memcpy(merged, snap, snap_len);
			mlen = snap_len;
		}
	}
	if (snap)
		qc_free(doc, snap);
	qc_doc_free(doc);
	if (!merged)
		return ENOMEM;
	if ((rc = delete_log(txn, s->dbi_log, d->id, NULL))) {
		free(merged);
		return rc;
	}
	rc = put_log(txn, s->dbi_log, d->id, last, merged, mlen);
	free(merged);
	if (rc)
		return rc;
	d->entries = 1;
	pthread_mutex_lock(&s->stats_mu);
	s->stats.compactions++;
	pthread_mutex_unlock(&s->stats_mu);
	return 0;
}

/* Drops the writer's cache (after an aborted txn it may be ahead of disk). */
static void forget_docs(store_t *s)
{
	for (size_t b = 0; b < 1024; b++) {
		while (s->docs[b]) {
			doc_info_t *d = s->docs[b];
			s->docs[b] = d->next;
			free(d);
		}
	}
}

/* The next document id: the stored counter, but never at or below an id
 * the log holds (a counter gone back, by damage or a restore of the meta
 * database alone, would give a new document an old one's records). Every
 * document has a log record from the transaction that created it on. */
static int load_next_doc_id(store_t *s, MDB_txn *txn)
{
	MDB_val k = {11, "next_doc_id"}, v;
	int rc = mdb_get(txn, s->dbi_meta, &k, &v);
	s->next_doc_id = 1;
	if (rc && rc != MDB_NOTFOUND)
		return rc;
	if (rc == 0) {
		if (v.mv_size != 8)
			return MDB_CORRUPTED;
		s->next_doc_id = record_get_be64(v.mv_data);
	}
	MDB_cursor *c;
	if ((rc = mdb_cursor_open(txn, s->dbi_log, &c)))
		return rc;
	rc = mdb_cursor_get(c, &k, &v, MDB_LAST);
	mdb_cursor_close(c);
	if (rc == 0 && k.mv_size == 16 && record_get_be64(k.mv_data) >= s->next_doc_id) {
		uint64_t was = s->next_doc_id;
		s->next_doc_id = record_get_be64(k.mv_data) + 1;
		if (!s->opts.read_only)
			log_warn("store: the stored next document id (%llu) is not above the log's last (%llu): "
				 "using %llu",
				 (unsigned long long)was, (unsigned long long)(s->next_doc_id - 1),
				 (unsigned long long)s->next_doc_id);
	}
	return rc == 0 || rc == MDB_NOTFOUND ? 0 : rc;
}

/* One attempt at a batch's transaction, leaving out the jobs already marked
 * STORE_DAMAGED. E_DAMAGED: a document of the batch has a damaged value (its
 * docs record, read here the first time the writer meets it, or a log record,
 * read by compaction); *damaged points at one of its jobs. */
static int write_batch_once(store_t *s, store_job_t *batch, size_t *nbytes, store_job_t **damaged)
{
	MDB_txn *txn;
	int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
	if (rc)
		return rc;
	uint64_t saved_next_id = s->next_doc_id;
	doc_info_t *touched[BATCH_MAX_JOBS];
	store_job_t *first_job[BATCH_MAX_JOBS];
	size_t ntouched = 0;
	*nbytes = 0;
	for (store_job_t *j = batch; j; j = j->next) {
		if (j->status == STORE_DAMAGED)
			continue;
		doc_info_t *d;
		if ((rc = writer_doc(s, txn, j->doc, j->doc_len, &d))) {
			*damaged = j;
			goto abort;
		}
		if ((rc = put_log(txn, s->dbi_log, d->id, d->next_seq, j->data, j->len)))
			goto abort;
		d->next_seq++;
		d->entries++;
		*nbytes += j->len;
		size_t t;
		for (t = 0; t < ntouched && touched[t] != d; t++)
			;
		if (t == ntouched && ntouched < BATCH_MAX_JOBS) {
			first_job[ntouched] = j;
			touched[ntouched++] = d;
		}
	}
	for (size_t t = 0; t < ntouched; t++)
		if (s->opts.compact_after && touched[t]->entries > s->opts.compact_after)
			if ((rc = compact(s, txn, touched[t]))) {
				*damaged = first_job[t];
				goto abort;
			}
	if ((rc = mdb_txn_commit(txn))) {
		txn = NULL;
		goto abort;
	}
	return 0;
abort:
	if (txn)
		mdb_txn_abort(txn);
	s->next_doc_id = saved_next_id;
	forget_docs(s);
	return rc;
}

/* Writes a batch in one transaction. A document found damaged has its jobs
 * marked STORE_DAMAGED and the rest of the batch is written without them
 * (each retry leaves out one more document, so this ends). */
static int write_batch(store_t *s, store_job_t *batch, size_t *nbytes)
{
	for (store_job_t *j = batch; j; j = j->next)
		j->status = 0;
	for (;;) {
		store_job_t *bad = NULL;
		int rc = write_batch_once(s, batch, nbytes, &bad);
		if (rc != E_DAMAGED || !bad)
			return rc;
		size_t n = 0;
		for (store_job_t *j = batch; j; j = j->next)
			if (j->status == 0 && j->doc_len == bad->doc_len && !memcmp(j->doc, bad->doc, j->doc_len)) {
				j->status = STORE_DAMAGED;
				n++;
			}
		log_error("store: document %.*s is damaged (a stored value fails its checksum): %zu updates to it "
			  "refused",
			  (int)bad->doc_len, bad->doc, n);
		pthread_mutex_lock(&s->stats_mu);
		s->stats.damaged++;
		s->stats.failures += n;
		pthread_mutex_unlock(&s->stats_mu);
	}
}

static void *writer_main(void *arg)
{
	store_t *s = arg;
	for (;;) {
		pthread_mutex_lock(&s->mu);
		while (!s->head && !s->stopping)
			pthread_cond_wait(&s->cv, &s->mu);
		if (!s->head) {
			pthread_mutex_unlock(&s->mu);
			break;
		}
		/* take up to BATCH_MAX_JOBS / BATCH_MAX_BYTES */
		store_job_t *batch = s->head, *last = s->head;
		size_t n = 1, bytes = last->len;
		while (last->next && n < BATCH_MAX_JOBS && bytes + last->next->len <= BATCH_MAX_BYTES) {
			last = last->next;
			n++;
			bytes += last->len;
		}
		s->head = last->next;
		if (!s->head)
			s->tail = NULL;
		last->next = NULL;
		pthread_mutex_unlock(&s->mu);

		size_t nbytes;
		int rc = write_batch(s, batch, &nbytes);
		for (store_job_t *j = batch; j; j = j->next)
			n -= j->status == STORE_DAMAGED; /* counted by write_batch */
		pthread_mutex_lock(&s->stats_mu);
		if (rc == 0) {
			s->stats.commits++;
			s->stats.updates += n;
			s->stats.bytes += nbytes;
		} else {
			s->stats.failures += n;
		}
		pthread_mutex_unlock(&s->stats_mu);
		if (rc)
			log_error("store: commit of %zu updates failed: %s", n, mdb_strerror(rc));
		/* a failed write of LMDB's meta page (the commit point) marks the
		 * environment as failed for good: every transaction then begins
		 * with MDB_PANIC. Any other failed commit left the last committed
		 * state as it was (copy-on-write), and a later one may succeed. */
		int fatal = rc == MDB_PANIC;
		if (rc && !fatal) {
			MDB_txn *probe = NULL;
			int b = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &probe);
			fatal = b == MDB_PANIC;
			if (b == 0)
				mdb_txn_abort(probe);
		}
		if (fatal) {
			pthread_mutex_lock(&s->stats_mu);
			if (!s->fatal)
				log_error("store: LMDB reports a fatal error (a failed write of its commit point): no "
					  "write can succeed until quire restarts, which recovers the last committed state");
			s->fatal = 1;
			pthread_mutex_unlock(&s->stats_mu);
		}
		while (batch) {
			store_job_t *j = batch;
			batch = j->next;
			j->next = NULL;
			if (j->status != STORE_DAMAGED)
				j->status = rc ? -1 : 0;
			s->opts.on_committed(s->opts.ctx, j);
		}
	}
	return NULL;
}

/* One process at a time may write a data directory: the writer caches each
 * document's next sequence, so two would overwrite each other's records. */
static int take_lock(store_t *s, const char *dir, char *err, size_t errlen)
{
	char path[4096];
	if ((size_t)snprintf(path, sizeof path, "%s/quire.lock", dir) >= sizeof path) {
		snprintf(err, errlen, "data directory path too long");
		return -1;
	}
	s->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (s->lock_fd < 0) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	if (flock(s->lock_fd, LOCK_EX | LOCK_NB) != 0) {
		int e = errno;
		close(s->lock_fd);
		s->lock_fd = -1;
		if (e == EWOULDBLOCK)
			snprintf(err, errlen, "another quire process is using the data directory %s (%s is locked)", dir,
				 path);
		else
			snprintf(err, errlen, "cannot lock %s: %s", path, strerror(e));
		return -1;
	}
	return 0;
}

store_t *store_open(const char *dir, const store_opts_t *opts, char *err, size_t errlen)
{
	if (!opts->read_only && mkdir(dir, 0700) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create data directory %s: %s", dir, strerror(errno));
		return NULL;
	}
	store_t *s = calloc(1, sizeof *s);
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->opts = *opts;
	s->lock_fd = -1;
	if (!opts->read_only && take_lock(s, dir, err, errlen)) {
		free(s);
		return NULL;
	}
	MDB_txn *txn = NULL;
	int rc;
	const char *what = "mdb_env_create";
	if ((rc = mdb_env_create(&s->env)))
		goto fail;
	what = "mdb_env_set_mapsize";
	if ((rc = mdb_env_set_mapsize(s->env, (size_t)opts->map_size)))
		goto fail;
	mdb_env_set_maxdbs(s->env, 4);
	mdb_env_set_maxreaders(s->env, 1024);
	what = "mdb_env_open";
	if ((rc = mdb_env_open(s->env, dir, MDB_NOTLS | (opts->read_only ? MDB_RDONLY : 0), 0600)))
		goto fail;
	if (opts->read_only || opts->offline)
		goto databases;
	/* the flags LMDB runs with, as it reports them: none of those that
	 * weaken durability (a test checks the line) */
	unsigned fl = 0;
	mdb_env_get_flags(s->env, &fl);
	int weak = (fl & (MDB_NOSYNC | MDB_NOMETASYNC | MDB_MAPASYNC)) != 0;
	log_msg(weak ? LOG_WARN : LOG_INFO, "store: LMDB flags%s%s%s%s%s%s: %s", fl & MDB_NOTLS ? " NOTLS" : "",
				     fl & MDB_NOSYNC ? " NOSYNC" : "", fl & MDB_NOMETASYNC ? " NOMETASYNC" : "",
				     fl & MDB_MAPASYNC ? " MAPASYNC" : "", fl & MDB_WRITEMAP ? " WRITEMAP" : "",
				     fl & MDB_RDONLY ? " RDONLY" : "",
				     weak ? "commits are NOT synced before they are acknowledged"
					  : "every commit is synced (fdatasync) before it is acknowledged");
	int dead = 0;
	mdb_reader_check(s->env, &dead);
databases:
	what = "opening databases";
	if ((rc = mdb_txn_begin(s->env, NULL, opts->read_only ? MDB_RDONLY : 0, &txn)))
		goto fail;
	unsigned create = opts->read_only ? 0 : MDB_CREATE;
	if ((rc = mdb_dbi_open(txn, "docs", create, &s->dbi_docs)) ||
	    (rc = mdb_dbi_open(txn, "log", create, &s->dbi_log)) ||
	    (rc = mdb_dbi_open(txn, "meta", create, &s->dbi_meta)) || (rc = load_next_doc_id(s, txn)))
		goto fail;
	rc = mdb_txn_commit(txn);
	txn = NULL;
	if (rc)
		goto fail;
	pthread_mutex_init(&s->mu, NULL);
	pthread_mutex_init(&s->stats_mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	if (opts->read_only || opts->offline)
		return s;
	if ((rc = pthread_create(&s->writer, NULL, writer_main, s))) {
		what = "starting the writer thread";
		goto fail;
	}
	return s;
fail:
	snprintf(err, errlen, "LMDB in %s: %s: %s", dir, what, rc > 0 && rc < 1000 ? strerror(rc) : mdb_strerror(rc));
	if (txn)
		mdb_txn_abort(txn);
	if (s->env)
		mdb_env_close(s->env);
	if (s->lock_fd >= 0)
		close(s->lock_fd);
	free(s);
	return NULL;
}

int store_submit(store_t *s, store_job_t *job)
{
	job->next = NULL;
	pthread_mutex_lock(&s->mu);
	if (s->stopping) {
		pthread_mutex_unlock(&s->mu);
		return -1;
	}
	if (s->tail)
		s->tail->next = job;
	else
		s->head = job;
	s->tail = job;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
	return 0;
}

int store_load(store_t *s, const char *doc, size_t doc_len, uint8_t **out, size_t *out_len, int *found, char *err,
	       size_t errlen)
{
	MDB_txn *txn;
	int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
	if (rc) {
		snprintf(err, errlen, "read transaction: %s", mdb_strerror(rc));
		return -1;
	}
	record_doc_t rec;
	log_view_t lv = {0};
	int in_log = 0;
	rc = lookup_doc(txn, s->dbi_docs, doc, doc_len, &rec);
	if (!rc && rec.id) {
		in_log = 1;
		rc = collect_log(txn, s->dbi_log, rec.id, rec.sealed_from, &lv);
	}
	if (rc) {
		mdb_txn_abort(txn);
		if (rc != E_DAMAGED) {
			snprintf(err, errlen, "reading document: %s", mdb_strerror(rc));
			return -1;
		}
		if (in_log)
			snprintf(err, errlen, "stored document is damaged: log record %llu fails its checksum",
				 (unsigned long long)lv.bad_seq);
		else
			snprintf(err, errlen, "stored document is damaged: its docs record fails its checksum");
		pthread_mutex_lock(&s->stats_mu);
		s->stats.damaged++;
		pthread_mutex_unlock(&s->stats_mu);
		return STORE_DAMAGED;
	}
	*found = rec.id != 0;
	int e = qc_update_merge(lv.ptrs, lv.lens, lv.n, out, out_len);
	log_view_free(&lv);
	mdb_txn_abort(txn);
	if (e != QC_OK) {
		snprintf(err, errlen, "stored log does not merge: %s", qc_strerror(e));
		return -1;
	}
	return 0;
}

int store_fatal(store_t *s)
{
	pthread_mutex_lock(&s->stats_mu);
	int f = s->fatal;
	pthread_mutex_unlock(&s->stats_mu);
	return f;
}

void store_get_stats(store_t *s, store_stats_t *out)
{
	pthread_mutex_lock(&s->stats_mu);
	*out = s->stats;
	pthread_mutex_unlock(&s->stats_mu);
}

void store_close(store_t *s, store_stats_t *final)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->mu);
	s->stopping = 1;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
	if (!s->opts.read_only && !s->opts.offline)
		pthread_join(s->writer, NULL);
	if (final)
		store_get_stats(s, final);
	forget_docs(s);
	mdb_env_close(s->env);
	if (s->lock_fd >= 0)
		close(s->lock_fd); /* and with it the lock */
	pthread_mutex_destroy(&s->mu);
	pthread_mutex_destroy(&s->stats_mu);
	pthread_cond_destroy(&s->cv);
	free(s);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

int store_check(store_t *s, void (*on_doc)(void *ctx, const store_doc_report_t *r), void *ctx, store_check_totals_t *t,
		char *err, size_t errlen)
{
	memset(t, 0, sizeof *t);
	MDB_txn *txn;
	MDB_cursor *c = NULL;
	uint64_t *ids = NULL;
	size_t nids = 0, capids = 0;
	int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
	if (rc) {
		snprintf(err, errlen, "read transaction: %s", mdb_strerror(rc));
		return -1;
	}
	if ((rc = mdb_cursor_open(txn, s->dbi_docs, &c)))
		goto fail;
	MDB_val k, v;
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		store_doc_report_t r = {.name = k.mv_data, .name_len = k.mv_size};
		record_doc_t rec;
		t->docs++;
		if (record_doc_decode(v.mv_data, v.mv_size, k.mv_data, k.mv_size, &rec)) {
			r.problem = "its docs record fails its checksum";
			t->damaged++;
			on_doc(ctx, &r);
			continue;
		}
		if (nids == capids) {
			capids = capids ? 2 * capids : 64;
			uint64_t *n = realloc(ids, capids * sizeof *n);
			if (!n) {
				rc = ENOMEM;
				goto fail;
			}
			ids = n;
		}
		ids[nids++] = rec.id;
		log_view_t lv;
		char problem[128];
		int lrc = collect_log(txn, s->dbi_log, rec.id, rec.sealed_from, &lv);
		if (lrc == E_DAMAGED) {
			snprintf(problem, sizeof problem, "log record %llu fails its checksum",
				 (unsigned long long)lv.bad_seq);
			r.problem = problem;
		} else if (lrc) {
			rc = lrc;
			goto fail;
		} else {
			/* the records and what the server would load from them */
			uint8_t *merged = NULL;
			size_t mlen = 0;
			int e = qc_update_merge(lv.ptrs, lv.lens, lv.n, &merged, &mlen);
			if (e != QC_OK) {
				snprintf(problem, sizeof problem, "its log does not merge: %s", qc_strerror(e));
				r.problem = problem;
			}
			free(merged);
			for (size_t i = 0; i < lv.n; i++)
				r.bytes += lv.lens[i];
			r.records = lv.n;
			r.unsealed = lv.unsealed;
			log_view_free(&lv);
		}
		t->records += r.records;
		t->bytes += r.bytes;
		t->unsealed += r.unsealed;
		if (r.problem)
			t->damaged++;
		on_doc(ctx, &r);
	}
	if (rc != MDB_NOTFOUND)
		goto fail;
	mdb_cursor_close(c);
	c = NULL;
	/* log records of no document: left by a drop of a document whose docs
	 * record was damaged, or under a damaged docs record's real id */
	if (nids)
		qsort(ids, nids, sizeof *ids, cmp_u64);
	if ((rc = mdb_cursor_open(txn, s->dbi_log, &c)))
		goto fail;
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		uint64_t id = k.mv_size == 16 ? record_get_be64(k.mv_data) : 0;
		if (!nids || !bsearch(&id, ids, nids, sizeof *ids, cmp_u64))
			t->orphans++;
	}
	if (rc != MDB_NOTFOUND)
		goto fail;
	mdb_cursor_close(c);
	mdb_txn_abort(txn);
	free(ids);
	return 0;
fail:
	snprintf(err, errlen, "reading the store: %s", rc == ENOMEM ? "out of memory" : mdb_strerror(rc));
	if (c)
		mdb_cursor_close(c);
	mdb_txn_abort(txn);
	free(ids);
	return -1;
}

int store_drop(store_t *s, const char *name, size_t len, int *found, uint64_t *records, char *err, size_t errlen)
{
	*found = 0;
	*records = 0;
	MDB_txn *txn;
	int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
	if (rc) {
		snprintf(err, errlen, "write transaction: %s", mdb_strerror(rc));
		return -1;
	}
	record_doc_t rec;
	MDB_val k = {len, (void *)name}, v;
	if ((rc = mdb_get(txn, s->dbi_docs, &k, &v)) == MDB_NOTFOUND) {
		mdb_txn_abort(txn);
		return 0;
	}
	if (rc)
		goto fail;
	*found = 1;
	/* a damaged docs record's id cannot be trusted: its log stays (counted
	 * as orphans by store_check) rather than another document's going */
	if (record_doc_decode(v.mv_data, v.mv_size, name, len, &rec) != 0)
		*found = 2;
	else if ((rc = delete_log(txn, s->dbi_log, rec.id, records)))
		goto fail;
	if ((rc = mdb_del(txn, s->dbi_docs, &k, NULL)) || (rc = mdb_txn_commit(txn))) {
		txn = NULL;
		goto fail;
	}
	return 0;
fail:
	if (txn)
		mdb_txn_abort(txn);
	snprintf(err, errlen, "deleting the document: %s", mdb_strerror(rc));
	return -1;
}

int store_put(store_t *s, const char *name, size_t len, const uint8_t *upd, size_t n, char *err, size_t errlen)
{
	if (qc_update_validate(upd, n) != QC_OK) {
		snprintf(err, errlen, "not a Yjs v1 update");
		return -1;
	}
	MDB_txn *txn;
	int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
	if (rc) {
		snprintf(err, errlen, "write transaction: %s", mdb_strerror(rc));
		return -1;
	}
	doc_info_t *d;
	if ((rc = writer_doc(s, txn, name, len, &d)) || (rc = put_log(txn, s->dbi_log, d->id, d->next_seq, upd, n)))
		mdb_txn_abort(txn);
	else
		rc = mdb_txn_commit(txn); /* frees the transaction either way */
	forget_docs(s); /* one write a run: nothing to keep */
	if (rc) {
		snprintf(err, errlen, "%s",
			 rc == E_DAMAGED ? "its stored docs record is damaged (quire store drop it first)" : mdb_strerror(rc));
		return -1;
	}
	return 0;
}
