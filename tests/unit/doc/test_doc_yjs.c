/* Differential replay against recorded Yjs sessions (tests/unit/doc/data,
 * produced by tests/unit/doc/yjs/gen_*.mjs with yjs 13.6.33):
 *
 *  - "# remote ...": updates as a receive-only replica got them (random
 *    order, gaps, duplicates); at the end the replica's encodeStateAsUpdate,
 *    encodeStateVector and toJSON of "t", "a", "m" must match byte for byte;
 *  - "# local": the edits of one replica, each followed by the update event
 *    Yjs emitted for it (must match qc_doc_last_update byte for byte), the
 *    remote updates it received in between, and the final state and JSON.
 */
#define _POSIX_C_SOURCE 200809L
#include "../t.h"
#include "quire/doc.h"

#include <dirent.h>

static uint8_t *unhex(const char *s, size_t *n)
{
	size_t l = strlen(s);
	while (l && (s[l - 1] == '\n' || s[l - 1] == '\r' || s[l - 1] == ' '))
		l--;
	uint8_t *b = malloc(l / 2 + 1);
	for (size_t i = 0; i < l / 2; i++) {
		unsigned v;
		sscanf(s + 2 * i, "%2x", &v);
		b[i] = (uint8_t)v;
	}
	*n = l / 2;
	return b;
}

/* a JSON string literal -> UTF-8 (the generator only escapes " \ and \uXXXX) */
static char *jstr(const char **pp, size_t *len)
{
	const char *p = *pp + 1;
	char *o = malloc(strlen(p) + 1);
	size_t n = 0;
	while (*p && *p != '"') {
		if (*p != '\\') {
			o[n++] = *p++;
			continue;
		}
		p++;
		if (*p != 'u') {
			o[n++] = *p++;
			continue;
		}
		unsigned cp, lo;
		sscanf(p + 1, "%4x", &cp);
		p += 5;
		if (cp >= 0xd800 && cp < 0xdc00) {
			sscanf(p + 2, "%4x", &lo);
			p += 6;
			cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
		}
		if (cp < 0x80) {
			o[n++] = (char)cp;
		} else if (cp < 0x800) {
			o[n++] = (char)(0xc0 | (cp >> 6));
			o[n++] = (char)(0x80 | (cp & 63));
		} else if (cp < 0x10000) {
			o[n++] = (char)(0xe0 | (cp >> 12));
			o[n++] = (char)(0x80 | ((cp >> 6) & 63));
			o[n++] = (char)(0x80 | (cp & 63));
		} else {
			o[n++] = (char)(0xf0 | (cp >> 18));
			o[n++] = (char)(0x80 | ((cp >> 12) & 63));
			o[n++] = (char)(0x80 | ((cp >> 6) & 63));
			o[n++] = (char)(0x80 | (cp & 63));
		}
	}
	*pp = *p ? p + 1 : p;
	o[n] = 0;
	*len = n;
	return o;
}

static int same(const uint8_t *a, size_t an, const uint8_t *b, size_t bn) { return an == bn && (an == 0 || memcmp(a, b, an) == 0); }

