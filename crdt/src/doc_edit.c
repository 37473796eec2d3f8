/* Document model: local edits (what Y.Text / Y.Array / Y.Map methods do)
 * and observers. */
#include "doc_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

uint64_t qd_new_client_id(qc_doc *d);

/* ---- transaction helpers ------------------------------------------------ */

static int local_begin(qc_doc *d, uint32_t *own)
{
	if (d->txn.active)
		return QC_ERR_INVALID;
	if (d->client_id == 0) {
		d->rng ^= (uint64_t)time(NULL) * UINT64_C(0x9e3779b97f4a7c15);
		d->client_id = qd_new_client_id(d);
	}
	int rc = qd_client_get(d, d->client_id, own);
	if (rc)
		return rc;
	return qd_txn_begin(d, 1);
}

static int local_end(qc_doc *d, int rc)
{
	int rc2 = qd_txn_end(d);
	return rc ? rc : rc2;
}

static int root_of(qc_doc *d, const char *root, uint8_t tref, uint32_t *t)
{
	if (!root)
		return QC_ERR_INVALID;
	int rc = qd_root_cstr(d, root, t);
	if (rc)
		return rc;
	if (d->types[*t].tref == QT_UNKNOWN) {
		/* Doc.get(name, YText) replaces the AbstractType by a fresh YText:
		 * _hasFormatting false, empty search markers */
		d->types[*t].tref = tref;
		d->types[*t].has_formatting = 0;
		d->types[*t].ncur = 0;
	} else if (d->types[*t].tref != tref) {
		return QC_ERR_INVALID; /* Yjs: defined with a different constructor */
	}
	return QC_OK;
}

int qc_doc_declare_root(qc_doc *d, const char *root, int kind)
{
	if (!d || !root || d->txn.active ||
	    (kind != QC_ROOT_ARRAY && kind != QC_ROOT_MAP && kind != QC_ROOT_TEXT && kind != QC_ROOT_XML_FRAGMENT))
		return QC_ERR_INVALID;
	uint32_t t;
	return root_of(d, root, (uint8_t)kind, &t);
}

/* Create and integrate an item of our own between left and right. */
static int local_item(qc_doc *d, uint32_t own, uint32_t left, uint32_t right, uint32_t parent, uint32_t key,
		      uint8_t ref, const void *content, size_t cbytes, uint64_t len, uint32_t *out)
{
	uint32_t off = 0;
	if (len > QD_CLOCK_MAX - qd_state(d, own))
		return QC_ERR_CLOCK;
	int rc = qd_blob_put(d, content, cbytes, &off);
	if (rc)
		return rc;
	uint32_t it;
	if ((rc = qd_item_new(d, &it)))
		return rc;
	qd_item *I = &d->items[it];
	memset(I, 0, sizeof(*I));
	I->client = own;
	I->clock = qd_state(d, own);
	I->len = len;
	I->left = left;
	I->right = right;
	I->parent = parent;
	I->key = key;
	I->ocl = I->rcl = QN;
	if (left != QN) {
		const qd_item *L = &d->items[left];
		I->ocl = L->client;
		I->ock = L->clock + L->len - 1;
	}
	if (right != QN) {
		I->rcl = d->items[right].client;
		I->rck = d->items[right].clock;
	}
	I->coff = off;
	I->cbytes = (uint32_t)cbytes;
	I->ref = ref;
	if (out)
		*out = it;
	return qd_integrate_local(d, it);
}

/* ---- attribute sets (Y.Text formatting) --------------------------------- */

typedef struct av {
	char *k, *v; /* key, normalised JSON value ("null" = remove) */
	size_t kn, vn;
} av;

typedef struct aset {
	av *a;
	size_t n, cap;
} aset;

static void aset_free(aset *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->a[i].k);
		free(s->a[i].v);
	}
	free(s->a);
	memset(s, 0, sizeof(*s));
}

static av *aset_get(const aset *s, const char *k, size_t kn)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->a[i].kn == kn && memcmp(s->a[i].k, k, kn) == 0)
			return &s->a[i];
	return NULL;
}

static int aset_set(aset *s, const char *k, size_t kn, const char *v, size_t vn)
{
	av *x = aset_get(s, k, kn);
	char *nv = malloc(vn + 1);
	if (!nv)
		return QC_ERR_NOMEM;
	memcpy(nv, v, vn);
	nv[vn] = 0;
	if (x) {
		free(x->v);
		x->v = nv;
		x->vn = vn;
		return QC_OK;
	}
	if (s->n >= s->cap) {
		size_t c = s->cap ? s->cap * 2 : 4;
		av *na = realloc(s->a, c * sizeof(av));
		if (!na) {
			free(nv);
			return QC_ERR_NOMEM;
		}
		s->a = na;
		s->cap = c;
	}
	char *nk = malloc(kn + 1);
	if (!nk) {
		free(nv);
		return QC_ERR_NOMEM;
	}
	memcpy(nk, k, kn);
	nk[kn] = 0;
	s->a[s->n].k = nk;
	s->a[s->n].kn = kn;
	s->a[s->n].v = nv;
	s->a[s->n].vn = vn;
	s->n++;
	return QC_OK;
}

static void aset_del(aset *s, const char *k, size_t kn)
{
	av *x = aset_get(s, k, kn);
	if (!x)
		return;
	free(x->k);
	free(x->v);
	size_t i = (size_t)(x - s->a);
	memmove(&s->a[i], &s->a[i + 1], (s->n - i - 1) * sizeof(av));
	s->n--;
}

static int aset_copy(aset *dst, const aset *src)
{
	for (size_t i = 0; i < src->n; i++) {
		int rc = aset_set(dst, src->a[i].k, src->a[i].kn, src->a[i].v, src->a[i].vn);
		if (rc)
			return rc;
	}
	return QC_OK;
}

