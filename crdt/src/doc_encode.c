/* Document model: encoding the state (Y.encodeStateAsUpdate), the state
 * vector and transaction updates. */
#include "doc_internal.h"

#include <stdlib.h>

static size_t utf8_w(uint8_t c) { return c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4; }

static void write_string_from(qc_enc *e, const uint8_t *s, size_t n, uint64_t off)
{
	if (off == 0) {
		qc_write_varbytes(e, s, n);
		return;
	}
	int in_pair;
	size_t b = qd_utf8_off(s, n, off, &in_pair);
	if (in_pair) {
		static const uint8_t fffd[3] = {0xef, 0xbf, 0xbd};
		size_t i = b + utf8_w(s[b]);
		qc_write_varuint(e, (uint64_t)(n - i) + 3);
		qc_write_bytes(e, fffd, 3);
		qc_write_bytes(e, s + i, n - i);
	} else {
		qc_write_varbytes(e, s + b, n - b);
	}
}

void qd_write_content(const qc_doc *d, qc_enc *e, const qd_item *I, uint64_t offset)
{
	const uint8_t *p = d->blob + I->coff;
	switch (I->ref) {
	case REF_DELETED:
		qc_write_varuint(e, I->len - offset);
		break;
	case REF_STRING:
		if (I->cbytes == I->len)
			qc_write_varbytes(e, p + offset, I->cbytes - offset);
		else
			write_string_from(e, p, I->cbytes, offset);
		break;
	case REF_ANY:
	case REF_JSON: {
		size_t b = 0;
		if (offset) {
			qc_dec dc;
			qc_dec_init(&dc, p, I->cbytes);
			for (uint64_t i = 0; i < offset; i++) {
				if (I->ref == REF_ANY) {
					qc_any_copy(&dc, NULL, 0);
				} else {
					const uint8_t *q;
					size_t qn;
					qc_read_varbytes(&dc, &q, &qn);
				}
			}
			b = (size_t)(dc.p - p);
		}
		qc_write_varuint(e, I->len - offset);
		qc_write_bytes(e, p + b, I->cbytes - b);
		break;
	}
	case REF_BINARY:
	case REF_EMBED:
		qc_write_varbytes(e, p, I->cbytes);
		break;
	case REF_FORMAT:
	case REF_DOC:
		qc_write_bytes(e, p, I->cbytes);
		break;
	case REF_TYPE: {
		const qd_type *t = &d->types[I->coff];
		qc_write_varuint(e, t->tref);
		if (t->tref == QT_XML_ELEMENT || t->tref == QT_XML_HOOK)
			qc_write_varbytes(e, d->blob + t->name_off, t->name_len);
		break;
	}
	default:
		break;
	}
}

void qd_write_item(const qc_doc *d, qc_enc *e, uint32_t it, uint64_t offset)
{
	const qd_item *I = &d->items[it];
	if (I->ref == REF_GC) {
		qc_write_u8(e, 0);
		qc_write_varuint(e, I->len - offset);
		return;
	}
	int has_o = offset > 0 || I->ocl != QN;
	int has_r = I->rcl != QN;
	uint8_t info = (uint8_t)(I->ref | (has_o ? 0x80 : 0) | (has_r ? 0x40 : 0) | (I->key != QN ? 0x20 : 0));
	qc_write_u8(e, info);
	if (has_o) {
		if (offset > 0) {
			qc_write_varuint(e, d->clients[I->client].id);
			qc_write_varuint(e, I->clock + offset - 1);
		} else {
			qc_write_varuint(e, d->clients[I->ocl].id);
			qc_write_varuint(e, I->ock);
		}
	}
	if (has_r) {
		qc_write_varuint(e, d->clients[I->rcl].id);
		qc_write_varuint(e, I->rck);
	}
	if (!has_o && !has_r) {
		const qd_type *t = &d->types[I->parent];
		if (t->item == QN) {
			qc_write_varuint(e, 1);
			qc_write_varstring(e, d->root_names[t->root], strlen(d->root_names[t->root]));
		} else {
			const qd_item *P = &d->items[t->item];
			qc_write_varuint(e, 0);
			qc_write_varuint(e, d->clients[P->client].id);
			qc_write_varuint(e, P->clock);
		}
		if (I->key != QN)
			qc_write_varbytes(e, d->blob + d->strs[I->key].off, d->strs[I->key].len);
	}
	qd_write_content(d, e, I, offset);
}

typedef struct cw {
	uint64_t id;
	uint32_t slot;
	uint64_t from;
} cw;

