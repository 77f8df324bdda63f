#!/bin/sh
# Runs inside the VM (cwd /test; see trunkd.sh): two trunkd daemons on the six looped
# spans of system.conf, A placing calls that B answers (and B one that A answers), both
# ends running scripts/exchange.lua. Each call checks audio both ways (DTMF digits sent
# by one side, collected by the other). Then span 2 is destroyed and re-created, as a
# card or a TDMoE peer disappears and comes back.
T=/test/trunkd
fails=0
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
# wait_count FILE PATTERN N SECONDS: until PATTERN is on at least N lines of FILE
wait_count() {
    i=0
    while [ $i -lt $(($4 * 5)) ]; do
        [ "$(grep -c "$2" "$1" 2>/dev/null)" -ge "$3" ] && return 0
        sleep 0.2
        i=$((i + 1))
    done
    return 1
}
# wait_for FILE PATTERN SECONDS: until PATTERN is in FILE
wait_for() { wait_count "$1" "$2" 1 "$3"; }
# wait_spans WHO PATTERN SECONDS: until `trunkd ctl spans` of WHO shows PATTERN
wait_spans() {
    i=0
    while [ $i -lt $(($3 * 2)) ]; do
        $T ctl --socket /tmp/$1/trunkd.ctl spans >/tmp/$1.spans 2>&1
        grep -q "$2" /tmp/$1.spans && return 0
        sleep 0.5
        i=$((i + 1))
    done
    cat /tmp/$1.spans
    return 1
}
ctl() { who=$1; shift; $T ctl --socket /tmp/$who/trunkd.ctl "$@"; }

# What the driver has, as trunkd's config names it.
if $T dahdi spans >/tmp/dahdi-spans.txt && grep -q "^span 1 " /tmp/dahdi-spans.txt &&
    grep -q "channel   16  position 16  dchan" /tmp/dahdi-spans.txt; then
    pass "trunkd dahdi spans lists the driver's spans and channels"
else
    fail "trunkd dahdi spans"
fi
head -40 /tmp/dahdi-spans.txt

start_b() {
    TRUNKD_LOG=info $T run --config /test/b.toml >>/tmp/b.log 2>&1 &
    B=$!
}
mkdir -p /tmp/a /tmp/b
TRUNKD_LOG=info $T run --config /test/a.toml >/tmp/a.log 2>&1 &
A=$!
start_b

if wait_spans a "pri-net.*D-channel up" 60 && wait_spans b "pri-user.*D-channel up" 30; then
    pass "PRI D-channels up over real HDLC (Q.921 established both ways)"
else
    fail "PRI D-channels did not come up"
fi
ctl a spans
ctl b spans

# call LABEL FROM-GROUP NUMBER TO-GROUP [FROM]: daemon FROM (a, or b) originates, the
# other answers, both running exchange.lua, which logs the digits each side heard.
calls=0
call() {
    calls=$((calls + 1))
    from=${5:-a}
    if [ "$from" = a ]; then to=b; else to=a; fi
    # Right after a D-channel comes (back) up the B-channels are being restarted: a
    # refusal then is "no idle channel yet"; try again for a few seconds, as a user would.
    tries=0
    until ctl "$from" originate "$2" "$3" --script exchange.lua >/tmp/originate.out 2>&1; do
        tries=$((tries + 1))
        if [ $tries -ge 10 ]; then
            cat /tmp/originate.out
            fail "$1: originate refused"
            return
        fi
        sleep 1
    done
    if wait_for /tmp/$from.log "caller on $2/.* heard 2580" 40; then
        pass "$1: the caller heard the called side's digits 2580"
    else
        fail "$1: the caller did not hear the called side's digits"
    fi
    if wait_for /tmp/$to.log "answer on $4/.* heard 1379" 20; then
        pass "$1: the called side heard the caller's digits 1379"
    else
        fail "$1: the called side did not hear the caller's digits"
    fi
    # both ends cleared
    if wait_count /tmp/a.log "cleared: NORMAL_CLEARING" $calls 20 && wait_count /tmp/b.log "cleared: NORMAL_CLEARING" $calls 20; then
        pass "$1: cleared normally at both ends"
    else
        fail "$1: not cleared"
    fi
    sleep 3
}

