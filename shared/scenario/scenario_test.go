package scenario

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ordersaga/ordersaga/shared/auth"
	"github.com/ordersaga/ordersaga/shared/domain"
)

// scenarioNamed returns the suite's scenario with the name.
func scenarioNamed(tb testing.TB, name string) Scenario {
	tb.Helper()
	for _, sc := range Scenarios() {
		if sc.Name == name {
			return sc
		}
	}
	tb.Fatalf("no scenario %q", name)
	return Scenario{}
}

func TestRun_ReferenceFake_EveryScenarioPassesWithItsInvariants(t *testing.T) {
	tg := newFake(t, "reference", bugs{})
	results := Run(t, tg)
	if len(results) != len(Scenarios()) {
		t.Fatalf("%d results for %d scenarios", len(results), len(Scenarios()))
	}
	for _, r := range results {
		if r.Target != "reference" || r.FinalWithin != tg.FinalWithin || len(r.Orders) == 0 || r.Elapsed <= 0 {
			t.Errorf("scenario %s: result lacks its target, bound, orders or elapsed time: %+v", r.Scenario, r)
		}
		for name, o := range r.Orders {
			if o.Took <= 0 || o.Took > r.Elapsed {
				t.Errorf("scenario %s order %s: took %v, want within (0, %v]", r.Scenario, name, o.Took, r.Elapsed)
			}
		}
	}
}

func TestRun_BurstOrders_PlacesThatMany(t *testing.T) {
	tg := newFake(t, "reference", bugs{})
	tg.BurstOrders = 7
	r := RunScenario(t, tg, scenarioNamed(t, "burst"))
	if len(r.Orders) != 7 || r.Count(domain.StatusCompleted) != 7 {
		t.Errorf("burst placed %d orders, %d completed; want 7 and 7", len(r.Orders), r.Count(domain.StatusCompleted))
	}
}

func TestRunBadInput_ReferenceFake_EveryRequestIsRefusedAndChangesNothing(t *testing.T) {
	RunBadInput(t, newFake(t, "reference", bugs{}))
}

func TestCompare_TwoReferenceFakes_EndInTheSameState(t *testing.T) {
	a := newFake(t, "a", bugs{})
	b := newFake(t, "b", bugs{})
	a.BurstOrders, b.BurstOrders = 20, 20
	Compare(t, a, b)
}

// Each broken fake must make the suite report what is wrong.
func TestRunScenario_BrokenFakes_AreReported(t *testing.T) {
	tests := []struct {
		name     string
		bugs     bugs
		scenario string
		want     []string
	}{
		{"overselling inventory", bugs{oversell: true}, "concurrent_race",
			[]string{"is negative (oversold)", "orders completed for 10 units in stock"}},
		{"overselling inventory on one order", bugs{oversell: true}, "out_of_stock",
			[]string{"is negative (oversold)", `order too_many`}},
		{"forgotten refund", bugs{forgetRefund: true}, "shipping_unavailable",
			[]string{"invariant: customer", "credit changed by -3000, want 0"}},
		{"forgotten refund on cancel", bugs{forgetRefund: true}, "cancel_during_shipping",
			[]string{"invariant: customer"}},
		{"units kept reserved", bugs{keepReservation: true}, "happy_path",
			[]string{"still reserved once quiet", "invariant: product"}},
		{"compensated step left done", bugs{leaveStepDone: true}, "payment_declined",
			[]string{`step inventory is still "done"`}},
		{"orders too slow", bugs{stall: 1500 * time.Millisecond}, "shipping_unavailable",
			[]string{"over the bound 1s"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tg := newFake(t, "broken", tc.bugs) // before t.Parallel: creating the API is not safe in parallel
			t.Parallel()
			tg.FinalWithin = time.Second // the quiet wait of a broken stack lasts this long
			rec := record(t, func(tb testing.TB) { RunScenario(tb, tg, scenarioNamed(t, tc.scenario)) })
			expectReported(t, rec, tc.want...)
		})
	}
}

