/* qdoc: drive quire's crdt documents over a line protocol on stdin/stdout, so
 * one Node process (tests/diff/diff.mjs) can run thousands of differential
 * cases against yjs through a single C process.
 *
 * One command per line, words separated by single spaces. Byte strings
 * (updates, state vectors, root names, keys, text, JSON) travel as lowercase
 * hex so no value can break the framing; "-" is an empty or absent string.
 * Every command answers exactly one line: "ok[ <payload>]" or
 * "err <code> <name>". Output is flushed whenever the input runs dry, so a
 * client may pipeline any number of commands.
 *
 *   new <id> <client> [gc]      create doc <id> (gc 1 default, 0 = keep deleted content)
 *   free <id>
 *   apply <id> <upd>            qc_doc_apply_update
 *   last <id>                   qc_doc_last_update (hex, "-" when none)
 *   pending <id>                qc_doc_pending_bytes (decimal)
 *   sv <id>                     qc_doc_state_vector
 *   state <id> [sv]             qc_doc_encode_state (all, or the diff against sv)
 *   json <id>                   qc_doc_json (hex of the UTF-8 JSON)
 *   declare <id> <root> <kind>  qc_doc_declare_root (kind: 0 array, 1 map, 2 text,
 *                               4 xml fragment), where yjs calls getText etc.
 *   rootjson <id> <root>        qc_doc_root_json
 *   roots <id>                  root names: hex words separated by ','
 *   text <id> <root>            qc_doc_text
 *   len <id> <root>             qc_doc_length (decimal)
 *   client <id>                 qc_doc_client_id (decimal)
 *   setclient <id> <client>
 *   tins <id> <root> <index> <utf8> [attrs-json]    local edits; each answers
 *   tembed <id> <root> <index> <json>               "ok <last update hex>"
 *   tdel <id> <root> <index> <len>
 *   tfmt <id> <root> <index> <len> <attrs-json>
 *   ains <id> <root> <index> <json-array>
 *   adel <id> <root> <index> <len>
 *   mset <id> <root> <key> <json>
 *   mdel <id> <root> <key>
 *   merge <upd> [<upd> ...]     qc_update_merge
 *   diff <upd> <sv>             qc_update_diff
 *   svu <upd>                   qc_update_state_vector
 *   echo <anything>             answers "ok <anything>" (framing check)
 *   quit
 *
 * Every byte this process allocates through a document goes through a
 * counting allocator; "mem <id>" answers "ok <live> <peak>" in bytes.
 */
#define _POSIX_C_SOURCE 200809L
#include "quire/counted.h"
#include "quire/doc.h"
#include "quire/update.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_WORDS 64

typedef struct slot {
	qc_doc *doc;
	qc_counted mem;
	qc_alloc alloc;
} slot;

static slot *slots;
static size_t nslots;

/* --- output ------------------------------------------------------------------- */

static void put_hex(const void *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	const uint8_t *b = p;
	if (n == 0) {
		fputc('-', stdout);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		fputc(digits[b[i] >> 4], stdout);
		fputc(digits[b[i] & 15], stdout);
	}
}

static void ok_hex(const void *p, size_t n)
{
	fputs("ok ", stdout);
	put_hex(p, n);
	fputc('\n', stdout);
}

static void err(int code, const char *what)
{
	if (code < 0)
		printf("err %d %s\n", code, qc_strerror(code));
	else
		printf("err 0 %s\n", what);
}

/* --- input -------------------------------------------------------------------- */

static char *inbuf;
static size_t inlen, incap, inpos;

/* Next line (NUL-terminated, without '\n'), or NULL at EOF. Flushes stdout
 * before blocking so pipelined clients see their answers. */
static char *next_line(void)
{
	for (;;) {
		char *nl = inlen > inpos ? memchr(inbuf + inpos, '\n', inlen - inpos) : NULL;
		if (nl) {
			char *line = inbuf + inpos;
			*nl = 0;
			inpos = (size_t)(nl - inbuf) + 1;
			return line;
		}
		if (inpos > 0) {
			memmove(inbuf, inbuf + inpos, inlen - inpos);
			inlen -= inpos;
			inpos = 0;
		}
		if (inlen == incap) {
			incap = incap ? incap * 2 : 1 << 16;
			inbuf = realloc(inbuf, incap + 1);
			if (!inbuf) {
				fprintf(stderr, "qdoc: out of memory\n");
				exit(2);
			}
		}
		fflush(stdout);
		ssize_t r = read(0, inbuf + inlen, incap - inlen);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (inlen == 0)
				return NULL;
			inbuf[inlen] = 0; /* last line without newline */
			inpos = inlen;
			return inbuf;
		}
		inlen += (size_t)r;
	}
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes hex in place (the word becomes its bytes, NUL-terminated); "-" is
 * empty. Returns 0 on bad hex. */
