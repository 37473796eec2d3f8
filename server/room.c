/* Rooms: documents in memory, message handling and fan-out. See room.h. */
#include "room.h"

#include "config.h"
#include "hash.h"
#include "log.h"
#include "proto.h"
#include "quire/counted.h"
#include "quire/doc.h"
#include "quire/update.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BUCKETS 4096
/* a room whose document has taken no update for this long gives back the
 * document's slack (qc_doc_trim), once per quiet spell */
#define TRIM_QUIET_MS 2000

struct room {
	room_t *hnext;
	char *name;
	size_t name_len;
	h2o_linklist_t conns;
	size_t nconns;
	size_t inflight; /* jobs submitted to the store, not yet back */
	uint64_t idle_since_ms;
	uint64_t changed_ms; /* when the document last took an update */
	int trimmed;	     /* qc_doc_trim ran since then */
	/* every integrated update; what sync answers come from. NULL while
	 * unloaded: rooms_tick frees a document nothing has used for
	 * --doc-idle-timeout (when it holds nothing the store lacks), and
	 * room_doc loads it again from the store at its next use */
	qc_doc *doc;
	uint64_t used_ms; /* when room_doc last handed the document out */
	/* the document may hold what the store does not (a commit failed, or an
	 * update ran out of memory half-integrated): once no write is in
	 * flight, room_reload replaces it with the stored state */
	int stale;
	/* --max-doc-size (size_check) */
	int size_level;	   /* at the last check: 0, 1 at a quarter of the limit (warned), 2 at the limit */
	int size_refusing; /* an update was refused: connections wait for a resync (size_check) */
	awareness_t aw;
	/* --presence-interval: presence changes marked in aw wait for this
	 * entry, linked while a flush is due; aw_sent_ms is when the room last
	 * sent its members an awareness update (flush_presence) */
	h2o_timeout_entry_t aw_flush;
	uint64_t aw_sent_ms;
	/* broadcasts under way: a connection closed by one of them (a slow
	 * consumer) must not start another broadcast, whose own closes could
	 * unlink the connection the outer loop goes to next */
	unsigned broadcasting;
};

static rooms_env_t env;
static h2o_timeout_t presence_timeout; /* --presence-interval (0: the next loop turn) */

static void on_presence_timer(h2o_timeout_entry_t *entry);
static room_t *table[BUCKETS];
static room_stats_t stats;
static size_t total_inflight;
static int store_closing; /* rooms_store_closing: no more reloads */

/* Every room's document allocates through doc_alloc, which counts what the
 * documents hold (quire_doc_bytes). */
static qc_counted doc_mem;
static const qc_alloc doc_alloc = {qc_counted_malloc, qc_counted_realloc, qc_counted_free, &doc_mem};

const uint64_t room_latency_bounds_us[ROOM_LATENCY_BUCKETS] = {100,   250,   500,   1000,   2500,   5000,
								10000, 25000, 50000, 100000, 250000, 1000000};

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* One update relayed ns after it arrived (room_stats_t.latency_le). */
static void observe_latency(uint64_t ns)
{
	stats.latency_sum_ns += ns;
	for (size_t i = 0; i < ROOM_LATENCY_BUCKETS; i++) {
		if (ns <= room_latency_bounds_us[i] * 1000) {
			stats.latency_le[i]++;
			return;
		}
	}
	stats.latency_over++;
}

static size_t bucket(const char *s, size_t n) { return (size_t)(hash_fnv1a(s, n, 0) % BUCKETS); }

void rooms_init(const rooms_env_t *e)
{
	env = *e;
	h2o_timeout_init(env.loop, &presence_timeout, env.cfg->presence_interval_ms);
}

static room_t *find(const char *name, size_t len)
{
	for (room_t *r = table[bucket(name, len)]; r; r = r->hnext)
		if (r->name_len == len && memcmp(r->name, name, len) == 0)
			return r;
	return NULL;
}

int room_is_loaded(const char *name, size_t len)
{
	const room_t *r = find(name, len);
	return r && r->doc;
}

static qc_doc *room_doc(room_t *r);

/* Replaces the room's document (NULL: none, unloaded), keeping the count of
 * rooms with one (quire_docs_loaded). */
static void set_doc(room_t *r, qc_doc *doc)
{
	if (r->doc && !doc)
		stats.docs_loaded--;
	else if (!r->doc && doc)
		stats.docs_loaded++;
	qc_doc_free(r->doc);
	r->doc = doc;
}

static void size_check(room_t *r);

static void room_free(room_t *r)
{
	room_t **pp = &table[bucket(r->name, r->name_len)];
	while (*pp != r)
		pp = &(*pp)->hnext;
	*pp = r->hnext;
	if (h2o_timeout_is_linked(&r->aw_flush))
		h2o_timeout_unlink(&r->aw_flush); /* nobody left to tell */
	set_doc(r, NULL);
	awareness_free(&r->aw);
	free(r->name);
	free(r);
	stats.rooms--;
}

