/* `quire store check` and `quire store drop`: the data directory's tools.
 * Exit status: 0 ok, 1 damage found or an error, 2 usage error. */
#include "store_cmd.h"

#include "store.h"

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
	"\n"
	"  --data DIR   the data directory (./quire-data) [QUIRE_DATA]\n"
	"\n"
	"Exit status: 0 ok, 1 damage found (check), no such document (drop) or an\n"
	"error, 2 usage error.\n";

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

int store_main(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fputs(store_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	const char *action = argv[1];
	int check = !strcmp(action, "check"), drop = !strcmp(action, "drop");
	if (!check && !drop) {
		fprintf(stderr, "quire store: unknown action '%s'\n", action);
		fputs(store_usage, stderr);
		return 2;
	}
	const char *dir = getenv("QUIRE_DATA");
	if (!dir || !*dir)
		dir = "./quire-data";
	int all = 0;
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
		} else if (drop && argv[i][0] != '-' && argv[i][0]) {
			names[nnames++] = argv[i];
		} else {
			fprintf(stderr, "quire store %s: %s '%s'\n", action,
				!strncmp(argv[i], "--data", 6) ? "needs a directory:" : "unknown argument", argv[i]);
			fputs(store_usage, stderr);
			free(names);
			return 2;
		}
	}
	if (drop && !nnames) {
		fputs("quire store drop: name at least one document\n", stderr);
		fputs(store_usage, stderr);
		free(names);
		return 2;
	}
	store_opts_t o = {.read_only = check, .offline = drop};
	char err[512];
	store_t *s = store_open(dir, &o, err, sizeof err);
	if (!s) {
		fprintf(stderr, "quire store %s: %s\n", action, err);
		free(names);
		return 1;
	}
	int rc = 0;
	if (check) {
		store_check_totals_t t;
		if (store_check(s, on_doc, &all, &t, err, sizeof err)) {
			fprintf(stderr, "quire store check: %s\n", err);
			rc = 1;
		} else {
			printf("%llu documents, %llu log records, %llu bytes: %llu damaged", (unsigned long long)t.docs,
			       (unsigned long long)t.records, (unsigned long long)t.bytes, (unsigned long long)t.damaged);
			if (t.unsealed)
				printf("; %llu records written before checksums (not checked)", (unsigned long long)t.unsealed);
			if (t.orphans)
				printf("; %llu log records of no document", (unsigned long long)t.orphans);
			putchar('\n');
			rc = t.damaged ? 1 : 0;
		}
	} else {
		for (size_t i = 0; i < nnames; i++) {
			int found;
			uint64_t records;
			if (store_drop(s, names[i], strlen(names[i]), &found, &records, err, sizeof err)) {
				fprintf(stderr, "quire store drop: %s: %s\n", names[i], err);
				rc = 1;
				break;
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
	}
	store_close(s, NULL);
	free(names);
	return rc;
}
