output "lake_bucket" {
  description = "Name of the lake bucket (zones Landing/, Raw/, Trusted/, Refined/, Rejected/)."
  value       = aws_s3_bucket.this["lake"].id
}

output "athena_results_bucket" {
  description = "Name of the Athena results bucket."
  value       = aws_s3_bucket.this["athena_results"].id
}

output "glue_database" {
  description = "Glue database of the Raw tables and the Trusted/Refined tables."
  value       = aws_glue_catalog_database.raw.name
}

output "tmdb_crawler" {
  description = "Glue crawler of the TMDB JSON batches."
  value       = aws_glue_crawler.tmdb.name
}

output "csv_crawler" {
  description = "Glue crawler of the ingested CSVs."
  value       = aws_glue_crawler.csv.name
}

output "athena_workgroup" {
  description = "Athena workgroup of the analyses."
  value       = aws_athena_workgroup.this["analyses"].name
}

output "refine_workgroup" {
  description = "Athena workgroup of the refine (does not override client-side settings, so its CTAS writes into the lake)."
  value       = aws_athena_workgroup.this["refine"].name
}

output "tmdb_queue_url" {
  description = "URL of the TMDB fan-out queue."
  value       = aws_sqs_queue.tmdb_batches.url
}

output "tmdb_dlq_url" {
  description = "URL of the TMDB dead-letter queue."
  value       = aws_sqs_queue.tmdb_batches_dlq.url
}

output "tmdb_secret_id" {
  description = "ARN of the TMDB secret; set its value with `aws secretsmanager put-secret-value`."
  value       = aws_secretsmanager_secret.tmdb.arn
}

output "function_names" {
  description = "Lambda function names by role (csv_ingest, tmdb_planner, tmdb_worker, refine)."
  value       = { for k, f in aws_lambda_function.this : k => f.function_name }
}

output "kms_key_arn" {
  description = "ARN of the customer-managed KMS key."
  value       = aws_kms_key.this.arn
}

output "named_query_ids" {
  description = "Athena named query ids by name (file stem of sql/q*.sql)."
  value       = { for k, q in aws_athena_named_query.this : k => q.id }
}

output "cli_environment" {
  description = "MOVIELAKE_* variables for the movielake CLI against this deployment (export them to switch from the local stack)."
  value = {
    MOVIELAKE_LAKE_BUCKET           = aws_s3_bucket.this["lake"].id
    MOVIELAKE_ATHENA_RESULTS_BUCKET = aws_s3_bucket.this["athena_results"].id
    MOVIELAKE_GLUE_DATABASE         = aws_glue_catalog_database.raw.name
    MOVIELAKE_TMDB_CRAWLER          = aws_glue_crawler.tmdb.name
    MOVIELAKE_CSV_CRAWLER           = aws_glue_crawler.csv.name
    MOVIELAKE_ATHENA_WORKGROUP      = aws_athena_workgroup.this["analyses"].name
    MOVIELAKE_REFINE_WORKGROUP      = aws_athena_workgroup.this["refine"].name
    MOVIELAKE_TMDB_QUEUE_URL        = aws_sqs_queue.tmdb_batches.url
    MOVIELAKE_TMDB_SECRET_ID        = aws_secretsmanager_secret.tmdb.arn
    MOVIELAKE_TMDB_BASE_URL         = var.tmdb_base_url
  }
}

output "lambda_failures_queue_url" {
  description = "URL of the queue holding failed asynchronous invocations (csv-ingest, tmdb-planner) with their errors."
  value       = aws_sqs_queue.lambda_failures.url
}

output "alarm_topic_arn" {
  description = "ARN of the SNS topic every alarm notifies; subscribe to it (or set alarm_emails)."
  value       = aws_sns_topic.alarms.arn
}
