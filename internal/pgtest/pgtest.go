// Package pgtest gives tests a real PostgreSQL database.
//
// The first call to Start in a test binary starts one PostgreSQL server for
// the whole binary: initdb into a new directory under /tmp, then pg_ctl start
// on 127.0.0.1 and a free port, with its unix socket in that directory. As
// root (the usual case on our machines) both run as the postgres user through
// runuser, since PostgreSQL refuses to run as root; otherwise they run as the
// current user. Every call to Start then gets a new, empty database on that
// server (CREATE DATABASE, done ahead of time in the background since it
// takes about 0.1 s), which is dropped when the test ends, so tests never see
// each other's data. Main stops the server and removes its directory once all
// tests have run, so a package that calls Start needs
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
// When MLOPS_TEST_POSTGRES_DSN is set, no server is started: the databases
// are created on the server it names, through the database it names, as its
// user, who needs the CREATEDB privilege.
//
// Without PostgreSQL's binaries (looked for on PATH and in
// /usr/lib/postgresql/*/bin) the tests that call Start are skipped, unless
// the environment variable CI is "true": then they fail, so that CI cannot
// pass without running them.
//
// The server is for tests only: it runs with fsync off. Its default collation
// is ICU's en-US where initdb supports that (PostgreSQL 15 and later), so
// that a schema relying on the database's order of text, rather than saying
// COLLATE "C", shows up in tests.
package pgtest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// EnvDSN names the environment variable with the DSN of a server to use
// instead of starting one.
const EnvDSN = "MLOPS_TEST_POSTGRES_DSN"

// binDirGlob is where Debian and Ubuntu install PostgreSQL's binaries, one
// directory per major version; PATH is searched first.
var binDirGlob = "/usr/lib/postgresql/*/bin"

var (
	// mainCalled is set by Main; Start refuses to start a server that
	// nothing would stop.
	mainCalled atomic.Bool

	startOnce sync.Once
	shared    *server
	startErr  error

	// dbSeq numbers the databases this process creates.
	dbSeq atomic.Int64
)

// Main runs the tests of m and then stops the server Start may have
// started and removes its files. Call it from TestMain. m is usually the
// *testing.M itself; a wrapper whose Run calls its Run several times (once
// per database backend, say) must pass Main's result to os.Exit, since the
// test binary otherwise exits with the code of the last m.Run alone.
//
// Main returns the exit code: that of m.Run, or 1 if the tests passed but
// the server could not be stopped.
func Main(m interface{ Run() int }) int {
	mainCalled.Store(true)
	code := m.Run()
	if shared != nil {
		if err := shared.stop(); err != nil {
			fmt.Fprintln(os.Stderr, "pgtest:", err)
			if code == 0 {
				os.Exit(1)
			}
		}
	}
	// TestMain's caller exits with the code m.Run returned.
	return code
}

// Start returns the DSN (a postgres:// URL) of a new, empty database that is
// dropped when tb ends. It skips tb when PostgreSQL is not installed (fails
// it instead when CI is "true") and fails it when the server cannot start.
func Start(tb testing.TB) string {
	tb.Helper()
	if !mainCalled.Load() {
		tb.Fatal("pgtest: Start needs pgtest.Main to stop the server when the tests end; " +
			"add func TestMain(m *testing.M) { pgtest.Main(m) } to the package's tests")
	}
	startOnce.Do(func() { shared, startErr = startServer() })
	if startErr != nil {
		reportStartError(tb, startErr)
		return ""
	}
	dsn, err := shared.createDatabase(tb)
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	return dsn
}

// notInstalledError says that PostgreSQL's binaries were not found.
type notInstalledError struct{}

func (notInstalledError) Error() string {
	return "PostgreSQL is not installed: no initdb and pg_ctl on PATH or in " + binDirGlob
}

// reportStartError skips or fails tb for a server that could not start.
func reportStartError(tb testing.TB, err error) {
	tb.Helper()
	switch {
	case !errors.As(err, new(notInstalledError)):
		tb.Fatalf("pgtest: %v", err)
	case os.Getenv("CI") == "true":
		tb.Fatalf("pgtest: %v; CI is true, so the PostgreSQL tests must run: install PostgreSQL (apt-get install postgresql) or set %s", err, EnvDSN)
	default:
		tb.Skipf("pgtest: %v; skipping. Install PostgreSQL (apt-get install postgresql) or set %s to run this test", err, EnvDSN)
	}
}

