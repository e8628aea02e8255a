package admission

import (
	"bytes"
	"encoding/base64"
	"strconv"
	"sync"
	"sync/atomic"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/railnet/railnet/api/jsonw"
)

// The answer to a review is written as JSON text directly, byte for byte
// as json.Marshal writes the admissionv1.AdmissionReview holding it (with
// the encoder's closing newline): it is small (uid, allowed, status,
// base64 patch, patchType, warnings) and its apiVersion and kind are
// constants. TestResponseJSON holds it to json.Marshal for each field of
// the response and of its status alone, so a field Kubernetes adds later
// fails the test until the writer knows it. The rare parts (a status'
// list metadata and details) go through json.Marshal.

// reviewHead opens every answer: the AdmissionReview's kind and
// apiVersion, then its response.
const reviewHead = `{"kind":"AdmissionReview","apiVersion":"` + reviewAPIVersion + `","response":`

// appendReview appends the AdmissionReview answering with resp and a
// newline.
func appendReview(buf []byte, resp *admissionv1.AdmissionResponse) []byte {
	buf = append(buf, reviewHead...)
	buf = appendResponse(buf, resp)
	return append(buf, "}\n"...)
}

// appendResponse writes resp as json.Marshal does.
func appendResponse(buf []byte, r *admissionv1.AdmissionResponse) []byte {
	buf = append(buf, `{"uid":`...)
	buf = jsonw.String(buf, string(r.UID))
	buf = append(buf, `,"allowed":`...)
	buf = strconv.AppendBool(buf, r.Allowed)
	if r.Result != nil {
		buf = append(buf, `,"status":`...)
		buf = appendStatus(buf, r.Result)
	}
	if len(r.Patch) > 0 {
		buf = append(buf, `,"patch":"`...)
		buf = appendPatchText(buf, r.Patch)
		buf = append(buf, '"')
	}
	if r.PatchType != nil {
		buf = append(buf, `,"patchType":`...)
		buf = jsonw.String(buf, string(*r.PatchType))
	}
	if len(r.AuditAnnotations) > 0 {
		buf = append(buf, `,"auditAnnotations":`...)
		buf, _ = appendMap(buf, r.AuditAnnotations, appendStringValue) // strings cannot fail
	}
	if len(r.Warnings) > 0 {
		buf = append(buf, `,"warnings":`...)
		buf, _ = appendList(buf, r.Warnings, appendStringValue)
	}
	return append(buf, '}')
}

// appendStatus writes s as json.Marshal does: its list metadata always
// (omitempty does not omit a struct), {} when empty.
func appendStatus(buf []byte, s *metav1.Status) []byte {
	buf = append(buf, '{')
	if s.Kind != "" {
		buf = append(buf, `"kind":`...)
		buf = jsonw.String(buf, s.Kind)
		buf = append(buf, ',')
	}
	if s.APIVersion != "" {
		buf = append(buf, `"apiVersion":`...)
		buf = jsonw.String(buf, s.APIVersion)
		buf = append(buf, ',')
	}
	buf = append(buf, `"metadata":`...)
	if s.ListMeta == (metav1.ListMeta{}) {
		buf = append(buf, "{}"...)
	} else {
		buf, _ = appendJSON(buf, s.ListMeta) // cannot fail
	}
	if s.Status != "" {
		buf = append(buf, `,"status":`...)
		buf = jsonw.String(buf, s.Status)
	}
	if s.Message != "" {
		buf = append(buf, `,"message":`...)
		buf = jsonw.String(buf, s.Message)
	}
	if s.Reason != "" {
		buf = append(buf, `,"reason":`...)
		buf = jsonw.String(buf, string(s.Reason))
	}
	if s.Details != nil {
		buf = append(buf, `,"details":`...)
		buf, _ = appendJSON(buf, s.Details) // cannot fail
	}
	if s.Code != 0 {
		buf = append(buf, `,"code":`...)
		buf = strconv.AppendInt(buf, int64(s.Code), 10)
	}
	return append(buf, '}')
}

// scratch holds the buffers of patches and answers between reviews: an
// 8-rail pod's patch and answer are a few KiB each, written once and
// dropped after the answer is sent. A buffer is a fixed-size array, so
// giving one back needs no allocation; one that grew is left to the GC.
var scratch = sync.Pool{New: func() any { return new([scratchSize]byte) }}

// scratchSize holds an 8-rail pod's answer (~5 KiB) with room to spare.
const scratchSize = 8 << 10

// getScratch returns an empty buffer with room for at least n bytes.
func getScratch(n int) []byte {
	if n > scratchSize {
		return make([]byte, 0, n)
	}
	return scratch.Get().(*[scratchSize]byte)[:0]
}

// putScratch gives back b, a buffer getScratch returned (or one nothing
// else holds); b must not be used after.
func putScratch(b []byte) {
	if cap(b) == scratchSize {
		scratch.Put((*[scratchSize]byte)(b[:scratchSize]))
	}
}

// patchTexts remembers the base64 text of the patches remembered answers
// give (memo.go): an 8-rail pod's patch is ~3.3 KiB, and encoding it was a
// tenth of its review. A patch's slot is picked by its length; the text is
// used only for a patch equal to the one it was made from, so it is
// always the patch's own text.
var patchTexts [64]atomic.Pointer[patchText]

type patchText struct{ patch, text []byte }

// rememberPatchText remembers the text of patch, which is never changed
// after.
func rememberPatchText(patch []byte) {
	patchTexts[len(patch)%len(patchTexts)].Store(&patchText{patch: patch, text: base64.StdEncoding.AppendEncode(nil, patch)})
}

// appendPatchText appends the base64 text of patch.
func appendPatchText(buf, patch []byte) []byte {
	if t := patchTexts[len(patch)%len(patchTexts)].Load(); t != nil && bytes.Equal(t.patch, patch) {
		return append(buf, t.text...)
	}
	return base64.StdEncoding.AppendEncode(buf, patch)
}
