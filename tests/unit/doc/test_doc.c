/* Document model: reference section 8 vectors integrated, local edits,
 * encoding, JSON, pending updates. */
#include "../t.h"
#include "quire/counted.h"
#include "quire/doc.h"
#include "quire/update.h"

static qc_doc *mkdoc(uint64_t client, int gc)
{
	qc_doc_opts o;
	qc_doc_opts_default(&o);
	o.client_id = client;
	o.gc = gc;
	qc_doc *d = qc_doc_new(&o);
	if (!d)
		abort();
	return d;
}

static int apply_hex(qc_doc *d, const char *hex)
{
	size_t n;
	uint8_t *u = t_hex(hex, &n);
	int rc = qc_doc_apply_update(d, u, n);
	free(u);
	return rc;
}

#define CHECK_STATE(d, hex)                                                                        \
	do {                                                                                       \
		uint8_t *o_;                                                                       \
		size_t on_;                                                                        \
		size_t sz_ = 0;                                                                    \
		CHECK_EQ_INT(qc_doc_encode_state((d), NULL, 0, &o_, &on_), 0);                     \
		CHECK_HEX(o_, on_, hex);                                                           \
		CHECK_EQ_INT(qc_doc_encoded_size((d), &sz_), 0); /* measured without building */ \
		CHECK_EQ_INT((long long)sz_, (long long)on_);                                      \
		qc_free((d), o_);                                                                  \
	} while (0)

#define CHECK_SV(d, hex)                                                                           \
	do {                                                                                       \
		uint8_t *o_;                                                                       \
		size_t on_;                                                                        \
		CHECK_EQ_INT(qc_doc_state_vector((d), &o_, &on_), 0);                              \
		CHECK_HEX(o_, on_, hex);                                                           \
		qc_free((d), o_);                                                                  \
	} while (0)

#define CHECK_TEXT(d, root, want)                                                                  \
	do {                                                                                       \
		char *s_;                                                                          \
		size_t sn_;                                                                        \
		CHECK_EQ_INT(qc_doc_text((d), (root), &s_, &sn_), 0);                              \
		t_checks++;                                                                        \
		if (strcmp(s_, (want)) != 0) {                                                     \
			t_failures++;                                                              \
			fprintf(stderr, "%s:%d: text '%s' != '%s'\n", __FILE__, __LINE__, s_, (want)); \
		}                                                                                  \
		qc_free((d), s_);                                                                  \
	} while (0)

#define CHECK_JSON(d, root, want)                                                                  \
	do {                                                                                       \
		char *s_;                                                                          \
		size_t sn_;                                                                        \
		int rc_ = (root) ? qc_doc_root_json((d), (root), &s_, &sn_) : qc_doc_json((d), &s_, &sn_); \
		CHECK_EQ_INT(rc_, 0);                                                              \
		t_checks++;                                                                        \
		if (rc_ == 0 && strcmp(s_, (want)) != 0) {                                         \
			t_failures++;                                                              \
			fprintf(stderr, "%s:%d: json %s != %s\n", __FILE__, __LINE__, s_, (want)); \
		}                                                                                  \
		if (rc_ == 0)                                                                      \
			qc_free((d), s_);                                                          \
	} while (0)

#define CHECK_LAST(d, hex)                                                                         \
	do {                                                                                       \
		size_t n_;                                                                         \
		const uint8_t *p_ = qc_doc_last_update((d), &n_);                                  \
		CHECK_HEX(p_, n_, hex);                                                            \
	} while (0)

/* qc_doc_content_bytes: what inserts add, deletions take away at once (gc
 * on), and a trim (blob compaction) leaves unchanged. */
static void test_content_bytes(void)
{
	qc_doc *d = mkdoc(1, 1);
	CHECK_EQ_INT(qc_doc_content_bytes(d), 0);
	CHECK_EQ_INT(qc_text_insert(d, "t", 0, "hello world", 11, NULL), 0);
	size_t base = qc_doc_content_bytes(d); /* the text (the root's name is not content) */
	CHECK_EQ_INT(base, 11);
	CHECK_EQ_INT(qc_text_insert(d, "t", 5, ",", 1, NULL), 0); /* splits an item: a copy, not more content */
	CHECK_EQ_INT(qc_doc_content_bytes(d), base + 1);
	CHECK_EQ_INT(qc_text_delete(d, "t", 0, 6), 0);
	CHECK_EQ_INT(qc_doc_content_bytes(d), base + 1 - 6);
	CHECK_EQ_INT(qc_text_delete(d, "t", 0, 6), 0); /* all the text */
	CHECK_EQ_INT(qc_doc_content_bytes(d), 0);
	/* map entries: their values count, their keys (kept for good) do not */
	char key[40];
	for (int i = 0; i < 50; i++) {
		snprintf(key, sizeof key, "a-long-key-of-an-id-keyed-store-%04d", i);
		CHECK_EQ_INT(qc_map_set(d, "m", key, "\"value\""), 0);
	}
	size_t with_map = qc_doc_content_bytes(d);
	CHECK_EQ_INT(with_map > 0 && with_map < 50 * 20, 1);
	CHECK_EQ_INT(qc_map_set(d, "m", key, "\"other\""), 0); /* an overwrite drops the old value */
	CHECK_EQ_INT(qc_doc_content_bytes(d), with_map);
	for (int i = 0; i < 50; i++) {
		snprintf(key, sizeof key, "a-long-key-of-an-id-keyed-store-%04d", i);
		CHECK_EQ_INT(qc_map_delete(d, "m", key), 0);
	}
	CHECK_EQ_INT(qc_doc_content_bytes(d), 0);
	qc_doc_trim(d);
	CHECK_EQ_INT(qc_doc_content_bytes(d), 0);
	qc_doc_free(d);
	/* gc off: deleted content stays */
	d = mkdoc(1, 0);
	CHECK_EQ_INT(qc_text_insert(d, "t", 0, "abc", 3, NULL), 0);
	CHECK_EQ_INT(qc_text_delete(d, "t", 0, 3), 0);
	CHECK_EQ_INT(qc_doc_content_bytes(d), 3);
	qc_doc_free(d);
}

static void test_empty(void)
{
	t_current = "8.1";
	qc_doc *d = mkdoc(1, 1);
	CHECK_SV(d, "00");
	CHECK_STATE(d, "00 00");
	CHECK_JSON(d, NULL, "{}");
	qc_doc_free(d);
}

static void test_abc_delete(void)
{
	t_current = "8.2-8.5";
	qc_doc *d = mkdoc(99, 1);
	CHECK_EQ_INT(apply_hex(d, "01 01 01 00 04 01 01 74 03 61 62 63 00"), 0);
	CHECK_TEXT(d, "t", "abc");
	CHECK_STATE(d, "01 01 01 00 04 01 01 74 03 61 62 63 00");
	CHECK_SV(d, "01 01 03");
	CHECK_LAST(d, "01 01 01 00 04 01 01 74 03 61 62 63 00");
	CHECK_EQ_INT(apply_hex(d, "00 01 01 01 01 01"), 0);
	CHECK_TEXT(d, "t", "ac");
	CHECK_LAST(d, "00 01 01 01 01 01");
	CHECK_STATE(d, "01 03 01 00 04 01 01 74 01 61 81 01 00 01 84 01 01 01 63 01 01 01 01 01");
	CHECK_JSON(d, "t", "\"ac\"");
	/* 8.5 diff against {1:2} */
	size_t svn;
	uint8_t *sv = t_hex("01 01 02", &svn);
	uint8_t *o;
	size_t on;
	CHECK_EQ_INT(qc_doc_encode_state(d, sv, svn, &o, &on), 0);
	CHECK_HEX(o, on, "01 01 01 02 84 01 01 01 63 01 01 01 01 01");
	qc_free(d, o);
	free(sv);
	/* re-applying known updates changes nothing and emits nothing */
	CHECK_EQ_INT(apply_hex(d, "01 01 01 00 04 01 01 74 03 61 62 63 00"), 0);
	size_t ln;
	CHECK(qc_doc_last_update(d, &ln) == NULL && ln == 0);
	CHECK_STATE(d, "01 03 01 00 04 01 01 74 01 61 81 01 00 01 84 01 01 01 63 01 01 01 01 01");
	qc_doc_free(d);

	/* merged update (8.4) applied at once */
	d = mkdoc(99, 1);
	CHECK_EQ_INT(apply_hex(d, "01 01 01 00 04 01 01 74 03 61 62 63 01 01 01 01 01"), 0);
	CHECK_TEXT(d, "t", "ac");
	CHECK_STATE(d, "01 03 01 00 04 01 01 74 01 61 81 01 00 01 84 01 01 01 63 01 01 01 01 01");
	qc_doc_free(d);

	/* gc:false keeps "b" */
	d = mkdoc(99, 0);
	CHECK_EQ_INT(apply_hex(d, "01 01 01 00 04 01 01 74 03 61 62 63 01 01 01 01 01"), 0);
	CHECK_STATE(d, "01 03 01 00 04 01 01 74 01 61 84 01 00 01 62 84 01 01 01 63 01 01 01 01 01");
	qc_doc_free(d);
}

