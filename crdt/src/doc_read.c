/* Document model: reading (text, lengths, roots, toJSON / toString of every
 * shared type as Yjs renders it). */
#include "doc_internal.h"

#include <stdio.h>
#include <stdlib.h>

/* Hand a rendering (that ended with rc) out in the doc's allocator; b is
 * freed in any case. */
static int out_buf(const qc_doc *d, qd_buf *b, int rc, char **out, size_t *out_len)
{
	char *p = NULL;
	if (rc == QC_OK && (b->oom || !(p = d->al.malloc(b->n + 1, d->al.ud))))
		rc = QC_ERR_NOMEM;
	if (rc == QC_OK) {
		if (b->n)
			memcpy(p, b->p, b->n);
		p[b->n] = 0;
		*out = p;
		if (out_len)
			*out_len = b->n;
	}
	free(b->p);
	return rc;
}

int qc_doc_roots(const qc_doc *d, const char *const **names, size_t *n)
{
	static const char *const none[1] = {NULL};
	*names = d->nroots ? (const char *const *)d->root_names : none;
	*n = d->nroots;
	return QC_OK;
}

static void text_plain(const qc_doc *d, uint32_t type, qd_buf *b)
{
	for (uint32_t c = d->types[type].start; c != QN; c = d->items[c].right) {
		const qd_item *I = &d->items[c];
		if (I->ref == REF_STRING && !(I->flags & IF_DELETED))
			qd_buf_put(b, (const char *)d->blob + I->coff, I->cbytes);
	}
}

int qc_doc_text(const qc_doc *d, const char *root, char **out, size_t *out_len)
{
	qd_buf b = {0};
	uint32_t t = qd_root_find(d, root);
	if (t != QN)
		text_plain(d, t, &b);
	return out_buf(d, &b, QC_OK, out, out_len);
}

uint64_t qc_doc_length(const qc_doc *d, const char *root)
{
	uint32_t t = qd_root_find(d, root);
	return t == QN ? 0 : d->types[t].length;
}

/* ---- rendering helpers -------------------------------------------------- */

static size_t utf8_w(uint8_t c) { return c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4; }

/* the code point of a 4-byte UTF-8 sequence */
static uint32_t utf8_cp4(const uint8_t *s)
{
	return ((uint32_t)(s[0] & 7) << 18) | ((uint32_t)(s[1] & 0x3f) << 12) | ((uint32_t)(s[2] & 0x3f) << 6) |
	       (s[3] & 0x3f);
}

/* each UTF-16 unit of s as a JSON string element (ContentString in arrays) */
static void string_units_json(qd_buf *b, const uint8_t *s, size_t n, int *first)
{
	for (size_t i = 0; i < n;) {
		size_t w = utf8_w(s[i]);
		qd_buf_sep(b, first);
		if (w == 4) {
			uint32_t cp = utf8_cp4(s + i) - 0x10000;
			char t[32];
			int k = snprintf(t, sizeof t, "\"\\u%04x\",\"\\u%04x\"", 0xd800 + (cp >> 10), 0xdc00 + (cp & 0x3ff));
			qd_buf_put(b, t, (size_t)k);
		} else {
			qd_json_string(b, (const char *)s + i, w);
		}
		i += w;
	}
}

/* ---- content elements of ANY and JSON items (one at a time from dc) ---- */

/* How elem_render writes an element. */
enum { AS_ARRAY_ELEM, AS_MAP_VALUE, AS_STRING };

/* The next element (of JSON content: a JSON text or "undefined"), written
 * as JSON the way qd_any_to_json renders it (AS_ARRAY_ELEM: undefined as
 * null; AS_MAP_VALUE: undefined writes nothing) or as JS String(x)
 * (AS_STRING). Returns 1, 0 for an undefined map value, or an error. */
