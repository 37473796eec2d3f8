/* Private to crdt/src: the document model (YATA as Yjs implements it).
 *
 * Layout (see docs/crdt-model.md):
 *  - every struct (Item or GC) lives in one arena `items`, addressed by a
 *    32-bit index; links (left/right), parents and map entries are indices;
 *  - each client has a clock-sorted array of struct indices (the struct store);
 *  - item content lives out of line in one byte arena `blob` (UTF-8 text,
 *    normalised Any / JSON / format payloads), addressed by offset+length;
 *  - shared types (roots and nested ContentType) live in `types`;
 *  - map entries (type, key) -> rightmost item live in a hash table.
 */
#ifndef QUIRE_DOC_INTERNAL_H
#define QUIRE_DOC_INTERNAL_H

#include "quire/doc.h"
#include "update_internal.h"

#include <stdint.h>
#include <string.h>

#define QN UINT32_MAX /* "none" index */

enum {
	REF_GC = 0,
	REF_DELETED = 1,
	REF_JSON = 2,
	REF_BINARY = 3,
	REF_STRING = 4,
	REF_EMBED = 5,
	REF_FORMAT = 6,
	REF_TYPE = 7,
	REF_ANY = 8,
	REF_DOC = 9,
	REF_DEAD = 0xff, /* arena slot on the free list */
};

enum {
	IF_DELETED = 1,
	IF_KEEP = 2,
};



/* Type refs (ContentType). QT_UNKNOWN: a root whose class is not known. */
enum {
	QT_ARRAY = 0,
	QT_MAP = 1,
	QT_TEXT = 2,
	QT_XML_ELEMENT = 3,
	QT_XML_FRAGMENT = 4,
	QT_XML_HOOK = 5,
	QT_XML_TEXT = 6,
	QT_UNKNOWN = 7,
};

/* Clocks are stored in 32 bits, as yrs does: a client's state (clock + len of
 * its last struct) is at most QD_CLOCK_MAX; updates that go beyond are refused
 * with QC_ERR_CLOCK before anything changes, local edits likewise. So no sum
 * clock + len of a stored item wraps. */
#define QD_CLOCK_MAX UINT32_MAX

typedef struct qd_item { /* 56 bytes */
	uint32_t clock, len;
	uint32_t ock, rck; /* origin / right origin clocks */
	uint32_t client;   /* client slot */
	uint32_t ocl, rcl; /* origin / right origin client slots (QN: none) */
	uint32_t left, right;
	uint32_t parent; /* type index (QN: none, GC) */
	uint32_t key;    /* parentSub key id (QN: none) */
	uint32_t coff;   /* blob offset of the content, or the type index (REF_TYPE) */
	uint32_t cbytes; /* content bytes in the blob */
	uint8_t ref;
	uint8_t flags;
	uint16_t pad;
} qd_item;

/* A client's struct store: its struct indices sorted by clock, contiguous
 * from 0, n of them. Kept as a gap buffer: v holds entries [0, gap), then a
 * hole of glen unused slots, then entries [gap, n); cap slots in all. An
 * insertion or removal in the middle moves the hole there (edits cluster, so
 * the move is short) instead of shifting the whole tail; appends go to the
 * physical end. Read entries with qd_cs. */
typedef struct qd_client {
	uint64_t id;
	uint32_t *v;
	uint32_t n, cap;
	uint32_t gap, glen;
	uint32_t last_hit;   /* position of a recent qd_find_pos answer */
	uint32_t last_start; /* position of the last qd_clean_start answer */
	uint32_t txn_serial; /* == txn.serial: changed in the transaction ... */
	uint32_t txn_before; /* ... and this was its state when it began */
} qd_client;


/* qd_find_pos scans this many of the newest structs before searching */
#define QD_RECENT 8

static inline uint32_t qd_cs(const qd_client *c, uint32_t i) { return c->v[i < c->gap ? i : i + c->glen]; }

typedef struct qd_type {
	uint32_t item;  /* the item holding the type, QN for roots */
	uint32_t start; /* first item of the sequence */
	uint32_t root;  /* root index for roots, else QN */
	uint32_t map_head, map_tail; /* map entries in first-set order */
	uint32_t name_off, name_len; /* XmlElement nodeName / XmlHook name in blob */
	uint64_t length; /* countable, visible length */
	struct qd_cursor *cur; /* position cache for local edits */
	uint8_t ncur, lastcur;
	uint8_t tref;
	uint8_t has_formatting;
	uint8_t changed; /* in the current transaction (observer bookkeeping) */
	uint8_t pad;
} qd_type;