static void test_local_text(void)
{
	t_current = "local text";
	qc_doc *d = mkdoc(1, 1);
	CHECK_EQ_INT(qc_text_insert(d, "t", 0, "abc", 3, NULL), 0);
	CHECK_LAST(d, "01 01 01 00 04 01 01 74 03 61 62 63 00");
	CHECK_EQ_INT(qc_text_delete(d, "t", 1, 1), 0);
	CHECK_LAST(d, "00 01 01 01 01 01");
	CHECK_STATE(d, "01 03 01 00 04 01 01 74 01 61 81 01 00 01 84 01 01 01 63 01 01 01 01 01");
	qc_doc_free(d);

	/* 8.11: "ab", "c", "d" typed: update events and merged state */
	d = mkdoc(7, 1);
	CHECK_EQ_INT(qc_text_insert(d, "t", 0, "ab", 2, NULL), 0);
	CHECK_LAST(d, "01 01 07 00 04 01 01 74 02 61 62 00");
	CHECK_EQ_INT(qc_text_insert(d, "t", 2, "c", 1, NULL), 0);
	CHECK_LAST(d, "01 01 07 02 84 07 01 01 63 00");
	CHECK_EQ_INT(qc_text_insert(d, "t", 3, "d", 1, NULL), 0);
	CHECK_LAST(d, "01 01 07 03 84 07 02 01 64 00");
	CHECK_STATE(d, "01 01 07 00 04 01 01 74 04 61 62 63 64 00");
	qc_doc_free(d);

	/* 8.9 multiple ranges */
	d = mkdoc(2, 1);
	CHECK_EQ_INT(qc_text_insert(d, "t", 0, "abcdef", 6, NULL), 0);
	CHECK_EQ_INT(qc_text_delete(d, "t", 1, 1), 0);
	CHECK_EQ_INT(qc_text_delete(d, "t", 2, 2), 0);
	CHECK_TEXT(d, "t", "acf");
	{
		uint8_t *o;
		size_t on;
		CHECK_EQ_INT(qc_doc_encode_state(d, NULL, 0, &o, &on), 0);
		CHECK(on >= 7 && memcmp(o + on - 7, "\x01\x02\x02\x01\x01\x03\x02", 7) == 0);
		qc_free(d, o);
	}
	qc_doc_free(d);

	/* 8.10 utf16 */
	d = mkdoc(5, 1);
	CHECK_EQ_INT(qc_text_insert(d, "t", 0, "a\xf0\x9f\x98\x80", 5, NULL), 0);
	CHECK_LAST(d, "01 01 05 00 04 01 01 74 05 61 f0 9f 98 80 00");
	CHECK_SV(d, "01 05 03");
	CHECK_EQ_INT(qc_doc_length(d, "t"), 3);
	{
		size_t svn;
		uint8_t *sv = t_hex("01 05 02", &svn), *o;
		size_t on;
		CHECK_EQ_INT(qc_doc_encode_state(d, sv, svn, &o, &on), 0);
		CHECK_HEX(o, on, "01 01 05 02 84 05 01 03 ef bf bd 00");
		qc_free(d, o);
		free(sv);
	}
	/* a local insert at 2 (inside the pair) is rounded down to 1 */
	CHECK_EQ_INT(qc_text_insert(d, "t", 2, "X", 1, NULL), 0);
	CHECK_TEXT(d, "t", "aX\xf0\x9f\x98\x80");
	/* deleting unit 2 (high half) widens to the whole character */
	CHECK_EQ_INT(qc_text_delete(d, "t", 2, 1), 0);
	CHECK_TEXT(d, "t", "aX");
	qc_doc_free(d);

	/* 8.8 large client id */
	d = mkdoc(3000000000u, 1);
	CHECK_EQ_INT(qc_text_insert(d, "t", 0, "z", 1, NULL), 0);
	CHECK_LAST(d, "01 01 80 bc c1 96 0b 00 04 01 01 74 01 7a 00");
	qc_doc_free(d);
}

static void test_surrogate_split_remote(void)
{
	t_current = "surrogate split";
	/* client 5's "a😀"; client 6 inserts X with origin (5,1): between the halves */
	qc_doc *d = mkdoc(9, 1);
	CHECK_EQ_INT(apply_hex(d, "01 01 05 00 04 01 01 74 05 61 f0 9f 98 80 00"), 0);
	CHECK_EQ_INT(apply_hex(d, "01 01 06 00 c4 05 01 05 02 01 58 00"), 0);
	CHECK_TEXT(d, "t", "a\xef\xbf\xbdX\xef\xbf\xbd");
	CHECK_STATE(d, "02 01 06 00 c4 05 01 05 02 01 58 02 05 00 04 01 01 74 04 61 ef bf bd 84 05 01 03 ef bf bd 00");
	qc_doc_free(d);
}

static void test_pending(void)
{
	t_current = "8.11 pending";
	qc_doc *d = mkdoc(99, 1);
	CHECK_EQ_INT(apply_hex(d, "01 01 07 00 04 01 01 74 02 61 62 00"), 0);
	CHECK_EQ_INT(qc_doc_update_held(d), 0);
	CHECK_EQ_INT(apply_hex(d, "01 01 07 03 84 07 02 01 64 00"), 0);
	CHECK_EQ_INT(qc_doc_update_held(d), 1);
	CHECK_TEXT(d, "t", "ab");
	CHECK_SV(d, "01 07 02");
	CHECK(qc_doc_pending_bytes(d) > 0);
	CHECK_STATE(d, "01 03 07 00 04 01 01 74 02 61 62 0a 01 84 07 02 01 64 00");
	/* the same update again: still waiting, though it adds no pending bytes */
	size_t pb = qc_doc_pending_bytes(d);
	CHECK_EQ_INT(apply_hex(d, "01 01 07 03 84 07 02 01 64 00"), 0);
	CHECK_EQ_INT(qc_doc_update_held(d), 1);
	CHECK_EQ_INT(qc_doc_pending_bytes(d), pb);
	/* the gap: it and what waited on it integrate, nothing of it is held */
	CHECK_EQ_INT(apply_hex(d, "01 01 07 02 84 07 01 01 63 00"), 0);
	CHECK_EQ_INT(qc_doc_update_held(d), 0);
	CHECK_TEXT(d, "t", "abcd");
	CHECK_EQ_INT(qc_doc_pending_bytes(d), 0);
	CHECK_STATE(d, "01 01 07 00 04 01 01 74 04 61 62 63 64 00");
	CHECK_LAST(d, "01 01 07 02 84 07 01 02 63 64 00");
	qc_doc_free(d);

	/* the gap update at once */
	d = mkdoc(99, 1);
	CHECK_EQ_INT(apply_hex(d, "01 03 07 00 04 01 01 74 02 61 62 0a 01 84 07 02 01 64 00"), 0);
	CHECK_TEXT(d, "t", "ab");
	CHECK_SV(d, "01 07 02");
	CHECK_EQ_INT(apply_hex(d, "01 01 07 02 84 07 01 01 63 00"), 0);
	CHECK_TEXT(d, "t", "abcd");
	CHECK_STATE(d, "01 01 07 00 04 01 01 74 04 61 62 63 64 00");
	qc_doc_free(d);

	/* cross-client dependency */
	d = mkdoc(99, 1);
	CHECK_EQ_INT(apply_hex(d, "01 01 0b 00 84 0a 00 01 79 00"), 0);
	CHECK_EQ_INT(qc_doc_update_held(d), 1);
	CHECK_SV(d, "00");
	CHECK_TEXT(d, "t", "");
	CHECK(qc_doc_pending_bytes(d) > 0);
	CHECK_EQ_INT(apply_hex(d, "01 01 0a 00 04 01 01 74 01 78 00"), 0);
	CHECK_EQ_INT(qc_doc_update_held(d), 0);
	CHECK_TEXT(d, "t", "xy");
	CHECK_EQ_INT(qc_doc_pending_bytes(d), 0);
	qc_doc_free(d);

	/* pending delete, twice: held both times (the second adds no bytes) */
	d = mkdoc(99, 1);
	CHECK_EQ_INT(apply_hex(d, "00 01 07 01 00 01"), 0);
	CHECK_EQ_INT(qc_doc_update_held(d), 1);
	CHECK_SV(d, "00");
	CHECK_STATE(d, "00 01 07 01 00 01");
	CHECK_EQ_INT(apply_hex(d, "00 01 07 01 00 01"), 0);
	CHECK_EQ_INT(qc_doc_update_held(d), 1);
	CHECK_EQ_INT(apply_hex(d, "01 01 07 00 04 01 01 74 02 61 62 00"), 0);
	CHECK_EQ_INT(qc_doc_update_held(d), 0);
	CHECK_TEXT(d, "t", "b");
	CHECK_EQ_INT(qc_doc_pending_bytes(d), 0);
	/* a failed call holds nothing */
	CHECK(apply_hex(d, "01 01") != 0);
	CHECK_EQ_INT(qc_doc_update_held(d), 0);
	qc_doc_free(d);
}

