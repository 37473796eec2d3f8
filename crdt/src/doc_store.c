/* Document model: arenas, struct store, interned strings, types, map
 * entries, splitting. */
#include "doc_internal.h"

#include <stdlib.h>

void *qd_malloc(qc_doc *d, size_t n) { return d->al.malloc(n ? n : 1, d->al.ud); }
void *qd_realloc(qc_doc *d, void *p, size_t n) { return d->al.realloc(p, n ? n : 1, d->al.ud); }
void qd_free(qc_doc *d, void *p)
{
	if (p)
		d->al.free(p, d->al.ud);
}

int qd_grow(qc_doc *d, void **p, size_t elem, size_t need, size_t *cap)
{
	if (need <= *cap)
		return QC_OK;
	size_t nc = *cap ? *cap : 4;
	while (nc < need) {
		if (nc > SIZE_MAX / 2 / elem)
			return QC_ERR_NOMEM;
		nc = nc < 4096 ? nc * 2 : nc + nc / 2;
	}
	void *np = qd_realloc(d, *p, nc * elem);
	if (!np)
		return QC_ERR_NOMEM;
	*p = np;
	*cap = nc;
	return QC_OK;
}

#define GROW(d, arr, n, cap)                                                                       \
	do {                                                                                       \
		if ((n) >= (cap)) {                                                                \
			size_t c_ = (cap);                                                         \
			int r_ = qd_grow((d), (void **)&(arr), sizeof(*(arr)), (size_t)(n) + 1, &c_); \
			if (r_)                                                                    \
				return r_;                                                         \
			if (c_ > UINT32_MAX - 1)                                                   \
				c_ = UINT32_MAX - 1;                                               \
			(cap) = (uint32_t)c_;                                                      \
		}                                                                                  \
	} while (0)

static inline uint32_t hash64(uint64_t x)
{
	x ^= x >> 33;
	x *= UINT64_C(0xff51afd7ed558ccd);
	x ^= x >> 33;
	return (uint32_t)x;
}

static uint32_t hash_bytes(const void *p, size_t n)
{
	const uint8_t *s = p;
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ s[i]) * 16777619u;
	return h;
}

/* ---- clients --------------------------------------------------------- */

/* the hash lookup behind qd_client_slot; remembers its answer (a lookup
 * cache only, hence the cast) */
uint32_t qd_client_lookup(const qc_doc *d, uint64_t id)
{
	if (!d->chcap)
		return QN;
	uint32_t m = d->chcap - 1;
	for (uint32_t h = hash64(id) & m;; h = (h + 1) & m) {
		uint32_t s = d->chash[h];
		if (s == QN)
			return QN;
		if (d->clients[s].id == id)
			return ((qc_doc *)d)->cs_slot = s;
	}
}

static int chash_rebuild(qc_doc *d, uint32_t cap)
{
	uint32_t *h = qd_malloc(d, (size_t)cap * sizeof(uint32_t));
	if (!h)
		return QC_ERR_NOMEM;
	memset(h, 0xff, (size_t)cap * sizeof(uint32_t));
	for (uint32_t s = 0; s < d->nclients; s++) {
		uint32_t k = hash64(d->clients[s].id) & (cap - 1);
		while (h[k] != QN)
			k = (k + 1) & (cap - 1);
		h[k] = s;
	}
	qd_free(d, d->chash);
	d->chash = h;
	d->chcap = cap;
	return QC_OK;
}

int qd_client_get(qc_doc *d, uint64_t id, uint32_t *slot)
{
	uint32_t s = qd_client_slot(d, id);
	if (s != QN) {
		*slot = s;
		return QC_OK;
	}
	GROW(d, d->clients, d->nclients, d->capclients);
	qd_client *c = &d->clients[d->nclients];
	memset(c, 0, sizeof(*c));
	c->id = id;
	d->nclients++;
	if (d->nclients * 2 > d->chcap) {
		int rc = chash_rebuild(d, d->chcap ? d->chcap * 2 : 16);
		if (rc) {
			d->nclients--;
			return rc;
		}
	} else {
		uint32_t m = d->chcap - 1, k = hash64(id) & m;
		while (d->chash[k] != QN)
			k = (k + 1) & m;
		d->chash[k] = d->nclients - 1;
	}
	*slot = d->nclients - 1;
	return QC_OK;
}