static int cmp_cw(const void *a, const void *b)
{
	const cw *x = a, *y = b;
	return x->id < y->id ? 1 : x->id > y->id ? -1 : 0;
}

static int cmp_slot_desc(const void *a, const void *b, const qc_doc *d)
{
	uint64_t x = d->clients[*(const uint32_t *)a].id, y = d->clients[*(const uint32_t *)b].id;
	return x < y ? 1 : x > y ? -1 : 0;
}

/* sorted slots (client id descending) */
#define SMALL_CLIENTS 64

/* slots sorted by client id descending; uses buf when it is big enough */
static uint32_t *sorted_slots(const qc_doc *d, uint32_t *buf)
{
	uint32_t *s = d->nclients <= SMALL_CLIENTS
			      ? buf
			      : d->al.malloc((size_t)(d->nclients ? d->nclients : 1) * sizeof(uint32_t), d->al.ud);
	if (!s)
		return NULL;
	for (uint32_t i = 0; i < d->nclients; i++)
		s[i] = i;
	/* insertion sort is fine for typical client counts; fall back to a
	 * simple shell sort for many */
	for (uint32_t gap = d->nclients / 2; gap > 0; gap /= 2)
		for (uint32_t i = gap; i < d->nclients; i++)
			for (uint32_t j = i; j >= gap && cmp_slot_desc(&s[j - gap], &s[j], d) > 0; j -= gap) {
				uint32_t t = s[j];
				s[j] = s[j - gap];
				s[j - gap] = t;
			}
	return s;
}

void qd_write_ds_store(const qc_doc *d, qc_enc *e)
{
	uint32_t sbuf[SMALL_CLIENTS];
	uint32_t *slots = sorted_slots(d, sbuf);
	if (!slots) {
		e->oom = 1;
		return;
	}
	/* count clients with deletions */
	uint64_t nc = 0;
	for (uint32_t k = 0; k < d->nclients; k++) {
		const qd_client *c = &d->clients[slots[k]];
		for (uint32_t i = 0; i < c->n; i++)
			if (qd_deleted(&d->items[qd_cs(c, i)])) {
				nc++;
				break;
			}
	}
	qc_write_varuint(e, nc);
	qc_enc tmp;
	qc_enc_init(&tmp);
	for (uint32_t k = 0; k < d->nclients; k++) {
		const qd_client *c = &d->clients[slots[k]];
		uint64_t nr = 0;
		tmp.len = 0;
		for (uint32_t i = 0; i < c->n; i++) {
			const qd_item *I = &d->items[qd_cs(c, i)];
			if (!qd_deleted(I))
				continue;
			uint64_t clock = I->clock, len = I->len;
			while (i + 1 < c->n && qd_deleted(&d->items[qd_cs(c, i + 1)])) {
				i++;
				len += d->items[qd_cs(c, i)].len;
			}
			qc_write_varuint(&tmp, clock);
			qc_write_varuint(&tmp, len);
			nr++;
		}
		if (nr) {
			qc_write_varuint(e, c->id);
			qc_write_varuint(e, nr);
			qc_write_bytes(e, tmp.data, tmp.len);
		}
	}
	if (tmp.oom)
		e->oom = 1;
	qc_enc_free(&tmp);
	if (slots != sbuf)
		d->al.free(slots, d->al.ud);
}

static void write_ds_txn(const qc_doc *d, qc_enc *e, const qd_dsr *ds, size_t nds)
{
	/* ds is sorted by slot then clock: one run per client, written by
	 * descending client id (`from` holds the run's first index) */
	size_t nc = 0;
	for (size_t i = 0; i < nds; i++)
		nc += i == 0 || ds[i].client != ds[i - 1].client;
	cw wbuf[SMALL_CLIENTS];
	cw *w = nc <= SMALL_CLIENTS ? wbuf : d->al.malloc(nc * sizeof(cw), d->al.ud);
	if (!w) {
		e->oom = 1;
		return;
	}
	nc = 0;
	for (size_t i = 0; i < nds; i++) {
		if (i == 0 || ds[i].client != ds[i - 1].client) {
			w[nc].id = d->clients[ds[i].client].id;
			w[nc].slot = ds[i].client;
			w[nc].from = i;
			nc++;
		}
	}
	if (nc > 1)
		qsort(w, nc, sizeof(cw), cmp_cw);
	qc_write_varuint(e, nc);
	for (size_t k = 0; k < nc; k++) {
		size_t i = (size_t)w[k].from, end = i;
		while (end < nds && ds[end].client == w[k].slot)
			end++;
		qc_write_varuint(e, w[k].id);
		qc_write_varuint(e, end - i);
		for (; i < end; i++) {
			qc_write_varuint(e, ds[i].clock);
			qc_write_varuint(e, ds[i].len);
		}
	}
	if (w != wbuf)
		d->al.free(w, d->al.ud);
}

