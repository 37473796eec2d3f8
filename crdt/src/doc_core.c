/* Document model: lifecycle, transactions, integration of remote structs
 * (Yjs integrateStructs / Item.integrate), deletion, GC, merging, pending
 * structs and pending deletes. */
#include "doc_internal.h"

#include <stddef.h>
#include <stdlib.h>
#include <time.h>

static void *def_malloc(size_t n, void *ud)
{
	(void)ud;
	return malloc(n);
}
static void *def_realloc(void *p, size_t n, void *ud)
{
	(void)ud;
	return realloc(p, n);
}
static void def_free(void *p, void *ud)
{
	(void)ud;
	free(p);
}

void qc_doc_opts_default(qc_doc_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->gc = 1;
	o->max_pending_bytes = 1u << 20;
}

qc_doc *qc_doc_new(const qc_doc_opts *opts)
{
	qc_doc_opts def;
	if (!opts) {
		qc_doc_opts_default(&def);
		opts = &def;
	}
	qc_alloc al = {def_malloc, def_realloc, def_free, NULL};
	if (opts->alloc)
		al = *opts->alloc;
	qc_doc *d = al.malloc(sizeof(*d), al.ud);
	if (!d)
		return NULL;
	memset(d, 0, sizeof(*d));
	d->al = al;
	d->client_id = opts->client_id & 0xffffffffu;
	d->gc = opts->gc;
	d->max_pending = opts->max_pending_bytes ? opts->max_pending_bytes : (1u << 20);
	d->free_item = QN;
	d->cs_slot = QN;
	d->rng = UINT64_C(0x9e3779b97f4a7c15) ^ (uint64_t)(uintptr_t)d;
	/* the blob is never NULL, so blob + offset is always defined */
	d->blob = al.malloc(64, al.ud);
	if (!d->blob) {
		al.free(d, al.ud);
		return NULL;
	}
	d->capblob = 64;
	return d;
}

void qc_free(const qc_doc *doc, void *p)
{
	if (p)
		doc->al.free(p, doc->al.ud);
}

static void txn_free(qc_doc *d)
{
	qd_free(d, d->txn.cb);
	qd_free(d, d->txn.ds);
	qd_free(d, d->txn.merge);
	qd_free(d, d->txn.changed);
	memset(&d->txn, 0, sizeof(d->txn));
}

/* forget the update event and free its buffers */
static void event_drop(qc_doc *d)
{
	qd_event_clear(d);
	qd_free(d, d->lz_cb);
	qd_free(d, d->lz_ds);
	qd_free(d, d->last_buf);
	d->lz_cb = NULL;
	d->lz_ds = NULL;
	d->last_buf = NULL;
	d->lz_ncb = d->lz_capcb = d->lz_nds = d->lz_capds = 0;
	d->caplast = 0;
}

void qc_doc_free(qc_doc *d)
{
	if (!d)
		return;
	for (uint32_t i = 0; i < d->nclients; i++)
		qd_free(d, d->clients[i].v);
	qd_free(d, d->clients);
	qd_free(d, d->chash);
	qd_free(d, d->items);
	qd_free(d, d->blob);
	for (uint32_t i = 0; i < d->ntypes; i++)
		qd_free(d, d->types[i].cur);
	qd_free(d, d->types);
	qd_free(d, d->strs);
	qd_free(d, d->shash);
	for (uint32_t i = 0; i < d->nroots; i++)
		qd_free(d, d->root_names[i]);
	qd_free(d, d->roots);
	qd_free(d, d->root_names);
	qd_free(d, d->ments);
	qd_free(d, d->mhash);
	free(d->pending);
	free(d->pending_ds);
	qd_free(d, d->miss.c);
	qd_free(d, d->miss.k);
	qd_free(d, d->miss.h);
	txn_free(d);
	event_drop(d);
	d->al.free(d, d->al.ud);
}

uint64_t qc_doc_client_id(const qc_doc *doc) { return doc->client_id; }
void qc_doc_set_client_id(qc_doc *doc, uint64_t id) { doc->client_id = id & 0xffffffffu; }

size_t qc_doc_pending_bytes(const qc_doc *doc)
{
	return (doc->pending ? doc->npending : 0) + (doc->pending_ds ? doc->npending_ds : 0);
}

size_t qc_doc_content_bytes(const qc_doc *doc)
{
	/* the blob holds every content, name and key referenced, plus garbage:
	 * dropped deleted content and copies left by merges, counted as made.
	 * Interned strings (map keys, root names) stay for good, as the ids
	 * of deleted items do: they are not content */
	return doc ? doc->nblob - doc->blob_garbage - doc->str_bytes : 0;
}

void qc_doc_observe(qc_doc *doc, qc_observer cb, void *ud)
{
	doc->obs = cb;
	doc->obs_ud = ud;
}

/* ---- transactions ---------------------------------------------------- */

int qd_txn_begin(qc_doc *d, int local)
{
	qd_txn *t = &d->txn;
	/* the previous update event is gone now; a large one is not kept for reuse */
	qd_event_clear(d);
	if (d->caplast > 65536) {
		qd_free(d, d->last_buf);
		d->last_buf = NULL;
		d->caplast = 0;
	}
	t->active = 1;
	t->local = local;
	t->nds = t->nmerge = t->nchanged = t->ncb = 0;
	/* a new serial unmarks every client; 0 is never one */
	if (++d->txn_serial == 0) {
		for (uint32_t i = 0; i < d->nclients; i++)
			d->clients[i].txn_serial = 0;
		d->txn_serial = 1;
	}
	t->serial = d->txn_serial;
	return QC_OK;
}

int qd_touch_slow(qc_doc *d, uint32_t slot)
{
	qd_txn *t = &d->txn;
	if (t->ncb >= t->capcb && qd_grow(d, (void **)&t->cb, sizeof(qd_cb), t->ncb + 1, &t->capcb))
		return QC_ERR_NOMEM;
	qd_client *c = &d->clients[slot];
	c->txn_serial = t->serial;
	c->txn_before = (uint32_t)qd_state(d, slot); /* at most QD_CLOCK_MAX */
	t->cb[t->ncb].slot = slot;
	t->cb[t->ncb].before = c->txn_before;
	t->ncb++;
	return QC_OK;
}

/* Marks the clients of t's list as changed in t (after another transaction
 * marked some of them) */
static void txn_mark(qc_doc *d, const qd_txn *t)
{
	for (size_t k = 0; k < t->ncb; k++) {
		qd_client *c = &d->clients[t->cb[k].slot];
		c->txn_serial = t->serial;
		c->txn_before = t->cb[k].before;
	}
}

static int cmp_cb(const void *a, const void *b)
{
	const qd_cb *x = a, *y = b;
	return x->slot < y->slot ? -1 : x->slot > y->slot;
}

static void cb_sort(qd_txn *t)
{
	if (t->ncb > 16) { /* an update from many clients: no quadratic sort */
		qsort(t->cb, t->ncb, sizeof(qd_cb), cmp_cb);
		return;
	}
	for (size_t i = 1; i < t->ncb; i++) { /* few: usually one */
		qd_cb x = t->cb[i];
		size_t j = i;
		for (; j > 0 && t->cb[j - 1].slot > x.slot; j--)
			t->cb[j] = t->cb[j - 1];
		t->cb[j] = x;
	}
}


int qd_ds_add(qc_doc *d, uint32_t slot, uint64_t clock, uint64_t len)
{
	qd_txn *t = &d->txn;
	if (t->nds && t->ds[t->nds - 1].client == slot && t->ds[t->nds - 1].clock + t->ds[t->nds - 1].len == clock) {
		t->ds[t->nds - 1].len += len;
		return QC_OK;
	}
	if (t->nds >= t->capds) {
		int rc = qd_grow(d, (void **)&t->ds, sizeof(qd_dsr), t->nds + 1, &t->capds);
		if (rc)
			return rc;
	}
	t->ds[t->nds].client = slot;
	t->ds[t->nds].clock = clock;
	t->ds[t->nds].len = len;
	t->nds++;
	return QC_OK;
}

static int merge_push(qc_doc *d, uint32_t it)
{
	qd_txn *t = &d->txn;
	if (t->nmerge >= t->capmerge) {
		int rc = qd_grow(d, (void **)&t->merge, sizeof(qd_mid), t->nmerge + 1, &t->capmerge);
		if (rc)
			return rc;
	}
	t->merge[t->nmerge].client = d->items[it].client;
	t->merge[t->nmerge].hint = QN;
	t->merge[t->nmerge].clock = d->items[it].clock;
	t->nmerge++;
	return QC_OK;
}

void qd_changed_slow(qc_doc *d, uint32_t type)
{
	qd_type *ty = &d->types[type];
	qd_txn *t = &d->txn;
	if (t->nchanged >= t->capchanged &&
	    qd_grow(d, (void **)&t->changed, sizeof(uint32_t), t->nchanged + 1, &t->capchanged))
		return; /* observers miss it on OOM */
	ty->changed = 1;
	t->changed[t->nchanged++] = type;
}

/* ---- deletion -------------------------------------------------------- */

typedef struct u32vec {
	uint32_t *v;
	size_t n, cap;
} u32vec;

static int vpush(qc_doc *d, u32vec *s, uint32_t x)
{
	if (s->n >= s->cap) {
		int rc = qd_grow(d, (void **)&s->v, sizeof(uint32_t), s->n + 1, &s->cap);
		if (rc)
			return rc;
	}
	s->v[s->n++] = x;
	return QC_OK;
}

