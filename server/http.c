/* h2o glue: listener, routes, WebSocket handshake and transport, timers,
 * cross-thread delivery of committed updates, and orderly shutdown. */
#include "http.h"

#include "auth.h"
#include "conn.h"
#include "log.h"
#include "room.h"
#include "store.h"
#include "quire/update.h"

#include <arpa/inet.h>
#include <errno.h>
#include <h2o.h>
#include <h2o/websocket.h>
#include <limits.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CLOSE_GRACE_MS 3000
/* outbound buffer capacity a connection keeps between writes (see
 * on_conn_written); an idle connection keeps none (on_tick) */
#define CONN_BUF_KEEP 4096

static struct server {
	const config_t *cfg;
	h2o_globalconf_t config;
	h2o_context_t ctx;
	h2o_accept_ctx_t accept_ctx;
	h2o_socket_t *listener;
	int listener_paused;
	store_t *store;
	h2o_multithread_receiver_t committed_rx;
	h2o_timeout_t tick_timeout;
	h2o_timeout_entry_t tick_entry;
	h2o_timeout_entry_t flush_entry;
	h2o_linklist_t conns, dirty;
	uint64_t nconns, next_conn_id;
	uint64_t ws_accepted, ws_refused, closed_slow;
	uint64_t auth_refused, token_expired_closes;
	uint64_t ip_refused_conns, ip_refused_connects, ip_refused_rooms, rate_limited_closes;
	rl_rate_t msg_rate; /* --message-rate, per connection */
	rl_rate_t byte_rate; /* --byte-rate, per connection */
	uint64_t byte_rate_closes;
	auth_key_t keys[CONFIG_MAX_LIST];
	size_t nkeys;
	char *dev_token; /* --dev without keys: printed once on stdout, never logged */
} srv;

static volatile sig_atomic_t stop_requested;

static void on_accept(h2o_socket_t *listener, const char *err);

static uint64_t now_ms(void) { return h2o_now(srv.ctx.loop); }

/* --- connections ------------------------------------------------------- */

/* Outbound path. h2o 2.2.5's own wslay send callback writes every chunk
 * wslay hands it (a frame header, then its payload) with a socket write of
 * its own and waits for it to complete: two writes per frame, no batching.
 * quire replaces that callback and frames data messages itself: frames are
 * appended to c->out, and a flush (at the end of the event-loop turn) writes
 * everything queued with one write. wslay still frames control messages
 * (ping, pong, close) and reads; its output goes through the same buffer. */

static void on_ws_message(h2o_websocket_conn_t *ws, const struct wslay_event_on_msg_recv_arg *arg);

/* Room for n more bytes. */
static int buf_reserve(struct conn_buf *b, size_t n)
{
	if (b->n + n > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->n + n)
			cap *= 2;
		uint8_t *np = realloc(b->p, cap);
		if (!np)
			return -1;
		b->p = np;
		b->cap = cap;
	}
	return 0;
}

static int buf_append(struct conn_buf *b, const void *p, size_t n)
{
	if (buf_reserve(b, n) != 0)
		return -1;
	memcpy(b->p + b->n, p, n);
	b->n += n;
	return 0;
}

static void start_write(conn_t *c);

static void buf_release(struct conn_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->cap = 0;
}

static void on_conn_written(h2o_socket_t *sock, const char *err)
{
	h2o_websocket_conn_t *ws = sock->data;
	conn_t *c = ws->data;
	c->fly.n = c->fly.msgs = 0;
	/* Keep a small buffer for the next batch (fan-out reuses it without a
	 * malloc); give a larger one back at once. A document's sync step 2 makes
	 * it as large as the document, and kept, that was a second copy of the
	 * document for every connection that had joined (up to 64 KiB each). */
	if (c->fly.cap > CONN_BUF_KEEP)
		buf_release(&c->fly);
	if (err) {
		on_ws_message(ws, NULL); /* as h2o does: the connection is gone */
		return;
	}
	if (c->out.n) {
		start_write(c); /* h2o has cleared the writing state before this callback */
		return;
	}
	h2o_websocket_proceed(ws); /* reading, or the end of a close handshake (may free c) */
}

/* Starts writing what is queued, unless a write is under way (its completion
 * continues). */
static void start_write(conn_t *c)
{
	h2o_socket_t *sock = c->ws->sock;
	if (!sock || !c->out.n || h2o_socket_is_writing(sock))
		return;
	struct conn_buf t = c->fly;
	c->fly = c->out;
	c->out = t;
	h2o_iovec_t iov = h2o_iovec_init(c->fly.p, c->fly.n);
	h2o_socket_write(sock, &iov, 1, on_conn_written);
}

static void flush_dirty(h2o_timeout_entry_t *entry)
{
	(void)entry;
	while (!h2o_linklist_is_empty(&srv.dirty)) {
		conn_t *c = H2O_STRUCT_FROM_MEMBER(conn_t, dirty_link, srv.dirty.next);
		h2o_linklist_unlink(&c->dirty_link);
		if (!c->ws->sock)
			continue; /* the 101 is still being sent; h2o proceeds when it is out */
		if (wslay_event_want_write(c->ws->ws_ctx) && wslay_event_send(c->ws->ws_ctx) != 0) {
			on_ws_message(c->ws, NULL);
			continue;
		}
		/* wslay's frames went through ws_send_cb, which marked c dirty
		 * again; this write covers them */
		if (h2o_linklist_is_linked(&c->dirty_link))
			h2o_linklist_unlink(&c->dirty_link);
		start_write(c);
	}
}

static void mark_dirty(conn_t *c)
{
	if (!h2o_linklist_is_linked(&c->dirty_link))
		h2o_linklist_insert(&srv.dirty, &c->dirty_link);
	if (!h2o_timeout_is_linked(&srv.flush_entry))
		h2o_timeout_link(srv.ctx.loop, &srv.ctx.zero_timeout, &srv.flush_entry);
}

/* wslay's send callback: what wslay frames (control frames, and messages
 * queued before the socket existed) joins the same buffer. */
static ssize_t ws_send_cb(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags, void *user_data)
{
	(void)flags;
	h2o_websocket_conn_t *ws = user_data;
	conn_t *c = ws->data;
	if (buf_append(&c->out, data, len) != 0) {
		wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
		return -1;
	}
	/* once nothing more will be read (a close handshake), h2o closes the
	 * socket as soon as no write is under way: write now */
	if (!wslay_event_want_read(ctx))
		start_write(c);
	else
		mark_dirty(c);
	return (ssize_t)len;
}

void conn_close(conn_t *c, uint16_t code, const char *reason)
{
	if (c->closing)
		return;
	c->closing = 1;
	c->closing_since_ms = now_ms();
	room_leave(c);
	wslay_event_queue_close(c->ws->ws_ctx, code, (const uint8_t *)reason, strlen(reason));
	mark_dirty(c);
	log_debug("conn %llu: closing %u %s", (unsigned long long)c->id, code, reason);
}

