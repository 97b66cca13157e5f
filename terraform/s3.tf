# Two buckets with the same hardening: the lake (zones Landing/, Raw/, Trusted/, Refined/,
# Rejected/) and the Athena results bucket.
locals {
  buckets = {
    lake           = local.lake_bucket_name
    athena_results = local.results_bucket_name
  }
}

resource "aws_s3_bucket" "this" {
  #checkov:skip=CKV_AWS_18:Server access logging would need a third, unencrypted-by-KMS log bucket per environment; object-level auditing is left to an account-wide CloudTrail data-event trail, which is the org's concern, not this module's.
  #checkov:skip=CKV_AWS_144:Cross-region replication is not needed: Raw is re-creatable from the sources (CSV uploads, TMDB API) and results are disposable.
  #checkov:skip=CKV2_AWS_62:The lake bucket has a Lambda notification; the results bucket holds only disposable Athena output nobody needs to react to.
  for_each = local.buckets

  bucket        = each.value
  force_destroy = var.force_destroy_buckets
}

resource "aws_s3_bucket_versioning" "this" {
  for_each = local.buckets

  bucket = aws_s3_bucket.this[each.key].id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  for_each = local.buckets

  bucket = aws_s3_bucket.this[each.key].id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.this.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_public_access_block" "this" {
  for_each = local.buckets

  bucket                  = aws_s3_bucket.this[each.key].id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_policy" "tls_only" {
  for_each = local.buckets

  bucket = aws_s3_bucket.this[each.key].id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "DenyInsecureTransport"
        Effect    = "Deny"
        Principal = "*"
        Action    = "s3:*"
        Resource  = [aws_s3_bucket.this[each.key].arn, "${aws_s3_bucket.this[each.key].arn}/*"]
        Condition = { Bool = { "aws:SecureTransport" = "false" } }
      },
    ]
  })

  # S3 rejects a bucket policy while the public access block is being applied.
  depends_on = [aws_s3_bucket_public_access_block.this]
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  #checkov:skip=CKV_AWS_300:Every bucket's "housekeeping" rule (filter {}) aborts incomplete multipart uploads; the tag-filtered "expire-superseded-table-versions" rule cannot carry that action (S3 refuses AbortIncompleteMultipartUpload with a tag filter).
  for_each = local.buckets

  bucket = aws_s3_bucket.this[each.key].id

  rule {
    id     = "housekeeping"
    status = "Enabled"

    filter {}

    abort_incomplete_multipart_upload {
      days_after_initiation = var.abort_incomplete_multipart_days
    }

    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_expiration_days
    }
  }

  # Old versions of the Trusted/Refined tables: the refine tags them once it has switched the
  # Glue table to the new version (or when its own run failed); they expire a day later.
  dynamic "rule" {
    for_each = each.key == "lake" ? [1] : []

    content {
      id     = "expire-superseded-table-versions"
      status = "Enabled"

      filter {
        tag {
          key   = "movielake-superseded"
          value = "true"
        }
      }

      expiration {
        days = var.superseded_version_expiration_days
      }
    }
  }

  # Once its noncurrent versions expire, a deleted object leaves a lone delete marker behind:
  # remove those so listings and requests do not keep paying for them.
  rule {
    id     = "expired-delete-markers"
    status = "Enabled"

    filter {}

    expiration {
      expired_object_delete_marker = true
    }
  }

  dynamic "rule" {
    for_each = each.key == "athena_results" ? [1] : []

    content {
      id     = "expire-athena-results"
      status = "Enabled"

      filter {
        prefix = "athena/"
      }

      expiration {
        days = var.athena_results_expiration_days
      }

      abort_incomplete_multipart_upload {
        days_after_initiation = var.abort_incomplete_multipart_days
      }
    }
  }

  # Lifecycle rules on a versioned bucket need versioning in place first.
  depends_on = [aws_s3_bucket_versioning.this]
}

# New CSVs landing in Landing/ trigger csv-ingest.
resource "aws_s3_bucket_notification" "lake" {
  bucket = aws_s3_bucket.this["lake"].id

  # Every upload to Landing/, with no suffix filter: S3 matches suffixes case-sensitively, so
  # ".csv" would silently skip series.CSV. The handler decides instead: *.csv in any case is
  # validated, anything else is moved to Rejected/ beside a note saying why.
  lambda_function {
    lambda_function_arn = aws_lambda_function.this["csv_ingest"].arn
    events              = ["s3:ObjectCreated:*"]
    filter_prefix       = local.landing_prefix
  }

  depends_on = [aws_lambda_permission.s3_invokes_csv_ingest]
}
