/* Editing-trace loader: zlib + a small JSON reader that knows the trace
 * schema (unknown keys are skipped), plus SHA-256 for the endContent
 * checksums documented in tests/traces/README.md. */
#include "trace.h"

#include "quire/doc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* --- gzip --------------------------------------------------------------------- */

static char *read_gz(const char *path, size_t *out_len, size_t *gz_len, char *err)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		snprintf(err, 256, "cannot open %s", path);
		return NULL;
	}
	fseek(f, 0, SEEK_END);
	*gz_len = (size_t)ftell(f);
	fclose(f);
	gzFile g = gzopen(path, "rb");
	if (!g) {
		snprintf(err, 256, "gzopen %s failed", path);
		return NULL;
	}
	size_t cap = 1 << 20, len = 0;
	char *buf = malloc(cap + 1);
	for (;;) {
		if (!buf) {
			gzclose(g);
			snprintf(err, 256, "out of memory");
			return NULL;
		}
		int r = gzread(g, buf + len, (unsigned)(cap - len));
		if (r < 0) {
			int e;
			snprintf(err, 256, "gzread %s: %s", path, gzerror(g, &e));
			free(buf);
			gzclose(g);
			return NULL;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len == cap) {
			cap *= 2;
			char *nb = realloc(buf, cap + 1);
			if (!nb)
				free(buf);
			buf = nb;
		}
	}
	gzclose(g);
	buf[len] = 0;
	*out_len = len;
	return buf;
}

/* --- JSON reader ------------------------------------------------------------------ */

typedef struct jr {
	const char *p, *end;
	char *arena;
	size_t arena_len;
	char *err;
	int failed;
	/* growable outputs */
	tr_txn *txns;
	size_t ntxns, ctxns;
	tr_patch *patches;
	size_t npatches, cpatches;
	size_t *parents;
	size_t nparents, cparents;
} jr;

static void fail(jr *r, const char *fmt, ...)
{
	if (r->failed)
		return;
	r->failed = 1;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(r->err, 200, fmt, ap);
	va_end(ap);
	snprintf(r->err + (n < 200 ? n : 199), 56, " (at byte %zu)", (size_t)(r->end - r->p));
}

static void ws(jr *r)
{
	while (r->p < r->end && (*r->p == ' ' || *r->p == '\n' || *r->p == '\r' || *r->p == '\t'))
		r->p++;
}

static int expect(jr *r, char c)
{
	ws(r);
	if (r->p < r->end && *r->p == c) {
		r->p++;
		return 1;
	}
	fail(r, "expected '%c'", c);
	return 0;
}

static int peek(jr *r, char c)
{
	ws(r);
	return r->p < r->end && *r->p == c;
}

static unsigned hex4(jr *r)
{
	unsigned v = 0;
	for (int i = 0; i < 4; i++) {
		if (r->p >= r->end) {
			fail(r, "truncated \\u escape");
			return 0;
		}
		char c = *r->p++;
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			fail(r, "bad \\u escape");
	}
	return v;
}

static char *put_utf8(char *o, unsigned cp)
{
	if (cp < 0x80) {
		*o++ = (char)cp;
	} else if (cp < 0x800) {
		*o++ = (char)(0xc0 | cp >> 6);
		*o++ = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		*o++ = (char)(0xe0 | cp >> 12);
		*o++ = (char)(0x80 | (cp >> 6 & 0x3f));
		*o++ = (char)(0x80 | (cp & 0x3f));
	} else {
		*o++ = (char)(0xf0 | cp >> 18);
		*o++ = (char)(0x80 | (cp >> 12 & 0x3f));
		*o++ = (char)(0x80 | (cp >> 6 & 0x3f));
		*o++ = (char)(0x80 | (cp & 0x3f));
	}
	return o;
}