void conn_send(conn_t *c, const uint8_t *p, size_t n)
{
	if (c->closing)
		return;
	wslay_event_context_ptr ws = c->ws->ws_ctx;
	if (wslay_event_get_queued_msg_length(ws) + c->out.n + c->fly.n + n > srv.cfg->max_queue ||
	    wslay_event_get_queued_msg_count(ws) + c->out.msgs + c->fly.msgs >= MAX_QUEUED_MSGS) {
		srv.closed_slow++;
		log_info("conn %llu: outbound backlog over the limit, closing", (unsigned long long)c->id);
		conn_close(c, 1008, "slow consumer");
		return;
	}
	int failed;
	if (!c->ws->sock) {
		/* before the 101 is out: wslay keeps it, and h2o's first proceed
		 * hands it to ws_send_cb in order */
		struct wslay_event_msg msg = {WSLAY_BINARY_FRAME, p, n};
		failed = wslay_event_queue_msg(ws, &msg) != 0;
	} else {
		/* RFC 6455 5.2: FIN + binary, unmasked, 7/16/64-bit length */
		uint8_t h[10];
		size_t hn = 2;
		h[0] = 0x82;
		if (n < 126) {
			h[1] = (uint8_t)n;
		} else if (n < 65536) {
			h[1] = 126;
			h[2] = (uint8_t)(n >> 8);
			h[3] = (uint8_t)n;
			hn = 4;
		} else {
			h[1] = 127;
			for (int i = 0; i < 8; i++)
				h[2 + i] = (uint8_t)((uint64_t)n >> (56 - 8 * i));
			hn = 10;
		}
		/* header and payload together, or neither */
		failed = buf_reserve(&c->out, hn + n) != 0;
		if (!failed) {
			buf_append(&c->out, h, hn);
			buf_append(&c->out, p, n);
			c->out.msgs++;
		}
	}
	if (failed) {
		conn_close(c, 1011, "send failed");
		return;
	}
	c->last_send_ms = now_ms();
	mark_dirty(c);
}

void conn_refund_message(conn_t *c)
{
	rl_refund(&c->msg_budget, &srv.msg_rate);
	rl_refund_n(&c->byte_budget, &srv.byte_rate, c->recv_len);
}

static void conn_destroy(conn_t *c)
{
	room_leave(c);
	if (h2o_linklist_is_linked(&c->dirty_link))
		h2o_linklist_unlink(&c->dirty_link);
	h2o_linklist_unlink(&c->all_link);
	srv.nconns--;
	if (c->client)
		rl_conn_removed(c->client);
	h2o_websocket_close(c->ws);
	log_debug("conn %llu: closed", (unsigned long long)c->id);
	free(c->out.p);
	free(c->fly.p);
	free(c);
}

/* Takes n from one of c's per-connection budgets (--message-rate,
 * --byte-rate); when it is short, counts the close in *closes, closes c with
 * 1008 `reason` and returns 1. `what` names the unit in the log line. */
static int over_rate(conn_t *c, rl_bucket_t *b, const rl_rate_t *r, uint64_t n, uint64_t *closes, const char *what,
		     const char *reason)
{
	if (rl_take_n(b, r, c->last_recv_ms, n, NULL))
		return 0;
	(*closes)++;
	log_info("conn %llu: more than %llu %s per second (bursts of %llu), closing with 1008",
		 (unsigned long long)c->id, (unsigned long long)r->rate, what, (unsigned long long)r->burst);
	conn_close(c, 1008, reason);
	return 1;
}

static void on_ws_message(h2o_websocket_conn_t *ws, const struct wslay_event_on_msg_recv_arg *arg)
{
	conn_t *c = ws->data;
	if (!arg) {
		conn_destroy(c);
		return;
	}
	c->last_recv_ms = now_ms();
	/* --message-rate: every message counts, pings and pongs included;
	 * --byte-rate: its payload, counted once wslay has it whole
	 * (--max-message bounds what it buffers, and the burst takes at least one
	 * message of that size). Once closing, nothing more is read into the
	 * room anyway. */
	if (!c->closing && arg->opcode != WSLAY_CONNECTION_CLOSE &&
	    (over_rate(c, &c->msg_budget, &srv.msg_rate, 1, &srv.rate_limited_closes, "messages", "rate limit") ||
	     over_rate(c, &c->byte_budget, &srv.byte_rate, arg->msg_length, &srv.byte_rate_closes, "bytes",
		       "byte rate limit")))
		return;
	c->recv_len = arg->msg_length;
	switch (arg->opcode) {
	case WSLAY_BINARY_FRAME:
		if (!c->closing)
			room_receive(c, arg->msg, arg->msg_length);
		break;
	case WSLAY_TEXT_FRAME:
		log_info("conn %llu: text frame refused", (unsigned long long)c->id);
		conn_close(c, 1003, "binary messages only");
		break;
	case WSLAY_CONNECTION_CLOSE:
		/* wslay answers the close; stop sending to this peer */
		c->closing = 1;
		c->closing_since_ms = now_ms();
		room_leave(c);
		break;
	default:
		break; /* ping (wslay answers it) and pong */
	}
}

/* --- periodic work ------------------------------------------------------ */

static void on_tick(h2o_timeout_entry_t *entry)
{
	(void)entry;
	uint64_t now = now_ms();
	int64_t wall = auth_now_ms();
	static const uint8_t keepalive[] = {1, 1, 0}; /* awareness update with no entries */
	for (h2o_linklist_t *l = srv.conns.next, *next; l != &srv.conns; l = next) {
		next = l->next;
		conn_t *c = H2O_STRUCT_FROM_MEMBER(conn_t, all_link, l);
		if (c->closing) {
			if (now - c->closing_since_ms >= CLOSE_GRACE_MS && c->ws->sock)
				conn_destroy(c); /* peer never finished the close handshake */
			continue;
		}
		if (now - c->last_recv_ms >= srv.cfg->idle_timeout_ms) {
			conn_close(c, 1001, "idle timeout");
			continue;
		}
		if (c->token_exp_ms && wall >= c->token_exp_ms) {
			srv.token_expired_closes++;
			log_info("conn %llu: token expired, closing with 4401", (unsigned long long)c->id);
			conn_close(c, 4401, "token expired");
			continue;
		}
		if (!c->out.n && !c->fly.n && !(c->ws->sock && h2o_socket_is_writing(c->ws->sock))) {
			/* nothing queued, nothing being written: an idle connection
			 * holds no outbound buffer (the next send allocates one) */
			buf_release(&c->out);
			buf_release(&c->fly);
		}
		if (now - c->last_ping_ms >= srv.cfg->ping_ms) {
			struct wslay_event_msg ping = {WSLAY_PING, NULL, 0};
			wslay_event_queue_msg(c->ws->ws_ctx, &ping);
			c->last_ping_ms = now;
			mark_dirty(c);
		}
		if (now - c->last_send_ms >= srv.cfg->keepalive_ms)
			conn_send(c, keepalive, sizeof keepalive);
	}
	rooms_tick(now);
	rl_tick(now);
	if (srv.listener_paused && srv.listener) {
		srv.listener_paused = 0;
		h2o_socket_read_start(srv.listener, on_accept);
	}
	h2o_timeout_link(srv.ctx.loop, &srv.tick_timeout, &srv.tick_entry);
}

/* --- committed updates from the writer thread ---------------------------- */

static void on_store_committed(void *ctx, store_job_t *job)
{
	(void)ctx;
	room_job_t *j = H2O_STRUCT_FROM_MEMBER(room_job_t, job, job);
	h2o_multithread_send_message(&srv.committed_rx, &j->msg);
}

