package allinone

import (
	"fmt"
	"strings"
	"time"
)

// demoOrder is the body of the order the banner's curl places.
const demoOrder = `{"customer_id":"ada","items":[{"sku":"mug","quantity":2}],"ship_to":{"name":"Ada Lovelace","line1":"1 Main St","city":"Berlin","postal_code":"10115","country":"DE"}}`

// Banner describes the running stack for a person: where each part
// answers, where the data is, an operator token and a token of the demo
// customer, and ready-to-paste commands that place an order on each API as
// that customer, read the customer's orders and, on each API, its
// notifications, and list every order as the operator.
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
	cr := s.creds
	b.WriteString("\nCredentials (both APIs; valid " + ttlText(DevTokenTTL) + "; more with `ordersaga token " + cr.SecretFlags + " -role customer -subject <id>`):\n")
	line("operator token", cr.Operator)
	line("customer token ("+cr.CustomerID+")", cr.Customer)
	fmt.Fprintf(&b, "\nPlace an order as %s:\n", cr.CustomerID)
	for _, r := range s.variants {
		fmt.Fprintf(&b, "  curl -s -X POST '%s/v1/orders?wait=5s' -H 'Content-Type: application/json' \\\n    -H 'Authorization: Bearer %s' \\\n    -d '%s'\n",
			r.url, cr.Customer, demoOrder)
	}
	if len(s.variants) > 0 {
		api := s.variants[0].url
		fmt.Fprintf(&b, "\nRead %s's orders (a customer sees its own alone; /v1/orders/<order_id> reads one):\n", cr.CustomerID)
		fmt.Fprintf(&b, "  curl -s '%s/v1/orders?limit=5' -H 'Authorization: Bearer %s'\n", api, cr.Customer)
		fmt.Fprintf(&b, "\nRead what %s was told when its orders ended (one notification per ended order, each variant its own):\n", cr.CustomerID)
		for _, r := range s.variants {
			fmt.Fprintf(&b, "  curl -s '%s/v1/customers/%s/notifications?limit=5' -H 'Authorization: Bearer %s'\n", r.url, cr.CustomerID, cr.Customer)
		}
		b.WriteString("\nAs the operator, list every customer's orders (catalog, customers and /v1/admin/* are the operator's too):\n")
		fmt.Fprintf(&b, "  curl -s '%s/v1/orders?limit=5' -H 'Authorization: Bearer %s'\n", api, cr.Operator)
	}
	b.WriteString("\nPress Ctrl-C to stop.\n")
	return b.String()
}

// ttlText says a token lifetime in days or hours.
func ttlText(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%d days", d/(24*time.Hour))
	}
	return d.String()
}
