package admission

import (
	"encoding/binary"
	"hash/maphash"
	"slices"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"

	spiderv2beta1 "github.com/railnet/railnet/api/spiderpool/v2beta1"
	"github.com/railnet/railnet/webhook/inject"
)

// Remembered answers. Pods of one Job (or Deployment, StatefulSet, …) are
// alike in everything injection reads, so the webhook remembers the whole
// answer it gave — the patch, its base64 text (patchTexts), the warnings
// and what it counts and logs — and gives it again to the next pod that
// is the same in all of it, without making the typed pod, injecting or
// writing the patch.
//
// What an answer depends on, and so what it is remembered by:
//   - the pod's fields injection can see: the typed pod is made from
//     podFields alone (podFields.fill), and of its annotations it holds
//     only injectionAnnotations. All of them are in the key but the pod's
//     name and generateName, which only refusals and logs read: refusals
//     are never remembered (an answer is remembered only when it allows the
//     pod), and a remembered answer is logged with the pod's own name; and
//     of the containers' env, only the entries injection reads (keyEnv),
//     so pods that differ in RANK share an answer;
//   - the namespace the pod is created in (the request's, as Default sees
//     it);
//   - the podResourceInject configuration (the whole inject.Config) and
//     the inject group the pod asks for (injectgroup.Ask's answer, which is
//     all injection reads of the namespace's annotations);
//   - the SpiderMultusConfigs: the answers are kept per list the Store
//     handed out (memoGen), compared element by element (pointers: the
//     Store's objects are never changed in place, a changed config is a
//     new object). A new list starts an empty table; the old one goes
//     with its last review.
//
// DRA mode (some SpiderMultusConfig carries a mode) also reads the claim
// templates of the namespace, which have no version here: its answers are
// not remembered.
//
// The table is fixed-size and direct-mapped (a key's hash picks its slot;
// a newer answer replaces an older one in the same slot), read and written
// with atomic pointers: no lock, and bounded memory (memoSlots answers,
// each key and patch at most memoMaxBytes). Tests compare remembered
// answers with fresh ones over many pods and configurations
// (memo_test.go).

const (
	memoSlots    = 64
	memoMaxBytes = 16 << 10
)

// answerMemo is a Handler's remembered pod answers; the zero value is
// empty and ready.
type answerMemo struct {
	gen atomic.Pointer[memoGen]
}

// memoGen holds the answers computed from one SpiderMultusConfig list.
type memoGen struct {
	configs []*spiderv2beta1.SpiderMultusConfig
	slots   [memoSlots]atomic.Pointer[memoEntry]
}

// memoEntry is a remembered answer; it is never changed once stored.
type memoEntry struct {
	key string
	// patch is nil for an answer without one; its capacity is never
	// scratchSize, so the Endpoint never reuses its memory (putScratch).
	patch    []byte
	warnings []string
	injected string // the group counted (Recorder.Injected) with the patch
	logged   bool   // Default logged the injection (log)
	log      injectedLog
}

// injectedLog is what Default logs of an injection, beside the pod's name.
type injectedLog struct {
	group               string
	networks, resources int
	container           string
}

var memoSeed = maphash.MakeSeed()

// generation returns the table of answers computed from configs.
func (m *answerMemo) generation(configs []*spiderv2beta1.SpiderMultusConfig) *memoGen {
	g := m.gen.Load()
	if g != nil && slices.Equal(g.configs, configs) {
		return g
	}
	fresh := &memoGen{configs: configs}
	if m.gen.CompareAndSwap(g, fresh) {
		return fresh
	}
	if g = m.gen.Load(); g != nil && slices.Equal(g.configs, configs) {
		return g // another review just started it
	}
	return fresh // configs changing under concurrent reviews: remembered nowhere
}

func (g *memoGen) slot(key []byte) *atomic.Pointer[memoEntry] {
	return &g.slots[maphash.Bytes(memoSeed, key)%memoSlots]
}

// find returns the answer remembered by key, nil when there is none.
func (g *memoGen) find(key []byte) *memoEntry {
	if e := g.slot(key).Load(); e != nil && e.key == string(key) {
		return e
	}
	return nil
}

// put remembers e (its key is key) unless it is too large.
func (g *memoGen) put(key []byte, e *memoEntry) {
	if len(key) > memoMaxBytes || len(e.patch) > memoMaxBytes {
		return
	}
	e.key = string(key)
	if e.patch != nil {
		// An exact copy, whose capacity is never scratchSize.
		c := len(e.patch)
		if c == scratchSize {
			c++
		}
		e.patch = append(make([]byte, 0, c), e.patch...)
		rememberPatchText(e.patch)
	}
	g.slot(key).Store(e)
}

