/* libFuzzer target: the server's readers of request bytes that are not
 * WebSocket messages. The input is split at its first byte: one part is
 * read as an X-Forwarded-For header value (proxy_walk_xff, against a fixed
 * set of trusted networks), the other as an address, a network and a
 * document name from a URL. Whatever is accepted must print and read back
 * the same; a malformed element must point inside the header. */
#include "docname.h"
#include "proxy.h"

#include "must.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static proxy_list_t trusted;
	static int ready;
	if (!ready) {
		char err[128];
		MUST(proxy_list_add(&trusted, "10.0.0.0/8, 192.168.1.1, 2001:db8::/32, ::1, 127.0.0.1", err,
				    sizeof err) == NULL);
		ready = 1;
	}
	if (size == 0)
		return 0;
	size_t k = 1 + data[0] % size; /* the header is data[1..k) */
	const char *hv = (const char *)data + 1, *rest = (const char *)data + k;
	size_t hn = k - 1, rn = size - k;

	proxy_ip_t client, back;
	const char *bad = NULL;
	size_t bad_len = 0;
	char buf[64];
	proxy_xff_result_t r = proxy_walk_xff(&trusted, hv, hn, &client, &bad, &bad_len);
	MUST(r == PROXY_XFF_CLIENT || r == PROXY_XFF_ALL_TRUSTED || r == PROXY_XFF_MALFORMED);
	if (r == PROXY_XFF_MALFORMED) {
		MUST(bad >= hv && bad + bad_len <= hv + hn);
	} else {
		MUST(proxy_ip_str(&client, buf, sizeof buf) != NULL);
		MUST(proxy_parse_ip(buf, strlen(buf), &back) == 0 && memcmp(&back, &client, sizeof back) == 0);
		MUST(proxy_trusted(&trusted, &client) == (r == PROXY_XFF_ALL_TRUSTED));
	}

	proxy_ip_t ip;
	if (proxy_parse_ip(rest, rn, &ip) == 0) {
		MUST(rn <= PROXY_IP_MAXLEN);
		MUST(proxy_ip_str(&ip, buf, sizeof buf) != NULL);
		MUST(proxy_parse_ip(buf, strlen(buf), &back) == 0 && memcmp(&back, &ip, sizeof back) == 0);
	}
	proxy_net_t net;
	if (proxy_parse_net(rest, rn, &net) == NULL)
		MUST(net.prefix <= (net.ip.v6 ? 128 : 32));

	char name[256];
	int nl = doc_name_decode(rest, rn, name);
	MUST(nl == -1 || (nl >= 1 && nl <= 255 && (size_t)nl <= rn));
	if (nl > 0) { /* decoded names are made of the allowed characters and decode to themselves */
		char again[256];
		MUST(doc_name_decode(name, (size_t)nl, again) == nl && memcmp(again, name, (size_t)nl) == 0);
	}
	return 0;
}
