/* quire: one executable, git-style subcommands. */
#include "config.h"
#include "doc_cmd.h"
#include "http.h"
#include "store_cmd.h"
#include "token_cmd.h"

#include <stdio.h>
#include <string.h>

static void usage(FILE *f)
{
	fputs("usage: quire <command> [options]\n"
	      "\n"
	      "commands:\n"
	      "  serve    run the sync server (quire serve --help)\n"
	      "  doc      inspect and transform Yjs update files (quire doc --help)\n"
	      "  store    check the data directory; drop, export or import a document (quire store --help)\n"
	      "  keygen   create an Ed25519 key pair for tokens (quire keygen --help)\n"
	      "  token    mint a session token (quire token --help)\n"
	      "\n"
	      "quire <command> --help shows a command's options.\n",
	      f);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(cmd, "serve")) {
		config_t cfg;
		int rc = config_parse_serve(argc - 1, argv + 1, &cfg);
		if (rc)
			return rc > 0 ? 0 : 2;
		return serve_run(&cfg);
	}
	if (!strcmp(cmd, "doc"))
		return doc_main(argc - 1, argv + 1);
	if (!strcmp(cmd, "store"))
		return store_main(argc - 1, argv + 1);
	if (!strcmp(cmd, "keygen"))
		return keygen_main(argc - 1, argv + 1);
	if (!strcmp(cmd, "token"))
		return token_main(argc - 1, argv + 1);
	fprintf(stderr, "quire: unknown command '%s'\n", cmd);
	usage(stderr);
	return 2;
}
