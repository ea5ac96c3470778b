package script

import (
	"bytes"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// DefaultDefines returns the names defined when the caller of Parse gives none:
// STANDARD, as in the FreeBSD packetdrill fork.
func DefaultDefines() map[string]bool { return map[string]bool{"STANDARD": true} }

// PlatformDefines are the names of the systems the FreeBSD packetdrill fork defines
// for #ifdef (the fork defines the one it runs on). Defining any of them
// undefines STANDARD.
var PlatformDefines = []string{"FreeBSD", "Linux", "NetBSD", "OpenBSD"}

// Defines are the definitions a script is read with: packetdrill's
// -D NAME=VALUE, and mtcp's -D NAME and -U NAME. The zero value defines
// STANDARD only.
//
// The rule, applied for each #ifdef, #ifndef and bare word of the script:
//
//   - A name is defined when -D gives it (with a value or without), or when the
//     script's own --define=NAME=VALUE option line gives it, unless -U names it.
//   - STANDARD is also defined when no defined name is a platform (FreeBSD,
//     Linux, NetBSD, OpenBSD), unless -U STANDARD: "-D FreeBSD" selects the
//     FreeBSD branches in place of the STANDARD ones.
//   - A bare word of the script (a word packetdrill does not reserve, outside
//     option lines, strings, comments, backquoted commands and %{ }% code) that
//     is a name with a value reads as that value, as packetdrill's lexer does:
//     "VALUE" as a string, `VALUE` as a shell command, a C integer (strtol,
//     base 0: 10, 0x1f, 017) as that integer, anything else as a word.
//     -D NAME=VALUE wins over the script's --define. Backquoted shell commands
//     are never rewritten: a ${NAME} in them is for the shell, as in packetdrill.
//   - Names are case-sensitive: -D FREEBSD does not define FreeBSD (see
//     CaseWarnings).
type Defines struct {
	// Values are -D NAME=VALUE.
	Values map[string]string
	// Names are -D NAME without a value: defined for #ifdef, never substituted.
	Names []string
	// Undefined are -U NAME: not defined, whatever else defines them.
	Undefined []string
}

// Define adds one -D argument: "NAME=VALUE" or "NAME".
func (d *Defines) Define(arg string) error {
	name, value, hasValue := strings.Cut(arg, "=")
	if err := checkDefineName(name); err != nil {
		return fmt.Errorf("-D %s: %v", arg, err)
	}
	if !hasValue {
		d.Names = append(d.Names, name)
		return nil
	}
	if d.Values == nil {
		d.Values = map[string]string{}
	}
	d.Values[name] = value
	return nil
}

// Undefine adds one -U argument.
func (d *Defines) Undefine(name string) error {
	if err := checkDefineName(name); err != nil {
		return fmt.Errorf("-U %s: %v", name, err)
	}
	d.Undefined = append(d.Undefined, name)
	return nil
}

func checkDefineName(name string) error {
	if name == "" {
		return fmt.Errorf("empty name")
	}
	for i := 0; i < len(name); i++ {
		if !isWordChar(name[i]) {
			return fmt.Errorf("a name is made of letters, digits and '_'")
		}
	}
	return nil
}

// DefineFlag adapts Defines to the flag package for -D:
// fs.Var(script.DefineFlag{&d}, "D", "define NAME[=VALUE]").
type DefineFlag struct{ *Defines }

// String implements flag.Value.
func (f DefineFlag) String() string {
	if f.Defines == nil {
		return ""
	}
	var parts []string
	for _, n := range f.Names {
		parts = append(parts, n)
	}
	for _, n := range sortedKeys(f.Values) {
		parts = append(parts, n+"="+f.Values[n])
	}
	return strings.Join(parts, ",")
}

// Set implements flag.Value.
func (f DefineFlag) Set(v string) error { return f.Define(v) }

// UndefineFlag adapts Defines to the flag package for -U.
type UndefineFlag struct{ *Defines }

// String implements flag.Value.
func (f UndefineFlag) String() string {
	if f.Defines == nil {
		return ""
	}
	return strings.Join(f.Undefined, ",")
}

// Set implements flag.Value.
func (f UndefineFlag) Set(v string) error { return f.Undefine(v) }

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// defineSet answers "is NAME defined" and "what does NAME read as" while a
// script is lexed: the caller's Defines plus the script's --define lines.
type defineSet struct {
	// exact, when not nil, is the complete set of #ifdef names (Parse's map):
	// no STANDARD rule, no command-line values.
	exact  map[string]bool
	cmd    Defines
	script map[string]*string // --define lines seen so far; nil value for --define=NAME
}

func newDefineSet(d Defines, exact map[string]bool) *defineSet {
	return &defineSet{cmd: d, exact: exact, script: map[string]*string{}}
}

func (s *defineSet) undefined(name string) bool {
	for _, u := range s.cmd.Undefined {
		if u == name {
			return true
		}
	}
	return false
}

// given reports whether -D or the script defines name (STANDARD's rule aside).
func (s *defineSet) given(name string) bool {
	if s.undefined(name) {
		return false
	}
	if _, ok := s.script[name]; ok {
		return true
	}
	if s.exact != nil {
		return s.exact[name]
	}
	if _, ok := s.cmd.Values[name]; ok {
		return true
	}
	for _, n := range s.cmd.Names {
		if n == name {
			return true
		}
	}
	return false
}

// defined is what #ifdef name tests.
func (s *defineSet) defined(name string) bool {
	if s.given(name) {
		return true
	}
	if name != "STANDARD" || s.exact != nil || s.undefined(name) {
		return false
	}
	for _, p := range PlatformDefines {
		if s.given(p) {
			return false
		}
	}
	return true
}

// value is what a bare word name reads as, if it has a value.
func (s *defineSet) value(name string) (string, bool) {
	if s.undefined(name) {
		return "", false
	}
	if v, ok := s.cmd.Values[name]; ok && s.exact == nil {
		return v, true
	}
	if v := s.script[name]; v != nil {
		return *v, true
	}
	return "", false
}

// scriptDefine records a --define=NAME[=VALUE] option line of the script.
func (s *defineSet) scriptDefine(arg string) error {
	name, value, hasValue := strings.Cut(arg, "=")
	if err := checkDefineName(name); err != nil {
		return fmt.Errorf("--define=%s: %v", arg, err)
	}
	if hasValue {
		s.script[name] = &value
	} else {
		s.script[name] = nil
	}
	return nil
}

// substitute returns the token a bare word defined with value reads as, as
// packetdrill's lexer word() does.
func substitute(t token, value string) token {
	t.name = t.text
	switch {
	case strings.HasPrefix(value, `"`):
		t.kind, t.text = tString, unquoteDefine(value)
	case strings.HasPrefix(value, "`"):
		t.kind, t.text = tBackquote, unquoteDefine(value)
	default:
		if v, ok := strtolFull(value); ok {
			t.kind, t.text = tInt, strconv.FormatInt(v, 10)
		} else {
			t.kind, t.text = tWord, value
		}
	}
	return t
}

// unquoteDefine drops the first and last characters, as packetdrill's quoted() does.
func unquoteDefine(v string) string {
	if len(v) < 2 {
		return ""
	}
	return v[1 : len(v)-1]
}

// strtolFull is C's strtol(s, &end, 0) with *end == '\0' and no overflow: the
// test packetdrill applies to a define's value to read it as an integer. An
// empty value reads as 0, as it does in packetdrill.
func strtolFull(s string) (int64, bool) {
	s = strings.TrimLeft(s, " \t\n\v\f\r")
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
		if s == "" {
			return 0, false
		}
	}
	if s == "" {
		return 0, true
	}
	base := 10
	digits := s
	switch {
	case len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && isHexDigit(s[2]):
		base, digits = 16, s[2:]
	case len(s) > 1 && s[0] == '0':
		base, digits = 8, s[1:]
	}
	for i := 0; i < len(digits); i++ {
		c := digits[i]
		ok := isDigit(c) && (base != 8 || c < '8') || base == 16 && isHexDigit(c)
		if !ok {
			return 0, false
		}
	}
	u, err := strconv.ParseUint(digits, base, 64)
	if err != nil || u >= 1<<63-1 {
		return 0, false // LONG_MAX and LONG_MIN are packetdrill's "not an integer"
	}
	if neg {
		return -int64(u), true
	}
	return int64(u), true
}

