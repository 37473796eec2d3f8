/* Update v1: the vectors of reference section 8, merge/diff/state vector,
 * and malformed input. */
#include "quire/update.h"
#include "t.h"

typedef struct vec {
	const char *name;
	const char *hex;
	size_t structs, ranges;
	const char *sv; /* encodeStateVectorFromUpdate */
} vec;

static const vec vectors[] = {
	{"8.1 empty", "00 00", 0, 0, "00"},
	{"8.2 abc", "01 01 01 00 04 01 01 74 03 61 62 63 00", 1, 0, "01 01 03"},
	{"8.3 delete b", "00 01 01 01 01 01", 0, 1, "00"},
	{"8.4 merged", "01 01 01 00 04 01 01 74 03 61 62 63 01 01 01 01 01", 1, 1, "01 01 03"},
	{"8.4 integrated", "01 03 01 00 04 01 01 74 01 61 81 01 00 01 84 01 01 01 63 01 01 01 01 01", 3, 1,
	 "01 01 03"},
	{"8.5 diff", "01 01 01 02 84 01 01 01 63 01 01 01 01 01", 1, 1, "00"},
	{"8.5 abcd diff", "01 01 07 01 84 07 00 03 62 63 64 00", 1, 0, "00"},
	{"8.6 every Any",
	 "01 01 02 00 28 01 01 6d 01 6b 01 76 0d"
	 "01 69 7d 2a 01 6e 7d 45 01 66 7c 3f 00 00 00 01 64 7b 3f b9 99 99 99 99 99 9a"
	 "01 62 7a 00 00 00 00 00 00 00 05 01 74 78 01 46 79 01 7a 7e 01 75 7f"
	 "01 73 77 01 78 01 61 75 02 7d 01 77 01 79 01 6f 76 01 01 70 7d 01 01 79 74 02 01 02 00",
	 1, 0, "01 02 01"},
	{"8.6 set x 1", "01 01 03 00 28 01 01 6d 01 78 01 7d 01 00", 1, 0, "01 03 01"},
	{"8.6 set x 2", "01 01 03 01 a8 03 00 01 7d 02 01 03 01 00 01", 1, 1, "00"},
	{"8.6 big", "01 01 03 02 28 01 01 6d 03 62 69 67 01 7c 4f 00 00 00 00", 1, 0, "00"},
	{"8.6 bin", "01 01 03 03 23 01 01 6d 03 62 69 6e 02 de ad 00", 1, 0, "00"},
	{"8.7 nested type", "01 01 04 00 07 01 01 61 01 00", 1, 0, "01 04 01"},
	{"8.7 nested set", "01 01 04 01 28 00 04 00 01 78 01 77 01 76 00", 1, 0, "00"},
	{"8.8 format+embed",
	 "01 04 09 00 06 01 01 74 04 62 6f 6c 64 04 74 72 75 65 84 09 00 02 68 69"
	 "86 09 02 04 62 6f 6c 64 04 6e 75 6c 6c 85 09 03 0d 7b 22 69 6d 61 67 65 22 3a 22 78 22 7d 00",
	 4, 0, "01 09 05"},
	{"8.8 xml",
	 "01 04 0c 00 07 01 01 78 03 01 70 07 00 0c 00 06 04 00 0c 01 01 71 28 00 0c 00 01 6b 01 77 01 76 00",
	 4, 0, "01 0c 04"},
	{"8.8 subdoc", "01 01 0d 00 29 01 01 6d 01 73 01 67 76 00 00", 1, 0, "01 0d 01"},
	{"8.8 json array", "01 01 0e 00 08 01 01 61 03 7d 01 77 03 74 77 6f 7e 00", 1, 0, "01 0e 03"},
	{"8.8 large client", "01 01 80 bc c1 96 0b 00 04 01 01 74 01 7a 00", 1, 0, "01 80 bc c1 96 0b 01"},
	{"8.8 right origin", "02 01 ac 02 00 44 01 00 01 79 01 01 00 04 01 01 74 01 78 00", 2, 0,
	 "02 ac 02 01 01 01"},
	{"8.9 gc", "01 02 08 00 01 01 01 61 01 00 02 01 08 01 00 03", 2, 1, "01 08 03"},
	{"8.9 gc false", "01 03 01 00 04 01 01 74 01 61 84 01 00 01 62 84 01 01 01 63 01 01 01 01 01", 3, 1,
	 "01 01 03"},
	{"8.9 ds only", "00 01 02 02 01 01 03 02", 0, 2, "00"},
	{"8.10 utf16", "01 01 05 00 04 01 01 74 05 61 f0 9f 98 80 00", 1, 0, "01 05 03"},
	{"8.10 split", "01 01 05 02 84 05 01 03 ef bf bd 00", 1, 0, "00"},
	{"8.11 ua", "01 01 07 00 04 01 01 74 02 61 62 00", 1, 0, "01 07 02"},
	{"8.11 ub", "01 01 07 02 84 07 01 01 63 00", 1, 0, "00"},
	{"8.11 uc", "01 01 07 03 84 07 02 01 64 00", 1, 0, "00"},
	{"8.11 gap", "01 03 07 00 04 01 01 74 02 61 62 0a 01 84 07 02 01 64 00", 3, 0, "01 07 02"},
	{"8.11 abcd 3", "01 03 07 00 04 01 01 74 02 61 62 84 07 01 01 63 84 07 02 01 64 00", 3, 0, "01 07 04"},
	{"8.11 abcd", "01 01 07 00 04 01 01 74 04 61 62 63 64 00", 1, 0, "01 07 04"},
	{"8.11 overlap", "01 02 07 00 04 01 01 74 02 61 62 84 07 01 02 63 64 00", 2, 0, "01 07 04"},
	{"8.11 cross", "01 01 0b 00 84 0a 00 01 79 00", 1, 0, "01 0b 01"},
	{"8.11 gc1", "01 01 08 00 00 01 00", 1, 0, "01 08 01"},
	{"8.11 gc2", "01 01 08 01 00 01 00", 1, 0, "00"},
	{"8.11 gc merged", "01 01 08 00 00 02 00", 1, 0, "01 08 02"},
	{"8.12 concurrent", "02 01 02 00 04 01 01 74 01 42 01 01 00 04 01 01 74 01 41 00", 2, 0,
	 "02 02 01 01 01"},
	/* extra shapes: every content ref and type ref */
	{"json content", "01 01 01 00 02 01 01 61 02 03 5b 31 5d 09 75 6e 64 65 66 69 6e 65 64 00", 1, 0,
	 "01 01 02"},
	{"type refs",
	 "01 07 06 00 07 01 01 61 00 07 01 01 62 01 07 01 01 63 02 07 01 01 64 03 01 70"
	 "07 01 01 65 04 07 01 01 66 05 01 68 07 01 01 67 06 00",
	 7, 0, "01 06 07"},
	{"deleted content", "01 01 06 00 01 01 01 61 05 00", 1, 0, "01 06 05"},
	/* Yjs counts a leading Skip at clock 0 before noticing it is a Skip */
	{"skip first", "01 02 06 00 0a 02 04 01 01 61 01 78 00", 2, 0, "01 06 02"},
	{"ds zero ranges", "00 02 05 00 04 01 00 00", 0, 1, "00"},
	{"empty section", "01 00 05 00 00", 0, 0, "00"},
	{"empty string", "01 01 05 00 04 01 01 74 00 00", 1, 0, "00"},
};

