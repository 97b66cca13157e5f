# One provider block serves both targets: real AWS (aws_endpoint_url = "", credentials from
# the usual AWS chain) and the local stack (every service used here pointed at one moto URL,
# with no metadata or credential checks).
provider "aws" {
  region = var.aws_region

  # Credentials come from the standard chain on both targets: locally, the environment
  # holds the key of the administrator the local stack creates (moto enforces IAM).
  skip_credentials_validation = local.is_local
  skip_metadata_api_check     = local.is_local
  # Must stay false: with it true ARNs lack the account id and Athena/S3 names break.
  skip_requesting_account_id = false
  s3_use_path_style          = local.is_local

  dynamic "endpoints" {
    for_each = local.is_local ? [var.aws_endpoint_url] : []

    content {
      athena         = endpoints.value
      cloudwatch     = endpoints.value
      events         = endpoints.value
      glue           = endpoints.value
      iam            = endpoints.value
      kms            = endpoints.value
      lambda         = endpoints.value
      logs           = endpoints.value
      s3             = endpoints.value
      secretsmanager = endpoints.value
      sns            = endpoints.value
      sqs            = endpoints.value
      sts            = endpoints.value
    }
  }

  default_tags {
    tags = local.tags
  }
}
