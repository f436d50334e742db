#!/bin/sh
# Boots Debian's stock kernel in qemu (TCG) with an initramfs holding busybox and one statically
# linked test binary, runs the binary as /init's child, and turns its result line into an exit
# status. Used by the 'vm' meson suite for what the host kernel cannot do (kprobes, fentry).
#
# usage: run-vm.sh CACHE_DIR TEST_BINARY [KERNEL] [-- test args...]
#   CACHE_DIR  where the kernel package is downloaded once and the initramfs is built
#   KERNEL     empty: Debian's linux-image-amd64 (6.1), fetched with apt-get download;
#              'backports': bookworm-backports' linux-image-amd64 (6.12), fetched through a
#              private apt configuration (.ci/apt-backports), the machine's sources untouched;
#              anything else: a kernel image (vmlinuz) to boot
# The kernel's own modules are not in the initramfs, except those of $modules below, taken from
# the same package (a user's KERNEL image gets none: the tests that need them skip).
# environment: BPFCO_VM_TIMEOUT (seconds, default 150), BPFCO_VM_MEMORY (MiB, default 1024),
#   BPFCO_VM_EXPECT (comma list of bpfco::features the guest kernel must have; passed to the
#   test binary, whose "kernel features" case asserts them), BPFCO_VM_APPEND (more kernel
#   parameters, e.g. lockdown=integrity)
set -eu

[ $# -ge 2 ] || { echo "usage: $0 CACHE_DIR TEST_BINARY [VMLINUZ] [-- test args...]"; exit 2; }
cache=$1 binary=$2
shift 2
kernel=
if [ $# -gt 0 ] && [ "$1" != "--" ]; then kernel=$1; shift; fi
if [ $# -gt 0 ] && [ "$1" = "--" ]; then shift; fi
timeout_s=${BPFCO_VM_TIMEOUT:-150}
memory=${BPFCO_VM_MEMORY:-1024}
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)

say() { echo "run-vm: $*"; }
fail() { echo "run-vm: FAILED: $*"; exit 1; }

for tool in qemu-system-x86_64 cpio gzip; do
    command -v $tool >/dev/null || fail "$tool not found (apt-get install qemu-system-x86 cpio)"
done
busybox=/bin/busybox
[ -x $busybox ] && $busybox --list >/dev/null 2>&1 || fail "$busybox missing (apt-get install busybox-static)"
ldd $busybox 2>&1 | grep -q 'not a dynamic' || fail "$busybox is not statically linked (install busybox-static)"

# The modules the guest loads at boot: the clsact qdisc and the BPF classifier, for the netlink TC
# attach path (Debian builds them as modules).
modules="net/sched/sch_ingress net/sched/cls_bpf"

# Unpacks boot/vmlinuz from a kernel .deb into $2, and $modules (decompressed) into $2.modules/.
unpack_vmlinuz() {
    dl=$(dirname "$2")/unpack.$$
    rm -rf "$dl"; mkdir -p "$dl"
    patterns=""
    for m in $modules; do patterns="$patterns ./lib/modules/*/kernel/$m.ko*"; done
    dpkg-deb --fsys-tarfile "$1" | (cd "$dl" && tar -x --wildcards './boot/vmlinuz-*' $patterns) ||
        fail "cannot unpack boot/vmlinuz and the modules $modules from $1"
    rm -rf "$2.modules"; mkdir -p "$2.modules"
    for ko in $(find "$dl"/lib/modules -name '*.ko*'); do
        case $ko in
        *.ko.xz) xz -dc "$ko" > "$2.modules/$(basename "$ko" .xz)" ;;
        *.ko.zst) zstd -qdc "$ko" > "$2.modules/$(basename "$ko" .zst)" ;;
        *) cp "$ko" "$2.modules/" ;;
        esac || fail "cannot decompress $ko"
    done
    cp "$dl"/boot/vmlinuz-* "$2.tmp" && mv "$2.tmp" "$2"
    rm -rf "$dl"
}