#define NVEC (sizeof(vectors) / sizeof(vectors[0]))

static uint8_t *hexv(const char *hex, size_t *n) { return t_hex(hex, n); }

static void test_vectors(void)
{
	for (size_t i = 0; i < NVEC; i++) {
		const vec *v = &vectors[i];
		t_current = v->name;
		size_t n, s = 99, r = 99;
		uint8_t *u = hexv(v->hex, &n);
		int rc = qc_update_validate(u, n);
		if (rc)
			fprintf(stderr, "vector %s: %s\n", v->name, qc_strerror(rc));
		CHECK_EQ_INT(rc, QC_OK);
		CHECK_EQ_INT(qc_update_counts(u, n, &s, &r), QC_OK);
		CHECK_EQ_INT(s, v->structs);
		CHECK_EQ_INT(r, v->ranges);
		{ /* its deletions alone: no structs, the same ranges */
			uint8_t *dl = NULL;
			size_t dln = 0, ds_ = 99, dr_ = 99;
			CHECK_EQ_INT(qc_update_deletions(u, n, &dl, &dln), QC_OK);
			CHECK_EQ_INT(dl == NULL, v->ranges == 0);
			if (dl) {
				CHECK_EQ_INT(qc_update_counts(dl, dln, &ds_, &dr_), QC_OK);
				CHECK_EQ_INT(ds_, 0);
				CHECK_EQ_INT(dr_, v->ranges);
				free(dl);
			}
		}
		uint8_t *sv = NULL;
		size_t svn = 0;
		CHECK_EQ_INT(qc_update_state_vector(u, n, &sv, &svn), QC_OK);
		CHECK_HEX(sv, svn, v->sv);
		free(sv);

		/* merge of one update returns it unchanged */
		const uint8_t *ups[3] = {u, u, u};
		size_t lens[3] = {n, n, n};
		uint8_t *m = NULL;
		size_t mn = 0;
		CHECK_EQ_INT(qc_update_merge(ups, lens, 1, &m, &mn), QC_OK);
		CHECK(mn == n && memcmp(m, u, n) == 0);
		free(m);
		/* merging with itself gives a valid update, stable under re-merge */
		CHECK_EQ_INT(qc_update_merge(ups, lens, 2, &m, &mn), QC_OK);
		CHECK_EQ_INT(qc_update_validate(m, mn), QC_OK);
		uint8_t *m3 = NULL;
		size_t m3n = 0;
		CHECK_EQ_INT(qc_update_merge(ups, lens, 3, &m3, &m3n), QC_OK);
		CHECK(m3n == mn && memcmp(m3, m, mn) == 0);
		free(m3);
		const uint8_t *mm[2] = {m, u};
		size_t mml[2] = {mn, n};
		CHECK_EQ_INT(qc_update_merge(mm, mml, 2, &m3, &m3n), QC_OK);
		CHECK(m3n == mn && memcmp(m3, m, mn) == 0);
		free(m3);
		free(m);

		/* diff against the empty state vector */
		uint8_t zero = 0;
		CHECK_EQ_INT(qc_update_diff(u, n, &zero, 1, &m, &mn), QC_OK);
		CHECK_EQ_INT(qc_update_validate(m, mn), QC_OK);
		free(m);

		/* every proper prefix is rejected by every entry point */
		for (size_t k = 0; k < n; k++) {
			CHECK(qc_update_validate(u, k) < 0);
			CHECK(qc_update_counts(u, k, &s, &r) < 0);
			uint8_t *dl = (uint8_t *)1;
			size_t dln;
			CHECK(qc_update_deletions(u, k, &dl, &dln) < 0 && dl == NULL);
			CHECK(qc_update_state_vector(u, k, &sv, &svn) < 0);
			CHECK(qc_update_diff(u, k, &zero, 1, &m, &mn) < 0);
			size_t l2[2] = {k, n};
			CHECK(qc_update_merge(ups, l2, 2, &m, &mn) < 0);
			CHECK(qc_update_is_empty(u, k) < 0);
		}
		/* and a trailing byte too */
		uint8_t *longer = malloc(n + 1);
		memcpy(longer, u, n);
		longer[n] = 0;
		CHECK_EQ_INT(qc_update_validate(longer, n + 1), QC_ERR_TRAILING);
		free(longer);
		free(u);
	}
}

