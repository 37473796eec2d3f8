/* lib0 primitives: the tables of reference section 1 and malformed input. */
#include "quire/lib0.h"
#include "t.h"

static void varuint_vector(uint64_t v, const char *hex)
{
	qc_enc e;
	qc_enc_init(&e);
	qc_write_varuint(&e, v);
	CHECK(qc_enc_ok(&e));
	CHECK_HEX(e.data, e.len, hex);

	size_t n;
	uint8_t *b = t_hex(hex, &n);
	qc_dec d;
	uint64_t out = 0;
	qc_dec_init(&d, b, n);
	CHECK_EQ_INT(qc_read_varuint(&d, &out), QC_OK);
	CHECK(out == v);
	CHECK_EQ_INT(qc_dec_left(&d), 0);
	/* every proper prefix is truncated */
	for (size_t k = 0; k < n; k++) {
		qc_dec_init(&d, b, k);
		CHECK_EQ_INT(qc_read_varuint(&d, &out), QC_ERR_TRUNCATED);
	}
	free(b);
	qc_enc_free(&e);
}

static void varint_vector(int64_t v, int negzero, const char *hex)
{
	qc_enc e;
	qc_enc_init(&e);
	if (negzero)
		qc_write_varint_sm(&e, 0, 1);
	else
		qc_write_varint(&e, v);
	CHECK_HEX(e.data, e.len, hex);

	size_t n;
	uint8_t *b = t_hex(hex, &n);
	qc_dec d;
	int64_t out = 12345;
	int nz = -1;
	qc_dec_init(&d, b, n);
	CHECK_EQ_INT(qc_read_varint(&d, &out, &nz), QC_OK);
	CHECK(out == v);
	CHECK_EQ_INT(nz, negzero);
	CHECK_EQ_INT(qc_dec_left(&d), 0);
	for (size_t k = 0; k < n; k++) {
		qc_dec_init(&d, b, k);
		CHECK_EQ_INT(qc_read_varint(&d, &out, NULL), QC_ERR_TRUNCATED);
	}
	free(b);
	qc_enc_free(&e);
}

static int read_hex_varuint(const char *hex, uint64_t *out)
{
	size_t n;
	uint8_t *b = t_hex(hex, &n);
	qc_dec d;
	qc_dec_init(&d, b, n);
	int rc = qc_read_varuint(&d, out);
	free(b);
	return rc;
}

static int read_hex_varint(const char *hex, int64_t *out)
{
	size_t n;
	uint8_t *b = t_hex(hex, &n);
	qc_dec d;
	qc_dec_init(&d, b, n);
	int rc = qc_read_varint(&d, out, NULL);
	free(b);
	return rc;
}

static int utf8_hex(const char *hex)
{
	size_t n;
	uint8_t *b = t_hex(hex, &n);
	int ok = qc_utf8_valid(b, n);
	free(b);
	return ok;
}

static void test_varuint(void)
{
	varuint_vector(0, "00");
	varuint_vector(127, "7f");
	varuint_vector(128, "80 01");
	varuint_vector(300, "ac 02");
	varuint_vector(16383, "ff 7f");
	varuint_vector(16384, "80 80 01");
	varuint_vector(UINT64_C(1) << 31, "80 80 80 80 08");
	varuint_vector(UINT64_C(1) << 32, "80 80 80 80 10");
	varuint_vector(3000000000u, "80 bc c1 96 0b");
	varuint_vector(QC_MAX_SAFE_INT, "ff ff ff ff ff ff ff 0f");

	uint64_t v;
	/* 2^53 does not fit */
	CHECK_EQ_INT(read_hex_varuint("80 80 80 80 80 80 80 10", &v), QC_ERR_VARINT);
	CHECK_EQ_INT(read_hex_varuint("ff ff ff ff ff ff ff 7f", &v), QC_ERR_VARINT);
	/* nine groups, even if the value would be small */
	CHECK_EQ_INT(read_hex_varuint("80 80 80 80 80 80 80 80 00", &v), QC_ERR_VARINT);
	CHECK_EQ_INT(read_hex_varuint("ff ff ff ff ff ff ff ff ff ff 01", &v), QC_ERR_VARINT);
	/* overlong but in range is accepted (lib0 accepts it) */
	CHECK_EQ_INT(read_hex_varuint("80 00", &v), QC_OK);
	CHECK(v == 0);
	CHECK_EQ_INT(read_hex_varuint("", &v), QC_ERR_TRUNCATED);
}

