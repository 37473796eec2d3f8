/* Runs a fuzz target's LLVMFuzzerTestOneInput over every file of the corpus
 * directories given, with any compiler and without libFuzzer: ctest replays the
 * committed corpus in every build (under the sanitizers in the ASan one), so
 * the inputs that once found bugs keep being checked where clang is missing.
 * A broken property aborts (tests/fuzz/must.h), which fails the test. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	long n = -1;
	if (f && fseek(f, 0, SEEK_END) == 0)
		n = ftell(f);
	/* exactly the input's size, so ASan sees a read past its end */
	uint8_t *buf = n >= 0 ? malloc(n ? (size_t)n : 1) : NULL;
	int ok = buf && fseek(f, 0, SEEK_SET) == 0 && fread(buf, 1, (size_t)n, f) == (size_t)n;
	if (f)
		fclose(f);
	if (!ok) {
		free(buf);
		fprintf(stderr, "replay: cannot read %s\n", path);
		return -1;
	}
	LLVMFuzzerTestOneInput(buf, (size_t)n);
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	size_t files = 0;
	for (int i = 1; i < argc; i++) {
		DIR *d = opendir(argv[i]);
		if (!d) {
			fprintf(stderr, "replay: cannot open directory %s\n", argv[i]);
			return 1;
		}
		for (struct dirent *e; (e = readdir(d));) {
			char path[4096];
			struct stat st;
			if (e->d_name[0] == '.' || snprintf(path, sizeof path, "%s/%s", argv[i], e->d_name) >= (int)sizeof path ||
			    stat(path, &st) != 0 || !S_ISREG(st.st_mode))
				continue;
			if (run_file(path) != 0) {
				closedir(d);
				return 1;
			}
			files++;
		}
		closedir(d);
	}
	printf("replay: %zu inputs, no finding\n", files);
	return files ? 0 : 1; /* an empty corpus is a mistake, not a pass */
}
