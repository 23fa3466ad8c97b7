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
    struct demon_host *h = (struct demon_host *)plat;
    if (h == NULL || h->read32 == NULL || value == NULL) {
        return HOST_NO_BUS;
    }
    h->virtual_now += 1u;
    return h->read32(h->user, offset, value);
}

int demon_plat_write32(void *plat, uint32_t offset, uint32_t value)
{
    struct demon_host *h = (struct demon_host *)plat;
    if (h == NULL || h->write32 == NULL) {
        return HOST_NO_BUS;
    }
    h->virtual_now += 1u;
    return h->write32(h->user, offset, value);
}

void demon_plat_delay_cycles(void *plat, uint32_t cycles)
{
    struct demon_host *h = (struct demon_host *)plat;
    if (h == NULL) {
        return;
    }
    h->virtual_now += cycles;
    if (h->delay != NULL) {
        h->delay(h->user, cycles);
    }
}

uint32_t demon_plat_now_cycles(void *plat)
{
    const struct demon_host *h = (const struct demon_host *)plat;
    if (h == NULL) {
        return 0u;
    }
    return h->now != NULL ? h->now(h->user) : h->virtual_now;
}