/* the (key, value) of a format item */
static void fmt_kv(const qc_doc *d, const qd_item *I, const char **k, size_t *kn, const char **v, size_t *vn)
{
	qc_dec dc;
	qc_dec_init(&dc, d->blob + I->coff, I->cbytes);
	qc_read_varstring(&dc, k, kn);
	qc_read_varstring(&dc, v, vn);
}

static int is_null(const char *v, size_t n) { return n == 4 && memcmp(v, "null", 4) == 0; }

/* equalAttrs approximated on normalised JSON text */
static int eq_attr(const char *a, size_t an, const char *b, size_t bn)
{
	return an == bn && memcmp(a, b, an) == 0;
}

/* === on values: primitives by value, objects never (distinct instances) */
static int eq_strict(const char *a, size_t an, const char *b, size_t bn)
{
	if (an && (a[0] == '{' || a[0] == '['))
		return 0;
	return eq_attr(a, an, b, bn);
}

static int update_cur(const qc_doc *d, aset *cur, const qd_item *I)
{
	const char *k, *v;
	size_t kn, vn;
	fmt_kv(d, I, &k, &kn, &v, &vn);
	if (is_null(v, vn)) {
		aset_del(cur, k, kn);
		return QC_OK;
	}
	return aset_set(cur, k, kn, v, vn);
}

/* ---- text positions ----------------------------------------------------- */

typedef struct tpos {
	uint32_t left, right;
	uint64_t index;
	aset cur;
} tpos;

static int tpos_forward(qc_doc *d, tpos *p)
{
	const qd_item *R = &d->items[p->right];
	int rc = QC_OK;
	if (R->ref == REF_FORMAT) {
		if (!qd_deleted(R))
			rc = update_cur(d, &p->cur, R);
	} else if (!qd_deleted(R)) {
		p->index += R->len;
	}
	p->left = p->right;
	p->right = d->items[p->left].right;
	return rc;
}

/* ---- position cache ---------------------------------------------------- */

static inline int vis(const qd_item *I) { return !qd_deleted(I) && qd_countable(I); }

/* Where a walk to `index` may start: an item and the visible index at its
 * start, at or before index. Yjs uses search markers for this; for texts
 * without formatting and for arrays the chosen neighbours do not depend on
 * where the walk starts (Yjs disables markers for rich text), so a single
 * cursor per type is enough. */
static uint32_t cursor_start(qc_doc *d, uint32_t type, uint64_t index, uint64_t *pos)
{
	qd_type *T = &d->types[type];
	*pos = 0;
	if (T->has_formatting)
		return T->start;
	/* the nearest cached position (the start counts as one at 0); the
	 * last one used first: consecutive edits are usually next to it */
	int best;
	if (T->lastcur < T->ncur) {
		qd_cursor *c = &T->cur[T->lastcur];
		uint64_t dist = c->pos > index ? c->pos - index : index - c->pos;
		const qd_item *C = &d->items[c->item];
		if (dist <= 32 && dist < index && C->ref != REF_DEAD && C->parent == type) {
			best = T->lastcur;
			goto found;
		}
	}
	for (;;) {
		best = -1;
		uint64_t bestd = index;
		for (int k = 0; k < T->ncur; k++) {
			uint64_t p = T->cur[k].pos;
			uint64_t dist = p > index ? p - index : index - p;
			if (dist < bestd) {
				bestd = dist;
				best = k;
			}
		}
		if (best < 0)
			return T->start;
		const qd_item *C = &d->items[T->cur[best].item];
		if (C->ref != REF_DEAD && C->parent == type)
			break;
		T->cur[best] = T->cur[--T->ncur]; /* stale: drop and look again */
	}
found:
	T->lastcur = (uint8_t)best;
	T->cur[best].ts = ++d->cur_ts;
	uint32_t c = T->cur[best].item;
	uint64_t p = T->cur[best].pos;
	while (p > index) {
		uint32_t l = d->items[c].left;
		if (l == QN)
			return T->start;
		c = l;
		if (vis(&d->items[c]))
			p -= d->items[c].len;
	}
	*pos = p;
	return c;
}

/* remember a position: refresh a cursor close to it, else add one (or
 * replace the least recently used) */
static void cursor_set(qc_doc *d, uint32_t type, uint32_t item, uint64_t pos)
{
	qd_type *T = &d->types[type];
	if (item == QN || T->has_formatting)
		return;
	if (!T->cur) {
		T->cur = qd_malloc(d, QD_NCUR * sizeof(qd_cursor));
		if (!T->cur)
			return;
		memset(T->cur, 0, QD_NCUR * sizeof(qd_cursor)); /* cursor_shift reads all */
	}
	uint64_t near = T->length / 32 + 16;
	int k, lru = 0;
	/* consecutive edits refresh the cursor the last walk started from */
	if (T->lastcur < T->ncur) {
		uint64_t p = T->cur[T->lastcur].pos;
		if ((p > pos ? p - pos : pos - p) <= near) {
			k = T->lastcur;
			goto set;
		}
	}
	for (k = 0; k < T->ncur; k++) {
		uint64_t p = T->cur[k].pos;
		if ((p > pos ? p - pos : pos - p) <= near)
			break;
		if (T->cur[k].ts < T->cur[lru].ts)
			lru = k;
	}
	if (k == T->ncur)
		k = T->ncur < QD_NCUR ? T->ncur++ : lru;
set:
	T->cur[k].item = item;
	T->cur[k].pos = pos;
	T->cur[k].ts = ++d->cur_ts;
	T->lastcur = (uint8_t)k;
}

