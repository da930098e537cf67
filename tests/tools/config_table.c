/* Prints the configuration table (common/config_table.c) in Markdown: the README's
 * configuration table is this output, and test_ops_config_table.py compares the two. */
#include "config.h"

#include <stdio.h>

int main(void)
{
    config_markdown(stdout);
    return 0;
}
