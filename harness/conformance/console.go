package conformance

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"
)

// console is what mtcp-test prints while a run goes, in place of Ginkgo's reporter (whose
// counts include the specs a filter left out, and whose locations are Go lines where a script
// failed): a dot per spec that passed, an S per spec skipped (a line each under -v), every
// failure in full as it happens, located at the script line for a script.
type console struct {
	w       io.Writer
	verbose bool
	col     int // marks on the current line
}

const marksPerLine = 64

func (c *console) spec(s SpecReport) {
	if s.LeafNodeType != types.NodeTypeIt || notSelected(s) {
		return
	}
	passed := s.State.Is(types.SpecStatePassed)
	skipped := s.State.Is(types.SpecStateSkipped | types.SpecStatePending)
	if !c.verbose && (passed || skipped) {
		mark := "."
		if skipped {
			mark = "S"
		}
		fmt.Fprint(c.w, mark)
		if c.col++; c.col == marksPerLine {
			fmt.Fprintln(c.w)
			c.col = 0
		}
		return
	}
	c.endLine()
	switch {
	case passed:
		fmt.Fprintf(c.w, "passed  %s (%s s)\n", s.LeafNodeText, seconds(s.RunTime))
	case skipped:
		fmt.Fprintf(c.w, "skipped %s: %s\n", s.LeafNodeText, firstLine(s.Failure.Message))
	default:
		fmt.Fprintf(c.w, "%s %s\n  at %s\n", failedWord(s), s.LeafNodeText, relLocation(specLocation(s)))
		fmt.Fprintf(c.w, "  %s\n", strings.ReplaceAll(strings.TrimRight(s.Failure.Message, "\n"), "\n", "\n  "))
		for _, e := range s.ReportEntries {
			if e.Name == "capture" || e.Name == "warning" || e.Name == "capture error" {
				fmt.Fprintf(c.w, "  %s: %s\n", e.Name, entryString(e))
			}
		}
	}
}

// endLine ends a line of marks before a line of text.
func (c *console) endLine() {
	if c.col > 0 {
		fmt.Fprintln(c.w)
		c.col = 0
	}
}

// failedWord is FAILED, or INTERRUPTED for the spec an interrupt stopped.
func failedWord(s SpecReport) string {
	if s.State.Is(types.SpecStateInterrupted) {
		return "INTERRUPTED"
	}
	return "FAILED"
}

// relLocation prints a location relative to the working folder when it is inside it.
func relLocation(l types.CodeLocation) string {
	if filepath.IsAbs(l.FileName) {
		if wd, err := os.Getwd(); err == nil {
			if rel, err := filepath.Rel(wd, l.FileName); err == nil && filepath.IsLocal(rel) {
				l.FileName = rel
			}
		}
	}
	return locationString(l)
}