static void test_varint(void)
{
	varint_vector(0, 0, "00");
	varint_vector(0, 1, "40");
	varint_vector(1, 0, "01");
	varint_vector(63, 0, "3f");
	varint_vector(64, 0, "80 01");
	varint_vector(100, 0, "a4 01");
	varint_vector(-1, 0, "41");
	varint_vector(-63, 0, "7f");
	varint_vector(-64, 0, "c0 01");
	varint_vector(-65, 0, "c1 01");
	varint_vector(2147483647, 0, "bf ff ff ff 0f");
	varint_vector(-2147483647, 0, "ff ff ff ff 0f");
	varint_vector((int64_t)QC_MAX_SAFE_INT, 0, "bf ff ff ff ff ff ff 1f");
	varint_vector(-(int64_t)QC_MAX_SAFE_INT, 0, "ff ff ff ff ff ff ff 1f");

	int64_t v;
	CHECK_EQ_INT(read_hex_varint("80 80 80 80 80 80 80 80 01", &v), QC_ERR_VARINT);
	/* eight groups all continuing: a ninth would be needed */
	CHECK_EQ_INT(read_hex_varint("80 80 80 80 80 80 80 80", &v), QC_ERR_VARINT);
	/* magnitude 2^53 */
	CHECK_EQ_INT(read_hex_varint("80 80 80 80 80 80 80 20", &v), QC_ERR_VARINT);
	CHECK_EQ_INT(read_hex_varint("c0 80 80 80 80 80 80 20", &v), QC_ERR_VARINT);
	CHECK_EQ_INT(read_hex_varint("80 80 80 80 80 80 80 01", &v), QC_OK);
	CHECK(v == (INT64_C(1) << 48));
	CHECK_EQ_INT(read_hex_varint("80 80 80 80 80 80 80 7f", &v), QC_ERR_VARINT);
	CHECK_EQ_INT(read_hex_varint("", &v), QC_ERR_TRUNCATED);
}

