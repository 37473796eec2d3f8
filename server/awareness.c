#include "awareness.h"

#include "quire/lib0.h"

#include <stdlib.h>
#include <string.h>

static aw_entry_t *find(const awareness_t *a, uint64_t client)
{
	for (size_t i = 0; i < a->n; i++)
		if (a->v[i].client == client)
			return &a->v[i];
	return NULL;
}

/* --- JSON texts, as JSON.parse reads them ----------------------------------
 * y-protocols parses every state it receives with JSON.parse and throws on a
 * bad one, and a room sends all its states to every newcomer, so one bad state
 * would break presence for the whole room. The grammar is ECMA-404's: any
 * value at the top, JSON whitespace only, no raw control characters in
 * strings, any \u escape (JSON.stringify writes \u0000 and lone surrogates, so
 * they are taken). UTF-8 was checked by the reader. Returns the index after
 * the part read, or AW_BAD. */

#define AW_BAD SIZE_MAX
#define AW_JSON_DEPTH 128 /* containers around a value: a state is a small object */

static size_t j_ws(const char *s, size_t n, size_t i)
{
	while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
		i++;
	return i;
}

static int j_digit(char c) { return c >= '0' && c <= '9'; }

static int j_hex(char c) { return j_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

static size_t j_string(const char *s, size_t n, size_t i)
{
	if (i >= n || s[i] != '"')
		return AW_BAD;
	for (i++; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"')
			return i + 1;
		if (c < 0x20)
			return AW_BAD;
		if (c != '\\')
			continue;
		if (++i >= n)
			return AW_BAD;
		if (s[i] == 'u') {
			if (n - i < 5 || !j_hex(s[i + 1]) || !j_hex(s[i + 2]) || !j_hex(s[i + 3]) || !j_hex(s[i + 4]))
				return AW_BAD;
			i += 4;
		} else if (!memchr("\"\\/bfnrt", s[i], 8)) {
			return AW_BAD;
		}
	}
	return AW_BAD;
}

static size_t j_digits(const char *s, size_t n, size_t i)
{
	if (i >= n || !j_digit(s[i]))
		return AW_BAD;
	while (i < n && j_digit(s[i]))
		i++;
	return i;
}

static size_t j_number(const char *s, size_t n, size_t i)
{
	if (i < n && s[i] == '-')
		i++;
	if (i < n && s[i] == '0')
		i++;
	else if ((i = j_digits(s, n, i)) == AW_BAD)
		return AW_BAD;
	if (i < n && s[i] == '.' && (i = j_digits(s, n, i + 1)) == AW_BAD)
		return AW_BAD;
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		i = j_digits(s, n, i);
	}
	return i;
}

/* A member's key and colon inside an object, from i; the index of its value. */
static size_t j_key(const char *s, size_t n, size_t i)
{
	i = j_string(s, n, j_ws(s, n, i));
	if (i == AW_BAD || (i = j_ws(s, n, i)) >= n || s[i] != ':')
		return AW_BAD;
	return j_ws(s, n, i + 1);
}

static int json_text_ok(const char *s, size_t n)
{
	char open[AW_JSON_DEPTH]; /* the containers around i: '{' or '[' */
	size_t depth = 0, i = j_ws(s, n, 0);
	for (;;) {
		/* a value at i */
		if (i >= n)
			return 0;
		char c = s[i];
		if (c == '{' || c == '[') {
			if (depth == AW_JSON_DEPTH)
				return 0;
			open[depth++] = c;
			i = j_ws(s, n, i + 1);
			if (i < n && s[i] == (c == '{' ? '}' : ']')) {
				depth--;
				i++;
			} else {
				if (c == '{' && (i = j_key(s, n, i)) == AW_BAD)
					return 0;
				continue;
			}
		} else if (c == '"') {
			i = j_string(s, n, i);
		} else if (c == '-' || j_digit(c)) {
			i = j_number(s, n, i);
		} else {
			const char *lit = c == 't' ? "true" : c == 'f' ? "false" : c == 'n' ? "null" : NULL;
			size_t ln = lit ? strlen(lit) : 0;
			if (!lit || n - i < ln || memcmp(s + i, lit, ln) != 0)
				return 0;
			i += ln;
		}
		/* after a value: a comma, or the end of containers */
		for (;;) {
			if (i == AW_BAD)
				return 0;
			i = j_ws(s, n, i);
			if (depth == 0)
				return i == n;
			if (i >= n)
				return 0;
			char close = open[depth - 1] == '{' ? '}' : ']';
			if (s[i] == close) {
				depth--;
				i++;
				continue;
			}
			if (s[i] != ',')
				return 0;
			i = open[depth - 1] == '{' ? j_key(s, n, i + 1) : j_ws(s, n, i + 1);
			if (i == AW_BAD)
				return 0;
			break;
		}
	}
}

