#!/usr/bin/env bash
# pcaps/record.sh: records the Linux reference captures pcaps/linux-*.pcapng for mtcp-replay.
#
#   sudo bash pcaps/record.sh
#
# It makes two network namespaces of its own (mtcp-rec-cli, mtcp-rec-srv) joined by a veth pair,
# client 198.18.1.1/24 and SERVER 198.18.1.2/24 (the host mtcp plays in a replay), captures on the
# server's end with dumpcap, runs one exchange per capture, checks each capture with tshark, and
# only then moves the files into pcaps/. Everything it made is removed on exit, also on failure.
#
# Safety: only namespaces created here (a leftover one of the same name is removed only if it
# holds no process and no device but ours), only addresses in 198.18.0.0/15, no device is made
# or configured in the root namespace (the veth pair is created inside the client namespace with
# its peer put straight into the server namespace), every command meant for a namespace checks
# first that /proc/self/ns/net is that namespace, and only processes started here are stopped,
# by pid. Re-running replaces the linux-*.pcapng files (a failed run leaves them as they were).
# KEEP_TMP=1 keeps the work folder (captures, logs) for debugging.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=$HERE
HELPER=$HERE/record_helper.py

NS_CLI=mtcp-rec-cli
NS_SRV=mtcp-rec-srv
NS_RLY=mtcp-rec-rly # the relay between them for the lossy recording
IF_RLY_CLI=mrec-rly-cli
IF_RLY_SRV=mrec-rly-srv
LOSS_SPEC=loss=5%,seed=1
IF_CLI=mrec-cli
IF_SRV=mrec-srv
CLI_IP=198.18.1.1
SRV_IP=198.18.1.2
PREFIX_LEN=24
CLI_MAC=02:00:c6:12:01:01
SRV_MAC=02:00:c6:12:01:02
HTTP_PORT=8080
ECHO_PORT=7
CLOSED_PORT=8081
ZW_PORT=5001
ZW_RCVBUF=4096     # the kernel doubles it: 8192 bytes of receive buffer
ZW_PAUSE=1.0       # seconds the zero-window server does not read
ZW_SIZE=204800     # bytes the zero-window client sends
TAIL=0.5           # seconds the capture keeps running after an exchange ends

