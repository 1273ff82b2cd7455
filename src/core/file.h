/* Reading a whole file into memory under a size limit: the deploy file, the releases
 * manifest and the progress file are read this way, with errors that name the file. */
#ifndef BATON_CORE_FILE_H
#define BATON_CORE_FILE_H

#include <stddef.h>

#include "core/err.h"

/* file_read's flags. FILE_TEXT: the bytes are read as one C string, so a NUL byte in
 * them is refused. */
#define FILE_TEXT 1

/* Reads all of PATH (a regular file, or a pipe read to its end) into *text, with a NUL
 * after its bytes (caller frees *text), and their count into *len (len may be NULL).
 * WHAT names the file in the messages: "cannot open WHAT 'PATH': <errno text>",
 * "cannot read WHAT 'PATH': <errno text>", "cannot read WHAT 'PATH': larger than 1 MiB"
 * when it holds more than max bytes, and with FILE_TEXT "WHAT 'PATH' holds a NUL byte".
 * Returns 0, or -1 with *text NULL and errno set to the cause (ENOENT: no such file,
 * EFBIG: over max, EILSEQ: a NUL byte). */
int file_read(const char *path, const char *what, size_t max, int flags, char **text, size_t *len,
              struct err *e);

#endif
