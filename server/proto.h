/* proto: the y-websocket wire protocol (sync, awareness, auth, query
 * awareness). Parses one WebSocket message into a typed view and builds
 * outgoing messages. Pure functions, no state, no I/O. */
#ifndef QUIRE_PROTO_H
#define QUIRE_PROTO_H

#include <stddef.h>
#include <stdint.h>

enum { MSG_SYNC = 0, MSG_AWARENESS = 1, MSG_AUTH = 2, MSG_QUERY_AWARENESS = 3 };
enum { SYNC_STEP1 = 0, SYNC_STEP2 = 1, SYNC_UPDATE = 2 };

enum {
	PROTO_OK = 0,
	PROTO_MALFORMED = -1, /* truncated or garbage: close 1007 */
	PROTO_UNKNOWN = -2,   /* well-formed but unknown message or sync type: close 1003 */
};

typedef struct proto_msg {
	unsigned type;      /* MSG_* */
	unsigned sync_type; /* SYNC_* when type == MSG_SYNC */
	const uint8_t *payload; /* sync payload / awareness update / auth body */
	size_t len;
} proto_msg_t;

int proto_parse(const uint8_t *p, size_t n, proto_msg_t *m);

/* Outgoing messages; malloc()ed, NULL on allocation failure. */
uint8_t *proto_sync(unsigned sync_type, const uint8_t *payload, size_t len, size_t *out_len);
uint8_t *proto_awareness(const uint8_t *update, size_t len, size_t *out_len);
uint8_t *proto_permission_denied(const char *reason, size_t *out_len);

#endif