static void test_concurrent(void)
{
	t_current = "8.12 concurrent";
	qc_doc *a = mkdoc(1, 1), *b = mkdoc(2, 1);
	CHECK_EQ_INT(qc_text_insert(a, "t", 0, "A", 1, NULL), 0);
	size_t an, bn;
	const uint8_t *ua0 = qc_doc_last_update(a, &an);
	uint8_t *ua = malloc(an);
	memcpy(ua, ua0, an);
	CHECK_EQ_INT(qc_text_insert(b, "t", 0, "B", 1, NULL), 0);
	const uint8_t *ub0 = qc_doc_last_update(b, &bn);
	uint8_t *ub = malloc(bn);
	memcpy(ub, ub0, bn);
	CHECK_EQ_INT(qc_doc_apply_update(a, ub, bn), 0);
	CHECK_EQ_INT(qc_doc_apply_update(b, ua, an), 0);
	CHECK_TEXT(a, "t", "AB");
	CHECK_TEXT(b, "t", "AB");
	CHECK_STATE(a, "02 01 02 00 04 01 01 74 01 42 01 01 00 04 01 01 74 01 41 00");
	CHECK_STATE(b, "02 01 02 00 04 01 01 74 01 42 01 01 00 04 01 01 74 01 41 00");
	free(ua);
	free(ub);
	qc_doc_free(a);
	qc_doc_free(b);

	/* 8.8 right origin */
	t_current = "8.8 right origin";
	a = mkdoc(300, 1);
	CHECK_EQ_INT(apply_hex(a, "01 01 01 00 04 01 01 74 01 78 00"), 0);
	CHECK_EQ_INT(qc_text_insert(a, "t", 0, "y", 1, NULL), 0);
	CHECK_STATE(a, "02 01 ac 02 00 44 01 00 01 79 01 01 00 04 01 01 74 01 78 00");
	CHECK_SV(a, "02 ac 02 01 01 01");
	qc_doc_free(a);
}

static void test_map(void)
{
	t_current = "8.6 map";
	qc_doc *d = mkdoc(3, 1);
	CHECK_EQ_INT(qc_map_set(d, "m", "x", "1"), 0);
	CHECK_LAST(d, "01 01 03 00 28 01 01 6d 01 78 01 7d 01 00");
	CHECK_EQ_INT(qc_map_set(d, "m", "x", "2"), 0);
	CHECK_LAST(d, "01 01 03 01 a8 03 00 01 7d 02 01 03 01 00 01");
	CHECK_EQ_INT(qc_map_set(d, "m", "big", "2147483648"), 0);
	CHECK_LAST(d, "01 01 03 02 28 01 01 6d 03 62 69 67 01 7c 4f 00 00 00 00");
	CHECK_JSON(d, "m", "{\"x\":2,\"big\":2147483648}");
	CHECK_EQ_INT(qc_map_delete(d, "m", "x"), 0);
	CHECK_JSON(d, "m", "{\"big\":2147483648}");
	qc_doc_free(d);

	/* every Any type, applied remotely */
	d = mkdoc(99, 1);
	CHECK_EQ_INT(apply_hex(d, "01 01 02 00 28 01 01 6d 01 6b 01 76 0d"
				  "01 69 7d 2a 01 6e 7d 45 01 66 7c 3f 00 00 00 01 64 7b 3f b9 99 99 99 99 99 9a"
				  "01 62 7a 00 00 00 00 00 00 00 05 01 74 78 01 46 79 01 7a 7e 01 75 7f"
				  "01 73 77 01 78 01 61 75 02 7d 01 77 01 79 01 6f 76 01 01 70 7d 01 01 79 74 02 01 02 00"),
		     0);
	CHECK_JSON(d, "m",
		   "{\"k\":{\"i\":42,\"n\":-5,\"f\":0.5,\"d\":0.1,\"b\":5,\"t\":true,\"F\":false,\"z\":null,\"s\":\"x\","
		   "\"a\":[1,\"y\"],\"o\":{\"p\":1},\"y\":{\"0\":1,\"1\":2}}}");
	CHECK_STATE(d, "01 01 02 00 28 01 01 6d 01 6b 01 76 0d"
		       "01 69 7d 2a 01 6e 7d 45 01 66 7c 3f 00 00 00 01 64 7b 3f b9 99 99 99 99 99 9a"
		       "01 62 7a 00 00 00 00 00 00 00 05 01 74 78 01 46 79 01 7a 7e 01 75 7f"
		       "01 73 77 01 78 01 61 75 02 7d 01 77 01 79 01 6f 76 01 01 70 7d 01 01 79 74 02 01 02 00");
	qc_doc_free(d);

	/* binary value and concurrent set: higher client wins */
	t_current = "map concurrent";
	qc_doc *a = mkdoc(5, 1), *b = mkdoc(9, 1);
	CHECK_EQ_INT(qc_map_set(a, "m", "k", "\"from5\""), 0);
	size_t an, bn;
	uint8_t *ua = malloc(1024), *ub = malloc(1024);
	const uint8_t *pa = qc_doc_last_update(a, &an);
	memcpy(ua, pa, an);
	CHECK_EQ_INT(qc_map_set(b, "m", "k", "\"from9\""), 0);
	const uint8_t *pb = qc_doc_last_update(b, &bn);
	memcpy(ub, pb, bn);
	CHECK_EQ_INT(qc_doc_apply_update(a, ub, bn), 0);
	CHECK_EQ_INT(qc_doc_apply_update(b, ua, an), 0);
	CHECK_JSON(a, "m", "{\"k\":\"from9\"}");
	CHECK_JSON(b, "m", "{\"k\":\"from9\"}");
	uint8_t *sa, *sb;
	size_t san, sbn;
	qc_doc_encode_state(a, NULL, 0, &sa, &san);
	qc_doc_encode_state(b, NULL, 0, &sb, &sbn);
	CHECK(san == sbn && memcmp(sa, sb, san) == 0);
	qc_free(a, sa);
	qc_free(b, sb);
	free(ua);
	free(ub);
	qc_doc_free(a);
	qc_doc_free(b);

	/* 8.6 binary and 8.8 subdoc are accepted and re-encoded */
	d = mkdoc(99, 1);
	CHECK_EQ_INT(apply_hex(d, "01 01 03 03 23 01 01 6d 03 62 69 6e 02 de ad 00"), 0);
	CHECK_EQ_INT(qc_doc_pending_bytes(d) > 0, 1);
	qc_doc_free(d);
	d = mkdoc(99, 1);
	CHECK_EQ_INT(apply_hex(d, "01 01 0d 00 29 01 01 6d 01 73 01 67 76 00 00"), 0);
	CHECK_STATE(d, "01 01 0d 00 29 01 01 6d 01 73 01 67 76 00 00");
	CHECK_JSON(d, "m", "{\"s\":{}}");
	qc_doc_free(d);
}

static void test_nested_gc(void)
{
	t_current = "8.7 nested";
	qc_doc *d = mkdoc(99, 1);
	CHECK_EQ_INT(apply_hex(d, "01 01 04 00 07 01 01 61 01 00"), 0);
	CHECK_EQ_INT(apply_hex(d, "01 01 04 01 28 00 04 00 01 78 01 77 01 76 00"), 0);
	CHECK_JSON(d, "a", "[{\"x\":\"v\"}]");
	CHECK_STATE(d, "01 02 04 00 07 01 01 61 01 28 00 04 00 01 78 01 77 01 76 00");
	qc_doc_free(d);

	t_current = "8.9 gc";
	/* client 8: array a holds an inner array [p,q]; then a.delete(0,1) */
	d = mkdoc(99, 1);
	CHECK_EQ_INT(apply_hex(d, "01 02 08 00 07 01 01 61 00 08 00 08 00 02 77 01 70 77 01 71 00"), 0);
	CHECK_JSON(d, "a", "[[\"p\",\"q\"]]");
	CHECK_EQ_INT(apply_hex(d, "00 01 08 01 00 01"), 0);
	CHECK_JSON(d, "a", "[]");
	CHECK_STATE(d, "01 02 08 00 01 01 01 61 01 00 02 01 08 01 00 03");
	qc_doc_free(d);
	d = mkdoc(99, 1);
	CHECK_EQ_INT(apply_hex(d, "01 02 08 00 01 01 01 61 01 00 02 01 08 01 00 03"), 0);
	CHECK_STATE(d, "01 02 08 00 01 01 01 61 01 00 02 01 08 01 00 03");
	qc_doc_free(d);
}

static void test_rich(void)
{
	t_current = "8.8 format+embed";
	const char *fe = "01 04 09 00 06 01 01 74 04 62 6f 6c 64 04 74 72 75 65 84 09 00 02 68 69"
			 "86 09 02 04 62 6f 6c 64 04 6e 75 6c 6c"
			 "85 09 03 0d 7b 22 69 6d 61 67 65 22 3a 22 78 22 7d 00";
	qc_doc *d = mkdoc(99, 1);
	CHECK_EQ_INT(apply_hex(d, fe), 0);
	CHECK_TEXT(d, "t", "hi");
	CHECK_JSON(d, "t", "\"hi\"");
	CHECK_STATE(d, fe);
	qc_doc_free(d);
	/* the same with local edits */
	d = mkdoc(9, 1);
	CHECK_EQ_INT(qc_text_insert(d, "t", 0, "hi", 2, "{\"bold\":true}"), 0);
	CHECK_EQ_INT(qc_text_insert_embed(d, "t", 2, "{\"image\":\"x\"}"), 0);
	CHECK_STATE(d, fe);
	qc_doc_free(d);

	t_current = "8.8 xml";
	const char *x = "01 04 0c 00 07 01 01 78 03 01 70 07 00 0c 00 06 04 00 0c 01 01 71"
			"28 00 0c 00 01 6b 01 77 01 76 00";
	d = mkdoc(99, 1);
	CHECK_EQ_INT(apply_hex(d, x), 0);
	CHECK_JSON(d, "x", "\"<p k=\\\"v\\\">q</p>\"");
	CHECK_STATE(d, x);
	qc_doc_free(d);

	t_current = "8.8 json array";
	d = mkdoc(14, 1);
	CHECK_EQ_INT(qc_array_insert(d, "a", 0, "[1,\"two\",null]"), 0);
	CHECK_LAST(d, "01 01 0e 00 08 01 01 61 03 7d 01 77 03 74 77 6f 7e 00");
	CHECK_JSON(d, "a", "[1,\"two\",null]");
	CHECK_EQ_INT(qc_array_delete(d, "a", 1, 1), 0);
	CHECK_JSON(d, "a", "[1,null]");
	CHECK_EQ_INT(qc_array_insert(d, "a", 1, "[{\"b\":2,\"a\":[]}]"), 0);
	CHECK_JSON(d, "a", "[1,{\"b\":2,\"a\":[]},null]");
	qc_doc_free(d);
}

