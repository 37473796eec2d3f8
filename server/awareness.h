/* awareness: a room's presence table (y-protocols awareness semantics).
 *
 * Keeps (clock, state, last update, owning connection) per client id and
 * applies the y-protocols acceptance rule: an entry is taken when its clock
 * is newer than the known one, or equal with a null state that removes a
 * present client. Every function that changes the table returns the encoded
 * awareness update to broadcast (NULL when nothing changed). */
#ifndef QUIRE_AWARENESS_H
#define QUIRE_AWARENESS_H

#include <stddef.h>
#include <stdint.h>

typedef struct aw_entry {
	uint64_t client, clock, updated_ms, owner;
	char *state; /* JSON text; NULL once removed (the clock is kept) */
	size_t state_len;
} aw_entry_t;

typedef struct awareness {
	aw_entry_t *v;
	size_t n, cap;
} awareness_t;

typedef struct aw_limits {
	size_t max_state;     /* bytes of JSON per client */
	size_t max_entries;   /* clients per room */
	size_t max_per_owner; /* client ids one connection may introduce */
} aw_limits_t;

void awareness_free(awareness_t *a);

/* Applies an awareness update received from connection `owner`.
 * Returns 0 (with *out = the accepted entries, or NULL) or -1 if malformed. */
int awareness_apply(awareness_t *a, const uint8_t *p, size_t n, uint64_t owner, uint64_t now_ms,
		    const aw_limits_t *lim, uint8_t **out, size_t *out_len);

/* Every present state (for a joining connection / query awareness). */
int awareness_encode_all(const awareness_t *a, uint8_t **out, size_t *out_len);

/* Removes the clients a connection introduced (it left). */
int awareness_remove_owner(awareness_t *a, uint64_t owner, uint8_t **out, size_t *out_len);

/* Removes clients not renewed for timeout_ms. */
int awareness_expire(awareness_t *a, uint64_t now_ms, uint64_t timeout_ms, uint8_t **out, size_t *out_len);

size_t awareness_count(const awareness_t *a);

#endif
