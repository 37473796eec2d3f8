/* proxy: trusted reverse proxies (--trusted-proxy) and the client address
 * they report in X-Forwarded-For.
 *
 * Behind a reverse proxy every TCP peer is the proxy. When the peer is one of
 * the configured proxies, the client is taken from X-Forwarded-For, read from
 * the right: each proxy appends the address of its own peer, so the rightmost
 * element is what the nearest proxy saw. While that element is itself a
 * trusted proxy, the walk goes on to the left (nginx's real_ip_recursive);
 * the first untrusted element is the client. Elements left of it were written
 * by the client or by proxies we do not know, and are never read.
 *
 * No I/O, no globals: everything here is a pure function of its arguments,
 * so tests/unit/ratelimit/test_proxy.c covers it without a server. */
#ifndef QUIRE_PROXY_H
#define QUIRE_PROXY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* One IP address. IPv4-mapped IPv6 addresses (::ffff:a.b.c.d, what a
 * dual-stack socket reports for an IPv4 peer) are stored as IPv4, so an
 * address matches the same networks whichever way it arrived. */
typedef struct proxy_ip {
	uint8_t v6;        /* 0: IPv4 in bytes[0..3]; 1: IPv6 in bytes[0..15] */
	uint8_t bytes[16]; /* network byte order; unused bytes are zero */
} proxy_ip_t;

/* A network: an address and a prefix length (32 or 128 for one host). The
 * address bits past the prefix are zero. */
typedef struct proxy_net {
	proxy_ip_t ip;
	uint8_t prefix;
} proxy_net_t;

#define PROXY_MAX_NETS 64

typedef struct proxy_list {
	proxy_net_t nets[PROXY_MAX_NETS];
	size_t n;
} proxy_list_t;

/* The longest element of X-Forwarded-For that can be an address: an IPv6
 * address in its longest text form (INET6_ADDRSTRLEN - 1). */
#define PROXY_IP_MAXLEN 45

/* Parses one address, "203.0.113.7" or "2001:db8::1" (no brackets, port or
 * zone), from s[0..len). Returns 0, or -1 when it is not exactly that. */
int proxy_parse_ip(const char *s, size_t len, proxy_ip_t *out);

/* Parses "ADDR" or "ADDR/PREFIX" from s[0..len) into *out (host bits past
 * the prefix are cleared: 10.1.2.3/8 is 10.0.0.0/8). Returns NULL, or a
 * static message saying what is wrong. */
const char *proxy_parse_net(const char *s, size_t len, proxy_net_t *out);

/* Adds every network of a comma-separated list ("10.0.0.1, 10.1.0.0/16")
 * to *l. Returns NULL, or err (cap bytes, filled in) saying which element is
 * wrong and why: an empty one, a bad one, more than PROXY_MAX_NETS in total.
 * On an error *l may hold the elements before the bad one. */
const char *proxy_list_add(proxy_list_t *l, const char *csv, char *err, size_t cap);

/* 1 if ip is inside one of l's networks, else 0. */
int proxy_trusted(const proxy_list_t *l, const proxy_ip_t *ip);

/* Fills *ip from a peer address; -1 for a family other than IPv4 / IPv6. */
int proxy_ip_from_sockaddr(proxy_ip_t *ip, const struct sockaddr *sa);

/* "203.0.113.7" or "2001:db8::1" into buf (at least 46 bytes). */
const char *proxy_ip_str(const proxy_ip_t *ip, char *buf, size_t cap);

typedef enum {
	PROXY_XFF_CLIENT = 0,    /* *client is an untrusted element: the client */
	PROXY_XFF_ALL_TRUSTED = 1, /* every element was a trusted proxy; *client is
				    * the leftmost; read the previous header next */
	PROXY_XFF_MALFORMED = -1 /* an element that had to be read is not an
				    * address; *bad / *bad_len point at it */
} proxy_xff_result_t;

/* Walks one X-Forwarded-For header value v[0..len) from the right, as
 * described at the top of this file. Several X-Forwarded-For headers form
 * one list (RFC 9110 5.3): call this for the last header first, then for the
 * one before it while the result is PROXY_XFF_ALL_TRUSTED. Spaces and tabs
 * around elements are ignored; an empty element (an empty header, "a,,b",
 * a trailing comma) or one longer than PROXY_IP_MAXLEN is malformed. */
proxy_xff_result_t proxy_walk_xff(const proxy_list_t *l, const char *v, size_t len, proxy_ip_t *client,
				  const char **bad, size_t *bad_len);

#endif