log() { printf 'record.sh: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# ---------------------------------------------------------------- preconditions
[ "$(id -u)" -eq 0 ] || die "must run as root (sudo bash pcaps/record.sh)"
for c in ip dumpcap ping arping curl socat timeout taskset ss nstat stat capinfos tshark go; do
  command -v "$c" >/dev/null 2>&1 || die "missing command: $c (see pcaps/README.md for the packages)"
done
PY=$(command -v python3 || true)
[ -n "$PY" ] || die "missing command: python3"
HAVE_ETHTOOL=0
command -v ethtool >/dev/null 2>&1 && HAVE_ETHTOOL=1
[ "$HAVE_ETHTOOL" = 1 ] || log "warning: ethtool not found: offloads stay on, frames may exceed the MTU and checksums may be wrong"

in_test_range() { # only 198.18.0.0/15 (198.18.x.x and 198.19.x.x)
  [[ $1 =~ ^198\.1[89]\.([0-9]{1,3})\.([0-9]{1,3})$ ]] &&
    [ "${BASH_REMATCH[1]}" -le 255 ] && [ "${BASH_REMATCH[2]}" -le 255 ]
}
for a in "$CLI_IP" "$SRV_IP"; do in_test_range "$a" || die "$a is outside 198.18.0.0/15"; done

ROOT_NS=$(stat -L -c %d:%i /proc/self/ns/net)

# ---------------------------------------------------------------- cleanup
TMP=""
CREATED_NS=()
PIDS=()
cleanup() {
  local rc=$? pid ns i
  trap - EXIT INT TERM HUP
  for pid in "${PIDS[@]}"; do
    kill -0 "$pid" 2>/dev/null && kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    for i in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  for ns in "${CREATED_NS[@]}"; do
    ip netns del "$ns" 2>/dev/null || log "could not delete namespace $ns"
  done
  if [ -n "$TMP" ]; then
    if [ "${KEEP_TMP:-0}" = 1 ]; then log "KEEP_TMP=1: work files kept in $TMP"; else rm -rf -- "$TMP"; fi
  fi
  [ "$rc" -eq 0 ] || log "failed (exit $rc); namespaces removed, pcaps/ left as it was"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

forget_pid() { # forget_pid PID: the process was waited for
  local p keep=()
  for p in "${PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
  PIDS=("${keep[@]+"${keep[@]}"}")
}
wait_exit() { # wait_exit PID SECONDS: wait for a process started here, kill it (by pid) when late
  local pid=$1 n=$(( $2 * 10 )) rc=0
  while [ "$n" -gt 0 ] && kill -0 "$pid" 2>/dev/null; do sleep 0.1; n=$((n - 1)); done
  if kill -0 "$pid" 2>/dev/null; then
    log "pid $pid still running after $2 s; stopping it"
    kill -TERM "$pid" 2>/dev/null || true
  fi
  wait "$pid" || rc=$?
  forget_pid "$pid"
  return "$rc"
}

# ---------------------------------------------------------------- namespaces
# A leftover namespace of ours (an earlier run killed with SIGKILL) is removed only when no
# process is in it and it holds no device but lo and our veth end.
for ns in "$NS_CLI" "$NS_SRV" "$NS_RLY"; do
  [ -e "/run/netns/$ns" ] || continue
  [ -z "$(ip netns pids "$ns" 2>/dev/null)" ] || die "namespace $ns exists and has processes; remove it yourself"
  for dev in $(ip -n "$ns" -o link show | awk -F': ' '{print $2}' | cut -d@ -f1); do
    case $dev in lo|"$IF_CLI"|"$IF_SRV"|"$IF_RLY_CLI"|"$IF_RLY_SRV") ;; *) die "namespace $ns exists and has device $dev: not ours";; esac
  done
  log "removing leftover namespace $ns"
  ip netns del "$ns"
done
for dev in "$IF_CLI" "$IF_SRV" "$IF_RLY_CLI" "$IF_RLY_SRV"; do
  ! ip link show dev "$dev" >/dev/null 2>&1 || die "device $dev exists in the root namespace: not touching it"
done

TMP=$(mktemp -d /tmp/mtcp-record.XXXXXX)
ip netns add "$NS_CLI"; CREATED_NS+=("$NS_CLI")
ip netns add "$NS_SRV"; CREATED_NS+=("$NS_SRV")

# The guard runs first in every namespaced command: it refuses unless the process really is in
# the expected namespace (and not the root one), then execs the command (so $! is its pid).
GUARD='want=$1 root=$2; shift 2
have=$(stat -L -c %d:%i /proc/self/ns/net)
if [ "$have" != "$want" ] || [ "$have" = "$root" ]; then
  echo "record.sh: refusing to run $*: netns is $have, expected $want (root $root)" >&2; exit 99
fi
exec "$@"'
ns_id() {
  local id
  id=$(stat -L -c %d:%i "/run/netns/$1")
  [ "$id" != "$ROOT_NS" ] || die "namespace $1 is the root namespace"
  echo "$id"
}
CLI_ID=$(ns_id "$NS_CLI")
SRV_ID=$(ns_id "$NS_SRV")
[ "$CLI_ID" != "$SRV_ID" ] || die "the two namespaces are the same"
# Every namespaced command runs on one CPU. A veth hands each frame to the backlog queue of the
# CPU that sent it; a sender that hops between CPUs mid-burst reorders its own segments, and the
# 1 MiB download then showed dozens of spurious fast retransmissions (one run in ~15).
CPU=$("$PY" -c 'import os; print(min(os.sched_getaffinity(0)))')
IN_CLI=(ip netns exec "$NS_CLI" /bin/sh -c "$GUARD" guard "$CLI_ID" "$ROOT_NS" taskset -c "$CPU")
IN_SRV=(ip netns exec "$NS_SRV" /bin/sh -c "$GUARD" guard "$SRV_ID" "$ROOT_NS" taskset -c "$CPU")
"${IN_CLI[@]}" true || die "namespace check failed for $NS_CLI"
"${IN_SRV[@]}" true || die "namespace check failed for $NS_SRV"