/* Reads a string into the arena (NUL-terminated); returns its start. */
static char *str(jr *r, size_t *len)
{
	if (!expect(r, '"'))
		return NULL;
	char *start = r->arena + r->arena_len, *o = start;
	while (r->p < r->end && *r->p != '"') {
		char c = *r->p++;
		if (c != '\\') {
			*o++ = c;
			continue;
		}
		if (r->p >= r->end)
			break;
		c = *r->p++;
		switch (c) {
		case 'n': *o++ = '\n'; break;
		case 't': *o++ = '\t'; break;
		case 'r': *o++ = '\r'; break;
		case 'b': *o++ = '\b'; break;
		case 'f': *o++ = '\f'; break;
		case 'u': {
			unsigned cp = hex4(r);
			if (cp >= 0xd800 && cp < 0xdc00 && r->end - r->p >= 6 && r->p[0] == '\\' && r->p[1] == 'u') {
				const char *save = r->p;
				r->p += 2;
				unsigned lo = hex4(r);
				if (lo >= 0xdc00 && lo < 0xe000)
					cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				else
					r->p = save;
			}
			if (cp >= 0xd800 && cp < 0xe000)
				cp = 0xfffd; /* lone surrogate */
			o = put_utf8(o, cp);
			break;
		}
		default: *o++ = c; break; /* \" \\ \/ */
		}
	}
	if (!expect(r, '"'))
		return NULL;
	*o = 0;
	*len = (size_t)(o - start);
	r->arena_len += *len + 1;
	return start;
}

static double num(jr *r)
{
	ws(r);
	char *e;
	double v = strtod(r->p, &e);
	if (e == r->p)
		fail(r, "expected a number");
	r->p = e;
	return v;
}

static void skip_value(jr *r, int depth)
{
	ws(r);
	if (r->p >= r->end || depth > 64) {
		fail(r, "unexpected end");
		return;
	}
	char c = *r->p;
	size_t l;
	if (c == '"') {
		size_t mark = r->arena_len;
		str(r, &l);
		r->arena_len = mark;
	} else if (c == '{' || c == '[') {
		char close = c == '{' ? '}' : ']';
		r->p++;
		if (peek(r, close)) {
			r->p++;
			return;
		}
		do {
			if (c == '{') {
				size_t mark = r->arena_len;
				str(r, &l);
				r->arena_len = mark;
				expect(r, ':');
			}
			skip_value(r, depth + 1);
		} while (!r->failed && peek(r, ',') && r->p++);
		expect(r, close);
	} else if (c == 't' || c == 'f' || c == 'n') {
		while (r->p < r->end && *r->p >= 'a' && *r->p <= 'z')
			r->p++;
	} else {
		num(r);
	}
}

#define GROW(arr, n, cap)                                                          \
	do {                                                                       \
		if ((n) == (cap)) {                                                \
			(cap) = (cap) ? (cap) * 2 : 1024;                          \
			void *np_ = realloc((arr), (cap) * sizeof *(arr));         \
			if (!np_) {                                                \
				fail(r, "out of memory");                          \
				return;                                            \
			}                                                          \
			(arr) = np_;                                               \
		}                                                                  \
	} while (0)

static uint64_t utf16_units(const char *s, size_t n, int *astral)
{
	uint64_t u = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c & 0xc0) == 0x80)
			continue;
		if (c >= 0xf0) {
			u += 2;
			*astral = 1;
		} else {
			u += 1;
		}
	}
	return u;
}

static void patch(jr *r, trace *t)
{
	GROW(r->patches, r->npatches, r->cpatches);
	tr_patch *p = &r->patches[r->npatches];
	memset(p, 0, sizeof *p);
	if (!expect(r, '['))
		return;
	p->pos = (uint64_t)num(r);
	expect(r, ',');
	p->del = (uint64_t)num(r);
	if (peek(r, ',')) {
		r->p++;
		p->ins = str(r, &p->ins_len);
		if (p->ins)
			p->ins_u16 = utf16_units(p->ins, p->ins_len, &t->astral);
	}
	expect(r, ']');
	r->npatches++;
}

