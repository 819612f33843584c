package batch

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/pipeline"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/runtime"
)

// Bounds of what the scorer reads.
const (
	maxArtifactBytes = 16 << 20
	// maxLineBytes bounds one JSON line; a longer line is a failed row.
	maxLineBytes = 16 << 20
	// checkEvery is how many rows pass between looks at the context.
	checkEvery = 4096
)

// Options are what the scorer is told (the flags of mlopsd batch-score).
type Options struct {
	// ArtifactURI is the file:// URI of the mlops-linear model.json.
	ArtifactURI string
	// ArtifactSHA256, when set, must be the artifact's hex SHA-256: the
	// digest the model version was registered with.
	ArtifactSHA256 string
	// Input is the path of a file or a folder (InputFiles).
	Input string
	// Format is one of api.BatchFormats; empty means auto.
	Format string
	// Columns are the feature columns or fields, in the model's input
	// order; empty means every CSV column in file order, or the "inputs"
	// array of each JSON line.
	Columns []string
	// Output is the folder the predictions files and summary.json go to.
	Output string
	// ModelVersion names the model version in the summary.
	ModelVersion string
	// MaxFailedPercent is the share of rows, 0..100, that may fail.
	MaxFailedPercent int64
	// Log receives a line per file scored; nil discards them.
	Log io.Writer
}

// Score scores the input with the model into the output folder, one
// predictions file per input file under the input file's name, and writes
// summary.json last. Rows stream through, so memory stays flat whatever the
// input's size. Every file is written under a hidden temporary name and
// renamed into place only once all of them are complete and the failed
// rows are within MaxFailedPercent, so a predictions file in the output
// folder is always whole and of a run that succeeded.
//
// Score returns the summary and, when the run failed, an error; the
// summary's Message then says the same, and summary.json is written too
// (unless the output folder cannot be written at all). Rows that fail to
// score are left out of the predictions files and counted, and the first
// api.MaxBatchRowErrors of them are listed with their row numbers.
func Score(ctx context.Context, o Options) (*api.BatchRunSummary, error) {
	if o.Log == nil {
		o.Log = io.Discard
	}
	if err := os.MkdirAll(o.Output, 0o755); err != nil {
		return nil, fmt.Errorf("creating the output folder %s: %w", o.Output, err)
	}
	removeTemps(o.Output)
	s := &scorer{o: o, sum: &api.BatchRunSummary{ModelVersion: o.ModelVersion, Files: []api.BatchFileSummary{}}}
	err := s.run(ctx)
	if err != nil && ctx.Err() != nil {
		// SIGTERM: the run was cancelled, or its step timed out.
		err = fmt.Errorf("stopped before scoring finished (%v); no predictions were kept", ctx.Err())
	}
	if err != nil {
		s.discard()
		s.sum.Message = err.Error()
		for i := range s.sum.Files {
			s.sum.Files[i].Output = ""
		}
	}
	if werr := writeSummary(o.Output, s.sum); werr != nil {
		return s.sum, errors.Join(err, werr)
	}
	return s.sum, err
}

// scorer is one Score call.
type scorer struct {
	o     Options
	model *runtime.LinearModel
	sum   *api.BatchRunSummary
	// done are the predictions files written so far, under their
	// temporary names.
	done []tempFile
	rows int64
}

type tempFile struct{ tmp, final string }

func (s *scorer) run(ctx context.Context) error {
	m, err := loadModel(s.o.ArtifactURI, s.o.ArtifactSHA256, s.o.ModelVersion)
	if err != nil {
		return err
	}
	s.model = m
	if n := len(s.o.Columns); n > 0 && n != len(m.Weights) {
		return fmt.Errorf("feature_columns names %d column(s) but model version %q takes %d input(s); name the model's inputs, in its order", n, s.o.ModelVersion, len(m.Weights))
	}
	files, folder, err := InputFiles(s.o.Input, s.o.Format)
	if err != nil {
		return fmt.Errorf("reading the input: %w", err)
	}
	if len(files) == 0 {
		return fmt.Errorf("the input folder %s holds no files to score (.csv, .jsonl or .ndjson, not hidden)", s.o.Input)
	}
	sums := make([]FileSum, 0, len(files))
	for _, f := range files {
		fs, err := s.scoreFile(ctx, f)
		if err != nil {
			return err
		}
		s.sum.Files = append(s.sum.Files, fs)
		s.sum.RowsTotal += fs.Rows
		s.sum.RowsFailed += fs.Failed
		sums = append(sums, FileSum{Name: f.Name, SHA256: fs.InputSHA256})
		fmt.Fprintf(s.o.Log, "scored %s: %d row(s), %d failed\n", f.Path, fs.Rows, fs.Failed)
	}
	s.sum.RowsScored = s.sum.RowsTotal - s.sum.RowsFailed
	s.sum.InputSHA256 = Digest(folder, sums)
	if total, failed := s.sum.RowsTotal, s.sum.RowsFailed; failed*100 > s.o.MaxFailedPercent*total {
		return fmt.Errorf("%d of %d row(s) (%s%%) failed to score, more than max_failed_rows_percent (%d%%); summary.json lists the first failed rows",
			failed, total, strconv.FormatFloat(float64(failed)*100/float64(total), 'f', 1, 64), s.o.MaxFailedPercent)
	}
	for _, t := range s.done {
		if err := os.Rename(t.tmp, t.final); err != nil {
			return fmt.Errorf("moving a predictions file into place: %w", err)
		}
	}
	s.done = nil
	syncDir(s.o.Output)
	return nil
}

