package pipeline

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"
)

// QuietPeriod is how long a watched file must go unmodified before a
// trigger takes its content. A writer that truncates a file and then
// writes it (as most tools do) would otherwise be caught half-way: one
// run would start on the half-written file and another on the whole.
const QuietPeriod = time.Second

// ErrSettling is what SettledHash returns for a file modified less than
// QuietPeriod ago.
var ErrSettling = errors.New("modified less than " + QuietPeriod.String() + " ago; waiting for the writer to finish")

// HashCache returns the SHA-256 of files that triggers watch, reading a
// file again only when its metadata changed since the last call: size,
// modification and change time, and inode. The zero value is ready to use
// and safe for concurrent use.
type HashCache struct {
	mu     sync.Mutex
	hashes map[string]cachedHash
}

type cachedHash struct {
	size         int64
	mtime, ctime time.Time
	ino          uint64
	sum          string
}

// SettledHash returns the hex SHA-256 of the regular file at path, once
// the file has gone QuietPeriod unmodified (in content or by a rename into
// place) as of now; for one that has not, it returns an error that wraps
// ErrSettling. A modification time after now (a clock set back, a file
// touched into the future) counts as settled: waiting would not make it
// true.
func (c *HashCache) SettledHash(path string, now time.Time) (string, error) {
	info, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	e := cachedHash{size: info.Size(), mtime: info.ModTime()}
	if sys, ok := info.Sys().(*syscall.Stat_t); ok {
		e.ino = sys.Ino
		e.ctime = time.Unix(sys.Ctim.Sec, sys.Ctim.Nsec)
	}
	changed := e.mtime
	if e.ctime.After(changed) {
		changed = e.ctime
	}
	if age := now.Sub(changed); age >= 0 && age < QuietPeriod {
		return "", fmt.Errorf("%s: %w", path, ErrSettling)
	}
	c.mu.Lock()
	prev, ok := c.hashes[path]
	c.mu.Unlock()
	if ok && prev.size == e.size && prev.mtime.Equal(e.mtime) && prev.ctime.Equal(e.ctime) && prev.ino == e.ino {
		return prev.sum, nil
	}
	if e.sum, err = HashFile(path); err != nil {
		return "", err
	}
	c.mu.Lock()
	if c.hashes == nil {
		c.hashes = map[string]cachedHash{}
	}
	c.hashes[path] = e
	c.mu.Unlock()
	return e.sum, nil
}
