package report

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/mtcp-go/mtcp/harness"
	"github.com/mtcp-go/mtcp/stack/link/pcapng"
)

// class is what the report makes of a frame, from its packet comments (and, for injected
// frames, from the frame itself): how its arrow is drawn.
type class uint8

// Classes, from the least to the most important: a frame with several comments takes the
// highest.
const (
	neutral class = iota // not judged: a stimulus, or a frame no expectation looked at
	bench                // the bench's own traffic (its answers to the stack's ARP requests)
	held                 // an expectation that held ("met: ...", a script line it matched)
	damaged              // injected damage: a bad checksum, a frame cut short, a malformed header
	failed               // the frame that broke an expectation, or one the stack should not have sent
)

// name is the class's CSS class.
func (c class) name() string {
	return [...]string{"neutral", "bench", "held", "damaged", "failed"}[c]
}

// verdict is what the comments of one frame say.
type verdict struct {
	class    class
	line     string // failed: the script line that expected something else ("line 5: "), if any
	expected string // failed: what was expected instead
	why      string // failed: how the frame differs; damaged: what the damage is
}

var (
	// The script line a comment names: "line 5: ...". The runner notes the line a frame
	// matched ("line 5: +0 > S. 0:0(0) ack 1 ...") or broke ("line 5: expected instead: ...").
	scriptLine = regexp.MustCompile(`^line \d+: `)
	// What marks injected damage in a comment: the peer's Mutate and Truncate descriptions,
	// the scripts' bad_checksum attributes, the replay's "damaged:".
	damageWords = regexp.MustCompile(`(?i)\bdamaged\b|bad_(?:ip_)?checksum|checksum (?:inverted|off by)|off by one bit|\bcut to \d+|\btruncated\b|\bmalformed\b|\bcorrupt`)
)

// judge reads the comments of a frame. inbound frames are the peer's (to the stack).
//
// A failure reads "expected instead: WANT (HOW IT DIFFERS)", after the script line for a
// script ("line 5: expected instead: ..."). The forms from before the harness settled on
// that are read too: a script's "line 5: FAILED: DIFF; expected WANT", "line 7: FAILED:
// expected nothing until T" and "FAILED (strict): ...".
func judge(comments []string, inbound bool) verdict {
	var v verdict
	raise := func(c class) {
		if c > v.class {
			v.class = c
		}
	}
	for _, c := range comments {
		line := scriptLine.FindString(c)
		body := c[len(line):]
		switch {
		case strings.HasPrefix(body, "expected instead: "):
			raise(failed)
			if v.expected == "" {
				v.line = line
				v.expected, v.why = splitTrailingParen(strings.TrimPrefix(body, "expected instead: "))
			}
		case strings.HasPrefix(body, "FAILED"):
			raise(failed)
			if v.expected == "" {
				v.line = line
				v.expected, v.why = oldScriptFailure(body)
			}
		case strings.HasPrefix(c, "unexpected: "):
			raise(failed)
			if v.expected == "" {
				v.expected, v.why = "nothing", strings.TrimPrefix(c, "unexpected: ")
			}
		case strings.HasPrefix(c, "oracle: "):
			raise(failed)
			if v.expected == "" {
				v.expected, v.why = "correct checksums", strings.TrimPrefix(c, "oracle: ")
			}
		case strings.HasPrefix(c, "DIFFERENT"):
			// The replay: "DIFFERENT: WHAT (recorded: SEGMENT)", "DIFFERENT at capture frame N: WHAT".
			raise(failed)
			if v.expected == "" {
				v.expected, v.why = replayDifference(c)
			}
		case strings.HasPrefix(c, "met: "), strings.HasPrefix(c, "corresponds to capture frame"),
			strings.Contains(c, "of one GSO segment"), strings.HasPrefix(c, "a retransmission, as the recorded host's"):
			raise(held)
		case !inbound && scriptLine.MatchString(c):
			raise(held)
		case strings.Contains(c, "answered by the bench"), strings.HasPrefix(c, "the bench answers"):
			raise(bench)
		}
		if inbound && damageWords.MatchString(c) {
			raise(damaged)
			if v.why == "" {
				v.why = damageText(c)
			}
		}
	}
	return v
}

