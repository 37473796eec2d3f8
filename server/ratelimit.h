/* ratelimit: token buckets, and the per-client-address table behind the
 * per-IP limits of `quire serve` (concurrent connections, new connections per
 * minute, documents opened per minute, HTTP writes and their bytes per second).
 *
 * Everything here runs on the loop thread; nothing locks. */
#ifndef QUIRE_RATELIMIT_H
#define QUIRE_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

#include "proxy.h"

/* A token bucket: `burst` tokens, refilled at `rate` tokens per `period_ms`.
 * One token is period_ms units of `level`, so refilling is an integer
 * rate units per millisecond. Starts full (rl_bucket_init). */
typedef struct rl_bucket {
	uint64_t level, last_ms;
} rl_bucket_t;

typedef struct rl_rate {
	uint64_t rate, burst, period_ms; /* rate 0: unlimited */
} rl_rate_t;

void rl_bucket_init(rl_bucket_t *b, const rl_rate_t *r, uint64_t now_ms);

/* Takes one token: 1, or 0 when the bucket is empty (then *retry_ms, if not
 * NULL, is the wait until one is back). An unlimited rate always gives 1. */
int rl_take(rl_bucket_t *b, const rl_rate_t *r, uint64_t now_ms, uint64_t *retry_ms);

/* Takes n tokens at once (e.g. a message's bytes): 1, or 0 when fewer than n
 * are left, taking none (then *retry_ms, if not NULL, is the wait until n are
 * back; UINT64_MAX when n is more than the burst and never fits). */
int rl_take_n(rl_bucket_t *b, const rl_rate_t *r, uint64_t now_ms, uint64_t n, uint64_t *retry_ms);

/* Gives back one token taken by rl_take (up to the burst). */
void rl_refund(rl_bucket_t *b, const rl_rate_t *r);
/* Gives back n tokens taken by rl_take_n (up to the burst). */
void rl_refund_n(rl_bucket_t *b, const rl_rate_t *r, uint64_t n);

/* One client address: an IPv4 address, or an IPv6 /64 (one site's
 * addresses; a single host usually holds a whole /64). IPv4-mapped IPv6
 * addresses count as their IPv4 address. */
typedef struct rl_addr {
	uint8_t v6; /* 0: bytes[0..3] hold IPv4, 1: bytes[0..7] an IPv6 /64 */
	uint8_t bytes[8];
} rl_addr_t;

/* The client address of an IP address (proxy.h: IPv4-mapped IPv6 addresses
 * are IPv4 there already). */
void rl_addr_from_ip(rl_addr_t *a, const proxy_ip_t *ip);
/* "203.0.113.7" or "2001:db8:1:2::/64" into buf (at least 64 bytes). */
const char *rl_addr_str(const rl_addr_t *a, char *buf, size_t cap);

typedef struct rl_limits {
	uint64_t max_conns;  /* concurrent connections per address; 0: unlimited */
	rl_rate_t connects;  /* new WebSocket handshakes */
	rl_rate_t room_opens; /* documents loaded into memory */
	rl_rate_t writes, write_bytes; /* HTTP writes (POST /api/docs/.../update) and their body bytes */
} rl_limits_t;

typedef struct rl_client rl_client_t; /* one address's counters */

void rl_init(const rl_limits_t *lim);
int rl_enabled(void); /* any per-address limit configured */

/* The entry for an address, created when missing (NULL when out of memory,
 * or when no per-address limit is configured). Valid until rl_tick() frees
 * it, which it never does while it holds a connection. */
rl_client_t *rl_client(const rl_addr_t *a, uint64_t now_ms);

int rl_conn_allowed(const rl_client_t *c); /* below max_conns */
int rl_take_connect(rl_client_t *c, uint64_t now_ms, uint64_t *retry_ms);
int rl_take_room_open(rl_client_t *c, uint64_t now_ms, uint64_t *retry_ms);
/* One HTTP write of n body bytes: 1, or 0 taking nothing (either budget short) */
int rl_take_write(rl_client_t *c, uint64_t now_ms, uint64_t n, uint64_t *retry_ms);
void rl_conn_added(rl_client_t *c);
void rl_conn_removed(rl_client_t *c);
const rl_addr_t *rl_client_addr(const rl_client_t *c);

/* Whether a refusal for this address should be logged now: the first one,
 * then at most one every 10 s (*suppressed: how many were not logged since). */
int rl_should_log(rl_client_t *c, uint64_t now_ms, uint64_t *suppressed);

/* Frees entries with no connection whose buckets are full again. */
void rl_tick(uint64_t now_ms);
size_t rl_count(void); /* entries held */
void rl_free_all(void);

#endif
