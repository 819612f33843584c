# Read who changed the prod environment itself, oldest first.
data "mlops_audit_records" "prod" {
  environment = "prod"
  kind        = "environments"
  since       = "2030-01-01T00:00:00Z"
  limit       = 50
}

output "prod_changes" {
  value = [for r in data.mlops_audit_records.prod.records : "${r.time} ${r.actor} ${r.action} generation ${r.generation}"]
}

# The last ten approvals and other changes of prod's model versions, newest
# first.
data "mlops_audit_records" "recent_versions" {
  environment  = "prod"
  kind         = "model-versions"
  newest_first = true
  limit        = 10
}
