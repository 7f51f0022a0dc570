package orders

import "time"

// SetPollInterval changes how often WaitFinal polls, so a test can tell a
// wake-up from a poll.
func SetPollInterval(s *Store, d time.Duration) { s.poll = d }

// Watched returns how many orders have WaitFinal callers registered.
func Watched(s *Store) int {
	s.changes.mu.Lock()
	defer s.changes.mu.Unlock()
	return len(s.changes.signals)
}