void rooms_shutdown(void)
{
	for (size_t b = 0; b < BUCKETS; b++)
		while (table[b])
			room_free(table[b]);
}

/* 1 when the last load_doc failed because a stored value of the document
 * is damaged (store_load's STORE_DAMAGED): it stays refused, see
 * unavailable(). */
static int load_damaged;
#define DAMAGED_REASON "document damaged"
static const char *unavailable(void) { return load_damaged ? DAMAGED_REASON : "document unavailable"; }

/* The stored document, loaded into a new qc_doc; NULL (logged) if the store
 * cannot be read or what it holds does not load. */
static qc_doc *load_doc(const char *name, size_t len, size_t *stored, int *found)
{
	uint8_t *state;
	size_t state_len;
	char err[256];
	int rc = store_load(env.store, name, len, &state, &state_len, found, err, sizeof err);
	load_damaged = rc == STORE_DAMAGED;
	if (rc) {
		log_error("room %.*s: cannot load: %s%s", (int)len, name, err,
			  load_damaged ? "; the document is refused until it is restored (docs/operations.md)" : "");
		return NULL;
	}
	qc_doc_opts o;
	qc_doc_opts_default(&o);
	o.alloc = &doc_alloc;
	qc_doc *doc = qc_doc_new(&o);
	rc = doc ? qc_doc_load(doc, state, state_len) : QC_ERR_NOMEM;
	free(state);
	if (rc == QC_ERR_PENDING) {
		/* The log holds more than 1 MiB of structs whose dependencies it
		 * lacks (a write that failed while later ones, built on it,
		 * succeeded). They stay in the store; the document serves what
		 * integrates, and a client holding the rest sends it when it syncs.
		 * Refusing the room would keep that client out for good. */
		log_warn("room %.*s: stored structs waiting for missing dependencies were left out", (int)len, name);
		rc = QC_OK;
	}
	if (rc != QC_OK) {
		log_error("room %.*s: stored document does not load: %s", (int)len, name, qc_strerror(rc));
		qc_doc_free(doc);
		return NULL;
	}
	*stored = state_len;
	return doc;
}

/* For a stale room (see room_t.stale) with no write in flight: every
 * connection is closed with 1011, so that its client resyncs on reconnecting
 * and sends again what the store lacks, and the document is loaded anew from
 * the store. Returns 0, or -1 if that load failed: the room stays stale and
 * room_open refuses it until a reload succeeds. */
static int room_reload(room_t *r)
{
	size_t closed = 0, stored;
	int found;
	qc_doc *doc = load_doc(r->name, r->name_len, &stored, &found);
	const char *why = doc ? "storage failure" : unavailable();
	r->broadcasting++; /* presence removals wait for the next loop turn */
	while (!h2o_linklist_is_empty(&r->conns)) {
		conn_close(H2O_STRUCT_FROM_MEMBER(conn_t, room_link, r->conns.next), 1011, why);
		closed++;
	}
	r->broadcasting--;
	if (!doc) {
		log_error("room %.*s: document not reloaded after a failed write; %zu connections closed",
			  (int)r->name_len, r->name, closed);
		return -1;
	}
	set_doc(r, doc);
	size_check(r);
	r->stale = 0;
	r->changed_ms = r->used_ms = env.now_ms();
	r->trimmed = 0;
	stats.reloads++;
	log_warn("room %.*s: document reloaded from the store (%zu bytes) after a failed write; %zu connections "
		 "closed to resync",
		 (int)r->name_len, r->name, stored, closed);
	return 0;
}

/* The document holds what the store does not: reload it now, or once the
 * writes in flight are back (room_committed). */
static void mark_stale(room_t *r)
{
	r->stale = 1;
	if (!r->inflight && !store_closing)
		room_reload(r);
}

void rooms_store_closing(void) { store_closing = 1; }

static room_t *room_open_(const char *name, size_t len)
{
	room_t *r = find(name, len);
	if (r) {
		/* with writes in flight, joiners see the stale document and are
		 * closed to resync with everyone else when the reload comes;
		 * once the store is closing, nothing can be reloaded */
		if (r->stale && (store_closing || (!r->inflight && room_reload(r))))
			return NULL;
		/* an unloaded document is loaded again here, so that the handshake
		 * or the HTTP write is refused (503) if that fails */
		return room_doc(r) ? r : NULL;
	}
	size_t state_len;
	int found;
	qc_doc *doc = load_doc(name, len, &state_len, &found);
	if (!doc)
		return NULL;
	r = calloc(1, sizeof *r);
	if (!r || !(r->name = malloc(len ? len : 1))) {
		free(r);
		qc_doc_free(doc);
		return NULL;
	}
	memcpy(r->name, name, len);
	r->name_len = len;
	set_doc(r, doc);
	r->aw_flush.cb = on_presence_timer;
	h2o_linklist_init_anchor(&r->conns);
	size_check(r);
	r->idle_since_ms = r->changed_ms = r->used_ms = env.now_ms();
	size_t b = bucket(name, len);
	r->hnext = table[b];
	table[b] = r;
	stats.rooms++;
	log_debug("room %.*s: opened (%zu bytes stored, found %d)", (int)len, name, state_len, found);
	return r;
}

