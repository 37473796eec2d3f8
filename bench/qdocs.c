/* qdocs: the quire column of bench/docs.sh (memory per document when a
 * process holds many). Loads one snapshot into N documents kept alive, as a
 * server opens its rooms, and prints one JSON line.
 *
 *   qdocs FILE N TEXT
 *
 * FILE: a Yjs v1 update (the snapshot bench/docs.mjs wrote with yjs, the same
 * bytes ywasm loads); TEXT: the text the root "text" must hold (UTF-8).
 * Each document is opened as the server opens a stored one (default options,
 * qc_doc_load), its root declared a Text (what doc.getText('text') does in
 * the JS peers; for the empty snapshot that is the whole document) and its
 * text read once and compared with TEXT: any difference is an error.
 *
 * Printed, per document:
 *   "bytesPerDoc"     live bytes of the N documents / N, exact: every
 *                     allocation goes through a counting qc_alloc (the
 *                     requested sizes; malloc's own headers are not counted,
 *                     as the JS heap figures do not count the engine's)
 *   "trimmedPerDoc"   the same after qc_doc_trim on every document
 *   "blocksPerDoc"    live allocations / N (each costs malloc 8-16 more bytes)
 *   "rssPerDoc"       growth of the process's resident set / N (indicative)
 *   "loadUs"          microseconds per document for qc_doc_new + qc_doc_load +
 *                     declaring the root + reading and checking the text */
#define _POSIX_C_SOURCE 200809L
#include "quire/counted.h"
#include "quire/doc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "slurp.h"

static const char *const ROOT = "text";

/* --- counting allocator, plus the number of live blocks --------------------- */

static qc_counted mem;
static size_t blocks;

static void *c_malloc(size_t size, void *ud)
{
	void *p = qc_counted_malloc(size, ud);
	blocks += p != NULL;
	return p;
}

static void *c_realloc(void *p, size_t size, void *ud)
{
	void *n = qc_counted_realloc(p, size, ud);
	blocks += !p && n;
	return n;
}

static void c_free(void *p, void *ud)
{
	blocks -= p != NULL;
	qc_counted_free(p, ud);
}

static qc_alloc counting = {c_malloc, c_realloc, c_free, &mem};

/* --- helpers -------------------------------------------------------------------- */

static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static size_t rss_now(void)
{
	unsigned long size = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	if (!f)
		return 0;
	if (fscanf(f, "%lu %lu", &size, &resident) != 2)
		resident = 0;
	fclose(f);
	return (size_t)resident * (size_t)sysconf(_SC_PAGESIZE);
}

int main(int argc, char **argv)
{
	long n = argc == 4 ? strtol(argv[2], NULL, 10) : 0;
	if (n <= 0 || n > 10000000) {
		fprintf(stderr, "usage: qdocs FILE N TEXT (written by bench/docs.mjs)\n");
		return 2;
	}
	size_t ulen, tlen;
	uint8_t *u = slurp(argv[1], &ulen), *want = slurp(argv[3], &tlen);
	qc_doc **docs = calloc((size_t)n, sizeof *docs);
	if (!u || !want || !docs) {
		fprintf(stderr, "qdocs: cannot read %s or %s\n", argv[1], argv[3]);
		return 2;
	}
	qc_doc_opts o;
	qc_doc_opts_default(&o);
	o.alloc = &counting;

	size_t live0 = mem.live, blocks0 = blocks, rss0 = rss_now();
	double t0 = now_ms();
	for (long i = 0; i < n; i++) {
		qc_doc *d = docs[i] = qc_doc_new(&o);
		int rc = d ? qc_doc_load(d, u, ulen) : QC_ERR_NOMEM;
		if (rc == QC_OK)
			rc = qc_doc_declare_root(d, ROOT, QC_ROOT_TEXT);
		char *s = NULL;
		size_t sl = 0;
		if (rc == QC_OK)
			rc = qc_doc_text(d, ROOT, &s, &sl);
		if (rc != QC_OK) {
			fprintf(stderr, "qdocs: document %ld: %s\n", i, qc_strerror(rc));
			return 1;
		}
		if (sl != tlen || memcmp(s, want, tlen) != 0) {
			fprintf(stderr, "qdocs: document %ld: text differs (%zu vs %zu bytes)\n", i, sl, tlen);
			return 1;
		}
		qc_free(d, s);
	}
	double load_us = (now_ms() - t0) * 1e3 / (double)n;
	size_t live1 = mem.live, blocks1 = blocks, rss1 = rss_now();

	for (long i = 0; i < n; i++)
		qc_doc_trim(docs[i]);
	size_t live2 = mem.live;

	for (long i = 0; i < n; i++)
		qc_doc_free(docs[i]);
	printf("{\"lib\":\"quire\",\"n\":%ld,\"bytesPerDoc\":%.1f,\"trimmedPerDoc\":%.1f,\"blocksPerDoc\":%.2f,"
	       "\"rssPerDoc\":%.1f,\"loadUs\":%.2f,\"snapshotBytes\":%zu,\"textBytes\":%zu,\"leakedBytes\":%zu}\n",
	       n, (double)(live1 - live0) / (double)n, (double)(live2 - live0) / (double)n,
	       (double)(blocks1 - blocks0) / (double)n, rss1 > rss0 ? (double)(rss1 - rss0) / (double)n : 0.0,
	       load_us, ulen, tlen, mem.live - live0);
	free(docs);
	free(u);
	free(want);
	return 0;
}
