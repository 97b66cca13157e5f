# The three Lambdas of docs/architecture.md. Packages come from scripts/build_lambdas.sh;
# source_code_hash makes Terraform redeploy exactly when a zip's content changes.

# What each zip was built for, as scripts/build_lambdas.py records it beside the zip
# (build/<zip>.target.json: the Lambda runtime and architecture its wheels and bytecode fit).
# Empty strings when there is no record (a zip built by hand or by an older script).
locals {
  lambda_build_records = { for key, f in local.functions : key => "${trimsuffix(f.zip, ".zip")}.target.json" }
  lambda_build_targets = {
    for key, record in local.lambda_build_records : key => {
      runtime      = try(tostring(jsondecode(file(record)).runtime), "")
      architecture = try(tostring(jsondecode(file(record)).architecture), "")
    }
  }
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_117:No VPC on purpose: the functions only reach S3, SQS, Secrets Manager, Glue and the public TMDB API; a VPC would add NAT gateways and endpoints for no isolation gain.
  #checkov:skip=CKV_AWS_50:X-Ray is not used; the functions write structured JSON log lines (movielake.log) that CloudWatch Logs Insights queries, and the zips ship no X-Ray SDK.
  #checkov:skip=CKV_AWS_272:Code signing needs an AWS Signer profile and a signing step in CI; zips are built reproducibly from the reviewed repository and deployed by Terraform only.
  #checkov:skip=CKV_AWS_115:Only the refine reserves concurrency (1: one refine at a time). The worker is throttled by the SQS event source's maximum_concurrency instead (reserving too would return messages to the queue and toward the DLQ when the two disagree, and new accounts cannot reserve any); csv-ingest and the planner are event-driven and short-lived.
  #checkov:skip=CKV_AWS_116:No function-level DLQ: the asynchronous functions (csv-ingest, the planner, the refine) send failed events to an on-failure destination (aws_lambda_function_event_invoke_config below), which supersedes the DLQ and carries the error too; the worker's failed messages go to the SQS queue's dead-letter queue.
  for_each = local.functions

  function_name    = each.value.name
  description      = "movielake ${var.environment}: ${each.key}"
  role             = aws_iam_role.lambda[each.key].arn
  handler          = each.value.handler
  runtime          = var.lambda_runtime
  architectures    = [var.lambda_architecture]
  filename         = each.value.zip
  source_code_hash = filebase64sha256(each.value.zip)
  timeout          = each.value.timeout
  memory_size      = each.value.memory
  kms_key_arn      = aws_kms_key.this.arn

  # One refine at a time: two would stage, check and publish over each other's tables. A second
  # asynchronous invocation is throttled, and Lambda retries it once the first has ended.
  reserved_concurrent_executions = each.key == "refine" ? var.refine_reserved_concurrency : -1

  environment {
    variables = local.function_environment[each.key]
  }

  # The log group must exist (with retention and KMS) before the function can create it.
  depends_on = [aws_cloudwatch_log_group.lambda, aws_iam_role_policy.lambda]

  # A zip's compiled modules (DuckDB's, pyarrow's...) and bytecode load only on the Python and
  # architecture they were built for: a function on another runtime would fail at its first
  # import, long after the apply succeeded.
  lifecycle {
    precondition {
      condition     = local.lambda_build_targets[each.key].runtime == var.lambda_runtime && local.lambda_build_targets[each.key].architecture == var.lambda_architecture
      error_message = local.lambda_build_targets[each.key].runtime == "" ? "${each.value.zip} has no build record (${local.lambda_build_records[each.key]}); rebuild the zips with `make build` (scripts/build_lambdas.py writes it)." : "${each.value.zip} was built for ${local.lambda_build_targets[each.key].runtime} on ${local.lambda_build_targets[each.key].architecture} (${local.lambda_build_records[each.key]}), but lambda_runtime = \"${var.lambda_runtime}\" and lambda_architecture = \"${var.lambda_architecture}\": set them to the build's, or rebuild the zips for them (`scripts/build_lambdas.sh --architecture ${var.lambda_architecture}`; the build targets ${local.lambda_build_targets[each.key].runtime} only, the Python of scripts/build_lambdas.py LAMBDA_PYTHON)."
    }
  }
}

resource "aws_lambda_permission" "s3_invokes_csv_ingest" {
  statement_id   = "AllowLakeBucketInvoke"
  action         = "lambda:InvokeFunction"
  function_name  = aws_lambda_function.this["csv_ingest"].function_name
  principal      = "s3.amazonaws.com"
  source_arn     = aws_s3_bucket.this["lake"].arn
  source_account = local.account_id
}

# One message at a time per worker invocation; a failed message is retried by SQS and, after
# dlq_max_receive_count deliveries, parked in the dead-letter queue.
resource "aws_lambda_event_source_mapping" "tmdb_worker" {
  event_source_arn        = aws_sqs_queue.tmdb_batches.arn
  function_name           = aws_lambda_function.this["tmdb_worker"].arn
  batch_size              = 1
  function_response_types = ["ReportBatchItemFailures"]

  # Caps parallel workers so the per-worker rate (tmdb_rate / tmdb_workers) keeps
  # the total under TMDB's limit.
  scaling_config {
    maximum_concurrency = var.tmdb_workers
  }

  # A message of tmdb_ids_per_message ids needs at least one request per id at the worker's
  # share of the rate; with half the timeout kept for retries and backoff it must still fit.
  lifecycle {
    precondition {
      condition     = local.tmdb_message_seconds <= local.functions.tmdb_worker.timeout / 2
      error_message = "tmdb_ids_per_message is too large for the rate: ${var.tmdb_ids_per_message} ids at ${var.tmdb_rate}/${var.tmdb_workers} req/s per worker take at least ${ceil(local.tmdb_message_seconds)} s, over half the worker's ${local.functions.tmdb_worker.timeout} s timeout; lower tmdb_ids_per_message or raise tmdb_rate."
    }
  }
}

# Asynchronous invocations (S3 -> csv-ingest, EventBridge -> planner and refine): Lambda
# retries a failed event twice, then sends it with its error to the failure queue, whose alarm
# notifies. The refine is not retried by Lambda: a whole refine again is three full scans for a
# failed quality rule or a timeout, which a rerun repeats; the handler retries what may pass
# (MOVIELAKE_REFINE_ATTEMPTS runs) and raises when it gives up, so its failures still alarm.
resource "aws_lambda_function_event_invoke_config" "async" {
  for_each = local.async_functions

  function_name                = aws_lambda_function.this[each.key].function_name
  maximum_retry_attempts       = each.key == "refine" ? 0 : 2
  maximum_event_age_in_seconds = 21600

  destination_config {
    on_failure {
      destination = aws_sqs_queue.lambda_failures.arn
    }
  }

  depends_on = [aws_iam_role_policy.lambda]
}
