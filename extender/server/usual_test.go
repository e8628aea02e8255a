package server

import (
	"reflect"
	"testing"
	"unsafe"

	gojson "github.com/goccy/go-json"
	extenderv1 "k8s.io/kube-scheduler/extender/v1"
)

// checkUsual fails t when decodeUsual reads body otherwise than the
// general decode would (goccy/go-json, which accepts some invalid JSON
// inside objects, such as {"":{[]}}: the general decode accepts it too;
// encoding/json decides only what goccy refuses), or when a name equal to
// last's at its place is not last's string; it returns what decodeUsual
// returns for the next request and whether it read body.
func checkUsual(t *testing.T, body []byte, last *lastNames) (*lastNames, bool) {
	t.Helper()
	got, next, ok := decodeUsual(body, last)
	if !ok {
		return nil, false
	}
	var want extenderv1.ExtenderArgs
	if err := gojson.Unmarshal(body, &want); err != nil {
		t.Fatalf("decodeUsual read %q, which the general decode refuses: %v", body, err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("decodeUsual read %q as\n%+v %v\nthe general decode as\n%+v %v", body, got, names(got), want, names(want))
	}
	if (next == nil) != (got.NodeNames == nil) || next != nil && unsafe.SliceData(next.names) != unsafe.SliceData(*got.NodeNames) {
		t.Fatalf("%q: the names for the next request are not the names read", body)
	}
	if got.NodeNames != nil && last != nil {
		for i, n := range *got.NodeNames {
			if i < len(last.names) && n == last.names[i] && unsafe.StringData(n) != unsafe.StringData(last.names[i]) {
				t.Fatalf("%q: name %d %q is not the last request's string", body, i, n)
			}
		}
	}
	return next, true
}

// plain is a request's names as the general decode leaves them (no text).
func plain(names ...string) *lastNames { return &lastNames{names: names} }

// The usual request is read by decodeUsual as the general decode reads it,
// its names sharing the last request's strings; every other shape is left
// to the general decode.
func TestDecodeUsualMatchesGeneral(t *testing.T) {
	last := plain("n0", "n1", "n2", "n3")
	for _, tc := range []struct {
		body string
		last *lastNames
		// usual: decodeUsual must read it (else the general decode).
		usual bool
	}{
		{body: `{"Pod":` + rdmaPod + `,"NodeNames":["n0","n1","n2","n3"]}`, last: last, usual: true},
		{body: `{"Pod":` + rdmaPod + `,"NodeNames":["n0","n1","n2","n3"]}`, usual: true},
		{body: ` { "NodeNames" : [ "n0" , "n1" ] ,` + "\n\t\r" + `"Nodes":null, "Pod" : ` + rdmaPod + ` } `, last: last, usual: true},
		{body: `{"Pod":` + rdmaPod + `,"NodeNames":["n0","nX","n2","n3","n4"]}`, last: last, usual: true},
		{body: `{"Pod":` + rdmaPod + `,"NodeNames":["nX","n1"]}`, last: last, usual: true},
		{body: `{"Pod":` + rdmaPod + `,"NodeNames":[]}`, last: last, usual: true},
		{body: `{"Pod":` + rdmaPod + `,"NodeNames":null}`, last: last, usual: true},
		{body: `{"Pod":{"metadata":{"name":"a\"}{b"}},"NodeNames":["n0"]}`, last: last, usual: true},
		{body: `{"Pod":` + rdmaPod + `}`, usual: true},
		{body: `{}`, usual: true},
		// Left to the general decode.
		{body: `{"Pod":` + rdmaPod + `,"NodeNames":["n0","n\"1"]}`, last: last},
		{body: `{"Pod":` + rdmaPod + `,"NodeNames":["n0","n\u0031"]}`, last: last},
		{body: `{"Pod":` + rdmaPod + `,"NodeNames":["nöde"]}`},
		{body: `{"Pod":` + rdmaPod + `,"NodeNames":["n0",null]}`, last: last},
		{body: `{"Pod":` + rdmaPod + `,"NodeNames":["n0",]}`, last: last},
		{body: `{"Pod":` + rdmaPod + `,"NodeNames":["n0" "n1"]}`, last: last},
		{body: `{"Pod":` + rdmaPod + `,"NodeNames":["n0"],}`},
		{body: `{"Pod":` + rdmaPod + ` "NodeNames":["n0"]}`},
		{body: `{"Pod":` + rdmaPod + `,"NodeNames":["n0"]}x`},
		{body: `{"Pod":` + rdmaPod + `,"NodeNames":["n0"]`},
		{body: `{"Pod":` + rdmaPod + `,"NodeNames":["n0"],"NodeNames":["n1"]}`},
		{body: `{"Pod":` + rdmaPod + `,"nodenames":["n0"]}`},
		{body: `{"Pod":` + rdmaPod + `,"NodeNames":["n0"],"Other":1}`},
		{body: `{"Pod":` + rdmaPod + `,"Nodes":{"items":[]}}`},
		{body: `{"Pod":null,"NodeNames":["n0"]}`},
		{body: `{"Pod":{"metadata":{"name":1}},"NodeNames":["n0"]}`},
		{body: `{"Pod":{"metadata":{"name":"a"}]},"NodeNames":["n0"]}`},
		{body: `["n0"]`},
		{body: ``},
	} {
		if _, got := checkUsual(t, []byte(tc.body), tc.last); got != tc.usual {
			t.Errorf("%s: read by decodeUsual %v, want %v", tc.body, got, tc.usual)
		}
	}
	// The same list as last: last's list itself, nothing new.
	_, next, _ := decodeUsual([]byte(`{"Pod":`+rdmaPod+`,"NodeNames":["n0","n1","n2","n3"]}`), last)
	if unsafe.SliceData(next.names) != unsafe.SliceData(last.names) || len(next.names) != len(last.names) {
		t.Errorf("the last list again decoded into a new list")
	}
}

// A handler's requests, one list after another (the same text again, the
// same names written otherwise, names added, dropped, moved), decode as
// the general decode reads them, and the same text again gives the last
// list itself.
func TestDecodeFollowsTheLastList(t *testing.T) {
	var last *lastNames
	for _, list := range []string{`["a","b","c"]`, `["a","b","c"]`, `[ "a", "b","c" ]`, `[ "a", "b","c" ]`, `["a","c"]`,
		`["a","c","d"]`, `["x","a","c","d"]`, `[]`, `[]`, `["a"]`, `["a","b]"]`, `["a","b]"]`, `["a"]`} {
		body := []byte(`{"Pod":` + rdmaPod + `,"NodeNames":` + list + `}`)
		next, ok := checkUsual(t, body, last)
		if !ok {
			t.Fatalf("%s: not read by decodeUsual", body)
		}
		if again := last != nil && string(last.text) == list; again != (next == last) {
			t.Fatalf("%s after %s: the last list returned %v, want %v", list, last.text, next == last, again)
		}
		last = next
	}
}

func names(a extenderv1.ExtenderArgs) any {
	if a.NodeNames == nil {
		return nil
	}
	return *a.NodeNames
}

// Whatever decodeUsual reads, the general decode reads alike.
func FuzzDecodeUsual(f *testing.F) {
	f.Add([]byte(`{"Pod":` + rdmaPod + `,"NodeNames":["up","x","down"],"Nodes":null}`))
	f.Add([]byte(` {"NodeNames" :[ "up" ] , "Pod":{"metadata":{"name":"a\"}"}}}`))
	f.Add([]byte(`{"Pod":{"":{[]}},"NodeNames":null}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkUsual(t, data, nil)
		checkUsual(t, data, plain("up", "down"))
		// As a scheduler repeats itself: the same body twice.
		if next, ok := checkUsual(t, data, nil); ok {
			checkUsual(t, data, next)
		}
	})
}