/* A known position: an item and the visible index where it starts. */
#define QD_NCUR 8
typedef struct qd_cursor {
	uint32_t item;
	uint32_t ts;
	uint64_t pos;
} qd_cursor;

typedef struct qd_mapent {
	uint32_t type, key, item, next;
} qd_mapent;

typedef struct qd_str {
	uint32_t off, len; /* in blob */
	uint32_t root;     /* root number if this string names a root, else QN */
} qd_str;

/* client id -> clock map keeping the minimum, in insertion order */
typedef struct qd_mmap {
	uint64_t *c, *k;
	size_t n, cap;
	uint32_t *h; /* open addressing: entry index + 1, 0 empty */
	size_t hcap;
} qd_mmap;

static inline uint32_t qd_hash64(uint64_t x)
{
	x ^= x >> 33;
	x *= UINT64_C(0xff51afd7ed558ccd);
	x ^= x >> 33;
	return (uint32_t)x;
}

typedef struct qd_dsr {
	uint32_t client; /* slot */
	uint32_t clock, len; /* deleted items only, so below QD_CLOCK_MAX */
} qd_dsr;

typedef struct qd_mid {
	uint32_t client;
	uint32_t hint; /* its store position when recorded (a search start) */
	uint64_t clock;
} qd_mid;

/* A client whose state a transaction changed, and its state before */
typedef struct qd_cb {
	uint32_t slot;
	uint32_t before;
} qd_cb;

typedef struct qd_txn {
	int active;
	int local;
	/* The clients whose state changed, recorded at their first change
	 * (qd_touch), so a transaction costs nothing per unchanged client */
	uint32_t serial; /* marks qd_client.txn_serial of the clients in cb */
	qd_cb *cb;
	size_t ncb, capcb;
	qd_dsr *ds;
	size_t nds, capds;
	qd_mid *merge;
	size_t nmerge, capmerge;
	uint32_t *changed; /* types changed (for observers) */
	size_t nchanged, capchanged;
} qd_txn;

struct qc_doc {
	qc_alloc al;
	uint64_t client_id;
	int gc;
	size_t max_pending;

	qd_item *items;
	uint32_t nitems, capitems;
	uint32_t free_item;

	uint8_t *blob;
	size_t nblob, capblob;
	size_t blob_garbage;

	qd_client *clients;
	uint32_t nclients, capclients;
	uint32_t *chash; /* client id -> slot (open addressing, QN empty) */
	uint32_t chcap;
	uint32_t cs_slot; /* slot of the last qd_client_slot answer, or QN */
	uint32_t txn_serial; /* the last transaction's serial (txn.serial) */

	qd_type *types;
	uint32_t ntypes, captypes;

	/* interned strings (keys and root names) */
	qd_str *strs;
	uint32_t nstrs, capstrs;
	size_t str_bytes; /* their bytes in the blob (kept for good: not content) */
	uint32_t *shash;
	uint32_t shcap;

	/* roots: type index by root number; names as C strings */
	uint32_t *roots;
	char **root_names;
	uint32_t nroots, caproots;
	uint32_t last_root; /* root number of the last name lookup (a cache) */

	qd_mapent *ments;
	uint32_t nments, capments;
	uint32_t *mhash;
	uint32_t mhcap;

	/* pending */
	uint8_t *pending;
	size_t npending;
	qd_mmap miss; /* pending.missing */
	uint8_t *pending_ds;
	size_t npending_ds;
	int held; /* qc_doc_update_held */

	qd_txn txn;
	uint8_t *last_update;
	size_t nlast_update, caplast;
	uint8_t *last_buf; /* last_update is NULL or this buffer (kept for reuse) */
	/* the last update is encoded on demand: what it needs is kept here */
	int lz_pending;
	qd_cb *lz_cb;
	size_t lz_ncb, lz_capcb;
	qd_dsr *lz_ds;
	size_t lz_nds, lz_capds;
	/* a large update (TRIM_AFTER structs or more) is being applied:
	 * remote typing is not extended in place during it (its items are
	 * mostly split again), and the arenas are fitted after it (qd_trim) */
	int big_update;

	qc_observer obs;
	void *obs_ud;

	uint64_t rng;
	uint32_t cur_ts;
};

/* allocation */
void *qd_malloc(qc_doc *d, size_t n);
void *qd_realloc(qc_doc *d, void *p, size_t n);
void qd_free(qc_doc *d, void *p);
int qd_grow(qc_doc *d, void **p, size_t elem, size_t need, size_t *cap);
/* A scratch array of n elements of elem bytes: the caller's buffer small
 * (room for nsmall) when it fits, else an allocation (NULL if that fails).
 * Give it back with qd_scratch_free. */
