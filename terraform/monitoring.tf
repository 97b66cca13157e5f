resource "aws_cloudwatch_log_group" "lambda" {
  for_each = local.functions

  name              = "/aws/lambda/${each.value.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.this.arn
}

# Every alarm notifies this topic (plus var.alarm_actions); var.alarm_emails subscribe to it.
resource "aws_sns_topic" "alarms" {
  name              = local.alarm_topic_name
  display_name      = "movielake ${var.environment} alarms"
  kms_master_key_id = aws_kms_key.this.arn
}

# CloudWatch alarms of this account publish to the topic (the key policy lets them use the key).
resource "aws_sns_topic_policy" "alarms" {
  arn = aws_sns_topic.alarms.arn
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "CloudWatchAlarmsOfThisAccountPublish"
      Effect    = "Allow"
      Principal = { Service = "cloudwatch.amazonaws.com" }
      Action    = "sns:Publish"
      Resource  = aws_sns_topic.alarms.arn
      Condition = {
        StringEquals = { "aws:SourceAccount" = local.account_id }
      }
    }]
  })
}

resource "aws_sns_topic_subscription" "alarm_emails" {
  for_each = toset(var.alarm_emails)

  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = each.value
}

# Every alarm of the deployment; each notifies local.alarm_actions (the alarms topic first).
# - <function>-errors: any error of a function. csv-ingest and the planner are invoked
#   asynchronously (S3, EventBridge), so an error there is otherwise only a log line and a
#   failure record. No invocation means no error (missing data is not breaching).
# - <queue>-not-empty: queues whose every message is a failure: the TMDB dead-letter queue (a
#   batch that failed dlq_max_receive_count times) and the failure records of asynchronous
#   invocations whose retries are exhausted. SQS stops publishing a queue's metrics while it
#   is inactive, which such a queue soon is: missing data keeps the last state ("ignore"), so
#   an alarm raised stays raised until the queue is emptied.
locals {
  function_error_alarms = {
    for key, f in local.functions : "${key}_errors" => {
      name        = "${f.name}-errors"
      description = "${f.name} raised errors: read its log group /aws/lambda/${f.name}; failed async invocations are in ${local.failure_queue_name}."
      namespace   = "AWS/Lambda"
      metric      = "Errors"
      dimensions  = { FunctionName = f.name }
      statistic   = "Sum"
      missing     = "notBreaching"
    }
  }

  queue_alarms = {
    tmdb_dlq_not_empty = {
      queue       = aws_sqs_queue.tmdb_batches_dlq.name
      description = "TMDB batch messages reached ${local.dlq_name}: inspect them, fix the cause, redrive."
    }
    lambda_failures_not_empty = {
      queue       = aws_sqs_queue.lambda_failures.name
      description = "An asynchronous invocation failed after its retries: its event and error are in ${local.failure_queue_name}."
    }
  }

  alarms = merge(local.function_error_alarms, {
    for key, q in local.queue_alarms : key => {
      name        = "${q.queue}-not-empty"
      description = q.description
      namespace   = "AWS/SQS"
      metric      = "ApproximateNumberOfMessagesVisible"
      dimensions  = { QueueName = q.queue }
      statistic   = "Maximum"
      missing     = "ignore"
    }
  })
}

resource "aws_cloudwatch_metric_alarm" "this" {
  for_each = local.alarms

  alarm_name          = each.value.name
  alarm_description   = each.value.description
  namespace           = each.value.namespace
  metric_name         = each.value.metric
  dimensions          = each.value.dimensions
  statistic           = each.value.statistic
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = each.value.missing
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

moved {
  from = aws_cloudwatch_metric_alarm.tmdb_dlq_not_empty
  to   = aws_cloudwatch_metric_alarm.this["tmdb_dlq_not_empty"]
}
