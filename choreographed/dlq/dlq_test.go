package dlq_test

import (
	"testing"

	"github.com/ordersaga/ordersaga/choreographed/dlq"
)

func TestParseRef_ReadsWhatRefWrites(t *testing.T) {
	l := dlq.Letter{Partition: 3, Offset: 41}
	p, o, err := dlq.ParseRef(l.Ref())
	if err != nil || p != 3 || o != 41 {
		t.Fatalf("ParseRef(%q) = %d, %d, %v", l.Ref(), p, o, err)
	}
	for _, bad := range []string{"", "3", "3/", "/4", "a/4", "3/b", "-1/4", "3/-4"} {
		if _, _, err := dlq.ParseRef(bad); err == nil {
			t.Errorf("ParseRef(%q) accepted", bad)
		}
	}
}

func TestSelect_ReturnsTheNamedLettersOrFails(t *testing.T) {
	letters := []dlq.Letter{{Partition: 0, Offset: 1, OrderID: "a"}, {Partition: 1, Offset: 1, OrderID: "b"}}
	got, err := dlq.Select(letters, "1/1", "0/1")
	if err != nil || len(got) != 2 || got[0].OrderID != "b" || got[1].OrderID != "a" {
		t.Fatalf("Select = %+v, %v", got, err)
	}
	if _, err := dlq.Select(letters, "0/1", "2/2"); err == nil {
		t.Fatal("Select accepted a reference to no letter")
	}
}
