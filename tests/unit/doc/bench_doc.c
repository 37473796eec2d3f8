/* Synthetic editing-trace replay for the document model: N single-character
 * edits (about 80% inserts, 20% deletes) at a cursor that mostly moves by
 * small steps, like the automerge-paper trace (259,778 edits). Prints the
 * time for local edits (one transaction each, update produced), for
 * encoding the state, for loading it into a fresh doc, for replaying the
 * per-edit updates as a remote stream, and the memory held by the docs.
 *
 * usage: bench_doc [edits]
 *        bench_doc --trace FILE   (FILE: "ntxns", then per txn "npatches" and
 *        per patch "pos del nbytes" + a line with the inserted text, newlines
 *        written as \x01; FILE.end holds the expected final text) */
#define _POSIX_C_SOURCE 200809L
#include "quire/counted.h"
#include "quire/doc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static qc_counted mem;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t rng = 88172645463325252ull;
static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

typedef struct patch {
	uint64_t pos, del;
	char *ins;
	size_t n;
} patch;

static patch *trace;
static long ntrace;

static int load_trace(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	long ntx;
	if (fscanf(f, "%ld", &ntx) != 1)
		return -1;
	size_t cap = (size_t)ntx + 16;
	trace = malloc(cap * sizeof(patch));
	static char line[1 << 20];
	for (long t = 0; t < ntx; t++) {
		long np;
		if (fscanf(f, "%ld", &np) != 1)
			return -1;
		for (long k = 0; k < np; k++) {
			unsigned long long pos, del;
			size_t nb;
			if (fscanf(f, "%llu %llu %zu", &pos, &del, &nb) != 3)
				return -1;
			fgetc(f);
			if (!fgets(line, sizeof line, f))
				return -1;
			if ((size_t)ntrace >= cap) {
				cap *= 2;
				trace = realloc(trace, cap * sizeof(patch));
			}
			patch *p = &trace[ntrace++];
			p->pos = pos;
			p->del = del;
			p->n = nb;
			p->ins = malloc(nb + 1);
			memcpy(p->ins, line, nb);
			for (size_t i = 0; i < nb; i++)
				if (p->ins[i] == 1)
					p->ins[i] = '\n';
		}
	}
	fclose(f);
	return 0;
}

