package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/client"
)

// auditFilters are the filter flags of the audit commands, the query
// parameters of GET /v1/audit.
type auditFilters struct {
	kind, name, actor, since, until string
	afterSeq                        int64
}

func (f *auditFilters) add(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.kind, "kind", "", "only records of this kind (e.g. model-versions)")
	fl.StringVar(&f.name, "name", "", "only records of objects with this name")
	fl.StringVar(&f.actor, "actor", "", "only writes by this actor (admin or a service account)")
	fl.StringVar(&f.since, "since", "", "only records at or after this time (RFC 3339, or a duration such as 24h for that long ago)")
	fl.StringVar(&f.until, "until", "", "only records before this time (RFC 3339 or a duration ago)")
	fl.Int64Var(&f.afterSeq, "after-seq", 0, "only records after this seq")
	_ = cmd.RegisterFlagCompletionFunc("kind", cobra.FixedCompletions(kindNames(), cobra.ShellCompDirectiveNoFileComp))
}

// query builds the API query; env is -e, empty for the whole log.
func (f *auditFilters) query(env string, now time.Time) (api.AuditQuery, error) {
	q := api.AuditQuery{Environment: env, Kind: f.kind, Name: f.name, Actor: f.actor, AfterSeq: f.afterSeq}
	if k, err := findKind(f.kind); f.kind != "" && err == nil {
		q.Kind = k.kind
	}
	var err error
	if q.Since, err = parseWhen("--since", f.since, now); err != nil {
		return q, err
	}
	if q.Until, err = parseWhen("--until", f.until, now); err != nil {
		return q, err
	}
	return q, nil
}

// filtered reports whether the query selects less than the whole log.
func filtered(q api.AuditQuery) bool {
	return q.Environment != "" || q.Kind != "" || q.Name != "" || q.Actor != "" || !q.Since.IsZero() || !q.Until.IsZero() || q.AfterSeq > 0
}

// parseWhen reads an RFC 3339 time or a duration before now.
func parseWhen(flag, v string, now time.Time) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(v); err == nil {
		return now.Add(-d), nil
	}
	return time.Time{}, usageErrorf("%s %q: use an RFC 3339 time such as 2030-01-02T15:04:05Z or a duration such as 24h", flag, v)
}

// eachAudit calls fn for every record q selects, oldest first, page after
// page.
func eachAudit(ctx context.Context, c *client.Client, q api.AuditQuery, fn func(api.AuditRecord) error) error {
	q.Limit = api.MaxPageSize
	for {
		page, err := c.QueryAudit(ctx, q)
		if err != nil {
			return err
		}
		for _, r := range page.Items {
			if err := fn(r); err != nil {
				return err
			}
		}
		if page.NextPageToken == "" {
			return nil
		}
		next, err := strconv.ParseInt(page.NextPageToken, 10, 64)
		if err != nil {
			return fmt.Errorf("mlopsd sent next_page_token %q for the audit log, not a seq", page.NextPageToken)
		}
		q.AfterSeq = next
	}
}

func (a *app) auditCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Audit log: verify, export, query",
		Long: `audit reads mlopsd's hash-chained audit log through the API. The whole log
needs an admin token; a viewer of an environment reads its records with -e.`,
		Args: argsN(),
	}
	cmd.AddCommand(a.auditVerifyCommand(), a.auditExportCommand(), a.auditQueryCommand())
	return cmd
}

