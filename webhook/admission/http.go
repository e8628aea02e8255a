package admission

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
)

// MaxBodyBytes bounds an AdmissionReview body (the apiserver's own request
// limit is 3 MiB; a pod with its managed fields stays well below 7 MiB).
const MaxBodyBytes = 7 << 20

// ReviewFunc answers one admission request.
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
		if ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || ct != "application/json" {
			httpError(w, http.StatusUnsupportedMediaType, fmt.Sprintf("Content-Type %q: want application/json", r.Header.Get("Content-Type")))
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				httpError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body exceeds %d bytes", MaxBodyBytes))
				return
			}
			httpError(w, http.StatusBadRequest, fmt.Sprintf("read body: %v", err))
			return
		}
		var in admissionv1.AdmissionReview
		if err := json.Unmarshal(body, &in); err != nil {
			httpError(w, http.StatusBadRequest, fmt.Sprintf("body is not an AdmissionReview: %v", err))
			return
		}
		if in.Request == nil || in.APIVersion != admissionv1.SchemeGroupVersion.String() || in.Kind != "AdmissionReview" {
			httpError(w, http.StatusBadRequest, "body must be an admission.k8s.io/v1 AdmissionReview with a request")
			return
		}
		kind = in.Request.Kind.Kind
		resp := review(r.Context(), in.Request)
		resp.UID = in.Request.UID
		outcome = "denied"
		if resp.Allowed {
			outcome = "allowed"
		}
		out := admissionv1.AdmissionReview{
			TypeMeta: metav1.TypeMeta{APIVersion: admissionv1.SchemeGroupVersion.String(), Kind: "AdmissionReview"},
			Response: resp,
		}
		w.Header().Set("Content-Type", "application/json")
		if err := json.NewEncoder(w).Encode(out); err != nil {
			klog.FromContext(r.Context()).Error(err, "write admission response", "endpoint", name)
		}
	})
}

func httpError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	_, _ = io.WriteString(w, msg+"\n")
}
