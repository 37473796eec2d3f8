/* `quire keygen --out FILE` and `quire token --key FILE --doc NAME ...`. */
#include "token_cmd.h"

#include "auth.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define TOKEN_DEFAULT_TTL 3600
#define TOKEN_MAX_TTL (UINT64_C(10) * 366 * 86400)

static const char keygen_usage[] =
	"usage: quire keygen --out FILE\n"
	"\n"
	"Creates an Ed25519 key pair for session tokens, as PASERK strings:\n"
	"  FILE      k4.secret.... (mode 0600) - for whoever mints tokens (quire token,\n"
	"            your wiki backend); never give it to the server\n"
	"  FILE.pub  k4.public.... - for quire serve --token-pubkey FILE.pub\n"
	"Prints the key id (k4.pid....) that tokens name in their footer.\n"
	"Existing files are never overwritten.\n";

static const char token_usage[] =
	"usage: quire token --key FILE --doc NAME [--scope rw|ro] [--ttl SECONDS] [--sub USER]\n"
	"\n"
	"Prints a PASETO v4.public session token signed with the secret key FILE\n"
	"(from quire keygen). Claims: doc, scope, iat, exp (RFC 3339), a random jti\n"
	"(what --revocations names) and sub if given; footer {\"kid\":\"k4.pid....\"}.\n"
	"\n"
	"  --key FILE       secret key file (k4.secret....) [QUIRE_TOKEN_KEY]\n"
	"  --doc NAME       document name, or a prefix ending in * (\"notes/*\", \"*\")\n"
	"  --scope rw|ro    read-write (default) or read-only\n"
	"  --ttl SECONDS    lifetime (3600; at most ten years)\n"
	"  --sub USER       who the token is for (shown in server logs at debug level)\n";

/* --flag VALUE or --flag=VALUE at argv[*i]; advances *i. NULL if not this flag. */
static const char *flag_value(int argc, char **argv, int *i, const char *flag, int *missing)
{
	size_t fl = strlen(flag);
	if (strncmp(argv[*i], flag, fl) != 0)
		return NULL;
	if (argv[*i][fl] == '=')
		return argv[*i] + fl + 1;
	if (argv[*i][fl] != 0)
		return NULL;
	if (*i + 1 >= argc) {
		*missing = 1;
		return NULL;
	}
	return argv[++*i];
}

int keygen_main(int argc, char **argv)
{
	const char *out = NULL;
	for (int i = 1; i < argc; i++) {
		int missing = 0;
		const char *v;
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(keygen_usage, stdout);
			return 0;
		}
		if ((v = flag_value(argc, argv, &i, "--out", &missing))) {
			out = v;
			continue;
		}
		fprintf(stderr, missing ? "quire keygen: %s needs a value\n" : "quire keygen: unknown option '%s'\n",
			argv[i]);
		fputs(keygen_usage, stderr);
		return 2;
	}
	if (!out || !*out) {
		fputs("quire keygen: --out FILE is required\n", stderr);
		fputs(keygen_usage, stderr);
		return 2;
	}
	if (auth_init()) {
		fputs("quire keygen: cannot initialise libsodium\n", stderr);
		return 1;
	}
	auth_key_t key;
	char err[512];
	if (auth_keygen(out, &key, err, sizeof err)) {
		fprintf(stderr, "quire keygen: %s\n", err);
		return 1;
	}
	fprintf(stderr, "quire keygen: secret key in %s (keep it private), public key in %s.pub\n", out, out);
	printf("%s\n", key.pid);
	return 0;
}

int token_main(int argc, char **argv)
{
	const char *key_path = getenv("QUIRE_TOKEN_KEY"), *doc = NULL, *scope = "rw", *ttl_s = NULL, *sub = NULL;
	for (int i = 1; i < argc; i++) {
		int missing = 0;
		const char *v;
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(token_usage, stdout);
			return 0;
		}
		if ((v = flag_value(argc, argv, &i, "--key", &missing)))
			key_path = v;
		else if (!missing && (v = flag_value(argc, argv, &i, "--doc", &missing)))
			doc = v;
		else if (!missing && (v = flag_value(argc, argv, &i, "--scope", &missing)))
			scope = v;
		else if (!missing && (v = flag_value(argc, argv, &i, "--ttl", &missing)))
			ttl_s = v;
		else if (!missing && (v = flag_value(argc, argv, &i, "--sub", &missing)))
			sub = v;
		else {
			fprintf(stderr,
				missing ? "quire token: %s needs a value\n" : "quire token: unknown option '%s'\n",
				argv[i]);
			fputs(token_usage, stderr);
			return 2;
		}
	}
	if (!key_path || !*key_path || !doc) {
		fprintf(stderr, "quire token: %s is required\n", !doc ? "--doc NAME" : "--key FILE");
		fputs(token_usage, stderr);
		return 2;
	}
	if (!auth_doc_pattern_valid(doc, strlen(doc))) {
		fprintf(stderr,
			"quire token: invalid value '%s' for --doc: a document name is 1-255 bytes of "
			"[A-Za-z0-9._~/-], optionally followed by * to grant a prefix\n",
			doc);
		return 2;
	}
	if (strcmp(scope, "rw") != 0 && strcmp(scope, "ro") != 0) {
		fprintf(stderr, "quire token: invalid value '%s' for --scope: rw or ro\n", scope);
		return 2;
	}
	uint64_t ttl = TOKEN_DEFAULT_TTL;
	if (ttl_s) {
		char *end;
		errno = 0;
		unsigned long long v = strtoull(ttl_s, &end, 10);
		if (!*ttl_s || *ttl_s == '-' || *ttl_s == '+' || errno || *end || v == 0 || v > TOKEN_MAX_TTL) {
			fprintf(stderr, "quire token: invalid value '%s' for --ttl: seconds, 1 to %llu\n", ttl_s,
				(unsigned long long)TOKEN_MAX_TTL);
			return 2;
		}
		ttl = v;
	}
	if (sub && (!*sub || strlen(sub) > AUTH_SUB_MAX || !auth_utf8_valid(sub, strlen(sub)))) {
		fprintf(stderr, "quire token: invalid value for --sub: 1-%d bytes of UTF-8\n", AUTH_SUB_MAX);
		return 2;
	}
	if (auth_init()) {
		fputs("quire token: cannot initialise libsodium\n", stderr);
		return 1;
	}
	uint8_t sk[AUTH_SK_BYTES];
	char err[512];
	if (auth_load_secret_key(key_path, sk, err, sizeof err)) {
		fprintf(stderr, "quire token: --key %s\n", err);
		return 1;
	}
	struct stat st;
	if (stat(key_path, &st) == 0 && (st.st_mode & 077))
		fprintf(stderr, "quire token: warning: %s is readable by others (chmod 600 it)\n", key_path);
	char *tok = auth_mint(sk, doc, scope[1] == 'o', (int64_t)time(NULL), ttl, sub);
	auth_wipe(sk, sizeof sk);
	if (!tok) {
		fputs("quire token: out of memory\n", stderr);
		return 1;
	}
	printf("%s\n", tok);
	free(tok);
	return 0;
}
