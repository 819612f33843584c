# A notification channel is imported by <environment>/<name>. The signing
# secret is never read back; the state gets the signing_secret_wo_version the
# control plane holds. If your signing_secret_wo differs from the secret it
# holds, bump signing_secret_wo_version so that Terraform sends it.
terraform import mlops_notification_channel.oncall prod/oncall
