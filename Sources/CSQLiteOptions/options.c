// sqlite3_config is variadic: Swift cannot call it, this shim does.
#include <sqlite3.h>
#include "CSQLiteOptions.h"

int nomadsync_sqlite_disable_memstatus(void) {
    return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}
