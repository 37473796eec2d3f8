/* `quire doc`: merge, diff, sv, validate, text and json over Yjs v1 update files.
 * Exit status: 0 ok, 1 bad input or I/O error, 2 usage error. */
#include "doc_cmd.h"

#include "quire/doc.h"
#include "quire/update.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DOC_MAX_FILE (1024UL * 1024 * 1024) /* refuse inputs above 1 GiB */

static const char doc_usage[] =
	"usage: quire doc <action> [options]\n"
	"\n"
	"Offline tools for Yjs update files (update format v1, binary).\n"
	"\n"
	"actions:\n"
	"  merge FILE... -o OUT        merge updates like Y.mergeUpdates\n"
	"  diff FILE --sv SVFILE -o OUT\n"
	"                              what a peer with state vector SVFILE lacks (Y.diffUpdate)\n"
	"  sv FILE                     print the update's state vector as JSON\n"
	"  validate FILE               strict check; prints \"ok\" or the error\n"
	"  text FILE --root NAME       print a root Y.Text exactly (UTF-8, no added newline)\n"
	"  json FILE [--root NAME]     print the document (or one root) as JSON, as Yjs toJSON()\n"
	"\n"
	"FILE may be - for standard input; -o - writes to standard output.\n"
	"quire doc <action> --help shows an action's usage.\n"
	"Exit status: 0 ok, 1 malformed input or I/O error, 2 usage error.\n";

static const char merge_usage[] =
	"usage: quire doc merge FILE... -o OUT\n"
	"\n"
	"Merge one or more update files into one update, byte for byte as\n"
	"Y.mergeUpdates does (a single input is copied unchanged). OUT may be -.\n";

static const char diff_usage[] =
	"usage: quire doc diff FILE --sv SVFILE -o OUT\n"
	"\n"
	"Write the part of update FILE that a peer whose encoded state vector is\n"
	"in SVFILE lacks (Y.diffUpdate). The delete set is kept whole. OUT may be -.\n";

static const char sv_usage[] =
	"usage: quire doc sv FILE\n"
	"\n"
	"Print the state vector of update FILE (Y.encodeStateVectorFromUpdate) as a\n"
	"JSON object mapping client id (decimal string) to clock, clients descending,\n"
	"e.g. {\"1\":3}.\n";

static const char validate_usage[] =
	"usage: quire doc validate FILE\n"
	"\n"
	"Strictly decode update FILE. Prints \"ok\" and exits 0, or reports the error\n"
	"on stderr and exits 1.\n";

static const char text_usage[] =
	"usage: quire doc text FILE --root NAME\n"
	"\n"
	"Integrate update FILE and print the Y.Text root NAME as UTF-8, exactly:\n"
	"no newline is added. A root that does not exist prints nothing.\n";

static const char json_usage[] =
	"usage: quire doc json FILE [--root NAME]\n"
	"\n"
	"Integrate update FILE and print every root as one JSON object\n"
	"{\"name\": value, ...} (or only root NAME's value), as Yjs's toJSON() gives,\n"
	"followed by a newline. A root's type is inferred from its content.\n";

static int usage_error(const char *action, const char *usage, const char *fmt, const char *arg)
{
	fprintf(stderr, "quire doc%s%s: ", action ? " " : "", action ? action : "");
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	fputs(usage, stderr);
	return 2;
}

static int is_help(const char *a)
{
	return !strcmp(a, "--help") || !strcmp(a, "-h");
}

int cmd_read_file(const char *cmd, const char *path, uint8_t **out, size_t *out_len)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	if (!f) {
		fprintf(stderr, "%s: %s: %s\n", cmd, path, strerror(errno));
		return -1;
	}
	size_t cap = 4096, len = 0;
	uint8_t *buf = malloc(cap);
	int err = 0;
	while (buf) {
		if (len == cap) {
			if (cap >= DOC_MAX_FILE) {
				fprintf(stderr, "%s: %s: file larger than %lu bytes\n", cmd, path, DOC_MAX_FILE);
				err = 1;
				break;
			}
			uint8_t *nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = nb;
			cap *= 2;
		}
		size_t got = fread(buf + len, 1, cap - len, f);
		len += got;
		if (got == 0) {
			if (ferror(f)) {
				fprintf(stderr, "%s: %s: read error: %s\n", cmd, path, strerror(errno));
				err = 1;
			}
			break;
		}
	}
	if (f != stdin)
		fclose(f);
	if (!buf) {
		fprintf(stderr, "%s: %s: out of memory\n", cmd, path);
		return -1;
	}
	if (err) {
		free(buf);
		return -1;
	}
	*out = buf;
	*out_len = len;
	return 0;
}

