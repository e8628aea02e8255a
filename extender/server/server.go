package server

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2"
	extenderv1 "k8s.io/kube-scheduler/extender/v1"

	"github.com/railnet/railnet/api/service"
	"github.com/railnet/railnet/extender/placement"
)

// Decider makes the decisions; the extender's is state.Decider.
type Decider interface {
	Filter(pod *corev1.Pod, nodes []string) placement.Result
	Prioritize(pod *corev1.Pod, nodes []string) []placement.HostScore
}

// Recycler is a Decider that takes back what its answers held once they
// are written (state.Decider.Recycle).
type Recycler interface {
	Recycle(passed []string, scores []placement.HostScore)
}

// Options shape the handler.
type Options struct {
	// MaxBodyBytes bounds a request; DefaultMaxBodyBytes when 0.
	MaxBodyBytes int64
	// Healthy reports whether the extender can answer (caches synced,
	// certificate loaded); nil means always.
	Healthy func() error
	// Registry receives the extender's metrics and is served on /metrics;
	// a new registry when nil.
	Registry *prometheus.Registry
	// NodeCount is the cluster's node count; with it, a request is bounded
	// to what the scheduler can send for that many nodes (BodyLimit), not
	// only by MaxBodyBytes. Nil: MaxBodyBytes alone.
	NodeCount func() int
	// MaxInFlight bounds concurrent filter/prioritize requests
	// (DefaultMaxInFlight when 0); more are answered 429 at once, before
	// their body is read, so no client can make the extender hold many
	// large bodies. kube-scheduler calls one at a time per profile.
	MaxInFlight int
}

// DefaultMaxInFlight is Options.MaxInFlight's default.
const DefaultMaxInFlight = 8

// BodyLimit bounds a request for a cluster of nodes nodes: the pod (at most
// the API server's 1.5 MiB object limit, rounded up to 2 MiB) plus, per
// node, a full Node object's worth (16 KiB; nodeCacheCapable schedulers
// send only its name), capped by max.
func BodyLimit(nodes int, max int64) int64 {
	limit := int64(2<<20) + int64(nodes)*(16<<10)
	return min(limit, max)
}

type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	verdicts *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "railnet_extender_requests_total", Help: "Scheduler extender requests by verb and HTTP status code.",
		}, []string{"verb", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "railnet_extender_request_duration_seconds", Help: "Time to answer a scheduler extender request.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
		}, []string{"verb"}),
		verdicts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "railnet_extender_node_verdicts_total",
			Help: "Filter verdicts per candidate node: passed, failed (retryable) or unresolvable, by the class of the node's first reason (none when passed).",
		}, []string{"verdict", "reason"}),
	}
	reg.MustRegister(m.requests, m.duration, m.verdicts)
	return m
}

// New returns the extender's HTTP handler.
func New(d Decider, o Options) http.Handler {
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if o.Registry == nil {
		o.Registry = prometheus.NewRegistry()
	}
	m := newMetrics(o.Registry)
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(gin.CustomRecovery(func(c *gin.Context, err any) {
		klog.Background().Error(nil, "panic while answering the scheduler", "path", c.Request.URL.Path, "panic", err)
		c.AbortWithStatusJSON(http.StatusInternalServerError, gin.H{"Error": "internal error in the railnet extender; see its log"})
	}))
	if o.MaxInFlight <= 0 {
		o.MaxInFlight = DefaultMaxInFlight
	}
	h := &handler{d: d, o: o, m: m, slots: make(chan struct{}, o.MaxInFlight)}
	r.POST("/filter", h.limit("filter"), h.filter)
	r.POST("/prioritize", h.limit("prioritize"), h.prioritize)
	r.GET("/healthz", gin.WrapF(service.Health(service.Check{Name: "not ready", Func: o.Healthy})))
	r.GET("/metrics", gin.WrapH(promhttp.HandlerFor(o.Registry, promhttp.HandlerOpts{})))
	return r
}

type handler struct {
	d     Decider
	o     Options
	m     *metrics
	slots chan struct{}
	// names are the last node names of each verb's requests, whose
	// strings the next request's names share (decodeArgs).
	names sync.Map // verb → *lastNames
}

// limit admits at most MaxInFlight requests at once; others get 429.
func (h *handler) limit(verb string) gin.HandlerFunc {
	return func(c *gin.Context) {
		select {
		case h.slots <- struct{}{}:
			defer func() { <-h.slots }()
			c.Next()
		default:
			h.fail(c, verb, http.StatusTooManyRequests,
				errors.New("the railnet extender is answering as many requests as it allows at once; retry"))
			c.Abort()
		}
	}
}