# No IPv6 (no router solicitations, MLD or DAD in the captures), no TCP timestamps until the two
# recordings of Linux's defaults (their random offsets change every recording). Per-namespace
# sysctls.
for IN in CLI SRV; do
  declare -n inns="IN_$IN"
  "${inns[@]}" sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 \
    net.ipv4.tcp_timestamps=0 >/dev/null
  unset -n inns
done
# The client sends no tail loss probe: a server that delays its ACK while its window closes would
# otherwise draw a spurious retransmission 10 ms later (seen in the zero-window exchange).
"${IN_CLI[@]}" sysctl -q -w net.ipv4.tcp_early_retrans=0 >/dev/null

# Created inside the client namespace; the peer goes straight into the server namespace.
"${IN_CLI[@]}" ip link add "$IF_CLI" address "$CLI_MAC" type veth \
  peer name "$IF_SRV" address "$SRV_MAC" netns "$NS_SRV"
for dev in "$IF_CLI" "$IF_SRV"; do
  ! ip link show dev "$dev" >/dev/null 2>&1 || die "device $dev appeared in the root namespace"
done

setup_end() { # setup_end CLI|SRV IF IP
  declare -n inns="IN_$1"
  if [ "$HAVE_ETHTOOL" = 1 ]; then
    # Software checksums and MTU-sized segments in the capture: no TSO/GSO super-frames, no
    # GRO merging, no CHECKSUM_PARTIAL (which would leave wrong checksums in captured frames).
    "${inns[@]}" ethtool -K "$2" tx off tso off gso off gro off >/dev/null 2>&1 ||
      "${inns[@]}" ethtool -K "$2" tso off gso off gro off >/dev/null
  fi
  "${inns[@]}" ip addr add "$3/$PREFIX_LEN" dev "$2"
  "${inns[@]}" ip link set dev lo up
  "${inns[@]}" ip link set dev "$2" up
  unset -n inns
}
setup_end CLI "$IF_CLI" "$CLI_IP"
setup_end SRV "$IF_SRV" "$SRV_IP"
for i in $(seq 50); do
  [ "$("${IN_CLI[@]}" cat "/sys/class/net/$IF_CLI/operstate")" = up ] &&
    [ "$("${IN_SRV[@]}" cat "/sys/class/net/$IF_SRV/operstate")" = up ] && break
  [ "$i" -lt 50 ] || die "veth did not come up"
  sleep 0.1
done
log "namespaces $NS_CLI ($CLI_IP $CLI_MAC) and $NS_SRV ($SRV_IP $SRV_MAC) ready"

"$PY" "$HELPER" gen-files "$TMP/www"

