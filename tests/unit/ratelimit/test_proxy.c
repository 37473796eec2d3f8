/* Unit tests for server/proxy.c (--trusted-proxy): parsing addresses and
 * ADDR[/PREFIX] networks (IPv4, IPv6, IPv4-mapped, bad prefixes, host bits),
 * flag lists, matching (whole and partial bytes, families kept apart), peer
 * addresses, and the X-Forwarded-For walk (rightmost element, recursion over
 * trusted proxies, elements left of the client never read, malformed and
 * empty elements, several headers, lengths not NUL-terminated). */
#include "proxy.h"
#include "t.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

/* The address s as a string again ("?" when it does not parse). */
static const char *roundtrip(const char *s, char *buf, size_t cap)
{
	proxy_ip_t ip;
	if (proxy_parse_ip(s, strlen(s), &ip))
		return "?";
	return proxy_ip_str(&ip, buf, cap);
}

static void test_parse_ip(void)
{
	t_current = "parse_ip";
	char buf[64];
	proxy_ip_t ip;
	CHECK_EQ_INT(proxy_parse_ip("203.0.113.7", 11, &ip), 0);
	CHECK_EQ_INT(ip.v6, 0);
	CHECK_HEX(ip.bytes, 16, "cb 00 71 07 00 00 00 00 00 00 00 00 00 00 00 00");
	CHECK_EQ_INT(proxy_parse_ip("2001:db8::1", 11, &ip), 0);
	CHECK_EQ_INT(ip.v6, 1);
	CHECK_HEX(ip.bytes, 16, "20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01");
	/* IPv4-mapped IPv6 is the IPv4 address */
	CHECK_EQ_INT(proxy_parse_ip("::ffff:203.0.113.7", 18, &ip), 0);
	CHECK_EQ_INT(ip.v6, 0);
	CHECK_HEX(ip.bytes, 4, "cb 00 71 07");
	CHECK(strcmp(roundtrip("::FFFF:cb00:7107", buf, sizeof buf), "203.0.113.7") == 0);
	CHECK(strcmp(roundtrip("2001:DB8:0:0:0:0:0:1", buf, sizeof buf), "2001:db8::1") == 0);
	/* only the length given is read */
	CHECK_EQ_INT(proxy_parse_ip("10.0.0.1999", 8, &ip), 0);
	CHECK(strcmp(proxy_ip_str(&ip, buf, sizeof buf), "10.0.0.1") == 0);
	/* the longest IPv6 text form (45 characters) is accepted, one more is not */
	const char *longest = "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255";
	CHECK_EQ_INT(strlen(longest), PROXY_IP_MAXLEN);
	CHECK_EQ_INT(proxy_parse_ip(longest, strlen(longest), &ip), 0);
	CHECK_EQ_INT(proxy_parse_ip("0ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255", 46, &ip), -1);
	/* not an address: each must fail and leave *ip as it was */
	static const char *const bad[] = {
		"", " ", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1.2.3.4 ", " 1.2.3.4", "0x1.2.3.4",
		"1.2.3.4:80", "[2001:db8::1]", "[2001:db8::1]:443", "fe80::1%eth0", "1::2::3", "2001:db8::/32",
		"1.2.3.4/32", "unknown", "_hidden", "localhost", "::ffff:1.2.3", "12345::1", "1.2.3.-4",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		t_current = bad[i];
		memset(&ip, 0xaa, sizeof ip);
		CHECK_EQ_INT(proxy_parse_ip(bad[i], strlen(bad[i]), &ip), -1);
		CHECK_EQ_INT(ip.v6, 0xaa);
	}
	t_current = "parse_ip NUL";
	CHECK_EQ_INT(proxy_parse_ip("1.2.3.4\0" "5", 9, &ip), -1);
}

static proxy_net_t net(const char *s)
{
	proxy_net_t n;
	const char *why = proxy_parse_net(s, strlen(s), &n);
	if (why) {
		fprintf(stderr, "net(%s): %s\n", s, why);
		t_failures++;
		memset(&n, 0, sizeof n);
	}
	return n;
}