static void on_committed_rx(h2o_multithread_receiver_t *rx, h2o_linklist_t *messages)
{
	(void)rx;
	while (!h2o_linklist_is_empty(messages)) {
		room_job_t *j = H2O_STRUCT_FROM_MEMBER(room_job_t, msg.link, messages->next);
		h2o_linklist_unlink(&j->msg.link);
		room_committed(j);
	}
}

/* --- HTTP handlers ------------------------------------------------------- */

int doc_name_decode(const char *raw, size_t len, char *out)
{
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)raw[i];
		if (ch == '%') {
			if (i + 2 >= len)
				return -1;
			int v = 0;
			for (int k = 1; k <= 2; k++) {
				char h = raw[i + k];
				v <<= 4;
				if (h >= '0' && h <= '9')
					v |= h - '0';
				else if (h >= 'a' && h <= 'f')
					v |= h - 'a' + 10;
				else if (h >= 'A' && h <= 'F')
					v |= h - 'A' + 10;
				else
					return -1;
			}
			ch = (unsigned char)v;
			i += 2;
		}
		int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
			 ch == '_' || ch == '~' || ch == '/' || ch == '-';
		if (!ok || o >= 255)
			return -1;
		out[o++] = (char)ch;
	}
	return o ? (int)o : -1;
}

static void send_text(h2o_req_t *req, int status, const char *reason, const char *ctype, const char *body,
		      size_t len)
{
	req->res.status = status;
	req->res.reason = reason;
	h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, ctype, strlen(ctype));
	h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, H2O_STRLIT("no-store"));
	/* the API's bodies are documents (people's text): never rendered as anything else */
	h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-content-type-options"), 0, NULL,
			      H2O_STRLIT("nosniff"));
	char *buf = h2o_mem_alloc_pool(&req->pool, len ? len : 1);
	memcpy(buf, body, len);
	h2o_send_inline(req, buf, len);
}

static int refuse(h2o_req_t *req, int status, const char *reason, const char *why)
{
	srv.ws_refused++;
	char body[256];
	snprintf(body, sizeof body, "%s\n", why);
	h2o_send_error_generic(req, status, reason, h2o_strdup(&req->pool, body, SIZE_MAX).base,
			       H2O_SEND_ERROR_HTTP1_CLOSE_CONNECTION | H2O_SEND_ERROR_KEEP_HEADERS);
	return 0;
}

static const h2o_header_t *find_header(h2o_req_t *req, const char *name, size_t len)
{
	ssize_t i = h2o_find_header_by_str(&req->headers, name, len, -1);
	return i < 0 ? NULL : &req->headers.entries[i];
}

static int is_base64_key(const char *k)
{
	/* 16 random bytes, base64: 22 characters and "==" */
	for (int i = 0; i < 22; i++) {
		char ch = k[i];
		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '+' ||
		      ch == '/'))
			return 0;
	}
	return k[22] == '=' && k[23] == '=';
}

static size_t path_len(h2o_req_t *req)
{
	return req->query_at != SIZE_MAX ? req->query_at : req->path.len;
}

/* --- tokens ---------------------------------------------------------------- */

static int hexval(char h)
{
	if (h >= '0' && h <= '9')
		return h - '0';
	if (h >= 'a' && h <= 'f')
		return h - 'a' + 10;
	if (h >= 'A' && h <= 'F')
		return h - 'A' + 10;
	return -1;
}

enum { TOKEN_NONE = 0, TOKEN_FOUND = 1, TOKEN_BAD = -1, TOKEN_TOO_LONG = -2 };

/* The request's token: `?token=` (percent-decoded; only where allow_query) or
 * `Authorization: Bearer`. Returns TOKEN_FOUND with *tok / *len in the
 * request's pool, TOKEN_NONE, or TOKEN_BAD / TOKEN_TOO_LONG (given twice, bad
 * escapes, another auth scheme, over the length cap). */
