package sqlstore

// SetBeforeCommit makes every group commit batch of s call fn with its
// number of writes before its COMMIT; an error fails the batch as a failed
// COMMIT would. nil removes the hook.
func SetBeforeCommit(s *Store, fn func(writes int) error) {
	s.group.mu.Lock()
	defer s.group.mu.Unlock()
	s.group.beforeCommit = fn
}

// QueuedWrites returns how many writes wait for a batch of s.
func QueuedWrites(s *Store) int {
	s.group.mu.Lock()
	defer s.group.mu.Unlock()
	return len(s.group.queue)
}

// LargestBatch returns the largest number of writes a batch of s has held.
func LargestBatch(s *Store) int {
	s.group.mu.Lock()
	defer s.group.mu.Unlock()
	return s.group.largest
}
