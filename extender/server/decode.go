package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	gojson "github.com/goccy/go-json"
	extenderv1 "k8s.io/kube-scheduler/extender/v1"
)

// DefaultMaxBodyBytes bounds one request: a pod plus 5,000 node names is
// about 100 KiB; full Node objects (nodeCacheCapable false) are far larger.
const DefaultMaxBodyBytes = 32 << 20

// errTooLarge marks a body over the limit.
var errTooLarge = errors.New("request body too large")

// DecodeArgs reads ExtenderArgs of at most limit bytes and returns them with
// the candidate node names (from NodeNames, or from Nodes when the scheduler
// does not use the node cache). Every error says what was wrong.
func DecodeArgs(r io.Reader, limit int64) (*extenderv1.ExtenderArgs, []string, error) {
	args, names, _, err := decodeArgs(r, limit, nil)
	return args, names, err
}

// decodeArgs is DecodeArgs; last is an earlier request's node names (nil:
// none), whose strings the names share where equal at the same place (all
// equal: last's list itself), and next is this request's, for the next
// one (last itself when the same).
func decodeArgs(r io.Reader, limit int64, last *lastNames) (*extenderv1.ExtenderArgs, []string, *lastNames, error) {
	buf := bodies.Get().(*bytes.Buffer)
	defer putBody(buf)
	buf.Reset()
	if _, err := buf.ReadFrom(io.LimitReader(r, limit+1)); err != nil {
		return nil, nil, nil, fmt.Errorf("read ExtenderArgs: %w", err)
	}
	body := buf.Bytes() // the decoders copy what they keep
	if int64(len(body)) > limit {
		return nil, nil, nil, fmt.Errorf("ExtenderArgs larger than %d bytes: %w", limit, errTooLarge)
	}
	// goccy/go-json decodes the thousands of node names several times
	// faster than encoding/json; whatever it refuses goes through
	// encoding/json, which decides and words the error.
	args, next, ok := decodeUsual(body, last)
	if !ok && gojson.Unmarshal(body, &args) != nil {
		args = extenderv1.ExtenderArgs{}
		dec := json.NewDecoder(bytes.NewReader(body))
		if err := dec.Decode(&args); err != nil {
			return nil, nil, nil, fmt.Errorf("ExtenderArgs is not valid JSON: %w", err)
		}
		if dec.More() {
			return nil, nil, nil, errors.New("ExtenderArgs is followed by more data")
		}
	}
	if args.Pod == nil {
		return nil, nil, nil, errors.New("ExtenderArgs has no Pod")
	}
	if args.Pod.Name == "" && args.Pod.GenerateName == "" {
		return nil, nil, nil, errors.New("ExtenderArgs Pod has no metadata.name")
	}
	var names []string
	switch {
	case args.NodeNames != nil:
		names = *args.NodeNames
	case args.Nodes != nil:
		names = make([]string, len(args.Nodes.Items))
		for i := range args.Nodes.Items {
			names[i] = args.Nodes.Items[i].Name
		}
	default:
		return nil, nil, nil, errors.New("ExtenderArgs names no nodes: set NodeNames (nodeCacheCapable) or Nodes")
	}
	for i, n := range names {
		if n == "" {
			return nil, nil, nil, fmt.Errorf("ExtenderArgs node %d has an empty name", i)
		}
	}
	if !ok {
		next = &lastNames{names: names}
	}
	return &args, names, next, nil
}

// bodies holds request body buffers: a filter request for 5,000 nodes is
// ~100 KiB, read anew on every scheduling cycle.
var bodies = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledBody bounds the buffers kept for reuse (a scheduler without
// nodeCacheCapable sends whole Nodes: far larger, and rare).
const maxPooledBody = 4 << 20

func putBody(b *bytes.Buffer) {
	if b.Cap() <= maxPooledBody {
		bodies.Put(b)
	}
}

// checkContentType accepts JSON or no declared type.
func checkContentType(r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	if ct == "" || strings.HasPrefix(ct, "application/json") {
		return nil
	}
	return fmt.Errorf("Content-Type %q is not application/json", ct)
}