static void test_format_local(void)
{
	t_current = "format";
	qc_doc *d = mkdoc(1, 1);
	CHECK_EQ_INT(qc_text_insert(d, "t", 0, "hello world", 11, NULL), 0);
	CHECK_EQ_INT(qc_text_format(d, "t", 0, 5, "{\"bold\":true}"), 0);
	CHECK_TEXT(d, "t", "hello world");
	CHECK_EQ_INT(qc_doc_length(d, "t"), 11);
	/* apply to another doc and compare */
	qc_doc *e = mkdoc(2, 1);
	uint8_t *s;
	size_t sn;
	CHECK_EQ_INT(qc_doc_encode_state(d, NULL, 0, &s, &sn), 0);
	CHECK_EQ_INT(qc_doc_apply_update(e, s, sn), 0);
	qc_free(d, s);
	CHECK_TEXT(e, "t", "hello world");
	CHECK_EQ_INT(qc_text_insert(d, "t", 2, "XX", 2, NULL), 0);
	CHECK_TEXT(d, "t", "heXXllo world");
	CHECK_EQ_INT(qc_text_delete(d, "t", 0, 6), 0);
	CHECK_TEXT(d, "t", "o world");
	qc_doc_free(d);
	qc_doc_free(e);
}

static void test_bad_input(void)
{
	t_current = "bad input";
	qc_doc *d = mkdoc(1, 1);
	CHECK_EQ_INT(qc_text_insert(d, "t", 0, "abc", 3, NULL), 0);
	uint8_t *before;
	size_t bn;
	qc_doc_encode_state(d, NULL, 0, &before, &bn);
	const char *bad[] = {"", "01", "01 01 01 00 04 01 01 74 03 61 62", "01 01 01 00 04 01 01 74 03 61 ff 63 00",
			     "00 00 ff", "01 01 01 00 1f 00"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		CHECK(apply_hex(d, bad[i]) < 0);
		uint8_t *now;
		size_t nn;
		qc_doc_encode_state(d, NULL, 0, &now, &nn);
		CHECK(nn == bn && memcmp(now, before, bn) == 0);
		qc_free(d, now);
	}
	qc_free(d, before);
	CHECK(qc_text_insert(d, "t", 10, "x", 1, NULL) < 0);
	CHECK(qc_text_delete(d, "t", 2, 5) < 0);
	CHECK(qc_map_set(d, "m", "k", "{bad") < 0);
	qc_doc_free(d);
}

/* One client section of GC structs: (client, clock, len). */
static int apply_gc(qc_doc *d, uint64_t client, uint64_t clock, uint64_t len)
{
	qc_enc e;
	qc_enc_init(&e);
	qc_write_varuint(&e, 1); /* sections */
	qc_write_varuint(&e, 1); /* structs */
	qc_write_varuint(&e, client);
	qc_write_varuint(&e, clock);
	qc_write_u8(&e, 0); /* GC */
	qc_write_varuint(&e, len);
	qc_write_varuint(&e, 0); /* empty delete set */
	int rc = qc_doc_apply_update(d, e.data, e.len);
	qc_enc_free(&e);
	return rc;
}

/* Clocks are kept in 32 bits (as in yrs): a client's state may reach
 * 2^32 - 1; anything beyond is refused before the doc changes. */
static void test_clock_limit(void)
{
	t_current = "clock limit";
	qc_doc *d = mkdoc(1, 1);
	CHECK_EQ_INT(apply_gc(d, 7, 0, UINT64_C(1) << 32), QC_ERR_CLOCK);
	CHECK_SV(d, "00");
	CHECK_EQ_INT(apply_gc(d, 9, (UINT64_C(1) << 32) + 5, 1), QC_ERR_CLOCK); /* not kept as pending */
	CHECK(qc_doc_pending_bytes(d) == 0);
	CHECK_EQ_INT(apply_gc(d, 7, 0, 0xffffffffu), QC_OK);
	CHECK_SV(d, "01 07 ff ff ff ff 0f");
	CHECK_EQ_INT(apply_gc(d, 7, 0xffffffffu, 1), QC_ERR_CLOCK);
	CHECK_SV(d, "01 07 ff ff ff ff 0f");
	/* local edits by a client at the limit are refused too */
	qc_doc_set_client_id(d, 7);
	CHECK_EQ_INT(qc_text_insert(d, "t", 0, "x", 1, NULL), QC_ERR_CLOCK);
	CHECK_TEXT(d, "t", "");
	CHECK_SV(d, "01 07 ff ff ff ff 0f");
	/* other clients are unaffected */
	qc_doc_set_client_id(d, 8);
	CHECK_EQ_INT(qc_text_insert(d, "t", 0, "ok", 2, NULL), QC_OK);
	CHECK_TEXT(d, "t", "ok");
	qc_doc_free(d);
}

static int obs_calls;
static char obs_log[512];
static void obs(void *ud, const qc_change *c, size_t n)
{
	(void)ud;
	obs_calls++;
	obs_log[0] = 0;
	for (size_t i = 0; i < n; i++) {
		char t[128];
		snprintf(t, sizeof t, "%s:%d:%llu:%.*s:%s;", c[i].root, (int)c[i].kind, (unsigned long long)c[i].len,
			 (int)c[i].utf8_len, c[i].utf8 ? c[i].utf8 : "", c[i].key ? c[i].key : "");
		strncat(obs_log, t, sizeof obs_log - strlen(obs_log) - 1);
	}
}

static qc_doc *reent_doc;
static int reent_rc = 1;
static void obs_reenter(void *ud, const qc_change *c, size_t n)
{
	(void)ud;
	(void)c;
	(void)n;
	/* observers may read but not modify */
	char *t;
	size_t tn;
	if (qc_doc_text(reent_doc, "t", &t, &tn) == 0)
		qc_free(reent_doc, t);
	reent_rc = qc_text_insert(reent_doc, "t", 0, "x", 1, NULL);
	if (reent_rc == QC_ERR_INVALID)
		reent_rc = qc_doc_apply_update(reent_doc, (const uint8_t *)"\0\0", 2);
}

static void test_observer(void)
{
	t_current = "observer";
	qc_doc *d = mkdoc(1, 1);
	qc_doc_observe(d, obs, NULL);
	CHECK_EQ_INT(qc_text_insert(d, "t", 0, "abc", 3, NULL), 0);
	CHECK(strcmp(obs_log, "t:1:3:abc:;") == 0);
	CHECK_EQ_INT(qc_text_delete(d, "t", 1, 1), 0);
	CHECK(strcmp(obs_log, "t:0:1::;t:2:1::;") == 0);
	CHECK_EQ_INT(qc_map_set(d, "m", "k", "1"), 0);
	CHECK(strcmp(obs_log, "m:3:0::k;") == 0);
	CHECK_EQ_INT(obs_calls, 3);
	/* remote changes are reported too; nested ones as {root, KEY, NULL} */
	CHECK_EQ_INT(apply_hex(d, "01 01 04 00 07 01 01 61 01 00"), 0);
	CHECK(strcmp(obs_log, "a:1:1::;") == 0);
	CHECK_EQ_INT(apply_hex(d, "01 01 04 01 28 00 04 00 01 78 01 77 01 76 00"), 0);
	CHECK(strcmp(obs_log, "a:3:0::;") == 0);
	qc_doc_free(d);

	t_current = "observer re-entry";
	d = mkdoc(1, 1);
	reent_doc = d;
	qc_doc_observe(d, obs_reenter, NULL);
	CHECK_EQ_INT(qc_text_insert(d, "t", 0, "ab", 2, NULL), 0);
	CHECK_EQ_INT(reent_rc, QC_ERR_INVALID);
	CHECK_TEXT(d, "t", "ab");
	qc_doc_free(d);

	t_current = "root classes";
	d = mkdoc(1, 1);
	CHECK_EQ_INT(qc_map_set(d, "m", "k", "1"), 0);
	CHECK(qc_text_insert(d, "m", 0, "x", 1, NULL) < 0);
	CHECK(qc_doc_declare_root(d, "m", QC_ROOT_TEXT) < 0);
	CHECK_EQ_INT(qc_doc_declare_root(d, "m", QC_ROOT_MAP), 0);
	CHECK_EQ_INT(qc_doc_declare_root(d, "x", QC_ROOT_XML_FRAGMENT), 0);
	CHECK_JSON(d, "x", "\"\"");
	CHECK(qc_doc_declare_root(d, "y", 99) < 0);
	qc_doc_free(d);
}

