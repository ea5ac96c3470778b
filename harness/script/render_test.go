package script

import (
	"fmt"
	"strings"
)

func sprint(v any) string { return fmt.Sprintf("%+v", v) }

// render prints a syscall back in packetdrill notation, for compact test tables.
func render(s *Syscall) string { return renderSyscall(s, false) }

// renderSyscall prints a syscall back; with showInts, each integer as "text=value".
func renderSyscall(s *Syscall, showInts bool) string {
	var b strings.Builder
	if s.HasEndTime {
		fmt.Fprintf(&b, "...%v ", s.EndTime)
	}
	b.WriteString(s.Name + "(")
	for i, a := range s.Args {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(renderExprAs(a, showInts))
	}
	b.WriteString(") = " + renderExprAs(s.Result, showInts))
	if s.Errno != "" {
		b.WriteString(" " + s.Errno)
	}
	if s.Note != "" {
		b.WriteString(" (" + s.Note + ")")
	}
	return b.String()
}

func renderExpr(e Expr) string { return renderExprAs(e, false) }

// renderExprAs prints an expression back in packetdrill notation, with the (LEN) of
// name(LEN)=value; with showInts, an integer as "text=value", so a table checks both.
func renderExprAs(e Expr, showInts bool) string {
	list := func(open, close, sep string) string {
		parts := make([]string, len(e.Elems))
		for i, x := range e.Elems {
			parts[i] = renderExprAs(x, showInts)
		}
		return open + strings.Join(parts, sep) + close
	}
	switch e.Kind {
	case ExprEllipsis:
		return "..."
	case ExprInt:
		if showInts {
			return fmt.Sprintf("%s=%d", e.Text, e.Int)
		}
		return e.Text
	case ExprWord:
		return e.Text
	case ExprString:
		s := fmt.Sprintf("%q", e.Text)
		if e.AnySuffix {
			s += "..."
		}
		return s
	case ExprArray:
		return list("[", "]", ", ")
	case ExprStruct:
		return list("{", "}", ", ")
	case ExprCall:
		return e.Text + list("(", ")", ", ")
	case ExprAssign:
		name := e.Text
		if e.Len != nil {
			name += "(" + renderExprAs(*e.Len, showInts) + ")"
		}
		return name + "=" + renderExprAs(e.Elems[0], showInts)
	case ExprOr:
		return list("", "", "|")
	}
	return "?"
}
