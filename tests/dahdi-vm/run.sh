#!/usr/bin/env bash
# run.sh [--conf system.conf] [--timeout SECS] [--file PATH]... BINARY [ARGS...]
#
# Boots the Debian kernel prepared by setup.sh in QEMU (TCG), loads the real
# DAHDI modules (dahdi auto_assign_spans=1, dahdi_dynamic, dahdi_dynamic_loc,
# dahdi_echocan_mg2), runs `dahdi_cfg -vv` with the given system.conf (default:
# system.conf next to this script: two looped 24-channel dynamic "loc" spans),
# then runs BINARY ARGS... as root inside the VM and exits with its status.
#
# BINARY may be static or dynamically linked (its ldd dependencies, including
# the ELF loader, are copied into the initramfs).  It runs with cwd /test.
# --file PATH (repeatable) copies PATH (a file, with its libraries if it is a
# program, or a directory) into /test as well.
# Exit codes: BINARY's status; 77 skip (setup not done / qemu missing);
#             2 usage; 124 VM timed out; 125 VM died / no exit marker /
#             module load or dahdi_cfg failed inside the VM.
# Env: DAHDI_VM_CACHE (default target/dahdi-vm), DAHDI_VM_TIMEOUT (default 300),
#      DAHDI_VM_APPEND (extra kernel cmdline, e.g. "loglevel=7" to see printk),
#      DAHDI_VM_KEEP=1 keep the initramfs staging dir,
#      DAHDI_VM_LOG console log file (default $CACHE/run/BINARY.console.log).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${DAHDI_VM_CACHE:-target/dahdi-vm}
CONF=$HERE/system.conf
TIMEOUT=${DAHDI_VM_TIMEOUT:-300}
MARK=DAHDI_VM_EXIT_STATUS

usage() { echo "usage: $0 [--conf system.conf] [--timeout SECS] [--file PATH]... BINARY [ARGS...]" >&2; exit 2; }
FILES=()
skip()  { echo "dahdi-vm run: SKIP: $*" >&2; exit 77; }
fail()  { echo "dahdi-vm run: ERROR: $*" >&2; exit 125; }

while [ $# -gt 0 ]; do
    case $1 in
        --conf) [ $# -ge 2 ] || usage; CONF=$2; shift 2 ;;
        --conf=*) CONF=${1#--conf=}; shift ;;
        --timeout) [ $# -ge 2 ] || usage; TIMEOUT=$2; shift 2 ;;
        --timeout=*) TIMEOUT=${1#--timeout=}; shift ;;
        --file) [ $# -ge 2 ] || usage; FILES+=("$2"); shift 2 ;;
        -h|--help) usage ;;
        --) shift; break ;;
        -*) usage ;;
        *) break ;;
    esac
