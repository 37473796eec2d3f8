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

void qd_bytes_json(qd_buf *b, const uint8_t *p, size_t n)
{
	qd_buf_putc(b, '{');
	for (size_t i = 0; i < n; i++) {
		char t[32];
		int k = snprintf(t, sizeof t, "%s\"%zu\":%u", i ? "," : "", i, p[i]);
		qd_buf_put(b, t, (size_t)k);
	}
	qd_buf_putc(b, '}');
}

void qd_bytes_jsstring(qd_buf *b, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char t[8];
		int k = snprintf(t, sizeof t, "%s%u", i ? "," : "", p[i]);
		qd_buf_put(b, t, (size_t)k);
	}
}

static void put_int(qd_buf *b, int64_t v)
{
	char t[32];
	int n = snprintf(t, sizeof t, "%lld", (long long)v);
	qd_buf_put(b, t, (size_t)n);
}

/* ---- Any -> JSON, Any -> String() -------------------------------------- */

/* A boolean, number, bigint, string or Uint8Array as JSON.stringify
 * (as_string 0) or String() (as_string 1) renders it. */
static void put_scalar(qd_buf *b, const qc_any *v, int as_string)
{
	switch (v->tag) {
	case 121:
		qd_buf_puts(b, "false");
		break;
	case 120:
		qd_buf_puts(b, "true");
		break;
	case 125:
	case 122:
		put_int(b, v->i);
		break;
	case 124:
	case 123:
		if (as_string)
			js_number_string(b, v->f);
		else
			qd_js_number(b, v->f);
		break;
	case 119:
		if (as_string)
			qd_buf_put(b, (const char *)v->p, v->n);
		else
			qd_json_string(b, (const char *)v->p, v->n);
		break;
	case 116:
		if (as_string)
			qd_bytes_jsstring(b, v->p, v->n);
		else
			qd_bytes_json(b, v->p, v->n);
		break;
	}
}

static int any_peek_undefined(const qc_dec *d) { return d->p < d->end && *d->p == 127; }

int qd_any_to_json(qd_buf *b, qc_dec *d, int in_array, int depth)
{
	qc_any v;
	int rc, first = 1;
	if (depth > QD_RENDER_DEPTH)
		return QC_ERR_LIMIT;
	if ((rc = qc_any_head(d, &v)))
		return rc;
	switch (v.tag) {
	case 127:
		if (in_array)
			qd_buf_puts(b, "null");
		return in_array ? 1 : 0;
	case 126:
		qd_buf_puts(b, "null");
		break;
	case 117:
		qd_buf_putc(b, '[');
		for (uint64_t i = 0; i < v.count; i++) {
			qd_buf_sep(b, &first);
			if ((rc = qd_any_to_json(b, d, 1, depth + 1)) < 0)
				return rc;
		}
		qd_buf_putc(b, ']');
		break;
	case 118:
		qd_buf_putc(b, '{');
		for (uint64_t i = 0; i < v.count; i++) {
			const char *k;
			size_t kn;
			if ((rc = qc_read_varstring(d, &k, &kn)))
				return rc;
			if (any_peek_undefined(d)) {
				d->p++;
				continue;
			}
			qd_buf_sep(b, &first);
			qd_json_string(b, k, kn);
			qd_buf_putc(b, ':');
			if ((rc = qd_any_to_json(b, d, 0, depth + 1)) < 0)
				return rc;
		}
		qd_buf_putc(b, '}');
		break;
	default:
		put_scalar(b, &v, 0);
	}
	return 1;
}

