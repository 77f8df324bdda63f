/* A deliberately bad trunkd plugin: a vtable with name NULL and route NULL (both required).
 * trunkd must refuse to load it with a clear message (and never call through NULL). */
#include <stddef.h>

#include "trunkd_plugin.h"

static int instance;

static void *bad_init(const trunkd_var *settings, size_t settings_len, trunkd_buf *error)
{
    (void)settings, (void)settings_len, (void)error;
    return &instance;
}

static const trunkd_plugin_v1 vtable = {
    .abi_version = TRUNKD_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(trunkd_plugin_v1),
    .name = NULL,
    .version = "0.1.0",
    .init = bad_init,
    .route = NULL,
};

const trunkd_plugin_v1 *trunkd_plugin_entry(void)
{
    return &vtable;
}
