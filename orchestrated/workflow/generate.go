package workflow

// The replay test replays the histories in testdata, recorded from real
// runs of the saga on an in-process Temporal server. Record them again
// after a deliberate change of the saga's commands (and keep the old ones
// while old sagas may still run):
//
//go:generate go test -count=1 -run TestRecordHistories ../stack -record-histories