// cond is one open #ifdef or #ifndef.
type cond struct {
	line, col int
	sawElse   bool
}

// directive handles a preprocessor line of the FreeBSD fork starting at
// offset i, the first token of its line: #ifdef NAME, #ifndef NAME, #else,
// #endif (nestable; #ifndef, #else and nesting are mtcp's additions). It
// returns the offset to resume lexing at: past the line, or past the untaken
// branch it skips. The fork reads a directive only where a token may start,
// so a '#' line inside a backquoted command, a string, a comment or %{ }%
// code is text, not a directive.
func (lx *lexer) directive(i int) (int, *lexError) {
	line, col := lx.pos(i)
	fields, next := lx.directiveLine(i)
	switch fields[0] {
	case "#ifdef", "#ifndef":
		if len(fields) != 2 {
			return 0, &lexError{i, fields[0] + " needs exactly one name"}
		}
		def := lx.defs.defined(fields[1])
		if fields[0] == "#ifndef" {
			def = !def
		}
		lx.conds = append(lx.conds, cond{line: line, col: col})
		if !def {
			return lx.skip(next, true)
		}
		return next, nil
	case "#else":
		if len(fields) != 1 {
			return 0, &lexError{i, "#else takes no arguments"}
		}
		if len(lx.conds) == 0 {
			return 0, &lexError{i, "#else without #ifdef"}
		}
		top := &lx.conds[len(lx.conds)-1]
		if top.sawElse {
			return 0, &lexError{i, "second #else for the same #ifdef"}
		}
		top.sawElse = true
		return lx.skip(next, false)
	case "#endif":
		if len(fields) != 1 {
			return 0, &lexError{i, "#endif takes no arguments"}
		}
		if len(lx.conds) == 0 {
			return 0, &lexError{i, "#endif without #ifdef"}
		}
		lx.conds = lx.conds[:len(lx.conds)-1]
		return next, nil
	}
	return 0, &lexError{i, fmt.Sprintf("unknown preprocessor directive %s (#ifdef, #ifndef, #else and #endif are known)", fields[0])}
}

