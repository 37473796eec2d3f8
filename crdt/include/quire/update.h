/* Yjs update format v1 at the struct level: decode, validate, encode, state
 * vector, merge and diff without integrating (what Y.mergeUpdates,
 * Y.encodeStateVectorFromUpdate and Y.diffUpdate do).
 *
 * All functions are pure: no I/O, no globals, thread-safe on distinct data.
 * Malformed input yields a negative QC_ERR_* code, never a crash, an
 * over-read or an allocation larger than a small multiple of the input.
 * Outputs are malloc()ed byte strings the caller releases with free().
 */
#ifndef QUIRE_UPDATE_H
#define QUIRE_UPDATE_H

#include "quire/lib0.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Limits applied while decoding untrusted updates. */
#define QC_MAX_ANY_DEPTH 64 /* nesting of Any arrays/objects */

typedef struct qc_sv_entry {
	uint64_t client;
	uint64_t clock; /* next expected clock */
} qc_sv_entry;

typedef struct qc_sv {
	qc_sv_entry *entries; /* unique clients, sorted by client descending */
	size_t n;
} qc_sv;

void qc_sv_free(qc_sv *sv);
/* Decode an encoded state vector (varUint n, n x (client, clock)); strict:
 * trailing bytes are an error. Duplicate clients keep the last value. */
int qc_sv_decode(const uint8_t *p, size_t n, qc_sv *out);
uint64_t qc_sv_get(const qc_sv *sv, uint64_t client);
/* Encode (clients descending). */
int qc_sv_encode(const qc_sv *sv, uint8_t **out, size_t *out_len);

/* Fully decode an update and check it: every struct and content well-formed,
 * strings valid UTF-8, clocks and lengths within 2^53-1, no client twice,
 * no trailing bytes. Returns QC_OK or an error. */
int qc_update_validate(const uint8_t *u, size_t n);

/* Number of structs (GC, Skip, Items) and delete-set ranges in an update;
 * a negative QC_ERR_* code on malformed input (as qc_update_validate).
 * Handy for tests and metrics. */
int qc_update_counts(const uint8_t *u, size_t n, size_t *structs, size_t *ds_ranges);

/* The update's delete set alone, as an update without structs: what applying
 * u deletes, without what it adds (Y.diffUpdate cannot leave out structs whose
 * clients a state vector does not name). u is checked as by
 * qc_update_validate. QC_OK with *out NULL when u deletes nothing; else *out
 * is malloc'd (the caller free()s it). */
int qc_update_deletions(const uint8_t *u, size_t n, uint8_t **out, size_t *out_len);

/* Y.encodeStateVectorFromUpdate: encoded state vector. */
int qc_update_state_vector(const uint8_t *u, size_t n, uint8_t **sv, size_t *sv_len);

/* Y.mergeUpdates: one update holding the union. With count == 1 the input is
 * copied unchanged (as Yjs does). count == 0 yields the empty update 00 00. */
int qc_update_merge(const uint8_t *const *updates, const size_t *lens, size_t count,
		    uint8_t **out, size_t *out_len);

/* Y.diffUpdate: the part of u a peer with state vector sv (encoded) lacks;
 * the delete set is kept whole. */
int qc_update_diff(const uint8_t *u, size_t n, const uint8_t *sv, size_t sv_len,
		   uint8_t **out, size_t *out_len);

/* 1 if the update carries nothing: no structs and an empty delete set;
 * 0 if it carries something; a negative QC_ERR_* code if malformed (so do
 * not use it as a plain boolean on unvalidated input). */
int qc_update_is_empty(const uint8_t *u, size_t n);

#ifdef __cplusplus
}
#endif
#endif