room_t *room_open(const char *name, size_t len, int *damaged)
{
	load_damaged = 0;
	room_t *r = room_open_(name, len);
	*damaged = !r && load_damaged;
	return r;
}

/* The room's document for a join, a sync or an update: loaded again from
 * the store if rooms_tick unloaded it. NULL (logged) if that load failed;
 * the room stays as it was, without a document, and the next use tries
 * again. */
static qc_doc *room_doc(room_t *r)
{
	r->used_ms = env.now_ms();
	if (r->doc)
		return r->doc;
	size_t stored;
	int found;
	qc_doc *doc = load_doc(r->name, r->name_len, &stored, &found);
	if (!doc)
		return NULL;
	set_doc(r, doc);
	size_check(r);
	r->trimmed = 1; /* qc_doc_load trimmed it */
	log_debug("room %.*s: document loaded again (%zu bytes stored)", (int)r->name_len, r->name, stored);
	return r->doc;
}

/* What a message is, for its receivers. y-websocket sends every awareness
 * change it applies straight back (its awareness 'update' handler does not
 * look at the origin), so each SEND_PRESENCE message sent earns the
 * connection one echo that does not count against --message-rate
 * (on_awareness). */
enum send_kind { SEND_PLAIN, SEND_PRESENCE };

static void deliver(conn_t *c, const uint8_t *msg, size_t len, enum send_kind kind)
{
	conn_send(c, msg, len);
	if (kind == SEND_PRESENCE && c->aw_echo_credit < MAX_QUEUED_MSGS)
		c->aw_echo_credit++;
}

/* Sends a message built by proto_* (NULL on allocation failure) and frees it. */
static void send_msg(conn_t *c, uint8_t *msg, const size_t *len, enum send_kind kind)
{
	if (msg)
		deliver(c, msg, *len, kind);
	free(msg);
}

/* Sends to every connection of the room except the one with id `except`
 * (0: to all; connection ids start at 1). */
static void broadcast(room_t *r, const uint8_t *msg, size_t len, uint64_t except, enum send_kind kind)
{
	r->broadcasting++;
	for (h2o_linklist_t *l = r->conns.next, *next; l != &r->conns; l = next) {
		/* conn_send may close (and unlink) a slow consumer: c itself
		 * only, as its presence removal waits (presence_changed) */
		next = l->next;
		conn_t *c = H2O_STRUCT_FROM_MEMBER(conn_t, room_link, l);
		if (c->id != except)
			deliver(c, msg, len, kind);
	}
	r->broadcasting--;
}

/* Sends the room's marked presence changes (awareness_take_changes) to every
 * connection of the room as one awareness update. */
static void flush_presence(room_t *r)
{
	uint8_t *update;
	size_t len, mlen;
	if (awareness_take_changes(&r->aw, &update, &len) || !update)
		return;
	r->aw_sent_ms = env.now_ms();
	stats.presence_broadcasts++;
	uint8_t *msg = proto_awareness(update, len, &mlen);
	free(update);
	if (msg)
		broadcast(r, msg, mlen, 0, SEND_PRESENCE);
	free(msg);
}

static void on_presence_timer(h2o_timeout_entry_t *entry)
{
	flush_presence(H2O_STRUCT_FROM_MEMBER(room_t, aw_flush, entry));
}

/* Presence coalescing (B12(e) of the reliability plan: 50 clients moving a
 * cursor 10 times a second would otherwise send every member 500 messages a
 * second). After a change, a room that sent nothing in the last
 * --presence-interval ms sends at once (an isolated cursor move is not
 * delayed); otherwise the change waits for the flush due one interval after
 * the first waiting change. A flush carries the latest clock and state of
 * every client changed since the last one, so a room sends at most one
 * awareness update per interval and a change waits at most one interval.
 * Receivers apply such an update entry by entry (y-protocols
 * applyAwarenessUpdate), exactly as they would the separate updates. */
static void presence_changed(room_t *r)
{
	uint64_t interval = env.cfg->presence_interval_ms;
	if (h2o_timeout_is_linked(&r->aw_flush))
		return; /* the flush already due carries this change too */
	if (!r->broadcasting && (interval == 0 || env.now_ms() - r->aw_sent_ms >= interval)) {
		flush_presence(r);
		return;
	}
	/* inside a broadcast (see room_t.broadcasting) this waits even with
	 * --presence-interval 0: for the next loop turn */
	h2o_timeout_link(env.loop, &presence_timeout, &r->aw_flush);
}

void room_join(room_t *r, conn_t *c)
{
	c->room = r;
	h2o_linklist_insert(&r->conns, &c->room_link);
	r->nconns++;
	uint8_t *sv;
	size_t svlen, len;
	qc_doc *doc = room_doc(r);
	if (!doc) {
		conn_close(c, 1011, unavailable());
		return;
	}
	if (qc_doc_state_vector(doc, &sv, &svlen) != QC_OK) {
		conn_close(c, 1011, "out of memory");
		return;
	}
	send_msg(c, proto_sync(SYNC_STEP1, sv, svlen, &len), &len, SEND_PLAIN);
	qc_free(doc, sv);
	uint8_t *all;
	size_t alen;
	if (awareness_encode_all(&r->aw, &all, &alen) == 0 && all) {
		send_msg(c, proto_awareness(all, alen, &len), &len, SEND_PRESENCE);
		free(all);
	}
}

