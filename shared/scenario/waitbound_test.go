package scenario

import (
	"bytes"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ordersaga/ordersaga/shared/auth"
	"github.com/ordersaga/ordersaga/shared/httpapi"
)

// waitBound is the bound of waiting requests the tests give the fake.
const waitBound = 4

func TestCheckWaitBound_ReferenceFake_RefusesPastTheBoundWhileOrdersComplete(t *testing.T) {
	tg := newFake(t, "reference", bugs{limits: httpapi.Limits{MaxWaiting: waitBound}})
	res := CheckWaitBound(t, tg, waitBound)
	if got := len(res.Orders); got < waitBound+waitBoundOrdinary+1 {
		t.Errorf("%d orders tracked, want the %d served waiters, %d orders without wait and the last waiter at least",
			got, waitBound, waitBoundOrdinary)
	}
}

// placesRefusedWaiters is a defective HTTP layer that, when it refuses a
// POST /v1/orders?wait= past the bound, places the order all the same.
func placesRefusedWaiters(h http.Handler, _ *auth.Keys) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v1/orders" || !r.URL.Query().Has("wait") {
			h.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code == http.StatusServiceUnavailable {
			again := r.Clone(r.Context())
			again.URL.RawQuery = ""
			again.Body = io.NopCloser(bytes.NewReader(body))
			h.ServeHTTP(httptest.NewRecorder(), again)
		}
		maps.Copy(w.Header(), rec.Header())
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	})
}

// Each stack that breaks the bound's promises must make the check report
// it.
func TestCheckWaitBound_BrokenStacks_AreReported(t *testing.T) {
	tests := []struct {
		name string
		bugs bugs
		want []string
	}{
		{"no bound on waiters", bugs{}, []string{"refused; want at least 4 served"}},
		{"503 without Retry-After", bugs{limits: httpapi.Limits{MaxWaiting: waitBound}, wrap: withoutHeader("Retry-After")},
			[]string{`Retry-After ""`}},
		{"refused waiters placed", bugs{limits: httpapi.Limits{MaxWaiting: waitBound}, wrap: placesRefusedWaiters},
			[]string{"want 404 (never placed)", "stock changed by"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tg := newFake(t, "broken", tc.bugs)
			tg.FinalWithin = 2 * time.Second // the quiet wait of a broken stack lasts this long
			rec := record(t, func(tb testing.TB) { CheckWaitBound(tb, tg, waitBound) })
			expectReported(t, rec, tc.want...)
		})
	}
}
