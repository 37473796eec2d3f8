/* LMDB value layout and checksums. See record.h. */
#include "record.h"

#include <pthread.h>
#include <string.h>

/* CRC-32C, reflected polynomial 0x82F63B78, slicing by 8 */
static uint32_t table[8][256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;
static int have_sse42;

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define QUIRE_CRC_HW 1
__attribute__((target("sse4.2"))) static uint32_t crc_hw(uint32_t crc, const uint8_t *p, size_t n)
{
	uint64_t c = crc;
	for (; n && ((uintptr_t)p & 7); n--)
		c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
	for (; n >= 8; n -= 8, p += 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		c = __builtin_ia32_crc32di(c, w);
	}
	for (; n; n--)
		c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
	return (uint32_t)c;
}
#endif

static void make_table(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
		table[0][i] = c;
	}
	for (uint32_t i = 0; i < 256; i++)
		for (int t = 1; t < 8; t++)
			table[t][i] = (table[t - 1][i] >> 8) ^ table[0][table[t - 1][i] & 0xff];
#ifdef QUIRE_CRC_HW
	__builtin_cpu_init();
	have_sse42 = __builtin_cpu_supports("sse4.2");
#endif
}

static uint32_t crc_sw(uint32_t c, const uint8_t *p, size_t n)
{
	for (; n >= 8; n -= 8, p += 8) {
		uint32_t lo = c ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
		c = table[7][lo & 0xff] ^ table[6][(lo >> 8) & 0xff] ^ table[5][(lo >> 16) & 0xff] ^ table[4][lo >> 24] ^
		    table[3][p[4]] ^ table[2][p[5]] ^ table[1][p[6]] ^ table[0][p[7]];
	}
	for (; n; n--)
		c = (c >> 8) ^ table[0][(c ^ *p++) & 0xff];
	return c;
}

uint32_t record_crc32c_sw(uint32_t crc, const void *p, size_t n)
{
	pthread_once(&table_once, make_table);
	return ~crc_sw(~crc, p, n);
}

uint32_t record_crc32c(uint32_t crc, const void *p, size_t n)
{
	pthread_once(&table_once, make_table);
#ifdef QUIRE_CRC_HW
	if (have_sse42)
		return ~crc_hw(~crc, p, n);
#endif
	return ~crc_sw(~crc, p, n);
}


static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t log_crc(uint64_t doc_id, uint64_t seq, const uint8_t *upd, size_t n)
{
	uint8_t key[16];
	record_put_be64(key, doc_id);
	record_put_be64(key + 8, seq);
	return record_crc32c(record_crc32c(0, key, sizeof key), upd, n);
}

void record_log_seal(uint8_t hdr[RECORD_LOG_HDR], uint64_t doc_id, uint64_t seq, const uint8_t *upd, size_t n)
{
	put_le32(hdr, log_crc(doc_id, seq, upd, n));
}

int record_log_open(const uint8_t *v, size_t n, uint64_t doc_id, uint64_t seq, const uint8_t **upd, size_t *un)
{
	if (n < RECORD_LOG_HDR || get_le32(v) != log_crc(doc_id, seq, v + RECORD_LOG_HDR, n - RECORD_LOG_HDR))
		return -1;
	*upd = v + RECORD_LOG_HDR;
	*un = n - RECORD_LOG_HDR;
	return 0;
}

static uint32_t doc_crc(const uint8_t *v, const char *name, size_t name_len)
{
	return record_crc32c(record_crc32c(0, name, name_len), v, RECORD_DOC_LEN - 4);
}

void record_doc_encode(uint8_t out[RECORD_DOC_LEN], const record_doc_t *d, const char *name, size_t name_len)
{
	record_put_be64(out, d->id);
	record_put_be64(out + 8, d->created_ms);
	record_put_be64(out + 16, d->sealed_from);
	put_le32(out + 24, doc_crc(out, name, name_len));
}

int record_doc_decode(const uint8_t *v, size_t n, const char *name, size_t name_len, record_doc_t *d)
{
	if (n == RECORD_DOC_LEGACY_LEN) {
		d->sealed_from = RECORD_NOT_SEALED;
	} else if (n == RECORD_DOC_LEN && get_le32(v + 24) == doc_crc(v, name, name_len)) {
		d->sealed_from = record_get_be64(v + 16);
	} else {
		return -1;
	}
	d->id = record_get_be64(v);
	d->created_ms = record_get_be64(v + 8);
	return d->id ? 0 : -1;
}
