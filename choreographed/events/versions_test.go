package events_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ordersaga/ordersaga/choreographed/events"
)

func completed() events.OrderCompletedData {
	return events.OrderCompletedData{TrackingNumber: "TRK-1", TotalCents: 2500, CustomerID: "c-1", CompletedAt: t0.Add(-time.Second)}
}

// wire writes the payload as version v (0: the newest), puts it on a
// Kafka message and decodes it back as a consumer receives it, checking
// that the envelope and the headers say the same versions.
func wire(t *testing.T, p events.Payload, v int) (*events.Envelope, map[string]any) {
	t.Helper()
	e, err := events.NewVersion(p, v, "o-1", nil, t0)
	if err != nil {
		t.Fatal(err)
	}
	m, err := e.Message(context.Background(), events.Topics{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := events.Decode(m.Value)
	if err != nil {
		t.Fatal(err)
	}
	if h := events.Header(m.Headers, events.HeaderSchemaVersion); h != strconv.Itoa(got.SchemaVersion) {
		t.Errorf("header %s = %q, envelope %d", events.HeaderSchemaVersion, h, got.SchemaVersion)
	}
	if h := events.Header(m.Headers, events.HeaderSchemaMinReader); h != strconv.Itoa(got.MinReaderVersion) {
		t.Errorf("header %s = %q, envelope %d", events.HeaderSchemaMinReader, h, got.MinReaderVersion)
	}
	var data map[string]any
	if err := json.Unmarshal(got.Data, &data); err != nil {
		t.Fatal(err)
	}
	return got, data
}

func TestOrderCompleted_V1ReadByAV2Reader_IsUpcastWithTheCustomerMarkedMissing(t *testing.T) {
	e, data := wire(t, completed(), 1)
	if e.SchemaVersion != 1 || e.MinReaderVersion != 1 {
		t.Fatalf("v1 event: schema_version %d, min_reader_version %d", e.SchemaVersion, e.MinReaderVersion)
	}
	if _, ok := data["customer_id"]; ok || len(data) != 2 {
		t.Fatalf("v1 payload %v: want tracking_number and total_cents only", data)
	}
	for name, r := range map[string]events.Reader{"the default reader": {}, "a reader of v2": {Newest: events.Versions{events.OrderCompleted: 2}}} {
		read, err := r.Read(e)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if read.ReadVersion() != 1 {
			t.Errorf("%s reads v1 as v%d", name, read.ReadVersion())
		}
		p, err := events.As[events.OrderCompletedData](read)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if p.TrackingNumber != "TRK-1" || p.TotalCents != 2500 || p.CustomerID != "" ||
			!p.CompletedAt.Equal(t0) || !slices.Equal(p.Missing, []string{"customer_id"}) {
			t.Errorf("%s: upcast v1 = %+v; want the v1 fields, completed_at from occurred_at %v, customer_id missing", name, p, t0)
		}
	}
}

func TestOrderCompleted_V2ReadByAV1Reader_IgnoresTheNewFields(t *testing.T) {
	e, data := wire(t, completed(), 0)
	if e.SchemaVersion != 2 || e.MinReaderVersion != 1 {
		t.Fatalf("v2 event: schema_version %d, min_reader_version %d; want 2, readable from 1", e.SchemaVersion, e.MinReaderVersion)
	}
	if data["customer_id"] != "c-1" || data["completed_at"] == nil {
		t.Fatalf("v2 payload %v lacks customer_id or completed_at", data)
	}
	// The newest reader reads every field.
	p, err := events.As[events.OrderCompletedData](e)
	if err != nil {
		t.Fatal(err)
	}
	if p.CustomerID != "c-1" || !p.CompletedAt.Equal(t0.Add(-time.Second)) || p.Missing != nil || p.TrackingNumber != "TRK-1" {
		t.Errorf("v2 read by v2 = %+v", p)
	}
	// A v1 reader reads it as v1: what v1 has, nothing it does not.
	old, err := events.Reader{Newest: events.Versions{events.OrderCompleted: 1}}.Read(e)
	if err != nil {
		t.Fatalf("a v1 reader refused an additive v2: %v", err)
	}
	if old.ReadVersion() != 1 || old.SchemaVersion != 2 || old.EventID != e.EventID {
		t.Errorf("v1 reader's view: read as v%d, schema_version %d", old.ReadVersion(), old.SchemaVersion)
	}
	p, err = events.As[events.OrderCompletedData](old)
	if err != nil {
		t.Fatal(err)
	}
	if p.TrackingNumber != "TRK-1" || p.TotalCents != 2500 || p.CustomerID != "" || !slices.Equal(p.Missing, []string{"customer_id"}) {
		t.Errorf("v2 read by v1 = %+v; want the v1 fields only", p)
	}
	// Reading does not change the envelope the consumer holds.
	if e.ReadVersion() != 2 {
		t.Errorf("the original envelope reads as v%d", e.ReadVersion())
	}
}

func TestReader_ANewerVersionItsReadersCannotRead_IsRefusedAsUnsupported(t *testing.T) {
	e, _ := wire(t, completed(), 0)
	v1 := events.Reader{Newest: events.Versions{events.OrderCompleted: 1}}

	// v2 declared unreadable by v1 readers (min reader 2).
	incompatible := *e
	incompatible.MinReaderVersion = 2
	if _, err := v1.Read(&incompatible); !errors.Is(err, events.ErrUnsupportedVersion) {
		t.Errorf("v1 reader on an incompatible v2: err = %v, want ErrUnsupportedVersion", err)
	} else if !strings.Contains(err.Error(), "readable from v2") {
		t.Errorf("error %q does not say which readers can read it", err)
	}
	if _, err := (events.Reader{}).Read(&incompatible); err != nil {
		t.Errorf("v2 reader on an incompatible v2: %v", err)
	}
	// A v2 event of a producer that writes no min_reader_version is
	// readable by v2 readers only.
	noMin := *e
	noMin.MinReaderVersion = 0
	if _, err := v1.Read(&noMin); !errors.Is(err, events.ErrUnsupportedVersion) {
		t.Errorf("v1 reader on a v2 without min_reader_version: err = %v", err)
	}

	// A version newer than this software knows: refused when it says its
	// readers must know it, read as the newest known when additive.
	future := *e
	future.SchemaVersion, future.MinReaderVersion = 3, 3
	if _, err := events.As[events.OrderCompletedData](&future); !errors.Is(err, events.ErrUnsupportedVersion) {
		t.Errorf("As on an incompatible v3: err = %v, want ErrUnsupportedVersion", err)
	}
	future.MinReaderVersion = 2
	future.Data = json.RawMessage(`{"tracking_number":"TRK-1","total_cents":2500,"customer_id":"c-1","completed_at":"2026-03-04T05:06:06Z","gift_wrap":true}`)
	read, err := (events.Reader{}).Read(&future)
	if err != nil {
		t.Fatalf("additive v3: %v", err)
	}
	p, err := events.As[events.OrderCompletedData](read)
	if err != nil || read.ReadVersion() != 2 || p.CustomerID != "c-1" || p.Missing != nil {
		t.Errorf("additive v3 read as v%d: %+v, %v", read.ReadVersion(), p, err)
	}
}

func TestVersions_ParseCheckAndWrite(t *testing.T) {
	vs, err := events.ParseVersions([]string{" OrderCompleted = 1", ""})
	if err != nil {
		t.Fatal(err)
	}
	if vs.Of(events.OrderCompleted) != 1 || vs.Of(events.OrderPlaced) != 1 || (events.Versions(nil)).Of(events.OrderCompleted) != 2 {
		t.Errorf("versions %v: OrderCompleted %d, OrderPlaced %d", vs, vs.Of(events.OrderCompleted), vs.Of(events.OrderPlaced))
	}
	if err := vs.Check(events.NewTable(nil)); err != nil {
		t.Errorf("Check(%v) = %v", vs, err)
	}
	if s := (events.Versions{events.OrderPlaced: 1, events.OrderCompleted: 2}).String(); s != "OrderCompleted=2,OrderPlaced=1" {
		t.Errorf("String() = %q", s)
	}
	for _, bad := range [][]string{{"OrderCompleted"}, {"OrderCompleted=two"}, {"=1"}, {"OrderCompleted=1", "OrderCompleted=2"}} {
		if _, err := events.ParseVersions(bad); err == nil {
			t.Errorf("ParseVersions(%q) accepted", bad)
		}
	}
	for _, bad := range []events.Versions{{events.OrderCompleted: 3}, {events.OrderCompleted: 0}, {events.OrderPlaced: 2}, {"OrderCompletd": 1}} {
		if err := bad.Check(events.NewTable(nil)); err == nil {
			t.Errorf("Check(%v) accepted", bad)
		}
	}
	// Only a version the type has is written.
	if _, err := events.NewVersion(completed(), 3, "o-1", nil, t0); err == nil {
		t.Error("NewVersion wrote OrderCompleted v3")
	}
	if _, err := events.NewVersion(placed(), 2, "o-1", nil, t0); err == nil {
		t.Error("NewVersion wrote OrderPlaced v2")
	}
}

func TestDecode_RefusesAMinReaderAboveTheSchemaVersion(t *testing.T) {
	good := `{"event_id":"e1","type":"OrderCompleted","schema_version":2,"min_reader_version":1,"order_id":"o-1","occurred_at":"2026-01-01T00:00:00Z","correlation_id":"e1","data":{}}`
	if _, err := events.Decode([]byte(good)); err != nil {
		t.Fatalf("good envelope refused: %v", err)
	}
	for _, bad := range []string{`"min_reader_version":3`, `"min_reader_version":-1`} {
		if _, err := events.Decode([]byte(strings.Replace(good, `"min_reader_version":1`, bad, 1))); !errors.Is(err, events.ErrMalformed) {
			t.Errorf("%s: err = %v, want ErrMalformed", bad, err)
		}
	}
}
