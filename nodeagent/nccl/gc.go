package nccl

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"time"

	"github.com/railnet/railnet/nodeagent/periodic"
)

// Folder is one pod folder under the Service's dir.
type Folder struct {
	UID     string
	ModTime time.Time
}

// Stale returns the UIDs of the folders no live pod of the node owns and
// that have not changed for grace: a folder is written during CNI ADD, when
// the pod may not be listed yet (an informer or list that lags), so a young
// folder is never collected.
func Stale(folders []Folder, live map[string]bool, now time.Time, grace time.Duration) []string {
	var out []string
	for _, f := range folders {
		if !live[f.UID] && now.Sub(f.ModTime) >= grace {
			out = append(out, f.UID)
		}
	}
	return out
}

// Folders lists the pod folders (named by a pod UID) under the Service's dir.
func (s *Service) Folders() ([]Folder, error) {
	entries, err := os.ReadDir(s.dir())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Folder
	for _, e := range entries {
		if !e.IsDir() || !uidRE.MatchString(e.Name()) {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue // removed meanwhile
		}
		out = append(out, Folder{UID: e.Name(), ModTime: info.ModTime()})
	}
	return out, nil
}

// Collector removes the NCCL folders of pods gone from the node — deleted
// (force-deleted pods get no CNI DEL the agent sees), finished or moved —
// as the IPAM collector releases their addresses.
type Collector struct {
	Service *Service
	// LivePods returns the UIDs of the pods on the node that are neither
	// Succeeded nor Failed.
	LivePods func(ctx context.Context) (map[string]bool, error)
	Grace    time.Duration
	Interval time.Duration
	Now      func() time.Time
	// Notifier, when set, forgets the collected pods.
	Notifier *Notifier
}

// Run collects every Interval (default a minute) until ctx ends.
func (c *Collector) Run(ctx context.Context) error {
	periodic.Every(ctx, c.Interval, "NCCL folder collection", c.Collect)
	return nil
}

// Collect runs one pass and returns the UIDs whose folders it removed.
func (c *Collector) Collect(ctx context.Context) ([]string, error) {
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	// Folders first: one written after the pod list is read is younger
	// than grace, never taken for a gone pod's.
	folders, err := c.Service.Folders()
	if err != nil || len(folders) == 0 {
		return nil, err
	}
	live, err := c.LivePods(ctx)
	if err != nil {
		return nil, err
	}
	var removed []string
	for _, uid := range Stale(folders, live, now(), c.Grace) {
		if err := c.Service.Remove(uid); err != nil {
			return removed, err
		}
		if c.Notifier != nil {
			c.Notifier.Forget(uid)
		}
		removed = append(removed, uid)
	}
	return removed, nil
}
