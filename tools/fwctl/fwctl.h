/* tools/fwctl/fwctl.h -- the fwctl companion CLI: one file per subcommand.
 *
 * Every subcommand returns the process exit code: 0 ok, 1 bad input (a
 * message on stderr), 2 bad usage.  JSON Lines in, JSON Lines out. */
#ifndef FWCTL_H
#define FWCTL_H

#include <stdio.h>

#define FWCTL_OK 0
#define FWCTL_EINPUT 1
#define FWCTL_EUSAGE 2

int fwctl_tokenize(int argc, char **argv);
int fwctl_inspect(int argc, char **argv);
int fwctl_mkmodel(int argc, char **argv);
int fwctl_logits(int argc, char **argv);
int fwctl_generate(int argc, char **argv);
int fwctl_render(int argc, char **argv);
int fwctl_parse(int argc, char **argv);
int fwctl_grammar(int argc, char **argv);

/* Reads one line from f into *line (malloc'd, grown as needed, newline
 * stripped); returns its length, or -1 at end of input. */
long fwctl_getline(FILE *f, char **line, size_t *cap);

/* Prints o as one line of JSON on stdout (nothing when out of memory). */
struct cJSON;
void fwctl_print_json(const struct cJSON *o);

/* Prints {"key": "val"} as one line of JSON on stdout. */
void fwctl_print_str(const char *key, const char *val);

/* Prints "fwctl CMD: message" to stderr and returns code. */
int fwctl_fail(int code, const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
