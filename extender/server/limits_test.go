package server

import (
	"net/http"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/railnet/railnet/extender/placement"
)

// blockingDecider holds Filter until release is closed.
type blockingDecider struct {
	entered chan struct{}
	release chan struct{}
}

func (b *blockingDecider) Filter(*corev1.Pod, []string) placement.Result {
	b.entered <- struct{}{}
	<-b.release
	return placement.Result{}
}

func (b *blockingDecider) Prioritize(*corev1.Pod, []string) []placement.HostScore { return nil }

const filterBody = `{"Pod":{"metadata":{"name":"p"}},"NodeNames":["n1"]}`

// Past MaxInFlight requests at once, the next is answered 429 without its
// body being read: no client makes the extender hold many large bodies.
func TestConcurrentRequestsAreBounded(t *testing.T) {
	d := &blockingDecider{entered: make(chan struct{}, 1), release: make(chan struct{})}
	h := New(d, Options{MaxInFlight: 1})
	var wg sync.WaitGroup
	wg.Add(1)
	var first int
	go func() {
		defer wg.Done()
		first = post(t, h, "/filter", filterBody).Code
	}()
	<-d.entered
	rec := post(t, h, "/filter", filterBody)
	if rec.Code != http.StatusTooManyRequests || !strings.Contains(rec.Body.String(), "answering as many requests as it allows at once; retry") {
		t.Errorf("second request: HTTP %d %s, want 429 with the reason", rec.Code, rec.Body)
	}
	close(d.release)
	wg.Wait()
	if first != http.StatusOK {
		t.Errorf("first request: HTTP %d", first)
	}
}

// With the cluster's node count known, a request larger than the scheduler
// could send for that many nodes is refused, far below MaxBodyBytes.
func TestBodyBoundedByNodeCount(t *testing.T) {
	h := New(&blockingDecider{entered: make(chan struct{}, 8), release: make(chan struct{})},
		Options{MaxBodyBytes: DefaultMaxBodyBytes, NodeCount: func() int { return 10 }})
	names := strings.Repeat(`"a",`, 1<<20) // 4 MiB of node names for a 10-node cluster
	rec := post(t, h, "/filter", `{"Pod":{"metadata":{"name":"p"}},"NodeNames":[`+names+`"a"]}`)
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "ExtenderArgs larger than 2260992 bytes") {
		t.Errorf("HTTP %d %.200s, want 400 naming the bound for 10 nodes", rec.Code, rec.Body)
	}
	if got := BodyLimit(5000, DefaultMaxBodyBytes); got != DefaultMaxBodyBytes {
		t.Errorf("BodyLimit(5000 nodes) = %d, want the cap %d", got, DefaultMaxBodyBytes)
	}
}
