/* Unit tests for server/auth.c: PAE, the official PASETO v4.public vectors
 * (4-S-1..4-S-3, 4-F-1..4-F-3), PASERK k4.public / k4.secret / k4.pid
 * vectors, the strict claims JSON parser, RFC 3339, claims and doc patterns,
 * and malformed tokens of every kind. */
#include "auth.h"

#include <sodium.h>
#include "t.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* --- PAE ---------------------------------------------------------------------- */

static void test_pae(void)
{
	t_current = "pae";
	uint8_t buf[64];
	size_t n = auth_pae(buf, 0, NULL, NULL);
	CHECK_HEX(buf, n, "00 00 00 00 00 00 00 00");
	const uint8_t *e[1] = {(const uint8_t *)""};
	size_t el[1] = {0};
	n = auth_pae(buf, 1, e, el);
	CHECK_HEX(buf, n, "01 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00");
	const uint8_t *t[1] = {(const uint8_t *)"test"};
	size_t tl[1] = {4};
	n = auth_pae(buf, 1, t, tl);
	CHECK_HEX(buf, n, "01 00 00 00 00 00 00 00 04 00 00 00 00 00 00 00 74 65 73 74");
	const uint8_t *two[2] = {(const uint8_t *)"ab", (const uint8_t *)""};
	size_t twol[2] = {2, 0};
	CHECK_EQ_INT(auth_pae(NULL, 2, two, twol), 8 + 8 + 2 + 8);
	n = auth_pae(buf, 2, two, twol);
	CHECK_HEX(buf, n, "02 00 00 00 00 00 00 00 02 00 00 00 00 00 00 00 61 62 00 00 00 00 00 00 00 00");
}

/* --- official v4.public vectors ---------------------------------------------------- */

static const char V_PK[] = "1eb9dbbbbc047c03fd70604e0071f0987e16b28b757225c11f00415d0e20b1a2";
static const char V_SK[] = "b4cbfb43df4ce210727d953e4a713307fa19bb7d9f85041438d9e11b942a3774"
			   "1eb9dbbbbc047c03fd70604e0071f0987e16b28b757225c11f00415d0e20b1a2";
static const char V_PAYLOAD[] = "{\"data\":\"this is a signed message\",\"exp\":\"2022-01-01T00:00:00+00:00\"}";
static const char V_FOOTER[] = "{\"kid\":\"zVhMiPBP9fRf2snEcT7gFTioeA9COcNy9DfgL1W60haN\"}";

static const struct vec {
	const char *name, *token, *footer, *ia;
	int expect_fail;
	auth_status_t fail_status;
} VECS[] = {
	{"4-S-1",
	 "v4.public.eyJkYXRhIjoidGhpcyBpcyBhIHNpZ25lZCBtZXNzYWdlIiwiZXhwIjoiMjAyMi0wMS0wMVQwMDowMDowMCswMDowMCJ9bg_"
	 "XBBzds8lTZShVlwwKSgeKpLT3yukTw6JUz3W4h_ExsQV-P0V54zemZDcAxFaSeef1QlXEFtkqxT1ciiQEDA",
	 "", "", 0, AUTH_OK},
	{"4-S-2",
	 "v4.public.eyJkYXRhIjoidGhpcyBpcyBhIHNpZ25lZCBtZXNzYWdlIiwiZXhwIjoiMjAyMi0wMS0wMVQwMDowMDowMCswMDowMCJ9v3Jt8m"
	 "x_TdM2ceTGoqwrh4yDFn0XsHvvV_D0DtwQxVrJEBMl0F2caAdgnpKlt4p7xBnx1HcO-SPo8FPp214HDw."
	 "eyJraWQiOiJ6VmhNaVBCUDlmUmYyc25FY1Q3Z0ZUaW9lQTlDT2NOeTlEZmdMMVc2MGhhTiJ9",
	 V_FOOTER, "", 0, AUTH_OK},
	{"4-S-3",
	 "v4.public.eyJkYXRhIjoidGhpcyBpcyBhIHNpZ25lZCBtZXNzYWdlIiwiZXhwIjoiMjAyMi0wMS0wMVQwMDowMDowMCswMDowMCJ9NPWciu"
	 "D3d0o5eXJXG5pJy-DiVEoyPYWs1YSTwWHNJq6DZD3je5gf-0M4JR9ipdUSJbIovzmBECeaWmaqcaP0DQ."
	 "eyJraWQiOiJ6VmhNaVBCUDlmUmYyc25FY1Q3Z0ZUaW9lQTlDT2NOeTlEZmdMMVc2MGhhTiJ9",
	 V_FOOTER, "{\"test-vector\":\"4-S-3\"}", 0, AUTH_OK},
	{"4-F-1",
	 "v4.local.vngXfCISbnKgiP6VWGuOSlYrFYU300fy9ijW33rznDYgxHNPwWluAY2Bgb0z54CUs6aYYkIJ-bOOOmJHPuX_34Agt_"
	 "IPlNdGDpRdGNnBz2MpWJvB3cttheEc1uyCEYltj7wBQQYX.YXJiaXRyYXJ5LXN0cmluZy10aGF0LWlzbid0LWpzb24",
	 NULL, "{\"test-vector\":\"4-F-1\"}", 1, AUTH_ERR_NOT_V4_PUBLIC},
	{"4-F-2",
	 "v4.public.eyJpbnZhbGlkIjoidGhpcyBzaG91bGQgbmV2ZXIgZGVjb2RlIn22Sp4gjCaUw0c7EH84ZSm_jN_Qr41MrgLNu5LIBCzUr1pn3Z"
	 "-Wukg9h3ceplWigpoHaTLcwxj0NsI1vjTh67YB.eyJraWQiOiJ6VmhNaVBCUDlmUmYyc25FY1Q3Z0ZUaW9lQTlDT2NOeTlEZmdMMVc2MGhhTiJ9",
	 NULL, "{\"test-vector\":\"4-F-2\"}", 1, AUTH_ERR_SIGNATURE},
	{"4-F-3",
	 "v3.local.23e_2PiqpQBPvRFKzB0zHhjmxK3sKo2grFZRRLM-U7L0a8uHxuF9RlVz3Ic6WmdUUWTxCaYycwWV1yM8gKbZB2JhygDMKvHQ7eBf8G"
	 "tF0r3K0Q_gF1PXOxcOgztak1eD1dPe9rLVMSgR0nHJXeIGYVuVrVoLWQ.YXJiaXRyYXJ5LXN0cmluZy10aGF0LWlzbid0LWpzb24",
	 NULL, "{\"test-vector\":\"4-F-3\"}", 1, AUTH_ERR_NOT_V4_PUBLIC},
};

