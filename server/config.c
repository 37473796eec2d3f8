#include "config.h"

#include "log.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void config_print_serve_help(void)
{
	fputs("usage: quire serve [options]\n"
	      "\n"
	      "Runs the sync server: the web editor at /, WebSocket rooms at /ws/{doc},\n"
	      "the HTTP API at /api/docs/{doc}/..., /metrics and /healthz, all on one port.\n"
	      "Every option has an environment twin, shown in brackets; flags win.\n"
	      "\n"
	      "  --listen HOST:PORT      address to listen on [QUIRE_LISTEN] (127.0.0.1:8080;\n"
	      "                          [::1]:8080 for IPv6; port 0 picks a free port)\n"
	      "  --data DIR              LMDB data directory [QUIRE_DATA] (./quire-data)\n"
	      "  --web DIR               static files served at / [QUIRE_WEB]\n"
	      "                          (default: the built editor, web-editor/dist)\n"
	      "  --token-pubkey FILE     accept session tokens signed by this public key (k4.public,\n"
	      "                          from quire keygen); repeat for key rotation\n"
	      "                          [QUIRE_TOKEN_PUBKEY, comma-separated]\n"
	      "  --tls-cert FILE         serve HTTPS and wss:// only, with this certificate chain (PEM)\n"
	      "                          [QUIRE_TLS_CERT]; needs --tls-key. TLS 1.2 and 1.3; plain\n"
	      "                          HTTP on the port is refused; SIGHUP rereads both files\n"
	      "  --tls-key FILE          the certificate's private key (PEM, no passphrase), closed to\n"
	      "                          other users (mode 0600; 0640 warns) [QUIRE_TLS_KEY]\n"
	      "  --revocations FILE      revoked tokens, one rule a line: \"jti ID\" (one token) or\n"
	      "                          \"sub TIME USER\" (USER's tokens issued before TIME, RFC 3339);\n"
	      "                          reread within a second of a change, and connections holding a\n"
	      "                          revoked token are closed with 4403 [QUIRE_REVOCATIONS]\n"
	      "  --max-token-lifetime SECONDS\n"
	      "                          refuse tokens valid for longer (exp - iat, or exp - now without\n"
	      "                          iat); 0: no cap (0) [QUIRE_MAX_TOKEN_LIFETIME]\n"
	      "  --allow-origin ORIGIN   accept WebSocket handshakes only from these Origins,\n"
	      "                          repeatable [QUIRE_ALLOW_ORIGIN, comma-separated]\n"
	      "  --allow-anonymous       admit connections without a token as read-write (tokens that\n"
	      "                          are given are still checked) [QUIRE_ALLOW_ANONYMOUS=1]\n"
	      "  --dev                   development mode: without keys, creates DATA/dev-token-key and\n"
	      "                          prints an editor URL with a token [QUIRE_DEV=1]\n"
	      "  --max-message BYTES     largest WebSocket message (16M) [QUIRE_MAX_MESSAGE]\n"
	      "  --max-http-body BYTES   largest HTTP request body on any route, so also the largest\n"
	      "                          update written over HTTP; a larger one gets 413 (1M)\n"
	      "                          [QUIRE_MAX_HTTP_BODY]\n"
	      "  --max-doc-size BYTES    a document whose content (text, values and names of what is not\n"
	      "                          deleted) reaches this takes deletions only: updates that add\n"
	      "                          content are refused until deletions bring it below; a warning\n"
	      "                          is logged at a quarter; 0: no limit (256M) [QUIRE_MAX_DOC_SIZE]\n"
	      "  --max-queue BYTES       outbound backlog per connection before it is closed\n"
	      "                          with 1008, besides the largest message queued (a\n"
	      "                          document's sync, whatever its size) (8M) [QUIRE_MAX_QUEUE]\n"
	      "  --max-connections N     WebSocket connections in total (10000) [QUIRE_MAX_CONNECTIONS]\n"
	      "  --max-connections-per-ip N\n"
	      "                          WebSocket connections from one client address at once; more\n"
	      "                          are refused with 429 (500) [QUIRE_MAX_CONNECTIONS_PER_IP]\n"
	      "  --connect-rate-per-ip N new WebSocket handshakes per minute from one address, in bursts\n"
	      "                          of up to N; more get 429 (1200) [QUIRE_CONNECT_RATE_PER_IP]\n"
	      "  --room-opens-per-ip N   documents one address may load into memory per minute (joining\n"
	      "                          an open one is free), in bursts of up to N; more get 429\n"
	      "                          (600) [QUIRE_ROOM_OPENS_PER_IP]\n"
	      "  --message-rate N        messages per second from one connection, bursts of up to 4N;\n"
	      "                          past it the connection is closed with 1008 (500); also HTTP\n"
	      "                          writes per second from one address (429) [QUIRE_MESSAGE_RATE]\n"
	      "  --byte-rate BYTES       bytes per second one connection may send (message payloads),\n"
	      "                          in bursts of 4x that or --max-message if larger; past it the\n"
	      "                          connection is closed with 1008 (1M); also the HTTP write\n"
	      "                          bytes of one address (429) [QUIRE_BYTE_RATE]\n"
	      "                          For these five, 0 means no limit. An address is an IPv4 address or\n"
	      "                          an IPv6 /64; behind a reverse proxy, see --trusted-proxy.\n"
	      "  --presence-interval MS  a room gathers presence (cursor) changes and sends its members\n"
	      "                          at most one awareness update per MS milliseconds, carrying\n"
	      "                          the latest state of every client that changed; a change waits\n"
	      "                          at most MS. 0 sends each change at once; at most 10000 (100)\n"
	      "                          [QUIRE_PRESENCE_INTERVAL]\n"
	      "  --trusted-proxy ADDR[/PREFIX]\n"
	      "                          a reverse proxy (IPv4 or IPv6, optionally a CIDR network) whose\n"
	      "                          X-Forwarded-For is believed: for a connection from it, the client\n"
	      "                          address (per-address limits, logs) is the rightmost X-Forwarded-For\n"
	      "                          element that is not a trusted proxy itself; a malformed one gets\n"
	      "                          400. Repeatable, or comma-separated (none: X-Forwarded-For is\n"
	      "                          never read) [QUIRE_TRUSTED_PROXY, comma-separated]\n"
	      "  --frame-ancestors SOURCES\n"
	      "                          pages that may show the editor in a frame: a CSP\n"
	      "                          frame-ancestors source list, space-separated, such as\n"
	      "                          \"'self' https://wiki.example.org\", or \"'none'\" (default: not\n"
	      "                          set, any page may: the token travels in the frame's URL, so\n"
	      "                          a framing page holds no more than it gave) [QUIRE_FRAME_ANCESTORS]\n"
	      "  --compact-after N       log entries per document before compaction (1000)\n"
	      "                          [QUIRE_COMPACT_AFTER]; 0 disables\n"
	      "  --map-size BYTES        LMDB map size (64G) [QUIRE_MAP_SIZE]\n"
	      "  --keepalive SECONDS     longest silence towards a client (15) [QUIRE_KEEPALIVE]\n"
	      "  --ping-interval SECONDS WebSocket ping period (30) [QUIRE_PING_INTERVAL]\n"
	      "  --idle-timeout SECONDS  close a peer silent this long (75) [QUIRE_IDLE_TIMEOUT]\n"
	      "  --doc-idle-timeout SECONDS\n"
	      "                          unload a room's document from memory once no update, join or\n"
	      "                          sync has used it for this long, even with clients connected\n"
	      "                          (presence goes on); it is loaded again from the store when\n"
	      "                          next needed; 0: never (300) [QUIRE_DOC_IDLE_TIMEOUT]\n"
	      "  --log-level LEVEL       error|warn|info|debug (info) [QUIRE_LOG_LEVEL]\n"
	      "  --help                  this text\n"
	      "\n"
	      "BYTES accept a K, M or G suffix (powers of 1024).\n",
	      stdout);
}

