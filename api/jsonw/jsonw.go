package jsonw

import (
	"encoding/json"
	"strings"
)

// String appends s as a JSON string, quotes included, byte for byte as
// json.Marshal writes it.
func String(buf []byte, s string) []byte {
	buf = append(buf, '"')
	return append(appendChars(buf, s, false), '"')
}

// PointerToken appends s as a JSON-pointer reference token inside a JSON
// string, without quotes: "~" and "/" escaped first ("~0", "~1"), then as
// json.Marshal escapes string contents. k8s.v1.cni.cncf.io/networks is
// written k8s.v1.cni.cncf.io~1networks.
func PointerToken(buf []byte, s string) []byte { return appendChars(buf, s, true) }

// EscapePointer returns s escaped as a JSON-pointer reference token (RFC
// 6901): "~" is "~0" and "/" is "~1".
func EscapePointer(s string) string { return pointerEscaper.Replace(s) }

// appendChars appends s JSON-escaped, without quotes, as json.Marshal
// escapes it: ASCII by hand (annotations carry quotes and newlines),
// anything else through json.Marshal. With pointer, s is a JSON-pointer
// reference token and "~" and "/" are escaped first.
func appendChars(buf []byte, s string, pointer bool) []byte {
	start := len(buf)
	verbatim := &verbatimJSON
	if pointer {
		verbatim = &verbatimPointer
	}
	plain := 0 // s[plain:i] is still to copy
	for i := 0; i < len(s); i++ {
		c := s[i]
		if verbatim[c] {
			continue
		}
		buf = append(buf, s[plain:i]...)
		plain = i + 1
		switch {
		case c == '~': // pointer only
			buf = append(buf, '~', '0')
		case c == '/':
			buf = append(buf, '~', '1')
		case c == '"' || c == '\\':
			buf = append(buf, '\\', c)
		case c == '\n':
			buf = append(buf, '\\', 'n')
		case c == '\r':
			buf = append(buf, '\\', 'r')
		case c == '\t':
			buf = append(buf, '\\', 't')
		case c == '<' || c == '>' || c == '&':
			buf = append(buf, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default: // other control characters and non-ASCII
			if pointer {
				s = EscapePointer(s)
			}
			b, _ := json.Marshal(s) // cannot fail for a string
			return append(buf[:start], b[1:len(b)-1]...)
		}
	}
	return append(buf, s[plain:]...)
}

const hex = "0123456789abcdef"

// verbatimJSON holds the bytes json.Marshal copies into a string as they
// are: printable ASCII but the quote, the backslash and the HTML-escaped
// <, > and &. verbatimPointer is that without a reference token's "~" and
// "/".
var verbatimJSON, verbatimPointer = func() (j, p [256]bool) {
	for c := 0x20; c < 0x7f; c++ {
		j[c] = !strings.ContainsRune(`"\<>&`, rune(c))
		p[c] = j[c] && c != '~' && c != '/'
	}
	return j, p
}()

var pointerEscaper = strings.NewReplacer("~", "~0", "/", "~1")
