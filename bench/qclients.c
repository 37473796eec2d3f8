/* qclients: the quire column of bench/clients.mjs (documents with many
 * clients). Reads the input bench/clients.mjs wrote (the same bytes every
 * library gets) and prints one JSON line.
 *
 *   qclients FILE
 *
 * FILE: u32le length + the setup update (a text "t" holding one character
 * from each of N clients), u32le count, then count × (u32le length + update):
 * one-character inserts by another client, applied one by one as a server
 * applies what a peer sends.
 *
 * Measured, each on the loaded document:
 *   "localUs"   per local edit: qc_text_insert of one character at i % 50,
 *               one transaction each, the update not read (as bench T1)
 *   "remoteUs"  per remote update: qc_doc_apply_update + qc_doc_last_update
 *               (the update event the server stores and relays)
 * Each phase runs until it has done 5,000 operations or spent 1 s. */
#define _POSIX_C_SOURCE 200809L
#include "quire/doc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "slurp.h"

static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int u32(const uint8_t *b, size_t n, size_t *off, uint32_t *v)
{
	if (n - *off < 4)
		return -1;
	const uint8_t *p = b + *off;
	*v = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
	*off += 4;
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: qclients FILE (written by bench/clients.mjs)\n");
		return 2;
	}
	size_t n, off = 0;
	uint8_t *b = slurp(argv[1], &n);
	uint32_t slen, count;
	if (!b || u32(b, n, &off, &slen) || n - off < slen) {
		fprintf(stderr, "qclients: cannot read %s\n", argv[1]);
		return 2;
	}
	qc_doc_opts o;
	qc_doc_opts_default(&o);
	o.client_id = 1;
	qc_doc *d = qc_doc_new(&o);
	if (!d || qc_doc_apply_update(d, b + off, slen) != QC_OK) {
		fprintf(stderr, "qclients: the setup update does not apply\n");
		return 1;
	}
	off += slen;
	if (u32(b, n, &off, &count)) {
		fprintf(stderr, "qclients: truncated input\n");
		return 2;
	}
	int local = 0;
	double t0 = now_ms(), spent = 0;
	for (; local < 5000 && spent < 1000; local++) {
		if (qc_text_insert(d, "t", (uint64_t)(local % 50), "b", 1, NULL) != QC_OK) {
			fprintf(stderr, "qclients: local insert failed\n");
			return 1;
		}
		if ((local & 63) == 63)
			spent = now_ms() - t0;
	}
	double local_us = (now_ms() - t0) * 1e3 / local;

	int remote = 0;
	size_t bytes = 0;
	t0 = now_ms();
	spent = 0;
	for (; (uint32_t)remote < count && remote < 5000 && spent < 1000; remote++) {
		uint32_t ulen;
		if (u32(b, n, &off, &ulen) || n - off < ulen) {
			fprintf(stderr, "qclients: truncated input\n");
			return 2;
		}
		size_t el;
		if (qc_doc_apply_update(d, b + off, ulen) != QC_OK || !qc_doc_last_update(d, &el)) {
			fprintf(stderr, "qclients: remote update %d failed\n", remote);
			return 1;
		}
		bytes += el;
		off += ulen;
		if ((remote & 63) == 63)
			spent = now_ms() - t0;
	}
	double remote_us = (now_ms() - t0) * 1e3 / remote;
	char *text = NULL;
	size_t tl = 0;
	if (qc_doc_text(d, "t", &text, &tl) != QC_OK)
		return 1;
	printf("{\"lib\":\"quire\",\"localOps\":%d,\"localUs\":%.3f,\"remoteOps\":%d,\"remoteUs\":%.3f,\"eventBytes\":%zu,"
	       "\"textLen\":%zu}\n",
	       local, local_us, remote, remote_us, bytes, tl);
	qc_free(d, text);
	qc_doc_free(d);
	free(b);
	return 0;
}