static int request_token(h2o_req_t *req, int allow_query, const char **tok, size_t *len)
{
	const char *raw = NULL;
	size_t raw_len = 0;
	int found = 0;
	if (allow_query && req->query_at != SIZE_MAX) {
		const char *q = req->path.base + req->query_at + 1, *end = req->path.base + req->path.len;
		while (q < end) {
			const char *amp = memchr(q, '&', (size_t)(end - q));
			const char *pe = amp ? amp : end;
			if (pe - q >= 6 && memcmp(q, "token=", 6) == 0) {
				if (found++)
					return TOKEN_BAD;
				raw = q + 6;
				raw_len = (size_t)(pe - raw);
			} else if (pe - q == 5 && memcmp(q, "token", 5) == 0) {
				return TOKEN_BAD;
			}
			q = amp ? amp + 1 : end;
		}
	}
	const h2o_header_t *authz = find_header(req, H2O_STRLIT("authorization"));
	if (authz) {
		const char *v = authz->value.base;
		size_t vl = authz->value.len;
		if (found || vl < 7 || strncasecmp(v, "Bearer ", 7) != 0)
			return TOKEN_BAD;
		v += 7;
		vl -= 7;
		while (vl && *v == ' ')
			v++, vl--;
		while (vl && v[vl - 1] == ' ')
			vl--;
		if (vl > AUTH_TOKEN_MAX)
			return TOKEN_TOO_LONG;
		*tok = v;
		*len = vl;
		return vl ? TOKEN_FOUND : TOKEN_BAD;
	}
	if (!found)
		return TOKEN_NONE;
	if (raw_len > 3 * (size_t)AUTH_TOKEN_MAX)
		return TOKEN_TOO_LONG;
	char *out = h2o_mem_alloc_pool(&req->pool, raw_len + 1);
	size_t o = 0;
	for (size_t i = 0; i < raw_len; i++) {
		if (raw[i] == '%') {
			int hi = i + 2 < raw_len ? hexval(raw[i + 1]) : -1, lo = hi >= 0 ? hexval(raw[i + 2]) : -1;
			if (lo < 0)
				return TOKEN_BAD;
			out[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else {
			out[o++] = raw[i];
		}
	}
	if (o == 0)
		return TOKEN_BAD;
	out[o] = 0;
	*tok = out;
	*len = o;
	return TOKEN_FOUND;
}

/* A log-safe copy of a claim (printable ASCII; anything else becomes '?'). */
static const char *log_safe(const char *s, char *buf, size_t cap)
{
	size_t i = 0;
	for (; s[i] && i + 1 < cap; i++)
		buf[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	buf[i] = 0;
	return buf;
}

static int refuse_401(h2o_req_t *req, const char *why)
{
	srv.auth_refused++;
	h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_WWW_AUTHENTICATE, NULL,
		       H2O_STRLIT("Bearer realm=\"quire\", error=\"invalid_token\""));
	return refuse(req, 401, "Unauthorized", why);
}

/* Decides whether req may use document name: returns 0 to go on (claims
 * filled in, or zeroed for an anonymous request), or 1 when the request was
 * refused (401 / 403 sent, reason logged without the token). */
static int authorize(h2o_req_t *req, const char *what, const char *name, int nlen, int allow_query,
		     auth_claims_t *claims)
{
	const char *tok = NULL, *why;
	size_t tlen = 0;
	memset(claims, 0, sizeof *claims);
	int rt = request_token(req, allow_query, &tok, &tlen);
	if (rt == TOKEN_NONE) {
		if (srv.cfg->allow_anonymous)
			return 0;
		why = allow_query ? "token required (?token=... or Authorization: Bearer)"
				  : "token required (Authorization: Bearer)";
	} else if (rt == TOKEN_BAD) {
		why = "malformed token parameter or Authorization header";
	} else if (rt == TOKEN_TOO_LONG) {
		why = auth_strerror(AUTH_ERR_TOO_LONG);
	} else {
		auth_status_t st = auth_check_token(tok, tlen, srv.keys, srv.nkeys, auth_now_ms(), claims, &why);
		if (st == AUTH_OK) {
			if (auth_doc_allowed(claims, name, (size_t)nlen))
				return 0;
			char sub[64];
			srv.auth_refused++;
			log_info("refused %s for %.*s: token is for another document (sub %s)", what, nlen, name,
				 claims->sub[0] ? log_safe(claims->sub, sub, sizeof sub) : "-");
			refuse(req, 403, "Forbidden", "token is not valid for this document");
			return 1;
		}
	}
	log_info("refused %s for %.*s: %s", what, nlen, name, why);
	refuse_401(req, why);
	return 1;
}

/* A per-address limit refused this handshake: 429, with Retry-After when
 * waiting helps (retry_ms > 0). Logged at most once per 10 s per address, so
 * a flood does not flood the log. */
static int refuse_ip(h2o_req_t *req, rl_client_t *cl, uint64_t *counter, const char *name, int nlen,
		     uint64_t retry_ms, const char *why)
{
	(*counter)++;
	uint64_t suppressed;
	if (rl_should_log(cl, now_ms(), &suppressed)) {
		char addr[64];
		log_info("refused WebSocket for %.*s from %s: %s (%llu more refusals for this address since the last "
			 "line)",
			 nlen, name, rl_addr_str(rl_client_addr(cl), addr, sizeof addr), why,
			 (unsigned long long)suppressed);
	}
	if (retry_ms) {
		char secs[24];
		int n = snprintf(secs, sizeof secs, "%llu", (unsigned long long)((retry_ms + 999) / 1000));
		h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_RETRY_AFTER, NULL,
			       h2o_strdup(&req->pool, secs, (size_t)n).base, (size_t)n);
	}
	return refuse(req, 429, "Too Many Requests", why);
}

/* The request's client address (*ip): the TCP peer's, or, when the peer is
 * a --trusted-proxy, the one its X-Forwarded-For names (proxy.h). Returns 1
 * with *ip set; 0 when the peer has no IP address (nothing is keyed by
 * address then); -1 when a trusted proxy sent a malformed X-Forwarded-For:
 * the request was refused with 400. X-Forwarded-For from any other peer is
 * never read: a client cannot choose its own address. */
static int client_ip(h2o_req_t *req, const char *name, int nlen, proxy_ip_t *ip)
{
	const proxy_list_t *trusted = &srv.cfg->trusted_proxies;
	struct sockaddr_storage ss;
	proxy_ip_t peer;
	if (!req->conn->callbacks->get_peername ||
	    req->conn->callbacks->get_peername(req->conn, (struct sockaddr *)&ss) == 0 ||
	    proxy_ip_from_sockaddr(&peer, (struct sockaddr *)&ss))
		return 0;
	*ip = peer;
	if (!proxy_trusted(trusted, &peer))
		return 1;
	/* several X-Forwarded-For headers are one list: the last one first */
	for (size_t i = req->headers.size; i-- > 0;) {
		const h2o_header_t *h = &req->headers.entries[i];
		if (!h2o_lcstris(h->name->base, h->name->len, H2O_STRLIT("x-forwarded-for")))
			continue;
		const char *bad;
		size_t bad_len;
		proxy_xff_result_t r = proxy_walk_xff(trusted, h->value.base, h->value.len, ip, &bad, &bad_len);
		if (r == PROXY_XFF_CLIENT)
			return 1;
		if (r == PROXY_XFF_MALFORMED) {
			char addr[INET6_ADDRSTRLEN], raw[64], safe[64];
			snprintf(raw, sizeof raw, "%.*s", (int)(bad_len < sizeof raw - 1 ? bad_len : sizeof raw - 1), bad);
			log_info("refused WebSocket for %.*s from trusted proxy %s: malformed X-Forwarded-For element "
				 "\"%s\"",
				 nlen, name, proxy_ip_str(&peer, addr, sizeof addr), log_safe(raw, safe, sizeof safe));
			refuse(req, 400, "Bad Request",
			       "malformed X-Forwarded-For from a trusted proxy: an element that names the client is not "
			       "an IPv4 or IPv6 address");
			return -1;
		}
		/* every element was a trusted proxy: on to the header before */
	}
	return 1; /* no header, or trusted proxies all the way: the leftmost one */
}

static int on_ws_req(h2o_handler_t *self, h2o_req_t *req)
{
	(void)self;
	size_t plen = path_len(req);
	char name[256];
	int nlen = plen > 4 ? doc_name_decode(req->path.base + 4, plen - 4, name) : -1;
	if (plen < 4 || memcmp(req->path.base, "/ws/", 4) != 0 || nlen < 0)
		return refuse(req, 400, "Bad Request",
			      "bad document name: 1-255 bytes of [A-Za-z0-9._~/-] after percent-decoding");
	if (req->version != 0x101)
		return refuse(req, 400, "Bad Request", "WebSocket needs HTTP/1.1");
	if (!h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET")))
		return refuse(req, 405, "Method Not Allowed", "WebSocket handshake must be a GET");
	const char *key;
	int hs = h2o_is_websocket_handshake(req, &key);
	if (hs != 0 || key == NULL) {
		if (hs == 0 && !find_header(req, H2O_STRLIT("sec-websocket-key")) && !req->upgrade.base)
			return refuse(req, 400, "Bad Request", "this is a WebSocket endpoint: upgrade required");
		return refuse(req, 400, "Bad Request", "malformed WebSocket handshake (Sec-WebSocket-Key)");
	}
	if (!is_base64_key(key))
		return refuse(req, 400, "Bad Request", "malformed Sec-WebSocket-Key");
	const h2o_header_t *ver = find_header(req, H2O_STRLIT("sec-websocket-version"));
	if (!ver || !h2o_memis(ver->value.base, ver->value.len, H2O_STRLIT("13"))) {
		h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("sec-websocket-version"), 0, NULL,
				      H2O_STRLIT("13"));
		return refuse(req, 426, "Upgrade Required", "unsupported Sec-WebSocket-Version (13 is required)");
	}
	if (srv.cfg->n_allow_origins) {
		const h2o_header_t *origin = find_header(req, H2O_STRLIT("origin"));
		int ok = origin == NULL;
		for (size_t i = 0; origin && i < srv.cfg->n_allow_origins; i++)
			ok |= h2o_memis(origin->value.base, origin->value.len, srv.cfg->allow_origins[i],
					strlen(srv.cfg->allow_origins[i]));
		if (!ok) {
			log_info("refused WebSocket for %.*s: origin not allowed", nlen, name);
			return refuse(req, 403, "Forbidden", "origin not allowed");
		}
	}
	proxy_ip_t ip = {0};
	int have_ip = client_ip(req, name, nlen, &ip);
	if (have_ip < 0)
		return 0; /* refused: malformed X-Forwarded-For */
	/* per-address limits before the token's signature is checked, so a
	 * flood of handshakes costs no crypto */
	rl_client_t *cl = NULL;
	if (have_ip && rl_enabled()) {
		rl_addr_t a;
		rl_addr_from_ip(&a, &ip);
		cl = rl_client(&a, now_ms());
	}
	uint64_t retry_ms = 0;
	if (cl && !rl_conn_allowed(cl))
		return refuse_ip(req, cl, &srv.ip_refused_conns, name, nlen, 0,
				 "too many connections from this address (--max-connections-per-ip)");
	if (cl && !rl_take_connect(cl, now_ms(), &retry_ms))
		return refuse_ip(req, cl, &srv.ip_refused_connects, name, nlen, retry_ms,
				 "too many new connections from this address; retry later (--connect-rate-per-ip)");
	auth_claims_t claims;
	if (authorize(req, "WebSocket", name, nlen, 1, &claims))
		return 0;
	if (srv.nconns >= srv.cfg->max_connections) {
		log_warn("refused WebSocket for %.*s: connection limit %llu reached", nlen, name,
			 (unsigned long long)srv.cfg->max_connections);
		return refuse(req, 503, "Service Unavailable", "too many connections");
	}
	/* loading a document costs memory until it idles out; joining one that
	 * is open costs nothing */
	if (cl && !room_is_open(name, (size_t)nlen) && !rl_take_room_open(cl, now_ms(), &retry_ms))
		return refuse_ip(req, cl, &srv.ip_refused_rooms, name, nlen, retry_ms,
				 "too many documents opened from this address; retry later (--room-opens-per-ip)");
	room_t *room = room_open(name, (size_t)nlen);
	if (!room)
		return refuse(req, 503, "Service Unavailable", "document unavailable");

	conn_t *c = calloc(1, sizeof *c);
	if (!c)
		return refuse(req, 503, "Service Unavailable", "out of memory");
	c->id = ++srv.next_conn_id;
	c->last_recv_ms = c->last_send_ms = c->last_ping_ms = now_ms();
	c->readonly = claims.readonly;
	c->token_exp_ms = claims.exp_ms;
	c->client = cl;
	if (cl)
		rl_conn_added(cl);
	rl_bucket_init(&c->msg_budget, &srv.msg_rate, now_ms());
	rl_bucket_init(&c->byte_budget, &srv.byte_rate, now_ms());
	c->ws = h2o_upgrade_to_websocket(req, key, c, on_ws_message);
	/* the request is gone after this point (h2o frees it once the 101 is out) */
	wslay_event_config_set_max_recv_msg_length(c->ws->ws_ctx, srv.cfg->max_message);
	c->ws->ws_callbacks.send_callback = ws_send_cb; /* see "Outbound path" */
	wslay_event_config_set_callbacks(c->ws->ws_ctx, &c->ws->ws_callbacks);
	h2o_linklist_insert(&srv.conns, &c->all_link);
	srv.nconns++;
	srv.ws_accepted++;
	room_join(room, c);
	if (log_level >= LOG_DEBUG) {
		char sub[64], addr[INET6_ADDRSTRLEN];
		log_debug("conn %llu: joined %.*s from %s (%s, sub %s)", (unsigned long long)c->id, nlen, name,
			  have_ip ? proxy_ip_str(&ip, addr, sizeof addr) : "-",
			  !claims.exp_ms ? "anonymous" : c->readonly ? "ro" : "rw",
			  claims.sub[0] ? log_safe(claims.sub, sub, sizeof sub) : "-");
	}
	return 0;
}

static int on_healthz(h2o_handler_t *self, h2o_req_t *req)
{
	(void)self;
	send_text(req, 200, "OK", "text/plain; charset=utf-8", "ok\n", 3);
	return 0;
}

static int on_metrics(h2o_handler_t *self, h2o_req_t *req)
{
	(void)self;
	room_stats_t rs;
	store_stats_t ss;
	rooms_get_stats(&rs);
	store_get_stats(srv.store, &ss);
	char body[8192];
	int n = snprintf(
	    body, sizeof body,
	    "# HELP quire_connections Open WebSocket connections.\n# TYPE quire_connections gauge\n"
	    "quire_connections %llu\n"
	    "# HELP quire_rooms Documents held in memory.\n# TYPE quire_rooms gauge\nquire_rooms %llu\n"
	    "# HELP quire_ws_accepted_total WebSocket handshakes accepted.\n# TYPE quire_ws_accepted_total counter\n"
	    "quire_ws_accepted_total %llu\n"
	    "# HELP quire_ws_refused_total WebSocket handshakes refused.\n# TYPE quire_ws_refused_total counter\n"
	    "quire_ws_refused_total %llu\n"
	    "# HELP quire_auth_refused_total Requests refused for their token (401 and 403).\n"
	    "# TYPE quire_auth_refused_total counter\nquire_auth_refused_total %llu\n"
	    "# HELP quire_token_expired_closes_total Connections closed because their token expired.\n"
	    "# TYPE quire_token_expired_closes_total counter\nquire_token_expired_closes_total %llu\n"
	    "# HELP quire_updates_received_total Valid document updates received.\n"
	    "# TYPE quire_updates_received_total counter\nquire_updates_received_total %llu\n"
	    "# HELP quire_updates_relayed_total Stored updates relayed to rooms.\n"
	    "# TYPE quire_updates_relayed_total counter\nquire_updates_relayed_total %llu\n"
	    "# HELP quire_presence_broadcasts_total Awareness updates rooms sent their members (one per flush).\n"
	    "# TYPE quire_presence_broadcasts_total counter\nquire_presence_broadcasts_total %llu\n"
	    "# HELP quire_messages_rejected_total Messages refused, by reason.\n"
	    "# TYPE quire_messages_rejected_total counter\n"
	    "quire_messages_rejected_total{reason=\"malformed\"} %llu\n"
	    "quire_messages_rejected_total{reason=\"unknown_type\"} %llu\n"
	    "quire_messages_rejected_total{reason=\"readonly\"} %llu\n"
	    "# HELP quire_slow_consumers_closed_total Connections closed for an outbound backlog.\n"
	    "# TYPE quire_slow_consumers_closed_total counter\nquire_slow_consumers_closed_total %llu\n"
	    "# HELP quire_rate_limited_closes_total Connections closed for sending over --message-rate.\n"
	    "# TYPE quire_rate_limited_closes_total counter\nquire_rate_limited_closes_total %llu\n"
	    "# HELP quire_byte_rate_closes_total Connections closed for sending over --byte-rate.\n"
	    "# TYPE quire_byte_rate_closes_total counter\nquire_byte_rate_closes_total %llu\n"
	    "# HELP quire_ip_refused_total WebSocket handshakes refused (429) by a per-address limit.\n"
	    "# TYPE quire_ip_refused_total counter\n"
	    "quire_ip_refused_total{limit=\"connections\"} %llu\n"
	    "quire_ip_refused_total{limit=\"connect_rate\"} %llu\n"
	    "quire_ip_refused_total{limit=\"room_opens\"} %llu\n"
	    "# HELP quire_client_addresses Client addresses with per-address counters held.\n"
	    "# TYPE quire_client_addresses gauge\nquire_client_addresses %llu\n"
	    "# HELP quire_store_commits_total LMDB write transactions committed.\n"
	    "# TYPE quire_store_commits_total counter\nquire_store_commits_total %llu\n"
	    "# HELP quire_store_updates_total Updates stored.\n# TYPE quire_store_updates_total counter\n"
	    "quire_store_updates_total %llu\n"
	    "# HELP quire_store_bytes_total Update bytes stored.\n# TYPE quire_store_bytes_total counter\n"
	    "quire_store_bytes_total %llu\n"
	    "# HELP quire_store_compactions_total Document logs compacted.\n"
	    "# TYPE quire_store_compactions_total counter\nquire_store_compactions_total %llu\n"
	    "# HELP quire_store_failures_total Updates whose commit failed.\n"
	    "# TYPE quire_store_failures_total counter\nquire_store_failures_total %llu\n",
	    (unsigned long long)srv.nconns, (unsigned long long)rs.rooms, (unsigned long long)srv.ws_accepted,
	    (unsigned long long)srv.ws_refused, (unsigned long long)srv.auth_refused,
	    (unsigned long long)srv.token_expired_closes, (unsigned long long)rs.updates_received,
	    (unsigned long long)rs.updates_relayed, (unsigned long long)rs.presence_broadcasts,
	    (unsigned long long)rs.rejected_malformed,
	    (unsigned long long)rs.rejected_unknown, (unsigned long long)rs.rejected_readonly,
	    (unsigned long long)srv.closed_slow, (unsigned long long)srv.rate_limited_closes,
	    (unsigned long long)srv.byte_rate_closes,
	    (unsigned long long)srv.ip_refused_conns, (unsigned long long)srv.ip_refused_connects,
	    (unsigned long long)srv.ip_refused_rooms, (unsigned long long)rl_count(),
	    (unsigned long long)ss.commits, (unsigned long long)ss.updates, (unsigned long long)ss.bytes,
	    (unsigned long long)ss.compactions, (unsigned long long)ss.failures);
	send_text(req, 200, "OK", "text/plain; version=0.0.4", body, n > 0 && (size_t)n < sizeof body ? (size_t)n : 0);
	return 0;
}

/* GET /api/docs/{doc}/update | /api/docs/{doc}/sv */
static int on_api(h2o_handler_t *self, h2o_req_t *req)
{
	(void)self;
	static const char prefix[] = "/api/docs/";
	size_t plen = path_len(req), pre = sizeof prefix - 1;
	const char *p = req->path.base;
	if (plen <= pre || memcmp(p, prefix, pre) != 0)
		return refuse(req, 404, "Not Found", "no such API");
	const char *slash = NULL;
	for (size_t i = plen; i > pre; i--)
		if (p[i - 1] == '/') {
			slash = p + i - 1;
			break;
		}
	if (!slash)
		return refuse(req, 404, "Not Found", "expected /api/docs/{doc}/update or /api/docs/{doc}/sv");
	size_t alen = (size_t)(p + plen - slash - 1);
	int want_sv = alen == 2 && memcmp(slash + 1, "sv", 2) == 0;
	int want_update = alen == 6 && memcmp(slash + 1, "update", 6) == 0;
	if (!want_sv && !want_update)
		return refuse(req, 404, "Not Found", "expected /api/docs/{doc}/update or /api/docs/{doc}/sv");
	char name[256];
	int nlen = doc_name_decode(p + pre, (size_t)(slash - p) - pre, name);
	if (nlen < 0)
		return refuse(req, 400, "Bad Request",
			      "bad document name: 1-255 bytes of [A-Za-z0-9._~/-] after percent-decoding");
	if (!h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET")) &&
	    !h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD"))) {
		h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ALLOW, NULL, H2O_STRLIT("GET, HEAD"));
		return refuse(req, 405, "Method Not Allowed", "only GET is supported here");
	}
	auth_claims_t claims;
	if (authorize(req, "API request", name, nlen, 0, &claims))
		return 0; /* reading needs either scope; writes (later) will need rw */
	uint8_t *state;
	size_t slen;
	int found;
	if (room_snapshot(name, (size_t)nlen, &state, &slen, &found))
		return refuse(req, 500, "Internal Server Error", "cannot read the document");
	if (!found) {
		free(state);
		return refuse(req, 404, "Not Found", "no such document");
	}
	uint8_t *body = state;
	size_t blen = slen;
	uint8_t *sv = NULL;
	if (want_sv) {
		if (qc_update_state_vector(state, slen, &sv, &blen) != QC_OK) {
			free(state);
			return refuse(req, 500, "Internal Server Error", "cannot compute the state vector");
		}
		body = sv;
	}
	send_text(req, 200, "OK", "application/octet-stream", (const char *)body, blen);
	free(state);
	free(sv);
	return 0;
}