static void test_strings(void)
{
	/* varString "a😀": 5 bytes, 3 UTF-16 units */
	size_t n;
	uint8_t *b = t_hex("05 61 f0 9f 98 80", &n);
	qc_dec d;
	const char *s;
	size_t sn;
	qc_dec_init(&d, b, n);
	CHECK_EQ_INT(qc_read_varstring(&d, &s, &sn), QC_OK);
	CHECK_EQ_INT(sn, 5);
	CHECK_EQ_INT(qc_utf16_len((const uint8_t *)s, sn), 3);
	for (size_t k = 0; k < n; k++) {
		qc_dec_init(&d, b, k);
		CHECK_EQ_INT(qc_read_varstring(&d, &s, &sn), QC_ERR_TRUNCATED);
	}
	free(b);

	qc_enc e;
	qc_enc_init(&e);
	qc_write_varstring(&e, "\xef\xbf\xbd", 3);
	CHECK_HEX(e.data, e.len, "03 ef bf bd");
	qc_enc_free(&e);

	/* varbytes longer than the input */
	b = t_hex("05 61 62", &n);
	const uint8_t *p;
	qc_dec_init(&d, b, n);
	CHECK_EQ_INT(qc_read_varbytes(&d, &p, &sn), QC_ERR_TRUNCATED);
	free(b);
	/* invalid UTF-8 in a varString */
	b = t_hex("02 c0 80", &n);
	qc_dec_init(&d, b, n);
	CHECK_EQ_INT(qc_read_varstring(&d, &s, &sn), QC_ERR_UTF8);
	free(b);

	CHECK(utf8_hex(""));
	CHECK(utf8_hex("61 62 63"));
	CHECK(utf8_hex("c2 80"));
	CHECK(utf8_hex("df bf"));
	CHECK(utf8_hex("e0 a0 80"));
	CHECK(utf8_hex("ed 9f bf"));   /* U+D7FF */
	CHECK(utf8_hex("ee 80 80"));   /* U+E000 */
	CHECK(utf8_hex("ef bb bf"));   /* BOM is a character */
	CHECK(utf8_hex("f0 90 80 80"));
	CHECK(utf8_hex("f4 8f bf bf")); /* U+10FFFF */
	CHECK(!utf8_hex("80"));
	CHECK(!utf8_hex("bf"));
	CHECK(!utf8_hex("c0 80"));     /* overlong NUL */
	CHECK(!utf8_hex("c1 bf"));
	CHECK(!utf8_hex("c2"));
	CHECK(!utf8_hex("c2 41"));
	CHECK(!utf8_hex("e0 80 80"));  /* overlong */
	CHECK(!utf8_hex("e0 9f bf"));
	CHECK(!utf8_hex("ed a0 80"));  /* surrogate D800 */
	CHECK(!utf8_hex("ed bf bf"));  /* surrogate DFFF */
	CHECK(!utf8_hex("e2 82"));
	CHECK(!utf8_hex("f0 80 80 80"));
	CHECK(!utf8_hex("f0 8f bf bf"));
	CHECK(!utf8_hex("f4 90 80 80")); /* > U+10FFFF */
	CHECK(!utf8_hex("f5 80 80 80"));
	CHECK(!utf8_hex("ff"));
	CHECK(!utf8_hex("f0 9f 98"));
	CHECK(!utf8_hex("f0 9f 98 41"));

	CHECK_EQ_INT(qc_utf16_len((const uint8_t *)"abc", 3), 3);
	CHECK_EQ_INT(qc_utf16_len((const uint8_t *)"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9), 4);
}

static void test_misc(void)
{
	CHECK(strcmp(qc_strerror(QC_OK), "ok") == 0);
	for (int i = QC_ERR_TRAILING; i <= QC_OK; i++)
		CHECK(qc_strerror(i) != NULL && qc_strerror(i)[0] != 0);
	CHECK(qc_strerror(-99) != NULL);

	qc_enc e;
	qc_enc_init(&e);
	size_t n = 99;
	uint8_t *p = qc_enc_take(&e, &n);
	CHECK(p != NULL);
	CHECK_EQ_INT(n, 0);
	free(p);
	for (int i = 0; i < 10000; i++)
		qc_write_u8(&e, (uint8_t)i);
	qc_write_varbytes(&e, "xy", 2);
	CHECK_EQ_INT(e.len, 10003);
	p = qc_enc_take(&e, &n);
	CHECK_EQ_INT(n, 10003);
	CHECK(p[9999] == (uint8_t)9999 && p[10000] == 2 && p[10002] == 'y');
	CHECK(e.data == NULL && e.len == 0);
	free(p);

	uint8_t one = 7, out;
	qc_dec d;
	const uint8_t *bp;
	qc_dec_init(&d, &one, 1);
	CHECK_EQ_INT(qc_read_bytes(&d, 2, &bp), QC_ERR_TRUNCATED);
	CHECK_EQ_INT(qc_read_u8(&d, &out), QC_OK);
	CHECK_EQ_INT(out, 7);
	CHECK_EQ_INT(qc_read_u8(&d, &out), QC_ERR_TRUNCATED);
}

int main(void)
{
	test_varuint();
	test_varint();
	test_strings();
	test_misc();
	return t_report("test_lib0");
}