# ---------------------------------------------------------------- capture helpers
CAP_PID=""
CAP_NAME=""
flush_neigh() {
  "${IN_CLI[@]}" ip neigh flush all
  "${IN_SRV[@]}" ip neigh flush all
}
start_capture() { # start_capture NAME: dumpcap on the server's end, pcapng, whole frames
  CAP_NAME=$1
  flush_neigh
  "${IN_SRV[@]}" timeout 120 dumpcap -i "$IF_SRV" -s 0 -w "$TMP/$CAP_NAME.pcapng" \
    >"$TMP/$CAP_NAME.dumpcap.log" 2>&1 &
  CAP_PID=$!
  PIDS+=("$CAP_PID")
  local i
  for i in $(seq 100); do
    grep -q "Capturing on" "$TMP/$CAP_NAME.dumpcap.log" 2>/dev/null && break
    kill -0 "$CAP_PID" 2>/dev/null || { cat "$TMP/$CAP_NAME.dumpcap.log" >&2; die "dumpcap exited"; }
    [ "$i" -lt 100 ] || die "dumpcap did not start"
    sleep 0.1
  done
  sleep 0.5 # let the capture settle before traffic
}
stop_capture() { # lets trailing segments in, stops dumpcap by pid and waits until it has written all
  sleep "$TAIL"
  { # for debugging with KEEP_TMP=1: link and TCP counters of both ends (absolute, since setup)
    echo "## client"; "${IN_CLI[@]}" ip -s link show dev "$IF_CLI"; "${IN_CLI[@]}" nstat -asz
    echo "## server"; "${IN_SRV[@]}" ip -s link show dev "$IF_SRV"; "${IN_SRV[@]}" nstat -asz
  } >"$TMP/$CAP_NAME.stats" 2>&1 || true
  kill -TERM "$CAP_PID"
  local rc=0
  wait "$CAP_PID" || rc=$?
  forget_pid "$CAP_PID"
  [ "$rc" -eq 0 ] || [ "$rc" -eq 143 ] || { cat "$TMP/$CAP_NAME.dumpcap.log" >&2; die "dumpcap exited $rc"; }
  grep -Eq "dropped on interface '[^']*': [0-9]+/0 " "$TMP/$CAP_NAME.dumpcap.log" ||
    { cat "$TMP/$CAP_NAME.dumpcap.log" >&2; die "$CAP_NAME: dumpcap dropped packets or did not report"; }
  log "$CAP_NAME: $(capinfos -c -M "$TMP/$CAP_NAME.pcapng" | awk -F': *' '/Number of packets/{print $2}') packets"
}
wait_listen() { # wait_listen PORT
  local i
  for i in $(seq 100); do
    [ -n "$("${IN_SRV[@]}" ss -Hltn "sport = :$1")" ] && return 0
    sleep 0.1
  done
  die "nothing listens on $SRV_IP:$1"
}
CURL=(timeout 30 curl -q -sS --noproxy '*' -A mtcp-record)
start_http_server() {
  "${IN_SRV[@]}" timeout 30 "$PY" "$HELPER" http-server "$SRV_IP" "$HTTP_PORT" "$TMP/www" 1 \
    >"$TMP/http-server.log" 2>&1 &
  SRV_PID=$!
  PIDS+=("$SRV_PID")
  wait_listen "$HTTP_PORT"
}
sha() { "$PY" "$HELPER" sha256 "$1"; }

# ---------------------------------------------------------------- the exchanges
log "1/10 ping"
start_capture linux-ping
"${IN_CLI[@]}" timeout 20 ping -n -c 3 -W 2 "$SRV_IP" >"$TMP/ping.log"
stop_capture

log "2/10 arping"
start_capture linux-arping
"${IN_CLI[@]}" timeout 20 arping -c 2 -i "$IF_CLI" "$SRV_IP" >"$TMP/arping.log"
stop_capture

log "3/10 http-small"
start_http_server
start_capture linux-http-small
"${IN_CLI[@]}" "${CURL[@]}" -o "$TMP/got-small" "http://$SRV_IP:$HTTP_PORT/small.txt"
wait_exit "$SRV_PID" 10
stop_capture
[ "$(sha "$TMP/got-small")" = "$(sha "$TMP/www/small.txt")" ] || die "http-small: body differs"

log "4/10 http-large"
start_http_server
start_capture linux-http-large
"${IN_CLI[@]}" "${CURL[@]}" -o "$TMP/got-large" "http://$SRV_IP:$HTTP_PORT/large.bin"
wait_exit "$SRV_PID" 10
stop_capture
[ "$(sha "$TMP/got-large")" = "$(sha "$TMP/www/large.bin")" ] || die "http-large: body differs"

log "5/10 echo"
"${IN_SRV[@]}" timeout 30 socat "TCP-LISTEN:$ECHO_PORT,bind=$SRV_IP,reuseaddr" PIPE \
  >"$TMP/socat.log" 2>&1 &