static void check_merge(const char *const *hexes, size_t count, const char *want)
{
	uint8_t *bufs[8];
	const uint8_t *ups[8];
	size_t lens[8];
	for (size_t i = 0; i < count; i++) {
		bufs[i] = hexv(hexes[i], &lens[i]);
		ups[i] = bufs[i];
	}
	uint8_t *out = NULL;
	size_t n = 0;
	CHECK_EQ_INT(qc_update_merge(ups, lens, count, &out, &n), QC_OK);
	CHECK_HEX(out, n, want);
	CHECK_EQ_INT(qc_update_validate(out, n), QC_OK);
	free(out);
	for (size_t i = 0; i < count; i++)
		free(bufs[i]);
}

#define MERGE(want, ...)                                                                     \
	do {                                                                                 \
		const char *const hx_[] = {__VA_ARGS__};                                     \
		check_merge(hx_, sizeof(hx_) / sizeof(hx_[0]), want);                        \
	} while (0)

static const char U_ABC[] = "01 01 01 00 04 01 01 74 03 61 62 63 00";
static const char U_DELB[] = "00 01 01 01 01 01";
static const char UA[] = "01 01 07 00 04 01 01 74 02 61 62 00";
static const char UB[] = "01 01 07 02 84 07 01 01 63 00";
static const char UC[] = "01 01 07 03 84 07 02 01 64 00";
static const char ABCD[] = "01 01 07 00 04 01 01 74 04 61 62 63 64 00";
static const char GAP[] = "01 03 07 00 04 01 01 74 02 61 62 0a 01 84 07 02 01 64 00";
static const char ABCD3[] = "01 03 07 00 04 01 01 74 02 61 62 84 07 01 01 63 84 07 02 01 64 00";

