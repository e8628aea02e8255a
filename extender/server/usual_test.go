package server

import (
	"encoding/json"
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
// last's at its place is not last's string; it returns whether
// decodeUsual read body.
func checkUsual(t *testing.T, body []byte, last []string) bool {
	t.Helper()
	got, ok := decodeUsual(body, last)
	if !ok {
		return false
	}
	var want extenderv1.ExtenderArgs
	if err := gojson.Unmarshal(body, &want); err != nil {
		t.Fatalf("decodeUsual read %q, which the general decode refuses: %v", body, err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("decodeUsual read %q as\n%+v %v\nthe general decode as\n%+v %v", body, got, names(got), want, names(want))
	}
	if got.NodeNames != nil {
		for i, n := range *got.NodeNames {
			if i < len(last) && n == last[i] && unsafe.StringData(n) != unsafe.StringData(last[i]) {
				t.Fatalf("%q: name %d %q is not the last request's string", body, i, n)
			}
		}
	}
	return true
}

// The usual request is read by decodeUsual as the general decode reads it,
// its names sharing the last request's strings; every other shape is left
// to the general decode.
func TestDecodeUsualMatchesGeneral(t *testing.T) {
	last := []string{"n0", "n1", "n2", "n3"}
	for _, tc := range []struct {
		body string
		last []string
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
		if got := checkUsual(t, []byte(tc.body), tc.last); got != tc.usual {
			t.Errorf("%s: read by decodeUsual %v, want %v", tc.body, got, tc.usual)
		}
	}
	// The same list as last: last itself, nothing new.
	args, _ := decodeUsual([]byte(`{"Pod":`+rdmaPod+`,"NodeNames":["n0","n1","n2","n3"]}`), last)
	if names := *args.NodeNames; unsafe.SliceData(names) != unsafe.SliceData(last) || len(names) != len(last) {
		t.Errorf("the last list again decoded into a new list")
	}
}

// A handler's requests, one list after another, decode as without any
// last list.
func TestDecodeFollowsTheLastList(t *testing.T) {
	var last []string
	for _, list := range [][]string{{"a", "b", "c"}, {"a", "b", "c"}, {"a", "c"}, {"a", "c", "d"}, {"x", "a", "c", "d"}, {}, {"a"}} {
		body, err := json.Marshal(map[string]any{"Pod": json.RawMessage(rdmaPod), "NodeNames": list})
		if err != nil {
			t.Fatal(err)
		}
		if !checkUsual(t, body, last) {
			t.Fatalf("%s: not read by decodeUsual", body)
		}
		args, _ := decodeUsual(body, last)
		last = *args.NodeNames
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
		checkUsual(t, data, []string{"up", "down"})
	})
}
