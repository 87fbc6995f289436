#!/bin/sh
# Command agent on one virtio-serial port; runs one command at a time.
#
# Request (3 lines): "Q <id> <timeout-seconds|0> <cwd-b64>", base64 of a sh
# script (env exports + exec argv, quoted by the host), base64 of stdin.
# Reply (4 lines): "R <id> <rc>", base64 stdout, base64 stderr, "E <id>".
# base64 keeps binary output and embedded newlines exact; ids let the host
# drop a late reply to a call it already gave up on.
port=$1
work=$2
cd "$work" || exit 1
exec 3<>"$port"
echo "READY $(cat /proc/sys/kernel/random/boot_id)" >&3
while :; do
    # head (block reads) instead of sh read (byte reads): stdin can be MiBs.
    # The host sends the next request only after our reply, so head cannot
    # swallow part of the next one.
    head -n 3 <&3 > req
    if [ "$(wc -l < req)" -lt 3 ]; then
        # EOF: no host is connected to the port; poll until one is.
        sleep 0.2
        continue
    fi
    read -r tag id t cwd < req
    [ "$tag" = Q ] || continue
    sed -n 2p req | base64 -d > script
    sed -n 3p req | base64 -d > stdin
    cwd=$(echo "$cwd" | base64 -d)
    if [ "$t" -gt 0 ] 2>/dev/null; then
        (cd "$cwd" && exec timeout -s KILL "$t" /bin/sh "$work/script") \
            < stdin > out 2> err
    else
        (cd "$cwd" && exec /bin/sh "$work/script") < stdin > out 2> err
    fi
    rc=$?
    {
        echo "R $id $rc"
        base64 -w 0 out; echo
        base64 -w 0 err; echo
        echo "E $id"
    } >&3
    rm -f stdin out err script
done