static auth_key_t vector_key(void)
{
	auth_key_t k;
	size_t n;
	uint8_t *pk = t_hex(V_PK, &n);
	memcpy(k.pk, pk, 32);
	auth_pid(k.pk, k.pid);
	free(pk);
	return k;
}

static void test_vectors(void)
{
	auth_key_t key = vector_key();
	size_t skn;
	uint8_t *sk = t_hex(V_SK, &skn);
	CHECK_EQ_INT(skn, 64);
	for (size_t v = 0; v < sizeof VECS / sizeof *VECS; v++) {
		const struct vec *x = &VECS[v];
		t_current = x->name;
		uint8_t *m, *f;
		size_t ml, fl;
		auth_status_t st = auth_v4_verify(x->token, strlen(x->token), &key, 1, (const uint8_t *)x->ia,
						  strlen(x->ia), &m, &ml, &f, &fl);
		if (x->expect_fail) {
			CHECK_EQ_INT(st, x->fail_status);
			CHECK(m == NULL && f == NULL);
			continue;
		}
		CHECK_EQ_INT(st, AUTH_OK);
		if (st != AUTH_OK)
			continue;
		CHECK(ml == strlen(V_PAYLOAD) && memcmp(m, V_PAYLOAD, ml) == 0);
		CHECK(fl == strlen(x->footer) && (fl == 0 ? f == NULL : memcmp(f, x->footer, fl) == 0));
		/* Ed25519 is deterministic: signing again gives the vector byte for byte */
		char *again = auth_v4_sign(sk, m, ml, (const uint8_t *)x->footer, strlen(x->footer),
					   (const uint8_t *)x->ia, strlen(x->ia));
		CHECK(again && strcmp(again, x->token) == 0);
		free(again);
		/* a wrong implicit assertion fails */
		uint8_t *m2, *f2;
		size_t ml2, fl2;
		CHECK_EQ_INT(auth_v4_verify(x->token, strlen(x->token), &key, 1, (const uint8_t *)"other", 5, &m2, &ml2,
					    &f2, &fl2),
			     AUTH_ERR_SIGNATURE);
		/* the claims parse (no doc: a quire token needs one) */
		auth_claims_t c;
		const char *why = NULL;
		CHECK_EQ_INT(auth_parse_claims(m, ml, &c, &why), AUTH_ERR_CLAIMS);
		free(m);
		free(f);
	}
	t_current = NULL;
	free(sk);
}

/* --- PASERK ---------------------------------------------------------------------- */