call "PRI call over real B-channels" pri-net 100 pri-user
call "E&M call over real CAS bits" cas-a 200 cas-b
call "loop-start call from the FXO port (real FXS/FXO signalling)" co-line 300 extension
call "loop-start call to the FXO port: the FXS port rings it" extension 400 co-line b
ctl a spans
ctl b spans

# The far end's span goes away (a card pulled, a TDMoE peer gone): B stops, span 2 is
# destroyed. Span 1 loses its peer's frames: RED. A must refuse calls there.
kill -TERM $B
wait $B
if /test/spanctl destroy loc 1:1 31; then
    if wait_spans a "pri-net .*RED" 15; then pass "pri-net in RED alarm after its far end went away"; else fail "no RED on pri-net"; fi
    if ctl a originate pri-net 100 --script exchange.lua; then fail "a call was placed on a span in alarm"; else pass "calls refused on a span in alarm"; fi
else
    fail "spanctl destroy"
fi
# It comes back: the span is re-created and configured (what dahdi_cfg does at boot),
# B starts again; A's alarm clears, the D-channel comes back up, calls work again.
if spanno=$(/test/spanctl create loc 1:1 31); then
    base=$(cat /sys/bus/dahdi_spans/devices/span-$spanno/basechan 2>/dev/null || echo 32)
    echo "span $spanno re-created at channel $base"
    /test/spanctl chanconfig $base $((base + 14)) bchan &&
        /test/spanctl chanconfig $((base + 15)) $((base + 15)) dchan &&
        /test/spanctl chanconfig $((base + 16)) $((base + 30)) bchan || fail "chanconfig"
    start_b
    if wait_spans a "pri-net .*OK" 15; then pass "pri-net alarm cleared when the far end came back"; else fail "pri-net alarm did not clear"; fi
    if wait_spans a "pri-net.*D-channel up" 60; then pass "D-channel re-established after the alarm"; else fail "D-channel stayed down"; fi
    call "PRI call after recovery" pri-net 100 pri-user
else
    fail "spanctl create"
fi
ctl a spans
ctl b spans

# Hot-unplug: span 1 is unassigned under the running daemon A (a card pulled, as the
# driver sees it). A closes the removed channels and holds pri-net out of service while
# its other spans carry on; assigned and configured again, pri-net comes back by itself.
ddev=$(dirname "$(readlink -f /sys/bus/dahdi_spans/devices/span-1)")
if [ -w "$ddev/unassign_span" ] && echo 1 >"$ddev/unassign_span"; then
    if wait_spans a "pri-net .*NOTOPEN" 15; then pass "A holds pri-net out of service after its channels were removed"; else fail "pri-net not NOTOPEN after removal"; fi
    if wait_for /tmp/a.log "DAHDI channel removed" 5; then pass "A closed the removed channels"; else fail "removed channels not noticed"; fi
    call "E&M call while another span is unplugged" cas-a 200 cas-b
    echo 1:1:1 >"$ddev/assign_span" || fail "assign_span"
    /test/spanctl chanconfig 1 15 bchan && /test/spanctl chanconfig 16 16 dchan &&
        /test/spanctl chanconfig 17 31 bchan || fail "chanconfig after re-assign"
    if wait_spans a "pri-net .*OK.*D-channel up" 60; then pass "pri-net back in service after re-assign (channels reopened)"; else fail "pri-net did not come back"; fi
    call "PRI call after re-plug" pri-net 100 pri-user
else
    fail "cannot unassign span 1 through $ddev"
fi
ctl a spans

kill -TERM $A $B
sleep 3
echo "---- trunkd A log"
cat /tmp/a.log
echo "---- trunkd B log"
cat /tmp/b.log
echo "RESULT: $fails failure(s)"
[ $fails -eq 0 ]