void room_leave(conn_t *c)
{
	room_t *r = c->room;
	if (!r)
		return;
	h2o_linklist_unlink(&c->room_link);
	c->room = NULL;
	r->nconns--;
	if (r->nconns == 0)
		r->idle_since_ms = env.now_ms();
	if (awareness_remove_owner(&r->aw, c->id))
		presence_changed(r);
}

static void on_step1(room_t *r, conn_t *c, const uint8_t *sv, size_t svlen)
{
	uint8_t *diff;
	size_t dlen, len;
	qc_doc *doc = room_doc(r);
	if (!doc) {
		conn_close(c, 1011, unavailable());
		return;
	}
	int err = qc_doc_encode_state(doc, sv, svlen, &diff, &dlen);
	if (err != QC_OK) {
		stats.rejected_malformed++;
		log_info("room %.*s: conn %llu: malformed state vector: %s", (int)r->name_len, r->name,
			 (unsigned long long)c->id, qc_strerror(err));
		conn_close(c, err == QC_ERR_NOMEM ? 1011 : 1007, "malformed state vector");
		return;
	}
	send_msg(c, proto_sync(SYNC_STEP2, diff, dlen, &len), &len, SEND_PLAIN);
	qc_free(doc, diff);
}

/* Submits what an update newly integrated (the doc's buffer, handed over)
 * to the store; the waiter, if any, hears of the commit. Returns 0, or the
 * status that refuses the rest (the room is then stale: the document holds
 * what will not be stored). */
static room_update_status_t submit(room_t *r, uint8_t *integrated, size_t ulen, uint64_t origin,
				   room_waiter_t *waiter, uint64_t arrived_ns)
{
	stats.updates_received++;
	room_job_t *j = calloc(1, sizeof *j);
	if (!j) {
		qc_free(r->doc, integrated);
		mark_stale(r);
		return ROOM_UPDATE_NOMEM;
	}
	j->room = r;
	j->origin = origin;
	j->arrived_ns = arrived_ns;
	j->job.doc = r->name;
	j->job.doc_len = r->name_len;
	j->job.data = integrated; /* from the doc's allocator: qc_free(r->doc, ...) */
	j->job.len = ulen;
	j->waiter = waiter; /* before the writer thread can hold the job */
	if (waiter)
		waiter->job = j;
	if (store_submit(env.store, &j->job)) {
		if (waiter)
			waiter->job = NULL;
		qc_free(r->doc, integrated);
		free(j);
		r->stale = 1; /* the store is closing: nothing to reload from */
		return ROOM_UPDATE_SHUTDOWN;
	}
	r->inflight++;
	total_inflight++;
	return ROOM_UPDATE_STORING;
}

/* The sender, for a refusal's log line (written only then: this is the
 * path of every update). */
static const char *who(const room_origin_t *o, char *buf, size_t cap)
{
	if (!o->conn)
		return "HTTP write";
	snprintf(buf, cap, "conn %llu", (unsigned long long)o->conn->id);
	return buf;
}

/* room_update's integration of an update into the room's document (loaded),
 * and the submission of what it newly integrated. */
