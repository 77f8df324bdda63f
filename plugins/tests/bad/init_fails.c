/* A deliberately failing trunkd plugin: init returns NULL with the message "no database".
 * trunkd must report the plugin as failed with that message (and never call route). */
#include <stddef.h>
#include <string.h>

#include "trunkd_plugin.h"

static void *failing_init(const trunkd_var *settings, size_t settings_len, trunkd_buf *error)
{
    static const char msg[] = "no database";
    (void)settings, (void)settings_len;
    if (error != NULL) {
        memcpy(error->buf, msg, sizeof msg - 1);
        error->len = sizeof msg - 1;
    }
    return NULL;
}

static int32_t unreachable_route(void *inst, const trunkd_call *call, trunkd_decision *out)
{
    (void)inst, (void)call;
    out->action = TRUNKD_REJECT;
    out->cause = 21;
    return 0;
}

static const trunkd_plugin_v1 vtable = {
    .abi_version = TRUNKD_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(trunkd_plugin_v1),
    .name = "init_fails",
    .version = "0.1.0",
    .init = failing_init,
    .route = unreachable_route,
};

const trunkd_plugin_v1 *trunkd_plugin_entry(void)
{
    return &vtable;
}