SRV_PID=$!
PIDS+=("$SRV_PID")
wait_listen "$ECHO_PORT"
start_capture linux-echo
"${IN_CLI[@]}" timeout 20 "$PY" "$HELPER" echo-client "$SRV_IP" "$ECHO_PORT" \
  "hello mtcp" "second line" "third and last line" >"$TMP/echo.log"
wait_exit "$SRV_PID" 10
stop_capture

log "6/10 closed-port"
[ -z "$("${IN_SRV[@]}" ss -Hltn "sport = :$CLOSED_PORT")" ] || die "port $CLOSED_PORT is open"
start_capture linux-closed-port
rc=0
"${IN_CLI[@]}" "${CURL[@]}" "http://$SRV_IP:$CLOSED_PORT/" >/dev/null 2>"$TMP/closed.log" || rc=$?
stop_capture
[ "$rc" -eq 7 ] || die "closed-port: curl exited $rc, expected 7 (connection refused)"

log "7/10 upload"
start_http_server
start_capture linux-upload
"${IN_CLI[@]}" "${CURL[@]}" -H 'Expect:' -H 'Content-Type: application/octet-stream' \
  --data-binary "@$TMP/www/upload.bin" "http://$SRV_IP:$HTTP_PORT/upload" >"$TMP/upload.answer"
wait_exit "$SRV_PID" 10
stop_capture
grep -q "^received 204800 bytes sha256 $(sha "$TMP/www/upload.bin")\$" "$TMP/upload.answer" ||
  die "upload: unexpected answer: $(cat "$TMP/upload.answer")"

log "8/10 zero-window"
"${IN_SRV[@]}" timeout 30 "$PY" "$HELPER" zw-server "$SRV_IP" "$ZW_PORT" "$ZW_RCVBUF" "$ZW_PAUSE" \
  >"$TMP/zw-server.log" 2>&1 &
SRV_PID=$!
PIDS+=("$SRV_PID")
wait_listen "$ZW_PORT"
start_capture linux-zero-window
"${IN_CLI[@]}" timeout 30 "$PY" "$HELPER" zw-client "$SRV_IP" "$ZW_PORT" "$ZW_SIZE" >"$TMP/zw.log"
wait_exit "$SRV_PID" 10
stop_capture

log "9/10 http-modern"
# Linux's defaults from here on: timestamps as well as SACK and window scaling (on throughout).
for IN in CLI SRV; do
  declare -n inns="IN_$IN"
  "${inns[@]}" sysctl -q -w net.ipv4.tcp_timestamps=1 >/dev/null
  unset -n inns
done
start_http_server
start_capture linux-http-modern
"${IN_CLI[@]}" "${CURL[@]}" -o "$TMP/got-modern" "http://$SRV_IP:$HTTP_PORT/large.bin"
wait_exit "$SRV_PID" 10
stop_capture
[ "$(sha "$TMP/got-modern")" = "$(sha "$TMP/www/large.bin")" ] || die "http-modern: body differs"

log "10/10 http-lossy"
# The same download across a lossy link: the direct veth pair goes, and each end gets a veth
# pair to a relay namespace, with the same addresses and MACs; there mtcp's fault injector
# (pcaps/faultrelay) passes frames between the two, dropping 5 % each way (this kernel may have
# no netem). The capture is still at the server's end: what reached it, and all it sent.
go build -o "$TMP/faultrelay" "$HERE/faultrelay" || die "cannot build pcaps/faultrelay"
"${IN_CLI[@]}" ip link del "$IF_CLI" # and with it its peer, the server's end
ip netns add "$NS_RLY"; CREATED_NS+=("$NS_RLY")
RLY_ID=$(ns_id "$NS_RLY")
[ "$RLY_ID" != "$CLI_ID" ] && [ "$RLY_ID" != "$SRV_ID" ] || die "the relay namespace is not a new one"
IN_RLY=(ip netns exec "$NS_RLY" /bin/sh -c "$GUARD" guard "$RLY_ID" "$ROOT_NS" taskset -c "$CPU")
"${IN_RLY[@]}" true || die "namespace check failed for $NS_RLY"
"${IN_RLY[@]}" sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 >/dev/null
"${IN_RLY[@]}" ip link add "$IF_RLY_CLI" type veth peer name "$IF_CLI" address "$CLI_MAC" netns "$NS_CLI"
"${IN_RLY[@]}" ip link add "$IF_RLY_SRV" type veth peer name "$IF_SRV" address "$SRV_MAC" netns "$NS_SRV"
for dev in "$IF_CLI" "$IF_SRV" "$IF_RLY_CLI" "$IF_RLY_SRV"; do
  ! ip link show dev "$dev" >/dev/null 2>&1 || die "device $dev appeared in the root namespace"