static void run_file(const char *path)
{
	FILE *f = fopen(path, "r");
	CHECK(f != NULL);
	if (!f)
		return;
	t_current = path;
	static char line[1 << 20];
	int local = 0, gc = 1, decl = 0, values = 0;
	if (fgets(line, sizeof line, f)) {
		local = strncmp(line, "# local", 7) == 0;
		values = strncmp(line, "# values", 8) == 0;
		if (!local && !values) {
			gc = strstr(line, "gc=0") == NULL;
			decl = strstr(line, "decl=1") != NULL;
		}
	}
	qc_doc_opts o;
	qc_doc_opts_default(&o);
	o.client_id = local ? 5 : 999999;
	o.gc = gc;
	o.max_pending_bytes = 64u << 20;
	qc_doc *d = qc_doc_new(&o);
	if (local || decl || values) {
		CHECK_EQ_INT(qc_doc_declare_root(d, "t", QC_ROOT_TEXT), 0);
		CHECK_EQ_INT(qc_doc_declare_root(d, "a", QC_ROOT_ARRAY), 0);
		CHECK_EQ_INT(qc_doc_declare_root(d, "m", QC_ROOT_MAP), 0);
	}
	if (values) {
		CHECK_EQ_INT(qc_doc_declare_root(d, "x", QC_ROOT_XML_FRAGMENT), 0);
		CHECK_EQ_INT(qc_doc_declare_root(d, "b", QC_ROOT_MAP), 0);
	}
	int ln = 1;
	while (fgets(line, sizeof line, f)) {
		ln++;
		line[strcspn(line, "\n")] = 0;
		size_t n;
		int rc = 0;
		char k = line[1];
		if (line[0] == 'U') {
			uint8_t *u = unhex(line + 2, &n);
			rc = qc_doc_apply_update(d, u, n);
			free(u);
			CHECK_EQ_INT(rc, 0);
		} else if (line[0] == 'O') {
			const char *p = line + 3;
			char *endp;
			unsigned long long i = strtoull(p, &endp, 10);
			p = endp + (*endp == ' ');
			if (k == 'T') {
				size_t sl;
				char *s = jstr(&p, &sl);
				p += *p == ' ';
				rc = qc_text_insert(d, "t", i, s, sl, strcmp(p, "null") == 0 ? NULL : p);
				free(s);
			} else if (k == 'D') {
				rc = qc_text_delete(d, "t", i, strtoull(p, NULL, 10));
			} else if (k == 'F') {
				unsigned long long l = strtoull(p, &endp, 10);
				rc = qc_text_format(d, "t", i, l, endp + 1);
			} else if (k == 'A') {
				rc = qc_array_insert(d, "a", i, p);
			} else if (k == 'X') {
				rc = qc_array_delete(d, "a", i, 1);
			} else if (k == 'E') {
				rc = qc_text_insert_embed(d, "t", i, p);
			} else if (k == 'M' || k == 'R') {
				const char *key = line + 3;
				char kb[64];
				size_t kl = strcspn(key, " ");
				memcpy(kb, key, kl);
				kb[kl] = 0;
				rc = k == 'M' ? qc_map_set(d, "m", kb, key + kl + 1) : qc_map_delete(d, "m", kb);
			}
			CHECK_EQ_INT(rc, 0);
		} else if (line[0] == 'E') {
			uint8_t *e = unhex(line + 2, &n);
			size_t on;
			const uint8_t *u = qc_doc_last_update(d, &on);
			t_checks++;
			if (!same(u, on, e, n)) {
				t_failures++;
				fprintf(stderr, "%s:%d: update event differs from yjs\n", path, ln);
				free(e);
				break;
			}
			free(e);
		} else if (line[0] == 'S' || line[0] == 'V') {
			uint8_t *e = unhex(line + 2, &n), *o2;
			if (values && line[0] == 'S') /* the peer's state: load it, then compare */
				CHECK_EQ_INT(qc_doc_apply_update(d, e, n), 0);
			size_t on;
			rc = line[0] == 'S' ? qc_doc_encode_state(d, NULL, 0, &o2, &on) : qc_doc_state_vector(d, &o2, &on);
			CHECK_EQ_INT(rc, 0);
			t_checks++;
			if (rc == 0 && !same(o2, on, e, n)) {
				t_failures++;
				fprintf(stderr, "%s:%d: %s differs from yjs\n", path, ln, line[0] == 'S' ? "state" : "state vector");
			}
			if (rc == 0)
				qc_free(d, o2);
			free(e);
		} else if (line[0] == 'J') {
			char root[2] = {line[2], 0};
			const char *want = line + 4;
			char *js;
			size_t jn;
			rc = qc_doc_root_json(d, root, &js, &jn);
			CHECK_EQ_INT(rc, 0);
			if (rc)
				continue;
			int ok = strcmp(js, want) == 0;
			/* a root yjs created empty and we never saw */
			if (!ok && strcmp(js, "null") == 0 &&
			    (!strcmp(want, "\"\"") || !strcmp(want, "[]") || !strcmp(want, "{}")))
				ok = 1;
			t_checks++;
			if (!ok) {
				t_failures++;
				fprintf(stderr, "%s:%d: json of %s: yjs %s, ours %s\n", path, ln, root, want, js);
			}
			qc_free(d, js);
		}
	}
	fclose(f);
	qc_doc_free(d);
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "data";
	DIR *dp = opendir(dir);
	if (!dp) {
		fprintf(stderr, "cannot open %s\n", dir);
		return 1;
	}
	struct dirent *e;
	int files = 0;
	while ((e = readdir(dp))) {
		size_t l = strlen(e->d_name);
		if (l < 5 || strcmp(e->d_name + l - 4, ".txt"))
			continue;
		char path[4096];
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		run_file(path);
		files++;
	}
	closedir(dp);
	CHECK(files > 0);
	printf("test_doc_yjs: %d files, %d checks, %d failures\n", files, t_checks, t_failures);
	return t_failures ? 1 : 0;
}