func TestRunScenario_RefundLandingAfterTheFinalStatus_IsWaitedFor(t *testing.T) {
	tg := newFake(t, "eventual", bugs{lateRefund: 300 * time.Millisecond})
	for _, name := range []string{"shipping_unavailable", "cancel_during_shipping"} {
		rec := record(t, func(tb testing.TB) { RunScenario(tb, tg, scenarioNamed(t, name)) })
		expectClean(t, rec)
	}
}

// goodResult is a consistent result: one completed order of 2 units at 500,
// one failed order.
func goodResult() Result {
	total := int64(1000)
	done := []Step{{Step: domain.StepInventory, Status: domain.StepDone}, {Step: domain.StepPayment, Status: domain.StepDone}, {Step: domain.StepShipping, Status: domain.StepDone}}
	return Result{
		Scenario: "hand-made", Target: "x", FinalWithin: time.Second,
		Orders: map[string]OrderResult{
			"ok": {ID: "o1", CustomerID: "c1", Items: []OrderItem{{SKU: "s1", Quantity: 2}}, TotalCents: &total,
				Status: domain.StatusCompleted, Steps: done, TrackingNumber: "T1", Took: time.Millisecond},
			"no": {ID: "o2", CustomerID: "c1", Items: []OrderItem{{SKU: "s1", Quantity: 9}},
				Status: domain.StatusFailed, FailureReason: domain.ReasonOutOfStock, Took: time.Millisecond,
				Steps: []Step{{Step: domain.StepInventory, Status: domain.StepFailed}, {Step: domain.StepPayment, Status: domain.StepSkipped}, {Step: domain.StepShipping, Status: domain.StepSkipped}}},
		},
		Products:  map[string]ProductResult{"p": {SKU: "s1", Initial: 5, Available: 3}},
		Customers: map[string]CustomerResult{"c": {ID: "c1", Initial: 5000, Credit: 4000}},
	}
}

func TestCheckInvariants_ConsistentResult_ReportsNothing(t *testing.T) {
	expectClean(t, record(t, func(tb testing.TB) { CheckInvariants(tb, goodResult()) }))
}

func TestCheckInvariants_EachBrokenInvariant_IsReported(t *testing.T) {
	tests := []struct {
		name   string
		break_ func(r *Result)
		want   string
	}{
		{"units lost", func(r *Result) { r.Products["p"] = ProductResult{SKU: "s1", Initial: 5, Available: 2} }, "stock at start 5"},
		{"units still reserved", func(r *Result) {
			r.Products["p"] = ProductResult{SKU: "s1", Initial: 5, Available: 2, Reserved: 1}
		}, "still reserved"},
		{"oversold", func(r *Result) { r.Products["p"] = ProductResult{SKU: "s1", Initial: 1, Available: -1} }, "oversold"},
		{"money lost", func(r *Result) { r.Customers["c"] = CustomerResult{ID: "c1", Initial: 5000, Credit: 3000} }, "credit at start 5000"},
		{"overcharged", func(r *Result) {
			r.Customers["c"] = CustomerResult{ID: "c1", Initial: 900, Credit: -100}
		}, "overcharged"},
		{"completed without tracking", func(r *Result) { o := r.Orders["ok"]; o.TrackingNumber = ""; r.Orders["ok"] = o }, "no tracking number"},
		{"completed with a step not done", func(r *Result) {
			o := r.Orders["ok"]
			o.Steps = []Step{{Step: domain.StepInventory, Status: domain.StepDone}, {Step: domain.StepPayment, Status: domain.StepDone}, {Step: domain.StepShipping, Status: domain.StepPending}}
			r.Orders["ok"] = o
		}, `step shipping is "pending", want done`},
		{"failed without reason", func(r *Result) { o := r.Orders["no"]; o.FailureReason = ""; r.Orders["no"] = o }, "no failure_reason"},
		{"failed with a step left done", func(r *Result) {
			o := r.Orders["no"]
			o.Steps = []Step{{Step: domain.StepInventory, Status: domain.StepDone}, {Step: domain.StepPayment, Status: domain.StepFailed}, {Step: domain.StepShipping, Status: domain.StepSkipped}}
			r.Orders["no"] = o
		}, `step inventory is still "done"`},
		{"failed holding a shipment", func(r *Result) { o := r.Orders["no"]; o.TrackingNumber = "T2"; r.Orders["no"] = o }, "holds a shipment"},
		{"cancelled with another reason", func(r *Result) {
			o := r.Orders["no"]
			o.Status = domain.StatusCancelled
			r.Orders["no"] = o
		}, `want "cancelled"`},
		{"not final", func(r *Result) { o := r.Orders["no"]; o.Status = domain.StatusPending; r.Orders["no"] = o }, "not final within 1s"},
		{"final too late", func(r *Result) { o := r.Orders["no"]; o.Took = 2 * time.Second; r.Orders["no"] = o }, "over the bound 1s"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := goodResult()
			tc.break_(&r)
			expectReported(t, record(t, func(tb testing.TB) { CheckInvariants(tb, r) }), tc.want)
		})
	}
}

