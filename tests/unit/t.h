/* Tiny test helpers: CHECK reports file:line and counts failures. */
#ifndef QUIRE_TEST_T_H
#define QUIRE_TEST_T_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int t_checks, t_failures;
static const char *t_current; /* optional context printed with failures */
#define T_CTX() (t_current ? t_current : "")

#define CHECK(cond)                                                                          \
	do {                                                                                 \
		t_checks++;                                                                  \
		if (!(cond)) {                                                               \
			t_failures++;                                                        \
			fprintf(stderr, "%s:%d: [%s] check failed: %s\n", __FILE__, __LINE__, T_CTX(), #cond); \
		}                                                                            \
	} while (0)

#define CHECK_EQ_INT(a, b)                                                                   \
	do {                                                                                 \
		long long t_a_ = (long long)(a), t_b_ = (long long)(b);                      \
		t_checks++;                                                                  \
		if (t_a_ != t_b_) {                                                          \
			t_failures++;                                                        \
			fprintf(stderr, "%s:%d: [%s] %s == %s failed: %lld != %lld\n",       \
				__FILE__, __LINE__, T_CTX(), #a, #b, t_a_, t_b_);            \
		}                                                                            \
	} while (0)

/* Parse "01 ab ff" (spaces optional) into a malloc()ed buffer. */
static inline uint8_t *t_hex(const char *s, size_t *n)
{
	size_t cap = strlen(s) / 2 + 1, len = 0;
	uint8_t *b = malloc(cap);
	int hi = -1;
	if (!b)
		abort();
	for (; *s; s++) {
		int v;
		if (*s >= '0' && *s <= '9')
			v = *s - '0';
		else if (*s >= 'a' && *s <= 'f')
			v = *s - 'a' + 10;
		else if (*s >= 'A' && *s <= 'F')
			v = *s - 'A' + 10;
		else
			continue;
		if (hi < 0) {
			hi = v;
		} else {
			b[len++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
	*n = len;
	return b;
}

static inline char *t_tohex(const uint8_t *p, size_t n)
{
	char *s = malloc(n * 3 + 1);
	if (!s)
		abort();
	s[0] = 0;
	for (size_t i = 0; i < n; i++)
		sprintf(s + (i ? 3 * i - 1 : 0), i ? " %02x" : "%02x", p[i]);
	return s;
}

/* Compare bytes with expected hex; report both on mismatch. */
#define CHECK_HEX(p, n, hex) t_check_hex(__FILE__, __LINE__, (p), (n), (hex))
static inline void t_check_hex(const char *file, int line, const uint8_t *p, size_t n, const char *hex)
{
	size_t en;
	uint8_t *e = t_hex(hex, &en);
	t_checks++;
	if (p == NULL || en != n || memcmp(e, p, n) != 0) {
		char *got = p ? t_tohex(p, n) : NULL;
		t_failures++;
		fprintf(stderr, "%s:%d: [%s] bytes differ\n  want: %s\n  got:  %s\n", file, line, T_CTX(), hex,
			got ? got : "(null)");
		free(got);
	}
	free(e);
}

static inline int t_report(const char *name)
{
	printf("%s: %d checks, %d failures\n", name, t_checks, t_failures);
	return t_failures ? 1 : 0;
}

#endif