/* mutated updates: never a crash; on error the document is unchanged */
static void test_mutations(void)
{
	t_current = "mutations";
	const char *seeds[] = {
		"01 03 01 00 04 01 01 74 01 61 81 01 00 01 84 01 01 01 63 01 01 01 01 01",
		("01 04 09 00 06 01 01 74 04 62 6f 6c 64 04 74 72 75 65 84 09 00 02 68 69 86 09 02 04 62 6f 6c 64 04 6e 75 6c 6c"
		 " 85 09 03 0d 7b 22 69 6d 61 67 65 22 3a 22 78 22 7d 00"),
		"01 04 0c 00 07 01 01 78 03 01 70 07 00 0c 00 06 04 00 0c 01 01 71 28 00 0c 00 01 6b 01 77 01 76 00",
		"01 02 08 00 07 01 01 61 00 08 00 08 00 02 77 01 70 77 01 71 01 08 01 00 01",
		"01 03 07 00 04 01 01 74 02 61 62 0a 01 84 07 02 01 64 00",
		"02 01 02 00 04 01 01 74 01 42 01 01 00 04 01 01 74 01 41 00",
		"01 01 02 00 28 01 01 6d 01 6b 01 76 02 01 69 7d 2a 01 79 74 02 01 02 00",
	};
	uint64_t r = 12345;
	int applied = 0, refused = 0;
	for (int iter = 0; iter < (getenv("MUT_ITERS") ? atoi(getenv("MUT_ITERS")) : 20000); iter++) {
		size_t n;
		uint8_t *u = t_hex(seeds[iter % 7], &n);
		int muts = 1 + (int)(r % 3);
		for (int m = 0; m < muts && n > 0; m++) {
			r ^= r << 13;
			r ^= r >> 7;
			r ^= r << 17;
			size_t pos = (size_t)(r % n);
			switch ((r >> 20) % 4) {
			case 0: u[pos] ^= (uint8_t)(1u << ((r >> 8) % 8)); break;
			case 1: u[pos] = (uint8_t)(r >> 32); break;
			case 2: n = pos; break; /* truncate */
			default: u[pos] = (uint8_t)((r >> 40) % 12); break;
			}
		}
		qc_doc *d = mkdoc(5, (int)(iter & 1));
		CHECK_EQ_INT(apply_hex(d, "01 01 07 00 04 01 01 74 02 61 62 00"), 0);
		uint8_t *before, *after;
		size_t bn, an;
		qc_doc_encode_state(d, NULL, 0, &before, &bn);
		int rc = qc_doc_apply_update(d, u, n);
		if (rc < 0 && rc != QC_ERR_PENDING) {
			refused++;
			qc_doc_encode_state(d, NULL, 0, &after, &an);
			CHECK(an == bn && memcmp(after, before, bn) == 0);
			if (!(an == bn && memcmp(after, before, bn) == 0)) { char *h = t_tohex(u, n); fprintf(stderr, "rc %d: %s\n", rc, h); free(h); }
			qc_free(d, after);
		} else {
			applied++;
			char *j;
			size_t jn;
			CHECK(qc_doc_json(d, &j, &jn) == 0 || 1);
			if (j)
				qc_free(d, j);
			/* what we encode must be valid and load again */
			qc_doc_encode_state(d, NULL, 0, &after, &an);
			CHECK_EQ_INT(qc_update_validate(after, an), 0);
			qc_doc *e = mkdoc(6, (int)(iter & 1));
			CHECK_EQ_INT(qc_doc_apply_update(e, after, an), 0);
			qc_doc_free(e);
			qc_free(d, after);
		}
		qc_free(d, before);
		qc_doc_free(d);
		free(u);
	}
	CHECK(applied > 100 && refused > 100);
}

static void test_json_content_and_depth(void)
{
	t_current = "ContentJSON";
	/* client 3: array "a" holds ContentJSON ["1.0", undefined, {"b":1,"a":2}] */
	qc_enc e;
	qc_enc_init(&e);
	const char *vals[] = {"1.0", "undefined", "{\"b\":1, \"a\":2}"};
	qc_write_varuint(&e, 1);
	qc_write_varuint(&e, 1);
	qc_write_varuint(&e, 3);
	qc_write_varuint(&e, 0);
	qc_write_u8(&e, 2);
	qc_write_varuint(&e, 1);
	qc_write_varstring(&e, "a", 1);
	qc_write_varuint(&e, 3);
	for (int i = 0; i < 3; i++)
		qc_write_varstring(&e, vals[i], strlen(vals[i]));
	qc_write_u8(&e, 0);
	qc_doc *d = mkdoc(9, 1);
	CHECK_EQ_INT(qc_doc_apply_update(d, e.data, e.len), 0);
	CHECK_JSON(d, "a", "[1,null,{\"b\":1,\"a\":2}]");
	/* re-encoded as JSON.stringify(JSON.parse(x)) */
	CHECK_STATE(d, "01 01 03 00 02 01 01 61 03 01 31 09 75 6e 64 65 66 69 6e 65 64 0d 7b 22 62 22 3a 31 2c 22 61 22 3a 32 7d 00");
	CHECK_EQ_INT(apply_hex(d, "00 01 03 01 01 01"), 0);
	CHECK_JSON(d, "a", "[1,{\"b\":1,\"a\":2}]");
	CHECK_STATE(d, "01 03 03 00 02 01 01 61 01 01 31 81 03 00 01 82 03 01 01 0d 7b 22 62 22 3a 31 2c 22 61 22 3a 32 7d 01 03 01 01 01");
	qc_doc_free(d);
	qc_enc_free(&e);

	t_current = "deep nesting";
	/* 3000 nested arrays: rendering stops with QC_ERR_LIMIT, deleting the
	 * outermost one (iterative) GCs everything */
	qc_enc_init(&e);
	int depth = 3000;
	qc_write_varuint(&e, 1);
	qc_write_varuint(&e, (uint64_t)depth);
	qc_write_varuint(&e, 4);
	qc_write_varuint(&e, 0);
	qc_write_u8(&e, 7);
	qc_write_varuint(&e, 1);
	qc_write_varstring(&e, "a", 1);
	qc_write_varuint(&e, 0);
	for (int i = 1; i < depth; i++) {
		qc_write_u8(&e, 7);
		qc_write_varuint(&e, 0);
		qc_write_varuint(&e, 4);
		qc_write_varuint(&e, (uint64_t)(i - 1));
		qc_write_varuint(&e, 0);
	}
	qc_write_u8(&e, 0);
	d = mkdoc(9, 1);
	CHECK_EQ_INT(qc_doc_apply_update(d, e.data, e.len), 0);
	char *j;
	size_t jn;
	CHECK_EQ_INT(qc_doc_root_json(d, "a", &j, &jn), QC_ERR_LIMIT);
	CHECK_EQ_INT(apply_hex(d, "00 01 04 01 00 01"), 0);
	CHECK_JSON(d, "a", "[]");
	CHECK_STATE(d, "01 02 04 00 01 01 01 61 01 00 b7 17 01 04 01 00 b8 17");
	qc_doc_free(d);
	qc_enc_free(&e);
}

/* fuzz finding: a pending item made stale by a GC range of the same clocks
 * must not hide the GC range in the encoded state */
static void test_stale_pending(void)
{
	t_current = "stale pending";
	qc_doc *a = mkdoc(5, 1);
	CHECK_EQ_INT(apply_hex(a, "01 01 00 00 04 04 13 01 02 01 01 02 06 01 07 01 84 07 00"), 0);
	CHECK(qc_doc_pending_bytes(a) > 0);
	CHECK_EQ_INT(apply_hex(a, "01 02 00 00 00 00 00 fe 78 00"), 0);
	CHECK_SV(a, "01 00 fe 78");
	uint8_t *s;
	size_t sn;
	CHECK_EQ_INT(qc_doc_encode_state(a, NULL, 0, &s, &sn), 0);
	qc_doc *b = mkdoc(6, 1);
	CHECK_EQ_INT(qc_doc_apply_update(b, s, sn), 0);
	CHECK_SV(b, "01 00 fe 78");
	qc_free(a, s);
	qc_doc_free(a);
	qc_doc_free(b);
}

/* Typing after our own newest item extends it in place (doc_edit.c
 * extend_typed); a doc with an observer takes the general path (create the
 * item, merge it at the end of the transaction). Both must give the same
 * update for every edit and the same state. */
static void nop_obs(void *ud, const qc_change *c, size_t n)
{
	(void)ud;
	(void)c;
	(void)n;
}

static void same_update(qc_doc *a, qc_doc *b, int step)
{
	size_t na, nb;
	const uint8_t *ua = qc_doc_last_update(a, &na), *ub = qc_doc_last_update(b, &nb);
	t_checks++;
	if (na != nb || (na && memcmp(ua, ub, na) != 0)) {
		t_failures++;
		fprintf(stderr, "%s:%d: [%s] step %d: updates differ (%zu vs %zu bytes)\n", __FILE__, __LINE__, T_CTX(),
			step, na, nb);
	}
}

/* the two docs encode the same state, byte for byte */
static void same_state(qc_doc *a, qc_doc *b)
{
	uint8_t *sa, *sb;
	size_t na, nb;
	CHECK_EQ_INT(qc_doc_encode_state(a, NULL, 0, &sa, &na), 0);
	CHECK_EQ_INT(qc_doc_encode_state(b, NULL, 0, &sb, &nb), 0);
	CHECK(na == nb && memcmp(sa, sb, na) == 0);
	qc_free(a, sa);
	qc_free(b, sb);
}

/* a malloc()ed copy of d's last update */
static uint8_t *copy_last(qc_doc *d, size_t *n)
{
	const uint8_t *u = qc_doc_last_update(d, n);
	uint8_t *c = malloc(*n ? *n : 1);
	if (*n)
		memcpy(c, u, *n);
	return c;
}

