/* The counting allocator (quire/counted.h). */
#include "quire/counted.h"

#include <stdlib.h>

typedef union hdr {
	size_t size;
	max_align_t align;
} hdr;

void *qc_counted_malloc(size_t size, void *ud)
{
	qc_counted *c = ud;
	hdr *h = malloc(sizeof(hdr) + size);
	if (!h)
		return NULL;
	h->size = size;
	c->live += size;
	if (c->live > c->peak)
		c->peak = c->live;
	return h + 1;
}

void qc_counted_free(void *p, void *ud)
{
	qc_counted *c = ud;
	if (!p)
		return;
	hdr *h = (hdr *)p - 1;
	c->live -= h->size;
	free(h);
}

void *qc_counted_realloc(void *p, size_t size, void *ud)
{
	qc_counted *c = ud;
	if (!p)
		return qc_counted_malloc(size, ud);
	hdr *h = (hdr *)p - 1;
	size_t old = h->size;
	hdr *n = realloc(h, sizeof(hdr) + size);
	if (!n)
		return NULL;
	n->size = size;
	c->live = c->live - old + size;
	if (c->live > c->peak)
		c->peak = c->live;
	return n + 1;
}
