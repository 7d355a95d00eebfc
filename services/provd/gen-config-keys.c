/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Prints doc/config-keys.md, generated from the schema:
 *   build/services/provd/gen-config-keys > doc/config-keys.md */

#include "schema.h"

int main(int argc, char *argv[]) {
        if (argc > 1) {
                fprintf(stderr, "Usage: %s > doc/config-keys.md\n", argv[0]);
                return EXIT_FAILURE;
        }
        if (schema_write_markdown(stdout) < 0 || fclose(stdout) != 0) {
                fprintf(stderr, "Failed to write the Markdown: %m\n");
                return EXIT_FAILURE;
        }
        return EXIT_SUCCESS;
}