static void txn(jr *r, trace *t)
{
	GROW(r->txns, r->ntxns, r->ctxns);
	tr_txn *x = &r->txns[r->ntxns];
	memset(x, 0, sizeof *x);
	x->first_patch = r->npatches;
	x->first_parent = r->nparents;
	size_t idx = r->ntxns++;
	size_t l;
	if (!expect(r, '{'))
		return;
	if (peek(r, '}')) {
		r->p++;
		return;
	}
	do {
		size_t mark = r->arena_len;
		char *k = str(r, &l);
		r->arena_len = mark;
		if (!k || !expect(r, ':'))
			return;
		if (strcmp(k, "patches") == 0) {
			expect(r, '[');
			if (!peek(r, ']'))
				do
					patch(r, t);
				while (!r->failed && peek(r, ',') && r->p++);
			expect(r, ']');
		} else if (strcmp(k, "parents") == 0) {
			expect(r, '[');
			if (!peek(r, ']'))
				do {
					GROW(r->parents, r->nparents, r->cparents);
					double v = num(r);
					if (v < 0 || (size_t)v >= idx)
						fail(r, "txn %zu: parent %g is not an earlier txn", idx, v);
					r->parents[r->nparents++] = (size_t)v;
				} while (!r->failed && peek(r, ',') && r->p++);
			expect(r, ']');
		} else if (strcmp(k, "agent") == 0) {
			r->txns[idx].agent = (uint32_t)num(r);
		} else {
			skip_value(r, 0);
		}
	} while (!r->failed && peek(r, ',') && r->p++);
	expect(r, '}');
	x = &r->txns[idx];
	x->npatches = r->npatches - x->first_patch;
	x->nparents = r->nparents - x->first_parent;
}

int trace_load(const char *path, trace *t, char *err)
{
	memset(t, 0, sizeof *t);
	size_t n;
	char *json = read_gz(path, &n, &t->gz_bytes, err);
	if (!json)
		return -1;
	t->json_bytes = n;
	jr rr = {.p = json, .end = json + n, .err = err};
	jr *r = &rr;
	r->arena = malloc(n + 1);
	t->arena = r->arena;
	if (!r->arena) {
		free(json);
		snprintf(err, 256, "out of memory");
		return -1;
	}
	size_t l;
	expect(r, '{');
	if (!peek(r, '}'))
		do {
			size_t mark = r->arena_len;
			char *k = str(r, &l);
			if (!k || !expect(r, ':'))
				break;
			if (strcmp(k, "startContent") == 0) {
				r->arena_len = mark;
				t->start = str(r, &t->start_len);
			} else if (strcmp(k, "endContent") == 0) {
				r->arena_len = mark;
				t->end = str(r, &t->end_len);
			} else if (strcmp(k, "kind") == 0) {
				r->arena_len = mark;
				char *v = str(r, &l);
				t->concurrent = v && strcmp(v, "concurrent") == 0;
			} else if (strcmp(k, "numAgents") == 0) {
				t->num_agents = (uint32_t)num(r);
			} else if (strcmp(k, "txns") == 0) {
				expect(r, '[');
				if (!peek(r, ']'))
					do
						txn(r, t);
					while (!r->failed && peek(r, ',') && r->p++);
				expect(r, ']');
			} else {
				r->arena_len = mark;
				skip_value(r, 0);
			}
		} while (!r->failed && peek(r, ',') && r->p++);
	expect(r, '}');
	free(json);
	t->txns = r->txns;
	t->ntxns = r->ntxns;
	t->patches = r->patches;
	t->npatches = r->npatches;
	t->parents = r->parents;
	t->nparents = r->nparents;
	if (!r->failed && !t->end)
		fail(r, "no endContent");
	if (r->failed) {
		trace_free(t);
		return -1;
	}
	if (!t->start) {
		t->start = t->arena + r->arena_len; /* "" */
		t->arena[r->arena_len] = 0;
	}
	if (t->concurrent && t->num_agents == 0)
		for (size_t i = 0; i < t->ntxns; i++)
			if (t->txns[i].agent + 1 > t->num_agents)
				t->num_agents = t->txns[i].agent + 1;
	return 0;
}