static void integrate(room_t *r, qc_doc *doc, const uint8_t *u, size_t n, const room_origin_t *o,
		      uint64_t arrived_ns, room_update_result_t *res)
{
	char wb[32];
	int err = qc_doc_apply_update(doc, u, n);
	res->err = err;
	if (err == QC_OK || err == QC_ERR_PENDING) {
		r->changed_ms = env.now_ms(); /* integrated or pending: it may have grown */
		r->trimmed = 0;
	}
	res->pending = qc_doc_update_held(doc);
	room_update_status_t status = ROOM_UPDATE_STORING;
	if (err == QC_ERR_CLOCK) {
		/* valid Yjs, but beyond the 32-bit clocks the document keeps */
		stats.rejected_malformed++;
		log_info("room %.*s: %s: update with a clock above 2^32-1 (%zu bytes)", (int)r->name_len, r->name,
			 who(o, wb, sizeof wb), n);
		res->status = ROOM_UPDATE_CLOCK;
		return;
	}
	if (err == QC_ERR_LIMIT || err == QC_ERR_NOMEM) {
		/* well-formed but past a limit of the crdt library (an Any nested
		 * deeper than 64, clock + length above 2^53-1: refused whole; the
		 * document's capacity: met during integration), or out of memory:
		 * the sender is refused. What did integrate before that (if any) is
		 * the update event, stored and relayed below, so the document and
		 * the store stay the same. */
		stats.rejected_malformed++;
		log_info("room %.*s: %s: update %s (%zu bytes)", (int)r->name_len, r->name, who(o, wb, sizeof wb),
			 err == QC_ERR_LIMIT ? "exceeds a limit" : "ran out of memory", n);
		status = err == QC_ERR_LIMIT ? ROOM_UPDATE_LIMIT : ROOM_UPDATE_NOMEM;
	} else if (err != QC_OK && err != QC_ERR_PENDING) {
		stats.rejected_malformed++;
		log_info("room %.*s: %s: malformed update (%zu bytes): %s", (int)r->name_len, r->name,
			 who(o, wb, sizeof wb), n, qc_strerror(err));
		res->status = ROOM_UPDATE_MALFORMED;
		return;
	}
	if (err == QC_ERR_PENDING) {
		/* The pending set was dropped; what did integrate is stored below
		 * like any update. The client re-sends the rest after reconnecting. */
		stats.rejected_malformed++;
		log_info("room %.*s: %s: too many updates waiting for missing dependencies", (int)r->name_len, r->name,
			 who(o, wb, sizeof wb));
		status = ROOM_UPDATE_TOO_PENDING;
	}
	/* store and relay what was newly integrated (nothing for a duplicate or
	 * an update still waiting for its dependencies); the doc hands its
	 * buffer over, so an idle room keeps no copy of it */
	size_t ulen;
	uint8_t *integrated;
	if (qc_doc_take_event(doc, &integrated, &ulen) != QC_OK) {
		/* integrated, but encoding what for the store ran out of memory */
		mark_stale(r);
		res->status = ROOM_UPDATE_NOMEM;
		return;
	}
	if (!integrated) {
		if (status == ROOM_UPDATE_STORING)
			status = res->pending ? ROOM_UPDATE_PENDING : ROOM_UPDATE_NOTHING;
		res->status = status;
		return;
	}
	/* only a write that is answered after its commit waits for it */
	room_update_status_t st =
	    submit(r, integrated, ulen, o->conn ? o->conn->id : 0, status == ROOM_UPDATE_STORING ? o->waiter : NULL,
		   arrived_ns);
	if (st == ROOM_UPDATE_STORING)
		res->stored = ulen;
	if (status == ROOM_UPDATE_STORING)
		status = st;
	res->status = status;
}

/* --- --max-doc-size --------------------------------------------------------
 *
 * A document's size is its content (qc_doc_content_bytes): the text, values
 * and element names of what is not deleted. Deleted content is dropped at the
 * end of the transaction that deletes it, so every deletion makes room at
 * once, with or without compaction, and a document at the limit can always be
 * brought below it. Not counted: what a document keeps for good once written,
 * the ids that deleted items leave behind (tombstones) and map keys, which the
 * encoded state still holds; they grow with edits alone, which --message-rate
 * and --byte-rate bound. (Measuring the encoded state instead locked
 * documents: deleting everything left their tombstones over the limit, so no
 * insert was ever taken again.) The crdt keeps the count, so it is looked at
 * on every update. */

static uint64_t doc_size(const room_t *r) { return r->doc ? qc_doc_content_bytes(r->doc) : 0; }

/* The document is below --max-doc-size again: every connection whose update
 * was refused gets a sync step 1, which a y-websocket client answers with a
 * sync step 2 carrying all it has that the room lacks: the refused content
 * and what it built on it since. Returns 0, or -1 when out of memory. */
static int resync_refused(room_t *r)
{
	uint8_t *sv, *msg;
	size_t svlen, len, n = 0;
	if (qc_doc_state_vector(r->doc, &sv, &svlen) != QC_OK)
		return -1;
	msg = proto_sync(SYNC_STEP1, sv, svlen, &len);
	qc_free(r->doc, sv);
	if (!msg)
		return -1;
	r->broadcasting++; /* as broadcast: deliver may close a slow consumer */
	for (h2o_linklist_t *l = r->conns.next, *next; l != &r->conns; l = next) {
		next = l->next;
		conn_t *c = H2O_STRUCT_FROM_MEMBER(conn_t, room_link, l);
		if (c->size_refused) {
			c->size_refused = 0;
			deliver(c, msg, len, SEND_PLAIN);
			n++;
		}
	}
	r->broadcasting--;
	free(msg);
	if (n)
		log_info("room %.*s: %zu connections refused for --max-doc-size asked to send their edits again",
			 (int)r->name_len, r->name, n);
	return 0;
}

/* After the document changed or was loaded: logs each crossing of the
 * warning level (a quarter of the limit) and of the limit, and once the
 * document is below the limit, asks the connections it refused for their
 * edits again. */
