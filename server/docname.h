/* docname: a document's name as it appears in a URL (/ws/{doc},
 * /api/docs/{doc}/...). */
#ifndef QUIRE_DOCNAME_H
#define QUIRE_DOCNAME_H

#include <stddef.h>

/* Percent-decodes and checks a document name (1-255 bytes of
 * [A-Za-z0-9._~/-]). Returns the decoded length, or -1. out holds 256. */
int doc_name_decode(const char *raw, size_t len, char *out);

#endif