// server is the PostgreSQL server of this test binary.
type server struct {
	// adminDSN connects to the server's maintenance database.
	adminDSN string
	admin    *sql.DB

	// namePrefix starts the names of the databases; "" for mlops_test.
	namePrefix string
	// ready holds databases prefetch created ahead of time.
	ready          chan string
	cancelPrefetch context.CancelFunc
	prefetchDone   chan struct{}

	// The rest is set only for a server this process started.
	dir   string // holds the data directory, the socket and the log
	pgCtl string
	runAs string // user to run initdb and pg_ctl as through runuser; "" for none
	// durable keeps every commit once the server process dies (not the
	// machine): synchronous_commit stays on. Instances, which tests stop
	// with -m immediate, need it.
	durable bool
}

// startServer connects to MLOPS_TEST_POSTGRES_DSN, or else starts a server.
func startServer() (*server, error) {
	if dsn := os.Getenv(EnvDSN); dsn != "" {
		s := &server{adminDSN: dsn}
		if err := s.connect(); err != nil {
			return nil, fmt.Errorf("%s: %w", EnvDSN, err)
		}
		s.startPrefetching()
		return s, nil
	}

	s, err := initServer()
	if err != nil {
		return nil, err
	}
	// A free port can be taken by someone else before the server binds it;
	// then try another.
	for attempt := 1; ; attempt++ {
		err = s.start()
		if err == nil {
			break
		}
		if attempt == 3 {
			_ = os.RemoveAll(s.dir)
			return nil, err
		}
	}
	if err := s.connect(); err != nil {
		_ = s.stop()
		return nil, err
	}
	s.startPrefetching()
	return s, nil
}

// initServer creates the data directory of a new server under /tmp, and
// does not start it.
func initServer() (*server, error) {
	initdb, pgCtl, err := findBinaries()
	if err != nil {
		return nil, err
	}
	s := &server{pgCtl: pgCtl}
	uid, gid := -1, -1
	if os.Geteuid() == 0 {
		// initdb refuses to run as root.
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("running as root, PostgreSQL must run as the user postgres: %w", err)
		}
		if _, err := exec.LookPath("runuser"); err != nil {
			return nil, fmt.Errorf("running as root, runuser is needed to run PostgreSQL as the user postgres: %w", err)
		}
		s.runAs = "postgres"
		uid, _ = strconv.Atoi(u.Uid)
		gid, _ = strconv.Atoi(u.Gid)
	}

	// /tmp rather than $TMPDIR: the socket path must stay short.
	if s.dir, err = os.MkdirTemp("/tmp", "mlops-pgtest-"); err != nil {
		return nil, err
	}
	if uid >= 0 {
		if err := os.Chown(s.dir, uid, gid); err != nil {
			_ = os.RemoveAll(s.dir)
			return nil, err
		}
	}
	if err := s.initdb(initdb); err != nil {
		_ = os.RemoveAll(s.dir)
		return nil, err
	}
	return s, nil
}

// startPrefetching starts prefetch in the background.
func (s *server) startPrefetching() {
	var ctx context.Context
	ctx, s.cancelPrefetch = context.WithCancel(context.Background())
	s.ready = make(chan string, 1)
	s.prefetchDone = make(chan struct{})
	go s.prefetch(ctx)
}

// findBinaries returns the paths of initdb and pg_ctl, from one directory.
func findBinaries() (initdb, pgCtl string, err error) {
	var dirs []string
	if p, err := exec.LookPath("initdb"); err == nil {
		dirs = append(dirs, filepath.Dir(p))
	}
	found, _ := filepath.Glob(binDirGlob)
	// Newest major version first.
	sort.Slice(found, func(i, j int) bool { return majorVersion(found[i]) > majorVersion(found[j]) })
	dirs = append(dirs, found...)
	for _, dir := range dirs {
		initdb, pgCtl = filepath.Join(dir, "initdb"), filepath.Join(dir, "pg_ctl")
		if isExecutable(initdb) && isExecutable(pgCtl) {
			return initdb, pgCtl, nil
		}
	}
	return "", "", notInstalledError{}
}

// majorVersion reads the version out of /usr/lib/postgresql/<version>/bin.
func majorVersion(binDir string) float64 {
	v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(binDir)), 64)
	return v
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// command runs a PostgreSQL program, as s.runAs if set, and returns its
// output in the error when it fails.
func (s *server) command(program string, args ...string) error {
	if s.runAs != "" {
		args = append([]string{"-u", s.runAs, "--", program}, args...)
		program = "runuser"
	}
	cmd := exec.Command(program, args...)
	// The test's working directory may be closed to the postgres user.
	cmd.Dir = s.dir
	// The server must not inherit the test's PG* settings.
	cmd.Env = cleanEnv()
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w\n%s", program, strings.Join(args, " "), err, out)
	}
	return nil
}

