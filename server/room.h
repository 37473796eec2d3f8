/* room: one document and the connections editing it.
 *
 * A room keeps the document's stored state (the merged Yjs update of every
 * committed update), its presence table and its connections. Incoming
 * messages are validated here; document updates go to the store and are
 * relayed to the other connections only after they are durably committed. */
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

typedef struct room_stats {
	uint64_t rooms, updates_received, updates_relayed, awareness_received, rejected_malformed,
	    rejected_unknown, rejected_readonly, store_failures;
	uint64_t reloads; /* documents loaded again from the store after a failed write */
	uint64_t presence_broadcasts; /* awareness updates rooms sent their members (one per flush) */
	uint64_t doc_bytes;	      /* what the rooms' documents hold (their allocations) */
} room_stats_t;

/* A stored update on its way back from the writer thread. */
typedef struct room_job {
	h2o_multithread_message_t msg; /* used by http.c to cross threads */
	store_job_t job;
	room_t *room;
	uint64_t origin; /* connection id that sent it */
} room_job_t;

void rooms_init(const rooms_env_t *env); /* after the loop exists: env->loop */
void rooms_shutdown(void); /* frees every room; no connections may remain */

/* Finds or loads the room for a document. NULL on a storage error. */
room_t *room_open(const char *name, size_t len);
int room_is_open(const char *name, size_t len); /* in memory: room_open loads nothing */
void room_join(room_t *r, conn_t *c);  /* sends sync step 1 and presence */
void room_leave(conn_t *c);            /* idempotent; broadcasts presence removal */
void room_receive(conn_t *c, const uint8_t *p, size_t n);
/* On the loop thread, after commit. A failed commit leaves the room's
 * document holding what the store refused: once none of the room's writes
 * is in flight, every connection of the room is closed (1011) to resync and
 * the document is loaded again from the store. */
void room_committed(room_job_t *j);
void rooms_store_closing(void);        /* before store_close: no more reloads */
void rooms_tick(uint64_t now_ms);      /* presence expiry, idle room eviction */

/* The stored state of a document for the HTTP API: from its open room if
 * any, else from the store. *found = 0 if it was never written. */
int room_snapshot(const char *name, size_t len, uint8_t **out, size_t *out_len, int *found);

void rooms_get_stats(room_stats_t *out);
size_t rooms_inflight(void);

#endif
