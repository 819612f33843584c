package batch_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/batch"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/runtime"
)

// writeFile writes content to dir/name and returns the path.
func writeFile(t testing.TB, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func sha(content string) string {
	s := sha256.Sum256([]byte(content))
	return hex.EncodeToString(s[:])
}

// model is y = 0.5 + 2a - 3b, as an artifact file and its digest.
const modelJSON = `{"weights": [2, -3], "bias": 0.5}`

func artifact(t *testing.T) (uri, digest string) {
	t.Helper()
	p := writeFile(t, t.TempDir(), "model.json", modelJSON)
	return batch.FileURI(p), sha(modelJSON)
}

func predict(t *testing.T, inputs ...float64) float64 {
	t.Helper()
	m, err := runtime.ParseLinearModel([]byte(modelJSON))
	if err != nil {
		t.Fatal(err)
	}
	y, err := m.Predict(inputs)
	if err != nil {
		t.Fatal(err)
	}
	return y
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

func options(t *testing.T, input string) batch.Options {
	t.Helper()
	uri, digest := artifact(t)
	return batch.Options{ArtifactURI: uri, ArtifactSHA256: digest, Input: input, Output: filepath.Join(t.TempDir(), "out", "job-1"), ModelVersion: "v1"}
}

// listNames lists the files of dir, hidden ones included.
func listNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestScore_CSV(t *testing.T) {
	const data = "id,b,a,note\n1,2,3,x\n2,-1.5,0.25,\"y, z\"\n3,1e3,0,w\n"
	in := writeFile(t, t.TempDir(), "houses.csv", data)
	o := options(t, in)
	o.Columns = []string{"a", "b"}
	sum, err := batch.Score(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	if sum.RowsTotal != 3 || sum.RowsScored != 3 || sum.RowsFailed != 0 || sum.ModelVersion != "v1" || sum.Message != "" || len(sum.Errors) != 0 {
		t.Errorf("summary %+v", sum)
	}
	if sum.InputSHA256 != sha(data) || len(sum.Files) != 1 || sum.Files[0].InputSHA256 != sha(data) || sum.Files[0].Rows != 3 {
		t.Errorf("digests %+v, want the file's %s", sum, sha(data))
	}
	if sum.Files[0].Input != batch.FileURI(in) || sum.Files[0].Output != batch.FileURI(filepath.Join(o.Output, "houses.csv")) {
		t.Errorf("files %+v", sum.Files)
	}
	got := readCSV(t, filepath.Join(o.Output, "houses.csv"))
	want := [][]string{
		{"id", "b", "a", "note", "prediction"},
		{"1", "2", "3", "x", ""},
		{"2", "-1.5", "0.25", "y, z", ""},
		{"3", "1e3", "0", "w", ""},
	}
	for i, in := range [][2]float64{{3, 2}, {0.25, -1.5}, {0, 1000}} {
		want[i+1][4] = strconv.FormatFloat(predict(t, in[0], in[1]), 'f', -1, 64)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("predictions\n got %q\nwant %q", got, want)
	}
	// The prediction reads back as exactly the model's number.
	if y, _ := strconv.ParseFloat(got[2][4], 64); y != predict(t, 0.25, -1.5) {
		t.Errorf("prediction %s does not read back exactly", got[2][4])
	}
	stored, err := batch.ReadSummary(o.Output)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(stored)
	b, _ := json.Marshal(sum)
	if !bytes.Equal(a, b) {
		t.Errorf("summary.json\n%s\nwant\n%s", a, b)
	}
	if names := listNames(t, o.Output); strings.Join(names, " ") != "houses.csv summary.json" {
		t.Errorf("output folder holds %q", names)
	}
	for _, name := range []string{"houses.csv", "summary.json"} {
		if info, err := os.Stat(filepath.Join(o.Output, name)); err != nil || info.Mode().Perm() != 0o644 {
			t.Errorf("%s: %v, %v; want mode 0644", name, info.Mode(), err)
		}
	}
}

func TestScore_CSVDefaultColumnsAndPredictionColumn(t *testing.T) {
	// Without feature_columns every column is an input, in file order;
	// an existing prediction column is no input and gets replaced.
	in := writeFile(t, t.TempDir(), "in.csv", "\ufeffa,prediction,b\n1,old,1\n")
	o := options(t, in)
	if _, err := batch.Score(t.Context(), o); err != nil {
		t.Fatal(err)
	}
	got := readCSV(t, filepath.Join(o.Output, "in.csv"))
	y := strconv.FormatFloat(predict(t, 1, 1), 'f', -1, 64)
	if fmt.Sprint(got) != fmt.Sprint([][]string{{"a", "prediction", "b"}, {"1", y, "1"}}) {
		t.Errorf("predictions %q", got)
	}
}

func TestScore_JSONL(t *testing.T) {
	const data = "{\"inputs\": [1, 2], \"id\": \"a\"}\n\n{\"inputs\": [0.5, 0], \"id\": \"b\", \"prediction\": 7}\n{\"inputs\": [3, 1]}"
	in := writeFile(t, t.TempDir(), "rows.jsonl", data)
	o := options(t, in)
	sum, err := batch.Score(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	if sum.RowsTotal != 3 || sum.RowsFailed != 0 || sum.InputSHA256 != sha(data) {
		t.Errorf("summary %+v", sum)
	}
	b, err := os.ReadFile(filepath.Join(o.Output, "rows.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("output %q", b)
	}
	for i, want := range [][2]float64{{1, 2}, {0.5, 0}, {3, 1}} {
		var obj struct {
			Inputs     []float64 `json:"inputs"`
			Prediction float64   `json:"prediction"`
		}
		if err := json.Unmarshal([]byte(lines[i]), &obj); err != nil {
			t.Fatal(err)
		}
		if obj.Prediction != predict(t, want[0], want[1]) || obj.Inputs[0] != want[0] {
			t.Errorf("line %d: %s", i+1, lines[i])
		}
	}
	if !strings.Contains(lines[0], `"id":"a"`) {
		t.Errorf("line 1 lost its other fields: %s", lines[0])
	}
}

func TestScore_JSONLFeatureFields(t *testing.T) {
	in := writeFile(t, t.TempDir(), "rows.ndjson", `{"x": 1, "y": 2}`+"\n")
	o := options(t, in)
	o.Columns = []string{"y", "x"}
	if _, err := batch.Score(t.Context(), o); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(o.Output, "rows.ndjson"))
	var obj map[string]float64
	if err := json.Unmarshal(b, &obj); err != nil || obj["prediction"] != predict(t, 2, 1) {
		t.Errorf("output %s (%v)", b, err)
	}
}

// TestScore_BadRows scores rows that fail in every way a row can: they
// are counted, left out of the output and listed with their row numbers.
func TestScore_BadRows(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "a.csv", "a,b\n1,2\nx,2\n3\n4,5\n1,NaN\n")
	writeFile(t, dir, "b.jsonl", "{\"inputs\": [1, 2]}\nnot json\n{\"inputs\": [1]}\n{\"inputs\": [1, null]}\n{\"other\": 1}\n")
	writeFile(t, dir, ".hidden.csv", "a,b\nbroken")
	writeFile(t, dir, "notes.txt", "not an input")
	if err := os.Mkdir(filepath.Join(dir, "sub.csv"), 0o755); err != nil {
		t.Fatal(err)
	}
	o := options(t, dir)
	o.MaxFailedPercent = 70
	sum, err := batch.Score(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	if sum.RowsTotal != 10 || sum.RowsFailed != 7 || sum.RowsScored != 3 {
		t.Errorf("counts %d total, %d failed, %d scored; want 10, 7, 3", sum.RowsTotal, sum.RowsFailed, sum.RowsScored)
	}
	type rowErr struct {
		file string
		row  int64
		word string
	}
	want := []rowErr{
		{"a.csv", 2, `column "a": "x" is not a number`},
		{"a.csv", 3, "has 1 field(s); the header has 2"},
		{"a.csv", 5, "not a finite number"},
		{"b.jsonl", 2, "not a JSON object"},
		{"b.jsonl", 3, "takes 2 inputs, got 1"},
		{"b.jsonl", 4, `"inputs"[1] is null`},
		{"b.jsonl", 5, `has no "inputs" array`},
	}
	if len(sum.Errors) != len(want) {
		t.Fatalf("errors %+v", sum.Errors)
	}
	for i, w := range want {
		e := sum.Errors[i]
		if e.File != w.file || e.Row != w.row || !strings.Contains(e.Message, w.word) {
			t.Errorf("error %d = %+v, want %s row %d: %s", i, e, w.file, w.row, w.word)
		}
	}
	// The folder's digest is what sha256sum prints for its scored files.
	a, _ := os.ReadFile(filepath.Join(dir, "a.csv"))
	b, _ := os.ReadFile(filepath.Join(dir, "b.jsonl"))
	list := sha(string(a)) + "  a.csv\n" + sha(string(b)) + "  b.jsonl\n"
	if sum.InputSHA256 != sha(list) {
		t.Errorf("input digest %s, want %s", sum.InputSHA256, sha(list))
	}
	if got := readCSV(t, filepath.Join(o.Output, "a.csv")); len(got) != 3 {
		t.Errorf("a.csv predictions %q, want the header and the 2 scored rows", got)
	}
	if names := listNames(t, o.Output); strings.Join(names, " ") != "a.csv b.jsonl summary.json" {
		t.Errorf("output folder holds %q", names)
	}
}

// TestScore_TooManyFailedRows fails the run, writes the summary with the
// counts and why, and leaves no predictions file that could pass for a
// result.
func TestScore_TooManyFailedRows(t *testing.T) {
	in := writeFile(t, t.TempDir(), "in.csv", "a,b\n1,2\nx,1\n3,4\n")
	o := options(t, in)
	o.MaxFailedPercent = 33
	sum, err := batch.Score(t.Context(), o)
	if err == nil || !strings.Contains(err.Error(), "1 of 3 row(s) (33.3%) failed to score, more than max_failed_rows_percent (33%)") {
		t.Fatalf("error %v", err)
	}
	stored, rerr := batch.ReadSummary(o.Output)
	if rerr != nil {
		t.Fatal(rerr)
	}
	if stored.Message != err.Error() || stored.RowsFailed != 1 || stored.RowsTotal != 3 || len(stored.Errors) != 1 || stored.Errors[0].Row != 2 {
		t.Errorf("summary %+v", stored)
	}
	if stored.Files[0].Output != "" || sum.Files[0].Output != "" {
		t.Errorf("a failed run lists predictions files: %+v", stored.Files)
	}
	if names := listNames(t, o.Output); strings.Join(names, " ") != "summary.json" {
		t.Errorf("output folder holds %q, want only summary.json", names)
	}
	// At 34% the same rows pass.
	o.MaxFailedPercent = 34
	if _, err := batch.Score(t.Context(), o); err != nil {
		t.Fatal(err)
	}
}

func TestScore_RowErrorsAreBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString("a,b\n")
	for range 100 {
		b.WriteString("x,y\n")
	}
	o := options(t, writeFile(t, t.TempDir(), "in.csv", b.String()))
	o.MaxFailedPercent = 100
	sum, err := batch.Score(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	if sum.RowsFailed != 100 || len(sum.Errors) != api.MaxBatchRowErrors || sum.Errors[19].Row != 20 {
		t.Errorf("%d failed, %d errors listed", sum.RowsFailed, len(sum.Errors))
	}
}

func TestScore_FileErrors(t *testing.T) {
	for _, tc := range []struct {
		name, file, content string
		columns             []string
		want                string
	}{
		{"Empty", "in.csv", "", nil, "in.csv is empty"},
		{"MissingColumn", "in.csv", "a,c\n1,2\n", []string{"a", "b"}, `in.csv has no column "b"`},
		{"DuplicateColumn", "in.csv", "a,a,b\n1,2,3\n", []string{"a", "b"}, `two columns named "a"`},
		{"WrongColumnCount", "in.csv", "a,b,c\n1,2,3\n", nil, `has 3 feature column(s) ["a" "b" "c"] but model version "v1" takes 2 input(s)`},
		{"ColumnsVsModel", "in.jsonl", "{}\n", []string{"a"}, `feature_columns names 1 column(s) but model version "v1" takes 2 input(s)`},
		{"UnknownExtension", "in.txt", "a,b\n", nil, "cannot tell the format"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := options(t, writeFile(t, t.TempDir(), tc.file, tc.content))
			o.Columns = tc.columns
			_, err := batch.Score(t.Context(), o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
			if sum, rerr := batch.ReadSummary(o.Output); rerr != nil || sum.Message != err.Error() {
				t.Errorf("summary %+v (%v)", sum, rerr)
			}
		})
	}
	t.Run("EmptyFolder", func(t *testing.T) {
		o := options(t, t.TempDir())
		if _, err := batch.Score(t.Context(), o); err == nil || !strings.Contains(err.Error(), "holds no files to score") {
			t.Errorf("error %v", err)
		}
	})
	t.Run("ExplicitFormat", func(t *testing.T) {
		// With input_format csv a folder's .jsonl files are not inputs,
		// and a single file of any name is read as CSV.
		dir := t.TempDir()
		writeFile(t, dir, "a.jsonl", "{}\n")
		o := options(t, dir)
		o.Format = api.BatchFormatCSV
		if _, err := batch.Score(t.Context(), o); err == nil || !strings.Contains(err.Error(), "holds no files to score") {
			t.Errorf("error %v", err)
		}
		o = options(t, writeFile(t, t.TempDir(), "export.txt", "a,b\n1,1\n"))
		o.Format = api.BatchFormatCSV
		if sum, err := batch.Score(t.Context(), o); err != nil || sum.RowsScored != 1 {
			t.Errorf("%+v, %v", sum, err)
		}
	})
}

// TestScore_ChangedArtifact refuses to score with an artifact whose digest
// is not the one the model version was registered with.
func TestScore_ChangedArtifact(t *testing.T) {
	o := options(t, writeFile(t, t.TempDir(), "in.csv", "a,b\n1,2\n"))
	path := strings.TrimPrefix(o.ArtifactURI, "file://")
	if err := os.WriteFile(path, []byte(`{"weights": [2, -3], "bias": 9}`), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := batch.Score(t.Context(), o)
	if err == nil || !strings.Contains(err.Error(), "the file changed after registration") || !strings.Contains(err.Error(), o.ArtifactSHA256) {
		t.Fatalf("error %v", err)
	}
	if names := listNames(t, o.Output); strings.Join(names, " ") != "summary.json" {
		t.Errorf("output folder holds %q", names)
	}
}

func TestScore_Cancelled(t *testing.T) {
	var b strings.Builder
	b.WriteString("a,b\n")
	for i := range 10000 {
		fmt.Fprintf(&b, "%d,1\n", i)
	}
	o := options(t, writeFile(t, t.TempDir(), "in.csv", b.String()))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := batch.Score(ctx, o); err == nil || !strings.Contains(err.Error(), "stopped before scoring finished") {
		t.Fatalf("cancelled score: %v", err)
	}
	if names := listNames(t, o.Output); strings.Join(names, " ") != "summary.json" {
		t.Errorf("output folder holds %q", names)
	}
}

// TestScore_RemovesStaleTemporaryFiles cleans what a killed attempt left.
func TestScore_RemovesStaleTemporaryFiles(t *testing.T) {
	o := options(t, writeFile(t, t.TempDir(), "in.csv", "a,b\n1,2\n"))
	if err := os.MkdirAll(o.Output, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, o.Output, ".batch-tmp-in.csv-123", "a,b,prediction\n1,")
	if _, err := batch.Score(t.Context(), o); err != nil {
		t.Fatal(err)
	}
	if names := listNames(t, o.Output); strings.Join(names, " ") != "in.csv summary.json" {
		t.Errorf("output folder holds %q", names)
	}
}

func TestCommand(t *testing.T) {
	in := writeFile(t, t.TempDir(), "in.csv", "a,b\n1,2\n")
	o := options(t, in)
	o.Columns = []string{"b", "a"}
	o.Input = batch.FileURI(in)
	var out bytes.Buffer
	if err := batch.Command(t.Context(), batch.Args(o), &out, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), `scored 1 of 1 row(s) (0 failed) from 1 file(s) with model version "v1"`) {
		t.Errorf("output %q", out.String())
	}
	got := readCSV(t, filepath.Join(o.Output, "in.csv"))
	if got[1][2] != strconv.FormatFloat(predict(t, 2, 1), 'f', -1, 64) {
		t.Errorf("-columns b,a did not order the inputs: %q", got)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-input", in, "-output", o.Output}, "-artifact is required"},
		{[]string{"-artifact", o.ArtifactURI, "-output", o.Output}, "-input is required"},
		{[]string{"-artifact", o.ArtifactURI, "-input", in}, "-output is required"},
		{[]string{"-artifact", o.ArtifactURI, "-input", in, "-output", o.Output, "-format", "xml"}, "-format"},
		{[]string{"-artifact", o.ArtifactURI, "-input", in, "-output", o.Output, "-max-failed-percent", "101"}, "use 0 to 100"},
		{[]string{"-artifact", o.ArtifactURI, "-input", "file://host/x", "-output", o.Output}, "not a local absolute file URI"},
		{[]string{"-artifact", o.ArtifactURI, "-input", in, "-output", o.Output, "extra"}, "unexpected argument"},
	} {
		if err := batch.Command(t.Context(), tc.args, &out, &out); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want %q", tc.args, err, tc.want)
		}
	}
}