static int delete_one(qc_doc *d, uint32_t it, u32vec *types)
{
	qd_item *I = &d->items[it];
	if (qd_deleted(I))
		return QC_OK;
	if (I->parent != QN) {
		if (qd_countable(I) && I->key == QN)
			d->types[I->parent].length -= I->len;
		qd_changed(d, I->parent);
	}
	I->flags |= IF_DELETED;
	int rc = qd_ds_add(d, I->client, I->clock, I->len);
	if (rc)
		return rc;
	if (I->ref == REF_TYPE)
		return vpush(d, types, I->coff);
	return QC_OK;
}

/* Item.delete, with ContentType.delete's recursion made iterative. */
int qd_item_delete(qc_doc *d, uint32_t it)
{
	u32vec types = {0};
	int rc = delete_one(d, it, &types);
	while (rc == QC_OK && types.n) {
		uint32_t ty = types.v[--types.n];
		for (uint32_t c = d->types[ty].start; c != QN && rc == QC_OK; c = d->items[c].right) {
			qd_item *C = &d->items[c];
			if (!qd_deleted(C))
				rc = delete_one(d, c, &types);
			else if (C->clock < qd_before(d, C->client))
				rc = merge_push(d, c);
		}
		for (uint32_t e = d->types[ty].map_head; e != QN && rc == QC_OK; e = d->ments[e].next) {
			uint32_t c = d->ments[e].item;
			if (c == QN)
				continue;
			qd_item *C = &d->items[c];
			if (!qd_deleted(C))
				rc = delete_one(d, c, &types);
			else if (C->clock < qd_before(d, C->client))
				rc = merge_push(d, c);
		}
	}
	qd_free(d, types.v);
	return rc;
}

/* ---- GC ------------------------------------------------------------- */

static void gc_convert(qc_doc *d, uint32_t it, int parent_gcd, u32vec *types)
{
	qd_item *I = &d->items[it];
	if (I->ref == REF_GC)
		return;
	if (I->ref == REF_TYPE) {
		vpush(d, types, I->coff); /* on OOM the children stay as deleted items */
		/* an XmlElement's / XmlHook's name goes with its content */
		d->blob_garbage += d->types[I->coff].name_len;
		d->types[I->coff].name_len = 0;
	} else {
		d->blob_garbage += I->cbytes;
	}
	if (parent_gcd) {
		I->ref = REF_GC;
		I->flags = IF_DELETED;
		I->parent = QN;
		I->key = QN;
		I->left = I->right = QN;
		I->ocl = I->rcl = QN;
		I->ock = I->rck = 0;
	} else {
		I->ref = REF_DELETED;
	}
	I->coff = 0;
	I->cbytes = 0;
}

static void item_gc(qc_doc *d, uint32_t it)
{
	u32vec types = {0};
	gc_convert(d, it, 0, &types);
	while (types.n) {
		uint32_t ty = types.v[--types.n];
		qd_type *T = &d->types[ty];
		uint32_t c = T->start;
		T->start = QN;
		T->ncur = 0;
		while (c != QN) {
			uint32_t nx = d->items[c].right;
			gc_convert(d, c, 1, &types);
			c = nx;
		}
		for (uint32_t e = d->types[ty].map_head; e != QN; e = d->ments[e].next) {
			uint32_t m = d->ments[e].item;
			d->ments[e].item = QN;
			while (m != QN) {
				uint32_t nx = d->items[m].left;
				gc_convert(d, m, 1, &types);
				m = nx;
			}
		}
		d->types[ty].map_head = d->types[ty].map_tail = QN;
		d->types[ty].length = 0;
	}
	qd_free(d, types.v);
}

/* ---- merging --------------------------------------------------------- */

static int content_merge(qc_doc *d, qd_item *L, const qd_item *R)
{
	switch (L->ref) {
	case REF_DELETED:
		return 1;
	case REF_STRING:
	case REF_ANY:
	case REF_JSON:
		if (L->coff + L->cbytes == R->coff || R->cbytes == 0) {
			L->cbytes += R->cbytes;
			return 1;
		}
		if (L->cbytes == 0) {
			L->coff = R->coff;
			L->cbytes = R->cbytes;
			return 1;
		}
		{
			size_t need = d->nblob + L->cbytes + R->cbytes;
			if (need > UINT32_MAX)
				return 0;
			if (need > d->capblob && qd_grow(d, (void **)&d->blob, 1, need, &d->capblob))
				return 0;
			uint32_t off = (uint32_t)d->nblob;
			memcpy(d->blob + off, d->blob + L->coff, L->cbytes);
			memcpy(d->blob + off + L->cbytes, d->blob + R->coff, R->cbytes);
			d->nblob = need;
			d->blob_garbage += (size_t)L->cbytes + R->cbytes;
			L->coff = off;
			L->cbytes += R->cbytes;
			return 1;
		}
	default:
		return 0;
	}
}

/* Whether try_merge_pair could merge R (item ri) into L; cheap, inlined
 * into the loops that try every struct of a transaction. */
static inline int may_merge(const qd_item *L, const qd_item *R, uint32_t ri)
{
	if (L->ref == REF_GC || R->ref == REF_GC)
		return L->ref == R->ref;
	/* & rather than &&: whether neighbours merge is unpredictable, so
	 * one combined test beats a chain of jumps */
	return (L->ref == R->ref) & (R->ocl == L->client) & (R->ock == L->clock + L->len - 1) & (L->right == ri) &
	       (qd_deleted(L) == qd_deleted(R));
}

static int try_merge_pair(qc_doc *d, uint32_t li, uint32_t ri)
{
	qd_item *L = &d->items[li], *R = &d->items[ri];
	if (!may_merge(L, R, ri))
		return 0;
	if (L->ref == REF_GC) {
		L->len += R->len;
		return 1;
	}
	if (L->rcl != R->rcl || (L->rcl != QN && L->rck != R->rck) || L->client != R->client ||
	    L->clock + L->len != R->clock)
		return 0;
	uint64_t llen = L->len;
	if (!content_merge(d, L, R))
		return 0;
	L = &d->items[li];
	R = &d->items[ri];
	if (L->parent != QN) {
		qd_type *T = &d->types[L->parent];
		for (uint8_t k = 0; k < T->ncur; k++) {
			if (T->cur[k].item == ri) {
				T->cur[k].item = li;
				if (!qd_deleted(L) && qd_countable(L))
					T->cur[k].pos -= llen;
			}
		}
	}
	if (R->flags & IF_KEEP)
		L->flags |= IF_KEEP;
	L->right = R->right;
	if (L->right != QN)
		d->items[L->right].left = li;
	L->len += R->len;
	if (R->key != QN && R->parent != QN && qd_map_get(d, R->parent, R->key) == ri)
		qd_map_set(d, R->parent, R->key, li);
	return 1;
}

/* Yjs tryToMergeWithLefts; returns the number of structs merged away. */
static uint32_t merge_lefts(qc_doc *d, uint32_t slot, uint32_t pos)
{
	qd_client *c = &d->clients[slot];
	uint32_t i = pos;
	for (; i > 0; i--) {
		if (!try_merge_pair(d, qd_cs(c, i - 1), qd_cs(c, i)))
			break;
	}
	uint32_t merged = pos - i;
	if (merged) {
		for (uint32_t k = i + 1; k <= pos; k++) {
			uint32_t r = qd_cs(c, k);
			d->items[r].ref = REF_DEAD;
			d->items[r].right = d->free_item;
			d->free_item = r;
		}
		qd_cs_remove(c, i + 1, merged);
		c->last_hit = 0;
	}
	return merged;
}

static int cmp_dsr(const void *a, const void *b)
{
	const qd_dsr *x = a, *y = b;
	if (x->client != y->client)
		return x->client < y->client ? -1 : 1;
	return x->clock < y->clock ? -1 : x->clock > y->clock;
}

static void ds_sort_merge(qd_dsr *r, size_t *n)
{
	if (*n < 2)
		return;
	for (size_t i = 1; i < *n; i++) {
		if (cmp_dsr(&r[i - 1], &r[i]) > 0) {
			qsort(r, *n, sizeof(*r), cmp_dsr);
			break;
		}
	}
	size_t j = 1;
	for (size_t i = 1; i < *n; i++) {
		qd_dsr *L = &r[j - 1];
		if (L->client == r[i].client && L->clock + L->len >= r[i].clock) {
			uint64_t e = r[i].clock + r[i].len;
			if (e > L->clock + L->len)
				L->len = e - L->clock;
		} else {
			r[j++] = r[i];
		}
	}
	*n = j;
}

void qd_observe_emit(qc_doc *d); /* doc_edit.c */

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

uint64_t qd_new_client_id(qc_doc *d)
{
	for (;;) {
		uint64_t id = splitmix(&d->rng) & 0xffffffffu;
		if (qd_client_slot(d, id) == QN)
			return id;
	}
}

/* GC and merging at the end of a transaction (the `finally` block of Yjs
 * cleanupTransactions) over d->txn. */
