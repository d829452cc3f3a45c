#ifndef NOMADSYNC_CSODIUM_SHIM_H
#define NOMADSYNC_CSODIUM_SHIM_H
#include <sodium.h>
#endif
