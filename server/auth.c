/* auth: PASETO v4.public tokens and PASERK keys with libsodium, the claims
 * JSON, RFC 3339 times. See auth.h and docs/tokens.md.
 *
 * Order of a check (auth_check_token), cheapest and least trusting first:
 *   1. length cap (AUTH_TOKEN_MAX) - nothing else is read before it;
 *   2. "v4.public." header, at most one footer part, canonical base64url;
 *   3. the footer's kid, if the footer is a JSON object, picks the key;
 *   4. Ed25519 over PAE("v4.public.", m, f, "");
 *   5. only then the claims are parsed (strict JSON) and the times checked. */
#include "auth.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define B64URL sodium_base64_VARIANT_URLSAFE_NO_PADDING

static const char HDR_PUBLIC[] = "k4.public.";
static const char HDR_SECRET[] = "k4.secret.";
static const char HDR_PID[] = "k4.pid.";
static const char HDR_TOKEN[] = "v4.public.";
#define LIT_LEN(s) (sizeof(s) - 1)

int auth_init(void) { return sodium_init() < 0 ? -1 : 0; }

void auth_wipe(void *p, size_t n) { sodium_memzero(p, n); }

int64_t auth_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Strict base64url without padding: the whole input, canonical trailing bits. */
static int b64url_decode(const char *s, size_t n, uint8_t *out, size_t cap, size_t *out_len)
{
	const char *end = NULL;
	if (sodium_base642bin(out, cap, s, n, NULL, out_len, &end, B64URL) != 0 || end != s + n)
		return -1;
	return 0;
}

/* --- PASERK ---------------------------------------------------------------- */

int auth_paserk_public_decode(const char *s, size_t n, uint8_t pk[AUTH_PK_BYTES])
{
	size_t len;
	uint8_t tmp[AUTH_PK_BYTES + 3];
	if (n != AUTH_PASERK_PUBLIC_LEN || memcmp(s, HDR_PUBLIC, LIT_LEN(HDR_PUBLIC)) != 0)
		return -1;
	if (b64url_decode(s + LIT_LEN(HDR_PUBLIC), n - LIT_LEN(HDR_PUBLIC), tmp, sizeof tmp, &len) || len != AUTH_PK_BYTES)
		return -1;
	memcpy(pk, tmp, AUTH_PK_BYTES);
	return 0;
}

int auth_paserk_secret_decode(const char *s, size_t n, uint8_t sk[AUTH_SK_BYTES])
{
	size_t len;
	uint8_t tmp[AUTH_SK_BYTES + 3], pk[AUTH_PK_BYTES], check[AUTH_SK_BYTES];
	int rc = -1;
	if (n != AUTH_PASERK_SECRET_LEN || memcmp(s, HDR_SECRET, LIT_LEN(HDR_SECRET)) != 0)
		return -1;
	if (b64url_decode(s + LIT_LEN(HDR_SECRET), n - LIT_LEN(HDR_SECRET), tmp, sizeof tmp, &len) == 0 &&
	    len == AUTH_SK_BYTES && crypto_sign_seed_keypair(pk, check, tmp) == 0 &&
	    sodium_memcmp(pk, tmp + 32, AUTH_PK_BYTES) == 0) {
		memcpy(sk, tmp, AUTH_SK_BYTES);
		rc = 0;
	}
	sodium_memzero(tmp, sizeof tmp);
	sodium_memzero(check, sizeof check);
	return rc;
}

void auth_paserk_public_encode(const uint8_t pk[AUTH_PK_BYTES], char out[AUTH_PASERK_PUBLIC_LEN + 1])
{
	memcpy(out, HDR_PUBLIC, LIT_LEN(HDR_PUBLIC));
	sodium_bin2base64(out + LIT_LEN(HDR_PUBLIC), AUTH_PASERK_PUBLIC_LEN + 1 - LIT_LEN(HDR_PUBLIC), pk, AUTH_PK_BYTES,
			  B64URL);
}

void auth_paserk_secret_encode(const uint8_t sk[AUTH_SK_BYTES], char out[AUTH_PASERK_SECRET_LEN + 1])
{
	memcpy(out, HDR_SECRET, LIT_LEN(HDR_SECRET));
	sodium_bin2base64(out + LIT_LEN(HDR_SECRET), AUTH_PASERK_SECRET_LEN + 1 - LIT_LEN(HDR_SECRET), sk, AUTH_SK_BYTES,
			  B64URL);
}

