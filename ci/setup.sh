#!/usr/bin/env bash
# Installs what the full test run needs on a fresh Debian/Ubuntu machine (as root, or with sudo):
# iproute2 (ip netns) for the live tests, ping and arping to talk to the stack over a TAP
# device, tshark to check recorded captures, curl and socat for the TCP examples, ethtool for
# pcaps/record.sh (offloads off on its veth pairs), hping3 and python3 for the live attack
# tests (a spoofed SYN flood, HTTP/1.0 bursts, clients that stop reading), chromium to render
# the HTML reports headless (harness/report's browser test). Idempotent.
set -euo pipefail
need=()
command -v ip >/dev/null 2>&1 || need+=(iproute2)
command -v ping >/dev/null 2>&1 || need+=(iputils-ping)
command -v arping >/dev/null 2>&1 || need+=(arping)
command -v tshark >/dev/null 2>&1 || need+=(tshark)
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v socat >/dev/null 2>&1 || need+=(socat)
command -v ethtool >/dev/null 2>&1 || need+=(ethtool)
command -v hping3 >/dev/null 2>&1 || need+=(hping3)
command -v python3 >/dev/null 2>&1 || need+=(python3)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO=sudo
  echo "ci/setup.sh: installing ${need[*]}"
  $SUDO apt-get update -qq
  # tshark asks whether non-root users may capture; the answer is preseeded to "no".
  echo "wireshark-common wireshark-common/install-setuid boolean false" | $SUDO debconf-set-selections
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
go mod download
echo "ci/setup.sh: ready ($(go version | cut -d' ' -f3), $(ip -V 2>&1 | head -1), tshark $(tshark -v 2>/dev/null | head -1 | awk '{print $3}'))"