func (h *handler) args(c *gin.Context, verb string) (*extenderv1.ExtenderArgs, []string, bool) {
	if err := checkContentType(c.Request); err != nil {
		h.fail(c, verb, http.StatusBadRequest, err)
		return nil, nil, false
	}
	limit := h.o.MaxBodyBytes
	if h.o.NodeCount != nil {
		limit = BodyLimit(h.o.NodeCount(), limit)
	}
	var last *lastNames
	if p, ok := h.names.Load(verb); ok {
		last = p.(*lastNames)
	}
	args, names, next, err := decodeArgs(c.Request.Body, limit, last)
	if err != nil {
		h.fail(c, verb, http.StatusBadRequest, err)
		return nil, nil, false
	}
	if next != last {
		h.names.Store(verb, next)
	}
	return args, names, true
}

func (h *handler) fail(c *gin.Context, verb string, code int, err error) {
	klog.Background().V(2).Info("refused a scheduler request", "verb", verb, "code", code, "err", err.Error(),
		"tooLarge", errors.Is(err, errTooLarge))
	h.m.requests.WithLabelValues(verb, strconv.Itoa(code)).Inc()
	c.JSON(code, extenderv1.ExtenderFilterResult{Error: err.Error()})
}

func (h *handler) filter(c *gin.Context) {
	start := time.Now()
	args, names, ok := h.args(c, "filter")
	if !ok {
		return
	}
	res := h.d.Filter(args.Pod, names)
	out := extenderv1.ExtenderFilterResult{
		FailedNodes:                extenderv1.FailedNodesMap(res.Failed),
		FailedAndUnresolvableNodes: extenderv1.FailedNodesMap(res.Unresolvable),
	}
	if args.NodeNames != nil {
		passed := res.Passed
		out.NodeNames = &passed
	} else {
		keep := make(map[string]bool, len(res.Passed))
		for _, n := range res.Passed {
			keep[n] = true
		}
		list := &corev1.NodeList{}
		for i := range args.Nodes.Items {
			if keep[args.Nodes.Items[i].Name] {
				list.Items = append(list.Items, args.Nodes.Items[i])
			}
		}
		out.Nodes = list
	}
	h.count(res)
	h.log(args.Pod, res)
	b := bufs.Get().(*[]byte)
	defer bufs.Put(b)
	var err error
	if *b, err = AppendFilterResult((*b)[:0], &out); err != nil {
		h.fail(c, "filter", http.StatusInternalServerError, fmt.Errorf("encode the filter answer: %w", err))
		return
	}
	h.done(c, "filter", start, *b)
	if r, ok := h.d.(Recycler); ok {
		r.Recycle(res.Passed, nil)
	}
}

// count adds the verdicts to the metrics, refusals by reason class.
func (h *handler) count(res placement.Result) {
	h.m.verdicts.WithLabelValues("passed", "none").Add(float64(len(res.Passed)))
	for class, n := range res.Classes {
		verdict := "unresolvable"
		if class.Retryable() {
			verdict = "failed"
		}
		h.m.verdicts.WithLabelValues(verdict, string(class)).Add(float64(n))
	}
}

// log says what was refused: counts at 3, each node with what was found
// there at 4 (the reasons the scheduler shows do not name nodes).
func (h *handler) log(pod *corev1.Pod, res placement.Result) {
	if len(res.Failed)+len(res.Unresolvable) == 0 {
		return
	}
	log := klog.Background()
	if v := log.V(3); v.Enabled() {
		v.Info("filtered", "pod", klog.KObj(pod), "passed", len(res.Passed), "failed", len(res.Failed),
			"unresolvable", len(res.Unresolvable), "classes", res.Classes)
	}
	if v := log.V(4); v.Enabled() {
		for _, refused := range []map[string]string{res.Unresolvable, res.Failed} {
			for node, reason := range refused {
				v.Info("refused node", "pod", klog.KObj(pod), "node", node, "reason", reason, "found", res.Details[node])
			}
		}
	}
}

func (h *handler) prioritize(c *gin.Context) {
	start := time.Now()
	args, names, ok := h.args(c, "prioritize")
	if !ok {
		return
	}
	scores := h.d.Prioritize(args.Pod, names)
	if scores == nil {
		scores = []placement.HostScore{} // an empty list, as before: never null
	}
	b := bufs.Get().(*[]byte)
	defer bufs.Put(b)
	*b = appendScores((*b)[:0], scores)
	h.done(c, "prioritize", start, *b)
	if r, ok := h.d.(Recycler); ok {
		r.Recycle(nil, scores)
	}
}

func (h *handler) done(c *gin.Context, verb string, start time.Time, body []byte) {
	c.Data(http.StatusOK, "application/json; charset=utf-8", body)
	h.m.requests.WithLabelValues(verb, "200").Inc()
	h.m.duration.WithLabelValues(verb).Observe(time.Since(start).Seconds())
}