static int read_file(const char *action, const char *path, uint8_t **out, size_t *out_len)
{
	char cmd[32];
	snprintf(cmd, sizeof cmd, "quire doc %s", action);
	return cmd_read_file(cmd, path, out, out_len);
}

int cmd_write_file(const char *cmd, const char *path, const uint8_t *p, size_t n)
{
	int to_stdout = !strcmp(path, "-");
	FILE *f = to_stdout ? stdout : fopen(path, "wb");
	if (!f) {
		fprintf(stderr, "%s: %s: %s\n", cmd, path, strerror(errno));
		return 1;
	}
	int bad = n && fwrite(p, 1, n, f) != n;
	if (to_stdout)
		bad |= fflush(f) != 0;
	else
		bad |= fclose(f) != 0;
	if (bad) {
		fprintf(stderr, "%s: %s: write error: %s\n", cmd, path, strerror(errno));
		return 1;
	}
	return 0;
}

static int write_file(const char *action, const char *path, const uint8_t *p, size_t n)
{
	char cmd[32];
	snprintf(cmd, sizeof cmd, "quire doc %s", action);
	return cmd_write_file(cmd, path, p, n);
}

static int bad_update(const char *action, const char *path, int rc)
{
	fprintf(stderr, "quire doc %s: %s: malformed update: %s\n", action, path, qc_strerror(rc));
	return 1;
}

/* Options shared by the actions. */
typedef struct doc_opts {
	const char **files;
	int nfiles;
	const char *out;
	const char *sv;
	const char *root;
} doc_opts;

/* Parse argv[1..]; returns -1 after --help (exit 0), 0 ok, 2 usage error. */
static int parse_opts(const char *action, const char *usage, int argc, char **argv, doc_opts *o)
{
	int only_files = 0;
	memset(o, 0, sizeof(*o));
	o->files = calloc((size_t)argc + 1, sizeof(*o->files));
	if (!o->files) {
		fprintf(stderr, "quire doc %s: out of memory\n", action);
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!only_files && is_help(a)) {
			fputs(usage, stdout);
			return -1;
		}
		if (!only_files && !strcmp(a, "--")) {
			only_files = 1;
			continue;
		}
		const char **slot = NULL;
		if (!only_files && (!strcmp(a, "-o") || !strcmp(a, "--output")))
			slot = &o->out;
		else if (!only_files && !strcmp(a, "--sv"))
			slot = &o->sv;
		else if (!only_files && !strcmp(a, "--root"))
			slot = &o->root;
		if (slot) {
			if (i + 1 >= argc)
				return usage_error(action, usage, "option %s needs a value", a);
			if (*slot)
				return usage_error(action, usage, "option %s given twice", a);
			*slot = argv[++i];
			continue;
		}
		if (!only_files && a[0] == '-' && a[1] != 0)
			return usage_error(action, usage, "unknown option '%s'", a);
		o->files[o->nfiles++] = a;
	}
	return 0;
}

static int check_stdin_once(const char *action, const char *usage, const doc_opts *o)
{
	int n = 0;
	for (int i = 0; i < o->nfiles; i++)
		n += !strcmp(o->files[i], "-");
	if (o->sv && !strcmp(o->sv, "-"))
		n++;
	if (n > 1)
		return usage_error(action, usage, "%s", "standard input (-) can be read only once");
	return 0;
}

