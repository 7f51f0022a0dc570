package scenario

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ordersaga/ordersaga/shared/auth"
	"github.com/ordersaga/ordersaga/shared/httpapi"
)

// PendingIDs and Follow make the reference fake's order store tell when
// orders end, as the real store does (httpapi.OrderEnds): its API then
// runs admission control like a real stack's.
func (s fakeOrders) PendingIDs(context.Context) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	for id, o := range s.orders {
		if !o.Status().Final() {
			ids = append(ids, id)
		}
	}
	return ids, nil
}

func (s fakeOrders) Follow(id string, ended func()) {
	go func() {
		if o, err := s.WaitFinal(context.Background(), id); err == nil && o.Status().Final() {
			ended()
		}
	}()
}

// admissionBound is the bound of orders in flight the tests give the fake.
const admissionBound = 3

func TestCheckAdmission_ReferenceFake_RefusesPastTheBoundThenAdmitsAgain(t *testing.T) {
	tg := newFake(t, "reference", bugs{limits: httpapi.Limits{MaxInFlight: admissionBound}})
	res := CheckAdmission(t, tg, admissionBound)
	if got := len(res.Orders); got < admissionBound+1 {
		t.Errorf("%d orders tracked, want the %d admitted and the one after them at least", got, admissionBound)
	}
}

// refusesRepeats is a defective HTTP layer whose bound refuses a repeated
// POST /v1/orders as if it were a new order.
func refusesRepeats(h http.Handler, _ *auth.Keys) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if r.Method == http.MethodPost && r.URL.Path == "/v1/orders" && rec.Code == http.StatusOK {
			w.Header().Set("Content-Type", "application/problem+json")
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`{"type": "https://ordersaga.dev/problems/unavailable", "title": "Service unavailable", "status": 503, "detail": "busy"}`))
			return
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	})
}

// refusesCancels is a defective HTTP layer that refuses every cancel with
// 503 and Retry-After, as a bound counting them would.
func refusesCancels(h http.Handler, _ *auth.Keys) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/cancel") {
			w.Header().Set("Retry-After", "1")
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// Each stack that breaks admission control's promises must make the check
// report it.
func TestCheckAdmission_BrokenStacks_AreReported(t *testing.T) {
	bounded := httpapi.Limits{MaxInFlight: admissionBound}
	tests := []struct {
		name string
		bugs bugs
		want []string
	}{
		{"no bound", bugs{limits: httpapi.Limits{MaxInFlight: 1000}}, []string{"12 of 12 orders admitted and 0 refused, want 3 admitted"}},
		{"503 without Retry-After", bugs{limits: bounded, wrap: withoutHeader("Retry-After")}, []string{`Retry-After ""`}},
		{"repeats refused", bugs{limits: bounded, wrap: refusesRepeats}, []string{"a repeat of admitted order", "want 200"}},
		{"cancels refused", bugs{limits: bounded, wrap: refusesCancels}, []string{"never refused"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tg := newFake(t, "broken", tc.bugs)
			tg.FinalWithin = 3 * time.Second // the quiet wait of a broken stack lasts this long
			rec := record(t, func(tb testing.TB) { CheckAdmission(tb, tg, admissionBound) })
			expectReported(t, rec, tc.want...)
		})
	}
}