/* Index in the client's array of the struct containing clock (clock < state). */
uint32_t qd_find_pos(qc_doc *d, uint32_t slot, uint64_t clock)
{
	qd_client *c = &d->clients[slot];
	const qd_item *items = d->items;
	if (items[qd_cs(c, c->n - 1)].clock <= clock)
		return c->n - 1; /* the newest struct: the common case */
	uint32_t h = c->last_hit;
	if (h < c->n) {
		const qd_item *it = &items[qd_cs(c, h)];
		if (it->clock <= clock) {
			if (clock < it->clock + it->len)
				return h;
			if (h + 1 < c->n) {
				it = &items[qd_cs(c, h + 1)];
				if (it->clock <= clock && clock < it->clock + it->len)
					return c->last_hit = h + 1;
			}
		}
	}
	/* an origin is most often one of the newest structs (typing goes on
	 * near where it was): scan the last few */
	if (c->n > QD_RECENT) {
		uint32_t i = c->n - 2;
		if (items[qd_cs(c, c->n - 1 - QD_RECENT)].clock <= clock) {
			while (items[qd_cs(c, i)].clock > clock)
				i--;
			return i;
		}
	}
	/* clocks grow roughly linearly along the array: start from the
	 * interpolated position and gallop */
	const qd_item *last = &items[qd_cs(c, c->n - 1)];
	uint64_t guess = (uint64_t)clock * (c->n - 1) / last->clock;
	uint32_t lo = qd_find_pos_near(d, slot, clock, (uint32_t)guess);
	c->last_hit = lo;
	return lo;
}

/* The last of v[0..n) whose struct starts at or before clock (v[0]'s does),
 * galloping outwards from hint < n, then halving. */
static uint32_t search_run(const qd_item *items, const uint32_t *v, uint32_t n, uint64_t clock, uint32_t hint)
{
	uint32_t lo, hi; /* answer in [lo, hi] */
	if (items[v[hint]].clock <= clock) {
		lo = hint;
		uint32_t step = 1;
		for (;;) {
			uint32_t nx = lo + step;
			if (nx >= n || nx < lo) {
				hi = n - 1;
				break;
			}
			if (items[v[nx]].clock > clock) {
				hi = nx - 1;
				break;
			}
			lo = nx;
			step *= 2;
		}
	} else {
		hi = hint - 1; /* hint > 0: v[0] starts at or before clock */
		uint32_t step = 1;
		for (;;) {
			if (hi < step) {
				lo = 0;
				break;
			}
			uint32_t nx = hi - step;
			if (items[v[nx]].clock <= clock) {
				lo = nx;
				break;
			}
			hi = nx - 1;
			step *= 2;
		}
	}
	/* branch-free halving: which half holds the answer is unpredictable,
	 * so it is picked with a conditional move instead of a jump */
	uint32_t len = hi - lo + 1;
	while (len > 1) {
		uint32_t half = len / 2;
		lo = items[v[lo + half]].clock <= clock ? lo + half : lo;
		len -= half;
	}
	return lo;
}

/* Same as qd_find_pos, searching outwards from hint (an earlier answer): cheap
 * when successive lookups are close, as they are along a sorted delete set.
 * Each side of the gap buffer's hole is a plain array: the search picks the
 * side first and then indexes it directly. */
uint32_t qd_find_pos_near(qc_doc *d, uint32_t slot, uint64_t clock, uint32_t hint)
{
	qd_client *c = &d->clients[slot];
	if (hint >= c->n)
		return qd_find_pos(d, slot, clock);
	uint32_t gap = c->gap;
	if (gap < c->n && d->items[c->v[gap + c->glen]].clock <= clock) {
		uint32_t h = hint > gap ? hint - gap : 0;
		return gap + search_run(d->items, c->v + gap + c->glen, c->n - gap, clock, h);
	}
	return search_run(d->items, c->v, gap < c->n ? gap : c->n, clock, hint < gap ? hint : gap - 1);
}

