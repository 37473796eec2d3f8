/* record: the byte layout of quire's LMDB values, and their checksums.
 *
 * Two kinds of value carry a CRC-32C (Castagnoli) so that a damaged byte is
 * found when it is read instead of being served:
 *
 *   docs table, key = document name:
 *     id (8, big-endian) | created, ms since the epoch (8) |
 *     sealed_from (8): the first log sequence whose value is sealed |
 *     crc32c(name | the 24 bytes before) (4, little-endian)         = 28 bytes
 *   log table, key = doc id (8) | sequence (8), both big-endian:
 *     crc32c(key | update) (4, little-endian) | the Yjs update
 *
 * The key is inside each checksum, so a value found under the wrong key
 * fails too. Stores written before checksums (quire before 2026-11-23) have
 * 16-byte docs values (id | created) and bare updates in the log; such a
 * document reads as sealed_from = RECORD_NOT_SEALED, and the writer turns it
 * into the 28-byte form at its next append, sealing from that sequence on.
 */
#ifndef QUIRE_RECORD_H
#define QUIRE_RECORD_H

#include <stddef.h>
#include <stdint.h>

#define RECORD_LOG_HDR 4
#define RECORD_DOC_LEN 28
#define RECORD_DOC_LEGACY_LEN 16
#define RECORD_NOT_SEALED UINT64_MAX

/* Keys and ids are big-endian u64 (so LMDB's byte order sorts them). */
static inline void record_put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static inline uint64_t record_get_be64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/* CRC-32C of n bytes, continuing from crc (0 to start). */
uint32_t record_crc32c(uint32_t crc, const void *p, size_t n);
/* The same, always in portable C (the other may use the CPU's instruction). */
uint32_t record_crc32c_sw(uint32_t crc, const void *p, size_t n);

/* The header of the log value for update upd under (doc_id, seq). */
void record_log_seal(uint8_t hdr[RECORD_LOG_HDR], uint64_t doc_id, uint64_t seq, const uint8_t *upd, size_t n);

/* Checks a sealed log value read under (doc_id, seq) and points *upd at its
 * update. 0, or -1 when the value is damaged (too short, or the checksum
 * differs). */
int record_log_open(const uint8_t *v, size_t n, uint64_t doc_id, uint64_t seq, const uint8_t **upd, size_t *un);

typedef struct record_doc {
	uint64_t id;
	uint64_t created_ms;
	uint64_t sealed_from; /* RECORD_NOT_SEALED: written before checksums */
} record_doc_t;

void record_doc_encode(uint8_t out[RECORD_DOC_LEN], const record_doc_t *d, const char *name, size_t name_len);

/* Reads the docs value of document name: 0, or -1 when it is damaged (a
 * length that is neither form, a checksum that differs, id 0). */
int record_doc_decode(const uint8_t *v, size_t n, const char *name, size_t name_len, record_doc_t *d);

#endif
