/* qbench: the quire column of bench/run.sh. One trace per process; prints one
 * JSON object with the same fields as bench/peer.mjs (see there for the
 * rules), so run.mjs can put them side by side.
 *
 *   qbench <trace.json.gz> [--dump FILE]   (FILE: write the v1 snapshot)
 *
 * Differences from the JS peers, all on the API's side: the C API makes one
 * transaction per call, so a trace txn with k patches is k transactions
 * (k updates in the stream); most txns have one patch. Memory is exact: every
 * byte the documents allocate goes through a counting qc_alloc, so
 * "memAfterReplay"/"memAfterLoad" are the live bytes of the doc and
 * "peakBytes" the allocator's high-water mark during the replay;
 * "peakRssDelta" is the process's peak RSS growth over the loaded trace.
 */
#define _POSIX_C_SOURCE 200809L
#include "quire/counted.h"
#include "quire/doc.h"
#include "quire/update.h"
#include "trace.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static const char *const ROOT = "text";

/* --- counting allocator ------------------------------------------------------ */

static qc_counted mem;
static qc_alloc counting = {qc_counted_malloc, qc_counted_realloc, qc_counted_free, &mem};

static qc_doc *new_doc(uint64_t client, int gc)
{
	qc_doc_opts o;
	qc_doc_opts_default(&o);
	o.client_id = client;
	o.gc = gc;
	o.alloc = &counting;
	o.max_pending_bytes = (size_t)1 << 30;
	qc_doc *d = qc_doc_new(&o);
	if (!d) {
		fprintf(stderr, "qbench: qc_doc_new failed\n");
		exit(2);
	}
	return d;
}

/* --- helpers -------------------------------------------------------------------- */

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static size_t max_rss(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (size_t)ru.ru_maxrss * 1024;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *xs, int n)
{
	qsort(xs, (size_t)n, sizeof *xs, cmp_double);
	return xs[n / 2];
}

typedef struct ubuf {
	uint8_t **u;
	size_t *n;
	size_t len, cap, bytes;
} ubuf;

static void ubuf_push(ubuf *b, const uint8_t *u, size_t n)
{
	if (b->len == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 4096;
		b->u = realloc(b->u, b->cap * sizeof *b->u);
		b->n = realloc(b->n, b->cap * sizeof *b->n);
	}
	b->u[b->len] = malloc(n ? n : 1);
	if (!b->u || !b->n || !b->u[b->len]) {
		fprintf(stderr, "qbench: out of memory\n");
		exit(2);
	}
	memcpy(b->u[b->len], u, n);
	b->n[b->len++] = n;
	b->bytes += n;
}

static void ubuf_free(ubuf *b)
{
	for (size_t i = 0; i < b->len; i++)
		free(b->u[i]);
	free(b->u);
	free(b->n);
	memset(b, 0, sizeof *b);
}

static char errors[4096];
static void add_error(const char *msg)
{
	size_t l = strlen(errors);
	snprintf(errors + l, sizeof errors - l, "%s\"%s\"", l ? "," : "", msg);
}

static int text_ok(qc_doc *d, const trace *t, const char *what)
{
	char *s = NULL;
	size_t n = 0;
	int ok = qc_doc_text(d, ROOT, &s, &n) == QC_OK && n == t->end_len && memcmp(s, t->end, n) == 0;
	qc_free(d, s);
	if (!ok) {
		char m[160];
		snprintf(m, sizeof m, "%s: text differs (%zu vs %zu bytes)", what, n, t->end_len);
		add_error(m);
	}
	return ok;
}

static void patches(qc_doc *d, const trace *t, const tr_txn *x, ubuf *out)
{
	for (size_t k = 0; k < x->npatches; k++) {
		const tr_patch *p = &t->patches[x->first_patch + k];
		const uint8_t *u;
		size_t n;
		if (p->del) {
			uint64_t a = trace_u16_pos(d, ROOT, t, p->pos), b = trace_u16_pos(d, ROOT, t, p->pos + p->del);
			if (qc_text_delete(d, ROOT, a, b - a) != QC_OK) {
				add_error("qc_text_delete failed");
				return;
			}
			if (out && (u = qc_doc_last_update(d, &n)) != NULL)
				ubuf_push(out, u, n);
		}
		if (p->ins_len) {
			if (qc_text_insert(d, ROOT, trace_u16_pos(d, ROOT, t, p->pos), p->ins, p->ins_len, NULL) != QC_OK) {
				add_error("qc_text_insert failed");
				return;
			}
			if (out && (u = qc_doc_last_update(d, &n)) != NULL)
				ubuf_push(out, u, n);
		}
	}
}