static int cmd_merge(const doc_opts *o)
{
	if (o->nfiles < 1)
		return usage_error("merge", merge_usage, "%s", "needs at least one FILE");
	if (!o->out)
		return usage_error("merge", merge_usage, "%s", "needs -o OUT");
	if (o->sv || o->root)
		return usage_error("merge", merge_usage, "%s", "takes no --sv or --root");
	if (check_stdin_once("merge", merge_usage, o))
		return 2;
	int n = o->nfiles, status = 1;
	uint8_t **bufs = calloc((size_t)n, sizeof(*bufs));
	size_t *lens = calloc((size_t)n, sizeof(*lens));
	uint8_t *out = NULL;
	size_t out_len = 0;
	if (!bufs || !lens) {
		fprintf(stderr, "quire doc merge: out of memory\n");
		goto done;
	}
	for (int i = 0; i < n; i++) {
		if (read_file("merge", o->files[i], &bufs[i], &lens[i]))
			goto done;
		int rc = qc_update_validate(bufs[i], lens[i]);
		if (rc) {
			bad_update("merge", o->files[i], rc);
			goto done;
		}
	}
	int rc = qc_update_merge((const uint8_t *const *)bufs, lens, (size_t)n, &out, &out_len);
	if (rc) {
		fprintf(stderr, "quire doc merge: %s\n", qc_strerror(rc));
		goto done;
	}
	status = write_file("merge", o->out, out, out_len);
done:
	if (bufs)
		for (int i = 0; i < n; i++)
			free(bufs[i]);
	free(bufs);
	free(lens);
	free(out);
	return status;
}

static int cmd_diff(const doc_opts *o)
{
	if (o->nfiles != 1)
		return usage_error("diff", diff_usage, "%s", "needs exactly one FILE");
	if (!o->sv)
		return usage_error("diff", diff_usage, "%s", "needs --sv SVFILE");
	if (!o->out)
		return usage_error("diff", diff_usage, "%s", "needs -o OUT");
	if (o->root)
		return usage_error("diff", diff_usage, "%s", "takes no --root");
	if (check_stdin_once("diff", diff_usage, o))
		return 2;
	uint8_t *u = NULL, *sv = NULL, *out = NULL;
	size_t un = 0, svn = 0, on = 0;
	int status = 1, rc;
	if (read_file("diff", o->files[0], &u, &un) || read_file("diff", o->sv, &sv, &svn))
		goto done;
	if ((rc = qc_update_validate(u, un))) {
		bad_update("diff", o->files[0], rc);
		goto done;
	}
	qc_sv dec;
	if ((rc = qc_sv_decode(sv, svn, &dec))) {
		fprintf(stderr, "quire doc diff: %s: malformed state vector: %s\n", o->sv, qc_strerror(rc));
		goto done;
	}
	qc_sv_free(&dec);
	if ((rc = qc_update_diff(u, un, sv, svn, &out, &on))) {
		fprintf(stderr, "quire doc diff: %s\n", qc_strerror(rc));
		goto done;
	}
	status = write_file("diff", o->out, out, on);
done:
	free(u);
	free(sv);
	free(out);
	return status;
}

static int cmd_sv(const doc_opts *o)
{
	if (o->nfiles != 1)
		return usage_error("sv", sv_usage, "%s", "needs exactly one FILE");
	if (o->out || o->sv || o->root)
		return usage_error("sv", sv_usage, "%s", "takes no -o, --sv or --root");
	uint8_t *u = NULL, *enc = NULL;
	size_t un = 0, en = 0;
	qc_sv sv = {NULL, 0};
	int status = 1, rc;
	if (read_file("sv", o->files[0], &u, &un))
		goto done;
	if ((rc = qc_update_state_vector(u, un, &enc, &en))) {
		bad_update("sv", o->files[0], rc);
		goto done;
	}
	if ((rc = qc_sv_decode(enc, en, &sv))) {
		fprintf(stderr, "quire doc sv: %s\n", qc_strerror(rc));
		goto done;
	}
	putchar('{');
	for (size_t i = 0; i < sv.n; i++)
		printf("%s\"%" PRIu64 "\":%" PRIu64, i ? "," : "", sv.entries[i].client, sv.entries[i].clock);
	putchar('}');
	putchar('\n');
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "quire doc sv: write error: %s\n", strerror(errno));
		goto done;
	}
	status = 0;
done:
	qc_sv_free(&sv);
	free(u);
	free(enc);
	return status;
}