done
[ $# -ge 1 ] || usage
BIN=$1; shift
[ -f "$BIN" ] && [ -x "$BIN" ] || { echo "dahdi-vm run: $BIN is not an executable file" >&2; exit 2; }
[ -f "$CONF" ] || { echo "dahdi-vm run: config $CONF not found" >&2; exit 2; }

[ -d "$CACHE" ] || skip "cache $CACHE missing: run setup.sh first"
CACHE=$(cd "$CACHE" && pwd)
[ -f "$CACHE/setup.env" ] || skip "$CACHE/setup.env missing: run setup.sh first"
# shellcheck disable=SC1091
. "$CACHE/setup.env"
[ -f "$VMLINUZ" ] || skip "kernel $VMLINUZ missing: run setup.sh"
for m in dahdi dahdi_dynamic dahdi_dynamic_loc dahdi_echocan_mg2; do
    [ -f "$MODDIR/$m.ko" ] || skip "$MODDIR/$m.ko missing: run setup.sh"
done
for t in qemu-system-x86_64 cpio gzip ldd timeout; do
    command -v $t >/dev/null || skip "$t not found"
done
[ -x "$BUSYBOX" ] && [ -x "$DAHDI_CFG" ] || skip "busybox/dahdi_cfg missing: run setup.sh"

mkdir -p "$CACHE/run"
STAGE=$(mktemp -d "$CACHE/run/initramfs.XXXXXX")
cleanup() { [ "${DAHDI_VM_KEEP:-0}" = 1 ] || rm -rf "$STAGE"; }
trap cleanup EXIT
R=$STAGE/root
mkdir -p "$R"/{bin,sbin,etc/dahdi,proc,sys,dev,tmp,run,test,lib/modules,usr/bin,usr/sbin}

# copy a file and all its shared libraries (and the ELF loader) from ldd
copy_with_libs() {  # $1 src  $2 dest in root
    install -D -m 0755 "$1" "$R$2"
    local lib
    # "libx.so => /path (0x..)", "/lib64/ld-linux-x86-64.so.2 (0x..)"; skip vdso
    # (static binaries and scripts: ldd fails, nothing to copy)
    { ldd "$1" 2>/dev/null || true; } | sed -n -e 's/.*=> \(\/[^ ]*\) .*/\1/p' -e 's/^[[:space:]]*\(\/[^ ]*\) (0x.*/\1/p' \
      | sort -u | while read -r lib; do
        [ -e "$R$lib" ] || install -D -m 0755 "$(readlink -f "$lib")" "$R$lib"
    done
}

install -m 0755 "$BUSYBOX" "$R/bin/busybox"
copy_with_libs "$DAHDI_CFG" /sbin/dahdi_cfg
for m in dahdi dahdi_dynamic dahdi_dynamic_loc dahdi_echocan_mg2; do
    cp "$MODDIR/$m.ko" "$R/lib/modules/"
done
cp "$CONF" "$R/etc/dahdi/system.conf"
# dahdi_cfg loads tone zones from libtonezone (compiled in); nothing else needed
BNAME=$(basename "$BIN")
copy_with_libs "$BIN" "/test/$BNAME"
for f in ${FILES[@]+"${FILES[@]}"}; do
    [ -e "$f" ] || { echo "dahdi-vm run: --file $f not found" >&2; exit 2; }
    if [ -d "$f" ]; then cp -r "$f" "$R/test/"
    elif [ -x "$f" ]; then copy_with_libs "$f" "/test/$(basename "$f")"
    else cp "$f" "$R/test/"; fi
done

# arguments, shell-quoted for the guest's sh
{
    printf 'set --'
    for a in "$@"; do printf " '%s'" "${a//\'/\'\\\'\'}"; done
    printf '\n'
} >"$R/test/args"

cat >"$R/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/shm /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /tmp
echo "dahdi-vm: kernel $(uname -r)"
die() {
    echo "dahdi-vm: SETUP FAILED: $*"
    echo "@@DAHDI_VM_SETUP_FAILED@@"
    sync; poweroff -f; sleep 10
}
insmod /lib/modules/dahdi.ko auto_assign_spans=1 || die "insmod dahdi"
for m in dahdi_dynamic dahdi_dynamic_loc dahdi_echocan_mg2; do
    insmod /lib/modules/$m.ko || die "insmod $m"
done
echo "dahdi-vm: modules loaded"
dahdi_cfg -vv || die "dahdi_cfg exit $?"
ls /dev/dahdi/ >/dev/null 2>&1 || die "/dev/dahdi missing"
echo "dahdi-vm: running test"
cd /test
. /test/args
./BINARY "$@"
rc=$?
echo "@@DAHDI_VM_EXIT_STATUS=$rc@@"
sync
poweroff -f
sleep 10
EOF
sed -i "s|./BINARY|./$BNAME|" "$R/init"
chmod 0755 "$R/init"

INITRD=$STAGE/initrd.gz
( cd "$R" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0 | gzip -1 ) >"$INITRD"

LOGF=${DAHDI_VM_LOG:-$CACHE/run/$BNAME.console.log}
echo "dahdi-vm run: booting $KVER ($(du -h "$INITRD" | cut -f1) initramfs, timeout ${TIMEOUT}s), console log: $LOGF" >&2
set +e
timeout -k 10 "$TIMEOUT" qemu-system-x86_64 -accel tcg -m 512 -smp 1 -nographic -no-reboot -net none \
    -kernel "$VMLINUZ" -initrd "$INITRD" \
    -append "console=ttyS0 panic=-1 quiet ${DAHDI_VM_APPEND:-}" </dev/null 2>&1 \
    | sed -u -e 's/\r$//' -e 's/\x1b\[[?0-9;]*[a-zA-Z]//g' -e 's/\x1bc//g' | tee "$LOGF"
st=("${PIPESTATUS[@]}")
set -e
qst=${st[0]}
if [ "$qst" = 124 ] || [ "$qst" = 137 ]; then
    echo "dahdi-vm run: VM timed out after ${TIMEOUT}s" >&2; exit 124
fi
if grep -q '@@DAHDI_VM_SETUP_FAILED@@' "$LOGF"; then fail "module load / dahdi_cfg failed in the VM"; fi
rc=$(sed -n "s/.*@@$MARK=\([0-9]*\)@@.*/\1/p" "$LOGF" | tail -1)
[ -n "$rc" ] || fail "VM exited (qemu status $qst) without an exit marker"
echo "dahdi-vm run: $BNAME exited with status $rc" >&2
exit "$rc"