func TestCompareResults_DifferentFinalStates_AreReported(t *testing.T) {
	a := goodResult()
	b := goodResult()
	b.Target = "y"
	expectClean(t, record(t, func(tb testing.TB) { CompareResults(tb, []Result{a}, []Result{b}) }))

	o := b.Orders["ok"]
	o.Status, o.FailureReason = domain.StatusCancelled, domain.ReasonCancelled
	b.Orders["ok"] = o
	b.Customers["c"] = CustomerResult{ID: "c1", Initial: 5000, Credit: 5000}
	rec := record(t, func(tb testing.TB) { CompareResults(tb, []Result{a}, []Result{b}) })
	expectReported(t, rec, "order ok ended", "customer c credit changed by -1000 vs 0")

	a.Racy, b.Racy = true, true
	expectClean(t, record(t, func(tb testing.TB) { CompareResults(tb, []Result{a}, []Result{b}) }))

	rec = record(t, func(tb testing.TB) { CompareResults(tb, []Result{a}, nil) })
	expectReported(t, rec, "no result from the second stack")
}

func TestProblemError_MalformedProblems_AreReported(t *testing.T) {
	good := `{"type": "` + ProblemTypeBase + `validation", "title": "Invalid request", "status": 400, "detail": "bad", "errors": [{"field": "items", "message": "m"}]}`
	problem := http.Header{"Content-Type": {"application/problem+json"}}
	tests := []struct {
		name   string
		r      response
		fields []string
		want   string // "" when no problem
	}{
		{"well-formed", response{400, problem, []byte(good)}, []string{"items"}, ""},
		{"fields not checked", response{400, problem, []byte(good)}, nil, ""},
		{"wrong status", response{409, problem, []byte(good)}, []string{"items"}, "status 409, want 400"},
		{"plain JSON", response{400, http.Header{"Content-Type": {"application/json"}}, []byte(good)}, nil, "Content-Type"},
		{"other fields", response{400, problem, []byte(good)}, []string{"items", "wait"}, "names fields"},
		{"undocumented type", response{400, problem, []byte(strings.Replace(good, "validation", "oops", 1))}, nil, "problem type"},
		{"no detail", response{400, problem, []byte(strings.Replace(good, `"bad"`, `""`, 1))}, nil, "lacks type, title or detail"},
		{"status field differs", response{400, problem, []byte(strings.Replace(good, "400", "500", 1))}, nil, "lacks type, title or detail"},
		{"field error without message", response{400, problem, []byte(strings.Replace(good, `"m"`, `""`, 1))}, nil, "has no message"},
		{"not JSON", response{400, problem, []byte("oops")}, nil, "decoding"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := problemError(tc.r, 400, tc.fields)
			if tc.want == "" && got != "" || !strings.Contains(got, tc.want) {
				t.Errorf("problemError = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestEnvID_IsRunSpecificAndValid(t *testing.T) {
	tg := newFake(t, "reference", bugs{}).withDefaults()
	a, b := newEnv(t, tg, "happy_path"), newEnv(t, tg, "happy_path")
	if a.ID("mug") == b.ID("mug") {
		t.Errorf("two runs share the id %q", a.ID("mug"))
	}
	if !domain.ValidID(a.ID("mug")) || !strings.HasSuffix(a.ID("mug"), "-happy_path-mug") {
		t.Errorf("id %q is not a valid run-specific id", a.ID("mug"))
	}
}

// problemsAsPlainJSON is a defective HTTP layer that labels its problem
// documents application/json.
func problemsAsPlainJSON(h http.Handler, _ *auth.Keys) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(relabel{w}, r)
	})
}

type relabel struct{ http.ResponseWriter }

func (w relabel) WriteHeader(status int) {
	if status >= 400 {
		w.Header().Set("Content-Type", "application/json")
	}
	w.ResponseWriter.WriteHeader(status)
}

// writesBeforeValidating is a defective HTTP layer that zeroes a product's
// stock before it refuses a bad PUT of the product.
func writesBeforeValidating(h http.Handler, _ *auth.Keys) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && strings.HasPrefix(r.URL.Path, "/v1/products/") {
			zero := httptest.NewRequest(http.MethodPut, r.URL.Path, strings.NewReader(`{"name": "x", "price_cents": 1, "stock": 0}`))
			zero.Header.Set("Authorization", r.Header.Get("Authorization"))
			h.ServeHTTP(httptest.NewRecorder(), zero)
		}
		h.ServeHTTP(w, r)
	})
}

