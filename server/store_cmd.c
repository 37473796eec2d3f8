/* `quire store check|drop|get|put`: the data directory's tools.
 * Exit status: 0 ok, 1 damage found or an error, 2 usage error. */
#include "store_cmd.h"

#include "doc_cmd.h"
#include "store.h"

#include "quire/update.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char store_usage[] =
	"usage: quire store <action> [--data DIR] ...\n"
	"\n"
	"actions:\n"
	"  check [--data DIR] [--all]\n"
	"      reads every stored document: the checksum of each record and whether\n"
	"      its log merges into one update. Prints a line per damaged document\n"
	"      (--all: per document) and a summary. Read-only: safe while quire\n"
	"      serves DIR.\n"
	"  drop [--data DIR] NAME...\n"
	"      deletes documents (their record and log), e.g. a damaged one before it\n"
	"      is written again from a backup. quire must not be serving DIR.\n"
	"  get [--data DIR] NAME -o FILE\n"
	"      writes the document's whole state (one Yjs update) to FILE (- for\n"
	"      standard output), e.g. from a backup made with mdb_copy. Read-only:\n"
	"      safe while quire serves DIR.\n"
	"  put [--data DIR] NAME FILE\n"
	"      appends the Yjs update in FILE (- for standard input, at most 1 GiB)\n"
	"      to the document (created if need be). quire must not be serving DIR.\n"
	"\n"
	"  --data DIR   the data directory (./quire-data) [QUIRE_DATA]\n"
	"\n"
	"Exit status: 0 ok, 1 damage found (check), no such document (drop, get),\n"
	"a file that is not an update (put) or another error, 2 usage error.\n";

/* The name with bytes outside printable ASCII (and %) as %XX. */
static void put_name(FILE *f, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x21 || c > 0x7e || c == '%')
			fprintf(f, "%%%02X", c);
		else
			fputc(c, f);
	}
}

static void on_doc(void *ctx, const store_doc_report_t *r)
{
	int all = *(int *)ctx;
	if (!r->problem && !all)
		return;
	fputs(r->problem ? "damaged " : "ok ", stdout);
	put_name(stdout, r->name, r->name_len);
	if (r->problem)
		printf(": %s\n", r->problem);
	else
		printf(": %llu records, %llu bytes%s\n", (unsigned long long)r->records, (unsigned long long)r->bytes,
		       r->unsealed ? ", some written before checksums" : "");
}

static int check_docs(store_t *s, int all)
{
	char err[512];
	store_check_totals_t t;
	if (store_check(s, on_doc, &all, &t, err, sizeof err)) {
		fprintf(stderr, "quire store check: %s\n", err);
		return 1;
	}
	printf("%llu documents, %llu log records, %llu bytes: %llu damaged", (unsigned long long)t.docs,
	       (unsigned long long)t.records, (unsigned long long)t.bytes, (unsigned long long)t.damaged);
	if (t.unsealed)
		printf("; %llu records written before checksums (not checked)", (unsigned long long)t.unsealed);
	if (t.orphans)
		printf("; %llu log records of no document", (unsigned long long)t.orphans);
	putchar('\n');
	return t.damaged ? 1 : 0;
}

static int get_doc(store_t *s, const char *name, const char *out)
{
	char err[512];
	uint8_t *state = NULL;
	size_t slen = 0;
	int found = 0, rc = 0;
	int r = store_load(s, name, strlen(name), &state, &slen, &found, err, sizeof err);
	if (r || !found) {
		fprintf(stderr, "quire store get: %s: %s\n", name, r ? err : "no such document");
		rc = 1;
	} else if (cmd_write_file("quire store get", out, state, slen)) {
		rc = 1;
	} else if (strcmp(out, "-")) {
		printf("%s: %zu bytes\n", out, slen);
	}
	free(state);
	return rc;
}

static int put_update(store_t *s, const char *name, const uint8_t *upd, size_t ulen)
{
	char err[512];
	if (store_put(s, name, strlen(name), upd, ulen, err, sizeof err)) {
		fprintf(stderr, "quire store put: %s: %s\n", name, err);
		return 1;
	}
	printf("put %s: %zu bytes\n", name, ulen);
	return 0;
}

