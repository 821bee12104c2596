/* getopts.c - cli layer: every command's options go through getopt_long (GNU's: `--flag VALUE`,
 * `--flag=VALUE`, short options and their clusters, unique prefixes of long names); this is the
 * part all commands share: the scan's start and the message of a refused option. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "cli/client.h"

char **rill__cli_getopt_begin(int argc, char **argv)
{
    char **av = rill__xcalloc((size_t)argc + 2, sizeof *av);
    av[0] = "rill";
    for (int i = 0; i < argc; i++)
        av[i + 1] = argv[i];
    optind = 0; /* glibc: a full restart, so one process may parse several command lines */
    opterr = 0;
    return av;
}

int rill__cli_getopt_index(void)
{
    return optind - 1;
}

void rill__cli_getopt_problem(char **av, int c, char *buf, size_t size)
{
    /* a long option has moved optind past its element; a short one is named by optopt */
    const char *elem = optind >= 1 ? av[optind - 1] : NULL;
    bool is_long =
        elem && !strncmp(elem, "--", 2) && (optopt == 0 || optopt > 255 || strlen(elem) > 2);
    if (!is_long && optopt > 0 && optopt < 256) {
        if (c == ':')
            snprintf(buf, size, "option -%c needs a value", optopt);
        else
            snprintf(buf, size, "unknown option '-%c'", optopt);
        return;
    }
    const char *text = elem ? elem : "?";
    size_t name_len = strcspn(text, "=");
    if (c == ':')
        snprintf(buf, size, "option %.*s needs a value", (int)name_len, text);
    else if (text[name_len] == '=' && optopt != 0)
        snprintf(buf, size, "option %.*s takes no value", (int)name_len, text);
    else
        snprintf(buf, size, "unknown option '%s'", text); /* or an ambiguous prefix */
}