/* a local edit inserted (delta > 0) or deleted (-delta) units at index */
static void cursor_shift(qc_doc *d, uint32_t type, uint64_t index, int64_t delta)
{
	qd_type *T = &d->types[type];
	if (!T->cur)
		return;
	/* Where a cursor lies against the edit is unpredictable, and so is how
	 * many there are: all QD_NCUR slots are shifted with masked arithmetic
	 * (slots past ncur are unused), and only the rare drop is a jump. */
	uint64_t len = delta > 0 ? (uint64_t)delta : (uint64_t)(-delta);
	unsigned drops = 0;
	for (unsigned k = 0; k < QD_NCUR; k++) {
		uint64_t p = T->cur[k].pos;
		if (delta > 0) {
			drops |= (unsigned)(p == index) << k;
			T->cur[k].pos = p + (len & -(uint64_t)(p > index));
		} else {
			drops |= (unsigned)((p > index) & (p < index + len)) << k;
			T->cur[k].pos = p - (len & -(uint64_t)(p >= index + len));
		}
	}
	drops &= (1u << T->ncur) - 1;
	for (int k = QD_NCUR - 1; drops && k >= 0; k--) { /* from the top: moves keep lower slots */
		if (drops & (1u << k)) {
			T->cur[k] = T->cur[--T->ncur];
			drops &= ~(1u << k);
		}
	}
}

/* findPosition (+findNextPosition). A split that would cut a surrogate
 * pair stops one unit earlier instead; *rounded reports that. */
static int find_position(qc_doc *d, uint32_t type, uint64_t index, int use_marker, tpos *p, int *rounded)
{
	qd_type *T = &d->types[type];
	memset(p, 0, sizeof(*p));
	p->left = QN;
	p->right = T->start;
	uint64_t count = index;
	if (rounded)
		*rounded = 0;
	if (use_marker && index > 0) {
		uint64_t pos;
		uint32_t c = cursor_start(d, type, index, &pos);
		if (c != QN) {
			p->left = d->items[c].left;
			p->right = c;
			p->index = pos;
			count = index - pos;
		}
	}
	while (p->right != QN && count > 0) {
		qd_item *R = &d->items[p->right];
		if (R->ref == REF_FORMAT) {
			if (!qd_deleted(R)) {
				int rc = update_cur(d, &p->cur, R);
				if (rc)
					return rc;
			}
		} else if (!qd_deleted(R)) {
			if (count < R->len) {
				if (R->ref == REF_STRING) {
					int in_pair;
					qd_item_off(d->blob, R, count, &in_pair);
					if (in_pair) {
						if (rounded)
							*rounded = 1;
						if (--count == 0)
							break;
					}
				}
				int err = QC_OK;
				qd_clean_start(d, R->client, R->clock + count, &err);
				if (err)
					return err;
				R = &d->items[p->right];
			}
			p->index += R->len;
			count -= R->len;
		}
		p->left = p->right;
		p->right = R->right;
	}
	return QC_OK;
}

/* A range that ends *len units into the item at p->right: an end inside a
 * surrogate pair moves past it (*len grows by one), and the item is split so
 * that it ends there. */
static int cut_right(qc_doc *d, const tpos *p, uint64_t *len)
{
	const qd_item *R = &d->items[p->right];
	if (*len >= R->len)
		return QC_OK;
	if (R->ref == REF_STRING) {
		int in_pair;
		qd_item_off(d->blob, R, *len, &in_pair);
		*len += (uint64_t)in_pair;
	}
	int err = QC_OK;
	if (*len < R->len)
		qd_clean_start(d, R->client, R->clock + *len, &err);
	return err;
}

static void minimize_changes(qc_doc *d, tpos *p, const aset *attrs)
{
	while (p->right != QN) {
		const qd_item *R = &d->items[p->right];
		if (qd_deleted(R)) {
			tpos_forward(d, p);
			continue;
		}
		if (R->ref == REF_FORMAT) {
			const char *k, *v;
			size_t kn, vn;
			fmt_kv(d, R, &k, &kn, &v, &vn);
			const av *a = aset_get(attrs, k, kn);
			const char *av_ = a ? a->v : "null";
			size_t avn = a ? a->vn : 4;
			if (eq_attr(av_, avn, v, vn)) {
				tpos_forward(d, p);
				continue;
			}
		}
		break;
	}
}

static int format_item(qc_doc *d, uint32_t own, uint32_t type, tpos *p, const char *k, size_t kn, const char *v,
		       size_t vn)
{
	qc_enc e;
	qc_enc_init(&e);
	qc_write_varstring(&e, k, kn);
	qc_write_varstring(&e, v, vn);
	if (!qc_enc_ok(&e)) {
		qc_enc_free(&e);
		return QC_ERR_NOMEM;
	}
	uint32_t it;
	int rc = local_item(d, own, p->left, p->right, type, QN, REF_FORMAT, e.data, e.len, 1, &it);
	qc_enc_free(&e);
	if (rc)
		return rc;
	p->right = it;
	return tpos_forward(d, p);
}

/* insertAttributes: returns the negated attributes */
static int insert_attributes(qc_doc *d, uint32_t own, uint32_t type, tpos *p, const aset *attrs, aset *neg)
{
	for (size_t i = 0; i < attrs->n; i++) {
		const av *a = &attrs->a[i];
		const av *c = aset_get(&p->cur, a->k, a->kn);
		const char *cv = c ? c->v : "null";
		size_t cvn = c ? c->vn : 4;
		if (!eq_attr(cv, cvn, a->v, a->vn)) {
			int rc = aset_set(neg, a->k, a->kn, cv, cvn);
			if (!rc)
				rc = format_item(d, own, type, p, a->k, a->kn, a->v, a->vn);
			if (rc)
				return rc;
		}
	}
	return QC_OK;
}

static int insert_negated(qc_doc *d, uint32_t own, uint32_t type, tpos *p, aset *neg)
{
	while (p->right != QN) {
		const qd_item *R = &d->items[p->right];
		if (qd_deleted(R)) {
			tpos_forward(d, p);
			continue;
		}
		if (R->ref != REF_FORMAT)
			break;
		const char *k, *v;
		size_t kn, vn;
		fmt_kv(d, R, &k, &kn, &v, &vn);
		const av *n = aset_get(neg, k, kn);
		if (!n || !eq_attr(n->v, n->vn, v, vn))
			break;
		aset_del(neg, k, kn);
		tpos_forward(d, p);
	}
	for (size_t i = 0; i < neg->n; i++) {
		int rc = format_item(d, own, type, p, neg->a[i].k, neg->a[i].kn, neg->a[i].v, neg->a[i].vn);
		if (rc)
			return rc;
	}
	return QC_OK;
}

