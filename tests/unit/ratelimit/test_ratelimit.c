/* Unit tests for server/ratelimit.c: token-bucket arithmetic (burst, refill,
 * retry time, refund, huge gaps, a clock going backwards; several tokens at
 * once for --byte-rate), client addresses
 * (IPv4, IPv6 /64, IPv4-mapped, other families) and the per-address table
 * (connection counts, freeing idle entries, log throttling). */
#include "ratelimit.h"
#include "t.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

static void test_bucket(void)
{
	t_current = "bucket";
	/* 3 per minute, bursts of 3 */
	rl_rate_t r = {3, 3, 60000};
	rl_bucket_t b;
	uint64_t retry = 0;
	rl_bucket_init(&b, &r, 1000);
	CHECK_EQ_INT(rl_take(&b, &r, 1000, &retry), 1);
	CHECK_EQ_INT(rl_take(&b, &r, 1000, &retry), 1);
	CHECK_EQ_INT(rl_take(&b, &r, 1000, &retry), 1);
	CHECK_EQ_INT(rl_take(&b, &r, 1000, &retry), 0);
	CHECK_EQ_INT(retry, 20000); /* one token every 20 s */
	CHECK_EQ_INT(rl_take(&b, &r, 20999, &retry), 0);
	CHECK_EQ_INT(retry, 1);
	CHECK_EQ_INT(rl_take(&b, &r, 21000, &retry), 1);
	CHECK_EQ_INT(rl_take(&b, &r, 21000, &retry), 0);
	/* a refund gives one back, never more than the burst */
	rl_refund(&b, &r);
	CHECK_EQ_INT(rl_take(&b, &r, 21000, NULL), 1);
	for (int i = 0; i < 10; i++)
		rl_refund(&b, &r);
	int got = 0;
	while (got < 100 && rl_take(&b, &r, 21000, NULL))
		got++;
	CHECK_EQ_INT(got, 3);
	/* a long pause refills to the burst, not beyond (and does not overflow) */
	CHECK_EQ_INT(rl_take(&b, &r, UINT64_C(1) << 62, NULL), 1);
	got = 1;
	while (got < 100 && rl_take(&b, &r, UINT64_C(1) << 62, NULL))
		got++;
	CHECK_EQ_INT(got, 3);
	/* a clock going backwards refills nothing */
	CHECK_EQ_INT(rl_take(&b, &r, 5, &retry), 0);
	CHECK(retry > 0 && retry <= 20000);
	/* rate 0: unlimited */
	rl_rate_t un = {0, 0, 1000};
	rl_bucket_t u;
	rl_bucket_init(&u, &un, 0);
	for (int i = 0; i < 100000; i++)
		if (!rl_take(&u, &un, 0, NULL))
			got = -1;
	CHECK(got != -1);
	/* the largest flag values (UINT32_MAX per minute, bursts of 4x) */
	rl_rate_t big = {UINT32_MAX, UINT64_C(4) * UINT32_MAX, 60000};
	rl_bucket_t bb;
	rl_bucket_init(&bb, &big, 0);
	CHECK_EQ_INT(rl_take(&bb, &big, UINT64_C(1) << 40, NULL), 1);
}

