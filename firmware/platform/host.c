/*
 * Host platform: every register access goes through the function pointers of the struct
 * demon_host passed as `plat` (see include/demon_host.h). A missing context or function is a
 * bus error, never a crash.
 */
#include <stddef.h>

#include "demon_host.h"
#include "demon_platform.h"

/* Returned for a missing context or function (any nonzero value is a bus error). */
#define HOST_NO_BUS 1

int demon_plat_read32(void *plat, uint32_t offset, uint32_t *value)
{
    const struct demon_host *h = (const struct demon_host *)plat;
    if (h == NULL || h->read32 == NULL || value == NULL) {
        return HOST_NO_BUS;
    }
    return h->read32(h->user, offset, value);
}

int demon_plat_write32(void *plat, uint32_t offset, uint32_t value)
{
    const struct demon_host *h = (const struct demon_host *)plat;
    if (h == NULL || h->write32 == NULL) {
        return HOST_NO_BUS;
    }
    return h->write32(h->user, offset, value);
}

void demon_plat_delay_cycles(void *plat, uint32_t cycles)
{
    const struct demon_host *h = (const struct demon_host *)plat;
    if (h != NULL && h->delay != NULL) {
        h->delay(h->user, cycles);
    }
}
