# Fan-out path of the TMDB enrichment: the planner sends one message per slice of ids, the
# worker consumes them (lambda.tf), failures end in the dead-letter queue.
resource "aws_sqs_queue" "tmdb_batches_dlq" {
  name                              = local.dlq_name
  message_retention_seconds         = var.dlq_retention_seconds
  kms_master_key_id                 = aws_kms_key.this.arn
  kms_data_key_reuse_period_seconds = 300
}

resource "aws_sqs_queue" "tmdb_batches" {
  name = local.queue_name
  # AWS recommends at least six times the consumer's timeout for Lambda event sources.
  visibility_timeout_seconds        = 6 * local.functions.tmdb_worker.timeout
  message_retention_seconds         = 345600
  receive_wait_time_seconds         = 20
  kms_master_key_id                 = aws_kms_key.this.arn
  kms_data_key_reuse_period_seconds = 300

  # Owned by aws_sqs_queue_redrive_policy below; the queue's own copy of the attribute is
  # read back with different whitespace and would show a change on every plan.
  lifecycle {
    ignore_changes = [redrive_policy]
  }
}

# A separate resource with jsonencode: the inline redrive_policy argument of aws_sqs_queue
# showed a spurious whitespace diff after apply.
resource "aws_sqs_queue_redrive_policy" "tmdb_batches" {
  queue_url = aws_sqs_queue.tmdb_batches.id
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.tmdb_batches_dlq.arn
    maxReceiveCount     = var.dlq_max_receive_count
  })
}

# No aws_sqs_queue_redrive_allow_policy on the DLQ: its default lets any queue of the account
# use it, and moto never reports the attribute back, so the provider would wait forever.

# On-failure destination of the asynchronous invocations (lambda.tf): after Lambda's retries
# each failed event lands here with its error, for inspection and replay.
resource "aws_sqs_queue" "lambda_failures" {
  name                              = local.failure_queue_name
  message_retention_seconds         = 1209600
  kms_master_key_id                 = aws_kms_key.this.arn
  kms_data_key_reuse_period_seconds = 300
}