static void test_typing_extends(void)
{
	t_current = "typing extends in place";
	qc_doc *a = mkdoc(7, 1), *b = mkdoc(7, 1);
	qc_doc_observe(b, nop_obs, NULL);
	/* ops: 'i' insert text at pos, 'd' delete len at pos, 'r' remote update */
	struct {
		char op;
		uint64_t pos, len;
		const char *s;
	} ops[] = {
		{'i', 0, 0, "h"},  {'i', 1, 0, "e"},  {'i', 2, 0, "llo"}, {'i', 5, 0, " "},   /* typing at the end */
		{'i', 2, 0, "X"},  {'i', 3, 0, "Y"},  {'i', 4, 0, "Z"},                      /* in the middle */
		{'i', 0, 0, "<"},  {'i', 1, 0, "<"},                                          /* at the start */
		{'i', 4, 0, "\xf0\x9f\x98\x80"}, {'i', 6, 0, "\xc3\xa9"},                  /* astral, 2-byte */
		{'d', 6, 1, NULL}, {'i', 6, 0, "e"},  {'i', 7, 0, "f"},                      /* after a delete */
		{'i', 0, 0, "a"},  {'i', 9, 0, "m"},  {'i', 10, 0, "n"},                      /* blob end moved */
		{'r', 0, 0, "01 01 63 00 04 01 01 74 01 52 00"},                            /* remote "R" at 0 */
		{'i', 1, 0, "s"},  {'i', 2, 0, "t"},                                          /* after remote */
		{'d', 2, 1, NULL}, {'i', 2, 0, "u"},  {'i', 3, 0, "v"},
	};
	for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++) {
		int ra, rb;
		if (ops[k].op == 'i') {
			ra = qc_text_insert(a, "t", ops[k].pos, ops[k].s, strlen(ops[k].s), NULL);
			rb = qc_text_insert(b, "t", ops[k].pos, ops[k].s, strlen(ops[k].s), NULL);
		} else if (ops[k].op == 'd') {
			ra = qc_text_delete(a, "t", ops[k].pos, ops[k].len);
			rb = qc_text_delete(b, "t", ops[k].pos, ops[k].len);
		} else {
			ra = apply_hex(a, ops[k].s);
			rb = apply_hex(b, ops[k].s);
		}
		CHECK_EQ_INT(ra, 0);
		CHECK_EQ_INT(rb, 0);
		same_update(a, b, (int)k);
		CHECK_EQ_INT(qc_doc_length(a, "t"), qc_doc_length(b, "t"));
	}
	char *ta, *tb;
	size_t tna, tnb;
	CHECK_EQ_INT(qc_doc_text(a, "t", &ta, &tna), 0);
	CHECK_EQ_INT(qc_doc_text(b, "t", &tb, &tnb), 0);
	CHECK(tna == tnb && memcmp(ta, tb, tna) == 0);
	/* the remote "R" (no origins, client 99 > 7) goes after our run */
	CHECK(strcmp(ta, "asuv<<he\xf0\x9f\x98\x80" "efmnXYZllo R") == 0);
	qc_free(a, ta);
	qc_free(b, tb);
	same_state(a, b);
	/* the state loads into a fresh doc with the same text */
	uint8_t *sa;
	size_t sna;
	CHECK_EQ_INT(qc_doc_encode_state(a, NULL, 0, &sa, &sna), 0);
	qc_doc *c = mkdoc(9, 1);
	CHECK_EQ_INT(qc_doc_apply_update(c, sa, sna), 0);
	CHECK_EQ_INT(qc_doc_length(c, "t"), qc_doc_length(a, "t"));
	qc_free(a, sa);
	qc_doc_free(a);
	qc_doc_free(b);
	qc_doc_free(c);
}

static qc_doc *mkdoc_counted(qc_counted *cnt, size_t max_pending)
{
	static const qc_alloc al0 = {qc_counted_malloc, qc_counted_realloc, qc_counted_free, NULL};
	static qc_alloc al;
	al = al0;
	al.ud = cnt;
	qc_doc_opts o;
	qc_doc_opts_default(&o);
	o.client_id = 5;
	o.max_pending_bytes = max_pending;
	o.alloc = &al;
	qc_doc *d = qc_doc_new(&o);
	if (!d)
		abort();
	return d;
}

/* qc_doc_take_last_update hands over exactly what qc_doc_last_update would
 * have returned, from the doc's allocator; the doc forgets the event */
static void test_take_last_update(void)
{
	t_current = "take last update";
	qc_counted cnt = {0, 0};
	qc_doc *d = mkdoc_counted(&cnt, 0);
	size_t n, tn;
	/* nothing yet */
	CHECK(qc_doc_take_last_update(d, &tn) == NULL && tn == 0);
	CHECK_EQ_INT(qc_text_insert(d, "t", 0, "abc", 3, NULL), 0);
	const uint8_t *u = qc_doc_last_update(d, &n);
	CHECK(u != NULL && n > 0);
	uint8_t *want = malloc(n);
	memcpy(want, u, n);
	uint8_t *got = qc_doc_take_last_update(d, &tn);
	CHECK(got != NULL && tn == n && memcmp(got, want, n) == 0);
	CHECK(qc_doc_last_update(d, &n) == NULL && n == 0);
	CHECK(qc_doc_take_last_update(d, &tn) == NULL && tn == 0);
	qc_free(d, got);
	free(want);
	/* an event not encoded yet is encoded and handed over; a remote one too */
	CHECK_EQ_INT(qc_text_delete(d, "t", 1, 1), 0);
	got = qc_doc_take_last_update(d, &tn);
	CHECK_HEX(got, tn, "00 01 05 01 01 01");
	qc_free(d, got);
	CHECK_EQ_INT(apply_hex(d, "01 01 07 00 04 01 01 74 02 61 62 00"), 0);
	got = qc_doc_take_last_update(d, &tn);
	CHECK_HEX(got, tn, "01 01 07 00 04 01 01 74 02 61 62 00");
	qc_free(d, got);
	CHECK(qc_doc_last_update(d, &n) == NULL && n == 0);
	/* the doc goes on as before: a later change has its own event */
	CHECK_EQ_INT(qc_text_insert(d, "t", 2, "d", 1, NULL), 0);
	CHECK(qc_doc_last_update(d, &n) != NULL && n > 0);
	got = qc_doc_take_last_update(d, &tn);
	CHECK(got != NULL && tn == n);
	qc_free(d, got);
	CHECK_TEXT(d, "t", "acdab");
	CHECK(qc_doc_take_last_update(NULL, &tn) == NULL && tn == 0);
	qc_doc_free(d);
	/* every buffer handed over went back through the doc's allocator */
	CHECK_EQ_INT(cnt.live, 0);
	CHECK(cnt.peak > 0);
}

/* Past max_pending_bytes: QC_ERR_PENDING, the pending set dropped, and what
 * could be integrated stays integrated as the update event. */
static void test_pending_cap(void)
{
	t_current = "pending cap";
	qc_counted cnt = {0, 0};
	qc_doc *d = mkdoc_counted(&cnt, 64);
	/* client 8 from clock 5 (missing 0..4: pending, 200 bytes) and client 7
	 * "ab" into root "t" (integrates) in one update */
	qc_enc e;
	qc_enc_init(&e);
	qc_write_varuint(&e, 2);
	qc_write_varuint(&e, 1);
	qc_write_varuint(&e, 8);
	qc_write_varuint(&e, 5);
	qc_write_u8(&e, 0x84);
	qc_write_varuint(&e, 8);
	qc_write_varuint(&e, 4);
	char big[200];
	memset(big, 'x', sizeof big);
	qc_write_varstring(&e, big, sizeof big);
	qc_write_varuint(&e, 1);
	qc_write_varuint(&e, 7);
	qc_write_varuint(&e, 0);
	qc_write_u8(&e, 0x04);
	qc_write_varuint(&e, 1);
	qc_write_varstring(&e, "t", 1);
	qc_write_varstring(&e, "ab", 2);
	qc_write_u8(&e, 0);
	CHECK(qc_enc_ok(&e) && qc_update_validate(e.data, e.len) == QC_OK);
	CHECK_EQ_INT(qc_doc_apply_update(d, e.data, e.len), QC_ERR_PENDING);
	CHECK_EQ_INT(qc_doc_pending_bytes(d), 0);
	CHECK_TEXT(d, "t", "ab");
	CHECK_SV(d, "01 07 02");
	CHECK_STATE(d, "01 01 07 00 04 01 01 74 02 61 62 00");
	/* the event is what integrated, and it can be taken */
	CHECK_LAST(d, "01 01 07 00 04 01 01 74 02 61 62 00");
	size_t tn;
	uint8_t *got = qc_doc_take_last_update(d, &tn);
	CHECK_HEX(got, tn, "01 01 07 00 04 01 01 74 02 61 62 00");
	qc_free(d, got);
	/* the same update again: client 7 is known, so nothing integrates, and the
	 * pending part passes the cap again */
	CHECK_EQ_INT(qc_doc_apply_update(d, e.data, e.len), QC_ERR_PENDING);
	size_t n;
	CHECK(qc_doc_last_update(d, &n) == NULL && n == 0);
	CHECK_EQ_INT(qc_doc_pending_bytes(d), 0);
	/* under the cap nothing is refused: the pending part waits */
	qc_doc *d2 = mkdoc_counted(&cnt, 0);
	CHECK_EQ_INT(qc_doc_apply_update(d2, e.data, e.len), QC_OK);
	CHECK(qc_doc_pending_bytes(d2) > 200);
	CHECK_TEXT(d2, "t", "ab");
	qc_doc_free(d2);
	qc_enc_free(&e);
	qc_doc_free(d);
	CHECK_EQ_INT(cnt.live, 0);
}

/* QC_ERR_LIMIT from reading an update (Any nested deeper than 64, clock +
 * length above 2^53-1) refuses it whole: no event, the doc unchanged. */