/* String(value) for an Any value (XML attribute rendering). */
static int any_to_jsstring(qd_buf *b, qc_dec *d, int depth, int in_array)
{
	qc_any v;
	int rc, first = 1;
	if (depth > QD_RENDER_DEPTH)
		return QC_ERR_LIMIT;
	if ((rc = qc_any_head(d, &v)))
		return rc;
	switch (v.tag) {
	case 127:
		if (!in_array)
			qd_buf_puts(b, "undefined");
		break;
	case 126:
		if (!in_array)
			qd_buf_puts(b, "null");
		break;
	case 117:
		for (uint64_t i = 0; i < v.count; i++) {
			qd_buf_sep(b, &first);
			if ((rc = any_to_jsstring(b, d, depth + 1, 1)))
				return rc;
		}
		break;
	case 118:
		for (uint64_t i = 0; i < v.count; i++) {
			const char *k;
			size_t kn;
			if ((rc = qc_read_varstring(d, &k, &kn)) || (rc = qc_any_copy(d, NULL, 0)))
				return rc;
		}
		qd_buf_puts(b, "[object Object]");
		break;
	default:
		put_scalar(b, &v, 1);
	}
	return QC_OK;
}

int qd_any_to_jsstring(qd_buf *b, qc_dec *d) { return any_to_jsstring(b, d, 0, 0); }

/* ---- JSON text -> Any (writeAny(JSON.parse(text))) ---------------------- */

typedef struct jp {
	const uint8_t *p, *end;
	int max_depth; /* nesting allowed (see json_to_any) */
} jp;

static void jws(jp *j) { qc_json_ws(&j->p, j->end); }

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