/* Is the state JSON null (a removal), JSON whitespace around it included, as
 * JSON.parse reads it? */
static int is_null(const char *s, size_t n)
{
	size_t i = j_ws(s, n, 0);
	if (n - i < 4 || memcmp(s + i, "null", 4) != 0)
		return 0;
	return j_ws(s, n, i + 4) == n;
}

void awareness_free(awareness_t *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->v[i].state);
	free(a->v);
	memset(a, 0, sizeof *a);
}

size_t awareness_count(const awareness_t *a)
{
	size_t c = 0;
	for (size_t i = 0; i < a->n; i++)
		c += a->v[i].state != NULL;
	return c;
}

/* Encoder of an awareness update whose entry count is known only at the end. */
typedef struct {
	qc_enc body;
	size_t count;
} aw_out_t;

static void out_entry(aw_out_t *o, uint64_t client, uint64_t clock, const char *state, size_t len)
{
	qc_write_varuint(&o->body, client);
	qc_write_varuint(&o->body, clock);
	if (state)
		qc_write_varstring(&o->body, state, len);
	else
		qc_write_varstring(&o->body, "null", 4);
	o->count++;
}

static int out_finish(aw_out_t *o, uint8_t **out, size_t *out_len)
{
	*out = NULL;
	*out_len = 0;
	if (!qc_enc_ok(&o->body)) {
		qc_enc_free(&o->body);
		return -1;
	}
	if (o->count == 0) {
		qc_enc_free(&o->body);
		return 0;
	}
	qc_enc e;
	qc_enc_init(&e);
	qc_write_varuint(&e, o->count);
	qc_write_bytes(&e, o->body.data, o->body.len);
	qc_enc_free(&o->body);
	if (!qc_enc_ok(&e)) {
		qc_enc_free(&e);
		return -1;
	}
	*out = qc_enc_take(&e, out_len);
	return 0;
}

/* Frees room by dropping removed (null) entries, except removals not yet
 * taken by awareness_take_changes: the room still has to tell its members. */
static void compact(awareness_t *a)
{
	size_t w = 0;
	for (size_t i = 0; i < a->n; i++)
		if (a->v[i].state || a->v[i].pending)
			a->v[w++] = a->v[i];
	a->n = w;
}

