package replay

import (
	"fmt"
	"io"
	"net"
	"net/netip"
	"sort"
	"strings"
	"time"
)

// Report is the outcome of a replay.
type Report struct {
	Capture string
	Format  string
	// Host is the host the stack played, with its MAC, and why it was chosen.
	Host    netip.Addr
	HostMAC net.HardwareAddr
	Why     string
	// Records counts the capture's packet records; Injected the frames handed to the stack
	// (synthesized ACKs and split segments included); HostFrames the frames the recorded host
	// sent, and Compared those of them the stack's were compared with.
	Records, Injected, HostFrames, Compared int
	// NotComparable, when nothing the host sent could be compared, says why: the verdict is
	// then "not comparable: " and this, not "equivalent".
	NotComparable string
	// Artefacts are the capture's own faults the replay found and worked around (a segment
	// not captured, duplicated frames, a clock stepping back, ...), each said once.
	Artefacts []string
	// StrictInput makes damaged frames bad input (Options.StrictInput).
	StrictInput bool
	// NotReplayed are the TCP conversations of the host left out, and why (the first 100).
	NotReplayed []Skipped
	// Untagged counts frames whose 802.1Q tags were removed.
	Untagged int
	// ChecksumsFixed counts injected frames whose checksums were wrong in the capture.
	ChecksumsFixed int
	// Synthesized counts the peer ACKs replayed later than recorded (see package doc).
	Synthesized int
	// Skipped counts the records not replayed, by reason.
	Skipped map[string]int
	// Damaged lists the frames that were damaged inside (cut short, malformed headers or
	// options); they were injected as captured, or skipped when nothing could be injected.
	Damaged []Damage
	// Conversations are the TCP conversations replayed, in the order they began.
	Conversations []*ConvSummary
	// Differences are where the stack did not do what the recorded host did: the first
	// maxKept found (in time order), and MoreDifferences counts the others, so that memory
	// stays flat however many there are (the output capture's comments have them all).
	Differences     []Difference
	MoreDifferences int
	// Elapsed is the capture's span, replayed in virtual time.
	Elapsed time.Duration
	// Replayed counts the records replayed: Records, unless the replay was interrupted.
	Replayed int
	// Interrupted is set when Options.Stop ended the replay before its end: the report covers
	// the Replayed records only, and says nothing of what the stack had yet to answer.
	Interrupted bool
	// Absolute is set when the differences show sequence numbers as sent (Options.Absolute),
	// not relative to each side's ISN.
	Absolute bool
}

// Skipped is a TCP conversation not replayed.
type Skipped struct {
	Name, Why string
}

// Damage is a frame damaged inside.
type Damage struct {
	Frame int
	What  string
}

// ConvSummary sums up one TCP conversation.
type ConvSummary struct {
	Name                         string // "198.18.1.1:40000 -> 198.18.1.2:8080"
	Role                         string // "server" or "client": what the stack was; "": segments of the stack outside the capture's conversations
	StackPort                    uint16 // as a client, the stack's own port (it replaces the host's)
	HostBytes, StackBytes        int64  // payload bytes the recorded host sent, and the stack
	HostSegments, StackSegments  int
	HostRetransmits, StackRetran int
	Differences                  int
	// Numbering says how sequence numbers were made relative where a side's ISN is not in
	// the capture.
	Numbering []string
}

// Difference is one place where the stack differs from the recorded host.
type Difference struct {
	// Frame is the capture's record number the difference is about (0: none, e.g. a packet
	// the stack sent that the recorded host did not).
	Frame int
	// At is the virtual time, from the capture's first record.
	At time.Duration
	// Conv names the conversation ("" for ARP and ICMP).
	Conv string
	// Recorded and Stack are what each sent, in packetdrill-like notation ("" for nothing).
	Recorded, Stack string
	// What says how they differ.
	What string
}

