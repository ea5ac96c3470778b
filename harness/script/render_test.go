package script

import (
	"fmt"
	"strings"
)

func sprint(v any) string { return fmt.Sprintf("%+v", v) }

// render prints a syscall back in packetdrill notation, for compact test tables.
func render(s *Syscall) string {
	var b strings.Builder
	if s.HasEndTime {
		fmt.Fprintf(&b, "...%v ", s.EndTime)
	}
	b.WriteString(s.Name + "(")
	for i, a := range s.Args {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(renderExpr(a))
	}
	b.WriteString(") = " + renderExpr(s.Result))
	if s.Errno != "" {
		b.WriteString(" " + s.Errno)
	}
	if s.Note != "" {
		b.WriteString(" (" + s.Note + ")")
	}
	return b.String()
}

func renderExpr(e Expr) string {
	list := func(open, close string) string {
		parts := make([]string, len(e.Elems))
		for i, x := range e.Elems {
			parts[i] = renderExpr(x)
		}
		return open + strings.Join(parts, ", ") + close
	}
	switch e.Kind {
	case ExprEllipsis:
		return "..."
	case ExprInt, ExprWord:
		return e.Text
	case ExprString:
		s := fmt.Sprintf("%q", e.Text)
		if e.AnySuffix {
			s += "..."
		}
		return s
	case ExprArray:
		return list("[", "]")
	case ExprStruct:
		return list("{", "}")
	case ExprCall:
		return e.Text + list("(", ")")
	case ExprAssign:
		return e.Text + "=" + renderExpr(e.Elems[0])
	case ExprOr:
		parts := make([]string, len(e.Elems))
		for i, x := range e.Elems {
			parts[i] = renderExpr(x)
		}
		return strings.Join(parts, "|")
	}
	return "?"
}
