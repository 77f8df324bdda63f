/* A deliberately bad trunkd plugin: the entry point returns NULL. trunkd must refuse to load
 * it with a clear message. */
#include <stddef.h>

#include "trunkd_plugin.h"

const trunkd_plugin_v1 *trunkd_plugin_entry(void)
{
    return NULL;
}