static void txn_gc_merge(qc_doc *d)
{
	qd_txn *t = &d->txn;
	uint32_t hint = QN;
	if (d->gc) {
		for (size_t k = t->nds; k-- > 0;) {
			qd_dsr *r = &t->ds[k];
			qd_client *c = &d->clients[r->client];
			uint64_t end = r->clock + r->len;
			if (k + 1 == t->nds || t->ds[k + 1].client != r->client)
				hint = QN;
			hint = qd_find_pos_near(d, r->client, r->clock, hint);
			for (uint32_t si = hint; si < c->n; si++) {
				qd_item *I = &d->items[qd_cs(c, si)];
				if (I->clock >= end)
					break;
				if (I->ref != REF_GC && (I->flags & IF_DELETED) && !(I->flags & IF_KEEP))
					item_gc(d, qd_cs(c, si));
			}
		}
	}
	for (size_t k = t->nds; k-- > 0;) {
		qd_dsr *r = &t->ds[k];
		qd_client *c = &d->clients[r->client];
		if (r->clock >= qd_before(d, r->client))
			continue; /* new structs: the pass below merges all of them */
		if (k + 1 == t->nds || t->ds[k + 1].client != r->client)
			hint = QN;
		hint = qd_find_pos_near(d, r->client, r->clock + r->len - 1, hint);
		uint32_t most = hint + 1;
		if (most > c->n - 1)
			most = c->n - 1;
		for (int64_t si = most; si > 0 && d->items[qd_cs(c, si)].clock >= r->clock;)
			si -= 1 + (int64_t)merge_lefts(d, r->client, (uint32_t)si);
	}
	for (size_t k = 0; k < t->ncb; k++) {
		uint32_t s = t->cb[k].slot;
		uint64_t b = t->cb[k].before;
		if (qd_state(d, s) == b)
			continue;
		qd_client *c = &d->clients[s];
		uint32_t first = qd_find_pos(d, s, b);
		if (first < 1)
			first = 1;
		for (int64_t i = (int64_t)c->n - 1; i >= (int64_t)first;) {
			uint32_t ri = qd_cs(c, (uint32_t)i);
			if (!may_merge(&d->items[qd_cs(c, (uint32_t)i - 1)], &d->items[ri], ri))
				i--; /* most new structs: merge_lefts would stop at once */
			else
				i -= 1 + (int64_t)merge_lefts(d, s, (uint32_t)i);
		}
	}
	for (size_t k = t->nmerge; k-- > 0;) {
		uint32_t s = t->merge[k].client;
		uint32_t pos = qd_find_pos_near(d, s, t->merge[k].clock, t->merge[k].hint);
		if (pos + 1 < d->clients[s].n && merge_lefts(d, s, pos + 1) > 1)
			continue;
		if (pos > 0)
			merge_lefts(d, s, pos);
	}
}

static int txn_changed_state(qc_doc *d)
{
	for (size_t k = 0; k < d->txn.ncb; k++)
		if (qd_state(d, d->txn.cb[k].slot) != d->txn.cb[k].before)
			return 1;
	return 0;
}

static int txn_update(qc_doc *d, qc_enc *e, int *has)
{
	qd_txn *t = &d->txn;
	*has = 0;
	if (!t->nds && !txn_changed_state(d))
		return QC_OK;
	int rc = qd_encode_event(d, t->cb, t->ncb, t->ds, t->nds, e);
	*has = rc == QC_OK;
	return rc;
}

static int keep_last(qc_doc *d, const uint8_t *src, size_t n)
{
	if (d->caplast < n) {
		uint8_t *nb = qd_realloc(d, d->last_buf, n);
		if (!nb)
			return QC_ERR_NOMEM;
		d->last_buf = nb;
		d->caplast = n;
	}
	memcpy(d->last_buf, src, n);
	d->last_update = d->last_buf;
	d->nlast_update = n;
	return QC_OK;
}

/* Encodes the pending update event (on its first read). On failure the event
 * stays pending, so a later read may still produce it. */
static int encode_event(qc_doc *d)
{
	if (!d->lz_pending)
		return QC_OK;
	qc_enc e;
	qc_enc_init(&e);
	int rc = qd_encode_event(d, d->lz_cb, d->lz_ncb, d->lz_ds, d->lz_nds, &e);
	if (rc == QC_OK)
		rc = keep_last(d, e.data, e.len);
	qc_enc_free(&e);
	if (rc != QC_OK)
		return rc;
	d->lz_pending = 0;
	if (d->lz_capds > 1024) {
		qd_free(d, d->lz_ds);
		d->lz_ds = NULL;
		d->lz_capds = d->lz_nds = 0;
	}
	return QC_OK;
}

const uint8_t *qc_doc_last_update(const qc_doc *doc, size_t *len)
{
	qc_doc *d = (qc_doc *)doc;
	*len = 0;
	if (encode_event(d) != QC_OK || !d->last_update)
		return NULL;
	*len = d->nlast_update;
	return d->last_update;
}

int qc_doc_take_event(qc_doc *d, uint8_t **out, size_t *len)
{
	*out = NULL;
	*len = 0;
	if (!d || d->txn.active)
		return QC_OK;
	int rc = encode_event(d);
	if (rc != QC_OK || !d->last_update)
		return rc;
	/* last_update is last_buf: hand the buffer over, the next event gets a new one */
	*out = d->last_buf;
	*len = d->nlast_update;
	d->last_buf = NULL;
	d->caplast = 0;
	qd_event_clear(d);
	return QC_OK;
}

uint8_t *qc_doc_take_last_update(qc_doc *d, size_t *len)
{
	uint8_t *p;
	return qc_doc_take_event(d, &p, len) == QC_OK ? p : NULL;
}

int qd_format_cleanup(qc_doc *d, const uint32_t *order, size_t norder, const qd_dsr *ds, size_t nds,
		      const qd_cb *cb, size_t ncb); /* doc_edit.c */

/* Scratch buffers above this many entries are freed after use. */
#define TRIM_KEEP 1024

static int is_ytext(const qd_type *T) { return T->tref == QT_TEXT || T->tref == QT_XML_TEXT; }

int qd_txn_end(qc_doc *d)
{
	qd_txn *t = &d->txn;
	int rc = QC_OK;
	/* client order of the delete set as Yjs's Map would keep it */
	uint32_t *order = NULL, order_small[16];
	uint8_t seen_small[64];
	size_t norder = 0;
	if (!t->local && t->nds) {
		/* the first few clients are found by a scan of order, so a
		 * transaction does not pay for a table over all clients */
		order = qd_scratch(d, order_small, 16, t->nds, sizeof(uint32_t));
		uint8_t *seen = NULL;
		for (size_t i = 0; i < t->nds && order; i++) {
			uint32_t s = t->ds[i].client;
			int dup = 0;
			if (seen)
				dup = seen[s];
			else
				for (size_t k = norder; k-- > 0 && !dup;)
					dup = order[k] == s;
			if (dup)
				continue;
			if (!seen && norder == 32) {
				seen = qd_scratch(d, seen_small, 64, d->nclients, 1);
				if (!seen) { /* only an allocation can fail */
					qd_scratch_free(d, order, order_small);
					order = NULL;
					break;
				}
				memset(seen, 0, d->nclients);
				for (size_t k = 0; k < norder; k++)
					seen[order[k]] = 1;
			}
			if (seen)
				seen[s] = 1;
			order[norder++] = s;
		}
		if (seen)
			qd_scratch_free(d, seen, seen_small);
	}
	ds_sort_merge(t->ds, &t->nds);
	cb_sort(t);
	/* observers first: they read content that GC is about to drop */
	if (d->obs && (t->nchanged || t->nds))
		qd_observe_emit(d);
	int need_cleanup = 0;
	for (size_t i = 0; i < t->nchanged; i++) {
		qd_type *T = &d->types[t->changed[i]];
		T->changed = 0;
		int live = T->item == QN || !qd_deleted(&d->items[T->item]);
		/* a remote change drops the position cache */
		if (!t->local)
			T->ncur = 0;
		if (!t->local && live && is_ytext(T) && T->has_formatting &&
		    (T->item == QN || d->items[T->item].clock < qd_before(d, d->items[T->item].client)))
			need_cleanup = 1;
	}
	/* YText formatting cleanup after a remote transaction: a second, local
	 * transaction that runs before this one's GC (as in Yjs) */
	qd_txn t2;
	int have2 = 0;
	if (need_cleanup) {
		qd_txn t1 = *t;
		memset(t, 0, sizeof(*t));
		rc = qd_txn_begin(d, 1);
		if (rc == QC_OK) {
			rc = qd_format_cleanup(d, order, norder, t1.ds, t1.nds, t1.cb, t1.ncb);
			ds_sort_merge(t->ds, &t->nds);
			for (size_t i = 0; i < t->nchanged; i++)
				d->types[t->changed[i]].changed = 0;
			t2 = *t;
			have2 = 1;
		}
		/* The cleanup only deletes, so it changes no client's state and
		 * t1's list stays complete (Yjs takes t1's afterState before it
		 * runs). The marks are t1's again in any case. */
		*t = t1;
		txn_mark(d, t);
	}
	qd_scratch_free(d, order, order_small);
	txn_gc_merge(d);
	if (d->blob_garbage > 65536 && d->blob_garbage > d->nblob / 2 && !have2)
		qd_blob_compact(d); /* on failure the old blob stays */
	if (!t->local) {
		uint32_t own = qd_client_slot(d, d->client_id);
		if (own != QN && qd_state(d, own) != qd_before(d, own))
			d->client_id = qd_new_client_id(d);
	}
	/* the update event */
	qd_event_clear(d);
	if (!have2) {
		/* encoded on demand by qc_doc_last_update */
		if (rc == QC_OK && (t->nds || txn_changed_state(d))) {
			/* hand the transaction's buffers over (the old ones become the
			 * next transaction's) */
#define SWAP(T, a, b)                \
	do {                         \
		T t_ = (a);          \
		(a) = (b);           \
		(b) = t_;            \
	} while (0)
			SWAP(qd_cb *, d->lz_cb, t->cb);
			SWAP(size_t, d->lz_capcb, t->capcb);
			SWAP(qd_dsr *, d->lz_ds, t->ds);
			SWAP(size_t, d->lz_capds, t->capds);
#undef SWAP
			d->lz_ncb = t->ncb;
			d->lz_nds = t->nds;
			d->lz_pending = 1;
		}
	} else {
		qc_enc e1, e2;
		qc_enc_init(&e1);
		qc_enc_init(&e2);
		int has1 = 0, has2 = 0;
		int rc1 = txn_update(d, &e1, &has1);
		if (rc == QC_OK)
			rc = rc1;
		qd_txn t1 = *t;
		*t = t2;
		txn_mark(d, t);
		txn_gc_merge(d);
		int rc2 = txn_update(d, &e2, &has2);
		if (rc == QC_OK)
			rc = rc2;
		txn_free(d); /* t2's buffers */
		*t = t1;
		if (rc == QC_OK && (has1 || has2)) {
			const uint8_t *src = has1 ? e1.data : e2.data;
			size_t n = has1 ? e1.len : e2.len;
			uint8_t *merged = NULL;
			if (has1 && has2) {
				const uint8_t *ins[2] = {e1.data, e2.data};
				size_t lens[2] = {e1.len, e2.len};
				rc = qc_update_merge(ins, lens, 2, &merged, &n);
				src = merged;
			}
			if (rc == QC_OK)
				rc = keep_last(d, src, n);
			free(merged);
		}
		qc_enc_free(&e1);
		qc_enc_free(&e2);
	}
	t->ncb = 0;
	t->active = 0;
	t->nds = t->nmerge = t->nchanged = 0;
	/* a large transaction's scratch is not kept for the next one */
	if (t->capds > TRIM_KEEP) {
		qd_free(d, t->ds);
		t->ds = NULL;
		t->capds = 0;
	}
	if (t->capmerge > TRIM_KEEP) {
		qd_free(d, t->merge);
		t->merge = NULL;
		t->capmerge = 0;
	}
	if (t->capchanged > TRIM_KEEP) {
		qd_free(d, t->changed);
		t->changed = NULL;
		t->capchanged = 0;
	}
	return rc;
}

