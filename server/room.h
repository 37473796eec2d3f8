/* room: one document and the connections editing it.
 *
 * A room keeps the document's stored state (the merged Yjs update of every
 * committed update), its presence table and its connections. A document
 * nothing has used for --doc-idle-timeout is unloaded while its room stays
 * open, and loaded again from the store at its next use. Incoming
 * messages are validated here; document updates go to the store and are
 * relayed to the other connections only after they are durably committed.
 * A document at --max-doc-size (its content) takes deletions only:
 * the room refuses updates that add structs, and asks the connections it
 * refused for their edits again once deletions made room. */
#ifndef QUIRE_ROOM_H
#define QUIRE_ROOM_H

#include "awareness.h"
#include "conn.h"
#include "store.h"

#include <stddef.h>
#include <stdint.h>

typedef struct room room_t;

typedef struct rooms_env {
	store_t *store;
	const struct config *cfg;
	uint64_t (*now_ms)(void);
	h2o_loop_t *loop; /* runs the --presence-interval flushes */
} rooms_env_t;

/* Bounds of the update latency histogram (room_stats_t.latency_le), in
 * microseconds, ascending. */
#define ROOM_LATENCY_BUCKETS 12
extern const uint64_t room_latency_bounds_us[ROOM_LATENCY_BUCKETS];

typedef struct room_stats {
	uint64_t rooms, updates_received, updates_relayed, awareness_received, rejected_malformed,
	    rejected_unknown, rejected_readonly, store_failures;
	uint64_t reloads; /* documents loaded again from the store after a failed write */
	uint64_t rejected_too_large; /* updates refused by --max-doc-size (their deletions went through) */
	uint64_t presence_broadcasts; /* awareness updates rooms sent their members (one per flush) */
	uint64_t doc_bytes;	      /* what the rooms' documents hold (their allocations) */
	uint64_t docs_loaded;	      /* rooms whose document is in memory (not unloaded) */
	/* updates from arrival to relay (room_update to room_committed, the
	 * durable commit in between): count of those at or under each bound
	 * of room_latency_bounds_us (not cumulative), the rest, and their sum */
	uint64_t latency_le[ROOM_LATENCY_BUCKETS], latency_over, latency_sum_ns;
	uint64_t doc_unloads;	      /* documents unloaded after --doc-idle-timeout unused */
} room_stats_t;

typedef struct room_job room_job_t;

/* An HTTP request waiting for the commit of the update it sent (http.c keeps
 * it in the request's memory). job and the job's waiter point at each other
 * until one side goes: room_committed clears both before calling done; the
 * request's disposal (its client left) clears the job's, and the write goes
 * on without it. */
#define ROOM_WRITE_DAMAGED 2
typedef struct room_waiter {
	room_job_t *job;
	/* after the commit and the relay: failed 0 with the stored bytes, or 1
	 * when the commit failed (nothing stored), ROOM_WRITE_DAMAGED when the
	 * store refused it for a damaged value of the document */
	void (*done)(struct room_waiter *w, int failed, size_t stored);
} room_waiter_t;

/* A stored update on its way back from the writer thread. */
struct room_job {
	h2o_multithread_message_t msg; /* used by http.c to cross threads */
	store_job_t job;
	room_t *room;
	uint64_t origin;       /* connection id that sent it; 0 for an HTTP request */
	uint64_t arrived_ns;   /* CLOCK_MONOTONIC when room_update took it */
	room_waiter_t *waiter; /* the HTTP request waiting for the commit, if any */
};

/* Who sent an update: a WebSocket connection (conn), or an HTTP request
 * (conn NULL; waiter, if given, is told the outcome of the commit). */
typedef struct room_origin {
	conn_t *conn;
	room_waiter_t *waiter;
} room_origin_t;

