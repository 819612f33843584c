package server

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/url"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store"
)

// Bounds of a notification channel's signing secret, in bytes.
const (
	minSigningSecret = 16
	maxSigningSecret = 512
)

// notificationChannelKind keeps the signing secret write-only: it is stored
// with the spec (the evaluator signs deliveries with it) but every response
// shows "" and status.signing_secret_set instead, and mergeOwned implements
// the keep, clear and rotate rules of api.NotificationChannelSpec.
func notificationChannelKind() *kind[api.NotificationChannelSpec] {
	return &kind[api.NotificationChannelSpec]{
		name:       api.KindNotificationChannel,
		validate:   validateNotificationChannel,
		mergeOwned: mergeSigningSecret,
		readHook:   redactSigningSecret,
		initialStatus: func(*api.NotificationChannelSpec) any {
			return api.NotificationChannelStatus{Status: readyStatus("notification channel is ready")}
		},
	}
}

// validateNotificationChannel checks a channel's spec on its own. Messages
// never quote the signing secret.
func validateNotificationChannel(s *api.NotificationChannelSpec) error {
	if err := validateDescription("spec.description", s.Description); err != nil {
		return err
	}
	if err := oneOf("spec.type", s.Type, api.ChannelTypes...); err != nil {
		return err
	}
	if err := validateWebhookURL(s.URL); err != nil {
		return err
	}
	if s.SigningSecretVersion < 0 {
		return api.Errorf(api.EINVALID, "spec.signing_secret_version", "is %d; use 0 for no signing secret, or a version of 1 or more that you bump whenever the secret changes", s.SigningSecretVersion)
	}
	if s.SigningSecret != "" {
		if n := len(s.SigningSecret); n < minSigningSecret || n > maxSigningSecret {
			return api.Errorf(api.EINVALID, "spec.signing_secret", "is %d bytes long; use %d to %d bytes (e.g. 32 random bytes, hex-encoded)", n, minSigningSecret, maxSigningSecret)
		}
		if s.SigningSecretVersion == 0 {
			return api.NewError(api.EINVALID, "spec.signing_secret_version", "a signing secret needs a version of 1 or more, so a configuration can tell which secret the server holds; set signing_secret_version (Terraform: signing_secret_wo_version)")
		}
	}
	return nil
}

// validateWebhookURL requires an absolute http:// or https:// URL with a
// host and without credentials, which would be shown on every read.
func validateWebhookURL(raw string) error {
	const field = "spec.url"
	if raw == "" {
		return api.NewError(api.EINVALID, field, "url is required: the http:// or https:// address notifications are POSTed to, e.g. https://hooks.example.com/mlops")
	}
	if len(raw) > maxURI {
		return api.Errorf(api.EINVALID, field, "is %d characters long; use at most %d", len(raw), maxURI)
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "" {
		return api.Errorf(api.EINVALID, field, "%q is not an absolute http:// or https:// URL with a host; use e.g. https://hooks.example.com/mlops", raw)
	}
	if u.User != nil {
		return api.NewError(api.EINVALID, field, "the URL carries credentials (user:password@), which every read would show; remove them and authenticate the deliveries with signing_secret instead")
	}
	if u.Fragment != "" {
		return api.Errorf(api.EINVALID, field, "%q has a fragment (#...), which is never sent; remove it", raw)
	}
	return nil
}

// mergeSigningSecret applies the write-only rules to an update: "" with an
// unchanged version keeps the stored secret, "" with version 0 removes it,
// and a new secret comes with a new version. A new version without a secret,
// or another secret under the same version, is refused: the version would no
// longer say which secret the server holds.
func mergeSigningSecret(before, after *api.NotificationChannelSpec, _ string, _ time.Time) error {
	if after.SigningSecret == "" && after.SigningSecretVersion != 0 {
		if before == nil || before.SigningSecret == "" || before.SigningSecretVersion != after.SigningSecretVersion {
			return api.Errorf(api.EINVALID, "spec.signing_secret",
				"signing_secret_version is %d but no signing_secret was sent and the server holds no secret of that version; send the secret with its version, or set signing_secret_version to 0 for none", after.SigningSecretVersion)
		}
		after.SigningSecret = before.SigningSecret
		return nil
	}
	if before != nil && after.SigningSecret != "" && before.SigningSecret != "" &&
		before.SigningSecretVersion == after.SigningSecretVersion &&
		subtle.ConstantTimeCompare([]byte(before.SigningSecret), []byte(after.SigningSecret)) != 1 {
		return api.Errorf(api.EINVALID, "spec.signing_secret_version",
			"signing_secret differs from the stored secret but signing_secret_version is still %d; to rotate the secret, bump signing_secret_version (Terraform: signing_secret_wo_version)", after.SigningSecretVersion)
	}
	return nil
}

// redactSigningSecret is the read hook of every response that carries a
// channel: it blanks the secret and says in status.signing_secret_set
// whether one is held.
func redactSigningSecret(_ context.Context, _ store.Store, obj *store.Object) error {
	var spec api.NotificationChannelSpec
	if err := json.Unmarshal(obj.Spec, &spec); err != nil {
		return fmt.Errorf("decoding spec of %s: %w", obj.Ref(), err)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(obj.Status, &fields); err != nil || fields == nil {
		fields = map[string]json.RawMessage{}
	}
	set := spec.SigningSecret != ""
	spec.SigningSecret = ""
	b, err := json.Marshal(spec)
	if err != nil {
		return err
	}
	obj.Spec = b
	fields["signing_secret_set"] = json.RawMessage(fmt.Sprint(set))
	if obj.Status, err = json.Marshal(fields); err != nil {
		return err
	}
	return nil
}