/* rl_take_n, as --byte-rate uses it: a message's bytes at once. */
static void test_bucket_n(void)
{
	t_current = "bucket_n";
	/* 1000 bytes a second, bursts of 4000 */
	rl_rate_t r = {1000, 4000, 1000};
	rl_bucket_t b;
	uint64_t retry = 0;
	rl_bucket_init(&b, &r, 0);
	CHECK_EQ_INT(rl_take_n(&b, &r, 0, 3000, &retry), 1);
	/* 1000 left: 1500 does not fit and takes nothing */
	CHECK_EQ_INT(rl_take_n(&b, &r, 0, 1500, &retry), 0);
	CHECK_EQ_INT(retry, 500); /* 500 bytes more at 1 a millisecond */
	CHECK_EQ_INT(rl_take_n(&b, &r, 0, 1000, &retry), 1);
	CHECK_EQ_INT(rl_take_n(&b, &r, 0, 1, &retry), 0);
	CHECK_EQ_INT(retry, 1);
	/* refills at the rate: 250 bytes after 250 ms */
	CHECK_EQ_INT(rl_take_n(&b, &r, 250, 251, NULL), 0);
	CHECK_EQ_INT(rl_take_n(&b, &r, 250, 250, NULL), 1);
	/* n == 0 always fits; more than the burst never does, even when full */
	CHECK_EQ_INT(rl_take_n(&b, &r, 250, 0, NULL), 1);
	CHECK_EQ_INT(rl_take_n(&b, &r, 100000, 4001, &retry), 0);
	CHECK(retry == UINT64_MAX);
	CHECK_EQ_INT(rl_take_n(&b, &r, 100000, 4000, NULL), 1);
	/* huge n near the top of uint64_t does not overflow into a pass */
	rl_bucket_init(&b, &r, 0);
	CHECK_EQ_INT(rl_take_n(&b, &r, 0, UINT64_MAX, &retry), 0);
	CHECK_EQ_INT(rl_take_n(&b, &r, 0, UINT64_MAX / 1000 + 1, &retry), 0);
	CHECK_EQ_INT(rl_take_n(&b, &r, 0, 4000, NULL), 1);
	/* the largest --byte-rate (1 TiB/s) with the largest --max-message burst */
	rl_rate_t big = {UINT64_C(1) << 40, UINT64_C(1) << 50, 1000};
	rl_bucket_init(&b, &big, 0);
	CHECK_EQ_INT(rl_take_n(&b, &big, 0, UINT64_C(1) << 50, NULL), 1);
	CHECK_EQ_INT(rl_take_n(&b, &big, 0, 1, NULL), 0);
	CHECK_EQ_INT(rl_take_n(&b, &big, 1, UINT64_C(1) << 30, NULL), 1); /* 1 ms of 2^40/s */
	CHECK_EQ_INT(rl_take_n(&b, &big, UINT64_C(1) << 62, UINT64_C(1) << 50, NULL), 1);
	/* a refund of n gives n back, never beyond the burst */
	rl_bucket_init(&b, &r, 0);
	CHECK_EQ_INT(rl_take_n(&b, &r, 0, 4000, NULL), 1);
	rl_refund_n(&b, &r, 1500);
	CHECK_EQ_INT(rl_take_n(&b, &r, 0, 1501, NULL), 0);
	CHECK_EQ_INT(rl_take_n(&b, &r, 0, 1500, NULL), 1);
	rl_refund_n(&b, &r, 3000);
	rl_refund_n(&b, &r, 3000);
	rl_refund_n(&b, &r, UINT64_MAX);
	CHECK_EQ_INT(rl_take_n(&b, &r, 0, 4000, NULL), 1);
	CHECK_EQ_INT(rl_take_n(&b, &r, 0, 1, NULL), 0);
	/* rate 0: unlimited, whatever n */
	rl_rate_t un = {0, 0, 1000};
	rl_bucket_init(&b, &un, 0);
	CHECK_EQ_INT(rl_take_n(&b, &un, 0, UINT64_MAX, NULL), 1);
}

/* A peer address as http.c turns it into a client address: proxy.c reads
 * the socket address (IPv4-mapped IPv6 as IPv4), ratelimit.c keeps IPv4 or
 * the /64. -1 for another family. */
static int addr_from_sockaddr(rl_addr_t *a, const struct sockaddr *sa)
{
	proxy_ip_t ip;
	if (proxy_ip_from_sockaddr(&ip, sa))
		return -1;
	rl_addr_from_ip(a, &ip);
	return 0;
}