static qc_doc *replay(const trace *t, int gc, ubuf *out)
{
	qc_doc *d = new_doc(1, gc);
	if (t->start_len)
		qc_text_insert(d, ROOT, 0, t->start, t->start_len, NULL);
	for (size_t i = 0; i < t->ntxns && !errors[0]; i++)
		patches(d, t, &t->txns[i], out);
	return d;
}

/* The load the peers time (peer.mjs): free the previous doc, decode the
 * snapshot into a fresh one (qc_doc_load, as the server opens a stored
 * document: no update event kept, as a peer without an update listener
 * keeps none), apply update upd if given (load+update), read the text.
 * *before: live bytes before the new doc. */
static qc_doc *load(qc_doc *prev, const uint8_t *snap, size_t n, const uint8_t *upd, size_t un, size_t *before)
{
	if (prev)
		qc_doc_free(prev);
	*before = mem.live;
	qc_doc *l = new_doc(0, 1);
	char *s = NULL;
	size_t sn = 0;
	if (qc_doc_load(l, snap, n) != QC_OK || (upd && qc_doc_apply_update(l, upd, un) != QC_OK) ||
	    qc_doc_text(l, ROOT, &s, &sn) != QC_OK)
		add_error(upd ? "load+update failed" : "load failed");
	qc_free(l, s);
	return l;
}

/* Runs up to max times (stops once budget ms are spent); median ms. */
#define TIMED(result, max, budget, setup, body, teardown)                   \
	do {                                                                \
		double xs_[64];                                             \
		int n_ = 0;                                                 \
		double spent_ = 0;                                          \
		while (n_ < (max) && n_ < 64) {                             \
			setup;                                              \
			double a_ = now_ms();                               \
			body;                                               \
			double d_ = now_ms() - a_;                          \
			teardown;                                           \
			xs_[n_++] = d_;                                     \
			spent_ += d_;                                       \
			if (spent_ > (budget))                              \
				break;                                      \
		}                                                           \
		(result) = median(xs_, n_);                                 \
	} while (0)

/* Load and then one remote update, as a server opens a stored document and
 * integrates the next edit: another peer (client 2) loads the same snapshot
 * and inserts one character in the middle of the text (UTF-16 index half
 * the length, as peer.mjs); the timed part is the load, the update's apply
 * and the text read. Prints loadUpdMs; the text must be endContent with the
 * character in. */
static void load_update(const trace *t, const uint8_t *snap, size_t n)
{
	uint64_t units = 0; /* endContent's length in UTF-16 units */
	for (size_t i = 0; i < t->end_len; i++) {
		uint8_t c = (uint8_t)t->end[i];
		units += (c & 0xc0) != 0x80;
		units += (c & 0xf8) == 0xf0; /* astral: two units */
	}
	uint64_t k = units / 2;
	size_t b = 0; /* byte offset of UTF-16 index k (no astral chars in the traces) */
	for (uint64_t u = 0; b < t->end_len; b++) {
		if (((uint8_t)t->end[b] & 0xc0) != 0x80 && u++ == k)
			break;
	}
	qc_doc *p = new_doc(2, 1);
	const uint8_t *u = NULL;
	size_t un = 0;
	if (qc_doc_load(p, snap, n) != QC_OK || qc_text_insert(p, ROOT, k, "x", 1, NULL) != QC_OK ||
	    !(u = qc_doc_last_update(p, &un))) {
		add_error("load+update: the remote edit failed");
		qc_doc_free(p);
		return;
	}
	qc_doc *l = NULL;
	size_t before;
	double ms;
	TIMED(ms, 21, 1000, , l = load(l, snap, n, u, un, &before), );
	printf(",\"loadUpdMs\":%.4f", ms);
	char *s = NULL;
	size_t sn = 0;
	if (qc_doc_text(l, ROOT, &s, &sn) != QC_OK || sn != t->end_len + 1 || memcmp(s, t->end, b) != 0 ||
	    s[b] != 'x' || memcmp(s + b + 1, t->end + b, t->end_len - b) != 0)
		add_error("load+update: text differs");
	qc_free(l, s);
	qc_doc_free(l);
	qc_doc_free(p);
}