// cleanEnv is the environment without PG* variables.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PG") {
			env = append(env, kv)
		}
	}
	return env
}

func (s *server) dataDir() string { return filepath.Join(s.dir, "data") }
func (s *server) logFile() string { return filepath.Join(s.dir, "postgres.log") }

// initdb creates the data directory: trust authentication for the
// superuser postgres, UTF-8, and ICU's en-US as the default collation where
// this initdb has it.
func (s *server) initdb(initdb string) error {
	args := []string{"-D", s.dataDir(), "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync"}
	err := s.command(initdb, append(args, "--locale-provider=icu", "--icu-locale=en-US")...)
	if err == nil {
		return nil
	}
	// Before PostgreSQL 15, or built without ICU.
	if rmErr := os.RemoveAll(s.dataDir()); rmErr != nil {
		return rmErr
	}
	if err2 := s.command(initdb, args...); err2 != nil {
		return fmt.Errorf("initdb failed with ICU (%v) and without: %w", err, err2)
	}
	return nil
}

// start starts the server on a free loopback port and waits until it
// accepts connections.
func (s *server) start() error {
	port, err := freePort()
	if err != nil {
		return err
	}
	return s.startOn(port)
}

// startOn starts the server on port and waits until it accepts
// connections.
func (s *server) startOn(port int) error {
	opts := fmt.Sprintf("-h 127.0.0.1 -p %d -k %s -c fsync=off", port, s.dir)
	if !s.durable {
		opts += " -c synchronous_commit=off -c full_page_writes=off"
	}
	if err := s.command(s.pgCtl, "-D", s.dataDir(), "-l", s.logFile(), "-o", opts, "-w", "-t", "60", "-s", "start"); err != nil {
		log, _ := os.ReadFile(s.logFile())
		return fmt.Errorf("starting PostgreSQL: %w\nserver log:\n%s", err, tail(string(log), 2000))
	}
	s.adminDSN = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	return nil
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	addr, ok := ln.Addr().(*net.TCPAddr)
	if !ok {
		return 0, fmt.Errorf("listener address %v is not TCP", ln.Addr())
	}
	return addr.Port, nil
}

// connect opens the pool on the maintenance database and waits until the
// server answers.
func (s *server) connect() error {
	cfg, err := pgx.ParseConfig(s.adminDSN)
	if err != nil {
		return err
	}
	s.admin = stdlib.OpenDB(*cfg)
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = s.admin.PingContext(ctx)
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			_ = s.admin.Close()
			return fmt.Errorf("PostgreSQL does not answer: %w", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop closes the pool, stops a server this process started and removes
// its directory.
func (s *server) stop() error {
	errs := []error{s.stopPrefetching()}
	if s.admin != nil {
		errs = append(errs, s.admin.Close())
	}
	if s.dir != "" {
		if err := s.command(s.pgCtl, "-D", s.dataDir(), "-m", "fast", "-w", "-s", "stop"); err != nil {
			errs = append(errs, fmt.Errorf("stopping PostgreSQL: %w", err))
		}
		errs = append(errs, os.RemoveAll(s.dir))
	}
	return errors.Join(errs...)
}

// createDatabase returns the DSN of a new database that is dropped when tb
// ends. The database comes from those prefetch made ahead of time when
// there is one.
func (s *server) createDatabase(tb testing.TB) (string, error) {
	name, ok := <-s.ready
	if !ok {
		// Prefetching stopped at an error; this call reports it.
		var err error
		if name, err = s.create(context.Background()); err != nil {
			return "", err
		}
	}
	tb.Cleanup(func() {
		if err := s.drop(name); err != nil {
			tb.Errorf("pgtest: %v", err)
		}
	})
	return withDatabase(s.adminDSN, name)
}

// prefetch creates databases ahead of the tests that will ask for them, so
// that a test does not wait for the ~0.1 s CREATE DATABASE takes. It stops
// at the first error, or when ctx is done.
func (s *server) prefetch(ctx context.Context) {
	defer close(s.prefetchDone)
	defer close(s.ready)
	for {
		if ctx.Err() != nil {
			return
		}
		// The CREATE runs to its end even when ctx ends meanwhile: a
		// cancelled CREATE DATABASE may still have committed on the
		// server, and its database would be left behind undropped.
		name, err := s.create(context.WithoutCancel(ctx))
		if err != nil {
			return
		}
		select {
		case s.ready <- name:
		case <-ctx.Done():
			_ = s.drop(name)
			return
		}
	}
}

// stopPrefetching stops prefetch and drops the databases no test took.
func (s *server) stopPrefetching() error {
	if s.cancelPrefetch == nil {
		return nil
	}
	s.cancelPrefetch()
	<-s.prefetchDone
	var errs []error
	for name := range s.ready {
		errs = append(errs, s.drop(name))
	}
	return errors.Join(errs...)
}

// create creates a new, empty database and returns its name.
func (s *server) create(ctx context.Context) (string, error) {
	prefix := s.namePrefix
	if prefix == "" {
		prefix = "mlops_test"
	}
	name := fmt.Sprintf("%s_%d_%d", prefix, os.Getpid(), dbSeq.Add(1))
	ident := pgx.Identifier{name}.Sanitize()
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	create := "CREATE DATABASE " + ident + " TEMPLATE template0"
	if s.dir != "" {
		// With fsync off, copying the files is several times faster than
		// PostgreSQL 15's default of writing the copy to the WAL.
		if _, err := s.admin.ExecContext(ctx, create+" STRATEGY FILE_COPY"); err == nil {
			return name, nil
		}
	}
	if _, err := s.admin.ExecContext(ctx, create); err != nil {
		return "", fmt.Errorf("creating database %s: %w", name, err)
	}
	return name, nil
}

// drop drops database name.
func (s *server) drop(name string) error {
	ident := pgx.Identifier{name}.Sanitize()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// FORCE ends connections a test left open (PostgreSQL 13 and later).
	_, err := s.admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)")
	if err != nil {
		_, err = s.admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+ident)
	}
	if err != nil {
		return fmt.Errorf("dropping database %s: %w", name, err)
	}
	return nil
}

