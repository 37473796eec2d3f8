/* lib0 binary encoding primitives (the byte layer under Yjs and y-protocols).
 *
 * Encoder: a growable byte buffer. Every write reports allocation failure by
 * setting enc->oom; check it once at the end (qc_enc_ok).
 * Decoder: a bounds-checked cursor over caller-owned bytes. Every read returns
 * QC_OK or an error code and never reads past the end; on error the cursor is
 * left in an unspecified position inside the buffer.
 */
#ifndef QUIRE_LIB0_H
#define QUIRE_LIB0_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Error codes shared by the whole crdt library. */
enum {
	QC_OK = 0,
	QC_ERR_TRUNCATED = -1, /* input ended inside a value */
	QC_ERR_VARINT = -2,    /* varint longer than 8 groups or above 2^53-1 */
	QC_ERR_UTF8 = -3,      /* string is not valid UTF-8 */
	QC_ERR_INVALID = -4,   /* structurally invalid (bad tag, bad ref, ...) */
	QC_ERR_LIMIT = -5,     /* a limit exceeded: Any depth, clock + length above 2^53-1, a
				  document's capacity (see qc_doc_apply_update) */
	QC_ERR_NOMEM = -6,     /* allocation failed */
	QC_ERR_TRAILING = -7,  /* bytes left after a complete value */
	QC_ERR_CLOCK = -8,     /* a client's clock would pass 2^32-1 (quire's documents keep 32-bit clocks) */
	QC_ERR_PENDING = -9,   /* qc_doc_apply_update only: the pending set passed max_pending_bytes
				  and was dropped; what could be integrated was integrated */
};

/* Human-readable name of an error code (static string). */
const char *qc_strerror(int err);

/* Largest integer lib0 accepts (2^53 - 1). */
#define QC_MAX_SAFE_INT UINT64_C(0x1FFFFFFFFFFFFF)

typedef struct qc_enc {
	uint8_t *data;
	size_t len;
	size_t cap;
	int oom;
	int sizing; /* set by qc_enc_init_sizing: len counts, nothing is stored */
} qc_enc;

void qc_enc_init(qc_enc *e);
/* An encoder that only measures: every write adds to len, data stays NULL
 * and nothing is allocated. */
void qc_enc_init_sizing(qc_enc *e);
void qc_enc_free(qc_enc *e);
/* Takes ownership of the bytes (caller free()s them); resets the encoder. */
uint8_t *qc_enc_take(qc_enc *e, size_t *len);
static inline int qc_enc_ok(const qc_enc *e) { return !e->oom; }

void qc_write_u8(qc_enc *e, uint8_t v);
void qc_write_bytes(qc_enc *e, const void *p, size_t n);
void qc_write_varuint(qc_enc *e, uint64_t v);
void qc_write_varint(qc_enc *e, int64_t v);
/* Sign-magnitude varInt from magnitude and sign; can express -0 (neg=1, mag=0). */
void qc_write_varint_sm(qc_enc *e, uint64_t mag, int neg);
void qc_write_varbytes(qc_enc *e, const void *p, size_t n); /* varUint8Array */
void qc_write_varstring(qc_enc *e, const char *s, size_t n);

typedef struct qc_dec {
	const uint8_t *p;
	const uint8_t *end;
} qc_dec;

static inline void qc_dec_init(qc_dec *d, const void *p, size_t n)
{
	d->p = (const uint8_t *)p;
	d->end = d->p + n;
}
static inline size_t qc_dec_left(const qc_dec *d) { return (size_t)(d->end - d->p); }

int qc_read_u8(qc_dec *d, uint8_t *out);
int qc_read_varuint_slow(qc_dec *d, uint64_t *out);
/* varUint up to 2^53-1. With 8 bytes left no group can run past the end,
 * so the common case reads without a bound check per byte. */
static inline int qc_read_varuint(qc_dec *d, uint64_t *out)
{
	const uint8_t *p = d->p;
	if (d->end - p < 8)
		return qc_read_varuint_slow(d, out);
	uint64_t v = 0;
	for (unsigned i = 0; i < 8; i++) {
		uint8_t b = p[i];
		v |= (uint64_t)(b & 0x7f) << (7 * i);
		if (!(b & 0x80)) {
			d->p = p + i + 1;
			if (v > QC_MAX_SAFE_INT)
				return QC_ERR_VARINT;
			*out = v;
			return QC_OK;
		}
	}
	d->p = p + 8;
	return QC_ERR_VARINT; /* a ninth group: beyond 2^56 */
}
/* Sign-magnitude varInt; -0 decodes as 0 (*neg_zero set if non-NULL). */
int qc_read_varint(qc_dec *d, int64_t *out, int *neg_zero);
/* Points into the input; no copy. */
int qc_read_varbytes(qc_dec *d, const uint8_t **p, size_t *n);
/* Like varbytes, plus strict UTF-8 validation. Not NUL-terminated. */
int qc_read_varstring(qc_dec *d, const char **s, size_t *n);
int qc_read_bytes(qc_dec *d, size_t n, const uint8_t **p);

/* 1 if the n bytes are valid UTF-8 (no overlongs, no surrogates, <= U+10FFFF). */
int qc_utf8_valid(const uint8_t *s, size_t n);
/* Number of UTF-16 code units the valid UTF-8 string occupies. */
uint64_t qc_utf16_len(const uint8_t *s, size_t n);
/* Length of the ASCII prefix of s (all of it for ASCII text). */
size_t qc_ascii_prefix(const uint8_t *s, size_t n);

#ifdef __cplusplus
}
#endif
#endif
