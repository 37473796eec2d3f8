/* Trusted proxies and X-Forwarded-For. See proxy.h. */
#include "proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

/* Stores a 16-byte IPv6 address, as IPv4 when it is IPv4-mapped. */
static void set_v6(proxy_ip_t *ip, const uint8_t *p)
{
	memset(ip, 0, sizeof *ip);
	if (memcmp(p, v4mapped, sizeof v4mapped) == 0) {
		memcpy(ip->bytes, p + 12, 4);
	} else {
		ip->v6 = 1;
		memcpy(ip->bytes, p, 16);
	}
}

int proxy_parse_ip(const char *s, size_t len, proxy_ip_t *out)
{
	char buf[PROXY_IP_MAXLEN + 1];
	if (len == 0 || len > PROXY_IP_MAXLEN || memchr(s, 0, len))
		return -1;
	memcpy(buf, s, len);
	buf[len] = 0;
	/* inet_pton takes exactly the dotted quad (no octal, no short forms) and
	 * the RFC 4291 text forms; brackets, ports and zones fail */
	uint8_t b[16];
	if (memchr(buf, ':', len)) {
		if (inet_pton(AF_INET6, buf, b) != 1)
			return -1;
		set_v6(out, b);
		return 0;
	}
	if (inet_pton(AF_INET, buf, b) != 1)
		return -1;
	memset(out, 0, sizeof *out);
	memcpy(out->bytes, b, 4);
	return 0;
}

const char *proxy_parse_net(const char *s, size_t len, proxy_net_t *out)
{
	if (len == 0)
		return "empty address";
	const char *slash = memchr(s, '/', len);
	size_t alen = slash ? (size_t)(slash - s) : len;
	proxy_ip_t ip;
	if (proxy_parse_ip(s, alen, &ip))
		return "not an IPv4 or IPv6 address: expected ADDR or ADDR/PREFIX, e.g. 10.0.0.1, 10.0.0.0/8, fd00::/8";
	/* the prefix counts bits of the address as written: an IPv4-mapped
	 * IPv6 network (::ffff:10.0.0.0/104) is the IPv4 network 10.0.0.0/8 */
	int written_v6 = memchr(s, ':', alen) != NULL;
	unsigned max = written_v6 ? 128 : 32, prefix = max;
	if (slash) {
		const char *p = slash + 1, *end = s + len;
		if (p == end || end - p > 3)
			return written_v6 ? "the prefix must be a number from 0 to 128"
					  : "the prefix must be a number from 0 to 32";
		prefix = 0;
		for (; p < end; p++) {
			if (*p < '0' || *p > '9')
				return written_v6 ? "the prefix must be a number from 0 to 128"
						  : "the prefix must be a number from 0 to 32";
			prefix = prefix * 10 + (unsigned)(*p - '0');
		}
		if (prefix > max)
			return written_v6 ? "the prefix of an IPv6 network is at most 128"
					  : "the prefix of an IPv4 network is at most 32";
	}
	if (written_v6 && !ip.v6) {
		if (prefix < 96)
			return "an IPv4-mapped network (::ffff:a.b.c.d) needs a prefix of 96 or more";
		prefix -= 96;
	}
	/* clear the host bits, so matching compares whole bytes */
	size_t nbytes = ip.v6 ? 16 : 4;
	for (size_t i = 0; i < nbytes; i++) {
		unsigned bit = (unsigned)i * 8;
		if (bit >= prefix)
			ip.bytes[i] = 0;
		else if (prefix - bit < 8)
			ip.bytes[i] &= (uint8_t)(0xff << (8 - (prefix - bit)));
	}
	out->ip = ip;
	out->prefix = (uint8_t)prefix;
	return NULL;
}

static int is_space(char c) { return c == ' ' || c == '\t'; }

/* s[*start..*end) without the spaces and tabs around it */
static void trim(const char *s, size_t *start, size_t *end)
{
	while (*start < *end && is_space(s[*start]))
		(*start)++;
	while (*end > *start && is_space(s[*end - 1]))
		(*end)--;
}

const char *proxy_list_add(proxy_list_t *l, const char *csv, char *err, size_t cap)
{
	size_t len = strlen(csv), pos = 0;
	for (;;) {
		const char *comma = memchr(csv + pos, ',', len - pos);
		size_t start = pos, end = comma ? (size_t)(comma - csv) : len;
		trim(csv, &start, &end);
		proxy_net_t net;
		const char *why = start < end ? proxy_parse_net(csv + start, end - start, &net)
				  : comma || pos ? "an empty element in the list (two commas, or one at an end)"
						 : "empty value";
		if (!why && l->n >= PROXY_MAX_NETS)
			why = "too many trusted proxies (at most 64 networks)";
		if (why) {
			if (start == end)
				snprintf(err, cap, "%s", why);
			else
				snprintf(err, cap, "'%.*s': %s", (int)(end - start), csv + start, why);
			return err;
		}
		l->nets[l->n++] = net;
		if (!comma)
			return NULL;
		pos = (size_t)(comma - csv) + 1;
	}
}

static int in_net(const proxy_net_t *net, const proxy_ip_t *ip)
{
	if (net->ip.v6 != ip->v6)
		return 0;
	unsigned full = net->prefix / 8, rest = net->prefix % 8;
	if (memcmp(net->ip.bytes, ip->bytes, full) != 0)
		return 0;
	return !rest || ((ip->bytes[full] ^ net->ip.bytes[full]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

int proxy_trusted(const proxy_list_t *l, const proxy_ip_t *ip)
{
	for (size_t i = 0; i < l->n; i++)
		if (in_net(&l->nets[i], ip))
			return 1;
	return 0;
}

int proxy_ip_from_sockaddr(proxy_ip_t *ip, const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		memset(ip, 0, sizeof *ip);
		memcpy(ip->bytes, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		set_v6(ip, ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr);
		return 0;
	}
	return -1;
}

const char *proxy_ip_str(const proxy_ip_t *ip, char *buf, size_t cap)
{
	if (!inet_ntop(ip->v6 ? AF_INET6 : AF_INET, ip->bytes, buf, (socklen_t)cap))
		snprintf(buf, cap, "?");
	return buf;
}

proxy_xff_result_t proxy_walk_xff(const proxy_list_t *l, const char *v, size_t len, proxy_ip_t *client,
				  const char **bad, size_t *bad_len)
{
	size_t end = len;
	for (;;) {
		size_t start = end;
		while (start > 0 && v[start - 1] != ',')
			start--;
		size_t s = start, e = end;
		trim(v, &s, &e);
		if (proxy_parse_ip(v + s, e - s, client)) {
			*bad = v + s;
			*bad_len = e - s;
			return PROXY_XFF_MALFORMED;
		}
		if (!proxy_trusted(l, client))
			return PROXY_XFF_CLIENT;
		if (start == 0)
			return PROXY_XFF_ALL_TRUSTED;
		end = start - 1; /* the comma */
	}
}