static void test_addr(void)
{
	t_current = "addresses";
	rl_addr_t a, b;
	char buf[64];
	struct sockaddr_in v4 = {0};
	v4.sin_family = AF_INET;
	inet_pton(AF_INET, "203.0.113.7", &v4.sin_addr);
	CHECK_EQ_INT(addr_from_sockaddr(&a, (struct sockaddr *)&v4), 0);
	CHECK(strcmp(rl_addr_str(&a, buf, sizeof buf), "203.0.113.7") == 0);
	/* the IPv4-mapped form is the same address */
	struct sockaddr_in6 m = {0};
	m.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "::ffff:203.0.113.7", &m.sin6_addr);
	CHECK_EQ_INT(addr_from_sockaddr(&b, (struct sockaddr *)&m), 0);
	CHECK(memcmp(&a, &b, sizeof a) == 0);
	/* IPv6: one /64 is one address */
	struct sockaddr_in6 s1 = {0}, s2 = {0}, s3 = {0};
	s1.sin6_family = s2.sin6_family = s3.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "2001:db8:1:2::1", &s1.sin6_addr);
	inet_pton(AF_INET6, "2001:db8:1:2:ffff:ffff:ffff:ffff", &s2.sin6_addr);
	inet_pton(AF_INET6, "2001:db8:1:3::1", &s3.sin6_addr);
	rl_addr_t x, y, z;
	CHECK_EQ_INT(addr_from_sockaddr(&x, (struct sockaddr *)&s1), 0);
	CHECK_EQ_INT(addr_from_sockaddr(&y, (struct sockaddr *)&s2), 0);
	CHECK_EQ_INT(addr_from_sockaddr(&z, (struct sockaddr *)&s3), 0);
	CHECK(memcmp(&x, &y, sizeof x) == 0);
	CHECK(memcmp(&x, &z, sizeof x) != 0);
	CHECK(strcmp(rl_addr_str(&x, buf, sizeof buf), "2001:db8:1:2::/64") == 0);
	/* an IPv4 address and an IPv6 /64 with the same leading bytes differ */
	struct sockaddr_in6 s4 = {0};
	s4.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "cb00:7107::", &s4.sin6_addr); /* 203.0.113.7 as the first bytes */
	CHECK_EQ_INT(addr_from_sockaddr(&b, (struct sockaddr *)&s4), 0);
	CHECK(memcmp(&a, &b, sizeof a) != 0);
	/* other families are refused */
	struct sockaddr_un un = {0};
	un.sun_family = AF_UNIX;
	CHECK_EQ_INT(addr_from_sockaddr(&a, (struct sockaddr *)&un), -1);
}

static rl_addr_t v4addr(const char *s)
{
	struct sockaddr_in v4 = {0};
	v4.sin_family = AF_INET;
	inet_pton(AF_INET, s, &v4.sin_addr);
	rl_addr_t a;
	addr_from_sockaddr(&a, (struct sockaddr *)&v4);
	return a;
}