/* writeClientsStructs for the clients in w (nw of them; each from its
 * clock `from`), sorted here by descending id as Yjs writes them */
static void write_clients(const qc_doc *d, cw *w, size_t nw, qc_enc *out)
{
	if (nw > 1)
		qsort(w, nw, sizeof(cw), cmp_cw);
	qc_write_varuint(out, nw);
	for (size_t k = 0; k < nw; k++) {
		qc_doc *dm = (qc_doc *)d; /* find_pos updates a lookup cache only */
		const qd_client *c = &d->clients[w[k].slot];
		uint64_t clock = w[k].from;
		uint32_t pos = qd_find_pos(dm, w[k].slot, clock);
		qc_write_varuint(out, c->n - pos);
		qc_write_varuint(out, c->id);
		qc_write_varuint(out, clock);
		qd_write_item(d, out, qd_cs(c, pos), clock - d->items[qd_cs(c, pos)].clock);
		for (uint32_t i = pos + 1; i < c->n; i++)
			qd_write_item(d, out, qd_cs(c, i), 0);
	}
}

int qd_encode(const qc_doc *d, const qc_sv *sv, qc_enc *out)
{
	cw wbuf[SMALL_CLIENTS];
	cw *w = d->nclients <= SMALL_CLIENTS ? wbuf
					     : d->al.malloc((size_t)(d->nclients ? d->nclients : 1) * sizeof(cw), d->al.ud);
	if (!w)
		return QC_ERR_NOMEM;
	size_t nw = 0;
	for (uint32_t s = 0; s < d->nclients; s++) {
		uint64_t st = qd_state(d, s);
		if (!st)
			continue;
		uint64_t from = sv ? qc_sv_get(sv, d->clients[s].id) : 0;
		if (st > from) {
			w[nw].id = d->clients[s].id;
			w[nw].slot = s;
			w[nw].from = from;
			nw++;
		}
	}
	write_clients(d, w, nw, out);
	if (w != wbuf)
		d->al.free(w, d->al.ud);
	qd_write_ds_store(d, out);
	return qc_enc_ok(out) ? QC_OK : QC_ERR_NOMEM;
}

int qd_encode_event(const qc_doc *d, const qd_cb *cb, size_t ncb, const qd_dsr *ds, size_t nds, qc_enc *out)
{
	cw wbuf[SMALL_CLIENTS];
	cw *w = ncb <= SMALL_CLIENTS ? wbuf : d->al.malloc(ncb * sizeof(cw), d->al.ud);
	if (!w)
		return QC_ERR_NOMEM;
	size_t nw = 0;
	for (size_t k = 0; k < ncb; k++) {
		uint32_t s = cb[k].slot;
		if (qd_state(d, s) > cb[k].before) {
			w[nw].id = d->clients[s].id;
			w[nw].slot = s;
			w[nw].from = cb[k].before;
			nw++;
		}
	}
	write_clients(d, w, nw, out);
	if (w != wbuf)
		d->al.free(w, d->al.ud);
	write_ds_txn(d, out, ds, nds);
	return qc_enc_ok(out) ? QC_OK : QC_ERR_NOMEM;
}

static int to_doc_mem(const qc_doc *d, qc_enc *e, uint8_t **out, size_t *out_len)
{
	if (!qc_enc_ok(e)) {
		qc_enc_free(e);
		return QC_ERR_NOMEM;
	}
	uint8_t *p = d->al.malloc(e->len ? e->len : 1, d->al.ud);
	if (!p) {
		qc_enc_free(e);
		return QC_ERR_NOMEM;
	}
	memcpy(p, e->data, e->len);
	*out = p;
	*out_len = e->len;
	qc_enc_free(e);
	return QC_OK;
}

int qc_doc_state_vector(const qc_doc *d, uint8_t **out, size_t *out_len)
{
	uint32_t sbuf[SMALL_CLIENTS];
	uint32_t *slots = sorted_slots(d, sbuf);
	if (!slots)
		return QC_ERR_NOMEM;
	qc_enc e;
	qc_enc_init(&e);
	uint64_t n = 0;
	for (uint32_t k = 0; k < d->nclients; k++)
		n += qd_state(d, k) > 0;
	qc_write_varuint(&e, n);
	for (uint32_t k = 0; k < d->nclients; k++) {
		uint64_t st = qd_state(d, slots[k]);
		if (!st)
			continue;
		qc_write_varuint(&e, d->clients[slots[k]].id);
		qc_write_varuint(&e, st);
	}
	if (slots != sbuf)
		d->al.free(slots, d->al.ud);
	return to_doc_mem(d, &e, out, out_len);
}

