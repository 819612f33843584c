package provider

import (
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfversion"
)

func TestArtifactURI(t *testing.T) {
	ok := []struct{ in, want string }{
		{"/data/train.csv", "file:///data/train.csv"},
		{"/data/./raw/../train.csv", "file:///data/train.csv"},
		{"//data///train.csv", "file:///data/train.csv"},
		{"/data/models/", "file:///data/models"},
		{"/", "file:///"},
		{"/data/my file #1.csv", "file:///data/my%20file%20%231.csv"},
		{"/data/a://b", "file:///data/a:/b"},
		{"file:///data/train.csv", "file:///data/train.csv"},
		{"file://localhost/data/train.csv", "file:///data/train.csv"},
		{"FILE:///data/../train.csv", "file:///train.csv"},
		{"file:///data/my%20file.csv", "file:///data/my%20file.csv"},
	}
	for _, tc := range ok {
		got, err := artifactURI(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("artifactURI(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	bad := []struct{ in, want string }{
		{"", "path is empty"},
		{"  ", "path is empty"},
		{"train/houses.csv", `Wrap it in abspath(), e.g. provider::mlops::artifact_uri(abspath("${path.module}/train/houses.csv"))`},
		{"./houses.csv", `abspath("${path.module}/houses.csv")`},
		{"s3://bucket/model", "use a s3:// URI as it is"},
		{"file://host/data/x", `names the host "host"`},
		{"file:///data/x?v=1", "has a query or fragment"},
		{"file:///data/x#frag", "has a query or fragment"},
		{"file://data/x", `names the host "data"`},
		{"file:relative", "is a relative path"},
		{"/data/\x00x", "NUL"},
	}
	for _, tc := range bad {
		got, err := artifactURI(tc.in)
		if err == nil {
			t.Errorf("artifactURI(%q) = %q, want an error", tc.in, got)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("artifactURI(%q) error %q does not contain %q", tc.in, err, tc.want)
		}
	}
}

func TestArtifactURIFunction_known(t *testing.T) {
	resource.UnitTest(t, resource.TestCase{
		TerraformVersionChecks: []tfversion.TerraformVersionCheck{
			tfversion.SkipBelow(tfversion.Version1_8_0),
		},
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: `
output "plain" {
  value = provider::mlops::artifact_uri("/data/raw/../train.csv")
}

output "from_abspath" {
  value = provider::mlops::artifact_uri(abspath("${path.module}/train.csv"))
}

output "normalised" {
  value = provider::mlops::artifact_uri("file://localhost/data/my file.csv")
}
`,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownOutputValue("plain", knownvalue.StringExact("file:///data/train.csv")),
					statecheck.ExpectKnownOutputValue("from_abspath", knownvalue.StringRegexp(regexp.MustCompile(`^file:///.+/train\.csv$`))),
					statecheck.ExpectKnownOutputValue("normalised", knownvalue.StringExact("file:///data/my%20file.csv")),
				},
			},
		},
	})
}

func TestArtifactURIFunction_relativePath(t *testing.T) {
	resource.UnitTest(t, resource.TestCase{
		TerraformVersionChecks: []tfversion.TerraformVersionCheck{
			tfversion.SkipBelow(tfversion.Version1_8_0),
		},
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: `
output "test" {
  value = provider::mlops::artifact_uri("data/train.csv")
}
`,
				ExpectError: regexp.MustCompile(`(?s)"data/train.csv" is a relative path.*Wrap it in\s+abspath\(\)`),
			},
			{
				Config: `
output "test" {
  value = provider::mlops::artifact_uri("s3://bucket/churn/3/")
}
`,
				ExpectError: regexp.MustCompile(`(?s)artifact_uri builds local file:// URIs\s+only`),
			},
		},
	})
}

func TestArtifactURIFunction_unknown(t *testing.T) {
	resource.UnitTest(t, resource.TestCase{
		TerraformVersionChecks: []tfversion.TerraformVersionCheck{
			tfversion.SkipBelow(tfversion.Version1_8_0),
		},
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				// terraform_data's output is unknown until apply, so the
				// function is called with an unknown value at plan time.
				Config: `
resource "terraform_data" "dir" {
  input = "/data"
}

output "test" {
  value = provider::mlops::artifact_uri("${terraform_data.dir.output}/train.csv")
}
`,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownOutputValue("test", knownvalue.StringExact("file:///data/train.csv")),
				},
			},
		},
	})
}
