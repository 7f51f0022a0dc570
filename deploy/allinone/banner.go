package allinone

import (
	"fmt"
	"strings"
)

// demoOrder is the body of the order the banner's curl places.
const demoOrder = `{"customer_id":"ada","items":[{"sku":"mug","quantity":2}],"ship_to":{"name":"Ada Lovelace","line1":"1 Main St","city":"Berlin","postal_code":"10115","country":"DE"}}`

// Banner describes the running stack for a person: where each part
// answers, where the data is, and a command that places an order on each
// API.
func (s *Stack) Banner() string {
	var b strings.Builder
	line := func(label, value string) { fmt.Fprintf(&b, "  %-24s %s\n", label, value) }
	b.WriteString("ordersaga is running\n\n")
	for _, r := range s.variants {
		note := ""
		if r.placeholder {
			note = "  (catalog and customers only: orders answer 503 until the variant is plugged in)"
		}
		line(r.name+" API", r.url+note)
	}
	if ui := s.TemporalUIURL(); ui != "" {
		line("Temporal UI", ui)
	}
	kind := "embedded"
	if s.temporal == nil {
		kind = "external"
	}
	line("Temporal frontend", s.TemporalAddress()+" ("+kind+", namespace "+s.cfg.TemporalNamespace+")")
	if s.temporal != nil {
		line("Temporal persistence", s.temporal.Persistence())
	}
	kind = "embedded"
	if s.broker == nil {
		kind = "external"
	}
	line("Kafka bootstrap", strings.Join(s.brokers, ",")+" ("+kind+")")
	if s.cfg.PostgresURL != "" {
		line("Service databases", fmt.Sprintf("PostgreSQL, databases %sorchestrated_* and %[1]schoreographed_*", s.cfg.PostgresDBPrefix))
	} else {
		line("Service databases", "SQLite files in "+s.cfg.DataDir+"/{orchestrated,choreographed}")
	}
	line("Data dir", s.cfg.DataDir)
	b.WriteString("\nPlace an order:\n")
	for _, r := range s.variants {
		fmt.Fprintf(&b, "  curl -s -X POST '%s/v1/orders?wait=5s' -H 'Content-Type: application/json' \\\n    -d '%s'\n", r.url, demoOrder)
	}
	b.WriteString("\nPress Ctrl-C to stop.\n")
	return b.String()
}