// directiveLine returns the fields of the line starting at i (a trailing //
// comment dropped) and the offset of the next line.
func (lx *lexer) directiveLine(i int) ([]string, int) {
	end := bytes.IndexByte(lx.src[i:], '\n')
	next := len(lx.src)
	if end < 0 {
		end = len(lx.src)
	} else {
		end += i
		next = end + 1
	}
	text := string(lx.src[i:end])
	if c := strings.Index(text, "//"); c >= 0 {
		text = text[:c]
	}
	return strings.Fields(text), next
}

// skip skips the lines of an untaken branch from offset i: up to the matching
// #endif, or, when atIf (the branch of a false #ifdef), up to a matching #else.
// Directives in the skipped lines are read line by line, for nesting only.
func (lx *lexer) skip(i int, atIf bool) (int, *lexError) {
	var inner []bool // sawElse of each nested #ifdef within the skipped lines
	for i < len(lx.src) {
		start := i
		for start < len(lx.src) && (lx.src[start] == ' ' || lx.src[start] == '\t') {
			start++
		}
		if start >= len(lx.src) || lx.src[start] != '#' {
			if nl := bytes.IndexByte(lx.src[i:], '\n'); nl >= 0 {
				i += nl + 1
			} else {
				i = len(lx.src)
			}
			continue
		}
		fields, next := lx.directiveLine(start)
		switch fields[0] {
		case "#ifdef", "#ifndef":
			if len(fields) != 2 {
				return 0, &lexError{start, fields[0] + " needs exactly one name"}
			}
			inner = append(inner, false)
		case "#else":
			if len(fields) != 1 {
				return 0, &lexError{start, "#else takes no arguments"}
			}
			if len(inner) > 0 {
				if inner[len(inner)-1] {
					return 0, &lexError{start, "second #else for the same #ifdef"}
				}
				inner[len(inner)-1] = true
				break
			}
			top := &lx.conds[len(lx.conds)-1]
			if top.sawElse {
				return 0, &lexError{start, "second #else for the same #ifdef"}
			}
			top.sawElse = true
			if atIf {
				return next, nil
			}
		case "#endif":
			if len(fields) != 1 {
				return 0, &lexError{start, "#endif takes no arguments"}
			}
			if len(inner) > 0 {
				inner = inner[:len(inner)-1]
				break
			}
			lx.conds = lx.conds[:len(lx.conds)-1]
			return next, nil
		}
		i = next
	}
	top := lx.conds[len(lx.conds)-1]
	return 0, &lexError{lx.lineStarts[top.line-1] + top.col - 1, "#ifdef without #endif"}
}

