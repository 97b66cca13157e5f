# The TMDB credential. Terraform creates the secret but never its value, so the key is not in
# state, tfvars or environment variables. Set it once per deployment:
#   aws secretsmanager put-secret-value --secret-id <tmdb_secret_id output> \
#     --secret-string '{"api_key":"..."}'      (or '{"bearer_token":"..."}')
resource "aws_secretsmanager_secret" "tmdb" {
  #checkov:skip=CKV2_AWS_57:An external TMDB API key cannot be rotated by a rotation Lambda (TMDB has no API to issue keys); it is rotated by hand with put-secret-value.
  name                    = local.secret_name
  description             = "TMDB API credential for movielake ${var.environment}: JSON {\"api_key\": ...} or {\"bearer_token\": ...}"
  kms_key_id              = aws_kms_key.this.arn
  recovery_window_in_days = local.is_local ? 0 : 30
}
