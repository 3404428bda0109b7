# SPDX-License-Identifier: GPL-2.0-or-later
# Shared by tests/packet/antiflood_*.sh (sourced after tests/lib/lib.sh): the topology and
# the SIP clients. Documentation addresses only, in namespaces lib.sh creates and deletes.
#
#   af_server              namespace $fw: bridge br0 holding 192.0.2.1/24, 198.51.100.1/24,
#                          203.0.113.1/24, 2001:db8::1/64, 2001:db8:0:1::1/64
#   af_client VAR label ADDR...   a namespace on the bridge with those addresses (/24, /64);
#                          the bridge br0 is in $AF_BRIDGE_NS when set (else $fw)
#   sip_uas ADDR [PORT [NS]]   sipp answering OPTIONS/REGISTER on ADDR:PORT (5060) in NS
#                          (default $fw), in the background
#   sip_uac NS SRC DST RATE COUNT [PORT [SPORT]]  sipp sending COUNT OPTIONS at RATE/s from
#                          SRC (one socket, port SPORT or a free one) to DST:PORT (5060);
#                          prints how many got their 200 OK (= reached the server)
#                          ($SIP_UAC_XML: the scenario, options_uac.xml by default: no
#                          retransmission, so every loss counts; $SIP_UAC_RETRANS: a file
#                          to write the number of retransmissions sent to)
SIPP_DIR="$IVOZFW_SRC/tests/packet/sipp"
command -v sipp >/dev/null || _die_early "missing tool: sipp (Debian package sip-tester)"
_AF_LINK=0

af_server() {
    new_ns fw fw
    in_ns "$fw" ip link add br0 type bridge || fail "bridge"
    in_ns "$fw" ip link set br0 up
    local a
    for a in 192.0.2.1/24 198.51.100.1/24 203.0.113.1/24; do in_ns "$fw" ip addr add $a dev br0; done
    for a in 2001:db8::1/64 2001:db8:0:1::1/64; do in_ns "$fw" ip -6 addr add $a dev br0 nodad; done
}

af_client() {
    local _var=$1 _label=$2 _ns _addr
    shift 2
    new_ns _ns "$_label"
    _AF_LINK=$((_AF_LINK + 1))
    ip link add "p$_AF_LINK" netns "${AF_BRIDGE_NS:-$fw}" type veth peer name eth0 netns "$_ns" || fail "veth"
    in_ns "${AF_BRIDGE_NS:-$fw}" ip link set "p$_AF_LINK" master br0 up
    in_ns "$_ns" ip link set eth0 up
    for _addr in "$@"; do
        case $_addr in
        *:*) in_ns "$_ns" ip -6 addr add "$_addr/64" dev eth0 nodad ;;
        *) in_ns "$_ns" ip addr add "$_addr/24" dev eth0 ;;
        esac
    done
    in_ns "$_ns" ip route add default dev eth0
    in_ns "$_ns" ip -6 route add default dev eth0
    printf -v "$_var" '%s' "$_ns"
}

sip_uas() {
    local addr=$1 port=${2:-5060} ns=${3:-$fw}
    in_ns "$ns" sipp -sf "$SIPP_DIR/options_uas.xml" -i "$addr" -p "$port" -nostdin \
        >/dev/null 2>"$T/uas-$addr-$port.err" &
    bg_pid $!
    sleep 0.3
}

sip_uac() {
    local ns=$1 src=$2 dst=$3 rate=$4 n=$5 dport=${6:-5060} f port
    # Usually run in $(...) or in the background: a port and file unique to this subshell,
    # clear of the ports every sipp binds for itself (control 8888 and up, on any address,
    # so another sipp of the namespace may hold it; media 6000 and up) and of the policy's.
    port=${7:-$((20000 + BASHPID % 10000))}
    f="$T/uac-$BASHPID.txt"
    rm -f "$f"
    case $dst in *:*) dst="[$dst]" ;; esac
    local rc=0 got
    in_ns "$ns" timeout 120 sipp "$dst:$dport" -sf "$SIPP_DIR/${SIP_UAC_XML:-options_uac.xml}" -i "$src" -p "$port" \
        -r "$rate" -m "$n" -nostdin -trace_screen -screen_file "$f" >"$f.out" 2>&1 || rc=$?
    [ -z "${SIP_UAC_RETRANS:-}" ] || awk '/OPTIONS ---------->/ {print $4; exit}' "$f" >"$SIP_UAC_RETRANS" 2>/dev/null
    got=$(awk -F'|' '/Successful call/ {gsub(/ /, "", $3); print $3; exit}' "$f" 2>/dev/null)
    # sipp itself failed (exit 0: all answered, 1: some calls failed): say why in the test's log.
    { [ "$rc" -le 1 ] && [ -s "$f" ]; } || echo "sip_uac $src:$port -> $dst:$dport: sipp exit $rc, ${got:-0}" \
        "answered, screen file $([ -s "$f" ] && echo present || echo missing): $(tail -c 400 "$f.out" | tr '\n' ' ')" >&2
    echo "${got:-0}"
}

# bans_json NS POLICY : `ivozfw bans --json`
bans_json() { ivz "$1" bans --json -p "$2"; }