static proxy_ip_t ip_of(const char *s)
{
	proxy_ip_t ip;
	if (proxy_parse_ip(s, strlen(s), &ip)) {
		fprintf(stderr, "ip_of(%s): not an address\n", s);
		t_failures++;
		memset(&ip, 0, sizeof ip);
	}
	return ip;
}

static void test_parse_net(void)
{
	t_current = "parse_net";
	proxy_net_t n = net("10.0.0.0/8");
	CHECK_EQ_INT(n.prefix, 8);
	CHECK_EQ_INT(n.ip.v6, 0);
	/* a host without a prefix is /32 or /128 */
	CHECK_EQ_INT(net("192.0.2.1").prefix, 32);
	CHECK_EQ_INT(net("2001:db8::1").prefix, 128);
	CHECK_EQ_INT(net("0.0.0.0/0").prefix, 0);
	CHECK_EQ_INT(net("::/0").prefix, 0);
	CHECK_EQ_INT(net("10.0.0.1/032").prefix, 32);
	/* host bits past the prefix are cleared, also inside a byte */
	n = net("10.1.2.3/8");
	CHECK_HEX(n.ip.bytes, 4, "0a 00 00 00");
	n = net("192.168.1.255/25");
	CHECK_HEX(n.ip.bytes, 4, "c0 a8 01 80");
	n = net("2001:db8:ffff::1/36");
	CHECK_HEX(n.ip.bytes, 16, "20 01 0d b8 f0 00 00 00 00 00 00 00 00 00 00 00");
	/* an IPv4-mapped network counts its prefix over 128 bits */
	n = net("::ffff:10.0.0.0/104");
	CHECK_EQ_INT(n.ip.v6, 0);
	CHECK_EQ_INT(n.prefix, 8);
	CHECK_HEX(n.ip.bytes, 4, "0a 00 00 00");
	CHECK_EQ_INT(net("::ffff:10.0.0.1").prefix, 32);

	static const char *const bad[] = {
		"", "nonsense", "1.2.3.4/33", "1.2.3.4/", "1.2.3.4/-1", "1.2.3.4/+8", "1.2.3.4/ 8", "1.2.3.4/8 ",
		"1.2.3.4/1x", "1.2.3.4/0032", "1.2.3.4/8/8", "/8", "2001:db8::/129", "2001:db8::/1000",
		"::ffff:10.0.0.0/64", "1.2.3.4 /8", "10.0.0.0/8,", "[::1]/128", "1.2.3.4:80",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		t_current = bad[i];
		proxy_net_t out;
		const char *why = proxy_parse_net(bad[i], strlen(bad[i]), &out);
		CHECK(why != NULL && why[0] != 0);
	}
	/* the messages say what is wrong */
	t_current = "parse_net messages";
	proxy_net_t out;
	CHECK(strstr(proxy_parse_net("1.2.3.4/33", 10, &out), "at most 32") != NULL);
	CHECK(strstr(proxy_parse_net("::1/129", 7, &out), "at most 128") != NULL);
	CHECK(strstr(proxy_parse_net("nonsense", 8, &out), "not an IPv4 or IPv6 address") != NULL);
	CHECK(strstr(proxy_parse_net("", 0, &out), "empty") != NULL);
}