static int elem_render(qc_dec *dc, uint8_t ref, qd_buf *b, int as)
{
	int rc;
	if (ref == REF_ANY) {
		if (as != AS_STRING)
			return qd_any_to_json(b, dc, as == AS_ARRAY_ELEM, 0);
		return (rc = qd_any_to_jsstring(b, dc)) ? rc : 1;
	}
	const uint8_t *s;
	size_t n;
	if ((rc = qc_read_varbytes(dc, &s, &n)))
		return rc;
	if (n == 9 && memcmp(s, "undefined", 9) == 0) {
		if (as == AS_MAP_VALUE)
			return 0;
		qd_buf_puts(b, as == AS_STRING ? "undefined" : "null");
	} else if (as == AS_STRING) {
		if ((rc = qd_json_to_jsstring(b, (const char *)s, n)))
			return rc;
	} else {
		qd_buf_put(b, (const char *)s, n);
	}
	return 1;
}

/* dc at the last element of an ANY or JSON item (the map value of a key) */
static int at_last_elem(const qc_doc *d, const qd_item *I, qc_dec *dc)
{
	qc_dec_init(dc, d->blob + I->coff, I->cbytes);
	for (uint64_t i = 0; i + 1 < I->len; i++) {
		const uint8_t *s;
		size_t n;
		int rc = I->ref == REF_ANY ? qc_any_copy(dc, NULL, 0) : qc_read_varbytes(dc, &s, &n);
		if (rc)
			return rc;
	}
	return QC_OK;
}

/* Render the values of one item as JSON elements (array context). */
static int item_values_json(const qc_doc *d, const qd_item *I, qd_buf *b, int *first, int depth)
{
	const uint8_t *p = d->blob + I->coff;
	int rc;
	switch (I->ref) {
	case REF_ANY:
	case REF_JSON: {
		qc_dec dc;
		qc_dec_init(&dc, p, I->cbytes);
		for (uint64_t i = 0; i < I->len; i++) {
			qd_buf_sep(b, first);
			if ((rc = elem_render(&dc, I->ref, b, AS_ARRAY_ELEM)) < 0)
				return rc;
		}
		return QC_OK;
	}
	case REF_STRING:
		string_units_json(b, p, I->cbytes, first);
		return QC_OK;
	case REF_BINARY:
		qd_buf_sep(b, first);
		qd_bytes_json(b, p, I->cbytes);
		return QC_OK;
	case REF_EMBED:
		qd_buf_sep(b, first);
		qd_buf_put(b, (const char *)p, I->cbytes);
		return QC_OK;
	case REF_DOC:
		qd_buf_sep(b, first);
		qd_buf_puts(b, "{}");
		return QC_OK;
	case REF_TYPE:
		qd_buf_sep(b, first);
		return qd_type_json(d, I->coff, b, depth + 1);
	default:
		return QC_OK;
	}
}

/* The map value of an item (its last content element); 0 if undefined. */
static int item_last_json(const qc_doc *d, const qd_item *I, qd_buf *b, int depth)
{
	const uint8_t *p = d->blob + I->coff;
	int rc;
	switch (I->ref) {
	case REF_ANY:
	case REF_JSON: {
		qc_dec dc;
		if ((rc = at_last_elem(d, I, &dc)))
			return rc;
		return elem_render(&dc, I->ref, b, AS_MAP_VALUE);
	}
	case REF_STRING: {
		/* find start of the last code point */
		size_t s0 = I->cbytes;
		if (s0 == 0)
			return 0;
		s0--;
		while (s0 > 0 && (p[s0] & 0xc0) == 0x80)
			s0--;
		if (utf8_w(p[s0]) == 4) {
			char t[16];
			int k = snprintf(t, sizeof t, "\"\\u%04x\"", 0xdc00 + ((utf8_cp4(p + s0) - 0x10000) & 0x3ff));
			qd_buf_put(b, t, (size_t)k);
		} else {
			qd_json_string(b, (const char *)p + s0, I->cbytes - s0);
		}
		return 1;
	}
	case REF_DELETED:
	case REF_FORMAT:
	case REF_GC:
		return 0;
	default: {
		int first = 1;
		rc = item_values_json(d, I, b, &first, depth);
		return rc < 0 ? rc : 1;
	}
	}
}