/* parse a JSON object of attributes into an aset (values normalised) */
static int parse_attrs(const char *json, aset *out)
{
	qc_enc e;
	qc_enc_init(&e);
	int rc = qd_json_to_any(json, strlen(json), &e, QC_MAX_ANY_DEPTH);
	if (rc == QC_OK && (e.len == 0 || e.data[0] != 118))
		rc = QC_ERR_INVALID;
	if (rc == QC_OK) {
		qc_dec dc;
		uint64_t n;
		qc_dec_init(&dc, e.data + 1, e.len - 1);
		qc_read_varuint(&dc, &n);
		for (uint64_t i = 0; i < n && rc == QC_OK; i++) {
			const char *k;
			size_t kn;
			qc_read_varstring(&dc, &k, &kn);
			qd_buf b = {0};
			int r = qd_any_to_json(&b, &dc, 1, 0);
			if (r < 0)
				rc = r;
			else if (b.oom)
				rc = QC_ERR_NOMEM;
			else
				rc = aset_set(out, k, kn, b.p, b.n);
			free(b.p);
		}
	}
	qc_enc_free(&e);
	return rc;
}

/* Typing right after our own newest item extends it in place (see
 * qd_extend_string); the position cursors move as for an inserted item.
 * Returns 1 if it did. */
static int extend_typed(qc_doc *d, uint32_t own, uint32_t type, const tpos *p, uint8_t ref, const char *bytes,
			size_t nbytes, uint64_t len)
{
	if (ref != REF_STRING || p->left == QN || d->types[type].has_formatting)
		return 0;
	uint64_t state = qd_state(d, own);
	const qd_item *R = p->right == QN ? NULL : &d->items[p->right];
	if (len > QD_CLOCK_MAX - state ||
	    !qd_extend_string(d, p->left, own, state, type, p->right, R ? R->client : QN, R ? R->clock : 0, bytes,
			      nbytes, len))
		return 0;
	cursor_shift(d, type, p->index, (int64_t)len);
	cursor_set(d, type, p->left, p->index + len - d->items[p->left].len);
	return 1;
}

static int text_insert_content(qc_doc *d, const char *root, uint64_t index, uint8_t ref, const char *bytes,
			       size_t nbytes, uint64_t len, const char *attrs_json, int use_marker)
{
	uint32_t type, own;
	int rc = root_of(d, root, QT_TEXT, &type);
	if (rc)
		return rc;
	aset attrs = {0};
	if (attrs_json && (rc = parse_attrs(attrs_json, &attrs)))
		return rc;
	if (index > d->types[type].length) {
		aset_free(&attrs);
		return QC_ERR_INVALID;
	}
	if ((rc = local_begin(d, &own))) {
		aset_free(&attrs);
		return rc;
	}
	tpos p;
	aset neg = {0};
	rc = find_position(d, type, index, use_marker, &p, NULL);
	if (rc == QC_OK) {
		if (!attrs_json) {
			rc = aset_copy(&attrs, &p.cur);
		} else {
			for (size_t i = 0; i < p.cur.n && rc == QC_OK; i++)
				if (!aset_get(&attrs, p.cur.a[i].k, p.cur.a[i].kn))
					rc = aset_set(&attrs, p.cur.a[i].k, p.cur.a[i].kn, "null", 4);
		}
	}
	if (rc == QC_OK) {
		minimize_changes(d, &p, &attrs);
		rc = insert_attributes(d, own, type, &p, &attrs, &neg);
	}
	uint32_t it = QN;
	uint64_t at = p.index;
	if (rc == QC_OK && !attrs_json && !p.cur.n && !neg.n && extend_typed(d, own, type, &p, ref, bytes, nbytes, len)) {
		aset_free(&p.cur);
		aset_free(&attrs);
		return local_end(d, QC_OK);
	}
	if (rc == QC_OK)
		rc = local_item(d, own, p.left, p.right, type, QN, ref, bytes, nbytes, len, &it);
	if (rc == QC_OK) {
		cursor_shift(d, type, at, (int64_t)len);
		cursor_set(d, type, it, at);
	}
	if (rc == QC_OK) {
		p.right = it;
		rc = tpos_forward(d, &p);
	}
	if (rc == QC_OK)
		rc = insert_negated(d, own, type, &p, &neg);
	aset_free(&p.cur);
	aset_free(&neg);
	aset_free(&attrs);
	return local_end(d, rc);
}

int qc_text_insert(qc_doc *d, const char *root, uint64_t index, const char *utf8, size_t len, const char *attrs_json)
{
	if (d)
		qd_event_clear(d);
	if (!d || (!utf8 && len))
		return QC_ERR_INVALID;
	if (!qc_utf8_valid((const uint8_t *)utf8, len))
		return QC_ERR_UTF8;
	if (len == 0)
		return QC_OK;
	return text_insert_content(d, root, index, REF_STRING, utf8, len, qc_utf16_len((const uint8_t *)utf8, len),
				   attrs_json, attrs_json == NULL);
}

int qc_text_insert_embed(qc_doc *d, const char *root, uint64_t index, const char *embed_json)
{
	if (d)
		qd_event_clear(d);
	if (!d || !embed_json)
		return QC_ERR_INVALID;
	qd_buf b = {0};
	int rc = qd_json_normalize(embed_json, strlen(embed_json), &b);
	if (rc == QC_OK)
		rc = text_insert_content(d, root, index, REF_EMBED, b.p, b.n, 1, "{}", 1); /* Yjs insertEmbed default attributes = {} */
	free(b.p);
	return rc;
}

