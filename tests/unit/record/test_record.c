/* Unit tests for server/record.c: CRC-32C against published check values,
 * the CPU instruction against the portable code at every length and
 * alignment, continuation, log values sealed and opened (every single-bit
 * flip of a value found, a value under another key or cut short refused),
 * docs values in both forms (a flipped bit, a wrong length, another name
 * and id 0 refused). */
#include "record.h"
#include "t.h"

#include <string.h>

static void test_crc(void)
{
	t_current = "crc";
	/* the check value of CRC-32C, and RFC 3720's (iSCSI) test vectors */
	CHECK_EQ_INT(record_crc32c(0, "123456789", 9), 0xE3069283u);
	CHECK_EQ_INT(record_crc32c_sw(0, "123456789", 9), 0xE3069283u);
	uint8_t b[48];
	memset(b, 0, 32);
	CHECK_EQ_INT(record_crc32c(0, b, 32), 0x8A9136AAu);
	memset(b, 0xff, 32);
	CHECK_EQ_INT(record_crc32c(0, b, 32), 0x62A8AB43u);
	for (int i = 0; i < 32; i++)
		b[i] = (uint8_t)i;
	CHECK_EQ_INT(record_crc32c(0, b, 32), 0x46DD794Eu);
	for (int i = 0; i < 32; i++)
		b[i] = (uint8_t)(31 - i);
	CHECK_EQ_INT(record_crc32c(0, b, 32), 0x113FDB5Cu);
	CHECK_EQ_INT(record_crc32c(0, b, 0), 0);

	/* the two implementations agree at every length and alignment, and a
	 * checksum continues over a split */
	uint8_t buf[300];
	uint32_t x = 12345;
	for (size_t i = 0; i < sizeof buf; i++) {
		x = x * 1103515245u + 12345u;
		buf[i] = (uint8_t)(x >> 16);
	}
	int same = 1, cont = 1;
	for (size_t off = 0; off < 8; off++)
		for (size_t n = 0; off + n <= sizeof buf; n++) {
			uint32_t h = record_crc32c(0, buf + off, n);
			same &= h == record_crc32c_sw(0, buf + off, n);
			size_t k = n / 3;
			cont &= h == record_crc32c(record_crc32c(0, buf + off, k), buf + off + k, n - k);
		}
	CHECK(same);
	CHECK(cont);
}

static void test_log(void)
{
	t_current = "log";
	uint8_t upd[64], v[RECORD_LOG_HDR + sizeof upd];
	for (size_t i = 0; i < sizeof upd; i++)
		upd[i] = (uint8_t)(i * 7 + 1);
	record_log_seal(v, 5, 9, upd, sizeof upd);
	memcpy(v + RECORD_LOG_HDR, upd, sizeof upd);
	const uint8_t *p;
	size_t n;
	CHECK_EQ_INT(record_log_open(v, sizeof v, 5, 9, &p, &n), 0);
	CHECK(p == v + RECORD_LOG_HDR && n == sizeof upd);
	/* every single-bit flip, checksum bytes included */
	int found = 1;
	for (size_t bit = 0; bit < 8 * sizeof v; bit++) {
		v[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		found &= record_log_open(v, sizeof v, 5, 9, &p, &n) == -1;
		v[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	CHECK(found);
	/* the key is inside the checksum */
	CHECK_EQ_INT(record_log_open(v, sizeof v, 5, 10, &p, &n), -1);
	CHECK_EQ_INT(record_log_open(v, sizeof v, 4, 9, &p, &n), -1);
	CHECK_EQ_INT(record_log_open(v, sizeof v, (uint64_t)5 << 32, 9, &p, &n), -1);
	/* cut short, or too short to hold a checksum */
	CHECK_EQ_INT(record_log_open(v, sizeof v - 1, 5, 9, &p, &n), -1);
	for (size_t k = 0; k < RECORD_LOG_HDR; k++)
		CHECK_EQ_INT(record_log_open(v, k, 5, 9, &p, &n), -1);
	/* an empty update seals to the bare header */
	uint8_t e[RECORD_LOG_HDR];
	record_log_seal(e, 1, 1, NULL, 0);
	CHECK_EQ_INT(record_log_open(e, sizeof e, 1, 1, &p, &n), 0);
	CHECK_EQ_INT(n, 0);
}

static void test_doc(void)
{
	t_current = "doc";
	record_doc_t d = {.id = 42, .created_ms = 1763859000000ull, .sealed_from = 7}, r;
	uint8_t v[RECORD_DOC_LEN];
	record_doc_encode(v, &d, "notes", 5);
	CHECK_EQ_INT(record_doc_decode(v, sizeof v, "notes", 5, &r), 0);
	CHECK(r.id == 42 && r.created_ms == d.created_ms && r.sealed_from == 7);
	CHECK_EQ_INT(v[7], 42); /* the id leads, big-endian, as before checksums */
	int found = 1;
	for (size_t bit = 0; bit < 8 * sizeof v; bit++) {
		v[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		found &= record_doc_decode(v, sizeof v, "notes", 5, &r) == -1;
		v[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	CHECK(found);
	CHECK_EQ_INT(record_doc_decode(v, sizeof v, "notez", 5, &r), -1); /* under another name */
	for (size_t k = 0; k < sizeof v; k++)
		if (k != RECORD_DOC_LEGACY_LEN)
			CHECK_EQ_INT(record_doc_decode(v, k, "notes", 5, &r), -1);
	/* the form written before checksums: id | created, nothing sealed */
	CHECK_EQ_INT(record_doc_decode(v, RECORD_DOC_LEGACY_LEN, "notes", 5, &r), 0);
	CHECK(r.id == 42 && r.sealed_from == RECORD_NOT_SEALED);
	/* id 0 means "never written" to the store: refused in both forms */
	d.id = 0;
	record_doc_encode(v, &d, "notes", 5);
	CHECK_EQ_INT(record_doc_decode(v, sizeof v, "notes", 5, &r), -1);
	CHECK_EQ_INT(record_doc_decode(v, RECORD_DOC_LEGACY_LEN, "notes", 5, &r), -1);
}

int main(void)
{
	test_crc();
	test_log();
	test_doc();
	return t_report("test_record");
}