static void cs_close(qd_client *c);

static void fit(qc_doc *d, void **p, size_t elem, size_t n, size_t *cap)
{
	if (!*p || *cap <= n + n / 64 + 4)
		return;
	void *np = qd_realloc(d, *p, (n ? n : 1) * elem);
	if (np) { /* a failed shrink leaves the block as it was */
		*p = np;
		*cap = n ? n : 1;
	}
}

/* Room for n more items and b more content bytes, allocated once (a load
 * would otherwise grow the arenas a dozen times). */
int qd_reserve(qc_doc *d, size_t n, size_t b)
{
	size_t need = (size_t)d->nitems + n;
	if (need > d->capitems && need < UINT32_MAX - 2) {
		qd_item *p = qd_realloc(d, d->items, need * sizeof(qd_item));
		if (!p)
			return QC_ERR_NOMEM;
		d->items = p;
		d->capitems = (uint32_t)need;
	}
	need = d->nblob + b;
	if (need > d->capblob && need <= UINT32_MAX) {
		uint8_t *p = qd_realloc(d, d->blob, need);
		if (!p)
			return QC_ERR_NOMEM;
		d->blob = p;
		d->capblob = need;
	}
	return QC_OK;
}

void qd_trim(qc_doc *d)
{
	size_t c = d->capitems;
	fit(d, (void **)&d->items, sizeof(qd_item), d->nitems, &c);
	d->capitems = (uint32_t)c;
	if (d->blob_garbage > d->nblob / 4)
		qd_blob_compact(d); /* on failure the old blob stays */
	fit(d, (void **)&d->blob, 1, d->nblob, &d->capblob);
	for (uint32_t i = 0; i < d->nclients; i++) {
		qd_client *cl = &d->clients[i];
		cs_close(cl);
		c = cl->cap;
		fit(d, (void **)&cl->v, sizeof(uint32_t), cl->n, &c);
		cl->cap = (uint32_t)c;
	}
	/* the update event's delete set, kept until it is read or replaced */
	fit(d, (void **)&d->lz_ds, sizeof(qd_dsr), d->lz_nds, &d->lz_capds);
}

uint32_t qd_find(qc_doc *d, uint32_t slot, uint64_t clock)
{
	return qd_cs(&d->clients[slot], qd_find_pos(d, slot, clock));
}

/* ---- struct store (gap buffer, see qd_client) ------------------------- */

/* Room for `more` slots past the physical end. */
static int cs_reserve(qc_doc *d, qd_client *c, uint32_t more)
{
	size_t used = (size_t)c->n + c->glen;
	if (used + more <= c->cap)
		return QC_OK;
	if (used + more > UINT32_MAX - 1)
		return QC_ERR_LIMIT;
	size_t cap = c->cap;
	int rc = qd_grow(d, (void **)&c->v, sizeof(uint32_t), used + more, &cap);
	if (rc)
		return rc;
	c->cap = (uint32_t)(cap > UINT32_MAX - 1 ? UINT32_MAX - 1 : cap);
	return QC_OK;
}

/* Move the hole so that it starts at logical position p. */
static void cs_move_gap(qd_client *c, uint32_t p)
{
	if (!c->glen) {
		c->gap = p;
		return;
	}
	if (p < c->gap)
		memmove(c->v + p + c->glen, c->v + p, (size_t)(c->gap - p) * sizeof(uint32_t));
	else if (p > c->gap)
		memmove(c->v + c->gap, c->v + c->gap + c->glen, (size_t)(p - c->gap) * sizeof(uint32_t));
	c->gap = p;
}

int qd_cs_append(qc_doc *d, uint32_t slot, uint32_t it)
{
	int rc = qd_touch(d, slot); /* the client's state changes */
	if (rc)
		return rc;
	qd_client *c = &d->clients[slot];
	if (c->glen && c->gap == c->n) { /* the hole is at the end: fill it */
		c->v[c->gap++] = it;
		c->glen--;
		c->n++;
		return QC_OK;
	}
	if ((rc = cs_reserve(d, c, 1)))
		return rc;
	c->v[c->n + c->glen] = it; /* behind the hole: logical n */
	c->n++;
	return QC_OK;
}

