package e2e

import (
	"encoding/json"
	"testing"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
)

// The audit log's digests of a notification channel never cover its
// signing secret: an auditor cannot test guesses of it offline, and the
// digest of the spec anyone may read is the digest the log holds, so a
// reader can tell which write the channel they see came from.
func TestAudit_DigestsLeaveTheSigningSecretOut(t *testing.T) {
	f := newFixture(t)
	spec := api.NotificationChannelSpec{Type: api.ChannelWebhook, URL: "https://hooks.example.com/ops", SigningSecret: "guessable-secret-2026", SigningSecretVersion: 1}
	if _, err := f.c.CreateNotificationChannel(f.ctx, "dev", "ops", spec); err != nil {
		t.Fatal(err)
	}
	read, err := f.c.GetNotificationChannel(f.ctx, "dev", "ops")
	if err != nil {
		t.Fatal(err)
	}
	shown, err := json.Marshal(read.Spec)
	if err != nil {
		t.Fatal(err)
	}
	withSecret, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := f.c.QueryAudit(f.ctx, api.AuditQuery{Environment: "dev", Kind: api.KindNotificationChannel, Name: "ops"})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs.Items) != 1 || recs.Items[0].Action != api.AuditCreate {
		t.Fatalf("audit records of the channel: %+v", recs.Items)
	}
	got := recs.Items[0].AfterDigest
	if want := api.AuditDigest(api.KindNotificationChannel, shown); got != want {
		t.Errorf("after_digest %s is not the digest of the spec as read (%s): %s", got, shown, want)
	}
	if got == api.AuditDigest(api.KindModel, withSecret) {
		t.Error("after_digest is the SHA-256 of the spec with its secret")
	}
}
