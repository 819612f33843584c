package sqlstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store"
)

// metricColumns are the columns of metric_points in the order scanMetric
// reads them.
const metricColumns = `environment, series, endpoint, variant, model_version, time_unix,
	observations, failures, value_sum, value_min, value_max, samples, inputs`

// AppendMetrics implements store.Store. The points go in one transaction
// begun like a lease transaction: on PostgreSQL without the write lock, so
// the gateway's flushes never wait for the API's writes, nor they for it.
func (s *Store) AppendMetrics(ctx context.Context, points []store.MetricPoint) error {
	if len(points) == 0 {
		return nil
	}
	for i := range points {
		if err := checkMetricPoint(&points[i]); err != nil {
			return err
		}
	}
	_, err := leaseTx(ctx, s, func(tx *tx) (struct{}, error) {
		return struct{}{}, insertMetricPoints(ctx, tx, points)
	})
	return err
}

// AppendMetricsOnce implements store.Store. With a key the points go in a
// write transaction, whose lock keeps a concurrent retry with the same key
// from inserting them a second time (the key lookup relies on it, as for
// object writes); without one it is AppendMetrics.
func (s *Store) AppendMetricsOnce(ctx context.Context, points []store.MetricPoint, opts store.MetricWriteOptions) (bool, error) {
	if opts.IdempotencyKey == "" {
		return false, s.AppendMetrics(ctx, points)
	}
	for i := range points {
		if err := checkMetricPoint(&points[i]); err != nil {
			return false, err
		}
	}
	wopts := store.WriteOptions{IdempotencyKey: opts.IdempotencyKey, Fingerprint: opts.Fingerprint}
	return writeTx(ctx, s, func(tx *tx) (bool, error) {
		prior, err := findIdempotentResult(ctx, tx, wopts)
		if err != nil {
			return false, err
		}
		if prior != nil {
			return true, nil
		}
		if err := insertMetricPoints(ctx, tx, points); err != nil {
			return false, err
		}
		// The points are no object: the key's result holds none.
		return false, recordIdempotencyKey(ctx, tx, wopts, &store.Result{})
	})
}

func insertMetricPoints(ctx context.Context, tx *tx, points []store.MetricPoint) error {
	for _, p := range points {
		samples, inputs, err := encodeMetricSamples(p)
		if err != nil {
			return err
		}
		if _, err := tx.exec(ctx, `INSERT INTO metric_points (`+metricColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			p.Environment, p.Series, p.Endpoint, p.Variant, p.ModelVersion, p.Time.Unix(),
			p.Count, p.Errors, p.Sum, p.Min, p.Max, samples, inputs); err != nil {
			return tx.errorf("insert metric point: %w", err)
		}
	}
	return nil
}

// checkMetricPoint refuses points no reader could make sense of; they are
// faults of the caller inside mlopsd, not user input.
func checkMetricPoint(p *store.MetricPoint) error {
	switch {
	case p.Environment == "" || p.Series == "":
		return errors.New("append metrics: a point needs an environment and a series")
	case p.Count < 0 || p.Errors < 0 || p.Errors > p.Count:
		return fmt.Errorf("append metrics: point of %s/%s has count %d and errors %d", p.Environment, p.Series, p.Count, p.Errors)
	case len(p.Samples) > api.MaxMetricSamples || len(p.Inputs) > api.MaxMetricSamples:
		return fmt.Errorf("append metrics: point of %s/%s keeps more than %d samples", p.Environment, p.Series, api.MaxMetricSamples)
	}
	for _, v := range append([]float64{p.Sum, p.Min, p.Max}, p.Samples...) {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("append metrics: point of %s/%s holds a value that is not finite", p.Environment, p.Series)
		}
	}
	return nil
}

func encodeMetricSamples(p store.MetricPoint) (samples, inputs string, err error) {
	if len(p.Samples) > 0 {
		b, err := json.Marshal(p.Samples)
		if err != nil {
			return "", "", err
		}
		samples = string(b)
	}
	if len(p.Inputs) > 0 {
		b, err := json.Marshal(p.Inputs)
		if err != nil {
			// An input vector with a NaN or an infinity.
			return "", "", fmt.Errorf("append metrics: inputs of %s/%s: %w", p.Environment, p.Series, err)
		}
		inputs = string(b)
	}
	return samples, inputs, nil
}

// QueryMetrics implements store.Store.
func (s *Store) QueryMetrics(ctx context.Context, q store.MetricQuery) ([]store.MetricPoint, error) {
	if q.Environment == "" || q.Series == "" || q.From.IsZero() || q.To.IsZero() {
		return nil, errors.New(s.cfg.Name + ": query metrics: environment, series, from and to are required")
	}
	query := `SELECT ` + metricColumns + ` FROM metric_points
		WHERE environment = ? AND series = ? AND time_unix >= ? AND time_unix < ?`
	args := []any{q.Environment, q.Series, q.From.Unix(), ceilUnix(q.To)}
	for _, dim := range []struct{ column, value string }{
		{"endpoint", q.Endpoint}, {"variant", q.Variant}, {"model_version", q.ModelVersion},
	} {
		if dim.value != "" {
			query += ` AND ` + dim.column + ` = ?`
			args = append(args, dim.value)
		}
	}
	query += ` ORDER BY time_unix`
	return inTx(ctx, s.beginRead, func(tx *tx) ([]store.MetricPoint, error) {
		rows, err := tx.query(ctx, query, args...)
		if err != nil {
			return nil, tx.errorf("query metrics: %w", err)
		}
		defer rows.Close()
		var out []store.MetricPoint
		for rows.Next() {
			p, err := scanMetric(rows)
			if err != nil {
				return nil, tx.errorf("query metrics: %w", err)
			}
			out = append(out, p)
		}
		if err := rows.Err(); err != nil {
			return nil, tx.errorf("query metrics: %w", err)
		}
		return out, nil
	})
}

// ceilUnix is the first whole second at or after t, so that To stays
// exclusive for a To between two seconds.
func ceilUnix(t time.Time) int64 {
	if t.Equal(t.Truncate(time.Second)) {
		return t.Unix()
	}
	return t.Unix() + 1
}

func scanMetric(row scanner) (store.MetricPoint, error) {
	var p store.MetricPoint
	var unix int64
	var samples, inputs string
	if err := row.Scan(&p.Environment, &p.Series, &p.Endpoint, &p.Variant, &p.ModelVersion, &unix,
		&p.Count, &p.Errors, &p.Sum, &p.Min, &p.Max, &samples, &inputs); err != nil {
		return p, err
	}
	p.Time = time.Unix(unix, 0).UTC()
	if samples != "" {
		if err := json.Unmarshal([]byte(samples), &p.Samples); err != nil {
			return p, fmt.Errorf("samples of a point of %s/%s: %w", p.Environment, p.Series, err)
		}
	}
	if inputs != "" {
		if err := json.Unmarshal([]byte(inputs), &p.Inputs); err != nil {
			return p, fmt.Errorf("inputs of a point of %s/%s: %w", p.Environment, p.Series, err)
		}
	}
	return p, nil
}

// PruneMetrics implements store.Store.
func (s *Store) PruneMetrics(ctx context.Context, before time.Time) (int64, error) {
	return leaseTx(ctx, s, func(tx *tx) (int64, error) {
		res, err := tx.exec(ctx, `DELETE FROM metric_points WHERE time_unix < ?`, before.Unix())
		if err != nil {
			return 0, tx.errorf("prune metrics: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return 0, tx.errorf("prune metrics: %w", err)
		}
		return n, nil
	})
}