static void test_list(void)
{
	t_current = "list";
	char err[160];
	proxy_list_t l = {0};
	CHECK(proxy_list_add(&l, "127.0.0.1", err, sizeof err) == NULL);
	CHECK(proxy_list_add(&l, " 10.0.0.0/8 ,fd00::/8\t, 192.0.2.1", err, sizeof err) == NULL);
	CHECK_EQ_INT(l.n, 4);
	CHECK_EQ_INT(l.nets[1].prefix, 8);
	CHECK_EQ_INT(l.nets[2].ip.v6, 1);
	CHECK_EQ_INT(l.nets[3].prefix, 32);
	/* an empty value or element is an error, naming the bad element */
	static const char *const bad[] = {"", " ", ",", "10.0.0.1,", ",10.0.0.1", "10.0.0.1,,10.0.0.2", "nonsense"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		proxy_list_t m = {0};
		t_current = bad[i];
		CHECK(proxy_list_add(&m, bad[i], err, sizeof err) == err);
	}
	t_current = "list messages";
	proxy_list_t m = {0};
	CHECK(proxy_list_add(&m, "10.0.0.1, 1.2.3.4/33", err, sizeof err) == err);
	CHECK(strcmp(err, "'1.2.3.4/33': the prefix of an IPv4 network is at most 32") == 0);
	CHECK(proxy_list_add(&m, "", err, sizeof err) == err);
	CHECK(strcmp(err, "empty value") == 0);
	CHECK(proxy_list_add(&m, "10.0.0.1,", err, sizeof err) == err);
	CHECK(strstr(err, "empty element") != NULL);
	/* at most PROXY_MAX_NETS */
	proxy_list_t full = {0};
	for (int i = 0; i < PROXY_MAX_NETS; i++) {
		char s[32];
		snprintf(s, sizeof s, "10.0.%d.0/24", i);
		CHECK(proxy_list_add(&full, s, err, sizeof err) == NULL);
	}
	CHECK(proxy_list_add(&full, "10.1.0.1", err, sizeof err) == err);
	CHECK(strstr(err, "too many") != NULL);
	CHECK_EQ_INT(full.n, PROXY_MAX_NETS);
}

static int trusted_by(const char *nets, const char *ip)
{
	proxy_list_t l = {0};
	char err[160];
	if (proxy_list_add(&l, nets, err, sizeof err)) {
		fprintf(stderr, "trusted_by(%s): %s\n", nets, err);
		t_failures++;
	}
	proxy_ip_t a = ip_of(ip);
	return proxy_trusted(&l, &a);
}

static void test_match(void)
{
	t_current = "match";
	CHECK_EQ_INT(trusted_by("127.0.0.1", "127.0.0.1"), 1);
	CHECK_EQ_INT(trusted_by("127.0.0.1", "127.0.0.2"), 0);
	CHECK_EQ_INT(trusted_by("10.0.0.0/8", "10.255.1.2"), 1);
	CHECK_EQ_INT(trusted_by("10.0.0.0/8", "11.0.0.0"), 0);
	CHECK_EQ_INT(trusted_by("10.0.0.0/8", "9.255.255.255"), 0);
	/* a prefix inside a byte */
	CHECK_EQ_INT(trusted_by("192.168.1.0/25", "192.168.1.127"), 1);
	CHECK_EQ_INT(trusted_by("192.168.1.0/25", "192.168.1.128"), 0);
	CHECK_EQ_INT(trusted_by("192.168.1.0/31", "192.168.1.1"), 1);
	CHECK_EQ_INT(trusted_by("192.168.1.0/31", "192.168.1.2"), 0);
	CHECK_EQ_INT(trusted_by("2001:db8::/33", "2001:db8:7fff::1"), 1);
	CHECK_EQ_INT(trusted_by("2001:db8::/33", "2001:db8:8000::1"), 0);
	CHECK_EQ_INT(trusted_by("2001:db8::1", "2001:db8::1"), 1);
	CHECK_EQ_INT(trusted_by("2001:db8::1", "2001:db8::2"), 0);
	/* a network given with host bits matches its whole network */
	CHECK_EQ_INT(trusted_by("10.1.2.3/8", "10.9.9.9"), 1);
	/* /0 matches every address of its family, and only of its family */
	CHECK_EQ_INT(trusted_by("0.0.0.0/0", "203.0.113.7"), 1);
	CHECK_EQ_INT(trusted_by("0.0.0.0/0", "2001:db8::1"), 0);
	CHECK_EQ_INT(trusted_by("::/0", "2001:db8::1"), 1);
	CHECK_EQ_INT(trusted_by("::/0", "203.0.113.7"), 0);
	CHECK_EQ_INT(trusted_by("::/0", "::ffff:203.0.113.7"), 0);
	/* IPv4-mapped addresses and networks are IPv4 */
	CHECK_EQ_INT(trusted_by("10.0.0.0/8", "::ffff:10.0.0.1"), 1);
	CHECK_EQ_INT(trusted_by("::ffff:10.0.0.0/104", "10.2.3.4"), 1);
	/* any of several */
	CHECK_EQ_INT(trusted_by("192.0.2.1, fd00::/8, 10.0.0.0/8", "10.0.0.1"), 1);
	CHECK_EQ_INT(trusted_by("192.0.2.1, fd00::/8, 10.0.0.0/8", "fd12::1"), 1);
	CHECK_EQ_INT(trusted_by("192.0.2.1, fd00::/8, 10.0.0.0/8", "fe00::1"), 0);
	/* an empty list trusts nobody */
	proxy_list_t none = {0};
	proxy_ip_t any = ip_of("127.0.0.1");
	CHECK_EQ_INT(proxy_trusted(&none, &any), 0);
}

