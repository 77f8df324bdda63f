/* A deliberately bad trunkd plugin: route loops forever, burning CPU. trunkd must give up on
 * it after plugin_timeout_ms (the call falls through) and kill/restart the plugin host. */
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
    volatile unsigned long spins = 0; /* volatile: the loop cannot be optimized away */
    (void)inst, (void)call, (void)out;
    for (;;)
        spins++;
    return 0;
}

static const trunkd_plugin_v1 vtable = {
    .abi_version = TRUNKD_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(trunkd_plugin_v1),
    .name = "hang",
    .version = "0.1.0",
    .init = bad_init,
    .route = bad_route,
};

const trunkd_plugin_v1 *trunkd_plugin_entry(void)
{
    return &vtable;
}
