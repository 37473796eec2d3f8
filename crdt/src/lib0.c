/* lib0 binary primitives: growable encoder and bounds-checked decoder.
 * See docs/crdt.md and the wire-format reference, section 1. */
#include "quire/lib0.h"

#include <stdlib.h>
#include <string.h>

const char *qc_strerror(int err)
{
	switch (err) {
	case QC_OK: return "ok";
	case QC_ERR_TRUNCATED: return "truncated input";
	case QC_ERR_VARINT: return "bad varint (too long or above 2^53-1)";
	case QC_ERR_UTF8: return "invalid UTF-8";
	case QC_ERR_INVALID: return "structurally invalid";
	case QC_ERR_LIMIT: return "limit exceeded";
	case QC_ERR_NOMEM: return "out of memory";
	case QC_ERR_TRAILING: return "trailing bytes";
	case QC_ERR_CLOCK: return "clock above 2^32-1";
	case QC_ERR_PENDING: return "too much pending data (structs waiting for missing dependencies)";
	default: return "unknown error";
	}
}

/* ---- encoder ---------------------------------------------------------- */

void qc_enc_init(qc_enc *e)
{
	e->data = NULL;
	e->len = 0;
	e->cap = 0;
	e->oom = 0;
	e->sizing = 0;
}

void qc_enc_init_sizing(qc_enc *e)
{
	qc_enc_init(e);
	e->sizing = 1;
}

void qc_enc_free(qc_enc *e)
{
	free(e->data);
	qc_enc_init(e);
}

uint8_t *qc_enc_take(qc_enc *e, size_t *len)
{
	uint8_t *p = e->data;
	if (len)
		*len = e->len;
	if (p == NULL) {
		/* Always hand out a real allocation so callers can free() it and
		 * distinguish success from failure. */
		p = malloc(1);
		if (p == NULL && len)
			*len = 0;
	}
	qc_enc_init(e);
	return p;
}

static int enc_reserve(qc_enc *e, size_t n)
{
	if (e->sizing) { /* counted, not stored (len stays far below SIZE_MAX) */
		e->len += n;
		return 0;
	}
	if (e->oom)
		return 0;
	if (n <= e->cap - e->len)
		return 1;
	if (n > SIZE_MAX / 2 - e->len) {
		e->oom = 1;
		return 0;
	}
	size_t want = e->len + n;
	size_t cap = e->cap ? e->cap : 64;
	while (cap < want)
		cap *= 2;
	uint8_t *p = realloc(e->data, cap);
	if (p == NULL) {
		e->oom = 1;
		return 0;
	}
	e->data = p;
	e->cap = cap;
	return 1;
}

void qc_write_u8(qc_enc *e, uint8_t v)
{
	if (!enc_reserve(e, 1))
		return;
	e->data[e->len++] = v;
}

void qc_write_bytes(qc_enc *e, const void *p, size_t n)
{
	if (n == 0 || !enc_reserve(e, n))
		return;
	memcpy(e->data + e->len, p, n);
	e->len += n;
}

void qc_write_varuint(qc_enc *e, uint64_t v)
{
	if (e->len + 10 <= e->cap && !e->oom) { /* room for any varuint: write in place
						  * (never when sizing: cap is 0) */
		uint8_t *p = e->data + e->len;
		while (v > 0x7f) {
			*p++ = (uint8_t)(0x80 | (v & 0x7f));
			v >>= 7;
		}
		*p++ = (uint8_t)v;
		e->len = (size_t)(p - e->data);
		return;
	}
	uint8_t buf[10];
	size_t n = 0;
	while (v > 0x7f) {
		buf[n++] = (uint8_t)(0x80 | (v & 0x7f));
		v >>= 7;
	}
	buf[n++] = (uint8_t)v;
	qc_write_bytes(e, buf, n);
}

void qc_write_varint_sm(qc_enc *e, uint64_t mag, int neg)
{
	uint8_t buf[11];
	size_t n = 0;
	buf[n++] = (uint8_t)((mag > 63 ? 0x80 : 0) | (neg ? 0x40 : 0) | (mag & 0x3f));
	mag >>= 6;
	while (mag > 0) {
		buf[n++] = (uint8_t)((mag > 127 ? 0x80 : 0) | (mag & 0x7f));
		mag >>= 7;
	}
	qc_write_bytes(e, buf, n);
}

void qc_write_varint(qc_enc *e, int64_t v)
{
	int neg = v < 0;
	uint64_t mag = neg ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
	qc_write_varint_sm(e, mag, neg);
}

void qc_write_varbytes(qc_enc *e, const void *p, size_t n)
{
	qc_write_varuint(e, (uint64_t)n);
	qc_write_bytes(e, p, n);
}

void qc_write_varstring(qc_enc *e, const char *s, size_t n)
{
	qc_write_varbytes(e, s, n);
}