void auth_pid(const uint8_t pk[AUTH_PK_BYTES], char out[AUTH_PID_LEN + 1])
{
	char paserk[AUTH_PASERK_PUBLIC_LEN + 1];
	uint8_t d[33];
	crypto_generichash_state st;
	auth_paserk_public_encode(pk, paserk);
	crypto_generichash_init(&st, NULL, 0, sizeof d);
	crypto_generichash_update(&st, (const uint8_t *)HDR_PID, LIT_LEN(HDR_PID));
	crypto_generichash_update(&st, (const uint8_t *)paserk, AUTH_PASERK_PUBLIC_LEN);
	crypto_generichash_final(&st, d, sizeof d);
	memcpy(out, HDR_PID, LIT_LEN(HDR_PID));
	sodium_bin2base64(out + LIT_LEN(HDR_PID), AUTH_PID_LEN + 1 - LIT_LEN(HDR_PID), d, sizeof d, B64URL);
}

/* Reads a small key file and trims trailing whitespace. */
static int read_key_file(const char *path, char *buf, size_t cap, size_t *len, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	size_t n = fread(buf, 1, cap, f);
	int bad = ferror(f);
	fclose(f);
	if (bad) {
		snprintf(err, errlen, "%s: read error", path);
		return -1;
	}
	if (n == cap) {
		snprintf(err, errlen, "%s: too large for a key file", path);
		return -1;
	}
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ' || buf[n - 1] == '\t'))
		n--;
	*len = n;
	return 0;
}

int auth_load_public_key(const char *path, auth_key_t *key, char *err, size_t errlen)
{
	char buf[512];
	size_t n;
	if (read_key_file(path, buf, sizeof buf, &n, err, errlen))
		return -1;
	if (n >= LIT_LEN(HDR_SECRET) && memcmp(buf, HDR_SECRET, LIT_LEN(HDR_SECRET)) == 0) {
		sodium_memzero(buf, sizeof buf);
		snprintf(err, errlen, "%s: this is a secret key; give the server the public key (%s.pub)", path, path);
		return -1;
	}
	if (auth_paserk_public_decode(buf, n, key->pk)) {
		snprintf(err, errlen, "%s: not a PASERK k4.public key (one line: k4.public.<43 base64url characters>)",
			 path);
		return -1;
	}
	auth_pid(key->pk, key->pid);
	return 0;
}

int auth_load_secret_key(const char *path, uint8_t sk[AUTH_SK_BYTES], char *err, size_t errlen)
{
	char buf[512];
	size_t n;
	int rc = 0;
	if (read_key_file(path, buf, sizeof buf, &n, err, errlen))
		return -1;
	if (n >= LIT_LEN(HDR_PUBLIC) && memcmp(buf, HDR_PUBLIC, LIT_LEN(HDR_PUBLIC)) == 0) {
		snprintf(err, errlen, "%s: this is a public key; minting needs the secret key file", path);
		rc = -1;
	} else if (auth_paserk_secret_decode(buf, n, sk)) {
		snprintf(err, errlen, "%s: not a PASERK k4.secret key (one line: k4.secret.<86 base64url characters>)",
			 path);
		rc = -1;
	}
	sodium_memzero(buf, sizeof buf);
	return rc;
}

static int write_new_file(const char *path, const char *text, mode_t mode, char *err, size_t errlen)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s%s", path, strerror(errno),
			 errno == EEXIST ? " (refusing to overwrite a key)" : "");
		return -1;
	}
	size_t len = strlen(text);
	int ok = fchmod(fd, mode) == 0 && write(fd, text, len) == (ssize_t)len && write(fd, "\n", 1) == 1 &&
		 fsync(fd) == 0;
	int saved = errno;
	if (close(fd) != 0)
		ok = 0;
	if (!ok) {
		snprintf(err, errlen, "%s: %s", path, strerror(saved));
		unlink(path);
		return -1;
	}
	return 0;
}

int auth_keygen(const char *path, auth_key_t *key, char *err, size_t errlen)
{
	size_t plen = strlen(path);
	char *pub = malloc(plen + 5);
	if (!pub) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	memcpy(pub, path, plen);
	memcpy(pub + plen, ".pub", 5);
	struct stat st;
	int rc = -1;
	if (stat(path, &st) == 0 || stat(pub, &st) == 0) {
		snprintf(err, errlen, "%s: already exists (refusing to overwrite a key)",
			 stat(path, &st) == 0 ? path : pub);
		free(pub);
		return -1;
	}
	uint8_t sk[AUTH_SK_BYTES];
	char ssk[AUTH_PASERK_SECRET_LEN + 1], spk[AUTH_PASERK_PUBLIC_LEN + 1];
	crypto_sign_keypair(key->pk, sk);
	auth_pid(key->pk, key->pid);
	auth_paserk_secret_encode(sk, ssk);
	auth_paserk_public_encode(key->pk, spk);
	if (write_new_file(path, ssk, 0600, err, errlen) == 0) {
		if (write_new_file(pub, spk, 0644, err, errlen) == 0)
			rc = 0;
		else
			unlink(path);
	}
	sodium_memzero(sk, sizeof sk);
	sodium_memzero(ssk, sizeof ssk);
	free(pub);
	return rc;
}

/* --- PASETO v4.public ------------------------------------------------------- */

