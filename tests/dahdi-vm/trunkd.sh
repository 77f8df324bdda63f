#!/usr/bin/env bash
# trunkd.sh [TRUNKD]: trunkd on the real DAHDI driver in QEMU (see README.md).
# Two daemons on six looped dahdi_dynamic_loc spans place and answer a PRI call, an
# E&M call over CAS and loop-start calls both ways between an FXO and an FXS port, each with audio
# checked both ways, then see alarms when a span goes away and clear when it returns.
# Exit: 0 pass, 77 skipped (no QEMU/packages), anything else failure.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export DAHDI_VM_CACHE=${DAHDI_VM_CACHE:-target/dahdi-vm}
TRUNKD=${1:-target/release/trunkd}
[ -x "$TRUNKD" ] || { echo "dahdi-vm trunkd: $TRUNKD not built (cargo build --release)" >&2; exit 2; }
"$HERE/setup.sh"
command -v cc >/dev/null || { echo "dahdi-vm trunkd: SKIP: no C compiler" >&2; exit 77; }
INC=${DAHDI_INCLUDE:-/usr/include}
[ -f "$INC/dahdi/user.h" ] || { echo "dahdi-vm trunkd: SKIP: <dahdi/user.h> missing (dahdi-source)" >&2; exit 77; }
mkdir -p "$DAHDI_VM_CACHE/bin"
cc -O2 -Wall -Werror -I"$INC" -o "$DAHDI_VM_CACHE/bin/spanctl" "$HERE/gateway/spanctl.c"
G=$HERE/gateway
exec "$HERE/run.sh" --conf "$G/system.conf" --timeout "${DAHDI_VM_TIMEOUT:-600}" \
    --file "$TRUNKD" --file "$DAHDI_VM_CACHE/bin/spanctl" \
    --file "$G/a.toml" --file "$G/b.toml" --file "$G/scripts" \
    "$G/guest.sh"