static void test_merge(void)
{
	t_current = NULL;
	/* 8.4 */
	MERGE("01 01 01 00 04 01 01 74 03 61 62 63 01 01 01 01 01", U_ABC, U_DELB);
	MERGE("01 01 01 00 04 01 01 74 03 61 62 63 01 01 01 01 01", U_DELB, U_ABC);
	/* 8.11 */
	MERGE(GAP, UA, UC);
	MERGE(GAP, UC, UA);
	MERGE(ABCD3, GAP, UB);
	MERGE(ABCD3, UB, GAP);
	MERGE(ABCD3, UA, UB, UC);
	MERGE(ABCD3, UC, UB, UA);
	MERGE("01 02 07 00 04 01 01 74 02 61 62 84 07 01 02 63 64 00", UA, ABCD);
	MERGE(ABCD, ABCD, UA);
	MERGE("01 01 08 00 00 02 00", "01 01 08 00 00 01 00", "01 01 08 01 00 01 00");
	MERGE("01 01 08 00 00 02 00", "01 01 08 01 00 01 00", "01 01 08 00 00 01 00");
	/* 8.12 */
	MERGE("02 01 02 00 04 01 01 74 01 42 01 01 00 04 01 01 74 01 41 00",
	      "01 01 01 00 04 01 01 74 01 41 00", "01 01 02 00 04 01 01 74 01 42 00");
	MERGE("02 01 02 00 04 01 01 74 01 42 01 01 00 04 01 01 74 01 41 00",
	      "01 01 02 00 04 01 01 74 01 42 00", "01 01 01 00 04 01 01 74 01 41 00");
	/* empty inputs */
	MERGE("00 00", "00 00", "00 00");
	{
		uint8_t *out = NULL;
		size_t n = 0;
		CHECK_EQ_INT(qc_update_merge(NULL, NULL, 0, &out, &n), QC_OK);
		CHECK_HEX(out, n, "00 00");
		free(out);
	}
	/* delete sets: union, sorted, coalesced, clients descending */
	MERGE("00 03 09 01 03 02 05 01 00 05 03 01 01 04", "00 02 05 01 01 04 09 01 03 02",
	      "00 02 03 01 01 04 05 02 00 01 02 01");
	/* zero-length ranges stay unless coalesced */
	MERGE("00 01 05 02 00 00 07 01", "00 01 05 01 07 01", "00 01 05 01 00 00");
	/* overlapping GC is merged into one struct */
	MERGE("01 01 08 00 00 05 00", "01 01 08 00 00 03 00", "01 01 08 02 00 03 00");
	/* item sliced after a GC covering its start; a sliced item keeps BIT6
	 * (parentSub) with BIT8 and writes no key */
	MERGE("01 02 03 00 00 02 a8 03 01 02 7d 02 7d 03 00", "01 01 03 00 00 02 00",
	      "01 01 03 01 28 01 01 6d 01 6b 03 7d 01 7d 02 7d 03 00");
	/* note T: Item and GC at the same (client, clock); V8's sort puts the
	 * second input first for two inputs (checked against Yjs on Node) */
	MERGE("01 01 03 00 28 01 01 6d 01 6b 03 7d 01 7d 02 7d 03 00", "01 01 03 00 00 01 00",
	      "01 01 03 00 28 01 01 6d 01 6b 03 7d 01 7d 02 7d 03 00");
	MERGE("01 02 03 00 00 01 a8 03 00 02 7d 02 7d 03 00",
	      "01 01 03 00 28 01 01 6d 01 6b 03 7d 01 7d 02 7d 03 00", "01 01 03 00 00 01 00");
	/* slicing a string inside a surrogate pair */
	MERGE("01 02 05 00 04 01 01 74 02 61 62 84 05 01 05 ef bf bd 63 64 00",
	      "01 01 05 00 04 01 01 74 02 61 62 00",
	      "01 01 05 00 04 01 01 74 07 61 f0 9f 98 80 63 64 00");
	/* an input listing clients in ascending order (no Yjs writer does that):
	 * Yjs's own merge of it with itself emits each client twice, which Yjs
	 * would then mis-apply; we sort the input's sections and merge again.
	 * When Yjs's result is valid it is kept byte for byte. */
	MERGE("02 01 04 74 00 01 01 02 00 04 01 01 74 01 42 01 01 01 41 00",
	      "02 01 02 00 04 01 01 74 01 42 01 04 74 00 01 01 01 01 41 00",
	      "02 01 02 00 04 01 01 74 01 42 01 04 74 00 01 01 01 01 41 00");
	MERGE("02 01 02 00 04 01 01 74 01 42 01 04 74 00 01 01 01 01 41 00",
	      "02 01 02 00 04 01 01 74 01 42 01 04 74 00 01 01 01 01 41 00", "00 00");
	/* three clients, written in descending order */
	MERGE("03 01 09 00 04 01 01 74 01 78 01 07 00 04 01 01 74 02 61 62 01 05 05 00 01 00",
	      "01 01 07 00 04 01 01 74 02 61 62 00", "01 01 09 00 04 01 01 74 01 78 00",
	      "01 01 05 05 00 01 00");
}

static void check_diff(const char *u_hex, const char *sv_hex, const char *want)
{
	size_t n, svn, on;
	uint8_t *u = hexv(u_hex, &n), *sv = hexv(sv_hex, &svn), *out = NULL;
	CHECK_EQ_INT(qc_update_diff(u, n, sv, svn, &out, &on), QC_OK);
	CHECK_HEX(out, on, want);
	CHECK_EQ_INT(qc_update_validate(out, on), QC_OK);
	free(out);
	free(u);
	free(sv);
}

