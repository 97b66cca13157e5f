# Workgroup whose settings queries cannot override (results location, KMS, scan limit), and
# one named query per sql/q*.sql file, named for the file stem (q1_roi). The refine's models
# (sql/trusted, sql/refined, sql/checks) are not named queries: fileset matches only the top
# folder, and the refine runs them itself.
locals {
  sql_dir = "${path.module}/../sql"
  named_queries = {
    for f in fileset(local.sql_dir, "q*.sql") : trimsuffix(f, ".sql") => file("${local.sql_dir}/${f}")
  }
}

resource "aws_athena_workgroup" "this" {
  name          = local.athena_workgroup
  description   = "movielake ${var.environment} analyses"
  state         = "ENABLED"
  force_destroy = true

  configuration {
    enforce_workgroup_configuration    = true
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
  workgroup = aws_athena_workgroup.this.id
  database  = aws_glue_catalog_database.raw.name
  query     = each.value
  # The file's first line, when it is a "-- ..." comment, describes the query.
  description = substr(try(trimspace(regex("^--[ \\t]*([^\\r\\n]*)", each.value)[0]), "movielake analysis ${each.key}"), 0, 1024)
}
