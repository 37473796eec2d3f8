/* `quire store check|drop|get|put`: tools for the data directory. */
#ifndef QUIRE_STORE_CMD_H
#define QUIRE_STORE_CMD_H

int store_main(int argc, char **argv);

#endif
