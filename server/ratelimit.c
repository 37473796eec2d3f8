/* Token buckets and the per-client-address table. See ratelimit.h. */
#include "ratelimit.h"

#include "hash.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define BUCKETS 4096
#define LOG_EVERY_MS 10000

void rl_bucket_init(rl_bucket_t *b, const rl_rate_t *r, uint64_t now_ms)
{
	b->level = r->burst * r->period_ms;
	b->last_ms = now_ms;
}

static void refill(rl_bucket_t *b, const rl_rate_t *r, uint64_t now_ms)
{
	uint64_t cap = r->burst * r->period_ms;
	uint64_t dt = now_ms > b->last_ms ? now_ms - b->last_ms : 0;
	b->last_ms = now_ms;
	/* dt * rate cannot overflow: dt < cap / rate here */
	if (dt >= (cap - b->level) / r->rate + 1)
		b->level = cap;
	else
		b->level += dt * r->rate;
}

int rl_take_n(rl_bucket_t *b, const rl_rate_t *r, uint64_t now_ms, uint64_t n, uint64_t *retry_ms)
{
	if (!r->rate)
		return 1;
	refill(b, r, now_ms);
	if (n > r->burst) {
		/* checked first: n * period_ms is then at most the capacity, which fits */
		if (retry_ms)
			*retry_ms = UINT64_MAX;
		return 0;
	}
	uint64_t need = n * r->period_ms;
	if (b->level >= need) {
		b->level -= need;
		return 1;
	}
	if (retry_ms)
		*retry_ms = (need - b->level + r->rate - 1) / r->rate;
	return 0;
}

int rl_take(rl_bucket_t *b, const rl_rate_t *r, uint64_t now_ms, uint64_t *retry_ms)
{
	return rl_take_n(b, r, now_ms, 1, retry_ms);
}

void rl_refund_n(rl_bucket_t *b, const rl_rate_t *r, uint64_t n)
{
	uint64_t cap = r->burst * r->period_ms;
	uint64_t give = n > r->burst ? cap : n * r->period_ms;
	b->level = cap - b->level > give ? b->level + give : cap;
}

void rl_refund(rl_bucket_t *b, const rl_rate_t *r) { rl_refund_n(b, r, 1); }

static int bucket_full(rl_bucket_t *b, const rl_rate_t *r, uint64_t now_ms)
{
	if (!r->rate)
		return 1;
	refill(b, r, now_ms);
	return b->level == r->burst * r->period_ms;
}

void rl_addr_from_ip(rl_addr_t *a, const proxy_ip_t *ip)
{
	memset(a, 0, sizeof *a);
	a->v6 = ip->v6;
	memcpy(a->bytes, ip->bytes, ip->v6 ? 8 : 4); /* an IPv6 address counts by its /64 */
}

const char *rl_addr_str(const rl_addr_t *a, char *buf, size_t cap)
{
	if (!a->v6) {
		if (!inet_ntop(AF_INET, a->bytes, buf, (socklen_t)cap))
			snprintf(buf, cap, "?");
		return buf;
	}
	uint8_t full[16] = {0};
	memcpy(full, a->bytes, 8);
	char tmp[INET6_ADDRSTRLEN];
	if (!inet_ntop(AF_INET6, full, tmp, sizeof tmp))
		snprintf(tmp, sizeof tmp, "?");
	snprintf(buf, cap, "%s/64", tmp);
	return buf;
}

struct rl_client {
	rl_client_t *hnext;
	rl_addr_t addr;
	uint64_t nconns;
	rl_bucket_t connects, room_opens, writes, write_bytes;
	uint64_t logged_ms, suppressed;
};

static rl_limits_t limits;
static rl_client_t *table[BUCKETS];
static size_t count;

/* hash seed, random per process: bucket choice cannot be predicted, so
 * addresses cannot be picked to pile into one chain */
static uint64_t seed;

void rl_init(const rl_limits_t *lim)
{
	limits = *lim;
	if (getrandom(&seed, sizeof seed, 0) != (ssize_t)sizeof seed)
		seed = (uint64_t)time(NULL) * 0x9e3779b97f4a7c15ull;
}