done
setup_end CLI "$IF_CLI" "$CLI_IP"
setup_end SRV "$IF_SRV" "$SRV_IP"
for dev in "$IF_RLY_CLI" "$IF_RLY_SRV"; do # no address: the relay is the wire
  [ "$HAVE_ETHTOOL" = 1 ] && { "${IN_RLY[@]}" ethtool -K "$dev" tx off tso off gso off gro off >/dev/null 2>&1 || true; }
  "${IN_RLY[@]}" ip link set dev "$dev" up
done
"${IN_RLY[@]}" "$TMP/faultrelay" --netns "$NS_RLY" --a "$IF_RLY_CLI" --b "$IF_RLY_SRV" --fault "$LOSS_SPEC" \
  >"$TMP/faultrelay.log" 2>&1 &
RLY_PID=$!
PIDS+=("$RLY_PID")
for i in $(seq 50); do
  grep -q ready "$TMP/faultrelay.log" 2>/dev/null && break
  kill -0 "$RLY_PID" 2>/dev/null || { cat "$TMP/faultrelay.log" >&2; die "faultrelay exited"; }
  [ "$i" -lt 50 ] || die "faultrelay did not start"
  sleep 0.1
done
start_http_server
start_capture linux-http-lossy
"${IN_CLI[@]}" "${CURL[@]}" -o "$TMP/got-lossy" "http://$SRV_IP:$HTTP_PORT/large.bin"
wait_exit "$SRV_PID" 10
stop_capture
kill -TERM "$RLY_PID"; wait_exit "$RLY_PID" 10 || true
log "relay: $(tail -1 "$TMP/faultrelay.log")"
[ "$(sha "$TMP/got-lossy")" = "$(sha "$TMP/www/large.bin")" ] || die "http-lossy: body differs"

