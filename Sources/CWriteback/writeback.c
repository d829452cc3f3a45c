// Swift's Glibc module does not export sync_file_range (a GNU extension): this shim does.
#if defined(__linux__)
#define _GNU_SOURCE
#include <fcntl.h>
#endif
#include "CWriteback.h"

int nomadsync_start_writeback(int fd) {
#if defined(__linux__)
    return sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
#else
    (void)fd;
    return 0;
#endif
}