void trace_free(trace *t)
{
	free(t->arena);
	free(t->txns);
	free(t->patches);
	free(t->parents);
	memset(t, 0, sizeof *t);
}

uint64_t trace_cp_to_u16(const char *s, size_t n, uint64_t cp)
{
	uint64_t u = 0;
	for (size_t i = 0; i < n && cp > 0; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c & 0xc0) == 0x80)
			continue;
		u += c >= 0xf0 ? 2 : 1;
		cp--;
	}
	return u + cp; /* past the end: keep counting so the caller sees the overrun */
}

/* --- SHA-256 (FIPS 180-4) ----------------------------------------------------------- */

static const uint32_t K[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

#define ROR(x, n) ((x) >> (n) | (x) << (32 - (n)))

static void sha_block(uint32_t h[8], const uint8_t *b)
{
	uint32_t w[64];
	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)b[4 * i] << 24 | (uint32_t)b[4 * i + 1] << 16 | (uint32_t)b[4 * i + 2] << 8 | b[4 * i + 3];
	for (int i = 16; i < 64; i++) {
		uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
		uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	uint32_t a = h[0], bb = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
	for (int i = 0; i < 64; i++) {
		uint32_t t1 = hh + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
		uint32_t t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & bb) ^ (a & c) ^ (bb & c));
		hh = g;
		g = f;
		f = e;
		e = d + t1;
		d = c;
		c = bb;
		bb = a;
		a = t1 + t2;
	}
	h[0] += a, h[1] += bb, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += hh;
}

void trace_sha256_hex(const void *p, size_t n, char hex[65])
{
	uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
	const uint8_t *s = p;
	size_t i = 0;
	for (; i + 64 <= n; i += 64)
		sha_block(h, s + i);
	uint8_t tail[128] = {0};
	size_t rest = n - i;
	memcpy(tail, s + i, rest);
	tail[rest] = 0x80;
	size_t tl = rest + 9 <= 64 ? 64 : 128;
	uint64_t bits = (uint64_t)n * 8;
	for (int k = 0; k < 8; k++)
		tail[tl - 1 - k] = (uint8_t)(bits >> (8 * k));
	sha_block(h, tail);
	if (tl == 128)
		sha_block(h, tail + 64);
	for (int k = 0; k < 8; k++)
		snprintf(hex + 8 * k, 9, "%08x", h[k]);
}

uint64_t trace_u16_pos(qc_doc *doc, const char *root, const trace *t, uint64_t cp)
{
	if (!t->astral)
		return cp;
	char *s = NULL;
	size_t n = 0;
	if (qc_doc_text(doc, root, &s, &n) < 0)
		return cp;
	uint64_t u = trace_cp_to_u16(s, n, cp);
	qc_free(doc, s);
	return u;
}

static int cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	return x < y ? -1 : x > y;
}

/* Marks the unmarked parents of txn j and pushes them on stack. */
static void push_parents(const trace *t, size_t j, uint8_t *have, size_t *stack, size_t *sp)
{
	const tr_txn *x = &t->txns[j];
	for (size_t k = 0; k < x->nparents; k++) {
		size_t p = t->parents[x->first_parent + k];
		if (!have[p]) {
			have[p] = 1;
			stack[(*sp)++] = p;
		}
	}
}

size_t trace_missing_ancestors(const trace *t, size_t i, uint8_t *have, size_t *stack, size_t *todo)
{
	size_t sp = 0, nt = 0;
	push_parents(t, i, have, stack, &sp);
	while (sp) {
		size_t j = stack[--sp];
		todo[nt++] = j;
		push_parents(t, j, have, stack, &sp);
	}
	qsort(todo, nt, sizeof *todo, cmp_size);
	return nt;
}