static void size_check(room_t *r)
{
	uint64_t limit = env.cfg->max_doc_size, size = doc_size(r);
	if (!limit || !r->doc)
		return;
	int level = size >= limit ? 2 : size >= limit / 4 ? 1 : 0;
	if (level == r->size_level && !(level < 2 && r->size_refusing))
		return;
	if (level == 2 && r->size_level < 2)
		log_warn("room %.*s: the document holds %llu bytes of content, at --max-doc-size (%llu): it takes "
			 "deletions only",
			 (int)r->name_len, r->name, (unsigned long long)size, (unsigned long long)limit);
	else if (level == 1 && r->size_level == 0)
		log_warn("room %.*s: the document holds %llu bytes of content, past a quarter of --max-doc-size (%llu)",
			 (int)r->name_len, r->name, (unsigned long long)size, (unsigned long long)limit);
	else if (level < r->size_level)
		log_info("room %.*s: the document holds %llu bytes of content, below %s again%s", (int)r->name_len,
			 r->name, (unsigned long long)size, level ? "--max-doc-size" : "a quarter of --max-doc-size",
			 r->size_level == 2 ? ": it takes content again" : "");
	r->size_level = level;
	if (level < 2 && r->size_refusing && resync_refused(r) == 0)
		r->size_refusing = 0;
}

/* Would update u add structs to the document (content it lacks)? Its diff
 * against the document's state vector tells: 1 or 0, or <0 on an error
 * (malformed: the integration refuses it). */
static int adds_structs(const qc_doc *doc, const uint8_t *u, size_t n)
{
	uint8_t *sv, *diff;
	size_t svn, dn, structs = 0, ranges;
	int rc = qc_doc_state_vector(doc, &sv, &svn);
	if (rc != QC_OK)
		return rc;
	rc = qc_update_diff(u, n, sv, svn, &diff, &dn);
	qc_free(doc, sv);
	if (rc != QC_OK)
		return rc;
	rc = qc_update_counts(diff, dn, &structs, &ranges);
	free(diff);
	return rc != QC_OK ? rc : structs > 0;
}

/* The document is at --max-doc-size and update u would add structs: they
 * are refused before anything of u is applied; its deletions are then
 * integrated on their own, stored and relayed like any update (a deletion is
 * how the document gets below the limit). A WebSocket sender is remembered
 * for the resync (resync_refused). */
static void refuse_too_large(room_t *r, qc_doc *doc, const uint8_t *u, size_t n, const room_origin_t *o,
			     uint64_t arrived_ns, room_update_result_t *res)
{
	char wb[32];
	stats.rejected_too_large++;
	r->size_refusing = 1;
	if (o->conn) {
		/* as for a read-only token, the connection stays: closing would
		 * only make the client send it again at once. It keeps the refused
		 * content, and sends it with what it built on it when the room
		 * asks (resync_refused). The denial goes first: the deletions below
		 * may make room, and the resync that follows must come after it */
		size_t len;
		o->conn->size_refused = 1;
		send_msg(o->conn, proto_permission_denied(ROOM_TOO_LARGE_REASON, &len), &len, SEND_PLAIN);
	}
	uint8_t *dels;
	size_t dn;
	int rc = qc_update_deletions(u, n, &dels, &dn);
	log_debug("room %.*s: %s: update refused, the document holds %llu bytes of content (--max-doc-size %llu)%s",
		  (int)r->name_len, r->name, who(o, wb, sizeof wb), (unsigned long long)doc_size(r),
		  (unsigned long long)env.cfg->max_doc_size,
		  rc == QC_OK && dels ? "; its deletions are applied" : "");
	if (rc == QC_OK && dels) {
		integrate(r, doc, dels, dn, o, arrived_ns, res);
		free(dels);
		if (res->status != ROOM_UPDATE_STORING && res->status != ROOM_UPDATE_NOTHING &&
		    res->status != ROOM_UPDATE_PENDING)
			return; /* that refusal (out of memory, ...) says more */
	}
	res->status = ROOM_UPDATE_TOO_LARGE;
}

void room_update(room_t *r, const uint8_t *u, size_t n, const room_origin_t *o, room_update_result_t *res)
{
	uint64_t arrived_ns = mono_ns();
	memset(res, 0, sizeof *res);
	if (r->stale) {
		/* the reload is waiting for the room's writes in flight, which
		 * will most likely fail too: the client sends this again after
		 * it resyncs with the reloaded document */
		res->status = ROOM_UPDATE_STALE;
		return;
	}
	if (!r->nconns)
		r->idle_since_ms = env.now_ms(); /* an HTTP write keeps an unjoined room as a join would */
	qc_doc *doc = room_doc(r);
	if (!doc) {
		res->status = ROOM_UPDATE_UNAVAILABLE;
		return;
	}
	if (env.cfg->max_doc_size && doc_size(r) >= env.cfg->max_doc_size && adds_structs(doc, u, n) == 1) {
		refuse_too_large(r, doc, u, n, o, arrived_ns, res);
	} else {
		integrate(r, doc, u, n, o, arrived_ns, res);
	}
	if (!r->stale)
		size_check(r);
}