/* ---- integration of remote structs ---------------------------------- */

/* Membership sets of the conflict scan: item -> epoch of the conflict set. */
typedef struct iset {
	uint32_t *k, *v;
	uint32_t cap, n;
	uint32_t epoch;
} iset;

static int iset_add(qc_doc *d, iset *s, uint32_t item)
{
	if ((s->n + 1) * 2 > s->cap) {
		uint32_t cap = s->cap ? s->cap * 2 : 32;
		uint32_t *k = qd_malloc(d, cap * sizeof(uint32_t)), *v = qd_malloc(d, cap * sizeof(uint32_t));
		if (!k || !v) {
			qd_free(d, k);
			qd_free(d, v);
			return QC_ERR_NOMEM;
		}
		memset(k, 0xff, cap * sizeof(uint32_t));
		for (uint32_t i = 0; i < s->cap; i++) {
			if (s->k[i] == QN)
				continue;
			uint32_t h = (s->k[i] * 2654435761u) & (cap - 1);
			while (k[h] != QN)
				h = (h + 1) & (cap - 1);
			k[h] = s->k[i];
			v[h] = s->v[i];
		}
		qd_free(d, s->k);
		qd_free(d, s->v);
		s->k = k;
		s->v = v;
		s->cap = cap;
	}
	uint32_t h = (item * 2654435761u) & (s->cap - 1);
	while (s->k[h] != QN && s->k[h] != item)
		h = (h + 1) & (s->cap - 1);
	if (s->k[h] == QN)
		s->n++;
	s->k[h] = item;
	s->v[h] = s->epoch;
	return QC_OK;
}

/* 0: absent, 1: in before-origin only, 2: also in the current conflict set */
static int iset_get(const iset *s, uint32_t item)
{
	if (!s->cap)
		return 0;
	uint32_t h = (item * 2654435761u) & (s->cap - 1);
	while (s->k[h] != QN) {
		if (s->k[h] == item)
			return s->v[h] == s->epoch ? 2 : 1;
		h = (h + 1) & (s->cap - 1);
	}
	return 0;
}

static inline int same_origin(const qd_item *a, const qd_item *b)
{
	if (a->ocl == QN || b->ocl == QN)
		return a->ocl == b->ocl;
	return a->ocl == b->ocl && a->ock == b->ock;
}

static inline int same_rorigin(const qd_item *a, const qd_item *b)
{
	if (a->rcl == QN || b->rcl == QN)
		return a->rcl == b->rcl;
	return a->rcl == b->rcl && a->rck == b->rck;
}

/* Item.integrate for an item already filled in (id, origins, left, right,
 * parent, key, content) but not linked. */
static int integrate_item(qc_doc *d, uint32_t it)
{
	qd_item *I = &d->items[it];
	uint32_t parent = I->parent;
	uint32_t left = I->left, right = I->right;
	int rc;
	if ((left == QN && (right == QN || d->items[right].left != QN)) ||
	    (left != QN && d->items[left].right != right)) {
		uint32_t o;
		if (left != QN) {
			o = d->items[left].right;
		} else if (I->key != QN) {
			o = qd_map_get(d, parent, I->key);
			while (o != QN && d->items[o].left != QN)
				o = d->items[o].left;
		} else {
			o = d->types[parent].start;
		}
		iset set = {0};
		set.epoch = 1;
		rc = QC_OK;
		while (o != QN && o != right) {
			if ((rc = iset_add(d, &set, o)))
				break;
			I = &d->items[it];
			const qd_item *O = &d->items[o];
			if (same_origin(I, O)) {
				if (d->clients[O->client].id < d->clients[I->client].id) {
					left = o;
					set.epoch++;
				} else if (same_rorigin(I, O)) {
					break;
				}
			} else if (O->ocl != QN) {
				uint32_t oo = qd_find(d, O->ocl, O->ock);
				int m = iset_get(&set, oo);
				if (m == 0)
					break;
				if (m == 1) {
					left = o;
					set.epoch++;
				}
			} else {
				break;
			}
			o = d->items[o].right;
		}
		qd_free(d, set.k);
		qd_free(d, set.v);
		if (rc)
			return rc;
		I = &d->items[it];
		I->left = left;
	}
	qd_type *T = &d->types[parent];
	if (left != QN) {
		right = d->items[left].right;
		d->items[left].right = it;
	} else if (I->key != QN) {
		uint32_t r = qd_map_get(d, parent, I->key);
		while (r != QN && d->items[r].left != QN)
			r = d->items[r].left;
		right = r;
	} else {
		right = T->start;
		T->start = it;
	}
	I->right = right;
	if (right != QN) {
		d->items[right].left = it;
	} else if (I->key != QN) {
		if ((rc = qd_map_set(d, parent, I->key, it)))
			return rc;
		if (left != QN && (rc = qd_item_delete(d, left)))
			return rc;
	}
	I = &d->items[it];
	T = &d->types[parent];
	if (I->key == QN && qd_countable(I) && !(I->flags & IF_DELETED))
		T->length += I->len;
	return QC_OK;
}

static int store_append(qc_doc *d, uint32_t slot, uint32_t it)
{
	return qd_cs_append(d, slot, it);
}

/* Finish Item.integrate after linking: store, content integrate, parent
 * bookkeeping and the delete-if-parent-deleted/lost-map-race rule. */
static int integrate_finish(qc_doc *d, uint32_t it)
{
	qd_item *I = &d->items[it];
	int rc = store_append(d, I->client, it);
	if (rc)
		return rc;
	I = &d->items[it];
	uint32_t parent = I->parent;
	if (I->ref == REF_DELETED) {
		I->flags |= IF_DELETED;
		if ((rc = qd_ds_add(d, I->client, I->clock, I->len)))
			return rc;
	} else if (I->ref == REF_TYPE) {
		d->types[I->coff].item = it;
	} else if (I->ref == REF_FORMAT) {
		/* ContentFormat.integrate: search markers are off for rich text */
		d->types[parent].has_formatting = 1;
		d->types[parent].ncur = 0;
	}
	qd_changed(d, parent);
	uint32_t pit = d->types[parent].item;
	if ((pit != QN && qd_deleted(&d->items[pit])) || (I->key != QN && I->right != QN))
		return qd_item_delete(d, it);
	return QC_OK;
}

int qd_integrate_local(qc_doc *d, uint32_t it)
{
	int rc = integrate_item(d, it);
	return rc ? rc : integrate_finish(d, it);
}

static int integrate_gc(qc_doc *d, uint32_t slot, uint64_t clock, uint64_t len)
{
	uint32_t it;
	int rc = qd_item_new(d, &it);
	if (rc)
		return rc;
	qd_item *I = &d->items[it];
	memset(I, 0, sizeof(*I));
	I->clock = clock;
	I->len = len;
	I->client = slot;
	I->ocl = I->rcl = QN;
	I->left = I->right = I->parent = I->key = QN;
	I->ref = REF_GC;
	I->flags = IF_DELETED;
	return store_append(d, slot, it);
}

/* ---- content ingestion ------------------------------------------------ */

/* Copy the content of st, minus its first `cut` units, into the blob in the
 * normalised form Yjs would write back, and fill I's content fields. */
