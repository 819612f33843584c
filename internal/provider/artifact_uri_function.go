package provider

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"path"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/function"
)

var _ function.Function = (*artifactURIFunction)(nil)

// NewArtifactURIFunction returns the provider::mlops::artifact_uri function.
func NewArtifactURIFunction() function.Function {
	return &artifactURIFunction{}
}

type artifactURIFunction struct{}

func (f *artifactURIFunction) Metadata(_ context.Context, _ function.MetadataRequest, resp *function.MetadataResponse) {
	resp.Name = "artifact_uri"
}

func (f *artifactURIFunction) Definition(_ context.Context, _ function.DefinitionRequest, resp *function.DefinitionResponse) {
	resp.Definition = function.Definition{
		Summary: "Turns an absolute local path into the file:// URI mlopsd expects",
		MarkdownDescription: "Returns the normalised `file://` URI of an absolute local path, in the form that `mlops_training_pipeline`'s " +
			"`triggers.on_new_data` and step `inputs`, and `mlops_model_version`'s `artifact_uri`, expect for files on mlopsd's host: " +
			"`artifact_uri(\"/data/train.csv\")` is `\"file:///data/train.csv\"`.\n\n" +
			"The path is cleaned (`.`, `..` and repeated `/` are resolved) and characters that URIs cannot hold, such as spaces, are " +
			"percent-encoded, so the control plane reads back exactly the path given. A `file://` URI is accepted too and comes back " +
			"normalised (`file://localhost/data/x` becomes `file:///data/x`). A relative path is an error, because the provider cannot " +
			"know which directory it is relative to: wrap it in `abspath()`, e.g. " +
			"`provider::mlops::artifact_uri(abspath(\"${path.module}/data/train.csv\"))`. Any other scheme (`s3://`) is an error too: " +
			"such a URI is used as it is.",
		Parameters: []function.Parameter{
			function.StringParameter{
				Name:                "path",
				MarkdownDescription: "Absolute local path, e.g. `/data/train.csv` or `abspath(\"${path.module}/data/train.csv\")`, or a `file://` URI to normalise.",
			},
		},
		Return: function.StringReturn{},
	}
}

func (f *artifactURIFunction) Run(ctx context.Context, req function.RunRequest, resp *function.RunResponse) {
	var p string
	resp.Error = function.ConcatFuncErrors(resp.Error, req.Arguments.Get(ctx, &p))
	if resp.Error != nil {
		return
	}
	uri, err := artifactURI(p)
	if err != nil {
		resp.Error = function.NewArgumentFuncError(0, err.Error())
		return
	}
	resp.Error = function.ConcatFuncErrors(resp.Error, resp.Result.Set(ctx, uri))
}

// artifactURI returns the normalised file:// URI of an absolute path or of a
// local file:// URI, or an error that names the problem and the fix. The
// control plane decodes URIs with url.Parse, so percent-encoding here is
// undone there and the path arrives unchanged.
func artifactURI(p string) (string, error) {
	if strings.TrimSpace(p) == "" {
		return "", fmt.Errorf("path is empty; give an absolute path such as \"/data/train.csv\" or abspath(\"${path.module}/data/train.csv\")")
	}
	if strings.ContainsRune(p, 0) {
		return "", fmt.Errorf("path %q holds a NUL character, which no file name can contain", p)
	}
	local := p
	if i := strings.Index(p, "://"); i > 0 && !strings.Contains(p[:i], "/") {
		u, err := url.Parse(p)
		if err != nil {
			return "", fmt.Errorf("%q is not a valid URI (%v); give an absolute path such as \"/data/train.csv\"", p, urlParseReason(err))
		}
		if !strings.EqualFold(u.Scheme, "file") {
			return "", fmt.Errorf("%q is a %s:// URI; artifact_uri builds local file:// URIs only, so use a %s:// URI as it is", p, u.Scheme, u.Scheme)
		}
		if u.Host != "" && u.Host != "localhost" {
			return "", fmt.Errorf("%q names the host %q; mlopsd reads local files only, so use file:///absolute/path (three slashes, no host)", p, u.Host)
		}
		if u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
			return "", fmt.Errorf("%q has a query or fragment; a file URI names a path only, so drop everything from '?' or '#'", p)
		}
		local = u.Path
	}
	if !strings.HasPrefix(local, "/") {
		return "", fmt.Errorf("%q is a relative path; mlopsd needs an absolute one and the provider cannot tell what it is relative to. "+
			"Wrap it in abspath(), e.g. provider::mlops::artifact_uri(abspath(\"${path.module}/%s\"))", p, strings.TrimPrefix(local, "./"))
	}
	cleaned := path.Clean(local)
	return (&url.URL{Scheme: "file", Path: cleaned}).String(), nil
}

// urlParseReason drops the "parse <uri>:" prefix of url.Parse's errors,
// since the message quotes the URI already.
func urlParseReason(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