/* deleteText + cleanupFormattingGap */
static int cleanup_gap(qc_doc *d, uint32_t start, uint32_t curr, const aset *start_attrs, aset *cur)
{
	uint32_t end = start;
	aset endf = {0}; /* key -> item index as text */
	int rc = QC_OK;
	while (end != QN && (!qd_countable(&d->items[end]) || qd_deleted(&d->items[end]))) {
		const qd_item *E = &d->items[end];
		if (!qd_deleted(E) && E->ref == REF_FORMAT) {
			const char *k, *v;
			size_t kn, vn;
			fmt_kv(d, E, &k, &kn, &v, &vn);
			char idx[16];
			int il = snprintf(idx, sizeof idx, "%u", end);
			if ((rc = aset_set(&endf, k, kn, idx, (size_t)il)))
				break;
		}
		end = d->items[end].right;
	}
	int reached = 0;
	while (rc == QC_OK && start != end && start != QN) {
		if (curr == start)
			reached = 1;
		qd_item *S = &d->items[start];
		if (!qd_deleted(S) && S->ref == REF_FORMAT) {
			const char *k, *v;
			size_t kn, vn;
			fmt_kv(d, S, &k, &kn, &v, &vn);
			const av *sa = aset_get(start_attrs, k, kn);
			const char *sv = sa ? sa->v : "null";
			size_t svn = sa ? sa->vn : 4;
			const av *ef = aset_get(&endf, k, kn);
			int is_end = ef && (uint32_t)strtoul(ef->v, NULL, 10) == start;
			if (!is_end || eq_strict(sv, svn, v, vn)) {
				/* copy k/v: deleting does not move the blob, but be safe */
				char *kc = malloc(kn + 1), *vc = malloc(vn + 1);
				if (!kc || !vc) {
					free(kc);
					free(vc);
					rc = QC_ERR_NOMEM;
					break;
				}
				memcpy(kc, k, kn);
				memcpy(vc, v, vn);
				rc = qd_item_delete(d, start);
				if (rc == QC_OK && !reached) {
					const av *ca = aset_get(cur, kc, kn);
					const char *cv = ca ? ca->v : "null";
					size_t cvn = ca ? ca->vn : 4;
					if (eq_strict(cv, cvn, vc, vn) && !eq_strict(sv, svn, vc, vn)) {
						if (is_null(sv, svn))
							aset_del(cur, kc, kn);
						else
							rc = aset_set(cur, kc, kn, sv, svn);
					}
				}
				free(kc);
				free(vc);
			}
			S = &d->items[start];
			if (rc == QC_OK && !reached && !qd_deleted(S))
				rc = update_cur(d, cur, S);
		}
		start = d->items[start].right;
	}
	aset_free(&endf);
	return rc;
}

int qc_text_delete(qc_doc *d, const char *root, uint64_t index, uint64_t len)
{
	if (d)
		qd_event_clear(d);
	if (!d || !root)
		return QC_ERR_INVALID;
	uint32_t type = qd_root_find(d, root);
	if (len == 0)
		return QC_OK;
	if (type == QN || index > d->types[type].length || len > d->types[type].length - index)
		return QC_ERR_INVALID;
	uint32_t own;
	int rc = root_of(d, root, QT_TEXT, &type);
	if (rc || (rc = local_begin(d, &own)))
		return rc;
	tpos p;
	int rounded = 0;
	rc = find_position(d, type, index, 1, &p, &rounded);
	len += (uint64_t)rounded;
	uint64_t start_len = len, sidx = index - (uint64_t)rounded;
	aset start_attrs = {0};
	if (rc == QC_OK)
		rc = aset_copy(&start_attrs, &p.cur);
	uint32_t start = p.right;
	while (rc == QC_OK && len > 0 && p.right != QN) {
		qd_item *R = &d->items[p.right];
		if (!qd_deleted(R) && (R->ref == REF_STRING || R->ref == REF_EMBED || R->ref == REF_TYPE)) {
			uint64_t asked = len;
			if ((rc = cut_right(d, &p, &len)))
				break;
			start_len += len - asked;
			R = &d->items[p.right];
			len -= R->len;
			if ((rc = qd_item_delete(d, p.right)))
				break;
		}
		rc = tpos_forward(d, &p);
	}
	if (rc == QC_OK && start != QN && d->types[type].has_formatting)
		rc = cleanup_gap(d, start, p.right, &start_attrs, &p.cur);
	if (rc == QC_OK) {
		cursor_shift(d, type, sidx, -(int64_t)(start_len - len));
		cursor_set(d, type, p.right != QN ? p.right : p.left, sidx);
	}
	aset_free(&start_attrs);
	aset_free(&p.cur);
	return local_end(d, rc);
}