/* JS String(x) for an item's content element used as XML text/attribute. */
static int item_last_jsstring(const qc_doc *d, const qd_item *I, qd_buf *b, int depth);

typedef struct kent {
	qc_keyord ord;
	uint32_t key, item;
	const qc_doc *d;
} kent;

static int cmp_bytes(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
	size_t n = an < bn ? an : bn;
	int c = n ? memcmp(a, b, n) : 0;
	if (c)
		return c;
	return an < bn ? -1 : an > bn;
}

static int cmp_kent_js(const void *a, const void *b)
{
	return qc_keyord_cmp(&((const kent *)a)->ord, &((const kent *)b)->ord);
}

static int cmp_kent_name(const void *a, const void *b)
{
	const kent *x = a, *y = b;
	const qd_str *s1 = &x->d->strs[x->key], *s2 = &y->d->strs[y->key];
	return cmp_bytes(x->d->blob + s1->off, s1->len, y->d->blob + s2->off, s2->len);
}

/* visible map entries of a type; order: 0 JS object order, 1 sorted by name */
static kent *map_entries(const qc_doc *d, uint32_t type, size_t *n, int order)
{
	size_t cnt = 0;
	for (uint32_t e = d->types[type].map_head; e != QN; e = d->ments[e].next) {
		uint32_t it = d->ments[e].item;
		if (it != QN && !qd_deleted(&d->items[it]))
			cnt++;
	}
	kent *v = malloc((cnt ? cnt : 1) * sizeof(kent));
	if (!v)
		return NULL;
	size_t k = 0;
	for (uint32_t e = d->types[type].map_head; e != QN; e = d->ments[e].next) {
		uint32_t it = d->ments[e].item;
		if (it == QN || qd_deleted(&d->items[it]))
			continue;
		kent *x = &v[k];
		x->key = d->ments[e].key;
		x->item = it;
		x->d = d;
		qc_keyord_init(&x->ord, d->blob + d->strs[x->key].off, d->strs[x->key].len, k);
		k++;
	}
	if (k > 1)
		qsort(v, k, sizeof(kent), order ? cmp_kent_name : cmp_kent_js);
	*n = k;
	return v;
}

static int map_json(const qc_doc *d, uint32_t type, qd_buf *b, int depth)
{
	size_t n;
	kent *v = map_entries(d, type, &n, 0);
	if (!v)
		return QC_ERR_NOMEM;
	qd_buf_putc(b, '{');
	int first = 1, rc = QC_OK;
	for (size_t i = 0; i < n; i++) {
		qd_buf tmp = {0};
		int r = item_last_json(d, &d->items[v[i].item], &tmp, depth);
		if (r < 0) {
			rc = r;
			free(tmp.p);
			break;
		}
		if (r > 0) {
			qd_buf_sep(b, &first);
			qd_json_string(b, (const char *)d->blob + d->strs[v[i].key].off, d->strs[v[i].key].len);
			qd_buf_putc(b, ':');
			qd_buf_put(b, tmp.p, tmp.n);
		}
		if (tmp.oom)
			b->oom = 1;
		free(tmp.p);
	}
	qd_buf_putc(b, '}');
	free(v);
	return rc;
}

static int array_json(const qc_doc *d, uint32_t type, qd_buf *b, int depth)
{
	qd_buf_putc(b, '[');
	int first = 1, rc;
	for (uint32_t c = d->types[type].start; c != QN; c = d->items[c].right) {
		const qd_item *I = &d->items[c];
		if (qd_deleted(I) || !qd_countable(I))
			continue;
		if ((rc = item_values_json(d, I, b, &first, depth)))
			return rc;
	}
	qd_buf_putc(b, ']');
	return QC_OK;
}

/* ---- XML -------------------------------------------------------------- */

static int type_tostring(const qc_doc *d, uint32_t type, qd_buf *b, int depth);
static uint8_t infer_type(const qc_doc *d, uint32_t type);

