/* Differential vectors recorded from yjs 13.6.33 on Node (random edits by
 * several clients, gc on and off): each line is
 *   merge N HEX... OUT | diff 2 UPDATE SV OUT | sv 1 UPDATE OUT
 * and our result must be byte-identical. */
#include "quire/update.h"
#include "t.h"

#include <ctype.h>

static uint8_t *unhex(const char *s, size_t len, size_t *n)
{
	uint8_t *b = malloc(len / 2 + 1);
	if (!b)
		abort();
	for (size_t i = 0; i + 1 < len; i += 2) {
		unsigned v;
		char tmp[3] = {s[i], s[i + 1], 0};
		sscanf(tmp, "%2x", &v);
		b[i / 2] = (uint8_t)v;
	}
	*n = len / 2;
	return b;
}

static char *next_tok(char **p, size_t *len)
{
	char *s = *p;
	while (*s == ' ')
		s++;
	char *t = s;
	while (*s && !isspace((unsigned char)*s))
		s++;
	*len = (size_t)(s - t);
	*p = s;
	return t;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: test_yjs_vectors FILE\n");
		return 2;
	}
	FILE *f = fopen(argv[1], "r");
	if (!f) {
		perror(argv[1]);
		return 2;
	}
	size_t cap = 1 << 20;
	char *line = malloc(cap);
	int lineno = 0, nmerge = 0, ndiff = 0, nsv = 0;
	while (line && fgets(line, (int)cap, f)) {
		lineno++;
		if (line[0] == '#' || line[0] == '\n')
			continue;
		char *p = line;
		size_t len;
		char *op = next_tok(&p, &len);
		char opname[8] = {0};
		memcpy(opname, op, len < 7 ? len : 7);
		char *cnt = next_tok(&p, &len);
		int n = atoi(cnt);
		if (n < 1 || n > 16) {
			fprintf(stderr, "line %d: bad count\n", lineno);
			t_failures++;
			continue;
		}
		uint8_t *in[16];
		size_t inl[16];
		for (int i = 0; i < n; i++) {
			char *h = next_tok(&p, &len);
			in[i] = unhex(h, len, &inl[i]);
		}
		char *want = next_tok(&p, &len);
		size_t wn;
		uint8_t *w = unhex(want, len, &wn);
		uint8_t *out = NULL;
		size_t on = 0;
		int rc = -100;
		if (!strcmp(opname, "merge")) {
			rc = qc_update_merge((const uint8_t *const *)in, inl, (size_t)n, &out, &on);
			nmerge++;
		} else if (!strcmp(opname, "diff") && n == 2) {
			rc = qc_update_diff(in[0], inl[0], in[1], inl[1], &out, &on);
			ndiff++;
		} else if (!strcmp(opname, "sv") && n == 1) {
			rc = qc_update_state_vector(in[0], inl[0], &out, &on);
			nsv++;
		}
		t_checks++;
		if (rc != QC_OK || on != wn || memcmp(out, w, wn) != 0) {
			t_failures++;
			char *got = out ? t_tohex(out, on) : NULL;
			fprintf(stderr, "line %d (%s): rc=%d\n  want %s\n  got  %s\n", lineno, opname, rc, want,
				got ? got : "(none)");
			free(got);
		}
		free(out);
		free(w);
		for (int i = 0; i < n; i++)
			free(in[i]);
	}
	free(line);
	fclose(f);
	printf("yjs vectors: %d merges, %d diffs, %d state vectors\n", nmerge, ndiff, nsv);
	CHECK(nmerge + ndiff + nsv > 0);
	return t_report("test_yjs_vectors");
}
