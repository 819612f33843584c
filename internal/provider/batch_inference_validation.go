package provider

import (
	"fmt"
	"net/url"
	"path"
	"strings"

	tfpath "github.com/hashicorp/terraform-plugin-framework/path"
)

// Plan-time checks of a batch inference job that span attributes or need
// more than a validator: which model it scores with, and its URIs. They are
// pure functions of what the configuration says, unit-tested without
// Terraform; the control plane checks the same rules again (and that the
// compute pool and model version exist) when the spec is written.

// batchModelCheck is what the checks know about the model attributes:
// whether each is set (not null), and whether that is known yet.
type batchModelCheck struct {
	VersionSet, VersionKnown bool
	ModelSet, ModelKnown     bool
	AliasSet, AliasKnown     bool
}

// batchModelProblems requires exactly one of model_version and the pair
// model + alias.
func batchModelProblems(c batchModelCheck) []pipelineProblem {
	if !c.VersionKnown || !c.ModelKnown || !c.AliasKnown {
		return nil
	}
	const pair = "model and alias (an alias such as champion, resolved when each run starts)"
	switch {
	case c.VersionSet && (c.ModelSet || c.AliasSet):
		at := tfpath.Root("alias")
		if !c.AliasSet {
			at = tfpath.Root("model")
		}
		return []pipelineProblem{{at, "Conflicting model selection",
			"model_version and " + pair + " are both set; set either model_version, or " + pair + ", not both."}}
	case !c.VersionSet && !c.ModelSet && !c.AliasSet:
		return []pipelineProblem{{tfpath.Root("model_version"), "Missing model selection",
			"A batch inference job needs the model it scores with: set model_version (a model version), or " + pair + "."}}
	case !c.VersionSet && !c.AliasSet:
		return []pipelineProblem{{tfpath.Root("alias"), "Missing alias",
			"model is set, which needs alias: name the alias of the model to score with (e.g. champion), or set model_version instead of model."}}
	case !c.VersionSet && !c.ModelSet:
		return []pipelineProblem{{tfpath.Root("model"), "Missing model",
			"alias is set, which needs model: name the model whose alias it is."}}
	}
	return nil
}

// batchURIProblem returns why uri is not a local absolute file:// URI fit
// for attr (input_uri, or output_uri, which must be a clean folder path),
// with the fix, or "" when it is one.
func batchURIProblem(attr, uri string) string {
	example := "file:///data/incoming"
	if attr == "output_uri" {
		example = "file:///data/predictions"
	}
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "file" {
		return fmt.Sprintf("%s %q is not a file:// URI; batch jobs read and write local files, so use file:///absolute/path, e.g. %s", attr, uri, example)
	}
	if (u.Host != "" && u.Host != "localhost") || !strings.HasPrefix(u.Path, "/") || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Sprintf("%s %q is not a local absolute file URI; use file:///absolute/path (three slashes, no host, query or fragment), e.g. %s", attr, uri, example)
	}
	if attr == "output_uri" && (path.Clean(u.Path) != u.Path || u.Path == "/") {
		return fmt.Sprintf("output_uri %q is not a clean folder path; use an absolute folder other than / without a trailing slash, e.g. %s (each run writes <folder>/<run name>/)", uri, example)
	}
	return ""
}

// featureColumnProblem returns why a feature column name cannot be used,
// or "" when it can.
func featureColumnProblem(c string) string {
	switch {
	case c == "":
		return "a feature column is empty; name a CSV column or JSON field"
	case len(c) > 256:
		return fmt.Sprintf("feature column %q is %d characters long; use at most 256", c[:32]+"...", len(c))
	case strings.ContainsAny(c, ",\r\n\x00"):
		return fmt.Sprintf("feature column %q contains a comma, line break or NUL character, which column names here cannot; rename the column", c)
	}
	return ""
}
