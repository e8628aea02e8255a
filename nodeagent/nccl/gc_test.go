package nccl

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"
)

func TestStale(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	old, young := now.Add(-10*time.Minute), now.Add(-10*time.Second)
	tests := []struct {
		name    string
		folders []Folder
		live    map[string]bool
		want    []string
	}{
		{name: "live pods keep their folders", folders: []Folder{{"a", old}, {"b", old}}, live: map[string]bool{"a": true, "b": true}},
		{name: "gone pod's old folder goes", folders: []Folder{{"a", old}, {"b", old}}, live: map[string]bool{"a": true}, want: []string{"b"}},
		{name: "young folder of an unlisted pod stays (ADD in flight)", folders: []Folder{{"a", young}}, live: map[string]bool{}},
		{name: "no pods at all", folders: []Folder{{"a", old}, {"b", young}, {"c", old}}, want: []string{"a", "c"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Stale(tt.folders, tt.live, now, time.Minute); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Stale = %v, want %v", got, tt.want)
			}
		})
	}
}

// The collector removes the folders of pods gone from the node, on disk,
// and nothing else in the folder.
func TestCollectorRemovesGonePodsFolders(t *testing.T) {
	dir := t.TempDir()
	s := &Service{Dir: dir}
	const live, gone, fresh = "11111111-aaaa-4bbb-8ccc-000000000001", "11111111-aaaa-4bbb-8ccc-000000000002", "11111111-aaaa-4bbb-8ccc-000000000003"
	for _, uid := range []string{live, gone, fresh} {
		if err := os.MkdirAll(filepath.Join(dir, uid, "rails"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, uid, ConfFile), []byte("NCCL_IB_HCA==mlx5_0:1\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "not-a-pod.txt"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	hourAgo := time.Now().Add(-time.Hour)
	for _, uid := range []string{live, gone} {
		if err := os.Chtimes(filepath.Join(dir, uid), hourAgo, hourAgo); err != nil {
			t.Fatal(err)
		}
	}
	notifier := &Notifier{Pods: &recordingPods{}, Settle: time.Millisecond}
	notifier.Warn(context.Background(), PodRef{Namespace: "ns", Name: "gone", UID: gone}, "w")
	notifier.Wait()
	c := &Collector{Service: s, Grace: 5 * time.Minute, Notifier: notifier,
		LivePods: func(context.Context) (map[string]bool, error) { return map[string]bool{live: true}, nil }}
	removed, err := c.Collect(context.Background())
	if err != nil || !slices.Equal(removed, []string{gone}) {
		t.Fatalf("Collect = %v, %v; want [%s]", removed, err, gone)
	}
	notifier.mu.Lock()
	if _, ok := notifier.told[gone]; ok {
		t.Error("the Notifier still remembers the collected pod")
	}
	notifier.mu.Unlock()
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if want := []string{live, fresh, "not-a-pod.txt"}; !slices.Equal(names, want) {
		t.Errorf("left %v, want %v", names, want)
	}
	// The pods cannot be listed: nothing is removed.
	c.LivePods = func(context.Context) (map[string]bool, error) { return nil, errors.New("apiserver down") }
	if removed, err := c.Collect(context.Background()); err == nil || len(removed) > 0 {
		t.Errorf("pods unlisted: removed %v, %v", removed, err)
	}
	if _, err := os.Stat(filepath.Join(dir, live)); err != nil {
		t.Error(err)
	}
}

type recordingPods struct {
	mu   sync.Mutex
	said []string
	fail error
}

func (r *recordingPods) Warn(_ context.Context, p PodRef, w string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return r.fail
	}
	r.said = append(r.said, p.Namespace+"/"+p.Name+": "+w)
	return nil
}

func (r *recordingPods) got() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.said)
}

// One warning per pod once its rails settle, not one per rail; the same
// warning again is not repeated; a failed write is retried by the next rail.
func TestNotifierSettles(t *testing.T) {
	pods := &recordingPods{}
	n := &Notifier{Pods: pods, Settle: 30 * time.Millisecond}
	ctx := context.Background()
	p := PodRef{Namespace: "train", Name: "w-0", UID: "u1"}
	n.Warn(ctx, p, "net1: 3; net2: 5")
	n.Warn(ctx, p, "net1: 3; net2: 5; net3: 5")
	n.Wait()
	if got, want := pods.got(), []string{"train/w-0: net1: 3; net2: 5; net3: 5"}; !slices.Equal(got, want) {
		t.Fatalf("said %q, want %q", got, want)
	}
	n.Warn(ctx, p, "net1: 3; net2: 5; net3: 5")
	n.Wait()
	if got := pods.got(); len(got) != 1 {
		t.Errorf("the same warning said again: %q", got)
	}
	// A warning cancelled by a clean rail report is never said.
	q := PodRef{Namespace: "train", Name: "w-1", UID: "u2"}
	n.Warn(ctx, q, "x")
	n.Warn(ctx, q, "")
	n.Wait()
	if got := pods.got(); len(got) != 1 {
		t.Errorf("cancelled warning said: %q", got)
	}
	// A failed write is tried again with the next report; Forget forgets.
	pods.fail = errors.New("forbidden")
	r := PodRef{Namespace: "train", Name: "w-2", UID: "u3"}
	n.Warn(ctx, r, "y")
	n.Wait()
	pods.mu.Lock()
	pods.fail = nil
	pods.mu.Unlock()
	n.Warn(ctx, r, "y")
	n.Wait()
	n.Forget("u1")
	n.Warn(ctx, p, "net1: 3; net2: 5; net3: 5")
	n.Wait()
	if got, want := pods.got(), []string{"train/w-0: net1: 3; net2: 5; net3: 5", "train/w-2: y", "train/w-0: net1: 3; net2: 5; net3: 5"}; !slices.Equal(got, want) {
		t.Errorf("said %q, want %q", got, want)
	}
}