static void test_sockaddr(void)
{
	t_current = "sockaddr";
	char buf[64];
	proxy_ip_t ip;
	struct sockaddr_in v4 = {0};
	v4.sin_family = AF_INET;
	inet_pton(AF_INET, "127.0.0.2", &v4.sin_addr);
	CHECK_EQ_INT(proxy_ip_from_sockaddr(&ip, (struct sockaddr *)&v4), 0);
	CHECK(strcmp(proxy_ip_str(&ip, buf, sizeof buf), "127.0.0.2") == 0);
	/* what a dual-stack socket reports for an IPv4 peer */
	struct sockaddr_in6 m = {0};
	m.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "::ffff:127.0.0.2", &m.sin6_addr);
	proxy_ip_t mapped;
	CHECK_EQ_INT(proxy_ip_from_sockaddr(&mapped, (struct sockaddr *)&m), 0);
	CHECK(memcmp(&ip, &mapped, sizeof ip) == 0);
	inet_pton(AF_INET6, "2001:db8::7", &m.sin6_addr);
	CHECK_EQ_INT(proxy_ip_from_sockaddr(&ip, (struct sockaddr *)&m), 0);
	CHECK_EQ_INT(ip.v6, 1);
	CHECK(strcmp(proxy_ip_str(&ip, buf, sizeof buf), "2001:db8::7") == 0);
	struct sockaddr_un un = {0};
	un.sun_family = AF_UNIX;
	CHECK_EQ_INT(proxy_ip_from_sockaddr(&ip, (struct sockaddr *)&un), -1);
}

/* Walks one header value with the proxies 127.0.0.1, 10.0.0.0/8 and
 * fd00::/8; *out: the client's text, or the malformed element in brackets. */
static proxy_xff_result_t walk(const char *v, size_t len, char *out, size_t cap)
{
	proxy_list_t l = {0};
	char err[160];
	proxy_list_add(&l, "127.0.0.1, 10.0.0.0/8, fd00::/8", err, sizeof err);
	proxy_ip_t client;
	const char *bad = NULL;
	size_t bad_len = 0;
	proxy_xff_result_t r = proxy_walk_xff(&l, v, len, &client, &bad, &bad_len);
	if (r == PROXY_XFF_MALFORMED)
		snprintf(out, cap, "[%.*s]", (int)bad_len, bad);
	else
		proxy_ip_str(&client, out, cap);
	return r;
}