func (d Difference) String() string {
	var b strings.Builder
	if d.Frame > 0 {
		fmt.Fprintf(&b, "frame %d", d.Frame)
	} else {
		b.WriteString("no frame")
	}
	fmt.Fprintf(&b, " (%.6f s)", d.At.Seconds())
	if d.Conv != "" {
		fmt.Fprintf(&b, " %s", d.Conv)
	}
	fmt.Fprintf(&b, ": %s", d.What)
	if d.Recorded == "" && d.Stack == "" {
		return b.String() // about no segment of either: What says it all
	}
	fmt.Fprintf(&b, "\n    recorded host: %s\n    stack:         %s", orNothing(d.Recorded), orNothing(d.Stack))
	return b.String()
}

// Outcome is what a replay concluded, and mtcp-replay's exit status.
type Outcome int

const (
	Equivalent    Outcome = 0 // the stack did what the recorded host did, on what was compared
	Different     Outcome = 1 // it did not
	BadInput      Outcome = 2 // damaged frames, with Options.StrictInput
	NotComparable Outcome = 3 // nothing the recorded host sent could be compared
	Interrupted   Outcome = -1
)

// Outcome sums the report up. Differences come first: a stack that differs, differs, whatever
// else the capture lacks.
func (r *Report) Outcome() Outcome {
	switch {
	case r.Interrupted:
		return Interrupted
	case r.StrictInput && len(r.Damaged) > 0:
		return BadInput
	case r.NumDifferences() > 0:
		return Different
	case r.Compared == 0 || r.NotComparable != "":
		return NotComparable
	}
	return Equivalent
}

// Equivalent reports whether the stack did what the recorded host did, on something compared;
// an interrupted replay is not.
func (r *Report) Equivalent() bool { return r.Outcome() == Equivalent }

// Verdict is "equivalent", "different: N differences", "not comparable: WHY", or with
// Options.StrictInput "bad input: N damaged frames"; for an interrupted replay "interrupted at
// frame N of M" (N records of M replayed), whatever it found until then.
func (r *Report) Verdict() string {
	switch r.Outcome() {
	case Interrupted:
		return fmt.Sprintf("interrupted at frame %d of %d", r.Replayed, r.Records)
	case BadInput:
		return fmt.Sprintf("bad input: %s (--strict-input)", plural(len(r.Damaged), "damaged frame", "damaged frames"))
	case NotComparable:
		return "not comparable: " + r.notComparableWhy()
	case Different:
		return "different: " + plural(r.NumDifferences(), "difference", "differences")
	}
	return "equivalent"
}

func (r *Report) notComparableWhy() string {
	if r.NotComparable != "" {
		return r.NotComparable
	}
	return fmt.Sprintf("none of the %s the recorded host sent could be compared (skipped: %s)", plural(r.HostFrames, "frame", "frames"), r.skipped())
}

// skipped lists the records not replayed, by reason: "3 UDP (mtcp has no UDP), 1 ...".
func (r *Report) skipped() string {
	keys := make([]string, 0, len(r.Skipped))
	for k := range r.Skipped {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%d %s", r.Skipped[k], k)
	}
	return strings.Join(parts, ", ")
}

// Coverage says what the verdict rests on: "612 of 640 host frames compared, 3 conversations",
// and the damaged frames and capture artefacts, if any.
func (r *Report) Coverage() string {
	n := 0
	for _, c := range r.Conversations {
		if c.Role != "" {
			n++
		}
	}
	s := fmt.Sprintf("%d of %d host frames compared, %s", r.Compared, r.HostFrames, plural(n, "conversation", "conversations"))
	if len(r.Damaged) > 0 {
		s += ", " + plural(len(r.Damaged), "damaged frame", "damaged frames")
	}
	if len(r.Artefacts) > 0 {
		s += ", " + plural(len(r.Artefacts), "capture artefact", "capture artefacts")
	}
	return s
}

// maxListed bounds the differences the text report lists one by one; maxKept those the
// report keeps.
const (
	maxListed = 100
	maxKept   = 1000
)

// NumDifferences counts the differences found, kept or not.
func (r *Report) NumDifferences() int { return len(r.Differences) + r.MoreDifferences }

