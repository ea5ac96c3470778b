package script

import (
	"fmt"
	"strings"
)

// Error is a malformed script, located at a line and column (both from 1;
// the column counts bytes). Warnings use the same type.
type Error struct {
	File      string
	Line, Col int
	Msg       string
	// Text is the offending source line.
	Text string
}

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