/* --- the editor's files: security and caching headers -----------------------
 * Every response under / (the editor's files from --web, the notice page when
 * there are none, and their errors) carries
 *  - Content-Security-Policy: the policy web-editor/index.html also sets in a
 *    <meta> (scripts, styles and connections only from quire's origin, styles
 *    also inline because CodeMirror injects its own, no plugins, no <base>),
 *    plus frame-ancestors from --frame-ancestors, which only a header can set;
 *  - X-Content-Type-Options: nosniff and Referrer-Policy: no-referrer;
 *  - Cache-Control, unless the handler chose one: a content-hashed file
 *    (assets/NAME-HASH.EXT, as the editor's build names them) answered
 *    200/206/304 is kept for a year and never revalidated, since a new build
 *    has new names; anything else found (index.html, a file without a hash, a
 *    redirect) is revalidated on every use ("no-cache": its ETag makes that a
 *    304), so a deploy is picked up at once; an error is not stored. */
#define WEB_CSP                                                                                       \
	"default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " \
	"connect-src 'self'; base-uri 'none'; form-action 'self'; object-src 'none'"
#define WEB_CACHE_HASHED "public, max-age=31536000, immutable"

static char web_csp[sizeof WEB_CSP + sizeof "; frame-ancestors " + CONFIG_FRAME_ANCESTORS_MAX];

