package script

import (
	"bytes"
	"fmt"
	"regexp"
	"sort"
	"unicode/utf8"
)

type tokKind uint8

const (
	tEOF       tokKind = iota
	tInt               // 12, -1
	tHex               // 0x1f
	tFloat             // 1.5, .5
	tIPv4              // 192.0.2.1
	tIPv6              // 2001:db8::1 (packetdrill's IPv6 address forms)
	tMAC               // 02:00:00:00:00:01
	tWord              // S, socket, who-has, exp-FO, gen-12
	tString            // "..." (text without the quotes)
	tBackquote         // `...` (text without the backquotes)
	tCode              // %{ ... }% (text, spaces and tabs trimmed at both ends)
	tEllipsis          // ...
	tOption            // --name[=value] (text name, val value)
	tPunct             // any other single character
)

type token struct {
	kind      tokKind
	text      string
	val       string
	hasVal    bool
	line, col int
	off, end  int // byte offsets in the source
	// name is the defined word this token was substituted for ("" if none).
	name string
}

// describe names a token for error messages.
func (t token) describe() string {
	var s string
	switch t.kind {
	case tEOF:
		return "end of file"
	case tString:
		s = fmt.Sprintf("string %q", t.text)
	case tBackquote:
		s = "shell command"
	case tCode:
		s = "code snippet"
	case tEllipsis:
		s = "'...'"
	case tOption:
		s = "option --" + t.text
	case tPunct:
		s = fmt.Sprintf("'%s'", t.text)
	default:
		s = fmt.Sprintf("%q", t.text)
	}
	if t.name != "" {
		s += fmt.Sprintf(" (the value of %s)", t.name)
	}
	return s
}

func (t token) is(punct string) bool { return t.kind == tPunct && t.text == punct }

func (t token) isWord(w string) bool { return t.kind == tWord && t.text == w }

type lexer struct {
	src        []byte
	lineStarts []int
	toks       []token
	defs       *defineSet
	conds      []cond // open #ifdefs
}

func newLexer(src []byte, defs *defineSet) *lexer {
	if defs == nil {
		defs = newDefineSet(Defines{}, DefaultDefines())
	}
	lx := &lexer{src: src, lineStarts: []int{0}, defs: defs}
	for i, c := range src {
		if c == '\n' {
			lx.lineStarts = append(lx.lineStarts, i+1)
		}
	}
	return lx
}

// pos converts a byte offset into a 1-based line and column.
func (lx *lexer) pos(off int) (line, col int) {
	i := sort.Search(len(lx.lineStarts), func(i int) bool { return lx.lineStarts[i] > off }) - 1
	return i + 1, off - lx.lineStarts[i] + 1
}

type lexError struct {
	off int
	msg string
}