# The kernel: a user's image, or a Debian kernel fetched once into the cache.
if [ "$kernel" = backports ]; then
    kernel=$cache/backports.vmlinuz
    if [ ! -s "$kernel" ] || [ ! -d "$kernel.modules" ]; then
        apt_backports=$(dirname "$0")/../../.ci/apt-backports
        dl=$cache/backports-download
        rm -rf "$dl"
        say "downloading bookworm-backports' linux-image-amd64 (private apt configuration; cached in $cache)"
        meta=$("$apt_backports" "$dl" linux-image-amd64) || fail "cannot download linux-image-amd64 from bookworm-backports"
        pkg=$(dpkg-deb -f "$meta" Depends | tr ',' '\n' | sed -n 's/^ *\(linux-image-[0-9][^ ]*-amd64\).*/\1/p' | head -n1)
        [ -n "$pkg" ] || fail "bookworm-backports' linux-image-amd64 names no kernel package"
        deb=$("$apt_backports" "$dl" "$pkg" | grep "/${pkg}_") || fail "cannot download $pkg from bookworm-backports"
        unpack_vmlinuz "$deb" "$kernel"
        rm -rf "$dl"
    fi
elif [ -z "$kernel" ]; then
    pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | head -n1)
    [ -n "$pkg" ] || fail "apt-cache depends linux-image-amd64 names no kernel package; pass -Dvm_kernel=/path/to/vmlinuz"
    kernel=$cache/$pkg.vmlinuz
    if [ ! -s "$kernel" ] || [ ! -d "$kernel.modules" ]; then
        say "downloading $pkg (apt-get download; cached in $cache)"
        dl=$cache/download
        rm -rf "$dl"; mkdir -p "$dl"
        (cd "$dl" && apt-get download -q "$pkg" >/dev/null 2>&1 ||
            apt-get download "$pkg") || fail "apt-get download $pkg"
        unpack_vmlinuz "$dl"/"$pkg"_*.deb "$kernel"
        rm -rf "$dl"
    fi
fi
[ -s "$kernel" ] || fail "kernel image '$kernel' not found"

# The initramfs: busybox with its applet links, the test binary, and /init.
root=$cache/initramfs.root
rm -rf "$root"
mkdir -p "$root"/bin "$root"/proc "$root"/sys "$root"/dev "$root"/tmp "$root"/run
cp $busybox "$root"/bin/busybox
for applet in $($busybox --list); do
    [ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"
done
cp "$binary" "$root"/test
mkdir -p "$root"/modules
[ -d "$kernel.modules" ] && cp "$kernel.modules"/*.ko "$root"/modules/ 2>/dev/null
args=""
for a in "$@"; do args="$args '$a'"; done
cat > "$root"/init <<INIT
#!/bin/busybox sh
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t tmpfs tmpfs /tmp
mount -t tracefs tracefs /sys/kernel/tracing
mount -t debugfs debugfs /sys/kernel/debug
mount -t bpf bpf /sys/fs/bpf
mount -t securityfs securityfs /sys/kernel/security
for m in /modules/*.ko; do [ -e "\$m" ] && insmod "\$m"; done
echo "BPFCO-VM: kernel \$(uname -r), \$(nproc) cpu, lsm=\$(cat /sys/kernel/security/lsm 2>/dev/null), lockdown: \$(cat /sys/kernel/security/lockdown 2>/dev/null)"
export BPFCO_VM_EXPECT='${BPFCO_VM_EXPECT:-}'
/test $args
echo "BPFCO-VM-RESULT: exit=\$?"
poweroff -f
INIT
chmod 755 "$root"/init
(cd "$root" && find . | cpio -o -H newc --quiet) | gzip -1 > "$cache"/initrd.gz
rm -rf "$root"

say "booting $(basename "$kernel") in qemu (TCG, timeout ${timeout_s}s)"
log=$cache/serial.log
start=$(date +%s)
status=0
timeout "$timeout_s" qemu-system-x86_64 -accel tcg -cpu max -m "$memory" -nographic -no-reboot \
    -kernel "$kernel" -initrd "$cache"/initrd.gz \
    -append "console=ttyS0 panic=-1 quiet lsm=capability,bpf ${BPFCO_VM_APPEND:-}" </dev/null >"$log" 2>&1 || status=$?
elapsed=$(( $(date +%s) - start ))
# The serial log without carriage returns and the firmware's terminal escapes.
tr -d '\r' < "$log" | sed 's/\x1b\[[0-9;?]*[A-Za-z]//g; s/\x1bc//g'
[ $status -eq 124 ] && fail "qemu timed out after ${timeout_s}s"
result=$(tr -d '\r' < "$log" | sed -n 's/^BPFCO-VM-RESULT: exit=\([0-9]*\)$/\1/p' | tail -n1)
[ -n "$result" ] || fail "no result line in the serial output (qemu exit $status)"
say "boot, tests and power-off took ${elapsed}s; test exit status $result"
[ "$result" = 0 ] || fail "tests in the VM failed"
say "PASSED"
