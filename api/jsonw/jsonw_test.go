package jsonw

import (
	"encoding/json"
	"testing"
)

var samples = []string{"", "plain", "gpu1-net11", `say "hi"\now`, "a\nb\rc\td", "<a&b>", "k8s.v1.cni.cncf.io/networks",
	"tilde~slash/", "\x00\x1f ctrl", "non-ASCII: 网络 ✓", "\xff invalid UTF-8", "\u2028 line separator", "ends with /~"}

func TestStringIsWhatEncodingJSONWrites(t *testing.T) {
	for _, s := range samples {
		want, _ := json.Marshal(s)
		if got := String([]byte("x"), s); string(got) != "x"+string(want) {
			t.Errorf("String(%q) = %s, json.Marshal writes %s", s, got[1:], want)
		}
	}
}

func TestPointerTokenEscapesThenQuotes(t *testing.T) {
	for _, s := range samples {
		want, _ := json.Marshal(EscapePointer(s))
		got := PointerToken([]byte("/metadata/annotations/"), s)
		if string(got) != "/metadata/annotations/"+string(want[1:len(want)-1]) {
			t.Errorf("PointerToken(%q) = %s, want the token %s inside a JSON string", s, got, want)
		}
	}
	if got := EscapePointer("a~b/c"); got != "a~0b~1c" {
		t.Errorf("EscapePointer(a~b/c) = %s, RFC 6901 wants a~0b~1c", got)
	}
}

func BenchmarkString(b *testing.B) {
	buf := make([]byte, 0, 256)
	for b.Loop() {
		buf = String(buf[:0], `[{"name":"gpu1-macvlan","namespace":"spiderpool"}]`)
	}
}
