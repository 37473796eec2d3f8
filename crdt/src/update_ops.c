/* Binary-only update operations (what Yjs's updates.js does without
 * integrating): state vectors, encodeStateVectorFromUpdate, diffUpdate,
 * mergeUpdates. See the wire-format reference, section 3. */
#include "update_internal.h"

#include <stdlib.h>
#include <string.h>

static const uint8_t empty_buf[1] = {0};

static int take(qc_enc *e, uint8_t **out, size_t *out_len)
{
	if (!qc_enc_ok(e)) {
		qc_enc_free(e);
		return QC_ERR_NOMEM;
	}
	size_t n;
	uint8_t *p = qc_enc_take(e, &n);
	if (!p)
		return QC_ERR_NOMEM;
	*out = p;
	*out_len = n;
	return QC_OK;
}

/* ---- state vectors ----------------------------------------------------- */

void qc_sv_free(qc_sv *sv)
{
	if (!sv)
		return;
	free(sv->entries);
	sv->entries = NULL;
	sv->n = 0;
}

typedef struct sv_tmp {
	uint64_t client, clock;
	size_t seq;
} sv_tmp;

static int cmp_sv_tmp(const void *a, const void *b)
{
	const sv_tmp *x = a, *y = b;
	if (x->client != y->client)
		return x->client > y->client ? -1 : 1;
	/* later entries first, so the last value for a client wins */
	return x->seq > y->seq ? -1 : x->seq < y->seq;
}

int qc_sv_decode(const uint8_t *p, size_t n, qc_sv *out)
{
	qc_dec d;
	uint64_t count;
	int rc;
	out->entries = NULL;
	out->n = 0;
	qc_dec_init(&d, p ? p : empty_buf, p ? n : 0);
	if ((rc = qc_read_varuint(&d, &count)))
		return rc;
	/* each entry takes at least two bytes: check before allocating */
	if (count > qc_dec_left(&d) / 2)
		return QC_ERR_TRUNCATED;
	sv_tmp *t = malloc((count ? (size_t)count : 1) * sizeof(*t));
	if (!t)
		return QC_ERR_NOMEM;
	for (uint64_t i = 0; i < count; i++) {
		if ((rc = qc_read_varuint(&d, &t[i].client)) || (rc = qc_read_varuint(&d, &t[i].clock))) {
			free(t);
			return rc;
		}
		t[i].seq = (size_t)i;
	}
	if (qc_dec_left(&d) != 0) {
		free(t);
		return QC_ERR_TRAILING;
	}
	qsort(t, (size_t)count, sizeof(*t), cmp_sv_tmp);
	qc_sv_entry *e = malloc((count ? (size_t)count : 1) * sizeof(*e));
	if (!e) {
		free(t);
		return QC_ERR_NOMEM;
	}
	size_t m = 0;
	for (size_t i = 0; i < (size_t)count; i++) {
		if (m > 0 && e[m - 1].client == t[i].client)
			continue;
		e[m].client = t[i].client;
		e[m].clock = t[i].clock;
		m++;
	}
	free(t);
	out->entries = e;
	out->n = m;
	return QC_OK;
}