int awareness_apply(awareness_t *a, const uint8_t *p, size_t n, uint64_t owner, uint64_t now_ms,
		    const aw_limits_t *lim)
{
	qc_dec d;
	qc_dec_init(&d, p, n);
	uint64_t count;
	int changed = 0;
	if (qc_read_varuint(&d, &count) != QC_OK || count > qc_dec_left(&d))
		return -1;
	/* validate the whole message before changing anything */
	qc_dec check = d;
	for (uint64_t i = 0; i < count; i++) {
		uint64_t client, clock;
		const char *s;
		size_t len;
		if (qc_read_varuint(&check, &client) || qc_read_varuint(&check, &clock) ||
		    qc_read_varstring(&check, &s, &len))
			return -1;
		if (len <= lim->max_state && !json_text_ok(s, len))
			return -1; /* (a larger state is dropped below anyway) */
	}
	if (qc_dec_left(&check) != 0)
		return -1;

	for (uint64_t i = 0; i < count; i++) {
		uint64_t client, clock;
		const char *s;
		size_t len;
		qc_read_varuint(&d, &client);
		qc_read_varuint(&d, &clock);
		qc_read_varstring(&d, &s, &len);
		int null = is_null(s, len);
		if (len > lim->max_state)
			continue;
		aw_entry_t *e = find(a, client);
		uint64_t known = e ? e->clock : 0;
		if (!(clock > known || (clock == known && null && e && e->state)))
			continue;
		if (!e) {
			if (null)
				continue; /* removal of a client we never saw */
			size_t owned = 0, present = 0;
			for (size_t k = 0; k < a->n; k++) {
				present += a->v[k].state != NULL;
				owned += a->v[k].owner == owner && a->v[k].state;
			}
			if (owned >= lim->max_per_owner || present >= lim->max_entries)
				continue;
			/* Only present clients count towards max_entries: a removal
			 * still waiting for awareness_take_changes keeps its entry
			 * (compact) but not its place, or a full room would refuse a
			 * newcomer for up to a --presence-interval after someone left.
			 * Such removals are bounded by max_entries too (only a
			 * connection churning client ids within one interval gets
			 * there), so the table never holds more than twice that. */
			if (a->n >= lim->max_entries)
				compact(a);
			if (a->n >= 2 * lim->max_entries)
				continue;
			if (a->n == a->cap) {
				size_t cap = a->cap ? a->cap * 2 : 1; /* most rooms have one or two */
				aw_entry_t *nv = realloc(a->v, cap * sizeof *nv);
				if (!nv)
					continue;
				a->v = nv;
				a->cap = cap;
			}
			e = &a->v[a->n++];
			memset(e, 0, sizeof *e);
			e->client = client;
			e->owner = owner;
		}
		int was_absent = e->state == NULL;
		if (null) {
			free(e->state);
			e->state = NULL;
			e->state_len = 0;
		} else {
			char *copy = malloc(len ? len : 1);
			if (!copy)
				continue;
			memcpy(copy, s, len);
			free(e->state);
			e->state = copy;
			e->state_len = len;
			if (was_absent)
				e->owner = owner; /* a returning client belongs to its new connection */
		}
		e->clock = clock;
		e->updated_ms = now_ms;
		e->pending = 1;
		changed++;
	}
	return changed;
}

int awareness_encode_all(const awareness_t *a, uint8_t **out, size_t *out_len)
{
	aw_out_t o = {0};
	qc_enc_init(&o.body);
	for (size_t i = 0; i < a->n; i++)
		if (a->v[i].state)
			out_entry(&o, a->v[i].client, a->v[i].clock, a->v[i].state, a->v[i].state_len);
	return out_finish(&o, out, out_len);
}

static size_t remove_where(awareness_t *a, int (*pred)(const aw_entry_t *, uint64_t, uint64_t), uint64_t x,
			   uint64_t y)
{
	size_t changed = 0;
	for (size_t i = 0; i < a->n; i++) {
		aw_entry_t *e = &a->v[i];
		if (e->state && pred(e, x, y)) {
			free(e->state);
			e->state = NULL;
			e->state_len = 0;
			e->pending = 1;
			changed++;
		}
	}
	return changed;
}

static int owned_by(const aw_entry_t *e, uint64_t owner, uint64_t unused)
{
	(void)unused;
	return e->owner == owner;
}

static int older_than(const aw_entry_t *e, uint64_t now, uint64_t timeout)
{
	return now >= e->updated_ms + timeout;
}

size_t awareness_remove_owner(awareness_t *a, uint64_t owner) { return remove_where(a, owned_by, owner, 0); }

size_t awareness_expire(awareness_t *a, uint64_t now_ms, uint64_t timeout_ms)
{
	return remove_where(a, older_than, now_ms, timeout_ms);
}

int awareness_take_changes(awareness_t *a, uint8_t **out, size_t *out_len)
{
	aw_out_t o = {0};
	qc_enc_init(&o.body);
	for (size_t i = 0; i < a->n; i++)
		if (a->v[i].pending)
			out_entry(&o, a->v[i].client, a->v[i].clock, a->v[i].state, a->v[i].state_len);
	if (out_finish(&o, out, out_len))
		return -1; /* the marks stay: the next call tries again */
	for (size_t i = 0; i < a->n; i++)
		a->v[i].pending = 0;
	return 0;
}