// withDatabase returns dsn with its database replaced by name.
func withDatabase(dsn, name string) (string, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", errors.New("the server's DSN is not a valid URL")
		}
		u.Path = "/" + name
		u.RawPath = ""
		return u.String(), nil
	}
	// key=value form: a later key overrides an earlier one.
	return dsn + " dbname=" + name, nil
}

// tail returns the last n bytes of s.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}

// Instance is a PostgreSQL server of a test's own, which the test may stop
// and start again, e.g. to see how mlopsd copes with its database going
// away. It costs an initdb (about a second), so use Start unless the test
// needs to stop the server.
type Instance struct {
	// DSN is a postgres:// URL of the server's database "postgres". It
	// stays the same across Stop and Start.
	DSN string

	s    *server
	port int
	mu   sync.Mutex
	up   bool
}

// StartInstance starts a new server of tb's own on a free loopback port and
// stops it and removes its files when tb ends. Like Start, it skips tb when
// PostgreSQL is not installed (fails it when CI is "true"). With
// MLOPS_TEST_POSTGRES_DSN set it skips tb: that server is not the test's to
// stop.
func StartInstance(tb testing.TB) *Instance {
	tb.Helper()
	if os.Getenv(EnvDSN) != "" {
		tb.Skipf("pgtest: %s names a server this test may not stop; skipping", EnvDSN)
	}
	s, err := initServer()
	if err != nil {
		reportStartError(tb, err)
		return nil
	}
	s.durable = true
	in := &Instance{s: s}
	tb.Cleanup(func() {
		if err := in.s.stop(); err != nil && in.isUp() {
			tb.Errorf("pgtest: %v", err)
		}
		_ = os.RemoveAll(in.s.dir)
	})
	for attempt := 1; ; attempt++ {
		if in.port, err = freePort(); err == nil {
			if err = in.Start(); err == nil {
				break
			}
		}
		if attempt == 3 {
			tb.Fatalf("pgtest: %v", err)
		}
	}
	in.DSN = in.s.adminDSN
	return in
}

func (in *Instance) isUp() bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.up
}

// Stop stops the server at once (pg_ctl stop -m immediate): clients'
// connections break as if the database crashed. Committed transactions
// survive: an instance runs with synchronous_commit on (fsync stays off,
// which only matters if the machine crashes).
func (in *Instance) Stop() error {
	in.mu.Lock()
	defer in.mu.Unlock()
	if err := in.s.command(in.s.pgCtl, "-D", in.s.dataDir(), "-m", "immediate", "-w", "-s", "stop"); err != nil {
		return fmt.Errorf("stopping PostgreSQL: %w", err)
	}
	in.up = false
	return nil
}

// Start starts the stopped server again, on the same port, and waits until
// it accepts connections.
func (in *Instance) Start() error {
	in.mu.Lock()
	defer in.mu.Unlock()
	if err := in.s.startOn(in.port); err != nil {
		return err
	}
	in.up = true
	return nil
}