int qc_text_format(qc_doc *d, const char *root, uint64_t index, uint64_t len, const char *attrs_json)
{
	if (d)
		qd_event_clear(d);
	if (!d || !root || !attrs_json)
		return QC_ERR_INVALID;
	uint32_t type = qd_root_find(d, root);
	if (len == 0)
		return QC_OK;
	if (type == QN || index > d->types[type].length)
		return QC_ERR_INVALID;
	aset attrs = {0};
	int rc = parse_attrs(attrs_json, &attrs);
	if (rc)
		return rc;
	uint32_t own;
	if ((rc = root_of(d, root, QT_TEXT, &type)) || (rc = local_begin(d, &own))) {
		aset_free(&attrs);
		return rc;
	}
	tpos p;
	aset neg = {0};
	int rounded = 0;
	rc = find_position(d, type, index, 0, &p, &rounded);
	len += (uint64_t)rounded;
	if (rc == QC_OK && p.right != QN) {
		minimize_changes(d, &p, &attrs);
		rc = insert_attributes(d, own, type, &p, &attrs, &neg);
		while (rc == QC_OK && p.right != QN) {
			qd_item *R = &d->items[p.right];
			if (!(len > 0 || (neg.n > 0 && (qd_deleted(R) || R->ref == REF_FORMAT))))
				break;
			if (!qd_deleted(R)) {
				if (R->ref == REF_FORMAT) {
					const char *k, *v;
					size_t kn, vn;
					fmt_kv(d, R, &k, &kn, &v, &vn);
					const av *a = aset_get(&attrs, k, kn);
					if (a) {
						if (eq_attr(a->v, a->vn, v, vn)) {
							aset_del(&neg, k, kn);
						} else {
							if (len == 0)
								break;
							rc = aset_set(&neg, k, kn, v, vn);
						}
						if (rc == QC_OK)
							rc = qd_item_delete(d, p.right);
					} else {
						rc = aset_set(&p.cur, k, kn, v, vn);
					}
				} else {
					if ((rc = cut_right(d, &p, &len)))
						break;
					R = &d->items[p.right];
					len = len > R->len ? len - R->len : 0;
				}
			}
			if (rc == QC_OK)
				rc = tpos_forward(d, &p);
		}
		if (rc == QC_OK && len > 0) {
			/* Quill newline padding, as Yjs does */
			char *nl = malloc(len);
			if (!nl) {
				rc = QC_ERR_NOMEM;
			} else {
				memset(nl, '\n', len);
				uint32_t it;
				rc = local_item(d, own, p.left, p.right, type, QN, REF_STRING, nl, len, len, &it);
				free(nl);
				if (rc == QC_OK) {
					p.right = it;
					rc = tpos_forward(d, &p);
				}
			}
		}
		if (rc == QC_OK)
			rc = insert_negated(d, own, type, &p, &neg);
	}
	aset_free(&p.cur);
	aset_free(&neg);
	aset_free(&attrs);
	return local_end(d, rc);
}

/* ---- YText formatting cleanup (cleanupYTextAfterTransaction) ------------ */

static int contextless_gap(qc_doc *d, uint32_t item)
{
	while (item != QN && d->items[item].right != QN && !vis(&d->items[d->items[item].right]))
		item = d->items[item].right;
	aset seen = {0};
	int rc = QC_OK;
	while (rc == QC_OK && item != QN && !vis(&d->items[item])) {
		const qd_item *I = &d->items[item];
		if (!qd_deleted(I) && I->ref == REF_FORMAT) {
			const char *k, *v;
			size_t kn, vn;
			fmt_kv(d, I, &k, &kn, &v, &vn);
			if (aset_get(&seen, k, kn))
				rc = qd_item_delete(d, item);
			else
				rc = aset_set(&seen, k, kn, "", 0);
		}
		item = d->items[item].left;
	}
	aset_free(&seen);
	return rc;
}

/* cleanupYTextFormatting */
static int full_cleanup(qc_doc *d, uint32_t type)
{
	uint32_t start = d->types[type].start, end = start;
	aset start_attrs = {0}, cur = {0};
	int rc = QC_OK;
	while (rc == QC_OK && end != QN) {
		const qd_item *E = &d->items[end];
		if (!qd_deleted(E)) {
			if (E->ref == REF_FORMAT) {
				rc = update_cur(d, &cur, E);
			} else {
				if (start != QN)
					rc = cleanup_gap(d, start, end, &start_attrs, &cur);
				aset_free(&start_attrs);
				if (rc == QC_OK)
					rc = aset_copy(&start_attrs, &cur);
				start = end;
			}
		}
		end = d->items[end].right;
	}
	aset_free(&start_attrs);
	aset_free(&cur);
	return rc;
}

int qd_format_cleanup(qc_doc *d, const uint32_t *order, size_t norder, const qd_dsr *ds, size_t nds,
		      const qd_cb *cb, size_t ncb)
{
	uint32_t *full = NULL;
	size_t nfull = 0;
	uint8_t *in_full = calloc(d->ntypes ? d->ntypes : 1, 1);
	int rc = QC_OK;
	if (!in_full)
		return QC_ERR_NOMEM;
	full = malloc((d->ntypes ? d->ntypes : 1) * sizeof(uint32_t));
	if (!full) {
		free(in_full);
		return QC_ERR_NOMEM;
	}
#define ADD_FULL(ty)                                                                               \
	do {                                                                                       \
		if (!in_full[ty]) {                                                                \
			in_full[ty] = 1;                                                           \
			full[nfull++] = (ty);                                                      \
		}                                                                                  \
	} while (0)
	/* formats inserted by the transaction */
	for (size_t k = 0; k < ncb; k++) {
		uint32_t s = cb[k].slot;
		uint64_t b = cb[k].before;
		if (qd_state(d, s) == b)
			continue;
		qd_client *c = &d->clients[s];
		for (uint32_t i = qd_find_pos(d, s, b); i < c->n; i++) {
			const qd_item *I = &d->items[qd_cs(c, i)];
			if (I->ref == REF_FORMAT && !qd_deleted(I) && I->parent != QN)
				ADD_FULL(I->parent);
		}
	}
	/* deleted structs, clients in delete-set order */
	size_t nslots = order ? norder : 0;
	for (size_t oi = 0; (order ? oi < nslots : oi < 1) && rc == QC_OK; oi++) {
		for (size_t k = 0; k < nds && rc == QC_OK; k++) {
			const qd_dsr *r = &ds[k];
			if (order && r->client != order[oi])
				continue;
			qd_client *c = &d->clients[r->client];
			for (uint32_t i = qd_find_pos(d, r->client, r->clock); i < c->n && rc == QC_OK; i++) {
				uint32_t it = qd_cs(c, i);
				const qd_item *I = &d->items[it];
				if (I->clock >= r->clock + r->len)
					break;
				if (I->ref == REF_GC || I->parent == QN)
					continue;
				uint32_t P = I->parent;
				if (!d->types[P].has_formatting || in_full[P])
					continue;
				if (I->ref == REF_FORMAT)
					ADD_FULL(P);
				else
					rc = contextless_gap(d, it);
			}
		}
	}
#undef ADD_FULL
	for (size_t i = 0; i < nfull && rc == QC_OK; i++)
		rc = full_cleanup(d, full[i]);
	free(full);
	free(in_full);
	return rc;
}

