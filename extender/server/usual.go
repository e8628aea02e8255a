package server

import (
	"bytes"

	gojson "github.com/goccy/go-json"
	corev1 "k8s.io/api/core/v1"
	extenderv1 "k8s.io/kube-scheduler/extender/v1"
)

// A nodeCacheCapable scheduler sends, on every cycle, a pod and the same
// thousands of node names: decoding each name into a new string (and the
// decoder's copy of the whole body) made up most of a cycle's garbage.
// decodeUsual reads that usual request shape alone and hands the pod to
// goccy/go-json; anything else (another member, a key spelt otherwise, a
// repeated key, whole Nodes, a name with an escape or a byte outside
// printable ASCII, a malformed body) is left to DecodeArgs' general decode,
// so what it accepts is valid JSON that the general decode reads alike.

// lastNames are a request's node names and, when decodeUsual read them,
// the array's text (from '[' to ']').
type lastNames struct {
	names []string
	text  []byte
}

// decodeUsual decodes body when it is {"Pod":{...},"NodeNames":[...]}
// (members in any order, "Nodes":null allowed) with plain names; ok false
// otherwise. When the array is last's text again, the names are last's
// list, found without reading them one by one; else names equal to
// last's at the same place are last's strings. next is last when the
// names are last's list, else this request's (nil: no names).
func decodeUsual(body []byte, last *lastNames) (args extenderv1.ExtenderArgs, next *lastNames, ok bool) {
	s := scan{b: body}
	var pod, names, nodes bool
	s.ws()
	if !s.eat('{') {
		return args, nil, false
	}
	s.ws()
	for more := !s.eat('}'); more; more = s.next('}') {
		key, ok := s.plainString()
		if s.ws(); !ok || !s.eat(':') {
			return args, nil, false
		}
		s.ws()
		switch string(key) {
		case "Pod":
			span, ok := s.object()
			if pod || !ok {
				return args, nil, false
			}
			pod = true
			args.Pod = new(corev1.Pod)
			if gojson.Unmarshal(span, args.Pod) != nil {
				return args, nil, false
			}
		case "NodeNames":
			if names {
				return args, nil, false
			}
			names = true
			if s.eatWord("null") {
				break
			}
			if next, ok = s.names(last); !ok {
				return args, nil, false
			}
			args.NodeNames = &next.names
		case "Nodes":
			if nodes || !s.eatWord("null") {
				return args, nil, false
			}
			nodes = true
		default:
			return args, nil, false
		}
		s.ws()
	}
	if s.failed {
		return args, nil, false
	}
	s.ws()
	return args, next, s.i == len(s.b)
}

// scan reads JSON from b at i.
type scan struct {
	b []byte
	i int
	// failed: next found neither a ',' nor the end.
	failed bool
}

func (s *scan) ws() {
	for s.i < len(s.b) && (s.b[s.i] == ' ' || s.b[s.i] == '\t' || s.b[s.i] == '\n' || s.b[s.i] == '\r') {
		s.i++
	}
}

func (s *scan) eat(c byte) bool {
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// next reads what follows a member or element: a ',' and the space
// after it (true: another one follows) or end, the object's or array's
// end (false); anything else fails the scan.
func (s *scan) next(end byte) bool {
	if s.eat(',') {
		s.ws()
		return true
	}
	s.failed = !s.eat(end)
	return false
}

func (s *scan) eatWord(w string) bool {
	if len(s.b)-s.i >= len(w) && string(s.b[s.i:s.i+len(w)]) == w {
		s.i += len(w)
		return true
	}
	return false
}

// plainString reads a string of printable ASCII without escapes and
// returns what is between its quotes.
func (s *scan) plainString() ([]byte, bool) {
	if !s.eat('"') {
		return nil, false
	}
	start := s.i
	for ; s.i < len(s.b); s.i++ {
		switch c := s.b[s.i]; {
		case c == '"':
			s.i++
			return s.b[start : s.i-1], true
		case c < 0x20 || c > 0x7e || c == '\\':
			return nil, false
		}
	}
	return nil, false
}

// object returns the span of the object at i, from its '{' to its '}',
// counting brackets outside strings; whether the span is valid JSON is
// for its decoder to say.
func (s *scan) object() ([]byte, bool) {
	if s.i >= len(s.b) || s.b[s.i] != '{' {
		return nil, false
	}
	start, depth, inString := s.i, 0, false
	for ; s.i < len(s.b); s.i++ {
		c := s.b[s.i]
		switch {
		case inString && c == '\\':
			s.i++
		case c == '"':
			inString = !inString
		case inString:
		case c == '{' || c == '[':
			depth++
		case c == '}' || c == ']':
			if depth--; depth == 0 {
				s.i++
				return s.b[start:s.i], true
			}
		}
	}
	return nil, false
}

// names reads an array of plain strings (plainString's): last's list when
// the array is last's text, else a new list sharing last's strings where
// equal at the same place.
func (s *scan) names(last *lastNames) (*lastNames, bool) {
	start := s.i
	if last != nil && last.text != nil && bytes.HasPrefix(s.b[start:], last.text) {
		// The same text reads as the same array.
		s.i += len(last.text)
		return last, true
	}
	if !s.eat('[') {
		return nil, false
	}
	var prev []string
	if last != nil {
		prev = last.names
	}
	var out []string // nil while every name so far is prev's at its place
	n := 0
	s.ws()
	for more := !s.eat(']'); more; more = s.next(']') {
		b, ok := s.plainString()
		if !ok {
			return nil, false
		}
		s.ws()
		same := n < len(prev) && prev[n] == string(b)
		switch {
		case same && out == nil:
		case out == nil:
			out = make([]string, n, max(len(prev), n+1))
			copy(out, prev)
			fallthrough
		default:
			name := string(b)
			if same {
				name = prev[n]
			}
			out = append(out, name)
		}
		n++
	}
	if s.failed {
		return nil, false
	}
	switch {
	case out != nil:
	case n == 0:
		out = []string{}
	default:
		out = prev[:n:n]
	}
	return &lastNames{names: out, text: bytes.Clone(s.b[start:s.i])}, true
}