static int ingest_content(qc_doc *d, const qc_st *st, uint64_t cut, uint32_t it)
{
	qc_dec dc;
	qc_dec_init(&dc, st->content, (size_t)(st->content_end - st->content));
	qd_item *I = &d->items[it];
	I->coff = 0;
	I->cbytes = 0;
	if (st->ref == REF_DELETED) /* a test, not the jump table */
		return QC_OK;
	int rc = QC_OK;
	switch (st->ref) {
	case REF_DELETED:
		return QC_OK;
	case REF_STRING: {
		const uint8_t *sp;
		size_t n;
		/* the reader checked the UTF-8 (read_content) */
		if ((rc = qc_read_varbytes(&dc, &sp, &n)))
			return rc;
		const char *s = (const char *)sp;
		int in_pair;
		size_t b = qd_utf8_off((const uint8_t *)s, n, cut, &in_pair);
		uint32_t off;
		if (in_pair) {
			static const uint8_t fffd[3] = {0xef, 0xbf, 0xbd};
			if ((rc = qd_blob_put(d, fffd, 3, &off)))
				return rc;
			uint32_t o2;
			if ((rc = qd_blob_put(d, s + b + 4, n - b - 4, &o2)))
				return rc;
			I = &d->items[it];
			I->coff = off;
			I->cbytes = (uint32_t)(n - b - 4 + 3);
		} else {
			if ((rc = qd_blob_put(d, s + b, n - b, &off)))
				return rc;
			I = &d->items[it];
			I->coff = off;
			I->cbytes = (uint32_t)(n - b);
		}
		return QC_OK;
	}
	case REF_ANY:
	case REF_JSON: {
		uint64_t count;
		if ((rc = qc_read_varuint(&dc, &count)))
			return rc;
		qc_enc e;
		qc_enc_init(&e);
		for (uint64_t i = 0; i < count && rc == QC_OK; i++) {
			if (st->ref == REF_ANY) {
				rc = qc_any_copy(&dc, i < cut ? NULL : &e, 0);
			} else {
				const char *s;
				size_t n;
				rc = qc_read_varstring(&dc, &s, &n);
				if (rc || i < cut)
					continue;
				if (n == 9 && memcmp(s, "undefined", 9) == 0) {
					qc_write_varstring(&e, s, n);
				} else {
					qd_buf b = {0};
					rc = qd_json_normalize(s, n, &b);
					if (rc == QC_OK)
						qc_write_varstring(&e, b.p ? b.p : "", b.n);
					free(b.p);
				}
			}
		}
		if (rc == QC_OK && !qc_enc_ok(&e))
			rc = QC_ERR_NOMEM;
		uint32_t off = 0;
		if (rc == QC_OK)
			rc = qd_blob_put(d, e.data, e.len, &off);
		if (rc == QC_OK) {
			I = &d->items[it];
			I->coff = off;
			I->cbytes = (uint32_t)e.len;
		}
		qc_enc_free(&e);
		return rc;
	}
	case REF_BINARY: {
		const uint8_t *p;
		size_t n;
		uint32_t off;
		if ((rc = qc_read_varbytes(&dc, &p, &n)) || (rc = qd_blob_put(d, p, n, &off)))
			return rc;
		I = &d->items[it];
		I->coff = off;
		I->cbytes = (uint32_t)n;
		return QC_OK;
	}
	case REF_EMBED:
	case REF_FORMAT: {
		qc_enc e;
		qc_enc_init(&e);
		const char *s;
		size_t n;
		if (st->ref == REF_FORMAT) {
			if ((rc = qc_read_varstring(&dc, &s, &n)))
				return rc;
			qc_write_varstring(&e, s, n);
		}
		if ((rc = qc_read_varstring(&dc, &s, &n))) {
			qc_enc_free(&e);
			return rc;
		}
		qd_buf b = {0};
		rc = qd_json_normalize(s, n, &b);
		if (rc == QC_OK) {
			if (st->ref == REF_FORMAT)
				qc_write_varstring(&e, b.p ? b.p : "", b.n);
			else
				qc_write_bytes(&e, b.p, b.n);
		}
		free(b.p);
		uint32_t off = 0;
		if (rc == QC_OK && !qc_enc_ok(&e))
			rc = QC_ERR_NOMEM;
		if (rc == QC_OK)
			rc = qd_blob_put(d, e.data, e.len, &off);
		if (rc == QC_OK) {
			I = &d->items[it];
			I->coff = off;
			I->cbytes = (uint32_t)e.len;
		}
		qc_enc_free(&e);
		return rc;
	}
	case REF_TYPE: {
		uint64_t tref;
		if ((rc = qc_read_varuint(&dc, &tref)))
			return rc;
		uint32_t ty;
		if ((rc = qd_type_new(d, (uint8_t)tref, it, &ty)))
			return rc;
		if (tref == QT_XML_ELEMENT || tref == QT_XML_HOOK) {
			const char *s;
			size_t n;
			uint32_t off;
			if ((rc = qc_read_varstring(&dc, &s, &n)) || (rc = qd_blob_put(d, s, n, &off)))
				return rc;
			d->types[ty].name_off = off;
			d->types[ty].name_len = (uint32_t)n;
		}
		I = &d->items[it];
		I->coff = ty;
		return QC_OK;
	}
	case REF_DOC: {
		const char *s;
		size_t n;
		qc_enc e;
		qc_enc_init(&e);
		if ((rc = qc_read_varstring(&dc, &s, &n)))
			return rc;
		qc_write_varstring(&e, s, n);
		rc = qc_any_copy(&dc, &e, 0);
		uint32_t off = 0;
		if (rc == QC_OK && !qc_enc_ok(&e))
			rc = QC_ERR_NOMEM;
		if (rc == QC_OK)
			rc = qd_blob_put(d, e.data, e.len, &off);
		if (rc == QC_OK) {
			I = &d->items[it];
			I->coff = off;
			I->cbytes = (uint32_t)e.len;
		}
		qc_enc_free(&e);
		return rc;
	}
	default:
		return QC_ERR_INVALID;
	}
}

/* ---- integrateStructs -------------------------------------------------- */

typedef struct cref {
	uint64_t client;
	qc_st *refs;
	size_t n, i;
	int gone; /* removed from the id list */
} cref;

/* An update of up to SMALL_STRUCTS structs, SMALL_RANGES delete ranges and
 * SMALL_CLIENTS clients (most: an edit's worth) is read and integrated in
 * buffers on the stack. */
#define SMALL_STRUCTS 4
#define SMALL_RANGES 4
#define SMALL_CLIENTS 4

/* per-client arrays of ictx for updates with few clients */
typedef struct ictx_small {
	cref cr[SMALL_CLIENTS];
	qc_st *rest[SMALL_CLIENTS];
	size_t nrest[SMALL_CLIENTS];
} ictx_small;

typedef struct ictx {
	qc_doc *d;
	qc_st *sts;
	size_t nsts;
	cref *cr;
	size_t ncr;
	/* rest: per client a list of structs */
	qc_st **rest;
	size_t *nrest;
	/* missing sv of this round */
	qd_mmap miss;
	ictx_small *small; /* cr / rest / nrest when the clients fit */
} ictx;