static void test_paserk(void)
{
	t_current = "paserk";
	static const struct {
		const char *key, *pid;
	} pids[] = {
	    {"0000000000000000000000000000000000000000000000000000000000000000",
	     "k4.pid.S_XQmeEwHbbvRmiyfXfHYpLGjXGzjTRSDoT1YtTakWFE"},
	    {"707172737475767778797a7b7c7d7e7f808182838485868788898a8b8c8d8e8f",
	     "k4.pid.9ShR3xc8-qVJ_di0tc9nx0IDIqbatdeM2mqLFBJsKRHs"},
	    {"707172737475767778797a7b7c7d7e7f808182838485868788898a8b8c8d8e90",
	     "k4.pid.-nyvbaTz8U6TQz7OZWW-iB3va31iAxIpUgzUcVQVmW9A"},
	};
	for (size_t i = 0; i < sizeof pids / sizeof *pids; i++) {
		size_t n;
		uint8_t *pk = t_hex(pids[i].key, &n);
		char pid[AUTH_PID_LEN + 1];
		auth_pid(pk, pid);
		CHECK(strcmp(pid, pids[i].pid) == 0);
		if (strcmp(pid, pids[i].pid) != 0)
			fprintf(stderr, "  pid %zu: got %s want %s\n", i, pid, pids[i].pid);
		free(pk);
	}

	uint8_t zero[32] = {0}, pk[32], sk[64];
	char s[AUTH_PASERK_SECRET_LEN + 1];
	auth_paserk_public_encode(zero, s);
	CHECK(strcmp(s, "k4.public.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA") == 0);
	CHECK(auth_paserk_public_decode(s, strlen(s), pk) == 0 && memcmp(pk, zero, 32) == 0);
	static const char sec[] =
	    "k4.secret.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA7aie8zrakLWKjqNAqbw1zZTIVdx3iQ6Y6wEihi1naKQ";
	CHECK(auth_paserk_secret_decode(sec, strlen(sec), sk) == 0);
	CHECK_HEX(sk + 32, 32, "3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29");
	auth_paserk_secret_encode(sk, s);
	CHECK(strcmp(s, sec) == 0);

	/* refused: wrong header, wrong length, padding, bad character, public half not matching */
	CHECK(auth_paserk_public_decode("k2.public.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 53, pk) != 0);
	CHECK(auth_paserk_public_decode("k4.public.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 52, pk) != 0);
	CHECK(auth_paserk_public_decode("k4.public.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", 53, pk) != 0);
	CHECK(auth_paserk_public_decode("k4.public.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA+", 53, pk) != 0);
	CHECK(auth_paserk_public_decode("k4.public.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB", 53, pk) != 0); /* non-canonical */
	char bad[sizeof sec];
	memcpy(bad, sec, sizeof sec);
	bad[sizeof sec - 3] = bad[sizeof sec - 3] == 'a' ? 'b' : 'a';
	CHECK(auth_paserk_secret_decode(bad, strlen(bad), sk) != 0);
	t_current = NULL;
}

static void test_key_files(void)
{
	t_current = "key files";
	char dir[] = "/tmp/quire-test-auth-XXXXXX";
	if (!mkdtemp(dir)) {
		CHECK(!"mkdtemp");
		return;
	}
	char path[256], pub[256], err[512];
	snprintf(path, sizeof path, "%s/k", dir);
	snprintf(pub, sizeof pub, "%s/k.pub", dir);
	auth_key_t made, loaded;
	uint8_t sk[64];
	CHECK(auth_keygen(path, &made, err, sizeof err) == 0);
	CHECK(auth_keygen(path, &made, err, sizeof err) != 0); /* never overwrites */
	CHECK(strstr(err, "exists") != NULL);
	CHECK(auth_load_public_key(pub, &loaded, err, sizeof err) == 0);
	CHECK(memcmp(loaded.pk, made.pk, 32) == 0 && strcmp(loaded.pid, made.pid) == 0);
	CHECK(auth_load_secret_key(path, sk, err, sizeof err) == 0);
	CHECK(memcmp(sk + 32, made.pk, 32) == 0);
	CHECK(auth_load_public_key(path, &loaded, err, sizeof err) != 0); /* a secret key given as public */
	CHECK(strstr(err, "secret") != NULL);
	CHECK(auth_load_secret_key(pub, sk, err, sizeof err) != 0);
	snprintf(path, sizeof path, "%s/missing", dir);
	CHECK(auth_load_public_key(path, &loaded, err, sizeof err) != 0);
	snprintf(path, sizeof path, "%s/k", dir);
	unlink(path);
	unlink(pub);
	rmdir(dir);
	t_current = NULL;
}

/* --- JSON ---------------------------------------------------------------------- */

static void test_json(void)
{
	static const char *const good[] = {
	    "{}",
	    " { } ",
	    "{\"a\":1}",
	    "{\"a\":-0.5e+10,\"b\":0,\"c\":1E3}",
	    "{\"a\":\"x\\\"y\\\\z\\/\\b\\f\\n\\r\\t\"}",
	    "{\"a\":\"\\u00e9\\ud83d\\ude00\"}",
	    "{\"a\":\"h\xc3\xa9\xf0\x9f\x98\x80\"}",
	    "{\"a\":true,\"b\":false,\"c\":null}",
	    "{\"a\":{\"a\":1,\"a\":2}}", /* duplicates only refused at the top level */
	    "{\"a\":[1,[2,[3]],{\"b\":[]}]}",
	    "{\n\t\"a\" : \"b\" ,\r\n\"c\":\"d\"}",
	};
	static const char *const bad[] = {
	    "",
	    "[]",
	    "\"a\"",
	    "{",
	    "{\"a\"}",
	    "{\"a\":}",
	    "{\"a\":1,}",
	    "{,}",
	    "{\"a\":1}x",
	    "{\"a\":1}{}",
	    "{'a':1}",
	    "{a:1}",
	    "{\"a\":01}",
	    "{\"a\":1.}",
	    "{\"a\":.5}",
	    "{\"a\":+1}",
	    "{\"a\":1e}",
	    "{\"a\":-}",
	    "{\"a\":tru}",
	    "{\"a\":nulll}",
	    "{\"a\":NaN}",
	    "{\"a\":[1,]}",
	    "{\"a\":[1 2]}",
	    "{\"a\":1,\"a\":2}",
	    "{\"a\":\"\x01\"}",
	    "{\"a\":\"\\x\"}",
	    "{\"a\":\"\\u12\"}",
	    "{\"a\":\"\\ud83d\"}",
	    "{\"a\":\"\\ude00\"}",
	    "{\"a\":\"\\u0000\"}",
	    "{\"a\":\"\xc0\xaf\"}",     /* overlong */
	    "{\"a\":\"\xed\xa0\x80\"}", /* surrogate in UTF-8 */
	    "{\"a\":\"\xf4\x90\x80\x80\"}",
	    "{\"a\":\"\xff\"}",
	    "{\"a\":\"abc",
	    "{\"a\":[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]}", /* deeper than the limit */
	};
	for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
		json_object_t o;
		t_current = good[i];
		CHECK(json_parse_object(good[i], strlen(good[i]), &o) == 0);
		json_object_free(&o);
	}
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		json_object_t o;
		t_current = bad[i];
		CHECK(json_parse_object(bad[i], strlen(bad[i]), &o) != 0);
	}
	t_current = "json values";
	json_object_t o;
	static const char in[] = "{\"s\":\"a\\u00e9\\ud83d\\ude00\\n\",\"n\":-12.5e3,\"t\":true,\"o\":{\"x\":[1]},\"k\\\"\":null}";
	CHECK(json_parse_object(in, strlen(in), &o) == 0);
	CHECK_EQ_INT(o.n, 5);
	const json_member_t *m = json_get(&o, "s");
	CHECK(m && m->type == JSON_STRING && m->str_len == 8 && memcmp(m->str, "a\xc3\xa9\xf0\x9f\x98\x80\n", 8) == 0);
	m = json_get(&o, "n");
	CHECK(m && m->type == JSON_NUMBER && strcmp(m->str, "-12.5e3") == 0);
	CHECK(json_get(&o, "t") && json_get(&o, "t")->type == JSON_TRUE);
	CHECK(json_get(&o, "o") && json_get(&o, "o")->type == JSON_OBJECT);
	CHECK(json_get(&o, "k\"") && json_get(&o, "k\"")->type == JSON_NULL);
	CHECK(json_get(&o, "missing") == NULL);
	json_object_free(&o);

	/* member limit */
	char big[AUTH_JSON_MAX_MEMBERS * 16 + 16];
	size_t n = 0;
	big[n++] = '{';
	for (int i = 0; i <= AUTH_JSON_MAX_MEMBERS; i++)
		n += (size_t)sprintf(big + n, "%s\"k%d\":%d", i ? "," : "", i, i);
	big[n++] = '}';
	CHECK(json_parse_object(big, n, &o) != 0);
	/* an embedded NUL is refused */
	CHECK(json_parse_object("{\"a\":1}\0", 8, &o) != 0);
	t_current = NULL;
}

/* --- RFC 3339 ---------------------------------------------------------------------- */

static void test_rfc3339(void)
{
	static const struct {
		const char *s;
		int64_t ms;
	} good[] = {
	    {"1970-01-01T00:00:00Z", 0},
	    {"2022-01-01T00:00:00+00:00", INT64_C(1640995200000)},
	    {"2022-01-01T01:00:00+01:00", INT64_C(1640995200000)},
	    {"2021-12-31T19:30:00-04:30", INT64_C(1640995200000)},
	    {"2026-11-22T02:55:50.973Z", INT64_C(1795316150973)},
	    {"2026-11-22T02:55:50.9Z", INT64_C(1795316150900)},
	    {"2026-11-22T02:55:50.973999999Z", INT64_C(1795316150973)},
	    {"2026-11-22t02:55:50z", INT64_C(1795316150000)},
	    {"2024-02-29T12:00:00Z", INT64_C(1709208000000)},
	    {"2000-02-29T00:00:00Z", INT64_C(951782400000)},
	    {"1969-12-31T23:59:59Z", -1000},
	    {"9999-12-31T23:59:59Z", INT64_C(253402300799000)},
	};
	static const char *const bad[] = {
	    "",
	    "2022-01-01",
	    "2022-01-01T00:00:00",     /* no offset */
	    "2022-01-01 00:00:00Z",    /* space */
	    "2022-1-01T00:00:00Z",
	    "2022-01-01T00:00:00.Z",   /* empty fraction */
	    "2022-01-01T00:00:00+0000",
	    "2022-01-01T00:00:00+00",
	    "2022-13-01T00:00:00Z",
	    "2022-00-01T00:00:00Z",
	    "2022-02-29T00:00:00Z",    /* not a leap year */
	    "1900-02-29T00:00:00Z",
	    "2022-04-31T00:00:00Z",
	    "2022-01-00T00:00:00Z",
	    "2022-01-01T24:00:00Z",
	    "2022-01-01T00:60:00Z",
	    "2022-01-01T00:00:61Z",
	    "2022-01-01T00:00:00+24:00",
	    "2022-01-01T00:00:00+00:60",
	    "2022-01-01T00:00:00Zjunk",
	    "2022-01-01T00:00:00.123",
	    "+2022-01-01T00:00:00Z",
	    "2022-01-01T00:00:00ZZ",
	};
	for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
		int64_t ms = 0;
		t_current = good[i].s;
		CHECK(rfc3339_parse(good[i].s, strlen(good[i].s), &ms) == 0);
		CHECK_EQ_INT(ms, good[i].ms);
	}
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		int64_t ms;
		t_current = bad[i];
		CHECK(rfc3339_parse(bad[i], strlen(bad[i]), &ms) != 0);
	}
	t_current = "rfc3339 format";
	char out[21];
	rfc3339_format(0, out);
	CHECK(strcmp(out, "1970-01-01T00:00:00Z") == 0);
	rfc3339_format(1709208000, out);
	CHECK(strcmp(out, "2024-02-29T12:00:00Z") == 0);
	for (int64_t t = -86400 * 400; t < INT64_C(86400) * 365 * 300; t += 86400 * 37 + 3671) {
		int64_t ms;
		rfc3339_format(t, out);
		if (rfc3339_parse(out, 20, &ms) != 0 || ms != t * 1000) {
			CHECK(!"format/parse round trip");
			fprintf(stderr, "  %lld -> %s\n", (long long)t, out);
			break;
		}
	}
	t_current = NULL;
}

