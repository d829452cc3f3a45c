#ifndef NOMADSYNC_CWRITEBACK_H
#define NOMADSYNC_CWRITEBACK_H

/// Starts writing the file's dirty pages to disk and returns without waiting for them
/// (Linux `sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE)`): a later `fdatasync` finds them
/// written. Returns 0, or -1 with `errno` set. Elsewhere than Linux it does nothing and returns 0.
int nomadsync_start_writeback(int fd);

#endif