static void le64(uint8_t *out, uint64_t v)
{
	v &= UINT64_C(0x7fffffffffffffff); /* the top bit is always cleared */
	for (int i = 0; i < 8; i++, v >>= 8)
		out[i] = (uint8_t)(v & 0xff);
}

size_t auth_pae(uint8_t *out, size_t n, const uint8_t *const pieces[], const size_t lens[])
{
	size_t len = 8;
	if (out)
		le64(out, n);
	for (size_t k = 0; k < n; k++) {
		if (out) {
			le64(out + len, lens[k]);
			if (lens[k])
				memcpy(out + len + 8, pieces[k], lens[k]);
		}
		len += 8 + lens[k];
	}
	return len;
}

static uint8_t *pae_v4_public(const uint8_t *m, size_t mlen, const uint8_t *f, size_t flen, const uint8_t *i,
			      size_t ilen, size_t *out_len)
{
	const uint8_t *pieces[4] = {(const uint8_t *)HDR_TOKEN, m, f, i};
	const size_t lens[4] = {LIT_LEN(HDR_TOKEN), mlen, flen, ilen};
	size_t n = auth_pae(NULL, 4, pieces, lens);
	uint8_t *buf = malloc(n);
	if (buf)
		auth_pae(buf, 4, pieces, lens);
	*out_len = n;
	return buf;
}

/* "vN.local." / "vN.public." : a PASETO token of another kind. */
static int other_paseto(const char *t, size_t n)
{
	size_t i = 0;
	if (n < 2 || t[0] != 'v')
		return 0;
	for (i = 1; i < n && t[i] >= '0' && t[i] <= '9'; i++)
		;
	if (i == 1 || i >= n || t[i] != '.')
		return 0;
	i++;
	return (n - i > 6 && memcmp(t + i, "local.", 6) == 0) || (n - i > 7 && memcmp(t + i, "public.", 7) == 0);
}

const char *auth_strerror(auth_status_t s)
{
	switch (s) {
	case AUTH_OK: return "ok";
	case AUTH_ERR_TOO_LONG: return "token too long";
	case AUTH_ERR_NOT_V4_PUBLIC: return "not a v4.public token";
	case AUTH_ERR_MALFORMED: return "malformed token";
	case AUTH_ERR_UNKNOWN_KEY: return "token signed by an unknown key id";
	case AUTH_ERR_SIGNATURE: return "bad token signature";
	case AUTH_ERR_CLAIMS: return "bad token claims";
	case AUTH_ERR_NO_EXP: return "token has no exp claim";
	case AUTH_ERR_EXPIRED: return "token expired";
	case AUTH_ERR_NOT_YET_VALID: return "token not yet valid (nbf)";
	case AUTH_ERR_NOMEM: return "out of memory";
	}
	return "token refused";
}

