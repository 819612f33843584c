package provider

import (
	"context"
	"fmt"
	"net"
	"os"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/client"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/mlopsdtest"
)

// closedEndpoint returns the URL of a loopback port nothing listens on.
func closedEndpoint(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return "http://" + addr
}

func TestAccProvider_unreachable(t *testing.T) {
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance tests run only with TF_ACC=1 (make testacc)")
	}
	endpoint := closedEndpoint(t)
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: fmt.Sprintf(`
provider "mlops" {
  endpoint = %q
}
resource "mlops_environment" "test" { name = "dev" }
`, endpoint),
			// The error must say where it tried and how to fix it.
			ExpectError: regexp.MustCompile(`(?s)cannot\s+reach\s+mlopsd\s+at\s+` + regexp.QuoteMeta(endpoint) + `.*check\s+that\s+mlopsd\s+is\s+running`),
		}},
	})
}

func TestAccProvider_badEndpoint(t *testing.T) {
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance tests run only with TF_ACC=1 (make testacc)")
	}
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: `
provider "mlops" {
  endpoint = "127.0.0.1:8080"
}
resource "mlops_environment" "test" { name = "dev" }
`,
			// The diagnostic points at the endpoint line and suggests the fix.
			ExpectError: regexp.MustCompile(`(?s)endpoint\s+=\s+"127\.0\.0\.1:8080".*did\s+you\s+mean\s+http://127\.0\.0\.1:8080`),
		}},
	})
}

// TestAccProvider_token runs against an mlopsd that requires a token: the
// configured token works, a wrong one is refused with a hint.
func TestAccProvider_token(t *testing.T) {
	a := startAccWith(t, mlopsdtest.WithTokens("s3cret-token"))
	authed, err := client.New(client.Config{Endpoint: a.srv.URL, Token: "s3cret-token"})
	if err != nil {
		t.Fatal(err)
	}
	a.client = authed
	config := func(token string) string {
		return fmt.Sprintf(`
provider "mlops" {
  endpoint = %q
  token    = %q
}
resource "mlops_environment" "test" { name = "dev" }
`, a.srv.URL, token)
	}
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy: a.checkDestroyed("mlops_environment", func(ctx context.Context, c *client.Client, attrs map[string]string) error {
			_, err := c.GetEnvironment(ctx, attrs["name"])
			return err
		}),
		Steps: []resource.TestStep{
			{
				Config:      config("wrong"),
				ExpectError: regexp.MustCompile(`(?s)unknown\s+bearer\s+token`),
			},
			{Config: config("s3cret-token")},
		},
	})
}

// TestAccProvider_tokenFromEnvironment checks the MLOPS_TOKEN and
// MLOPS_ENDPOINT fallbacks. It cannot run in parallel: it sets the
// process environment that the in-process provider reads.
func TestAccProvider_tokenFromEnvironment(t *testing.T) {
	a := startAccWith(t, mlopsdtest.WithTokens("env-token"))
	t.Setenv("MLOPS_ENDPOINT", a.srv.URL)
	t.Setenv("MLOPS_TOKEN", "env-token")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: `resource "mlops_environment" "test" { name = "from-env" }`},
		},
	})
}

// TestAccProvider_tls runs against an mlopsd served over HTTPS with a
// self-signed certificate: with ca_cert_file the provider trusts it, and
// without it fails with the certificate error and its fix.
func TestAccProvider_tls(t *testing.T) {
	a := startAccWith(t, mlopsdtest.WithTLS())
	trusting, err := client.New(client.Config{Endpoint: a.srv.URL, CACertFile: a.srv.CACertFile})
	if err != nil {
		t.Fatal(err)
	}
	a.client = trusting
	config := func(caLine string) string {
		return fmt.Sprintf(`
provider "mlops" {
  endpoint = %q
  %s
}
resource "mlops_environment" "test" { name = "tls" }
`, a.srv.URL, caLine)
	}
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy: a.checkDestroyed("mlops_environment", func(ctx context.Context, c *client.Client, attrs map[string]string) error {
			_, err := c.GetEnvironment(ctx, attrs["name"])
			return err
		}),
		Steps: []resource.TestStep{
			{
				Config:      config(""),
				ExpectError: regexp.MustCompile(`(?s)TLS\s+certificate\s+is\s+not\s+trusted.*CA\s+certificate\s+file`),
			},
			{
				Config: config(fmt.Sprintf("ca_cert_file = %q", a.srv.CACertFile)),
				Check:  resource.TestCheckResourceAttr("mlops_environment.test", "name", "tls"),
			},
		},
	})
}