/* A hole this large is opened when an insertion finds none. */
#define CS_HOLE 64

static int client_insert(qc_doc *d, uint32_t slot, uint32_t pos, uint32_t it)
{
	qd_client *c = &d->clients[slot];
	if (!c->glen) {
		int rc = cs_reserve(d, c, CS_HOLE);
		if (rc)
			return rc;
		memmove(c->v + pos + CS_HOLE, c->v + pos, (size_t)(c->n - pos) * sizeof(uint32_t));
		c->gap = pos;
		c->glen = CS_HOLE;
	} else {
		cs_move_gap(c, pos);
	}
	c->v[c->gap++] = it;
	c->glen--;
	c->n++;
	return QC_OK;
}

void qd_cs_remove(qd_client *c, uint32_t pos, uint32_t count)
{
	if (pos + count == c->n && c->gap <= pos) {
		/* the newest entries, behind the hole (a typed character merged
		 * into its left neighbour): drop them where they are */
		c->n -= count;
		if (c->gap == c->n)
			c->glen = 0;
		return;
	}
	cs_move_gap(c, pos + count);
	c->gap = pos;
	c->glen += count;
	c->n -= count;
	if (c->gap == c->n) {
		c->glen = 0; /* a hole at the end is just free room */
	} else if (c->glen > 4 * CS_HOLE && c->glen > c->n / 4) {
		/* removals grew the hole: give the room back to the end */
		memmove(c->v + c->gap + CS_HOLE, c->v + c->gap + c->glen, (size_t)(c->n - c->gap) * sizeof(uint32_t));
		c->glen = CS_HOLE;
	}
}

/* Close the hole (it moves to the physical end). */
static void cs_close(qd_client *c)
{
	cs_move_gap(c, c->n);
	c->glen = 0;
	c->gap = c->n;
}

/* ---- arenas ---------------------------------------------------------- */

int qd_item_new(qc_doc *d, uint32_t *out)
{
	if (d->free_item != QN) {
		uint32_t i = d->free_item;
		d->free_item = d->items[i].right;
		*out = i;
		return QC_OK;
	}
	if (d->nitems >= UINT32_MAX - 2)
		return QC_ERR_LIMIT;
	GROW(d, d->items, d->nitems, d->capitems);
	*out = d->nitems++;
	return QC_OK;
}

int qd_blob_put(qc_doc *d, const void *p, size_t n, uint32_t *off)
{
	if (d->nblob + n > UINT32_MAX)
		return QC_ERR_LIMIT;
	if (d->nblob + n > d->capblob) {
		int rc = qd_grow(d, (void **)&d->blob, 1, d->nblob + n, &d->capblob);
		if (rc)
			return rc;
	}
	if (n)
		memcpy(d->blob + d->nblob, p, n);
	*off = (uint32_t)d->nblob;
	d->nblob += n;
	return QC_OK;
}

/* ---- interned strings ------------------------------------------------ */

uint32_t qd_intern_find(const qc_doc *d, const char *s, size_t n)
{
	if (!d->shcap)
		return QN;
	uint32_t m = d->shcap - 1;
	for (uint32_t h = hash_bytes(s, n) & m;; h = (h + 1) & m) {
		uint32_t i = d->shash[h];
		if (i == QN)
			return QN;
		if (d->strs[i].len == n && (n == 0 || memcmp(d->blob + d->strs[i].off, s, n) == 0))
			return i;
	}
}

