/* revoke: the revocation list of session tokens (quire serve --revocations).
 *
 * A text file, one rule a line; blank lines and lines starting with # are
 * skipped:
 *   jti ID                 the token whose jti claim is ID
 *   sub BEFORE USER        every token of USER (its sub claim, the rest of
 *                          the line) issued before BEFORE (RFC 3339): iat
 *                          earlier than BEFORE, or no iat at all
 * Pure: no I/O; the server reads the file and hands its bytes here. */
#ifndef QUIRE_REVOKE_H
#define QUIRE_REVOKE_H

#include <stddef.h>
#include <stdint.h>

#define REVOKE_ID_MAX 255 /* bytes of a jti or a sub in a rule */

typedef struct revoke_list revoke_list_t;

/* Parses a whole file. NULL on a malformed line or no memory, with
 * "line N: why" in err. An empty file is an empty list. */
revoke_list_t *revoke_parse(const char *text, size_t n, char *err, size_t errlen);
void revoke_free(revoke_list_t *l);
size_t revoke_count(const revoke_list_t *l);

enum { REVOKE_NONE = 0, REVOKE_JTI, REVOKE_SUB };
/* Does a rule of l revoke the token with these claims (jlen / slen 0: the
 * claim is absent; iat_ms INT64_MIN: no iat)? l may be NULL (nothing). */
int revoke_match(const revoke_list_t *l, const char *jti, size_t jlen, const char *sub, size_t slen, int64_t iat_ms);

#endif
