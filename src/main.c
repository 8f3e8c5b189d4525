/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* safegrid command line: parses arguments and calls the library. */
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0) {
        printf("usage: safegrid COMMAND [OPTIONS]\n");
        return argc < 2 ? 2 : 0;
    }
    fprintf(stderr, "safegrid: unknown command '%s'\n", argv[1]);
    return 2;
}