/* String(x) of every content element of a visible item (XmlFragment child) */
static int item_elems_tostring(const qc_doc *d, const qd_item *I, qd_buf *b, int depth)
{
	const uint8_t *p = d->blob + I->coff;
	int rc;
	switch (I->ref) {
	case REF_TYPE:
		return type_tostring(d, I->coff, b, depth + 1);
	case REF_STRING:
		qd_buf_put(b, (const char *)p, I->cbytes);
		return QC_OK;
	case REF_ANY:
	case REF_JSON: {
		qc_dec dc;
		qc_dec_init(&dc, p, I->cbytes);
		for (uint64_t i = 0; i < I->len; i++)
			if ((rc = elem_render(&dc, I->ref, b, AS_STRING)) < 0)
				return rc;
		return QC_OK;
	}
	case REF_EMBED:
		return qd_json_to_jsstring(b, (const char *)p, I->cbytes);
	case REF_BINARY:
		qd_bytes_jsstring(b, p, I->cbytes);
		return QC_OK;
	case REF_DOC:
		qd_buf_puts(b, "[object Object]");
		return QC_OK;
	default:
		return QC_OK;
	}
}

/* (as before this helper existed: only an ANY item is cut to its last
 * element; the others render all theirs, as in item_elems_tostring) */
static int item_last_jsstring(const qc_doc *d, const qd_item *I, qd_buf *b, int depth)
{
	if (I->ref != REF_ANY)
		return item_elems_tostring(d, I, b, depth);
	qc_dec dc;
	int rc = at_last_elem(d, I, &dc);
	if (rc == QC_OK)
		rc = elem_render(&dc, I->ref, b, AS_STRING);
	return rc < 0 ? rc : QC_OK;
}

static void ascii_lower(qd_buf *b, const uint8_t *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = (char)s[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		qd_buf_putc(b, c);
	}
}

/* attribute pairs of a format value for XmlText.toString */
typedef struct fattr {
	const char *k;
	size_t kn;
	qd_buf v;
} fattr;

typedef struct fnode {
	const uint8_t *name;
	size_t name_n;
	const uint8_t *val; /* normalised JSON */
	size_t val_n;
} fnode;

static int cmp_fnode(const void *a, const void *b)
{
	const fnode *x = a, *y = b;
	return cmp_bytes(x->name, x->name_n, y->name, y->name_n);
}

static int cmp_fattr(const void *a, const void *b)
{
	const fattr *x = a, *y = b;
	return cmp_bytes((const uint8_t *)x->k, x->kn, (const uint8_t *)y->k, y->kn);
}

/* The attributes of `<name k="v" ...>`: one per key of `for (k in value)`,
 * the value given as its lib0 Any encoding (p, n bytes). */
static int tag_attrs(qd_buf *b, const uint8_t *p, size_t n)
{
	qc_dec dc;
	qc_dec_init(&dc, p, n);
	uint8_t tag = 0;
	uint64_t cnt = 0;
	int rc = qc_read_u8(&dc, &tag);
	if (rc)
		return rc;
	if (tag == 117 || tag == 118) {
		if ((rc = qc_read_varuint(&dc, &cnt)))
			return rc;
		if (cnt > qc_dec_left(&dc)) /* every element takes a byte at least */
			return QC_ERR_TRUNCATED;
	}
	if (tag == 118) {
		fattr *a = calloc(cnt ? cnt : 1, sizeof(fattr));
		if (!a)
			return QC_ERR_NOMEM;
		uint64_t got = 0;
		for (; got < cnt && rc == QC_OK; got++) {
			const char *k = NULL;
			size_t kn = 0;
			rc = qc_read_varstring(&dc, &k, &kn);
			a[got].k = k;
			a[got].kn = kn;
			if (rc == QC_OK)
				rc = qd_any_to_jsstring(&a[got].v, &dc);
			if (rc == QC_OK && a[got].v.oom)
				rc = QC_ERR_NOMEM;
		}
		if (rc == QC_OK && cnt > 1)
			qsort(a, cnt, sizeof(fattr), cmp_fattr);
		for (uint64_t i = 0; i < got; i++) {
			if (rc == QC_OK) {
				qd_buf_putc(b, ' ');
				qd_buf_put(b, a[i].k, a[i].kn);
				qd_buf_puts(b, "=\"");
				qd_buf_put(b, a[i].v.p, a[i].v.n);
				qd_buf_putc(b, '"');
			}
			free(a[i].v.p);
		}
		free(a);
	} else if (tag == 117) {
		for (uint64_t i = 0; i < cnt && rc == QC_OK; i++) {
			char t[32];
			int k = snprintf(t, sizeof t, " %llu=\"", (unsigned long long)i);
			qd_buf_put(b, t, (size_t)k);
			rc = qd_any_to_jsstring(b, &dc);
			qd_buf_putc(b, '"');
		}
	} else if (tag == 119) {
		const char *s = NULL;
		size_t sn = 0;
		if ((rc = qc_read_varstring(&dc, &s, &sn)))
			return rc;
		/* for..in over a string: one attribute per UTF-16 unit */
		size_t idx = 0;
		for (size_t i = 0; i < sn;) {
			size_t w = utf8_w((uint8_t)s[i]);
			char t[40];
			if (w == 4) {
				int k = snprintf(t, sizeof t, " %zu=\"\xef\xbf\xbd\" %zu=\"\xef\xbf\xbd\"", idx, idx + 1);
				qd_buf_put(b, t, (size_t)k);
				idx += 2;
			} else {
				int k = snprintf(t, sizeof t, " %zu=\"", idx);
				qd_buf_put(b, t, (size_t)k);
				qd_buf_put(b, s + i, w);
				qd_buf_putc(b, '"');
				idx++;
			}
			i += w;
		}
	}
	return rc;
}

