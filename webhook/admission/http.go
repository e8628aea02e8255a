package admission

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	gojson "github.com/goccy/go-json"
	"io"
	"mime"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"golang.org/x/sync/semaphore"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
)

// MaxBodyBytes bounds an AdmissionReview body. The apiserver accepts
// request bodies up to 3 MiB, and a review of an UPDATE carries the object
// twice (object and oldObject) plus the request's metadata: 7 MiB holds
// the largest review the apiserver can send.
const MaxBodyBytes = 7 << 20

// Reviews in flight reserve their body size from a Budget; see Limit.
const (
	// DefaultBudgetBytes is what the service reserves for review bodies in
	// flight: three of the largest reviews at once. Decoding a review
	// takes a few times its body in heap, so three 7 MiB reviews stay
	// below ~150 MiB, inside the chart's 256 Mi memory limit with the
	// informer caches; small reviews (a pod is a few KiB) run hundreds at
	// once.
	DefaultBudgetBytes = 3 * MaxBodyBytes
	// MinReviewBytes is the least a review reserves, however small its body.
	MinReviewBytes = 16 << 10
	// RetryAfterSeconds is the Retry-After of a 429. The apiserver's
	// webhook client retries a 429 that carries Retry-After (up to 10
	// times, within the webhook's timeoutSeconds), so a burst of large
	// reviews is queued by the apiserver instead of failing.
	RetryAfterSeconds = 1
)

// Budget bounds the bytes of admission review bodies being served at once.
type Budget struct {
	sem   *semaphore.Weighted
	limit int64
}

// NewBudget returns a Budget of limit bytes (at least MaxBodyBytes, so any
// acceptable review fits).
func NewBudget(limit int64) *Budget {
	limit = max(limit, MaxBodyBytes)
	return &Budget{sem: semaphore.NewWeighted(limit), limit: limit}
}

// Limit serves next only while b holds the request's body size (its
// Content-Length, MaxBodyBytes when unknown, at least MinReviewBytes).
// A request over budget is answered 429 with Retry-After at once, before
// its body is read; one whose declared body exceeds MaxBodyBytes is
// answered 413. The memory reviews take is so bounded whatever their
// number and size.
func Limit(b *Budget, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := r.ContentLength
		if n > MaxBodyBytes {
			httpError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body exceeds %d bytes", MaxBodyBytes))
			return
		}
		if n < 0 {
			n = MaxBodyBytes
		}
		n = max(n, MinReviewBytes)
		if !b.sem.TryAcquire(n) {
			// Read the body away (a small buffer, no memory held) so the
			// client reads this answer instead of a reset connection.
			_, _ = io.Copy(io.Discard, http.MaxBytesReader(w, r.Body, MaxBodyBytes))
			w.Header().Set("Retry-After", strconv.Itoa(RetryAfterSeconds))
			httpError(w, http.StatusTooManyRequests, fmt.Sprintf(
				"railnet webhook is busy: admission reviews in flight hold its %d-byte budget; retry in %d s", b.limit, RetryAfterSeconds))
			return
		}
		defer b.sem.Release(n)
		next.ServeHTTP(w, r)
	})
}

// reviewAPIVersion is admissionv1.SchemeGroupVersion.String(), which
// builds the string on every call.
const reviewAPIVersion = "admission.k8s.io/v1"

// contentTypeJSON is the Content-Type header of every answer; the header
// map shares it (net/http only reads it), saving an allocation a review.
var contentTypeJSON = []string{"application/json"}

// ReviewFunc answers one admission request. The answer is the caller's:
// Endpoint reuses the memory of its Patch once the answer is written.
type ReviewFunc func(context.Context, *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse

// Endpoint serves AdmissionReview v1 over HTTP: POST, Content-Type
// application/json, body at most MaxBodyBytes. A body that is not a review
// is answered 400; a review whose object cannot be decoded is answered
// allowed: false by review. It never panics on input.
func Endpoint(name string, review ReviewFunc, rec Recorder) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		kind, outcome := "", "error"
		defer func() {
			if rec != nil {
				rec.Request(name, kind, outcome, time.Since(start))
			}
		}()
		if r.Method != http.MethodPost {
			httpError(w, http.StatusMethodNotAllowed, "use POST with an AdmissionReview")
			return
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/json" && !isJSON(ct) {
			httpError(w, http.StatusUnsupportedMediaType, fmt.Sprintf("Content-Type %q: want application/json", r.Header.Get("Content-Type")))
			return
		}
		body, err := readBody(http.MaxBytesReader(w, r.Body, MaxBodyBytes), r.ContentLength)
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				httpError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body exceeds %d bytes", MaxBodyBytes))
				return
			}
			httpError(w, http.StatusBadRequest, fmt.Sprintf("read body: %v", err))
			return
		}
		req, err := readReview(body)
		// The decoders copy what they keep (goccy/go-json decodes from its
		// own copy of body): body's buffer is free again.
		putScratch(body)
		if err != nil {
			httpError(w, http.StatusBadRequest, err.Error())
			return
		}
		kind = req.Kind.Kind
		resp := review(r.Context(), req)
		resp.UID = req.UID
		outcome = "denied"
		if resp.Allowed {
			outcome = "allowed"
		}
		out := appendReview(getScratch(len(resp.Patch)*4/3+512), resp)
		putScratch(resp.Patch) // the answer is the endpoint's (ReviewFunc)
		h := w.Header()
		h["Content-Type"] = contentTypeJSON
		if len(out) > chunkingSize {
			// net/http sends a longer answer chunked unless told its length.
			h["Content-Length"] = contentLength(len(out))
		}
		if _, err := w.Write(out); err != nil {
			// HTTP/2 may still be copying from out after a reset stream
			// made Write fail: the buffer is left to the GC, not reused.
			klog.FromContext(r.Context()).Error(err, "write admission response", "endpoint", name)
			return
		}
		putScratch(out)
	})
}

