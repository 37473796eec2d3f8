/* libFuzzer target: what a client controls in a token. The first byte picks
 * the path:
 *  0: the rest is the token string (framing, base64url, footer and its kid,
 *     against one configured key: a signature almost never verifies);
 *  1: the rest is the claims JSON, signed with that key, so the whole check
 *     runs through to auth_parse_claims and the time checks;
 *  else: the rest goes to the JSON object parser, RFC 3339 and PASERK readers.
 * Nothing may over-read; an accepted token's claims are what the rules allow. */
#include "auth.h"

#include "must.h"

#include <sodium.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint8_t sk[AUTH_SK_BYTES];
static auth_key_t key;

static void setup(void)
{
	static int done;
	if (done)
		return;
	done = 1;
	MUST(auth_init() == 0);
	/* a fixed key pair, so runs are reproducible */
	static const uint8_t seed[crypto_sign_SEEDBYTES] = {1, 2, 3, 4, 5, 6, 7, 8};
	MUST(crypto_sign_seed_keypair(key.pk, sk, seed) == 0);
	auth_pid(key.pk, key.pid);
}

static void check_claims(const auth_claims_t *c)
{
	MUST(c->doc_len >= 1 && c->doc_len <= 256 && c->doc[c->doc_len] == 0);
	MUST(auth_doc_pattern_valid(c->doc, c->doc_len));
	MUST(strlen(c->sub) <= AUTH_SUB_MAX);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	setup();
	if (size == 0)
		return 0;
	const uint8_t *p = data + 1;
	size_t n = size - 1;
	auth_claims_t c;
	const char *why = NULL;
	int64_t now = 1700000000000;
	if (data[0] == 0) {
		auth_status_t st = auth_check_token((const char *)p, n, &key, 1, now, &c, &why);
		MUST(st != AUTH_OK || (check_claims(&c), 1));
	} else if (data[0] == 1) {
		static const char footer[] = "";
		char *tok = auth_v4_sign(sk, p, n, (const uint8_t *)footer, 0, NULL, 0);
		MUST(tok);
		auth_status_t st = auth_check_token(tok, strlen(tok), &key, 1, now, &c, &why);
		if (st == AUTH_OK)
			check_claims(&c);
		else if (st != AUTH_ERR_TOO_LONG && !(n == 0 && st == AUTH_ERR_MALFORMED)) /* a token holds a message */
			MUST(st == AUTH_ERR_CLAIMS || st == AUTH_ERR_NO_EXP || st == AUTH_ERR_EXPIRED ||
			     st == AUTH_ERR_NOT_YET_VALID || st == AUTH_ERR_NOMEM);
		free(tok);
	} else {
		json_object_t o;
		if (json_parse_object((const char *)p, n, &o) == 0)
			json_object_free(&o);
		int64_t ms;
		(void)rfc3339_parse((const char *)p, n, &ms);
		uint8_t pk[AUTH_PK_BYTES], k[AUTH_SK_BYTES];
		(void)auth_paserk_public_decode((const char *)p, n, pk);
		(void)auth_paserk_secret_decode((const char *)p, n, k);
		(void)auth_utf8_valid((const char *)p, n);
		(void)auth_parse_claims(p, n, &c, &why);
	}
	return 0;
}