/* ---- arrays ------------------------------------------------------------- */

int qc_array_insert(qc_doc *d, const char *root, uint64_t index, const char *values_json)
{
	if (d)
		qd_event_clear(d);
	if (!d || !root || !values_json)
		return QC_ERR_INVALID;
	qc_enc e;
	qc_enc_init(&e);
	uint64_t count = 0;
	int rc = qd_json_array_to_any(values_json, strlen(values_json), &e, &count);
	if (rc || count == 0) {
		qc_enc_free(&e);
		return rc;
	}
	uint32_t type, own;
	if ((rc = root_of(d, root, QT_ARRAY, &type))) {
		qc_enc_free(&e);
		return rc;
	}
	if (index > d->types[type].length) {
		qc_enc_free(&e);
		return QC_ERR_INVALID;
	}
	if ((rc = local_begin(d, &own))) {
		qc_enc_free(&e);
		return rc;
	}
	/* typeListInsertGenerics */
	uint32_t n = QN;
	if (index > 0) {
		uint64_t mpos;
		uint32_t mc = cursor_start(d, type, index, &mpos);
		uint64_t idx = index;
		n = d->types[type].start;
		if (mc != QN && mpos > 0) {
			n = mc;
			idx -= mpos;
			if (idx == 0) {
				n = d->items[n].left; /* Item.prev: skip deleted */
				while (n != QN && qd_deleted(&d->items[n]))
					n = d->items[n].left;
				idx += (n != QN && vis(&d->items[n])) ? d->items[n].len : 0;
			}
		}
		for (; n != QN; n = d->items[n].right) {
			qd_item *I = &d->items[n];
			if (!vis(I))
				continue;
			if (idx <= I->len) {
				if (idx < I->len) {
					int err = QC_OK;
					qd_clean_start(d, I->client, I->clock + idx, &err);
					rc = err;
				}
				break;
			}
			idx -= I->len;
		}
	}
	if (rc == QC_OK) {
		uint32_t right = n == QN ? d->types[type].start : d->items[n].right;
		uint32_t it;
		rc = local_item(d, own, n, right, type, QN, REF_ANY, e.data, e.len, count, &it);
		if (rc == QC_OK) {
			cursor_shift(d, type, index, (int64_t)count);
			cursor_set(d, type, it, index);
		}
	}
	qc_enc_free(&e);
	return local_end(d, rc);
}

int qc_array_delete(qc_doc *d, const char *root, uint64_t index, uint64_t len)
{
	if (d)
		qd_event_clear(d);
	if (!d || !root)
		return QC_ERR_INVALID;
	uint32_t type = qd_root_find(d, root);
	if (len == 0)
		return QC_OK;
	if (type == QN || index > d->types[type].length || len > d->types[type].length - index)
		return QC_ERR_INVALID;
	uint32_t own;
	int rc = root_of(d, root, QT_ARRAY, &type);
	if (rc || (rc = local_begin(d, &own)))
		return rc;
	/* typeListDelete */
	uint64_t mpos;
	uint32_t n = cursor_start(d, type, index, &mpos);
	uint64_t idx = index - mpos;
	for (; rc == QC_OK && n != QN && idx > 0; n = d->items[n].right) {
		qd_item *I = &d->items[n];
		if (vis(I)) {
			if (idx < I->len) {
				int err = QC_OK;
				qd_clean_start(d, I->client, I->clock + idx, &err);
				rc = err;
				I = &d->items[n];
			}
			idx -= idx < I->len ? idx : I->len;
		}
	}
	uint64_t left = len;
	while (rc == QC_OK && left > 0 && n != QN) {
		qd_item *I = &d->items[n];
		if (!qd_deleted(I)) {
			if (left < I->len) {
				int err = QC_OK;
				qd_clean_start(d, I->client, I->clock + left, &err);
				if ((rc = err))
					break;
				I = &d->items[n];
			}
			left -= left < I->len ? left : I->len;
			rc = qd_item_delete(d, n);
		}
		n = d->items[n].right;
	}
	if (rc == QC_OK) {
		cursor_shift(d, type, index, -(int64_t)(len - left));
		if (n != QN)
			cursor_set(d, type, n, index);
	}
	return local_end(d, rc);
}

/* ---- maps --------------------------------------------------------------- */

int qc_map_set(qc_doc *d, const char *root, const char *key, const char *value_json)
{
	if (d)
		qd_event_clear(d);
	if (!d || !root || !key || !value_json)
		return QC_ERR_INVALID;
	qc_enc e;
	qc_enc_init(&e);
	int rc = qd_json_to_any(value_json, strlen(value_json), &e, QC_MAX_ANY_DEPTH);
	uint32_t type, own, k;
	if (rc == QC_OK)
		rc = root_of(d, root, QT_MAP, &type);
	if (rc == QC_OK)
		rc = qd_intern(d, key, strlen(key), &k);
	if (rc == QC_OK)
		rc = local_begin(d, &own);
	else {
		qc_enc_free(&e);
		return rc;
	}
	if (rc) {
		qc_enc_free(&e);
		return rc;
	}
	uint32_t left = qd_map_get(d, type, k);
	rc = local_item(d, own, left, QN, type, k, REF_ANY, e.data, e.len, 1, NULL);
	qc_enc_free(&e);
	return local_end(d, rc);
}

int qc_map_delete(qc_doc *d, const char *root, const char *key)
{
	if (d)
		qd_event_clear(d);
	if (!d || !root || !key)
		return QC_ERR_INVALID;
	uint32_t type = qd_root_find(d, root);
	if (type == QN)
		return QC_OK;
	uint32_t k = qd_intern_find(d, key, strlen(key));
	if (k == QN)
		return QC_OK;
	uint32_t it = qd_map_get(d, type, k);
	if (it == QN)
		return QC_OK;
	uint32_t own;
	int rc = local_begin(d, &own);
	if (rc)
		return rc;
	rc = qd_item_delete(d, it);
	return local_end(d, rc);
}