static void test_limit_refused(void)
{
	t_current = "limit refused";
	qc_doc *d = mkdoc(5, 1);
	CHECK_EQ_INT(apply_hex(d, "01 01 07 00 04 01 01 74 02 61 62 00"), 0);
	for (int depth = 64; depth <= 65; depth++) {
		/* client 9: map "m" key "k" = 'depth' nested arrays around null,
		 * then "cd" appended to client 7's text */
		qc_enc e;
		qc_enc_init(&e);
		static const uint8_t head[] = {0x02, 0x01, 0x09, 0x00, 0x28, 0x01, 0x01, 0x6d, 0x01, 0x6b, 0x01};
		qc_write_bytes(&e, head, sizeof head);
		for (int i = 0; i < depth; i++) {
			qc_write_u8(&e, 0x75);
			qc_write_u8(&e, 0x01);
		}
		qc_write_u8(&e, 0x7e);
		static const uint8_t tail[] = {0x01, 0x07, 0x02, 0x84, 0x07, 0x01, 0x02, 0x63, 0x64, 0x00};
		qc_write_bytes(&e, tail, sizeof tail);
		uint8_t *before;
		size_t bn, n;
		CHECK_EQ_INT(qc_doc_encode_state(d, NULL, 0, &before, &bn), 0);
		int rc = qc_doc_apply_update(d, e.data, e.len);
		if (depth == 64) {
			CHECK_EQ_INT(rc, QC_OK);
			CHECK_TEXT(d, "t", "abcd");
			CHECK(qc_doc_last_update(d, &n) != NULL);
			qc_doc_free(d);
			d = mkdoc(5, 1);
			CHECK_EQ_INT(apply_hex(d, "01 01 07 00 04 01 01 74 02 61 62 00"), 0);
		} else {
			CHECK_EQ_INT(rc, QC_ERR_LIMIT);
			CHECK(qc_doc_last_update(d, &n) == NULL && n == 0);
			CHECK_TEXT(d, "t", "ab");
			CHECK_STATE(d, "01 01 07 00 04 01 01 74 02 61 62 00");
		}
		qc_free(d, before);
		qc_enc_free(&e);
	}
	/* a struct whose clock + length passes 2^53-1 */
	CHECK_EQ_INT(apply_hex(d, "01 01 07 fe ff ff ff ff ff ff 0f 84 07 01 02 63 64 00"), QC_ERR_LIMIT);
	/* a delete range whose clock + length passes 2^53-1 */
	CHECK_EQ_INT(apply_hex(d, "00 01 07 01 01 ff ff ff ff ff ff ff 0f"), QC_ERR_LIMIT);
	CHECK_STATE(d, "01 01 07 00 04 01 01 74 02 61 62 00");
	CHECK_EQ_INT(qc_doc_pending_bytes(d), 0);
	qc_doc_free(d);
}

/* The same for remote typing (doc_core.c extend_remote): every update of a
 * typing session, applied one by one to a doc without and a doc with an
 * observer, gives the same update events and the same state; so does the
 * whole session as one update, and an update that types and deletes what it
 * typed. */
static void test_remote_typing_extends(void)
{
	t_current = "remote typing extends in place";
	qc_doc *w = mkdoc(3, 1);
	uint8_t *ups[64];
	size_t lens[64], nu = 0;
	const char *typed = "hello world";
	for (size_t i = 0; typed[i]; i++) {
		CHECK_EQ_INT(qc_text_insert(w, "t", i, typed + i, 1, NULL), 0);
		ups[nu] = copy_last(w, &lens[nu]);
		nu++;
	}
	CHECK_EQ_INT(qc_text_delete(w, "t", 3, 4), 0); /* "helorld" */
	CHECK_EQ_INT(qc_text_insert(w, "t", 3, "p", 1, NULL), 0);
	CHECK_EQ_INT(qc_text_insert(w, "t", 4, "q", 1, NULL), 0);
	for (int k = 0; k < 2; k++) {
		CHECK_EQ_INT(qc_text_insert(w, "t", 9 + (uint64_t)k, "!", 1, NULL), 0);
		ups[nu] = copy_last(w, &lens[nu]);
		nu++;
	}
	uint8_t *whole;
	size_t wn;
	CHECK_EQ_INT(qc_doc_encode_state(w, NULL, 0, &whole, &wn), 0);

	qc_doc *a = mkdoc(8, 1), *b = mkdoc(8, 1);
	qc_doc_observe(b, nop_obs, NULL);
	for (size_t k = 0; k < nu; k++) {
		CHECK_EQ_INT(qc_doc_apply_update(a, ups[k], lens[k]), 0);
		CHECK_EQ_INT(qc_doc_apply_update(b, ups[k], lens[k]), 0);
		same_update(a, b, (int)k);
		if (k < 11) { /* the two "!" wait for the edits before them */
			CHECK_EQ_INT(qc_doc_length(a, "t"), k + 1);
			CHECK_EQ_INT(qc_doc_length(b, "t"), k + 1);
		}
	}
	/* the rest (deletes, mid-text typing) as one update */
	CHECK_EQ_INT(qc_doc_apply_update(a, whole, wn), 0);
	CHECK_EQ_INT(qc_doc_apply_update(b, whole, wn), 0);
	same_update(a, b, 100);
	CHECK_TEXT(a, "t", "helpqorld!!");
	CHECK_TEXT(b, "t", "helpqorld!!");
	same_state(a, b);
	uint8_t *sa;
	size_t sna;
	CHECK_EQ_INT(qc_doc_encode_state(a, NULL, 0, &sa, &sna), 0);
	CHECK(sna == wn && memcmp(sa, whole, wn) == 0);
	qc_free(a, sa);
	qc_doc_free(a);
	qc_doc_free(b);

	/* one update that types "xyz" after "ab" and deletes "y" */
	qc_doc *c = mkdoc(8, 1), *e = mkdoc(8, 1);
	qc_doc_observe(e, nop_obs, NULL);
	qc_doc *v = mkdoc(4, 1);
	CHECK_EQ_INT(qc_text_insert(v, "t", 0, "ab", 2, NULL), 0);
	uint8_t *s0;
	size_t n0;
	CHECK_EQ_INT(qc_doc_encode_state(v, NULL, 0, &s0, &n0), 0);
	CHECK_EQ_INT(qc_doc_apply_update(c, s0, n0), 0);
	CHECK_EQ_INT(qc_doc_apply_update(e, s0, n0), 0);
	uint8_t *sv;
	size_t svn;
	CHECK_EQ_INT(qc_doc_state_vector(v, &sv, &svn), 0);
	CHECK_EQ_INT(qc_text_insert(v, "t", 2, "x", 1, NULL), 0);
	CHECK_EQ_INT(qc_text_insert(v, "t", 3, "y", 1, NULL), 0);
	CHECK_EQ_INT(qc_text_insert(v, "t", 4, "z", 1, NULL), 0);
	CHECK_EQ_INT(qc_text_delete(v, "t", 3, 1), 0);
	uint8_t *d1;
	size_t dn1;
	CHECK_EQ_INT(qc_doc_encode_state(v, sv, svn, &d1, &dn1), 0);
	CHECK_EQ_INT(qc_doc_apply_update(c, d1, dn1), 0);
	CHECK_EQ_INT(qc_doc_apply_update(e, d1, dn1), 0);
	same_update(c, e, 200);
	CHECK_TEXT(c, "t", "abxz");
	CHECK_EQ_INT(qc_doc_length(c, "t"), 4);
	same_state(c, e);
	qc_free(v, s0);
	qc_free(v, sv);
	qc_free(v, d1);
	qc_doc_free(c);
	qc_doc_free(e);
	qc_doc_free(v);
	for (size_t k = 0; k < nu; k++)
		free(ups[k]);
	qc_free(w, whole);
	qc_doc_free(w);

	/* concurrent cases where the newest item must not grow: another
	 * client's item sits right of it (X), or it has another right origin */
	for (int scenario = 0; scenario < 2; scenario++) {
		qc_doc *pa = mkdoc(20, 1), *pb = mkdoc(10, 1); /* B's id is lower: its X wins the left spot */
		qc_doc *ra = mkdoc(30, 1), *rb = mkdoc(30, 1);
		qc_doc_observe(rb, nop_obs, NULL);
		uint8_t *u, *last[2];
		size_t un, nlast[2];
#define SYNC(from, to)                                                                 \
	do {                                                                           \
		CHECK_EQ_INT(qc_doc_encode_state((from), NULL, 0, &u, &un), 0);       \
		CHECK_EQ_INT(qc_doc_apply_update((to), u, un), 0);                     \
		qc_free((from), u);                                                    \
	} while (0)
#define KEEP(doc, k) (last[k] = copy_last((doc), &nlast[k]))
#define KEEP_STATE(doc, k) CHECK_EQ_INT(qc_doc_encode_state((doc), NULL, 0, &last[k], &nlast[k]), 0)
		if (scenario == 0) {
			CHECK_EQ_INT(qc_text_insert(pa, "t", 0, "ab", 2, NULL), 0);
			SYNC(pa, pb);
			CHECK_EQ_INT(qc_text_insert(pb, "t", 2, "X", 1, NULL), 0); /* concurrent with c */
			CHECK_EQ_INT(qc_text_delete(pb, "t", 2, 1), 0); /* X stays, deleted, without content */
			KEEP_STATE(pb, 0);
			CHECK_EQ_INT(qc_text_insert(pa, "t", 2, "c", 1, NULL), 0);
			KEEP(pa, 1);
		} else {
			CHECK_EQ_INT(qc_text_insert(pb, "t", 0, "Q", 1, NULL), 0);
			SYNC(pb, pa);
			CHECK_EQ_INT(qc_text_insert(pa, "t", 0, "a", 1, NULL), 0); /* right origin Q */
			SYNC(pa, pb);
			CHECK_EQ_INT(qc_text_insert(pb, "t", 1, "Y", 1, NULL), 0); /* aYQ */
			SYNC(pb, pa);
			CHECK_EQ_INT(qc_text_insert(pa, "t", 1, "b", 1, NULL), 0); /* right origin Y */
			KEEP(pa, 1);
			CHECK_EQ_INT(qc_text_delete(pb, "t", 1, 1), 0); /* then Y is deleted */
			KEEP_STATE(pb, 0);
		}
		/* what both had before the two edits, then the edits one by one */
		if (scenario == 0) {
			CHECK_EQ_INT(apply_hex(ra, "01 01 14 00 04 01 01 74 02 61 62 00"), 0); /* A's "ab" */
			CHECK_EQ_INT(apply_hex(rb, "01 01 14 00 04 01 01 74 02 61 62 00"), 0);
		} else {
			/* B's Q and A's a (right origin Q) */
			CHECK_EQ_INT(apply_hex(ra, "01 01 0a 00 04 01 01 74 01 51 00"), 0);
			CHECK_EQ_INT(apply_hex(rb, "01 01 0a 00 04 01 01 74 01 51 00"), 0);
			CHECK_EQ_INT(apply_hex(ra, "01 01 14 00 44 0a 00 01 61 00"), 0);
			CHECK_EQ_INT(apply_hex(rb, "01 01 14 00 44 0a 00 01 61 00"), 0);
		}
		CHECK_TEXT(ra, "t", scenario == 0 ? "ab" : "aQ");
		for (int k = 0; k < 2; k++) {
			CHECK_EQ_INT(qc_doc_apply_update(ra, last[k], nlast[k]), 0);
			CHECK_EQ_INT(qc_doc_apply_update(rb, last[k], nlast[k]), 0);
			same_update(ra, rb, 300 + scenario * 10 + k);
			if (k == 0)
				qc_free(pb, last[k]);
			else
				free(last[k]);
		}
		CHECK_TEXT(ra, "t", scenario == 0 ? "abc" : "abQ");
		CHECK_TEXT(rb, "t", scenario == 0 ? "abc" : "abQ");
		same_state(ra, rb);
#undef KEEP
#undef KEEP_STATE
#undef SYNC
		qc_doc_free(pa);
		qc_doc_free(pb);
		qc_doc_free(ra);
		qc_doc_free(rb);
	}
}

