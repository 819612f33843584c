package pipeline

import (
	"os"
	"sync"
	"syscall"
	"time"
)

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

// Hash returns the hex SHA-256 of the regular file at path.
func (c *HashCache) Hash(path string) (string, error) {
	info, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	e := cachedHash{size: info.Size(), mtime: info.ModTime()}
	if sys, ok := info.Sys().(*syscall.Stat_t); ok {
		e.ino = sys.Ino
		e.ctime = time.Unix(sys.Ctim.Sec, sys.Ctim.Nsec)
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
