/* A counting qc_alloc: live and peak bytes of every allocation a document
 * makes (each block carries its size in a header). The server counts what
 * its rooms' documents hold with it (quire_doc_bytes); tests check leaks and
 * benchmarks measure memory with it. */
#ifndef QUIRE_COUNTED_H
#define QUIRE_COUNTED_H

#include <stddef.h>

typedef struct qc_counted {
	size_t live, peak;
} qc_counted;

/* The allocator hooks; ud must point to a counted. */
void *qc_counted_malloc(size_t size, void *ud);
void *qc_counted_realloc(void *p, size_t size, void *ud);
void qc_counted_free(void *p, void *ud);

#endif