// appendMemoKey appends the key an answer to a pod review is remembered
// by (see above): everything Default and the patch read but the
// SpiderMultusConfigs (the generation) and the pod's names. Strings are
// written with their length, lists with their count, optional members
// with a presence byte, and the typed values of containers and claims as
// their JSON (json.Marshal's text; quantities in canonical form, as
// injection only reads their names and compares them): the key is
// unambiguous. ok is false when a value could not be written (no key).
func appendMemoKey(buf []byte, namespace string, a *answer, p *podFields) (_ []byte, ok bool) {
	var err error
	buf = keyString(buf, namespace)
	// The configuration: every field of inject.Config (TestMemoKeyFields
	// fails when it gets one more).
	buf = keyBool(buf, a.cfg.Enabled)
	buf = keyStrings(buf, a.cfg.NamespacesInclude)
	buf = keyStrings(buf, a.cfg.NamespacesExclude)
	buf = keyBool(buf, a.cfg.NCCLConf != nil)
	if a.cfg.NCCLConf != nil {
		buf = keyBool(buf, *a.cfg.NCCLConf)
	}
	buf = keyString(buf, a.cfg.NCCLDir)
	// The inject group asked for (Groups is Value split).
	buf = keyString(buf, a.ir.Key)
	buf = keyString(buf, a.ir.Value)
	buf = keyBool(buf, a.ir.FromNamespace)
	// The pod's annotations injection reads.
	buf = keyBool(buf, p.Metadata != nil)
	if p.Metadata != nil {
		ann := p.Metadata.Annotations
		buf = keyBool(buf, ann != nil)
		for _, k := range injectionAnnotations {
			v, ok := ann[k]
			buf = keyBool(buf, ok)
			buf = keyString(buf, v)
		}
	}
	// The pod's resource claims, containers and volumes.
	buf = keyList(buf, p.Spec.ResourceClaims, appendPodClaim, &err)
	buf = binary.AppendUvarint(buf, uint64(len(p.Spec.Containers)))
	for _, c := range p.Spec.Containers {
		buf = keyString(buf, c.Name)
		buf = keyBool(buf, c.Resources != nil)
		if r := c.Resources; r != nil {
			buf = keyBool(buf, r.Limits != nil)
			buf, _ = appendMap(buf, r.Limits, appendQuantity) // quantities cannot fail
			buf = keyBool(buf, r.Requests != nil)
			buf, _ = appendMap(buf, r.Requests, appendQuantity)
			buf = keyList(buf, r.Claims, appendClaim, &err)
		}
		buf = keyEnv(buf, c.Env, &err)
		buf = keyList(buf, c.VolumeMounts, appendMount, &err)
	}
	buf = keyBool(buf, p.Spec.Volumes != nil)
	buf = binary.AppendUvarint(buf, uint64(len(p.Spec.Volumes)))
	for _, v := range p.Spec.Volumes {
		buf = keyString(buf, v.Name)
		buf = keyBool(buf, v.HostPath != nil)
		if hp := v.HostPath; hp != nil {
			buf = keyString(buf, hp.Path)
			buf = keyBool(buf, hp.Type != nil)
			if hp.Type != nil {
				buf = keyString(buf, string(*hp.Type))
			}
		}
	}
	return buf, err == nil
}

// keyEnv writes whether env is nil (a missing list is patched whole) and,
// in order, the entries injection reads (inject.ReadsEnv): the patch only
// appends to the list, so the rest of it — a RANK that differs per pod of
// a job — changes nothing of the answer. The first error of appendEnv is
// kept in *err.
func keyEnv(buf []byte, env []corev1.EnvVar, err *error) []byte {
	buf = keyBool(buf, env != nil)
	for _, e := range env {
		if !inject.ReadsEnv(e.Name) {
			continue
		}
		var ee error
		if buf, ee = appendEnv(append(buf, 1), e); ee != nil && *err == nil {
			*err = ee
		}
	}
	return append(buf, 0)
}

func keyBool(buf []byte, b bool) []byte {
	if b {
		return append(buf, 1)
	}
	return append(buf, 0)
}

func keyString(buf []byte, s string) []byte {
	return append(binary.AppendUvarint(buf, uint64(len(s))), s...)
}

func keyStrings(buf []byte, l []string) []byte {
	buf = binary.AppendUvarint(buf, uint64(len(l)))
	for _, s := range l {
		buf = keyString(buf, s)
	}
	return buf
}

// keyList writes whether l is nil (a missing member) and l as JSON; the
// first error of enc is kept in *err.
func keyList[V any](buf []byte, l []V, enc func([]byte, V) ([]byte, error), err *error) []byte {
	buf = keyBool(buf, l != nil)
	buf, e := appendList(buf, l, enc)
	if e != nil && *err == nil {
		*err = e
	}
	return buf
}