static void test_table(void)
{
	t_current = "table";
	/* nothing configured: no entries at all */
	rl_limits_t none = {0, {0, 0, 60000}, {0, 0, 60000}, {0, 0, 1000}, {0, 0, 1000}};
	rl_init(&none);
	CHECK_EQ_INT(rl_enabled(), 0);
	rl_addr_t a = v4addr("192.0.2.1"), b = v4addr("192.0.2.2");
	CHECK(rl_client(&a, 0) == NULL);

	rl_limits_t lim = {2, {3, 3, 60000}, {2, 2, 60000}, {0, 0, 1000}, {0, 0, 1000}};
	rl_init(&lim);
	CHECK_EQ_INT(rl_enabled(), 1);
	rl_client_t *ca = rl_client(&a, 1000), *cb = rl_client(&b, 1000);
	CHECK(ca && cb && ca != cb);
	CHECK(rl_client(&a, 1000) == ca);
	CHECK_EQ_INT(rl_count(), 2);
	CHECK(memcmp(rl_client_addr(ca), &a, sizeof a) == 0);
	/* concurrent connections */
	CHECK_EQ_INT(rl_conn_allowed(ca), 1);
	rl_conn_added(ca);
	rl_conn_added(ca);
	CHECK_EQ_INT(rl_conn_allowed(ca), 0);
	CHECK_EQ_INT(rl_conn_allowed(cb), 1); /* per address */
	rl_conn_removed(ca);
	CHECK_EQ_INT(rl_conn_allowed(ca), 1);
	/* separate buckets for handshakes and document opens */
	uint64_t retry;
	CHECK_EQ_INT(rl_take_room_open(ca, 1000, &retry), 1);
	CHECK_EQ_INT(rl_take_room_open(ca, 1000, &retry), 1);
	CHECK_EQ_INT(rl_take_room_open(ca, 1000, &retry), 0);
	CHECK_EQ_INT(retry, 30000);
	CHECK_EQ_INT(rl_take_connect(ca, 1000, &retry), 1);
	/* log throttling: the first refusal, then one per 10 s with a count */
	uint64_t sup = 99;
	CHECK_EQ_INT(rl_should_log(ca, 1000, &sup), 1);
	CHECK_EQ_INT(sup, 0);
	CHECK_EQ_INT(rl_should_log(ca, 2000, &sup), 0);
	CHECK_EQ_INT(rl_should_log(ca, 3000, &sup), 0);
	CHECK_EQ_INT(rl_should_log(ca, 11000, &sup), 1);
	CHECK_EQ_INT(sup, 2);
	/* rl_tick keeps entries with a connection or a bucket not yet full,
	 * frees the others */
	rl_tick(1000);
	CHECK_EQ_INT(rl_count(), 1); /* b: idle and full; a: connected */
	rl_conn_removed(ca);
	rl_tick(30000); /* a's buckets still refilling */
	CHECK_EQ_INT(rl_count(), 1);
	rl_tick(1000000);
	CHECK_EQ_INT(rl_count(), 0);
	/* many addresses */
	for (int i = 0; i < 10000; i++) {
		char s[32];
		snprintf(s, sizeof s, "10.%d.%d.%d", i >> 16, (i >> 8) & 255, i & 255);
		rl_addr_t x = v4addr(s);
		if (!rl_client(&x, 0))
			t_failures++;
	}
	CHECK_EQ_INT(rl_count(), 10000);
	rl_free_all();
	CHECK_EQ_INT(rl_count(), 0);
}

static void test_writes(void)
{
	t_current = "writes";
	/* 2 writes a second (burst 4), 100 bytes a second (burst 400) */
	rl_limits_t lim = {0, {0, 0, 60000}, {0, 0, 60000}, {2, 4, 1000}, {100, 400, 1000}};
	rl_init(&lim);
	CHECK_EQ_INT(rl_enabled(), 1); /* the write budgets alone turn the table on */
	rl_addr_t a = v4addr("198.51.100.1"), b = v4addr("198.51.100.2");
	rl_client_t *ca = rl_client(&a, 0), *cb = rl_client(&b, 0);
	CHECK(ca && cb);
	uint64_t retry = 0;
	/* the byte budget refuses first: nothing is taken, the write count included */
	CHECK_EQ_INT(rl_take_write(ca, 0, 300, &retry), 1);
	CHECK_EQ_INT(rl_take_write(ca, 0, 200, &retry), 0);
	CHECK_EQ_INT(retry, 1000); /* 100 more bytes: one second */
	CHECK_EQ_INT(rl_take_write(ca, 0, 100, &retry), 1);
	CHECK_EQ_INT(rl_take_write(ca, 0, 0, &retry), 1);
	CHECK_EQ_INT(rl_take_write(ca, 0, 0, &retry), 1); /* 4 writes: the burst */
	CHECK_EQ_INT(rl_take_write(ca, 0, 0, &retry), 0);
	CHECK_EQ_INT(retry, 500);
	CHECK_EQ_INT(rl_take_write(cb, 0, 400, &retry), 1); /* per address */
	CHECK_EQ_INT(rl_take_write(ca, 500, 0, &retry), 1); /* refilled */
	/* entries stay while a write budget refills */
	rl_tick(1000);
	CHECK_EQ_INT(rl_count(), 2);
	rl_tick(100000);
	CHECK_EQ_INT(rl_count(), 0);
	rl_free_all();
}

int main(void)
{
	test_bucket();
	test_bucket_n();
	test_addr();
	test_table();
	test_writes();
	printf("test_ratelimit: %d checks, %d failures\n", t_checks, t_failures);
	return t_failures ? 1 : 0;
}
