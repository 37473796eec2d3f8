/* The fuzz targets' oracle check: a broken property aborts, which libFuzzer
 * reports as a finding with the input that caused it. */
#ifndef QUIRE_FUZZ_MUST_H
#define QUIRE_FUZZ_MUST_H

#include <stdio.h>
#include <stdlib.h>

#define MUST(cond)                                                             \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #cond); \
			abort();                                               \
		}                                                              \
	} while (0)

#endif