/* A document update from a WebSocket connection. */
static void on_update(room_t *r, conn_t *c, const uint8_t *u, size_t n)
{
	if (c->readonly) {
		if (qc_update_is_empty(u, n) == 1)
			return; /* an empty step 2: nothing to refuse */
		/* y-protocols auth: permission denied; nothing stored or relayed */
		size_t len;
		stats.rejected_readonly++;
		send_msg(c, proto_permission_denied("read-only token: updates are not accepted", &len), &len,
			 SEND_PLAIN);
		return;
	}
	room_origin_t o = {.conn = c};
	room_update_result_t res;
	room_update(r, u, n, &o, &res);
	switch (res.status) {
	case ROOM_UPDATE_STORING:
	case ROOM_UPDATE_NOTHING:
	case ROOM_UPDATE_PENDING:
		break;
	case ROOM_UPDATE_MALFORMED:
		conn_close(c, 1007, "malformed update");
		break;
	case ROOM_UPDATE_LIMIT:
		conn_close(c, 1008, "update exceeds a limit");
		break;
	case ROOM_UPDATE_CLOCK:
		conn_close(c, 1008, "clock limit");
		break;
	case ROOM_UPDATE_TOO_PENDING:
		conn_close(c, 1008, "too many pending updates");
		break;
	case ROOM_UPDATE_NOMEM:
		conn_close(c, 1011, "out of memory");
		break;
	case ROOM_UPDATE_STALE:
		conn_close(c, 1011, "storage failure");
		break;
	case ROOM_UPDATE_UNAVAILABLE:
		conn_close(c, 1011, unavailable());
		break;
	case ROOM_UPDATE_SHUTDOWN:
		conn_close(c, 1001, "server shutting down");
		break;
	case ROOM_UPDATE_TOO_LARGE:
		break; /* denied in refuse_too_large */
	}
}

static conn_t *find_conn(room_t *r, uint64_t id)
{
	for (h2o_linklist_t *l = r->conns.next; l != &r->conns; l = l->next) {
		conn_t *c = H2O_STRUCT_FROM_MEMBER(conn_t, room_link, l);
		if (c->id == id)
			return c;
	}
	return NULL;
}

void room_committed(room_job_t *j)
{
	room_t *r = j->room;
	r->inflight--;
	total_inflight--;
	room_waiter_t *w = j->waiter;
	if (w) { /* an HTTP request waits: it is told below, after the relay */
		w->job = NULL;
		j->waiter = NULL;
	}
	if (j->job.status != 0) {
		stats.store_failures++;
		/* nothing was stored or relayed: the sender is closed */
		int damaged = j->job.status == STORE_DAMAGED;
		conn_t *origin = j->origin ? find_conn(r, j->origin) : NULL;
		if (origin)
			conn_close(origin, 1011, damaged ? DAMAGED_REASON : "storage failure");
		qc_free(r->doc, j->job.data);
		free(j);
		if (w)
			w->done(w, damaged ? ROOM_WRITE_DAMAGED : 1, 0);
		/* the document took the update the store refused: without a
		 * reload, the sender would find it in the room's state vector
		 * when it reconnects, never send it again, and it would be lost
		 * with the room */
		mark_stale(r);
		return;
	}
	size_t len;
	uint8_t *msg = proto_sync(SYNC_UPDATE, j->job.data, j->job.len, &len);
	if (msg) {
		broadcast(r, msg, len, j->origin, SEND_PLAIN);
		stats.updates_relayed++;
	}
	free(msg);
	observe_latency(mono_ns() - j->arrived_ns); /* the relay is queued: each connection writes it this turn */
	size_t stored = j->job.len;
	qc_free(r->doc, j->job.data);
	free(j);
	if (w)
		w->done(w, 0, stored);
	if (r->stale && !r->inflight && !store_closing)
		room_reload(r); /* an earlier write of this room failed */
}

static void on_awareness(room_t *r, conn_t *c, const uint8_t *p, size_t n)
{
	static const aw_limits_t lim = {.max_state = 16384, .max_entries = 500, .max_per_owner = 16};
	stats.awareness_received++;
	int accepted = awareness_apply(&r->aw, p, n, c->id, env.now_ms(), &lim);
	if (accepted < 0) {
		stats.rejected_malformed++;
		log_info("room %.*s: conn %llu: malformed awareness update", (int)r->name_len, r->name,
			 (unsigned long long)c->id);
		conn_close(c, 1007, "malformed awareness update");
		return;
	}
	if (accepted == 0 && c->aw_echo_credit) {
		/* changed nothing: an echo of presence we sent (see enum send_kind) */
		c->aw_echo_credit--;
		conn_refund_message(c);
	}
	if (accepted > 0)
		presence_changed(r);
}