# ---------------------------------------------------------------- checks
count() { # count FILE FILTER [tshark options]: frames that match, fails on a bad filter
  local f=$1 y=$2 out
  shift 2
  out=$(tshark -r "$f" "$@" -Y "$y" -T fields -e frame.number 2>"$TMP/tshark.err") ||
    { cat "$TMP/tshark.err" >&2; die "tshark failed on $f with filter '$y'"; }
  [ -z "$out" ] && echo 0 || printf '%s\n' "$out" | wc -l
}
expect() { # expect FILE FILTER OP N WHAT
  local n
  n=$(count "$TMP/$1.pcapng" "$2")
  [ "$n" "$3" "$4" ] || die "$1: $5: $n frames match '$2', expected $3 $4"
}
for f in linux-ping linux-arping linux-http-small linux-http-large linux-echo linux-closed-port \
         linux-upload linux-zero-window linux-http-modern linux-http-lossy; do
  F=$TMP/$f.pcapng
  tshark -r "$F" >/dev/null 2>"$TMP/tshark.err" || { cat "$TMP/tshark.err" >&2; die "$f: tshark cannot read it"; }
  expect "$f" "ip and !((ip.src == $CLI_IP and ip.dst == $SRV_IP) or (ip.src == $SRV_IP and ip.dst == $CLI_IP))" -eq 0 "foreign IPv4 address"
  expect "$f" "!(arp or ip)" -eq 0 "non-ARP, non-IPv4 frame"
  expect "$f" "frame.len > 1514" -eq 0 "frame over the MTU"
  expect "$f" "frame.cap_len < frame.len" -eq 0 "truncated frame"
  # A TCP checksum sent as 0xffff where tshark computes 0x0000 is the same value in one's
  # complement (RFC 1624; Linux does send it now and then): valid, kept, not counted as bad.
  n=$(count "$F" '(ip.checksum.status == 0 or tcp.checksum.status == 0 or icmp.checksum.status == 0)
        and !(tcp.checksum == 0xffff and tcp.checksum_calculated == 0x0000)' \
        -o ip.check_checksum:TRUE -o tcp.check_checksum:TRUE)
  [ "$n" -eq 0 ] || die "$f: $n frames with a bad checksum (offloads still on?)"
done
expect linux-ping "arp.opcode == 1 and arp.dst.proto_ipv4 == $SRV_IP" -ge 1 "ARP request for the server"
expect linux-ping "arp.opcode == 2 and arp.src.proto_ipv4 == $SRV_IP" -ge 1 "ARP reply from the server"
expect linux-ping "icmp.type == 8 and ip.dst == $SRV_IP" -eq 3 "echo requests"
expect linux-ping "icmp.type == 0 and ip.src == $SRV_IP" -eq 3 "echo replies"
expect linux-arping "arp.opcode == 1 and arp.dst.proto_ipv4 == $SRV_IP" -ge 2 "ARP requests"
expect linux-arping "arp.opcode == 2 and arp.src.proto_ipv4 == $SRV_IP" -ge 2 "ARP replies"
for f in linux-http-small linux-http-large linux-echo linux-upload linux-zero-window linux-http-modern linux-http-lossy; do
  expect "$f" "tcp.flags.syn == 1 and tcp.flags.ack == 0 and ip.dst == $SRV_IP" -ge 1 "client SYN"
  expect "$f" "tcp.flags.syn == 1 and tcp.flags.ack == 1 and ip.src == $SRV_IP" -ge 1 "server SYN-ACK"
  expect "$f" "tcp.flags.fin == 1 and ip.src == $SRV_IP" -ge 1 "server FIN"
  expect "$f" "tcp.flags.fin == 1 and ip.src == $CLI_IP" -ge 1 "client FIN"
  expect "$f" "tcp.flags.reset == 1" -eq 0 "RST"
done
for f in linux-http-small linux-http-large linux-echo linux-upload linux-zero-window linux-http-modern; do
  expect "$f" "tcp.flags.syn == 1 and tcp.flags.ack == 0 and ip.dst == $SRV_IP" -eq 1 "client SYN"
  expect "$f" "tcp.flags.syn == 1 and tcp.flags.ack == 1 and ip.src == $SRV_IP" -eq 1 "server SYN-ACK"
  expect "$f" "tcp.analysis.retransmission or tcp.analysis.lost_segment" -eq 0 "loss or retransmission"
done
for f in linux-http-modern linux-http-lossy; do # Linux's defaults: timestamps, SACK, window scale
  expect "$f" "tcp.flags.syn == 1 and tcp.options.timestamp.tsval and tcp.options.sack_perm and tcp.options.wscale.shift" -ge 2 "SYN and SYN-ACK with TS, sackOK and wscale"
  expect "$f" "tcp.flags.syn == 0 and !tcp.options.timestamp.tsval" -eq 0 "segment without a timestamp"
done
expect linux-http-lossy "ip.src == $SRV_IP and tcp.analysis.retransmission" -ge 1 "server retransmission"
expect linux-http-lossy "ip.src == $CLI_IP and tcp.options.sack_le" -ge 1 "client SACK block"
first_fin() { # first_fin NAME: the source address of the first FIN
  tshark -r "$TMP/$1.pcapng" -Y 'tcp.flags.fin == 1' -T fields -e ip.src 2>/dev/null | head -1
}
for f in linux-http-small linux-http-large linux-upload linux-http-modern linux-http-lossy; do   # the server closes first (TIME-WAIT)
  [ "$(first_fin "$f")" = "$SRV_IP" ] || die "$f: the first FIN is not the server's"
done
for f in linux-echo linux-zero-window; do                      # the client closes first
  [ "$(first_fin "$f")" = "$CLI_IP" ] || die "$f: the first FIN is not the client's"
done
expect linux-http-small "http.response.code == 200 and ip.src == $SRV_IP" -eq 1 "HTTP 200"
expect linux-http-large "http.response.code == 200 and ip.src == $SRV_IP" -eq 1 "HTTP 200"
expect linux-http-modern "http.response.code == 200 and ip.src == $SRV_IP" -eq 1 "HTTP 200"
expect linux-upload "http.request.method == \"POST\"" -eq 1 "HTTP POST"
expect linux-upload "http.response.code == 200 and ip.src == $SRV_IP" -eq 1 "HTTP 200"
expect linux-closed-port "tcp.flags.syn == 1 and tcp.flags.ack == 0 and ip.dst == $SRV_IP and tcp.dstport == $CLOSED_PORT" -ge 1 "SYN"
expect linux-closed-port "tcp.flags.reset == 1 and tcp.flags.ack == 1 and ip.src == $SRV_IP" -ge 1 "RST,ACK"
expect linux-zero-window "tcp.analysis.zero_window and ip.src == $SRV_IP" -ge 1 "[TCP ZeroWindow]"

# ---------------------------------------------------------------- install the captures
KERNEL=$(uname -r)
NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)
MANIFEST=$TMP/RECORDING.txt
{
  echo "# Written by pcaps/record.sh; describes the linux-*.pcapng files next to it."
  echo "recorded: $NOW"
  echo "kernel: Linux $KERNEL ($(uname -m))"
  echo "dumpcap: $(dumpcap -v 2>/dev/null | head -1)"
  echo "curl: $(curl --version | head -1 | cut -d' ' -f1-2)"
  echo "socat: $(socat -V 2>/dev/null | sed -n 2p | cut -d' ' -f1-3)"
  echo "ping: $(ping -V 2>&1 | head -1)"
  echo "arping: $(arping --help 2>&1 | head -1)"
  echo "python: $("$PY" --version 2>&1)"
  echo "ethtool offloads off: $([ "$HAVE_ETHTOOL" = 1 ] && echo yes || echo 'no (ethtool missing)')"
  echo "client: $CLI_IP $CLI_MAC ($NS_CLI/$IF_CLI)   server: $SRV_IP $SRV_MAC ($NS_SRV/$IF_SRV, capture point)"
  echo "sysctls in both namespaces: net.ipv6.conf.{all,default}.disable_ipv6=1 net.ipv4.tcp_timestamps=0 (=1 for http-modern and http-lossy); client only: net.ipv4.tcp_early_retrans=0"
  echo "http-lossy: across pcaps/faultrelay in $NS_RLY with --fault $LOSS_SPEC ($(tail -1 "$TMP/faultrelay.log" | cut -d: -f2- | sed "s/^ //"))"
  echo "every namespaced command pinned to CPU $CPU (taskset)"
  echo
  printf '%-28s %8s %10s  %s\n' file packets bytes sha256
  for f in "$TMP"/linux-*.pcapng; do
    printf '%-28s %8s %10s  %s\n' "$(basename "$f")" \
      "$(capinfos -c -M "$f" | awk -F': *' '/Number of packets/{print $2}')" \
      "$(stat -c %s "$f")" "$(sha "$f")"
  done
} >"$MANIFEST"
for f in "$TMP"/linux-*.pcapng "$MANIFEST"; do
  chmod 0644 "$f"
  [ -n "${SUDO_UID:-}" ] && chown "$SUDO_UID:${SUDO_GID:-$SUDO_UID}" "$f"
  mv -f "$f" "$OUT/$(basename "$f")"
done
cat "$OUT/RECORDING.txt"
log "done: captures in $OUT"