/* ---- decoder ---------------------------------------------------------- */

int qc_read_u8(qc_dec *d, uint8_t *out)
{
	if (d->p >= d->end)
		return QC_ERR_TRUNCATED;
	*out = *d->p++;
	return QC_OK;
}

/* the tail of the input: qc_read_varuint with a bound check per byte */
int qc_read_varuint_slow(qc_dec *d, uint64_t *out)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < 8; i++) {
		if (d->p >= d->end)
			return QC_ERR_TRUNCATED;
		uint8_t b = *d->p++;
		v |= (uint64_t)(b & 0x7f) << (7 * i);
		if (!(b & 0x80)) {
			if (v > QC_MAX_SAFE_INT)
				return QC_ERR_VARINT;
			*out = v;
			return QC_OK;
		}
	}
	/* A ninth group would be needed: beyond 2^56, never a safe integer. */
	return QC_ERR_VARINT;
}

int qc_read_varint(qc_dec *d, int64_t *out, int *neg_zero)
{
	if (d->p >= d->end)
		return QC_ERR_TRUNCATED;
	uint8_t b = *d->p++;
	int neg = (b & 0x40) != 0;
	uint64_t mag = b & 0x3f;
	unsigned shift = 6;
	unsigned groups = 1;
	while (b & 0x80) {
		if (groups == 8)
			return QC_ERR_VARINT;
		if (d->p >= d->end)
			return QC_ERR_TRUNCATED;
		b = *d->p++;
		mag |= (uint64_t)(b & 0x7f) << shift;
		shift += 7;
		groups++;
	}
	if (mag > QC_MAX_SAFE_INT)
		return QC_ERR_VARINT;
	if (neg_zero)
		*neg_zero = neg && mag == 0;
	*out = neg ? -(int64_t)mag : (int64_t)mag;
	return QC_OK;
}

int qc_read_bytes(qc_dec *d, size_t n, const uint8_t **p)
{
	if (n > qc_dec_left(d))
		return QC_ERR_TRUNCATED;
	*p = d->p;
	d->p += n;
	return QC_OK;
}

int qc_read_varbytes(qc_dec *d, const uint8_t **p, size_t *n)
{
	uint64_t len;
	int rc = qc_read_varuint(d, &len);
	if (rc)
		return rc;
	if (len > (uint64_t)qc_dec_left(d))
		return QC_ERR_TRUNCATED;
	*n = (size_t)len;
	*p = d->p;
	d->p += (size_t)len;
	return QC_OK;
}

int qc_read_varstring(qc_dec *d, const char **s, size_t *n)
{
	const uint8_t *p;
	size_t len;
	int rc = qc_read_varbytes(d, &p, &len);
	if (rc)
		return rc;
	if (!qc_utf8_valid(p, len))
		return QC_ERR_UTF8;
	*s = (const char *)p;
	*n = len;
	return QC_OK;
}

/* ---- UTF-8 ------------------------------------------------------------ */

/* ASCII prefix length, eight bytes at a time. */
size_t qc_ascii_prefix(const uint8_t *s, size_t n)
{
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t w;
		memcpy(&w, s + i, 8);
		if (w & UINT64_C(0x8080808080808080))
			break;
	}
	while (i < n && s[i] < 0x80)
		i++;
	return i;
}

int qc_utf8_valid(const uint8_t *s, size_t n)
{
	size_t i = qc_ascii_prefix(s, n);
	while (i < n) {
		uint8_t c = s[i];
		if (c < 0x80) {
			i++;
			continue;
		}
		size_t need;
		uint8_t lo = 0x80, hi = 0xbf; /* allowed range of the 2nd byte */
		if (c >= 0xc2 && c <= 0xdf) {
			need = 1;
		} else if (c >= 0xe0 && c <= 0xef) {
			need = 2;
			if (c == 0xe0)
				lo = 0xa0; /* no overlongs */
			else if (c == 0xed)
				hi = 0x9f; /* no surrogates */
		} else if (c >= 0xf0 && c <= 0xf4) {
			need = 3;
			if (c == 0xf0)
				lo = 0x90; /* no overlongs */
			else if (c == 0xf4)
				hi = 0x8f; /* <= U+10FFFF */
		} else {
			return 0;
		}
		if (n - i - 1 < need)
			return 0;
		if (s[i + 1] < lo || s[i + 1] > hi)
			return 0;
		for (size_t k = 2; k <= need; k++)
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
		i += need + 1;
	}
	return 1;
}

uint64_t qc_utf16_len(const uint8_t *s, size_t n)
{
	size_t i = qc_ascii_prefix(s, n);
	uint64_t units = i;
	for (; i < n; i++) {
		uint8_t c = s[i];
		if ((c & 0xc0) != 0x80)
			units += c >= 0xf0 ? 2 : 1; /* lead byte; 4-byte seq = 2 units */
	}
	return units;
}
