package script

import (
	"fmt"
	"strings"
)

// Error is a malformed script, or a well-formed one that needs something the
// runner cannot do, located at a line and column (both from 1; the column
// counts bytes). Warnings use the same type.
type Error struct {
	File      string
	Line, Col int
	Msg       string
	// Text is the offending source line.
	Text string
	// Feature is set when the script is well-formed (packetdrill's grammar, or
	// the FreeBSD fork's, accepts it) but uses something the runner cannot run:
	// it names that thing ("TCP Fast Open", "IPv6", "UDP", ...; see the
	// Feature constants) and Msg reads "unsupported: needs <Feature> ...".
	// It is empty for a malformed script. A malformed line anywhere in a
	// script wins over an unsupported one: Parse reads the whole script first.
	Feature string
}

// Features the parser reports as unsupported (Error.Feature). Each is
// something packetdrill or its FreeBSD fork accepts and the runner cannot run.
const (
	FeatureIPv6           = "IPv6"                       // --ip_version=ipv6, ipv6 A > B: prefixes, flowlabel, hlim, class
	FeatureIPv4MappedIPv6 = "IPv4-mapped IPv6"           // --ip_version=ipv4-mapped-ipv6
	FeatureUDP            = "UDP"                        // udp packets
	FeatureUDPLite        = "UDP-Lite"                   // udplite packets (FreeBSD fork)
	FeatureSCTP           = "SCTP"                       // sctp packets (FreeBSD fork)
	FeatureUDPEncap       = "UDP encapsulation"          // /udp(S > D) after a TCP line, --udp_encapsulation (FreeBSD fork)
	FeatureIPinIP         = "IP-in-IP encapsulation"     // ipv4 A > B: prefixes
	FeatureGRE            = "GRE encapsulation"          // gre: prefixes, {flags ... seq N} expressions
	FeatureMPLS           = "MPLS encapsulation"         // mpls (label ...): prefixes, {(label ...)} expressions
	FeaturePSP            = "PSP"                        // encap psp spi N
	FeatureFastOpen       = "TCP Fast Open"              // FO, FOEXP, EXP-FO options
	FeatureMD5            = "TCP MD5 signature"          // md5 options, --tcp_md5_secret
	FeatureAccECN         = "AccECN"                     // ACE flags (S.0, .5, 3), the AE flag A, AccECN options
	FeatureGenericOption  = "generic TCP options"        // gen-N, <hex> raw option bytes (FreeBSD fork)
	FeatureExpOption      = "experimental TCP options"   // exp-HEX, exp-tarr (FreeBSD fork)
	FeatureRSTDiag        = "TCP RST diagnostic payload" // [code N, pen N] after a RST (FreeBSD fork)
)

// Unsupported reports whether e is a well-formed construct the runner cannot
// run (Feature is set) rather than a malformed script.
func (e *Error) Unsupported() bool { return e != nil && e.Feature != "" }

// Error returns "file:line:col: message", then the source line and a caret
// under the column.
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
	if e.Text != "" {
		b.WriteString("\n\t")
		b.WriteString(e.Text)
		b.WriteString("\n\t")
		for i := 0; i < e.Col-1 && i < len(e.Text); i++ {
			if e.Text[i] == '\t' {
				b.WriteByte('\t')
			} else {
				b.WriteByte(' ')
			}
		}
		b.WriteByte('^')
	}
	return b.String()
}

// bail carries an *Error out of the recursive-descent parser by panic; Parse
// recovers it, so no panic escapes the package.
type bail struct{ err *Error }