func TestRunBadInput_BrokenHTTPLayers_AreReported(t *testing.T) {
	tests := []struct {
		name string
		wrap func(http.Handler, *auth.Keys) http.Handler
		kase string
		want string
	}{
		{"problems labelled application/json", problemsAsPlainJSON, "POST /v1/orders unknown field", "want application/problem+json"},
		{"a refused request that wrote", writesBeforeValidating, "PUT product without fields", "the refused request changed the stack"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := newBadInputRun(t, newFake(t, "broken", bugs{wrap: tc.wrap}))
			var found bool
			for _, bc := range b.cases() {
				if bc.Name == tc.kase {
					found = true
					expectReported(t, record(t, func(tb testing.TB) { b.check(tb, bc) }), tc.want)
				}
			}
			if !found {
				t.Fatalf("no bad input %q", tc.kase)
			}
		})
	}
}

func TestSameOutcome_SkippedAndCompensatedHoldNothingAlike(t *testing.T) {
	inv := domain.StepInventory
	cases := []struct {
		a, b Step
		want bool
	}{
		{Step{Step: inv, Status: domain.StepSkipped}, Step{Step: inv, Status: domain.StepCompensated}, true},
		{Step{Step: inv, Status: domain.StepDone}, Step{Step: inv, Status: domain.StepDone}, true},
		{Step{Step: inv, Status: domain.StepDone}, Step{Step: inv, Status: domain.StepCompensated}, false},
		{Step{Step: inv, Status: domain.StepFailed}, Step{Step: inv, Status: domain.StepSkipped}, false},
		{Step{Step: inv, Status: domain.StepSkipped}, Step{Step: domain.StepPayment, Status: domain.StepSkipped}, false},
	}
	for _, c := range cases {
		if got := sameOutcome(c.a, c.b); got != c.want {
			t.Errorf("sameOutcome(%v, %v) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
}

func TestCheckAccess_ReferenceFake_AnswersEveryCredentialAsTheRulesSay(t *testing.T) {
	CheckAccess(t, newFake(t, "reference", bugs{}))
}

func TestRunBadInput_WithoutCredentials_RunsOnAnOpenStack(t *testing.T) {
	tg := newFake(t, "open", bugs{open: true})
	tg.Keys = nil
	RunBadInput(t, tg)
}

// customersAsOperators is a defective HTTP layer that lets a customer's
// token act as an operator's.
func customersAsOperators(h http.Handler, keys *auth.Keys) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p, err := keys.Verify(auth.BearerToken(r.Header.Get("Authorization")), time.Now()); err == nil && !p.Operator() {
			tok, err := keys.Issue(auth.Principal{Role: auth.RoleOperator, Subject: p.Subject}, time.Minute, time.Now())
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			r.Header.Set("Authorization", "Bearer "+tok)
		}
		h.ServeHTTP(w, r)
	})
}

