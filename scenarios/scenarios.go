// Package scenarios embeds mtcp's scenario corpus: packetdrill scripts (with mtcp's
// extensions) by area, each naming in its header the conformance case it pins and the RFC
// that asks for it. The mtcp-test command and `go test ./harness/conformance` run them all,
// each as a Ginkgo spec labelled from its folder and header. See README.md for the language.
package scenarios

import "embed"

// FS holds every script, by area: arp/, ipv4/, icmp/,
// tcp/{handshake,data,retransmit,close,rst,options,robust,timestamps,sack,rack,ecn,pmtu}/.
//
//go:embed arp ipv4 icmp tcp
var FS embed.FS
