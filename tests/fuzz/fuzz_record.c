/* libFuzzer target: quire's LMDB value codec (server/record.c, reliability.md
 * E6). The input is read three ways:
 *  - as a stored log value and a docs value under keys taken from its head:
 *    whatever opens must point inside the value and seal back to the same
 *    bytes;
 *  - as an update to seal, then damaged: 1 to 3 bit flips, or a burst of up
 *    to 32 bits, anywhere in the value, or the value read under another
 *    sequence. CRC-32C finds every such error (Hamming distance 4 and more
 *    below 2^31 bits, every burst up to 32 bits of the code word), so each
 *    must be refused. */
#include "record.h"

#include "must.h"

#include <stdlib.h>
#include <string.h>

static uint64_t rd64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 24)
		return 0;
	uint64_t id = rd64(data), seq = rd64(data + 8), pick = rd64(data + 16);
	const uint8_t *body = data + 24;
	size_t n = size - 24;

	/* arbitrary bytes as stored values */
	const uint8_t *u;
	size_t un;
	if (record_log_open(body, n, id, seq, &u, &un) == 0) {
		MUST(u == body + RECORD_LOG_HDR && un == n - RECORD_LOG_HDR);
		uint8_t h[RECORD_LOG_HDR];
		record_log_seal(h, id, seq, u, un);
		MUST(memcmp(h, body, RECORD_LOG_HDR) == 0);
	}
	size_t name_len = n > 8 ? n - 8 : 0;
	record_doc_t d;
	if (record_doc_decode(body, n < 28 ? n : 28, (const char *)body + 8, name_len, &d) == 0) {
		MUST(d.id != 0);
		if (n >= RECORD_DOC_LEN) {
			uint8_t again[RECORD_DOC_LEN];
			record_doc_encode(again, &d, (const char *)body + 8, name_len);
			MUST(memcmp(again, body, RECORD_DOC_LEN) == 0);
		} else {
			MUST(n == RECORD_DOC_LEGACY_LEN && d.sealed_from == RECORD_NOT_SEALED);
		}
	}

	/* the bytes as an update: sealed, then damaged */
	size_t vn = RECORD_LOG_HDR + n;
	uint8_t *v = malloc(vn);
	MUST(v);
	record_log_seal(v, id, seq, body, n);
	memcpy(v + RECORD_LOG_HDR, body, n);
	MUST(record_log_open(v, vn, id, seq, &u, &un) == 0 && un == n && memcmp(u, body, n) == 0);
	size_t bits = 8 * vn;
	switch (pick % 3) {
	case 0: { /* 1 to 3 distinct bits */
		size_t nflip = 1 + (size_t)(pick >> 2) % 3, at[3];
		for (size_t i = 0; i < nflip; i++) {
			at[i] = (size_t)(rd64(data + 8 * i) ^ (pick >> (8 + 8 * i))) % bits;
			int dup = 0;
			for (size_t k = 0; k < i; k++)
				dup |= at[k] == at[i];
			if (dup) { /* keep the flips distinct */
				nflip = i;
				break;
			}
			v[at[i] / 8] ^= (uint8_t)(1u << (at[i] % 8));
		}
		MUST(record_log_open(v, vn, id, seq, &u, &un) == -1);
		break;
	}
	case 1: { /* a nonzero burst of up to 32 bits, within the checksum or
		   * within the update: the checksum leads the value but follows
		   * the bytes it sums, so a burst across the two is not one burst
		   * of the code word */
		uint32_t pat = (uint32_t)(pick >> 8) | 1u;
		size_t start = (size_t)(pick >> 40) % bits;
		size_t end = start < 8 * RECORD_LOG_HDR ? 8 * RECORD_LOG_HDR : bits;
		for (size_t i = 0; i < 32 && start + i < end; i++)
			if (pat >> i & 1)
				v[(start + i) / 8] ^= (uint8_t)(1u << ((start + i) % 8));
		int changed = 0;
		for (size_t i = 0; i < 32 && start + i < end; i++)
			changed |= (int)(pat >> i & 1);
		if (changed)
			MUST(record_log_open(v, vn, id, seq, &u, &un) == -1);
		break;
	}
	default: { /* read under another sequence (a burst within its low 32 bits) */
		uint64_t other = seq ^ ((pick >> 8) & 0xffffffffu);
		if (other != seq)
			MUST(record_log_open(v, vn, id, other, &u, &un) == -1);
		break;
	}
	}
	free(v);
	return 0;
}