int qd_intern(qc_doc *d, const char *s, size_t n, uint32_t *id)
{
	uint32_t i = qd_intern_find(d, s, n);
	if (i != QN) {
		*id = i;
		return QC_OK;
	}
	GROW(d, d->strs, d->nstrs, d->capstrs);
	uint32_t off;
	int rc = qd_blob_put(d, s, n, &off);
	if (rc)
		return rc;
	if ((d->nstrs + 1) * 2 > d->shcap) {
		uint32_t cap = d->shcap ? d->shcap * 2 : 16;
		uint32_t *h = qd_malloc(d, (size_t)cap * sizeof(uint32_t));
		if (!h)
			return QC_ERR_NOMEM;
		memset(h, 0xff, (size_t)cap * sizeof(uint32_t));
		for (uint32_t k = 0; k < d->nstrs; k++) {
			uint32_t x = hash_bytes(d->blob + d->strs[k].off, d->strs[k].len) & (cap - 1);
			while (h[x] != QN)
				x = (x + 1) & (cap - 1);
			h[x] = k;
		}
		qd_free(d, d->shash);
		d->shash = h;
		d->shcap = cap;
	}
	d->strs[d->nstrs].off = off;
	d->strs[d->nstrs].len = (uint32_t)n;
	d->strs[d->nstrs].root = QN;
	uint32_t x = hash_bytes(s, n) & (d->shcap - 1);
	while (d->shash[x] != QN)
		x = (x + 1) & (d->shcap - 1);
	d->shash[x] = d->nstrs;
	d->str_bytes += n;
	*id = d->nstrs++;
	return QC_OK;
}

/* ---- types and roots ------------------------------------------------- */

int qd_type_new(qc_doc *d, uint8_t tref, uint32_t item, uint32_t *out)
{
	GROW(d, d->types, d->ntypes, d->captypes);
	qd_type *t = &d->types[d->ntypes];
	memset(t, 0, sizeof(*t));
	t->item = item;
	t->start = QN;
	t->root = QN;
	t->map_head = t->map_tail = QN;
	t->cur = NULL;
	t->ncur = 0;
	t->tref = tref;
	*out = d->ntypes++;
	return QC_OK;
}

/* The root named by the last lookup, if name (n bytes, no NUL) is that name:
 * callers name the same root over and over. */
static uint32_t root_cached(const qc_doc *d, const char *name, size_t n)
{
	if (d->last_root >= d->nroots)
		return QN;
	const char *rn = d->root_names[d->last_root];
	return strlen(rn) == n && memcmp(rn, name, n) == 0 ? d->roots[d->last_root] : QN;
}

/* root_cached for a C string: one pass over the name instead of two strlen
 * and a memcmp (local edits name their root on every call) */
static uint32_t root_cached_cstr(const qc_doc *d, const char *name)
{
	if (d->last_root >= d->nroots)
		return QN;
	const char *rn = d->root_names[d->last_root];
	while (*rn && *rn == *name) {
		rn++;
		name++;
	}
	return *rn == *name ? d->roots[d->last_root] : QN;
}

uint32_t qd_root_find(const qc_doc *d, const char *name)
{
	uint32_t t = root_cached_cstr(d, name);
	if (t != QN)
		return t;
	size_t n = strlen(name);
	uint32_t k = qd_intern_find(d, name, n);
	if (k == QN || d->strs[k].root == QN)
		return QN;
	((qc_doc *)d)->last_root = d->strs[k].root; /* a lookup cache only */
	return d->roots[d->strs[k].root];
}

int qd_root_cstr(qc_doc *d, const char *name, uint32_t *type)
{
	if ((*type = root_cached_cstr(d, name)) != QN)
		return QC_OK;
	return qd_root(d, name, strlen(name), type);
}

