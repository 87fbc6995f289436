#!/bin/sh
# PID 1 of a rig VM.  Parameters come from the kernel command line so that one
# cached initramfs serves every host:
#   rig.host=NAME  rig.share=/abs/path  rig.channels=N
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm /dev/mapper
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
mkdir -p /run/lock/lvm /run/lvm /run/tgtd /etc/lvm/backup /etc/lvm/archive

for m in $(cat /etc/rig/modules); do
    insmod "$m" 2>/dev/null || echo "rig: insmod $m failed" >&2
done

for arg in $(cat /proc/cmdline); do
    case "$arg" in
        rig.host=*) RIG_HOST=${arg#rig.host=} ;;
        rig.share=*) RIG_SHARE=${arg#rig.share=} ;;
    esac
done
hostname "${RIG_HOST:-rig}"
ip link set lo up 2>/dev/null

# The share is mounted at the host's own path so that a path the test
# process computes on the host is valid inside every VM.  cache=none keeps
# a file written on the host immediately visible here.
if [ -n "$RIG_SHARE" ]; then
    mkdir -p "$RIG_SHARE"
    mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144,cache=none \
        share "$RIG_SHARE" || echo "rig: 9p mount failed" >&2
fi

# One agent per virtio-serial port named rig.N; wait for devtmpfs nodes.
started=0
for i in $(seq 1 100); do
    for p in /sys/class/virtio-ports/*; do
        [ -e "$p/name" ] || continue
        name=$(cat "$p/name")
        dev=/dev/${p##*/}
        case "$name" in rig.*) ;; *) continue ;; esac
        [ -e "/tmp/agent.$name" ] && continue
        [ -c "$dev" ] || continue
        mkdir -p "/tmp/agent.$name"
        /bin/sh /etc/rig/agent.sh "$dev" "/tmp/agent.$name" &
        started=$((started + 1))
    done
    [ -e /sys/class/virtio-ports ] && [ "$started" -ge \
        "$(ls /sys/class/virtio-ports | wc -l)" ] && break
    sleep 0.1
done
echo "rig: $started agents on ${RIG_HOST}"

# PID 1 must never exit (the kernel would panic); reap orphans forever.
while :; do wait; sleep 3600; done
