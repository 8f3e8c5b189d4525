/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The safegrid command line. main only hands the words after the program's name to the
 * command table (src/cli/cli.c); every command lives in a src/cli/cmd_<group>.c and every
 * behaviour in the library, so that the server and the tests use the same code.
 *
 * Exit codes: 0 success, 1 an error (one line on stderr), 2 bad usage.
 */
#include "cli/cli.h"

int main(int argc, char **argv)
{
    return sg_cli_run(argc - 1, argv + 1);
}