int qd_root(qc_doc *d, const char *name, size_t n, uint32_t *type)
{
	/* the cached name has no NUL, so neither has a name matching it */
	if ((*type = root_cached(d, name, n)) != QN)
		return QC_OK;
	/* names with NUL cannot be C strings for qc_doc_roots */
	if (memchr(name, 0, n))
		return QC_ERR_INVALID;
	uint32_t kid;
	int rc = qd_intern(d, name, n, &kid);
	if (rc)
		return rc;
	if (d->strs[kid].root != QN) {
		d->last_root = d->strs[kid].root;
		*type = d->roots[d->last_root];
		return QC_OK;
	}
	if (d->nroots >= d->caproots) {
		size_t c1 = d->caproots, c2 = d->caproots;
		if ((rc = qd_grow(d, (void **)&d->roots, sizeof(uint32_t), d->nroots + 1, &c1)))
			return rc;
		if ((rc = qd_grow(d, (void **)&d->root_names, sizeof(char *), d->nroots + 1, &c2)))
			return rc;
		d->caproots = (uint32_t)(c1 < c2 ? c1 : c2);
	}
	char *s = qd_malloc(d, n + 1);
	if (!s)
		return QC_ERR_NOMEM;
	memcpy(s, name, n);
	s[n] = 0;
	uint32_t t;
	if ((rc = qd_type_new(d, QT_UNKNOWN, QN, &t))) {
		qd_free(d, s);
		return rc;
	}
	d->types[t].root = d->nroots;
	d->roots[d->nroots] = t;
	d->root_names[d->nroots] = s;
	d->strs[kid].root = d->nroots;
	d->nroots++;
	*type = t;
	return QC_OK;
}

/* ---- map entries ----------------------------------------------------- */

static inline uint32_t mkey(uint32_t type, uint32_t key) { return hash64(((uint64_t)type << 32) | key); }

static uint32_t ment_find(const qc_doc *d, uint32_t type, uint32_t key)
{
	if (!d->mhcap)
		return QN;
	uint32_t m = d->mhcap - 1;
	for (uint32_t h = mkey(type, key) & m;; h = (h + 1) & m) {
		uint32_t e = d->mhash[h];
		if (e == QN)
			return QN;
		if (d->ments[e].type == type && d->ments[e].key == key)
			return e;
	}
}

uint32_t qd_map_get(const qc_doc *d, uint32_t type, uint32_t key)
{
	uint32_t e = ment_find(d, type, key);
	return e == QN ? QN : d->ments[e].item;
}

int qd_map_set(qc_doc *d, uint32_t type, uint32_t key, uint32_t item)
{
	uint32_t e = ment_find(d, type, key);
	if (e != QN) {
		d->ments[e].item = item;
		return QC_OK;
	}
	GROW(d, d->ments, d->nments, d->capments);
	if ((d->nments + 1) * 2 > d->mhcap) {
		uint32_t cap = d->mhcap ? d->mhcap * 2 : 16;
		uint32_t *h = qd_malloc(d, (size_t)cap * sizeof(uint32_t));
		if (!h)
			return QC_ERR_NOMEM;
		memset(h, 0xff, (size_t)cap * sizeof(uint32_t));
		for (uint32_t k = 0; k < d->nments; k++) {
			uint32_t x = mkey(d->ments[k].type, d->ments[k].key) & (cap - 1);
			while (h[x] != QN)
				x = (x + 1) & (cap - 1);
			h[x] = k;
		}
		qd_free(d, d->mhash);
		d->mhash = h;
		d->mhcap = cap;
	}
	e = d->nments++;
	d->ments[e].type = type;
	d->ments[e].key = key;
	d->ments[e].item = item;
	d->ments[e].next = QN;
	uint32_t x = mkey(type, key) & (d->mhcap - 1);
	while (d->mhash[x] != QN)
		x = (x + 1) & (d->mhcap - 1);
	d->mhash[x] = e;
	qd_type *t = &d->types[type];
	if (t->map_tail == QN)
		t->map_head = e;
	else
		d->ments[t->map_tail].next = e;
	t->map_tail = e;
	return QC_OK;
}

/* ---- splitting ------------------------------------------------------- */

static size_t utf8_w(uint8_t c) { return c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4; }

size_t qd_utf8_off(const uint8_t *s, size_t n, uint64_t units, int *in_pair)
{
	size_t i = 0;
	uint64_t u = 0;
	*in_pair = 0;
	while (i < n && u < units) {
		size_t w = utf8_w(s[i]);
		if (w == 4) {
			if (u + 2 > units) {
				*in_pair = 1;
				return i;
			}
			u += 2;
		} else {
			u += 1;
		}
		i += w;
	}
	return i;
}