func isDigit(c byte) bool    { return c >= '0' && c <= '9' }
func isLetter(c byte) bool   { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' }
func isWordChar(c byte) bool { return isLetter(c) || isDigit(c) }
func isHexDigit(c byte) bool { return isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

func (lx *lexer) at(i int) byte {
	if i < len(lx.src) {
		return lx.src[i]
	}
	return 0
}

func (lx *lexer) emit(kind tokKind, text string, off, end int) {
	line, col := lx.pos(off)
	lx.toks = append(lx.toks, token{kind: kind, text: text, line: line, col: col, off: off, end: end})
}

// firstOnLine reports whether only blanks precede offset i on its line.
func (lx *lexer) firstOnLine(i int) bool {
	for j := i - 1; j >= 0 && lx.src[j] != '\n'; j-- {
		if lx.src[j] != ' ' && lx.src[j] != '\t' && lx.src[j] != '\r' {
			return false
		}
	}
	return true
}

// run splits the source into tokens; comments, whitespace, preprocessor lines
// and the lines of untaken #ifdef branches are dropped.
func (lx *lexer) run() *lexError {
	src := lx.src
	i := 0
	for i < len(src) {
		c := src[i]
		switch {
		case isSpace(c):
			i++
		case c == '#' && lx.firstOnLine(i):
			next, err := lx.directive(i)
			if err != nil {
				return err
			}
			i = next
		case c == '/' && lx.at(i+1) == '/':
			for i < len(src) && src[i] != '\n' {
				i++
			}
		case c == '/' && lx.at(i+1) == '*':
			j := bytes.Index(src[i+2:], []byte("*/"))
			if j < 0 {
				return &lexError{i, "unterminated /* comment"}
			}
			i += 2 + j + 2
		case c == '-' && lx.at(i+1) == '-' && isWordChar(lx.at(i+2)):
			next, err := lx.option(i)
			if err != nil {
				return err
			}
			i = next
		case c == '%' && lx.at(i+1) == '{':
			j := bytes.Index(src[i+2:], []byte("}%"))
			if j < 0 {
				return &lexError{i, "unterminated %{ code snippet"}
			}
			// As packetdrill: spaces and tabs (not newlines) are trimmed at both ends.
			lx.emit(tCode, string(bytes.Trim(src[i+2:i+2+j], " \t")), i, i+2+j+2)
			i += 2 + j + 2
		case c == '"' || c == '`':
			j := i + 1
			for j < len(src) && src[j] != c {
				if src[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(src) {
				if c == '"' {
					return &lexError{i, "unterminated string"}
				}
				return &lexError{i, "unterminated backquoted command"}
			}
			kind := tString
			if c == '`' {
				kind = tBackquote
			}
			lx.emit(kind, string(src[i+1:j]), i, j+1)
			i = j + 1
		case c == '.' && lx.at(i+1) == '.' && lx.at(i+2) == '.':
			lx.emit(tEllipsis, "...", i, i+3)
			i += 3
		case c == '.' && isDigit(lx.at(i+1)):
			j := i + 1
			for j < len(src) && isDigit(src[j]) {
				j++
			}
			lx.emit(tFloat, string(src[i:j]), i, j)
			i = j
		case c == ':' || isDigit(c) || c == '-' && isDigit(lx.at(i+1)) || isLetter(c):
			if end, ok := lx.ipv6(i); ok {
				lx.emit(tIPv6, string(src[i:end]), i, end)
				i = end
				break
			}
			if c == ':' {
				lx.emit(tPunct, ":", i, i+1)
				i++
				break
			}
			i = lx.number(i)
		default:
			r, n := utf8.DecodeRune(src[i:])
			if r == utf8.RuneError && n <= 1 {
				return &lexError{i, fmt.Sprintf("invalid byte 0x%02x", c)}
			}
			lx.emit(tPunct, string(src[i:i+n]), i, i+n)
			i += n
		}
	}
	if len(lx.conds) > 0 {
		top := lx.conds[len(lx.conds)-1]
		return &lexError{lx.lineStarts[top.line-1] + top.col - 1, "#ifdef without #endif"}
	}
	lx.emit(tEOF, "", len(src), len(src))
	return nil
}

// option lexes --name[=value]; the value runs to the next blank, or is a
// quoted string. A --define=NAME[=VALUE] line takes effect at once, for the
// #ifdef lines and bare words that follow it.
func (lx *lexer) option(i int) (int, *lexError) {
	src := lx.src
	start := i
	i += 2
	for i < len(src) && isWordChar(src[i]) {
		i++
	}
	tok := token{kind: tOption, text: string(src[start+2 : i]), off: start}
	if lx.at(i) == '=' {
		i++
		vstart := i
		if q := lx.at(i); q == '"' || q == '`' {
			if j := bytes.IndexByte(src[i+1:], q); j >= 0 {
				i += j + 2
			}
		}
		for i < len(src) && !isSpace(src[i]) {
			i++
		}
		v := string(src[vstart:i])
		if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
			v = v[1 : len(v)-1]
		}
		tok.val, tok.hasVal = v, true
	}
	tok.end = i
	tok.line, tok.col = lx.pos(start)
	lx.toks = append(lx.toks, tok)
	if tok.text == "define" {
		if !tok.hasVal {
			return 0, &lexError{start, "--define needs NAME=VALUE"}
		}
		if err := lx.defs.scriptDefine(tok.val); err != nil {
			return 0, &lexError{start, err.Error()}
		}
	}
	return i, nil
}

// number lexes a token starting with a digit, a minus sign or a letter: a MAC
// address, hex or decimal integer, float, IPv4 address or word.
func (lx *lexer) number(i int) int {
	src := lx.src
	if end, ok := lx.mac(i); ok {
		lx.emit(tMAC, string(src[i:end]), i, end)
		return end
	}
	if isLetter(src[i]) {
		return lx.word(i)
	}
	neg := src[i] == '-'
	j := i
	if neg {
		j++
	}
	if !neg && src[i] == '0' && (lx.at(i+1) == 'x' || lx.at(i+1) == 'X') && isHexDigit(lx.at(i+2)) {
		j = i + 2
		for j < len(src) && isHexDigit(src[j]) {
			j++
		}
		if isWordChar(lx.at(j)) { // 0x12zz is a word, as in packetdrill
			return lx.word(i)
		}
		lx.emit(tHex, string(src[i:j]), i, j)
		return j
	}
	for j < len(src) && isDigit(src[j]) {
		j++
	}
	if lx.at(j) == '.' && isDigit(lx.at(j+1)) {
		if !neg {
			if end, ok := lx.ipv4(i); ok {
				lx.emit(tIPv4, string(src[i:end]), i, end)
				return end
			}
		}
		j++
		for j < len(src) && isDigit(src[j]) {
			j++
		}
		lx.emit(tFloat, string(src[i:j]), i, j)
		return j
	}
	if !neg && isLetter(lx.at(j)) {
		return lx.word(i)
	}
	lx.emit(tInt, string(src[i:j]), i, j)
	return j
}

// word lexes [A-Za-z0-9_]+ with inner hyphens after a letter ("who-has",
// "exp-FO", "gen-12", "exp-tarr"), and "sequence#" (packetdrill's GRE flag).
// A word that the defines give a value reads as that value.
func (lx *lexer) word(i int) int {
	src := lx.src
	j := i
	for j < len(src) {
		if isWordChar(src[j]) {
			j++
		} else if src[j] == '-' && j > i && isLetter(src[j-1]) && isWordChar(lx.at(j+1)) {
			j++
		} else {
			break
		}
	}
	if string(src[i:j]) == "sequence" && lx.at(j) == '#' {
		j++
	}
	lx.emit(tWord, string(src[i:j]), i, j)
	t := &lx.toks[len(lx.toks)-1]
	if !reservedWords[t.text] {
		if v, ok := lx.defs.value(t.text); ok {
			*t = substitute(*t, v)
		}
	}
	return j
}

// mac recognises xx:xx:xx:xx:xx:xx not followed by another address character.
func (lx *lexer) mac(i int) (int, bool) {
	j := i
	for g := 0; g < 6; g++ {
		if g > 0 {
			if lx.at(j) != ':' {
				return 0, false
			}
			j++
		}
		if !isHexDigit(lx.at(j)) || !isHexDigit(lx.at(j+1)) {
			return 0, false
		}
		j += 2
	}
	if c := lx.at(j); isWordChar(c) || c == ':' || c == '.' {
		return 0, false
	}
	return j, true
}

// ipv4 recognises N.N.N.N not followed by another address character.
func (lx *lexer) ipv4(i int) (int, bool) {
	j := i
	for g := 0; g < 4; g++ {
		if g > 0 {
			if lx.at(j) != '.' {
				return 0, false
			}
			j++
		}
		if !isDigit(lx.at(j)) {
			return 0, false
		}
		for isDigit(lx.at(j)) {
			j++
		}
	}
	if c := lx.at(j); isWordChar(c) || c == '.' {
		return 0, false
	}
	return j, true
}

// ipv6Pattern is packetdrill's lexer.l definition of an IPv6 address, which
// keeps sequence ranges such as 1:1001 from reading as one.
var ipv6Pattern = func() *regexp.Regexp {
	const (
		seg  = `[0-9a-fA-F]{1,4}`
		ipv4 = `[0-9]+[.][0-9]+[.][0-9]+[.][0-9]+`
	)
	forms := []string{
		`::`,
		`(?:` + seg + `:){7}` + seg,
		`(?:` + seg + `:){1,7}:`,
		`(?:` + seg + `:){1,6}:` + seg,
		`(?:` + seg + `:){1,5}(?::` + seg + `){1,2}`,
		`(?:` + seg + `:){1,4}(?::` + seg + `){1,3}`,
		`(?:` + seg + `:){1,3}(?::` + seg + `){1,4}`,
		`(?:` + seg + `:){1,2}(?::` + seg + `){1,5}`,
		seg + `:(?::` + seg + `){1,6}`,
		`:(?::` + seg + `){1,7}`,
		`::ffff:` + ipv4,
		`::ffff:0{1,4}:` + ipv4,
		`(?:` + seg + `:){1,4}:` + ipv4,
	}
	re := regexp.MustCompile(`^(?:` + joinAlt(forms) + `)`)
	re.Longest()
	return re
}()

func joinAlt(forms []string) string {
	var b bytes.Buffer
	for i, f := range forms {
		if i > 0 {
			b.WriteByte('|')
		}
		b.WriteString(f)
	}
	return b.String()
}

// ipv6 recognises an IPv6 address at i when it is longer than the token the
// other rules would read there (flex's longest match).
func (lx *lexer) ipv6(i int) (int, bool) {
	j := i
	colons := 0
	for j < len(lx.src) && (isHexDigit(lx.src[j]) || lx.src[j] == ':' || lx.src[j] == '.') {
		if lx.src[j] == ':' {
			colons++
		}
		j++
	}
	if colons < 2 {
		return 0, false
	}
	m := ipv6Pattern.Find(lx.src[i:j])
	if m == nil {
		return 0, false
	}
	end := i + len(m)
	// The other rules: a word or number runs over word characters.
	other := i + 1
	for other < len(lx.src) && isWordChar(lx.src[other]) {
		other++
	}
	if end <= other {
		return 0, false
	}
	return end, true
}

// reservedWords are the words packetdrill's lexers (Google's and the FreeBSD
// fork's, SCTP aside) read as keywords: a define never replaces them.
var reservedWords = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range []string{
		// Google's lexer.l
		"sa_family", "sin_port", "sin_addr", "msg_name", "msg_iov", "msg_flags", "msg_control",
		"cmsg_data", "cmsg_level", "cmsg_type", "ee_errno", "ee_origin", "ee_type", "ee_code",
		"ee_info", "ee_data", "scm_sec", "scm_nsec", "fd", "u32", "u64", "ptr", "events", "revents",
		"onoff", "linger", "htons", "ipv4", "ipv6", "icmp", "udp", "GREv0", "gre", "raw", "sum", "off",
		"key", "seq", "none", "checksum", "sequence#", "present", "encap", "psp", "spi", "mpls", "label",
		"tc", "ttl", "inet_addr", "inet6_addr", "ack", "eol", "ecr", "mss", "mtu", "nop", "sack",
		"sackOK", "md5", "TS", "FO", "FOEXP", "ECN", "e0b", "e1b", "ceb", "tos", "flowlabel", "flags",
		"Flags", "val", "win", "urg", "wscale", "ect01", "ect0", "ect1", "noecn", "ce", "id",
		// the FreeBSD fork's lexer.l, SCTP's words aside
		"cmsg_len", "htonl", "sctp", "udplite", "dscp", "ecn", "class", "hlim", "valid", "EXP-FO",
		"exp-FO", "AccECN0", "AccECN1", "exp-AccECN0", "exp-AccECN1", "ee0b", "ee1b", "eceb",
		"exp-tarr", "cs0", "cs1", "cs2", "cs3", "cs4", "cs5", "cs6", "cs7", "af11", "af12", "af13",
		"af21", "af22", "af23", "af31", "af32", "af33", "af41", "af42", "af43", "ef", "voice-admit",
		"le", "iov_base", "iov_len", "headers", "trailers", "af_name", "af_arg", "function_set_name",
		"pcbcnt", "enable", "psk", "pen", "trr_flags", "trr_code", "trr_pen", "code", "NULL",
	} {
		m[w] = true
	}
	return m
}()
