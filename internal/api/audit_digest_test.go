package api

import (
	"encoding/json"
	"testing"
)

func TestAuditDigest_LeavesWriteOnlySecretsOut(t *testing.T) {
	channel := func(secret string, version int64) json.RawMessage {
		b, err := json.Marshal(NotificationChannelSpec{Type: ChannelWebhook, URL: "https://hooks.example/x", SigningSecret: secret, SigningSecretVersion: version})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	a := AuditDigest(KindNotificationChannel, channel("first-secret-0123456789", 1))
	if b := AuditDigest(KindNotificationChannel, channel("other-secret-0123456789", 1)); a != b {
		t.Errorf("the digest depends on the secret: %s != %s", a, b)
	}
	if b := AuditDigest(KindNotificationChannel, channel("", 1)); a != b {
		t.Errorf("a spec with the secret and one without it digest differently: %s != %s", a, b)
	}
	if b := AuditDigest(KindNotificationChannel, channel("other-secret-0123456789", 2)); a == b {
		t.Error("rotating the secret (a new version) does not change the digest")
	}
	// Other kinds digest their spec as stored, byte for byte.
	spec := json.RawMessage(`{"signing_secret":"x","b":1}`)
	if AuditDigest(KindModel, spec) == AuditDigest(KindModel, json.RawMessage(`{"b":1}`)) {
		t.Error("a field of another kind was left out")
	}
	if got := AuditDigest(KindModel, json.RawMessage(`{}`)); got != "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a" {
		t.Errorf("digest of {} = %s, want the SHA-256 of the bytes", got)
	}
}
