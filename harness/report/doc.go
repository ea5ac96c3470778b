// Package report writes the HTML reports of mtcp-test (--html) and mtcp-replay: one
// self-contained page each, that works when opened from a CI artifact. It loads nothing
// (no network, no framework: the styles and a few lines of script for the filters are
// inline) and is the same for the same input, so that it can be compared byte for byte.
//
// WriteSuite draws a conformance run: a verdict table of every case, filterable by area,
// RFC and verdict, and per case a ladder diagram of its capture in inline SVG: the peer on
// the left, the stack under test on the right, time flowing down to scale (a long idle gap
// is a labelled break), one arrow per frame labelled in packetdrill's notation. What the
// frame's packet comments say decides how its arrow is drawn: an expectation that held
// ("met: …", a script line it matched) green and solid, the frame that broke one red and
// thick with what was expected instead ("expected instead: …" of a spec, "line N: FAILED:
// …; expected …" of a script), injected damage (a bad checksum, a frame cut short, a
// malformed header: named by the comment or found in the frame) orange and dashed, the
// bench's own ARP grey and dotted, the rest thin and grey. WriteReplay draws a replay: the
// recorded capture's ladder (the peer and the recorded host) beside the replay's (the peer
// and the stack), on the capture's clock, a frame the replay injected on the row of the
// capture frame it copies, the differences in red.
//
// The captures are read as streams and only the frames drawn are kept (the first
// MaxFrames and those around the first failure), so that a long capture makes a light page.
// A capture that cannot be read is said in the page, not returned as an error.
//
// The package reads captures and writes HTML; it does not run cases or replays, and it
// decodes frames with gopacket only (never with the stack's own parser), as the harness
// does. It must not import the conformance suite or the commands (they import it).
package report