int main(int argc, char **argv)
{
	const char *trace_path = argc > 2 && strcmp(argv[1], "--trace") == 0 ? argv[2] : NULL;
	if (trace_path && load_trace(trace_path)) {
		fprintf(stderr, "cannot read %s\n", trace_path);
		return 1;
	}
	long edits = trace_path ? ntrace : argc > 1 ? atol(argv[1]) : 259778;
	qc_alloc al = {qc_counted_malloc, qc_counted_realloc, qc_counted_free, &mem};
	qc_doc_opts o;
	qc_doc_opts_default(&o);
	o.client_id = 1;
	o.alloc = &al;
	o.max_pending_bytes = 64u << 20;
	qc_doc *d = qc_doc_new(&o);
	uint8_t **ups = malloc((size_t)edits * sizeof(uint8_t *));
	size_t *lens = malloc((size_t)edits * sizeof(size_t));
	if (!d || !ups || !lens)
		return 1;
	uint64_t cursor = 0, len = 0;
	size_t upbytes = 0;
	double t0 = now();
	for (long i = 0; i < edits; i++) {
		if (trace_path) {
			patch *p = &trace[i];
			int rc = QC_OK;
			if (p->del)
				rc = qc_text_delete(d, "text", p->pos, p->del);
			size_t n0 = 0;
			const uint8_t *u0 = qc_doc_last_update(d, &n0);
			uint8_t *keep = NULL;
			if (p->n && p->del && n0) {
				keep = malloc(n0);
				memcpy(keep, u0, n0);
			}
			if (rc == QC_OK && p->n)
				rc = qc_text_insert(d, "text", p->pos, p->ins, p->n, NULL);
			if (rc) {
				fprintf(stderr, "patch %ld failed: %d\n", i, rc);
				return 1;
			}
			size_t n;
			const uint8_t *u = qc_doc_last_update(d, &n);
			if (keep) { /* delete+insert: send both */
				const uint8_t *ins[2] = {keep, u};
				(void)ins;
				ups[i] = malloc(n0 + n);
				memcpy(ups[i], keep, n0);
				lens[i] = n0;
				free(keep);
				upbytes += n0;
				continue;
			}
			ups[i] = malloc(n ? n : 1);
			memcpy(ups[i], u, n);
			lens[i] = n;
			upbytes += n;
			continue;
		}
		uint64_t r = rnd() % 100;
		if (r < 3 && len > 0)
			cursor = rnd() % (len + 1); /* jump */
		else if (r < 10 && cursor > 0)
			cursor--;
		else if (r < 14 && cursor < len)
			cursor++;
		int rc;
		if (rnd() % 100 < 20 && cursor > 0) {
			rc = qc_text_delete(d, "text", cursor - 1, 1);
			cursor--;
			len--;
		} else {
			char c = (char)('a' + rnd() % 26);
			rc = qc_text_insert(d, "text", cursor, &c, 1, NULL);
			cursor++;
			len++;
		}
		if (rc) {
			fprintf(stderr, "edit %ld failed: %d\n", i, rc);
			return 1;
		}
		size_t n;
		const uint8_t *u = qc_doc_last_update(d, &n);
		ups[i] = malloc(n);
		memcpy(ups[i], u, n);
		lens[i] = n;
		upbytes += n;
	}
	double t1 = now();
	size_t mem_local = mem.live;
	if (trace_path) { /* T1: the same edits without asking for the updates */
		o.client_id = 1;
		qc_doc *d2 = qc_doc_new(&o);
		double ta = now();
		for (long i = 0; i < edits; i++) {
			patch *p = &trace[i];
			if (p->del)
				qc_text_delete(d2, "text", p->pos, p->del);
			if (p->n)
				qc_text_insert(d2, "text", p->pos, p->ins, p->n, NULL);
		}
		double tb = now();
		printf("local edits, no update requested: %.1f ms (%.0f ns/edit)\n", (tb - ta) * 1e3,
		       (tb - ta) * 1e9 / (double)edits);
		qc_doc_free(d2);
	}
	uint8_t *state;
	size_t nstate;
	double t2 = now();
	if (qc_doc_encode_state(d, NULL, 0, &state, &nstate))
		return 1;
	double t3 = now();
	printf("edits: %ld, final length %llu, average update %.1f B\n", edits, (unsigned long long)qc_doc_length(d, "text"),
	       (double)upbytes / (double)edits);
	printf("local edits (1 txn each, update encoded): %.1f ms (%.0f ns/edit)\n", (t1 - t0) * 1e3,
	       (t1 - t0) * 1e9 / (double)edits);
	printf("encode state: %.2f ms, %zu bytes\n", (t3 - t2) * 1e3, nstate);
	printf("memory of the edited doc: %zu bytes (%.1f B per char)\n", mem_local,
	       (double)mem_local / (double)(qc_doc_length(d, "text") ? qc_doc_length(d, "text") : 1));

	if (trace_path) {
		char endp[4096];
		snprintf(endp, sizeof endp, "%s.end", trace_path);
		FILE *f = fopen(endp, "r");
		if (f) {
			static char want[1 << 24];
			size_t wn = fread(want, 1, sizeof want, f);
			fclose(f);
			char *got;
			size_t gn;
			qc_doc_text(d, "text", &got, &gn);
			printf("final text %s the trace's endContent\n", gn == wn && memcmp(got, want, wn) == 0 ? "matches" : "DIFFERS from");
			qc_free(d, got);
		}
	}
	size_t base = mem.live;
	o.client_id = 2;
	qc_doc *l = qc_doc_new(&o);
	double t4 = now();
	if (qc_doc_apply_update(l, state, nstate))
		return 1;
	double t5 = now();
	printf("load state into a fresh doc: %.2f ms; memory %zu bytes\n", (t5 - t4) * 1e3, mem.live - base);
	char *a, *b;
	size_t an, bn;
	qc_doc_text(d, "text", &a, &an);
	qc_doc_text(l, "text", &b, &bn);
	if (an != bn || memcmp(a, b, an)) {
		fprintf(stderr, "loaded text differs\n");
		return 1;
	}
	qc_free(d, a);
	qc_free(l, b);
	qc_doc_free(l);

	o.client_id = 3;
	qc_doc *s = qc_doc_new(&o);
	double t6 = now();
	for (long i = 0; i < edits; i++)
		if (qc_doc_apply_update(s, ups[i], lens[i]))
			return 1;
	double t7 = now();
	printf("remote stream of %ld updates: %.1f ms (%.0f ns/update)\n", edits, (t7 - t6) * 1e3,
	       (t7 - t6) * 1e9 / (double)edits);
	uint8_t *s2;
	size_t ns2;
	qc_doc_encode_state(s, NULL, 0, &s2, &ns2);
	if (ns2 != nstate || memcmp(s2, state, nstate)) {
		fprintf(stderr, "streamed state differs\n");
		return 1;
	}
	qc_free(s, s2);
	qc_doc_free(s);
	qc_free(d, state);
	qc_doc_free(d);
	for (long i = 0; i < edits; i++)
		free(ups[i]);
	free(ups);
	free(lens);
	return 0;
}
