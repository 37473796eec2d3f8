/* `quire keygen` and `quire token`: make a PASERK key pair and mint session
 * tokens (PASETO v4.public) for wiki backends, bots and tests. */
#ifndef QUIRE_TOKEN_CMD_H
#define QUIRE_TOKEN_CMD_H

/* argv[0] is "keygen" / "token". Return the exit status: 0 ok, 1 I/O or key
 * error, 2 usage error. */
int keygen_main(int argc, char **argv);
int token_main(int argc, char **argv);

#endif