static void test_diff(void)
{
	const char *merged = "01 01 01 00 04 01 01 74 03 61 62 63 01 01 01 01 01";
	check_diff(merged, "01 01 02", "01 01 01 02 84 01 01 01 63 01 01 01 01 01");
	check_diff(merged, "00", merged);
	check_diff(merged, "01 01 03", "00 01 01 01 01 01");
	check_diff(merged, "01 01 09", "00 01 01 01 01 01");
	check_diff(merged, "01 02 05", merged);
	check_diff(ABCD, "01 07 01", "01 01 07 01 84 07 00 03 62 63 64 00");
	check_diff(ABCD, "01 07 03", "01 01 07 03 84 07 02 01 64 00");
	/* 8.10: splitting a surrogate pair */
	check_diff("01 01 05 00 04 01 01 74 05 61 f0 9f 98 80 00", "01 05 02",
		   "01 01 05 02 84 05 01 03 ef bf bd 00");
	check_diff("01 01 05 00 04 01 01 74 05 61 f0 9f 98 80 00", "01 05 01",
		   "01 01 05 01 84 05 00 04 f0 9f 98 80 00");
	/* a Skip is never written first, but kept inside */
	check_diff(GAP, "01 07 01", "01 03 07 01 84 07 00 01 62 0a 01 84 07 02 01 64 00");
	check_diff(GAP, "01 07 02", "01 01 07 03 84 07 02 01 64 00");
	check_diff(GAP, "01 07 03", "01 01 07 03 84 07 02 01 64 00");
	/* GC and Deleted shrink; Any drops elements */
	check_diff("01 01 08 00 00 05 00", "01 08 02", "01 01 08 02 00 03 00");
	check_diff("01 01 06 00 01 01 01 61 05 00", "01 06 03", "01 01 06 03 81 06 02 02 00");
	check_diff("01 01 0e 00 08 01 01 61 03 7d 01 77 03 74 77 6f 7e 00", "01 0e 01",
		   "01 01 0e 01 88 0e 00 02 77 03 74 77 6f 7e 00");
	check_diff("01 01 01 00 02 01 01 61 02 03 5b 31 5d 09 75 6e 64 65 66 69 6e 65 64 00", "01 01 01",
		   "01 01 01 01 82 01 00 01 09 75 6e 64 65 66 69 6e 65 64 00");
	/* sections in update order, known clients left out; sv duplicates: last wins */
	check_diff("02 01 ac 02 00 44 01 00 01 79 01 01 00 04 01 01 74 01 78 00", "02 01 01 ac 02 00",
		   "01 01 ac 02 00 44 01 00 01 79 00");
	check_diff("02 01 ac 02 00 44 01 00 01 79 01 01 00 04 01 01 74 01 78 00", "02 ac 02 01 ac 02 00",
		   "02 01 ac 02 00 44 01 00 01 79 01 01 00 04 01 01 74 01 78 00");
	/* the delete set is passed whole: clients descending, ranges as read */
	check_diff("00 02 01 02 05 01 01 01 09 01 03 01", "01 01 09", "00 02 09 01 03 01 01 02 05 01 01 01");

	/* bad state vectors */
	size_t n, on;
	uint8_t *u = hexv(merged, &n), *out;
	uint8_t badsv1[] = {0x01, 0x01};
	uint8_t badsv2[] = {0x01, 0x01, 0x02, 0x00};
	uint8_t badsv3[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 0x01};
	CHECK_EQ_INT(qc_update_diff(u, n, badsv1, 2, &out, &on), QC_ERR_TRUNCATED);
	CHECK_EQ_INT(qc_update_diff(u, n, badsv2, 4, &out, &on), QC_ERR_TRAILING);
	CHECK_EQ_INT(qc_update_diff(u, n, badsv3, 6, &out, &on), QC_ERR_TRUNCATED);
	CHECK(qc_update_diff(u, n, NULL, 0, &out, &on) < 0);
	free(u);
}

static void test_sv(void)
{
	size_t n;
	uint8_t *b = hexv("03 01 05 ac 02 01 01 07", &n);
	qc_sv sv;
	CHECK_EQ_INT(qc_sv_decode(b, n, &sv), QC_OK);
	CHECK_EQ_INT(sv.n, 2);
	CHECK(sv.entries[0].client == 300 && sv.entries[0].clock == 1);
	CHECK(sv.entries[1].client == 1 && sv.entries[1].clock == 7);
	CHECK(qc_sv_get(&sv, 1) == 7);
	CHECK(qc_sv_get(&sv, 300) == 1);
	CHECK(qc_sv_get(&sv, 2) == 0);
	uint8_t *enc = NULL;
	size_t en = 0;
	CHECK_EQ_INT(qc_sv_encode(&sv, &enc, &en), QC_OK);
	CHECK_HEX(enc, en, "02 ac 02 01 01 07");
	free(enc);
	qc_sv_free(&sv);
	for (size_t k = 0; k < n; k++) {
		CHECK(qc_sv_decode(b, k, &sv) < 0);
		CHECK(sv.entries == NULL && sv.n == 0);
	}
	free(b);

	qc_sv empty = {NULL, 0};
	CHECK_EQ_INT(qc_sv_encode(&empty, &enc, &en), QC_OK);
	CHECK_HEX(enc, en, "00");
	free(enc);
	uint8_t zero = 0;
	CHECK_EQ_INT(qc_sv_decode(&zero, 1, &sv), QC_OK);
	CHECK_EQ_INT(sv.n, 0);
	CHECK(qc_sv_get(&sv, 5) == 0);
	qc_sv_free(&sv);
	/* absurd count fails before allocating */
	uint8_t huge[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01, 0x01};
	CHECK_EQ_INT(qc_sv_decode(huge, sizeof(huge), &sv), QC_ERR_TRUNCATED);
	uint8_t trail[] = {0x00, 0x00};
	CHECK_EQ_INT(qc_sv_decode(trail, 2, &sv), QC_ERR_TRAILING);
	CHECK(qc_sv_decode(NULL, 0, &sv) < 0);
}

static int validate_hex(const char *hex)
{
	size_t n;
	uint8_t *u = hexv(hex, &n);
	int rc = qc_update_validate(u, n);
	free(u);
	return rc;
}

