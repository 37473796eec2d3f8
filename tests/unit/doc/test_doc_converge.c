/* Random multi-replica convergence: several docs make random text, format,
 * embed, array and map edits; their updates are delivered to random peers
 * in random order, with gaps (pending) and duplicates. After a final
 * all-to-all delivery every replica must have the same text, JSON, state
 * vector and encoded state, and a fresh doc loaded from any encoded state
 * must encode to the same bytes. Also: merged updates, and gc on/off. */
#include "../t.h"
#include "quire/doc.h"
#include "quire/update.h"

#define NDOCS 4

static uint64_t rs;
static uint64_t rnd(void)
{
	rs ^= rs << 13;
	rs ^= rs >> 7;
	rs ^= rs << 17;
	return rs;
}
static uint64_t ri(uint64_t n) { return n ? rnd() % n : 0; }

typedef struct msg {
	uint8_t *p;
	size_t n;
} msg;

static msg *msgs;
static size_t nmsgs, capmsgs;

static void record(qc_doc *d)
{
	size_t n;
	const uint8_t *u = qc_doc_last_update(d, &n);
	if (!u)
		return;
	if (nmsgs == capmsgs) {
		capmsgs = capmsgs ? capmsgs * 2 : 256;
		msgs = realloc(msgs, capmsgs * sizeof(msg));
	}
	msgs[nmsgs].p = malloc(n);
	memcpy(msgs[nmsgs].p, u, n);
	msgs[nmsgs].n = n;
	nmsgs++;
}

static const char *snippets[] = {"a", "bc", "\xf0\x9f\x98\x80", "\xc3\xa9", "xyz", "\n", "Q"};

static void random_op(qc_doc *d)
{
	int k = (int)ri(14);
	uint64_t tl = qc_doc_length(d, "t"), al = qc_doc_length(d, "a");
	int rc = 0;
	char buf[64];
	if (k < 5) {
		const char *s = snippets[ri(7)];
		rc = qc_text_insert(d, "t", ri(tl + 1), s, strlen(s), ri(5) == 0 ? "{\"bold\":true}" : NULL);
	} else if (k < 7) {
		if (tl) {
			uint64_t i = ri(tl);
			rc = qc_text_delete(d, "t", i, 1 + ri(tl - i < 3 ? tl - i : 3));
		}
	} else if (k == 7) {
		if (tl) {
			uint64_t i = ri(tl);
			rc = qc_text_format(d, "t", i, 1 + ri(tl - i), ri(2) ? "{\"italic\":true}" : "{\"italic\":null}");
		}
	} else if (k == 8) {
		rc = qc_text_insert_embed(d, "t", ri(tl + 1), "{\"img\":1}");
	} else if (k == 9) {
		snprintf(buf, sizeof buf, "[%u,\"s%u\",{\"n\":%u}]", (unsigned)ri(100), (unsigned)ri(9), (unsigned)ri(9));
		rc = qc_array_insert(d, "a", ri(al + 1), buf);
	} else if (k == 10) {
		if (al) {
			uint64_t i = ri(al);
			rc = qc_array_delete(d, "a", i, 1 + ri(al - i < 2 ? al - i : 2));
		}
	} else if (k < 13) {
		char key[8];
		snprintf(key, sizeof key, "k%u", (unsigned)ri(5));
		snprintf(buf, sizeof buf, "%u", (unsigned)ri(1000));
		rc = qc_map_set(d, "m", key, buf);
	} else {
		char key[8];
		snprintf(key, sizeof key, "k%u", (unsigned)ri(5));
		rc = qc_map_delete(d, "m", key);
	}
	CHECK_EQ_INT(rc, 0);
	record(d);
}