/* ---- observers ---------------------------------------------------------- */

static int deleted_in_txn(const qc_doc *d, const qd_item *I)
{
	const qd_txn *t = &d->txn;
	size_t lo = 0, hi = t->nds;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const qd_dsr *r = &t->ds[mid];
		if (r->client < I->client || (r->client == I->client && r->clock + r->len <= I->clock))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < t->nds && t->ds[lo].client == I->client && t->ds[lo].clock <= I->clock;
}


typedef struct chg {
	qc_change c;
	size_t off; /* utf8 offset in text buffer, or SIZE_MAX */
	uint32_t keyid;
} chg;

void qd_observe_emit(qc_doc *d)
{
	const qd_txn *t = &d->txn;
	chg *v = NULL;
	size_t n = 0, cap = 0;
	qd_buf text = {0};
	/* roots touched directly or through nested types */
	uint8_t *direct = calloc(d->nroots ? d->nroots : 1, 2);
	if (!direct)
		return;
	uint8_t *nested = direct + d->nroots;
	for (size_t i = 0; i < t->nchanged; i++) {
		uint32_t ty = t->changed[i], guard = 0;
		int is_direct = 1;
		while (d->types[ty].item != QN && guard++ < 100000) {
			const qd_item *P = &d->items[d->types[ty].item];
			if (P->ref != REF_TYPE || P->parent == QN) {
				ty = QN;
				break;
			}
			ty = P->parent;
			is_direct = 0;
		}
		if (ty == QN || d->types[ty].root == QN)
			continue;
		if (is_direct)
			direct[d->types[ty].root] = 1;
		else
			nested[d->types[ty].root] = 1;
	}
#define PUSH(kind_, len_, off_, keyid_)                                                              \
	do {                                                                                       \
		if (n >= cap) {                                                                    \
			size_t c_ = cap ? cap * 2 : 16;                                            \
			chg *nv_ = realloc(v, c_ * sizeof(chg));                                   \
			if (!nv_)                                                                  \
				goto out;                                                          \
			v = nv_;                                                                   \
			cap = c_;                                                                  \
		}                                                                                  \
		memset(&v[n], 0, sizeof(chg));                                                     \
		v[n].c.root = d->root_names[r];                                                    \
		v[n].c.kind = (kind_);                                                             \
		v[n].c.len = (len_);                                                               \
		v[n].keyid = (keyid_);                                                             \
		v[n].off = (off_);                                                                 \
		n++;                                                                               \
	} while (0)
	for (uint32_t r = 0; r < d->nroots; r++) {
		if (!direct[r] && !nested[r])
			continue;
		uint32_t ty = d->roots[r];
		size_t first = n;
		if (direct[r]) {
			for (uint32_t c = d->types[ty].start; c != QN; c = d->items[c].right) {
				const qd_item *I = &d->items[c];
				if (I->ref == REF_GC || !qd_countable(I))
					continue;
				int added = I->clock >= qd_before(d, I->client);
				int del = (I->flags & IF_DELETED) != 0;
				qc_change_kind k;
				if (added && !del)
					k = QC_CHANGE_INSERT;
				else if (!added && del && deleted_in_txn(d, I))
					k = QC_CHANGE_DELETE;
				else if (!added && !del)
					k = QC_CHANGE_RETAIN;
				else
					continue;
				if (n > first && v[n - 1].c.kind == k &&
				    (k != QC_CHANGE_INSERT || (I->ref == REF_STRING) == (v[n - 1].off != SIZE_MAX))) {
					v[n - 1].c.len += I->len;
					if (k == QC_CHANGE_INSERT && I->ref == REF_STRING) {
						qd_buf_put(&text, (const char *)d->blob + I->coff, I->cbytes);
						v[n - 1].c.utf8_len += I->cbytes;
					}
					continue;
				}
				size_t off = SIZE_MAX;
				if (k == QC_CHANGE_INSERT && I->ref == REF_STRING) {
					off = text.n;
					qd_buf_put(&text, (const char *)d->blob + I->coff, I->cbytes);
				}
				PUSH(k, I->len, off, QN);
				if (off != SIZE_MAX)
					v[n - 1].c.utf8_len = I->cbytes;
			}
			while (n > first && v[n - 1].c.kind == QC_CHANGE_RETAIN)
				n--;
			for (uint32_t e = d->types[ty].map_head; e != QN; e = d->ments[e].next) {
				uint32_t it = d->ments[e].item;
				if (it == QN)
					continue;
				const qd_item *I = &d->items[it];
				int added = I->clock >= qd_before(d, I->client);
				int changed = added || deleted_in_txn(d, I);
				if (changed)
					PUSH(QC_CHANGE_KEY, 0, SIZE_MAX, d->ments[e].key);
			}
		}
		if (n == first && nested[r])
			PUSH(QC_CHANGE_KEY, 0, SIZE_MAX, QN);
	}
	if (n && !text.oom) {
		/* keys: NUL-terminated copies after the text */
		for (size_t i = 0; i < n; i++) {
			if (v[i].keyid != QN) {
				const qd_str *ks = &d->strs[v[i].keyid];
				v[i].off = text.n;
				qd_buf_put(&text, (const char *)d->blob + ks->off, ks->len);
				qd_buf_putc(&text, 0);
			}
		}
		if (!text.oom) {
			qc_change *cs = malloc(n * sizeof(qc_change));
			if (cs) {
				for (size_t i = 0; i < n; i++) {
					cs[i] = v[i].c;
					if (v[i].keyid != QN)
						cs[i].key = text.p + v[i].off;
					else if (v[i].off != SIZE_MAX)
						cs[i].utf8 = text.p + v[i].off;
				}
				d->obs(d->obs_ud, cs, n);
				free(cs);
			}
		}
	}
#undef PUSH
out:
	free(v);
	free(text.p);
	free(direct);
}