/* max(target sv, own state) per client, encoded */
static int pending_sv(const qc_doc *d, const uint8_t *sv, size_t sv_len, qc_enc *out)
{
	qc_sv t = {0};
	int rc = sv ? qc_sv_decode(sv, sv_len, &t) : QC_OK;
	if (rc)
		return rc;
	size_t n = 0;
	qc_enc body;
	qc_enc_init(&body);
	for (size_t i = 0; i < t.n; i++) {
		uint64_t k = t.entries[i].clock, own = qd_state(d, qd_client_slot(d, t.entries[i].client));
		qc_write_varuint(&body, t.entries[i].client);
		qc_write_varuint(&body, k > own ? k : own);
		n++;
	}
	for (uint32_t s = 0; s < d->nclients; s++) {
		uint64_t own = qd_state(d, s);
		if (!own)
			continue;
		int found = 0;
		if (t.n) {
			uint64_t id = d->clients[s].id;
			size_t lo = 0, hi = t.n;
			while (lo < hi) { /* entries sorted by client descending */
				size_t mid = lo + (hi - lo) / 2;
				if (t.entries[mid].client == id) {
					found = 1;
					break;
				}
				if (t.entries[mid].client > id)
					lo = mid + 1;
				else
					hi = mid;
			}
		}
		if (!found) {
			qc_write_varuint(&body, d->clients[s].id);
			qc_write_varuint(&body, own);
			n++;
		}
	}
	qc_write_varuint(out, n);
	qc_write_bytes(out, body.data, body.len);
	if (body.oom)
		out->oom = 1;
	qc_enc_free(&body);
	qc_sv_free(&t);
	return qc_enc_ok(out) ? QC_OK : QC_ERR_NOMEM;
}

int qc_doc_encoded_size(const qc_doc *d, size_t *size)
{
	if (!d || !size)
		return QC_ERR_INVALID;
	if (d->pending || d->pending_ds) { /* the merge with the pending update needs the bytes */
		uint8_t *u;
		size_t n;
		int rc = qc_doc_encode_state(d, NULL, 0, &u, &n);
		if (rc == QC_OK) {
			*size = n;
			d->al.free(u, d->al.ud);
		}
		return rc;
	}
	qc_enc e;
	qc_enc_init_sizing(&e);
	int rc = qd_encode(d, NULL, &e);
	if (rc == QC_OK)
		*size = e.len;
	qc_enc_free(&e);
	return rc;
}

int qc_doc_encode_state(const qc_doc *d, const uint8_t *sv, size_t sv_len, uint8_t **out, size_t *out_len)
{
	qc_sv s = {0};
	int rc;
	if (sv) {
		if ((rc = qc_sv_decode(sv, sv_len, &s)))
			return rc;
	}
	qc_enc e;
	qc_enc_init(&e);
	rc = qd_encode(d, &s, &e);
	qc_sv_free(&s);
	if (rc) {
		qc_enc_free(&e);
		return rc;
	}
	if (d->pending || d->pending_ds) {
		const uint8_t *ins[3];
		size_t lens[3], k = 0;
		uint8_t *diff = NULL;
		size_t ndiff = 0;
		ins[k] = e.data;
		lens[k++] = e.len;
		if (d->pending_ds) {
			ins[k] = d->pending_ds;
			lens[k++] = d->npending_ds;
		}
		if (d->pending) {
			/* Yjs diffs the pending structs against the target state vector
			 * only; we also leave out pending structs the doc already has
			 * (stale after another path delivered them), which Yjs's merge
			 * would drop anyway except for an engine-dependent Item/GC tie */
			qc_enc svx;
			qc_enc_init(&svx);
			rc = pending_sv(d, sv, sv_len, &svx);
			if (rc == QC_OK)
				rc = qc_update_diff(d->pending, d->npending, svx.data, svx.len, &diff, &ndiff);
			qc_enc_free(&svx);
			if (rc) {
				qc_enc_free(&e);
				return rc;
			}
			ins[k] = diff;
			lens[k++] = ndiff;
		}
		uint8_t *m;
		size_t mn;
		rc = qc_update_merge(ins, lens, k, &m, &mn);
		free(diff);
		qc_enc_free(&e);
		if (rc)
			return rc;
		qc_enc_init(&e);
		qc_write_bytes(&e, m, mn);
		free(m);
	}
	return to_doc_mem(d, &e, out, out_len);
}
