/* A deliberately bad trunkd plugin: route dereferences NULL (SIGSEGV). The plugin host
 * process dies; trunkd must let the call fall through and restart the host with back-off. */
#include <stddef.h>

#include "trunkd_plugin.h"

static int instance;

static void *bad_init(const trunkd_var *settings, size_t settings_len, trunkd_buf *error)
{
    (void)settings, (void)settings_len, (void)error;
    return &instance;
}

static int32_t bad_route(void *inst, const trunkd_call *call, trunkd_decision *out)
{
    /* Both volatile: the compiler must really load the pointer and really store through it
     * (otherwise GCC drops the store, or turns it into a trap: SIGILL instead of SIGSEGV). */
    volatile int *volatile p = NULL;
    (void)inst, (void)call, (void)out;
    *p = 42;
    return 0;
}

static const trunkd_plugin_v1 vtable = {
    .abi_version = TRUNKD_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(trunkd_plugin_v1),
    .name = "crash",
    .version = "0.1.0",
    .init = bad_init,
    .route = bad_route,
};

const trunkd_plugin_v1 *trunkd_plugin_entry(void)
{
    return &vtable;
}
