# Two workgroups. The analyses' workgroup enforces its settings (results location, KMS, scan
# limit) on every query, and holds one named query per sql/q*.sql file, named for the file stem
# (q1_roi). The refine's workgroup does not override client-side settings, because the refine's
# CTAS names where a table version goes (external_location = the lake's fresh v=<run id>/
# folder): Athena fails a CTAS that gives external_location in a workgroup with an enforced
# results location ("Troubleshoot workgroup errors"), and without external_location it writes
# the table under <results location>/tables/<query id>/, which expire-athena-results deletes
# after athena_results_expiration_days. The refine's models (sql/trusted, sql/refined,
# sql/checks) are not named queries: fileset matches only the top folder.
locals {
  sql_dir = "${path.module}/../sql"
  named_queries = {
    for f in fileset(local.sql_dir, "q*.sql") : trimsuffix(f, ".sql") => file("${local.sql_dir}/${f}")
  }
}

# Both workgroups share the results location (athena/ in the results bucket, expired by its
# lifecycle), the key, the scan limit and the engine; only the override differs. The refine sets
# none of those on its queries, so the refine workgroup's apply to it as defaults.
locals {
  athena_workgroups = {
    analyses = {
      name        = local.athena_workgroup
      description = "movielake ${var.environment} analyses"
      enforce     = true
    }
    # Only the refine role may run queries here (iam.tf).
    refine = {
      name        = local.refine_workgroup
      description = "movielake ${var.environment} refine (CTAS into the lake)"
      enforce     = false
    }
  }
}

resource "aws_athena_workgroup" "this" {
  #checkov:skip=CKV_AWS_82:The analyses workgroup enforces its configuration (tests/test_terraform_static.py asserts it); the refine workgroup cannot: Athena refuses a CTAS with external_location in a workgroup that overrides client-side settings, and the refine must write each table version under the lake's Trusted/ and Refined/, never under the results bucket, whose lifecycle expires it. Its SSE_KMS still applies to every result (the refine sets no ResultConfiguration), the lake bucket encrypts the table data with the lake key by default, and only the refine role may run queries in it.
  for_each = local.athena_workgroups

  name          = each.value.name
  description   = each.value.description
  state         = "ENABLED"
  force_destroy = true

  configuration {
    enforce_workgroup_configuration    = each.value.enforce
    publish_cloudwatch_metrics_enabled = true
    bytes_scanned_cutoff_per_query     = var.athena_bytes_scanned_cutoff

    # Pinned so an automatic upgrade cannot change the SQL's semantics under the analyses.
    engine_version {
      selected_engine_version = "Athena engine version 3"
    }

    result_configuration {
      output_location = "s3://${local.results_bucket_name}/athena/"

      encryption_configuration {
        encryption_option = "SSE_KMS"
        kms_key_arn       = aws_kms_key.this.arn
      }
    }
  }

  depends_on = [aws_s3_bucket.this]
}

resource "aws_athena_named_query" "this" {
  for_each = local.named_queries

  name      = each.key
  workgroup = aws_athena_workgroup.this["analyses"].id
  database  = aws_glue_catalog_database.raw.name
  query     = each.value
  # The file's first line, when it is a "-- ..." comment, describes the query.
  description = substr(try(trimspace(regex("^--[ \\t]*([^\\r\\n]*)", each.value)[0]), "movielake analysis ${each.key}"), 0, 1024)
}

# The analyses' workgroup was a single resource before the refine got its own.
moved {
  from = aws_athena_workgroup.this
  to   = aws_athena_workgroup.this["analyses"]
}
