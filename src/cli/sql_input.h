/*
 * sql_input.h - cli layer: how `rill sql` cuts the lines it reads into statements. A statement
 * ends at a ';' outside strings, comments and EXECUTE STATEMENT SET BEGIN ... END; until then
 * the client asks for more lines (its continuation prompt). No terminal in here, so the unit
 * tests drive it.
 */
#ifndef RILL_CLI_SQL_INPUT_H
#define RILL_CLI_SQL_INPUT_H

#include <stdbool.h>
#include <stddef.h>

/* The text read and not yet run. Zero it to start; rill__sql_input_free at the end. */
typedef struct rill__sql_input {
    char *text; /* NUL-terminated */
    size_t len, cap;
    size_t off; /* the statements given so far end here */
} rill__sql_input;

/* Appends a line (n bytes, its newline, if any, dropped) and a newline. */
void rill__sql_input_add(rill__sql_input *in, const char *line, size_t n);
/* The next statement that a ';' ended: 1 and its text at in->text[*start .. *start + *len)
 * (without the ';'; valid until the next add or drop; lines and columns count from in->text's
 * start), or 0 when none is complete yet. A statement with a lexical error (a character no
 * token starts with) is given once its line ends with ';', so that running it reports the
 * error; one with a string or comment not closed waits for more lines. */
int rill__sql_input_next(rill__sql_input *in, size_t *start, size_t *len);
/* After next gave 0: whether the text left holds more than space and comments (a statement
 * is under way: the continuation prompt). */
bool rill__sql_input_waiting(const rill__sql_input *in);
/* The text left, as a statement (at the end of the input: a last statement without its ';'):
 * 1 and its place, or 0 when only space and comments are left. Consumes it. */
int rill__sql_input_rest(rill__sql_input *in, size_t *start, size_t *len);
/* Forgets the text given: what is left moves to the start (its lines count from 1 again). */
void rill__sql_input_drop(rill__sql_input *in);
/* Forgets everything (Ctrl-C at the prompt). */
void rill__sql_input_clear(rill__sql_input *in);
void rill__sql_input_free(rill__sql_input *in);

#endif /* RILL_CLI_SQL_INPUT_H */