static void hexstr(const uint8_t *p, size_t n, char *out, size_t cap)
{
	size_t i = 0;
	for (; i < n && 2 * i + 2 < cap; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
	out[2 * i] = 0;
}

/* --- sequential ------------------------------------------------------------------ */

static void bench_sequential(const trace *t, const char *name, const char *dump)
{
	size_t rss0 = max_rss();
	double ms;
	printf("{\"lib\":\"quire\",\"version\":\"crdt\",\"trace\":\"%s\",\"txns\":%zu,\"patches\":%zu", name, t->ntxns,
	       t->npatches);

	/* 1. memory: one replay, doc alive */
	mem.peak = mem.live = 0;
	double a = now_ms();
	qc_doc *d = replay(t, 1, NULL);
	double first = now_ms() - a;
	text_ok(d, t, "replay");
	printf(",\"memAfterReplay\":%zu,\"peakBytes\":%zu,\"peakRssDelta\":%zu", mem.live, mem.peak,
	       max_rss() > rss0 ? max_rss() - rss0 : 0);

	/* 2. replay timing */
	qc_doc *r = NULL;
	if (first > 4000) {
		ms = first;
	} else {
		TIMED(ms, 5, 1500, , r = replay(t, 1, NULL), qc_doc_free(r));
	}
	printf(",\"replayMs\":%.3f,\"opsPerSec\":%.0f", ms, (double)t->npatches / (ms / 1000));

	/* 3. encode / sv / load */
	uint8_t *snap = NULL, *sv = NULL;
	size_t snap_len = 0, sv_len = 0;
	TIMED(ms, 21, 500, if (snap) qc_free(d, snap); snap = NULL, qc_doc_encode_state(d, NULL, 0, &snap, &snap_len), );
	printf(",\"encodeMs\":%.4f,\"snapshotBytes\":%zu", ms, snap_len);
	qc_doc_state_vector(d, &sv, &sv_len);
	char svhex[128];
	hexstr(sv, sv_len, svhex, sizeof svhex);
	printf(",\"svHex\":\"%s\"", svhex);
	qc_free(d, sv);
	if (dump) {
		FILE *f = fopen(dump, "wb");
		if (f) {
			fwrite(snap, 1, snap_len, f);
			fclose(f);
		}
	}
	size_t before = mem.live;
	qc_doc *l = NULL;
	TIMED(ms, 21, 1000, , l = load(l, snap, snap_len, NULL, 0, &before), );
	printf(",\"loadMs\":%.4f,\"memAfterLoad\":%zu", ms, mem.live - before);
	text_ok(l, t, "load");
	qc_doc_free(l);
	load_update(t, snap, snap_len);

	/* 4. replay capturing every update, gc off (its state is the history) */
	ubuf ups = {0};
	a = now_ms();
	qc_doc *h = replay(t, 0, &ups);
	printf(",\"replayUpdMs\":%.3f,\"updates\":%zu,\"avgUpdateBytes\":%.2f", now_ms() - a, ups.len,
	       ups.len ? (double)ups.bytes / (double)ups.len : 0.0);
	text_ok(h, t, "replay+updates");
	uint8_t *hist = NULL;
	size_t hist_len = 0;
	qc_doc_encode_state(h, NULL, 0, &hist, &hist_len);
	printf(",\"historyBytes\":%zu", hist_len);
	qc_doc *x = NULL;
	TIMED(ms, 11, 1000, if (x) qc_doc_free(x); x = new_doc(0, 1), qc_doc_apply_update(x, hist, hist_len), );
	printf(",\"historyLoadMs\":%.4f", ms);
	text_ok(x, t, "history load");
	qc_doc_free(x);
	x = NULL;
	TIMED(ms, 3, 2000, if (x) qc_doc_free(x); x = new_doc(0, 1),
	      for (size_t i = 0; i < ups.len; i++) qc_doc_apply_update(x, ups.u[i], ups.n[i]), );
	printf(",\"streamMs\":%.3f,\"streamPerSec\":%.0f", ms, (double)ups.len / (ms / 1000));
	text_ok(x, t, "stream");
	qc_doc_free(x);

	/* 5. merge / diff without a doc */
	uint8_t *out = NULL;
	size_t out_len = 0, part = ups.len < 10000 ? ups.len : 10000;
	TIMED(ms, 5, 2000, free(out); out = NULL,
	      qc_update_merge((const uint8_t *const *)ups.u, ups.n, part, &out, &out_len), );
	printf(",\"merge10kMs\":%.3f,\"merge10kCount\":%zu,\"merge10kBytes\":%zu", ms, part, out_len);
	free(out);
	out = NULL;
	size_t big = ups.len; /* every update of the trace */
	TIMED(ms, 3, 3000, free(out); out = NULL,
	      qc_update_merge((const uint8_t *const *)ups.u, ups.n, big, &out, &out_len), );
	printf(",\"mergeAllMs\":%.3f,\"mergeAllCount\":%zu,\"mergeAllBytes\":%zu", ms, big, out_len);
	/* the merged stream must read endContent */
	x = new_doc(0, 1);
	if (qc_doc_apply_update(x, out, out_len) != QC_OK)
		add_error("merged stream does not apply");
	else if (big == ups.len)
		text_ok(x, t, "merged stream");
	qc_doc_free(x);
	free(out);
	out = NULL;
	/* state vector {1: clock at the half-way txn} */
	uint64_t clock = 0;
	for (size_t i = 0; i < t->ntxns / 2; i++)
		for (size_t k = 0; k < t->txns[i].npatches; k++)
			clock += t->patches[t->txns[i].first_patch + k].ins_u16;
	qc_sv_entry e = {1, clock};
	qc_sv svh = {&e, 1};
	uint8_t *svb = NULL;
	size_t svb_len = 0;
	qc_sv_encode(&svh, &svb, &svb_len);
	TIMED(ms, 11, 1000, free(out); out = NULL, qc_update_diff(hist, hist_len, svb, svb_len, &out, &out_len), );
	printf(",\"diffMs\":%.4f,\"diffBytes\":%zu", ms, out_len);
	free(out);
	free(svb);

	qc_free(h, hist);
	qc_doc_free(h);
	qc_free(d, snap);
	qc_doc_free(d);
	ubuf_free(&ups);
}

/* --- concurrent ------------------------------------------------------------------- */

static qc_doc *dag_replay(const trace *t)
{
	uint32_t na = t->num_agents;
	qc_doc **docs = calloc(na, sizeof *docs);
	uint8_t *have = calloc((size_t)na * t->ntxns, 1);
	ubuf *per = calloc(t->ntxns, sizeof *per);
	size_t *stack = malloc((t->ntxns + 1) * sizeof *stack), *todo = malloc((t->ntxns + 1) * sizeof *todo);
	for (uint32_t i = 0; i < na; i++)
		docs[i] = new_doc(i + 1, 1);
	for (size_t i = 0; i < t->ntxns && !errors[0]; i++) {
		const tr_txn *x = &t->txns[i];
		qc_doc *d = docs[x->agent];
		uint8_t *h = have + (size_t)x->agent * t->ntxns;
		size_t nt = trace_missing_ancestors(t, i, h, stack, todo);
		for (size_t k = 0; k < nt; k++)
			for (size_t m = 0; m < per[todo[k]].len; m++)
				qc_doc_apply_update(d, per[todo[k]].u[m], per[todo[k]].n[m]);
		patches(d, t, x, &per[i]);
		h[i] = 1;
	}
	qc_doc *final = new_doc(0, 1);
	for (size_t i = 0; i < t->ntxns; i++) {
		for (size_t m = 0; m < per[i].len; m++)
			qc_doc_apply_update(final, per[i].u[m], per[i].n[m]);
		ubuf_free(&per[i]);
	}
	for (uint32_t i = 0; i < na; i++)
		qc_doc_free(docs[i]);
	free(docs);
	free(have);
	free(per);
	free(stack);
	free(todo);
	return final;
}

static void bench_concurrent(const trace *t, const char *name, const char *dump)
{
	double ms;
	printf("{\"lib\":\"quire\",\"version\":\"crdt\",\"trace\":\"%s\",\"txns\":%zu,\"patches\":%zu", name, t->ntxns,
	       t->npatches);
	qc_doc *f = NULL;
	TIMED(ms, 3, 3000, if (f) qc_doc_free(f); f = NULL, f = dag_replay(t), );
	printf(",\"dagReplayMs\":%.3f", ms);
	text_ok(f, t, "DAG replay");
	uint8_t *snap = NULL;
	size_t snap_len = 0;
	TIMED(ms, 21, 500, if (snap) qc_free(f, snap); snap = NULL, qc_doc_encode_state(f, NULL, 0, &snap, &snap_len), );
	printf(",\"encodeMs\":%.4f,\"snapshotBytes\":%zu", ms, snap_len);
	if (dump) {
		FILE *fp = fopen(dump, "wb");
		if (fp) {
			fwrite(snap, 1, snap_len, fp);
			fclose(fp);
		}
	}
	size_t before = mem.live;
	qc_doc *l = NULL;
	TIMED(ms, 21, 1000, , l = load(l, snap, snap_len, NULL, 0, &before), );
	printf(",\"loadMs\":%.4f,\"memAfterLoad\":%zu", ms, mem.live - before);
	text_ok(l, t, "load");
	qc_doc_free(l);
	load_update(t, snap, snap_len);
	qc_free(f, snap);
	qc_doc_free(f);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: qbench <trace.json.gz> [--dump FILE]\n");
		return 2;
	}
	const char *dump = argc > 3 && strcmp(argv[2], "--dump") == 0 ? argv[3] : NULL;
	trace t;
	char err[256];
	if (trace_load(argv[1], &t, err) != 0) {
		fprintf(stderr, "qbench: %s\n", err);
		return 2;
	}
	const char *base = strrchr(argv[1], '/');
	base = base ? base + 1 : argv[1];
	char name[128];
	snprintf(name, sizeof name, "%s", base);
	char *dot = strstr(name, ".json");
	if (dot)
		*dot = 0;
	if (t.concurrent)
		bench_concurrent(&t, name, dump);
	else
		bench_sequential(&t, name, dump);
	printf(",\"errors\":[%s]}\n", errors);
	trace_free(&t);
	return errors[0] ? 1 : 0;
}
