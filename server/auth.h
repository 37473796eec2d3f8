/* auth: signed session tokens. PASETO v4.public (Ed25519) verified and
 * minted with libsodium alone, PASERK key strings (k4.public, k4.secret,
 * k4.pid), the token claims (a strict JSON object, RFC 3339 times) and the
 * document-name pattern a token grants. The only file that includes
 * <sodium.h>. No I/O except the key-file helpers; no globals but sodium's. */
#ifndef QUIRE_AUTH_H
#define QUIRE_AUTH_H

#include <stddef.h>
#include <stdint.h>

#define AUTH_PK_BYTES 32
#define AUTH_SK_BYTES 64                       /* libsodium's seed || public key */
#define AUTH_PASERK_PUBLIC_LEN (10 + 43)       /* "k4.public." + b64url(32) */
#define AUTH_PASERK_SECRET_LEN (10 + 86)       /* "k4.secret." + b64url(64) */
#define AUTH_PID_LEN (7 + 44)                  /* "k4.pid." + b64url(33) */
#define AUTH_TOKEN_MAX 8192                    /* longer tokens are refused unread */
#define AUTH_SUB_MAX 255                       /* bytes of the `sub` claim */
#define AUTH_JTI_MAX 255                       /* bytes of the `jti` claim */
#define AUTH_JSON_MAX_MEMBERS 64               /* top-level members of a claims object */
#define AUTH_JSON_MAX_DEPTH 16

/* Initialises libsodium; 0 on success. Safe to call more than once. */
int auth_init(void);

/* --- PASERK keys ---------------------------------------------------------- */

typedef struct auth_key {
	uint8_t pk[AUTH_PK_BYTES];
	char pid[AUTH_PID_LEN + 1]; /* "k4.pid.…", the key id a token's footer names */
} auth_key_t;

/* "k4.public.<b64url>" (exactly, no whitespace) to a public key; 0 or -1. */
int auth_paserk_public_decode(const char *s, size_t n, uint8_t pk[AUTH_PK_BYTES]);
/* "k4.secret.<b64url>" to libsodium's 64-byte secret key. The embedded public
 * half must match the seed; 0 or -1. */
int auth_paserk_secret_decode(const char *s, size_t n, uint8_t sk[AUTH_SK_BYTES]);
void auth_paserk_public_encode(const uint8_t pk[AUTH_PK_BYTES], char out[AUTH_PASERK_PUBLIC_LEN + 1]);
void auth_paserk_secret_encode(const uint8_t sk[AUTH_SK_BYTES], char out[AUTH_PASERK_SECRET_LEN + 1]);
/* PASERK key id of a public key: "k4.pid." + b64url(BLAKE2b-264("k4.pid." ||
 * "k4.public." + b64url(pk))). */
void auth_pid(const uint8_t pk[AUTH_PK_BYTES], char out[AUTH_PID_LEN + 1]);

/* Key files hold one PASERK string (a trailing newline is allowed). Each
 * returns 0, or -1 with a message naming the file in err. */
int auth_load_public_key(const char *path, auth_key_t *key, char *err, size_t errlen);
int auth_load_secret_key(const char *path, uint8_t sk[AUTH_SK_BYTES], char *err, size_t errlen);
/* Creates a new key pair: path (k4.secret, mode 0600, never overwritten) and
 * path.pub (k4.public, 0644). Fills key with the public half. */
int auth_keygen(const char *path, auth_key_t *key, char *err, size_t errlen);

/* --- PASETO v4.public ----------------------------------------------------- */

/* Pre-authentication encoding: LE64(n) || for each piece LE64(len) || piece.
 * Writes to out (may be NULL to measure) and returns the encoded length. */
size_t auth_pae(uint8_t *out, size_t n, const uint8_t *const pieces[], const size_t lens[]);

typedef enum {
	AUTH_OK = 0,
	AUTH_ERR_TOO_LONG,       /* over AUTH_TOKEN_MAX */
	AUTH_ERR_NOT_V4_PUBLIC,  /* another version or purpose (v2.public, v4.local, ...) */
	AUTH_ERR_MALFORMED,      /* bad framing or base64url */
	AUTH_ERR_UNKNOWN_KEY,    /* the footer names a key id we do not have */
	AUTH_ERR_SIGNATURE,      /* no configured key verifies it */
	AUTH_ERR_CLAIMS,         /* signed, but the claims are not what a quire token holds */
	AUTH_ERR_NO_EXP,         /* no exp claim */
	AUTH_ERR_EXPIRED,        /* exp is past */
	AUTH_ERR_NOT_YET_VALID,  /* nbf is in the future */
	AUTH_ERR_NOMEM,
} auth_status_t;

