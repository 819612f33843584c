package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store/postgres"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store/sqlite"
)

const auditUsage = `usage: mlopsd audit verify [-data FILE | -database-url URL]
       mlopsd audit export [-data FILE | -database-url URL] [-after-seq N]

The audit commands open the database directly (no running mlopsd needed).
verify checks the audit log's hash chain and exits 1 naming the first
record that breaks it; export writes every record as one JSON line.`

// errAuditBroken makes mlopsd exit 1 after verify printed the break.
var errAuditBroken = errors.New("audit: the audit log's hash chain is broken")

// auditCommand is "mlopsd audit ...": checks and exports of the audit log,
// read straight from the database.
func auditCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, auditUsage)
		return errors.New("audit: name a command: verify or export")
	}
	switch args[0] {
	case "verify":
		return auditVerify(ctx, args[1:], stdout, stderr)
	case "export":
		return auditExport(ctx, args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprintln(stdout, auditUsage)
		return nil
	}
	fmt.Fprintln(stderr, auditUsage)
	return fmt.Errorf("audit: unknown command %q; use verify or export", args[0])
}

// dbFlags are the database flags of the audit commands, as mlopsd takes them.
type dbFlags struct {
	data, databaseURL *string
}

func addDBFlags(fs *flag.FlagSet) dbFlags {
	return dbFlags{
		data:        fs.String("data", envOr("MLOPSD_DATA", "./mlops.db"), "SQLite database file (env MLOPSD_DATA)"),
		databaseURL: fs.String("database-url", envOr("MLOPSD_DATABASE_URL", ""), "PostgreSQL database instead of the SQLite file (env MLOPSD_DATABASE_URL)"),
	}
}

// open opens the store the flags name. A SQLite file must exist already:
// auditing a database that is not there would silently create an empty one.
func (f dbFlags) open() (store.Store, error) {
	if *f.databaseURL != "" {
		st, err := postgres.Open(*f.databaseURL)
		if err != nil {
			return nil, fmt.Errorf("opening database %s: %w", postgres.Describe(*f.databaseURL), err)
		}
		return st, nil
	}
	if _, err := os.Stat(*f.data); err != nil {
		return nil, fmt.Errorf("-data %s: %w", *f.data, err)
	}
	st, err := sqlite.Open(*f.data)
	if err != nil {
		return nil, fmt.Errorf("opening database %s: %w", *f.data, err)
	}
	return st, nil
}

func auditVerify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("mlopsd audit verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := addDBFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	st, err := db.open()
	if err != nil {
		return err
	}
	defer st.Close()
	b, err := st.VerifyAudit(ctx)
	if err != nil {
		return err
	}
	if b == nil {
		fmt.Fprintln(stdout, "audit log intact")
		return nil
	}
	rec, _ := json.Marshal(b.Record)
	fmt.Fprintf(stdout, "audit log broken at seq %d: %s\n%s\n", b.Seq, b.Reason, rec)
	return errAuditBroken
}

func auditExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("mlopsd audit export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := addDBFlags(fs)
	after := fs.Int64("after-seq", 0, "export only records after this seq")
	if err := fs.Parse(args); err != nil {
		return err
	}
	st, err := db.open()
	if err != nil {
		return err
	}
	defer st.Close()
	enc := json.NewEncoder(stdout)
	for rec, err := range st.ExportAudit(ctx, *after) {
		if err != nil {
			return err
		}
		if err := enc.Encode(rec); err != nil {
			return err
		}
	}
	return nil
}