static void deliver(qc_doc *d, size_t i)
{
	int rc = qc_doc_apply_update(d, msgs[i].p, msgs[i].n);
	CHECK_EQ_INT(rc, 0);
	record(d); /* a formatting cleanup may produce deletions to share */
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* JSON of t and a, then the entries of m sorted: map key order follows
 * first integration, which differs between replicas (as in Yjs) */
static void canon_json(qc_doc *d, char **out, size_t *n)
{
	char *t, *a, *m;
	size_t tn, an, mn;
	qc_doc_root_json(d, "t", &t, &tn);
	qc_doc_root_json(d, "a", &a, &an);
	qc_doc_root_json(d, "m", &m, &mn);
	char *ents[64];
	int ne = 0;
	if (mn > 2) {
		m[mn - 1] = 0;
		for (char *tok = strtok(m + 1, ","); tok && ne < 64; tok = strtok(NULL, ","))
			ents[ne++] = tok;
		qsort(ents, (size_t)ne, sizeof(char *), cmp_str);
	}
	char *r = malloc(tn + an + mn + 16);
	size_t k = (size_t)sprintf(r, "%s|%s|", t, a);
	for (int i = 0; i < ne; i++)
		k += (size_t)sprintf(r + k, "%s;", ents[i]);
	*out = r;
	*n = k;
	qc_free(d, t);
	qc_free(d, a);
	qc_free(d, m);
}

static char *enc(qc_doc *d, size_t *n)
{
	uint8_t *p;
	CHECK_EQ_INT(qc_doc_encode_state(d, NULL, 0, &p, n), 0);
	return (char *)p;
}

static void check_same(qc_doc **docs, int seed, int gc)
{
	char ctx[64];
	snprintf(ctx, sizeof ctx, "seed %d", seed);
	t_current = ctx;
	size_t n0, m0, v0;
	char *s0 = enc(docs[0], &n0), *j0, *sv0;
	canon_json(docs[0], &j0, &m0);
	qc_doc_state_vector(docs[0], (uint8_t **)&sv0, &v0);
	for (int i = 1; i < NDOCS; i++) {
		size_t n, m, v;
		char *s = enc(docs[i], &n), *j, *sv;
		canon_json(docs[i], &j, &m);
		qc_doc_state_vector(docs[i], (uint8_t **)&sv, &v);
		CHECK(n == n0 && memcmp(s, s0, n) == 0);
		CHECK(m == m0 && memcmp(j, j0, m) == 0);
		CHECK(v == v0 && memcmp(sv, sv0, v) == 0);
		CHECK_EQ_INT(qc_doc_pending_bytes(docs[i]), 0);
		qc_free(docs[i], s);
		free(j);
		qc_free(docs[i], sv);
	}
	/* reload */
	qc_doc_opts o;
	qc_doc_opts_default(&o);
	o.client_id = 77;
	o.gc = gc;
	qc_doc *f = qc_doc_new(&o);
	CHECK_EQ_INT(qc_doc_apply_update(f, (uint8_t *)s0, n0), 0);
	size_t n;
	char *s = enc(f, &n);
	CHECK(n == n0 && memcmp(s, s0, n) == 0);
	if (getenv("DUMP") && !(n == n0 && memcmp(s, s0, n) == 0)) {
		FILE *df = fopen("/tmp/conv_a.bin", "wb");
		fwrite(s0, 1, n0, df);
		fclose(df);
		df = fopen("/tmp/conv_b.bin", "wb");
		fwrite(s, 1, n, df);
		fclose(df);
		exit(3);
	}
	qc_free(f, s);
	qc_doc_free(f);
	/* one merged update of all messages gives the same state too */
	const uint8_t **ins = malloc(nmsgs * sizeof(*ins));
	size_t *lens = malloc(nmsgs * sizeof(*lens));
	for (size_t i = 0; i < nmsgs; i++) {
		ins[i] = msgs[i].p;
		lens[i] = msgs[i].n;
	}
	uint8_t *mu;
	size_t mn;
	if (nmsgs > 1 && qc_update_merge(ins, lens, nmsgs, &mu, &mn) == 0) {
		f = qc_doc_new(&o);
		CHECK_EQ_INT(qc_doc_apply_update(f, mu, mn), 0);
		char *j;
		size_t jm;
		canon_json(f, &j, &jm);
		CHECK(jm == m0 && memcmp(j, j0, jm) == 0);
		free(j);
		qc_doc_free(f);
		free(mu);
	}
	free(ins);
	free(lens);
	qc_free(docs[0], s0);
	free(j0);
	qc_free(docs[0], sv0);
}

static void run(int seed, int ops, int gc)
{
	rs = 0x9e3779b97f4a7c15ull * (uint64_t)(seed + 1);
	qc_doc *docs[NDOCS];
	size_t seen[NDOCS] = {0}; /* next message index each doc has been offered in order */
	for (int i = 0; i < NDOCS; i++) {
		qc_doc_opts o;
		qc_doc_opts_default(&o);
		o.client_id = i == 2 ? UINT64_C(3000000000) : (uint64_t)(10 + i * 7);
		o.gc = gc;
		o.max_pending_bytes = 16u << 20;
		docs[i] = qc_doc_new(&o);
		qc_doc_declare_root(docs[i], "t", QC_ROOT_TEXT);
	}
	for (int n = 0; n < ops; n++) {
		int i = (int)ri(NDOCS);
		random_op(docs[i]);
		if (ri(3) == 0 && nmsgs) {
			/* random delivery: arbitrary order, gaps, duplicates */
			int j = (int)ri(NDOCS);
			int cnt = (int)ri(4);
			for (int c = 0; c < cnt; c++)
				deliver(docs[j], ri(nmsgs));
		}
		if (ri(5) == 0) {
			int j = (int)ri(NDOCS);
			while (seen[j] < nmsgs)
				deliver(docs[j], seen[j]++);
		}
	}
	/* final: everything to everyone until quiet (cleanups may add messages) */
	for (int round = 0; round < 4; round++) {
		size_t total = nmsgs;
		for (int j = 0; j < NDOCS; j++) {
			for (size_t k = 0; k < total; k++)
				deliver(docs[j], ri(total)); /* random order + duplicates */
			for (size_t k = 0; k < total; k++)
				deliver(docs[j], k);
		}
		if (nmsgs == total)
			break;
	}
	check_same(docs, seed, gc);
	for (int i = 0; i < NDOCS; i++)
		qc_doc_free(docs[i]);
	for (size_t i = 0; i < nmsgs; i++)
		free(msgs[i].p);
	nmsgs = 0;
}

static void pending_limit(void)
{
	t_current = "pending limit";
	qc_doc_opts o;
	qc_doc_opts_default(&o);
	o.client_id = 1;
	o.max_pending_bytes = 64;
	qc_doc *d = qc_doc_new(&o);
	/* structs from clock 5 of client 7: all pending */
	qc_enc e;
	qc_enc_init(&e);
	qc_write_varuint(&e, 1);
	qc_write_varuint(&e, 1);
	qc_write_varuint(&e, 7);
	qc_write_varuint(&e, 5);
	qc_write_u8(&e, 0x84);
	qc_write_varuint(&e, 7);
	qc_write_varuint(&e, 4);
	char big[200];
	memset(big, 'x', sizeof big);
	qc_write_varstring(&e, big, sizeof big);
	qc_write_u8(&e, 0);
	CHECK_EQ_INT(qc_doc_apply_update(d, e.data, e.len), QC_ERR_PENDING);
	CHECK_EQ_INT(qc_doc_pending_bytes(d), 0);
	qc_enc_free(&e);
	qc_doc_free(d);
}

int main(int argc, char **argv)
{
	int seeds = argc > 1 ? atoi(argv[1]) : 40;
	for (int s = 0; s < seeds; s++)
		run(s, 150 + s * 5, s % 3 != 2);
	pending_limit();
	free(msgs);
	printf("test_doc_converge: %d seeds, %d checks, %d failures\n", seeds, t_checks, t_failures);
	return t_failures ? 1 : 0;
}