// discard removes the temporary files of a run that failed.
func (s *scorer) discard() {
	for _, t := range s.done {
		_ = os.Remove(t.tmp)
	}
	s.done = nil
}

// rowError records a failed row, keeping the first api.MaxBatchRowErrors.
func (s *scorer) rowError(file string, row int64, msg string) {
	if len(s.sum.Errors) < api.MaxBatchRowErrors {
		s.sum.Errors = append(s.sum.Errors, api.BatchRowError{File: file, Row: row, Message: msg})
	}
}

// tick counts a row and looks at the context now and then.
func (s *scorer) tick(ctx context.Context) error {
	s.rows++
	if s.rows%checkEvery == 0 {
		return ctx.Err()
	}
	return nil
}

// scoreFile scores one input file into a temporary file.
func (s *scorer) scoreFile(ctx context.Context, f InputFile) (api.BatchFileSummary, error) {
	fs := api.BatchFileSummary{Input: FileURI(f.Path), Output: FileURI(filepath.Join(s.o.Output, f.Name))}
	in, err := os.Open(f.Path)
	if err != nil {
		return fs, fmt.Errorf("reading the input: %w", err)
	}
	defer in.Close()
	h := sha256.New()
	r := io.TeeReader(in, h)
	out, err := createTemp(s.o.Output, f.Name)
	if err != nil {
		return fs, fmt.Errorf("creating a predictions file: %w", err)
	}
	s.done = append(s.done, tempFile{tmp: out.Name(), final: filepath.Join(s.o.Output, f.Name)})
	w := bufio.NewWriterSize(out, 64<<10)
	if f.Format == api.BatchFormatCSV {
		err = s.scoreCSV(ctx, f.Name, r, w, &fs)
	} else {
		err = s.scoreJSONL(ctx, f.Name, r, w, &fs)
	}
	if err == nil {
		err = finishHash(r, h, &fs)
	}
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return fs, err
}

// finishHash reads what the parser left of the input, so the digest covers
// the whole file, and records it.
func finishHash(r io.Reader, h hash.Hash, fs *api.BatchFileSummary) error {
	if _, err := io.Copy(io.Discard, r); err != nil {
		return fmt.Errorf("reading the input: %w", err)
	}
	fs.InputSHA256 = hex.EncodeToString(h.Sum(nil))
	return nil
}

