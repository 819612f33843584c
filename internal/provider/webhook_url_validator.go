package provider

import (
	"context"
	"fmt"
	"net/url"

	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
)

// webhookMaxURL bounds a webhook's URL, as the server does.
const webhookMaxURL = 2048

// webhookURLValidator checks a notification channel's URL with the
// server's rule: an absolute http:// or https:// URL with a host, without
// credentials (every read would show them) and without a fragment (never
// sent).
type webhookURLValidator struct{}

var _ validator.String = webhookURLValidator{}

func (webhookURLValidator) Description(context.Context) string {
	return "value must be an absolute http:// or https:// URL with a host, without user:password@ or #fragment"
}

func (v webhookURLValidator) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (webhookURLValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if msg := webhookURLProblem(req.ConfigValue.ValueString()); msg != "" {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid webhook URL", fmt.Sprintf("%s %s", req.Path, msg))
	}
}

// webhookURLProblem says what is wrong with a webhook URL and how to fix
// it; "" when it is fine.
func webhookURLProblem(raw string) string {
	if len(raw) > webhookMaxURL {
		return fmt.Sprintf("is %d characters long; use at most %d", len(raw), webhookMaxURL)
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "" {
		return fmt.Sprintf("%q is not an absolute http:// or https:// URL with a host; use e.g. https://hooks.example.com/mlops", raw)
	}
	if u.User != nil {
		return "carries credentials (user:password@), which every read would show; remove them and authenticate the deliveries with signing_secret_wo instead"
	}
	if u.Fragment != "" {
		return fmt.Sprintf("%q has a fragment (#...), which is never sent; remove it", raw)
	}
	return ""
}
