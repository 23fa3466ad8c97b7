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

/* The interrupt: run the attached ISR if the line is high (not from inside the ISR). Called at
 * every platform entry, the points at which a simulated core could take it. */
static void take_irq(struct demon_host *h)
{
    if (h->isr != NULL && h->in_isr == 0u && h->irq_line != NULL && h->irq_line(h->user) != 0) {
        h->in_isr = 1u;
        h->isr(h->isr_ctx);
        h->in_isr = 0u;
    }
}

int demon_plat_read32(void *plat, uint32_t offset, uint32_t *value)
{
    struct demon_host *h = (struct demon_host *)plat;
    if (h == NULL || h->read32 == NULL || value == NULL) {
        return HOST_NO_BUS;
    }
    take_irq(h);
    h->virtual_now += 1u;
    return h->read32(h->user, offset, value);
}

int demon_plat_write32(void *plat, uint32_t offset, uint32_t value)
{
    struct demon_host *h = (struct demon_host *)plat;
    if (h == NULL || h->write32 == NULL) {
        return HOST_NO_BUS;
    }
    take_irq(h);
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
    take_irq(h);
}

void demon_plat_irq_attach(void *plat, demon_isr_fn isr, void *ctx)
{
    struct demon_host *h = (struct demon_host *)plat;
    if (h != NULL) {
        h->isr = isr;
        h->isr_ctx = ctx;
    }
}

int demon_plat_wait_irq(void *plat, uint32_t timeout_cycles)
{
    struct demon_host *h = (struct demon_host *)plat;
    int line;
    if (h == NULL) {
        return 0;
    }
    if (h->wait_irq != NULL) {
        line = h->wait_irq(h->user, timeout_cycles);
        h->virtual_now += timeout_cycles;     /* an upper bound: the virtual clock never runs slow */
    } else {
        demon_plat_delay_cycles(plat, timeout_cycles);
        line = h->irq_line != NULL && h->irq_line(h->user) != 0;
    }
    take_irq(h);
    return line != 0;
}

uint32_t demon_plat_now_cycles(void *plat)
{
    const struct demon_host *h = (const struct demon_host *)plat;
    if (h == NULL) {
        return 0u;
    }
    return h->now != NULL ? h->now(h->user) : h->virtual_now;
}
