/* core/readfile.h -- a whole file in memory: the one reader of config,
 * model sidecars, tokenizer files, and the tools, tests and benches. */
#ifndef FW_CORE_READFILE_H
#define FW_CORE_READFILE_H

#include <stddef.h>

#include "err.h"

/* Reads the whole file at path (a pipe too) into *out: malloc'd and
 * NUL-terminated (free() it), its length in *len.  At most max bytes:
 * FW_ERR_LIMIT past that; FW_ERR_NOT_FOUND when absent; FW_ERR_IO or
 * FW_ERR_NOMEM otherwise; err (may be NULL) names the path. */
fw_status fw_file_load(const char *path, size_t max, char **out, size_t *len, fw_err *err);

/* fw_file_load without a limit or an error: NULL when it cannot be read;
 * the length in *len when len is not NULL. */
char *fw_read_file(const char *path, size_t *len);

/* "dir/name", malloc'd; NULL when out of memory. */
char *fw_path_join(const char *dir, const char *name);

#endif
