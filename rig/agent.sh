#!/bin/sh
# Command agent on one virtio-serial port; runs one command at a time.
#
# Request, 3 lines:  "Q <id> <timeout-seconds|0> <has-stdin 0|1>",
#                    base64 of a sh script (cd + env exports + exec argv,
#                    quoted by the host), base64 of stdin (may be empty).
# Reply, 4 lines:    "R <id> <rc>", base64 stdout, base64 stderr, "E <id>".
# base64 keeps binary output and embedded newlines exact; ids let the host
# skip a late reply to a call it already gave up on.
# Every fork costs milliseconds under TCG, hence the builtins and the
# skipped steps for empty stdin/stdout/stderr.
port=$1
work=$2
cd "$work" || exit 1
exec 3<>"$port"
: > empty
echo "READY $(cat /proc/sys/kernel/random/boot_id)" >&3
while :; do
    # head (block reads), not sh read (byte reads): stdin can be MiBs.  The
    # host sends the next request only after our reply, so head cannot
    # swallow part of the next one.
    head -n 3 <&3 > req
    { read -r tag id t has_in; read -r script; } < req
    if [ "$tag" != Q ]; then
        # EOF: no host is connected to the port; poll until one is.
        sleep 0.2
        continue
    fi
    base64 -d > script <<EOS
$script
EOS
    in=empty
    if [ "$has_in" = 1 ]; then
        sed -n 3p req | base64 -d > stdin
        in=stdin
    fi
    if [ "$t" -gt 0 ] 2>/dev/null; then
        timeout -s KILL "$t" /bin/sh script < $in > out 2> err 3>&-
    else
        /bin/sh script < $in > out 2> err 3>&-
    fi
    rc=$?
    {
        echo "R $id $rc"
        if [ -s out ]; then base64 -w 0 out; fi; echo
        if [ -s err ]; then base64 -w 0 err; fi; echo
        echo "E $id"
    } >&3
    # New files for every command: a daemon the command started may still
    # hold the old ones open and would scribble into the next reply.  Done
    # after the reply, so off the caller's clock.
    rm -f out err stdin
done
