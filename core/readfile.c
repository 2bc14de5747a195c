/* core/readfile.c -- see readfile.h. */
#include "readfile.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

fw_status fw_file_load(const char *path, size_t max, char **out, size_t *len, fw_err *err)
{
    FILE *f = fopen(path, "rb");
    struct stat sb;
    char *buf;
    size_t n = 0, cap = max < 4094 ? max + 2 : 4096, want, got;
    fw_status st = FW_OK;

    *out = NULL;
    if (!f)
        return fw_err_set(err, errno == ENOENT ? FW_ERR_NOT_FOUND : FW_ERR_IO, "%s: %s", path,
                          strerror(errno));
    if (fstat(fileno(f), &sb) != 0)
        sb.st_mode = 0; /* unknown: read it as a pipe */
    if (S_ISDIR(sb.st_mode)) {
        fclose(f);
        return fw_err_set(err, FW_ERR_IO, "%s: is a directory", path);
    }
    /* A regular file takes one read (the spare byte sees the end); a pipe
     * grows the buffer as it comes.  One byte past max is the limit. */
    if (S_ISREG(sb.st_mode) && (uint64_t)sb.st_size < max)
        cap = (size_t)sb.st_size + 2;
    if (!(buf = malloc(cap))) {
        fclose(f);
        return fw_err_set(err, FW_ERR_NOMEM, "%s: out of memory", path);
    }
    for (;;) {
        char *p;
        want = cap - n - 1;
        got = fread(buf + n, 1, want, f);
        n += got;
        if (got < want)
            break; /* end of file, or an error */
        if (n > max) {
            st = max % (1u << 20) == 0
                     ? fw_err_set(err, FW_ERR_LIMIT, "%s: larger than %zu MiB", path, max >> 20)
                     : fw_err_set(err, FW_ERR_LIMIT, "%s: larger than %zu bytes", path, max);
            break;
        }
        cap = cap - 2 > max / 2 ? max + 2 : cap * 2;
        if (!(p = realloc(buf, cap))) {
            st = fw_err_set(err, FW_ERR_NOMEM, "%s: out of memory", path);
            break;
        }
        buf = p;
    }
    if (!st && ferror(f))
        st = fw_err_set(err, FW_ERR_IO, "%s: read error", path);
    fclose(f);
    if (st) {
        free(buf);
        return st;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return FW_OK;
}

char *fw_read_file(const char *path, size_t *len)
{
    char *buf;
    size_t n;

    if (fw_file_load(path, SIZE_MAX / 4, &buf, &n, NULL))
        return NULL;
    if (len)
        *len = n;
    return buf;
}

char *fw_path_join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", dir, name);
    return p;
}
