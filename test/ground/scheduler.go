package ground

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	schedconfigv1 "k8s.io/kube-scheduler/config/v1"
)

// SchedulerSpec is a further kube-scheduler next to the cluster's own, the
// way the chart runs its secondary scheduler next to a cluster's.
type SchedulerSpec struct {
	// Name is the profile's schedulerName; it also names the log
	// (<Dir>/<Name>.log, appended to across restarts) and config files.
	Name      string
	Extenders []schedconfigv1.Extender
	// Binary runs instead of the ground's kube-scheduler (e.g.
	// BuildRailnetScheduler's railnet-scheduler).
	Binary string
	// Plugins and PluginConfig go into the profile.
	Plugins      *schedconfigv1.Plugins
	PluginConfig []schedconfigv1.PluginConfig
	// PercentageOfNodesToScore, when set, replaces the cluster's.
	PercentageOfNodesToScore *int32
}

// Scheduler is a running further kube-scheduler. It is stopped with the
// cluster at the latest.
type Scheduler struct {
	c    *Cluster
	spec SchedulerSpec
	proc *process
	// Starts counts the processes started so far.
	Starts int
}

// StartScheduler starts a kube-scheduler serving spec.Name and waits for
// its /healthz.
func (c *Cluster) StartScheduler(ctx context.Context, spec SchedulerSpec) (*Scheduler, error) {
	s := &Scheduler{c: c, spec: spec}
	return s, s.start(ctx)
}

// Restart stops the scheduler and starts it again with extenders, as a
// Deployment's rollout replaces its pod: what kube-scheduler reads only at
// start (an extender's CA) is read anew.
func (s *Scheduler) Restart(ctx context.Context, extenders []schedconfigv1.Extender) error {
	s.proc.stop(10 * time.Second)
	s.spec.Extenders = extenders
	return s.start(ctx)
}

// Stop ends the scheduler.
func (s *Scheduler) Stop() { s.proc.stop(10 * time.Second) }

// Log returns the whole log of every start so far.
func (s *Scheduler) Log() string {
	b, err := os.ReadFile(filepath.Join(s.c.Dir, s.spec.Name+".log"))
	if err != nil {
		return err.Error()
	}
	return string(b)
}

func (s *Scheduler) start(ctx context.Context) error {
	name := s.spec.Name
	profiles := []schedconfigv1.KubeSchedulerProfile{{SchedulerName: &name, Plugins: s.spec.Plugins, PluginConfig: s.spec.PluginConfig}}
	pct := s.c.opts.PercentageOfNodesToScore
	if s.spec.PercentageOfNodesToScore != nil {
		pct = s.spec.PercentageOfNodesToScore
	}
	b, err := SchedulerConfig(filepath.Join(s.c.Dir, "scheduler.kubeconfig"), pct, profiles, s.spec.Extenders)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(s.c.Dir, name+".yaml"), b, 0o600); err != nil {
		return err
	}
	bin := s.c.bins.Scheduler
	if s.spec.Binary != "" {
		bin = s.spec.Binary
	}
	p := func(f string) string { return filepath.Join(s.c.Dir, f) }
	ports, err := freePorts(1)
	if err != nil {
		return err
	}
	proc, err := startProcess(name, bin, p(name+".log"), false,
		"--config="+p(name+".yaml"),
		"--bind-address=127.0.0.1", "--secure-port="+strconv.Itoa(ports[0]),
		"--cert-dir="+p(name),
		"--authentication-kubeconfig="+p("scheduler.kubeconfig"),
		"--authorization-kubeconfig="+p("scheduler.kubeconfig"),
	)
	if err != nil {
		return err
	}
	s.proc = proc
	s.Starts++
	s.c.addProc(proc)
	if err := s.c.waitHealthz(ctx, name, ports[0]); err != nil {
		return fmt.Errorf("scheduler %s: %w", name, err)
	}
	return nil
}