auth_status_t auth_v4_verify(const char *token, size_t len, const auth_key_t *keys, size_t nkeys,
			     const uint8_t *i, size_t ilen, uint8_t **msg, size_t *msg_len, uint8_t **footer,
			     size_t *footer_len)
{
	*msg = *footer = NULL;
	*msg_len = *footer_len = 0;
	if (len > AUTH_TOKEN_MAX)
		return AUTH_ERR_TOO_LONG;
	if (len < LIT_LEN(HDR_TOKEN) || memcmp(token, HDR_TOKEN, LIT_LEN(HDR_TOKEN)) != 0)
		return other_paseto(token, len) ? AUTH_ERR_NOT_V4_PUBLIC : AUTH_ERR_MALFORMED;
	const char *body = token + LIT_LEN(HDR_TOKEN), *end = token + len;
	const char *dot = memchr(body, '.', (size_t)(end - body));
	size_t body_len = dot ? (size_t)(dot - body) : (size_t)(end - body);
	const char *fpart = dot ? dot + 1 : NULL;
	size_t fpart_len = dot ? (size_t)(end - fpart) : 0;
	if (dot && (fpart_len == 0 || memchr(fpart, '.', fpart_len)))
		return AUTH_ERR_MALFORMED;

	auth_status_t st = AUTH_ERR_MALFORMED;
	uint8_t *raw = malloc(body_len + 1), *f = malloc(fpart_len + 1), *pae = NULL;
	size_t raw_len = 0, f_len = 0, pae_len = 0;
	if (!raw || !f) {
		st = AUTH_ERR_NOMEM;
		goto out;
	}
	if (b64url_decode(body, body_len, raw, body_len + 1, &raw_len) || raw_len <= crypto_sign_BYTES)
		goto out;
	if (fpart && (b64url_decode(fpart, fpart_len, f, fpart_len + 1, &f_len) || f_len == 0))
		goto out;
	size_t m_len = raw_len - crypto_sign_BYTES;
	const uint8_t *sig = raw + m_len;

	/* The footer's kid, when the footer is a JSON object whose kid is a
	 * k4.pid, picks the key; another PASERK type there (a secret or local
	 * key's id, another version) is refused; any other kid string is not ours
	 * to interpret, and every key is tried. */
	const auth_key_t *only = NULL;
	if (f_len && f[0] == '{') {
		json_object_t fo;
		if (json_parse_object((const char *)f, f_len, &fo) == 0) {
			const json_member_t *kid = json_get(&fo, "kid");
			int bad = kid && kid->type != JSON_STRING, pid = 0;
			if (kid && !bad) {
				pid = kid->str_len >= LIT_LEN(HDR_PID) && memcmp(kid->str, HDR_PID, LIT_LEN(HDR_PID)) == 0;
				bad = !pid && kid->str_len >= 3 && kid->str[0] == 'k' && kid->str[1] >= '0' &&
				      kid->str[1] <= '9' && memchr(kid->str, '.', kid->str_len) != NULL;
			}
			for (size_t k = 0; pid && k < nkeys && !only; k++)
				if (kid->str_len == AUTH_PID_LEN && memcmp(kid->str, keys[k].pid, AUTH_PID_LEN) == 0)
					only = &keys[k];
			json_object_free(&fo);
			if (bad)
				goto out;
			if (pid && !only) {
				st = AUTH_ERR_UNKNOWN_KEY;
				goto out;
			}
		}
	}
	pae = pae_v4_public(raw, m_len, f, f_len, i, ilen, &pae_len);
	if (!pae) {
		st = AUTH_ERR_NOMEM;
		goto out;
	}
	st = AUTH_ERR_SIGNATURE;
	for (size_t k = 0; k < nkeys; k++) {
		const auth_key_t *key = only ? only : &keys[k];
		if (crypto_sign_verify_detached(sig, pae, pae_len, key->pk) == 0) {
			st = AUTH_OK;
			break;
		}
		if (only)
			break;
	}
	if (st == AUTH_OK) {
		raw[m_len] = 0;
		*msg = raw;
		*msg_len = m_len;
		raw = NULL;
		if (f_len) {
			f[f_len] = 0;
			*footer = f;
			*footer_len = f_len;
			f = NULL;
		}
	}
out:
	free(raw);
	free(f);
	free(pae);
	return st;
}

char *auth_v4_sign(const uint8_t sk[AUTH_SK_BYTES], const uint8_t *m, size_t mlen, const uint8_t *f, size_t flen,
		   const uint8_t *i, size_t ilen)
{
	size_t pae_len;
	uint8_t *pae = pae_v4_public(m, mlen, f, flen, i, ilen, &pae_len);
	uint8_t *body = malloc(mlen + crypto_sign_BYTES);
	size_t blen = sodium_base64_ENCODED_LEN(mlen + crypto_sign_BYTES, B64URL);
	size_t flen64 = flen ? sodium_base64_ENCODED_LEN(flen, B64URL) : 0;
	char *tok = malloc(LIT_LEN(HDR_TOKEN) + blen + 1 + flen64 + 1);
	if (!pae || !body || !tok) {
		free(pae);
		free(body);
		free(tok);
		return NULL;
	}
	if (mlen)
		memcpy(body, m, mlen);
	crypto_sign_detached(body + mlen, NULL, pae, pae_len, sk);
	char *p = tok;
	memcpy(p, HDR_TOKEN, LIT_LEN(HDR_TOKEN));
	p += LIT_LEN(HDR_TOKEN);
	sodium_bin2base64(p, blen, body, mlen + crypto_sign_BYTES, B64URL);
	p += strlen(p);
	if (flen) {
		*p++ = '.';
		sodium_bin2base64(p, flen64, f, flen, B64URL);
	}
	free(pae);
	free(body);
	return tok;
}

/* --- strict JSON ---------------------------------------------------------------- */

typedef struct jp {
	const unsigned char *s;
	size_t n, i;
	char *out; /* decoded strings go here (NULL: validate only) */
	size_t olen;
} jp_t;

static void jp_ws(jp_t *p)
{
	while (p->i < p->n && (p->s[p->i] == ' ' || p->s[p->i] == '\t' || p->s[p->i] == '\n' || p->s[p->i] == '\r'))
		p->i++;
}

/* Length of the valid UTF-8 sequence at s (n bytes left), or 0. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	if (c < 0x80)
		return 1;
	size_t len;
	unsigned lo = 0x80, hi = 0xbf;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f; /* no surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	} else
		return 0;
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t k = 2; k < len; k++)
		if (s[k] < 0x80 || s[k] > 0xbf)
			return 0;
	return len;
}

int auth_utf8_valid(const char *p, size_t n)
{
	const unsigned char *s = (const unsigned char *)p;
	for (size_t i = 0; i < n;) {
		size_t k = s[i] ? utf8_seq(s + i, n - i) : 0;
		if (!k)
			return 0;
		i += k;
	}
	return 1;
}

static void jp_put(jp_t *p, const void *b, size_t n)
{
	if (p->out) {
		memcpy(p->out + p->olen, b, n);
		p->olen += n;
	}
}

static int hex4(const unsigned char *s, unsigned *v)
{
	*v = 0;
	for (int k = 0; k < 4; k++) {
		unsigned c = s[k], d;
		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return -1;
		*v = *v << 4 | d;
	}
	return 0;
}

/* A string at p->i (the opening quote). When storing, the decoded bytes and a
 * NUL go to p->out and *val / *vlen describe them. */
