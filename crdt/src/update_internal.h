/* Private to crdt/src: lazy struct reader and writer for update v1. */
#ifndef QUIRE_UPDATE_INTERNAL_H
#define QUIRE_UPDATE_INTERNAL_H

#include "quire/update.h"

enum { QC_ST_GC = 0, QC_ST_ITEM = 1, QC_ST_SKIP = 2 };

/* Nesting limit for the JSON texts inside Embed, Format and JSON content. */
#define QC_MAX_JSON_DEPTH 256

/* One struct as read from an update. Pointers point into the input, which
 * has been fully validated before any of the writers touch it. Slicing only
 * moves clock/len and records the offset into the original content. */
typedef struct qc_st {
	uint8_t kind; /* QC_ST_* */
	uint8_t ref;  /* content ref (1-9) for items */
	uint8_t has_origin, has_right, parent_kind, has_psub; /* parent_kind: 0 none, 1 name, 2 id */
	uint64_t client, clock, len; /* effective range after slicing */
	uint64_t off;                /* units cut from the front of the original */
	uint64_t oc, ok;             /* origin */
	uint64_t rc, rk;             /* right origin */
	union { /* the parent, when it is on the wire: read it under parent_kind */
		struct {
			uint64_t pc, pk; /* 2: parent id */
		};
		struct {
			const uint8_t *pname; /* 1: root name */
			size_t pname_n;
		};
	};
	const uint8_t *psub;
	size_t psub_n;
	const uint8_t *content; /* content payload start (after parent info) */
	const uint8_t *content_end;
} qc_st;

typedef struct qc_rd {
	qc_dec d;
	uint64_t sections_left;
	uint64_t structs_left;
	uint64_t client;
	uint64_t clock;
	int filter_skips;
	/* optional record of section clients (for duplicate detection) */
	uint64_t *clients; /* allocated from the second section on */
	uint64_t client0;  /* the first section's client */
	size_t nclients, capclients;
	int track_clients;
	int has_head;
	qc_st head;
} qc_rd;

/* Start reading: consumes the section count. */
int qc_rd_init(qc_rd *r, const uint8_t *u, size_t n, int filter_skips);
/* Read the next struct into r->head. Returns 1 if a struct was read, 0 at the
 * end of the struct part (r->d then points at the delete set), or an error. */
int qc_rd_next(qc_rd *r);
/* Same, reading into *out instead of r->head (r->head is left unset). */
int qc_rd_next_into(qc_rd *r, qc_st *out);
void qc_rd_free(qc_rd *r);

/* Byte range of one client section (header included) of an update. */
typedef struct qc_section {
	uint64_t client;
	uint64_t nstructs;
	size_t start, end;
} qc_section;

/* Split a valid update into its sections; *ds_off is where the delete set
 * starts. The array is malloc()ed (NULL if there are no sections). */
int qc_sections(const uint8_t *u, size_t n, qc_section **out, size_t *count, size_t *ds_off);

/* One lib0 Any value as qc_any_head reads it: the tag and, by tag, its
 * payload. Pointers point into the decoder's input. */
typedef struct qc_any {
	uint8_t tag;      /* 116 .. 127 */
	int neg_zero;     /* 125: written as -0 */
	int64_t i;        /* 125 integer, 122 bigint64 */
	double f;         /* 124 float32 (widened), 123 float64 */
	const uint8_t *p; /* 119 string (valid UTF-8), 116 bytes; 122-124: the 4 or 8 bytes as written */
	size_t n;         /* 119, 116: length of p */
	uint64_t count;   /* 117 array, 118 object: number of entries */
} qc_any;

/* Read the tag and payload of the Any value at d. Of an array or object only
 * the entry count is read (at most the bytes left: an entry takes one or more):
 * the entries follow in d, each an Any value, after a varstring key for
 * objects. No depth limit; QC_ERR_INVALID for an unknown tag. */
int qc_any_head(qc_dec *d, qc_any *v);

/* Skip over (and validate) one Any value; if out != NULL, write it re-encoded
 * the way lib0's writeAny would produce it. Arrays and objects deeper than
 * QC_MAX_ANY_DEPTH are refused with QC_ERR_LIMIT. */
int qc_any_copy(qc_dec *d, qc_enc *out, int depth);

/* Write the JS number d as lib0 writeAny does: an integer within ±(2^31-1)
 * as 125 (keeping -0), else float32 (124) if exact, else float64 (123). */
void qc_any_write_number(qc_enc *e, double d);