// TestedName is a name an #ifdef or #ifndef line of a script tests.
type TestedName struct {
	Name      string
	Line, Col int
}

// TestedNames returns the names the #ifdef and #ifndef lines of src test,
// taken branches or not, each once (at its first line), in source order. Lines
// are read as lines: a directive inside a multi-line backquoted command counts.
func TestedNames(src []byte) []TestedName {
	var out []TestedName
	seen := map[string]bool{}
	for n, line := range strings.Split(string(src), "\n") {
		trimmed := strings.TrimLeft(line, " \t")
		fields := strings.Fields(trimmed)
		if len(fields) < 2 || fields[0] != "#ifdef" && fields[0] != "#ifndef" {
			continue
		}
		if !seen[fields[1]] {
			seen[fields[1]] = true
			at := len(fields[0]) + strings.Index(trimmed[len(fields[0]):], fields[1])
			out = append(out, TestedName{Name: fields[1], Line: n + 1, Col: len(line) - len(trimmed) + 1 + at})
		}
	}
	return out
}

// CaseWarnings returns a warning for each name d defines (-D, with or
// without a value) that differs only in case from a name the script tests
// with #ifdef or #ifndef but is not that name, e.g. -D FREEBSD for a script
// testing FreeBSD: names are case-sensitive, so the define selects nothing.
// Each warning is located at the #ifdef line of the name the define resembles
// and lists the names the script tests. ParseWith adds them to
// Script.Warnings; call CaseWarnings directly to warn even when the script
// does not parse.
func CaseWarnings(filename string, src []byte, d Defines) []*Error {
	tested := TestedNames(src)
	if len(tested) == 0 {
		return nil
	}
	names := make([]string, len(tested))
	exact := map[string]bool{}
	for i, t := range tested {
		names[i] = t.Name
		exact[t.Name] = true
	}
	defined := append([]string(nil), d.Names...)
	defined = append(defined, sortedKeys(d.Values)...)
	lines := strings.Split(string(src), "\n")
	var out []*Error
	warned := map[string]bool{}
	for _, def := range defined {
		if exact[def] || warned[def] {
			continue
		}
		for _, t := range tested {
			if strings.EqualFold(def, t.Name) {
				warned[def] = true
				out = append(out, &Error{
					File: filename, Line: t.Line, Col: t.Col, Text: strings.TrimRight(lines[t.Line-1], "\r"),
					Msg: fmt.Sprintf("-D %s does not define %s, which this script tests: names are case-sensitive (the script tests %s)",
						def, t.Name, strings.Join(names, ", ")),
				})
				break
			}
		}
	}
	return out
}