/* `<name k="v" ...>` for one attribute (for ... in value). */
static int open_tag(qd_buf *b, const fnode *f)
{
	qc_enc e;
	qc_enc_init(&e);
	int rc = qd_json_to_any((const char *)f->val, f->val_n, &e, QC_MAX_JSON_DEPTH);
	if (rc == QC_OK) {
		qd_buf_putc(b, '<');
		qd_buf_put(b, (const char *)f->name, f->name_n);
		rc = tag_attrs(b, e.data, e.len);
		qd_buf_putc(b, '>');
	}
	qc_enc_free(&e);
	return rc;
}

/* current attributes while walking an XmlText */
typedef struct attrs {
	fnode *v;
	size_t n, cap;
} attrs;

/* a format item (key, JSON value; "null" removes the key) */
static int attrs_update(attrs *a, const uint8_t *fmt, size_t fn)
{
	qc_dec dc;
	const char *k = NULL, *val = NULL;
	size_t kn = 0, vn = 0;
	int rc;
	qc_dec_init(&dc, fmt, fn);
	if ((rc = qc_read_varstring(&dc, &k, &kn)) || (rc = qc_read_varstring(&dc, &val, &vn)))
		return rc;
	size_t i;
	for (i = 0; i < a->n; i++)
		if (cmp_bytes(a->v[i].name, a->v[i].name_n, (const uint8_t *)k, kn) == 0)
			break;
	if (vn == 4 && memcmp(val, "null", 4) == 0) {
		if (i < a->n) {
			memmove(&a->v[i], &a->v[i + 1], (a->n - i - 1) * sizeof(fnode));
			a->n--;
		}
		return QC_OK;
	}
	if (i == a->n) {
		if (a->n >= a->cap) {
			size_t nc = a->cap ? a->cap * 2 : 4;
			fnode *nv = realloc(a->v, nc * sizeof(fnode));
			if (!nv)
				return QC_ERR_NOMEM;
			a->v = nv;
			a->cap = nc;
		}
		a->n++;
	}
	a->v[i].name = (const uint8_t *)k;
	a->v[i].name_n = kn;
	a->v[i].val = (const uint8_t *)val;
	a->v[i].val_n = vn;
	return QC_OK;
}