func (a *app) auditVerifyCommand() *cobra.Command {
	var f auditFilters
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Check the audit log's hash chain",
		Long: `verify reads the audit log and checks its hash chain: seqs without gaps,
each record's prev_hash the hash of the one before, and each hash the
SHA-256 of its record. It exits 1 naming the first record that breaks the
chain.

Without filters it checks the whole chain (admin token). With -e or other
filters it checks what the selected records allow: each record's own hash,
and the links between records that follow each other.`,
		Example: "  mlopsctl audit verify\n  mlopsctl audit verify -e prod --since 24h",
		Args:    argsN(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			q, err := f.query(a.optionalEnv(), time.Now())
			if err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			whole := !filtered(q)
			var prev api.AuditRecord
			var n int64
			err = eachAudit(cmd.Context(), c, q, func(rec api.AuditRecord) error {
				problem := ""
				switch {
				case whole || rec.Seq == prev.Seq+1:
					problem = api.AuditLinkProblem(prev, rec)
				case rec.Hash != api.AuditHash(rec):
					problem = fmt.Sprintf("hash %q does not match the record's content (want %q): the record was changed", rec.Hash, api.AuditHash(rec))
				}
				if problem != "" {
					b, _ := json.Marshal(rec)
					fmt.Fprintf(a.io.Stdout, "audit log broken at seq %d: %s\n%s\n", rec.Seq, problem, b)
					return &noError{msg: "the audit log's hash chain is broken"}
				}
				prev, n = rec, n+1
				return nil
			})
			if err != nil {
				return err
			}
			scope := "the whole chain"
			if !whole {
				scope = "the selected records (their hashes, and links between consecutive ones)"
			}
			fmt.Fprintf(a.io.Stdout, "audit log intact: %d records checked, %s\n", n, scope)
			return nil
		},
	}
	f.add(cmd)
	return cmd
}

func (a *app) auditExportCommand() *cobra.Command {
	var f auditFilters
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Write audit records as JSON lines",
		Long: `export writes the audit records the filters select, oldest first, one JSON
object per line, as the API returns them (what mlopsd audit export writes
from the database).`,
		Example: "  mlopsctl audit export > audit.jsonl\n  mlopsctl audit export -e prod --kind model-versions --since 2030-01-01T00:00:00Z",
		Args:    argsN(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			q, err := f.query(a.optionalEnv(), time.Now())
			if err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			enc := json.NewEncoder(a.io.Stdout)
			return eachAudit(cmd.Context(), c, q, func(rec api.AuditRecord) error { return enc.Encode(rec) })
		},
	}
	f.add(cmd)
	return cmd
}

func (a *app) auditQueryCommand() *cobra.Command {
	var f auditFilters
	var newest int
	cmd := &cobra.Command{
		Use:   "query",
		Short: "Show audit records as a table",
		Long: `query shows the audit records the filters select, oldest first, or with
--newest N the newest N of them, newest first; -o json prints {"items": [...]}.`,
		Example: `  mlopsctl audit query -e prod --kind model-versions --name churn-7
  mlopsctl audit query --actor ci-deployer --since 24h
  mlopsctl audit query -e prod --newest 20`,
		Args: argsN(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			asJSON, err := a.jsonOutput()
			if err != nil {
				return err
			}
			q, err := f.query(a.optionalEnv(), time.Now())
			if err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			if newest < 0 {
				return usageErrorf("--newest is %d; use a number of records of at least 1", newest)
			}
			recs := []api.AuditRecord{}
			if newest > 0 {
				q.Newest = true
				if recs, err = c.QueryAuditRecords(cmd.Context(), q, newest); err != nil {
					return err
				}
			} else if err := eachAudit(cmd.Context(), c, q, func(rec api.AuditRecord) error { recs = append(recs, rec); return nil }); err != nil {
				return err
			}
			if asJSON {
				return printJSON(a.io.Stdout, api.AuditRecordList{Items: recs})
			}
			rows := make([][]string, 0, len(recs))
			for _, r := range recs {
				obj := r.Kind + "/" + r.Name
				if r.Environment != "" && r.Kind != api.KindEnvironment {
					obj = r.Environment + "/" + obj
				}
				rows = append(rows, []string{strconv.FormatInt(r.Seq, 10), r.Time.UTC().Format(time.RFC3339), r.Actor, r.Action, obj, strconv.FormatInt(r.Generation, 10)})
			}
			return printTable(a.io.Stdout, []string{"SEQ", "TIME", "ACTOR", "ACTION", "OBJECT", "GENERATION"}, rows)
		},
	}
	f.add(cmd)
	cmd.Flags().IntVar(&newest, "newest", 0, "only the newest N records, newest first (read backwards from the end of the log)")
	return cmd
}

// optionalEnv is -e or MLOPS_ENVIRONMENT, empty when neither is set.
func (a *app) optionalEnv() string {
	if a.environment != "" {
		return a.environment
	}
	return a.getenv("MLOPS_ENVIRONMENT")
}
