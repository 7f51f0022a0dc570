package shipping

import "strings"

// Coverage is the set of countries the service ships to: DefaultCountries,
// those a Config adds, and never AQ. Get one from Config.Coverage; the zero
// Coverage serves no country.
type Coverage struct {
	served map[string]bool
}

// Coverage returns the countries the service serves under cfg. Codes are
// trimmed and put in upper case; empty ones are ignored.
func (cfg Config) Coverage() Coverage {
	served := make(map[string]bool, len(DefaultCountries())+len(cfg.Countries))
	for _, c := range DefaultCountries() {
		served[c] = true
	}
	for _, c := range cfg.Countries {
		if c = strings.ToUpper(strings.TrimSpace(c)); c != "" {
			served[c] = true
		}
	}
	delete(served, neverServed)
	return Coverage{served: served}
}

// Serves reports whether the coverage includes country, an ISO 3166-1
// alpha-2 code in upper case.
func (c Coverage) Serves(country string) bool { return c.served[country] }