static int cmd_validate(const doc_opts *o)
{
	if (o->nfiles != 1)
		return usage_error("validate", validate_usage, "%s", "needs exactly one FILE");
	if (o->out || o->sv || o->root)
		return usage_error("validate", validate_usage, "%s", "takes no -o, --sv or --root");
	uint8_t *u = NULL;
	size_t un = 0;
	if (read_file("validate", o->files[0], &u, &un))
		return 1;
	int rc = qc_update_validate(u, un);
	free(u);
	if (rc)
		return bad_update("validate", o->files[0], rc);
	puts("ok");
	return fflush(stdout) == 0 ? 0 : 1;
}

/* Reads and integrates one update file into a fresh document. */
static qc_doc *load_doc(const char *action, const char *path)
{
	uint8_t *u = NULL;
	size_t un = 0;
	if (read_file(action, path, &u, &un))
		return NULL;
	qc_doc *doc = qc_doc_new(NULL);
	int rc = doc ? qc_doc_load(doc, u, un) : QC_ERR_NOMEM;
	free(u);
	if (rc) {
		qc_doc_free(doc);
		bad_update(action, path, rc);
		return NULL;
	}
	return doc;
}

static int print_and_free(qc_doc *doc, const char *action, int rc, char *out, size_t len, int newline)
{
	if (rc) {
		fprintf(stderr, "quire doc %s: %s\n", action, qc_strerror(rc));
		qc_doc_free(doc);
		return 1;
	}
	int ok = fwrite(out, 1, len, stdout) == len && (!newline || putchar('\n') != EOF);
	qc_free(doc, out);
	qc_doc_free(doc);
	return ok && fflush(stdout) == 0 ? 0 : 1;
}

static int cmd_text(const doc_opts *o)
{
	if (o->nfiles != 1)
		return usage_error("text", text_usage, "%s", "needs exactly one FILE");
	if (!o->root)
		return usage_error("text", text_usage, "%s", "needs --root NAME");
	if (o->out || o->sv)
		return usage_error("text", text_usage, "%s", "takes no -o or --sv");
	qc_doc *doc = load_doc("text", o->files[0]);
	if (!doc)
		return 1;
	char *out = NULL;
	size_t len = 0;
	int rc = qc_doc_text(doc, o->root, &out, &len);
	return print_and_free(doc, "text", rc, out, len, 0);
}

static int cmd_json(const doc_opts *o)
{
	if (o->nfiles != 1)
		return usage_error("json", json_usage, "%s", "needs exactly one FILE");
	if (o->out || o->sv)
		return usage_error("json", json_usage, "%s", "takes no -o or --sv");
	qc_doc *doc = load_doc("json", o->files[0]);
	if (!doc)
		return 1;
	char *out = NULL;
	size_t len = 0;
	int rc = o->root ? qc_doc_root_json(doc, o->root, &out, &len) : qc_doc_json(doc, &out, &len);
	return print_and_free(doc, "json", rc, out, len, 1);
}

int doc_main(int argc, char **argv)
{
	if (argc < 2) {
		fputs(doc_usage, stderr);
		return 2;
	}
	const char *action = argv[1];
	if (is_help(action) || !strcmp(action, "help")) {
		fputs(doc_usage, stdout);
		return 0;
	}
	static const struct {
		const char *name;
		const char *usage;
		int (*fn)(const doc_opts *);
	} actions[] = {
		{"merge", merge_usage, cmd_merge},
		{"diff", diff_usage, cmd_diff},
		{"sv", sv_usage, cmd_sv},
		{"validate", validate_usage, cmd_validate},
		{"text", text_usage, cmd_text},
		{"json", json_usage, cmd_json},
	};
	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++) {
		if (strcmp(action, actions[i].name))
			continue;
		doc_opts o;
		int rc = parse_opts(action, actions[i].usage, argc - 1, argv + 1, &o);
		if (rc == 0)
			rc = actions[i].fn(&o);
		else if (rc < 0)
			rc = 0;
		free(o.files);
		return rc;
	}
	return usage_error(NULL, doc_usage, "unknown action '%s'", action);
}
