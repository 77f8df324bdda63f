#!/usr/bin/env bash
# setup.sh - prepare everything needed to run a test binary against the real
# DAHDI kernel driver inside a QEMU (TCG) VM.  Idempotent; all state lives in
# $DAHDI_VM_CACHE (default: target/dahdi-vm, relative to the current dir).
#
# Exit codes: 0 ok, 77 skipped (something needed is unavailable), 1 error.
#
# Env:
#   DAHDI_VM_CACHE   cache directory                    (default target/dahdi-vm)
#   DAHDI_VM_KVER    force a kernel version, e.g. 6.1.0-56-amd64
#   DAHDI_VM_NO_APT  =1: never call apt-get install (skip if packages missing)
set -euo pipefail

CACHE=${DAHDI_VM_CACHE:-target/dahdi-vm}
mkdir -p "$CACHE"
CACHE=$(cd "$CACHE" && pwd)
LOG=$CACHE/logs
mkdir -p "$LOG" "$CACHE/debs" "$CACHE/kernel" "$CACHE/modules"

# serialize concurrent setups on the same cache
if command -v flock >/dev/null && [ -z "${DAHDI_VM_LOCKED:-}" ]; then
    exec env DAHDI_VM_LOCKED=1 DAHDI_VM_CACHE="$CACHE" flock "$CACHE/.setup.lock" "$0" "$@"
fi

say()  { echo "dahdi-vm setup: $*" >&2; }
skip() { echo "dahdi-vm setup: SKIP: $*" >&2; exit 77; }
die()  { echo "dahdi-vm setup: ERROR: $*" >&2; exit 1; }
now()  { date +%s; }
T0=$(now)

[ "$(uname -m)" = x86_64 ] || skip "host is $(uname -m), only x86_64 is supported"
command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null \
    || skip "not a Debian/apt system (apt-get/dpkg-deb missing)"

# ---------------------------------------------------------------- packages
# dahdi: dahdi_cfg; dahdi-source: driver tarball + <dahdi/user.h>;
# gcc-12/make/libc6-dev: kbuild (Debian 12 kernels are built with gcc-12).
PKGS=(dahdi dahdi-source qemu-system-x86 busybox-static cpio gzip bzip2 make gcc gcc-12 libc6-dev)
APT_UPDATED=0
apt_update() {
    [ $APT_UPDATED = 1 ] && return 0
    say "apt-get update"
    apt-get update -q >"$LOG/apt-update.log" 2>&1 || skip "apt-get update failed (see $LOG/apt-update.log)"
    APT_UPDATED=1
}
missing=()
for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    [ "${DAHDI_VM_NO_APT:-0}" = 1 ] && skip "missing packages: ${missing[*]} (DAHDI_VM_NO_APT=1)"
    if [ "$(id -u)" = 0 ]; then SUDO=; elif sudo -n true 2>/dev/null; then SUDO=sudo; else
        skip "missing packages ${missing[*]} and not root / no passwordless sudo"; fi
    apt_update
    say "installing: ${missing[*]}"
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" \
        >"$LOG/apt-install.log" 2>&1 || skip "apt-get install ${missing[*]} failed (see $LOG/apt-install.log)"
fi
[ -f /usr/src/dahdi.tar.bz2 ] || skip "/usr/src/dahdi.tar.bz2 missing (dahdi-source)"
DAHDI_CFG=$(command -v dahdi_cfg || echo /usr/sbin/dahdi_cfg)
[ -x "$DAHDI_CFG" ] || skip "dahdi_cfg not found (package dahdi)"
[ -x /bin/busybox ] || skip "/bin/busybox missing (busybox-static)"
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 missing"
SRCVER=$(dpkg-query -W -f='${Version}' dahdi-source)
T_PKGS=$(( $(now) - T0 ))

# ---------------------------------------------------------------- cached?
ENVF=$CACHE/setup.env
if [ -f "$ENVF" ]; then
    # shellcheck disable=SC1090
    . "$ENVF"
    if [ "${DAHDI_SRCVER:-}" = "$SRCVER" ] && [ -f "${VMLINUZ:-/nonexistent}" ] \
       && [ -f "$MODDIR/dahdi.ko" ] && { [ -z "${DAHDI_VM_KVER:-}" ] || [ "$DAHDI_VM_KVER" = "$KVER" ]; }; then
        say "already set up (KVER=$KVER), nothing to do; rm -rf $CACHE to redo"
        exit 0
    fi