#define PRESENCE_INTERVAL_MAX_MS 10000

static int parse_u64(const char *s, uint64_t max, int size_suffix, uint64_t *out)
{
	if (!s || !*s || *s == '-' || *s == '+')
		return -1;
	errno = 0;
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -1;
	uint64_t mul = 1;
	if (size_suffix && *end) {
		switch (*end) {
		case 'k': case 'K': mul = 1ull << 10; break;
		case 'm': case 'M': mul = 1ull << 20; break;
		case 'g': case 'G': mul = 1ull << 30; break;
		default: return -1;
		}
		end++;
		if (*end == 'i' || *end == 'I')
			end++;
		if (*end == 'b' || *end == 'B')
			end++;
	}
	if (*end)
		return -1;
	if (v > max / mul)
		return -1;
	*out = v * mul;
	return 0;
}

static int parse_listen(const char *s, config_t *cfg)
{
	const char *colon;
	size_t hlen;
	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (!close || close[1] != ':')
			return -1;
		hlen = (size_t)(close - s - 1);
		s++;
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return -1;
		hlen = (size_t)(colon - s);
	}
	if (hlen == 0 || hlen >= sizeof cfg->listen_host)
		return -1;
	uint64_t port;
	if (parse_u64(colon + 1, 65535, 0, &port))
		return -1;
	memcpy(cfg->listen_host, s, hlen);
	cfg->listen_host[hlen] = 0;
	cfg->listen_port = (unsigned)port;
	return 0;
}