static inline void *qd_scratch(qc_doc *d, void *small, size_t nsmall, size_t n, size_t elem)
{
	return n <= nsmall ? small : qd_malloc(d, n * elem);
}
static inline void qd_scratch_free(qc_doc *d, void *p, const void *small)
{
	if (p != small)
		qd_free(d, p);
}

/* store */
uint32_t qd_client_lookup(const qc_doc *d, uint64_t id); /* QN if absent */
/* QN if absent; the last answer is tried first (slots never move) */
static inline uint32_t qd_client_slot(const qc_doc *d, uint64_t id)
{
	if (d->cs_slot != QN && d->clients[d->cs_slot].id == id)
		return d->cs_slot;
	return qd_client_lookup(d, id);
}
int qd_client_get(qc_doc *d, uint64_t id, uint32_t *slot); /* creates */
/* the next clock expected from the client in slot (0 for QN) */
static inline uint64_t qd_state(const qc_doc *d, uint32_t slot)
{
	if (slot == QN)
		return 0;
	const qd_client *c = &d->clients[slot];
	if (!c->n)
		return 0;
	const qd_item *it = &d->items[qd_cs(c, c->n - 1)];
	return it->clock + it->len;
}
/* A client's state when the transaction began (Yjs transaction.beforeState):
 * recorded at its first change, and a client not changed since has it still */
static inline uint64_t qd_before(const qc_doc *d, uint32_t slot)
{
	const qd_client *c = &d->clients[slot];
	return c->txn_serial == d->txn.serial ? c->txn_before : qd_state(d, slot);
}
/* Call before a change of a client's state (a struct appended, its newest
 * item extended) in a transaction; only an allocation can fail. */
int qd_touch_slow(qc_doc *d, uint32_t slot);
static inline int qd_touch(qc_doc *d, uint32_t slot)
{
	if (d->clients[slot].txn_serial == d->txn.serial || !d->txn.active)
		return QC_OK;
	return qd_touch_slow(d, slot);
}
uint32_t qd_find_pos(qc_doc *d, uint32_t slot, uint64_t clock); /* index in s[] */
uint32_t qd_find_pos_near(qc_doc *d, uint32_t slot, uint64_t clock, uint32_t hint);
uint32_t qd_find(qc_doc *d, uint32_t slot, uint64_t clock);     /* struct index */
int qd_cs_append(qc_doc *d, uint32_t slot, uint32_t it);
void qd_cs_remove(qd_client *c, uint32_t pos, uint32_t count); /* entries [pos, pos + count) */
int qd_item_new(qc_doc *d, uint32_t *out);
int qd_blob_put(qc_doc *d, const void *p, size_t n, uint32_t *off);
int qd_blob_compact(qc_doc *d);
void qd_trim(qc_doc *d); /* fit the arenas to their contents */
/* forget the update event (its buffers are kept for reuse) */
static inline void qd_event_clear(qc_doc *d)
{
	d->lz_pending = 0;
	d->last_update = NULL;
	d->nlast_update = 0;
}
int qd_reserve(qc_doc *d, size_t items, size_t blob_bytes);
int qd_intern(qc_doc *d, const char *s, size_t n, uint32_t *id);
uint32_t qd_intern_find(const qc_doc *d, const char *s, size_t n);
int qd_root(qc_doc *d, const char *name, size_t n, uint32_t *type);
/* qd_root for a NUL-terminated name */
int qd_root_cstr(qc_doc *d, const char *name, uint32_t *type);
uint32_t qd_root_find(const qc_doc *d, const char *name);
int qd_type_new(qc_doc *d, uint8_t tref, uint32_t item, uint32_t *out);
uint32_t qd_map_get(const qc_doc *d, uint32_t type, uint32_t key);
int qd_map_set(qc_doc *d, uint32_t type, uint32_t key, uint32_t item);
/* Split item it (at position pos of its client's struct array) after diff
 * units; *right is the new right part. */
int qd_split_at(qc_doc *d, uint32_t it, uint32_t pos, uint64_t diff, uint32_t *right);
uint32_t qd_clean_start(qc_doc *d, uint32_t slot, uint64_t clock, int *err);
uint32_t qd_clean_end(qc_doc *d, uint32_t slot, uint64_t clock, int *err);
static inline int qd_countable(const qd_item *it) { return it->ref != REF_DELETED && it->ref != REF_FORMAT && it->ref != REF_GC; }
static inline int qd_deleted(const qd_item *it) { return it->ref == REF_GC || (it->flags & IF_DELETED); }

