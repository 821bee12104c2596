/* fuzz_schema.c - libFuzzer target: rill_schema_parse on arbitrary text (type names with
 * parameters, Flink's and rill's). What parses describes to text that parses back to the same
 * types, parameters and nullability; what fails leaves a message and no schema. */
#include <stdlib.h>
#include <string.h>

#include "data/data.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0'; /* the parser reads a C string: an embedded NUL ends it */
    rill_schema *s = (rill_schema *)1;
    int rc = rill_schema_parse(text, &s);
    if (rc) {
        FUZZ_REQUIRE(s == NULL && rill_last_error()[0] != '\0');
        free(text);
        return 0;
    }
    rill__buf b = {0};
    rill__schema_describe(s, &b);
    rill_schema *s2 = NULL;
    FUZZ_REQUIRE(rill_schema_parse(rill__buf_cstr(&b), &s2) == 0);
    FUZZ_REQUIRE(rill_schema_n_fields(s2) == rill_schema_n_fields(s));
    for (int i = 0; i < s->n_fields; i++) {
        rill_type_info a = rill_schema_field_info(s, i), c = rill_schema_field_info(s2, i);
        FUZZ_REQUIRE(a.type == c.type && a.precision == c.precision && a.scale == c.scale &&
                     a.length == c.length && a.fixed == c.fixed);
        FUZZ_REQUIRE(rill_schema_field_nullable(s, i) == rill_schema_field_nullable(s2, i));
        FUZZ_REQUIRE(strcmp(rill_schema_field_name(s, i), rill_schema_field_name(s2, i)) == 0);
        FUZZ_REQUIRE(s->fields[i].in_bytes == rill__type_in_bytes(a.type, a.precision));
    }
    rill__buf_free(&b);
    rill_schema_free(s2);
    rill_schema_free(s);
    free(text);
    return 0;
}