// scoreCSV scores a CSV file with a header row. The output has the input's
// columns and a prediction column, which replaces one of that name.
func (s *scorer) scoreCSV(ctx context.Context, name string, r io.Reader, w io.Writer, fs *api.BatchFileSummary) error {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	head, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("%s is empty; a CSV input starts with a header row naming its columns", name)
	}
	if err != nil {
		return fmt.Errorf("%s: reading the header row: %w", name, err)
	}
	header := append([]string(nil), head...)
	header[0] = strings.TrimPrefix(header[0], "\ufeff")
	index := map[string]int{}
	twice := map[string]bool{}
	for i, c := range header {
		if _, dup := index[c]; dup {
			twice[c] = true
			continue
		}
		index[c] = i
	}
	var cols []int
	if len(s.o.Columns) == 0 {
		for i := range header {
			if header[i] != PredictionField {
				cols = append(cols, i)
			}
		}
	} else {
		for _, c := range s.o.Columns {
			i, ok := index[c]
			switch {
			case !ok:
				return fmt.Errorf("%s has no column %q; its columns are %q; fix feature_columns or the file", name, c, header)
			case twice[c]:
				return fmt.Errorf("%s has two columns named %q; rename one of them", name, c)
			}
			cols = append(cols, i)
		}
	}
	if len(cols) != len(s.model.Weights) {
		return fmt.Errorf("%s has %d feature column(s) %q but model version %q takes %d input(s); set feature_columns to the model's inputs, in its order",
			name, len(cols), pick(header, cols), s.o.ModelVersion, len(s.model.Weights))
	}
	predAt, hasPred := index[PredictionField]
	outHeader := header
	if !hasPred {
		predAt = len(header)
		outHeader = append(append([]string(nil), header...), PredictionField)
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(outHeader); err != nil {
		return err
	}
	inputs := make([]float64, len(cols))
	outRec := make([]string, len(outHeader))
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		var perr *csv.ParseError
		if err != nil && !errors.As(err, &perr) {
			return fmt.Errorf("%s: %w", name, err)
		}
		fs.Rows++
		if terr := s.tick(ctx); terr != nil {
			return terr
		}
		fail := func(msg string) {
			fs.Failed++
			s.rowError(name, fs.Rows, msg)
		}
		switch {
		case perr != nil:
			fail("not a CSV record: " + perr.Err.Error())
			continue
		case len(rec) != len(header):
			fail(fmt.Sprintf("has %d field(s); the header has %d", len(rec), len(header)))
			continue
		}
		bad := ""
		for k, i := range cols {
			v, perr := parseNumber(rec[i])
			if perr != "" {
				bad = fmt.Sprintf("column %q: %s", header[i], perr)
				break
			}
			inputs[k] = v
		}
		if bad != "" {
			fail(bad)
			continue
		}
		y, err := s.model.Predict(inputs)
		if err != nil {
			fail(err.Error())
			continue
		}
		copy(outRec, rec)
		outRec[predAt] = formatPrediction(y)
		if err := cw.Write(outRec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// scoreJSONL scores one JSON object per line. The output is each object
// with a prediction field (replacing one of that name), keys in sorted
// order; blank lines are skipped, and rows are numbered by line.
func (s *scorer) scoreJSONL(ctx context.Context, name string, r io.Reader, w io.Writer, fs *api.BatchFileSummary) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var buf []byte
	var lineNo int64
	for {
		line, tooLong, rerr := readLine(br, buf[:0])
		buf = line
		atEOF := errors.Is(rerr, io.EOF)
		if rerr != nil && !atEOF {
			return fmt.Errorf("%s: %w", name, rerr)
		}
		if len(line) == 0 && atEOF {
			return nil
		}
		lineNo++
		if trimmed := bytes.TrimSpace(line); len(trimmed) > 0 || tooLong {
			fs.Rows++
			if terr := s.tick(ctx); terr != nil {
				return terr
			}
			out, msg := s.scoreObject(trimmed, tooLong)
			if msg != "" {
				fs.Failed++
				s.rowError(name, lineNo, msg)
			} else if _, err := w.Write(append(out, '\n')); err != nil {
				return err
			}
		}
		if atEOF {
			return nil
		}
	}
}

// scoreObject scores one JSON line and returns the output line, or why
// the row failed.
func (s *scorer) scoreObject(line []byte, tooLong bool) ([]byte, string) {
	if tooLong {
		return nil, fmt.Sprintf("the line is longer than %d bytes", maxLineBytes)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(line, &obj); err != nil || obj == nil {
		return nil, "not a JSON object"
	}
	var inputs []float64
	if len(s.o.Columns) == 0 {
		raw, ok := obj["inputs"]
		if !ok {
			return nil, `has no "inputs" array; give each line {"inputs": [numbers]}, or set feature_columns to the fields that hold the inputs`
		}
		// Pointers tell a null element, which would read as 0, from a 0.
		var values []*float64
		if err := json.Unmarshal(raw, &values); err != nil || values == nil {
			return nil, `"inputs" is not an array of numbers`
		}
		for i, v := range values {
			if v == nil {
				return nil, fmt.Sprintf(`"inputs"[%d] is null, not a number`, i)
			}
			inputs = append(inputs, *v)
		}
	} else {
		inputs = make([]float64, len(s.o.Columns))
		for k, c := range s.o.Columns {
			raw, ok := obj[c]
			if !ok {
				return nil, fmt.Sprintf("has no field %q", c)
			}
			var v float64
			if err := json.Unmarshal(raw, &v); err != nil || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
				return nil, fmt.Sprintf("field %q is %s, not a number", c, clip(string(raw)))
			}
			inputs[k] = v
		}
	}
	y, err := s.model.Predict(inputs)
	if err != nil {
		return nil, err.Error()
	}
	obj[PredictionField] = json.RawMessage(formatPrediction(y))
	out, err := json.Marshal(obj)
	if err != nil {
		return nil, err.Error()
	}
	return out, ""
}

// readLine reads one line into buf (without its newline), keeping at most
// maxLineBytes; tooLong says more was cut off. At the end of the input err
// is io.EOF, with the last line's bytes if it had no newline.
func readLine(br *bufio.Reader, buf []byte) (line []byte, tooLong bool, err error) {
	for {
		chunk, err := br.ReadSlice('\n')
		if len(buf)+len(chunk) <= maxLineBytes {
			buf = append(buf, chunk...)
		} else {
			tooLong = true
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		return bytes.TrimSuffix(buf, []byte("\n")), tooLong, err
	}
}

// parseNumber reads a CSV value as an input, or says why it is not one.
func parseNumber(s string) (float64, string) {
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return 0, fmt.Sprintf("%s is not a number", clip(strconv.Quote(s)))
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Sprintf("%s is not a finite number", clip(strconv.Quote(s)))
	}
	return v, ""
}

// formatPrediction writes a prediction as encoding/json writes a float64:
// the shortest form that reads back as exactly the same number.
func formatPrediction(y float64) string {
	b, err := json.Marshal(y)
	if err != nil {
		// Predict never returns a number JSON cannot hold.
		return strconv.FormatFloat(y, 'g', -1, 64)
	}
	return string(b)
}

// clip shortens a quoted value for an error message.
func clip(s string) string {
	if len(s) > 64 {
		return s[:61] + "..."
	}
	return s
}

func pick(header []string, cols []int) []string {
	out := make([]string, len(cols))
	for k, i := range cols {
		out[k] = header[i]
	}
	return out
}

// loadModel reads the artifact once, checks its digest against the one the
// model version was registered with, and parses those same bytes with the
// built-in model runtime, so what is scored is what was checked.
func loadModel(uri, wantSHA256, version string) (*runtime.LinearModel, error) {
	path, err := pipeline.FilePath(uri)
	if err != nil {
		return nil, fmt.Errorf("artifact of model version %q: %w", version, err)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening the artifact of model version %q: %w", version, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxArtifactBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading the artifact of model version %q: %w", version, err)
	}
	if len(b) > maxArtifactBytes {
		return nil, fmt.Errorf("the artifact %s of model version %q is larger than %d bytes", path, version, maxArtifactBytes)
	}
	sum := sha256.Sum256(b)
	if got := hex.EncodeToString(sum[:]); wantSHA256 != "" && got != wantSHA256 {
		return nil, fmt.Errorf("the artifact %s of model version %q has SHA-256 %s, but the version was registered with %s: the file changed after registration; restore it, or register the new file as a new model version",
			path, version, got, wantSHA256)
	}
	m, err := runtime.ParseLinearModel(b)
	if err != nil {
		return nil, fmt.Errorf("the artifact %s of model version %q: %w", path, version, err)
	}
	return m, nil
}