// withoutHeader returns a defective HTTP layer that answers without the
// response header name: withoutHeader("WWW-Authenticate") answers 401
// without a challenge.
func withoutHeader(name string) func(http.Handler, *auth.Keys) http.Handler {
	return func(h http.Handler, _ *auth.Keys) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h.ServeHTTP(dropHeader{w, name}, r)
		})
	}
}

// dropHeader deletes the header name before the status is written.
type dropHeader struct {
	http.ResponseWriter
	name string
}

func (w dropHeader) WriteHeader(status int) {
	w.Header().Del(w.name)
	w.ResponseWriter.WriteHeader(status)
}

// Each stack that breaks an access rule must make the check report it.
func TestCheckAccess_BrokenStacks_AreReported(t *testing.T) {
	tests := []struct {
		name string
		bugs bugs
		kase string
		cred Credential
		want []string
	}{
		{"no authentication", bugs{open: true}, "PUT /v1/products/{sku}", NoCredential,
			[]string{"status 200, want 401", "the refused request changed the stack"}},
		{"customers acting as operators", bugs{wrap: customersAsOperators}, "PUT /v1/customers/{id}", OwnToken,
			[]string{"status 200, want 403", "the refused request changed the stack"}},
		{"customers reading the fault settings", bugs{wrap: customersAsOperators}, "GET /v1/admin/faults", OtherCustomer,
			[]string{"status 200, want 403"}},
		{"401 without a challenge", bugs{wrap: withoutHeader("WWW-Authenticate")}, "GET /v1/orders", NoCredential,
			[]string{"want a Bearer challenge"}},
		{"every customer's orders listed", bugs{listAll: true}, "GET /v1/orders", OwnToken,
			[]string{"listed order"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := newAccessRun(t, newFake(t, "broken", tc.bugs))
			var found bool
			for _, ac := range a.cases() {
				if ac.name == tc.kase {
					found = true
					expectReported(t, record(t, func(tb testing.TB) { a.check(tb, ac, tc.cred) }), tc.want...)
				}
			}
			if !found {
				t.Fatalf("no access case %q", tc.kase)
			}
		})
	}
}

func TestCredentials_EveryOneHasANameAndAnId(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range Credentials() {
		if strings.HasPrefix(c.String(), "credential ") || seen[c.slug()] {
			t.Errorf("credential %d: name %q, id %q (seen: %v)", int(c), c.String(), c.slug(), seen[c.slug()])
		}
		seen[c.slug()] = true
	}
}

func TestCheckNotifications_ReferenceFake_OneNotificationPerOrderOfEveryOutcome(t *testing.T) {
	res, got := CheckNotifications(t, newFake(t, "reference", bugs{}))
	if len(got) != len(res.Orders) || len(got) != 5 {
		t.Errorf("%d notifications of %d orders, want one for each of the 5 outcomes", len(got), len(res.Orders))
	}
}

func TestCheckNotifications_AFailedOrderNotifiedAsCompleted_IsReported(t *testing.T) {
	tg := newFake(t, "wrong-notification", bugs{notifyFailedAsCompleted: true})
	rec := record(t, func(tb testing.TB) { CheckNotifications(tb, tg) })
	expectReported(t, rec, "its notification says completed")
}