static int wrap_segment(qd_buf *b, const attrs *a, const char *s, size_t n)
{
	fnode *sorted = NULL;
	if (a->n) {
		sorted = malloc(a->n * sizeof(fnode));
		if (!sorted)
			return QC_ERR_NOMEM;
		memcpy(sorted, a->v, a->n * sizeof(fnode));
		qsort(sorted, a->n, sizeof(fnode), cmp_fnode);
	}
	int rc = QC_OK;
	for (size_t i = 0; i < a->n && rc == QC_OK; i++)
		rc = open_tag(b, &sorted[i]);
	if (rc) {
		free(sorted);
		return rc;
	}
	qd_buf_put(b, s, n);
	for (size_t i = a->n; i-- > 0;) {
		qd_buf_puts(b, "</");
		qd_buf_put(b, (const char *)sorted[i].name, sorted[i].name_n);
		qd_buf_putc(b, '>');
	}
	free(sorted);
	return QC_OK;
}

/* Yjs's YXmlText.toString: toDelta(), then each delta op wrapped in its
 * attributes' tags. toDelta closes the pending string op at every visible
 * format item and before every embed/type, but only pushes a string op when
 * the string is non-empty (an embed/type is always an op of its own); ops are
 * never merged, so a format item that leaves the attributes unchanged still
 * splits the string. */
static int xmltext_flush(qd_buf *b, const attrs *a, qd_buf *seg)
{
	if (seg->oom)
		return QC_ERR_NOMEM;
	if (seg->n == 0)
		return QC_OK;
	int rc = wrap_segment(b, a, seg->p, seg->n);
	seg->n = 0;
	return rc;
}

static int xmltext_tostring(const qc_doc *d, uint32_t type, qd_buf *b, int depth)
{
	attrs a = {0};
	qd_buf seg = {0};
	int rc = QC_OK;
	for (uint32_t c = d->types[type].start; c != QN && rc == QC_OK; c = d->items[c].right) {
		const qd_item *I = &d->items[c];
		if (qd_deleted(I))
			continue;
		switch (I->ref) {
		case REF_STRING:
			qd_buf_put(&seg, (const char *)d->blob + I->coff, I->cbytes);
			break;
		case REF_FORMAT:
			rc = xmltext_flush(b, &a, &seg);
			if (rc == QC_OK)
				rc = attrs_update(&a, d->blob + I->coff, I->cbytes);
			break;
		case REF_TYPE:
		case REF_EMBED: {
			rc = xmltext_flush(b, &a, &seg);
			qd_buf x = {0};
			if (rc == QC_OK) {
				if (I->ref == REF_TYPE)
					rc = type_tostring(d, I->coff, &x, depth + 1);
				else
					qd_buf_puts(&x, "[object Object]");
			}
			if (rc == QC_OK && x.oom)
				rc = QC_ERR_NOMEM;
			if (rc == QC_OK)
				rc = wrap_segment(b, &a, x.p, x.n);
			free(x.p);
			break;
		}
		default:
			break;
		}
	}
	if (rc == QC_OK)
		rc = xmltext_flush(b, &a, &seg);
	free(seg.p);
	free(a.v);
	return rc;
}

static int children_tostring(const qc_doc *d, uint32_t type, qd_buf *b, int depth)
{
	int rc;
	for (uint32_t c = d->types[type].start; c != QN; c = d->items[c].right) {
		const qd_item *I = &d->items[c];
		if (qd_deleted(I) || !qd_countable(I))
			continue;
		if ((rc = item_elems_tostring(d, I, b, depth)))
			return rc;
	}
	return QC_OK;
}