/* Any value nested depth deep (arrays) inside a Map entry. */
static int nested_any(int depth)
{
	qc_enc e;
	qc_enc_init(&e);
	static const uint8_t head[] = {0x01, 0x01, 0x01, 0x00, 0x28, 0x01, 0x01, 0x6d, 0x01, 0x6b, 0x01};
	qc_write_bytes(&e, head, sizeof(head));
	for (int i = 0; i < depth; i++) {
		qc_write_u8(&e, 0x75);
		qc_write_u8(&e, 0x01);
	}
	qc_write_u8(&e, 0x7e);
	qc_write_u8(&e, 0x00);
	int rc = qc_update_validate(e.data, e.len);
	qc_enc_free(&e);
	return rc;
}

static void test_malformed(void)
{
	/* oversized varints in every position */
	CHECK_EQ_INT(validate_hex("80 80 80 80 80 80 80 80 01 00"), QC_ERR_VARINT);
	CHECK_EQ_INT(validate_hex("01 01 80 80 80 80 80 80 80 20 00 04 01 01 74 01 7a 00"), QC_ERR_VARINT);
	CHECK_EQ_INT(validate_hex("00 01 ff ff ff ff ff ff ff ff 01 00"), QC_ERR_VARINT);
	/* clock + len beyond 2^53-1 */
	CHECK_EQ_INT(validate_hex("01 01 01 ff ff ff ff ff ff ff 0f 00 01 00"), QC_ERR_LIMIT);
	CHECK_EQ_INT(validate_hex("01 01 01 ff ff ff ff ff ff ff 0f 00 00 00"), QC_OK);
	CHECK_EQ_INT(validate_hex("01 02 01 fe ff ff ff ff ff ff 0f 00 01 00 01 00"), QC_ERR_LIMIT);
	CHECK_EQ_INT(validate_hex("00 01 01 01 ff ff ff ff ff ff ff 0f 01"), QC_ERR_LIMIT);
	/* lengths past the end */
	CHECK_EQ_INT(validate_hex("01 01 01 00 04 01 01 74 09 61 62 63 00"), QC_ERR_TRUNCATED);
	CHECK_EQ_INT(validate_hex("01 01 01 00 04 01 05 74 03 61 62 63 00"), QC_ERR_TRUNCATED);
	CHECK_EQ_INT(validate_hex("01 01 01 00 03 01 01 74 ff ff 03 00"), QC_ERR_TRUNCATED);
	/* absurd counts with few bytes left fail fast */
	CHECK_EQ_INT(validate_hex("ff ff ff ff ff ff ff 0f 00 01 00"), QC_ERR_TRUNCATED);
	CHECK_EQ_INT(validate_hex("01 80 94 eb dc 03 01 00 00 01"), QC_ERR_TRUNCATED);
	CHECK_EQ_INT(validate_hex("01 01 01 00 08 01 01 61 ff ff ff ff ff ff ff 0f 7e 00"), QC_ERR_TRUNCATED);
	CHECK_EQ_INT(validate_hex("01 01 01 00 02 01 01 61 ff ff ff ff 0f 01 31 00"), QC_ERR_TRUNCATED);
	CHECK_EQ_INT(validate_hex("01 01 01 00 08 01 01 61 01 75 ff ff ff ff 0f 7e 00"), QC_ERR_TRUNCATED);
	CHECK_EQ_INT(validate_hex("01 01 01 00 08 01 01 61 01 76 ff ff ff 7f 01 61 7e 00"), QC_ERR_TRUNCATED);
	CHECK_EQ_INT(validate_hex("00 ff ff ff ff 0f 01 01 00 01"), QC_ERR_TRUNCATED);
	CHECK_EQ_INT(validate_hex("00 01 01 ff ff ff ff 0f 00 01"), QC_ERR_TRUNCATED);
	/* invalid UTF-8: content, root name, parentSub, Any string, Any key, Type name, guid */
	CHECK_EQ_INT(validate_hex("01 01 01 00 04 01 01 74 02 c0 80 00"), QC_ERR_UTF8);
	CHECK_EQ_INT(validate_hex("01 01 01 00 04 01 01 ff 01 61 00"), QC_ERR_UTF8);
	CHECK_EQ_INT(validate_hex("01 01 01 00 28 01 01 6d 03 ed a0 80 01 7e 00"), QC_ERR_UTF8);
	CHECK_EQ_INT(validate_hex("01 01 01 00 08 01 01 61 01 77 01 80 00"), QC_ERR_UTF8);
	CHECK_EQ_INT(validate_hex("01 01 01 00 08 01 01 61 01 76 01 01 fe 7e 00"), QC_ERR_UTF8);
	CHECK_EQ_INT(validate_hex("01 01 01 00 07 01 01 61 03 02 f4 90 00"), QC_ERR_UTF8);
	CHECK_EQ_INT(validate_hex("01 01 01 00 09 01 01 6d 01 c2 76 00 00"), QC_ERR_UTF8);
	CHECK_EQ_INT(validate_hex("01 01 01 00 06 01 01 74 01 ff 04 74 72 75 65 00"), QC_ERR_UTF8);
	/* bad info refs 11-31, flag bits on GC/Skip */
	for (int ref = 11; ref < 32; ref++) {
		char hex[64];
		snprintf(hex, sizeof(hex), "01 01 01 00 %02x 01 01 74 01 61 00", ref);
		CHECK_EQ_INT(validate_hex(hex), QC_ERR_INVALID);
		snprintf(hex, sizeof(hex), "01 01 01 00 %02x 01 00 00 01 61 00", ref | 0x80);
		CHECK_EQ_INT(validate_hex(hex), QC_ERR_INVALID);
	}
	CHECK_EQ_INT(validate_hex("01 01 01 00 80 01 00"), QC_ERR_INVALID);
	CHECK_EQ_INT(validate_hex("01 01 01 00 20 01 00"), QC_ERR_INVALID);
	CHECK_EQ_INT(validate_hex("01 01 01 00 4a 01 00"), QC_ERR_INVALID);
	/* bad Any tags */
	CHECK_EQ_INT(validate_hex("01 01 01 00 08 01 01 61 01 73 00"), QC_ERR_INVALID);
	CHECK_EQ_INT(validate_hex("01 01 01 00 08 01 01 61 01 00 00"), QC_ERR_INVALID);
	CHECK_EQ_INT(validate_hex("01 01 01 00 08 01 01 61 01 80 00"), QC_ERR_INVALID);
	CHECK_EQ_INT(validate_hex("01 01 01 00 08 01 01 61 01 ff 00"), QC_ERR_INVALID);
	CHECK_EQ_INT(validate_hex("01 01 01 00 08 01 01 61 02 7e 70 00"), QC_ERR_INVALID);
	/* every valid Any tag */
	CHECK_EQ_INT(validate_hex("01 01 01 00 08 01 01 61 0c 7f 7e 7d 41 7c 3f 80 00 00"
				  "7b 3f f0 00 00 00 00 00 00 7a ff ff ff ff ff ff ff ff 79 78"
				  "77 01 78 76 01 01 6b 7e 75 01 7e 74 01 ff 00"),
		     QC_OK);
	/* Any nesting: 64 is fine, 65 is too deep */
	CHECK_EQ_INT(nested_any(64), QC_OK);
	CHECK_EQ_INT(nested_any(65), QC_ERR_LIMIT);
	CHECK_EQ_INT(nested_any(100000), QC_ERR_LIMIT);
	/* duplicate client sections */
	CHECK_EQ_INT(validate_hex("02 01 07 00 04 01 01 74 02 61 62 01 07 02 84 07 01 01 63 00"), QC_ERR_INVALID);
	CHECK_EQ_INT(validate_hex("02 00 07 00 01 07 00 04 01 01 74 02 61 62 00"), QC_ERR_INVALID);
	/* ... but a client twice in the delete set is fine (Yjs joins them) */
	CHECK_EQ_INT(validate_hex("00 02 07 01 00 01 07 01 03 01"), QC_OK);
	/* trailing bytes */
	CHECK_EQ_INT(validate_hex("00 00 00"), QC_ERR_TRAILING);
	CHECK_EQ_INT(validate_hex("01 01 01 00 04 01 01 74 03 61 62 63 00 ff"), QC_ERR_TRAILING);
	/* missing delete set */
	CHECK_EQ_INT(validate_hex("01 01 01 00 04 01 01 74 03 61 62 63"), QC_ERR_TRUNCATED);
	CHECK_EQ_INT(validate_hex(""), QC_ERR_TRUNCATED);
	CHECK(qc_update_validate(NULL, 0) < 0);
	/* type refs above 6 */
	CHECK_EQ_INT(validate_hex("01 01 01 00 07 01 01 61 07 00"), QC_ERR_INVALID);
	CHECK_EQ_INT(validate_hex("01 01 01 00 07 01 01 61 80 01 00"), QC_ERR_INVALID);
	/* Doc opts must be an object */
	CHECK_EQ_INT(validate_hex("01 01 01 00 09 01 01 6d 01 67 7e 00"), QC_ERR_INVALID);
	CHECK_EQ_INT(validate_hex("01 01 01 00 09 01 01 6d 01 67 76 01 08 61 75 74 6f 4c 6f 61 64 78 00"),
		     QC_OK);
	/* JSON texts in Embed, Format and JSON content must parse */
	CHECK_EQ_INT(validate_hex("01 01 01 00 05 01 01 74 02 7b 7d 00"), QC_OK);
	CHECK_EQ_INT(validate_hex("01 01 01 00 05 01 01 74 01 7b 00"), QC_ERR_INVALID);
	CHECK_EQ_INT(validate_hex("01 01 01 00 05 01 01 74 09 75 6e 64 65 66 69 6e 65 64 00"), QC_ERR_INVALID);
	CHECK_EQ_INT(validate_hex("01 01 01 00 06 01 01 74 01 62 03 74 72 75 00"), QC_ERR_INVALID);
	CHECK_EQ_INT(validate_hex("01 01 01 00 02 01 01 61 01 02 30 31 00"), QC_ERR_INVALID);
	CHECK_EQ_INT(validate_hex("01 01 01 00 02 01 01 61 01 0a 20 5b 31 2c 22 5c 75 30 30 5d 00"), QC_ERR_INVALID);
	CHECK_EQ_INT(validate_hex("01 01 01 00 02 01 01 61 01 0b 20 5b 2d 31 2e 35 65 2b 33 5d 20 00"), QC_OK);
	/* ranges past 2^53-1 in a section header clock */
	CHECK_EQ_INT(validate_hex("01 01 01 80 80 80 80 80 80 80 10 00 01 00"), QC_ERR_VARINT);
}

