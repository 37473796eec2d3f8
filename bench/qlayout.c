/* qlayout: a census of the items of loaded documents, for the design of a
 * smaller item record (docs/benchmarks.md, "Item census"). For every item in
 * a sequence it asks whether its origins could be left implicit: the origin
 * is the last id of its left neighbour (or both are absent); the right
 * origin is its right neighbour's first id, or the same as its left
 * neighbour's right origin (or both absent); and whether it continues its
 * left neighbour's run but for the deleted flag. It reads the document's
 * internals (crdt/src/doc_internal.h): a research tool, not an API user.
 *
 *   qbench TRACE.json.gz --dump FILE    (a v1 snapshot of the trace's end)
 *   qlayout FILE...
 */
#include "doc_internal.h"
#include "quire/doc.h"
#include "slurp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double pct(size_t a, size_t b) { return b ? 100.0 * (double)a / (double)b : 0; }

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: qlayout SNAPSHOT...   (snapshots from qbench TRACE --dump FILE)\n");
		return 2;
	}
	printf("| document | items | deleted | origin = left's last id | right origin implicit | both implicit | "
	       "runs split only by deletion |\n|---|---|---|---|---|---|---|\n");
	int rc = 0;
	for (int a = 1; a < argc; a++) {
		size_t n;
		uint8_t *buf = slurp(argv[a], &n);
		qc_doc *d = qc_doc_new(NULL);
		if (!buf || !d || qc_doc_load(d, buf, n) != QC_OK) {
			fprintf(stderr, "qlayout: %s: cannot read or load it\n", argv[a]);
			rc = 1;
			free(buf);
			qc_doc_free(d);
			continue;
		}
		size_t items = 0, deleted = 0, o_imp = 0, r_imp = 0, both = 0, split = 0;
		for (uint32_t t = 0; t < d->ntypes; t++)
			for (uint32_t i = d->types[t].start; i != QN; i = d->items[i].right) {
				const qd_item *it = &d->items[i];
				const qd_item *L = it->left != QN ? &d->items[it->left] : NULL;
				const qd_item *R = it->right != QN ? &d->items[it->right] : NULL;
				int o = (it->ocl == QN && !L) || (L && it->ocl == L->client && it->ock == L->clock + L->len - 1);
				int r_right = (it->rcl == QN && !R) || (R && it->rcl == R->client && it->rck == R->clock);
				int r_left = L && it->rcl == L->rcl && it->rck == L->rck;
				items++;
				deleted += (it->flags & IF_DELETED) != 0;
				o_imp += o;
				r_imp += r_right || r_left;
				both += o && (r_right || r_left);
				split += L && L->client == it->client && L->clock + L->len == it->clock && o && r_left &&
					 (L->flags & IF_DELETED) != (it->flags & IF_DELETED);
			}
		const char *base = strrchr(argv[a], '/');
		printf("| %s | %zu | %.1f%% | %.1f%% | %.1f%% | %.1f%% | %.1f%% |\n", base ? base + 1 : argv[a], items,
		       pct(deleted, items), pct(o_imp, items), pct(r_imp, items), pct(both, items), pct(split, items));
		free(buf);
		qc_doc_free(d);
	}
	return rc;
}