static int unhex(char *w, size_t *n)
{
	if (strcmp(w, "-") == 0) {
		w[0] = 0;
		*n = 0;
		return 1;
	}
	size_t l = strlen(w);
	if (l % 2)
		return 0;
	for (size_t i = 0; i < l / 2; i++) {
		int h = hexval(w[2 * i]), lo = hexval(w[2 * i + 1]);
		if (h < 0 || lo < 0)
			return 0;
		w[i] = (char)(h << 4 | lo);
	}
	w[l / 2] = 0;
	*n = l / 2;
	return 1;
}

static int parse_u64(const char *w, uint64_t *v)
{
	char *end;
	errno = 0;
	unsigned long long x = strtoull(w, &end, 10);
	if (errno || end == w || *end)
		return 0;
	*v = x;
	return 1;
}

static qc_doc *get_doc(const char *w)
{
	uint64_t id;
	if (!parse_u64(w, &id) || id >= nslots || !slots[id].doc)
		return NULL;
	return slots[id].doc;
}

/* After a local edit: answer with the update it produced. */
static void answer_edit(qc_doc *doc, int rc)
{
	if (rc < 0) {
		err(rc, "");
		return;
	}
	size_t n = 0;
	const uint8_t *u = qc_doc_last_update(doc, &n);
	ok_hex(u, u ? n : 0);
}

static void answer_owned(qc_doc *doc, int rc, uint8_t *p, size_t n)
{
	if (rc < 0)
		err(rc, "");
	else
		ok_hex(p, n);
	if (p) {
		if (doc)
			qc_free(doc, p);
		else
			free(p);
	}
}

static int cmd_new(char **w, int nw)
{
	uint64_t id, client, gc = 1;
	if (nw < 3 || !parse_u64(w[1], &id) || !parse_u64(w[2], &client) || id > 1000000 ||
	    (nw > 3 && !parse_u64(w[3], &gc)))
		return 0;
	if (id >= nslots) {
		size_t n = nslots ? nslots : 16;
		while (n <= id)
			n *= 2;
		slot *s = realloc(slots, n * sizeof *s);
		if (!s)
			return 0;
		memset(s + nslots, 0, (n - nslots) * sizeof *s);
		slots = s;
		nslots = n;
	}
	slot *s = &slots[id];
	if (s->doc)
		qc_doc_free(s->doc);
	memset(s, 0, sizeof *s);
	s->alloc.malloc = qc_counted_malloc;
	s->alloc.realloc = qc_counted_realloc;
	s->alloc.free = qc_counted_free;
	s->alloc.ud = &s->mem;
	qc_doc_opts o;
	qc_doc_opts_default(&o);
	o.client_id = client;
	o.gc = (int)gc;
	o.max_pending_bytes = (size_t)64 << 20;
	o.alloc = &s->alloc;
	s->doc = qc_doc_new(&o);
	if (!s->doc) {
		err(QC_ERR_NOMEM, "");
		return 1;
	}
	puts("ok");
	return 1;
}

