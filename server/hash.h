/* hash: FNV-1a (64-bit), the hash of the server's in-memory tables (rooms by
 * name, the writer's documents by name, client addresses). */
#ifndef QUIRE_HASH_H
#define QUIRE_HASH_H

#include <stddef.h>
#include <stdint.h>

/* FNV-1a of p[0..n), from the offset basis XOR seed (seed 0: plain FNV-1a;
 * a random seed makes the buckets unpredictable to whoever picks the keys). */
static inline uint64_t hash_fnv1a(const void *p, size_t n, uint64_t seed)
{
	const uint8_t *b = p;
	uint64_t h = 1469598103934665603ull ^ seed;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 1099511628211ull;
	return h;
}

#endif