/* transactions and integration */
int qd_txn_begin(qc_doc *d, int local);
int qd_txn_end(qc_doc *d);
int qd_ds_add(qc_doc *d, uint32_t slot, uint64_t clock, uint64_t len);
int qd_item_delete(qc_doc *d, uint32_t it);
int qd_integrate_local(qc_doc *d, uint32_t it);
/* Extend string item it in place by the item the transaction end would merge
 * into it (doc_core.c); 1 if it did. */
int qd_extend_string(qc_doc *d, uint32_t it, uint32_t client, uint64_t clock, uint32_t parent, uint32_t right,
		     uint32_t rcl, uint32_t rck, const void *bytes, size_t nbytes, uint64_t len);
void qd_changed_slow(qc_doc *d, uint32_t type);
/* type changed in the current transaction (observer bookkeeping) */
static inline void qd_changed(qc_doc *d, uint32_t type)
{
	if (!d->types[type].changed)
		qd_changed_slow(d, type);
}

/* encoding */
void qd_write_item(const qc_doc *d, qc_enc *e, uint32_t it, uint64_t offset);
/* writeClientsStructs + the store's delete set: each client from its clock
 * in sv (sorted; clients not in it from 0) */
int qd_encode(const qc_doc *d, const qc_sv *sv, qc_enc *out);
/* A transaction's update: the clients in cb from their state before it,
 * and the delete set ds (sorted by slot) */
int qd_encode_event(const qc_doc *d, const qd_cb *cb, size_t ncb, const qd_dsr *ds, size_t nds, qc_enc *out);
void qd_write_ds_store(const qc_doc *d, qc_enc *e);
void qd_write_content(const qc_doc *d, qc_enc *e, const qd_item *it, uint64_t offset);

/* values / JSON (doc_value.c) */
typedef struct qd_buf {
	char *p;
	size_t n, cap;
	int oom;
} qd_buf;
void qd_buf_put(qd_buf *b, const char *s, size_t n);
static inline void qd_buf_puts(qd_buf *b, const char *s) { qd_buf_put(b, s, strlen(s)); }
void qd_buf_putc(qd_buf *b, char c);
/* ',' before every element of a list but the first */
static inline void qd_buf_sep(qd_buf *b, int *first)
{
	if (!*first)
		qd_buf_putc(b, ',');
	*first = 0;
}
/* renderings (JSON, String()) refuse values nested deeper than this */
#define QD_RENDER_DEPTH 512
void qd_js_number(qd_buf *b, double v);   /* Number.prototype.toString */
void qd_json_string(qd_buf *b, const char *s, size_t n);
/* Any value (lib0 encoding at *d) -> JSON as JSON.stringify would give it.
 * in_array: undefined renders as null. Returns 0 if the value is undefined
 * outside an array (caller omits it). */
int qd_any_to_json(qd_buf *b, qc_dec *d, int in_array, int depth);
/* JSON text -> JSON.stringify(JSON.parse(text)) */
int qd_json_normalize(const char *s, size_t n, qd_buf *out);
/* JSON text -> lib0 Any encoding as writeAny(JSON.parse(text)) */
/* max_depth: QC_MAX_ANY_DEPTH where the Any is what the doc stores (a local
 * edit's value), QC_MAX_JSON_DEPTH where it only carries JSON content
 * between JSON.parse and JSON.stringify / String(): there the limit must be
 * the one qc_update_validate applies, or content it (and Yjs) accepts would
 * be refused when integrated or rendered. */
int qd_json_to_any(const char *s, size_t n, qc_enc *out, int max_depth);
/* JSON text of an array -> count + Any values; *count set. */
int qd_json_array_to_any(const char *s, size_t n, qc_enc *out, uint64_t *count);
/* String(value) as JS would convert (for XML attributes); from Any bytes. */
int qd_any_to_jsstring(qd_buf *b, qc_dec *d);
int qd_json_to_jsstring(qd_buf *b, const char *s, size_t n);
/* Binary content as JSON.stringify ({"0":b0,...}) and String() (b0,b1,...) give it */
void qd_bytes_json(qd_buf *b, const uint8_t *p, size_t n);
void qd_bytes_jsstring(qd_buf *b, const uint8_t *p, size_t n);
/* UTF-8 helpers */
size_t qd_utf8_off(const uint8_t *s, size_t n, uint64_t units, int *in_pair);
/* byte offset of `units` UTF-16 units into a string item (ASCII fast path) */
static inline size_t qd_item_off(const uint8_t *blob, const qd_item *I, uint64_t units, int *in_pair)
{
	if (I->cbytes == I->len) {
		*in_pair = 0;
		return (size_t)units;
	}
	return qd_utf8_off(blob + I->coff, I->cbytes, units, in_pair);
}

/* reading */
int qd_type_json(const qc_doc *d, uint32_t type, qd_buf *b, int depth);

#endif
