/* conn: one WebSocket client connection, as rooms see it. The transport
 * (h2o/wslay) lives in http.c; a room only queues bytes and asks to close. */
#ifndef QUIRE_CONN_H
#define QUIRE_CONN_H

#include <h2o.h>
#include <h2o/websocket.h>
#include <stdint.h>

#include "ratelimit.h"

struct room;

/* The most messages a connection may have queued for sending; past it the
 * connection is closed as a slow consumer. */
#define MAX_QUEUED_MSGS 4096

/* The most frames one received message may arrive in; wslay buffers every
 * fragment separately (about 90 bytes each besides its payload), so a
 * message of one-byte fragments would cost ~90x its size. Past it: 1009. */
#define MAX_FRAGMENTS 16384

typedef struct conn {
	uint64_t id;
	h2o_websocket_conn_t *ws;
	struct room *room; /* NULL once it left */
	h2o_linklist_t room_link;  /* in room->conns */
	h2o_linklist_t all_link;   /* in the server's list of connections */
	h2o_linklist_t dirty_link; /* waiting for a flush */
	uint64_t last_recv_ms, last_send_ms, last_ping_ms, closing_since_ms;
	int closing;
	int readonly; /* token scope ro: document updates are refused */
	/* --max-doc-size refused an update of it: once the document is below
	 * the limit again its room sends it a sync step 1 (room.c) */
	int size_refused;
	int64_t token_exp_ms; /* the token's exp (Unix ms); 0 for an anonymous connection */
	int64_t token_iat_ms; /* its iat, INT64_MIN without one */
	char *token_jti, *token_sub; /* its jti and sub (NULL when absent), for --revocations */
	rl_client_t *client;  /* its address's per-IP counters; NULL when none are kept */
	rl_bucket_t msg_budget; /* --message-rate */
	rl_bucket_t byte_budget; /* --byte-rate: payload bytes of received messages */
	uint64_t recv_len;       /* payload bytes of the message being received */
	uint32_t recv_frames;    /* frames of the message being received */
	/* the largest message queued since the backlog was last found empty:
	 * the backlog may hold it on top of --max-queue (a sync step 2 as large
	 * as the document), see conn_send */
	size_t big;
	/* presence messages sent to this connection that it may echo without
	 * cost: y-websocket sends every awareness change it receives back */
	uint32_t aw_echo_credit;
	/* outbound bytes (whole frames): out collects, fly is being written; one
	 * write per flush carries every frame queued since the last one */
	struct conn_buf {
		uint8_t *p;
		size_t n, cap;
		size_t msgs;
	} out, fly;
} conn_t;

/* Queues one binary message (copied). A connection whose backlog would
 * exceed --max-queue plus the largest message queued since its backlog was
 * last empty is closed with 1008 instead: one message of any size (a whole
 * document) gets through, and --max-queue bounds what piles up beside it. */
void conn_send(conn_t *c, const uint8_t *p, size_t n);

/* Gives back the --message-rate token and the --byte-rate bytes the message
 * being received took (a message that turned out to cost nothing: a
 * presence echo). */
void conn_refund_message(conn_t *c);

/* Starts the close handshake with a code and reason; the connection leaves
 * its room at once and is freed when the handshake ends or times out. */
void conn_close(conn_t *c, uint16_t code, const char *reason);

#endif
