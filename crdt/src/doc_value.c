/* Document model: values. JSON text <-> lib0 Any, JSON.stringify rendering
 * of Any values, JS number formatting. */
#include "doc_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* ---- growable text buffer (plain malloc; copied out at the API edge) -- */

void qd_buf_put(qd_buf *b, const char *s, size_t n)
{
	if (b->oom || n == 0)
		return;
	if (b->n + n + 1 > b->cap) {
		size_t c = b->cap ? b->cap : 64;
		while (c < b->n + n + 1)
			c *= 2;
		char *p = realloc(b->p, c);
		if (!p) {
			b->oom = 1;
			return;
		}
		b->p = p;
		b->cap = c;
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = 0;
}

void qd_buf_putc(qd_buf *b, char c) { qd_buf_put(b, &c, 1); }

/* ---- numbers ----------------------------------------------------------- */

/* Number.prototype.toString(10) for finite v. */
static void js_number_finite(qd_buf *b, double v)
{
	if (v == 0) {
		qd_buf_putc(b, '0');
		return;
	}
	char tmp[40];
	int prec;
	for (prec = 1; prec <= 17; prec++) {
		snprintf(tmp, sizeof tmp, "%.*e", prec - 1, v);
		if (strtod(tmp, NULL) == v)
			break;
	}
	/* tmp: [-]d[.ddd]e[+-]xx */
	char digits[24];
	int nd = 0;
	const char *p = tmp;
	int neg = 0;
	if (*p == '-') {
		neg = 1;
		p++;
	}
	while (*p && *p != 'e') {
		if (*p != '.')
			digits[nd++] = *p;
		p++;
	}
	int exp10 = atoi(p + 1);
	while (nd > 1 && digits[nd - 1] == '0')
		nd--;
	int n = exp10 + 1; /* position of the decimal point */
	char out[64];
	int o = 0;
	if (neg)
		out[o++] = '-';
	if (nd <= n && n <= 21) {
		memcpy(out + o, digits, (size_t)nd);
		o += nd;
		for (int i = 0; i < n - nd; i++)
			out[o++] = '0';
	} else if (0 < n && n <= 21) {
		memcpy(out + o, digits, (size_t)n);
		o += n;
		out[o++] = '.';
		memcpy(out + o, digits + n, (size_t)(nd - n));
		o += nd - n;
	} else if (-6 < n && n <= 0) {
		out[o++] = '0';
		out[o++] = '.';
		for (int i = 0; i < -n; i++)
			out[o++] = '0';
		memcpy(out + o, digits, (size_t)nd);
		o += nd;
	} else {
		out[o++] = digits[0];
		if (nd > 1) {
			out[o++] = '.';
			memcpy(out + o, digits + 1, (size_t)(nd - 1));
			o += nd - 1;
		}
		o += snprintf(out + o, sizeof out - (size_t)o, "e%c%d", n - 1 >= 0 ? '+' : '-', abs(n - 1));
	}
	qd_buf_put(b, out, (size_t)o);
}

void qd_js_number(qd_buf *b, double v)
{
	if (isnan(v) || isinf(v))
		qd_buf_puts(b, "null");
	else
		js_number_finite(b, v);
}

static void js_number_string(qd_buf *b, double v)
{
	if (isnan(v))
		qd_buf_puts(b, "NaN");
	else if (isinf(v))
		qd_buf_puts(b, v < 0 ? "-Infinity" : "Infinity");
	else
		js_number_finite(b, v);
}

void qd_json_string(qd_buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	qd_buf_putc(b, '"');
	size_t run = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		const char *esc = NULL;
		char u[7];
		if (c == '"')
			esc = "\\\"";
		else if (c == '\\')
			esc = "\\\\";
		else if (c == '\n')
			esc = "\\n";
		else if (c == '\r')
			esc = "\\r";
		else if (c == '\t')
			esc = "\\t";
		else if (c == '\b')
			esc = "\\b";
		else if (c == '\f')
			esc = "\\f";
		else if (c < 0x20) {
			u[0] = '\\';
			u[1] = 'u';
			u[2] = '0';
			u[3] = '0';
			u[4] = hex[c >> 4];
			u[5] = hex[c & 15];
			u[6] = 0;
			esc = u;
		}
		if (esc) {
			qd_buf_put(b, s + i - run, run);
			run = 0;
			qd_buf_puts(b, esc);
		} else {
			run++;
		}
	}
	qd_buf_put(b, s + n - run, run);
	qd_buf_putc(b, '"');
}