static int add_list(const char **list, size_t *n, const char *v, const char *flag)
{
	if (*n >= CONFIG_MAX_LIST) {
		fprintf(stderr, "quire serve: too many %s values (at most %d)\n", flag, CONFIG_MAX_LIST);
		return -1;
	}
	list[(*n)++] = v;
	return 0;
}

static int add_csv(const char **list, size_t *n, char *csv, const char *flag)
{
	for (char *save = NULL, *tok = strtok_r(csv, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		if (add_list(list, n, tok, flag))
			return -1;
	return 0;
}

static int parse_level(const char *s, int *out)
{
	static const char *const names[] = {"error", "warn", "info", "debug"};
	for (int i = 0; i < 4; i++)
		if (strcmp(s, names[i]) == 0) {
			*out = i;
			return 0;
		}
	return -1;
}

/* --- --frame-ancestors ---------------------------------------------------
 * A CSP source list as the frame-ancestors directive understands it: 'self',
 * 'none' (alone), scheme sources (https:) and host sources
 * ([scheme://]host[:port][/path], the host "*" or "*.example.org"). It is
 * sent verbatim in a header, so anything that could end the directive or the
 * header (';', ',', control characters) or that the directive has no use for
 * (double quotes, backslashes, other quoted keywords) is refused, not
 * escaped. */

static int fa_why(char *why, size_t cap, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, cap, fmt, ap);
	va_end(ap);
	return -1;
}

static int fa_alpha(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static int fa_digit(int c) { return c >= '0' && c <= '9'; }
static int fa_scheme_char(int c) { return fa_alpha(c) || fa_digit(c) || c == '+' || c == '-' || c == '.'; }
static int fa_host_char(int c) { return fa_alpha(c) || fa_digit(c) || c == '-'; }

/* RFC 3986 path characters, less the sub-delimiters ',' ';' and '\'' that
 * the checks before have refused anyway */
static int fa_path_char(int c)
{
	return fa_alpha(c) || fa_digit(c) || (c && strchr("-._~%!$&()*+=:@/", c));
}

/* 1 if s[0..n) is a scheme source or a host source */
static int fa_source(const char *s, size_t n)
{
	size_t i = 0;
	if (n >= 2 && s[n - 1] == ':' && fa_alpha(s[0])) { /* scheme source: https: */
		for (i = 1; i < n - 1 && fa_scheme_char(s[i]); i++)
			;
		if (i == n - 1)
			return 1;
	}
	i = 0;
	for (size_t k = 0; k + 3 <= n; k++)
		if (!memcmp(s + k, "://", 3)) {
			if (k == 0 || !fa_alpha(s[0]))
				return 0;
			for (size_t j = 1; j < k; j++)
				if (!fa_scheme_char(s[j]))
					return 0;
			i = k + 3;
			break;
		}
	if (i < n && s[i] == '*') {
		i++;
		if (i < n && s[i] == '.')
			i++;
		else
			goto port;
	}
	for (;;) { /* labels: 1*host-char *("." 1*host-char) ["."] */
		size_t start = i;
		while (i < n && fa_host_char(s[i]))
			i++;
		if (i == start)
			return 0;
		if (i < n && s[i] == '.') {
			i++;
			if (i == n || !fa_host_char(s[i]))
				break; /* a trailing dot */
			continue;
		}
		break;
	}
port:
	if (i < n && s[i] == ':') {
		i++;
		if (i < n && s[i] == '*') {
			i++;
		} else {
			size_t start = i;
			unsigned long port = 0;
			while (i < n && fa_digit(s[i]) && i - start < 6)
				port = port * 10 + (unsigned long)(s[i++] - '0');
			if (i == start || port > 65535)
				return 0;
		}
	}
	if (i < n && s[i] == '/')
		while (i < n && fa_path_char(s[i]))
			i++;
	return i == n;
}

int config_frame_ancestors(const char *v, char *out, size_t cap, char *why, size_t whycap)
{
	for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
		size_t at = (size_t)(p - (const unsigned char *)v) + 1;
		if (*p < 0x20 || *p == 0x7f)
			return fa_why(why, whycap, "a control character (0x%02x) at byte %zu", *p, at);
		if (*p >= 0x80)
			return fa_why(why, whycap,
				      "a non-ASCII byte (0x%02x) at byte %zu; write international domain names "
				      "in punycode (xn--...)", *p, at);
		if (*p == ',')
			return fa_why(why, whycap, "',' at byte %zu: separate sources with spaces", at);
		if (*p == ';')
			return fa_why(why, whycap, "';' at byte %zu: it would end the frame-ancestors directive", at);
		if (*p == '"')
			return fa_why(why, whycap,
				      "'\"' at byte %zu: only the keywords 'self' and 'none' are quoted, with "
				      "single quotes", at);
		if (*p == '\\')
			return fa_why(why, whycap, "'\\' at byte %zu: not part of any source", at);
	}
	size_t o = 0, nsrc = 0;
	int none = 0;
	for (const char *p = v; *p;) {
		while (*p == ' ')
			p++;
		if (!*p)
			break;
		const char *e = p;
		while (*e && *e != ' ')
			e++;
		size_t n = (size_t)(e - p);
		char kw[8] = "";
		if (p[0] == '\'') {
			if (n == 6 && !strncasecmp(p, "'self'", 6))
				strcpy(kw, "'self'");
			else if (n == 6 && !strncasecmp(p, "'none'", 6))
				strcpy(kw, "'none'");
			else
				return fa_why(why, whycap,
					      "\"%.*s\": only 'self' and 'none' may be quoted (nonces, hashes and "
					      "'unsafe-...' do not apply to frame-ancestors)", (int)(n > 80 ? 80 : n), p);
			none |= kw[1] == 'n';
		} else if (memchr(p, '\'', n) || !fa_source(p, n)) {
			return fa_why(why, whycap,
				      "\"%.*s\": not a source; expected 'self', 'none', a scheme such as https: or "
				      "[scheme://]host[:port][/path] (host * or *.example.org allowed)",
				      (int)(n > 80 ? 80 : n), p);
		}
		if (o + (o ? 1 : 0) + n >= cap)
			return fa_why(why, whycap, "longer than %zu bytes", cap - 1);
		if (o)
			out[o++] = ' ';
		memcpy(out + o, kw[0] ? kw : p, n);
		o += n;
		nsrc++;
		p = e;
	}
	if (!nsrc)
		return fa_why(why, whycap,
			      "empty; leave the option out to let any page frame the editor, or pass 'none' to "
			      "let none");
	if (none && nsrc > 1)
		return fa_why(why, whycap, "'none' must be the only source");
	out[o] = 0;
	return 0;
}

static int truthy(const char *s) { return s && (!strcmp(s, "1") || !strcmp(s, "true") || !strcmp(s, "yes")); }

/* One option: its flag, environment twin, and how to apply a value. */
typedef enum { OPT_LISTEN, OPT_PATH, OPT_LIFETIME, OPT_PUBKEY, OPT_ORIGIN, OPT_PROXY, OPT_FRAME, OPT_ANON, OPT_DEV,
	       OPT_SIZE, OPT_SIZE0, OPT_COUNT, OPT_SECONDS, OPT_SECONDS0, OPT_MS, OPT_LEVEL } opt_kind;

typedef struct {
	const char *flag, *env;
	opt_kind kind;
	size_t offset; /* of the uint64_t field for SIZE / COUNT / SECONDS / MS, the const char * for PATH */
} opt_t;

static const opt_t opts[] = {
	{"--listen", "QUIRE_LISTEN", OPT_LISTEN, 0},
	{"--data", "QUIRE_DATA", OPT_PATH, offsetof(config_t, data_dir)},
	{"--web", "QUIRE_WEB", OPT_PATH, offsetof(config_t, web_dir)},
	{"--token-pubkey", "QUIRE_TOKEN_PUBKEY", OPT_PUBKEY, 0},
	{"--tls-cert", "QUIRE_TLS_CERT", OPT_PATH, offsetof(config_t, tls_cert)},
	{"--tls-key", "QUIRE_TLS_KEY", OPT_PATH, offsetof(config_t, tls_key)},
	{"--revocations", "QUIRE_REVOCATIONS", OPT_PATH, offsetof(config_t, revocations)},
	{"--max-token-lifetime", "QUIRE_MAX_TOKEN_LIFETIME", OPT_LIFETIME, offsetof(config_t, max_token_lifetime_ms)},
	{"--allow-origin", "QUIRE_ALLOW_ORIGIN", OPT_ORIGIN, 0},
	{"--allow-anonymous", "QUIRE_ALLOW_ANONYMOUS", OPT_ANON, 0},
	{"--dev", "QUIRE_DEV", OPT_DEV, 0},
	{"--max-message", "QUIRE_MAX_MESSAGE", OPT_SIZE, offsetof(config_t, max_message)},
	{"--max-http-body", "QUIRE_MAX_HTTP_BODY", OPT_SIZE, offsetof(config_t, max_http_body)},
	{"--max-doc-size", "QUIRE_MAX_DOC_SIZE", OPT_SIZE0, offsetof(config_t, max_doc_size)},
	{"--max-queue", "QUIRE_MAX_QUEUE", OPT_SIZE, offsetof(config_t, max_queue)},
	{"--max-connections", "QUIRE_MAX_CONNECTIONS", OPT_COUNT, offsetof(config_t, max_connections)},
	{"--max-connections-per-ip", "QUIRE_MAX_CONNECTIONS_PER_IP", OPT_COUNT, offsetof(config_t, max_conns_per_ip)},
	{"--connect-rate-per-ip", "QUIRE_CONNECT_RATE_PER_IP", OPT_COUNT, offsetof(config_t, connect_rate_per_ip)},
	{"--room-opens-per-ip", "QUIRE_ROOM_OPENS_PER_IP", OPT_COUNT, offsetof(config_t, room_opens_per_ip)},
	{"--message-rate", "QUIRE_MESSAGE_RATE", OPT_COUNT, offsetof(config_t, message_rate)},
	{"--byte-rate", "QUIRE_BYTE_RATE", OPT_SIZE0, offsetof(config_t, byte_rate)},
	{"--presence-interval", "QUIRE_PRESENCE_INTERVAL", OPT_MS, offsetof(config_t, presence_interval_ms)},
	{"--trusted-proxy", "QUIRE_TRUSTED_PROXY", OPT_PROXY, 0},
	{"--frame-ancestors", "QUIRE_FRAME_ANCESTORS", OPT_FRAME, 0},
	{"--compact-after", "QUIRE_COMPACT_AFTER", OPT_COUNT, offsetof(config_t, compact_after)},
	{"--map-size", "QUIRE_MAP_SIZE", OPT_SIZE, offsetof(config_t, map_size)},
	{"--keepalive", "QUIRE_KEEPALIVE", OPT_SECONDS, offsetof(config_t, keepalive_ms)},
	{"--ping-interval", "QUIRE_PING_INTERVAL", OPT_SECONDS, offsetof(config_t, ping_ms)},
	{"--idle-timeout", "QUIRE_IDLE_TIMEOUT", OPT_SECONDS, offsetof(config_t, idle_timeout_ms)},
	{"--doc-idle-timeout", "QUIRE_DOC_IDLE_TIMEOUT", OPT_SECONDS0, offsetof(config_t, doc_idle_ms)},
	{"--log-level", "QUIRE_LOG_LEVEL", OPT_LEVEL, 0},
};

static int apply(config_t *cfg, const opt_t *o, char *v, const char *from)
{
	uint64_t n, *field = (uint64_t *)((char *)cfg + o->offset);
	switch (o->kind) {
	case OPT_LISTEN:
		if (parse_listen(v, cfg))
			goto bad;
		return 0;
	case OPT_PATH: /* kept as given (env_kept keeps an environment value alive) */
		if (!*v)
			goto bad;
		*(const char **)((char *)cfg + o->offset) = v;
		return 0;
	case OPT_LIFETIME: /* seconds, 0 = no cap, at most the ten years quire token mints */
		if (parse_u64(v, UINT64_C(10) * 366 * 86400, 0, &n))
			goto bad;
		*field = n * 1000;
		return 0;
	case OPT_PUBKEY:
		return from[0] == '-' ? add_list(cfg->token_pubkeys, &cfg->n_token_pubkeys, v, o->flag)
				      : add_csv(cfg->token_pubkeys, &cfg->n_token_pubkeys, v, o->flag);
	case OPT_ORIGIN:
		return from[0] == '-' ? add_list(cfg->allow_origins, &cfg->n_allow_origins, v, o->flag)
				      : add_csv(cfg->allow_origins, &cfg->n_allow_origins, v, o->flag);
	case OPT_PROXY: {
		/* a flag may carry a comma-separated list too; the networks are
		 * copied, so v need not be kept */
		char why[160];
		if (proxy_list_add(&cfg->trusted_proxies, v, why, sizeof why)) {
			fprintf(stderr, "quire serve: invalid value for %s: %s (see quire serve --help)\n", from, why);
			return -1;
		}
		return 0;
	}
	case OPT_FRAME: {
		char why[200];
		if (config_frame_ancestors(v, cfg->frame_ancestors, sizeof cfg->frame_ancestors, why, sizeof why)) {
			fprintf(stderr, "quire serve: invalid value for %s: %s (see quire serve --help)\n", from, why);
			return -1;
		}
		return 0;
	}
	case OPT_ANON:
		cfg->allow_anonymous = truthy(v);
		return 0;
	case OPT_DEV:
		cfg->dev = truthy(v);
		return 0;
	case OPT_SIZE:
		if (parse_u64(v, UINT64_C(1) << 50, 1, &n) || n == 0)
			goto bad;
		*field = n;
		return 0;
	case OPT_SIZE0: /* a size where 0 turns a limit off */
		if (parse_u64(v, UINT64_C(1) << 40, 1, &n))
			goto bad;
		*field = n;
		return 0;
	case OPT_COUNT:
		if (parse_u64(v, UINT32_MAX, 0, &n))
			goto bad;
		*field = n;
		return 0;
	case OPT_SECONDS:
		if (parse_u64(v, 86400, 0, &n) || n == 0)
			goto bad;
		*field = n * 1000;
		return 0;
	case OPT_SECONDS0: /* seconds where 0 turns something off */
		if (parse_u64(v, 86400, 0, &n))
			goto bad;
		*field = n * 1000;
		return 0;
	case OPT_MS:
		/* a flush every few seconds would already be stale presence (y-protocols
		 * renews a state every 15 s and drops it after 30 s) */
		if (parse_u64(v, UINT64_MAX, 0, &n))
			goto bad;
		if (n > PRESENCE_INTERVAL_MAX_MS) {
			fprintf(stderr, "quire serve: %s must be 0 to %d milliseconds, not %s\n", from,
				PRESENCE_INTERVAL_MAX_MS, v);
			return -1;
		}
		*field = n;
		return 0;
	case OPT_LEVEL:
		if (parse_level(v, &cfg->log_level))
			goto bad;
		return 0;
	}
bad:
	fprintf(stderr, "quire serve: invalid value '%s' for %s (see quire serve --help)\n", v, from);
	return -1;
}

/* Copies of environment values that cfg points into (paths, lists) live as
 * long as the process; kept here so they stay reachable when a flag replaces
 * the value (LeakSanitizer reported QUIRE_WEB with --web, as the browser tests
 * run quire, as a leak). */
static char *env_kept[sizeof opts / sizeof *opts];

int config_parse_serve(int argc, char **argv, config_t *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	strcpy(cfg->listen_host, "127.0.0.1");
	cfg->listen_port = 8080;
	cfg->data_dir = "./quire-data";
	cfg->max_message = 16u << 20;
	cfg->max_http_body = 1u << 20;
	cfg->max_doc_size = 256u << 20;
	cfg->max_queue = 8u << 20;
	cfg->max_connections = 10000;
	cfg->max_conns_per_ip = 500;
	cfg->connect_rate_per_ip = 1200;
	cfg->room_opens_per_ip = 600;
	cfg->message_rate = 500;
	cfg->presence_interval_ms = 100;
	cfg->byte_rate = 1u << 20;
	cfg->compact_after = 1000;
	cfg->map_size = UINT64_C(64) << 30;
	cfg->keepalive_ms = 15000;
	cfg->ping_ms = 30000;
	cfg->idle_timeout_ms = 75000;
	cfg->room_idle_ms = 60000;
	cfg->doc_idle_ms = 300000;
	cfg->awareness_timeout_ms = 30000;
	cfg->log_level = LOG_INFO;

	/* environment first, so flags override it */
	for (size_t i = 0; i < sizeof opts / sizeof *opts; i++) {
		const char *e = getenv(opts[i].env);
		if (!e)
			continue;
		char *copy = strdup(e);
		if (!copy || apply(cfg, &opts[i], copy, opts[i].env)) {
			free(copy);
			return -1;
		}
		opt_kind k = opts[i].kind;
		if (k != OPT_PATH && k != OPT_PUBKEY && k != OPT_ORIGIN)
			free(copy); /* the value was parsed or copied */
		else
			env_kept[i] = copy;
	}
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			config_print_serve_help();
			return 1;
		}
		const opt_t *o = NULL;
		char *val = NULL;
		for (size_t k = 0; k < sizeof opts / sizeof *opts; k++) {
			size_t fl = strlen(opts[k].flag);
			if (!strncmp(argv[i], opts[k].flag, fl) && (argv[i][fl] == 0 || argv[i][fl] == '=')) {
				o = &opts[k];
				if (argv[i][fl] == '=')
					val = argv[i] + fl + 1;
				break;
			}
		}
		if (!o) {
			fprintf(stderr, "quire serve: unknown option '%s' (see quire serve --help)\n", argv[i]);
			return -1;
		}
		if (o->kind == OPT_ANON || o->kind == OPT_DEV) {
			if (val) {
				fprintf(stderr, "quire serve: %s takes no value\n", o->flag);
				return -1;
			}
			*(o->kind == OPT_ANON ? &cfg->allow_anonymous : &cfg->dev) = 1;
			continue;
		}
		if (!val) {
			if (i + 1 >= argc) {
				fprintf(stderr, "quire serve: %s needs a value (see quire serve --help)\n", o->flag);
				return -1;
			}
			val = argv[++i];
		}
		if (apply(cfg, o, val, o->flag))
			return -1;
	}
	if (!cfg->n_token_pubkeys && !cfg->allow_anonymous && !cfg->dev) {
		fprintf(stderr,
			"quire serve: no way to admit anyone: pass --token-pubkey FILE.pub (a key from quire keygen;\n"
			"  tokens from quire token or your backend), or --dev (creates a key in the data dir and\n"
			"  prints an editor URL with a token), or --allow-anonymous (no tokens: every client may\n"
			"  read and write every document; trusted networks only)\n");
		return -1;
	}
	if (!cfg->tls_cert != !cfg->tls_key) {
		fprintf(stderr, "quire serve: --tls-cert and --tls-key go together (a certificate and its key)\n");
		return -1;
	}
	if (cfg->max_message < 64) {
		fprintf(stderr, "quire serve: --max-message must be at least 64 bytes\n");
		return -1;
	}
	if (cfg->max_http_body < 64) {
		fprintf(stderr, "quire serve: --max-http-body must be at least 64 bytes\n");
		return -1;
	}
	return 0;
}