static void test_walk(void)
{
	char got[128];
	static const struct {
		const char *xff;
		proxy_xff_result_t r;
		const char *want;
	} cases[] = {
	    /* the rightmost element, appended by the proxy */
	    {"198.51.100.1", PROXY_XFF_CLIENT, "198.51.100.1"},
	    {"2001:db8::5", PROXY_XFF_CLIENT, "2001:db8::5"},
	    {"::ffff:198.51.100.1", PROXY_XFF_CLIENT, "198.51.100.1"},
	    /* what the client wrote itself (left of it) is never used */
	    {"203.0.113.9, 198.51.100.1", PROXY_XFF_CLIENT, "198.51.100.1"},
	    {"127.0.0.1,198.51.100.1", PROXY_XFF_CLIENT, "198.51.100.1"},
	    /* nor read: garbage left of the client is no error */
	    {"garbage, 198.51.100.1", PROXY_XFF_CLIENT, "198.51.100.1"},
	    {", 198.51.100.1", PROXY_XFF_CLIENT, "198.51.100.1"},
	    /* trusted proxies on the right are skipped */
	    {"198.51.100.1, 10.0.0.5", PROXY_XFF_CLIENT, "198.51.100.1"},
	    {"203.0.113.9, 198.51.100.1, 10.0.0.5, fd00::9, 127.0.0.1", PROXY_XFF_CLIENT, "198.51.100.1"},
	    {"garbage, 198.51.100.1, 10.0.0.5", PROXY_XFF_CLIENT, "198.51.100.1"},
	    /* only trusted proxies: the leftmost, and the previous header is next */
	    {"10.0.0.6, 10.0.0.5", PROXY_XFF_ALL_TRUSTED, "10.0.0.6"},
	    {"127.0.0.1", PROXY_XFF_ALL_TRUSTED, "127.0.0.1"},
	    /* spaces and tabs around elements */
	    {" \t198.51.100.1 \t", PROXY_XFF_CLIENT, "198.51.100.1"},
	    {"198.51.100.1 ,\t10.0.0.5", PROXY_XFF_CLIENT, "198.51.100.1"},
	    /* malformed: the element that had to be read */
	    {"", PROXY_XFF_MALFORMED, "[]"},
	    {"  ", PROXY_XFF_MALFORMED, "[]"},
	    {"198.51.100.1,", PROXY_XFF_MALFORMED, "[]"},
	    {"198.51.100.1, ", PROXY_XFF_MALFORMED, "[]"},
	    {"nonsense", PROXY_XFF_MALFORMED, "[nonsense]"},
	    {"198.51.100.1:443", PROXY_XFF_MALFORMED, "[198.51.100.1:443]"},
	    {"[2001:db8::1]", PROXY_XFF_MALFORMED, "[[2001:db8::1]]"},
	    {"unknown", PROXY_XFF_MALFORMED, "[unknown]"},
	    {"198.51.100.1, x, 10.0.0.5", PROXY_XFF_MALFORMED, "[x]"},
	    {"198.51.100.1,,10.0.0.5", PROXY_XFF_MALFORMED, "[]"},
	    {"ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.2550", PROXY_XFF_MALFORMED,
	     "[ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.2550]"},
	    {"1111111111111111111111111111111111111111111111111111111111111111", PROXY_XFF_MALFORMED,
	     "[1111111111111111111111111111111111111111111111111111111111111111]"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		t_current = cases[i].xff;
		proxy_xff_result_t r = walk(cases[i].xff, strlen(cases[i].xff), got, sizeof got);
		CHECK_EQ_INT(r, cases[i].r);
		if (strcmp(got, cases[i].want) != 0) {
			t_failures++;
			fprintf(stderr, "walk(\"%s\"): got %s, want %s\n", cases[i].xff, got, cases[i].want);
		}
		t_checks++;
	}
	/* a header value is not NUL-terminated: only len bytes are read */
	t_current = "walk length";
	CHECK_EQ_INT(walk("198.51.100.1, 10.0.0.5X", 22, got, sizeof got), PROXY_XFF_CLIENT);
	CHECK(strcmp(got, "198.51.100.1") == 0);
	CHECK_EQ_INT(walk("10.0.0.5, 198.51.100.1", 8, got, sizeof got), PROXY_XFF_ALL_TRUSTED);
	CHECK(strcmp(got, "10.0.0.5") == 0);

	/* several headers are one list: last header first, then the one before */
	t_current = "walk headers";
	proxy_list_t l = {0};
	char err[160];
	proxy_list_add(&l, "10.0.0.0/8", err, sizeof err);
	proxy_ip_t client;
	const char *bad;
	size_t bad_len;
	static const char h1[] = "203.0.113.9, 198.51.100.7", h2[] = "10.0.0.2, 10.0.0.1";
	CHECK_EQ_INT(proxy_walk_xff(&l, h2, sizeof h2 - 1, &client, &bad, &bad_len), PROXY_XFF_ALL_TRUSTED);
	CHECK_EQ_INT(proxy_walk_xff(&l, h1, sizeof h1 - 1, &client, &bad, &bad_len), PROXY_XFF_CLIENT);
	CHECK(strcmp(proxy_ip_str(&client, got, sizeof got), "198.51.100.7") == 0);
}

int main(void)
{
	test_parse_ip();
	test_parse_net();
	test_list();
	test_match();
	test_sockaddr();
	test_walk();
	return t_report("test_proxy");
}