// Write prints the report; its last line is the verdict (for an interrupted replay,
// "interrupted at frame N of M", after what was found until then), and the line before it
// what the verdict rests on (Coverage): "judged: 612 of 640 host frames compared, 3
// conversations".
func (r *Report) Write(w io.Writer) {
	fmt.Fprintf(w, "capture: %s (%s), %d records, %.3f s\n", r.Capture, r.Format, r.Records, r.Elapsed.Seconds())
	if !r.Host.IsValid() && r.NotComparable != "" {
		// Not comparable before any replay: the verdict says why.
		fmt.Fprintf(w, "judged: %s\n", r.Coverage())
		fmt.Fprintln(w, r.Verdict())
		return
	}
	fmt.Fprintf(w, "the stack plays %v (%v): %s\n", r.Host, r.HostMAC, r.Why)
	fmt.Fprintf(w, "frames: %d injected", r.Injected)
	if r.Synthesized > 0 {
		if r.Synthesized == 1 {
			fmt.Fprint(w, " (1 peer ACK replayed once the stack had sent what it acknowledges)")
		} else {
			fmt.Fprintf(w, " (%d peer ACKs replayed once the stack had sent what they acknowledge)", r.Synthesized)
		}
	}
	fmt.Fprintf(w, ", %d of the host's compared", r.Compared)
	if r.ChecksumsFixed > 0 {
		fmt.Fprintf(w, "; %d injected with checksums corrected (wrong in the capture)", r.ChecksumsFixed)
	}
	if r.Untagged > 0 {
		fmt.Fprintf(w, "; %d replayed without their 802.1Q tags", r.Untagged)
	}
	fmt.Fprintln(w)
	if len(r.Skipped) > 0 {
		fmt.Fprintf(w, "skipped: %s\n", r.skipped())
	}
	for i, d := range r.Damaged {
		if i == maxListed {
			fmt.Fprintf(w, "damaged: ... and %d more frames\n", len(r.Damaged)-maxListed)
			break
		}
		fmt.Fprintf(w, "damaged: frame %d: %s\n", d.Frame, d.What)
	}
	for _, c := range r.Conversations {
		role := "stack as " + c.Role
		switch {
		case c.Role == "":
			role = "no conversation of the capture: segments the stack sent there"
		case c.StackPort != 0:
			role += fmt.Sprintf(", from its port %d", c.StackPort)
		}
		fmt.Fprintf(w, "tcp %s (%s): host %d bytes in %s (%d retransmitted), stack %d bytes in %s (%d retransmitted), %s\n",
			c.Name, role, c.HostBytes, plural(c.HostSegments, "segment", "segments"), c.HostRetransmits,
			c.StackBytes, plural(c.StackSegments, "segment", "segments"), c.StackRetran, plural(c.Differences, "difference", "differences"))
		for _, n := range c.Numbering {
			fmt.Fprintf(w, "  %s\n", n)
		}
	}
	for _, n := range r.NotReplayed {
		fmt.Fprintf(w, "tcp %s: not replayed: %s\n", n.Name, n.Why)
	}
	for _, a := range r.Artefacts {
		fmt.Fprintf(w, "capture artefact: %s\n", a)
	}
	if len(r.Differences) > 0 {
		if r.Absolute {
			fmt.Fprintln(w, "differences (sequence numbers as sent):")
		} else {
			fmt.Fprintln(w, "differences (sequence numbers relative to each side's ISN, the stack's to its own; --absolute for them as sent):")
		}
		for i, d := range r.Differences {
			if i == maxListed {
				fmt.Fprintf(w, "  ... and %d more (all of them are in the output capture's comments)\n", r.NumDifferences()-maxListed)
				break
			}
			fmt.Fprintf(w, "  %s\n", d)
		}
	}
	if !r.Interrupted {
		fmt.Fprintf(w, "judged: %s\n", r.Coverage())
	}
	fmt.Fprintln(w, r.Verdict())
}
