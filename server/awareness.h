/* awareness: a room's presence table (y-protocols awareness semantics).
 *
 * Keeps (clock, state, last update, owning connection) per client id and
 * applies the y-protocols acceptance rule: an entry is taken when its clock
 * is newer than the known one, or equal with a null state that removes a
 * present client. Every function that changes the table marks the entries it
 * changed; awareness_take_changes encodes the marked entries (their latest
 * clock and state, null for a removal) as one awareness update and clears the
 * marks, so a room can relay each change at once or gather several and send
 * them together (room.c, --presence-interval). */
#ifndef QUIRE_AWARENESS_H
#define QUIRE_AWARENESS_H

#include <stddef.h>
#include <stdint.h>

typedef struct aw_entry {
	uint64_t client, clock, updated_ms, owner;
	char *state; /* JSON text; NULL once removed (the clock is kept) */
	size_t state_len;
	/* changed since the last awareness_take_changes; a removed entry is not
	 * compacted away while marked, so its null still reaches the room */
	int pending;
} aw_entry_t;

typedef struct awareness {
	aw_entry_t *v;
	size_t n, cap;
} awareness_t;

typedef struct aw_limits {
	size_t max_state;     /* bytes of JSON per client */
	size_t max_entries;   /* clients present per room (a removal not yet taken
			       * by awareness_take_changes does not count; the
			       * table holds at most twice this many entries) */
	size_t max_per_owner; /* client ids one connection may introduce */
} aw_limits_t;

void awareness_free(awareness_t *a);

/* Applies an awareness update received from connection `owner` and marks the
 * entries it accepted. Returns how many it accepted (0: it changed nothing,
 * e.g. an echo of states already known), or -1 if malformed (nothing
 * changed). */
int awareness_apply(awareness_t *a, const uint8_t *p, size_t n, uint64_t owner, uint64_t now_ms,
		    const aw_limits_t *lim);

/* Every present state (for a joining connection / query awareness), marked
 * or not. Returns 0 with *out returned (release with free; NULL when no state
 * is present), or -1 when out of memory. */
int awareness_encode_all(const awareness_t *a, uint8_t **out, size_t *out_len);

/* Removes (and marks) the clients a connection introduced (it left).
 * Returns how many were removed. */
size_t awareness_remove_owner(awareness_t *a, uint64_t owner);

/* Removes (and marks) clients not renewed for timeout_ms. Returns how many. */
size_t awareness_expire(awareness_t *a, uint64_t now_ms, uint64_t timeout_ms);

/* Encodes every marked entry, one per client id with its latest clock and
 * state (null if removed), as one awareness update, and clears the marks.
 * Returns 0 with *out returned (release with free; NULL when nothing is
 * marked), or -1 when out of memory (the marks are kept). */
int awareness_take_changes(awareness_t *a, uint8_t **out, size_t *out_len);

size_t awareness_count(const awareness_t *a);

#endif
