// Package pipeline holds what the API server and the reconcilers share about
// training pipelines: cron schedules, typed parameters, watched file URIs,
// and starting a run, so that a manual run and a triggered one are made the
// same way.
package pipeline

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
)

// Defaults and limits of pipeline specs.
const (
	DefaultTimeoutSeconds = 3600
	MaxTimeoutSeconds     = 604800
	MaxRetries            = 10
	// MaxNameLength leaves room for "-<run number>" in run names, which
	// must fit api.NameMaxLength.
	MaxNameLength = api.NameMaxLength - 11
)

var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// ParseSchedule parses a standard 5-field cron expression ("0 3 * * 1-5")
// or a descriptor such as @daily. Schedules are in UTC, so a time zone
// prefix and "@every" (which is no cron schedule) are refused.
func ParseSchedule(expr string) (cron.Schedule, error) {
	e := strings.TrimSpace(expr)
	switch {
	case e == "":
		return nil, errors.New("the schedule is empty")
	case strings.HasPrefix(e, "TZ=") || strings.HasPrefix(e, "CRON_TZ="):
		return nil, errors.New("schedules are in UTC; drop the time zone prefix")
	case strings.HasPrefix(e, "@every"):
		return nil, errors.New("@every is not a cron schedule; use 5 fields, e.g. */15 * * * * for every 15 minutes")
	}
	return cronParser.Parse(e)
}

// NextFire returns the first time the schedule fires strictly after t, in UTC.
func NextFire(s cron.Schedule, t time.Time) time.Time {
	return s.Next(t.UTC()).UTC()
}

// CheckValue reports whether v is a valid value of parameter type typ.
func CheckValue(typ, v string) error {
	switch typ {
	case api.ParamString:
		return nil
	case api.ParamInt:
		if _, err := strconv.ParseInt(v, 10, 64); err != nil {
			return fmt.Errorf("%q is not a whole number", v)
		}
	case api.ParamFloat:
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return fmt.Errorf("%q is not a finite decimal number", v)
		}
	case api.ParamBool:
		if v != "true" && v != "false" {
			return fmt.Errorf("%q is not true or false", v)
		}
	default:
		return fmt.Errorf("unknown parameter type %q", typ)
	}
	return nil
}

// ResolveParameters checks the values a run was given against the
// pipeline's parameters and fills in defaults. Errors are EINVALID with the
// field parameters["name"].
func ResolveParameters(defs []api.PipelineParameter, given map[string]string) (map[string]string, error) {
	known := map[string]api.PipelineParameter{}
	for _, d := range defs {
		known[d.Name] = d
	}
	names := make([]string, 0, len(given))
	for k := range given {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		d, ok := known[k]
		field := fmt.Sprintf("parameters[%q]", k)
		if !ok {
			return nil, api.Errorf(api.EINVALID, field, "the pipeline has no parameter %q; it has %q", k, paramNames(defs))
		}
		if err := CheckValue(d.Type, given[k]); err != nil {
			return nil, api.Errorf(api.EINVALID, field, "%v; parameter %q is of type %s", err, k, d.Type)
		}
	}
	out := map[string]string{}
	for _, d := range defs {
		v, ok := given[d.Name]
		if !ok {
			if d.Default == "" {
				return nil, api.Errorf(api.EINVALID, fmt.Sprintf("parameters[%q]", d.Name), "parameter %q has no default; give it a value (type %s)", d.Name, d.Type)
			}
			v = d.Default
		}
		out[d.Name] = v
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

func paramNames(defs []api.PipelineParameter) []string {
	names := []string{}
	for _, d := range defs {
		names = append(names, d.Name)
	}
	return names
}

// FilePath returns the absolute path of a file:// URI such as
// file:///data/train.csv, or an error saying why the URI is not one.
func FilePath(uri string) (string, error) {
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "file" {
		return "", fmt.Errorf("%q is not a file:// URI; use file:///absolute/path", uri)
	}
	if (u.Host != "" && u.Host != "localhost") || !strings.HasPrefix(u.Path, "/") || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("%q is not a local absolute file URI; use file:///absolute/path (three slashes, no host, query or fragment)", uri)
	}
	return u.Path, nil
}

// HashFile returns the hex SHA-256 of a regular file's content.
func HashFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return "", err
	}
	if !info.Mode().IsRegular() {
		return "", fmt.Errorf("%s is not a regular file", path)
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// DatasetURI is the URI a run's lineage names as its training data: the
// first file:// input of a step, else the first on_new_data URI, else "".
func DatasetURI(spec api.TrainingPipelineSpec) string {
	for _, s := range spec.Steps {
		for _, in := range s.Inputs {
			if _, err := FilePath(in); err == nil {
				return in
			}
		}
	}
	if len(spec.Triggers.OnNewData) > 0 {
		return spec.Triggers.OnNewData[0]
	}
	return ""
}

// RunName is the name of a pipeline's n-th run.
func RunName(pipeline string, n int64) string {
	return pipeline + "-" + strconv.FormatInt(n, 10)
}

// RunNumber returns n when run is RunName(pipeline, n).
func RunNumber(pipeline, run string) (int64, bool) {
	rest, ok := strings.CutPrefix(run, pipeline+"-")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(rest, 10, 64)
	if err != nil || n < 1 || strconv.FormatInt(n, 10) != rest {
		return 0, false
	}
	return n, true
}