fi

# ---------------------------------------------------------------- pick KVER
# Candidates: linux-headers-<ver>-amd64 (no cloud/rt flavour) that have a
# matching linux-image-<ver>-amd64 (signed or unsigned) - newest first.
candidates() {
    apt-cache pkgnames linux-headers- 2>/dev/null \
      | sed -n 's/^linux-headers-\([0-9][^ ]*-amd64\)$/\1/p' \
      | grep -E '^[0-9]+\.[0-9]+\.[0-9]+' | grep -Ev -- '-(cloud|rt)-amd64$' | sort -rV | while read -r k; do
          if apt-cache show "linux-image-$k" >/dev/null 2>&1; then echo "$k"
          elif apt-cache show "linux-image-$k-unsigned" >/dev/null 2>&1; then echo "$k"; fi
      done
}
if [ -n "${DAHDI_VM_KVER:-}" ]; then
    CANDS=$DAHDI_VM_KVER
else
    CANDS=$(candidates)
    if [ -z "$CANDS" ]; then apt_update; CANDS=$(candidates); fi
fi
[ -n "$CANDS" ] || skip "no linux-headers-*-amd64 with matching linux-image in the apt archive"
say "kernel candidates (newest first): $(echo $CANDS | tr '\n' ' ')"

# Fetch headers (+ -common, + linux-kbuild) as .debs and unpack them in the
# cache rather than installing them: on Debian 12 the 6.12 headers depend on
# the image, and installing an image runs dkms/initramfs hooks on the host.
fetch_headers() {  # $1=KVER -> prints the headers dir
    local k=$1 root=$CACHE/kernel/$1/root d
    if [ -f "$CACHE/kernel/$k/.headers-ok" ]; then echo "$root/usr/src/linux-headers-$k"; return 0; fi
    rm -rf "$CACHE/kernel/$k"; mkdir -p "$root"
    local deps pkgs=("linux-headers-$k")
    deps=$(apt-cache depends "linux-headers-$k" 2>/dev/null | sed -n 's/^ *Depends: \(linux-\(headers\|kbuild\)-[^ ]*\)$/\1/p')
    pkgs+=($deps)
    say "downloading ${pkgs[*]}"
    ( cd "$CACHE/debs" && apt-get download "${pkgs[@]}" ) >"$LOG/download-headers-$k.log" 2>&1 || return 1
    for p in "${pkgs[@]}"; do
        d=$(ls "$CACHE/debs/${p}_"*.deb | sort -V | tail -1)
        dpkg-deb -x "$d" "$root" || return 1
    done
    # The flavour Makefile is "include /usr/src/linux-headers-X-common/Makefile":
    # point it into the cache.
    sed -i "s|^include /usr/src/|include $root/usr/src/|" "$root/usr/src/linux-headers-$k/Makefile" || return 1
    touch "$CACHE/kernel/$k/.headers-ok"
    rm -f "$CACHE/debs/"linux-headers-*.deb "$CACHE/debs/"linux-kbuild-*.deb
    echo "$root/usr/src/linux-headers-$k"
}

MODS=(dahdi dahdi_dynamic dahdi_dynamic_loc dahdi_echocan_mg2)
build_modules() {  # $1=KVER $2=headers dir
    local k=$1 kdir=$2 b=$CACHE/kernel/$1/build
    rm -rf "$b"; mkdir -p "$b"
    tar xjf /usr/src/dahdi.tar.bz2 -C "$b"
    local src=$b/modules/dahdi
    make -C "$src" include/dahdi/version.h >"$LOG/build-$k.log" 2>&1 || return 1
    make -j"$(nproc)" -C "$kdir" M="$src/drivers/dahdi" DAHDI_INCLUDE="$src/include" \
        CONFIG_DAHDI=m CONFIG_DAHDI_DYNAMIC=m CONFIG_DAHDI_DYNAMIC_LOC=m CONFIG_DAHDI_ECHOCAN_MG2=m \
        modules >>"$LOG/build-$k.log" 2>&1 || return 1
    mkdir -p "$CACHE/modules/$k"
    for m in "${MODS[@]}"; do cp "$src/drivers/dahdi/$m.ko" "$CACHE/modules/$k/" || return 1; done
    rm -rf "$b"
}

