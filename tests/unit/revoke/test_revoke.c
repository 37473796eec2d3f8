/* Unit tests for server/revoke.c: the --revocations file (comments, blank
 * lines, CRLF, spaces, every malformed rule with its line number, UTF-8,
 * length limits) and matching (jti exact, sub by time with iat or without,
 * several rules for one user, many rules, no list). */
#include "revoke.h"
#include "t.h"

#include <stdio.h>
#include <string.h>

#define T0 INT64_C(1763895600000) /* 2025-11-23T11:00:00Z */

static revoke_list_t *parse(const char *s, char *err)
{
	err[0] = 0;
	return revoke_parse(s, strlen(s), err, 128);
}

static int match(const revoke_list_t *l, const char *jti, const char *sub, int64_t iat)
{
	return revoke_match(l, jti, jti ? strlen(jti) : 0, sub, sub ? strlen(sub) : 0, iat);
}

static void test_parse(void)
{
	t_current = "parse";
	char err[128];
	revoke_list_t *l = parse("", err);
	CHECK(l && revoke_count(l) == 0);
	revoke_free(l);
	l = parse("# a comment\n\n   \t\njti  abc  \r\n  sub 2025-11-23T11:00:00Z  Alice Adams  \njti def", err);
	CHECK(l && revoke_count(l) == 3);
	CHECK_EQ_INT(match(l, "abc", NULL, 0), REVOKE_JTI);
	CHECK_EQ_INT(match(l, "def", NULL, 0), REVOKE_JTI); /* last line without a newline */
	CHECK_EQ_INT(match(l, "ab", NULL, 0), REVOKE_NONE);
	CHECK_EQ_INT(match(l, "abcd", NULL, 0), REVOKE_NONE);
	CHECK_EQ_INT(match(l, NULL, "Alice Adams", T0 - 1), REVOKE_SUB); /* spaces inside the user kept */
	CHECK_EQ_INT(match(l, NULL, "Alice", T0 - 1), REVOKE_NONE);
	revoke_free(l);

	static const struct {
		const char *text;
		const char *err;
	} bad[] = {
		{"jti\n", "line 1: a rule is"},
		{"jti \n", "line 1: a rule is"},
		{"\n\njti a b\n", "line 3: jti needs one ID"},
		{"JTI abc\n", "line 1: a rule is"},
		{"jtiabc\n", "line 1: a rule is"},
		{"sub 2025-11-23 alice\n", "line 1: sub needs a time"},
		{"sub 2025-11-23T11:00:00Z\n", "line 1: sub needs a user"},
		{"sub alice 2025-11-23T11:00:00Z\n", "line 1: sub needs a time"},
		{"# ok\nrevoke all\n", "line 2: a rule is"},
		{"jti \xc3\x28\n", "line 1: not UTF-8"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		t_current = bad[i].text;
		l = parse(bad[i].text, err);
		CHECK(l == NULL);
		CHECK(strncmp(err, bad[i].err, strlen(bad[i].err)) == 0);
		revoke_free(l);
	}
	t_current = "limits";
	char big[600];
	snprintf(big, sizeof big, "jti %0255d\n", 7);
	l = parse(big, err);
	CHECK(l && revoke_count(l) == 1);
	revoke_free(l);
	snprintf(big, sizeof big, "jti %0256d\n", 7);
	CHECK(parse(big, err) == NULL);
	/* a NUL inside a line is refused (it would cut an ID short) */
	static const char nul[] = "jti a\0b\n";
	CHECK(revoke_parse(nul, sizeof nul - 1, err, sizeof err) == NULL);
}

static void test_match(void)
{
	t_current = "match";
	char err[128];
	/* two rules for bob: the later time counts */
	revoke_list_t *l = parse("sub 2025-11-23T11:00:00Z bob\nsub 2025-11-23T10:00:00Z bob\nsub 2025-11-23T12:00:00Z "
				 "carol\n",
				 err);
	CHECK(l != NULL);
	CHECK_EQ_INT(match(l, NULL, "bob", T0 - 1), REVOKE_SUB);
	CHECK_EQ_INT(match(l, NULL, "bob", T0), REVOKE_NONE); /* issued at the rule's time: valid */
	CHECK_EQ_INT(match(l, NULL, "bob", T0 - 3600001), REVOKE_SUB);
	CHECK_EQ_INT(match(l, NULL, "bob", INT64_MIN), REVOKE_SUB); /* no iat */
	CHECK_EQ_INT(match(l, NULL, "carol", T0 + 3599999), REVOKE_SUB);
	CHECK_EQ_INT(match(l, NULL, "dave", INT64_MIN), REVOKE_NONE);
	CHECK_EQ_INT(match(l, "bob", NULL, INT64_MIN), REVOKE_NONE); /* a jti is not a sub */
	revoke_free(l);
	/* the same rules in the other order (the sort may keep either first) */
	l = parse("sub 2025-11-23T10:00:00Z bob\nsub 2025-11-23T11:00:00Z bob\n", err);
	CHECK_EQ_INT(match(l, NULL, "bob", T0 - 1), REVOKE_SUB);
	CHECK_EQ_INT(match(l, NULL, "bob", T0), REVOKE_NONE);
	revoke_free(l);
	CHECK_EQ_INT(match(NULL, "x", "y", 0), REVOKE_NONE);

	/* many rules, in no order */
	static char text[20000 * 16];
	size_t n = 0;
	for (int i = 0; i < 20000; i++)
		n += (size_t)sprintf(text + n, "jti id%d\n", (i * 7919) % 20000);
	l = revoke_parse(text, n, err, sizeof err);
	CHECK(l && revoke_count(l) == 20000);
	int all = 1;
	char id[32];
	for (int i = 0; i < 20000; i++) {
		snprintf(id, sizeof id, "id%d", i);
		all &= match(l, id, NULL, 0) == REVOKE_JTI;
	}
	CHECK(all);
	CHECK_EQ_INT(match(l, "id20000", NULL, 0), REVOKE_NONE);
	CHECK_EQ_INT(match(l, "id", NULL, 0), REVOKE_NONE);
	revoke_free(l);
}

int main(void)
{
	test_parse();
	test_match();
	return t_report("test_revoke");
}