/* Byte offset after `count` values of an Any (ref 8) or JSON (ref 2) run. */
static size_t values_off(const uint8_t *p, size_t n, uint8_t ref, uint64_t count)
{
	qc_dec dc;
	qc_dec_init(&dc, p, n);
	for (uint64_t i = 0; i < count; i++) {
		if (ref == REF_ANY) {
			if (qc_any_copy(&dc, NULL, 0))
				break;
		} else {
			const uint8_t *q;
			size_t qn;
			if (qc_read_varbytes(&dc, &q, &qn))
				break;
		}
	}
	return (size_t)(dc.p - p);
}

static const uint8_t FFFD[3] = {0xef, 0xbf, 0xbd};

/* Split item `it` (at index pos of its client array) so that it keeps diff
 * units; the new right part is returned in *right. */
int qd_split_at(qc_doc *d, uint32_t it, uint32_t pos, uint64_t diff, uint32_t *out)
{
	uint32_t r;
	int rc = qd_item_new(d, &r);
	if (rc)
		return rc;
	qd_item *L = &d->items[it];
	qd_item R = *L;
	R.clock = L->clock + diff;
	R.len = L->len - diff;
	R.ocl = L->client;
	R.ock = L->clock + diff - 1;
	R.left = it;
	switch (L->ref) {
	case REF_STRING: {
		int in_pair;
		size_t b = qd_item_off(d->blob, L, diff, &in_pair);
		if (in_pair) {
			/* as ContentString.splice: both halves become U+FFFD */
			size_t rest = L->cbytes - b - 4;
			if (d->nblob + 3 + rest > UINT32_MAX) {
				d->items[r].right = d->free_item;
				d->items[r].ref = REF_DEAD;
				d->free_item = r;
				return QC_ERR_LIMIT;
			}
			size_t need = d->nblob + 3 + rest;
			if (need > d->capblob && (rc = qd_grow(d, (void **)&d->blob, 1, need, &d->capblob))) {
				d->items[r].right = d->free_item;
				d->items[r].ref = REF_DEAD;
				d->free_item = r;
				return rc;
			}
			L = &d->items[it];
			R.coff = (uint32_t)d->nblob;
			memcpy(d->blob + d->nblob, FFFD, 3);
			memcpy(d->blob + d->nblob + 3, d->blob + L->coff + b + 4, rest);
			d->nblob += 3 + rest;
			R.cbytes = (uint32_t)(3 + rest);
			memcpy(d->blob + L->coff + b, FFFD, 3);
			L->cbytes = (uint32_t)(b + 3);
			d->blob_garbage += 1 + rest;
		} else {
			R.coff = L->coff + (uint32_t)b;
			R.cbytes = L->cbytes - (uint32_t)b;
			L->cbytes = (uint32_t)b;
		}
		break;
	}
	case REF_ANY:
	case REF_JSON: {
		size_t b = values_off(d->blob + L->coff, L->cbytes, L->ref, diff);
		R.coff = L->coff + (uint32_t)b;
		R.cbytes = L->cbytes - (uint32_t)b;
		L->cbytes = (uint32_t)b;
		break;
	}
	default:
		break;
	}
	L->len = diff;
	R.flags = L->flags;
	d->items[r] = R;
	L = &d->items[it];
	L->right = r;
	if (R.right != QN)
		d->items[R.right].left = r;
	if ((rc = client_insert(d, L->client, pos + 1, r)))
		return rc; /* leaves the list consistent but the store short: OOM */
	if (d->txn.active) {
		if (d->txn.nmerge >= d->txn.capmerge &&
		    (rc = qd_grow(d, (void **)&d->txn.merge, sizeof(qd_mid), d->txn.nmerge + 1, &d->txn.capmerge)))
			return rc;
		d->txn.merge[d->txn.nmerge].client = R.client;
		d->txn.merge[d->txn.nmerge].hint = pos + 1;
		d->txn.merge[d->txn.nmerge].clock = R.clock;
		d->txn.nmerge++;
	}
	if (R.key != QN && R.right == QN && R.parent != QN)
		if ((rc = qd_map_set(d, R.parent, R.key, r)))
			return rc;
	*out = r;
	return QC_OK;
}


