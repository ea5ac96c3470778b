package script

import (
	"bytes"
	"strings"
)

// DefaultDefines returns the names defined when the caller gives none:
// STANDARD, as in the FreeBSD packetdrill fork.
func DefaultDefines() map[string]bool { return map[string]bool{"STANDARD": true} }

type cond struct {
	line, col int
	taking    bool // this branch's lines are kept
	parent    bool // the enclosing region's lines are kept
	sawElse   bool
}

// preprocess honours the FreeBSD fork's #ifdef NAME, #ifndef NAME, #else and
// #endif lines (nestable). It returns a copy of src in which directive lines
// and the lines of untaken branches are blanked, so that every kept byte
// stays at its line and column.
func preprocess(src []byte, defines map[string]bool) ([]byte, *Error) {
	out := bytes.Clone(src)
	var stack []cond
	keeping := true
	lineNo := 0
	for start := 0; start < len(out); {
		lineNo++
		end := bytes.IndexByte(out[start:], '\n')
		if end < 0 {
			end = len(out)
		} else {
			end += start
		}
		line := out[start:end]
		trimmed := bytes.TrimLeft(line, " \t")
		indent := len(line) - len(trimmed)
		if len(trimmed) > 0 && trimmed[0] == '#' {
			fields := strings.Fields(string(trimmed))
			directive := fields[0]
			errAt := func(msg string) *Error { return &Error{Line: lineNo, Col: indent + 1, Msg: msg} }
			switch directive {
			case "#ifdef", "#ifndef":
				if len(fields) != 2 {
					return nil, errAt(directive + " needs exactly one name")
				}
				def := defines[fields[1]]
				if directive == "#ifndef" {
					def = !def
				}
				stack = append(stack, cond{line: lineNo, col: indent + 1, taking: def, parent: keeping})
				keeping = keeping && def
			case "#else":
				if len(fields) != 1 {
					return nil, errAt("#else takes no arguments")
				}
				if len(stack) == 0 {
					return nil, errAt("#else without #ifdef")
				}
				top := &stack[len(stack)-1]
				if top.sawElse {
					return nil, errAt("second #else for the same #ifdef")
				}
				top.sawElse, top.taking = true, !top.taking
				keeping = top.parent && top.taking
			case "#endif":
				if len(fields) != 1 {
					return nil, errAt("#endif takes no arguments")
				}
				if len(stack) == 0 {
					return nil, errAt("#endif without #ifdef")
				}
				keeping = stack[len(stack)-1].parent
				stack = stack[:len(stack)-1]
			default:
				if keeping {
					return nil, errAt("unsupported: preprocessor directive " + directive)
				}
			}
			blank(line)
		} else if !keeping {
			blank(line)
		}
		start = end + 1
	}
	if len(stack) > 0 {
		top := stack[len(stack)-1]
		return nil, &Error{Line: top.line, Col: top.col, Msg: "#ifdef without #endif"}
	}
	return out, nil
}

// blank overwrites a line with spaces, keeping its length and so every later
// column.
func blank(line []byte) {
	for i := range line {
		if line[i] != '\r' {
			line[i] = ' '
		}
	}
}