// reviewIn is an AdmissionReview as readReview reads it: its request's
// objects are rawObjects. Everything else is admissionv1's.
type reviewIn struct {
	metav1.TypeMeta `json:",inline"`
	Request         *requestIn                     `json:"request,omitempty"`
	Response        *admissionv1.AdmissionResponse `json:"response,omitempty"`
}

type requestIn struct {
	admissionv1.AdmissionRequest
	Object    rawObject `json:"object,omitempty"`
	OldObject rawObject `json:"oldObject,omitempty"`
}

// rawObject is a JSON value kept as it is, as runtime.RawExtension keeps
// it (null is no value), without copying it: goccy/go-json passes an
// Unmarshaler a fresh copy of the value's bytes (and decodes from its own
// copy of the input), so the bytes are rawObject's alone.
type rawObject []byte

func (o *rawObject) UnmarshalJSON(b []byte) error {
	if string(b) != "null" {
		*o = b
	}
	return nil
}

// readReview returns the request of the admission.k8s.io/v1
// AdmissionReview body, or the error that answers it 400. Its objects are
// kept as JSON (rawObject), where runtime.RawExtension would copy them
// once more. A body that does not decode so is decoded again as
// admissionv1.AdmissionReview, as before, so a refused body gets the same
// answer (and encoding/json's wording, which names the offending input
// more clearly; only refusals pay for it).
func readReview(body []byte) (*admissionv1.AdmissionRequest, error) {
	var in reviewIn
	if err := gojson.Unmarshal(body, &in); err != nil {
		var typed admissionv1.AdmissionReview
		if err := gojson.Unmarshal(body, &typed); err != nil {
			if stdErr := json.Unmarshal(body, &admissionv1.AdmissionReview{}); stdErr != nil {
				err = stdErr
			}
			return nil, fmt.Errorf("body is not an AdmissionReview: %v", err)
		}
		return typed.Request, checkReview(typed.TypeMeta, typed.Request)
	}
	var req *admissionv1.AdmissionRequest
	if in.Request != nil {
		req = &in.Request.AdmissionRequest
		req.Object.Raw, req.OldObject.Raw = in.Request.Object, in.Request.OldObject
	}
	return req, checkReview(in.TypeMeta, req)
}

// checkReview refuses a review that is not an admission.k8s.io/v1
// AdmissionReview with a request.
func checkReview(t metav1.TypeMeta, req *admissionv1.AdmissionRequest) error {
	if req == nil || t.APIVersion != reviewAPIVersion || t.Kind != "AdmissionReview" {
		return errors.New("body must be an admission.k8s.io/v1 AdmissionReview with a request")
	}
	return nil
}

// readBody reads r to its end. A body of known size up to smallBody (a
// pod's review is a few KiB) is read into one buffer (getScratch), without
// the growing copies of io.ReadAll; larger or unknown ones go through
// io.ReadAll, whose allocations set the GC pace the budget was measured
// with (DefaultBudgetBytes).
func readBody(r io.Reader, size int64) ([]byte, error) {
	if size < 0 || size > smallBody {
		return io.ReadAll(r)
	}
	// One byte spare, so reading the end of the body grows nothing.
	b := getScratch(int(size) + 1)
	for {
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err != nil {
			if err == io.EOF {
				err = nil
			}
			return b, err
		}
		if len(b) == cap(b) { // longer than declared: let append grow it
			b = append(b, 0)[:len(b)]
		}
	}
}

// isJSON reports whether the media type of Content-Type ct is
// application/json (with parameters, in any case).
func isJSON(ct string) bool {
	t, _, err := mime.ParseMediaType(ct)
	return err == nil && t == "application/json"
}

// contentLength returns the Content-Length header value of an n-byte
// answer; the header map shares it (net/http only reads it). The last one
// is kept: the answers to pods of one group are the same length.
func contentLength(n int) []string {
	if l := lastLength.Load(); l != nil && l.n == n {
		return l.v
	}
	l := &headerLength{n: n, v: []string{strconv.Itoa(n)}}
	lastLength.Store(l)
	return l.v
}

type headerLength struct {
	n int
	v []string
}

var lastLength atomic.Pointer[headerLength]

// chunkingSize is the answer net/http buffers whole, and so sends with its
// length, when the handler does not set it (its bufferBeforeChunkingSize).
const chunkingSize = 2048

// smallBody bounds the bodies readBody reads into a buffer of their size.
const smallBody = 64 << 10

func httpError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	_, _ = io.WriteString(w, msg+"\n")
}