/* getItemCleanStart: the struct starting exactly at clock (split if needed). */
uint32_t qd_clean_start(qc_doc *d, uint32_t slot, uint64_t clock, int *err)
{
	/* successive items often share their right origin: try the last answer
	 * (a position; clocks are unique, so a match is the struct) */
	qd_client *c = &d->clients[slot];
	uint32_t pos = c->last_start;
	if (pos >= c->n || d->items[qd_cs(c, pos)].clock != clock)
		c->last_start = pos = qd_find_pos(d, slot, clock);
	uint32_t it = qd_cs(&d->clients[slot], pos);
	qd_item *I = &d->items[it];
	if (I->clock < clock && I->ref != REF_GC) {
		uint32_t r;
		int rc = qd_split_at(d, it, pos, clock - I->clock, &r);
		if (rc) {
			*err = rc;
			return it;
		}
		return r;
	}
	return it;
}

/* getItemCleanEnd: the struct ending exactly at clock (split if needed). */
uint32_t qd_clean_end(qc_doc *d, uint32_t slot, uint64_t clock, int *err)
{
	uint32_t pos = qd_find_pos(d, slot, clock);
	uint32_t it = qd_cs(&d->clients[slot], pos);
	qd_item *I = &d->items[it];
	if (clock != I->clock + I->len - 1 && I->ref != REF_GC) {
		uint32_t r;
		int rc = qd_split_at(d, it, pos, clock - I->clock + 1, &r);
		if (rc)
			*err = rc;
	}
	return it;
}

/* Rewrite the blob with only the bytes still referenced (deleted content
 * that GC dropped, and copies left by merges, are garbage). Items are
 * visited in clock order so neighbours that may merge stay contiguous. */
int qd_blob_compact(qc_doc *d)
{
	size_t need = 0;
	for (uint32_t i = 0; i < d->nstrs; i++)
		need += d->strs[i].len;
	for (uint32_t i = 0; i < d->ntypes; i++)
		need += d->types[i].name_len;
	for (uint32_t c = 0; c < d->nclients; c++) {
		const qd_client *C = &d->clients[c];
		for (uint32_t k = 0; k < C->n; k++) {
			const qd_item *I = &d->items[qd_cs(C, k)];
			if (I->ref != REF_GC && I->ref != REF_TYPE && I->ref != REF_DELETED)
				need += I->cbytes;
		}
	}
	uint8_t *nb = qd_malloc(d, need ? need : 1);
	if (!nb)
		return QC_ERR_NOMEM;
	size_t n = 0;
#define MOVE(off, len)                                                                             \
	do {                                                                                       \
		if (n + (len) > need) {                                                            \
			qd_free(d, nb);                                                            \
			return QC_ERR_INVALID;                                                     \
		}                                                                                  \
		memcpy(nb + n, d->blob + (off), (len));                                            \
		(off) = (uint32_t)n;                                                               \
		n += (len);                                                                        \
	} while (0)
	for (uint32_t i = 0; i < d->nstrs; i++)
		MOVE(d->strs[i].off, d->strs[i].len);
	for (uint32_t i = 0; i < d->ntypes; i++)
		if (d->types[i].name_len)
			MOVE(d->types[i].name_off, d->types[i].name_len);
	for (uint32_t c = 0; c < d->nclients; c++) {
		const qd_client *C = &d->clients[c];
		for (uint32_t k = 0; k < C->n; k++) {
			qd_item *I = &d->items[qd_cs(C, k)];
			if (I->ref == REF_GC || I->ref == REF_TYPE || I->ref == REF_DELETED || !I->cbytes)
				continue;
			MOVE(I->coff, I->cbytes);
		}
	}
#undef MOVE
	qd_free(d, d->blob);
	d->blob = nb;
	d->nblob = n;
	d->capblob = need ? need : 1;
	d->blob_garbage = 0;
	return QC_OK;
}
