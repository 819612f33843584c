// Package batch holds what the API server, the reconcilers and the scoring
// program share about batch inference: which files of an input a run
// scores and the input's digest, starting a run with the model version it
// scores with, and the scoring program itself, which mlopsd runs as its
// hidden batch-score subcommand (Command).
package batch

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/pipeline"
)

// Names a run's files and step go by.
const (
	// ScoreCommand is the hidden mlopsd subcommand that scores a dataset:
	// mlopsd batch-score -artifact <uri> -input <path> -output <folder> ...
	ScoreCommand = "batch-score"
	// StepName is the name of a run's one step, in its status and logs.
	StepName = "score"
	// SummaryFile is written last into a run's output folder.
	SummaryFile = "summary.json"
	// PredictionField is the CSV column and JSON field of a prediction.
	PredictionField = "prediction"
	// tempPrefix starts the names of files being written; they are hidden,
	// so no reader (and no input listing) takes them for finished ones.
	tempPrefix = ".batch-tmp-"
)

// InputFile is one file a run scores.
type InputFile struct {
	// Path is the file's path and Name its base name, which the
	// predictions file takes too.
	Path, Name string
	// Format is api.BatchFormatCSV or api.BatchFormatJSONL.
	Format string
}

// formatOf returns the format of the file name under the job's format: an
// explicit format is taken as it is; auto goes by the extension.
func formatOf(name, format string) (string, bool) {
	ext := strings.ToLower(filepath.Ext(name))
	byExt := ""
	switch ext {
	case ".csv":
		byExt = api.BatchFormatCSV
	case ".jsonl", ".ndjson":
		byExt = api.BatchFormatJSONL
	}
	if format == "" || format == api.BatchFormatAuto {
		return byExt, byExt != ""
	}
	return format, true
}

// InputFiles lists what a run scores of the input at path. For a folder:
// its regular files that are not hidden and whose extension fits format
// (.csv for csv; .jsonl or .ndjson for jsonl; either for auto), in name
// order; sub-folders are left alone. For a file: the file itself, in the
// given format or, for auto, the one its extension names. folder reports
// which it was.
func InputFiles(path, format string) (files []InputFile, folder bool, err error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, false, err
	}
	if !info.IsDir() {
		if !info.Mode().IsRegular() {
			return nil, false, fmt.Errorf("%s is not a regular file or a folder", path)
		}
		f, ok := formatOf(path, format)
		if !ok {
			return nil, false, fmt.Errorf("cannot tell the format of %s by its extension; name it .csv, .jsonl or .ndjson, or set input_format", path)
		}
		return []InputFile{{Path: path, Name: filepath.Base(path), Format: f}}, false, nil
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, true, err
	}
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		f := formatByExt(name)
		if f == "" || (format != "" && format != api.BatchFormatAuto && f != format) {
			continue
		}
		p := filepath.Join(path, name)
		st, err := os.Stat(p)
		if err != nil || !st.Mode().IsRegular() {
			continue
		}
		files = append(files, InputFile{Path: p, Name: name, Format: f})
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Name < files[j].Name })
	return files, true, nil
}

// formatByExt is the format the extension names, "" for none.
func formatByExt(name string) string {
	f, _ := formatOf(name, api.BatchFormatAuto)
	return f
}

// FileSum is one input file's SHA-256.
type FileSum struct {
	Name, SHA256 string
}

// Digest is the digest of an input: a file's own SHA-256, or for a folder
// the SHA-256 of the lines "<sha256>  <name>\n" of its scored files in name
// order, which is what sha256sum prints for them.
func Digest(folder bool, files []FileSum) string {
	if !folder && len(files) == 1 {
		return files[0].SHA256
	}
	h := sha256.New()
	for _, f := range files {
		fmt.Fprintf(h, "%s  %s\n", f.SHA256, f.Name)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// InputDigest hashes the input at path with hash (pipeline.HashCache.SettledHash,
// say) and returns its Digest and how many files it has.
func InputDigest(path, format string, hash func(string) (string, error)) (string, int, error) {
	files, folder, err := InputFiles(path, format)
	if err != nil {
		return "", 0, err
	}
	sums := make([]FileSum, 0, len(files))
	for _, f := range files {
		sum, err := hash(f.Path)
		if errors.Is(err, os.ErrNotExist) && folder {
			// Moved away between the listing and now: not part of it.
			continue
		}
		if err != nil {
			return "", 0, err
		}
		sums = append(sums, FileSum{Name: f.Name, SHA256: sum})
	}
	return Digest(folder, sums), len(sums), nil
}

// OutputDir is the folder run writes to: <output_uri>/<run>.
func OutputDir(outputURI, run string) (string, error) {
	dir, err := pipeline.FilePath(outputURI)
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, run), nil
}

// FileURI is the file:// URI of an absolute path.
func FileURI(path string) string {
	return (&url.URL{Scheme: "file", Path: path}).String()
}