const char *auth_strerror(auth_status_t s);

/* Verifies a token against keys (the footer's kid picks one when present,
 * else each is tried) with implicit assertion i. On AUTH_OK, *msg and *footer
 * are malloc()ed copies (free them; *footer is NULL when absent). Claims are
 * not looked at. */
auth_status_t auth_v4_verify(const char *token, size_t len, const auth_key_t *keys, size_t nkeys,
			     const uint8_t *i, size_t ilen, uint8_t **msg, size_t *msg_len, uint8_t **footer,
			     size_t *footer_len);

/* Signs m with footer f and implicit assertion i; returns a malloc()ed,
 * NUL-terminated token, or NULL when out of memory. */
char *auth_v4_sign(const uint8_t sk[AUTH_SK_BYTES], const uint8_t *m, size_t mlen, const uint8_t *f, size_t flen,
		   const uint8_t *i, size_t ilen);

/* --- quire tokens ----------------------------------------------------------- */

typedef struct auth_claims {
	char doc[257]; /* a document name, or a prefix followed by '*' */
	size_t doc_len;
	int readonly;      /* scope "ro" */
	int64_t exp_ms;    /* Unix ms */
	int64_t nbf_ms;    /* INT64_MIN when absent */
	int64_t iat_ms;    /* INT64_MIN when absent */
	char sub[AUTH_SUB_MAX + 1]; /* "" when absent */
	char jti[AUTH_JTI_MAX + 1]; /* the token's id; "" when absent */
} auth_claims_t;

/* The whole check: verify, then parse the claims strictly, then the times
 * against now_ms (Unix ms). On failure, *why (optional) gets a one-line reason
 * that never contains the token. */
auth_status_t auth_check_token(const char *token, size_t len, const auth_key_t *keys, size_t nkeys, int64_t now_ms,
			       auth_claims_t *claims, const char **why);

/* Parses claims JSON (no signature, no time checks): AUTH_OK, AUTH_ERR_NO_EXP
 * or AUTH_ERR_CLAIMS with *why. */
auth_status_t auth_parse_claims(const uint8_t *m, size_t n, auth_claims_t *c, const char **why);

/* Does the doc claim (exact name, or prefix + '*') grant document name? */
int auth_doc_allowed(const auth_claims_t *c, const char *name, size_t len);

/* Is s a valid doc claim: a document name, or a prefix of one followed by '*'? */
int auth_doc_pattern_valid(const char *s, size_t n);

/* Mints a quire token: claims doc, scope, iat = now, exp = now + ttl, sub if
 * not NULL, a random jti (16 bytes, base64url: what a revocation names),
 * footer {"kid":pid}. malloc()ed, or NULL. */
char *auth_mint(const uint8_t sk[AUTH_SK_BYTES], const char *doc, int readonly, int64_t now_s, uint64_t ttl_s,
		const char *sub);

/* Is p[0..n) well-formed UTF-8 (no overlongs, surrogates or NUL)? */
int auth_utf8_valid(const char *p, size_t n);

/* Zeroes secret material (not optimised away). */
void auth_wipe(void *p, size_t n);

/* Current wall-clock time in Unix ms. */
int64_t auth_now_ms(void);

/* --- strict JSON and RFC 3339 (exposed for tests) --------------------------- */

typedef enum { JSON_NULL, JSON_FALSE, JSON_TRUE, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT } json_type_t;

typedef struct json_member {
	const char *key; /* decoded, NUL-terminated (keys with \u0000 are refused) */
	size_t key_len;
	json_type_t type;
	const char *str; /* JSON_STRING: decoded value; JSON_NUMBER: its text; else NULL */
	size_t str_len;
} json_member_t;

typedef struct json_object {
	json_member_t m[AUTH_JSON_MAX_MEMBERS];
	size_t n;
	char *buf; /* owns every key and str */
} json_object_t;

/* Parses one JSON object (RFC 8259, strict: UTF-8 checked, no duplicate keys
 * at the top level, nested values checked and skipped, depth and member
 * limits). 0, or -1 (nothing to free). */
int json_parse_object(const char *s, size_t n, json_object_t *o);
void json_object_free(json_object_t *o);
const json_member_t *json_get(const json_object_t *o, const char *key);

/* RFC 3339 date-time ("2026-01-02T03:04:05.678+01:00", 'Z' or an offset,
 * any number of fraction digits) to Unix ms (fractions truncated). 0 or -1. */
int rfc3339_parse(const char *s, size_t n, int64_t *ms);
/* Unix seconds to "YYYY-MM-DDTHH:MM:SSZ". */
void rfc3339_format(int64_t unix_s, char out[21]);

#endif