int rl_enabled(void)
{
	return limits.max_conns || limits.connects.rate || limits.room_opens.rate || limits.writes.rate ||
	       limits.write_bytes.rate;
}

static size_t bucket_of(const rl_addr_t *a)
{
	/* the family goes into the seed: the same bytes as IPv4 and IPv6 differ */
	return (size_t)(hash_fnv1a(a->bytes, sizeof a->bytes, seed ^ a->v6) % BUCKETS);
}

rl_client_t *rl_client(const rl_addr_t *a, uint64_t now_ms)
{
	if (!rl_enabled())
		return NULL;
	size_t b = bucket_of(a);
	for (rl_client_t *c = table[b]; c; c = c->hnext)
		if (c->addr.v6 == a->v6 && memcmp(c->addr.bytes, a->bytes, sizeof a->bytes) == 0)
			return c;
	rl_client_t *c = calloc(1, sizeof *c);
	if (!c)
		return NULL;
	c->addr = *a;
	rl_bucket_init(&c->connects, &limits.connects, now_ms);
	rl_bucket_init(&c->room_opens, &limits.room_opens, now_ms);
	rl_bucket_init(&c->writes, &limits.writes, now_ms);
	rl_bucket_init(&c->write_bytes, &limits.write_bytes, now_ms);
	c->hnext = table[b];
	table[b] = c;
	count++;
	return c;
}

int rl_conn_allowed(const rl_client_t *c) { return !limits.max_conns || c->nconns < limits.max_conns; }

int rl_take_connect(rl_client_t *c, uint64_t now_ms, uint64_t *retry_ms)
{
	return rl_take(&c->connects, &limits.connects, now_ms, retry_ms);
}

int rl_take_room_open(rl_client_t *c, uint64_t now_ms, uint64_t *retry_ms)
{
	return rl_take(&c->room_opens, &limits.room_opens, now_ms, retry_ms);
}

int rl_take_write(rl_client_t *c, uint64_t now_ms, uint64_t n, uint64_t *retry_ms)
{
	if (!rl_take(&c->writes, &limits.writes, now_ms, retry_ms))
		return 0;
	if (!rl_take_n(&c->write_bytes, &limits.write_bytes, now_ms, n, retry_ms)) {
		rl_refund(&c->writes, &limits.writes);
		return 0;
	}
	return 1;
}

void rl_conn_added(rl_client_t *c) { c->nconns++; }
void rl_conn_removed(rl_client_t *c) { c->nconns--; }
const rl_addr_t *rl_client_addr(const rl_client_t *c) { return &c->addr; }

int rl_should_log(rl_client_t *c, uint64_t now_ms, uint64_t *suppressed)
{
	if (c->logged_ms && now_ms - c->logged_ms < LOG_EVERY_MS) {
		c->suppressed++;
		return 0;
	}
	*suppressed = c->suppressed;
	c->suppressed = 0;
	c->logged_ms = now_ms;
	return 1;
}

void rl_tick(uint64_t now_ms)
{
	if (!count)
		return;
	for (size_t b = 0; b < BUCKETS; b++) {
		for (rl_client_t **pp = &table[b]; *pp;) {
			rl_client_t *c = *pp;
			if (c->nconns == 0 && bucket_full(&c->connects, &limits.connects, now_ms) &&
			    bucket_full(&c->room_opens, &limits.room_opens, now_ms) &&
			    bucket_full(&c->writes, &limits.writes, now_ms) &&
			    bucket_full(&c->write_bytes, &limits.write_bytes, now_ms) &&
			    (!c->logged_ms || now_ms - c->logged_ms >= LOG_EVERY_MS)) {
				*pp = c->hnext;
				free(c);
				count--;
			} else {
				pp = &c->hnext;
			}
		}
	}
}

size_t rl_count(void) { return count; }

void rl_free_all(void)
{
	for (size_t b = 0; b < BUCKETS; b++)
		while (table[b]) {
			rl_client_t *c = table[b];
			table[b] = c->hnext;
			free(c);
		}
	count = 0;
}
