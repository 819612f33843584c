package server

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

// TestIsUnavailable checks which errors of the store mean that the database
// is out of reach (503) rather than a fault of ours (500).
func TestIsUnavailable(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	for _, c := range []struct {
		name string
		err  error
		want bool
	}{
		{"refused connection", fmt.Errorf("postgres: begin read: %w", refused), true},
		{"bad connection", fmt.Errorf("x: %w", driver.ErrBadConn), true},
		{"admin shutdown", fmt.Errorf("x: %w", &pgconn.PgError{Code: "57P01"}), true},
		{"connection failure", &pgconn.PgError{Code: "08006"}, true},
		{"marked unavailable", fmt.Errorf("x: %w", errUnavailable), true},
		{"undefined column", fmt.Errorf("x: %w", &pgconn.PgError{Code: "42703"}), false},
		{"plain error", errors.New("sqlite: bad timestamp"), false},
		{"cancelled request", context.Canceled, false},
	} {
		if got := isUnavailable(c.err); got != c.want {
			t.Errorf("%s: isUnavailable(%v) = %v, want %v", c.name, c.err, got, c.want)
		}
	}
}