/* 1 for /assets/.../NAME-HASH.EXT: HASH is 8 or more of [A-Z0-9] (esbuild's
 * [hash] is 8 characters of base32), followed by the first '.' of the
 * extension (main-XYOQIPYA.js, main-XYOQIPYA.js.map, style-A3WNWPIC.css) */
static int is_hashed_asset(const char *p, size_t n)
{
	static const char dir[] = "/assets/";
	if (n < sizeof dir || memcmp(p, dir, sizeof dir - 1) != 0)
		return 0;
	const char *seg = p + n;
	while (seg[-1] != '/')
		seg--;
	size_t sl = (size_t)(p + n - seg);
	for (size_t i = 1; i < sl; i++) {
		if (seg[i] != '-')
			continue;
		size_t j = i + 1;
		while (j < sl && ((seg[j] >= 'A' && seg[j] <= 'Z') || (seg[j] >= '0' && seg[j] <= '9')))
			j++;
		if (j - i - 1 >= 8 && j < sl && seg[j] == '.')
			return 1;
	}
	return 0;
}

static void on_web_ostream(h2o_filter_t *self, h2o_req_t *req, h2o_ostream_t **slot)
{
	(void)self;
	h2o_mem_pool_t *pool = &req->pool;
	h2o_headers_t *h = &req->res.headers;
	h2o_set_header_by_str(pool, h, H2O_STRLIT("content-security-policy"), 0, web_csp, strlen(web_csp), 1);
	h2o_set_header_by_str(pool, h, H2O_STRLIT("x-content-type-options"), 0, H2O_STRLIT("nosniff"), 1);
	h2o_set_header_by_str(pool, h, H2O_STRLIT("referrer-policy"), 0, H2O_STRLIT("no-referrer"), 1);
	if (h2o_find_header(h, H2O_TOKEN_CACHE_CONTROL, -1) == -1) {
		int st = req->res.status;
		const char *cc = "no-cache";
		if (st >= 400)
			cc = "no-store";
		else if ((st == 200 || st == 206 || st == 304) &&
			 is_hashed_asset(req->path_normalized.base, req->path_normalized.len))
			cc = WEB_CACHE_HASHED;
		h2o_add_header(pool, h, H2O_TOKEN_CACHE_CONTROL, NULL, cc, strlen(cc));
	}
	h2o_setup_next_ostream(req, slot);
}