fetch_kernel() {  # $1=KVER: extract only /boot/vmlinuz-KVER from the image .deb
    local k=$1 out=$CACHE/kernel/$1/vmlinuz-$1 p
    [ -f "$out" ] && return 0
    p=linux-image-$k
    apt-cache show "$p" >/dev/null 2>&1 || p=linux-image-$k-unsigned
    say "downloading $p"
    ( cd "$CACHE/debs" && apt-get download "$p" ) >"$LOG/download-image-$k.log" 2>&1 || return 1
    local d; d=$(ls "$CACHE/debs/${p}_"*.deb | sort -V | tail -1)
    mkdir -p "$CACHE/kernel/$k/img"
    # --occurrence=1: stop once vmlinuz (near the start) is out instead of
    # decompressing the whole ~400 MB of modules (saves ~40 s); dpkg-deb then
    # gets SIGPIPE, hence the "|| true" and the explicit check below.
    { dpkg-deb --fsys-tarfile "$d" 2>/dev/null || true; } \
        | tar -x -C "$CACHE/kernel/$k/img" --occurrence=1 "./boot/vmlinuz-$k"
    [ -s "$CACHE/kernel/$k/img/boot/vmlinuz-$k" ] || return 1
    mv "$CACHE/kernel/$k/img/boot/vmlinuz-$k" "$out"
    rm -rf "$CACHE/kernel/$k/img" "$d"
}

KVER=
FAILED_SERIES=" "
for k in $CANDS; do
    series=$(echo "$k" | sed -E 's/^([0-9]+\.[0-9]+).*/\1/')
    # one failed build marks the whole X.Y series as unusable for this dahdi-source
    fail_stamp=$CACHE/kernel/build-failed-series-$series-dahdi-$SRCVER
    if [ -f "$fail_stamp" ] || [[ "$FAILED_SERIES" == *" $series "* ]]; then
        say "skipping $k (dahdi-source $SRCVER does not build for the $series series)"; continue
    fi
    T1=$(now)
    kdir=$(fetch_headers "$k") || { say "could not fetch headers for $k"; continue; }
    say "building DAHDI modules for $k (log: $LOG/build-$k.log)"
    if build_modules "$k" "$kdir"; then
        T_BUILD=$(( $(now) - T1 ))
        say "modules built in ${T_BUILD}s"
        fetch_kernel "$k" || { say "could not fetch linux-image for $k"; continue; }
        KVER=$k; break
    fi
    say "build failed for $k: $(grep -m1 -E 'error:' "$LOG/build-$k.log" || tail -1 "$LOG/build-$k.log")"
    touch "$fail_stamp"; FAILED_SERIES+="$series "
    # failed kernels: drop their headers to save space
    rm -rf "$CACHE/kernel/$k"
done
[ -n "$KVER" ] || skip "could not build DAHDI modules for any candidate kernel"

# drop headers of the chosen kernel too: only vmlinuz + .ko are needed later
rm -rf "$CACHE/kernel/$KVER/root"; rm -f "$CACHE/kernel/$KVER/.headers-ok"

cat >"$ENVF.tmp" <<EOF
# generated by setup.sh on $(date -u +%FT%TZ)
KVER=$KVER
VMLINUZ=$CACHE/kernel/$KVER/vmlinuz-$KVER
MODDIR=$CACHE/modules/$KVER
DAHDI_CFG=$DAHDI_CFG
DAHDI_SRCVER=$SRCVER
DAHDI_TOOLS_VER=$(dpkg-query -W -f='${Version}' dahdi)
BUSYBOX=/bin/busybox
EOF
mv "$ENVF.tmp" "$ENVF"
say "done in $(( $(now) - T0 ))s (packages ${T_PKGS}s, modules ${T_BUILD:-?}s); KVER=$KVER; env: $ENVF"
cat "$ENVF" >&2