static int type_tostring(const qc_doc *d, uint32_t type, qd_buf *b, int depth)
{
	if (depth > QD_RENDER_DEPTH)
		return QC_ERR_LIMIT;
	const qd_type *t = &d->types[type];
	switch (infer_type(d, type)) {
	case QT_XML_TEXT:
		return xmltext_tostring(d, type, b, depth);
	case QT_XML_ELEMENT: {
		qd_buf_putc(b, '<');
		ascii_lower(b, d->blob + t->name_off, t->name_len);
		size_t n;
		kent *v = map_entries(d, type, &n, 1);
		if (!v)
			return QC_ERR_NOMEM;
		int rc = QC_OK;
		for (size_t i = 0; i < n && rc == QC_OK; i++) {
			qd_buf_putc(b, ' ');
			qd_buf_put(b, (const char *)d->blob + d->strs[v[i].key].off, d->strs[v[i].key].len);
			qd_buf_puts(b, "=\"");
			rc = item_last_jsstring(d, &d->items[v[i].item], b, depth);
			qd_buf_putc(b, '"');
		}
		free(v);
		if (rc)
			return rc;
		qd_buf_putc(b, '>');
		rc = children_tostring(d, type, b, depth);
		if (rc)
			return rc;
		qd_buf_puts(b, "</");
		ascii_lower(b, d->blob + t->name_off, t->name_len);
		qd_buf_putc(b, '>');
		return QC_OK;
	}
	case QT_XML_FRAGMENT:
		return children_tostring(d, type, b, depth);
	case QT_TEXT:
		text_plain(d, type, b);
		return QC_OK;
	default:
		qd_buf_puts(b, "[object Object]");
		return QC_OK;
	}
}

/* ---- toJSON ------------------------------------------------------------- */

static uint8_t infer_type(const qc_doc *d, uint32_t type)
{
	const qd_type *t = &d->types[type];
	if (t->tref != QT_UNKNOWN)
		return t->tref;
	if (t->map_head != QN)
		return QT_MAP;
	int any_xml = 0, all_xml = 1;
	for (uint32_t c = t->start; c != QN; c = d->items[c].right) {
		const qd_item *I = &d->items[c];
		if (I->ref == REF_STRING || I->ref == REF_FORMAT || I->ref == REF_EMBED)
			return QT_TEXT;
		if (qd_deleted(I) || !qd_countable(I))
			continue;
		if (I->ref == REF_TYPE) {
			uint8_t r = d->types[I->coff].tref;
			if (r == QT_XML_ELEMENT || r == QT_XML_TEXT || r == QT_XML_HOOK)
				any_xml = 1;
			else
				all_xml = 0;
		} else {
			all_xml = 0;
		}
	}
	if (any_xml && all_xml)
		return QT_XML_FRAGMENT;
	return QT_ARRAY;
}

int qd_type_json(const qc_doc *d, uint32_t type, qd_buf *b, int depth)
{
	if (depth > QD_RENDER_DEPTH)
		return QC_ERR_LIMIT;
	switch (infer_type(d, type)) {
	case QT_MAP:
	case QT_XML_HOOK:
		return map_json(d, type, b, depth);
	case QT_ARRAY:
		return array_json(d, type, b, depth);
	default: { /* Text, XML: their toString() as a JSON string */
		qd_buf s = {0};
		int rc = type_tostring(d, type, &s, depth);
		if (rc == QC_OK)
			qd_json_string(b, s.p ? s.p : "", s.n);
		if (s.oom)
			b->oom = 1;
		free(s.p);
		return rc;
	}
	}
}

int qc_doc_root_json(const qc_doc *d, const char *root, char **out, size_t *out_len)
{
	qd_buf b = {0};
	uint32_t t = qd_root_find(d, root);
	int rc = QC_OK;
	if (t == QN)
		qd_buf_puts(&b, "null");
	else
		rc = qd_type_json(d, t, &b, 0);
	return out_buf(d, &b, rc, out, out_len);
}

static int root_has_content(const qc_doc *d, uint32_t t)
{
	return d->types[t].start != QN || d->types[t].map_head != QN;
}

int qc_doc_json(const qc_doc *d, char **out, size_t *out_len)
{
	qd_buf b = {0};
	qd_buf_putc(&b, '{');
	int first = 1, rc = QC_OK;
	for (uint32_t r = 0; r < d->nroots && rc == QC_OK; r++) {
		uint32_t t = d->roots[r];
		if (!root_has_content(d, t))
			continue;
		qd_buf_sep(&b, &first);
		qd_json_string(&b, d->root_names[r], strlen(d->root_names[r]));
		qd_buf_putc(&b, ':');
		rc = qd_type_json(d, t, &b, 0);
	}
	qd_buf_putc(&b, '}');
	return out_buf(d, &b, rc, out, out_len);
}
