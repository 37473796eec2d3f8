/* Update v1 decoding: lazy struct reader, content validation, Any, JSON
 * syntax, delete sets, qc_update_validate and qc_update_counts. */
#include "update_internal.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- JSON syntax (what JSON.parse accepts) ----------------------------- */

void qc_json_ws(const uint8_t **pp, const uint8_t *end)
{
	const uint8_t *p = *pp;
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	*pp = p;
}

static int is_hex(uint8_t c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int is_digit(uint8_t c) { return c >= '0' && c <= '9'; }

static int json_string(const uint8_t **pp, const uint8_t *end)
{
	const uint8_t *p = *pp + 1; /* past the opening quote */
	while (p < end) {
		uint8_t c = *p++;
		if (c == '"') {
			*pp = p;
			return 1;
		}
		if (c < 0x20)
			return 0;
		if (c == '\\') {
			if (p >= end)
				return 0;
			c = *p++;
			if (c == 'u') {
				if (end - p < 4)
					return 0;
				for (int i = 0; i < 4; i++)
					if (!is_hex(p[i]))
						return 0;
				p += 4;
			} else if (!strchr("\"\\/bfnrt", c) || c == 0) {
				return 0;
			}
		}
	}
	return 0;
}

int qc_json_number(const uint8_t **pp, const uint8_t *end)
{
	const uint8_t *p = *pp;
	if (p < end && *p == '-')
		p++;
	if (p >= end)
		return 0;
	if (*p == '0') {
		p++;
	} else if (*p >= '1' && *p <= '9') {
		while (p < end && is_digit(*p))
			p++;
	} else {
		return 0;
	}
	if (p < end && *p == '.') {
		p++;
		if (p >= end || !is_digit(*p))
			return 0;
		while (p < end && is_digit(*p))
			p++;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			p++;
		if (p >= end || !is_digit(*p))
			return 0;
		while (p < end && is_digit(*p))
			p++;
	}
	*pp = p;
	return 1;
}

static int json_lit(const uint8_t **pp, const uint8_t *end, const char *lit)
{
	size_t n = strlen(lit);
	if ((size_t)(end - *pp) < n || memcmp(*pp, lit, n) != 0)
		return 0;
	*pp += n;
	return 1;
}

static int json_value(const uint8_t **pp, const uint8_t *end, int depth)
{
	qc_json_ws(pp, end);
	if (*pp >= end)
		return 0;
	switch (**pp) {
	case '"':
		return json_string(pp, end);
	case 't':
		return json_lit(pp, end, "true");
	case 'f':
		return json_lit(pp, end, "false");
	case 'n':
		return json_lit(pp, end, "null");
	case '[':
	case '{': {
		int obj = **pp == '{';
		uint8_t close = obj ? '}' : ']';
		if (depth >= QC_MAX_JSON_DEPTH)
			return 0;
		(*pp)++;
		qc_json_ws(pp, end);
		if (*pp < end && **pp == close) {
			(*pp)++;
			return 1;
		}
		for (;;) {
			if (obj) {
				qc_json_ws(pp, end);
				if (*pp >= end || **pp != '"' || !json_string(pp, end))
					return 0;
				qc_json_ws(pp, end);
				if (*pp >= end || **pp != ':')
					return 0;
				(*pp)++;
			}
			if (!json_value(pp, end, depth + 1))
				return 0;
			qc_json_ws(pp, end);
			if (*pp >= end)
				return 0;
			if (**pp == ',') {
				(*pp)++;
				continue;
			}
			if (**pp == close) {
				(*pp)++;
				return 1;
			}
			return 0;
		}
	}
	default:
		return qc_json_number(pp, end);
	}
}

static int json_valid(const uint8_t *s, size_t n)
{
	const uint8_t *p = s, *end = s + n;
	if (!json_value(&p, end, 0))
		return 0;
	qc_json_ws(&p, end);
	return p == end;
}

/* ---- Any --------------------------------------------------------------- */

static uint64_t be_load(const uint8_t *p, int n)
{
	uint64_t v = 0;
	for (int i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
}

static void be_store(qc_enc *e, uint64_t v, int n)
{
	uint8_t b[8];
	for (int i = n - 1; i >= 0; i--) {
		b[i] = (uint8_t)(v & 0xff);
		v >>= 8;
	}
	qc_write_bytes(e, b, (size_t)n);
}

static int fits_float32(double d)
{
	if (isnan(d))
		return 0;
	if (isinf(d))
		return 1;
	double a = d < 0 ? -d : d;
	if (a > FLT_MAX)
		return 0;
	return (double)(float)d == d;
}

void qc_any_write_number(qc_enc *e, double d)
{
	double a = d < 0 ? -d : d;
	if (!isnan(d) && a <= 2147483647.0 && (double)(int64_t)d == d) {
		int64_t i = (int64_t)d;
		qc_write_u8(e, 125);
		qc_write_varint_sm(e, (uint64_t)(i < 0 ? -i : i), signbit(d) ? 1 : 0);
	} else if (fits_float32(d)) {
		float f = (float)d;
		uint32_t bits;
		memcpy(&bits, &f, 4);
		qc_write_u8(e, 124);
		be_store(e, bits, 4);
	} else {
		uint64_t bits;
		memcpy(&bits, &d, 8);
		qc_write_u8(e, 123);
		be_store(e, bits, 8);
	}
}

int qc_js_array_index(const uint8_t *k, size_t n, uint64_t *v)
{
	if (n == 0 || n > 10 || (n > 1 && k[0] == '0'))
		return 0;
	uint64_t x = 0;
	for (size_t i = 0; i < n; i++) {
		if (!is_digit(k[i]))
			return 0;
		x = x * 10 + (uint64_t)(k[i] - '0');
	}
	if (x > UINT64_C(4294967294))
		return 0;
	*v = x;
	return 1;
}

void qc_keyord_init(qc_keyord *o, const uint8_t *k, size_t n, size_t seq)
{
	o->seq = seq;
	if (!qc_js_array_index(k, n, &o->idx))
		o->idx = QC_KEYORD_NOT_INDEX;
}

int qc_keyord_cmp(const qc_keyord *x, const qc_keyord *y)
{
	if (x->idx != y->idx)
		return x->idx < y->idx ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int cmp_key_seq(const void *a, const void *b)
{
	const qc_obj_ent *x = a, *y = b;
	size_t n = x->key_n < y->key_n ? x->key_n : y->key_n;
	int c = n ? memcmp(x->key, y->key, n) : 0;
	if (c)
		return c;
	if (x->key_n != y->key_n)
		return x->key_n < y->key_n ? -1 : 1;
	return x->ord.seq < y->ord.seq ? -1 : x->ord.seq > y->ord.seq;
}

static int cmp_js_order(const void *a, const void *b)
{
	return qc_keyord_cmp(&((const qc_obj_ent *)a)->ord, &((const qc_obj_ent *)b)->ord);
}

static int same_key(const qc_obj_ent *x, const qc_obj_ent *y)
{
	return x->key_n == y->key_n && (x->key_n == 0 || memcmp(x->key, y->key, x->key_n) == 0);
}

size_t qc_obj_order(qc_obj_ent *e, size_t n)
{
	for (size_t i = 0; i < n; i++)
		qc_keyord_init(&e[i].ord, e[i].key, e[i].key_n, i);
	/* duplicates: first position, last value; pairwise in a small object
	 * (most are), by sorting on the key in a large one */
	if (n <= 8) {
		for (size_t i = 0; i < n; i++)
			for (size_t j = i + 1; j < n && !e[i].dead; j++)
				if (!e[j].dead && same_key(&e[i], &e[j])) {
					e[i].val = e[j].val;
					e[i].val_n = e[j].val_n;
					e[j].dead = 1;
				}
	} else {
		qsort(e, n, sizeof(*e), cmp_key_seq);
		for (size_t i = 0; i < n;) {
			size_t j = i + 1;
			for (; j < n && same_key(&e[i], &e[j]); j++) {
				e[i].val = e[j].val;
				e[i].val_n = e[j].val_n;
				e[j].dead = 1;
			}
			i = j;
		}
	}
	if (n > 1)
		qsort(e, n, sizeof(*e), cmp_js_order);
	size_t live = 0;
	for (size_t i = 0; i < n; i++)
		live += !e[i].dead;
	return live;
}

/* Re-encode an object as lib0 would after decoding it into a JS object:
 * a repeated key keeps its first position and its last value, "__proto__"
 * never becomes an own property, and Object.keys() lists array-index keys
 * first in numeric order, then the rest in insertion order. */
static int copy_object(qc_dec *d, qc_enc *out, uint64_t count, int depth)
{
	qc_obj_ent *ents = NULL;
	size_t n = 0, cap = 0;
	int rc = QC_OK;
	for (uint64_t i = 0; i < count; i++) {
		const char *k;
		size_t kn;
		if ((rc = qc_read_varstring(d, &k, &kn)))
			goto done;
		const uint8_t *vstart = d->p;
		if ((rc = qc_any_copy(d, NULL, depth + 1)))
			goto done;
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 8;
			qc_obj_ent *ne = realloc(ents, nc * sizeof(*ne));
			if (!ne) {
				rc = QC_ERR_NOMEM;
				goto done;
			}
			ents = ne;
			cap = nc;
		}
		qc_obj_ent *e = &ents[n++];
		e->key = (const uint8_t *)k;
		e->key_n = kn;
		e->val = vstart;
		e->val_n = (size_t)(d->p - vstart);
		e->dead = kn == 9 && memcmp(k, "__proto__", 9) == 0;
	}
	size_t live = qc_obj_order(ents, n);
	qc_write_u8(out, 118);
	qc_write_varuint(out, live);
	for (size_t i = 0; i < n; i++) {
		if (ents[i].dead)
			continue;
		qc_dec vd;
		qc_write_varbytes(out, ents[i].key, ents[i].key_n);
		qc_dec_init(&vd, ents[i].val, ents[i].val_n);
		if ((rc = qc_any_copy(&vd, out, depth + 1)))
			goto done;
	}
done:
	free(ents);
	return rc;
}

int qc_any_head(qc_dec *d, qc_any *v)
{
	int rc = qc_read_u8(d, &v->tag);
	if (rc)
		return rc;
	switch (v->tag) {
	case 127: /* undefined */
	case 126: /* null */
	case 121: /* false */
	case 120: /* true */
		return QC_OK;
	case 125: /* integer */
		return qc_read_varint(d, &v->i, &v->neg_zero);
	case 124: { /* float32 */
		if ((rc = qc_read_bytes(d, 4, &v->p)))
			return rc;
		uint32_t bits = (uint32_t)be_load(v->p, 4);
		float f;
		memcpy(&f, &bits, 4);
		v->f = f;
		return QC_OK;
	}
	case 123: { /* float64 */
		if ((rc = qc_read_bytes(d, 8, &v->p)))
			return rc;
		uint64_t bits = be_load(v->p, 8);
		memcpy(&v->f, &bits, 8);
		return QC_OK;
	}
	case 122: /* bigint64 */
		if ((rc = qc_read_bytes(d, 8, &v->p)))
			return rc;
		v->i = (int64_t)be_load(v->p, 8);
		return QC_OK;
	case 119: { /* string */
		const char *s;
		if ((rc = qc_read_varstring(d, &s, &v->n)))
			return rc;
		v->p = (const uint8_t *)s;
		return QC_OK;
	}
	case 116: /* Uint8Array */
		return qc_read_varbytes(d, &v->p, &v->n);
	case 118:   /* object */
	case 117: { /* array */
		if ((rc = qc_read_varuint(d, &v->count)))
			return rc;
		/* every entry takes at least one byte (two for objects) */
		return v->count > qc_dec_left(d) ? QC_ERR_TRUNCATED : QC_OK;
	}
	default:
		return QC_ERR_INVALID;
	}
}

/* Write a value other than an array or object the way lib0 writeAny writes
 * what readAny made of it. */
static void write_scalar(qc_enc *out, const qc_any *v)
{
	switch (v->tag) {
	case 125: {
		uint64_t mag = (uint64_t)(v->i < 0 ? -v->i : v->i);
		if (mag <= 2147483647u) {
			qc_write_u8(out, 125);
			qc_write_varint_sm(out, mag, v->i < 0 || v->neg_zero);
		} else {
			qc_any_write_number(out, (double)v->i);
		}
		return;
	}
	case 124:
	case 123:
		if (!isnan(v->f)) {
			qc_any_write_number(out, v->f);
		} else if (v->tag == 123) { /* a NaN keeps its bits */
			qc_write_u8(out, 123);
			qc_write_bytes(out, v->p, 8);
		} else { /* a float32 NaN as a Float64 store writes it */
			uint64_t bits;
			memcpy(&bits, &v->f, 8);
			qc_write_u8(out, 123);
			be_store(out, bits, 8);
		}
		return;
	case 122:
		qc_write_u8(out, 122);
		qc_write_bytes(out, v->p, 8);
		return;
	case 119:
	case 116:
		qc_write_u8(out, v->tag);
		qc_write_varbytes(out, v->p, v->n);
		return;
	default: /* undefined, null, false, true */
		qc_write_u8(out, v->tag);
	}
}

int qc_any_copy(qc_dec *d, qc_enc *out, int depth)
{
	qc_any v;
	int rc;
	/* the depth limit comes before an array's or object's count is read */
	if (depth >= QC_MAX_ANY_DEPTH && d->p < d->end && (*d->p == 117 || *d->p == 118))
		return QC_ERR_LIMIT;
	if ((rc = qc_any_head(d, &v)))
		return rc;
	if (v.tag != 117 && v.tag != 118) {
		if (out)
			write_scalar(out, &v);
		return QC_OK;
	}
	if (out && v.tag == 118)
		return copy_object(d, out, v.count, depth);
	if (out) {
		qc_write_u8(out, 117);
		qc_write_varuint(out, v.count);
	}
	for (uint64_t i = 0; i < v.count; i++) {
		if (v.tag == 118) {
			const char *k;
			size_t kn;
			if ((rc = qc_read_varstring(d, &k, &kn)))
				return rc;
		}
		if ((rc = qc_any_copy(d, out, depth + 1)))
			return rc;
	}
	return QC_OK;
}

/* ---- struct reader ----------------------------------------------------- */

static int read_id(qc_dec *d, uint64_t *c, uint64_t *k)
{
	int rc = qc_read_varuint(d, c);
	return rc ? rc : qc_read_varuint(d, k);
}

static int read_json_string(qc_dec *d, int allow_undefined)
{
	const char *s;
	size_t n;
	int rc = qc_read_varstring(d, &s, &n);
	if (rc)
		return rc;
	if (allow_undefined && n == 9 && memcmp(s, "undefined", 9) == 0)
		return QC_OK;
	return json_valid((const uint8_t *)s, n) ? QC_OK : QC_ERR_INVALID;
}

/* Validate the content for ref and return its clock length. */
static int read_content(qc_dec *d, uint8_t ref, uint64_t *len)
{
	int rc;
	const char *s;
	size_t n;
	const uint8_t *p;
	uint64_t count;
	if (ref == 1) /* Deleted, the most common: a test, not the jump table */
		return qc_read_varuint(d, len);
	switch (ref) {
	case 1: /* Deleted */
		return qc_read_varuint(d, len);
	case 2: /* JSON */
		if ((rc = qc_read_varuint(d, &count)))
			return rc;
		if (count > qc_dec_left(d))
			return QC_ERR_TRUNCATED;
		for (uint64_t i = 0; i < count; i++)
			if ((rc = read_json_string(d, 1)))
				return rc;
		*len = count;
		return QC_OK;
	case 3: /* Binary */
		if ((rc = qc_read_varbytes(d, &p, &n)))
			return rc;
		*len = 1;
		return QC_OK;
	case 4: { /* String */
		if ((rc = qc_read_varbytes(d, &p, &n)))
			return rc;
		/* one pass for ASCII text: valid, one UTF-16 unit per byte */
		size_t a = qc_ascii_prefix(p, n);
		if (a < n && !qc_utf8_valid(p + a, n - a))
			return QC_ERR_UTF8;
		*len = a + (a < n ? qc_utf16_len(p + a, n - a) : 0);
		return QC_OK;
	}
	case 5: /* Embed */
		if ((rc = read_json_string(d, 0)))
			return rc;
		*len = 1;
		return QC_OK;
	case 6: /* Format */
		if ((rc = qc_read_varstring(d, &s, &n)))
			return rc;
		if ((rc = read_json_string(d, 0)))
			return rc;
		*len = 1;
		return QC_OK;
	case 7: { /* Type */
		uint64_t tref;
		if ((rc = qc_read_varuint(d, &tref)))
			return rc;
		if (tref > 6)
			return QC_ERR_INVALID;
		if (tref == 3 || tref == 5)
			if ((rc = qc_read_varstring(d, &s, &n)))
				return rc;
		*len = 1;
		return QC_OK;
	}
	case 8: /* Any */
		if ((rc = qc_read_varuint(d, &count)))
			return rc;
		if (count > qc_dec_left(d))
			return QC_ERR_TRUNCATED;
		for (uint64_t i = 0; i < count; i++)
			if ((rc = qc_any_copy(d, NULL, 0)))
				return rc;
		*len = count;
		return QC_OK;
	case 9: /* Doc: guid, then opts (an object) */
		if ((rc = qc_read_varstring(d, &s, &n)))
			return rc;
		if (d->p >= d->end)
			return QC_ERR_TRUNCATED;
		if (*d->p != 118)
			return QC_ERR_INVALID;
		if ((rc = qc_any_copy(d, NULL, 0)))
			return rc;
		*len = 1;
		return QC_OK;
	default:
		return QC_ERR_INVALID;
	}
}

int qc_rd_init(qc_rd *r, const uint8_t *u, size_t n, int filter_skips)
{
	memset(r, 0, sizeof(*r));
	qc_dec_init(&r->d, u, n);
	r->filter_skips = filter_skips;
	return qc_read_varuint(&r->d, &r->sections_left);
}

void qc_rd_free(qc_rd *r)
{
	free(r->clients);
	r->clients = NULL;
	r->nclients = r->capclients = 0;
}

static int push_client(qc_rd *r, uint64_t client)
{
	if (r->nclients == 0) { /* most updates have one section: no allocation */
		r->client0 = client;
		r->nclients = 1;
		return QC_OK;
	}
	if (r->nclients >= r->capclients) {
		size_t cap = r->capclients ? r->capclients * 2 : 16;
		uint64_t *p = realloc(r->clients, cap * sizeof(*p));
		if (!p)
			return QC_ERR_NOMEM;
		if (!r->capclients)
			p[0] = r->client0;
		r->clients = p;
		r->capclients = cap;
	}
	r->clients[r->nclients++] = client;
	return QC_OK;
}

static int read_struct(qc_rd *r, qc_st *st)
{
	qc_dec *d = &r->d;
	uint8_t info;
	int rc = qc_read_u8(d, &info);
	if (rc)
		return rc;
	/* every field, stored one by one: a compound literal or memset
	 * became a string store, with a mispredicted branch per struct */
	st->kind = st->ref = 0;
	st->has_origin = st->has_right = st->parent_kind = st->has_psub = 0;
	st->client = r->client;
	st->clock = r->clock;
	st->len = st->off = 0;
	st->oc = st->ok = st->rc = st->rk = 0;
	st->pc = st->pk = 0; /* the larger member of the parent union */
	st->psub = NULL;
	st->psub_n = 0;
	st->content = st->content_end = NULL;
	uint8_t ref = info & 0x1f;
	if (ref == 0 || ref == 10) {
		if (info != ref)
			return QC_ERR_INVALID; /* GC/Skip carry no flag bits */
		st->kind = ref == 0 ? QC_ST_GC : QC_ST_SKIP;
		if ((rc = qc_read_varuint(d, &st->len)))
			return rc;
	} else if (ref > 10) {
		return QC_ERR_INVALID;
	} else {
		st->kind = QC_ST_ITEM;
		st->ref = ref;
		if (info & 0x80) {
			st->has_origin = 1;
			if ((rc = read_id(d, &st->oc, &st->ok)))
				return rc;
		}
		if (info & 0x40) {
			st->has_right = 1;
			if ((rc = read_id(d, &st->rc, &st->rk)))
				return rc;
		}
		if ((info & 0xc0) == 0) {
			uint64_t pinfo;
			if ((rc = qc_read_varuint(d, &pinfo)))
				return rc;
			if (pinfo == 1) {
				const char *s;
				st->parent_kind = 1;
				if ((rc = qc_read_varstring(d, &s, &st->pname_n)))
					return rc;
				st->pname = (const uint8_t *)s;
			} else {
				st->parent_kind = 2;
				if ((rc = read_id(d, &st->pc, &st->pk)))
					return rc;
			}
			if (info & 0x20) {
				const char *s;
				st->has_psub = 1;
				if ((rc = qc_read_varstring(d, &s, &st->psub_n)))
					return rc;
				st->psub = (const uint8_t *)s;
			}
		}
		st->content = d->p;
		if ((rc = read_content(d, ref, &st->len)))
			return rc;
		st->content_end = d->p;
	}
	if (st->len > QC_MAX_SAFE_INT - st->clock)
		return QC_ERR_LIMIT;
	r->clock = st->clock + st->len;
	return QC_OK;
}

int qc_rd_next(qc_rd *r)
{
	int rc = qc_rd_next_into(r, &r->head);
	r->has_head = rc == 1;
	return rc;
}

int qc_rd_next_into(qc_rd *r, qc_st *out)
{
	int rc;
	r->has_head = 0;
	for (;;) {
		while (r->structs_left == 0) {
			if (r->sections_left == 0)
				return 0;
			r->sections_left--;
			if ((rc = qc_read_varuint(&r->d, &r->structs_left)))
				return rc;
			if ((rc = qc_read_varuint(&r->d, &r->client)))
				return rc;
			if ((rc = qc_read_varuint(&r->d, &r->clock)))
				return rc;
			if (r->track_clients && (rc = push_client(r, r->client)))
				return rc;
		}
		r->structs_left--;
		if ((rc = read_struct(r, out)))
			return rc;
		if (r->filter_skips && out->kind == QC_ST_SKIP)
			continue;
		return 1;
	}
}

int qc_sections(const uint8_t *u, size_t n, qc_section **out, size_t *count, size_t *ds_off)
{
	qc_rd r;
	int rc = qc_rd_init(&r, u, n, 0);
	*out = NULL;
	*count = 0;
	if (rc)
		return rc;
	uint64_t nsec = r.sections_left;
	/* a section takes at least three bytes */
	if (nsec > qc_dec_left(&r.d) / 3)
		return QC_ERR_TRUNCATED;
	qc_section *secs = NULL;
	if (nsec) {
		secs = malloc((size_t)nsec * sizeof(*secs));
		if (!secs)
			return QC_ERR_NOMEM;
	}
	for (uint64_t i = 0; i < nsec; i++) {
		qc_section *sc = &secs[i];
		sc->start = (size_t)(r.d.p - u);
		if ((rc = qc_read_varuint(&r.d, &sc->nstructs)) || (rc = qc_read_varuint(&r.d, &r.client)) ||
		    (rc = qc_read_varuint(&r.d, &r.clock)))
			goto fail;
		sc->client = r.client;
		for (uint64_t j = 0; j < sc->nstructs; j++) {
			qc_st st;
			if ((rc = read_struct(&r, &st)))
				goto fail;
		}
		sc->end = (size_t)(r.d.p - u);
	}
	*out = secs;
	*count = (size_t)nsec;
	*ds_off = (size_t)(r.d.p - u);
	return QC_OK;
fail:
	free(secs);
	return rc;
}

/* ---- delete set -------------------------------------------------------- */

void qc_ds_free(qc_ds *ds)
{
	if (ds->r != ds->fixed)
		free(ds->r);
	ds->r = NULL;
	ds->n = ds->cap = 0;
}

int qc_ds_read(qc_dec *d, qc_ds *ds, size_t *count)
{
	uint64_t nclients;
	int rc = qc_read_varuint(d, &nclients);
	if (rc)
		return rc;
	size_t total = 0;
	for (uint64_t i = 0; i < nclients; i++) {
		uint64_t client, nranges;
		if ((rc = qc_read_varuint(d, &client)) || (rc = qc_read_varuint(d, &nranges)))
			return rc;
		for (uint64_t j = 0; j < nranges; j++) {
			uint64_t clock, len;
			if ((rc = qc_read_varuint(d, &clock)) || (rc = qc_read_varuint(d, &len)))
				return rc;
			if (len > QC_MAX_SAFE_INT - clock)
				return QC_ERR_LIMIT;
			if (ds) {
				if (ds->n == ds->cap) {
					size_t cap = ds->cap ? ds->cap * 2 : 16;
					int fixed = ds->r && ds->r == ds->fixed;
					qc_ds_range *p = realloc(fixed ? NULL : ds->r, cap * sizeof(*p));
					if (!p)
						return QC_ERR_NOMEM;
					if (fixed)
						memcpy(p, ds->r, ds->n * sizeof(*p));
					ds->r = p;
					ds->cap = cap;
				}
				ds->r[ds->n].client = client;
				ds->r[ds->n].clock = clock;
				ds->r[ds->n].len = len;
				ds->r[ds->n].seq = ds->n;
				ds->n++;
			}
			total++;
		}
	}
	if (count)
		*count = total;
	return QC_OK;
}

static int cmp_merge(const void *a, const void *b)
{
	const qc_ds_range *x = a, *y = b;
	if (x->client != y->client)
		return x->client > y->client ? -1 : 1;
	if (x->clock != y->clock)
		return x->clock < y->clock ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int cmp_clients(const void *a, const void *b)
{
	const qc_ds_range *x = a, *y = b;
	if (x->client != y->client)
		return x->client > y->client ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

void qc_ds_sort_merge(qc_ds *ds)
{
	if (ds->n == 0)
		return;
	qsort(ds->r, ds->n, sizeof(*ds->r), cmp_merge);
	size_t j = 1;
	for (size_t i = 1; i < ds->n; i++) {
		qc_ds_range *left = &ds->r[j - 1], *right = &ds->r[i];
		if (left->client == right->client && left->clock + left->len >= right->clock) {
			uint64_t end = right->clock + right->len;
			if (end - left->clock > left->len)
				left->len = end - left->clock;
		} else {
			ds->r[j++] = *right;
		}
	}
	ds->n = j;
}

void qc_ds_sort_clients(qc_ds *ds)
{
	if (ds->n)
		qsort(ds->r, ds->n, sizeof(*ds->r), cmp_clients);
}

void qc_ds_write(qc_enc *e, const qc_ds *ds)
{
	size_t nclients = 0;
	for (size_t i = 0; i < ds->n; i++)
		if (i == 0 || ds->r[i].client != ds->r[i - 1].client)
			nclients++;
	qc_write_varuint(e, nclients);
	for (size_t i = 0; i < ds->n;) {
		size_t j = i;
		while (j < ds->n && ds->r[j].client == ds->r[i].client)
			j++;
		qc_write_varuint(e, ds->r[i].client);
		qc_write_varuint(e, j - i);
		for (size_t k = i; k < j; k++) {
			qc_write_varuint(e, ds->r[k].clock);
			qc_write_varuint(e, ds->r[k].len);
		}
		i = j;
	}
}

/* ---- validate / counts ------------------------------------------------- */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

int qc_rd_end(qc_rd *r, qc_ds *ds, size_t *ranges)
{
	int rc = qc_ds_read(&r->d, ds, ranges);
	if (rc == 0 && qc_dec_left(&r->d) != 0)
		rc = QC_ERR_TRAILING;
	if (rc == 0 && r->nclients > 1) {
		qsort(r->clients, r->nclients, sizeof(uint64_t), cmp_u64);
		for (size_t i = 1; i < r->nclients; i++)
			if (r->clients[i] == r->clients[i - 1])
				rc = QC_ERR_INVALID;
	}
	return rc;
}

/* Full strict pass; optionally counts structs and delete-set ranges, and
 * points at where the delete set starts (it runs to the end). */
static int scan(const uint8_t *u, size_t n, size_t *structs, size_t *ranges, const uint8_t **ds)
{
	static const uint8_t empty = 0;
	qc_rd r;
	size_t ns = 0;
	int rc = qc_rd_init(&r, u ? u : &empty, u ? n : 0, 0);
	if (rc)
		return rc;
	r.track_clients = 1;
	while ((rc = qc_rd_next(&r)) == 1)
		ns++;
	if (ds)
		*ds = r.d.p;
	if (rc == 0)
		rc = qc_rd_end(&r, NULL, ranges);
	qc_rd_free(&r);
	if (rc == 0 && structs)
		*structs = ns;
	return rc;
}

int qc_update_deletions(const uint8_t *u, size_t n, uint8_t **out, size_t *out_len)
{
	if (!out || !out_len || (u == NULL && n != 0))
		return QC_ERR_INVALID;
	*out = NULL;
	*out_len = 0;
	const uint8_t *ds = NULL;
	size_t ranges = 0;
	int rc = scan(u, n, NULL, &ranges, &ds);
	if (rc || !ranges)
		return rc;
	size_t dn = (size_t)(u + n - ds);
	uint8_t *p = malloc(1 + dn);
	if (!p)
		return QC_ERR_NOMEM;
	p[0] = 0; /* no struct sections */
	memcpy(p + 1, ds, dn);
	*out = p;
	*out_len = 1 + dn;
	return QC_OK;
}

int qc_update_validate(const uint8_t *u, size_t n)
{
	if (u == NULL && n != 0)
		return QC_ERR_INVALID;
	return scan(u, n, NULL, NULL, NULL);
}

int qc_update_counts(const uint8_t *u, size_t n, size_t *structs, size_t *ds_ranges)
{
	size_t s = 0, r = 0;
	if (u == NULL && n != 0)
		return QC_ERR_INVALID;
	int rc = scan(u, n, &s, &r, NULL);
	if (rc)
		return rc;
	if (structs)
		*structs = s;
	if (ds_ranges)
		*ds_ranges = r;
	return QC_OK;
}