uint64_t qc_sv_get(const qc_sv *sv, uint64_t client)
{
	size_t lo = 0, hi = sv ? sv->n : 0;
	while (lo < hi) { /* entries sorted by client descending */
		size_t mid = lo + (hi - lo) / 2;
		uint64_t c = sv->entries[mid].client;
		if (c == client)
			return sv->entries[mid].clock;
		if (c > client)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

static int cmp_entry_desc(const void *a, const void *b)
{
	const qc_sv_entry *x = a, *y = b;
	return x->client > y->client ? -1 : x->client < y->client;
}

int qc_sv_encode(const qc_sv *sv, uint8_t **out, size_t *out_len)
{
	qc_enc e;
	qc_enc_init(&e);
	size_t n = sv ? sv->n : 0;
	qc_sv_entry *tmp = NULL;
	if (n) {
		tmp = malloc(n * sizeof(*tmp));
		if (!tmp)
			return QC_ERR_NOMEM;
		memcpy(tmp, sv->entries, n * sizeof(*tmp));
		qsort(tmp, n, sizeof(*tmp), cmp_entry_desc);
	}
	qc_write_varuint(&e, n);
	for (size_t i = 0; i < n; i++) {
		qc_write_varuint(&e, tmp[i].client);
		qc_write_varuint(&e, tmp[i].clock);
	}
	free(tmp);
	return take(&e, out, out_len);
}

/* ---- encodeStateVectorFromUpdate -------------------------------------- */

int qc_update_state_vector(const uint8_t *u, size_t n, uint8_t **sv, size_t *sv_len)
{
	int rc = qc_update_validate(u, n);
	if (rc)
		return rc;
	qc_rd r;
	qc_enc body, out;
	qc_enc_init(&body);
	qc_enc_init(&out);
	if ((rc = qc_rd_init(&r, u, n, 0)))
		return rc;
	uint64_t size = 0;
	rc = qc_rd_next(&r);
	if (rc == 1) {
		uint64_t cur_client = r.head.client;
		int stop = r.head.clock != 0;
		uint64_t cur_clock = stop ? 0 : r.head.clock + r.head.len;
		for (; rc == 1; rc = qc_rd_next(&r)) {
			const qc_st *s = &r.head;
			if (cur_client != s->client) {
				if (cur_clock != 0) {
					size++;
					qc_write_varuint(&body, cur_client);
					qc_write_varuint(&body, cur_clock);
				}
				cur_client = s->client;
				cur_clock = 0;
				stop = s->clock != 0;
			}
			if (s->kind == QC_ST_SKIP)
				stop = 1;
			if (!stop)
				cur_clock = s->clock + s->len;
		}
		if (rc == 0 && cur_clock != 0) {
			size++;
			qc_write_varuint(&body, cur_client);
			qc_write_varuint(&body, cur_clock);
		}
	}
	qc_rd_free(&r);
	if (rc < 0) {
		qc_enc_free(&body);
		return rc;
	}
	qc_write_varuint(&out, size);
	qc_write_bytes(&out, body.data, body.len);
	if (body.oom)
		out.oom = 1;
	qc_enc_free(&body);
	return take(&out, sv, sv_len);
}

/* ---- diffUpdate --------------------------------------------------------- */

int qc_update_diff(const uint8_t *u, size_t n, const uint8_t *svp, size_t sv_len,
		   uint8_t **out, size_t *out_len)
{
	qc_sv sv;
	int rc = qc_update_validate(u, n);
	if (rc)
		return rc;
	if ((rc = qc_sv_decode(svp, sv_len, &sv)))
		return rc;
	qc_rd r;
	qc_lw w;
	qc_ds ds = {0};
	qc_enc e;
	qc_lw_init(&w);
	qc_enc_init(&e);
	if ((rc = qc_rd_init(&r, u, n, 0)))
		goto done;
	rc = qc_rd_next(&r);
	while (rc == 1) {
		qc_st cur = r.head;
		uint64_t client = cur.client;
		uint64_t known = qc_sv_get(&sv, client);
		if (cur.kind == QC_ST_SKIP) { /* never write a Skip first */
			rc = qc_rd_next(&r);
			continue;
		}
		if (cur.clock + cur.len > known) {
			if (known > cur.clock)
				qc_st_slice(&cur, known - cur.clock);
			if ((rc = qc_lw_write(&w, &cur)))
				goto done;
			rc = qc_rd_next(&r);
			while (rc == 1 && r.head.client == client) {
				if ((rc = qc_lw_write(&w, &r.head)))
					goto done;
				rc = qc_rd_next(&r);
			}
		} else {
			do
				rc = qc_rd_next(&r);
			while (rc == 1 && r.head.client == client && r.head.clock + r.head.len <= known);
		}
	}
	if (rc < 0)
		goto done;
	if ((rc = qc_lw_finish(&w, &e)))
		goto done;
	/* The delete set is passed on whole, as readDeleteSet/writeDeleteSet do:
	 * clients descending, ranges in the order read. */
	if ((rc = qc_ds_read(&r.d, &ds, NULL)))
		goto done;
	qc_ds_sort_clients(&ds);
	qc_ds_write(&e, &ds);
	rc = take(&e, out, out_len);
done:
	qc_enc_free(&e);
	qc_ds_free(&ds);
	qc_lw_free(&w);
	qc_rd_free(&r);
	qc_sv_free(&sv);
	return rc;
}

/* ---- mergeUpdates ------------------------------------------------------- */

static uint64_t st_end(const qc_st *s) { return s->clock + s->len; }

/* Yjs's comparator for the readers' head structs: client descending, then
 * clock ascending. For an Item and a GC at the same (client, clock) it says
 * "first argument first" both ways (note T in the reference). */
static int js_cmp(const qc_rd *a, const qc_rd *b)
{
	if (a->head.client == b->head.client) {
		if (a->head.clock != b->head.clock)
			return a->head.clock < b->head.clock ? -1 : 1;
		if (a->head.kind == b->head.kind)
			return 0;
		return a->head.kind == QC_ST_SKIP ? 1 : -1;
	}
	return b->head.client > a->head.client ? 1 : -1;
}

/* Sort the way V8's Array.prototype.sort does for fewer than 64 elements
 * (TimSort: take the leading run, reversing it if strictly descending, then
 * binary insertion). With a consistent comparator this is a stable sort; with
 * the inconsistent tie above it reproduces V8's choice, so merges match Yjs
 * on Node byte for byte. Larger arrays use the same procedure (still a
 * correct stable sort; V8 would merge runs instead). */
static void v8_sort(qc_rd **a, size_t n)
{
	if (n < 2)
		return;
	size_t run = 2;
	int desc = js_cmp(a[1], a[0]) < 0;
	while (run < n) {
		int o = js_cmp(a[run], a[run - 1]);
		if (desc ? o >= 0 : o < 0)
			break;
		run++;
	}
	if (desc)
		for (size_t i = 0, j = run - 1; i < j; i++, j--) {
			qc_rd *t = a[i];
			a[i] = a[j];
			a[j] = t;
		}
	for (size_t start = run; start < n; start++) {
		qc_rd *pivot = a[start];
		size_t left = 0, right = start;
		while (left < right) {
			size_t mid = left + ((right - left) >> 1);
			if (js_cmp(pivot, a[mid]) < 0)
				right = mid;
			else
				left = mid + 1;
		}
		for (size_t p = start; p > left; p--)
			a[p] = a[p - 1];
		a[left] = pivot;
	}
}

/* Many inputs: Yjs's order (client descending, clock ascending) kept
 * incrementally. Yjs re-sorts all readers every round with a stable sort;
 * since only the first reader moves between rounds, re-inserting it before
 * its equals gives the same order in O(log n). (It differs from Yjs only in
 * the engine-dependent Item/GC tie, note T.) */
static int head_cmp(const qc_rd *a, const qc_rd *b)
{
	if (a->head.client != b->head.client)
		return b->head.client > a->head.client ? 1 : -1;
	if (a->head.clock != b->head.clock)
		return a->head.clock < b->head.clock ? -1 : 1;
	return 0;
}

/* The first sort: stable, i.e. equal heads stay in input order. */
static int initial_cmp_q(const void *pa, const void *pb)
{
	const qc_rd *a = *(qc_rd *const *)pa, *b = *(qc_rd *const *)pb;
	int c = head_cmp(a, b);
	return c ? c : (a < b ? -1 : a > b); /* readers live in one array, in input order */
}

/* act[1..n) is sorted; moves act[0] to its place, before any equal head. */
static void reinsert_first(qc_rd **act, size_t n)
{
	qc_rd *pivot = act[0];
	size_t lo = 1, hi = n;
	while (lo < hi) {
		size_t mid = lo + ((hi - lo) >> 1);
		if (head_cmp(act[mid], pivot) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	memmove(act, act + 1, (lo - 1) * sizeof(*act));
	act[lo - 1] = pivot;
}

/* V8's sort reproduced (below) is quadratic in the number of inputs; past
 * this many the incremental order above is used. */
#define MERGE_V8_ORDER_MAX 64

static int merge_core(const uint8_t *const *updates, const size_t *lens, size_t count,
		      uint8_t **out, size_t *out_len)
{
	int rc;

	qc_rd *rds = calloc(count ? count : 1, sizeof(*rds));
	qc_rd **act = calloc(count ? count : 1, sizeof(*act));
	qc_rd **base = act; /* act advances past exhausted readers below */
	qc_lw w;
	qc_ds ds = {0};
	qc_enc e;
	qc_lw_init(&w);
	qc_enc_init(&e);
	if (!rds || !act) {
		rc = QC_ERR_NOMEM;
		goto done;
	}
	size_t nact = 0;
	for (size_t i = 0; i < count; i++) {
		if ((rc = qc_rd_init(&rds[i], updates[i], lens[i], 1)))
			goto done;
		if ((rc = qc_rd_next(&rds[i])) < 0)
			goto done;
		act[nact++] = &rds[i];
	}

	qc_st cur;
	int has_cur = 0;
	int incremental = nact > MERGE_V8_ORDER_MAX;
	if (incremental) {
		size_t m = 0;
		for (size_t i = 0; i < nact; i++)
			if (act[i]->has_head)
				act[m++] = act[i];
		nact = m;
		qsort(act, nact, sizeof(*act), initial_cmp_q);
	}
	for (int first = 1;; first = 0) {
		if (incremental) {
			/* only act[0] moved since the last round */
			if (!first) {
				if (!act[0]->has_head) {
					act++;
					nact--;
				} else {
					reinsert_first(act, nact);
				}
			}
			if (nact == 0)
				break;
		} else {
			/* drop exhausted readers, keeping order */
			size_t m = 0;
			for (size_t i = 0; i < nact; i++)
				if (act[i]->has_head)
					act[m++] = act[i];
			nact = m;
			if (nact == 0)
				break;
			v8_sort(act, nact);
		}
		qc_rd *r = act[0];
		uint64_t c = r->head.client;
		if (has_cur) {
			int moved = 0;
			while (r->has_head && st_end(&r->head) <= st_end(&cur) && r->head.client >= cur.client) {
				if ((rc = qc_rd_next(r)) < 0)
					goto done;
				moved = 1;
			}
			if (!r->has_head || r->head.client != c || (moved && r->head.clock > st_end(&cur)))
				continue;
			qc_st h = r->head;
			if (c != cur.client) {
				if ((rc = qc_lw_write(&w, &cur)))
					goto done;
				cur = h;
				if ((rc = qc_rd_next(r)) < 0)
					goto done;
			} else if (st_end(&cur) < h.clock) {
				if (cur.kind == QC_ST_SKIP) {
					cur.len = st_end(&h) - cur.clock; /* extend the Skip */
				} else {
					if ((rc = qc_lw_write(&w, &cur)))
						goto done;
					qc_st skip;
					memset(&skip, 0, sizeof(skip));
					skip.kind = QC_ST_SKIP;
					skip.client = c;
					skip.clock = st_end(&cur);
					skip.len = h.clock - skip.clock;
					cur = skip;
				}
			} else {
				uint64_t d = st_end(&cur) - h.clock;
				if (d > 0) {
					if (cur.kind == QC_ST_SKIP) {
						if (d > cur.len) {
							rc = QC_ERR_INVALID; /* unreachable */
							goto done;
						}
						cur.len -= d;
					} else {
						qc_st_slice(&h, d);
					}
				}
				if (cur.kind == h.kind && cur.kind != QC_ST_ITEM) {
					cur.len += h.len; /* GC+GC (Skip+Skip) merge */
				} else {
					if ((rc = qc_lw_write(&w, &cur)))
						goto done;
					cur = h;
					if ((rc = qc_rd_next(r)) < 0)
						goto done;
				}
			}
		} else {
			cur = r->head;
			has_cur = 1;
			if ((rc = qc_rd_next(r)) < 0)
				goto done;
		}
		while (r->has_head && r->head.client == c && r->head.clock == st_end(&cur) &&
		       r->head.kind != QC_ST_SKIP) {
			if ((rc = qc_lw_write(&w, &cur)))
				goto done;
			cur = r->head;
			if ((rc = qc_rd_next(r)) < 0)
				goto done;
		}
	}
	if (has_cur && (rc = qc_lw_write(&w, &cur)))
		goto done;
	if ((rc = qc_lw_finish(&w, &e)))
		goto done;
	for (size_t i = 0; i < count; i++)
		if ((rc = qc_ds_read(&rds[i].d, &ds, NULL)))
			goto done;
	qc_ds_sort_merge(&ds);
	qc_ds_write(&e, &ds);
	rc = take(&e, out, out_len);
done:
	if (rds)
		for (size_t i = 0; i < count; i++)
			qc_rd_free(&rds[i]);
	free(rds);
	free(base);
	qc_ds_free(&ds);
	qc_enc_free(&e);
	qc_lw_free(&w);
	return rc;
}

static int cmp_section_desc(const void *a, const void *b)
{
	const qc_section *x = a, *y = b;
	return x->client > y->client ? -1 : x->client < y->client;
}

/* Copy of a valid update with its sections in client-descending order
 * (empty sections dropped). Applying it is the same as applying u. */
static int normalize_sections(const uint8_t *u, size_t n, uint8_t **out, size_t *out_len)
{
	qc_section *secs;
	size_t ns, ds_off;
	int rc = qc_sections(u, n, &secs, &ns, &ds_off);
	if (rc)
		return rc;
	if (ns > 1)
		qsort(secs, ns, sizeof(*secs), cmp_section_desc);
	size_t nonempty = 0;
	for (size_t i = 0; i < ns; i++)
		nonempty += secs[i].nstructs > 0;
	qc_enc e;
	qc_enc_init(&e);
	qc_write_varuint(&e, nonempty);
	for (size_t i = 0; i < ns; i++)
		if (secs[i].nstructs > 0)
			qc_write_bytes(&e, u + secs[i].start, secs[i].end - secs[i].start);
	qc_write_bytes(&e, u + ds_off, n - ds_off);
	free(secs);
	return take(&e, out, out_len);
}

int qc_update_merge(const uint8_t *const *updates, const size_t *lens, size_t count,
		    uint8_t **out, size_t *out_len)
{
	int rc;
	if (count > 0 && (updates == NULL || lens == NULL))
		return QC_ERR_INVALID;
	for (size_t i = 0; i < count; i++) {
		if ((rc = qc_update_validate(updates[i], lens[i])))
			return rc;
	}
	if (count == 1) {
		uint8_t *p = malloc(lens[0] ? lens[0] : 1);
		if (!p)
			return QC_ERR_NOMEM;
		if (lens[0])
			memcpy(p, updates[0], lens[0]);
		*out = p;
		*out_len = lens[0];
		return QC_OK;
	}
	uint8_t *m = NULL;
	size_t mn = 0;
	if ((rc = merge_core(updates, lens, count, &m, &mn)))
		return rc;
	if ((rc = qc_update_validate(m, mn)) == QC_OK) {
		*out = m;
		*out_len = mn;
		return QC_OK;
	}
	free(m);
	/* Yjs's merge assumes every input lists its clients in descending order
	 * (as every Yjs writer does). Given other orders it can emit a client
	 * twice, and Yjs would then drop the first section on apply. Only in
	 * that case: sort each input's sections and merge again. */
	uint8_t **norm = calloc(count, sizeof(*norm));
	size_t *nlens = calloc(count, sizeof(*nlens));
	if (!norm || !nlens) {
		rc = QC_ERR_NOMEM;
		goto done;
	}
	for (size_t i = 0; i < count; i++)
		if ((rc = normalize_sections(updates[i], lens[i], &norm[i], &nlens[i])))
			goto done;
	if ((rc = merge_core((const uint8_t *const *)norm, nlens, count, &m, &mn)))
		goto done;
	if ((rc = qc_update_validate(m, mn))) {
		free(m);
		goto done;
	}
	*out = m;
	*out_len = mn;
done:
	if (norm)
		for (size_t i = 0; i < count; i++)
			free(norm[i]);
	free(norm);
	free(nlens);
	return rc;
}

/* ---- is_empty ----------------------------------------------------------- */

int qc_update_is_empty(const uint8_t *u, size_t n)
{
	size_t structs = 0, ranges = 0;
	int rc = qc_update_counts(u, n, &structs, &ranges);
	if (rc)
		return rc;
	return structs == 0 && ranges == 0;
}
