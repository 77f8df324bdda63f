#!/usr/bin/env bash
# smoke.sh - end-to-end check of the harness: setup (cached), compile smoke.c
# on the host (dynamically linked), run it in the VM against the real driver.
# Exit: 0 pass, 77 skipped, anything else failure.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export DAHDI_VM_CACHE=${DAHDI_VM_CACHE:-target/dahdi-vm}
"$HERE/setup.sh"
command -v cc >/dev/null || { echo "dahdi-vm smoke: SKIP: no C compiler" >&2; exit 77; }
[ -f /usr/include/dahdi/user.h ] || { echo "dahdi-vm smoke: SKIP: <dahdi/user.h> missing (dahdi-source)" >&2; exit 77; }
mkdir -p "$DAHDI_VM_CACHE/bin"
cc -O2 -Wall -Werror -o "$DAHDI_VM_CACHE/bin/smoke" "$HERE/smoke.c"
exec "$HERE/run.sh" --conf "$HERE/system.conf" "$DAHDI_VM_CACHE/bin/smoke" "$@"