/* --- claims and whole tokens ---------------------------------------------------------- */

static char *sign_claims(const uint8_t *sk, const char *claims, const char *footer)
{
	return auth_v4_sign(sk, (const uint8_t *)claims, strlen(claims), (const uint8_t *)footer,
			    footer ? strlen(footer) : 0, NULL, 0);
}

static void test_claims(void)
{
	t_current = "claims";
	static const struct {
		const char *json;
		auth_status_t st;
	} cases[] = {
	    {"{\"doc\":\"a\",\"scope\":\"rw\",\"exp\":\"2030-01-01T00:00:00Z\"}", AUTH_OK},
	    {"{\"doc\":\"a/*\",\"scope\":\"ro\",\"exp\":\"2030-01-01T00:00:00Z\",\"sub\":\"bob\",\"iat\":"
	     "\"2020-01-01T00:00:00.5+02:00\",\"nbf\":\"2020-01-01T00:00:00Z\",\"extra\":{\"x\":[1]}}",
	     AUTH_OK},
	    {"{\"doc\":\"*\",\"scope\":\"rw\",\"exp\":\"2030-01-01T00:00:00Z\"}", AUTH_OK},
	    {"{\"doc\":\"a\",\"scope\":\"rw\"}", AUTH_ERR_NO_EXP},
	    {"{\"doc\":\"a\",\"scope\":\"rw\",\"exp\":1893456000}", AUTH_ERR_CLAIMS},
	    {"{\"doc\":\"a\",\"scope\":\"rw\",\"exp\":\"tomorrow\"}", AUTH_ERR_CLAIMS},
	    {"{\"doc\":\"a\",\"scope\":\"rw\",\"exp\":\"2030-01-01T00:00:00Z\",\"nbf\":5}", AUTH_ERR_CLAIMS},
	    {"{\"doc\":\"a\",\"scope\":\"rw\",\"exp\":\"2030-01-01T00:00:00Z\",\"iat\":\"x\"}", AUTH_ERR_CLAIMS},
	    {"{\"scope\":\"rw\",\"exp\":\"2030-01-01T00:00:00Z\"}", AUTH_ERR_CLAIMS},
	    {"{\"doc\":\"\",\"scope\":\"rw\",\"exp\":\"2030-01-01T00:00:00Z\"}", AUTH_ERR_CLAIMS},
	    {"{\"doc\":\"a b\",\"scope\":\"rw\",\"exp\":\"2030-01-01T00:00:00Z\"}", AUTH_ERR_CLAIMS},
	    {"{\"doc\":\"a*b\",\"scope\":\"rw\",\"exp\":\"2030-01-01T00:00:00Z\"}", AUTH_ERR_CLAIMS},
	    {"{\"doc\":\"**\",\"scope\":\"rw\",\"exp\":\"2030-01-01T00:00:00Z\"}", AUTH_ERR_CLAIMS},
	    {"{\"doc\":[\"a\"],\"scope\":\"rw\",\"exp\":\"2030-01-01T00:00:00Z\"}", AUTH_ERR_CLAIMS},
	    {"{\"doc\":\"a\",\"exp\":\"2030-01-01T00:00:00Z\"}", AUTH_ERR_CLAIMS},
	    {"{\"doc\":\"a\",\"scope\":\"admin\",\"exp\":\"2030-01-01T00:00:00Z\"}", AUTH_ERR_CLAIMS},
	    {"{\"doc\":\"a\",\"scope\":\"RW\",\"exp\":\"2030-01-01T00:00:00Z\"}", AUTH_ERR_CLAIMS},
	    {"{\"doc\":\"a\",\"scope\":\"rw\",\"exp\":\"2030-01-01T00:00:00Z\",\"sub\":1}", AUTH_ERR_CLAIMS},
	    {"{\"doc\":\"a\",\"scope\":\"rw\",\"exp\":\"2030-01-01T00:00:00Z\",\"doc\":\"b\"}", AUTH_ERR_CLAIMS},
	    {"[\"doc\"]", AUTH_ERR_CLAIMS},
	    {"{\"doc\":\"a\",\"scope\":\"rw\",\"exp\":\"2030-01-01T00:00:00Z\",\"jti\":\"k3\"}", AUTH_OK},
	    {"{\"doc\":\"a\",\"scope\":\"rw\",\"exp\":\"2030-01-01T00:00:00Z\",\"jti\":7}", AUTH_ERR_CLAIMS},
	    {"{\"doc\":\"a\",\"scope\":\"rw\",\"exp\":\"2030-01-01T00:00:00Z\",\"jti\":\"\"}", AUTH_ERR_CLAIMS},
	    {"{\"doc\":\"a\",\"scope\":\"rw\",\"exp\":\"2030-01-01T00:00:00Z\",\"jti\":\"a\\u0000b\"}", AUTH_ERR_CLAIMS},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		auth_claims_t c;
		const char *why = NULL;
		t_current = cases[i].json;
		auth_status_t st = auth_parse_claims((const uint8_t *)cases[i].json, strlen(cases[i].json), &c, &why);
		CHECK_EQ_INT(st, cases[i].st);
		CHECK(st == AUTH_OK || (why && *why));
	}
	auth_claims_t c;
	const char *j = cases[1].json;
	CHECK(auth_parse_claims((const uint8_t *)j, strlen(j), &c, NULL) == AUTH_OK);
	CHECK(c.readonly == 1 && strcmp(c.sub, "bob") == 0 && c.iat_ms == INT64_C(1577829600500) &&
	      c.nbf_ms == INT64_C(1577836800000) && c.exp_ms == INT64_C(1893456000000));
	t_current = "doc patterns";
	c.doc_len = 3;
	memcpy(c.doc, "a/*", 4);
	CHECK(auth_doc_allowed(&c, "a/b", 3));
	CHECK(auth_doc_allowed(&c, "a/", 2));
	CHECK(auth_doc_allowed(&c, "a/b/c", 5));
	CHECK(!auth_doc_allowed(&c, "a", 1));
	CHECK(!auth_doc_allowed(&c, "b/a", 3));
	CHECK(!auth_doc_allowed(&c, "ab", 2));
	c.doc_len = 1;
	memcpy(c.doc, "*", 2);
	CHECK(auth_doc_allowed(&c, "anything", 8));
	c.doc_len = 5;
	memcpy(c.doc, "notes", 6);
	CHECK(auth_doc_allowed(&c, "notes", 5));
	CHECK(!auth_doc_allowed(&c, "notes2", 6));
	CHECK(!auth_doc_allowed(&c, "note", 4));
	t_current = NULL;
}