/* qc_doc_load: the document qc_doc_apply_update builds, the same errors,
 * but no update event and none of its buffers kept. */
static void test_load(void)
{
	t_current = "load";
	qc_counted ca = {0, 0}, cl = {0, 0};
	qc_doc *src = mkdoc(3, 1);
	CHECK_EQ_INT(qc_text_insert(src, "t", 0, "hello world", 11, NULL), 0);
	CHECK_EQ_INT(qc_text_delete(src, "t", 2, 3), 0);
	CHECK_EQ_INT(qc_text_insert(src, "t", 0, ">", 1, NULL), 0);
	CHECK_EQ_INT(qc_text_delete(src, "t", 5, 2), 0);
	uint8_t *snap;
	size_t sn;
	CHECK_EQ_INT(qc_doc_encode_state(src, NULL, 0, &snap, &sn), 0);
	qc_doc *a = mkdoc_counted(&ca, 0);
	CHECK_EQ_INT(qc_doc_apply_update(a, snap, sn), QC_OK);
	qc_doc *l = mkdoc_counted(&cl, 0);
	CHECK_EQ_INT(qc_doc_load(l, snap, sn), QC_OK);
	CHECK_TEXT(l, "t", ">he wld");
	uint8_t *ea, *el;
	size_t ean, eln;
	CHECK_EQ_INT(qc_doc_encode_state(a, NULL, 0, &ea, &ean), 0);
	CHECK_EQ_INT(qc_doc_encode_state(l, NULL, 0, &el, &eln), 0);
	CHECK(ean == sn && eln == sn && memcmp(ea, snap, sn) == 0 && memcmp(el, snap, sn) == 0);
	qc_free(a, ea);
	qc_free(l, el);
	/* apply keeps the event (its delete set), load keeps nothing */
	size_t n;
	CHECK(qc_doc_last_update(l, &n) == NULL && n == 0);
	CHECK(qc_doc_take_last_update(l, &n) == NULL && n == 0);
	CHECK(ca.live > cl.live);
	CHECK(qc_doc_last_update(a, &n) != NULL && n > 0);
	/* the loaded doc goes on: a later change has its event */
	CHECK_EQ_INT(qc_text_insert(l, "t", 6, "!", 1, NULL), 0);
	CHECK(qc_doc_last_update(l, &n) != NULL && n > 0);
	CHECK_TEXT(l, "t", ">he wl!d");
	/* bad input: the errors of apply, the doc unchanged, no event */
	const char *bad[] = {"", "01", "01 01 01 00 04 01 01 74 03 61 62", "01 01 01 00 04 01 01 74 03 61 ff 63 00"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		size_t bn;
		uint8_t *b = t_hex(bad[i], &bn);
		qc_doc *x = mkdoc(4, 1), *y = mkdoc(4, 1);
		int ra = qc_doc_apply_update(x, b, bn), rl = qc_doc_load(y, b, bn);
		CHECK(rl < 0 && rl == ra);
		CHECK_SV(y, "00");
		CHECK(qc_doc_last_update(y, &n) == NULL && n == 0);
		qc_doc_free(x);
		qc_doc_free(y);
		free(b);
	}
	CHECK_EQ_INT(qc_doc_load(NULL, snap, sn), QC_ERR_INVALID);
	qc_free(src, snap);
	qc_doc_free(src);
	qc_doc_free(a);
	qc_doc_free(l);
	CHECK_EQ_INT(ca.live, 0);
	CHECK_EQ_INT(cl.live, 0);
}

/* qc_doc_trim: after editing, fewer live bytes and the same document;
 * editing goes on. */
static void test_trim(void)
{
	t_current = "trim";
	qc_counted cnt = {0, 0};
	qc_doc *d = mkdoc_counted(&cnt, 0);
	/* typing with backspaces and jumps: grown arrays, deleted text */
	uint64_t len = 0;
	for (int i = 0; i < 3000; i++) {
		uint64_t at = (uint64_t)(i * 7919) % (len + 1);
		CHECK_EQ_INT(qc_text_insert(d, "t", at, "abcdefgh", 8, NULL), 0);
		len += 8;
		if (i % 3 == 0) {
			CHECK_EQ_INT(qc_text_delete(d, "t", at, 5), 0);
			len -= 5;
		}
	}
	size_t doc_before = cnt.live;
	uint8_t *before, *after;
	size_t bn, an;
	CHECK_EQ_INT(qc_doc_encode_state(d, NULL, 0, &before, &bn), 0);
	char *tb, *ta;
	size_t tbn, tan;
	CHECK_EQ_INT(qc_doc_text(d, "t", &tb, &tbn), 0);
	size_t held = cnt.live - doc_before; /* the two copies above */
	qc_doc_trim(d);
	size_t n;
	CHECK(qc_doc_last_update(d, &n) == NULL && n == 0);
	/* a fifth of the doc's bytes or more was slack and deleted text (30%
	 * when this was written: 585,609 -> 408,974 bytes) */
	CHECK((cnt.live - held) * 5 < doc_before * 4);
	CHECK_EQ_INT(qc_doc_encode_state(d, NULL, 0, &after, &an), 0);
	CHECK_EQ_INT(qc_doc_text(d, "t", &ta, &tan), 0);
	CHECK(an == bn && memcmp(after, before, bn) == 0);
	CHECK(tan == tbn && memcmp(ta, tb, tbn) == 0 && tan == len);
	qc_free(d, after);
	qc_free(d, ta);
	/* twice is harmless, and editing goes on */
	qc_doc_trim(d);
	CHECK_EQ_INT(qc_text_insert(d, "t", 0, "!", 1, NULL), 0);
	CHECK(qc_doc_last_update(d, &n) != NULL && n > 0);
	CHECK_EQ_INT(qc_text_delete(d, "t", 0, 1), 0);
	CHECK_EQ_INT(qc_doc_text(d, "t", &ta, &tan), 0);
	CHECK(tan == tbn && memcmp(ta, tb, tbn) == 0);
	qc_free(d, ta);
	qc_free(d, tb);
	qc_free(d, before);
	qc_doc_trim(NULL);
	qc_doc_free(d);
	CHECK_EQ_INT(cnt.live, 0);
}

int main(void)
{
	test_content_bytes();
	test_empty();
	test_abc_delete();
	test_local_text();
	test_surrogate_split_remote();
	test_pending();
	test_concurrent();
	test_map();
	test_nested_gc();
	test_rich();
	test_format_local();
	test_bad_input();
	test_clock_limit();
	test_observer();
	test_mutations();
	test_json_content_and_depth();
	test_stale_pending();
	test_typing_extends();
	test_take_last_update();
	test_pending_cap();
	test_limit_refused();
	test_remote_typing_extends();
	test_load();
	test_trim();
	printf("test_doc: %d checks, %d failures\n", t_checks, t_failures);
	return t_failures ? 1 : 0;
}