// writeSummary writes summary.json through a temporary name.
func writeSummary(dir string, sum *api.BatchRunSummary) error {
	b, err := json.MarshalIndent(sum, "", "  ")
	if err != nil {
		return err
	}
	f, err := createTemp(dir, SummaryFile)
	if err != nil {
		return fmt.Errorf("writing %s: %w", SummaryFile, err)
	}
	_, err = f.Write(append(b, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), filepath.Join(dir, SummaryFile))
	}
	if err != nil {
		_ = os.Remove(f.Name())
		return fmt.Errorf("writing %s: %w", SummaryFile, err)
	}
	syncDir(dir)
	return nil
}

// createTemp creates the hidden temporary file that becomes dir/name,
// readable by all as the files of a run's output are meant to be read.
func createTemp(dir, name string) (*os.File, error) {
	f, err := os.CreateTemp(dir, tempPrefix+name+"-*")
	if err != nil {
		return nil, err
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		_ = os.Remove(f.Name())
		return nil, err
	}
	return f, nil
}

// ReadSummary reads the summary.json of a run's output folder.
func ReadSummary(dir string) (*api.BatchRunSummary, error) {
	b, err := os.ReadFile(filepath.Join(dir, SummaryFile))
	if err != nil {
		return nil, err
	}
	var sum api.BatchRunSummary
	if err := json.Unmarshal(b, &sum); err != nil {
		return nil, fmt.Errorf("%s in %s is not a run summary: %w", SummaryFile, dir, err)
	}
	return &sum, nil
}

// removeTemps removes what an attempt that was killed left half-written.
func removeTemps(dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), tempPrefix) {
			_ = os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

// syncDir makes renames in dir durable, where the system allows.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}