static int jp_string(jp_t *p, const char **val, size_t *vlen)
{
	size_t start = p->olen;
	if (p->i >= p->n || p->s[p->i] != '"')
		return -1;
	p->i++;
	for (;;) {
		if (p->i >= p->n)
			return -1;
		unsigned c = p->s[p->i];
		if (c == '"') {
			p->i++;
			break;
		}
		if (c < 0x20)
			return -1;
		if (c != '\\') {
			size_t k = utf8_seq(p->s + p->i, p->n - p->i);
			if (!k)
				return -1;
			jp_put(p, p->s + p->i, k);
			p->i += k;
			continue;
		}
		if (p->i + 1 >= p->n)
			return -1;
		unsigned e = p->s[p->i + 1];
		const char *simple = NULL;
		switch (e) {
		case '"': simple = "\""; break;
		case '\\': simple = "\\"; break;
		case '/': simple = "/"; break;
		case 'b': simple = "\b"; break;
		case 'f': simple = "\f"; break;
		case 'n': simple = "\n"; break;
		case 'r': simple = "\r"; break;
		case 't': simple = "\t"; break;
		case 'u': break;
		default: return -1;
		}
		if (simple) {
			jp_put(p, simple, 1);
			p->i += 2;
			continue;
		}
		unsigned cp, lo;
		if (p->i + 6 > p->n || hex4(p->s + p->i + 2, &cp))
			return -1;
		p->i += 6;
		if (cp >= 0xdc00 && cp <= 0xdfff)
			return -1; /* lone low surrogate */
		if (cp >= 0xd800 && cp <= 0xdbff) {
			if (p->i + 6 > p->n || p->s[p->i] != '\\' || p->s[p->i + 1] != 'u' || hex4(p->s + p->i + 2, &lo) ||
			    lo < 0xdc00 || lo > 0xdfff)
				return -1;
			p->i += 6;
			cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
		}
		if (cp == 0)
			return -1; /* \u0000 would cut C strings short */
		unsigned char u[4];
		size_t ul;
		if (cp < 0x80) {
			u[0] = (unsigned char)cp;
			ul = 1;
		} else if (cp < 0x800) {
			u[0] = (unsigned char)(0xc0 | cp >> 6);
			u[1] = (unsigned char)(0x80 | (cp & 0x3f));
			ul = 2;
		} else if (cp < 0x10000) {
			u[0] = (unsigned char)(0xe0 | cp >> 12);
			u[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
			u[2] = (unsigned char)(0x80 | (cp & 0x3f));
			ul = 3;
		} else {
			u[0] = (unsigned char)(0xf0 | cp >> 18);
			u[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
			u[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
			u[3] = (unsigned char)(0x80 | (cp & 0x3f));
			ul = 4;
		}
		jp_put(p, u, ul);
	}
	if (p->out) {
		if (val) {
			*val = p->out + start;
			*vlen = p->olen - start;
		}
		p->out[p->olen++] = 0;
	}
	return 0;
}

static int is_digit(unsigned c) { return c >= '0' && c <= '9'; }

static int jp_number(jp_t *p)
{
	const unsigned char *s = p->s;
	if (p->i < p->n && s[p->i] == '-')
		p->i++;
	if (p->i >= p->n || !is_digit(s[p->i]))
		return -1;
	if (s[p->i] == '0')
		p->i++;
	else
		while (p->i < p->n && is_digit(s[p->i]))
			p->i++;
	if (p->i < p->n && s[p->i] == '.') {
		p->i++;
		if (p->i >= p->n || !is_digit(s[p->i]))
			return -1;
		while (p->i < p->n && is_digit(s[p->i]))
			p->i++;
	}
	if (p->i < p->n && (s[p->i] == 'e' || s[p->i] == 'E')) {
		p->i++;
		if (p->i < p->n && (s[p->i] == '+' || s[p->i] == '-'))
			p->i++;
		if (p->i >= p->n || !is_digit(s[p->i]))
			return -1;
		while (p->i < p->n && is_digit(s[p->i]))
			p->i++;
	}
	return 0;
}

static int jp_literal(jp_t *p, const char *lit)
{
	size_t n = strlen(lit);
	if (p->n - p->i < n || memcmp(p->s + p->i, lit, n) != 0)
		return -1;
	p->i += n;
	return 0;
}

/* Any value, validated and skipped (nothing stored). depth counts the
 * containers around it. */
static int jp_skip(jp_t *p, int depth, json_type_t *type)
{
	if (p->i >= p->n)
		return -1;
	unsigned c = p->s[p->i];
	char *saved = p->out;
	int rc = -1;
	p->out = NULL;
	if (c == '{' || c == '[') {
		unsigned close = c == '{' ? '}' : ']';
		*type = c == '{' ? JSON_OBJECT : JSON_ARRAY;
		if (depth + 1 > AUTH_JSON_MAX_DEPTH)
			goto out;
		p->i++;
		jp_ws(p);
		if (p->i < p->n && p->s[p->i] == close) {
			p->i++;
			rc = 0;
			goto out;
		}
		for (;;) {
			json_type_t t;
			jp_ws(p);
			if (c == '{') {
				if (jp_string(p, NULL, NULL))
					goto out;
				jp_ws(p);
				if (p->i >= p->n || p->s[p->i] != ':')
					goto out;
				p->i++;
				jp_ws(p);
			}
			if (jp_skip(p, depth + 1, &t))
				goto out;
			jp_ws(p);
			if (p->i >= p->n)
				goto out;
			if (p->s[p->i] == ',') {
				p->i++;
				continue;
			}
			if (p->s[p->i] != close)
				goto out;
			p->i++;
			rc = 0;
			goto out;
		}
	}
	if (c == '"') {
		*type = JSON_STRING;
		rc = jp_string(p, NULL, NULL);
	} else if (c == '-' || is_digit(c)) {
		*type = JSON_NUMBER;
		rc = jp_number(p);
	} else if (c == 't') {
		*type = JSON_TRUE;
		rc = jp_literal(p, "true");
	} else if (c == 'f') {
		*type = JSON_FALSE;
		rc = jp_literal(p, "false");
	} else if (c == 'n') {
		*type = JSON_NULL;
		rc = jp_literal(p, "null");
	}
out:
	p->out = saved;
	return rc;
}

int json_parse_object(const char *s, size_t n, json_object_t *o)
{
	memset(o, 0, sizeof *o);
	jp_t p = {(const unsigned char *)s, n, 0, NULL, 0};
	o->buf = malloc(2 * n + 2); /* decoded strings are never longer than their source */
	if (!o->buf)
		return -1;
	p.out = o->buf;
	jp_ws(&p);
	if (p.i >= n || p.s[p.i] != '{')
		goto bad;
	p.i++;
	jp_ws(&p);
	if (p.i < n && p.s[p.i] == '}') {
		p.i++;
	} else {
		for (;;) {
			jp_ws(&p);
			if (o->n == AUTH_JSON_MAX_MEMBERS)
				goto bad;
			json_member_t *m = &o->m[o->n];
			if (jp_string(&p, &m->key, &m->key_len))
				goto bad;
			for (size_t k = 0; k < o->n; k++)
				if (o->m[k].key_len == m->key_len && memcmp(o->m[k].key, m->key, m->key_len) == 0)
					goto bad; /* duplicate key */
			jp_ws(&p);
			if (p.i >= n || p.s[p.i] != ':')
				goto bad;
			p.i++;
			jp_ws(&p);
			if (p.i >= n)
				goto bad;
			unsigned c = p.s[p.i];
			if (c == '"') {
				m->type = JSON_STRING;
				if (jp_string(&p, &m->str, &m->str_len))
					goto bad;
			} else if (c == '-' || is_digit(c)) {
				size_t start = p.i;
				m->type = JSON_NUMBER;
				if (jp_number(&p))
					goto bad;
				m->str = p.out + p.olen;
				m->str_len = p.i - start;
				jp_put(&p, s + start, m->str_len);
				p.out[p.olen++] = 0;
			} else if (jp_skip(&p, 1, &m->type)) {
				goto bad;
			}
			o->n++;
			jp_ws(&p);
			if (p.i >= n)
				goto bad;
			if (p.s[p.i] == ',') {
				p.i++;
				continue;
			}
			if (p.s[p.i] != '}')
				goto bad;
			p.i++;
			break;
		}
	}
	jp_ws(&p);
	if (p.i != n)
		goto bad;
	return 0;
bad:
	json_object_free(o);
	return -1;
}

void json_object_free(json_object_t *o)
{
	free(o->buf);
	o->buf = NULL;
	o->n = 0;
}

const json_member_t *json_get(const json_object_t *o, const char *key)
{
	size_t kl = strlen(key);
	for (size_t k = 0; k < o->n; k++)
		if (o->m[k].key_len == kl && memcmp(o->m[k].key, key, kl) == 0)
			return &o->m[k];
	return NULL;
}

/* --- RFC 3339 ------------------------------------------------------------------ */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static int num(const char *s, size_t k, unsigned *v)
{
	*v = 0;
	for (size_t i = 0; i < k; i++) {
		if (!is_digit((unsigned char)s[i]))
			return -1;
		*v = *v * 10 + (unsigned)(s[i] - '0');
	}
	return 0;
}

int rfc3339_parse(const char *s, size_t n, int64_t *ms)
{
	unsigned y, mo, d, h, mi, sec, oh = 0, om = 0, frac = 0;
	static const unsigned dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (n < 20 || num(s, 4, &y) || s[4] != '-' || num(s + 5, 2, &mo) || s[7] != '-' || num(s + 8, 2, &d) ||
	    (s[10] != 'T' && s[10] != 't') || num(s + 11, 2, &h) || s[13] != ':' || num(s + 14, 2, &mi) ||
	    s[16] != ':' || num(s + 17, 2, &sec))
		return -1;
	size_t i = 19;
	if (s[i] == '.') {
		size_t digits = 0;
		for (i++; i < n && is_digit((unsigned char)s[i]); i++, digits++)
			if (digits < 3)
				frac = frac * 10 + (unsigned)(s[i] - '0');
		if (digits == 0)
			return -1;
		for (; digits < 3; digits++)
			frac *= 10;
	}
	int sign = 0;
	if (i < n && (s[i] == 'Z' || s[i] == 'z')) {
		i++;
	} else if (i < n && (s[i] == '+' || s[i] == '-')) {
		sign = s[i] == '+' ? 1 : -1;
		if (n - i < 6 || num(s + i + 1, 2, &oh) || s[i + 3] != ':' || num(s + i + 4, 2, &om))
			return -1;
		i += 6;
	} else {
		return -1;
	}
	if (i != n)
		return -1;
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (mo < 1 || mo > 12 || d < 1 || d > dim[mo - 1] + (mo == 2 && leap) || h > 23 || mi > 59 || sec > 60 ||
	    oh > 23 || om > 59)
		return -1;
	int64_t t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
	t -= sign * (int64_t)(oh * 3600 + om * 60);
	*ms = t * 1000 + frac;
	return 0;
}

void rfc3339_format(int64_t unix_s, char out[21])
{
	int64_t days = unix_s >= 0 ? unix_s / 86400 : -((-unix_s + 86399) / 86400);
	int64_t rem = unix_s - days * 86400, y;
	unsigned m, d;
	civil_from_days(days, &y, &m, &d);
	if (y < 0 || y > 9999) /* outside RFC 3339: clamp */
		y = y < 0 ? 0 : 9999;
	char tmp[64];
	snprintf(tmp, sizeof tmp, "%04u-%02u-%02uT%02u:%02u:%02uZ", (unsigned)y, m, d, (unsigned)(rem / 3600),
		 (unsigned)(rem / 60 % 60), (unsigned)(rem % 60));
	memcpy(out, tmp, 21); /* every field is in range: exactly 20 characters */
}

/* --- quire tokens ------------------------------------------------------------------ */

static int doc_char(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
	       ch == '_' || ch == '~' || ch == '/' || ch == '-';
}

int auth_doc_pattern_valid(const char *s, size_t n)
{
	if (n == 0)
		return 0;
	int prefix = s[n - 1] == '*';
	size_t body = prefix ? n - 1 : n;
	if (body > 255 || (!prefix && body == 0))
		return 0;
	for (size_t i = 0; i < body; i++)
		if (!doc_char((unsigned char)s[i]))
			return 0;
	return 1;
}

int auth_doc_allowed(const auth_claims_t *c, const char *name, size_t len)
{
	if (c->doc_len && c->doc[c->doc_len - 1] == '*') {
		size_t pl = c->doc_len - 1;
		return len >= pl && memcmp(name, c->doc, pl) == 0;
	}
	return len == c->doc_len && memcmp(name, c->doc, len) == 0;
}

static int time_claim(const json_object_t *o, const char *key, int64_t *ms, const char **why, const char *bad)
{
	const json_member_t *m = json_get(o, key);
	*ms = INT64_MIN;
	if (!m)
		return 0;
	if (m->type != JSON_STRING || rfc3339_parse(m->str, m->str_len, ms)) {
		*why = bad;
		return -1;
	}
	return 0;
}

auth_status_t auth_parse_claims(const uint8_t *msg, size_t n, auth_claims_t *c, const char **why)
{
	json_object_t o;
	auth_status_t st = AUTH_ERR_CLAIMS;
	const char *dummy;
	if (!why)
		why = &dummy;
	memset(c, 0, sizeof *c);
	if (json_parse_object((const char *)msg, n, &o)) {
		*why = "claims are not a JSON object";
		return AUTH_ERR_CLAIMS;
	}
	const json_member_t *doc = json_get(&o, "doc"), *scope = json_get(&o, "scope"), *sub = json_get(&o, "sub");
	if (!doc || doc->type != JSON_STRING || !auth_doc_pattern_valid(doc->str, doc->str_len)) {
		*why = "claim doc missing or not a document name (or prefix ending in *)";
		goto out;
	}
	memcpy(c->doc, doc->str, doc->str_len);
	c->doc_len = doc->str_len;
	if (!scope || scope->type != JSON_STRING || scope->str_len != 2 ||
	    (memcmp(scope->str, "rw", 2) != 0 && memcmp(scope->str, "ro", 2) != 0)) {
		*why = "claim scope missing or not \"rw\" / \"ro\"";
		goto out;
	}
	c->readonly = scope->str[1] == 'o';
	if (sub) {
		if (sub->type != JSON_STRING || sub->str_len > AUTH_SUB_MAX) {
			*why = "claim sub not a string of at most 255 bytes";
			goto out;
		}
		memcpy(c->sub, sub->str, sub->str_len);
	}
	const json_member_t *jti = json_get(&o, "jti");
	if (jti) {
		if (jti->type != JSON_STRING || !jti->str_len || jti->str_len > AUTH_JTI_MAX ||
		    memchr(jti->str, 0, jti->str_len)) {
			*why = "claim jti not a string of 1 to 255 bytes";
			goto out;
		}
		memcpy(c->jti, jti->str, jti->str_len);
	}
	if (time_claim(&o, "nbf", &c->nbf_ms, why, "claim nbf not an RFC 3339 date-time") ||
	    time_claim(&o, "iat", &c->iat_ms, why, "claim iat not an RFC 3339 date-time") ||
	    time_claim(&o, "exp", &c->exp_ms, why, "claim exp not an RFC 3339 date-time"))
		goto out;
	if (c->exp_ms == INT64_MIN) {
		*why = auth_strerror(AUTH_ERR_NO_EXP);
		st = AUTH_ERR_NO_EXP;
		goto out;
	}
	st = AUTH_OK;
out:
	json_object_free(&o);
	return st;
}

auth_status_t auth_check_token(const char *token, size_t len, const auth_key_t *keys, size_t nkeys, int64_t now_ms,
			       auth_claims_t *claims, const char **why)
{
	uint8_t *m, *f;
	size_t mlen, flen;
	const char *dummy;
	if (!why)
		why = &dummy;
	auth_status_t st = auth_v4_verify(token, len, keys, nkeys, NULL, 0, &m, &mlen, &f, &flen);
	if (st != AUTH_OK) {
		*why = auth_strerror(st);
		return st;
	}
	free(f);
	st = auth_parse_claims(m, mlen, claims, why);
	free(m);
	if (st != AUTH_OK)
		return st;
	if (now_ms >= claims->exp_ms)
		st = AUTH_ERR_EXPIRED;
	else if (claims->nbf_ms != INT64_MIN && now_ms < claims->nbf_ms)
		st = AUTH_ERR_NOT_YET_VALID;
	if (st != AUTH_OK)
		*why = auth_strerror(st);
	return st;
}

/* Appends s as a JSON string (with quotes). */
static size_t json_quote(char *out, const char *s)
{
	size_t o = 0;
	out[o++] = '"';
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\') {
			out[o++] = '\\';
			out[o++] = (char)*p;
		} else if (*p < 0x20) {
			o += (size_t)sprintf(out + o, "\\u%04x", *p);
		} else {
			out[o++] = (char)*p;
		}
	}
	out[o++] = '"';
	out[o] = 0;
	return o;
}

char *auth_mint(const uint8_t sk[AUTH_SK_BYTES], const char *doc, int readonly, int64_t now_s, uint64_t ttl_s,
		const char *sub)
{
	char iat[21], exp[21], pid[AUTH_PID_LEN + 1], footer[AUTH_PID_LEN + 16];
	size_t dl = strlen(doc), sl = sub ? strlen(sub) : 0;
	char *m = malloc(192 + 6 * (dl + sl));
	if (!m)
		return NULL;
	rfc3339_format(now_s, iat);
	rfc3339_format(now_s + (int64_t)ttl_s, exp);
	size_t n = (size_t)sprintf(m, "{\"doc\":");
	n += json_quote(m + n, doc);
	n += (size_t)sprintf(m + n, ",\"scope\":\"%s\"", readonly ? "ro" : "rw");
	if (sub) {
		n += (size_t)sprintf(m + n, ",\"sub\":");
		n += json_quote(m + n, sub);
	}
	uint8_t id[16];
	char jti[32];
	randombytes_buf(id, sizeof id);
	sodium_bin2base64(jti, sizeof jti, id, sizeof id, B64URL);
	n += (size_t)sprintf(m + n, ",\"iat\":\"%s\",\"exp\":\"%s\",\"jti\":\"%s\"}", iat, exp, jti);
	auth_pid(sk + 32, pid);
	int fl = snprintf(footer, sizeof footer, "{\"kid\":\"%s\"}", pid);
	char *tok = auth_v4_sign(sk, (const uint8_t *)m, n, (const uint8_t *)footer, (size_t)fl, NULL, 0);
	free(m);
	return tok;
}