// splitTrailingParen splits "DESCRIPTION (MISMATCHES)" at the parenthesis that closes the text.
func splitTrailingParen(s string) (head, paren string) {
	if !strings.HasSuffix(s, ")") {
		return s, ""
	}
	depth := 0
	for i := len(s) - 1; i >= 0; i-- {
		switch s[i] {
		case ')':
			depth++
		case '(':
			depth--
			if depth == 0 {
				return strings.TrimSpace(s[:i]), s[i+1 : len(s)-1]
			}
		}
	}
	return s, ""
}

// oldScriptFailure reads a script runner's failure of the earlier form, line number taken
// off: "FAILED: DIFF; expected WANT", "FAILED: expected nothing until T", "FAILED (strict):
// WHY".
func oldScriptFailure(body string) (expected, why string) {
	strict := strings.HasPrefix(body, "FAILED (strict)")
	_, rest, _ := strings.Cut(body, ": ")
	switch {
	case strict:
		return "nothing", rest
	case strings.HasPrefix(rest, "expected "):
		return strings.TrimPrefix(rest, "expected ") + " s", "the stack sent a packet"
	}
	if i := strings.LastIndex(rest, "; expected "); i >= 0 {
		return strings.TrimSpace(rest[i+len("; expected "):]), rest[:i]
	}
	return "", rest
}

// replayDifference reads a replay's "DIFFERENT: WHAT (recorded: SEGMENT)" or "DIFFERENT ...:
// WHAT (recorded: A; stack: B)".
func replayDifference(c string) (expected, why string) {
	_, rest, _ := strings.Cut(c, ": ")
	head, paren := splitTrailingParen(rest)
	if rec, ok := strings.CutPrefix(paren, "recorded: "); ok {
		rec, _, _ = strings.Cut(rec, "; stack: ")
		return "the recorded host's " + rec, head
	}
	return "what the recorded host did", rest
}

// damageText is what a damage comment says of the damage: the parts of the peer's
// description that name it ("TCP ... Len=0, TCP checksum inverted" gives "TCP checksum
// inverted"), or the whole comment (a script line with bad_checksum), without "injected: ".
func damageText(c string) string {
	c = strings.TrimPrefix(strings.TrimPrefix(c, "injected: "), "damaged: ")
	var parts []string
	for _, p := range strings.Split(c, ", ") {
		if damageWords.MatchString(p) {
			parts = append(parts, p)
		}
	}
	if len(parts) == 0 || scriptLine.MatchString(c) {
		return c
	}
	return strings.Join(parts, ", ")
}

// inspect looks at an injected frame itself for damage its comments may not name: wrong
// checksums (checked by the bench's oracle), a frame gopacket cannot decode, a datagram cut
// short, an ARP header of the wrong sizes. It returns "" for a sound frame.
func inspect(data []byte, p gopacket.Packet) string {
	f := &harness.Frame{Data: data, Packet: p, Direction: pcapng.Inbound}
	if ip := f.IPv4(); ip != nil && int(ip.Length) > len(ip.Contents)+len(ip.Payload) {
		// Checksums and headers of a datagram cut short say nothing more.
		return fmt.Sprintf("truncated: IPv4 total length %d, %d bytes in the frame", ip.Length, len(ip.Contents)+len(ip.Payload))
	}
	var what []string
	if errs := f.ChecksumErrors(); len(errs) > 0 {
		what = append(what, strings.Join(errs, "; "))
	}
	if e := decodeError(p); e != "" {
		what = append(what, "malformed: "+e)
	} else if p.Metadata() != nil && p.Metadata().Truncated {
		what = append(what, "truncated")
	}
	if a := f.ARP(); a != nil && (a.AddrType != layers.LinkTypeEthernet || a.Protocol != layers.EthernetTypeIPv4 || a.HwAddressSize != 6 || a.ProtAddressSize != 4) {
		what = append(what, fmt.Sprintf("ARP for hardware type %d, protocol 0x%04x, sizes %d/%d (not Ethernet/IPv4, 6/4)",
			uint16(a.AddrType), uint16(a.Protocol), a.HwAddressSize, a.ProtAddressSize))
	}
	return strings.Join(what, "; ")
}

// decodeError is why gopacket could not decode the frame, "" if it could: a protocol or
// EtherType it has no decoder for is no damage.
func decodeError(p gopacket.Packet) string {
	el := p.ErrorLayer()
	if el == nil || el.Error() == nil {
		return ""
	}
	err := el.Error()
	if errors.Is(err, gopacket.ErrUnsupportedLayer) || strings.HasPrefix(err.Error(), "Unable to decode ") {
		return ""
	}
	return err.Error()
}