/* A JS "array index" key: the canonical decimal of an integer 0 .. 2^32-2.
 * 1 and its value in *v, or 0 (*v untouched). */
int qc_js_array_index(const uint8_t *k, size_t n, uint64_t *v);

/* Where a key comes in Object.keys() of a JS object: array-index keys first,
 * ascending, then the others in insertion order (seq). The one comparator for
 * Any objects (qc_obj_order) and the doc's map entries (doc_read.c). A key
 * that is not an array index has idx QC_KEYORD_NOT_INDEX, above every index,
 * so one comparison of idx orders indices numerically and before the rest. */
#define QC_KEYORD_NOT_INDEX UINT64_MAX
typedef struct qc_keyord {
	uint64_t idx; /* the array index, or QC_KEYORD_NOT_INDEX */
	size_t seq;   /* insertion order */
} qc_keyord;
void qc_keyord_init(qc_keyord *o, const uint8_t *k, size_t n, size_t seq);
int qc_keyord_cmp(const qc_keyord *x, const qc_keyord *y);

/* One key and value of a JS object being built from a list of entries
 * (lib0 readAny, JSON.parse). While the bytes may still move (a growing
 * buffer) a caller can keep offsets in key_off/val_off, and set key/val
 * before qc_obj_order. */
typedef struct qc_obj_ent {
	union {
		const uint8_t *key;
		size_t key_off;
	};
	union {
		const uint8_t *val;
		size_t val_off;
	};
	size_t key_n, val_n;
	int dead;      /* set by the caller for a key that never becomes an own property */
	qc_keyord ord; /* qc_obj_order's */
} qc_obj_ent;

/* Turn the entries e[0..n), in insertion order, into the object JS makes of
 * them: a repeated key keeps its first position and takes its last value (the
 * later ones become dead), and the entries are sorted into Object.keys()
 * order (array-index keys ascending, then the others in insertion order).
 * Returns the number of live entries; dead ones stay in the array. */
size_t qc_obj_order(qc_obj_ent *e, size_t n);

/* JSON syntax pieces shared with the JSON parser in doc_value.c: skip
 * whitespace; skip one number (1 and *pp past it, or 0 with *pp unchanged). */
void qc_json_ws(const uint8_t **pp, const uint8_t *end);
int qc_json_number(const uint8_t **pp, const uint8_t *end);

/* Delete set: (client, clock, len) triples in reading order. */
typedef struct qc_ds_range {
	uint64_t client, clock, len;
	size_t seq;
} qc_ds_range;

typedef struct qc_ds {
	qc_ds_range *r;
	size_t n, cap;
	qc_ds_range *fixed; /* if r == fixed: the caller's buffer (cap entries), not freed or realloc'd */
} qc_ds;

/* Read a delete set and append its ranges (clients with 0 ranges vanish, as
 * in Yjs readDeleteSet). ds may be NULL to only validate/count. */
int qc_ds_read(qc_dec *d, qc_ds *ds, size_t *count);
/* After qc_rd_next returned 0: reads the delete set (appending to ds if not
 * NULL, counting into ranges if not NULL), then requires the end of the input
 * and, with track_clients, no client section twice. */
int qc_rd_end(qc_rd *r, qc_ds *ds, size_t *ranges);
void qc_ds_free(qc_ds *ds);
/* Sort by client desc then clock asc and coalesce (Yjs sortAndMergeDeleteSet). */
void qc_ds_sort_merge(qc_ds *ds);
/* Sort only by client desc, keeping reading order inside a client. */
void qc_ds_sort_clients(qc_ds *ds);
/* Write: numClients, then per client (client, numRanges, ranges). Expects ds
 * grouped by client (after one of the sorts). */
void qc_ds_write(qc_enc *e, const qc_ds *ds);

/* Lazy struct writer (Yjs LazyStructWriter). */
typedef struct qc_lw {
	qc_enc body;  /* current section: client, first clock, structs */
	qc_enc all;   /* finished sections, each prefixed by its struct count */
	uint64_t nsections;
	uint64_t cur_client;
	uint64_t written;
} qc_lw;

void qc_lw_init(qc_lw *w);
void qc_lw_free(qc_lw *w);
/* Write a struct (already sliced as wanted). */
int qc_lw_write(qc_lw *w, const qc_st *s);
/* Emit numSections + sections into out. */
int qc_lw_finish(qc_lw *w, qc_enc *out);

/* Cut d units from the front of s (d < s->len for items). */
void qc_st_slice(qc_st *s, uint64_t d);

#endif
