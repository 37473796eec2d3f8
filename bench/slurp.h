/* The bench programs' file reader (qclients, qdocs): a whole file into a
 * malloc()ed buffer, *n its length; NULL when it cannot be opened or memory
 * runs out. */
#ifndef QUIRE_BENCH_SLURP_H
#define QUIRE_BENCH_SLURP_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static uint8_t *slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 1 << 16, len = 0;
	uint8_t *b = malloc(cap);
	size_t r;
	while (b && (r = fread(b + len, 1, cap - len, f)) > 0) {
		len += r;
		if (len == cap) {
			uint8_t *nb = realloc(b, cap * 2);
			if (!nb) {
				free(b);
				b = NULL;
				break;
			}
			b = nb;
			cap *= 2;
		}
	}
	fclose(f);
	*n = len;
	return b;
}

#endif