static void web_headers_init(const config_t *cfg, h2o_pathconf_t *pc)
{
	if (cfg->frame_ancestors[0]) {
		snprintf(web_csp, sizeof web_csp, "%s; frame-ancestors %s", WEB_CSP, cfg->frame_ancestors);
		log_info("the editor may be framed by: %s (--frame-ancestors)", cfg->frame_ancestors);
	} else {
		snprintf(web_csp, sizeof web_csp, "%s", WEB_CSP);
		log_info("the editor may be framed by any page (no --frame-ancestors)");
	}
	h2o_filter_t *f = h2o_create_filter(pc, sizeof *f);
	f->on_setup_ostream = on_web_ostream;
}

static const char default_page[] =
    "<!doctype html><meta charset=utf-8><title>quire</title>"
    "<h1>quire</h1><p>The sync server is running. The web editor is not built: run "
    "<code>npm ci &amp;&amp; npm run build</code> in <code>web-editor/</code>, or pass <code>--web DIR</code>.</p>"
    "<p>WebSocket rooms: <code>/ws/{doc}</code>. Health: <a href=/healthz>/healthz</a>. "
    "Metrics: <a href=/metrics>/metrics</a>.</p>\n";

static int on_default_page(h2o_handler_t *self, h2o_req_t *req)
{
	(void)self;
	if (path_len(req) != 1)
		return refuse(req, 404, "Not Found", "not found");
	send_text(req, 200, "OK", "text/html; charset=utf-8", default_page, sizeof default_page - 1);
	return 0;
}

static h2o_pathconf_t *add_route(h2o_hostconf_t *host, const char *path, int (*fn)(h2o_handler_t *, h2o_req_t *))
{
	h2o_pathconf_t *pc = h2o_config_register_path(host, path, 0);
	h2o_handler_t *h = h2o_create_handler(pc, sizeof *h);
	h->on_req = fn;
	return pc;
}

/* --- listener ------------------------------------------------------------ */

static void on_accept(h2o_socket_t *listener, const char *err)
{
	if (err)
		return;
	for (int i = 0; i < 64; i++) {
		h2o_socket_t *sock = h2o_evloop_socket_accept(listener);
		if (!sock) {
			if (errno == EMFILE || errno == ENFILE) {
				log_warn("out of file descriptors; pausing accepts for a second");
				h2o_socket_read_stop(listener);
				srv.listener_paused = 1;
			}
			return;
		}
		h2o_accept(&srv.accept_ctx, sock);
	}
}

static int open_listener(const config_t *cfg)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE};
	struct addrinfo *res;
	char port[16];
	snprintf(port, sizeof port, "%u", cfg->listen_port);
	int rc = getaddrinfo(cfg->listen_host, port, &hints, &res);
	if (rc) {
		log_error("--listen %s:%u: host must be a numeric IPv4 or IPv6 address (%s)", cfg->listen_host,
			  cfg->listen_port, gai_strerror(rc));
		return -1;
	}
	int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) ||
	    bind(fd, res->ai_addr, res->ai_addrlen) || listen(fd, 4096)) {
		log_error("cannot listen on %s:%u: %s", cfg->listen_host, cfg->listen_port, strerror(errno));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(res);
		return -1;
	}
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	unsigned actual = cfg->listen_port;
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
		actual = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
							: ((struct sockaddr_in *)&ss)->sin_port);
	int v6 = res->ai_family == AF_INET6;
	freeaddrinfo(res);
	srv.listener = h2o_evloop_socket_create(srv.ctx.loop, fd, H2O_SOCKET_FLAG_DONT_READ);
	h2o_socket_read_start(srv.listener, on_accept);
	log_info("listening on http://%s%s%s:%u", v6 ? "[" : "", cfg->listen_host, v6 ? "]" : "", actual);
	if (srv.dev_token) {
		/* the one place a token is ever printed: stdout, not the log */
		printf("editor: http://%s%s%s:%u/?doc=welcome#token=%s\n", v6 ? "[" : "", cfg->listen_host,
		       v6 ? "]" : "", actual, srv.dev_token);
		fflush(stdout);
		log_info("dev mode: the editor URL with a token (every document, read-write, 7 days) is on "
			 "standard output");
	} else if (cfg->dev) {
		log_info("editor: http://%s%s%s:%u/?doc=welcome", v6 ? "[" : "", cfg->listen_host, v6 ? "]" : "",
			 actual);
	}
	return 0;
}

/* --- lifecycle ------------------------------------------------------------ */

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static const char *default_web_dir(void)
{
	static char path[PATH_MAX];
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n <= 0)
		return NULL;
	exe[n] = 0;
	char *slash = strrchr(exe, '/');
	if (!slash)
		return NULL;
	*slash = 0;
	struct stat st;
	const char *candidates[] = {"%s/../web-editor/dist", "%s/web-editor/dist", "%s/../share/quire/web"};
	for (size_t i = 0; i < sizeof candidates / sizeof *candidates; i++) {
		snprintf(path, sizeof path, candidates[i], exe);
		char index[PATH_MAX + 16];
		snprintf(index, sizeof index, "%s/index.html", path);
		if (stat(index, &st) == 0)
			return path;
	}
	return NULL;
}

/* --dev without keys: DATA/dev-token-key (created once), and a token for
 * every document, read-write, for 7 days. */
static int dev_key(const config_t *cfg)
{
	char path[PATH_MAX], err[PATH_MAX + 256];
	uint8_t sk[AUTH_SK_BYTES];
	auth_key_t key;
	snprintf(path, sizeof path, "%s/dev-token-key", cfg->data_dir);
	if (access(path, F_OK) != 0) {
		if (auth_keygen(path, &key, err, sizeof err)) {
			log_error("--dev: cannot create a token key: %s", err);
			return -1;
		}
		log_info("--dev: created token key %s (public half %s.pub)", path, path);
	}
	if (auth_load_secret_key(path, sk, err, sizeof err)) {
		log_error("--dev: %s", err);
		return -1;
	}
	memcpy(key.pk, sk + 32, AUTH_PK_BYTES);
	auth_pid(key.pk, key.pid);
	srv.keys[srv.nkeys++] = key;
	srv.dev_token = auth_mint(sk, "*", 0, auth_now_ms() / 1000, 7 * 86400, NULL);
	auth_wipe(sk, sizeof sk);
	if (!srv.dev_token) {
		log_error("--dev: out of memory");
		return -1;
	}
	log_info("--dev: accepting tokens signed by %s (%s.pub)", key.pid, path);
	return 0;
}

