/* config: `quire serve` flags and their environment twins. */
#ifndef QUIRE_CONFIG_H
#define QUIRE_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "proxy.h"

#define CONFIG_MAX_LIST 16
#define CONFIG_FRAME_ANCESTORS_MAX 1024 /* bytes of the --frame-ancestors source list */

typedef struct config {
	char listen_host[256];
	unsigned listen_port;
	const char *data_dir;
	const char *web_dir; /* NULL: the built editor next to the binary, if any */
	const char *allow_origins[CONFIG_MAX_LIST];
	size_t n_allow_origins;
	const char *token_pubkeys[CONFIG_MAX_LIST];
	size_t n_token_pubkeys;
	const char *tls_cert, *tls_key; /* PEM files: serve HTTPS / wss only; both or neither */
	const char *revocations; /* revoked tokens (revoke.h), reread when it changes; NULL: none */
	uint64_t max_token_lifetime_ms; /* exp - iat (or - now without iat) above this is refused; 0: no cap */
	proxy_list_t trusted_proxies; /* peers whose X-Forwarded-For names the client */
	/* CSP frame-ancestors source list for the editor's pages, validated and
	 * with single spaces between sources; "" (the default): no frame-ancestors
	 * directive, so any page may frame the editor */
	char frame_ancestors[CONFIG_FRAME_ANCESTORS_MAX];
	int allow_anonymous;
	int dev;
	uint64_t max_message;     /* bytes of one WebSocket message */
	uint64_t max_http_body;   /* bytes of one HTTP request body (any route) */
	/* content (qc_doc_content_bytes: what is not deleted) at which a
	 * document takes deletions only; a quarter of it is the warning level;
	 * 0: no limit */
	uint64_t max_doc_size;
	uint64_t max_queue;       /* bytes queued to one connection */
	uint64_t max_connections; /* WebSocket connections in total */
	uint64_t max_conns_per_ip;   /* concurrent WebSocket connections per client address; 0: no limit */
	uint64_t connect_rate_per_ip; /* new WebSocket handshakes per minute per address (burst as many); 0: no limit */
	uint64_t room_opens_per_ip;  /* documents loaded into memory per minute per address; 0: no limit */
	uint64_t message_rate;       /* messages per second per connection (bursts of 4x); 0: no limit */
	uint64_t byte_rate;          /* payload bytes per second per connection; 0: no limit */
	uint64_t presence_interval_ms; /* a room sends at most one presence update per this; 0: each at once */
	uint64_t compact_after;   /* log entries per document before compaction */
	uint64_t map_size;        /* LMDB map size */
	uint64_t keepalive_ms, ping_ms, idle_timeout_ms, room_idle_ms, awareness_timeout_ms;
	uint64_t doc_idle_ms; /* a room's document unused this long is unloaded (room.c); 0: never */
	int log_level;
} config_t;

/* Parses `serve` arguments (argv[0] is "serve"). Returns 0 to run, 1 when
 * --help was printed, -1 on a bad flag or value (message already printed). */
int config_parse_serve(int argc, char **argv, config_t *cfg);

void config_print_serve_help(void);

/* Checks a --frame-ancestors value (a CSP source list: 'self', 'none', scheme
 * and host sources separated by spaces) and writes it to out with single
 * spaces. Returns 0, or -1 with the reason in why. */
int config_frame_ancestors(const char *v, char *out, size_t cap, char *why, size_t whycap);

#endif
