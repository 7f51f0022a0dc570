package hosted

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// CommitsMetric names the counter of the transactions each hosted
// database committed (sqldb.DB.Commits), labelled database="<role>".
const CommitsMetric = "ordersaga_db_commits_total"

// commitsCollector reports, at each scrape, the commits of each hosted
// role's database.
type commitsCollector struct {
	desc *prometheus.Desc
	n    *Services
}

// Describe implements prometheus.Collector.
func (c commitsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect implements prometheus.Collector.
func (c commitsCollector) Collect(ch chan<- prometheus.Metric) {
	for _, r := range c.n.roles {
		if db := c.n.DBs[r]; db != nil {
			ch <- prometheus.MustNewConstMetric(c.desc, prometheus.CounterValue, float64(db.Commits()), string(r))
		}
	}
}

// RegisterMetrics registers with reg the metrics of the hosted databases:
// CommitsMetric, the transactions each committed since this process opened
// it (a transaction of InTx, or a single statement of ExecCommit; see
// sqldb.DB.Commits). A registry takes one Services' metrics: a second
// Services registered with the same one is an error.
func (n *Services) RegisterMetrics(reg prometheus.Registerer) error {
	c := commitsCollector{n: n, desc: prometheus.NewDesc(CommitsMetric,
		"Transactions committed by the process in each hosted service's database (read and write transactions of the services, and their single-statement writes; not the migrations).",
		[]string{"database"}, nil)}
	if err := reg.Register(c); err != nil {
		if are, ok := errors.AsType[prometheus.AlreadyRegisteredError](err); ok {
			if existing, ok := are.ExistingCollector.(commitsCollector); ok && existing.n == n {
				return nil
			}
		}
		return fmt.Errorf("registering %s: %w", CommitsMetric, err)
	}
	return nil
}
