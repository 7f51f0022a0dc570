package listcursor_test

import (
	"encoding/base64"
	"testing"

	"github.com/ordersaga/ordersaga/shared/listcursor"
)

func TestEncodeDecode_RoundTrip(t *testing.T) {
	for _, p := range []listcursor.Position{{At: 0, ID: "o-1"}, {At: 1764750000123456, ID: "ada_order-9"}, {At: -5, ID: "x"}} {
		got, ok := listcursor.Decode(listcursor.Encode(p))
		if !ok || got != p {
			t.Errorf("Decode(Encode(%+v)) = %+v, %v", p, got, ok)
		}
	}
}

func TestDecode_AnythingElse_Refused(t *testing.T) {
	for _, s := range []string{"", "!!", base64.RawURLEncoding.EncodeToString([]byte("12")),
		base64.RawURLEncoding.EncodeToString([]byte("x:o-1")), base64.RawURLEncoding.EncodeToString([]byte("12:bad id"))} {
		if p, ok := listcursor.Decode(s); ok {
			t.Errorf("Decode(%q) = %+v, want refused", s, p)
		}
	}
}