static int drop_docs(store_t *s, const char **names, size_t n)
{
	char err[512];
	int rc = 0;
	for (size_t i = 0; i < n; i++) {
		int found;
		uint64_t records;
		if (store_drop(s, names[i], strlen(names[i]), &found, &records, err, sizeof err)) {
			fprintf(stderr, "quire store drop: %s: %s\n", names[i], err);
			return 1;
		}
		if (!found) {
			fprintf(stderr, "quire store drop: %s: no such document\n", names[i]);
			rc = 1;
		} else if (found == 2) {
			printf("dropped %s: its damaged record only (its log records stay, as log records of no "
			       "document)\n",
			       names[i]);
		} else {
			printf("dropped %s: %llu log records\n", names[i], (unsigned long long)records);
		}
	}
	return rc;
}

int store_main(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fputs(store_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	const char *action = argv[1];
	int check = !strcmp(action, "check"), drop = !strcmp(action, "drop"), get = !strcmp(action, "get"),
	    put = !strcmp(action, "put");
	if (!check && !drop && !get && !put) {
		fprintf(stderr, "quire store: unknown action '%s'\n", action);
		fputs(store_usage, stderr);
		return 2;
	}
	const char *dir = getenv("QUIRE_DATA");
	if (!dir || !*dir)
		dir = "./quire-data";
	int all = 0;
	const char *out = NULL;
	const char **names = calloc((size_t)argc, sizeof *names);
	size_t nnames = 0;
	if (!names)
		return 1;
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(store_usage, stdout);
			free(names);
			return 0;
		}
		if (!strcmp(argv[i], "--data") && i + 1 < argc && *argv[i + 1]) {
			dir = argv[++i];
		} else if (!strncmp(argv[i], "--data=", 7) && argv[i][7]) {
			dir = argv[i] + 7;
		} else if (check && !strcmp(argv[i], "--all")) {
			all = 1;
		} else if (get && !strcmp(argv[i], "-o") && i + 1 < argc && *argv[i + 1]) {
			out = argv[++i];
		} else if ((drop || ((get || put) && nnames < (size_t)(put ? 2 : 1))) && argv[i][0] &&
			   (argv[i][0] != '-' || (put && nnames == 1 && !strcmp(argv[i], "-")))) {
			names[nnames++] = argv[i];
		} else {
			fprintf(stderr, "quire store %s: %s '%s'\n", action,
				!strncmp(argv[i], "--data", 6) ? "needs a directory:" : "unknown argument", argv[i]);
			fputs(store_usage, stderr);
			free(names);
			return 2;
		}
	}
	const char *missing = drop && !nnames		       ? "name at least one document"
			      : get && (nnames != 1 || !out) ? "needs NAME and -o FILE"
			      : put && nnames != 2	       ? "needs NAME and FILE"
							       : NULL;
	if (missing) {
		fprintf(stderr, "quire store %s: %s\n", action, missing);
		fputs(store_usage, stderr);
		free(names);
		return 2;
	}
	uint8_t *upd = NULL;
	size_t ulen = 0;
	if (put && cmd_read_file("quire store put", names[1], &upd, &ulen)) {
		free(names);
		return 1;
	}
	if (put && qc_update_validate(upd, ulen) != QC_OK) { /* before the directory is locked */
		fprintf(stderr, "quire store put: %s: not a Yjs v1 update\n", names[1]);
		free(names);
		free(upd);
		return 1;
	}
	store_opts_t o = {.read_only = check || get, .offline = drop || put};
	char err[512];
	store_t *s = store_open(dir, &o, err, sizeof err);
	if (!s) {
		fprintf(stderr, "quire store %s: %s\n", action, err);
		free(names);
		free(upd);
		return 1;
	}
	int rc = check ? check_docs(s, all) : get ? get_doc(s, names[0], out) : put ? put_update(s, names[0], upd, ulen)
						      : drop_docs(s, names, nnames);
	store_close(s, NULL);
	free(names);
	free(upd);
	return rc;
}