int serve_run(const config_t *cfg)
{
	memset(&srv, 0, sizeof srv);
	srv.cfg = cfg;
	log_level = cfg->log_level;
	h2o_linklist_init_anchor(&srv.conns);
	h2o_linklist_init_anchor(&srv.dirty);

	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	signal(SIGPIPE, SIG_IGN);
	struct sigaction sa = {.sa_handler = on_signal};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	char err[512];
	if (auth_init()) {
		log_error("cannot initialise libsodium");
		return 1;
	}
	for (size_t i = 0; i < cfg->n_token_pubkeys; i++) {
		if (auth_load_public_key(cfg->token_pubkeys[i], &srv.keys[srv.nkeys], err, sizeof err)) {
			log_error("--token-pubkey %s", err);
			return 2;
		}
		log_info("accepting tokens signed by %s (%s)", srv.keys[srv.nkeys].pid, cfg->token_pubkeys[i]);
		srv.nkeys++;
	}
	store_opts_t so = {.map_size = cfg->map_size, .compact_after = cfg->compact_after,
			   .on_committed = on_store_committed};
	srv.store = store_open(cfg->data_dir, &so, err, sizeof err);
	if (!srv.store) {
		log_error("%s", err);
		return 1;
	}
	if (cfg->dev && !srv.nkeys && !cfg->allow_anonymous && dev_key(cfg)) {
		store_close(srv.store);
		return 1;
	}
	rl_limits_t lim = {.max_conns = cfg->max_conns_per_ip,
			   .connects = {cfg->connect_rate_per_ip, cfg->connect_rate_per_ip, 60000},
			   .room_opens = {cfg->room_opens_per_ip, cfg->room_opens_per_ip, 60000}};
	rl_init(&lim);
	if (cfg->trusted_proxies.n) {
		char list[512], one[INET6_ADDRSTRLEN];
		size_t used = 0;
		for (size_t i = 0; i < cfg->trusted_proxies.n && used < sizeof list; i++) {
			const proxy_net_t *n = &cfg->trusted_proxies.nets[i];
			int w = snprintf(list + used, sizeof list - used, "%s%s/%u", i ? ", " : "",
					 proxy_ip_str(&n->ip, one, sizeof one), n->prefix);
			used += w > 0 ? (size_t)w : 0;
		}
		log_info("client addresses of connections from %s are read from X-Forwarded-For (--trusted-proxy)",
			 list);
	}
	srv.msg_rate = (rl_rate_t){cfg->message_rate, 4 * cfg->message_rate, 1000};
	/* the burst takes at least one message of the largest size (a client's
	 * first sync step 2 can be its whole document) */
	srv.byte_rate = (rl_rate_t){cfg->byte_rate,
				    4 * cfg->byte_rate > cfg->max_message ? 4 * cfg->byte_rate : cfg->max_message, 1000};

	h2o_config_init(&srv.config);
	srv.config.http1.upgrade_to_http2 = 0; /* no h2c: HTTP/1.1 only */
	srv.config.max_request_entity_size = 1u << 20;
	h2o_hostconf_t *host = h2o_config_register_host(&srv.config, h2o_iovec_init(H2O_STRLIT("default")), 65535);
	add_route(host, "/ws", on_ws_req);
	add_route(host, "/healthz", on_healthz);
	add_route(host, "/metrics", on_metrics);
	add_route(host, "/api/docs", on_api);
	const char *web = cfg->web_dir ? cfg->web_dir : default_web_dir();
	if (web) {
		struct stat st;
		if (stat(web, &st) != 0 || !S_ISDIR(st.st_mode)) {
			log_error("--web %s: not a directory", web);
			store_close(srv.store);
			h2o_config_dispose(&srv.config);
			return 1;
		}
		h2o_pathconf_t *pc = h2o_config_register_path(host, "/", 0);
		/* h2o's default types, plus the editor build's source maps as JSON
		 * (h2o 2.2 has no .map entry and would send application/octet-stream) */
		h2o_mimemap_t *types = h2o_mimemap_create();
		h2o_mimemap_define_mimetype(types, "map", "application/json", NULL);
		h2o_file_register(pc, web, NULL, types, 0); /* keeps its own reference */
		h2o_mem_release_shared(types);
		web_headers_init(cfg, pc);
		log_info("serving the editor from %s", web);
	} else {
		web_headers_init(cfg, add_route(host, "/", on_default_page));
		log_info("web editor not built; / shows a notice (see --web)");
	}

	h2o_context_init(&srv.ctx, h2o_evloop_create(), &srv.config);
	srv.accept_ctx.ctx = &srv.ctx;
	srv.accept_ctx.hosts = srv.config.hosts;
	h2o_multithread_register_receiver(srv.ctx.queue, &srv.committed_rx, on_committed_rx);
	srv.flush_entry.cb = flush_dirty;
	srv.tick_entry.cb = on_tick;
	h2o_timeout_init(srv.ctx.loop, &srv.tick_timeout, 1000);
	h2o_timeout_link(srv.ctx.loop, &srv.tick_timeout, &srv.tick_entry);
	rooms_env_t re = {.store = srv.store, .cfg = cfg, .now_ms = now_ms, .loop = srv.ctx.loop};
	rooms_init(&re);

	int code = 0;
	if (open_listener(cfg)) {
		code = 1;
		stop_requested = 1;
	} else {
		if (cfg->allow_anonymous)
			log_warn("ANONYMOUS ACCESS (--allow-anonymous): connections without a token may read and write "
				 "EVERY document%s",
				 srv.nkeys ? "; tokens that are given are still checked" : "; no token keys are configured");
		log_info("data in %s; messages up to %llu bytes; compaction after %llu updates", cfg->data_dir,
			 (unsigned long long)cfg->max_message, (unsigned long long)cfg->compact_after);
	}

	while (!stop_requested)
		h2o_evloop_run(srv.ctx.loop, 1000);

	/* shutdown: stop accepting, say goodbye, store everything received */
	if (srv.listener) {
		h2o_socket_read_stop(srv.listener);
		h2o_socket_close(srv.listener);
		srv.listener = NULL;
		log_info("shutting down");
	}
	for (h2o_linklist_t *l = srv.conns.next; l != &srv.conns; l = l->next)
		conn_close(H2O_STRUCT_FROM_MEMBER(conn_t, all_link, l), 1001, "server shutdown");
	for (int i = 0; i < 40 && !h2o_linklist_is_empty(&srv.conns); i++)
		h2o_evloop_run(srv.ctx.loop, 50);
	while (!h2o_linklist_is_empty(&srv.conns)) {
		conn_t *c = H2O_STRUCT_FROM_MEMBER(conn_t, all_link, srv.conns.next);
		if (!c->ws->sock) {
			h2o_evloop_run(srv.ctx.loop, 10); /* 101 still being written */
			continue;
		}
		conn_destroy(c);
	}
	store_close(srv.store); /* commits every queued update */
	for (int i = 0; i < 200 && rooms_inflight(); i++)
		h2o_evloop_run(srv.ctx.loop, 10);
	rooms_shutdown();
	rl_free_all();
	/* The h2o context and loop are left to process exit: h2o 2.2.5 cannot close
	 * idle keep-alive HTTP/1 connections on demand, and disposing a context that
	 * still has them trips its assertions. Everything that matters (the store)
	 * is closed above. */
	if (code == 0)
		log_info("stopped cleanly");
	return code;
}
