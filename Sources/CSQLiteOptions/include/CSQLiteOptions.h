#ifndef NOMADSYNC_CSQLITEOPTIONS_H
#define NOMADSYNC_CSQLITEOPTIONS_H

/// Turns off SQLite's memory statistics for the whole process
/// (`sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0)`, a variadic call Swift cannot make). With them
/// on, every allocation SQLite makes takes one process-wide mutex to count it, which the writer
/// and every reader share. Only effective before SQLite initialises (before the first
/// connection opens). Returns SQLITE_OK, or SQLITE_MISUSE when SQLite was already initialised.
int nomadsync_sqlite_disable_memstatus(void);

#endif
