#!/usr/bin/env bash
# Runs a command in a real Linux kernel whose cgroup v2 hierarchy has the memory, cpu and pids
# controllers (only cgroup2 mounted), for tests of jobod's cgroup v2 path on hosts that cannot
# offer it (a hybrid host binds those controllers to v1; this project's CI is one).
#
#   scripts/cgroup-v2-vm.sh COMMAND [ARG...]
#
# The guest is Debian's kernel (linux-image-amd64) under qemu (KVM where /dev/kvm works, else
# software emulation), booted from a small initramfs (busybox and the kernel's 9p, virtio and
# overlay modules) that mounts this host's / read-only over 9p with a tmpfs overlay on top, so
# the command, its binaries and their libraries are the host's, at the same paths, and what it
# writes stays in the guest. COMMAND runs as root in the root cgroup, in the current directory,
# with /tmp (but for the command's own dir below it), /dev/shm and /run fresh. The last line printed is `cgroup-v2-vm: exit N`, N the
# command's exit status; the script exits with it too (2: the VM could not run it).
#
# Needs root (the 9p share of /), qemu-system-x86, linux-image-amd64 and busybox-static.
set -euo pipefail

[ $# -gt 0 ] || { echo "usage: $0 COMMAND [ARG...]" >&2; exit 2; }
kernel=$(ls /boot/vmlinuz-* 2>/dev/null | sort -V | tail -1 || true)
[ -n "$kernel" ] || { echo "cgroup-v2-vm: no kernel in /boot (apt-get install linux-image-amd64)" >&2; exit 2; }
version=${kernel#/boot/vmlinuz-}
modules=/lib/modules/$version
busybox=$(command -v busybox || true)
qemu=$(command -v qemu-system-x86_64 || true)
[ -n "$qemu" ] || { echo "cgroup-v2-vm: no qemu-system-x86_64 (apt-get install qemu-system-x86)" >&2; exit 2; }
[ -n "$busybox" ] || { echo "cgroup-v2-vm: no busybox (apt-get install busybox-static)" >&2; exit 2; }

work=$(mktemp -d /tmp/cgroup-v2-vm.XXXXXX)
trap 'rm -rf "$work"' EXIT
init=$work/initramfs
mkdir -p "$init"/{bin,mods,proc,sys,dev,host,upper,root}
cp "$busybox" "$init/bin/busybox"
# The modules for a 9p root and the overlay on it, in load order.
for m in drivers/virtio/virtio_ring drivers/virtio/virtio drivers/virtio/virtio_pci_legacy_dev \
    drivers/virtio/virtio_pci_modern_dev drivers/virtio/virtio_pci fs/netfs/netfs \
    fs/fscache/fscache net/9p/9pnet net/9p/9pnet_virtio fs/9p/9p fs/overlayfs/overlay; do
    ko=$modules/kernel/$m.ko
    if [ -f "$ko.xz" ]; then xz -dc "$ko.xz" >"$init/mods/$(basename "$m").ko"
    elif [ -f "$ko" ]; then cp "$ko" "$init/mods/"
    fi   # else built into this kernel
done
# The command, quoted for the guest's shell, and where it runs.
printf '%q ' "$@" >"$init/command"
pwd >"$init/cwd"
cat >"$init/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sys /sys
/bin/busybox mount -t devtmpfs dev /dev
for m in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci netfs \
    fscache 9pnet 9pnet_virtio 9p overlay; do
    [ -f /mods/$m.ko ] && /bin/busybox insmod /mods/$m.ko
done
fail() { echo "cgroup-v2-vm: $*"; echo "cgroup-v2-vm: exit 2"; /bin/busybox poweroff -f; }
/bin/busybox mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose,msize=262144 \
    hostroot /host || fail "cannot mount the host's / over 9p"
/bin/busybox mount -t tmpfs -o size=4g upper /upper
/bin/busybox mkdir -p /upper/data /upper/work
/bin/busybox mount -t overlay -o lowerdir=/host,upperdir=/upper/data,workdir=/upper/work \
    overlay /root || fail "cannot mount the overlay"
r=/root
/bin/busybox mount -t proc proc $r/proc
/bin/busybox mount -t sysfs sys $r/sys
/bin/busybox mount -t devtmpfs dev $r/dev
/bin/busybox mkdir -p $r/dev/pts $r/dev/shm
/bin/busybox mount -t devpts devpts $r/dev/pts
/bin/busybox mount -t tmpfs tmpfs $r/dev/shm
# A fresh /tmp, but a command run from below /tmp (a clone in `mktemp -d`) keeps its dir: the
# host's, through the overlay, bound back over the fresh tmpfs.
cwd=$(/bin/busybox cat /cwd)
keep=
case "$cwd" in /tmp/?*) rest=${cwd#/tmp/}; keep=/tmp/${rest%%/*} ;; esac
if [ -n "$keep" ]; then
    /bin/busybox mkdir -p /keep && /bin/busybox mount -o bind "$r$keep" /keep || fail "cannot keep $keep"
fi
/bin/busybox mount -t tmpfs tmpfs $r/tmp
if [ -n "$keep" ]; then
    /bin/busybox mkdir -p "$r$keep" && /bin/busybox mount -o bind /keep "$r$keep" || fail "cannot keep $keep"
fi
/bin/busybox mount -t tmpfs tmpfs $r/run
/bin/busybox mount -t cgroup2 cgroup2 $r/sys/fs/cgroup || fail "cannot mount cgroup2"
/bin/busybox cp /command /cwd $r/run/
echo "cgroup-v2-vm: kernel $(/bin/busybox uname -r), cgroup2 controllers: $(/bin/busybox cat $r/sys/fs/cgroup/cgroup.controllers)"
/bin/busybox chroot $r /bin/sh -c 'cd "$(cat /run/cwd)" && export HOME=/root PATH=/usr/local/cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin && eval "$(cat /run/command)"' </dev/null
echo "cgroup-v2-vm: exit $?"
/bin/busybox sync
/bin/busybox poweroff -f
EOF
chmod +x "$init/init"
(cd "$init" && find . | cpio -o -H newc --quiet | gzip -1) >"$work/initramfs.gz"

echo "cgroup-v2-vm: $kernel under qemu" >&2
log=$work/console
set +e
timeout "${CGROUP_V2_VM_TIMEOUT:-900}" "$qemu" ${CGROUP_V2_VM_ACCEL:--accel tcg} -m "${CGROUP_V2_VM_MEMORY:-3G}" -smp 2 \
    -nographic -no-reboot -nodefaults -serial stdio \
    -kernel "$kernel" -initrd "$work/initramfs.gz" \
    -append "console=ttyS0 quiet panic=-1 rdinit=/init cgroup_no_v1=all systemd.unified_cgroup_hierarchy=1" \
    -virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
    </dev/null | tr -d '\r' | tee "$log"
set -e
rc=$(sed -n 's/^cgroup-v2-vm: exit \([0-9]*\)$/\1/p' "$log" | tail -1)
exit "${rc:-2}"