static cref *cref_any(ictx *x, uint64_t client)
{
	size_t lo = 0, hi = x->ncr;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (x->cr[mid].client == client)
			return &x->cr[mid];
		if (x->cr[mid].client < client)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static cref *cref_of(ictx *x, uint64_t client)
{
	cref *c = cref_any(x, client);
	return c && !c->gone ? c : NULL;
}

/* client -> min clock maps (open addressing over parallel arrays, with the
 * insertion order kept in the first n slots of an index array) */
static int mmap_put_min(qc_doc *d, qd_mmap *m, uint64_t client, uint64_t clock)
{
	if (m->hcap) {
		for (size_t i = qd_hash64(client) & (m->hcap - 1);; i = (i + 1) & (m->hcap - 1)) {
			uint32_t e = m->h[i];
			if (!e)
				break;
			if (m->c[e - 1] == client) {
				if (m->k[e - 1] > clock)
					m->k[e - 1] = clock;
				return QC_OK;
			}
		}
	}
	if (m->n >= m->cap) {
		size_t c1 = m->cap, c2 = m->cap;
		int rc = qd_grow(d, (void **)&m->c, 8, m->n + 1, &c1);
		if (!rc)
			rc = qd_grow(d, (void **)&m->k, 8, m->n + 1, &c2);
		if (rc)
			return rc;
		m->cap = c1 < c2 ? c1 : c2;
	}
	m->c[m->n] = client;
	m->k[m->n] = clock;
	m->n++;
	if (m->n * 2 > m->hcap) {
		size_t hc = m->hcap ? m->hcap * 2 : 16;
		while (hc < m->n * 2)
			hc *= 2;
		uint32_t *h = qd_malloc(d, hc * sizeof(uint32_t));
		if (!h) {
			m->n--;
			return QC_ERR_NOMEM;
		}
		memset(h, 0, hc * sizeof(uint32_t));
		qd_free(d, m->h);
		m->h = h;
		m->hcap = hc;
		for (size_t e = 0; e < m->n; e++) {
			size_t i = qd_hash64(m->c[e]) & (hc - 1);
			while (m->h[i])
				i = (i + 1) & (hc - 1);
			m->h[i] = (uint32_t)(e + 1);
		}
	} else {
		size_t i = qd_hash64(client) & (m->hcap - 1);
		while (m->h[i])
			i = (i + 1) & (m->hcap - 1);
		m->h[i] = (uint32_t)m->n;
	}
	return QC_OK;
}

static void mmap_free(qc_doc *d, qd_mmap *m)
{
	qd_free(d, m->c);
	qd_free(d, m->k);
	qd_free(d, m->h);
	memset(m, 0, sizeof(*m));
}

static int missing_add(ictx *x, uint64_t client, uint64_t clock) { return mmap_put_min(x->d, &x->miss, client, clock); }

static void mmap_clear(qd_mmap *m)
{
	m->n = 0;
	if (m->h)
		memset(m->h, 0, m->hcap * sizeof(uint32_t));
}

static uint64_t state_of(qc_doc *d, uint64_t client) { return qd_state(d, qd_client_slot(d, client)); }

typedef struct stack {
	qc_st **v;
	size_t n, cap;
} stack;

static int rest_set(ictx *x, size_t crix, qc_st *from, size_t n)
{
	/* rest for client of cr[crix]: a pointer into sts, n structs */
	x->rest[crix] = from;
	x->nrest[crix] = n;
	return QC_OK;
}

static void add_stack_to_rest(ictx *x, stack *stk)
{
	for (size_t k = 0; k < stk->n; k++) {
		qc_st *item = stk->v[k];
		cref *c = cref_of(x, item->client);
		if (c) {
			c->i--;
			rest_set(x, (size_t)(c - x->cr), c->refs + c->i, c->n - c->i);
			c->gone = 1;
			c->i = 0;
			c->n = 0;
		} else {
			cref *a = cref_any(x, item->client);
			/* Yjs replaces the client's rest by this single struct */
			rest_set(x, (size_t)(a - x->cr), item, 1);
		}
	}
	stk->n = 0;
}

/* Resolution of Item.getMissing: returns 1 and *missing if a dependency is
 * absent, 0 when resolved (left/right/parent set in *I), <0 on error. */
typedef struct resolved {
	uint32_t left, right, parent;
	uint32_t oslot, rslot; /* client slots of origin / right origin (QN: none) */
	int gc;
} resolved;

static int get_missing(qc_doc *d, const qc_st *st, uint32_t slot, uint64_t local, uint64_t *missing, resolved *res)
{
	uint32_t oslot = QN, rslot = QN;
	uint64_t ostate = 0, rstate = 0; /* the states of their clients */
	if (st->has_origin) {
		/* most origins are the struct's own client (slot, state local) */
		oslot = st->oc == st->client ? slot : qd_client_slot(d, st->oc);
		ostate = st->oc == st->client ? local : qd_state(d, oslot);
		if (st->oc != st->client && st->ok >= ostate) {
			*missing = st->oc;
			return 1;
		}
	}
	if (st->has_right) {
		rslot = st->rc == st->client ? slot : qd_client_slot(d, st->rc);
		rstate = st->rc == st->client ? local : qd_state(d, rslot);
		if (st->rc != st->client && st->rk >= rstate) {
			*missing = st->rc;
			return 1;
		}
	}
	if (st->parent_kind == 2 && st->pc != st->client && st->pk >= state_of(d, st->pc)) {
		*missing = st->pc;
		return 1;
	}
	int err = QC_OK;
	res->left = res->right = res->parent = QN;
	res->oslot = oslot;
	res->rslot = rslot;
	res->gc = 0;
	if (st->has_origin) {
		/* same-client origins below our own clock exist since offset >= 0 */
		if (oslot == QN || st->ok >= ostate)
			return QC_ERR_INVALID;
		res->left = qd_clean_end(d, oslot, st->ok, &err);
		if (err)
			return err;
	}
	if (st->has_right) {
		if (rslot == QN || st->rk >= rstate)
			return QC_ERR_INVALID;
		/* without concurrency the right origin is the left's neighbour,
		 * which then starts at rk: no search */
		uint32_t nb = res->left != QN ? d->items[res->left].right : QN;
		if (nb != QN && d->items[nb].clock == st->rk && d->items[nb].client == rslot)
			res->right = nb;
		else
			res->right = qd_clean_start(d, rslot, st->rk, &err);
		if (err)
			return err;
	}
	int lgc = res->left != QN && d->items[res->left].ref == REF_GC;
	int rgc = res->right != QN && d->items[res->right].ref == REF_GC;
	if (lgc || rgc) {
		res->gc = 1;
	} else if (st->parent_kind == 0 || (st->has_origin || st->has_right)) {
		if (res->left != QN) {
			res->parent = d->items[res->left].parent;
		} else if (res->right != QN) {
			res->parent = d->items[res->right].parent;
		}
		if (res->parent == QN)
			res->gc = 1;
	} else if (st->parent_kind == 2) {
		uint32_t slot = qd_client_slot(d, st->pc);
		if (slot == QN || st->pk >= qd_state(d, slot))
			return QC_ERR_INVALID; /* same-client parent not yet there: Yjs would throw */
		uint32_t p = qd_find(d, slot, st->pk);
		if (d->items[p].ref != REF_TYPE)
			res->gc = 1;
		else
			res->parent = d->items[p].coff;
	} else {
		int rc = qd_root(d, (const char *)st->pname, st->pname_n, &res->parent);
		if (rc)
			return rc;
	}
	return 0;
}

/* The string item that the transaction end would merge into item `it` (by
 * `client` at `clock`, in `parent`, placed right after `it` with `right` as
 * its neighbour and (rcl, rck) as right origin, rcl QN for none) extends `it`
 * in place instead, when `it` can take it: a live string item whose content
 * ends the arena. The document and the update event are the same as by
 * integrating and merging. Not with observers, whose event reading wants
 * the inserted item on its own. Returns 1 if it did, 0 if nothing changed. */
int qd_extend_string(qc_doc *d, uint32_t it, uint32_t client, uint64_t clock, uint32_t parent, uint32_t right,
		     uint32_t rcl, uint32_t rck, const void *bytes, size_t nbytes, uint64_t len)
{
	qd_item *L = &d->items[it];
	if (d->obs || L->client != client || (uint64_t)L->clock + L->len != clock || L->ref != REF_STRING ||
	    qd_deleted(L) || L->key != QN || L->parent != parent || L->right != right || L->rcl != rcl ||
	    (rcl != QN && L->rck != rck) || (uint64_t)L->coff + L->cbytes != d->nblob ||
	    nbytes > UINT32_MAX - L->cbytes)
		return 0;
	uint32_t off;
	if (qd_touch(d, client) != QC_OK || qd_blob_put(d, bytes, nbytes, &off) != QC_OK)
		return 0;
	L = &d->items[it];
	L->cbytes += (uint32_t)nbytes;
	L->len += (uint32_t)len;
	d->types[parent].length += len;
	qd_changed(d, parent);
	return 1;
}

/* A remote string item that continues its client's newest item: see
 * qd_extend_string. A delete of the new part in the same update splits it
 * off again, as the merge would not have happened. */
static int extend_remote(qc_doc *d, uint32_t slot, const qc_st *st, const resolved *res)
{
	if (st->ref != REF_STRING || st->off || res->left == QN || st->has_psub)
		return 0;
	qc_dec dc;
	qc_dec_init(&dc, st->content, (size_t)(st->content_end - st->content));
	const uint8_t *sp;
	size_t n;
	if (qc_read_varbytes(&dc, &sp, &n) != QC_OK)
		return 0;
	return qd_extend_string(d, res->left, slot, st->clock, res->parent, res->right, st->has_right ? res->rslot : QN,
				(uint32_t)st->rk, sp, n, st->len);
}

/* Integrate one struct (Item or GC) at offset. */
static int integrate_st(qc_doc *d, const qc_st *st, uint32_t slot, uint64_t offset, const resolved *res)
{
	int rc = slot != QN ? QC_OK : qd_client_get(d, st->client, &slot);
	if (rc)
		return rc;
	if (st->kind == QC_ST_GC)
		return integrate_gc(d, slot, st->clock + offset, st->len - offset);
	if (res->gc || res->parent == QN)
		return integrate_gc(d, slot, st->clock + offset, st->len - offset);
	/* not in a big update (a load): there later structs often have their
	 * origin in the middle of what would be extended, and split it again */
	if (offset == 0 && !d->big_update && extend_remote(d, slot, st, res))
		return QC_OK;
	uint32_t it;
	if ((rc = qd_item_new(d, &it)))
		return rc;
	qd_item *I = &d->items[it];
	memset(I, 0, sizeof(*I));
	I->ref = REF_DEAD; /* until filled */
	I->client = slot;
	I->clock = st->clock;
	I->len = st->len;
	I->left = res->left;
	I->right = res->right;
	I->parent = res->parent;
	I->key = QN;
	I->ocl = I->rcl = QN;
	if (st->has_origin) {
		I->ocl = res->oslot;
		I->ock = st->ok;
	}
	if (st->has_right) {
		I->rcl = res->rslot;
		I->rck = st->rk;
	}
	if (res->left != QN) {
		const qd_item *L = &d->items[res->left];
		I->key = L->key;
	} else if (res->right != QN) {
		I->key = d->items[res->right].key;
	}
	if (!st->has_origin && !st->has_right && st->has_psub) {
		uint32_t k;
		if ((rc = qd_intern(d, (const char *)st->psub, st->psub_n, &k)))
			goto fail;
		d->items[it].key = k;
	}
	if (offset > 0) {
		int err = QC_OK;
		uint32_t l = qd_clean_end(d, slot, st->clock + offset - 1, &err);
		if (err) {
			rc = err;
			goto fail;
		}
		I = &d->items[it];
		I->clock += offset;
		I->len -= offset;
		I->left = l;
		I->ocl = slot;
		I->ock = I->clock - 1;
	}
	if ((rc = ingest_content(d, st, st->off + offset, it)))
		goto fail;
	d->items[it].ref = st->ref;
	if ((rc = integrate_item(d, it)))
		return rc;
	return integrate_finish(d, it);
fail:
	d->items[it].ref = REF_DEAD;
	d->items[it].right = d->free_item;
	d->free_item = it;
	return rc;
}

static int cmp_cref(const void *a, const void *b)
{
	const cref *x = a, *y = b;
	return x->client < y->client ? -1 : x->client > y->client;
}


/* Runs integrateStructs over the structs of one update. On return *rest
 * holds the encoded rest update (malloc) or NULL. */
static int integrate_structs(qc_doc *d, qc_st *sts, size_t nsts, uint8_t **rest_out, size_t *rest_len, ictx *x,
			     ictx_small *small)
{
	int rc = QC_OK;
	*x = (ictx){.d = d, .small = small};
	*rest_out = NULL;
	*rest_len = 0;
	if (!nsts)
		return QC_OK;
	/* group by client (sections are contiguous and unique after validation) */
	size_t ncr = 0;
	for (size_t i = 0; i < nsts; i++)
		if (i == 0 || sts[i].client != sts[i - 1].client)
			ncr++;
	x->cr = qd_scratch(d, small->cr, SMALL_CLIENTS, ncr, sizeof(cref));
	x->rest = qd_scratch(d, small->rest, SMALL_CLIENTS, ncr, sizeof(qc_st *));
	x->nrest = qd_scratch(d, small->nrest, SMALL_CLIENTS, ncr, sizeof(size_t));
	if (!x->cr || !x->rest || !x->nrest)
		return QC_ERR_NOMEM;
	for (size_t i = 0; i < nsts; i++) {
		if (i == 0 || sts[i].client != sts[i - 1].client) {
			cref *c = &x->cr[x->ncr++];
			c->client = sts[i].client;
			c->refs = &sts[i];
			c->n = 0;
			c->i = 0;
			c->gone = 0;
		}
		x->cr[x->ncr - 1].n++;
	}
	if (x->ncr > 1)
		qsort(x->cr, x->ncr, sizeof(cref), cmp_cref);
	for (size_t i = 0; i < x->ncr; i++) {
		x->rest[i] = NULL;
		x->nrest[i] = 0;
	}
	/* ids list: ascending; take from the end */
	size_t nids = x->ncr;
	stack stk = {0};
#define NEXT_TARGET(out)                                                                           \
	do {                                                                                       \
		(out) = NULL;                                                                      \
		while (nids > 0) {                                                                 \
			cref *c_ = &x->cr[nids - 1];                                               \
			if (!c_->gone && c_->i < c_->n) {                                          \
				(out) = c_;                                                        \
				break;                                                             \
			}                                                                          \
			nids--;                                                                    \
		}                                                                                  \
	} while (0)
	cref *cur;
	NEXT_TARGET(cur);
	if (!cur)
		goto done;
	qc_st *head = &cur->refs[cur->i++];
	for (;;) {
		if (head->kind != QC_ST_SKIP && head->len > 0) {
			uint32_t hslot = qd_client_slot(d, head->client);
			uint64_t local = qd_state(d, hslot);
			if (local < head->clock) {
				if (stk.n >= stk.cap && (rc = qd_grow(d, (void **)&stk.v, sizeof(qc_st *), stk.n + 1, &stk.cap)))
					goto done;
				stk.v[stk.n++] = head;
				if ((rc = missing_add(x, head->client, head->clock - 1)))
					goto done;
				add_stack_to_rest(x, &stk);
			} else {
				uint64_t offset = local - head->clock;
				uint64_t miss = 0;
				resolved res = {QN, QN, QN, QN, QN, 0};
				int m = head->kind == QC_ST_ITEM ? get_missing(d, head, hslot, local, &miss, &res) : 0;
				if (m < 0) {
					rc = m;
					goto done;
				}
				if (m == 1) {
					if (stk.n >= stk.cap && (rc = qd_grow(d, (void **)&stk.v, sizeof(qc_st *), stk.n + 1, &stk.cap)))
						goto done;
					stk.v[stk.n++] = head;
					cref *c = cref_of(x, miss);
					if (!c || c->i >= c->n) {
						if ((rc = missing_add(x, miss, state_of(d, miss))))
							goto done;
						add_stack_to_rest(x, &stk);
					} else {
						head = &c->refs[c->i++];
						continue;
					}
				} else if (offset < head->len) {
					if ((rc = integrate_st(d, head, hslot, offset, &res)))
						goto done;
				}
			}
		}
		if (stk.n > 0) {
			head = stk.v[--stk.n];
		} else if (cur && !cur->gone && cur->i < cur->n) {
			head = &cur->refs[cur->i++];
		} else {
			NEXT_TARGET(cur);
			if (!cur)
				break;
			head = &cur->refs[cur->i++];
		}
	}
#undef NEXT_TARGET
	/* encode the rest: clients descending */
	{
		size_t nr = 0;
		for (size_t i = 0; i < x->ncr; i++)
			nr += x->nrest[i] > 0;
		if (nr) {
			qc_lw w;
			qc_lw_init(&w);
			for (size_t i = x->ncr; i-- > 0;) {
				for (size_t k = 0; k < x->nrest[i] && rc == QC_OK; k++)
					rc = qc_lw_write(&w, &x->rest[i][k]);
			}
			qc_enc e;
			qc_enc_init(&e);
			if (rc == QC_OK)
				rc = qc_lw_finish(&w, &e);
			qc_write_u8(&e, 0);
			if (rc == QC_OK && !qc_enc_ok(&e))
				rc = QC_ERR_NOMEM;
			if (rc == QC_OK)
				*rest_out = qc_enc_take(&e, rest_len);
			qc_enc_free(&e);
			qc_lw_free(&w);
		}
	}
done:
	qd_free(d, stk.v);
	return rc;
}

static void ictx_free(qc_doc *d, ictx *x)
{
	if (x->small) { /* set up by integrate_structs */
		qd_scratch_free(d, x->cr, x->small->cr);
		qd_scratch_free(d, x->rest, x->small->rest);
		qd_scratch_free(d, x->nrest, x->small->nrest);
	}
	mmap_free(d, &x->miss);
}

/* ---- delete sets ----------------------------------------------------- */

/* readAndApplyDeleteSet: applies what it can; the rest as an update (malloc). */
static int apply_ds(qc_doc *d, const qc_ds *ds, uint8_t **rest, size_t *rest_len)
{
	int rc = QC_OK;
	qc_ds un = {0};
	uint32_t hint_slot = QN, hint = QN;
	*rest = NULL;
	*rest_len = 0;
	for (size_t i = 0; i < ds->n && rc == QC_OK; i++) {
		const qc_ds_range *r = &ds->r[i];
		uint32_t slot = qd_client_slot(d, r->client);
		uint64_t state = qd_state(d, slot);
		uint64_t clock = r->clock, end = r->clock + r->len;
		if (slot != hint_slot) {
			hint_slot = slot;
			hint = QN;
		}
		if (clock < state) {
			if (state < end) {
				qc_ds_range x = {r->client, state, end - state, un.n};
				if (un.n >= un.cap && (rc = qd_grow(d, (void **)&un.r, sizeof(qc_ds_range), un.n + 1, &un.cap)))
					break;
				un.r[un.n++] = x;
			}
			qd_client *c = &d->clients[slot];
			uint32_t idx = hint = qd_find_pos_near(d, slot, clock, hint);
			uint32_t s = qd_cs(c, idx);
			if (!qd_deleted(&d->items[s]) && d->items[s].clock < clock) {
				uint32_t rr;
				if ((rc = qd_split_at(d, s, idx, clock - d->items[s].clock, &rr)))
					break;
				idx++;
			}
			while (idx < d->clients[slot].n) {
				s = qd_cs(&d->clients[slot], idx++);
				qd_item *I = &d->items[s];
				if (I->clock >= end)
					break;
				if (!qd_deleted(I)) {
					if (end < I->clock + I->len) {
						uint32_t rr;
						if ((rc = qd_split_at(d, s, idx - 1, end - I->clock, &rr)))
							break;
					}
					if ((rc = qd_item_delete(d, s)))
						break;
				}
			}
		} else {
			qc_ds_range x = {r->client, clock, end - clock, un.n};
			if (un.n >= un.cap && (rc = qd_grow(d, (void **)&un.r, sizeof(qc_ds_range), un.n + 1, &un.cap)))
				break;
			un.r[un.n++] = x;
		}
	}
	if (rc == QC_OK && un.n) {
		qc_ds_sort_clients(&un);
		qc_enc e;
		qc_enc_init(&e);
		qc_write_u8(&e, 0);
		qc_ds_write(&e, &un);
		if (!qc_enc_ok(&e))
			rc = QC_ERR_NOMEM;
		else
			*rest = qc_enc_take(&e, rest_len);
		qc_enc_free(&e);
	}
	qd_free(d, un.r);
	return rc;
}

/* ---- apply ------------------------------------------------------------ */

static int merge2(uint8_t **a, size_t *an, uint8_t *b, size_t bn)
{
	const uint8_t *ins[2] = {*a, b};
	size_t lens[2] = {*an, bn};
	uint8_t *out;
	size_t on;
	int rc = qc_update_merge(ins, lens, 2, &out, &on);
	if (rc)
		return rc;
	free(*a);
	free(b);
	*a = out;
	*an = on;
	return QC_OK;
}

/* An update with this many structs (a document load, typically) is followed by
 * qd_trim: the arenas are fitted to what the document holds. */
#define TRIM_AFTER 1024

/* Reads and checks the structs of an update into *out: the caller's buffer
 * `small` (nsmall entries) while they fit, else an allocation. */
static int read_structs(qc_doc *d, const uint8_t *u, size_t n, qc_st *small, size_t nsmall, qc_st **out,
			size_t *nout, qc_ds *ds)
{
	qc_rd rd;
	int rc = qc_rd_init(&rd, u, n, 0);
	rd.track_clients = 1;
	qc_st *v = small;
	size_t nv = 0, cap = nsmall, nroots = 0, bytes = 0;
	while (rc == QC_OK) {
		/* room for the rest of this client's section at once (a struct
		 * takes at least two bytes, so a lying count cannot inflate it) */
		if (nv >= cap) {
			size_t more = qc_dec_left(&rd.d) / 2;
			if (rd.structs_left < more)
				more = (size_t)rd.structs_left;
			qc_st *old = v == small ? NULL : v;
			if ((rc = qd_grow(d, (void **)&old, sizeof(qc_st), nv + 1 + more, &cap)))
				break;
			if (v == small)
				memcpy(old, small, nv * sizeof(qc_st));
			v = old;
		}
		const qc_st *st = &v[nv];
		int r = qc_rd_next_into(&rd, &v[nv]);
		if (r <= 0) {
			rc = r;
			break;
		}
		nv++;
		/* semantic checks that integration relies on, before anything
		 * changes: references to the item's own client must point below
		 * its clock (Yjs would throw half-way through), root names must
		 * not contain NUL */
		if (st->len > QD_CLOCK_MAX || st->clock > QD_CLOCK_MAX - st->len) {
			rc = QC_ERR_CLOCK; /* clocks are stored in 32 bits */
			break;
		}
		if (st->kind != QC_ST_ITEM)
			continue;
		int parented = !st->has_origin && !st->has_right; /* parent info on the wire */
		if ((st->has_origin && st->oc == st->client && st->ok >= st->clock) ||
		    (st->has_right && st->rc == st->client && st->rk >= st->clock) ||
		    (parented && st->parent_kind == 2 && st->pc == st->client && st->pk >= st->clock) ||
		    (parented && st->parent_kind == 1 && memchr(st->pname, 0, st->pname_n))) {
			rc = QC_ERR_INVALID;
			break;
		}
		nroots += parented && st->parent_kind == 1;
		/* content bytes but for Deleted (no jump: the two alternate) */
		bytes += (size_t)(st->content_end - st->content) & -(size_t)(st->ref != 1);
	}
	if (rc == QC_OK)
		rc = qc_rd_end(&rd, ds, NULL);
	qc_rd_free(&rd);
	/* Yjs creates root types while reading (doc.get) */
	for (size_t i = 0; i < nv && nroots && rc == QC_OK; i++) {
		const qc_st *st = &v[i];
		if (st->kind == QC_ST_ITEM && st->parent_kind == 1 && !st->has_origin && !st->has_right) {
			uint32_t t;
			rc = qd_root(d, (const char *)st->pname, st->pname_n, &t);
			nroots--;
		}
	}
	if (rc) {
		if (v != small)
			qd_free(d, v);
		return rc;
	}
	if (nv >= TRIM_AFTER) {
		d->big_update = 1;
		rc = qd_reserve(d, nv, bytes);
		if (rc) {
			qd_free(d, v);
			return rc;
		}
	}
	*out = v;
	*nout = nv;
	return QC_OK;
}

/* What of the update being applied went to the pending sets (for
 * qc_doc_update_held): each client's end clock among its structs left
 * pending, and whether delete ranges were. */
typedef struct held {
	struct {
		uint64_t client, end;
	} *c;
	size_t n;
	int ds;
	int oom;
} held;

static void held_note(qc_doc *d, held *h, const ictx *x)
{
	size_t k = 0;
	for (size_t i = 0; i < x->ncr; i++)
		k += x->nrest[i] > 0;
	if (!k)
		return;
	if (!(h->c = qd_malloc(d, k * sizeof *h->c))) {
		h->oom = 1; /* then called held: the caller cannot tell */
		return;
	}
	for (size_t i = 0; i < x->ncr; i++) {
		if (!x->nrest[i])
			continue;
		const qc_st *last = &x->rest[i][x->nrest[i] - 1];
		h->c[h->n].client = last->client;
		h->c[h->n++].end = last->clock + last->len;
	}
}

static int apply_inner(qc_doc *d, const uint8_t *u, size_t n, held *h)
{
	qc_st small[SMALL_STRUCTS];
	qc_ds_range small_ds[SMALL_RANGES];
	qc_st *sts = NULL;
	size_t nsts = 0;
	qc_ds ds = {small_ds, 0, SMALL_RANGES, small_ds};
	int rc = read_structs(d, u, n, small, SMALL_STRUCTS, &sts, &nsts, &ds);
	if (rc) {
		qc_ds_free(&ds);
		return rc;
	}
	uint8_t *rest = NULL;
	size_t nrest = 0;
	ictx x;
	ictx_small xs;
	rc = integrate_structs(d, sts, nsts, &rest, &nrest, &x, &xs);
	int retry = 0;
	if (rc == QC_OK && h && rest)
		held_note(d, h, &x);
	if (rc == QC_OK) {
		if (d->pending) {
			for (size_t i = 0; i < d->miss.n; i++)
				if (d->miss.k[i] < state_of(d, d->miss.c[i]))
					retry = 1;
			if (rest) {
				for (size_t k = 0; k < x.miss.n && rc == QC_OK; k++)
					rc = mmap_put_min(d, &d->miss, x.miss.c[k], x.miss.k[k]);
				if (rc == QC_OK)
					rc = merge2(&d->pending, &d->npending, rest, nrest);
				else
					free(rest);
				rest = NULL;
			}
		} else if (rest) {
			d->pending = rest;
			d->npending = nrest;
			rest = NULL;
			qd_mmap t = d->miss;
			d->miss = x.miss;
			x.miss = t;
			mmap_clear(&x.miss);
		}
	}
	free(rest);
	ictx_free(d, &x);
	if (sts != small)
		qd_free(d, sts);
	if (rc == QC_OK) {
		uint8_t *dsrest = NULL;
		size_t ndsrest = 0;
		rc = apply_ds(d, &ds, &dsrest, &ndsrest);
		if (h && dsrest)
			h->ds = 1;
		if (rc == QC_OK && d->pending_ds) {
			qc_ds pds = {0};
			qc_dec dc;
			uint64_t zero;
			qc_dec_init(&dc, d->pending_ds, d->npending_ds);
			rc = qc_read_varuint(&dc, &zero);
			if (rc == QC_OK)
				rc = qc_ds_read(&dc, &pds, NULL);
			uint8_t *r2 = NULL;
			size_t n2 = 0;
			if (rc == QC_OK)
				rc = apply_ds(d, &pds, &r2, &n2);
			free(pds.r);
			free(d->pending_ds);
			d->pending_ds = NULL;
			d->npending_ds = 0;
			if (rc == QC_OK) {
				if (dsrest && r2) {
					rc = merge2(&dsrest, &ndsrest, r2, n2);
				} else if (r2) {
					dsrest = r2;
					ndsrest = n2;
				}
			} else {
				free(r2);
			}
		}
		if (rc == QC_OK) {
			d->pending_ds = dsrest;
			d->npending_ds = ndsrest;
		} else {
			free(dsrest);
		}
	}
	qc_ds_free(&ds);
	if (rc == QC_OK && retry && d->pending) {
		uint8_t *p = d->pending;
		size_t pn = d->npending;
		d->pending = NULL;
		d->npending = 0;
		mmap_clear(&d->miss);
		rc = apply_inner(d, p, pn, NULL);
		free(p);
	}
	return rc;
}

int qc_doc_load(qc_doc *d, const uint8_t *u, size_t n)
{
	int rc = qc_doc_apply_update(d, u, n);
	qc_doc_trim(d);
	return rc;
}

void qc_doc_trim(qc_doc *d)
{
	if (!d || d->txn.active)
		return;
	event_drop(d);
	txn_free(d); /* transaction scratch, empty between transactions */
	if (d->blob_garbage)
		qd_blob_compact(d); /* on failure the old blob stays */
	qd_trim(d);
}

int qc_doc_apply_update(qc_doc *d, const uint8_t *u, size_t n)
{
	if (!d || (!u && n) || d->txn.active)
		return QC_ERR_INVALID;
	int rc;
	/* apply_inner reads and checks the whole update before it changes anything */
	d->held = 0;
	if ((rc = qd_txn_begin(d, 0)))
		return rc;
	held h = {0};
	rc = apply_inner(d, u, n, &h);
	/* what went pending may have integrated since, when the update filled
	 * in what older pending structs waited for (the retry in apply_inner) */
	int hd = h.oom || (h.ds && d->pending_ds);
	for (size_t k = 0; k < h.n && !hd; k++)
		hd = state_of(d, h.c[k].client) < h.c[k].end;
	qd_free(d, h.c);
	int rc2 = qd_txn_end(d);
	if (rc == QC_OK)
		rc = rc2;
	d->held = rc == QC_OK && hd; /* 0 for a failed call, the transaction end's failure included */
	if (d->big_update) {
		d->big_update = 0;
		qd_trim(d);
	}
	if (rc == QC_OK && qc_doc_pending_bytes(d) > d->max_pending) {
		free(d->pending);
		free(d->pending_ds);
		d->pending = d->pending_ds = NULL;
		d->npending = d->npending_ds = 0;
		mmap_clear(&d->miss);
		d->held = 0;
		rc = QC_ERR_PENDING; /* what integrated stays, as its update event */
	}
	return rc;
}

int qc_doc_update_held(const qc_doc *d) { return d && d->held; }
