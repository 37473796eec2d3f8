/* Token revocation rules. See revoke.h. */
#include "revoke.h"

#include "auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct rule {
	const char *id; /* into the list's text copy, not NUL-terminated */
	size_t len;
	int64_t before_ms; /* sub rules: tokens issued before this are revoked */
} rule_t;

struct revoke_list {
	char *text;
	rule_t *jti, *sub; /* each sorted by id */
	size_t njti, nsub, capjti, capsub;
};

static int cmp_rule(const void *a, const void *b)
{
	const rule_t *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->id, y->id, n);
	return c ? c : (x->len > y->len) - (x->len < y->len);
}

static int is_space(char c) { return c == ' ' || c == '\t'; }

/* Appends a rule, growing the array. */
static int push(rule_t **v, size_t *n, size_t *cap, rule_t r)
{
	if (*n == *cap) {
		size_t c = *cap ? 2 * *cap : 8;
		rule_t *g = realloc(*v, c * sizeof *g);
		if (!g)
			return -1;
		*v = g;
		*cap = c;
	}
	(*v)[(*n)++] = r;
	return 0;
}

revoke_list_t *revoke_parse(const char *text, size_t n, char *err, size_t errlen)
{
	revoke_list_t *l = calloc(1, sizeof *l);
	if (!l || !(l->text = malloc(n ? n : 1))) {
		free(l);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	memcpy(l->text, text, n);
	const char *p = l->text, *end = l->text + n;
	for (size_t line = 1; p < end; line++) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *e = eol ? eol : end, *next = eol ? eol + 1 : end;
		while (e > p && (e[-1] == '\r' || is_space(e[-1])))
			e--;
		while (p < e && is_space(*p))
			p++;
		const char *why = NULL;
		if (p == e || *p == '#') {
			p = next;
			continue;
		}
		if (!auth_utf8_valid(p, (size_t)(e - p))) {
			why = "not UTF-8 (or holds a NUL)";
		} else if ((size_t)(e - p) > 4 && !memcmp(p, "jti", 3) && is_space(p[3])) {
			const char *id = p + 4;
			while (id < e && is_space(*id))
				id++;
			size_t len = (size_t)(e - id);
			if (!len || len > REVOKE_ID_MAX || memchr(id, ' ', len) || memchr(id, '\t', len))
				why = "jti needs one ID of 1 to 255 bytes, without spaces";
			else if (push(&l->jti, &l->njti, &l->capjti, (rule_t){id, len, 0}))
				why = "out of memory";
		} else if ((size_t)(e - p) > 4 && !memcmp(p, "sub", 3) && is_space(p[3])) {
			const char *t = p + 4;
			while (t < e && is_space(*t))
				t++;
			const char *te = t;
			while (te < e && !is_space(*te))
				te++;
			const char *user = te;
			while (user < e && is_space(*user))
				user++;
			int64_t before;
			size_t len = (size_t)(e - user);
			if (rfc3339_parse(t, (size_t)(te - t), &before))
				why = "sub needs a time (RFC 3339, e.g. 2026-11-23T10:00:00Z) before the user";
			else if (!len || len > REVOKE_ID_MAX)
				why = "sub needs a user of 1 to 255 bytes after the time";
			else if (push(&l->sub, &l->nsub, &l->capsub, (rule_t){user, len, before}))
				why = "out of memory";
		} else {
			why = "a rule is \"jti ID\" or \"sub TIME USER\"";
		}
		if (why) {
			snprintf(err, errlen, "line %zu: %s", line, why);
			revoke_free(l);
			return NULL;
		}
		p = next;
	}
	if (l->njti)
		qsort(l->jti, l->njti, sizeof *l->jti, cmp_rule);
	if (l->nsub)
		qsort(l->sub, l->nsub, sizeof *l->sub, cmp_rule);
	return l;
}

void revoke_free(revoke_list_t *l)
{
	if (!l)
		return;
	free(l->text);
	free(l->jti);
	free(l->sub);
	free(l);
}

size_t revoke_count(const revoke_list_t *l) { return l ? l->njti + l->nsub : 0; }

/* The first rule with this id, or NULL. */
static const rule_t *find(const rule_t *v, size_t n, const char *id, size_t len)
{
	rule_t key = {id, len, 0};
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (cmp_rule(&v[mid], &key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && cmp_rule(&v[lo], &key) == 0 ? &v[lo] : NULL;
}

int revoke_match(const revoke_list_t *l, const char *jti, size_t jlen, const char *sub, size_t slen, int64_t iat_ms)
{
	if (!l)
		return REVOKE_NONE;
	if (jlen && find(l->jti, l->njti, jti, jlen))
		return REVOKE_JTI;
	if (slen) {
		/* every rule for this user: the latest time counts */
		for (const rule_t *r = find(l->sub, l->nsub, sub, slen); r && r < l->sub + l->nsub && r->len == slen &&
									!memcmp(r->id, sub, slen);
		     r++)
			if (iat_ms == INT64_MIN || iat_ms < r->before_ms)
				return REVOKE_SUB;
	}
	return REVOKE_NONE;
}
