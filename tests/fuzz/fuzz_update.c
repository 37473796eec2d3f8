/* libFuzzer target: whatever qc_update_validate accepts, state vector, diff
 * and merge must accept too, and what they produce must validate. */
#include "quire/update.h"

#include "must.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void check_update(const uint8_t *u, size_t n)
{
	int valid = qc_update_validate(u, n) == QC_OK;
	uint8_t *out = NULL, *sv = NULL;
	size_t on = 0, svn = 0;

	int rc = qc_update_state_vector(u, n, &sv, &svn);
	MUST((rc == QC_OK) == valid);
	/* a fixed state vector: {1:2, 7:1, 3000000000:1} */
	static const uint8_t fixed[] = {0x03, 0x01, 0x02, 0x07, 0x01, 0x80, 0xbc, 0xc1, 0x96, 0x0b, 0x01};
	rc = qc_update_diff(u, n, fixed, sizeof(fixed), &out, &on);
	MUST((rc == QC_OK) == valid);
	if (rc == QC_OK) {
		MUST(qc_update_validate(out, on) == QC_OK);
		free(out);
	}
	if (!valid)
		return;

	qc_sv dec;
	MUST(qc_sv_decode(sv, svn, &dec) == QC_OK);
	qc_sv_free(&dec);
	/* the diff against its own state vector is valid, and so is its merge
	 * with the rest */
	MUST(qc_update_diff(u, n, sv, svn, &out, &on) == QC_OK);
	MUST(qc_update_validate(out, on) == QC_OK);
	free(out);
	free(sv);

	const uint8_t *ups[2] = {u, u};
	size_t lens[2] = {n, n};
	MUST(qc_update_merge(ups, lens, 2, &out, &on) == QC_OK);
	MUST(qc_update_validate(out, on) == QC_OK);
	/* merging is idempotent once normalised */
	uint8_t *out2 = NULL;
	size_t on2 = 0;
	const uint8_t *ups2[2] = {out, out};
	size_t lens2[2] = {on, on};
	MUST(qc_update_merge(ups2, lens2, 2, &out2, &on2) == QC_OK);
	MUST(qc_update_validate(out2, on2) == QC_OK);
	free(out2);
	free(out);
	size_t s, r;
	MUST(qc_update_counts(u, n, &s, &r) == QC_OK);
	MUST(qc_update_is_empty(u, n) == (s == 0 && r == 0));
	uint8_t *dl = NULL;
	size_t dln = 0, ds = 0, dr = 0;
	MUST(qc_update_deletions(u, n, &dl, &dln) == QC_OK && (dl == NULL) == (r == 0));
	if (dl) {
		MUST(qc_update_counts(dl, dln, &ds, &dr) == QC_OK && ds == 0 && dr == r);
		free(dl);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_update(data, size);
	/* also split the input into two updates and merge them both ways */
	if (size > 2) {
		size_t k = 1 + data[0] % (size - 1);
		const uint8_t *a = data + 1, *b = data + k;
		size_t an = k - 1, bn = size - k;
		if (qc_update_validate(a, an) == QC_OK && qc_update_validate(b, bn) == QC_OK) {
			const uint8_t *ups[2] = {a, b};
			size_t lens[2] = {an, bn};
			uint8_t *out = NULL;
			size_t on = 0;
			MUST(qc_update_merge(ups, lens, 2, &out, &on) == QC_OK);
			MUST(qc_update_validate(out, on) == QC_OK);
			free(out);
			ups[0] = b;
			ups[1] = a;
			lens[0] = bn;
			lens[1] = an;
			MUST(qc_update_merge(ups, lens, 2, &out, &on) == QC_OK);
			MUST(qc_update_validate(out, on) == QC_OK);
			free(out);
		}
	}
	return 0;
}