static uint64_t be_load(const uint8_t *p, int n)
{
	uint64_t v = 0;
	for (int i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
}

/* ---- Any -> JSON -------------------------------------------------------- */

static int any_peek_undefined(const qc_dec *d) { return d->p < d->end && *d->p == 127; }

int qd_any_to_json(qd_buf *b, qc_dec *d, int in_array, int depth)
{
	uint8_t tag;
	int rc;
	if (depth > 512)
		return QC_ERR_LIMIT;
	if ((rc = qc_read_u8(d, &tag)))
		return rc;
	switch (tag) {
	case 127:
		if (in_array)
			qd_buf_puts(b, "null");
		return in_array ? 1 : 0;
	case 126:
		qd_buf_puts(b, "null");
		return 1;
	case 121:
		qd_buf_puts(b, "false");
		return 1;
	case 120:
		qd_buf_puts(b, "true");
		return 1;
	case 125: {
		int64_t v;
		if ((rc = qc_read_varint(d, &v, NULL)))
			return rc;
		char t[32];
		int n = snprintf(t, sizeof t, "%lld", (long long)v);
		qd_buf_put(b, t, (size_t)n);
		return 1;
	}
	case 124: {
		const uint8_t *p;
		if ((rc = qc_read_bytes(d, 4, &p)))
			return rc;
		uint32_t bits = (uint32_t)be_load(p, 4);
		float f;
		memcpy(&f, &bits, 4);
		qd_js_number(b, (double)f);
		return 1;
	}
	case 123: {
		const uint8_t *p;
		if ((rc = qc_read_bytes(d, 8, &p)))
			return rc;
		uint64_t bits = be_load(p, 8);
		double v;
		memcpy(&v, &bits, 8);
		qd_js_number(b, v);
		return 1;
	}
	case 122: {
		const uint8_t *p;
		if ((rc = qc_read_bytes(d, 8, &p)))
			return rc;
		int64_t v = (int64_t)be_load(p, 8);
		char t[32];
		int n = snprintf(t, sizeof t, "%lld", (long long)v);
		qd_buf_put(b, t, (size_t)n);
		return 1;
	}
	case 119: {
		const char *s;
		size_t n;
		if ((rc = qc_read_varstring(d, &s, &n)))
			return rc;
		qd_json_string(b, s, n);
		return 1;
	}
	case 116: {
		const uint8_t *p;
		size_t n;
		if ((rc = qc_read_varbytes(d, &p, &n)))
			return rc;
		qd_buf_putc(b, '{');
		for (size_t i = 0; i < n; i++) {
			char t[32];
			int k = snprintf(t, sizeof t, "%s\"%zu\":%u", i ? "," : "", i, p[i]);
			qd_buf_put(b, t, (size_t)k);
		}
		qd_buf_putc(b, '}');
		return 1;
	}
	case 117: {
		uint64_t count;
		if ((rc = qc_read_varuint(d, &count)))
			return rc;
		qd_buf_putc(b, '[');
		for (uint64_t i = 0; i < count; i++) {
			if (i)
				qd_buf_putc(b, ',');
			if ((rc = qd_any_to_json(b, d, 1, depth + 1)) < 0)
				return rc;
		}
		qd_buf_putc(b, ']');
		return 1;
	}
	case 118: {
		uint64_t count;
		if ((rc = qc_read_varuint(d, &count)))
			return rc;
		qd_buf_putc(b, '{');
		int first = 1;
		for (uint64_t i = 0; i < count; i++) {
			const char *k;
			size_t kn;
			if ((rc = qc_read_varstring(d, &k, &kn)))
				return rc;
			if (any_peek_undefined(d)) {
				d->p++;
				continue;
			}
			if (!first)
				qd_buf_putc(b, ',');
			first = 0;
			qd_json_string(b, k, kn);
			qd_buf_putc(b, ':');
			if ((rc = qd_any_to_json(b, d, 0, depth + 1)) < 0)
				return rc;
		}
		qd_buf_putc(b, '}');
		return 1;
	}
	default:
		return QC_ERR_INVALID;
	}
}

/* String(value) for an Any value (XML attribute rendering). */
static int any_to_jsstring(qd_buf *b, qc_dec *d, int depth, int in_array)
{
	uint8_t tag;
	int rc;
	if (depth > 512)
		return QC_ERR_LIMIT;
	if ((rc = qc_read_u8(d, &tag)))
		return rc;
	switch (tag) {
	case 127:
		if (!in_array)
			qd_buf_puts(b, "undefined");
		return QC_OK;
	case 126:
		if (!in_array)
			qd_buf_puts(b, "null");
		return QC_OK;
	case 121:
		qd_buf_puts(b, "false");
		return QC_OK;
	case 120:
		qd_buf_puts(b, "true");
		return QC_OK;
	case 125:
	case 122: {
		d->p--; /* re-read the tag: integers print the same as in JSON */
		return qd_any_to_json(b, d, 1, depth) < 0 ? QC_ERR_INVALID : QC_OK;
	}
	case 124:
	case 123: {
		const uint8_t *p;
		double v;
		if (tag == 124) {
			if ((rc = qc_read_bytes(d, 4, &p)))
				return rc;
			uint32_t bits = (uint32_t)be_load(p, 4);
			float f;
			memcpy(&f, &bits, 4);
			v = f;
		} else {
			if ((rc = qc_read_bytes(d, 8, &p)))
				return rc;
			uint64_t bits = be_load(p, 8);
			memcpy(&v, &bits, 8);
		}
		js_number_string(b, v);
		return QC_OK;
	}
	case 119: {
		const char *s;
		size_t n;
		if ((rc = qc_read_varstring(d, &s, &n)))
			return rc;
		qd_buf_put(b, s, n);
		return QC_OK;
	}
	case 116: {
		const uint8_t *p;
		size_t n;
		if ((rc = qc_read_varbytes(d, &p, &n)))
			return rc;
		for (size_t i = 0; i < n; i++) {
			char t[8];
			int k = snprintf(t, sizeof t, "%s%u", i ? "," : "", p[i]);
			qd_buf_put(b, t, (size_t)k);
		}
		return QC_OK;
	}
	case 117: {
		uint64_t count;
		if ((rc = qc_read_varuint(d, &count)))
			return rc;
		for (uint64_t i = 0; i < count; i++) {
			if (i)
				qd_buf_putc(b, ',');
			if ((rc = any_to_jsstring(b, d, depth + 1, 1)))
				return rc;
		}
		return QC_OK;
	}
	case 118: {
		uint64_t count;
		if ((rc = qc_read_varuint(d, &count)))
			return rc;
		for (uint64_t i = 0; i < count; i++) {
			const char *k;
			size_t kn;
			if ((rc = qc_read_varstring(d, &k, &kn)) || (rc = qc_any_copy(d, NULL, 0)))
				return rc;
		}
		qd_buf_puts(b, "[object Object]");
		return QC_OK;
	}
	default:
		return QC_ERR_INVALID;
	}
}

int qd_any_to_jsstring(qd_buf *b, qc_dec *d) { return any_to_jsstring(b, d, 0, 0); }

/* ---- JSON text -> Any (writeAny(JSON.parse(text))) ---------------------- */

typedef struct jp {
	const uint8_t *p, *end;
} jp;

static void jws(jp *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static int hexv(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static void put_utf8(qc_enc *e, uint32_t cp)
{
	uint8_t b[4];
	size_t n;
	if (cp < 0x80) {
		b[0] = (uint8_t)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (uint8_t)(0xc0 | (cp >> 6));
		b[1] = (uint8_t)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (uint8_t)(0xe0 | (cp >> 12));
		b[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (uint8_t)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		b[0] = (uint8_t)(0xf0 | (cp >> 18));
		b[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
		b[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
		b[3] = (uint8_t)(0x80 | (cp & 0x3f));
		n = 4;
	}
	qc_write_bytes(e, b, n);
}

/* Parse a JSON string literal into UTF-8 (lone surrogates -> U+FFFD). */
static int jstring(jp *j, qc_enc *out)
{
	if (j->p >= j->end || *j->p != '"')
		return QC_ERR_INVALID;
	j->p++;
	while (j->p < j->end) {
		uint8_t c = *j->p++;
		if (c == '"')
			return qc_utf8_valid(out->data, out->len) || out->len == 0 ? QC_OK : QC_ERR_UTF8;
		if (c < 0x20)
			return QC_ERR_INVALID;
		if (c != '\\') {
			qc_write_u8(out, c);
			continue;
		}
		if (j->p >= j->end)
			return QC_ERR_INVALID;
		c = *j->p++;
		switch (c) {
		case '"':
		case '\\':
		case '/':
			qc_write_u8(out, c);
			break;
		case 'b':
			qc_write_u8(out, '\b');
			break;
		case 'f':
			qc_write_u8(out, '\f');
			break;
		case 'n':
			qc_write_u8(out, '\n');
			break;
		case 'r':
			qc_write_u8(out, '\r');
			break;
		case 't':
			qc_write_u8(out, '\t');
			break;
		case 'u': {
			uint32_t cp = 0;
			if (j->end - j->p < 4)
				return QC_ERR_INVALID;
			for (int i = 0; i < 4; i++) {
				int h = hexv(j->p[i]);
				if (h < 0)
					return QC_ERR_INVALID;
				cp = cp * 16 + (uint32_t)h;
			}
			j->p += 4;
			if (cp >= 0xd800 && cp <= 0xdbff && j->end - j->p >= 6 && j->p[0] == '\\' && j->p[1] == 'u') {
				uint32_t lo = 0;
				int ok = 1;
				for (int i = 0; i < 4; i++) {
					int h = hexv(j->p[2 + i]);
					if (h < 0)
						ok = 0;
					else
						lo = lo * 16 + (uint32_t)h;
				}
				if (ok && lo >= 0xdc00 && lo <= 0xdfff) {
					j->p += 6;
					cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				}
			}
			if (cp >= 0xd800 && cp <= 0xdfff)
				cp = 0xfffd;
			put_utf8(out, cp);
			break;
		}
		default:
			return QC_ERR_INVALID;
		}
	}
	return QC_ERR_INVALID;
}

static int jnumber(jp *j, double *v)
{
	const uint8_t *s = j->p;
	if (j->p < j->end && *j->p == '-')
		j->p++;
	if (j->p >= j->end)
		return QC_ERR_INVALID;
	if (*j->p == '0')
		j->p++;
	else if (*j->p >= '1' && *j->p <= '9')
		while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
			j->p++;
	else
		return QC_ERR_INVALID;
	if (j->p < j->end && *j->p == '.') {
		j->p++;
		if (j->p >= j->end || *j->p < '0' || *j->p > '9')
			return QC_ERR_INVALID;
		while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
			j->p++;
	}
	if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
		j->p++;
		if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
			j->p++;
		if (j->p >= j->end || *j->p < '0' || *j->p > '9')
			return QC_ERR_INVALID;
		while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
			j->p++;
	}
	size_t n = (size_t)(j->p - s);
	char tmp[512];
	char *buf = n < sizeof tmp ? tmp : malloc(n + 1);
	if (!buf)
		return QC_ERR_NOMEM;
	memcpy(buf, s, n);
	buf[n] = 0;
	*v = strtod(buf, NULL);
	if (buf != tmp)
		free(buf);
	return QC_OK;
}

static void put_be(qc_enc *e, uint64_t v, int n)
{
	uint8_t b[8];
	for (int i = n - 1; i >= 0; i--) {
		b[i] = (uint8_t)(v & 0xff);
		v >>= 8;
	}
	qc_write_bytes(e, b, (size_t)n);
}

static void write_any_number(qc_enc *e, double d)
{
	double a = d < 0 ? -d : d;
	if (!isnan(d) && a <= 2147483647.0 && floor(d) == d) {
		int64_t i = (int64_t)d;
		qc_write_u8(e, 125);
		qc_write_varint_sm(e, (uint64_t)(i < 0 ? -i : i), signbit(d) ? 1 : 0);
		return;
	}
	int f32 = 0;
	if (isinf(d))
		f32 = 1;
	else if (!isnan(d) && a <= 3.4028234663852886e38)
		f32 = (double)(float)d == d;
	if (f32) {
		float f = (float)d;
		uint32_t bits;
		memcpy(&bits, &f, 4);
		qc_write_u8(e, 124);
		put_be(e, bits, 4);
	} else {
		uint64_t bits;
		memcpy(&bits, &d, 8);
		qc_write_u8(e, 123);
		put_be(e, bits, 8);
	}
}

typedef struct jent {
	size_t koff, klen, voff, vlen; /* in a scratch encoder */
	size_t seq;
	uint64_t idx;
	int is_idx, dead;
} jent;

static int is_index_key(const uint8_t *k, size_t n, uint64_t *v)
{
	if (n == 0 || n > 10 || (n > 1 && k[0] == '0'))
		return 0;
	uint64_t x = 0;
	for (size_t i = 0; i < n; i++) {
		if (k[i] < '0' || k[i] > '9')
			return 0;
		x = x * 10 + (uint64_t)(k[i] - '0');
	}
	if (x > UINT64_C(4294967294))
		return 0;
	*v = x;
	return 1;
}

static int cmp_jent_order(const void *a, const void *b)
{
	const jent *x = a, *y = b;
	if (x->is_idx != y->is_idx)
		return x->is_idx ? -1 : 1;
	if (x->is_idx && x->idx != y->idx)
		return x->idx < y->idx ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int jvalue(jp *j, qc_enc *out, int depth);

static int jobject(jp *j, qc_enc *out, int depth)
{
	qc_enc sc;
	qc_enc_init(&sc);
	jent *ents = NULL;
	size_t n = 0, cap = 0;
	int rc = QC_OK;
	j->p++; /* { */
	jws(j);
	if (j->p < j->end && *j->p == '}') {
		j->p++;
	} else {
		for (;;) {
			jws(j);
			qc_enc k;
			qc_enc_init(&k);
			rc = jstring(j, &k);
			if (rc == QC_OK && !qc_enc_ok(&k))
				rc = QC_ERR_NOMEM;
			if (rc) {
				qc_enc_free(&k);
				break;
			}
			if (n >= cap) {
				size_t nc = cap ? cap * 2 : 8;
				jent *ne = realloc(ents, nc * sizeof(*ne));
				if (!ne) {
					qc_enc_free(&k);
					rc = QC_ERR_NOMEM;
					break;
				}
				ents = ne;
				cap = nc;
			}
			jent *e = &ents[n];
			e->koff = sc.len;
			e->klen = k.len;
			qc_write_bytes(&sc, k.data, k.len);
			qc_enc_free(&k);
			jws(j);
			if (j->p >= j->end || *j->p != ':') {
				rc = QC_ERR_INVALID;
				break;
			}
			j->p++;
			e->voff = sc.len;
			if ((rc = jvalue(j, &sc, depth + 1)))
				break;
			e->vlen = sc.len - e->voff;
			e->seq = n;
			e->dead = 0;
			n++;
			jws(j);
			if (j->p < j->end && *j->p == ',') {
				j->p++;
				continue;
			}
			if (j->p < j->end && *j->p == '}') {
				j->p++;
				break;
			}
			rc = QC_ERR_INVALID;
			break;
		}
	}
	if (rc == QC_OK && !qc_enc_ok(&sc))
		rc = QC_ERR_NOMEM;
	if (rc == QC_OK) {
		/* duplicates: first position, last value */
		for (size_t a = 0; a < n; a++) {
			if (ents[a].dead)
				continue;
			for (size_t b = a + 1; b < n; b++) {
				if (!ents[b].dead && ents[b].klen == ents[a].klen &&
				    memcmp(sc.data + ents[b].koff, sc.data + ents[a].koff, ents[a].klen) == 0) {
					ents[a].voff = ents[b].voff;
					ents[a].vlen = ents[b].vlen;
					ents[b].dead = 1;
				}
			}
		}
		for (size_t a = 0; a < n; a++)
			ents[a].is_idx = is_index_key(sc.data + ents[a].koff, ents[a].klen, &ents[a].idx);
		if (n > 1)
			qsort(ents, n, sizeof(*ents), cmp_jent_order);
		size_t live = 0;
		for (size_t a = 0; a < n; a++)
			live += !ents[a].dead;
		qc_write_u8(out, 118);
		qc_write_varuint(out, live);
		for (size_t a = 0; a < n; a++) {
			if (ents[a].dead)
				continue;
			qc_write_varbytes(out, sc.data + ents[a].koff, ents[a].klen);
			qc_write_bytes(out, sc.data + ents[a].voff, ents[a].vlen);
		}
	}
	free(ents);
	qc_enc_free(&sc);
	return rc;
}

static int jvalue(jp *j, qc_enc *out, int depth)
{
	if (depth > QC_MAX_ANY_DEPTH)
		return QC_ERR_LIMIT;
	jws(j);
	if (j->p >= j->end)
		return QC_ERR_INVALID;
	uint8_t c = *j->p;
	int rc;
	if (c == '{')
		return jobject(j, out, depth);
	if (c == '[') {
		j->p++;
		qc_enc sc;
		qc_enc_init(&sc);
		uint64_t n = 0;
		rc = QC_OK;
		jws(j);
		if (j->p < j->end && *j->p == ']') {
			j->p++;
		} else {
			for (;;) {
				if ((rc = jvalue(j, &sc, depth + 1)))
					break;
				n++;
				jws(j);
				if (j->p < j->end && *j->p == ',') {
					j->p++;
					continue;
				}
				if (j->p < j->end && *j->p == ']') {
					j->p++;
					break;
				}
				rc = QC_ERR_INVALID;
				break;
			}
		}
		if (rc == QC_OK) {
			qc_write_u8(out, 117);
			qc_write_varuint(out, n);
			qc_write_bytes(out, sc.data, sc.len);
			if (sc.oom)
				out->oom = 1;
		}
		qc_enc_free(&sc);
		return rc;
	}
	if (c == '"') {
		qc_enc s;
		qc_enc_init(&s);
		rc = jstring(j, &s);
		if (rc == QC_OK) {
			qc_write_u8(out, 119);
			qc_write_varbytes(out, s.data, s.len);
			if (s.oom)
				out->oom = 1;
		}
		qc_enc_free(&s);
		return rc;
	}
	if (c == 't' && j->end - j->p >= 4 && memcmp(j->p, "true", 4) == 0) {
		j->p += 4;
		qc_write_u8(out, 120);
		return QC_OK;
	}
	if (c == 'f' && j->end - j->p >= 5 && memcmp(j->p, "false", 5) == 0) {
		j->p += 5;
		qc_write_u8(out, 121);
		return QC_OK;
	}
	if (c == 'n' && j->end - j->p >= 4 && memcmp(j->p, "null", 4) == 0) {
		j->p += 4;
		qc_write_u8(out, 126);
		return QC_OK;
	}
	double v;
	if ((rc = jnumber(j, &v)))
		return rc;
	write_any_number(out, v);
	return QC_OK;
}

int qd_json_to_any(const char *s, size_t n, qc_enc *out)
{
	jp j = {(const uint8_t *)s, (const uint8_t *)s + n};
	int rc = jvalue(&j, out, 0);
	if (rc)
		return rc;
	jws(&j);
	if (j.p != j.end)
		return QC_ERR_INVALID;
	return qc_enc_ok(out) ? QC_OK : QC_ERR_NOMEM;
}

int qd_json_array_to_any(const char *s, size_t n, qc_enc *out, uint64_t *count)
{
	qc_enc e;
	qc_enc_init(&e);
	int rc = qd_json_to_any(s, n, &e);
	if (rc == QC_OK && (e.len == 0 || e.data[0] != 117))
		rc = QC_ERR_INVALID;
	if (rc == QC_OK) {
		qc_dec d;
		qc_dec_init(&d, e.data + 1, e.len - 1);
		rc = qc_read_varuint(&d, count);
		if (rc == QC_OK)
			qc_write_bytes(out, d.p, qc_dec_left(&d));
	}
	qc_enc_free(&e);
	return rc;
}

int qd_json_normalize(const char *s, size_t n, qd_buf *out)
{
	qc_enc e;
	qc_enc_init(&e);
	int rc = qd_json_to_any(s, n, &e);
	if (rc == QC_OK) {
		qc_dec d;
		qc_dec_init(&d, e.data, e.len);
		rc = qd_any_to_json(out, &d, 1, 0);
		rc = rc < 0 ? rc : QC_OK;
	}
	qc_enc_free(&e);
	if (rc == QC_OK && out->oom)
		rc = QC_ERR_NOMEM;
	return rc;
}

int qd_json_to_jsstring(qd_buf *b, const char *s, size_t n)
{
	qc_enc e;
	qc_enc_init(&e);
	int rc = qd_json_to_any(s, n, &e);
	if (rc == QC_OK) {
		qc_dec d;
		qc_dec_init(&d, e.data, e.len);
		rc = qd_any_to_jsstring(b, &d);
	}
	qc_enc_free(&e);
	return rc;
}