/* What room_update did with an update. */
typedef enum room_update_status {
	ROOM_UPDATE_STORING,	 /* something was newly integrated and is being committed (stored bytes) */
	ROOM_UPDATE_NOTHING,	 /* nothing new: a duplicate or an empty update */
	ROOM_UPDATE_PENDING,	 /* nothing integrated: structs or deletions of it wait for missing dependencies, in memory */
	ROOM_UPDATE_MALFORMED,	 /* refused whole: err says why */
	ROOM_UPDATE_LIMIT,	 /* past a limit of the crdt library (part may be stored: the capacity) */
	ROOM_UPDATE_CLOCK,	 /* a clock past 2^32-1: refused whole */
	ROOM_UPDATE_TOO_PENDING, /* the pending set passed 1 MiB and was dropped (what integrated is stored) */
	ROOM_UPDATE_NOMEM,	 /* out of memory (the room may have gone stale) */
	ROOM_UPDATE_STALE,	 /* the room holds a write the store refused: refused until it reloads */
	ROOM_UPDATE_SHUTDOWN,	 /* the store is closing */
	ROOM_UPDATE_UNAVAILABLE, /* the unloaded document could not be loaded again from the store */
	/* the document is at --max-doc-size and the update adds structs: they
	 * are refused; its deletions are applied and, if they changed anything
	 * (stored > 0), being committed: the waiter is told as for STORING */
	ROOM_UPDATE_TOO_LARGE,
} room_update_status_t;

/* What a client refused by --max-doc-size is told (WebSocket: y-protocols
 * permission denied; HTTP: the error of the 422) */
#define ROOM_TOO_LARGE_REASON "document too large: it takes deletions only (--max-doc-size)"

typedef struct room_update_result {
	room_update_status_t status;
	int err;	 /* qc_doc_apply_update's result */
	size_t stored;	 /* bytes newly integrated and submitted to the store (0: none) */
	int pending;	 /* part of the update waits for missing dependencies (qc_doc_update_held) */
} room_update_result_t;

void rooms_init(const rooms_env_t *env); /* after the loop exists: env->loop */
void rooms_shutdown(void); /* frees every room; no connections may remain */

/* Finds or loads the room for a document, with its document in memory
 * (loaded again if it was unloaded). NULL on a storage error; *damaged = 1
 * when that error is a stored value failing its checksum (store.h). */
room_t *room_open(const char *name, size_t len, int *damaged);
/* open with its document in memory: room_open loads nothing (a room whose
 * document was unloaded has to load it again) */
int room_is_loaded(const char *name, size_t len);
void room_join(room_t *r, conn_t *c);  /* sends sync step 1 and presence */
void room_leave(conn_t *c);            /* idempotent; broadcasts presence removal */
void room_receive(conn_t *c, const uint8_t *p, size_t n);
/* Integrates a document update into the room's document (the validation),
 * submits what it newly integrated to the store, and after the commit relays
 * it to the room's connections other than o->conn (room_committed). The one
 * path of WebSocket updates (room_receive) and HTTP writes. The origin's
 * waiter is attached only when the result is ROOM_UPDATE_STORING; the caller
 * answers every other status itself (a part of the update may still be
 * stored after a limit, see the statuses). */
void room_update(room_t *r, const uint8_t *u, size_t n, const room_origin_t *o, room_update_result_t *res);
/* On the loop thread, after commit. A failed commit leaves the room's
 * document holding what the store refused: once none of the room's writes
 * is in flight, every connection of the room is closed (1011) to resync and
 * the document is loaded again from the store. */
void room_committed(room_job_t *j);
void rooms_store_closing(void);        /* before store_close: no more reloads */
void rooms_tick(uint64_t now_ms);      /* presence expiry, idle room eviction */

/* Returned by room_snapshot and room_render when a stored value of the
 * document fails its checksum (store.h); clients of a room are closed with
 * 1011 "document damaged" then. */
#define ROOM_DAMAGED (-2)

/* The stored state of a document for the HTTP API: from its open room if
 * any, else from the store. *found = 0 if it was never written. Returns 0,
 * ROOM_DAMAGED or -1 (logged). */
int room_snapshot(const char *name, size_t len, uint8_t **out, size_t *out_len, int *found);
/* The same document rendered: the text of root (json 0), the JSON of root,
 * or of every root when root is NULL (quire/doc.h), read from the open room's
 * document itself or else loaded from the store. *out (NUL-terminated) is
 * released with free(). Returns 0, ROOM_DAMAGED or -1 (logged). */
int room_render(const char *name, size_t len, int json, const char *root, char **out, size_t *out_len, int *found);

void rooms_get_stats(room_stats_t *out);
size_t rooms_inflight(void);

#endif