static void test_tokens(void)
{
	auth_key_t key, other;
	uint8_t sk[64], sk2[64];
	char dir[] = "/tmp/quire-test-auth-XXXXXX", path[256], err[512];
	if (!mkdtemp(dir)) {
		CHECK(!"mkdtemp");
		return;
	}
	snprintf(path, sizeof path, "%s/a", dir);
	CHECK(auth_keygen(path, &key, err, sizeof err) == 0);
	CHECK(auth_load_secret_key(path, sk, err, sizeof err) == 0);
	unlink(path);
	strcat(path, ".pub");
	unlink(path);
	snprintf(path, sizeof path, "%s/b", dir);
	CHECK(auth_keygen(path, &other, err, sizeof err) == 0);
	CHECK(auth_load_secret_key(path, sk2, err, sizeof err) == 0);
	unlink(path);
	strcat(path, ".pub");
	unlink(path);
	rmdir(dir);

	const int64_t now = INT64_C(1800000000000);
	auth_key_t both[2] = {other, key};
	auth_claims_t c;
	const char *why;

	t_current = "minted";
	char *tok = auth_mint(sk, "notes/*", 1, now / 1000, 600, "al\"ice\n");
	CHECK(tok != NULL);
	CHECK_EQ_INT(auth_check_token(tok, strlen(tok), &key, 1, now, &c, &why), AUTH_OK);
	CHECK(c.readonly && strcmp(c.doc, "notes/*") == 0 && strcmp(c.sub, "al\"ice\n") == 0);
	CHECK_EQ_INT(strlen(c.jti), 22); /* a random jti, 16 bytes in base64url */
	char first_jti[32];
	strcpy(first_jti, c.jti);
	char *tok2 = auth_mint(sk, "notes/*", 1, now / 1000, 600, NULL);
	CHECK(tok2 && auth_check_token(tok2, strlen(tok2), &key, 1, now, &c, &why) == AUTH_OK &&
	      strcmp(c.jti, first_jti) != 0 && c.sub[0] == 0);
	free(tok2);
	CHECK_EQ_INT(auth_check_token(tok, strlen(tok), &key, 1, now, &c, &why), AUTH_OK);
	CHECK_EQ_INT(c.exp_ms, now + 600000);
	CHECK_EQ_INT(c.iat_ms, now);
	CHECK_EQ_INT(auth_check_token(tok, strlen(tok), both, 2, now, &c, &why), AUTH_OK); /* kid picks key */
	CHECK_EQ_INT(auth_check_token(tok, strlen(tok), &other, 1, now, &c, &why), AUTH_ERR_UNKNOWN_KEY);
	CHECK_EQ_INT(auth_check_token(tok, strlen(tok), &key, 1, now + 600000, &c, &why), AUTH_ERR_EXPIRED);
	CHECK_EQ_INT(auth_check_token(tok, strlen(tok), &key, 1, now + 599999, &c, &why), AUTH_OK);
	CHECK_EQ_INT(auth_check_token(tok, strlen(tok), &key, 0, now, &c, &why), AUTH_ERR_UNKNOWN_KEY);

	t_current = "tampered";
	size_t tl = strlen(tok);
	char *t2 = strdup(tok);
	t2[12] = t2[12] == 'A' ? 'B' : 'A'; /* inside the claims */
	CHECK_EQ_INT(auth_check_token(t2, tl, &key, 1, now, &c, &why), AUTH_ERR_SIGNATURE);
	memcpy(t2, tok, tl);
	char *dot = strrchr(t2, '.');
	dot[-3] = dot[-3] == 'A' ? 'B' : 'A'; /* inside the signature */
	CHECK_EQ_INT(auth_check_token(t2, tl, &key, 1, now, &c, &why), AUTH_ERR_SIGNATURE);
	free(t2);

	t_current = "signature with S + L (non-canonical)";
	{
		/* the same signature with its scalar S replaced by S + L (the group
		 * order): it verifies under the bare equation, and RFC 8032 says to
		 * refuse it (malleability) */
		static const uint8_t L[32] = {0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7,
					      0xa2, 0xde, 0xf9, 0xde, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
					      0, 0, 0, 0, 0, 0x10};
		const char *body = tok + strlen("v4.public.");
		const char *fdot = strchr(body, '.');
		size_t bl = fdot ? (size_t)(fdot - body) : strlen(body), pn = 0;
		uint8_t pay[1024];
		CHECK(sodium_base642bin(pay, sizeof pay, body, bl, NULL, &pn, NULL,
					sodium_base64_VARIANT_URLSAFE_NO_PADDING) == 0 && pn > 64);
		char enc[1500], t3[2048];
		sodium_bin2base64(enc, sizeof enc, pay, pn, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
		snprintf(t3, sizeof t3, "v4.public.%s%s", enc, fdot ? fdot : "");
		CHECK_EQ_INT(auth_check_token(t3, strlen(t3), &key, 1, now, &c, &why), AUTH_OK); /* re-encoded as is */
		uint8_t *S = pay + pn - 32;
		unsigned carry = 0;
		for (int k = 0; k < 32; k++) {
			unsigned v = S[k] + L[k] + carry;
			S[k] = (uint8_t)v;
			carry = v >> 8;
		}
		CHECK(carry == 0); /* S < L < 2^253: no overflow */
		sodium_bin2base64(enc, sizeof enc, pay, pn, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
		snprintf(t3, sizeof t3, "v4.public.%s%s", enc, fdot ? fdot : "");
		CHECK_EQ_INT(auth_check_token(t3, strlen(t3), &key, 1, now, &c, &why), AUTH_ERR_SIGNATURE);
	}

	t_current = "no kid: every key is tried";
	char *nokid = sign_claims(sk, "{\"doc\":\"x\",\"scope\":\"rw\",\"exp\":\"2030-01-01T00:00:00Z\"}", NULL);
	CHECK_EQ_INT(auth_check_token(nokid, strlen(nokid), both, 2, now, &c, &why), AUTH_OK);
	CHECK_EQ_INT(auth_check_token(nokid, strlen(nokid), &other, 1, now, &c, &why), AUTH_ERR_SIGNATURE);
	free(nokid);
	char *foreign = sign_claims(sk, "{\"doc\":\"x\",\"scope\":\"rw\",\"exp\":\"2030-01-01T00:00:00Z\"}",
				    "{\"kid\":\"my-backend-2024\"}");
	CHECK_EQ_INT(auth_check_token(foreign, strlen(foreign), both, 2, now, &c, &why), AUTH_OK);
	free(foreign);
	char *sid = sign_claims(sk, "{\"doc\":\"x\",\"scope\":\"rw\",\"exp\":\"2030-01-01T00:00:00Z\"}",
				"{\"kid\":\"k4.sid.YujQ-NvcGquQ0Q-arRf8iYEcXiSOKg2Vk5az-n1lxiUd\"}");
	CHECK_EQ_INT(auth_check_token(sid, strlen(sid), both, 2, now, &c, &why), AUTH_ERR_MALFORMED);
	free(sid);
	char *numkid = sign_claims(sk, "{\"doc\":\"x\",\"scope\":\"rw\",\"exp\":\"2030-01-01T00:00:00Z\"}",
				   "{\"kid\":7}");
	CHECK_EQ_INT(auth_check_token(numkid, strlen(numkid), both, 2, now, &c, &why), AUTH_ERR_MALFORMED);
	free(numkid);
	char *text_footer = sign_claims(sk, "{\"doc\":\"x\",\"scope\":\"rw\",\"exp\":\"2030-01-01T00:00:00Z\"}",
					"not json");
	CHECK_EQ_INT(auth_check_token(text_footer, strlen(text_footer), both, 2, now, &c, &why), AUTH_OK);
	free(text_footer);

	t_current = "times";
	char *nbf = sign_claims(sk, "{\"doc\":\"x\",\"scope\":\"rw\",\"exp\":\"2030-01-01T00:00:00Z\","
				    "\"nbf\":\"2027-02-01T08:00:00.000+00:00\"}",
				NULL);
	CHECK_EQ_INT(auth_check_token(nbf, strlen(nbf), &key, 1, now, &c, &why), AUTH_ERR_NOT_YET_VALID);
	CHECK_EQ_INT(auth_check_token(nbf, strlen(nbf), &key, 1, INT64_C(1800000000000) + 86400000LL * 30, &c, &why),
		     AUTH_OK);
	free(nbf);
	char *noexp = sign_claims(sk, "{\"doc\":\"x\",\"scope\":\"rw\"}", NULL);
	CHECK_EQ_INT(auth_check_token(noexp, strlen(noexp), &key, 1, now, &c, &why), AUTH_ERR_NO_EXP);
	free(noexp);
	char *notjson = sign_claims(sk, "doc=x", NULL);
	CHECK_EQ_INT(auth_check_token(notjson, strlen(notjson), &key, 1, now, &c, &why), AUTH_ERR_CLAIMS);
	free(notjson);

	t_current = "framing";
	static const struct {
		const char *t;
		auth_status_t st;
	} frames[] = {
	    {"", AUTH_ERR_MALFORMED},
	    {"v4.public.", AUTH_ERR_MALFORMED},
	    {"v4.public.AAAA", AUTH_ERR_MALFORMED},
	    {"hello", AUTH_ERR_MALFORMED},
	    {"v2.public.eyJhIjoxfQ", AUTH_ERR_NOT_V4_PUBLIC},
	    {"v4.local.eyJhIjoxfQ", AUTH_ERR_NOT_V4_PUBLIC},
	    {"v3.public.eyJhIjoxfQ", AUTH_ERR_NOT_V4_PUBLIC},
	    {"V4.PUBLIC.eyJhIjoxfQ", AUTH_ERR_MALFORMED},
	};
	for (size_t i = 0; i < sizeof frames / sizeof *frames; i++) {
		t_current = frames[i].t;
		CHECK_EQ_INT(auth_check_token(frames[i].t, strlen(frames[i].t), &key, 1, now, &c, &why), frames[i].st);
	}
	t_current = "framing of a real token";
	size_t bl = strlen(tok);
	char *buf = malloc(bl + 16);
	/* an empty footer part, a third part, padding, a bad character, trailing garbage */
	char *fdot = strrchr(tok, '.');
	size_t body_end = (size_t)(fdot - tok);
	memcpy(buf, tok, body_end + 1);
	buf[body_end + 1] = 0;
	CHECK_EQ_INT(auth_check_token(buf, strlen(buf), &key, 1, now, &c, &why), AUTH_ERR_MALFORMED);
	snprintf(buf, bl + 16, "%s.eyJ9", tok);
	CHECK_EQ_INT(auth_check_token(buf, strlen(buf), &key, 1, now, &c, &why), AUTH_ERR_MALFORMED);
	snprintf(buf, bl + 16, "%s=", tok);
	CHECK_EQ_INT(auth_check_token(buf, strlen(buf), &key, 1, now, &c, &why), AUTH_ERR_MALFORMED);
	memcpy(buf, tok, bl + 1);
	buf[20] = '+';
	CHECK_EQ_INT(auth_check_token(buf, bl, &key, 1, now, &c, &why), AUTH_ERR_MALFORMED);
	memcpy(buf, tok, bl + 1);
	buf[20] = ' ';
	CHECK_EQ_INT(auth_check_token(buf, bl, &key, 1, now, &c, &why), AUTH_ERR_MALFORMED);
	CHECK_EQ_INT(auth_check_token(tok, bl - 1, &key, 1, now, &c, &why), AUTH_ERR_MALFORMED); /* cut short */
	free(buf);

	t_current = "length cap";
	char *huge = malloc(AUTH_TOKEN_MAX + 2);
	memset(huge, 'A', AUTH_TOKEN_MAX + 1);
	memcpy(huge, "v4.public.", 10);
	huge[AUTH_TOKEN_MAX + 1] = 0;
	CHECK_EQ_INT(auth_check_token(huge, AUTH_TOKEN_MAX + 1, &key, 1, now, &c, &why), AUTH_ERR_TOO_LONG);
	free(huge);

	t_current = "another key signed it";
	char *wrong = auth_mint(sk2, "x", 0, now / 1000, 60, NULL);
	CHECK_EQ_INT(auth_check_token(wrong, strlen(wrong), &key, 1, now, &c, &why), AUTH_ERR_UNKNOWN_KEY);
	CHECK_EQ_INT(auth_check_token(wrong, strlen(wrong), both, 2, now, &c, &why), AUTH_OK);
	free(wrong);
	free(tok);
	t_current = NULL;
}

int main(void)
{
	if (auth_init()) {
		fprintf(stderr, "sodium_init failed\n");
		return 1;
	}
	test_pae();
	test_vectors();
	test_paserk();
	test_key_files();
	test_json();
	test_rfc3339();
	test_claims();
	test_tokens();
	return t_report("test_auth");
}
