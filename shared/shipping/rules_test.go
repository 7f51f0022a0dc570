package shipping

import (
	"errors"
	"testing"
	"time"

	"github.com/ordersaga/ordersaga/shared/domain"
)

func TestCoverage_Serves_TheDefaultsAndTheConfiguredCountries(t *testing.T) {
	cov := Config{Countries: []string{" br ", "MX", ""}}.Coverage()
	tests := []struct {
		country string
		want    bool
	}{
		{"US", true},
		{"JP", true},
		{"BR", true}, // configured in lower case with spaces
		{"MX", true},
		{"IT", false}, // neither a default nor configured
		{"us", false}, // codes are upper case
		{"", false},
	}
	for _, tt := range tests {
		if got := cov.Serves(tt.country); got != tt.want {
			t.Errorf("Serves(%q) = %v, want %v", tt.country, got, tt.want)
		}
	}
	for _, c := range DefaultCountries() {
		if !(Config{}).Coverage().Serves(c) {
			t.Errorf("the default coverage does not serve %s", c)
		}
	}
}

func TestCoverage_Serves_NeverAntarctica(t *testing.T) {
	for _, cfg := range []Config{{}, {Countries: []string{"AQ"}}, {Countries: []string{" aq", "BR"}}} {
		if cfg.Coverage().Serves("AQ") {
			t.Errorf("coverage of %q serves AQ", cfg.Countries)
		}
	}
	if (Coverage{}).Serves("US") {
		t.Error("the zero coverage serves US")
	}
}

func TestShipment_Cancel_UndoesOnlyACreatedShipment(t *testing.T) {
	before := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	later := before.Add(time.Hour)
	shipment := func(status ShipmentStatus, tracking string, tombstone bool) Shipment {
		return Shipment{OrderID: "o-1", Country: "US", TrackingNumber: tracking, Status: status, Tombstone: tombstone, UpdatedAt: before}
	}
	tests := []struct {
		name    string
		from    Shipment
		moves   bool
		wantErr bool
	}{
		{"created is cancelled, keeping its tracking number", shipment(Created, "OSABC", false), true, false},
		{"cancelled again changes nothing", shipment(Cancelled, "OSABC", false), false, false},
		{"a tombstone stays", shipment(Cancelled, "", true), false, false},
		{"rejected shipped nothing", shipment(Rejected, "", false), false, false},
		{"an unknown status", shipment("lost", "", false), false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, moved, err := tt.from.cancel(later)
			if (err != nil) != tt.wantErr || moved != tt.moves {
				t.Fatalf("cancel: moved %v, error %v; want moved %v, an error %v", moved, err, tt.moves, tt.wantErr)
			}
			want := tt.from
			if tt.moves {
				want.Status, want.UpdatedAt = Cancelled, later
			}
			if !tt.wantErr && got != want {
				t.Fatalf("cancel = %+v, want %+v", got, want)
			}
		})
	}
}

func TestCancelTombstone_MakesALateShipCompensated(t *testing.T) {
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tomb := cancelTombstone("o-1", at)
	want := Shipment{OrderID: "o-1", Status: Cancelled, Tombstone: true, UpdatedAt: at}
	if tomb != want {
		t.Fatalf("tombstone = %+v, want %+v", tomb, want)
	}
	if err := tomb.Err(); !errors.Is(err, domain.ErrCompensated) {
		t.Fatalf("a late Ship meeting the tombstone reports %v, want domain.ErrCompensated", err)
	}
	if tomb.undid() {
		t.Fatal("a tombstone counts as having cancelled a shipment")
	}
}