static void test_is_empty(void)
{
	size_t n;
	uint8_t *u;
	u = hexv("00 00", &n);
	CHECK_EQ_INT(qc_update_is_empty(u, n), 1);
	free(u);
	u = hexv("01 00 05 00 00", &n);
	CHECK_EQ_INT(qc_update_is_empty(u, n), 1);
	free(u);
	u = hexv("00 01 05 00", &n);
	CHECK_EQ_INT(qc_update_is_empty(u, n), 1);
	free(u);
	u = hexv("00 01 01 01 01 01", &n);
	CHECK_EQ_INT(qc_update_is_empty(u, n), 0);
	free(u);
	u = hexv(U_ABC, &n);
	CHECK_EQ_INT(qc_update_is_empty(u, n), 0);
	free(u);
	u = hexv("00 00 00", &n);
	CHECK_EQ_INT(qc_update_is_empty(u, n), QC_ERR_TRAILING);
	free(u);
}

/* 8.13: awareness and framed protocol messages, decoded with lib0 readers. */
static void test_messages(void)
{
	size_t n;
	uint8_t *b = hexv("01 01 01 15 7b 22 75 73 65 72 22 3a 7b 22 6e 61 6d 65 22 3a 22 61 22 7d 7d", &n);
	qc_dec d;
	uint64_t count, client, clock;
	const char *s;
	size_t sn;
	qc_dec_init(&d, b, n);
	CHECK_EQ_INT(qc_read_varuint(&d, &count), QC_OK);
	CHECK_EQ_INT(qc_read_varuint(&d, &client), QC_OK);
	CHECK_EQ_INT(qc_read_varuint(&d, &clock), QC_OK);
	CHECK_EQ_INT(qc_read_varstring(&d, &s, &sn), QC_OK);
	CHECK(count == 1 && client == 1 && clock == 1);
	CHECK(sn == 21 && memcmp(s, "{\"user\":{\"name\":\"a\"}}", 21) == 0);
	CHECK_EQ_INT(qc_dec_left(&d), 0);
	free(b);

	/* y-websocket sync step 2 carrying the 24-byte update of 8.4 */
	b = hexv("00 01 18 01 03 01 00 04 01 01 74 01 61 81 01 00 01 84 01 01 01 63 01 01 01 01 01", &n);
	uint64_t outer, inner;
	const uint8_t *u;
	size_t un;
	qc_dec_init(&d, b, n);
	CHECK_EQ_INT(qc_read_varuint(&d, &outer), QC_OK);
	CHECK_EQ_INT(qc_read_varuint(&d, &inner), QC_OK);
	CHECK_EQ_INT(qc_read_varbytes(&d, &u, &un), QC_OK);
	CHECK(outer == 0 && inner == 1 && un == 24);
	CHECK_EQ_INT(qc_update_validate(u, un), QC_OK);
	free(b);

	/* sync step 1 of the 8.2 doc: its state vector */
	b = hexv("00 00 03 01 01 03", &n);
	qc_dec_init(&d, b, n);
	CHECK_EQ_INT(qc_read_varuint(&d, &outer), QC_OK);
	CHECK_EQ_INT(qc_read_varuint(&d, &inner), QC_OK);
	CHECK_EQ_INT(qc_read_varbytes(&d, &u, &un), QC_OK);
	qc_sv sv;
	CHECK_EQ_INT(qc_sv_decode(u, un, &sv), QC_OK);
	CHECK(sv.n == 1 && qc_sv_get(&sv, 1) == 3);
	qc_sv_free(&sv);
	free(b);

	/* update message wrapping 8.3; awareness null state; auth denied */
	b = hexv("00 02 06 00 01 01 01 01 01", &n);
	qc_dec_init(&d, b, n);
	CHECK_EQ_INT(qc_read_varuint(&d, &outer), QC_OK);
	CHECK_EQ_INT(qc_read_varuint(&d, &inner), QC_OK);
	CHECK_EQ_INT(qc_read_varbytes(&d, &u, &un), QC_OK);
	CHECK(inner == 2 && qc_update_validate(u, un) == QC_OK && qc_update_is_empty(u, un) == 0);
	free(b);
	b = hexv("02 00 06 64 65 6e 69 65 64", &n);
	qc_dec_init(&d, b, n);
	CHECK_EQ_INT(qc_read_varuint(&d, &outer), QC_OK);
	CHECK_EQ_INT(qc_read_varuint(&d, &inner), QC_OK);
	CHECK_EQ_INT(qc_read_varstring(&d, &s, &sn), QC_OK);
	CHECK(outer == 2 && inner == 0 && sn == 6 && memcmp(s, "denied", 6) == 0);
	free(b);
}

int main(void)
{
	test_vectors();
	test_merge();
	test_diff();
	test_sv();
	test_malformed();
	test_is_empty();
	test_messages();
	t_current = NULL;
	return t_report("test_update");
}
