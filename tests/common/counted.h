/* A counting qc_alloc for tests and benchmarks: live and peak bytes of every
 * allocation a document makes (each block carries its size in a header).
 * Shared by tests/diff/qdoc.c and trace_replay.c (leak checks), bench/qbench.c
 * and tests/unit/doc/bench_doc.c (memory); target quire_counted. */
#ifndef QUIRE_COUNTED_H
#define QUIRE_COUNTED_H

#include <stddef.h>

typedef struct counted {
	size_t live, peak;
} counted;

/* The allocator hooks; ud must point to a counted. */
void *counted_malloc(size_t size, void *ud);
void *counted_realloc(void *p, size_t size, void *ud);
void counted_free(void *p, void *ud);

#endif
