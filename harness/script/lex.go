package script

import (
	"bytes"
	"fmt"
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
	tMAC               // 02:00:00:00:00:01
	tWord              // S, socket, who-has
	tString            // "..." (text without the quotes)
	tBackquote         // `...` (text without the backquotes)
	tCode              // %{ ... }% (text trimmed)
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
}

// describe names a token for error messages.
func (t token) describe() string {
	switch t.kind {
	case tEOF:
		return "end of file"
	case tString:
		return fmt.Sprintf("string %q", t.text)
	case tBackquote:
		return "shell command"
	case tCode:
		return "code snippet"
	case tEllipsis:
		return "'...'"
	case tOption:
		return "option --" + t.text
	case tPunct:
		return fmt.Sprintf("'%s'", t.text)
	}
	return fmt.Sprintf("%q", t.text)
}

func (t token) is(punct string) bool { return t.kind == tPunct && t.text == punct }

func (t token) isWord(w string) bool { return t.kind == tWord && t.text == w }

type lexer struct {
	src        []byte
	lineStarts []int
	toks       []token
}

func newLexer(src []byte) *lexer {
	lx := &lexer{src: src, lineStarts: []int{0}}
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

// run splits the source into tokens; comments and whitespace are dropped.
func (lx *lexer) run() *lexError {
	src := lx.src
	i := 0
	for i < len(src) {
		c := src[i]
		switch {
		case isSpace(c):
			i++
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
			start := i
			i += 2
			for i < len(src) && isWordChar(src[i]) {
				i++
			}
			tok := token{kind: tOption, text: string(src[start+2 : i]), off: start}
			if lx.at(i) == '=' {
				i++
				vstart := i
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
		case c == '%' && lx.at(i+1) == '{':
			j := bytes.Index(src[i+2:], []byte("}%"))
			if j < 0 {
				return &lexError{i, "unterminated %{ code snippet"}
			}
			lx.emit(tCode, string(bytes.TrimSpace(src[i+2:i+2+j])), i, i+2+j+2)
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
		case isDigit(c) || c == '-' && isDigit(lx.at(i+1)) || isLetter(c):
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
	lx.emit(tEOF, "", len(src), len(src))
	return nil
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

// word lexes [A-Za-z0-9_]+, with inner hyphens between letters ("who-has").
func (lx *lexer) word(i int) int {
	src := lx.src
	j := i
	for j < len(src) {
		if isWordChar(src[j]) {
			j++
		} else if src[j] == '-' && j > i && isLetter(src[j-1]) && isLetter(lx.at(j+1)) {
			j++
		} else {
			break
		}
	}
	lx.emit(tWord, string(src[i:j]), i, j)
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