/* The value of the 4 hex digits at p (the XXXX of \uXXXX), -1 if not hex. */
static int32_t hex4(const uint8_t *p)
{
	int32_t v = 0;
	for (int i = 0; i < 4; i++) {
		int h = hexv(p[i]);
		if (h < 0)
			return -1;
		v = v * 16 + h;
	}
	return v;
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
			int32_t hi = j->end - j->p < 4 ? -1 : hex4(j->p);
			if (hi < 0)
				return QC_ERR_INVALID;
			uint32_t cp = (uint32_t)hi;
			j->p += 4;
			if (cp >= 0xd800 && cp <= 0xdbff && j->end - j->p >= 6 && j->p[0] == '\\' && j->p[1] == 'u') {
				int32_t lo = hex4(j->p + 2);
				if (lo >= 0xdc00 && lo <= 0xdfff) {
					j->p += 6;
					cp = 0x10000 + ((cp - 0xd800) << 10) + ((uint32_t)lo - 0xdc00);
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
	if (!qc_json_number(&j->p, j->end))
		return QC_ERR_INVALID;
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

/* After the '[' or '{' at j->p: skip it; 1 if the container is empty (its
 * closing bracket consumed too), else 0. */
static int jopen(jp *j, uint8_t close)
{
	j->p++;
	jws(j);
	if (j->p < j->end && *j->p == close) {
		j->p++;
		return 1;
	}
	return 0;
}

/* After a member: 1 if a ',' follows, 0 at the closing bracket (either
 * consumed), else QC_ERR_INVALID. */
static int jnext(jp *j, uint8_t close)
{
	jws(j);
	if (j->p < j->end && (*j->p == ',' || *j->p == close))
		return *j->p++ == ',';
	return QC_ERR_INVALID;
}

static int jvalue(jp *j, qc_enc *out, int depth);

static int jobject(jp *j, qc_enc *out, int depth)
{
	qc_enc sc;
	qc_enc_init(&sc);
	qc_obj_ent *ents = NULL;
	size_t n = 0, cap = 0;
	int rc = QC_OK;
	if (!jopen(j, '}')) {
		do {
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
				qc_obj_ent *ne = realloc(ents, nc * sizeof(*ne));
				if (!ne) {
					qc_enc_free(&k);
					rc = QC_ERR_NOMEM;
					break;
				}
				ents = ne;
				cap = nc;
			}
			qc_obj_ent *e = &ents[n];
			e->key_off = sc.len; /* sc may still move: offsets until it is complete */
			e->key_n = k.len;
			qc_write_bytes(&sc, k.data, k.len);
			qc_enc_free(&k);
			jws(j);
			if (j->p >= j->end || *j->p != ':') {
				rc = QC_ERR_INVALID;
				break;
			}
			j->p++;
			e->val_off = sc.len;
			if ((rc = jvalue(j, &sc, depth + 1)))
				break;
			e->val_n = sc.len - e->val_off;
			e->dead = 0;
			n++;
		} while ((rc = jnext(j, '}')) > 0);
	}
	if (rc == QC_OK && !qc_enc_ok(&sc))
		rc = QC_ERR_NOMEM;
	if (rc == QC_OK) {
		for (size_t a = 0; a < n; a++) {
			ents[a].key = sc.data + ents[a].key_off;
			ents[a].val = sc.data + ents[a].val_off;
		}
		size_t live = qc_obj_order(ents, n);
		qc_write_u8(out, 118);
		qc_write_varuint(out, live);
		for (size_t a = 0; a < n; a++) {
			if (ents[a].dead)
				continue;
			qc_write_varbytes(out, ents[a].key, ents[a].key_n);
			qc_write_bytes(out, ents[a].val, ents[a].val_n);
		}
	}
	free(ents);
	qc_enc_free(&sc);
	return rc;
}

static int jarray(jp *j, qc_enc *out, int depth)
{
	qc_enc sc;
	qc_enc_init(&sc);
	uint64_t n = 0;
	int rc = QC_OK;
	if (!jopen(j, ']')) {
		do {
			if ((rc = jvalue(j, &sc, depth + 1)))
				break;
			n++;
		} while ((rc = jnext(j, ']')) > 0);
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

static int jvalue(jp *j, qc_enc *out, int depth)
{
	static const struct {
		const char *text;
		uint8_t tag;
	} lits[] = {{"true", 120}, {"false", 121}, {"null", 126}};
	if (depth > j->max_depth)
		return QC_ERR_LIMIT;
	jws(j);
	if (j->p >= j->end)
		return QC_ERR_INVALID;
	uint8_t c = *j->p;
	int rc;
	if (c == '{')
		return jobject(j, out, depth);
	if (c == '[')
		return jarray(j, out, depth);
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
	for (size_t i = 0; i < sizeof lits / sizeof *lits; i++) {
		size_t n = strlen(lits[i].text);
		if ((size_t)(j->end - j->p) >= n && memcmp(j->p, lits[i].text, n) == 0) {
			j->p += n;
			qc_write_u8(out, lits[i].tag);
			return QC_OK;
		}
	}
	double v;
	if ((rc = jnumber(j, &v)))
		return rc;
	qc_any_write_number(out, v);
	return QC_OK;
}

int qd_json_to_any(const char *s, size_t n, qc_enc *out, int max_depth)
{
	jp j = {(const uint8_t *)s, (const uint8_t *)s + n, max_depth};
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
	int rc = qd_json_to_any(s, n, &e, QC_MAX_ANY_DEPTH);
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

/* JSON.parse(text), rendered again: as JSON.stringify, or as String(). */
static int json_rerender(qd_buf *b, const char *s, size_t n, int as_string)
{
	qc_enc e;
	qc_enc_init(&e);
	int rc = qd_json_to_any(s, n, &e, QC_MAX_JSON_DEPTH);
	if (rc == QC_OK) {
		qc_dec d;
		qc_dec_init(&d, e.data, e.len);
		if (as_string)
			rc = qd_any_to_jsstring(b, &d);
		else if ((rc = qd_any_to_json(b, &d, 1, 0)) > 0)
			rc = QC_OK;
	}
	qc_enc_free(&e);
	return rc;
}

int qd_json_normalize(const char *s, size_t n, qd_buf *out)
{
	int rc = json_rerender(out, s, n, 0);
	return rc == QC_OK && out->oom ? QC_ERR_NOMEM : rc;
}

int qd_json_to_jsstring(qd_buf *b, const char *s, size_t n) { return json_rerender(b, s, n, 1); }