void room_receive(conn_t *c, const uint8_t *p, size_t n)
{
	room_t *r = c->room;
	if (!r)
		return;
	proto_msg_t m;
	int err = proto_parse(p, n, &m);
	if (err == PROTO_UNKNOWN) {
		stats.rejected_unknown++;
		log_info("room %.*s: conn %llu: unknown message type", (int)r->name_len, r->name,
			 (unsigned long long)c->id);
		conn_close(c, 1003, "unknown message type");
		return;
	}
	if (err) {
		stats.rejected_malformed++;
		log_info("room %.*s: conn %llu: malformed message (%zu bytes)", (int)r->name_len, r->name,
			 (unsigned long long)c->id, n);
		conn_close(c, 1007, "malformed message");
		return;
	}
	switch (m.type) {
	case MSG_SYNC:
		if (m.sync_type == SYNC_STEP1)
			on_step1(r, c, m.payload, m.len);
		else
			on_update(r, c, m.payload, m.len);
		break;
	case MSG_AWARENESS:
		on_awareness(r, c, m.payload, m.len);
		break;
	case MSG_QUERY_AWARENESS: {
		uint8_t *all;
		size_t alen, len;
		if (awareness_encode_all(&r->aw, &all, &alen) == 0) {
			static const uint8_t none[] = {0};
			send_msg(c, proto_awareness(all ? all : none, all ? alen : 1, &len), &len, SEND_PRESENCE);
			free(all);
		}
		break;
	}
	case MSG_AUTH:
		break; /* clients have nothing to tell us here; y-protocols ignores it too */
	}
}

void rooms_tick(uint64_t now_ms)
{
	for (size_t b = 0; b < BUCKETS; b++) {
		for (room_t *r = table[b], *next; r; r = next) {
			next = r->hnext;
			if (awareness_expire(&r->aw, now_ms, env.cfg->awareness_timeout_ms))
				presence_changed(r);
			if (r->doc && !r->trimmed && now_ms - r->changed_ms >= TRIM_QUIET_MS) {
				qc_doc_trim(r->doc);
				r->trimmed = 1;
			}
			/* unloaded only when the store holds all of it: no write in
			 * flight or refused (stale), nothing pending (held in memory
			 * only) */
			if (r->doc && env.cfg->doc_idle_ms && !r->inflight && !r->stale &&
			    now_ms - r->used_ms >= env.cfg->doc_idle_ms &&
			    !qc_doc_pending_bytes(r->doc)) {
				log_debug("room %.*s: document unloaded after %llu s unused (%zu connections)",
					  (int)r->name_len, r->name, (unsigned long long)(now_ms - r->used_ms) / 1000,
					  r->nconns);
				set_doc(r, NULL);
				stats.doc_unloads++;
			}
			if (r->nconns == 0 && r->inflight == 0 && now_ms - r->idle_since_ms >= env.cfg->room_idle_ms) {
				log_debug("room %.*s: evicted after idling", (int)r->name_len, r->name);
				room_free(r);
			}
		}
	}
}

int room_snapshot(const char *name, size_t len, uint8_t **out, size_t *out_len, int *found)
{
	room_t *r = find(name, len);
	/* a stale room's document holds what the store refused; an unloaded
	 * one is read from the store like a closed room's */
	if (r && !r->stale && r->doc) {
		uint8_t *state;
		size_t slen;
		if (qc_doc_encode_state(r->doc, NULL, 0, &state, &slen) != QC_OK)
			return -1;
		*out = malloc(slen ? slen : 1);
		if (*out)
			memcpy(*out, state, slen);
		qc_free(r->doc, state);
		if (!*out)
			return -1;
		*out_len = slen;
		*found = qc_update_is_empty(*out, slen) != 1 || r->inflight;
		return 0;
	}
	char err[256];
	int rc = store_load(env.store, name, len, out, out_len, found, err, sizeof err);
	if (rc) {
		log_error("document %.*s: %s", (int)len, name, err);
		return rc == STORE_DAMAGED ? ROOM_DAMAGED : -1;
	}
	return 0;
}

int room_render(const char *name, size_t len, int json, const char *root, char **out, size_t *out_len, int *found)
{
	room_t *r = find(name, len);
	qc_doc *doc, *loaded = NULL;
	*out = NULL;
	*out_len = 0;
	if (r && !r->stale && r->doc) { /* the room's own document: nothing to encode or load */
		doc = r->doc;
		uint8_t *sv;
		size_t svn;
		if (qc_doc_state_vector(doc, &sv, &svn) != QC_OK)
			return -1;
		qc_free(doc, sv);
		*found = svn > 1 || qc_doc_pending_bytes(doc) || r->inflight; /* as room_snapshot */
	} else {
		size_t stored;
		if (!(doc = loaded = load_doc(name, len, &stored, found)))
			return load_damaged ? ROOM_DAMAGED : -1;
	}
	char *s = NULL;
	size_t n = 0;
	int rc = !json ? qc_doc_text(doc, root, &s, &n)
		 : root ? qc_doc_root_json(doc, root, &s, &n)
			: qc_doc_json(doc, &s, &n);
	if (rc == QC_OK && (*out = malloc(n + 1))) {
		memcpy(*out, s, n);
		(*out)[n] = 0;
		*out_len = n;
	} else {
		log_error("document %.*s: cannot render it: %s", (int)len, name, qc_strerror(rc ? rc : QC_ERR_NOMEM));
	}
	if (s)
		qc_free(doc, s);
	qc_doc_free(loaded);
	return *out ? 0 : -1;
}

void rooms_get_stats(room_stats_t *out)
{
	*out = stats;
	out->doc_bytes = doc_mem.live;
}
size_t rooms_inflight(void) { return total_inflight; }