/* Returns 0 on a malformed command (answered "err 0 usage"). */
static int dispatch(char **w, int nw)
{
	const char *c = w[0];
	size_t n1 = 0, n2 = 0, n3 = 0;
	uint64_t a, b;
	qc_doc *doc = NULL;

	if (strcmp(c, "new") == 0)
		return cmd_new(w, nw);
	if (strcmp(c, "echo") == 0) {
		printf("ok %s\n", nw > 1 ? w[1] : "");
		return 1;
	}
	if (strcmp(c, "merge") == 0) {
		if (nw < 2)
			return 0;
		const uint8_t *ups[MAX_WORDS];
		size_t lens[MAX_WORDS];
		for (int i = 1; i < nw; i++) {
			if (!unhex(w[i], &lens[i - 1]))
				return 0;
			ups[i - 1] = (const uint8_t *)w[i];
		}
		uint8_t *out = NULL;
		size_t on = 0;
		int rc = qc_update_merge(ups, lens, (size_t)(nw - 1), &out, &on);
		answer_owned(NULL, rc, out, on);
		return 1;
	}
	if (strcmp(c, "diff") == 0 || strcmp(c, "svu") == 0) {
		if (nw < 2 || !unhex(w[1], &n1))
			return 0;
		uint8_t *out = NULL;
		size_t on = 0;
		int rc;
		if (c[0] == 'd') {
			if (nw < 3 || !unhex(w[2], &n2))
				return 0;
			rc = qc_update_diff((uint8_t *)w[1], n1, (uint8_t *)w[2], n2, &out, &on);
		} else {
			rc = qc_update_state_vector((uint8_t *)w[1], n1, &out, &on);
		}
		answer_owned(NULL, rc, out, on);
		return 1;
	}

	/* everything below takes a doc id */
	if (nw < 2)
		return 0;
	if (strcmp(c, "free") == 0) {
		if (!parse_u64(w[1], &a) || a >= nslots || !slots[a].doc)
			return 0;
		qc_doc_free(slots[a].doc);
		slots[a].doc = NULL;
		if (slots[a].mem.live)
			printf("err 0 leak-%zu-bytes\n", slots[a].mem.live);
		else
			puts("ok");
		return 1;
	}
	doc = get_doc(w[1]);
	if (!doc) {
		puts("err 0 no-such-doc");
		return 1;
	}
	if (strcmp(c, "mem") == 0) {
		slot *s = &slots[strtoull(w[1], NULL, 10)];
		printf("ok %zu %zu\n", s->mem.live, s->mem.peak);
		return 1;
	}
	if (strcmp(c, "apply") == 0) {
		if (nw < 3 || !unhex(w[2], &n1))
			return 0;
		int rc = qc_doc_apply_update(doc, (uint8_t *)w[2], n1);
		if (rc < 0)
			err(rc, "");
		else
			puts("ok");
		return 1;
	}
	if (strcmp(c, "last") == 0) {
		const uint8_t *u = qc_doc_last_update(doc, &n1);
		ok_hex(u, u ? n1 : 0);
		return 1;
	}
	if (strcmp(c, "pending") == 0) {
		printf("ok %zu\n", qc_doc_pending_bytes(doc));
		return 1;
	}
	if (strcmp(c, "client") == 0) {
		printf("ok %" PRIu64 "\n", qc_doc_client_id(doc));
		return 1;
	}
	if (strcmp(c, "setclient") == 0) {
		if (nw < 3 || !parse_u64(w[2], &a))
			return 0;
		qc_doc_set_client_id(doc, a);
		puts("ok");
		return 1;
	}
	if (strcmp(c, "sv") == 0) {
		uint8_t *out = NULL;
		size_t on = 0;
		int rc = qc_doc_state_vector(doc, &out, &on);
		answer_owned(doc, rc, out, on);
		return 1;
	}
	if (strcmp(c, "state") == 0) {
		uint8_t *out = NULL;
		size_t on = 0;
		int rc;
		if (nw > 2) {
			if (!unhex(w[2], &n1))
				return 0;
			rc = qc_doc_encode_state(doc, (uint8_t *)w[2], n1, &out, &on);
		} else {
			rc = qc_doc_encode_state(doc, NULL, 0, &out, &on);
		}
		answer_owned(doc, rc, out, on);
		return 1;
	}
	if (strcmp(c, "json") == 0) {
		char *out = NULL;
		size_t on = 0;
		int rc = qc_doc_json(doc, &out, &on);
		answer_owned(doc, rc, (uint8_t *)out, on);
		return 1;
	}
	if (strcmp(c, "roots") == 0) {
		const char *const *names = NULL;
		size_t n = 0;
		int rc = qc_doc_roots(doc, &names, &n);
		if (rc < 0) {
			err(rc, "");
			return 1;
		}
		fputs("ok ", stdout);
		if (n == 0)
			fputc('-', stdout);
		for (size_t i = 0; i < n; i++) {
			if (i)
				fputc(',', stdout);
			size_t l = strlen(names[i]);
			if (l == 0)
				fputs("00", stdout); /* distinguishes "" from no roots; never hex of a real name */
			else
				put_hex(names[i], l);
		}
		fputc('\n', stdout);
		return 1;
	}

	/* commands with a root name */
	if (nw < 3 || !unhex(w[2], &n1))
		return 0;
	const char *root = w[2];
	if (strcmp(c, "declare") == 0) {
		if (nw < 4 || !parse_u64(w[3], &a) || a > 4)
			return 0;
		int rc = qc_doc_declare_root(doc, root, (int)a);
		if (rc < 0)
			err(rc, "");
		else
			puts("ok");
		return 1;
	}
	if (strcmp(c, "rootjson") == 0) {
		char *out = NULL;
		size_t on = 0;
		int rc = qc_doc_root_json(doc, root, &out, &on);
		answer_owned(doc, rc, (uint8_t *)out, on);
		return 1;
	}
	if (strcmp(c, "text") == 0) {
		char *out = NULL;
		size_t on = 0;
		int rc = qc_doc_text(doc, root, &out, &on);
		answer_owned(doc, rc, (uint8_t *)out, on);
		return 1;
	}
	if (strcmp(c, "len") == 0) {
		printf("ok %" PRIu64 "\n", qc_doc_length(doc, root));
		return 1;
	}
	if (strcmp(c, "mset") == 0) {
		if (nw < 5 || !unhex(w[3], &n2) || !unhex(w[4], &n3))
			return 0;
		answer_edit(doc, qc_map_set(doc, root, w[3], w[4]));
		return 1;
	}
	if (strcmp(c, "mdel") == 0) {
		if (nw < 4 || !unhex(w[3], &n2))
			return 0;
		answer_edit(doc, qc_map_delete(doc, root, w[3]));
		return 1;
	}

	/* commands with an index */
	if (nw < 4 || !parse_u64(w[3], &a))
		return 0;
	if (strcmp(c, "tins") == 0) {
		if (nw < 5 || !unhex(w[4], &n2))
			return 0;
		const char *attrs = NULL;
		if (nw > 5) {
			if (!unhex(w[5], &n3))
				return 0;
			attrs = n3 ? w[5] : NULL;
		}
		answer_edit(doc, qc_text_insert(doc, root, a, w[4], n2, attrs));
		return 1;
	}
	if (strcmp(c, "tembed") == 0) {
		if (nw < 5 || !unhex(w[4], &n2))
			return 0;
		answer_edit(doc, qc_text_insert_embed(doc, root, a, w[4]));
		return 1;
	}
	if (strcmp(c, "ains") == 0) {
		if (nw < 5 || !unhex(w[4], &n2))
			return 0;
		answer_edit(doc, qc_array_insert(doc, root, a, w[4]));
		return 1;
	}
	if (nw < 5 || !parse_u64(w[4], &b))
		return 0;
	if (strcmp(c, "tdel") == 0) {
		answer_edit(doc, qc_text_delete(doc, root, a, b));
		return 1;
	}
	if (strcmp(c, "adel") == 0) {
		answer_edit(doc, qc_array_delete(doc, root, a, b));
		return 1;
	}
	if (strcmp(c, "tfmt") == 0) {
		if (nw < 6 || !unhex(w[5], &n2))
			return 0;
		answer_edit(doc, qc_text_format(doc, root, a, b, w[5]));
		return 1;
	}
	return 0;
}

int main(void)
{
	char *line;
	char *w[MAX_WORDS + 1];
	while ((line = next_line()) != NULL) {
		int nw = 0;
		for (char *p = strtok(line, " \r"); p && nw <= MAX_WORDS; p = strtok(NULL, " \r"))
			w[nw++] = p;
		if (nw == 0) {
			puts("err 0 empty");
			continue;
		}
		if (nw > MAX_WORDS) {
			puts("err 0 too-many-words");
			continue;
		}
		if (strcmp(w[0], "quit") == 0) {
			puts("ok");
			break;
		}
		if (!dispatch(w, nw))
			puts("err 0 usage");
	}
	for (size_t i = 0; i < nslots; i++)
		if (slots[i].doc)
			qc_doc_free(slots[i].doc);
	free(slots);
	free(inbuf);
	fflush(stdout);
	return 0;
}
